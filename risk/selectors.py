"""Reads of risk for pages, the API and dashboards: snapshots, assessments and alerts,
never raw orders. Every function takes the tenant first."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.access import readable_accounts
from accounts.models import Account
from kam.models import Membership, Tenant, User
from kam.permissions import READ_ALL
from kam.tenancy import tenant_today
from risk.models import (
    SIGNAL_WEIGHTS,
    AlertStatus,
    ConcentrationSnapshot,
    ContingencyPlan,
    DeliveryStatus,
    HealthAssessment,
    Notification,
    RiskAlert,
    RiskPolicy,
    RiskRun,
    WebhookDelivery,
    WebhookEndpoint,
)

# --- concentration -----------------------------------------------------------------------------------


def latest_concentration(tenant: Tenant) -> ConcentrationSnapshot | None:
    return ConcentrationSnapshot.objects.for_tenant(tenant).order_by("-as_of", "-id").first()


def concentration_history(tenant: Tenant) -> QuerySet[ConcentrationSnapshot]:
    return ConcentrationSnapshot.objects.for_tenant(tenant).order_by("-as_of", "-id")


def concentration_lines(policy: RiskPolicy, snapshot: ConcentrationSnapshot) -> list[dict[str, Any]]:
    """Each figure against its warning lines, for the concentration page:
    ``[{"key", "value", "warning", "critical", "level"}]`` with level ok|warning|critical."""

    def level(value: Decimal, warning: Decimal, critical: Decimal | None) -> str:
        if critical is not None and value >= critical:
            return "critical"
        return "warning" if value >= warning else "ok"

    rows = [
        ("top1_share", snapshot.top1_share, policy.single_customer_warning, policy.single_customer_critical),
        ("top5_share", snapshot.top5_share, policy.top5_warning, None),
        ("hhi", snapshot.hhi, policy.hhi_warning, policy.hhi_critical),
    ]
    return [
        {"key": key, "value": value, "warning": warning, "critical": critical, "level": level(value, warning, critical)}
        for key, value, warning, critical in rows
    ]


# --- health ------------------------------------------------------------------------------------------


def latest_health(tenant: Tenant, account: Account) -> HealthAssessment | None:
    return (
        HealthAssessment.objects.for_tenant(tenant)
        .filter(account=account)
        .select_related("run")
        .order_by("-as_of", "-id")
        .first()
    )


def health_history(tenant: Tenant, account: Account, *, limit: int = 365) -> list[HealthAssessment]:
    """Oldest first, for the band history chart."""
    rows = list(HealthAssessment.objects.for_tenant(tenant).filter(account=account).order_by("-as_of")[:limit])
    return rows[::-1]


def health_signals(assessment: HealthAssessment) -> dict[str, dict[str, Any] | None]:
    """Each signal as ``{"raw", "points", "weight", "contribution"}``, or None when it has no
    data. ``contribution`` is the signal's share of the score before the complaint penalty
    (weight * points / weights used)."""
    values = {
        "revenue_trend": (assessment.revenue_trend, assessment.revenue_trend_points),
        "purchase_rhythm": (assessment.purchase_ratio, assessment.purchase_rhythm_points),
        "payment": (assessment.mean_overdue_days, assessment.payment_points),
        "engagement": (assessment.days_since_interaction, assessment.engagement_points),
        "relationship": (assessment.relationship_levels, assessment.relationship_points),
    }
    signals: dict[str, dict[str, Any] | None] = {}
    for key, (raw, points) in values.items():
        if points is None:
            signals[key] = None
            continue
        weight = SIGNAL_WEIGHTS[key]
        signals[key] = {
            "raw": raw,
            "points": points,
            "weight": weight,
            "contribution": Decimal(weight) * points / assessment.weight_total,
        }
    return signals


def band_counts(tenant: Tenant) -> dict[str, int]:
    """Accounts per current health band (denormalised on the account)."""
    rows = (
        Account.objects.for_tenant(tenant)
        .exclude(status="lost")
        .exclude(health_band="")
        .values("health_band")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["health_band"]: row["count"] for row in rows}


# --- alerts ------------------------------------------------------------------------------------------


def alerts_for(tenant: Tenant, membership: Membership | None) -> QuerySet[RiskAlert]:
    """The alerts a member may read: all for roles that read every account (and tokens:
    membership None); for a team member, those of the accounts they read, without the
    tenant-wide ones."""
    alerts = RiskAlert.objects.for_tenant(tenant)
    if membership is not None and membership.role not in READ_ALL:
        alerts = alerts.filter(account__in=readable_accounts(tenant, membership).values("pk"))
    return alerts


def alerts_list(
    tenant: Tenant,
    membership: Membership | None,
    *,
    kind: str = "",
    severity: str = "",
    status: str = "",
    account: int | None = None,
    assignee: int | None = None,
    include_snoozed: bool = True,
) -> QuerySet[RiskAlert]:
    """Filtered, newest first; one query whatever the page size (account and assignee joined).
    ``status="open"`` means not resolved (open or acknowledged)."""
    alerts = alerts_for(tenant, membership).select_related("account", "assignee")
    if kind:
        alerts = alerts.filter(kind=kind)
    if severity:
        alerts = alerts.filter(severity=severity)
    if status == "open":
        alerts = alerts.exclude(status=AlertStatus.RESOLVED)
    elif status:
        alerts = alerts.filter(status=status)
    if account:
        alerts = alerts.filter(account_id=account)
    if assignee:
        alerts = alerts.filter(assignee_id=assignee)
    if not include_snoozed:
        alerts = alerts.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=tenant_today(tenant)))
    return alerts.order_by("-opened_at", "-id")


def open_alert_counts(tenant: Tenant, membership: Membership | None = None) -> dict[str, dict[str, int]]:
    """{kind: {severity: count}} of the open alerts, for dashboards."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        alerts_for(tenant, membership)
        .exclude(status=AlertStatus.RESOLVED)
        .values("kind", "severity")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["kind"], {})[row["severity"]] = row["count"]
    return counts


