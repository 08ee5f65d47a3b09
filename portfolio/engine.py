"""The portfolio of DESIGN section 13, computed from the snapshots with one statement per question.

For a day D:
- holders: the members of each account team active on D (``since <= D``, ``until`` empty or
  ``>= D``; one person's allocations on one team in several functions add up), and the
  account's owner with 100 when not among them (also when the account has no team). Lost
  accounts hold no portfolio.
- share = the person's allocation / the sum of the allocations on the account (none when that
  sum is 0).
- revenue_12m, the tier and growth (the raw value of the scorecard criterion whose metric is
  ``growth``) come from the account's latest score snapshot on or before D among those since the
  last full score run on or before D (which scored every account not lost; later ones are
  rescores of one account), read by run; health from the last day assessed on or before D (a
  health assessment covers every account not lost), read by the day's index. So a year of
  nightly snapshots costs no more than one. Orders are never read.
- revenue_p = sum(share x revenue_12m); health_p and growth_p = sum(share x value) / sum(share)
  over the accounts with a value.
- index = (w_r x 100 x percent_rank(revenue_p) + w_h x health_p + w_g x linear(growth_p, -0.2,
  0.5)) / 100, rounded half up to two decimals. percent_rank is PostgreSQL's
  ((rank - 1) / (N - 1), ties share the lowest rank, 0 when N = 1) over the tenant's people with
  a portfolio (a share above 0) on D, computed in numeric as scoring does. A person whose accounts
  have no health (or no growth) value has no such term: its weight drops out and the others are
  renormalised (the divisor is the sum of the weights of the terms with data), as the health
  score treats signals without data (DESIGN section 6).

Numbers are PostgreSQL numeric (a division keeps at least 16 significant digits; 1e-12 is added
before rounding half up so that a value whose exact decimal ends in 5 at the third place, computed
a hair below it, still rounds up).
Every table is read with ``tenant_id = %(tenant)s``; the statements run under row-level
security as well.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

EXACT = "numeric"
GROWTH_LO = Decimal("-0.2")
GROWTH_HI = Decimal("0.5")

# The holders, shares and snapshot values per (day, account, person) for the days %(days)s.
_BASE = """
WITH days AS (SELECT DISTINCT unnest(%(days)s::date[]) AS d),
members AS (
    SELECT dy.d, t.account_id, m.user_id, SUM(m.allocation) AS alloc
    FROM days dy
    JOIN teams_teammember m
      ON m.tenant_id = %(tenant)s AND m.since <= dy.d AND (m.until IS NULL OR m.until >= dy.d)
    JOIN teams_accountteam t ON t.tenant_id = %(tenant)s AND t.id = m.team_id
    GROUP BY dy.d, t.account_id, m.user_id
),
live AS MATERIALIZED (
    SELECT a.id, a.owner_id FROM accounts_account a WHERE a.tenant_id = %(tenant)s AND a.status <> 'lost'
),
holders AS (
    -- on the accounts not lost: the active members, and the owner with 100 when not among them
    SELECT m.d, m.account_id, m.user_id, m.alloc
    FROM members m
    JOIN live l ON l.id = m.account_id
    UNION ALL
    SELECT dy.d, l.id, l.owner_id, 100
    FROM days dy
    CROSS JOIN live l
    WHERE l.owner_id IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM members mm WHERE mm.d = dy.d AND mm.account_id = l.id AND mm.user_id = l.owner_id
      )
),
shares AS (
    SELECT h.d, h.account_id, h.user_id, h.alloc,
           h.alloc / NULLIF(SUM(h.alloc) OVER (PARTITION BY h.d, h.account_id), 0)::numeric AS share
    FROM holders h
),
growth_keys AS (
    SELECT r.id AS run_id, MIN(c.key) AS key
    FROM scoring_scorerun r
    JOIN scoring_criterion c
      ON c.tenant_id = %(tenant)s AND c.scorecard_id = r.scorecard_id AND c.metric = 'growth'
    WHERE r.tenant_id = %(tenant)s
    GROUP BY r.id
),
score_from AS MATERIALIZED (
    -- A day's snapshots are those since the last full score run on or before it (each scored every
    -- account not lost), read by run, so that a year of nightly runs costs no more than one.
    SELECT dy.d, COALESCE((
        SELECT MAX(r.as_of) FROM scoring_scorerun r
        WHERE r.tenant_id = %(tenant)s AND r.account_id IS NULL AND r.status = 'done' AND r.as_of <= dy.d
    ), '-infinity'::date) AS since
    FROM days dy
),
scores AS MATERIALIZED (
    SELECT sf.d, s.account_id, s.revenue_12m, s.tier, s.growth
    FROM score_from sf
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (x.account_id) x.account_id, x.revenue_12m::numeric AS revenue_12m, x.tier,
               (x.breakdown_values[4 * (array_position(x.breakdown_keys, g.key::varchar) - 1) + 1])::numeric AS growth
        FROM scoring_scorerun r
        JOIN scoring_accountscore x ON x.tenant_id = %(tenant)s AND x.run_id = r.id
        LEFT JOIN growth_keys g ON g.run_id = x.run_id
        WHERE r.tenant_id = %(tenant)s AND r.status = 'done' AND r.as_of >= sf.since AND r.as_of <= sf.d
          AND x.as_of <= sf.d
        ORDER BY x.account_id, x.as_of DESC, x.id DESC
    ) s
),
health_day AS MATERIALIZED (
    -- Health is assessed for every account not lost at once, so a day's is that of the last
    -- assessed day on or before it (read by the day's index, whatever the history).
    SELECT dy.d, (
        SELECT MAX(z.as_of) FROM risk_healthassessment z WHERE z.tenant_id = %(tenant)s AND z.as_of <= dy.d
    ) AS day
    FROM days dy
),
health AS MATERIALIZED (
    SELECT hd.d, y.account_id, y.score::numeric AS health
    FROM health_day hd
    JOIN risk_healthassessment y ON y.tenant_id = %(tenant)s AND y.as_of = hd.day
),
alerts AS (
    SELECT z.account_id, COUNT(*) AS open_alerts, COUNT(*) FILTER (WHERE z.kind = 'sla_breach') AS sla_breaches
    FROM risk_riskalert z
    WHERE z.tenant_id = %(tenant)s AND z.status <> 'resolved' AND z.account_id IS NOT NULL
    GROUP BY z.account_id
),
held AS (
    SELECT sh.d, sh.account_id, sh.user_id, sh.alloc, sh.share, sc.revenue_12m, sc.tier, sc.growth, he.health,
           COALESCE(al.open_alerts, 0) AS open_alerts, COALESCE(al.sla_breaches, 0) AS sla_breaches
    FROM shares sh
    LEFT JOIN scores sc ON sc.d = sh.d AND sc.account_id = sh.account_id
    LEFT JOIN health he ON he.d = sh.d AND he.account_id = sh.account_id
    LEFT JOIN alerts al ON al.account_id = sh.account_id
    WHERE sh.share > 0
)
"""

_LINEAR_GROWTH = f"LEAST(GREATEST((p.growth - ({GROWTH_LO})) / ({GROWTH_HI - GROWTH_LO}), 0), 1) * 100"

_PEOPLE = (
    _BASE
    + f""",
people AS (
    SELECT d, user_id, COUNT(*) AS accounts,
           SUM(share * COALESCE(revenue_12m, 0)) AS revenue,
           SUM(share * health) FILTER (WHERE health IS NOT NULL)
               / NULLIF(SUM(share) FILTER (WHERE health IS NOT NULL), 0) AS health,
           SUM(share * growth) FILTER (WHERE growth IS NOT NULL)
               / NULLIF(SUM(share) FILTER (WHERE growth IS NOT NULL), 0) AS growth,
           COUNT(*) FILTER (WHERE tier = 'S') AS tier_s, COUNT(*) FILTER (WHERE tier = 'A') AS tier_a,
           COUNT(*) FILTER (WHERE tier = 'B') AS tier_b, COUNT(*) FILTER (WHERE tier = 'C') AS tier_c,
           SUM(open_alerts) AS open_alerts, SUM(sla_breaches) AS sla_breaches
    FROM held
    GROUP BY d, user_id
),
ranked AS (
    SELECT p.*,
           COALESCE((RANK() OVER (PARTITION BY p.d ORDER BY p.revenue) - 1)::{EXACT}
               / NULLIF(COUNT(*) OVER (PARTITION BY p.d) - 1, 0), 0) AS revenue_rank,
           CASE WHEN p.growth IS NOT NULL THEN {_LINEAR_GROWTH} END AS growth_points
    FROM people p
)
SELECT r.d, r.user_id, COALESCE(NULLIF(u.full_name, ''), u.email) AS name, r.accounts, r.revenue, r.health,
       r.growth, r.tier_s, r.tier_a, r.tier_b, r.tier_c, r.open_alerts, r.sla_breaches, r.revenue_rank,
       r.growth_points,
       ROUND((%(w_r)s * 100 * r.revenue_rank
              + CASE WHEN r.health IS NOT NULL THEN %(w_h)s * r.health ELSE 0 END
              + CASE WHEN r.growth IS NOT NULL THEN %(w_g)s * r.growth_points ELSE 0 END)
             / NULLIF(%(w_r)s + CASE WHEN r.health IS NOT NULL THEN %(w_h)s ELSE 0 END
                      + CASE WHEN r.growth IS NOT NULL THEN %(w_g)s ELSE 0 END, 0)
             + 1e-12, 2) AS index
FROM ranked r
JOIN kam_user u ON u.id = r.user_id
WHERE (%(user)s::bigint IS NULL OR r.user_id = %(user)s::bigint)
ORDER BY r.d DESC, index DESC NULLS LAST, r.revenue DESC, r.user_id
"""
)

_ACCOUNTS = (
    _BASE
    + """
SELECT h.account_id, a.name, h.tier, h.alloc, h.share, h.revenue_12m, h.share * COALESCE(h.revenue_12m, 0),
       h.health, h.growth, h.open_alerts, h.sla_breaches
FROM held h
JOIN accounts_account a ON a.tenant_id = %(tenant)s AND a.id = h.account_id
WHERE h.user_id = %(user)s
ORDER BY h.share * COALESCE(h.revenue_12m, 0) DESC, a.name, h.account_id
"""
)

_TEAMS = (
    _BASE
    + """
SELECT t.id, t.account_id, a.name, MIN(h.tier), MIN(h.revenue_12m), MIN(h.health), MIN(h.growth),
       MIN(h.open_alerts), MIN(h.sla_breaches), SUM(h.alloc),
       COALESCE(json_agg(json_build_object('user_id', h.user_id, 'name', COALESCE(NULLIF(u.full_name, ''), u.email),
                                           'allocation', h.alloc, 'share', h.share)
                         ORDER BY h.share DESC, h.user_id) FILTER (WHERE h.user_id IS NOT NULL), '[]')
FROM teams_accountteam t
JOIN accounts_account a ON a.tenant_id = %(tenant)s AND a.id = t.account_id
LEFT JOIN held h ON h.account_id = t.account_id
LEFT JOIN kam_user u ON u.id = h.user_id
WHERE t.tenant_id = %(tenant)s AND (%(user)s::bigint IS NULL OR EXISTS (
    SELECT 1 FROM held mine WHERE mine.account_id = t.account_id AND mine.user_id = %(user)s::bigint))
GROUP BY t.id, t.account_id, a.name
ORDER BY MIN(h.revenue_12m) DESC NULLS LAST, a.name, t.id
"""
)

_TENANT = (
    _BASE
    + """,
accounts_held AS (
    SELECT d, account_id, MIN(revenue_12m) AS revenue_12m, MIN(health) AS health, MIN(growth) AS growth,
           MIN(tier) AS tier, MIN(open_alerts) AS open_alerts, MIN(sla_breaches) AS sla_breaches
    FROM held GROUP BY d, account_id
)
SELECT dy.d, COUNT(x.account_id), COALESCE(SUM(x.revenue_12m), 0), AVG(x.health), AVG(x.growth),
       COUNT(*) FILTER (WHERE x.tier = 'S'), COUNT(*) FILTER (WHERE x.tier = 'A'),
       COUNT(*) FILTER (WHERE x.tier = 'B'), COUNT(*) FILTER (WHERE x.tier = 'C'),
       COALESCE(SUM(x.open_alerts), 0), COALESCE(SUM(x.sla_breaches), 0),
       (SELECT COUNT(DISTINCT user_id) FROM held WHERE held.d = dy.d)
FROM days dy
LEFT JOIN accounts_held x ON x.d = dy.d
GROUP BY dy.d
ORDER BY dy.d DESC
"""
)


@dataclass
class Person:
    day: dt.date
    user_id: int
    name: str
    accounts: int
    revenue: Decimal
    health: Decimal | None
    growth: Decimal | None
    tier_mix: dict[str, int]
    open_alerts: int
    sla_breaches: int
    revenue_rank: Decimal
    growth_points: Decimal | None
    index: Decimal | None


@dataclass
class HeldAccount:
    account_id: int
    name: str
    tier: str | None
    allocation: Decimal
    share: Decimal
    revenue_12m: Decimal | None
    revenue_share: Decimal
    health: Decimal | None
    growth: Decimal | None
    open_alerts: int
    sla_breaches: int


@dataclass
class Team:
    team_id: int
    account_id: int
    account_name: str
    tier: str | None
    revenue_12m: Decimal | None
    health: Decimal | None
    growth: Decimal | None
    open_alerts: int
    sla_breaches: int
    allocation: Decimal | None
    members: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Rollup:
    day: dt.date
    accounts: int
    revenue: Decimal
    health: Decimal | None
    growth: Decimal | None
    tier_mix: dict[str, int]
    open_alerts: int
    sla_breaches: int
    people: int


def _params(tenant_id: int, days: list[dt.date], weights: dict[str, int] | None = None, user_id: int | None = None):
    weights = weights or {"revenue": 0, "health": 0, "growth": 0}
    return {
        "tenant": tenant_id,
        "days": list(days),
        "w_r": Decimal(weights["revenue"]),
        "w_h": Decimal(weights["health"]),
        "w_g": Decimal(weights["growth"]),
        "user": user_id,
    }


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple]:
    # The sorts of 100,000 snapshots and 200,000 shares stay in memory (as scoring's runs do).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _q(value: Decimal | None, places: str = "0.0001") -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal(places))


def people(tenant_id: int, days: list[dt.date], weights: dict[str, int], *, user_id: int | None = None) -> list[Person]:
    """Every person's portfolio and index on each day (the ranks among all the tenant's people;
    ``user_id`` keeps one person's rows). Newest day first, then by index."""
    rows = _fetch(_PEOPLE, _params(tenant_id, days, weights, user_id))
    return [
        Person(
            day=row[0],
            user_id=row[1],
            name=row[2],
            accounts=row[3],
            revenue=_q(row[4], "0.01"),
            health=_q(row[5], "0.01"),
            growth=_q(row[6]),
            tier_mix={"S": row[7], "A": row[8], "B": row[9], "C": row[10]},
            open_alerts=int(row[11]),
            sla_breaches=int(row[12]),
            revenue_rank=_q(row[13]),
            growth_points=_q(row[14], "0.01"),
            index=row[15],
        )
        for row in rows
    ]


def held_accounts(tenant_id: int, day: dt.date, user_id: int) -> list[HeldAccount]:
    """One person's accounts on ``day`` with their share and the snapshot values."""
    rows = _fetch(_ACCOUNTS, _params(tenant_id, [day], user_id=user_id))
    return [
        HeldAccount(
            account_id=row[0],
            name=row[1],
            tier=row[2],
            allocation=_q(row[3], "1"),
            share=_q(row[4]),
            revenue_12m=_q(row[5], "0.01"),
            revenue_share=_q(row[6], "0.01"),
            health=_q(row[7], "0.01"),
            growth=_q(row[8]),
            open_alerts=int(row[9]),
            sla_breaches=int(row[10]),
        )
        for row in rows
    ]


def teams(tenant_id: int, day: dt.date, *, user_id: int | None = None) -> list[Team]:
    """Each account team with its members' shares (``user_id``: only the teams they hold a share of)."""
    rows = _fetch(_TEAMS, _params(tenant_id, [day], user_id=user_id))
    result = []
    for row in rows:
        members = [
            {
                "user_id": member["user_id"],
                "name": member["name"],
                "allocation": _q(Decimal(str(member["allocation"])), "1"),
                "share": _q(Decimal(str(member["share"]))),
            }
            for member in row[10]
        ]
        result.append(
            Team(
                team_id=row[0],
                account_id=row[1],
                account_name=row[2],
                tier=row[3],
                revenue_12m=_q(row[4], "0.01"),
                health=_q(row[5], "0.01"),
                growth=_q(row[6]),
                open_alerts=int(row[7] or 0),
                sla_breaches=int(row[8] or 0),
                allocation=_q(row[9], "1"),
                members=members,
            )
        )
    return result


def rollup(tenant_id: int, days: list[dt.date]) -> list[Rollup]:
    """The tenant's figures on each day over the accounts someone holds (each account once)."""
    rows = _fetch(_TENANT, _params(tenant_id, days))
    return [
        Rollup(
            day=row[0],
            accounts=row[1],
            revenue=_q(row[2], "0.01"),
            health=_q(row[3], "0.01"),
            growth=_q(row[4]),
            tier_mix={"S": row[5], "A": row[6], "B": row[7], "C": row[8]},
            open_alerts=int(row[9]),
            sla_breaches=int(row[10]),
            people=int(row[11]),
        )
        for row in rows
    ]
