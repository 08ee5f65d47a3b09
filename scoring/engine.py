"""The score run as one set-based SQL statement (DESIGN section 4).

``scores_query`` builds a SELECT that computes, for every account of the tenant whose
status is not lost, the metrics, each criterion's raw and normalised value, base,
adjustments, total, computed tier (gates and hysteresis) and why (``tier_reason``),
override and final tier:
CTEs and window functions, no Python loop over accounts. A run stores its result as
snapshots and updates the accounts' current tier and score; a preview only SELECTs.

Numbers stay in PostgreSQL numeric throughout (percent_rank is computed as
(rank - 1) / (N - 1) in numeric rather than the double that percent_rank() returns), so
that "rounded half up to two decimals" is exact.

One builder, three shapes of the same statement:

- every scored account (a full run, a preview);
- one account, ranked among all (``account_id``): every order is still aggregated,
  because the percentile and the tenant total need every account's revenue;
- one account against a *basis* (``account_id`` and ``basis``): a completed full run of
  the same as_of, whose snapshots hold every scored account's revenue_12m, and the
  change notes its snapshot did not see (``scoring_scorechange``, written by triggers in
  the transactions that write orders or accounts: the account, and how much its
  revenue_12m as of the basis's day moved). The tenant total is the basis's plus the
  moves; an account's revenue is its snapshot's plus its moves (its own orders when the
  basis did not score it); the population the basis's plus the accounts added to or
  removed from the scored set; the rank counts the accounts whose revenue_share is below
  the account's, in the same numeric division as a full run, from the basis's stored
  ranks and a few probes of its snapshots' index by revenue. The statement reads the
  account's own rows, the notes and a few index entries of the basis, never every
  order. A note of another as_of (or from before the notes carried their account), an
  account deleted since the basis, or a total that is not positive makes it return no
  row, and the caller runs the second shape.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scoring.models import Criterion, CriterionKind, Metric, Normalization, Scorecard, TierReason, TierRule

METRIC_COLUMNS = {
    "revenue_share": "m.revenue_share",
    "growth": "m.growth",
    "cooperation_years": "m.cooperation_years",
    "margin": "m.margin",
    "payment_on_time": "m.payment_on_time",
    "revenue_12m": "m.revenue_12m",
    # growth's potential_12m as denormalised on the account (NULL before growth computed it)
    "potential": "m.potential",
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

    @property
    def ranks_only_revenue_share(self) -> bool:
        """Whether every percentile criterion ranks revenue_share: the one rank a basis stores."""
        return all(
            criterion.metric == Metric.REVENUE_SHARE
            for criterion in self.criteria
            if criterion.normalization == Normalization.PERCENTILE
        )


@dataclass(frozen=True)
class Basis:
    """A completed full run of the as_of: the snapshot (``pg_snapshot`` text) its statement read,
    and its own transaction (whose writes that snapshot shows only up to the statement)."""

    run_id: int
    as_of: dt.date
    snapshot: str
    xid: int


def _raw_expression(criterion: Criterion, index: int) -> str:
    if criterion.kind == CriterionKind.RATING:
        return f"r{index}.value::numeric"
    return METRIC_COLUMNS[criterion.metric]


def _rank_column(criterion: Criterion, index: int) -> str:
    """The rank a percentile criterion reads: revenue_share's is the one every snapshot stores
    (``revenue_rank``), so that a rescore against a basis gives the same number as a full run."""
    return "revenue_rank" if criterion.metric == Metric.REVENUE_SHARE else f"rank{index}"


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


TIER_RANK = {tier: len(TIER_ORDER) - 1 - position for position, tier in enumerate(TIER_ORDER)}  # S=3 ... C=0


@dataclass(frozen=True)
class TierExpressions:
    """The tier decision as SQL, over the columns total, revenue_12m and previous_tier."""

    found: str  # the highest tier whose threshold the total reaches and whose gate the revenue passes, else C
    reached: str  # the highest tier whose threshold the total reaches, gates aside (NULL: none)
    computed: str  # over found_tier: the previous tier when the hysteresis keeps it, else found_tier
    # over found_tier, reached_tier and computed_tier: why computed_tier (TierReason), and the
    # highest tier whose gate held the account below it (else '')
    reason: str
    gated: str


def _tier_expressions(spec: ScoringSpec, params: dict[str, Any]) -> TierExpressions:
    qualify_cases, reach_cases, threshold_cases, gate_cases = [], [], [], []
    for rule in spec.tiers:
        params[f"t_{rule.tier}"] = rule.threshold
        params[f"g_{rule.tier}"] = rule.min_revenue_12m
        gate = f"(%(g_{rule.tier})s::numeric IS NULL OR s.revenue_12m >= %(g_{rule.tier})s::numeric)"
        qualify_cases.append(f"WHEN s.total >= %(t_{rule.tier})s AND {gate} THEN '{rule.tier}'")
        reach_cases.append(f"WHEN s.total >= %(t_{rule.tier})s THEN '{rule.tier}'")
        threshold_cases.append(f"WHEN '{rule.tier}' THEN %(t_{rule.tier})s::numeric")
        gate_cases.append(f"WHEN '{rule.tier}' THEN %(g_{rule.tier})s::numeric")
    ranks = " ".join(f"WHEN '{tier}' THEN {rank}" for tier, rank in TIER_RANK.items())
    gate_of_previous = f"(CASE previous_tier {' '.join(gate_cases)} END)"
    computed = f"""CASE WHEN previous_tier IS NOT NULL
                 AND (CASE previous_tier {ranks} END) > (CASE found_tier {ranks} END)
                 AND total >= (CASE previous_tier {" ".join(threshold_cases)} END) - %(h)s
                 AND ({gate_of_previous} IS NULL OR revenue_12m >= {gate_of_previous})
                THEN previous_tier ELSE found_tier END"""
    # Thresholds fall from S to C, so every tier between found_tier and reached_tier was reached
    # and held back by its gate.
    gate_held = f"(CASE reached_tier {ranks} END) > (CASE found_tier {ranks} END)"
    reason = f"""CASE WHEN computed_tier <> found_tier THEN '{TierReason.HYSTERESIS}'
                WHEN {gate_held} THEN '{TierReason.GATE}'
                ELSE '{TierReason.THRESHOLD}' END"""
    gated = f"CASE WHEN computed_tier = found_tier AND {gate_held} THEN reached_tier ELSE '' END"
    return TierExpressions(
        found=f"CASE {' '.join(qualify_cases)} ELSE 'C' END",
        reached=f"CASE {' '.join(reach_cases)} END",
        computed=computed,
        reason=reason,
        gated=gated,
    )


def _breakdown_expressions(spec: ScoringSpec, params: dict[str, Any]) -> tuple[str, str]:
    """(keys, values): per criterion in scorecard order raw, normalised (4 decimals), weight and
    weighted (4 decimals) in one numeric[]; numeric keeps each value's own scale."""
    params["breakdown_keys"] = [criterion.key for criterion in spec.criteria]
    values = []
    for i in range(len(spec.criteria)):
        weighted = f"CASE WHEN %(weight_sum)s::numeric > 0 THEN %(w{i})s * n.n{i} / %(weight_sum)s::numeric ELSE 0 END"
        values += [f"n.raw{i}", f"ROUND(n.n{i}, 4)", f"%(w{i})s::numeric", f"ROUND({weighted}, 4)"]
    array = f"ARRAY[{', '.join(values)}]::numeric[]" if values else "'{}'::numeric[]"
    return "%(breakdown_keys)s::text[]", array


