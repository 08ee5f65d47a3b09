"""Reads of service for the pages: which needs a member sees and works, the inbox with its
filters and counts, the needs waiting for a person, an account's needs and figures.

Who sees which need (the API's rule, service/api/viewsets.py): the roles that read every
account (administrators, directors, managers, executives) see every need, the triage queue
included (needs whose sender is not known yet); a member sees the needs of the accounts they
read (own or serve on) and the needs given to them. Who works a need: administrators and
directors all; a manager those of the accounts they write, those of the triage queue and
those given to them; a member those of the accounts they read and those given to them;
an executive none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Avg, Case, Count, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Least

from accounts.access import WRITE_ALL, readable_account_ids, readable_accounts, writable_accounts
from accounts.models import Account
from kam.models import Membership, Role, Tenant, User
from kam.permissions import WRITERS
from kam.tenancy import get_object_for_tenant, tenant_selector
from service.models import OPEN_STATUSES, Need, NeedStatus

# The next SLA deadline of a need: the first response while there is none, else the resolution.
NEXT_DUE = Case(
    When(first_response_at__isnull=True, then=F("first_response_due_at")),
    default=F("resolution_due_at"),
    output_field=DateTimeField(),
)
INBOX_SORTS = {"received": ("-received_at", "-id"), "due": (F("next_due_at").asc(nulls_last=True), "id")}
MY_NEEDS_LIMIT = 10
SATISFACTION_DAYS = 180
BREACH_DAYS = 90


# --- who sees and works which need --------------------------------------------------------------


@tenant_selector
def need_list_visible(tenant: Tenant, membership: Membership) -> QuerySet[Need]:
    needs = Need.objects.all()
    account_ids = readable_account_ids(tenant, membership)
    if account_ids is None:
        return needs
    return needs.filter(Q(account_id__in=account_ids) | Q(assignee_id=membership.user_id))


@tenant_selector
def need_get(tenant: Tenant, membership: Membership, pk: Any) -> Need:
    """A need the member sees, or 404 (another tenant's, not theirs to see, or garbage)."""
    queryset = need_list_visible(tenant, membership).select_related("account", "contact", "category", "assignee")
    return get_object_for_tenant(queryset, tenant, pk)


@tenant_selector
def need_id_set_workable(tenant: Tenant, membership: Membership, needs: Iterable[Need]) -> set[int]:
    """The ids of ``needs`` the member may work (assign, classify, prioritise, move along):
    one query at most, for a manager's or a member's accounts."""
    needs = list(needs)
    role = membership.role
    if role in WRITE_ALL:
        return {need.pk for need in needs}
    if role not in WRITERS | {Role.MEMBER}:
        return set()
    account_ids = {need.account_id for need in needs if need.account_id}
    rows = writable_accounts(tenant, membership) if role == Role.MANAGER else readable_accounts(tenant, membership)
    workable_accounts = set(rows.filter(pk__in=account_ids).values_list("pk", flat=True)) if account_ids else set()
    return {
        need.pk
        for need in needs
        if need.assignee_id == membership.user_id
        or need.account_id in workable_accounts
        or (need.account_id is None and role in WRITERS)
    }


# --- the inbox ----------------------------------------------------------------------------------


@tenant_selector
def need_inbox(
    tenant: Tenant,
    membership: Membership,
    *,
    now: dt.datetime,
    statuses: Iterable[str] = (),
    category: str = "",
    account_id: int | None = None,
    assignee: str = "",
    tier: str = "",
    priority: str = "",
    channel: str = "",
    overdue: bool = False,
    triage: bool = False,
    q: str = "",
    sort: str = "received",
) -> QuerySet[Need]:
    """The needs the member sees, filtered: ``statuses`` (none: the open ones); ``category``
    an id or ``none``; ``assignee`` ``me``, ``unassigned`` or a user id; ``tier`` the
    account's; ``overdue`` open needs past their next deadline; ``triage`` needs without
    an account or a category; ``q`` in the subject or the account's name. Newest first, or
    by the next deadline (``sort="due"``)."""
    needs = need_list_visible(tenant, membership).annotate(next_due_at=NEXT_DUE)
    needs = needs.filter(status__in=list(statuses) or list(OPEN_STATUSES))
    if category == "none":
        needs = needs.filter(category__isnull=True)
    elif category:
        needs = needs.filter(category_id=int(category))
    if account_id:
        needs = needs.filter(account_id=account_id)
    if assignee == "me":
        needs = needs.filter(assignee_id=membership.user_id)
    elif assignee == "unassigned":
        needs = needs.filter(assignee__isnull=True)
    elif assignee:
        needs = needs.filter(assignee_id=int(assignee))
    if tier:
        needs = needs.filter(account__tier=tier)
    if priority:
        needs = needs.filter(priority=priority)
    if channel:
        needs = needs.filter(channel=channel)
    if overdue:
        needs = needs.filter(status__in=OPEN_STATUSES, next_due_at__lt=now)
    if triage:
        needs = needs.filter(Q(account__isnull=True) | Q(category__isnull=True))
    if q:
        needs = needs.filter(Q(subject__icontains=q) | Q(account__name__icontains=q))
    return needs.select_related("account", "category", "assignee").order_by(
        *INBOX_SORTS.get(sort, INBOX_SORTS["received"])
    )


@tenant_selector
def need_inbox_counts(tenant: Tenant, membership: Membership, *, now: dt.datetime) -> dict[str, int]:
    """The open needs the member sees: by status, in the triage queue, overdue, given to them
    (one query)."""
    is_open = Q(status__in=OPEN_STATUSES)
    aggregates = {status: Count("id", filter=Q(status=status)) for status in OPEN_STATUSES}
    aggregates["triage"] = Count("id", filter=is_open & (Q(account__isnull=True) | Q(category__isnull=True)))
    aggregates["overdue"] = Count("id", filter=is_open & Q(next_due_at__lt=now))
    aggregates["mine"] = Count("id", filter=is_open & Q(assignee_id=membership.user_id))
    aggregates["open"] = Count("id", filter=is_open)
    # Every figure counts open needs only: the condition up front lets the status index skip the closed.
    counts = (
        need_list_visible(tenant, membership).filter(is_open).annotate(next_due_at=NEXT_DUE).aggregate(**aggregates)
    )
    return {str(key): value or 0 for key, value in counts.items()}


# --- the needs waiting for a person (the home panel) ----------------------------------------------


@dataclass(frozen=True)
class WaitingNeeds:
    needs: list[Need]
    total: int
    overdue: int


@tenant_selector
def need_list_waiting_for(tenant: Tenant, user: User, *, now: dt.datetime, limit: int = MY_NEEDS_LIMIT) -> WaitingNeeds:
    """The open needs given to ``user``, the most pressing first (overdue ones lead: their next
    deadline is the earliest), at most ``limit``, with how many there are and are overdue."""
    needs = Need.objects.filter(assignee=user, status__in=OPEN_STATUSES).annotate(next_due_at=NEXT_DUE)
    counts = needs.aggregate(total=Count("id"), overdue=Count("id", filter=Q(next_due_at__lt=now)))
    rows = list(
        needs.select_related("account", "category").order_by(F("next_due_at").asc(nulls_last=True), "id")[:limit]
    )
    return WaitingNeeds(rows, counts["total"] or 0, counts["overdue"] or 0)


# --- an account's needs (its tab) -----------------------------------------------------------------


@tenant_selector
def need_list_for_account(tenant: Tenant, account: Any) -> QuerySet[Need]:
    """The account's needs: the open ones first, then the newest."""
    open_first = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        Need.objects.filter(account=account)
        .annotate(closed_rank=open_first, next_due_at=NEXT_DUE)
        .select_related("category", "assignee")
        .order_by("closed_rank", "-received_at", "-id")
    )


