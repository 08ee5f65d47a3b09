"""The risk figures as set-based SQL (DESIGN section 6): CTEs, window functions and one
statement per job, no Python loop over accounts or orders.

- ``CONCENTRATION_SELECT`` rolls every account up to its customer group (its top-most
  parent, by a recursive CTE), computes the shares over groups with revenue_12m > 0,
  top1/top5/top10, HHI = sum((100 * s_i)^2) and the same per account without roll-up;
  ``CONCENTRATION_UPSERT_SQL`` stores the day's snapshot.
- ``HEALTH_SELECT`` computes every signal, the purchase cycle, the complaint penalty,
  score and band for every account that is not lost; a run creates a temporary table of
  it, writes the rows that changed and UPDATEs the accounts' current health.
- ``alert_candidates_sql`` gathers a family's alert candidates from a union of SELECTs, one
  per kind (concentration, the per-account kinds, the SLA breaches of the customer
  service's needs); three statements then open, update and resolve the alerts.

"As of D": orders, invoices and interactions dated after D are ignored, and a datetime
counts on its date in the tenant's time zone.

The health statement materialises its signal, points and score stages: inlined, every
later reference would compute the numeric expressions again.

Exactness: the health score is "rounded half up to two decimals", so the arithmetic
stays in numeric with 50 decimals (``EXACT``) and a tiny epsilon is added before
rounding: a value that is exactly x.xx5 but came out as x.xx4999… because of a repeating
fraction (100 / 3, 1 / 0.7) is rounded up as it should be. (With PostgreSQL's default
division precision, about 20 digits, 3 of the 20,000 bench accounts rounded down.)
Concentration shares and HHI are one division of exact sums each:
top-k share = sum of the k largest / T, HHI = 10000 * sum(g_i^2) / T^2.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

EXACT = "numeric(80, 50)"
ROUNDING_EPSILON = "1e-40"
# Groups and accounts kept in a snapshot (largest first), and accounts listed per group.
TOP_GROUPS = 20
TOP_ACCOUNTS = 20
ACCOUNTS_PER_GROUP = 50
# Guards the recursive walks against a malformed hierarchy (the accounts trigger forbids cycles).
MAX_DEPTH = 100


def day_start(day: dt.date, time_zone: str) -> dt.datetime:
    """The instant a day starts in the tenant's time zone."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zoneinfo.ZoneInfo(time_zone))


# --- concentration -------------------------------------------------------------------------------

# Read-only, so that PostgreSQL may scan the orders in parallel (a data-modifying statement
# never runs in parallel); the one row it returns is upserted by CONCENTRATION_UPSERT_SQL.
# Shares and HHI are exact: top-k shares are one division of exact sums, and
# HHI = sum((100 * g_i / T)^2) = 10000 * sum(g_i^2) / T^2.
CONCENTRATION_SELECT = f"""
WITH RECURSIVE
-- Walk up from the accounts that have a parent (most have none): each one's top-most parent.
up(account_id, ancestor_id, parent_id, depth) AS (
    SELECT a.id, a.id, a.parent_id, 0 FROM accounts_account a
    WHERE a.tenant_id = %(tenant)s AND a.parent_id IS NOT NULL
    UNION ALL
    SELECT up.account_id, p.id, p.parent_id, up.depth + 1
    FROM up JOIN accounts_account p ON p.id = up.parent_id AND p.tenant_id = %(tenant)s
    WHERE up.depth < {MAX_DEPTH}
),
roots AS (
    SELECT account_id, ancestor_id AS root_id FROM up WHERE parent_id IS NULL
),
revenue AS (
    SELECT o.account_id, SUM(o.amount) AS revenue_12m
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date > %(d365)s AND o.order_date <= %(d)s
    GROUP BY o.account_id
),
members AS (
    SELECT COALESCE(ro.root_id, r.account_id) AS root_id, r.account_id, r.revenue_12m
    FROM revenue r LEFT JOIN roots ro ON ro.account_id = r.account_id
    WHERE r.revenue_12m > 0
),
total AS (
    SELECT COALESCE(SUM(revenue_12m), 0) AS revenue_12m FROM members
),
ranked_groups AS (
    SELECT g.root_id, g.revenue_12m, row_number() OVER (ORDER BY g.revenue_12m DESC, g.root_id) AS position
    FROM (SELECT root_id, SUM(revenue_12m) AS revenue_12m FROM members GROUP BY root_id) g
),
ranked_accounts AS (
    SELECT m.account_id, m.root_id, m.revenue_12m,
           row_number() OVER (ORDER BY m.revenue_12m DESC, m.account_id) AS position
    FROM members m
),
group_figures AS (
    SELECT COUNT(*) AS n,
           COALESCE(SUM(revenue_12m) FILTER (WHERE position <= 1), 0) AS top1,
           COALESCE(SUM(revenue_12m) FILTER (WHERE position <= 5), 0) AS top5,
           COALESCE(SUM(revenue_12m) FILTER (WHERE position <= 10), 0) AS top10,
           COALESCE(SUM(revenue_12m * revenue_12m), 0) AS squares
    FROM ranked_groups
),
account_figures AS (
    SELECT COUNT(*) AS n,
           COALESCE(SUM(revenue_12m) FILTER (WHERE position <= 1), 0) AS top1,
           COALESCE(SUM(revenue_12m) FILTER (WHERE position <= 5), 0) AS top5,
           COALESCE(SUM(revenue_12m) FILTER (WHERE position <= 10), 0) AS top10,
           COALESCE(SUM(revenue_12m * revenue_12m), 0) AS squares
    FROM ranked_accounts
),
group_members AS (
    SELECT m.root_id, m.account_id, m.revenue_12m,
           row_number() OVER (PARTITION BY m.root_id ORDER BY m.revenue_12m DESC, m.account_id) AS position
    FROM members m
    WHERE m.root_id IN (SELECT root_id FROM ranked_groups WHERE position <= {TOP_GROUPS})
),
group_accounts AS (
    SELECT gm.root_id,
           jsonb_agg(jsonb_build_object(
               'id', gm.account_id,
               'name', x.name,
               'revenue_12m', ROUND(gm.revenue_12m, 2)::text,
               'share', ROUND(gm.revenue_12m / t.revenue_12m, 8)
           ) ORDER BY gm.position) AS accounts
    FROM group_members gm JOIN accounts_account x ON x.id = gm.account_id AND x.tenant_id = %(tenant)s CROSS JOIN total t
    WHERE gm.position <= {ACCOUNTS_PER_GROUP}
    GROUP BY gm.root_id
),
groups_json AS (
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
               'root', g.root_id,
               'root_name', a.name,
               'revenue_12m', ROUND(g.revenue_12m, 2)::text,
               'share', ROUND(g.revenue_12m / t.revenue_12m, 8),
               'accounts', ga.accounts
           ) ORDER BY g.position), '[]'::jsonb) AS groups
    FROM ranked_groups g
    JOIN accounts_account a ON a.id = g.root_id AND a.tenant_id = %(tenant)s
    JOIN group_accounts ga ON ga.root_id = g.root_id
    CROSS JOIN total t
    WHERE g.position <= {TOP_GROUPS}
),
accounts_json AS (
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
               'id', r.account_id,
               'name', a.name,
               'root', r.root_id,
               'revenue_12m', ROUND(r.revenue_12m, 2)::text,
               'share', ROUND(r.revenue_12m / t.revenue_12m, 8)
           ) ORDER BY r.position), '[]'::jsonb) AS accounts
    FROM ranked_accounts r JOIN accounts_account a ON a.id = r.account_id AND a.tenant_id = %(tenant)s
    CROSS JOIN total t
    WHERE r.position <= {TOP_ACCOUNTS}
)
SELECT t.revenue_12m, g.n,
       COALESCE(ROUND(g.top1 / NULLIF(t.revenue_12m, 0), 8), 0),
       COALESCE(ROUND(g.top5 / NULLIF(t.revenue_12m, 0), 8), 0),
       COALESCE(ROUND(g.top10 / NULLIF(t.revenue_12m, 0), 8), 0),
       COALESCE(ROUND(10000 * g.squares / NULLIF(t.revenue_12m * t.revenue_12m, 0), 4), 0),
       a.n,
       COALESCE(ROUND(a.top1 / NULLIF(t.revenue_12m, 0), 8), 0),
       COALESCE(ROUND(a.top5 / NULLIF(t.revenue_12m, 0), 8), 0),
       COALESCE(ROUND(a.top10 / NULLIF(t.revenue_12m, 0), 8), 0),
       COALESCE(ROUND(10000 * a.squares / NULLIF(t.revenue_12m * t.revenue_12m, 0), 4), 0),
       gj.groups::text, aj.accounts::text
FROM total t CROSS JOIN group_figures g CROSS JOIN account_figures a CROSS JOIN groups_json gj CROSS JOIN accounts_json aj
"""