# Per-account sums of the orders that only some metrics need: (metric, SQL of its sums).
ORDER_SUMS = [
    (Metric.GROWTH, "SUM(o.amount) FILTER (WHERE o.order_date > %(d730)s AND o.order_date <= %(d365)s) AS prev_12m"),
    (
        Metric.MARGIN,
        "SUM(o.amount) FILTER (WHERE o.order_date > %(d365)s AND o.cost IS NOT NULL) AS costed_revenue_12m,"
        " SUM(o.cost) FILTER (WHERE o.order_date > %(d365)s AND o.cost IS NOT NULL) AS cost_12m",
    ),
    (Metric.COOPERATION_YEARS, "MIN(o.order_date) AS first_order"),
]
ORDER_SUMS_UNUSED = {
    Metric.GROWTH: "NULL::numeric AS prev_12m",
    Metric.MARGIN: "NULL::numeric AS costed_revenue_12m, NULL::numeric AS cost_12m",
    Metric.COOPERATION_YEARS: "NULL::date AS first_order",
}


def _order_sums(spec: ScoringSpec) -> str:
    """The sums the scorecard's metrics read; NULL for the others, which no output reads
    (each aggregate over 5,000,000 orders costs a tenth of a second of CPU)."""
    metrics = {criterion.metric for criterion in spec.criteria}
    return ",\n           ".join(sql if metric in metrics else ORDER_SUMS_UNUSED[metric] for metric, sql in ORDER_SUMS)


