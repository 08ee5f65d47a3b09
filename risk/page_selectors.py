"""Reads the risk pages need that risk.selectors does not offer (yet): the concentration
trend over a period without the snapshots' JSON, the customer groups a contingency plan
covers, the people a plan may be given to, and one run or plan looked up for a page.

Reads only, each taking the tenant first like the selectors, so any of them could move
to risk/selectors.py unchanged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.access import readable_accounts
from kam.models import Membership, Tenant, User
from kam.permissions import READ_ALL
from kam.tenancy import get_object_for_tenant
from risk import selectors
from risk.models import ContingencyPlan, RiskRun

# The figures of the trend chart and its table: every snapshot's numbers, never its JSON lists.
TREND_FIELDS = ("as_of", "total_revenue_12m", "group_count", "top1_share", "top5_share", "top10_share", "hhi")
# How deep the walk up from an account with a plan goes (the engine's limit).
MAX_DEPTH = 100


def concentration_trend(tenant: Tenant, *, since: dt.date | None) -> list[dict[str, Any]]:
    """The snapshots' figures from ``since`` on (all of them for None), oldest first; one query."""
    snapshots = selectors.concentration_history(tenant)
    if since is not None:
        snapshots = snapshots.filter(as_of__gte=since)
    return list(snapshots.order_by("as_of").values(*TREND_FIELDS))


def planned_roots(tenant: Tenant) -> set[int]:
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


def plan_owner_choices(tenant: Tenant, *keep: int | None) -> QuerySet[User]:
    """The tenant's active people by name, plus the ones given (an owner who has since left
    stays choosable on the plan they own, so editing it does not silently drop them)."""
    active = Membership.objects.filter(tenant=tenant, is_active=True).values("user_id")
    condition = Q(is_active=True, pk__in=active)
    extra = [pk for pk in keep if pk]
    if extra:
        condition |= Q(pk__in=extra)
    return User.objects.filter(condition).order_by("full_name", "email")


def visible_plan(tenant: Tenant, membership: Membership, plan_id: Any) -> ContingencyPlan:
    """A plan of an account the member may read, or 404 (another tenant's id included)."""
    plans = selectors.contingency_plans(tenant)
    if membership.role not in READ_ALL:
        plans = plans.filter(account__in=readable_accounts(tenant, membership).values("pk"))
    return get_object_for_tenant(plans, tenant, plan_id)


def run_get(tenant: Tenant, run_id: Any) -> RiskRun:
    """One run of the tenant, or 404."""
    return get_object_for_tenant(selectors.runs(tenant), tenant, run_id)
