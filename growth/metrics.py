"""Share of wallet, potential and forecasts (DESIGN section 12), in SQL.

:func:`account_figures_refresh` denormalises onto ``accounts_account``, for every account of
the tenant or the given ones, in ONE set-based statement (each source aggregated once, grouped
by account, then joined; only rows whose values change are written)::

    wallet          = sum of the account's buying centres' annual_spend (0 without centres)
    revenue_12m     = sum of its orders with D-365 < order_date <= D
    share_of_wallet = round(revenue_12m / wallet, 4)          when wallet > 0, else NULL
    weighted        = sum over its open-stage opportunities with expected_close <= D+365
                      of amount x probability / 100 (exact, rounded once below)
    potential_12m   = round(max(0, wallet - revenue_12m) + weighted, 2)

The same statement denormalises onto every buying centre of those accounts (for the
tenant-wide whitespace page, growth.whitespace.open_cells_page)::

    revenue_12m      = sum of its orders with D-365 < order_date <= D (0 when none)
    bought_offerings = the sorted distinct offering ids of its orders with D-730 < order_date <= D
                       ('{}' when none)
    figures_as_of    = D

where an order counts for the offering and buying centre growth.orders.attributed_orders
gives it. The orders are read once: aggregated by (account, buying centre) over (D-730, D]
(``cell``: the 12 months' sum and the 24 months' distinct offerings), then rolled up by
account (revenue_12m); a centre's figures are its row of ``cell``. The centres are
written by a data-modifying CTE of the same statement (``centres_written``); only rows whose
values change are written (a new D changes figures_as_of, so the first refresh of a day
rewrites every centre).

Rounding is PostgreSQL's numeric ROUND: half away from zero, i.e. half up for these
non-negative figures. D is today in the tenant's time zone unless ``as_of`` is given.

:func:`account_forecast` (per offering of an account) and :func:`tenant_forecast` (the
tenant's next six months) are read-only; see their docstrings for the formulas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection

from accounts.models import Account
from growth.models import OPEN_STAGES, STAGE_PROBABILITY
from growth.orders import attributed_orders
from kam.db import analyze_written
from kam.models import Tenant
from kam.tenancy import tenant_selector, tenant_service, tenant_today

CENT = Decimal("0.01")
# The columns' bounds (numeric(9,4) and numeric(16,2)): a figure beyond them is written as the
# bound rather than failing the statement for every account (a wallet of 1 with revenue in the
# millions gives a share of wallet above 99,999).
MAX_SHARE = Decimal("99999.9999")
MAX_MONEY = Decimal("99999999999999.99")
FORECAST_MONTHS = 6
GROWTH_CLAMP = (Decimal("-0.5"), Decimal("0.5"))
LAST_ORDERS = 6  # an offering's forecast amount: the median of its last six orders


def _probability_case(column: str) -> str:
    """CASE over the stage column with the probabilities of growth.models.STAGE_PROBABILITY."""
    # The searched form (CASE WHEN x = ...): Citus deparses the simple form (CASE x WHEN ...)
    # for its workers as CASE x WHEN NULL::boolean, which fails there.
    whens = " ".join(f"WHEN {column} = '{stage}' THEN {int(STAGE_PROBABILITY[stage])}" for stage in OPEN_STAGES)
    return f"(CASE {whens} ELSE 0 END)"


OPEN_STAGE_LIST = ", ".join(f"'{stage}'" for stage in OPEN_STAGES)

REFRESH_SQL = """
WITH centres AS (
    SELECT c.account_id, SUM(c.annual_spend) AS wallet
    FROM growth_buyingcentre c
    WHERE c.tenant_id = %(tenant)s{only_c}
    GROUP BY c.account_id
),
cell AS (
    -- the one pass over the orders: (D-730, D] by account and buying centre
    SELECT ao.account_id, ao.buying_centre_id,
           SUM(ao.amount) FILTER (WHERE ao.order_date > %(d365)s) AS revenue_12m,
           array_agg(DISTINCT ao.offering_id ORDER BY ao.offering_id)
               FILTER (WHERE ao.offering_id IS NOT NULL) AS bought
    FROM ({orders}) ao
    GROUP BY ao.account_id, ao.buying_centre_id
),
revenue AS (
    SELECT cl.account_id, SUM(cl.revenue_12m) AS revenue_12m
    FROM cell cl
    GROUP BY cl.account_id
),
pipeline AS (
    SELECT p.account_id, SUM(p.amount * {probability} / 100) AS weighted
    FROM growth_opportunity p
    WHERE p.tenant_id = %(tenant)s AND p.stage IN ({open_stages}) AND p.expected_close <= %(d_plus)s{only_p}
    GROUP BY p.account_id
),
figures AS (
    SELECT a.id AS account_id,
           LEAST(COALESCE(c.wallet, 0), %(max_money)s) AS wallet,
           CASE WHEN c.wallet > 0
                THEN LEAST(ROUND(COALESCE(r.revenue_12m, 0) / c.wallet, 4), %(max_share)s) END AS share_of_wallet,
           LEAST(ROUND(GREATEST(0, COALESCE(c.wallet, 0) - COALESCE(r.revenue_12m, 0))
                       + COALESCE(p.weighted, 0), 2), %(max_money)s) AS potential_12m
    FROM accounts_account a
    LEFT JOIN centres c ON c.account_id = a.id
    LEFT JOIN revenue r ON r.account_id = a.id
    LEFT JOIN pipeline p ON p.account_id = a.id
    WHERE a.tenant_id = %(tenant)s{only_a}
),
centre_figures AS (
    -- a centre belongs to one account: one row of ``cell`` each
    SELECT cl.buying_centre_id, cl.revenue_12m, cl.bought
    FROM cell cl
    WHERE cl.buying_centre_id IS NOT NULL
),
centres_written AS (
    UPDATE growth_buyingcentre c
    SET revenue_12m = n.revenue_12m, bought_offerings = n.bought, figures_as_of = %(d)s
    FROM (
        SELECT bc.id,
               LEAST(GREATEST(COALESCE(cf.revenue_12m, 0), 0 - %(max_money)s), %(max_money)s) AS revenue_12m,
               COALESCE(cf.bought, '{{}}'::bigint[]) AS bought
        FROM growth_buyingcentre bc
        LEFT JOIN centre_figures cf ON cf.buying_centre_id = bc.id
        WHERE bc.tenant_id = %(tenant)s{only_bc}
    ) n
    WHERE c.tenant_id = %(tenant)s AND c.id = n.id{only_c}
      AND (c.revenue_12m, c.bought_offerings, c.figures_as_of)
          IS DISTINCT FROM (n.revenue_12m, n.bought, %(d)s::date)
    RETURNING c.id
)
UPDATE accounts_account a
SET wallet = f.wallet, share_of_wallet = f.share_of_wallet, potential_12m = f.potential_12m
FROM figures f
WHERE a.tenant_id = %(tenant)s AND a.id = f.account_id{only_a}
  AND (a.wallet, a.share_of_wallet, a.potential_12m)
      IS DISTINCT FROM (f.wallet, f.share_of_wallet, f.potential_12m)