def _ranking_parts(*, against_basis: bool, rank_windows: list[str]) -> tuple[str, str, str, str]:
    """(CTEs before the others, a filter of the scored accounts, the tenant total, the ranks)
    for one shape.

    Against a basis: the account alone, and only while every note since the basis moved
    revenue as of the basis's day; the total, the population and the rank from the basis
    and the notes. Otherwise: every account, ranked by window functions.
    """
    if against_basis:
        # The notes the basis's statement did not see. The basis run's own transaction is the
        # exception: its notes from before the statement were forgotten by the run, so a note
        # of it can only be from after.
        changes = """
changes AS (
    SELECT change.account_id, SUM(change.revenue_delta) AS delta, SUM(change.scored_delta) AS scored_delta,
           bool_and(change.as_of IS NOT NULL AND change.as_of = %(basis_as_of)s::date) AS usable
    FROM scoring_scorechange change
    WHERE change.tenant_id = %(tenant)s
      AND (NOT pg_visible_in_snapshot(change.xid::text::xid8, %(basis_snapshot)s::pg_snapshot)
           OR change.xid = %(basis_xid)s)
    GROUP BY change.account_id
),
changed AS (
    -- Each changed account: its revenue_12m in the basis (NULL: the basis did not score it, or
    -- it was deleted since, with its snapshots), and now when it is scored now (the basis's plus
    -- its moves, or its own orders when the basis did not score it: added since, or won back).
    SELECT ch.account_id, was.revenue_12m AS was_revenue_12m, now.id IS NOT NULL AS is_scored,
           EXISTS (SELECT 1 FROM accounts_account kept
                   WHERE kept.tenant_id = %(tenant)s AND kept.id = ch.account_id) AS is_kept,
           CASE WHEN now.id IS NULL THEN NULL
                WHEN was.account_id IS NOT NULL THEN was.revenue_12m + ch.delta
                ELSE (SELECT COALESCE(SUM(o.amount), 0) FROM accounts_order o
                      WHERE o.tenant_id = %(tenant)s AND o.account_id = ch.account_id
                        AND o.order_date > %(d365)s AND o.order_date <= %(d)s) END AS revenue_12m
    FROM changes ch
    LEFT JOIN accounts_account now ON now.tenant_id = %(tenant)s AND now.id = ch.account_id AND now.status <> 'lost'
    LEFT JOIN scoring_accountscore was
      ON was.tenant_id = %(tenant)s AND was.run_id = %(basis_run)s AND was.account_id = ch.account_id
    WHERE ch.account_id IS NOT NULL
),
basis_total AS (
    SELECT run.total_revenue_12m + COALESCE((SELECT SUM(ch.delta) FROM changes ch), 0) AS revenue_12m,
           run.accounts_scored + COALESCE((SELECT SUM(ch.scored_delta) FROM changes ch), 0) AS population,
           run.total_revenue_12m AS basis_revenue_12m, run.accounts_scored AS basis_population
    FROM scoring_scorerun run
    WHERE run.tenant_id = %(tenant)s AND run.id = %(basis_run)s
),"""
        fresh = """
      AND a.id = %(account)s
      AND NOT EXISTS (SELECT 1 FROM changes WHERE changes.account_id IS NULL OR NOT changes.usable)
      AND NOT EXISTS (SELECT 1 FROM changed WHERE NOT changed.is_kept)
      AND EXISTS (SELECT 1 FROM basis_total WHERE basis_total.basis_revenue_12m > 0 AND basis_total.revenue_12m > 0)"""
        tenant_total = """
    SELECT basis_total.revenue_12m FROM basis_total"""
        # percent_rank's rank: 1 + the scored accounts whose revenue_share is below the account's,
        # revenue_share as m computes it (revenue / total, both totals positive here), so that ties
        # fall exactly as in a full run: the basis's snapshots below, less the changed accounts'
        # snapshots below, plus the changed accounts scored now below.
        #
        # The basis's snapshots below are found with its stored ranks and a few probes of the index
        # (tenant, run, revenue_cents), not counted: division by a positive total keeps the order of
        # revenues, so those with a share below x's are those with revenue below x's, less the few
        # whose share rounds to x's (numeric division keeps at least 16 significant digits: only a
        # revenue within 10^-12 of the total of x's can). Those with revenue below x's are those below
        # s, the first snapshot with revenue >= x's (all of them when there is none): s's rank - 1,
        # the basis's ranks counting shares below s's under the basis's total, plus those below s
        # whose share rounded to s's under that total. (ORDER BY in the counts: the index in the
        # order of revenue is then the cheaper path even when the statistics know nothing yet of
        # the basis's run, and the planner would else walk the run's snapshots in account order.)
        ranked = """
    SELECT raw.*, 1 + basis_below.n - was_below.n + now_below.n AS revenue_rank, tt.population
    -- OFFSET 0: the one row as a row, so that the probes below take its revenue as an index bound
    -- and run once, rather than being pulled up into every use of the rank
    FROM (SELECT * FROM raw OFFSET 0) raw
    CROSS JOIN basis_total tt
    CROSS JOIN LATERAL (
        SELECT COALESCE(
                   (SELECT s.revenue_rank - 1 + (
                               SELECT COUNT(*) FROM (
                                   SELECT 1 FROM scoring_accountscore b
                                   WHERE b.tenant_id = %(tenant)s AND b.run_id = %(basis_run)s
                                     AND b.revenue_cents >= floor((s.revenue_12m - tt.basis_revenue_12m * 1e-12) * 100)::bigint
                                     AND b.revenue_cents < s.revenue_cents
                                     AND b.revenue_12m / tt.basis_revenue_12m = s.revenue_12m / tt.basis_revenue_12m
                                   ORDER BY b.revenue_cents) band)
                    FROM (SELECT x.revenue_12m, x.revenue_cents, x.revenue_rank FROM scoring_accountscore x
                          WHERE x.tenant_id = %(tenant)s AND x.run_id = %(basis_run)s
                            AND x.revenue_cents >= ceil(raw.revenue_12m * 100)::bigint
                          ORDER BY x.revenue_cents LIMIT 1) s),
                   tt.basis_population)
               - (SELECT COUNT(*) FROM (
                      SELECT 1 FROM scoring_accountscore b
                      WHERE b.tenant_id = %(tenant)s AND b.run_id = %(basis_run)s
                        AND b.revenue_cents >= floor((raw.revenue_12m - tt.revenue_12m * 1e-12) * 100)::bigint
                        AND b.revenue_cents < ceil(raw.revenue_12m * 100)::bigint
                        AND b.revenue_12m / tt.revenue_12m = raw.revenue_share
                      ORDER BY b.revenue_cents) band) AS n
        OFFSET 0
    ) basis_below
    CROSS JOIN LATERAL (
        SELECT COUNT(*) FILTER (WHERE ch.was_revenue_12m / tt.revenue_12m < raw.revenue_share) AS n
        FROM changed ch WHERE ch.was_revenue_12m IS NOT NULL
    ) was_below
    CROSS JOIN LATERAL (
        SELECT COUNT(*) FILTER (WHERE ch.revenue_12m / tt.revenue_12m < raw.revenue_share) AS n
        FROM changed ch WHERE ch.is_scored AND ch.account_id <> raw.account_id
    ) now_below"""
        return changes, fresh, tenant_total, ranked
    tenant_total = """
    -- every order of the tenant counts, lost accounts' too: the per-account sums already hold them
    SELECT COALESCE(SUM(orders.revenue_12m), 0) AS revenue_12m FROM orders"""
    ranked = f"""
    SELECT raw.*, rank() OVER (ORDER BY raw.revenue_share) AS revenue_rank,
           count(*) OVER () AS population{"".join(rank_windows)}
    FROM raw"""
    return "", "", tenant_total, ranked


