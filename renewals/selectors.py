"""Reads of renewals (续约): who sees which, the renewals page's filters and figures (by stage,
by month of the contract's end), one renewal, an account's, and the home card's. Every function
takes the tenant first and reads it (it must be the active tenant).

Who sees a renewal: the readers of its account (accounts.access): the roles that read every
account see all; a member those of the accounts they own or serve on. Another tenant's, or one
a member does not read, is 404. The value at stake is the sum of the renewed contracts' values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from accounts.access import readable_account_ids
from accounts.models import Account
from kam.models import Membership, Tenant, User
from kam.tenancy import get_object_for_tenant, tenant_selector
from renewals.models import OPEN_STAGES, Renewal, RenewalStage

MONTHS_AHEAD = 12
MY_RENEWALS_LIMIT = 8
ZERO = Decimal("0")


def overdue_condition(as_of: dt.date) -> Q:
    """Open, and its contract ended before ``as_of``: what risk calls ``renewal_overdue``."""
    return Q(stage__in=OPEN_STAGES, contract__end_on__lt=as_of)


@tenant_selector
def renewal_list_visible(tenant: Tenant, membership: Membership | None) -> QuerySet[Renewal]:
    """The renewals the member sees (None: an API token, the whole tenant)."""
    rows = Renewal.objects.all()
    if membership is None:
        return rows
    ids = readable_account_ids(tenant, membership)
    return rows if ids is None else rows.filter(account_id__in=ids)


@tenant_selector
def renewal_get(tenant: Tenant, membership: Membership | None, pk: Any) -> Renewal:
    """A renewal the member sees, or 404 (another tenant's, or of an account they do not read)."""
    rows = renewal_list_visible(tenant, membership).select_related("account", "contract", "owner", "next_contract")
    return get_object_for_tenant(rows, tenant, pk)


@dataclass
class RenewalFilters:
    stage: str = ""  # a stage, or "open" for the three open ones, or "" for all
    owner: int | None = None
    overdue: bool = False
    tier: str = ""
    account: int | None = None


@tenant_selector
def renewal_list_filtered(
    tenant: Tenant, membership: Membership | None, filters: RenewalFilters, *, as_of: dt.date
) -> QuerySet[Renewal]:
    rows = renewal_list_visible(tenant, membership)
    if filters.stage == "open":
        rows = rows.filter(stage__in=OPEN_STAGES)
    elif filters.stage:
        rows = rows.filter(stage=filters.stage)
    if filters.owner:
        rows = rows.filter(owner_id=filters.owner)
    if filters.overdue:
        rows = rows.filter(overdue_condition(as_of))
    if filters.tier:
        rows = rows.filter(account__tier=filters.tier)
    if filters.account:
        rows = rows.filter(account_id=filters.account)
    return rows


def page_rows(rows: QuerySet[Renewal]) -> QuerySet[Renewal]:
    """A list's rows with what each shows (account, contract, owner), by due date."""
    return rows.select_related("account", "contract", "owner").order_by("due_on", "id")


@dataclass(frozen=True)
class StageFigure:
    stage: str
    count: int
    value: Decimal


@tenant_selector
def stage_figures(tenant: Tenant, rows: QuerySet[Renewal], *, as_of: dt.date) -> dict[str, Any]:
    """Count and value at stake per stage, and of the open and the overdue ones: one query."""
    aggregates: dict[str, Any] = {}
    for stage in RenewalStage.values:
        aggregates[f"{stage}_count"] = Count("id", filter=Q(stage=stage))
        aggregates[f"{stage}_value"] = Coalesce(Sum("contract__value", filter=Q(stage=stage)), ZERO)
    aggregates["overdue_count"] = Count("id", filter=overdue_condition(as_of))
    aggregates["overdue_value"] = Coalesce(Sum("contract__value", filter=overdue_condition(as_of)), ZERO)
    figures = rows.order_by().aggregate(**aggregates)
    by_stage = {
        stage: StageFigure(stage, figures[f"{stage}_count"], figures[f"{stage}_value"]) for stage in RenewalStage.values
    }
    return {
        "by_stage": by_stage,
        "open_count": sum(by_stage[stage].count for stage in OPEN_STAGES),
        "open_value": sum((by_stage[stage].value for stage in OPEN_STAGES), ZERO),
        "overdue_count": figures["overdue_count"],
        "overdue_value": figures["overdue_value"],
    }


@dataclass(frozen=True)
class MonthFigure:
    month: dt.date  # the first day
    count: int
    value: Decimal
    by_stage: dict[str, int] = field(default_factory=dict)


def _month_start(day: dt.date, months: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@tenant_selector
def month_figures(
    tenant: Tenant, rows: QuerySet[Renewal], *, as_of: dt.date, months: int = MONTHS_AHEAD
) -> list[MonthFigure]:
    """The open renewals by month of their contract's end, from ``as_of``'s month on, ``months``
    months (every month listed, empty ones too): count, value at stake, count per open stage."""
    first = _month_start(as_of)
    after = _month_start(as_of, months)
    grouped = (
        rows.filter(stage__in=OPEN_STAGES, contract__end_on__gte=first, contract__end_on__lt=after)
        .annotate(month=TruncMonth("contract__end_on"))
        .order_by()
        .values("month", "stage")
        .annotate(count=Count("id"), value=Coalesce(Sum("contract__value"), ZERO))
    )
    counts: dict[dt.date, dict[str, int]] = {}
    values: dict[dt.date, Decimal] = {}
    for row in grouped:
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        counts.setdefault(month, {})[row["stage"]] = row["count"]
        values[month] = values.get(month, ZERO) + row["value"]
    figures = []
    for offset in range(months):
        month = _month_start(as_of, offset)
        stages = counts.get(month, {})
        figures.append(MonthFigure(month, sum(stages.values()), values.get(month, ZERO), stages))
    return figures


@tenant_selector
def renewal_list_for_account(tenant: Tenant, account: Account) -> QuerySet[Renewal]:
    """The account's renewals: the open ones by due date, then the closed ones, newest first."""
    return Renewal.objects.filter(account=account).select_related("contract", "owner", "next_contract")


@dataclass(frozen=True)
class MyRenewals:
    renewals: list[Renewal]
    total: int
    value: Decimal
    overdue: int


@tenant_selector
def renewal_list_owned_by(tenant: Tenant, user: User, *, as_of: dt.date, limit: int = MY_RENEWALS_LIMIT) -> MyRenewals:
    """The open renewals ``user`` owns, by due date (at most ``limit``), with how many there are,
    their value at stake and how many are overdue (the contract ended unsigned)."""
    rows = Renewal.objects.filter(owner=user, stage__in=OPEN_STAGES)
    figures = rows.order_by().aggregate(
        total=Count("id"),
        value=Coalesce(Sum("contract__value"), ZERO),
        overdue=Count("id", filter=Q(contract__end_on__lt=as_of)),
    )
    listed = list(rows.select_related("account", "contract").order_by("due_on", "id")[:limit])
    for renewal in listed:
        renewal.is_overdue = renewal.contract.end_on < as_of
        renewal.is_late = renewal.due_on < as_of
    return MyRenewals(listed, figures["total"] or 0, figures["value"], figures["overdue"] or 0)
