"""Reads of the portfolio (DESIGN section 13): the weights, and the figures of portfolio.engine
for the request's tenant. Managers and members see their own portfolio only (``own_only``)."""

from __future__ import annotations

import datetime as dt

from kam.models import Membership, Role, Tenant
from kam.tenancy import tenant_selector, tenant_today
from portfolio import engine
from portfolio.models import DEFAULT_WEIGHTS, PortfolioWeights

# Roles that see everyone's portfolio; the others (managers, members) see their own.
SEE_ALL = frozenset({Role.ADMIN, Role.DIRECTOR, Role.EXECUTIVE})


def sees_all(membership: Membership | None) -> bool:
    """A token (no membership) acts tenant-wide."""
    return membership is None or membership.role in SEE_ALL


@tenant_selector
def weights_get(tenant: Tenant) -> dict[str, int]:
    row = PortfolioWeights.objects.filter(tenant=tenant).first()
    return row.as_dict() if row else dict(DEFAULT_WEIGHTS)


@tenant_selector
def weights_row(tenant: Tenant) -> PortfolioWeights | None:
    return PortfolioWeights.objects.filter(tenant=tenant).select_related("updated_by").first()


def quarter_ends(day: dt.date, count: int = 4) -> list[dt.date]:
    """The last ``count`` quarter ends on or before ``day``, oldest first."""
    ends = []
    year, quarter = day.year, (day.month - 1) // 3 + 1
    for _ in range(count + 1):
        month = quarter * 3
        end = dt.date(year, month, 31 if month in (3, 12) else 30)
        if end <= day:
            ends.append(end)
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
    return sorted(ends[:count])


@tenant_selector
def people(tenant: Tenant, as_of: dt.date | None = None, *, user_id: int | None = None) -> list[engine.Person]:
    day = as_of or tenant_today(tenant)
    return engine.people(tenant.pk, [day], weights_get(tenant), user_id=user_id)


@tenant_selector
def person(tenant: Tenant, user_id: int, as_of: dt.date | None = None) -> engine.Person | None:
    rows = people(tenant, as_of, user_id=user_id)
    return rows[0] if rows else None


@tenant_selector
def person_accounts(tenant: Tenant, user_id: int, as_of: dt.date | None = None) -> list[engine.HeldAccount]:
    return engine.held_accounts(tenant.pk, as_of or tenant_today(tenant), user_id)


@tenant_selector
def trend(tenant: Tenant, as_of: dt.date | None = None, *, user_id: int | None = None) -> list[engine.Person]:
    """The people's figures at the last four quarter ends, oldest first."""
    days = quarter_ends(as_of or tenant_today(tenant))
    rows = engine.people(tenant.pk, days, weights_get(tenant), user_id=user_id)
    return sorted(rows, key=lambda row: (row.day, row.user_id))


@tenant_selector
def teams(tenant: Tenant, as_of: dt.date | None = None, *, user_id: int | None = None) -> list[engine.Team]:
    return engine.teams(tenant.pk, as_of or tenant_today(tenant), user_id=user_id)


@tenant_selector
def rollup(tenant: Tenant, as_of: dt.date | None = None) -> engine.Rollup:
    return engine.rollup(tenant.pk, [as_of or tenant_today(tenant)])[0]


@tenant_selector
def rollup_trend(tenant: Tenant, as_of: dt.date | None = None) -> list[engine.Rollup]:
    rows = engine.rollup(tenant.pk, quarter_ends(as_of or tenant_today(tenant)))
    return sorted(rows, key=lambda row: row.day)


@tenant_selector
def member_user(tenant: Tenant, user_id: int) -> Membership | None:
    """The tenant's membership of ``user_id`` (any role, active or not), or None."""
    return Membership.objects.filter(tenant=tenant, user_id=user_id).select_related("user").first()
