"""The score run as one set-based SQL statement (DESIGN section 4).

``scores_query`` builds a SELECT that computes, for every account of the tenant whose
status is not lost, the metrics, each criterion's raw and normalised value, base,
adjustments, total, computed tier (gates and hysteresis), override and final tier:
CTEs and window functions, no Python loop over accounts. A run INSERTs its result as
snapshots and UPDATEs the accounts' current tier and score; a preview only SELECTs.

Numbers stay in PostgreSQL numeric throughout (percent_rank is computed as
(rank - 1) / (N - 1) in numeric rather than the double that percent_rank() returns), so
that "rounded half up to two decimals" is exact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scoring.models import Criterion, CriterionKind, Normalization, Scorecard, TierRule

METRIC_COLUMNS = {
    "revenue_share": "m.revenue_share",
    "growth": "m.growth",
    "cooperation_years": "m.cooperation_years",
    "margin": "m.margin",
    "payment_on_time": "m.payment_on_time",
    "revenue_12m": "m.revenue_12m",
}
TIER_ORDER = ["S", "A", "B", "C"]


@dataclass(frozen=True)
class ScoringSpec:
    """What a run needs from a scorecard version, read once."""

    criteria: list[Criterion]
    tiers: list[TierRule]  # highest threshold first
    hysteresis: Decimal

    @classmethod
    def of(cls, scorecard: Scorecard) -> ScoringSpec:
        return cls(
            criteria=list(scorecard.criteria.order_by("position", "id")),
            tiers=sorted(scorecard.tiers.all(), key=lambda rule: (-rule.threshold, TIER_ORDER.index(rule.tier))),
            hysteresis=scorecard.hysteresis,
        )


def _raw_expression(criterion: Criterion, index: int) -> str:
    if criterion.kind == CriterionKind.RATING:
        return f"r{index}.value::numeric"
    return METRIC_COLUMNS[criterion.metric]


def _normalized_expression(criterion: Criterion, index: int, params: dict[str, Any]) -> str:
    """0..100 for a criterion; the missing value when its raw value is NULL."""
    raw = f"c.raw{index}"
    missing = f"%(missing{index})s::numeric"
    params[f"missing{index}"] = criterion.missing_value
    kind = criterion.normalization
    if kind == Normalization.RATING:
        value = f"({raw} - 1) * 25"
    elif kind == Normalization.LINEAR:
        lo, hi = Decimal(str(criterion.params["lo"])), Decimal(str(criterion.params["hi"]))
        params[f"lo{index}"], params[f"span{index}"] = lo, hi - lo
        value = f"LEAST(GREATEST(({raw} - %(lo{index})s) / %(span{index})s, 0), 1) * 100"
    elif kind == Normalization.PERCENTILE:
        value = f"c.pct{index}"
    elif kind == Normalization.BANDS:
        bands = sorted(
            ((Decimal(str(threshold)), Decimal(str(points))) for threshold, points in criterion.params["bands"]),
            reverse=True,
        )
        cases = []
        for band, (threshold, points) in enumerate(bands):
            params[f"b{index}_{band}_t"], params[f"b{index}_{band}_p"] = threshold, points
            cases.append(f"WHEN {raw} >= %(b{index}_{band}_t)s THEN %(b{index}_{band}_p)s::numeric")
        value = f"CASE {' '.join(cases)} ELSE 0 END"
    else:  # pragma: no cover - the model's choices stop this
        raise ValueError(f"unknown normalisation {kind}")
    return f"CASE WHEN {raw} IS NULL THEN {missing} ELSE {value} END"


def scores_query(
    tenant_id: int, as_of: dt.date, spec: ScoringSpec, *, account_id: int | None = None
) -> tuple[str, dict[str, Any]]:
    """The SELECT of every scored account's result (or one account's, ranked among all)."""
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "d": as_of,
        "d365": as_of - dt.timedelta(days=365),
        "d730": as_of - dt.timedelta(days=730),
        "h": spec.hysteresis,
    }
    criteria = spec.criteria
    rating_joins, raw_columns, pct_columns = [], [], []
    for i, criterion in enumerate(criteria):
        raw_columns.append(f"{_raw_expression(criterion, i)} AS raw{i}")
        if criterion.kind == CriterionKind.RATING:
            params[f"rkey{i}"] = criterion.key
            rating_joins.append(
                f"LEFT JOIN latest_ratings r{i} ON r{i}.account_id = m.account_id AND r{i}.criterion = %(rkey{i})s"
            )
        if criterion.normalization == Normalization.PERCENTILE:
            # percent_rank() exactly, in numeric: ties share the lowest rank; 0 when N = 1.
            pct_columns.append(
                f"COALESCE(100 * (rank() OVER (ORDER BY raw{i}) - 1)::numeric"
                f" / NULLIF(count(*) OVER () - 1, 0), 0) AS pct{i}"
            )
    normalized = [_normalized_expression(criterion, i, params) for i, criterion in enumerate(criteria)]
    weight_sum = sum((criterion.weight for criterion in criteria), Decimal("0"))
    params["weight_sum"] = weight_sum
    for i, criterion in enumerate(criteria):
        params[f"w{i}"] = criterion.weight
        params[f"key{i}"] = criterion.key
    weighted_sum = " + ".join(f"%(w{i})s * n.n{i}" for i in range(len(criteria))) or "0"
    base = f"CASE WHEN %(weight_sum)s::numeric > 0 THEN ({weighted_sum}) / %(weight_sum)s::numeric ELSE 0 END"
    incomplete = (
        " OR ".join(
            f"c.raw{i} IS NULL" for i, criterion in enumerate(criteria) if criterion.kind == CriterionKind.RATING
        )
        or "false"
    )
    breakdown = ", ".join(
        f"jsonb_build_object('key', %(key{i})s::text, 'raw', n.raw{i}, 'normalized', ROUND(n.n{i}, 4),"
        f" 'weight', %(w{i})s::numeric,"
        f" 'weighted', ROUND(CASE WHEN %(weight_sum)s::numeric > 0 THEN %(w{i})s * n.n{i} / %(weight_sum)s::numeric"
        f" ELSE 0 END, 4))"
        for i in range(len(criteria))
    )

    # Tiers: thresholds and gates as parameters; rank S=3 ... C=0 decides "higher".
    tier_rank = {tier: len(TIER_ORDER) - 1 - position for position, tier in enumerate(TIER_ORDER)}
    qualify_cases, threshold_cases, gate_cases = [], [], []
    for rule in spec.tiers:
        params[f"t_{rule.tier}"] = rule.threshold
        params[f"g_{rule.tier}"] = rule.min_revenue_12m
        gate = f"(%(g_{rule.tier})s::numeric IS NULL OR s.revenue_12m >= %(g_{rule.tier})s::numeric)"
        qualify_cases.append(f"WHEN s.total >= %(t_{rule.tier})s AND {gate} THEN '{rule.tier}'")
        threshold_cases.append(f"WHEN '{rule.tier}' THEN %(t_{rule.tier})s::numeric")
        gate_cases.append(f"WHEN '{rule.tier}' THEN %(g_{rule.tier})s::numeric")
    found_tier = f"CASE {' '.join(qualify_cases)} ELSE 'C' END"
    rank_of = "CASE {} END".format(" ".join(f"WHEN '{tier}' THEN {rank}" for tier, rank in tier_rank.items()))

    only = "WHERE t.account_id = %(account)s" if account_id is not None else ""
    if account_id is not None:
        params["account"] = account_id

    sql = f"""