"""


def refresh_sql(*, only_some: bool) -> str:
    """The statement; with ``only_some`` every source is restricted to ``%(ids)s``."""

    def only(alias: str, column: str = "account_id") -> str:
        return f" AND {alias}.{column} = ANY(%(ids)s)" if only_some else ""

    # (D-730, D] as D - 730 in SQL: the statement takes the same parameters as before.
    window = " AND o.order_date > %(d)s::date - 730 AND o.order_date <= %(d)s" + only("o")
    return REFRESH_SQL.format(
        probability=_probability_case("p.stage"),
        open_stages=OPEN_STAGE_LIST,
        orders=attributed_orders(window),
        only_c=only("c"),
        only_bc=only("bc"),
        only_p=only("p"),
        only_a=only("a", "id"),
    )


@tenant_service
def account_figures_refresh(
    tenant: Tenant, *, as_of: dt.date | None = None, account_ids: list[int] | None = None
) -> int:
    """Recompute wallet, share_of_wallet and potential_12m of every account of the tenant (or of
    ``account_ids``) and revenue_12m, bought_offerings and figures_as_of of their buying
    centres, as of D, in one statement; returns how many accounts changed.

    Called nightly (growth.tasks.refresh_figures) and by the services that change an account's
    orders, buying centres or opportunities: ``account_figures_refresh(tenant, account_ids=[id])``.
    """
    as_of = as_of or tenant_today(tenant)
    only_some = account_ids is not None
    ids = sorted({int(pk) for pk in account_ids}) if account_ids is not None else []
    if only_some and not ids:
        return 0
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "d": as_of,
        "d365": as_of - dt.timedelta(days=365),
        "d_plus": as_of + dt.timedelta(days=365),
        "ids": ids,
        "max_share": MAX_SHARE,
        "max_money": MAX_MONEY,
    }
    with connection.cursor() as cursor:
        if not only_some:
            # The per-account sums of 5,000,000 orders hash in memory.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(refresh_sql(only_some=only_some), params)
        updated = cursor.rowcount
    analyze_written({"accounts_account": updated})
    return updated


# --- forecasts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferingForecast:
    offering_id: int
    code: str
    name_zh: str
    name_en: str
    order_days: int  # distinct order dates in (D-730, D]
    last_order: dt.date | None  # the last order date in (D-730, D]
    interval_days: Decimal | None  # the median gap (a whole or half number of days)
    next_date: dt.date | None  # last_order + floor(interval_days); None under 3 distinct dates
    amount: Decimal  # the median of its last six orders (any date <= D)
    orders_counted: int  # how many orders that median took (at most six)

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


# The median of the rows of ``source`` with ``k`` (1..n in order of the value) and ``n``: the
# middle one, or the mean of the two middle ones (exact in numeric, unlike percentile_cont).
ACCOUNT_FORECAST_SQL = """
WITH ao AS ({orders}),
mine AS (
    SELECT ao.id, ao.order_date, ao.amount, ao.offering_id FROM ao WHERE ao.offering_id IS NOT NULL
),
days AS (
    SELECT DISTINCT m.offering_id, m.order_date FROM mine m WHERE m.order_date > %(d730)s
),
gaps AS (
    SELECT d.offering_id, d.order_date,
           d.order_date - lag(d.order_date) OVER (PARTITION BY d.offering_id ORDER BY d.order_date) AS gap
    FROM days d
),
rhythm AS (
    SELECT g.offering_id, COUNT(*) AS order_days, MAX(g.order_date) AS last_order
    FROM gaps g GROUP BY g.offering_id
),
ranked_gaps AS (
    SELECT g.offering_id, g.gap,
           row_number() OVER (PARTITION BY g.offering_id ORDER BY g.gap) AS k,
           count(*) OVER (PARTITION BY g.offering_id) AS n
    FROM gaps g WHERE g.gap IS NOT NULL
),
intervals AS (
    SELECT r.offering_id, AVG(r.gap::numeric) AS interval_days
    FROM ranked_gaps r WHERE r.k IN ((r.n + 1) / 2, (r.n + 2) / 2)
    GROUP BY r.offering_id
),
latest AS (
    SELECT m.offering_id, m.amount,
           row_number() OVER (PARTITION BY m.offering_id ORDER BY m.order_date DESC, m.id DESC) AS recency
    FROM mine m
),
ranked_amounts AS (
    SELECT l.offering_id, l.amount,
           row_number() OVER (PARTITION BY l.offering_id ORDER BY l.amount) AS k,
           count(*) OVER (PARTITION BY l.offering_id) AS n
    FROM latest l WHERE l.recency <= %(last_orders)s
),
amounts AS (
    SELECT r.offering_id, ROUND(AVG(r.amount), 2) AS amount, MAX(r.n) AS counted
    FROM ranked_amounts r WHERE r.k IN ((r.n + 1) / 2, (r.n + 2) / 2)
    GROUP BY r.offering_id
)
SELECT f.id, f.code, f.name_zh, f.name_en, COALESCE(rh.order_days, 0), rh.last_order,
       CASE WHEN rh.order_days >= 3 THEN i.interval_days END,
       CASE WHEN rh.order_days >= 3 THEN rh.last_order + FLOOR(i.interval_days)::int END,
       am.amount, am.counted
