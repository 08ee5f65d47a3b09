"""The diversification API (DESIGN section 13, item 2): ``diversification-targets/`` and
``alternative-markets/``. READ_ALL roles read; directors and administrators write (a token with the
write scope too). Every write goes through risk.diversification; its ValidationErrors answer 400.
Another tenant's id is 404."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api.fields import TenantMemberField
from kam.api.utils import service_errors
from kam.api.viewsets import ETagMixin, TenantApiViewSetMixin
from kam.permissions import READ_ALL, SCORECARD_EDITORS
from risk import diversification as div
from risk import selectors
from risk.api.serializers import enum_field
from risk.models import AlternativeMarket, DiversificationLine, DiversificationTarget

# --- serializers ---------------------------------------------------------------------------------------


class PathStatusSerializer(serializers.Serializer):
    as_of = serializers.DateField(
        allow_null=True, help_text="The latest concentration snapshot's day (null: none yet)."
    )
    expected = serializers.DecimalField(
        max_digits=20, decimal_places=6, coerce_to_string=False, allow_null=True, help_text="The path's value on as_of."
    )
    actual = serializers.DecimalField(
        max_digits=20, decimal_places=8, coerce_to_string=False, allow_null=True, help_text="The line on as_of."
    )
    gap = serializers.DecimalField(
        max_digits=20, decimal_places=4, coerce_to_string=False, help_text="|baseline - target|."
    )
    behind = serializers.BooleanField(
        allow_null=True, help_text="actual - expected > 0.1 x gap (null without a snapshot)."
    )
    status = serializers.ChoiceField(choices=["on_track", "behind", "unknown"])


class DiversificationTargetSerializer(serializers.ModelSerializer):
    line = enum_field(DiversificationLine, help_text="top1, top5 (shares 0..1) or hhi (0..10000). Set on create only.")
    target_value = serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False)
    baseline_value = serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False, read_only=True)
    owner = TenantMemberField(required=False, allow_null=True)
    path = serializers.SerializerMethodField()

    class Meta:
        model = DiversificationTarget
        fields = [
            "id",
            "line",
            "target_value",
            "target_date",
            "baseline_value",
            "baseline_date",
            "owner",
            "note",
            "is_active",
            "closed_at",
            "path",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["baseline_date", "is_active", "closed_at", "created_at", "updated_at"]
        extra_kwargs = {"note": {"required": False}}

    @extend_schema_field(PathStatusSerializer())
    def get_path(self, target: DiversificationTarget) -> dict[str, Any]:
        snapshot = self.context.get("snapshot")
        return PathStatusSerializer(div.path_status(target, snapshot)).data


class AlternativeMarketSerializer(serializers.ModelSerializer):
    owner = TenantMemberField(required=False, allow_null=True)
    target_revenue_12m = serializers.DecimalField(max_digits=18, decimal_places=2)
    accounts_found = serializers.SerializerMethodField()
    revenue_12m = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = AlternativeMarket
        fields = [
            "id",
            "name",
            "industry",
            "region",
            "target_revenue_12m",
            "target_date",
            "owner",
            "note",
            "accounts_found",
            "revenue_12m",
            "progress",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"industry": {"required": False}, "region": {"required": False}, "note": {"required": False}}

    def _progress(self, market: AlternativeMarket) -> dict[str, Any]:
        cache = self.context.setdefault("progress", {})
        if market.pk not in cache:
            tenant = self.context["tenant"]
            cache.update(div.alternative_market_progress(tenant, [market]))
        return cache[market.pk]

    @extend_schema_field(serializers.IntegerField(help_text="Accounts of the segment, from the account records."))
    def get_accounts_found(self, market: AlternativeMarket) -> int:
        return self._progress(market)["accounts"]

    @extend_schema_field(serializers.CharField(help_text="The segment's revenue of the last 12 months (two decimals)."))
    def get_revenue_12m(self, market: AlternativeMarket) -> str:
        return f"{self._progress(market)['revenue_12m']:.2f}"

    @extend_schema_field(
        serializers.DecimalField(
            max_digits=12,
            decimal_places=1,
            coerce_to_string=False,
            allow_null=True,
            help_text="Revenue as a percent of the target, one decimal (null for a target of 0).",
        )
    )
    def get_progress(self, market: AlternativeMarket) -> float | None:
        progress = self._progress(market)["progress"]
        return None if progress is None else float(progress)


# --- viewsets ------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List the diversification targets",
        description="A target per concentration line (top1, top5, hhi), with its straight-line path from the "
        "baseline and the status against the latest snapshot. `?active=true` for the active ones.",
        parameters=[
            OpenApiParameter("active", OpenApiTypes.BOOL, description="true: the active targets; false: the closed.")
        ],
    ),
    retrieve=extend_schema(summary="Get a diversification target"),
    create=extend_schema(
        summary="Set a diversification target",
        description="Directors and administrators. The baseline is the latest concentration snapshot's value. "
        "A share above 1, an HHI above 10000, a target date not in the future, or a second active target for "
        "the line: 400.",
    ),
    update=extend_schema(summary="Replace a diversification target"),
    partial_update=extend_schema(summary="Change a diversification target"),
    destroy=extend_schema(summary="Delete a diversification target"),
    close=extend_schema(summary="Close a diversification target", request=None),
)
class DiversificationTargetViewSet(ETagMixin, TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Targets for the concentration lines."""

    queryset = DiversificationTarget.objects.select_related("owner")
    serializer_class = DiversificationTargetSerializer
    filter_backends = ()
    ordering = ("line", "-id")
    read_roles = READ_ALL
    write_roles = SCORECARD_EDITORS
    account_path = None

    def get_queryset(self) -> Any:
        rows = super().get_queryset().order_by("line", "-id")
        active = self.request.query_params.get("active")
        if active in ("true", "false"):
            rows = rows.filter(is_active=active == "true")
        return rows

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["snapshot"] = selectors.concentration_latest(self.tenant)
        return context

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = div.diversification_target_create(
                self.tenant, actor=self.actor, **serializer.validated_data
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        line = data.pop("line", None)
        if line is not None and line != serializer.instance.line:
            raise serializers.ValidationError(
                {"line": ["The line of a target cannot change: close it and set another."]}
            )
        with service_errors():
            serializer.instance = div.diversification_target_update(
                self.tenant, target=serializer.instance, actor=self.actor, **data
            )

    def perform_destroy(self, instance: DiversificationTarget) -> None:
        with service_errors():
            div.diversification_target_delete(self.tenant, target=instance, actor=self.actor)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        with service_errors():
            target = div.diversification_target_close(self.tenant, target=self.get_object(), actor=self.actor)
        return Response(self.get_serializer(target).data)


@extend_schema_view(
    list=extend_schema(
        summary="List the alternative markets",
        description="替代市场培育计划: segments by industry and/or region with a revenue target; each with the "
        "accounts found in the segment and its revenue of the last 12 months from the orders.",
    ),
    retrieve=extend_schema(summary="Get an alternative market"),
    create=extend_schema(
        summary="Add an alternative market",
        description="Directors and administrators. An industry or a region (or both) is required; the owner "
        "is a member of this workspace; the target date is in the future.",
    ),
    update=extend_schema(summary="Replace an alternative market"),
    partial_update=extend_schema(summary="Change an alternative market"),
    destroy=extend_schema(summary="Delete an alternative market"),
)
class AlternativeMarketViewSet(ETagMixin, TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Alternative markets and their progress."""

    queryset = AlternativeMarket.objects.select_related("owner")
    serializer_class = AlternativeMarketSerializer
    filter_backends = ()
    ordering = ("target_date", "name", "id")
    read_roles = READ_ALL
    write_roles = SCORECARD_EDITORS
    account_path = None

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("target_date", "name", "id")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["tenant"] = self.tenant
        return context

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The progress of the page's markets in one statement.
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        markets = list(page) if page is not None else list(self.filter_queryset(self.get_queryset()))
        context = self.get_serializer_context()
        context["progress"] = div.alternative_market_progress(self.tenant, markets)
        data = AlternativeMarketSerializer(markets, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = div.alternative_market_create(
                self.tenant, actor=self.actor, **serializer.validated_data
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = div.alternative_market_update(
                self.tenant, market=serializer.instance, actor=self.actor, **serializer.validated_data
            )

    def perform_destroy(self, instance: AlternativeMarket) -> None:
        with service_errors():
            div.alternative_market_delete(self.tenant, market=instance, actor=self.actor)