@dataclass(frozen=True)
class AccountNeedFigures:
    by_status: dict[str, int]
    open: int
    satisfaction: Decimal | None  # mean of the ratings of the needs resolved in the last 180 days
    rated: int
    breaches: int  # SLA deadlines missed in the last 90 days


def late_deadlines(since: dt.datetime, now: dt.datetime) -> tuple[Q, Q]:
    """The needs whose first response, and those whose resolution, missed a deadline that fell
    in [since, now): as the health signal counts them (risk.engine, DESIGN section 11), a first
    response is late when neither a reply nor the resolution came by its deadline, a
    resolution when it came after its deadline or not at all; so at most two per need.
    Filters on the annotation ``first_done_at`` (:data:`FIRST_DONE`)."""
    first = Q(first_response_due_at__gte=since, first_response_due_at__lt=now) & (
        Q(first_done_at__isnull=True) | Q(first_done_at__gt=F("first_response_due_at"))
    )
    resolution = Q(resolution_due_at__gte=since, resolution_due_at__lt=now) & (
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("resolution_due_at"))
    )
    return first, resolution


# PostgreSQL's LEAST ignores nulls: the earlier of the first reply and the resolution.
FIRST_DONE = Least("first_response_at", "resolved_at")


@tenant_selector
def need_figures_for_account(tenant: Tenant, account: Any, *, now: dt.datetime) -> AccountNeedFigures:
    """Counts per status, the mean satisfaction of the last 180 days, the SLA breaches of the
    last 90 days (one query)."""
    first_late, resolution_late = late_deadlines(now - dt.timedelta(days=BREACH_DAYS), now)
    rated = Q(resolved_at__gte=now - dt.timedelta(days=SATISFACTION_DAYS), satisfaction__isnull=False)
    aggregates: dict[str, Any] = {status: Count("id", filter=Q(status=status)) for status in NeedStatus.values}
    aggregates["mean_satisfaction"] = Avg("satisfaction", filter=rated)
    aggregates["rated"] = Count("id", filter=rated)
    aggregates["first_late"] = Count("id", filter=first_late)
    aggregates["resolution_late"] = Count("id", filter=resolution_late)
    row = Need.objects.filter(account=account).annotate(first_done_at=FIRST_DONE).aggregate(**aggregates)
    mean = row["mean_satisfaction"]
    return AccountNeedFigures(
        by_status={status: row[status] or 0 for status in NeedStatus.values},
        open=sum(row[status] or 0 for status in OPEN_STATUSES),
        satisfaction=None if mean is None else Decimal(str(mean)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        rated=row["rated"] or 0,
        breaches=(row["first_late"] or 0) + (row["resolution_late"] or 0),
    )


# --- logging a need by hand ------------------------------------------------------------------------


@tenant_selector
def account_list_for_logging(tenant: Tenant, membership: Membership) -> QuerySet[Account]:
    """The accounts the member may log a need for, by name: as for interactions
    (accounts.access.can_log_interaction), writers the accounts they write, members those
    they read; executives none."""
    if membership.role == Role.MEMBER:
        accounts = readable_accounts(tenant, membership)
    else:
        accounts = writable_accounts(tenant, membership)
    return accounts.order_by("name", "id")
