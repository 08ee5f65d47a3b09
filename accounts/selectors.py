"""Reads of customer accounts and their records, for pages, the API and other apps.

Every function takes the tenant first. Figures follow DESIGN sections 4 and 6 to
the letter: "12m" is D-365 < order_date <= D, "prev 12m" is D-730 < order_date <= D-365.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    prefetch_related_objects,
)
from django.utils import timezone

from accounts.access import can_write, readable_accounts
from accounts.models import Account, Contact, Contract, Event, Interaction, Invoice, Order, Payment
from kam.models import AuditLog, Membership, Tenant, User
from kam.tenancy import get_object_for_tenant, tenant_selector, tenant_today

# Tier sorts by rank (S first when descending); accounts not scored yet come last either way.
TIER_RANK = Case(
    When(tier="S", then=Value(4)),
    When(tier="A", then=Value(3)),
    When(tier="B", then=Value(2)),
    When(tier="C", then=Value(1)),
    default=Value(None),
    output_field=IntegerField(),
)
SORTS = {
    "name": (F("name").asc(), "id"),
    "-name": (F("name").desc(), "-id"),
    "tier": (TIER_RANK.asc(nulls_last=True), "name", "id"),
    "-tier": (TIER_RANK.desc(nulls_last=True), "name", "id"),
    "score": (F("score").asc(nulls_last=True), "id"),
    "-score": (F("score").desc(nulls_last=True), "id"),
    "health": (F("health_score").asc(nulls_last=True), "id"),
    "-health": (F("health_score").desc(nulls_last=True), "id"),
    # growth's denormalised potential (DESIGN section 12); not computed yet: last
    "potential": (F("potential_12m").asc(nulls_last=True), "id"),
    "-potential": (F("potential_12m").desc(nulls_last=True), "id"),
    "updated": (F("updated_at").asc(), "id"),
    "-updated": (F("updated_at").desc(), "-id"),
}
# Bands of the share of wallet (revenue_12m / wallet, denormalised by growth) the lists filter
# by: [low, high) as fractions; "none" is an account without a wallet (share NULL).
SHARE_OF_WALLET_BANDS: dict[str, tuple[Decimal | None, Decimal | None]] = {
    "none": (None, None),
    "under-25": (None, Decimal("0.25")),
    "25-50": (Decimal("0.25"), Decimal("0.5")),
    "50-75": (Decimal("0.5"), Decimal("0.75")),
    "75-up": (Decimal("0.75"), None),
}


def share_of_wallet_band_q(band: str) -> Q:
    """The accounts whose share of wallet lies in ``band`` (a key of SHARE_OF_WALLET_BANDS)."""
    if band == "none":
        return Q(share_of_wallet__isnull=True)
    low, high = SHARE_OF_WALLET_BANDS[band]
    condition = Q(share_of_wallet__isnull=False)
    if low is not None:
        condition &= Q(share_of_wallet__gte=low)
    if high is not None:
        condition &= Q(share_of_wallet__lt=high)
    return condition


# Contracts ending this soon are highlighted (renewal comes up).
RENEWAL_WINDOW_DAYS = 90


@tenant_selector
def account_list(
    tenant: Tenant,
    membership: Membership,
    *,
    q: str = "",
    status: str = "",
    tier: str = "",
    industry: str = "",
    region: str = "",
    owner: int | None = None,
    health_band: str = "",
    min_potential: Decimal | None = None,
    share_of_wallet: str = "",
    sort: str = "name",
) -> QuerySet[Account]:
    """The accounts the member may read, filtered and sorted; one query, whatever the page size."""
    accounts = readable_accounts(tenant, membership).select_related("owner", "parent")
    if q:
        q = q.strip()
        accounts = accounts.filter(Q(name__icontains=q) | Q(legal_name__icontains=q) | Q(credit_code__iexact=q))
    if status:
        accounts = accounts.filter(status=status)
    if tier:
        accounts = accounts.filter(tier=tier)
    if industry:
        accounts = accounts.filter(industry=industry)
    if region:
        accounts = accounts.filter(region=region)
    if owner:
        accounts = accounts.filter(owner_id=owner)
    if health_band:
        accounts = accounts.filter(health_band=health_band)
    if min_potential is not None:
        accounts = accounts.filter(potential_12m__gte=min_potential)
    if share_of_wallet in SHARE_OF_WALLET_BANDS:
        accounts = accounts.filter(share_of_wallet_band_q(share_of_wallet))
    return accounts.order_by(*SORTS.get(sort, SORTS["name"]))


@tenant_selector
def account_filter_choice_list(tenant: Tenant) -> dict[str, list[str]]:
    """Distinct industries and regions of the tenant, for the list filters."""
    accounts = Account.objects.order_by()
    return {
        "industries": sorted(filter(None, accounts.values_list("industry", flat=True).distinct())),
        "regions": sorted(filter(None, accounts.values_list("region", flat=True).distinct())),
    }


@tenant_selector
def account_get(tenant: Tenant, membership: Membership | None, pk: Any) -> Account:
    """An account the member may read, or 404 (another tenant's, or not theirs to read).
    ``membership`` None is an API token: it reads every account of its tenant."""
    accounts = Account.objects.all() if membership is None else readable_accounts(tenant, membership)
    return get_object_for_tenant(accounts.select_related("owner", "parent"), tenant, pk)


@tenant_selector
def account_get_writable(tenant: Tenant, membership: Membership | None, pk: Any) -> Account:
    """An account the member may write: 404 when they may not read it, 403 when they only read it.
    ``membership`` None is an API token (its scope is checked by the API's permission class)."""
    account = account_get(tenant, membership, pk)
    if membership is not None and not can_write(tenant, membership, account):
        raise PermissionDenied
    return account


@tenant_selector
def account_is_deletable(tenant: Tenant, account: Account) -> bool:
    """No orders, invoices or subsidiaries: the rules of services.account_delete, for showing
    the Delete button (the service still decides). One query."""
    return not (
        Account.objects.filter(pk=account.pk)
        .filter(
            Exists(Order.objects.filter(account=OuterRef("pk")))
            | Exists(Invoice.objects.filter(account=OuterRef("pk")))
            | Exists(Account.objects.filter(parent=OuterRef("pk")))
        )
        .exists()
    )


@tenant_selector
def account_id_list_readable(tenant: Tenant, membership: Membership, ids: Iterable[int]) -> set[int]:
    """Which of these accounts the member may open (group trees show the whole group)."""
    return set(readable_accounts(tenant, membership).filter(pk__in=list(ids)).values_list("pk", flat=True))


# --- choices of the forms ------------------------------------------------------------------------------


@tenant_selector
def account_choice_list(tenant: Tenant, *, exclude: Account | None = None) -> QuerySet[Account]:
    """The tenant's accounts by name, e.g. to choose a parent from (the account itself left out;
    deeper cycles are refused by the service)."""
    accounts = Account.objects.order_by("name", "id")
    return accounts.exclude(pk=exclude.pk) if exclude is not None and exclude.pk else accounts


@tenant_selector
def contact_choice_list(tenant: Tenant, account: Account, *, exclude: Contact | None = None) -> QuerySet[Contact]:
    """The account's contacts by name (whom a contact reports to, whom an interaction was with)."""
    contacts = Contact.objects.filter(account=account).order_by("name", "id")
    return contacts.exclude(pk=exclude.pk) if exclude is not None and exclude.pk else contacts


@tenant_selector
def user_list(tenant: Tenant, *, include: Iterable[int | None] = ()) -> QuerySet[User]:
    """The tenant's people: users with an active membership, by name (owners, leads, team
    members to choose from); ``include`` keeps given users (e.g. an account's current owner
    who has since left)."""
    extra = [pk for pk in include if pk]
    active = Membership.objects.filter(tenant=tenant, is_active=True, user__is_active=True).values("user_id")
    condition = Q(pk__in=active)
    if extra:
        condition |= Q(pk__in=extra)
    return User.objects.filter(condition).order_by("full_name", "email")


# --- figures ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountFigures:
    as_of: dt.date
    revenue_12m: Decimal
    prev_12m: Decimal
    growth: float
    tenant_revenue_12m: Decimal
    revenue_share: float
    cooperation_years: float
    first_order: dt.date | None
    last_order: dt.date | None
    purchase_interval_days: float | None
    expected_next_purchase: dt.date | None
    open_invoices: int
    overdue_invoices: int


def growth_of(revenue_12m: Decimal, prev_12m: Decimal) -> float:
    """DESIGN section 4: growth, clamped to [-1, 2]."""
    if prev_12m > 0:
        value = float((revenue_12m - prev_12m) / prev_12m)
    elif revenue_12m > 0:
        value = 1.0
    else:
        value = 0.0
    return max(-1.0, min(2.0, value))


def median_purchase_interval(order_dates: list[dt.date]) -> float | None:
    """DESIGN section 6: median gap in days between consecutive distinct order dates;
    needs at least 3 distinct dates."""
    distinct = sorted(set(order_dates))
    if len(distinct) < 3:
        return None
    gaps = [(later - earlier).days for earlier, later in zip(distinct, distinct[1:], strict=False)]
    return float(statistics.median(gaps))


@tenant_selector
def account_figures_get(tenant: Tenant, account: Account, *, as_of: dt.date | None = None) -> AccountFigures:
    as_of = as_of or tenant_today(tenant)
    orders = Order.objects.all()
    year_ago, two_years_ago = as_of - dt.timedelta(days=365), as_of - dt.timedelta(days=730)
    mine = orders.filter(account=account, order_date__lte=as_of).aggregate(
        revenue_12m=Sum("amount", filter=Q(order_date__gt=year_ago)),
        prev_12m=Sum("amount", filter=Q(order_date__gt=two_years_ago, order_date__lte=year_ago)),
        first_order=Min("order_date"),
        last_order=Max("order_date"),
    )
    revenue_12m = mine["revenue_12m"] or Decimal("0")
    prev_12m = mine["prev_12m"] or Decimal("0")
    total = orders.filter(order_date__gt=year_ago, order_date__lte=as_of).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal("0")
    starts = [day for day in (account.cooperation_since, mine["first_order"]) if day is not None]
    cooperation_years = max(0.0, (as_of - min(starts)).days / 365.25) if starts else 0.0
    recent_dates = list(
        orders.filter(account=account, order_date__gt=two_years_ago, order_date__lte=as_of)
        .order_by()
        .values_list("order_date", flat=True)
        .distinct()
    )
    interval = median_purchase_interval(recent_dates)
    expected = (
        mine["last_order"] + dt.timedelta(days=round(interval)) if interval is not None and mine["last_order"] else None
    )
    invoices = Invoice.objects.filter(account=account, issued_on__lte=as_of)
    counts = invoices.aggregate(
        open=Count("id", filter=Q(paid_on__isnull=True)),
        overdue=Count("id", filter=Q(paid_on__isnull=True, due_on__lt=as_of)),
    )
    return AccountFigures(
        as_of=as_of,
        revenue_12m=revenue_12m,
        prev_12m=prev_12m,
        growth=growth_of(revenue_12m, prev_12m),
        tenant_revenue_12m=total,
        revenue_share=float(revenue_12m / total) if total > 0 else 0.0,
        cooperation_years=cooperation_years,
        first_order=mine["first_order"],
        last_order=mine["last_order"],
        purchase_interval_days=interval,
        expected_next_purchase=expected,
        open_invoices=counts["open"],
        overdue_invoices=counts["overdue"],
    )


# --- group hierarchy -----------------------------------------------------------------------------


@dataclass
class GroupNode:
    account: Account
    depth: int
    revenue_12m: Decimal
    rolled_up_revenue_12m: Decimal
    children: list[GroupNode]


@tenant_selector
def group_root_get(tenant: Tenant, account: Account) -> Account:
    """The top-most parent: the customer group (集团客户) the account belongs to."""
    node = account
    seen = {node.pk}
    while node.parent_id is not None and node.parent_id not in seen:
        node = Account.objects.get(pk=node.parent_id)
        seen.add(node.pk)
    return node


@tenant_selector
def account_group_get(tenant: Tenant, account: Account, *, as_of: dt.date | None = None) -> GroupNode:
    """The account's whole group as a tree, each node with its own and rolled-up revenue_12m."""
    as_of = as_of or tenant_today(tenant)
    root = group_root_get(tenant, account)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE tree(id, depth) AS (
                SELECT id, 0 FROM accounts_account WHERE id = %(root)s AND tenant_id = %(tenant)s
                UNION ALL
                SELECT a.id, tree.depth + 1 FROM accounts_account a JOIN tree ON a.parent_id = tree.id
                WHERE a.tenant_id = %(tenant)s AND tree.depth < 50
            )
            SELECT tree.id, tree.depth, COALESCE(SUM(o.amount), 0)
            FROM tree LEFT JOIN accounts_order o
              ON o.account_id = tree.id AND o.tenant_id = %(tenant)s
             AND o.order_date > %(year_ago)s AND o.order_date <= %(as_of)s
            GROUP BY tree.id, tree.depth
            """,
            {"root": root.pk, "tenant": tenant.pk, "year_ago": as_of - dt.timedelta(days=365), "as_of": as_of},
        )
        rows = cursor.fetchall()
    accounts = Account.objects.select_related("owner").in_bulk([row[0] for row in rows])
    nodes = {pk: GroupNode(accounts[pk], depth, Decimal(revenue), Decimal(revenue), []) for pk, depth, revenue in rows}
    for node in sorted(nodes.values(), key=lambda n: (n.depth, n.account.name)):
        parent = nodes.get(node.account.parent_id) if node.depth else None
        if parent is not None:
            parent.children.append(node)
    for node in sorted(nodes.values(), key=lambda n: -n.depth):
        parent = nodes.get(node.account.parent_id) if node.depth else None
        if parent is not None:
            parent.rolled_up_revenue_12m += node.rolled_up_revenue_12m
    for node in nodes.values():  # the biggest subsidiaries first
        node.children.sort(key=lambda child: (-child.rolled_up_revenue_12m, child.account.name))
    return nodes[root.pk]


# --- contacts, invoices, contracts -------------------------------------------------------------------


@dataclass
class OrgNode:
    contact: Contact
    reports: list[OrgNode]


@tenant_selector
def contact_org_chart_get(tenant: Tenant, account: Account) -> list[OrgNode]:
    """The account's contacts as trees from reports_to; people who report to nobody at
    the account are roots. Those who left are included (marked by left_on)."""
    contacts = list(Contact.objects.filter(account=account).order_by("name", "id"))
    nodes = {contact.pk: OrgNode(contact, []) for contact in contacts}
    roots = []
    for contact in contacts:
        boss = nodes.get(contact.reports_to_id) if contact.reports_to_id else None
        (boss.reports if boss else roots).append(nodes[contact.pk])
    return roots


@tenant_selector
def invoice_list(tenant: Tenant, account: Account, *, as_of: dt.date | None = None) -> QuerySet[Invoice]:
    """Newest first; each carries ``is_overdue`` (unpaid past its due date)."""
    as_of = as_of or tenant_today(tenant)
    return (
        Invoice.objects.filter(account=account)
        .annotate(is_overdue=ExpressionWrapper(Q(paid_on__isnull=True, due_on__lt=as_of), output_field=BooleanField()))
        .order_by("-issued_on", "-id")
    )


@tenant_selector
def invoice_list_with_payments(tenant: Tenant, invoices: Iterable[Invoice]) -> list[Invoice]:
    """The invoices (a page of them), each with its payments in ``payments`` (oldest first) and
    who recorded them: one query for them all."""
    invoices = list(invoices)
    prefetch_related_objects(
        invoices,
        Prefetch("payments", queryset=Payment.objects.select_related("created_by").order_by("paid_on", "id")),
    )
    return invoices


@tenant_selector
def contract_list_with_renewal_flag(tenant: Tenant, account: Account, *, today: dt.date) -> QuerySet[Contract]:
    """The account's contracts, the latest end first, each with ``ends_soon``: ending within
    the renewal window (renewal comes up)."""
    window_end = today + dt.timedelta(days=RENEWAL_WINDOW_DAYS)
    return (
        Contract.objects.filter(account=account)
        .annotate(
            ends_soon=ExpressionWrapper(Q(end_on__gte=today, end_on__lte=window_end), output_field=BooleanField())
        )
        .order_by("-end_on", "-id")
    )


@tenant_selector
def order_list(tenant: Tenant, account: Account) -> QuerySet[Order]:
    return Order.objects.filter(account=account).order_by("-order_date", "-id")


# --- timeline ---------------------------------------------------------------------------------------

# Entries sort by (time, kind rank, id), newest first; the cursor is the last entry's key.
TIMELINE_RANK = {"order": 0, "event": 1, "interaction": 2, "change": 3}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # interaction | event | order | change
    title: str
    detail: str
    obj: Any

    @property
    def key(self) -> tuple[dt.datetime, int, int]:
        return (self.at, TIMELINE_RANK[self.kind], self.obj.pk)

    @property
    def cursor(self) -> str:
        return f"{self.at.isoformat()}|{self.kind}|{self.obj.pk}"


def parse_timeline_cursor(value: str | None) -> tuple[dt.datetime, int, int] | None:
    """A cursor from "load more", or None for the first page (garbage counts as none)."""
    if not value:
        return None
    try:
        at_text, kind, pk = value.split("|")
        at = dt.datetime.fromisoformat(at_text)
        return (at if at.tzinfo else timezone.make_aware(at), TIMELINE_RANK[kind], int(pk))
    except (ValueError, KeyError):
        return None


def _before(field: str, rank: int, cursor: tuple[dt.datetime, int, int], value: Any) -> Q:
    """Rows of one source (ordered by field, id) that sort before the cursor."""
    _at, cursor_rank, cursor_pk = cursor
    if rank < cursor_rank:
        return Q(**{f"{field}__lte": value})
    if rank == cursor_rank:
        return Q(**{f"{field}__lt": value}) | Q(**{field: value, "pk__lt": cursor_pk})
    return Q(**{f"{field}__lt": value})


@tenant_selector
def timeline_entry_list(
    tenant: Tenant, account: Account, *, cursor: tuple[dt.datetime, int, int] | None = None, limit: int = 20
) -> tuple[list[TimelineEntry], str | None]:
    """Interactions, events, orders and audited changes of the account, newest first.

    Returns one page and the cursor for "load more" (None at the end). Each source is
    read with its own indexed query of at most limit + 1 rows, so a page costs the
    same whatever the account's history.
    """
    tz = timezone.get_current_timezone()

    def noon(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(12, 0), tzinfo=tz)

    def page_of(queryset: QuerySet, field: str, kind: str, is_date: bool) -> QuerySet:
        if cursor is not None:
            value = timezone.localtime(cursor[0], tz).date() if is_date else cursor[0]
            if is_date and noon(value) != cursor[0]:
                # The cursor is another kind's time on that day: compare with the day's noon.
                value_filter = (
                    Q(**{f"{field}__lt": value}) if noon(value) > cursor[0] else Q(**{f"{field}__lte": value})
                )
                queryset = queryset.filter(value_filter)
            else:
                queryset = queryset.filter(_before(field, TIMELINE_RANK[kind], cursor, value))
        return queryset.order_by(f"-{field}", "-id")[: limit + 1]

    entries: list[TimelineEntry] = []
    interactions = Interaction.objects.filter(account=account).select_related("contact")
    for item in page_of(interactions, "occurred_at", "interaction", False):
        who = f" · {item.contact.name}" if item.contact else ""
        entries.append(
            TimelineEntry(item.occurred_at, "interaction", item.get_kind_display() + who, item.summary, item)
        )
    for item in page_of(Event.objects.filter(account=account), "occurred_on", "event", True):
        entries.append(TimelineEntry(noon(item.occurred_on), "event", item.get_kind_display(), item.note, item))
    for item in page_of(Order.objects.filter(account=account), "order_date", "order", True):
        entries.append(TimelineEntry(noon(item.order_date), "order", item.product_line, str(item.amount), item))
    changes = AuditLog.objects.filter(object_type="accounts.account", object_id=str(account.pk)).select_related(
        "actor_user", "actor_token"
    )
    for item in page_of(changes, "created_at", "change", False):
        entries.append(TimelineEntry(item.created_at, "change", item.get_action_display(), item.actor_display, item))
    if cursor is not None:
        entries = [entry for entry in entries if entry.key < cursor]
    entries.sort(key=lambda entry: entry.key, reverse=True)
    page = entries[:limit]
    return page, (page[-1].cursor if len(entries) > limit else None)