def scores_query(
    tenant_id: int,
    as_of: dt.date,
    spec: ScoringSpec,
    *,
    account_id: int | None = None,
    basis: Basis | None = None,
    summary: bool = False,
    xid: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """The SELECT of every scored account's result, or of one account's, ranked among all.

    ``basis`` (with ``account_id``): rank against that full run's snapshots instead of
    aggregating every order; no row when an order or the scored set changed since.
    ``summary``: one more row, account_id NULL, with the Pareto figures over all the
    tenant's accounts, the snapshot the statement read and ``xid``, the transaction's id
    on the node of the tenant's rows (for a full run: ``transaction_id``).
    """
    if basis is not None and (account_id is None or not spec.ranks_only_revenue_share):
        raise ValueError("a basis serves a single account whose percentiles rank revenue_share")
    if summary and (account_id is not None or xid is None):
        raise ValueError("the summary (Pareto) belongs to a full run, and names its transaction")
    single = account_id is not None
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "d": as_of,
        "d365": as_of - dt.timedelta(days=365),
        "d730": as_of - dt.timedelta(days=730),
        "h": spec.hysteresis,
        "account": account_id,
        "xid": xid,
    }
    if basis is not None:
        params.update(
            basis_run=basis.run_id, basis_as_of=basis.as_of, basis_snapshot=basis.snapshot, basis_xid=basis.xid
        )
    criteria = spec.criteria
    rating_joins, raw_columns, rank_windows, pct_columns = [], [], [], []
    for i, criterion in enumerate(criteria):
        raw_columns.append(f"{_raw_expression(criterion, i)} AS raw{i}")
        if criterion.kind == CriterionKind.RATING:
            params[f"rkey{i}"] = criterion.key
            rating_joins.append(
                f"LEFT JOIN latest_ratings r{i} ON r{i}.account_id = m.account_id AND r{i}.criterion = %(rkey{i})s"
            )
        if criterion.normalization == Normalization.PERCENTILE:
            rank = _rank_column(criterion, i)
            if rank != "revenue_rank":
                rank_windows.append(f", rank() OVER (ORDER BY raw.raw{i}) AS {rank}")
            # percent_rank() exactly, in numeric: ties share the lowest rank; 0 when N = 1.
            pct_columns.append(
                f", COALESCE(100 * (ranked.{rank} - 1)::numeric / NULLIF(ranked.population - 1, 0), 0) AS pct{i}"
            )
    normalized = [_normalized_expression(criterion, i, params) for i, criterion in enumerate(criteria)]
    params["weight_sum"] = sum((criterion.weight for criterion in criteria), Decimal("0"))
    for i, criterion in enumerate(criteria):
        params[f"w{i}"] = criterion.weight
    weighted_sum = " + ".join(f"%(w{i})s * n.n{i}" for i in range(len(criteria))) or "0"
    base = f"CASE WHEN %(weight_sum)s::numeric > 0 THEN ({weighted_sum}) / %(weight_sum)s::numeric ELSE 0 END"
    incomplete = (
        " OR ".join(
            f"c.raw{i} IS NULL" for i, criterion in enumerate(criteria) if criterion.kind == CriterionKind.RATING
        )
        or "false"
    )
    breakdown_keys, breakdown_values = _breakdown_expressions(spec, params)
    tiers = _tier_expressions(spec, params)

    # Filters of the account's own rows: every shape but the full one reads only them, except
    # that the second shape still needs every account's orders and payments to rank them.
    own = "AND {alias}.account_id = %(account)s" if single else ""
    own_ranked = own if basis is not None else ""
    changes, fresh, tenant_total, ranked = _ranking_parts(against_basis=basis is not None, rank_windows=rank_windows)
    only_after_ranking = "WHERE c.account_id = %(account)s" if single and basis is None else ""
    previous = PREVIOUS_OF_ONE.format(own=own.format(alias="scored")) if single else PREVIOUS_OF_ALL

    sql = f"""
WITH{changes}
scored AS (
    SELECT a.id AS account_id, a.cooperation_since, a.tier AS account_tier, a.score AS account_score,
           a.potential_12m
    FROM accounts_account a
    WHERE a.tenant_id = %(tenant)s AND a.status <> 'lost'{fresh}
),
orders AS (
    SELECT o.account_id,
           SUM(o.amount) FILTER (WHERE o.order_date > %(d365)s) AS revenue_12m,
           {_order_sums(spec)}
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date <= %(d)s {own_ranked.format(alias="o")}
    GROUP BY o.account_id
),
tenant_total AS ({tenant_total}
),
payments AS (
    SELECT i.account_id, COUNT(*) AS due,
           COUNT(*) FILTER (WHERE i.paid_on IS NOT NULL AND i.paid_on <= i.due_on) AS on_time
    FROM accounts_invoice i
    WHERE i.tenant_id = %(tenant)s AND i.due_on > %(d365)s AND i.due_on <= %(d)s {own_ranked.format(alias="i")}
    GROUP BY i.account_id
),
latest_ratings AS (
    SELECT DISTINCT ON (r.account_id, r.criterion) r.account_id, r.criterion, r.value
    FROM scoring_rating r
    WHERE r.tenant_id = %(tenant)s {own.format(alias="r")}
    ORDER BY r.account_id, r.criterion, r.rated_at DESC, r.id DESC
),
m AS (
    SELECT s.account_id, s.account_tier, s.account_score,
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
           CASE WHEN p.due > 0 THEN p.on_time::numeric / p.due END AS payment_on_time,
           s.potential_12m AS potential
    FROM scored s
    CROSS JOIN tenant_total tt
    LEFT JOIN orders o ON o.account_id = s.account_id
    LEFT JOIN payments p ON p.account_id = s.account_id
),
raw AS (
    SELECT m.account_id, m.account_tier, m.account_score, m.revenue_12m, m.revenue_share{"".join(", " + column for column in raw_columns)}
    FROM m
    {" ".join(rating_joins)}
),
ranked AS ({ranked}
),
c AS (
    SELECT ranked.*{"".join(pct_columns)}
    FROM ranked
),
n AS (
    -- OFFSET 0 keeps each level a subquery of its own, so that every expression is computed
    -- once per account instead of once per reference further up.
    SELECT c.account_id, c.account_tier, c.account_score, c.revenue_12m, c.revenue_rank,
           {", ".join(f"c.raw{i}, {expr} AS n{i}" for i, expr in enumerate(normalized)) or "NULL AS none"},
           ({incomplete}) AS incomplete
    FROM c
    {only_after_ranking}
    OFFSET 0
),
adjust AS (
    SELECT e.account_id, SUM(e.impact_points) AS points
    FROM accounts_event e
    WHERE e.tenant_id = %(tenant)s AND e.occurred_on <= %(d)s AND (e.expires_on IS NULL OR %(d)s < e.expires_on)
          {own.format(alias="e")}
    GROUP BY e.account_id
),
s0 AS (
    SELECT n.*, {base} AS base, COALESCE(adj.points, 0) AS adjustments,
           {breakdown_keys} AS breakdown_keys, {breakdown_values} AS breakdown_values
    FROM n LEFT JOIN adjust adj ON adj.account_id = n.account_id
    OFFSET 0
),
s AS (
    SELECT s0.*, ROUND(LEAST(GREATEST(s0.base + s0.adjustments, 0), 100), 2) AS total FROM s0 OFFSET 0
),
{previous}
overrides AS (
    SELECT DISTINCT ON (o.account_id) o.account_id, o.tier
    FROM scoring_tieroverride o
    WHERE o.tenant_id = %(tenant)s AND o.lifted_at IS NULL AND (o.expires_on IS NULL OR %(d)s < o.expires_on)
          {own.format(alias="o")}
    ORDER BY o.account_id, o.set_at DESC, o.id DESC
),
tiered AS (
    SELECT s.*, {tiers.found} AS found_tier, {tiers.reached} AS reached_tier, p.computed_tier AS previous_tier,
           ov.tier AS override_tier
    FROM s
    LEFT JOIN previous p ON p.account_id = s.account_id
    LEFT JOIN overrides ov ON ov.account_id = s.account_id
    OFFSET 0
),
t AS (
    SELECT tiered.*, {tiers.computed} AS computed_tier
    FROM tiered
)
SELECT t.account_id, t.revenue_12m, t.base, t.adjustments, t.total, t.computed_tier,
       COALESCE(t.override_tier, t.computed_tier) AS tier, COALESCE(t.override_tier, '') AS override_tier,
       COALESCE(t.previous_tier, '') AS previous_tier, t.incomplete, t.breakdown_keys, t.breakdown_values,
       t.revenue_rank, {tiers.reason} AS tier_reason, {tiers.gated} AS gated_tier,
       t.account_tier, t.account_score{SUMMARY_NULLS if summary else ""}
FROM t
{SUMMARY_ROW if summary else ""}
"""
    return sql, params