CONCENTRATION_COLUMNS = (
    "total_revenue_12m",
    "group_count",
    "top1_share",
    "top5_share",
    "top10_share",
    "hhi",
    "account_count",
    "account_top1_share",
    "account_top5_share",
    "account_top10_share",
    "account_hhi",
    "groups",
    "accounts",
)

CONCENTRATION_UPSERT_SQL = f"""
INSERT INTO risk_concentrationsnapshot AS s (tenant_id, run_id, as_of, created_at, updated_at, {", ".join(CONCENTRATION_COLUMNS)})
VALUES (%(tenant)s, %(run)s, %(d)s, %(now)s, %(now)s, {", ".join(f"%({c})s" for c in CONCENTRATION_COLUMNS[:-2])},
        %(groups)s::jsonb, %(accounts)s::jsonb)
ON CONFLICT (tenant_id, as_of) DO UPDATE SET
    run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at,
    {", ".join(f"{c} = EXCLUDED.{c}" for c in CONCENTRATION_COLUMNS)}
RETURNING s.id
"""


def concentration_params(tenant_id: int, as_of: dt.date, *, run_id: int | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "tenant": tenant_id,
        "run": run_id,
        "d": as_of,
        "d365": as_of - dt.timedelta(days=365),
        "now": now,
    }


# --- health --------------------------------------------------------------------------------------

# The service signal's conditions on a need ``n`` (DESIGN section 11), as instants: D ends at
# %(day_after)s; a deadline counts only once it has passed (%(now)s), so that an assessment of
# today does not call late what is still due this afternoon.
SERVICE_RATED = "n.satisfaction IS NOT NULL AND n.resolved_at >= %(service_since)s AND n.resolved_at < %(day_after)s"
SERVICE_FIRST_RESPONSE_LATE = """n.first_response_due_at >= %(breaches_since)s AND n.first_response_due_at < %(day_after)s
               AND n.first_response_due_at < %(now)s
               AND COALESCE(LEAST(n.first_response_at, n.resolved_at), 'infinity') > n.first_response_due_at"""
SERVICE_RESOLUTION_LATE = """n.resolution_due_at >= %(breaches_since)s AND n.resolution_due_at < %(day_after)s
               AND n.resolution_due_at < %(now)s
               AND COALESCE(n.resolved_at, 'infinity') > n.resolution_due_at"""

