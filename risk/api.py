"""Risk API (DESIGN section 8): alerts (acknowledge, resolve, assign, snooze),
concentration (latest and history), accounts/{id}/health/, risk-runs/ (?wait=true),
contingency-plans/, webhooks/ (with test/, rotate-secret/ and the delivery log) and
risk-policy/.

Tokens act tenant-wide with their scope; session users are held to their role and to
accounts.access (a team member reads the alerts, health and plans of the accounts they
read; a manager changes those of the accounts they write). Another tenant's id is 404.
Money is a string with two decimals, shares are numbers from 0 to 1, scores numbers
with two decimals. Every write goes through risk.services.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
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

from accounts import access
from accounts.api.filters import IdFilter
from accounts.api.openapi import KamAutoSchema
from accounts.api.serializers import TenantMemberField, TenantPrimaryKeyRelatedField
from accounts.api.viewsets import StableOrderingFilter, actor_of, service_errors
from accounts.models import Account, HealthBand
from kam.api.errors import error_body
from kam.api.pagination import CursorPagination
from kam.api.viewsets import TenantViewSetMixin, request_time_queryset
from kam.models import ApiToken, Membership, Role
from kam.permissions import ADMINS, ALL_ROLES, READ_ALL, SCORECARD_EDITORS, WRITERS
from risk import selectors, services, tasks
from risk.models import (
    AlertKind,
    AlertStatus,
    ConcentrationSnapshot,
    ContingencyKind,
    ContingencyPlan,
    DeliveryStatus,
    HealthAssessment,
    Resolution,
    RiskAlert,
    RiskPolicy,
    RiskRun,
    RunKind,
    RunStatus,
    RunTrigger,
    Severity,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

RUNNERS = frozenset({Role.ADMIN, Role.DIRECTOR})
TWO = Decimal("0.01")


def _two(value: Decimal | None) -> float | None:
    return None if value is None else float(Decimal(value).quantize(TWO))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def enum_field(choices: type, **kwargs: Any) -> serializers.ChoiceField:
    """A choice field documented with its enum inline: several resources have a ``status``
    or ``kind`` of their own, and a shared component name would mix them up."""
    field_class = extend_schema_field({"type": "string", "enum": list(choices.values)})(
        type(f"{choices.__name__}Field", (serializers.ChoiceField,), {})
    )
    return field_class(choices=choices.choices, **kwargs)


class RiskApiMixin(TenantViewSetMixin):
    """The request's tenant and membership (None for a token), documented errors, numeric ids."""

    request: Request
    schema = KamAutoSchema()
    lookup_value_regex = "[0-9]+"
    filter_backends = (filters.DjangoFilterBackend, StableOrderingFilter)

    @property
    def tenant(self) -> Any:
        return self.request._request.tenant

    @property
    def membership(self) -> Membership | None:
        return getattr(self.request._request, "membership", None)

    @property
    def actor(self) -> Any:
        return actor_of(self.request)

    def readable_account_filter(self, rows: QuerySet, path: str = "account") -> QuerySet:
        membership = self.membership
        if membership is not None and membership.role not in READ_ALL:
            rows = rows.filter(**{f"{path}__in": access.readable_accounts(self.tenant, membership).values("pk")})
        return rows

    def check_account_writable(self, account: Account | None) -> None:
        """Managers write the accounts they own or serve on; tenant-wide things are for admins and directors."""
        membership = self.membership
        if membership is None:
            return
        if account is None:
            if membership.role not in RUNNERS:
                raise PermissionDenied(_("Only administrators and directors may change tenant-wide alerts."))
        elif not access.can_write(self.tenant, membership, account):
            raise PermissionDenied(_("You may only change the risk records of accounts you own or serve on."))


def _readable_account(request: Request, account_id: int) -> Account:
    tenant = request._request.tenant
    membership = getattr(request._request, "membership", None)
    if isinstance(request.auth, ApiToken) or membership is None:
        queryset = Account.objects.for_tenant(tenant)
    else:
        queryset = access.readable_accounts(tenant, membership)
    return get_object_or_404(queryset, pk=account_id)


def _not_found(message: str) -> Response:
    return Response(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)


