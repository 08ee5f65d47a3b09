"""Time the portfolios of DESIGN section 13 on the large bench tenant against a lower bound
measured in the same run.

    .venv/bin/python bench/portfolio.py [--slug bench-large] [--runs 5] [--repeat 10]

The tenant must have its people and teams (bench/generate.py: 500 account managers owning the
accounts, a team of one to four of them on every other account; a tenant made before that step
gets them by running generate.py again) and its snapshots: a score run and a health assessment
of today. When it has none, one of each is made first (untimed, and said so).

Measured, each the median over ``--runs`` after one untimed read (the tables in the cache):
- the people: ``portfolio.engine.people`` for today, the one statement that computes every
  person's shares, revenue, health, growth, tier mix, alerts and incentive index (target: under
  1 s for 500 people over 100,000 accounts);
- the lower bound: one statement that reads the same rows (the accounts, the active team members
  with their teams, the latest score snapshot and health assessment of every account on or before
  today, the open alerts) and only counts and sums them, with no shares, means or ranks;
- for reference: the four-quarter trend (the same statement for four days), the account teams,
  the tenant roll-up, and the people page and one person's page as a director requests them
  (Django's test Client in this process, wall-clock, ``--repeat`` warm requests, p95).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.pages import member, percentile, timed  # noqa: E402
from kam.models import Role, Tenant  # noqa: E402
from kam.tenancy import tenant_context, tenant_today  # noqa: E402
from portfolio import engine, selectors  # noqa: E402

TARGET_S = 1.0

LOWER_BOUND_SQL = """
WITH members AS (
    SELECT COUNT(*) AS n, SUM(m.allocation) AS alloc
    FROM teams_teammember m
    JOIN teams_accountteam t ON t.tenant_id = %(tenant)s AND t.id = m.team_id
    WHERE m.tenant_id = %(tenant)s AND m.since <= %(d)s AND (m.until IS NULL OR m.until >= %(d)s)
),
accounts AS (
    SELECT COUNT(*) AS n, COUNT(owner_id) AS owned FROM accounts_account
    WHERE tenant_id = %(tenant)s AND status <> 'lost'
),
scores AS (
    SELECT COUNT(*) AS n, SUM(revenue_12m) AS revenue, SUM(breakdown_values[1]) AS raw FROM (
        SELECT DISTINCT ON (x.account_id) x.revenue_12m, x.breakdown_values
        FROM scoring_accountscore x WHERE x.tenant_id = %(tenant)s AND x.as_of <= %(d)s
        ORDER BY x.account_id, x.as_of DESC, x.id DESC
    ) s
),
health AS (
    SELECT COUNT(*) AS n, SUM(score) AS score FROM (
        SELECT DISTINCT ON (y.account_id) y.score
        FROM risk_healthassessment y WHERE y.tenant_id = %(tenant)s AND y.as_of <= %(d)s
        ORDER BY y.account_id, y.as_of DESC, y.id DESC
    ) h
),
alerts AS (
    SELECT COUNT(*) AS n FROM risk_riskalert WHERE tenant_id = %(tenant)s AND status <> 'resolved'
)
SELECT * FROM members, accounts, scores, health, alerts
"""


def stopwatch(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def median_of(work: Callable[[], Any], runs: int) -> tuple[float, Any]:
    work()  # untimed: the tables in the cache
    times, result = [], None
    for _ in range(runs):
        seconds, result = stopwatch(work)
        times.append(seconds)
    return statistics.median(times), result


def ensure_snapshots(tenant: Tenant) -> None:
    today = tenant_today(tenant)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM scoring_accountscore WHERE tenant_id = %s AND as_of = %s),"
            " EXISTS (SELECT 1 FROM risk_healthassessment WHERE tenant_id = %s AND as_of = %s),"
            " EXISTS (SELECT 1 FROM teams_teammember WHERE tenant_id = %s)",
            [tenant.pk, today, tenant.pk, today, tenant.pk],
        )
        scored, assessed, staffed = cursor.fetchone()
    if not staffed:
        raise SystemExit(f"{tenant.slug} has no team members: run bench/generate.py --slug {tenant.slug} again.")
    if not scored:
        from scoring import services as scoring_services
        from scoring.models import RunTrigger

        seconds, _ = stopwatch(
            lambda: scoring_services.score_run_execute(
                tenant, run=scoring_services.score_run_create(tenant, trigger=RunTrigger.MANUAL, as_of=today)
            )
        )
        print(f"no score snapshot of today: one score run made first ({seconds:.1f} s, untimed)")
    if not assessed:
        from risk import services as risk_services
        from risk.models import RunKind

        def assess() -> None:
            run = risk_services.risk_run_create(tenant, kind=RunKind.FULL, as_of=today)
            risk_services.health_assess(tenant, as_of=today, run=run)

        seconds, _ = stopwatch(assess)
        print(f"no health assessment of today: one made first ({seconds:.1f} s, untimed)")


def bench_pages(tenant: Tenant, user_id: int, repeat: int) -> None:
    director = member(tenant, f"bench-director@{tenant.slug}.example.com", Role.DIRECTOR)
    client = Client()
    client.force_login(director)
    pages = [
        ("people page (director)", reverse("portfolio-people", kwargs={"tenant_slug": tenant.slug})),
        (
            "person page with trend",
            reverse("portfolio-person", kwargs={"tenant_slug": tenant.slug, "user_id": user_id}),
        ),
    ]
    print(f"\npages as a director; {repeat} warm requests per page; ms")
    print(f"{'page':32} {'first':>8} {'p50':>8} {'p95':>8}")
    for label, path in pages:
        first, _status = timed(client, path, {})
        warm = [timed(client, path, {})[0] for _ in range(repeat)]
        print(f"{label:32} {first:8.1f} {statistics.median(warm):8.1f} {percentile(warm, 0.95):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slug", default="bench-large")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=10, help="warm requests per page (0: no pages)")
    args = parser.parse_args()

    tenant = Tenant.objects.filter(slug=args.slug).first()
    if tenant is None:
        raise SystemExit(f"No tenant {args.slug}: build it with bench/generate.py first.")
    ensure_snapshots(tenant)
    today = tenant_today(tenant)
    with tenant_context(tenant):
        weights = selectors.weights_get(tenant)
        bound_s, bound = median_of(lambda: _fetch_one(LOWER_BOUND_SQL, {"tenant": tenant.pk, "d": today}), args.runs)
        people_s, people = median_of(lambda: engine.people(tenant.pk, [today], weights), args.runs)
        trend_s, trend = median_of(
            lambda: engine.people(tenant.pk, selectors.quarter_ends(today), weights), max(1, args.runs // 2)
        )
        teams_s, teams = median_of(lambda: engine.teams(tenant.pk, today), max(1, args.runs // 2))
        rollup_s, _ = median_of(lambda: engine.rollup(tenant.pk, [today]), max(1, args.runs // 2))
    members, _alloc, accounts, owned, snapshots, _rev, _raw, assessments, _score, alerts = bound
    print(
        f"tenant {tenant.slug} as of {today}: {accounts:,} accounts ({owned:,} with an owner), {members:,} active "
        f"team members, {snapshots:,} score snapshots and {assessments:,} health assessments read, {alerts:,} open "
        f"alerts; weights {weights['revenue']}/{weights['health']}/{weights['growth']}"
    )
    print(f"\n{'statement':46} {'seconds':>9} {'rows':>8}")
    print(f"{'lower bound (the same rows, counted and summed)':46} {bound_s:9.3f} {1:8d}")
    print(
        f"{'people: shares, sums, index (today)':46} {people_s:9.3f} {len(people):8d}"
        + ("  over target" if people_s >= TARGET_S else "")
    )
    print(f"{'trend: the same at four quarter ends':46} {trend_s:9.3f} {len(trend):8d}")
    print(f"{'account teams with members shares':46} {teams_s:9.3f} {len(teams):8d}")
    print(f"{'tenant roll-up':46} {rollup_s:9.3f} {1:8d}")
    print(
        f"\npeople: {people_s:.3f} s for {len(people)} people (target {TARGET_S:.0f} s: {people_s / TARGET_S:.2f}x), "
        f"{people_s / bound_s:.2f}x the lower bound"
    )
    if args.repeat and people:
        bench_pages(tenant, people[0].user_id, args.repeat)


def _fetch_one(sql: str, params: dict[str, Any]) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


if __name__ == "__main__":
    main()