HEALTH_SELECT = f"""
WITH
assessed AS (
    SELECT a.id AS account_id FROM accounts_account a
    WHERE a.tenant_id = %(tenant)s AND a.status <> 'lost'
),
halves AS (
    SELECT o.account_id,
           SUM(o.amount) FILTER (WHERE o.order_date > %(d182)s) AS r6,
           SUM(o.amount) FILTER (WHERE o.order_date <= %(d182)s) AS p6
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date > %(d364)s AND o.order_date <= %(d)s
    GROUP BY o.account_id
),
order_days AS (
    SELECT d.account_id, d.order_date,
           d.order_date - lag(d.order_date) OVER (PARTITION BY d.account_id ORDER BY d.order_date) AS gap
    FROM (
        -- DISTINCT ON (not DISTINCT) keeps this a walk down the (tenant, account, order_date) index:
        -- a hashed DISTINCT would have to be sorted again for the window below.
        SELECT DISTINCT ON (o.account_id, o.order_date) o.account_id, o.order_date
        FROM accounts_order o
        WHERE o.tenant_id = %(tenant)s AND o.order_date > %(d730)s AND o.order_date <= %(d)s
        ORDER BY o.account_id, o.order_date
    ) d
),
rhythm AS (
    -- The median of integer gaps is a whole or a half number of days: exact in double precision.
    SELECT account_id, COUNT(*) AS order_days, MAX(order_date) AS last_order_on,
           CASE WHEN COUNT(*) >= 3
                THEN (percentile_cont(0.5) WITHIN GROUP (ORDER BY gap))::numeric END AS interval_days
    FROM order_days
    GROUP BY account_id
),
payments AS (
    SELECT i.account_id, COUNT(*) AS invoices_due,
           SUM(GREATEST(LEAST(COALESCE(i.paid_on, %(d)s), %(d)s) - i.due_on, 0)) AS overdue_day_sum
    FROM accounts_invoice i
    WHERE i.tenant_id = %(tenant)s AND i.due_on > %(d365)s AND i.due_on <= %(d)s
    GROUP BY i.account_id
),
engagement AS (
    SELECT i.account_id, MAX(i.occurred_at) AS last_at,
           COUNT(*) FILTER (WHERE i.kind = 'complaint' AND i.occurred_at >= %(complaints_since)s) AS complaints
    FROM accounts_interaction i
    WHERE i.tenant_id = %(tenant)s AND i.occurred_at < %(day_after)s
    GROUP BY i.account_id
),
relationship AS (
    SELECT c.account_id, COUNT(DISTINCT c.level) AS levels
    FROM teams_counterpartlink l
    JOIN teams_teammember m ON m.id = l.member_id AND m.tenant_id = %(tenant)s
    JOIN accounts_contact c ON c.id = l.contact_id AND c.tenant_id = %(tenant)s
    WHERE l.tenant_id = %(tenant)s
      AND l.started_on <= %(d)s AND (l.ended_on IS NULL OR l.ended_on > %(d)s)
      AND m.since <= %(d)s AND (m.until IS NULL OR m.until >= %(d)s)
      AND (c.left_on IS NULL OR c.left_on > %(d)s)
      AND c.level IN ('operational', 'managerial', 'executive')
    GROUP BY c.account_id
),
-- DESIGN section 11: the satisfaction of the needs resolved in (D-180, D], and the SLA breaches
-- of the needs whose deadlines fell in (D-90, D] and had passed when the assessment ran. A
-- first response is late when neither a reply nor the resolution came by its deadline; a
-- resolution when it came after its deadline or not at all. So at most two per need.
service AS (
    SELECT n.account_id,
           SUM(n.satisfaction) FILTER (WHERE {SERVICE_RATED}) AS satisfaction_sum,
           COUNT(*) FILTER (WHERE {SERVICE_RATED}) AS rated,
           SUM(COALESCE({SERVICE_FIRST_RESPONSE_LATE}, FALSE)::int
               + COALESCE({SERVICE_RESOLUTION_LATE}, FALSE)::int) AS breaches
    FROM service_need n
    WHERE n.tenant_id = %(tenant)s AND n.account_id IS NOT NULL
      AND (n.resolved_at >= %(service_since)s OR n.first_response_due_at >= %(breaches_since)s
           OR n.resolution_due_at >= %(breaches_since)s)
    GROUP BY n.account_id
),
signals AS MATERIALIZED (
    SELECT s.account_id,
           COALESCE(h.r6, 0) AS r6,
           COALESCE(h.p6, 0) AS p6,
           CASE WHEN COALESCE(h.p6, 0) > 0 THEN (COALESCE(h.r6, 0) - h.p6)::{EXACT} / h.p6
                WHEN COALESCE(h.r6, 0) > 0 THEN 1::{EXACT} END AS trend,
           COALESCE(r.order_days, 0) AS order_days,
           r.last_order_on,
           r.interval_days,
           CASE WHEN r.interval_days IS NOT NULL
                THEN (%(d)s::date - r.last_order_on)::{EXACT} / r.interval_days END AS ratio,
           COALESCE(p.invoices_due, 0) AS invoices_due,
           CASE WHEN p.invoices_due > 0 THEN p.overdue_day_sum::{EXACT} / p.invoices_due END AS mean_overdue,
           %(d)s::date - (e.last_at AT TIME ZONE %(tz)s)::date AS days_since,
           COALESCE(e.complaints, 0) AS complaints,
           COALESCE(rel.levels, 0) AS levels,
           CASE WHEN sv.rated > 0 THEN sv.satisfaction_sum::{EXACT} / sv.rated END AS satisfaction,
           COALESCE(sv.breaches, 0) AS breaches
    FROM assessed s
    LEFT JOIN halves h ON h.account_id = s.account_id
    LEFT JOIN rhythm r ON r.account_id = s.account_id
    LEFT JOIN payments p ON p.account_id = s.account_id
    LEFT JOIN engagement e ON e.account_id = s.account_id
    LEFT JOIN relationship rel ON rel.account_id = s.account_id
    LEFT JOIN service sv ON sv.account_id = s.account_id
),
points AS MATERIALIZED (
    SELECT signals.*,
           -- linear(-0.5, 0.2) of g
           CASE WHEN trend IS NOT NULL THEN LEAST(GREATEST((trend + 0.5) / 0.7, 0), 1) * 100 END AS trend_points,
           CASE WHEN ratio IS NULL THEN NULL
                WHEN ratio <= 1 THEN 100::{EXACT}
                WHEN ratio >= 3 THEN 0::{EXACT}
                ELSE (3 - ratio) / 2 * 100 END AS rhythm_points,
           CASE WHEN mean_overdue IS NOT NULL THEN 100 - LEAST(GREATEST(mean_overdue / 60, 0), 1) * 100 END
               AS payment_points,
           CASE WHEN days_since IS NULL THEN 0::{EXACT}
                WHEN days_since <= 30 THEN 100::{EXACT}
                WHEN days_since >= 120 THEN 0::{EXACT}
                ELSE (120 - days_since)::{EXACT} / 90 * 100 END AS engagement_points,
           levels::{EXACT} * 100 / 3 AS relationship_points,
           -- (s - 1) * 25 minus 10 per breach, clamped; no rated need: no data
           CASE WHEN satisfaction IS NOT NULL
                THEN LEAST(GREATEST((satisfaction - 1) * 25 - 10 * breaches, 0), 100) END AS service_points,
           LEAST(10 * complaints, 30) AS penalty
    FROM signals
),
weighted AS (
    SELECT points.*,
           25 * (trend_points IS NOT NULL)::int + 25 * (rhythm_points IS NOT NULL)::int
               + 20 * (payment_points IS NOT NULL)::int + 15 + 15 + 15 * (service_points IS NOT NULL)::int
               AS weight_total,
           25 * COALESCE(trend_points, 0) + 25 * COALESCE(rhythm_points, 0) + 20 * COALESCE(payment_points, 0)
               + 15 * engagement_points + 15 * relationship_points + 15 * COALESCE(service_points, 0)
               AS weighted_sum
    FROM points
),
scored AS MATERIALIZED (
    SELECT weighted.*,
           ROUND(LEAST(GREATEST(weighted_sum / weight_total - penalty, 0), 100) + {ROUNDING_EPSILON}, 2) AS score
    FROM weighted
)
SELECT s.account_id,
       s.r6 AS revenue_recent_6m,
       s.p6 AS revenue_previous_6m,
       ROUND(s.trend, 6) AS revenue_trend,
       ROUND(s.trend_points, 4) AS revenue_trend_points,
       s.order_days,
       s.last_order_on,
       s.interval_days AS purchase_interval_days,
       ROUND(s.ratio, 4) AS purchase_ratio,
       ROUND(s.rhythm_points, 4) AS purchase_rhythm_points,
       -- last order + I days, on the day that instant falls on (I may be a half day)
       s.last_order_on + FLOOR(s.interval_days)::int AS expected_next_purchase,
       s.invoices_due,
       ROUND(s.mean_overdue, 2) AS mean_overdue_days,
       ROUND(s.payment_points, 4) AS payment_points,
       s.days_since AS days_since_interaction,
       ROUND(s.engagement_points, 4) AS engagement_points,
       s.levels AS relationship_levels,
       ROUND(s.relationship_points, 4) AS relationship_points,
       ROUND(s.satisfaction, 4) AS service_satisfaction,
       s.breaches AS service_breaches,
       ROUND(s.service_points, 4) AS service_points,
       s.weight_total,
       s.complaints,
       s.penalty AS complaint_penalty,
       s.score,
       CASE WHEN s.score >= 70 THEN 'green' WHEN s.score >= 40 THEN 'yellow' ELSE 'red' END AS band,
       prev.score AS previous_score,
       s.score - prev.score AS score_change
FROM scored s
-- The previous assessment of an account is its latest before D. When the account was assessed
-- on the tenant's latest day before D (nearly always: yesterday), that is it, read with one
-- join; only the others look for theirs one by one, and nobody looks when no day came before.
CROSS JOIN (
    SELECT MAX(x.as_of) AS as_of FROM risk_healthassessment x WHERE x.tenant_id = %(tenant)s AND x.as_of < %(d)s
) last_day
LEFT JOIN risk_healthassessment last ON last.tenant_id = %(tenant)s AND last.as_of = last_day.as_of
    AND last.account_id = s.account_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN last_day.as_of IS NULL THEN NULL
                WHEN last.account_id IS NOT NULL THEN last.score
                ELSE (SELECT x.score FROM risk_healthassessment x
                      WHERE x.tenant_id = %(tenant)s AND x.account_id = s.account_id AND x.as_of < %(d)s
                      ORDER BY x.as_of DESC
                      LIMIT 1)
           END AS score
) prev
"""