WITH
scored AS (
    SELECT a.id AS account_id, a.cooperation_since
    FROM accounts_account a
    WHERE a.tenant_id = %(tenant)s AND a.status <> 'lost'
),
orders AS (
    SELECT o.account_id,
           SUM(o.amount) FILTER (WHERE o.order_date > %(d365)s) AS revenue_12m,
           SUM(o.amount) FILTER (WHERE o.order_date > %(d730)s AND o.order_date <= %(d365)s) AS prev_12m,
           SUM(o.amount) FILTER (WHERE o.order_date > %(d365)s AND o.cost IS NOT NULL) AS costed_revenue_12m,
           SUM(o.cost) FILTER (WHERE o.order_date > %(d365)s AND o.cost IS NOT NULL) AS cost_12m,
           MIN(o.order_date) AS first_order
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date <= %(d)s
    GROUP BY o.account_id
),
tenant_total AS (
    -- every order of the tenant counts, lost accounts' too: the per-account sums already hold them
    SELECT COALESCE(SUM(orders.revenue_12m), 0) AS revenue_12m FROM orders
),
payments AS (
    SELECT i.account_id, COUNT(*) AS due,
           COUNT(*) FILTER (WHERE i.paid_on IS NOT NULL AND i.paid_on <= i.due_on) AS on_time
    FROM accounts_invoice i
    WHERE i.tenant_id = %(tenant)s AND i.due_on > %(d365)s AND i.due_on <= %(d)s
    GROUP BY i.account_id
),
latest_ratings AS (
    SELECT DISTINCT ON (r.account_id, r.criterion) r.account_id, r.criterion, r.value
    FROM scoring_rating r
    WHERE r.tenant_id = %(tenant)s
    ORDER BY r.account_id, r.criterion, r.rated_at DESC, r.id DESC
),
m AS (
    SELECT s.account_id,
           COALESCE(o.revenue_12m, 0) AS revenue_12m,
           CASE WHEN tt.revenue_12m > 0 THEN COALESCE(o.revenue_12m, 0) / tt.revenue_12m ELSE 0 END AS revenue_share,
           GREATEST(-1, LEAST(2,
               CASE WHEN COALESCE(o.prev_12m, 0) > 0 THEN (COALESCE(o.revenue_12m, 0) - o.prev_12m) / o.prev_12m
                    WHEN COALESCE(o.revenue_12m, 0) > 0 THEN 1
                    ELSE 0 END)) AS growth,
           CASE WHEN o.costed_revenue_12m > 0
                THEN (o.costed_revenue_12m - o.cost_12m) / o.costed_revenue_12m END AS margin,
           CASE WHEN LEAST(s.cooperation_since, o.first_order) IS NULL THEN 0
                ELSE (%(d)s::date - LEAST(s.cooperation_since, o.first_order))::numeric / 365.25 END AS cooperation_years,
           CASE WHEN p.due > 0 THEN p.on_time::numeric / p.due END AS payment_on_time
    FROM scored s
    CROSS JOIN tenant_total tt
    LEFT JOIN orders o ON o.account_id = s.account_id
    LEFT JOIN payments p ON p.account_id = s.account_id
),
raw AS (
    SELECT m.account_id, m.revenue_12m{"".join(", " + column for column in raw_columns)}
    FROM m
    {" ".join(rating_joins)}
),
c AS (
    SELECT raw.*{"".join(", " + column for column in pct_columns)}
    FROM raw
),
n AS (
    SELECT c.account_id, c.revenue_12m,
           {", ".join(f"c.raw{i}, {expr} AS n{i}" for i, expr in enumerate(normalized)) or "NULL AS none"},
           ({incomplete}) AS incomplete
    FROM c
),
adjust AS (
    SELECT e.account_id, SUM(e.impact_points) AS points
    FROM accounts_event e
    WHERE e.tenant_id = %(tenant)s AND e.occurred_on <= %(d)s AND (e.expires_on IS NULL OR %(d)s < e.expires_on)
    GROUP BY e.account_id
),
s0 AS (
    SELECT n.account_id, n.revenue_12m, n.incomplete,
           {base} AS base,
           COALESCE(adj.points, 0) AS adjustments,
           jsonb_build_array({breakdown}) AS breakdown
    FROM n LEFT JOIN adjust adj ON adj.account_id = n.account_id
),
s AS (
    SELECT s0.*, ROUND(LEAST(GREATEST(s0.base + s0.adjustments, 0), 100), 2) AS total FROM s0
),
previous AS (
    -- each account's latest earlier snapshot, one index probe per account
    SELECT scored.account_id, p.computed_tier
    FROM scored
    CROSS JOIN LATERAL (
        SELECT x.computed_tier FROM scoring_accountscore x
        WHERE x.tenant_id = %(tenant)s AND x.account_id = scored.account_id AND x.as_of < %(d)s
        ORDER BY x.as_of DESC, x.id DESC
        LIMIT 1
    ) p
),
overrides AS (
    SELECT DISTINCT ON (o.account_id) o.account_id, o.tier
    FROM scoring_tieroverride o
    WHERE o.tenant_id = %(tenant)s AND o.lifted_at IS NULL AND (o.expires_on IS NULL OR %(d)s < o.expires_on)
    ORDER BY o.account_id, o.set_at DESC, o.id DESC
),
tiered AS (
    SELECT s.*, {found_tier} AS found_tier, p.computed_tier AS previous_tier, ov.tier AS override_tier
    FROM s
    LEFT JOIN previous p ON p.account_id = s.account_id
    LEFT JOIN overrides ov ON ov.account_id = s.account_id
),
t AS (
    SELECT tiered.*,
           CASE WHEN previous_tier IS NOT NULL
                 AND ({rank_of.replace("CASE", "CASE previous_tier", 1)}) > ({rank_of.replace("CASE", "CASE found_tier", 1)})
                 AND total >= (CASE previous_tier {" ".join(threshold_cases)} END) - %(h)s
                 AND ((CASE previous_tier {" ".join(gate_cases)} END) IS NULL
                      OR revenue_12m >= (CASE previous_tier {" ".join(gate_cases)} END))
                THEN previous_tier ELSE found_tier END AS computed_tier
    FROM tiered
)
SELECT t.account_id, t.revenue_12m, t.base, t.adjustments, t.total, t.computed_tier,
       COALESCE(t.override_tier, t.computed_tier) AS tier, COALESCE(t.override_tier, '') AS override_tier,
       COALESCE(t.previous_tier, '') AS previous_tier, t.incomplete, t.breakdown
