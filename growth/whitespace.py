"""The whitespace (空白点): buying centre x offering, DESIGN section 12.

A cell is, in this order of precedence:
- ``bought``: an order of the cell (growth.orders.attributed_orders) in (D-730, D];
- ``pipeline``: an open-stage opportunity of that buying centre naming that offering;
- ``not_applicable``: marked so by a person, with a reason;
- ``open``: none of these.
Its revenue is the cell's orders in (D-365, D]. D = today in the tenant's time zone.

Both statements are set-based SQL that name the tenant on every tenant table (a router
query on Citus): :func:`account_matrix` for one account (its tab), :func:`open_cells_page`
for the tenant-wide page and its export (the S and A accounts' centres with open cells,
sorted by the wallet left = max(0, annual spend - the centre's revenue in 12 months)).

The account's tab reads the orders live. The tenant-wide page reads no order: it reads each
centre's ``revenue_12m`` and ``bought_offerings``, denormalised by
growth.metrics.account_figures_refresh (nightly, and after a change of the account's centres
or opportunities) as of the centre's ``figures_as_of``; a centre not computed yet
(``bought_offerings`` NULL) shows every offering open (less its pipeline and marks) and a
revenue of 0. The page says how old the oldest figures are (:class:`OpenCellsPage`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from accounts.models import Account
from growth.models import OPEN_STAGES, BuyingCentre, CellStatus, Offering
from growth.orders import attributed_orders
from kam.models import Tenant
from kam.tenancy import tenant_selector, tenant_today

WHITESPACE_TIERS = ("S", "A")
ZERO = Decimal("0.00")


def _window(tenant: Tenant, as_of: dt.date | None) -> dict[str, Any]:
    today = as_of or tenant_today(tenant)
    return {
        "tenant": tenant.pk,
        "today": today,
        "since_12m": today - dt.timedelta(days=365),
        "since_24m": today - dt.timedelta(days=730),
        "open_stages": [str(stage) for stage in OPEN_STAGES],
    }


# --- one account ----------------------------------------------------------------------------------


@dataclass
class Cell:
    centre_id: int
    offering_id: int
    status: str
    revenue_12m: Decimal
    opportunity_ids: list[int] = field(default_factory=list)
    reason: str = ""

    @property
    def status_label(self) -> str:
        return str(CellStatus(self.status).label)


@dataclass
class Matrix:
    centres: list[BuyingCentre]
    offerings: list[Offering]
    cells: dict[tuple[int, int], Cell]
    # rows for a template: (centre, [cell per offering])
    rows: list[tuple[BuyingCentre, list[Cell]]] = field(default_factory=list)

    def cell(self, centre_id: int, offering_id: int) -> Cell:
        return self.cells[(centre_id, offering_id)]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CellStatus.values, 0)
        for cell in self.cells.values():
            counts[cell.status] += 1
        return counts


ACCOUNT_CELLS_SQL = """
WITH centre AS (
    SELECT c.id FROM growth_buyingcentre c
    WHERE c.tenant_id = %(tenant)s AND c.account_id = %(account)s
),
offering AS (
    SELECT f.id FROM growth_offering f WHERE f.tenant_id = %(tenant)s AND f.is_active
),
bought AS (
    SELECT ao.buying_centre_id, ao.offering_id,
           sum(ao.amount) FILTER (WHERE ao.order_date > %(since_12m)s) AS revenue_12m
    FROM ({orders}) ao
    WHERE ao.buying_centre_id IS NOT NULL AND ao.offering_id IS NOT NULL
    GROUP BY ao.buying_centre_id, ao.offering_id
),
pipeline AS (
    SELECT op.buying_centre_id, oo.offering_id, array_agg(op.id ORDER BY op.expected_close, op.id) AS ids
    FROM growth_opportunity op
    JOIN growth_opportunityoffering oo ON oo.tenant_id = op.tenant_id AND oo.opportunity_id = op.id
    WHERE op.tenant_id = %(tenant)s AND oo.tenant_id = %(tenant)s AND op.account_id = %(account)s
      AND op.buying_centre_id IS NOT NULL AND op.stage = ANY(%(open_stages)s)
    GROUP BY op.buying_centre_id, oo.offering_id
),
mark AS (
    SELECT n.buying_centre_id, n.offering_id, n.reason
    FROM growth_notapplicable n JOIN centre c ON c.id = n.buying_centre_id
    WHERE n.tenant_id = %(tenant)s
)
SELECT c.id, f.id,
       CASE WHEN b.buying_centre_id IS NOT NULL THEN 'bought'
            WHEN p.ids IS NOT NULL THEN 'pipeline'
            WHEN m.reason IS NOT NULL THEN 'not_applicable'
            ELSE 'open' END AS status,
       coalesce(b.revenue_12m, 0) AS revenue_12m,
       p.ids,
       m.reason