# The previous tier (hysteresis) is the computed_tier of the account's latest snapshot with an
# earlier as_of. For one account: one index probe.
PREVIOUS_LATEST_EARLIER = """
        SELECT x.computed_tier FROM scoring_accountscore x
        WHERE x.tenant_id = %(tenant)s AND x.account_id = scored.account_id AND x.as_of < %(d)s
        ORDER BY x.as_of DESC, x.id DESC
        LIMIT 1"""
PREVIOUS_OF_ONE = f"""previous AS (
    SELECT scored.account_id, p.computed_tier
    FROM scored
    CROSS JOIN LATERAL ({PREVIOUS_LATEST_EARLIER}
    ) p
    WHERE true {{own}}
),"""
# For every account: the latest full run before D (the night before, usually) holds almost every
# account's latest earlier snapshot, and is read at once (its rows lie side by side) rather than
# by 100,000 probes. Of that day's full runs, the last one run wins: runs of a tenant never
# overlap, so its snapshot ids are the highest. A single-account run since may have a later
# snapshot of its account. Only an account that the last full run did not score is probed.
PREVIOUS_OF_ALL = f"""last_full_day AS (
    SELECT max(f.as_of) AS as_of FROM scoring_scorerun f
    WHERE f.tenant_id = %(tenant)s AND f.account_id IS NULL AND f.status = 'done' AND f.as_of < %(d)s
),
last_full AS (
    SELECT r.id FROM scoring_scorerun r, last_full_day
    WHERE r.tenant_id = %(tenant)s AND r.account_id IS NULL AND r.as_of = last_full_day.as_of
    -- any snapshot's id orders the runs as their last would (a tenant's runs write one after the
    -- other); the first in account order is one step down the index (tenant, run, account)
    ORDER BY (SELECT x.id FROM scoring_accountscore x WHERE x.tenant_id = %(tenant)s AND x.run_id = r.id
              ORDER BY x.account_id LIMIT 1)
             DESC NULLS LAST
    LIMIT 1
),
last_full_rows AS (
    SELECT x.account_id, x.as_of, x.id, x.computed_tier FROM scoring_accountscore x
    WHERE x.tenant_id = %(tenant)s AND x.run_id = (SELECT id FROM last_full)
),
single_rows AS (
    SELECT DISTINCT ON (x.account_id) x.account_id, x.as_of, x.id, x.computed_tier
    FROM scoring_accountscore x
    JOIN scoring_scorerun r ON r.id = x.run_id AND r.tenant_id = %(tenant)s
    WHERE x.tenant_id = %(tenant)s AND r.account_id IS NOT NULL
      AND r.as_of >= (SELECT as_of FROM last_full_day) AND r.as_of < %(d)s
    ORDER BY x.account_id, x.as_of DESC, x.id DESC
),
previous AS (
    SELECT scored.account_id,
           CASE WHEN full_row.account_id IS NULL THEN ({PREVIOUS_LATEST_EARLIER}
                )
                WHEN (one.as_of, one.id) > (full_row.as_of, full_row.id) THEN one.computed_tier
                ELSE full_row.computed_tier END AS computed_tier
    FROM scored
    LEFT JOIN last_full_rows full_row ON full_row.account_id = scored.account_id
    LEFT JOIN single_rows one ON one.account_id = scored.account_id
),"""

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
    "breakdown_keys",
    "breakdown_values",
    "revenue_rank",
    "tier_reason",
    "gated_tier",
)
# The account's tier and score before the run, so that the run updates only those that change.
CURRENT_COLUMNS = ("account_tier", "account_score")