FROM amounts am
JOIN growth_offering f ON f.tenant_id = %(tenant)s AND f.id = am.offering_id
LEFT JOIN rhythm rh ON rh.offering_id = am.offering_id
LEFT JOIN intervals i ON i.offering_id = am.offering_id
ORDER BY 8 NULLS LAST, f.position, f.code, f.id
"""


@tenant_selector
def account_forecast(tenant: Tenant, account: Account, as_of: dt.date | None = None) -> list[OfferingForecast]:
    """The purchase forecast of each offering the account has bought (its orders as
    growth.orders.attributed_orders counts them, order_date <= D):

    - next date = the last distinct order date in (D-730, D] + floor(I) days, I = the median of
      the gaps in days between consecutive distinct order dates of the offering in (D-730, D]
      (the mean of the two middle gaps for an even count); needs >= 3 distinct dates, else None;
    - amount = the median of the amounts of its last six orders (by order_date, then id; the
      mean of the two middle for an even count), rounded half up to 2 decimals.

    Soonest next date first; offerings without one after them.
    """
    as_of = as_of or tenant_today(tenant)
    params = {
        "tenant": tenant.pk,
        "account": account.pk,
        "d": as_of,
        "d730": as_of - dt.timedelta(days=730),
        "last_orders": LAST_ORDERS,
    }
    sql = ACCOUNT_FORECAST_SQL.format(
        orders=attributed_orders(" AND o.account_id = %(account)s AND o.order_date <= %(d)s")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        OfferingForecast(
            offering_id=row[0],
            code=row[1],
            name_zh=row[2],
            name_en=row[3],
            order_days=row[4],
            last_order=row[5],
            interval_days=row[6],
            next_date=row[7],
            amount=row[8],
            orders_counted=row[9],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ForecastMonth:
    month: dt.date  # the first day of the forecast month
    last_year_month: dt.date  # the first day of the same month a year earlier
    last_year: Decimal  # the tenant's revenue in that month a year earlier
    forecast: Decimal  # last_year x (1 + growth), rounded half up to 2 decimals


@dataclass(frozen=True)
class TenantForecast:
    as_of: dt.date
    revenue_12m: Decimal
    prev_12m: Decimal
    growth: Decimal  # clamped to [-0.5, 0.5]
    raw_growth: Decimal  # before the clamp
    months: list[ForecastMonth]

    @property
    def total_last_year(self) -> Decimal:
        return sum((month.last_year for month in self.months), Decimal("0"))

    @property
    def total_forecast(self) -> Decimal:
        return sum((month.forecast for month in self.months), Decimal("0"))


TENANT_FORECAST_SQL = """
WITH totals AS (
    SELECT COALESCE(SUM(o.amount) FILTER (WHERE o.order_date > %(d365)s), 0) AS revenue_12m,
           COALESCE(SUM(o.amount) FILTER (WHERE o.order_date <= %(d365)s), 0) AS prev_12m
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date > %(d730)s AND o.order_date <= %(d)s
),
growth AS (
    SELECT t.revenue_12m, t.prev_12m,
           CASE WHEN t.prev_12m > 0 THEN (t.revenue_12m - t.prev_12m) / t.prev_12m
                WHEN t.revenue_12m > 0 THEN 1.0
                ELSE 0 END AS raw_growth
    FROM totals t
),
clamped AS (
    SELECT g.*, LEAST(GREATEST(g.raw_growth, %(low)s), %(high)s) AS growth FROM growth g
),
months AS (
    SELECT n, (%(first)s::date + make_interval(months => n - 1))::date AS month,
           (%(first)s::date + make_interval(months => n - 13))::date AS last_year_month
    FROM generate_series(1, %(months)s) AS n
),
actual AS (
    SELECT date_trunc('month', o.order_date)::date AS month, SUM(o.amount) AS revenue
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date >= %(actual_from)s AND o.order_date < %(actual_to)s
      AND o.order_date <= %(d)s
    GROUP BY 1
)
SELECT m.month, m.last_year_month, COALESCE(a.revenue, 0),
       ROUND(COALESCE(a.revenue, 0) * (1 + c.growth), 2),
       c.revenue_12m, c.prev_12m, c.growth, c.raw_growth