FROM centre c CROSS JOIN offering f
LEFT JOIN bought b ON b.buying_centre_id = c.id AND b.offering_id = f.id
LEFT JOIN pipeline p ON p.buying_centre_id = c.id AND p.offering_id = f.id
LEFT JOIN mark m ON m.buying_centre_id = c.id AND m.offering_id = f.id
"""


@tenant_selector
def account_cells(tenant: Tenant, account: Account, *, as_of: dt.date | None = None) -> dict[tuple[int, int], Cell]:
    """Every cell (centre id, offering id) of the account's centres x the active offerings:
    one statement."""
    params = {**_window(tenant, as_of), "account": account.pk}
    orders = attributed_orders(
        " AND o.account_id = %(account)s AND o.order_date > %(since_24m)s AND o.order_date <= %(today)s"
    )
    cells: dict[tuple[int, int], Cell] = {}
    with connection.cursor() as cursor:
        cursor.execute(ACCOUNT_CELLS_SQL.format(orders=orders), params)
        for centre_id, offering_id, status, revenue, ids, reason in cursor.fetchall():
            cells[(centre_id, offering_id)] = Cell(
                centre_id=centre_id,
                offering_id=offering_id,
                status=status,
                revenue_12m=Decimal(revenue).quantize(Decimal("0.01")),
                opportunity_ids=list(ids or []) if status == CellStatus.PIPELINE else [],
                reason=(reason or "") if status == CellStatus.NOT_APPLICABLE else "",
            )
    return cells


@tenant_selector
def account_matrix(tenant: Tenant, account: Account, *, as_of: dt.date | None = None) -> Matrix:
    """The account's whitespace: its buying centres (rows, primary first), the active
    offerings (columns), and every cell."""
    centres = list(
        BuyingCentre.objects.filter(account=account)
        .select_related("decision_maker")
        .order_by("-is_primary", "name", "id")
    )
    offerings = list(Offering.objects.filter(is_active=True).order_by("position", "code", "id"))
    cells = account_cells(tenant, account, as_of=as_of) if centres and offerings else {}
    matrix = Matrix(centres=centres, offerings=offerings, cells=cells)
    matrix.rows = [(centre, [cells[(centre.pk, offering.pk)] for offering in offerings]) for centre in centres]
    return matrix


# --- the tenant: the open cells of the S and A accounts -----------------------------------------------


@dataclass
class OpenCentre:
    centre_id: int
    centre_code: str
    centre_name: str
    account_id: int
    account_name: str
    tier: str
    annual_spend: Decimal
    revenue_12m: Decimal
    wallet_left: Decimal
    offering_ids: list[int]
    # False: the centre's figures are not computed yet (all its offerings are shown open)
    computed: bool = True
    offerings: list[Offering] = field(default_factory=list)


OPEN_CELLS_SQL = """
WITH acc AS (
    SELECT a.id, a.name, a.tier FROM accounts_account a
    WHERE a.tenant_id = %(tenant)s AND a.tier = ANY(%(tiers)s){account_filter}
),
centre AS (
    SELECT c.id, c.account_id, c.code, c.name, c.annual_spend, c.revenue_12m, c.bought_offerings,
           c.figures_as_of
    FROM growth_buyingcentre c JOIN acc ON acc.id = c.account_id
    WHERE c.tenant_id = %(tenant)s
),
offering AS (
    SELECT f.id, f.position, f.code FROM growth_offering f
    WHERE f.tenant_id = %(tenant)s AND f.is_active{offering_filter}
),
taken AS (
    SELECT op.buying_centre_id, oo.offering_id
    FROM growth_opportunity op
    JOIN growth_opportunityoffering oo ON oo.tenant_id = op.tenant_id AND oo.opportunity_id = op.id
    JOIN acc ON acc.id = op.account_id
    WHERE op.tenant_id = %(tenant)s AND oo.tenant_id = %(tenant)s
      AND op.buying_centre_id IS NOT NULL AND op.stage = ANY(%(open_stages)s)
    UNION
    SELECT n.buying_centre_id, n.offering_id
    FROM growth_notapplicable n JOIN centre c ON c.id = n.buying_centre_id
    WHERE n.tenant_id = %(tenant)s
),
taken_by_centre AS (
    SELECT buying_centre_id, array_agg(offering_id) AS ids FROM taken GROUP BY buying_centre_id
),
catalogue AS (
    SELECT array_agg(id ORDER BY position, code, id) AS ids FROM offering
),
freshness AS (
    -- the oldest figures shown, and how many centres have none yet
    SELECT min(c.figures_as_of) AS figures_as_of,
           count(*) FILTER (WHERE c.bought_offerings IS NULL) AS not_computed
    FROM centre c
),
open_centre AS (
    -- per centre, the catalogue less what it bought in 24 months (denormalised by
    -- growth.metrics.account_figures_refresh; NULL: not computed yet, all open), its open
    -- pipeline and its not-applicable marks: no centre x offering rows at all
    SELECT c.id, c.account_id, c.code, c.name, c.annual_spend, c.revenue_12m,
           c.bought_offerings IS NOT NULL AS computed,
           ARRAY(SELECT u.id FROM unnest(cat.ids) WITH ORDINALITY AS u(id, n)
                 WHERE (c.bought_offerings IS NULL OR u.id <> ALL(c.bought_offerings))
                   AND (t.ids IS NULL OR u.id <> ALL(t.ids))
                 ORDER BY u.n) AS offering_ids
    FROM centre c
    CROSS JOIN catalogue cat
    LEFT JOIN taken_by_centre t ON t.buying_centre_id = c.id
    WHERE cat.ids IS NOT NULL
)
SELECT oc.id, oc.code, oc.name, oc.account_id, acc.name, acc.tier, oc.annual_spend,
       coalesce(oc.revenue_12m, 0) AS revenue_12m,
       greatest(0, oc.annual_spend - coalesce(oc.revenue_12m, 0)) AS wallet_left,
       oc.offering_ids, oc.computed,
       fr.figures_as_of, fr.not_computed,
       count(*) OVER () AS total