def account_open_alerts(tenant: Tenant, account: Account) -> QuerySet[RiskAlert]:
    return (
        RiskAlert.objects.for_tenant(tenant)
        .filter(account=account)
        .exclude(status=AlertStatus.RESOLVED)
        .select_related("assignee")
        .order_by("-opened_at", "-id")
    )


# --- plans, runs, policy, webhooks, notifications ---------------------------------------------------


def contingency_plans(tenant: Tenant, *, account: Account | None = None) -> QuerySet[ContingencyPlan]:
    plans = ContingencyPlan.objects.for_tenant(tenant).select_related("account", "owner")
    return plans.filter(account=account) if account is not None else plans


def runs(tenant: Tenant) -> QuerySet[RiskRun]:
    return RiskRun.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at", "-id")


def risk_policy(tenant: Tenant) -> RiskPolicy | None:
    return RiskPolicy.objects.for_tenant(tenant).first()


def webhook_endpoints(tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_tenant(tenant).order_by("id")


def webhook_deliveries(tenant: Tenant, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.for_tenant(tenant).filter(endpoint=endpoint).order_by("-created_at", "-id")


def notifications_of(tenant: Tenant, user: User) -> QuerySet[Notification]:
    return Notification.objects.for_tenant(tenant).filter(user=user).order_by("-created_at", "-id")


def unread_notification_count(tenant: Tenant, user: User) -> int:
    return Notification.objects.for_tenant(tenant).filter(user=user, read_at__isnull=True).count()


# --- webhook delivery log (the settings pages) ------------------------------------------------

# The log never needs the stored body; the excerpt of the response is short.
LOG_COLUMNS = (
    "id",
    "endpoint_id",
    "event",
    "event_id",
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "delivered_at",
    "response_code",
    "response_body",
    "error",
    "duration_ms",
    "created_at",
)


def last_deliveries(tenant: Tenant, endpoints: Iterable[WebhookEndpoint]) -> dict[int, WebhookDelivery]:
    """endpoint id -> its newest delivery, in one query whatever the number of endpoints
    (DISTINCT ON over the (tenant, endpoint, -created_at) index)."""
    ids = [endpoint.pk for endpoint in endpoints]
    if not ids:
        return {}
    rows = (
        WebhookDelivery.objects.for_tenant(tenant)
        .filter(endpoint_id__in=ids)
        .order_by("endpoint_id", "-created_at", "-id")
        .distinct("endpoint_id")
        .only(*LOG_COLUMNS)
    )
    return {row.endpoint_id: row for row in rows}


def delivery_log(tenant: Tenant, endpoint: WebhookEndpoint, *, status: str = "") -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, of one status or all."""
    rows = webhook_deliveries(tenant, endpoint).only(*LOG_COLUMNS)
    return rows.filter(status=status) if status in DeliveryStatus.values else rows


def delivery_counts(tenant: Tenant, endpoint: WebhookEndpoint) -> dict[str, int]:
    """{status: count} for every status (0 when none), and "all"."""
    rows = (
        webhook_deliveries(tenant, endpoint)
        .order_by()
        .values("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
    counts = dict.fromkeys(DeliveryStatus.values, 0) | dict(rows)
    return {"all": sum(counts.values()), **counts}