HEALTH_COLUMNS = (
    "account_id",
    "revenue_recent_6m",
    "revenue_previous_6m",
    "revenue_trend",
    "revenue_trend_points",
    "order_days",
    "last_order_on",
    "purchase_interval_days",
    "purchase_ratio",
    "purchase_rhythm_points",
    "expected_next_purchase",
    "invoices_due",
    "mean_overdue_days",
    "payment_points",
    "days_since_interaction",
    "engagement_points",
    "relationship_levels",
    "relationship_points",
    "service_satisfaction",
    "service_breaches",
    "service_points",
    "weight_total",
    "complaints",
    "complaint_penalty",
    "score",
    "band",
    "previous_score",
    "score_change",
)

# The day's assessments are computed once into a temporary table: CREATE TABLE AS may run
# parallel where INSERT ... SELECT may not. Its rows then go through the stage
# (kam.stage.staged into risk_healthstage), from which the writes below touch only what changed.
HEALTH_RESULT = "risk_health_result"

HEALTH_CREATE_RESULT_SQL = f"""
CREATE TEMP TABLE {HEALTH_RESULT} ON COMMIT DROP AS {HEALTH_SELECT}
"""

_HEALTH_ROW = ", ".join(HEALTH_COLUMNS[1:])

# A re-run of the day keeps the rows that came out the same (with the run that first wrote
# them): it removes the day's rows of accounts no longer assessed or whose figures changed,
# then inserts the rows that are not there. The first run of a day inserts every row.
HEALTH_DELETE_CHANGED_SQL = f"""
DELETE FROM risk_healthassessment h
WHERE h.tenant_id = %(tenant)s AND h.as_of = %(d)s
  AND NOT EXISTS (
      SELECT 1 FROM risk_healthstage r
      WHERE r.tenant_id = %(tenant)s AND r.run_id = %(run)s AND r.account_id = h.account_id
        AND ROW({", ".join(f"r.{c}" for c in HEALTH_COLUMNS[1:])})
            IS NOT DISTINCT FROM ROW({", ".join(f"h.{c}" for c in HEALTH_COLUMNS[1:])})
  )
"""

# In account order, so the unique index's entries go in one after the other.
HEALTH_INSERT_NEW_SQL = f"""
INSERT INTO risk_healthassessment (id, tenant_id, run_id, as_of, account_id, {_HEALTH_ROW})
SELECT r.row_id, r.tenant_id, r.run_id, %(d)s, r.account_id, {", ".join(f"r.{c}" for c in HEALTH_COLUMNS[1:])}
FROM risk_healthstage r
WHERE r.tenant_id = %(tenant)s AND r.run_id = %(run)s
  AND NOT EXISTS (
    SELECT 1 FROM risk_healthassessment h
    WHERE h.tenant_id = r.tenant_id AND h.as_of = %(d)s AND h.account_id = r.account_id
)
ORDER BY r.account_id
"""

# The accounts' current health (DESIGN section 1: denormalised by the app that computes it).
HEALTH_DENORMALISE_SQL = """
UPDATE accounts_account a SET health_score = h.score, health_band = h.band
FROM risk_healthstage h
WHERE a.tenant_id = %(tenant)s AND h.tenant_id = %(tenant)s AND h.run_id = %(run)s AND a.id = h.account_id
  AND (a.health_score IS DISTINCT FROM h.score OR a.health_band IS DISTINCT FROM h.band)
"""

