"""Serializers of the risk API. They check the shape of the input; the rules live in
risk.services, which every write goes through. Shares are numbers from 0 to 1, scores
numbers with two decimals, money a string with two decimals."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account, HealthBand
from kam.api.fields import MAX_ID, TenantMemberField, tenant_field, two_places
from kam.models import RunStatus
from risk import selectors, services
from risk.models import (
    AlertKind,
    AlertStatus,
    ConcentrationSnapshot,
    ContingencyKind,
    ContingencyPlan,
    DeliveryStatus,
    HealthAssessment,
    Notification,
    Resolution,
    RiskAlert,
    RiskPolicy,
    RiskRun,
    RunKind,
    RunTrigger,
    Severity,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

# At most this many ids in one mark-read call.
MARK_READ_LIMIT = 500


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def enum_field(choices: type, **kwargs: Any) -> serializers.ChoiceField:
    """A choice field documented with its enum inline: several resources have a ``status``
    or ``kind`` of their own, and a shared component name would mix them up."""
    field_class = extend_schema_field({"type": "string", "enum": list(choices.values)})(
        type(f"{choices.__name__}Field", (serializers.ChoiceField,), {})
    )
    return field_class(choices=choices.choices, **kwargs)


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


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    close_actions = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also close (as cancelled) the open actions this alert's contingency plans created.",
    )


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
        return two_places(obj.hhi)

    def get_account_hhi(self, obj: ConcentrationSnapshot) -> float:
        return two_places(obj.account_hhi)

    @extend_schema_field(GroupSerializer(many=True))
    def get_groups(self, obj: ConcentrationSnapshot) -> list[dict[str, Any]]:
        return obj.groups

    @extend_schema_field(ConcentrationAccountSerializer(many=True))
    def get_accounts(self, obj: ConcentrationSnapshot) -> list[dict[str, Any]]:
        return obj.accounts


# --- health ------------------------------------------------------------------------------------------


class SignalSerializer(serializers.Serializer):
    raw = serializers.FloatField(
        allow_null=True, help_text="The measured value (null: engagement with no interaction)."
    )
    points = serializers.FloatField(help_text="0..100, two decimals.")
    weight = serializers.IntegerField()


class ServiceSignalSerializer(SignalSerializer):
    breaches = serializers.IntegerField(help_text="SLA breaches in the last 90 days (10 points each).")


class SignalsSerializer(serializers.Serializer):
    revenue_trend = SignalSerializer(allow_null=True, help_text="raw: g = (r6 - p6) / p6.")
    purchase_rhythm = SignalSerializer(allow_null=True, help_text="raw: r = days since the last order / I.")
    payment = SignalSerializer(allow_null=True, help_text="raw: mean days overdue of the invoices due in 12 months.")
    engagement = SignalSerializer(allow_null=True, help_text="raw: days since the last interaction.")
    relationship = SignalSerializer(allow_null=True, help_text="raw: levels linked (0..3).")
    service = ServiceSignalSerializer(
        allow_null=True,
        help_text="raw: the mean satisfaction (1..5) of the needs resolved in 180 days; null when none was rated.",
    )


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
        return two_places(obj.score)

    def get_complaint_penalty(self, obj: HealthAssessment) -> float:
        return two_places(obj.complaint_penalty)

    def get_purchase_interval_days(self, obj: HealthAssessment) -> float | None:
        return _number(obj.purchase_interval_days)

    def get_previous_score(self, obj: HealthAssessment) -> float | None:
        return two_places(obj.previous_score)

    def get_score_change(self, obj: HealthAssessment) -> float | None:
        return two_places(obj.score_change)

    @extend_schema_field(SignalsSerializer)
    def get_signals(self, obj: HealthAssessment) -> dict[str, Any]:
        signals: dict[str, Any] = {}
        for key, signal in selectors.health_signals(obj).items():
            signals[key] = (
                None
                if signal is None
                else {"raw": _number(signal["raw"]), "points": two_places(signal["points"]), "weight": signal["weight"]}
            )
        if signals.get("service") is not None:
            signals["service"]["breaches"] = obj.service_breaches
        return signals


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


# --- contingency plans -------------------------------------------------------------------------------


class ContingencyStepSerializer(serializers.Serializer):
    position = serializers.IntegerField(read_only=True, help_text="1, 2, … in the order given.")
    title = serializers.CharField(max_length=200, help_text="What is to be done; the action's title.")
    owner = serializers.IntegerField(
        source="owner_id",
        allow_null=True,
        help_text="An active member of this workspace (a user id); null only when the owner's user was deleted.",
    )
    due_offset_days = serializers.IntegerField(
        required=False, default=0, help_text="The action is due this many days (0..365) after the alert's day."
    )


class ContingencyActionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    plan = serializers.IntegerField(source="plan_id", help_text="The account plan (teams) holding the action.")
    title = serializers.CharField()
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    due_on = serializers.DateField()
    status = serializers.CharField(help_text="open, in_progress, done or cancelled.")


class ContingencyActivationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    alert = serializers.IntegerField(source="alert_id")
    activated_at = serializers.DateTimeField()
    actions = ContingencyActionSerializer(many=True, help_text="The actions made, deleted ones left out.")


class ContingencyPlanSerializer(serializers.ModelSerializer):
    account = tenant_field(Account)
    kind = enum_field(
        ContingencyKind, help_text="alternative_market (替代市场培育计划) or sudden_loss (突发流失应急预案)."
    )
    owner = TenantMemberField(required=False, allow_null=True)
    trigger_kinds = serializers.ListField(
        child=enum_field(AlertKind),
        required=False,
        allow_empty=True,
        help_text="The alert kinds whose opening on the account turns the steps into actions on the account's plan.",
    )
    steps = ContingencyStepSerializer(
        many=True, required=False, help_text="The checklist; a write replaces the whole list (at most 30)."
    )
    activations = serializers.SerializerMethodField(help_text="What the triggers did, the latest first (read-only).")

    class Meta:
        model = ContingencyPlan
        fields = [
            "id",
            "account",
            "kind",
            "title",
            "owner",
            "actions",
            "review_on",
            "trigger_kinds",
            "steps",
            "activations",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(ContingencyActivationSerializer(many=True))
    def get_activations(self, obj: ContingencyPlan) -> list[dict[str, Any]]:
        from risk import contingency

        rows = contingency.activations(obj.tenant, plan=obj)
        return ContingencyActivationSerializer(rows, many=True).data

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        if "steps" in value:
            value["steps"] = [dict(step) for step in value["steps"]]
        return value


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


# --- notifications -----------------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    alert = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Id of the alert it is about, if any."
    )
    link = serializers.CharField(read_only=True, help_text="The page to open, a path of this site; may be empty.")
    read_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="When it was read; null: unread.")

    class Meta:
        model = Notification
        fields = ["id", "kind", "alert", "title", "body", "link", "created_at", "read_at"]
        read_only_fields = fields


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MARK_READ_LIMIT,
        help_text="The notifications to mark read; without it, all of the caller's. Ids that are not the "
        "caller's are ignored.",
    )
