"""Scoring API (DESIGN section 8): account scores and history, ratings, scorecards
with activate and what-if preview, score runs, and the tier summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kam.api.errors import not_found
from kam.api.fields import two_places
from kam.api.utils import query_flag
from kam.api.viewsets import TenantApiMixin, TenantViewSetMixin
from kam.permissions import RUNNERS, SCORECARD_EDITORS, WRITERS
from scoring import selectors, services, tasks
from scoring.models import AccountScore, Criterion, Rating, Scorecard, ScoreRun, TierRule


class BreakdownRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    raw = serializers.FloatField(allow_null=True)
    normalized = serializers.FloatField()
    weight = serializers.FloatField()
    weighted = serializers.FloatField()


class ScoreSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="run_id")
    total = serializers.SerializerMethodField()
    base = serializers.SerializerMethodField()
    adjustments = serializers.SerializerMethodField()
    override = serializers.SerializerMethodField()
    breakdown = serializers.SerializerMethodField()

    class Meta:
        model = AccountScore
        fields = [
            "run",
            "as_of",
            "total",
            "base",
            "adjustments",
            "tier",
            "computed_tier",
            "override",
            "incomplete",
            "breakdown",
        ]

    def get_total(self, obj: AccountScore) -> float:
        return two_places(obj.total)

    def get_base(self, obj: AccountScore) -> float:
        return two_places(obj.base)

    def get_adjustments(self, obj: AccountScore) -> float:
        return two_places(obj.adjustments)

    def get_override(self, obj: AccountScore) -> str | None:
        return obj.override_tier or None

    @extend_schema_field(BreakdownRowSerializer(many=True))
    def get_breakdown(self, obj: AccountScore) -> list[dict[str, Any]]:
        return [{key: row[key] for key in ("key", "raw", "normalized", "weight", "weighted")} for row in obj.breakdown]


class AccountScoreView(TenantApiMixin, APIView):
    @extend_schema(
        summary="An account's current score",
        description="The latest snapshot: total, base, adjustments, tier, computed tier, override and the "
        "breakdown per criterion (raw, normalised 0..100, weight, weighted). 404 before the first run.",
        responses=ScoreSerializer,
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = self.readable_account(account_id)
        score = selectors.score_get_latest(self.tenant, account)
        if score is None:
            return not_found("Not scored yet.")
        return Response(ScoreSerializer(score).data)


class AccountScoreHistoryView(TenantApiMixin, APIView):
    @extend_schema(summary="An account's score history, newest first", responses=ScoreSerializer(many=True))
    def get(self, request: Request, account_id: int) -> Response:
        account = self.readable_account(account_id)
        history = selectors.score_list_of_account(self.tenant, account)[:500]
        return Response(ScoreSerializer(history, many=True).data)


class RatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rating
        fields = ["id", "criterion", "value", "comment", "rated_at"]
        read_only_fields = ["id", "rated_at"]


class AccountRatingsView(TenantApiMixin, APIView):
    @extend_schema(summary="An account's ratings, newest first", responses=RatingSerializer(many=True))
    def get(self, request: Request, account_id: int) -> Response:
        account = self.readable_account(account_id)
        ratings = Rating.objects.filter(account=account)[:500]
        return Response(RatingSerializer(ratings, many=True).data)

    @extend_schema(
        summary="Rate a qualitative criterion (1..5)",
        description="History is kept; the latest rating counts. The account is rescored right after.",
        request=RatingSerializer,
        responses={201: RatingSerializer},
    )
    def post(self, request: Request, account_id: int) -> Response:
        account = self.readable_account(account_id)
        self.require_role(WRITERS)  # rating is a write: the writing roles, on the accounts they write
        self.check_account_writable(account)
        serializer = RatingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rating = services.rating_add(
            self.tenant,
            account=account,
            criterion=serializer.validated_data["criterion"],
            value=serializer.validated_data["value"],
            comment=serializer.validated_data.get("comment", ""),
            actor=self.actor,
        )
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)


# --- scorecards -------------------------------------------------------------------------------------


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Criterion
        fields = ["key", "label_zh", "label_en", "kind", "metric", "normalization", "params", "weight", "missing_value"]


class TierRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = TierRule
        fields = ["tier", "threshold", "min_revenue_12m"]


class ScorecardSerializer(serializers.ModelSerializer):
    criteria = CriterionSerializer(many=True)
    tiers = TierRuleSerializer(many=True)

    class Meta:
        model = Scorecard
        fields = ["id", "version", "status", "hysteresis", "note", "created_at", "activated_at", "criteria", "tiers"]
        read_only_fields = ["id", "version", "status", "created_at", "activated_at"]


# The scoring viewsets hold tenant-wide rows (no account rows to narrow), and keep DRF's own id
# lookup and ordering rather than TenantApiViewSetMixin's: the published schema types their ids as
# integers, where the base's digits-only lookup pattern would make them strings.
class ScorecardViewSet(TenantApiMixin, TenantViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Versions of the scorecard. POST makes a new draft version; activate/ makes it the one runs use."""

    queryset = Scorecard.objects.prefetch_related("criteria", "tiers")
    serializer_class = ScorecardSerializer
    write_roles = SCORECARD_EDITORS
    ordering = ["-version"]

    @extend_schema(summary="Create a draft version", request=ScorecardSerializer, responses={201: ScorecardSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scorecard = services.scorecard_create_draft(self.tenant, spec=serializer.validated_data, actor=self.actor)
        return Response(self.get_serializer(scorecard).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Activate this version", request=None, responses=ScorecardSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        scorecard = services.scorecard_activate(self.tenant, scorecard=self.get_object(), actor=self.actor)
        return Response(self.get_serializer(scorecard).data)

    @extend_schema(
        summary="What-if preview of this version",
        description="Scores every account under this version without writing anything, and tells who would move.",
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE)],
        request=None,
        responses=inline_serializer(
            "ScorecardPreview",
            {
                "as_of": serializers.DateField(),
                "moved_up": serializers.IntegerField(),
                "moved_down": serializers.IntegerField(),
                "accounts": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        as_of = _date_param(request, "as_of")
        result = services.scorecard_preview_moves(self.tenant, scorecard=self.get_object(), as_of=as_of)
        return Response(result)


def _date_param(request: Request, name: str) -> dt.date | None:
    value = request.query_params.get(name) or (request.data.get(name) if isinstance(request.data, dict) else None)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise serializers.ValidationError({name: ["Enter a date as YYYY-MM-DD."]}) from exc


# --- runs and the tier summary ----------------------------------------------------------------------


class ScoreRunSerializer(serializers.ModelSerializer):
    as_of = serializers.DateField(required=False)

    class Meta:
        model = ScoreRun
        fields = [
            "id",
            "status",
            "as_of",
            "accounts_scored",
            "trigger",
            "progress",
            "moved_up",
            "moved_down",
            "account",
            "created_at",
            "finished_at",
        ]
        read_only_fields = [f for f in fields if f != "as_of"]


class ScoreRunViewSet(TenantApiMixin, TenantViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Score runs. POST starts one for every account; ?wait=true answers when it is done."""

    queryset = ScoreRun.objects.all()
    serializer_class = ScoreRunSerializer
    write_roles = RUNNERS
    ordering = ["-id"]
    filterset_fields = ["status", "trigger"]

    @extend_schema(
        summary="Start a score run",
        parameters=[OpenApiParameter("wait", OpenApiTypes.BOOL, description="Answer when the run is done.")],
        request=inline_serializer("ScoreRunStart", {"as_of": serializers.DateField(required=False)}),
        responses={201: ScoreRunSerializer, 202: ScoreRunSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = self.tenant
        run = services.score_run_create(tenant, as_of=serializer.validated_data.get("as_of"), actor=self.actor)
        if query_flag(request, "wait"):
            run = services.score_run_execute(tenant, run=run)
            return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)
        tasks.queue_run(tenant, run)
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


class TierSummaryView(TenantApiMixin, APIView):
    @extend_schema(
        summary="Accounts and revenue per tier, and the Pareto share",
        responses=inline_serializer(
            "TierSummary",
            {
                "as_of": serializers.DateField(allow_null=True),
                "run": serializers.IntegerField(allow_null=True),
                "tiers": inline_serializer(
                    "TierSummaryRow",
                    {
                        "tier": serializers.CharField(),
                        "count": serializers.IntegerField(),
                        "revenue_12m": serializers.DecimalField(max_digits=18, decimal_places=2),
                        "share": serializers.FloatField(),
                    },
                    many=True,
                ),
                "pareto": inline_serializer(
                    "Pareto",
                    {
                        "accounts": serializers.IntegerField(),
                        "top_count": serializers.IntegerField(),
                        "total_revenue_12m": serializers.DecimalField(max_digits=18, decimal_places=2),
                        "top20_share": serializers.FloatField(),
                    },
                    allow_null=True,
                ),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        summary = selectors.tier_summary_get(self.tenant)
        for row in summary["tiers"]:
            row["revenue_12m"] = f"{row['revenue_12m']:.2f}"
        if summary["pareto"]:
            summary["pareto"]["total_revenue_12m"] = f"{summary['pareto']['total_revenue_12m']:.2f}"
        return Response(summary)