FROM open_centre oc
JOIN acc ON acc.id = oc.account_id
CROSS JOIN freshness fr
WHERE cardinality(oc.offering_ids) > 0
ORDER BY wallet_left DESC, acc.name, oc.name, oc.id
{limit}
"""

FRESHNESS_SQL = """
SELECT min(c.figures_as_of), count(*) FILTER (WHERE c.bought_offerings IS NULL)
FROM growth_buyingcentre c
JOIN accounts_account a ON a.tenant_id = c.tenant_id AND a.id = c.account_id
WHERE c.tenant_id = %(tenant)s AND a.tenant_id = %(tenant)s AND a.tier = ANY(%(tiers)s){account_filter}
"""


def _open_cells_statement(
    tenant: Tenant,
    *,
    tiers: Iterable[str],
    offering_id: int | None,
    account_ids: Iterable[int] | None,
    paged: bool,
    as_of: dt.date | None,
) -> tuple[str, dict[str, Any]]:
    params = _window(tenant, as_of)
    params["tiers"] = [tier for tier in tiers if tier in WHITESPACE_TIERS] or list(WHITESPACE_TIERS)
    account_filter = offering_filter = ""
    if account_ids is not None:
        params["account_ids"] = list(account_ids)
        account_filter = " AND a.id = ANY(%(account_ids)s)"
    if offering_id is not None:
        params["offering"] = offering_id
        offering_filter = " AND f.id = %(offering)s"
    sql = OPEN_CELLS_SQL.format(
        account_filter=account_filter,
        offering_filter=offering_filter,
        limit="LIMIT %(limit)s OFFSET %(offset)s" if paged else "",
    )
    return sql, params


def _open_centre(row: tuple[Any, ...]) -> OpenCentre:
    centre_id, code, name, account_id, account_name, tier, spend, revenue, left, offering_ids, computed = row[:11]
    return OpenCentre(
        centre_id=centre_id,
        centre_code=code,
        centre_name=name,
        account_id=account_id,
        account_name=account_name,
        tier=tier,
        annual_spend=Decimal(spend).quantize(Decimal("0.01")),
        revenue_12m=Decimal(revenue).quantize(Decimal("0.01")),
        wallet_left=Decimal(left).quantize(Decimal("0.01")),
        offering_ids=list(offering_ids or []),
        computed=bool(computed),
    )


def _with_offerings(rows: list[OpenCentre], offerings: dict[int, Offering]) -> list[OpenCentre]:
    for row in rows:
        row.offerings = [offerings[pk] for pk in row.offering_ids if pk in offerings]
    return rows


@dataclass
class OpenCellsPage:
    rows: list[OpenCentre]
    total: int
    number: int
    page_size: int
    # the oldest figures_as_of of the centres in scope (None: none computed), and how many of
    # them have no figures yet
    figures_as_of: dt.date | None = None
    not_computed: int = 0

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_other_pages(self) -> bool:
        return self.num_pages > 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


@tenant_selector
def open_cells_page(
    tenant: Tenant,
    *,
    tiers: Iterable[str] = WHITESPACE_TIERS,
    offering_id: int | None = None,
    account_ids: Iterable[int] | None = None,
    page: int = 1,
    page_size: int = 50,
    as_of: dt.date | None = None,
) -> OpenCellsPage:
    """One page of the S and A accounts' buying centres that have open cells, the wallet
    left first: one statement (its total by a window function). ``account_ids`` limits it
    to the accounts a member reads (None: every account). The bought cells and revenue are the
    centres' denormalised figures (``as_of`` only dates the pipeline's window: unused)."""
    page = max(1, int(page))
    sql, params = _open_cells_statement(
        tenant, tiers=tiers, offering_id=offering_id, account_ids=account_ids, paged=True, as_of=as_of
    )
    params.update(limit=page_size, offset=(page - 1) * page_size)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    total = fetched[0][-1] if fetched else 0
    if not fetched and page > 1:
        # past the end: count once more from page 1 to say where the end is
        return open_cells_page(
            tenant,
            tiers=tiers,
            offering_id=offering_id,
            account_ids=account_ids,
            page=1,
            page_size=page_size,
            as_of=as_of,
        )
    if fetched:
        figures_as_of, not_computed = fetched[0][11], fetched[0][12]
    else:
        figures_as_of, not_computed = _freshness(tenant, params)
    offerings = Offering.objects.in_bulk()
    return OpenCellsPage(
        rows=_with_offerings([_open_centre(row) for row in fetched], offerings),
        total=total,
        number=page,
        page_size=page_size,
        figures_as_of=figures_as_of,
        not_computed=not_computed or 0,
    )


def _freshness(tenant: Tenant, params: dict[str, Any]) -> tuple[dt.date | None, int]:
    """For an empty page: the oldest figures and the centres without any, of the same scope."""
    account_filter = " AND a.id = ANY(%(account_ids)s)" if "account_ids" in params else ""
    with connection.cursor() as cursor:
        cursor.execute(FRESHNESS_SQL.format(account_filter=account_filter), params)
        figures_as_of, not_computed = cursor.fetchone()
    return figures_as_of, int(not_computed or 0)


@tenant_selector
def open_cells_all(
    tenant: Tenant,
    *,
    tiers: Iterable[str] = WHITESPACE_TIERS,
    offering_id: int | None = None,
    account_ids: Iterable[int] | None = None,
    as_of: dt.date | None = None,
) -> Iterator[OpenCentre]:
    """Every row of the page's statement (for the export), in the page's order."""
    sql, params = _open_cells_statement(
        tenant, tiers=tiers, offering_id=offering_id, account_ids=account_ids, paged=False, as_of=as_of
    )
    offerings = Offering.objects.in_bulk()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            batch = cursor.fetchmany(2000)
            if not batch:
                break
            yield from _with_offerings([_open_centre(row) for row in batch], offerings)