# DESIGN section 4, Pareto: all the tenant's accounts with revenue_12m > 0 (lost ones too), sorted
# descending; k = ceil(0.2 N); top20_share = their revenue / the total. From the same per-account
# sums as the scores, in the same statement: no second pass over the orders.
# snapshot and xid: what the statement saw and its transaction, for the basis (ScoreBasis);
# the snapshot taken by the statement itself, on the node that holds the tenant's rows (Citus:
# a worker), the xid by transaction_id() before it: pg_current_xact_id() is parallel unsafe,
# and in the statement it would keep the aggregation of every order to one process.
SUMMARY_COLUMNS = (
    "pareto_accounts",
    "pareto_top_count",
    "total_revenue_12m",
    "pareto_top_revenue",
    "snapshot",
    "xid",
)
SUMMARY_NULLS = "".join(f", NULL AS {column}" for column in SUMMARY_COLUMNS)
SUMMARY_ROW = f"""
UNION ALL
SELECT {", ".join("NULL" for _ in RESULT_COLUMNS + CURRENT_COLUMNS)},
       COALESCE(MAX(n), 0), COALESCE(CEIL(0.2 * MAX(n)), 0), COALESCE(SUM(revenue_12m), 0),
       COALESCE(SUM(revenue_12m) FILTER (WHERE position <= CEIL(0.2 * n)), 0), pg_current_snapshot()::text,
       %(xid)s::bigint
FROM (
    SELECT revenue_12m, row_number() OVER (ORDER BY revenue_12m DESC, account_id) AS position, count(*) OVER () AS n
    FROM orders
    WHERE revenue_12m > 0
) ranked_revenue
"""


def transaction_id(cursor: Any, tenant_id: int, run_id: int) -> int:
    """The current transaction's id where the tenant's rows are: a statement on the tenant's run
    (Citus routes it to the worker of the tenant's shards, whose transaction the triggers' change
    notes name; the run was written in this transaction, so it is the same connection there)."""
    cursor.execute(
        "SELECT pg_current_xact_id()::text::bigint FROM scoring_scorerun WHERE tenant_id = %s AND id = %s",
        [tenant_id, run_id],
    )
    return cursor.fetchone()[0]
