"""Reads of risk for pages, the API and dashboards: snapshots, assessments, alerts, plans,
runs, the policy, webhooks and notifications, never raw orders. Every function takes the
tenant first.

Names are ``<entity>_<verb>``: ``_get`` one row (404 when the tenant has no such row, or the
member may not read it), ``_latest`` the newest or None, ``_list`` many, ``_count`` and
``_counts`` numbers; a qualifier may follow the verb (``notification_count_unread``). A few
pure functions grade what was read (``concentration_lines``, ``health_signals``) here
because the API and the dashboards need them as much as the pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import Count, Q, QuerySet

from accounts.access import readable_accounts
from accounts.models import Account
from kam.models import OUTBOUND_DELIVERY_FIELDS, Membership, Tenant, User
from kam.permissions import READ_ALL
from kam.tenancy import get_object_for_tenant, tenant_selector, tenant_today
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

_M = TypeVar("_M", bound=models.Model)

# The figures of the trend chart and its table: every snapshot's numbers, never its JSON lists.
TREND_FIELDS = ("as_of", "total_revenue_12m", "group_count", "top1_share", "top5_share", "top10_share", "hhi")
# How deep the walk up from an account with a plan goes (the engine's limit).
MAX_DEPTH = 100


def _of_readable_accounts(rows: QuerySet[_M], tenant: Tenant, membership: Membership | None) -> QuerySet[_M]:
    """Rows (with an ``account``) the member may read: all for the roles that read every account
    and for API tokens (membership None); for a team member those of the accounts they read,
    which leaves out the rows without an account (tenant-wide alerts)."""
    if membership is None or membership.role in READ_ALL:
        return rows
    return rows.filter(account__in=readable_accounts(tenant, membership).values("pk"))


# --- concentration -----------------------------------------------------------------------------------


@tenant_selector
def concentration_latest(tenant: Tenant) -> ConcentrationSnapshot | None:
    return concentration_list(tenant).first()


@tenant_selector
def concentration_list(tenant: Tenant) -> QuerySet[ConcentrationSnapshot]:
    """Every snapshot, newest first."""
    return ConcentrationSnapshot.objects.order_by("-as_of", "-id")


@tenant_selector
def concentration_trend(tenant: Tenant, *, since: dt.date | None) -> list[dict[str, Any]]:
    """The snapshots' figures from ``since`` on (all of them for None), oldest first; one query."""
    snapshots = concentration_list(tenant)
    if since is not None:
        snapshots = snapshots.filter(as_of__gte=since)
    return list(snapshots.order_by("as_of").values(*TREND_FIELDS))


def concentration_level(value: Decimal | float, warning: Decimal | None, critical: Decimal | None) -> str:
    """ok | warning | critical: a figure graded against its lines (None: the figure has no such line)."""
    if critical is not None and value >= critical:
        return "critical"
    if warning is not None and value >= warning:
        return "warning"
    return "ok"


def concentration_lines(policy: RiskPolicy, snapshot: ConcentrationSnapshot) -> list[dict[str, Any]]:
    """Each figure against its warning lines, for the concentration page:
    ``[{"key", "value", "warning", "critical", "level"}]`` with level ok|warning|critical."""
    rows = [
        ("top1_share", snapshot.top1_share, policy.single_customer_warning, policy.single_customer_critical),
        ("top5_share", snapshot.top5_share, policy.top5_warning, None),
        ("hhi", snapshot.hhi, policy.hhi_warning, policy.hhi_critical),
    ]
    return [
        {
            "key": key,
            "value": value,
            "warning": warning,
            "critical": critical,
            "level": concentration_level(value, warning, critical),
        }
        for key, value, warning, critical in rows
    ]


# --- health ------------------------------------------------------------------------------------------


@tenant_selector
def health_latest(tenant: Tenant, account: Account) -> HealthAssessment | None:
    return HealthAssessment.objects.filter(account=account).select_related("run").order_by("-as_of", "-id").first()


@tenant_selector
def health_list(tenant: Tenant, account: Account, *, limit: int = 365) -> list[HealthAssessment]:
    """The latest ``limit`` assessments, oldest first, for the band history chart."""
    rows = list(HealthAssessment.objects.filter(account=account).order_by("-as_of")[:limit])
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
        "service": (assessment.service_satisfaction, assessment.service_points),
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


# --- alerts ------------------------------------------------------------------------------------------