# A lost account is no longer assessed: its stale health is cleared rather than left standing.
HEALTH_CLEAR_LOST_SQL = """
UPDATE accounts_account SET health_score = NULL, health_band = ''
WHERE tenant_id = %(tenant)s AND status = 'lost' AND (health_score IS NOT NULL OR health_band <> '')
"""


def health_params(
    tenant_id: int, as_of: dt.date, time_zone: str, *, run_id: int | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    return {
        "tenant": tenant_id,
        "run": run_id,
        "d": as_of,
        "d182": as_of - dt.timedelta(days=182),
        "d364": as_of - dt.timedelta(days=364),
        "d365": as_of - dt.timedelta(days=365),
        "d730": as_of - dt.timedelta(days=730),
        "tz": time_zone,
        # interactions on or before D; complaints in (D-90, D], i.e. from the start of D-89
        "day_after": day_start(as_of + dt.timedelta(days=1), time_zone),
        "complaints_since": day_start(as_of - dt.timedelta(days=89), time_zone),
        # needs resolved in (D-180, D]; deadlines in (D-90, D] that had passed by now
        "service_since": day_start(as_of - dt.timedelta(days=179), time_zone),
        "breaches_since": day_start(as_of - dt.timedelta(days=89), time_zone),
        "now": now or dt.datetime.now(dt.UTC),
    }


# --- alerts --------------------------------------------------------------------------------------

# Each candidate SELECT yields (kind, dedupe_key, account_id, severity, details) with one row per key.

# A searched CASE: Citus deparses a simple CASE (CASE x WHEN ...) wrongly on a worker.
_SEVERITY_RANK = "CASE WHEN {0} = 'critical' THEN 2 WHEN {0} = 'warning' THEN 1 ELSE 0 END"

# Roots of the customer groups that have a contingency plan on any of their accounts:
# walked up from the (few) accounts with a plan.
PLANNED_ROOTS_CTE = f"""
plan_walk(id, parent_id, depth) AS (
    SELECT a.id, a.parent_id, 0 FROM accounts_account a
    WHERE a.tenant_id = %(tenant)s
      AND a.id IN (SELECT p.account_id FROM risk_contingencyplan p WHERE p.tenant_id = %(tenant)s)
    UNION ALL
    SELECT a.id, a.parent_id, w.depth + 1
    FROM accounts_account a JOIN plan_walk w ON a.id = w.parent_id
    WHERE a.tenant_id = %(tenant)s AND w.depth < {MAX_DEPTH}
),
planned_roots AS (
    SELECT DISTINCT id AS root_id FROM plan_walk WHERE parent_id IS NULL
),
snapshot AS (
    SELECT * FROM risk_concentrationsnapshot WHERE tenant_id = %(tenant)s AND id = %(snapshot)s
),
top_groups AS (
    SELECT jsonb_agg(jsonb_build_object(
               'root', g.value -> 'root', 'root_name', g.value -> 'root_name', 'share', g.value -> 'share',
               'has_contingency_plan', pr.root_id IS NOT NULL
           ) ORDER BY g.position) AS groups,
           COALESCE(jsonb_agg(g.value -> 'root' ORDER BY g.position) FILTER (WHERE pr.root_id IS NULL), '[]'::jsonb)
               AS without_plan
    FROM snapshot s
    CROSS JOIN LATERAL jsonb_array_elements(s.groups) WITH ORDINALITY AS g(value, position)
    LEFT JOIN planned_roots pr ON pr.root_id = (g.value ->> 'root')::bigint
    WHERE g.position <= 5
)
"""

# An active diversification target whose line is behind its straight-line path (DESIGN section 13):
# expected(D) = baseline + (target - baseline) x elapsed / span, elapsed = D - baseline date clamped to
# [0, span], span = target date - baseline date (at least a day); behind when actual - expected(D) >
# 0.1 x |baseline - target| ("worse" is higher on every line). The test is multiplied out by span so
# that it is exact (the 10 % boundary itself is not behind); the expected value is rounded for display.
DIVERSIFICATION_CANDIDATE = """
    SELECT 'diversification_behind', 'diversification_behind:' || t.line, NULL::bigint, 'warning',
           jsonb_build_object(
               'target_id', t.id, 'line', t.line, 'as_of', s.as_of,
               'baseline', t.baseline_value, 'baseline_date', t.baseline_date,
               'target', t.target_value, 'target_date', t.target_date,
               'expected', ROUND(t.baseline_value + (t.target_value - t.baseline_value) * p.elapsed / p.span, 6),
               'actual', ROUND(p.actual, 6),
               'gap', ABS(t.baseline_value - t.target_value)
           )
    FROM snapshot s
    JOIN risk_diversificationtarget t ON t.tenant_id = %(tenant)s AND t.is_active
    CROSS JOIN LATERAL (
        SELECT CASE WHEN t.line = 'top1' THEN s.top1_share WHEN t.line = 'top5' THEN s.top5_share ELSE s.hhi END
                   AS actual,
               GREATEST(t.target_date - t.baseline_date, 1) AS span,
               LEAST(GREATEST(s.as_of - t.baseline_date, 0), GREATEST(t.target_date - t.baseline_date, 1)) AS elapsed
    ) p
    WHERE (p.actual - t.baseline_value) * p.span - (t.target_value - t.baseline_value) * p.elapsed
          > 0.1 * ABS(t.baseline_value - t.target_value) * p.span
"""

CONCENTRATION_CANDIDATES = [
    # a customer group at or above the single-customer line
    """
    SELECT 'concentration_single', 'concentration_single:' || (g.value ->> 'root'), (g.value ->> 'root')::bigint,
           CASE WHEN (g.value ->> 'share')::numeric >= %(single_critical)s THEN 'critical' ELSE 'warning' END,
           jsonb_build_object(
               'as_of', s.as_of,
               'share', g.value -> 'share',
               'revenue_12m', g.value -> 'revenue_12m',
               'total_revenue_12m', ROUND(s.total_revenue_12m, 2)::text,
               'line', CASE WHEN (g.value ->> 'share')::numeric >= %(single_critical)s THEN 'critical' ELSE 'warning' END,
               'threshold', CASE WHEN (g.value ->> 'share')::numeric >= %(single_critical)s
                                 THEN %(single_critical)s ELSE %(single_warning)s END,
               'group_accounts', jsonb_array_length(g.value -> 'accounts'),
               'has_contingency_plan', pr.root_id IS NOT NULL,
               'no_contingency_plan', pr.root_id IS NULL
           )
    FROM snapshot s
    CROSS JOIN LATERAL jsonb_array_elements(s.groups) AS g(value)
    LEFT JOIN planned_roots pr ON pr.root_id = (g.value ->> 'root')::bigint
    WHERE (g.value ->> 'share')::numeric >= %(single_warning)s
    """,
    # the five largest groups at or above the top-5 line
    """
    SELECT 'concentration_top5', 'concentration_top5', NULL::bigint, 'warning',
           jsonb_build_object(
               'as_of', s.as_of, 'top5_share', s.top5_share, 'line', 'warning', 'threshold', %(top5_warning)s,
               'groups', tg.groups, 'groups_without_plan', tg.without_plan,
               'no_contingency_plan', jsonb_array_length(tg.without_plan) > 0
           )
    FROM snapshot s CROSS JOIN top_groups tg
    WHERE s.top5_share >= %(top5_warning)s
    """,
    # HHI at or above its lines
    """
    SELECT 'concentration_hhi', 'concentration_hhi', NULL::bigint,
           CASE WHEN s.hhi >= %(hhi_critical)s THEN 'critical' ELSE 'warning' END,
           jsonb_build_object(
               'as_of', s.as_of, 'hhi', s.hhi,
               'line', CASE WHEN s.hhi >= %(hhi_critical)s THEN 'critical' ELSE 'warning' END,
               'threshold', CASE WHEN s.hhi >= %(hhi_critical)s THEN %(hhi_critical)s ELSE %(hhi_warning)s END,
               'groups', tg.groups, 'groups_without_plan', tg.without_plan,
               'no_contingency_plan', jsonb_array_length(tg.without_plan) > 0
           )
    FROM snapshot s CROSS JOIN top_groups tg
    WHERE s.hhi >= %(hhi_warning)s
    """,
    DIVERSIFICATION_CANDIDATE,
]

# Joins to accounts_account by primary key rather than "IN (a CTE)": the day's assessments
# may be freshly written and not yet analysed, and a misestimated semi-join against a CTE
# can turn into a nested loop over every pair of rows.
# The day's assessments that meet any of the three health kinds' conditions (each repeated in
# its candidate below): the CTE is materialised, and the rest of the day's rows need not be.
ACCOUNT_CTES = """
health AS (
    SELECT h.* FROM risk_healthassessment h
    JOIN accounts_account a ON a.id = h.account_id AND a.tenant_id = %(tenant)s AND a.status <> 'lost'
    WHERE h.tenant_id = %(tenant)s AND h.as_of = %(d)s
      AND (h.band = 'red' OR h.score_change <= -%(health_drop)s
           OR (h.purchase_interval_days IS NOT NULL
               AND (h.as_of - h.last_order_on) > %(purchase_ratio)s * h.purchase_interval_days))
)
"""

ACCOUNT_CANDIDATES = [
    # health in the red band
    """
    SELECT 'health_red', 'health_red:' || h.account_id, h.account_id, 'critical',
           jsonb_build_object('as_of', h.as_of, 'score', h.score, 'band', h.band, 'previous_score', h.previous_score)
    FROM health h WHERE h.band = 'red'
    """,
    # health fell by the policy's points or more since the last assessment
    """
    SELECT 'health_drop', 'health_drop:' || h.account_id, h.account_id, 'warning',
           jsonb_build_object('as_of', h.as_of, 'score', h.score, 'previous_score', h.previous_score,
                              'change', h.score_change, 'threshold', %(health_drop)s)
    FROM health h WHERE h.score_change <= -%(health_drop)s
    """,
    # r = (D - last order) / I above the policy's ratio
    """
    SELECT 'purchase_overdue', 'purchase_overdue:' || h.account_id, h.account_id, 'warning',
           jsonb_build_object('as_of', h.as_of, 'last_order_on', h.last_order_on,
                              'purchase_interval_days', h.purchase_interval_days, 'ratio', h.purchase_ratio,
                              'expected_next_purchase', h.expected_next_purchase,
                              'days_since_last_order', h.as_of - h.last_order_on, 'threshold', %(purchase_ratio)s)
    FROM health h
    WHERE h.purchase_interval_days IS NOT NULL
      AND (h.as_of - h.last_order_on) > %(purchase_ratio)s * h.purchase_interval_days
    """,
    # invoices unpaid more than the policy's days past due
    """
    SELECT 'payment_overdue', 'payment_overdue:' || i.account_id, i.account_id, 'warning',
           jsonb_build_object('as_of', %(d)s::date, 'invoices', COUNT(*),
                              'outstanding', ROUND(SUM(i.amount), 2)::text,
                              'oldest_due_on', MIN(i.due_on), 'max_days_overdue', MAX(%(d)s::date - i.due_on),
                              'threshold_days', %(payment_days)s,
                              'numbers', to_jsonb((array_agg(i.number ORDER BY i.due_on, i.id))[1:10]))
    FROM accounts_invoice i
    JOIN accounts_account a ON a.id = i.account_id AND a.tenant_id = %(tenant)s AND a.status <> 'lost'
    WHERE i.tenant_id = %(tenant)s
      AND i.issued_on <= %(d)s AND (i.paid_on IS NULL OR i.paid_on > %(d)s)
      AND i.due_on < %(payment_due_before)s
    GROUP BY i.account_id
    """,
    # staffing gaps of S and A teams, computed by teams' selectors and passed in
    """
    SELECT 'team_gap', 'team_gap:' || g.account_id, g.account_id, 'warning', g.details
    FROM jsonb_to_recordset(%(team_gaps)s::jsonb) AS g(account_id bigint, details jsonb)
    """,
    # a champion or decision maker left recently (not those a person already resolved)
    """
    SELECT 'key_contact_left', 'key_contact_left:' || c.account_id, c.account_id, 'warning',
           jsonb_build_object('as_of', %(d)s::date,
                              'contacts', jsonb_agg(jsonb_build_object(
                                  'id', c.id, 'name', c.name, 'title', c.title, 'level', c.level,
                                  'buying_role', c.buying_role, 'attitude', c.attitude, 'left_on', c.left_on
                              ) ORDER BY c.left_on DESC, c.id),
                              'contact_ids', jsonb_agg(c.id ORDER BY c.id))
    FROM accounts_contact c
    JOIN accounts_account a ON a.id = c.account_id AND a.tenant_id = %(tenant)s AND a.status <> 'lost'
    WHERE c.tenant_id = %(tenant)s
      AND c.left_on > %(recent_from)s AND c.left_on <= %(d)s
      AND (c.attitude = 'champion' OR c.buying_role = 'decision_maker')
      AND NOT EXISTS (
          SELECT 1 FROM risk_riskalert r
          WHERE r.tenant_id = %(tenant)s AND r.dedupe_key = 'key_contact_left:' || c.account_id
            AND r.resolution = 'manual' AND r.details -> 'contact_ids' @> to_jsonb(c.id)
      )
    GROUP BY c.account_id
    """,
    # the account's last-ending contract ends within the policy's days and does not renew itself
    """
    SELECT 'contract_expiring', 'contract_expiring:' || k.account_id, k.account_id,
           CASE WHEN k.end_on - %(d)s::date <= 30 THEN 'warning' ELSE 'info' END,
           jsonb_build_object('as_of', %(d)s::date, 'contract', k.id, 'title', k.title, 'end_on', k.end_on,
                              'days_left', k.end_on - %(d)s::date, 'value', ROUND(k.value, 2)::text,
                              'threshold_days', %(contract_days)s)
    FROM (
        SELECT DISTINCT ON (c.account_id) c.*
        FROM accounts_contract c
        JOIN accounts_account a ON a.id = c.account_id AND a.tenant_id = %(tenant)s AND a.status <> 'lost'
        WHERE c.tenant_id = %(tenant)s
        ORDER BY c.account_id, c.end_on DESC, c.id DESC
    ) k
    WHERE NOT k.auto_renew AND k.end_on >= %(d)s AND k.end_on <= %(contract_until)s
    """,
    # an S or A account whose active contracts (start_on <= D <= end_on) all leave the IP
    # unprotected: ownership neither ours nor joint, and no confidentiality in force on D
    # (DESIGN section 14; accounts.models.Contract.ip_protected). An account without an active
    # contract has nothing to fix and no alert. Listed by value, the largest (the one to fix
    # first) is 'contract'. A warning whatever the tier: a clause to mend at the next contract
    # change, not an emergency, and a tier moving from A to S should not reopen it.
    """
    SELECT 'ip_unprotected', 'ip_unprotected:' || c.account_id, c.account_id, 'warning',
           jsonb_build_object('as_of', %(d)s::date, 'tier', a.tier,
                              'contract', (array_agg(c.id ORDER BY c.value DESC, c.id))[1],
                              'contracts', jsonb_agg(jsonb_build_object(
                                  'id', c.id, 'title', c.title, 'ip_ownership', c.ip_ownership,
                                  'confidentiality_until', c.confidentiality_until, 'end_on', c.end_on,
                                  'value', ROUND(c.value, 2)::text
                              ) ORDER BY c.value DESC, c.id))
    FROM accounts_contract c
    JOIN accounts_account a ON a.id = c.account_id AND a.tenant_id = %(tenant)s AND a.status <> 'lost'
                           AND a.tier IN ('S', 'A')
    WHERE c.tenant_id = %(tenant)s AND c.start_on <= %(d)s AND c.end_on >= %(d)s
    GROUP BY c.account_id, a.tier
    HAVING bool_and(c.ip_ownership NOT IN ('ours', 'joint')
                    AND (c.confidentiality_until IS NULL OR c.confidentiality_until < %(d)s))
    """,
    # a renewal still open (prepare, proposed, negotiating) after its contract ended: one alert
    # per renewal, as per need for SLA breaches, since each has its own contract, owner and stage
    # and is signed or lost on its own; it clears once signed or lost (renewals_renewal is the
    # renewals app's table, read here as service_need is)
    """
    SELECT 'renewal_overdue', 'renewal_overdue:renewal:' || r.id, c.account_id, 'critical',
           jsonb_build_object('as_of', %(d)s::date, 'renewal', r.id, 'contract', c.id, 'title', c.title,
                              'end_on', c.end_on, 'days_overdue', %(d)s::date - c.end_on, 'stage', r.stage,
                              'due_on', r.due_on, 'value', ROUND(c.value, 2)::text,
                              'owner', r.owner_id, 'owner_name', COALESCE(NULLIF(u.full_name, ''), u.email))
    FROM renewals_renewal r
    JOIN accounts_contract c ON c.id = r.contract_id AND c.tenant_id = %(tenant)s
    JOIN accounts_account a ON a.id = c.account_id AND a.tenant_id = %(tenant)s AND a.status <> 'lost'
    LEFT JOIN kam_user u ON u.id = r.owner_id
    WHERE r.tenant_id = %(tenant)s AND r.stage IN ('prepare', 'proposed', 'negotiating') AND c.end_on < %(d)s
    """,
    # a leadership change or merger recently (not those a person already reviewed)
    """
    SELECT 'review_needed', 'review_needed:' || e.account_id, e.account_id, 'info',
           jsonb_build_object('as_of', %(d)s::date,
                              'events', jsonb_agg(jsonb_build_object(
                                  'id', e.id, 'kind', e.kind, 'occurred_on', e.occurred_on, 'note', left(e.note, 200)
                              ) ORDER BY e.occurred_on DESC, e.id),
                              'event_ids', jsonb_agg(e.id ORDER BY e.id))
    FROM accounts_event e
    JOIN accounts_account a ON a.id = e.account_id AND a.tenant_id = %(tenant)s AND a.status <> 'lost'
    WHERE e.tenant_id = %(tenant)s
      AND e.kind IN ('leadership_change', 'merger')
      AND e.occurred_on > %(recent_from)s AND e.occurred_on <= %(d)s
      AND NOT EXISTS (
          SELECT 1 FROM risk_riskalert r
          WHERE r.tenant_id = %(tenant)s AND r.dedupe_key = 'review_needed:' || e.account_id
            AND r.resolution = 'manual' AND r.details -> 'event_ids' @> to_jsonb(e.id)
      )
    GROUP BY e.account_id
    """,
]


# SLA breaches of the customer service's needs (DESIGN section 11), as of %(now)s: an open need
# without a first response after its first-response deadline (warning), or unresolved after its
# resolution deadline (critical). One alert per need; it clears when the need is answered,
# resolved or closed, or its deadline moves later. ``hours_late`` is in whole hours, so that the
# sweep every few minutes rewrites an alert's details at most once an hour.
SLA_CTES = """
late AS (
    SELECT n.id, n.account_id, n.subject, n.priority, n.status, n.category_id, n.assignee_id,
           n.resolution_due_at < %(now)s AS resolution_late,
           CASE WHEN n.resolution_due_at < %(now)s THEN n.resolution_due_at ELSE n.first_response_due_at END AS due
    FROM service_need n
    WHERE n.tenant_id = %(tenant)s AND n.status = ANY(%(open_statuses)s)
      AND ((n.first_response_at IS NULL AND n.first_response_due_at < %(now)s) OR n.resolution_due_at < %(now)s)
)
"""

SLA_CANDIDATES = [
    """
    SELECT 'sla_breach', 'sla_breach:need:' || l.id, l.account_id,
           CASE WHEN l.resolution_late THEN 'critical' ELSE 'warning' END,
           jsonb_build_object(
               'need', l.id, 'subject', l.subject, 'priority', l.priority, 'status', l.status,
               'category', c.key, 'category_zh', c.name_zh, 'category_en', c.name_en,
               'breach', CASE WHEN l.resolution_late THEN 'resolution' ELSE 'first_response' END,
               'due', l.due, 'hours_late', FLOOR(EXTRACT(EPOCH FROM (%(now)s - l.due)) / 3600)::int,
               'assignee', l.assignee_id, 'assignee_name', COALESCE(NULLIF(u.full_name, ''), u.email)
           )
    FROM late l
    LEFT JOIN service_category c ON c.tenant_id = %(tenant)s AND c.id = l.category_id
    LEFT JOIN kam_user u ON u.id = l.assignee_id
    """,
]

# The candidates of a family of kinds go into this TEMP table (CREATE TABLE AS: the
# walk up the customer groups is recursive, which Citus runs only in a plain SELECT), and
# from it through the stage (kam.stage.staged into risk_alertstage), which the statements
# below compare with the current alerts.
ALERT_CANDIDATES = "risk_alert_candidates"
ALERT_COLUMNS = ("kind", "dedupe_key", "account_id", "severity", "details")


def alert_candidates_sql(ctes: str, candidates: list[str], *, recursive: bool = False) -> str:
    """CREATE TABLE AS of the candidates (kind, dedupe_key, account_id, severity, details).

    The columns are named by the CREATE TABLE, not by a column list of a CTE: Citus sends
    the statement to the worker without such a list."""
    return f"""
CREATE TEMP TABLE {ALERT_CANDIDATES} ({", ".join(ALERT_COLUMNS)}) ON COMMIT DROP AS
WITH {"RECURSIVE " if recursive else ""}{ctes}
{" UNION ALL ".join(candidates)}
"""


CONCENTRATION_CANDIDATES_SQL = alert_candidates_sql(PLANNED_ROOTS_CTE, CONCENTRATION_CANDIDATES, recursive=True)
ACCOUNT_CANDIDATES_SQL = alert_candidates_sql(ACCOUNT_CTES, ACCOUNT_CANDIDATES)
SLA_CANDIDATES_SQL = alert_candidates_sql(SLA_CTES, SLA_CANDIDATES)

# The staged candidates against the current (open and acknowledged) alerts of the family, in
# three statements of one transaction, each naming its tenant. Each returns rows (what, id,
# old_severity, new_severity). An alert whose severity rises is open again, even if it was
# acknowledged.
_RANK_NEW = _SEVERITY_RANK.format("x.severity")
_RANK_OLD = _SEVERITY_RANK.format("x.old_severity")

# A current alert with a candidate gets its severity and details.
ALERTS_UPDATE_SQL = f"""
UPDATE risk_riskalert a
SET severity = x.severity, details = x.details, updated_at = %(now)s, run_id = %(run)s,
    status = CASE WHEN {_RANK_NEW} > {_RANK_OLD} THEN 'open' ELSE a.status END
FROM (
    SELECT cur.id, cur.severity AS old_severity, c.severity, c.details
    FROM risk_riskalert cur
    JOIN risk_alertstage c ON c.tenant_id = %(tenant)s AND c.run_id = %(stage_run)s AND c.dedupe_key = cur.dedupe_key
    WHERE cur.tenant_id = %(tenant)s AND cur.status <> 'resolved' AND cur.kind = ANY(%(kinds)s)
      AND (cur.severity <> c.severity OR cur.details <> c.details)
) x
WHERE a.tenant_id = %(tenant)s AND a.id = x.id
RETURNING CASE WHEN {_RANK_NEW} > {_RANK_OLD} THEN 'escalated' ELSE 'updated' END, a.id, x.old_severity, a.severity
"""

# A current alert without a candidate is resolved.
ALERTS_RESOLVE_SQL = """
UPDATE risk_riskalert a
SET status = 'resolved', resolution = 'cleared', resolved_at = %(now)s, updated_at = %(now)s, run_id = %(run)s
WHERE a.tenant_id = %(tenant)s AND a.status <> 'resolved' AND a.kind = ANY(%(kinds)s)
  AND NOT EXISTS (
      SELECT 1 FROM risk_alertstage c
      WHERE c.tenant_id = %(tenant)s AND c.run_id = %(stage_run)s AND c.dedupe_key = a.dedupe_key
  )
RETURNING 'resolved', a.id, a.severity, NULL
"""

# A candidate without a current alert is opened (the partial unique index makes a concurrent
# duplicate a no-op).
ALERTS_OPEN_SQL = """
INSERT INTO risk_riskalert (
    id, tenant_id, kind, severity, status, account_id, dedupe_key, details, opened_at, updated_at, run_id,
    resolution, resolution_note
)
SELECT c.row_id, c.tenant_id, c.kind, c.severity, 'open', c.account_id, c.dedupe_key, c.details, %(now)s, %(now)s,
       %(run)s, '', ''
FROM risk_alertstage c
WHERE c.tenant_id = %(tenant)s AND c.run_id = %(stage_run)s
  AND NOT EXISTS (
      SELECT 1 FROM risk_riskalert cur
      WHERE cur.tenant_id = c.tenant_id AND cur.dedupe_key = c.dedupe_key AND cur.status <> 'resolved'
  )
ORDER BY c.dedupe_key
ON CONFLICT (tenant_id, dedupe_key) WHERE NOT (status = 'resolved') DO NOTHING
RETURNING 'opened', id, NULL, severity
"""