# --- alerts ------------------------------------------------------------------------------------------


class AlertAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AlertSerializer(serializers.ModelSerializer):
    kind = enum_field(AlertKind, read_only=True)
    severity = enum_field(Severity, read_only=True)
    status = enum_field(AlertStatus, read_only=True)
    resolution = serializers.SerializerMethodField()
    account = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    assignee = TenantMemberField(
        required=False, allow_null=True, help_text="Id of the user who follows the alert up: an active member."
    )
    snoozed_until = serializers.DateField(
        required=False, allow_null=True, help_text="Hidden from the risk center's default view until this day."
    )
    details = serializers.JSONField(read_only=True, help_text="What the run found; the keys depend on the kind.")

    class Meta:
        model = RiskAlert
        fields = [
            "id",
            "kind",
            "severity",
            "status",
            "account",
            "dedupe_key",
            "summary",
            "details",
            "assignee",
            "snoozed_until",
            "opened_at",
            "updated_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution",
            "resolution_note",
            "run",
        ]
        read_only_fields = [
            "dedupe_key",
            "opened_at",
            "updated_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution_note",
            "run",
        ]

    @extend_schema_field(AlertAccountSerializer(allow_null=True))
    def get_account(self, obj: RiskAlert) -> dict[str, Any] | None:
        return {"id": obj.account.pk, "name": obj.account.name} if obj.account_id else None

    def get_summary(self, obj: RiskAlert) -> str:
        from risk.notifications import alert_summary

        return alert_summary(obj.kind, obj.details)

    @extend_schema_field({"type": "string", "enum": [*Resolution.values], "nullable": True})
    def get_resolution(self, obj: RiskAlert) -> str | None:
        return obj.resolution or None


class AlertFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=AlertKind.choices)
    severity = filters.ChoiceFilter(choices=Severity.choices)
    status = filters.ChoiceFilter(choices=AlertStatus.choices)
    open = filters.BooleanFilter(method="filter_open", help_text="true: open or acknowledged; false: resolved.")
    account = IdFilter(field_name="account_id", help_text="Id of the account the alert is about.")
    assignee = IdFilter(field_name="assignee_id", help_text="Id of the assigned user.")

    class Meta:
        model = RiskAlert
        fields = ("kind", "severity", "status", "account", "assignee")

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        resolved = {"status": AlertStatus.RESOLVED}
        return queryset.exclude(**resolved) if value else queryset.filter(**resolved)


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


ALERT_EXAMPLE = {
    "id": 311,
    "kind": "payment_overdue",
    "severity": "warning",
    "status": "open",
    "account": {"id": 1024, "name": "恒通汽车零部件"},
    "dedupe_key": "payment_overdue:1024",
    "summary": "2 invoices unpaid, up to 48 days past due (356000.00).",
    "details": {
        "as_of": "2026-06-30",
        "invoices": 2,
        "outstanding": "356000.00",
        "oldest_due_on": "2026-05-13",
        "max_days_overdue": 48,
        "threshold_days": 30,
        "numbers": ["FP-2026-0412", "FP-2026-0433"],
    },
    "assignee": None,
    "snoozed_until": None,
    "opened_at": "2026-06-30T02:10:04+08:00",
    "updated_at": "2026-06-30T02:10:04+08:00",
    "acknowledged_at": None,
    "acknowledged_by": None,
    "resolved_at": None,
    "resolved_by": None,
    "resolution": None,
    "resolution_note": "",
    "run": 77,
}