@tenant_selector
def alert_list(
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
    """The alerts the member may read (all for the roles that read every account and for API
    tokens, membership None; for a team member those of the accounts they read, without the
    tenant-wide ones), filtered, newest first; one query whatever the page size (account and
    assignee joined). ``status="open"`` means not resolved (open or acknowledged)."""
    alerts = _of_readable_accounts(RiskAlert.objects.all(), tenant, membership)
    alerts = alerts.select_related("account", "assignee")
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


@tenant_selector
def alert_get(tenant: Tenant, membership: Membership | None, alert_id: Any) -> RiskAlert:
    """An alert the member may read, with the people of its timeline, or 404 (another
    tenant's, or not theirs to read)."""
    alerts = _of_readable_accounts(RiskAlert.objects.all(), tenant, membership).select_related(
        "account", "assignee", "acknowledged_by", "resolved_by"
    )
    return get_object_for_tenant(alerts, tenant, alert_id)


@tenant_selector
def alert_counts_open(tenant: Tenant, membership: Membership | None = None) -> dict[str, dict[str, int]]:
    """{kind: {severity: count}} of the open (not resolved) alerts the member reads, for dashboards."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        _of_readable_accounts(RiskAlert.objects.all(), tenant, membership)
        .exclude(status=AlertStatus.RESOLVED)
        .values("kind", "severity")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["kind"], {})[row["severity"]] = row["count"]
    return counts


# --- contingency plans -------------------------------------------------------------------------------


@tenant_selector
def plan_list(tenant: Tenant, *, account: Account | None = None) -> QuerySet[ContingencyPlan]:
    plans = ContingencyPlan.objects.select_related("account", "owner")
    return plans.filter(account=account) if account is not None else plans


@tenant_selector
def plan_get(tenant: Tenant, membership: Membership | None, plan_id: Any) -> ContingencyPlan:
    """A plan of an account the member may read, or 404 (another tenant's id included)."""
    return get_object_for_tenant(_of_readable_accounts(plan_list(tenant), tenant, membership), tenant, plan_id)


@tenant_selector
def plan_root_ids(tenant: Tenant) -> set[int]:
    """The customer groups (their root account ids) with a contingency plan on any of their
    accounts, as the concentration alerts count them: walked up from the (few) accounts
    with a plan, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE walk(id, parent_id, depth) AS (
                SELECT a.id, a.parent_id, 0 FROM accounts_account a
                WHERE a.tenant_id = %(tenant)s
                  AND a.id IN (SELECT p.account_id FROM risk_contingencyplan p WHERE p.tenant_id = %(tenant)s)
                UNION ALL
                SELECT a.id, a.parent_id, w.depth + 1
                FROM accounts_account a JOIN walk w ON a.id = w.parent_id
                WHERE a.tenant_id = %(tenant)s AND w.depth < {MAX_DEPTH}
            )
            SELECT DISTINCT id FROM walk WHERE parent_id IS NULL
            """,
            {"tenant": tenant.pk},
        )
        return {row[0] for row in cursor.fetchall()}


# --- runs and policy ---------------------------------------------------------------------------------


@tenant_selector
def run_list(tenant: Tenant) -> QuerySet[RiskRun]:
    return RiskRun.objects.select_related("created_by").order_by("-created_at", "-id")


@tenant_selector
def run_get(tenant: Tenant, run_id: Any) -> RiskRun:
    """One run of the tenant, or 404."""
    return get_object_for_tenant(run_list(tenant), tenant, run_id)


@tenant_selector
def policy_get(tenant: Tenant) -> RiskPolicy | None:
    """The tenant's policy; None for a tenant made before risk whose defaults were never seeded
    (risk.services.risk_policy_of seeds them)."""
    return RiskPolicy.objects.first()


# --- webhooks ----------------------------------------------------------------------------------------

# The delivery log never needs the stored body; the excerpt of the response is short.
LOG_COLUMNS = (
    "id",
    "endpoint_id",
    "event",
    "event_id",
    *OUTBOUND_DELIVERY_FIELDS,
)


@tenant_selector
def webhook_list(tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


@tenant_selector
def webhook_get(tenant: Tenant, endpoint_id: Any) -> WebhookEndpoint:
    """The tenant's endpoint with who made it; another tenant's id, or none, is 404."""
    return get_object_for_tenant(WebhookEndpoint.objects.select_related("created_by"), tenant, endpoint_id)


def _deliveries(tenant: Tenant, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")


@tenant_selector
def delivery_list(tenant: Tenant, endpoint: WebhookEndpoint, *, status: str = "") -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log, newest first, of one status or all."""
    rows = _deliveries(tenant, endpoint).only(*LOG_COLUMNS)
    return rows.filter(status=status) if status in DeliveryStatus.values else rows


@tenant_selector
def delivery_latest_per_endpoint(tenant: Tenant, endpoints: Iterable[WebhookEndpoint]) -> dict[int, WebhookDelivery]:
    """endpoint id -> its newest delivery, in one query whatever the number of endpoints
    (DISTINCT ON over the (tenant, endpoint, -created_at) index)."""
    ids = [endpoint.pk for endpoint in endpoints]
    if not ids:
        return {}
    rows = (
        WebhookDelivery.objects.filter(endpoint_id__in=ids)
        .order_by("endpoint_id", "-created_at", "-id")
        .distinct("endpoint_id")
        .only(*LOG_COLUMNS)
    )
    return {row.endpoint_id: row for row in rows}


@tenant_selector
def delivery_counts(tenant: Tenant, endpoint: WebhookEndpoint) -> dict[str, int]:
    """{status: count} for every status (0 when none), and "all"."""
    rows = (
        _deliveries(tenant, endpoint)
        .order_by()
        .values("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
    counts = dict.fromkeys(DeliveryStatus.values, 0) | dict(rows)
    return {"all": sum(counts.values()), **counts}


# --- notifications -----------------------------------------------------------------------------------


@tenant_selector
def notification_list(tenant: Tenant, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first: nobody reads another person's."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


@tenant_selector
def notification_count_unread(tenant: Tenant, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
