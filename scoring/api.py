"""Scoring API (DESIGN section 8): account scores and history, ratings, scorecards
with activate and what-if preview, score runs, and the tier summary."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account
from kam.api.errors import not_found
from kam.api.fields import tenant_field, two_places
from kam.api.filters import IdFilter
from kam.api.utils import query_flag, service_errors
from kam.api.viewsets import TenantApiMixin, TenantApiViewSetMixin, TenantViewSetMixin
from kam.permissions import OVERRIDE_APPROVERS, RUNNERS, SCORECARD_EDITORS, WRITERS
from scoring import selectors, services, tasks
from scoring.models import (
    AccountScore,
    Criterion,
    OverrideRequestStatus,
    Rating,
    Scorecard,
    ScoreRun,
    TierOverrideRequest,
    TierRule,
)


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


# --- tier override requests (等级调整申请) ------------------------------------------------------------


class TierOverrideRequestSerializer(serializers.ModelSerializer):
    account = tenant_field(Account, help_text="Id of the account; the manager must own or serve on it.")
    expires_on = serializers.DateField(
        required=False, allow_null=True, help_text="The day the override lapses; null keeps it until lifted."
    )
    reason = serializers.CharField(help_text="Why the account should have this tier.")
    requested_by = serializers.IntegerField(source="requested_by_id", read_only=True, allow_null=True)
    decided_by = serializers.IntegerField(source="decided_by_id", read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    override = serializers.IntegerField(
        source="override_id", read_only=True, allow_null=True, help_text="The override an approval set."
    )

    class Meta:
        model = TierOverrideRequest
        fields = [
            "id",
            "account",
            "tier",
            "reason",
            "expires_on",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "comment",
            "override",
        ]
        read_only_fields = ["id", "status", "requested_at", "comment"]
        # The service decides "one pending request per account" (a clear message).
        validators: list = []


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Required to reject; optional to approve."
    )


class TierOverrideRequestFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id", help_text="Id of the account.")
    status = filters.ChoiceFilter(choices=OverrideRequestStatus.choices)

    class Meta:
        model = TierOverrideRequest
        fields = ("account", "status")


PEOPLE_ONLY = "Tier requests are made and decided by people signed in, not by API tokens."


@contextlib.contextmanager
def _service_call() -> Iterator[None]:
    """A service's ValidationError as a 400 with field messages, its PermissionDenied as a 403
    with its message."""
    try:
        with service_errors():
            yield
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from exc


@extend_schema_view(
    list=extend_schema(
        summary="List tier override requests",
        description="Requests for a tier by hand (等级调整申请), newest first; `status` is `pending`, `approved`, "
        "`rejected` or `withdrawn`.",
    ),
    retrieve=extend_schema(summary="Get a tier override request"),
    create=extend_schema(
        summary="Request a tier by hand",
        description="Account managers (and administrators), on an account they own or serve on: `account`, "
        "`tier` (S, A, B or C), `reason`, optionally `expires_on` (a future day). One pending request per "
        "account; the tier the account's override gives already is refused. The directors are notified.",
    ),
)
class TierOverrideRequestViewSet(TenantApiViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Tier override requests: managers ask, directors approve or reject."""

    queryset = TierOverrideRequest.objects.all()
    serializer_class = TierOverrideRequestSerializer
    filterset_class = TierOverrideRequestFilter
    ordering_fields = ("requested_at", "decided_at", "id")
    ordering = ("-requested_at", "-id")
    write_roles = services.OVERRIDE_REQUESTERS | OVERRIDE_APPROVERS
    account_path = "account"

    def _person(self) -> None:
        if self.membership is None:
            raise PermissionDenied(PEOPLE_ONLY)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._person()
        self.require_role(services.OVERRIDE_REQUESTERS, "Only account managers ask for a tier change.")
        data = dict(serializer.validated_data)
        with _service_call():
            serializer.instance = services.override_request_create(self.tenant, actor=self.request.user, **data)

    def _decision(self, request: Request, decide: Any) -> Response:
        tier_request = self.get_object()  # another tenant's id: 404 before anything else
        self._person()
        self.require_role(OVERRIDE_APPROVERS, "Only directors approve or reject tier requests.")
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with _service_call():
            tier_request = decide(
                self.tenant,
                request=tier_request,
                comment=body.validated_data.get("comment", ""),
                actor=request.user,
            )
        return Response(self.get_serializer(tier_request).data)

    @extend_schema(
        summary="Approve a tier request",
        description="Directors. Sets the override with the request's tier, reason and expiry and rescores the "
        "account; `comment` is optional. A request no longer pending is a 400.",
        request=DecisionSerializer,
        responses=TierOverrideRequestSerializer,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._decision(request, services.override_request_approve)

    @extend_schema(
        summary="Reject a tier request",
        description="Directors, with a `comment` saying why (required).",
        request=DecisionSerializer,
        responses=TierOverrideRequestSerializer,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decision(request, services.override_request_reject)

    @extend_schema(
        summary="Withdraw a tier request",
        description="The person who asked, while it is pending.",
        request=None,
        responses=TierOverrideRequestSerializer,
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        tier_request = self.get_object()
        self._person()
        with _service_call():
            tier_request = services.override_request_withdraw(self.tenant, request=tier_request, actor=request.user)
        return Response(self.get_serializer(tier_request).data)