FROM t
{only}
"""
    return sql, params


RESULT_COLUMNS = (
    "account_id",
    "revenue_12m",
    "base",
    "adjustments",
    "total",
    "computed_tier",
    "tier",
    "override_tier",
    "previous_tier",
    "incomplete",
    "breakdown",
)


PARETO_SQL = """
WITH revenue AS (
    SELECT o.account_id, SUM(o.amount) AS revenue_12m
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date > %(d365)s AND o.order_date <= %(d)s
    GROUP BY o.account_id
    HAVING SUM(o.amount) > 0
),
ranked AS (
    SELECT revenue_12m, row_number() OVER (ORDER BY revenue_12m DESC, account_id) AS position, count(*) OVER () AS n
    FROM revenue
)
SELECT COALESCE(MAX(n), 0), COALESCE(CEIL(0.2 * MAX(n)), 0), COALESCE(SUM(revenue_12m), 0),
       COALESCE(SUM(revenue_12m) FILTER (WHERE position <= CEIL(0.2 * n)), 0)
FROM ranked
"""


def pareto_params(tenant_id: int, as_of: dt.date) -> dict[str, Any]:
    """DESIGN section 4, Pareto: accounts with revenue_12m > 0 sorted descending, k = ceil(0.2 N),
    top20_share = their revenue / the total."""
    return {"tenant": tenant_id, "d": as_of, "d365": as_of - dt.timedelta(days=365)}