@extend_schema_view(
    list=extend_schema(
        summary="List alerts",
        description=(
            "预警, newest first. Kinds: concentration_single, concentration_top5, concentration_hhi, health_red, "
            "health_drop, purchase_overdue, payment_overdue, team_gap, key_contact_left, contract_expiring, "
            "review_needed. At most one alert per dedupe key (kind + subject) is open at a time. `open=true` "
            "lists those not resolved. A team member sees the alerts of the accounts they read."
        ),
        examples=[OpenApiExample("Alert", value=ALERT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(summary="Get an alert", examples=[OpenApiExample("Alert", value=ALERT_EXAMPLE)]),
    partial_update=extend_schema(
        summary="Assign or snooze an alert",
        description="`assignee`: an active member or null (the new assignee is notified). "
        "`snoozed_until`: a future day or null.",
        examples=[OpenApiExample("Assign", value={"assignee": 7, "snoozed_until": "2026-07-15"}, request_only=True)],
    ),
)
class AlertViewSet(
    RiskApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    queryset = RiskAlert.unscoped.select_related("account")
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    ordering_fields = ("opened_at", "updated_at", "id")
    ordering = ("-id",)
    http_method_names = ["get", "post", "patch", "head", "options"]
    read_roles = ALL_ROLES
    write_roles = WRITERS

    def get_queryset(self) -> QuerySet[RiskAlert]:
        alerts = super().get_queryset()
        membership = self.membership
        if membership is not None and membership.role not in READ_ALL:
            readable = access.readable_accounts(self.tenant, membership).values("pk")
            alerts = alerts.filter(account__in=readable)
        return alerts

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        alert = serializer.instance
        self.check_account_writable(alert.account)
        data = serializer.validated_data
        with service_errors():
            serializer.instance = services.alert_update(
                self.tenant,
                alert=alert,
                actor=self.actor,
                **{key: data[key] for key in ("assignee", "snoozed_until") if key in data},
            )

    @extend_schema(summary="Acknowledge an alert (确认)", request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        self.check_account_writable(alert.account)
        with service_errors():
            alert = services.alert_acknowledge(self.tenant, alert=alert, actor=self.actor)
        return Response(self.get_serializer(alert).data)

    @extend_schema(
        summary="Resolve an alert (解决)",
        description=(
            "Resolves by hand. A condition that still holds opens a new alert at the next run (acknowledge or "
            "snooze instead), except a key contact's departure or a leadership change or merger, which stay "
            "reviewed."
        ),
        request=ResolveSerializer,
        responses=AlertSerializer,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        self.check_account_writable(alert.account)
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            alert = services.alert_resolve(
                self.tenant, alert=alert, note=body.validated_data.get("note", ""), actor=self.actor
            )
        return Response(self.get_serializer(alert).data)


# --- concentration -----------------------------------------------------------------------------------


class GroupAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    revenue_12m = serializers.CharField(help_text="Money: a string with two decimals.")
    share = serializers.FloatField(help_text="0..1 of the tenant's revenue_12m.")


class GroupSerializer(serializers.Serializer):
    root = serializers.IntegerField(help_text="Id of the group's top-most account.")
    root_name = serializers.CharField()
    revenue_12m = serializers.CharField(help_text="The root's and all its descendants' revenue_12m.")
    share = serializers.FloatField()
    accounts = GroupAccountSerializer(many=True, help_text="Its accounts with revenue, largest first (at most 50).")


class ConcentrationAccountSerializer(GroupAccountSerializer):
    root = serializers.IntegerField(help_text="Id of the account's group root.")


class ConcentrationSerializer(serializers.ModelSerializer):
    total_revenue_12m = serializers.DecimalField(max_digits=18, decimal_places=2)
    top1_share = serializers.FloatField()
    top5_share = serializers.FloatField()
    top10_share = serializers.FloatField()
    hhi = serializers.SerializerMethodField(help_text="sum((100 * s_i)^2) over the groups, 0..10,000.")
    groups = serializers.SerializerMethodField()
    accounts = serializers.SerializerMethodField()
    account_top1_share = serializers.FloatField()
    account_top5_share = serializers.FloatField()
    account_top10_share = serializers.FloatField()
    account_hhi = serializers.SerializerMethodField()

    class Meta:
        model = ConcentrationSnapshot
        fields = [
            "as_of",
            "total_revenue_12m",
            "top1_share",
            "top5_share",
            "top10_share",
            "hhi",
            "groups",
            "group_count",
            "accounts",
            "account_count",
            "account_top1_share",
            "account_top5_share",
            "account_top10_share",
            "account_hhi",
            "run",
            "updated_at",
        ]

    def get_hhi(self, obj: ConcentrationSnapshot) -> float:
        return _two(obj.hhi)

    def get_account_hhi(self, obj: ConcentrationSnapshot) -> float:
        return _two(obj.account_hhi)

    @extend_schema_field(GroupSerializer(many=True))
    def get_groups(self, obj: ConcentrationSnapshot) -> list[dict[str, Any]]:
        return obj.groups

    @extend_schema_field(ConcentrationAccountSerializer(many=True))
    def get_accounts(self, obj: ConcentrationSnapshot) -> list[dict[str, Any]]:
        return obj.accounts


CONCENTRATION_DESCRIPTION = (
    "Revenue concentration over customer groups (an account's group is its top-most parent; the group's "
    "revenue_12m is the root's and all its descendants'). Shares over the groups with revenue_12m > 0: "
    "top1/top5/top10 are the sums of the largest 1, 5, 10; `hhi` = sum((100 * share)^2). `groups` lists the "
    "largest 20 groups with their accounts; the `account_*` figures and `accounts` are the same without the "
    "roll-up."
)


class ConcentrationView(APIView):
    schema = KamAutoSchema()
    read_roles = READ_ALL

    @extend_schema(
        summary="The latest concentration snapshot",
        description=CONCENTRATION_DESCRIPTION + " 404 before the first snapshot.",
        responses=ConcentrationSerializer,
    )
    def get(self, request: Request) -> Response:
        snapshot = selectors.latest_concentration(request._request.tenant)
        if snapshot is None:
            return _not_found(_("No concentration snapshot yet."))
        return Response(ConcentrationSerializer(snapshot).data)


@extend_schema_view(
    list=extend_schema(
        summary="Concentration history", description="One snapshot a day, newest first. " + CONCENTRATION_DESCRIPTION
    )
)
class ConcentrationHistoryViewSet(RiskApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = ConcentrationSnapshot.unscoped.all()
    serializer_class = ConcentrationSerializer
    read_roles = READ_ALL
    filter_backends = ()
    pagination_class = type("SnapshotPagination", (CursorPagination,), {"ordering": "-as_of"})


# --- health ------------------------------------------------------------------------------------------


class SignalSerializer(serializers.Serializer):
    raw = serializers.FloatField(
        allow_null=True, help_text="The measured value (null: engagement with no interaction)."
    )
    points = serializers.FloatField(help_text="0..100, two decimals.")
    weight = serializers.IntegerField()


class SignalsSerializer(serializers.Serializer):
    revenue_trend = SignalSerializer(allow_null=True, help_text="raw: g = (r6 - p6) / p6.")
    purchase_rhythm = SignalSerializer(allow_null=True, help_text="raw: r = days since the last order / I.")
    payment = SignalSerializer(allow_null=True, help_text="raw: mean days overdue of the invoices due in 12 months.")
    engagement = SignalSerializer(allow_null=True, help_text="raw: days since the last interaction.")
    relationship = SignalSerializer(allow_null=True, help_text="raw: levels linked (0..3).")


class HealthSerializer(serializers.ModelSerializer):
    score = serializers.SerializerMethodField()
    band = enum_field(HealthBand)
    signals = serializers.SerializerMethodField()
    complaint_penalty = serializers.SerializerMethodField()
    purchase_interval_days = serializers.SerializerMethodField()
    previous_score = serializers.SerializerMethodField()
    score_change = serializers.SerializerMethodField()

    class Meta:
        model = HealthAssessment
        fields = [
            "as_of",
            "score",
            "band",
            "signals",
            "complaint_penalty",
            "expected_next_purchase",
            "account",
            "run",
            "complaints",
            "weight_total",
            "last_order_on",
            "purchase_interval_days",
            "previous_score",
            "score_change",
        ]

    def get_score(self, obj: HealthAssessment) -> float:
        return _two(obj.score)

    def get_complaint_penalty(self, obj: HealthAssessment) -> float:
        return _two(obj.complaint_penalty)

    def get_purchase_interval_days(self, obj: HealthAssessment) -> float | None:
        return _number(obj.purchase_interval_days)

    def get_previous_score(self, obj: HealthAssessment) -> float | None:
        return _two(obj.previous_score)

    def get_score_change(self, obj: HealthAssessment) -> float | None:
        return _two(obj.score_change)

    @extend_schema_field(SignalsSerializer)
    def get_signals(self, obj: HealthAssessment) -> dict[str, Any]:
        signals: dict[str, Any] = {}
        for key, signal in selectors.health_signals(obj).items():
            signals[key] = (
                None
                if signal is None
                else {"raw": _number(signal["raw"]), "points": _two(signal["points"]), "weight": signal["weight"]}
            )
        return signals


class AccountHealthView(APIView):
    schema = KamAutoSchema()

    @extend_schema(
        summary="An account's latest health assessment (客户健康度评估)",
        description=(
            "Health 0..100: the weighted mean of the signals that have data (revenue trend 25, purchase rhythm "
            "25, payment 20, engagement 15, relationship 15; the weights of signals without data drop out), "
            "minus 10 per complaint in the last 90 days (at most 30), rounded half up to two decimals. Bands: "
            "green >= 70, yellow >= 40, red below. `expected_next_purchase` is the last order date plus the "
            "median purchase interval (采购周期预测). 404 before the first assessment."
        ),
        parameters=[OpenApiParameter("account_id", int, OpenApiParameter.PATH, description="The account's id.")],
        responses=HealthSerializer,
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = _readable_account(request, account_id)
        assessment = selectors.latest_health(request._request.tenant, account)
        if assessment is None:
            return _not_found(_("Not assessed yet."))
        return Response(HealthSerializer(assessment).data)


# --- risk runs ---------------------------------------------------------------------------------------


class RiskRunSerializer(serializers.ModelSerializer):
    as_of = serializers.DateField(required=False, help_text="Default: today in the tenant's time zone.")
    status = enum_field(RunStatus, read_only=True)
    kind = enum_field(RunKind, required=False, help_text="full (default), concentration or health.")
    trigger = enum_field(RunTrigger, read_only=True)

    class Meta:
        model = RiskRun
        fields = [
            "id",
            "status",
            "as_of",
            "kind",
            "trigger",
            "progress",
            "accounts_assessed",
            "alerts_opened",
            "alerts_updated",
            "alerts_resolved",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = [f for f in fields if f not in ("as_of", "kind")]


@extend_schema_view(
    list=extend_schema(summary="Risk runs, newest first"),
    retrieve=extend_schema(summary="Get a risk run (its status and progress)"),
)
class RiskRunViewSet(RiskApiMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Risk runs: the concentration snapshot and the health assessment, each followed by alert evaluation."""

    queryset = RiskRun.unscoped.all()
    serializer_class = RiskRunSerializer
    read_roles = READ_ALL
    write_roles = RUNNERS
    ordering = ("-id",)
    filterset_fields = ("status", "kind")

    @extend_schema(
        summary="Start a risk run",
        description="Queued and answered 202; with `?wait=true` it runs in the request and answers 201 when done.",
        parameters=[OpenApiParameter("wait", OpenApiTypes.BOOL, description="Answer when the run is done.")],
        request=inline_serializer(
            "RiskRunStart",
            {
                "as_of": serializers.DateField(required=False),
                "kind": serializers.ChoiceField(choices=RunKind.choices, required=False),
            },
        ),
        responses={201: RiskRunSerializer, 202: RiskRunSerializer},
        examples=[OpenApiExample("As of a day", value={"as_of": "2026-06-30"}, request_only=True)],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            run = services.risk_run_create(
                self.tenant,
                kind=serializer.validated_data.get("kind", RunKind.FULL),
                as_of=serializer.validated_data.get("as_of"),
                actor=self.actor,
            )
        if request.query_params.get("wait", "").lower() in ("1", "true", "yes"):
            run = services.risk_run_execute(self.tenant, run=run)
            return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)
        tasks.queue_run(self.tenant, run)
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


# --- contingency plans ---------------------------------------------------------------------------------


class ContingencyPlanSerializer(serializers.ModelSerializer):
    account = TenantPrimaryKeyRelatedField(queryset=Account.unscoped.all())
    kind = enum_field(
        ContingencyKind, help_text="alternative_market (替代市场培育计划) or sudden_loss (突发流失应急预案)."
    )
    owner = TenantMemberField(required=False, allow_null=True)

    class Meta:
        model = ContingencyPlan
        fields = ["id", "account", "kind", "title", "owner", "actions", "review_on", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class ContingencyPlanFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    kind = filters.ChoiceFilter(choices=ContingencyKind.choices)
    review_before = filters.DateFilter(field_name="review_on", lookup_expr="lte")

    class Meta:
        model = ContingencyPlan
        fields = ("account", "kind")


@extend_schema_view(
    list=extend_schema(
        summary="List contingency plans",
        description="Plans for accounts above a concentration line; a concentration alert without one says so.",
    ),
    retrieve=extend_schema(summary="Get a contingency plan"),
    create=extend_schema(summary="Create a contingency plan"),
    update=extend_schema(summary="Replace a contingency plan"),
    partial_update=extend_schema(summary="Change a contingency plan"),
    destroy=extend_schema(summary="Delete a contingency plan"),
)
class ContingencyPlanViewSet(RiskApiMixin, viewsets.ModelViewSet):
    queryset = ContingencyPlan.unscoped.all()
    serializer_class = ContingencyPlanSerializer
    filterset_class = ContingencyPlanFilter
    ordering_fields = ("review_on", "id")
    ordering = ("-id",)
    read_roles = ALL_ROLES
    write_roles = WRITERS

    def get_queryset(self) -> QuerySet[ContingencyPlan]:
        return self.readable_account_filter(super().get_queryset())

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_account_writable(data["account"])
        with service_errors():
            serializer.instance = services.contingency_plan_create(self.tenant, actor=self.actor, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        plan = serializer.instance
        self.check_account_writable(plan.account)
        data = dict(serializer.validated_data)
        if "account" in data and data["account"].pk != plan.account_id:
            self.check_account_writable(data["account"])
        with service_errors():
            serializer.instance = services.contingency_plan_update(self.tenant, plan=plan, actor=self.actor, **data)

    def perform_destroy(self, instance: ContingencyPlan) -> None:
        self.check_account_writable(instance.account)
        with service_errors():
            services.contingency_plan_delete(self.tenant, plan=instance, actor=self.actor)


# --- webhooks ----------------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=enum_field(WebhookEvent), allow_empty=True, help_text="The events sent to this URL."
    )
    secret_hint = serializers.CharField(read_only=True, help_text="The start of the signing secret.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "is_active", "secret_hint", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret, shown this once. Keep it with the receiver."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookSecretSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    secret = serializers.CharField(help_text="The new signing secret, shown this once; the old one stops working.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    status = enum_field(DeliveryStatus, read_only=True)
    payload = serializers.JSONField(read_only=True, help_text="The JSON body sent.")

    class Meta:
        model = WebhookDelivery
        # The delivery log's columns (the settings page reads the same ones), and the body sent.
        fields = [*(column for column in selectors.LOG_COLUMNS if column != "endpoint_id"), "payload"]
        read_only_fields = fields


WEBHOOK_DESCRIPTION = (
    "Each event is POSTed as JSON with `X-KAM-Timestamp` (Unix seconds), `X-KAM-Signature: "
    "sha256=<hex HMAC-SHA256(secret, timestamp + '.' + body)>`, `X-KAM-Event` and `X-KAM-Delivery` (the "
    "event id, the same on every attempt). A delivery that fails (not 2xx within 5 s) is retried with "
    "exponential backoff and jitter, up to 8 attempts. Events: " + ", ".join(WebhookEvent.values) + "."
)


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints", description=WEBHOOK_DESCRIPTION),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    create=extend_schema(
        summary="Create a webhook endpoint",
        description=WEBHOOK_DESCRIPTION + " The answer carries the signing secret, this once.",
        responses={201: WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample(
                "Alerts to the BI system",
                value={"url": "https://bi.example.com/kam/hooks", "events": ["alert.opened", "alert.resolved"]},
                request_only=True,
            )
        ],
    ),
    update=extend_schema(summary="Replace a webhook endpoint"),
    partial_update=extend_schema(summary="Change a webhook endpoint"),
    destroy=extend_schema(summary="Delete a webhook endpoint and its delivery log"),
)
class WebhookEndpointViewSet(RiskApiMixin, viewsets.ModelViewSet):
    queryset = WebhookEndpoint.unscoped.all()
    serializer_class = WebhookEndpointSerializer
    ordering = ("-id",)
    filter_backends = ()
    read_roles = ADMINS
    write_roles = ADMINS

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            endpoint = services.webhook_endpoint_create(self.tenant, actor=self.actor, **serializer.validated_data)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.webhook_endpoint_update(
                self.tenant, endpoint=serializer.instance, actor=self.actor, **serializer.validated_data
            )

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        with service_errors():
            services.webhook_endpoint_delete(self.tenant, endpoint=instance, actor=self.actor)

    @extend_schema(
        summary="Send a test event now",
        description="POSTs a `webhook.test` event (whatever events the endpoint chose) and answers the delivery "
        "with the receiver's response code. Not retried.",
        request=None,
        responses=WebhookDeliverySerializer,
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        with service_errors():
            delivery = services.webhook_send_test(self.tenant, endpoint=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data)

    @extend_schema(summary="Rotate the signing secret", request=None, responses=WebhookSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        with service_errors():
            endpoint = services.webhook_endpoint_rotate_secret(
                self.tenant, endpoint=self.get_object(), actor=self.actor
            )
        return Response({"id": endpoint.pk, "secret": endpoint.secret})


@extend_schema_view(
    list=extend_schema(
        summary="An endpoint's delivery log",
        description="Newest first: each event sent, its attempts, response code and an excerpt of the response.",
        parameters=[OpenApiParameter("endpoint_id", int, OpenApiParameter.PATH, description="The endpoint's id.")],
    )
)
class WebhookDeliveryViewSet(RiskApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = WebhookDelivery.unscoped.all()
    serializer_class = WebhookDeliverySerializer
    filter_backends = (filters.DjangoFilterBackend,)
    filterset_fields = ("status", "event")
    ordering = ("-id",)
    read_roles = ADMINS

    @cached_property
    def endpoint(self) -> WebhookEndpoint:
        endpoints = request_time_queryset(WebhookEndpoint.unscoped.all()).filter(tenant=self.tenant)
        return get_object_or_404(endpoints, pk=self.kwargs["endpoint_id"])

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        return super().get_queryset().filter(endpoint=self.endpoint)


# --- policy ------------------------------------------------------------------------------------------


def _policy_number(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(coerce_to_string=False, **kwargs)


class RiskPolicySerializer(serializers.ModelSerializer):
    single_customer_warning = _policy_number(max_digits=5, decimal_places=4, required=False)
    single_customer_critical = _policy_number(max_digits=5, decimal_places=4, required=False)
    top5_warning = _policy_number(max_digits=5, decimal_places=4, required=False)
    hhi_warning = _policy_number(max_digits=7, decimal_places=2, required=False)
    hhi_critical = _policy_number(max_digits=7, decimal_places=2, required=False)
    health_drop_points = _policy_number(max_digits=5, decimal_places=2, required=False)
    purchase_overdue_ratio = _policy_number(max_digits=5, decimal_places=2, required=False)

    class Meta:
        model = RiskPolicy
        fields = [*services.POLICY_FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]


class RiskPolicyView(APIView):
    schema = KamAutoSchema()
    read_roles = READ_ALL
    write_roles = SCORECARD_EDITORS

    @extend_schema(summary="The risk policy (warning lines and alert thresholds)", responses=RiskPolicySerializer)
    def get(self, request: Request) -> Response:
        return Response(RiskPolicySerializer(services.risk_policy_of(request._request.tenant)).data)

    @extend_schema(
        summary="Change the risk policy",
        description="Shares are fractions (0.10 is 10 %). Critical lines cannot be below warning lines.",
        request=RiskPolicySerializer,
        responses=RiskPolicySerializer,
        examples=[
            OpenApiExample("Stricter single-customer line", value={"single_customer_warning": 0.08}, request_only=True)
        ],
    )
    def patch(self, request: Request) -> Response:
        tenant = request._request.tenant
        serializer = RiskPolicySerializer(services.risk_policy_of(tenant), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            policy = services.risk_policy_update(tenant, actor=actor_of(request), **serializer.validated_data)
        return Response(RiskPolicySerializer(policy).data)