FROM months m
CROSS JOIN clamped c
LEFT JOIN actual a ON a.month = m.last_year_month
ORDER BY m.n
"""


def first_of_next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


@tenant_selector
def tenant_forecast(tenant: Tenant, as_of: dt.date | None = None) -> TenantForecast:
    """The tenant's next six months (the six calendar months after D's month):

    each month = the tenant's revenue (every order) in the same calendar month a year earlier
    x (1 + growth), rounded half up to 2 decimals; growth = (revenue_12m - prev_12m) / prev_12m,
    1.0 when prev_12m is 0 and revenue_12m > 0, 0 when both are 0, clamped to [-0.5, 0.5];
    revenue_12m: D-365 < order_date <= D, prev_12m: D-730 < order_date <= D-365. Each month
    carries last year's actual beside its forecast.
    """
    as_of = as_of or tenant_today(tenant)
    first = first_of_next_month(as_of)
    params = {
        "tenant": tenant.pk,
        "d": as_of,
        "d365": as_of - dt.timedelta(days=365),
        "d730": as_of - dt.timedelta(days=730),
        "first": first,
        "months": FORECAST_MONTHS,
        "actual_from": add_months(first, -12),
        "actual_to": add_months(first, FORECAST_MONTHS - 12),
        "low": GROWTH_CLAMP[0],
        "high": GROWTH_CLAMP[1],
    }
    with connection.cursor() as cursor:
        cursor.execute(TENANT_FORECAST_SQL, params)
        rows = cursor.fetchall()
    first_row = rows[0]
    return TenantForecast(
        as_of=as_of,
        revenue_12m=first_row[4],
        prev_12m=first_row[5],
        growth=first_row[6],
        raw_growth=first_row[7],
        months=[
            ForecastMonth(month=row[0], last_year_month=row[1], last_year=_money(row[2]), forecast=_money(row[3]))
            for row in rows
        ],
    )


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
