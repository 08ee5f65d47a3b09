"""Time the risk jobs against lower bounds measured in the same run.

    .venv/bin/python bench/risk.py [--accounts 20000] [--orders 1000000] [--invoices 100000]
        [--interactions 40000] [--contacts N] [--slug bench-risk] [--repeat 3] [--keep]

Builds a tenant with bench/generate.py (COPY into staging tables, then INSERT ... SELECT;
an existing tenant with the slug is reused and kept), adds tiers, account teams and
counterpart links with INSERT ... SELECT generate_series, then times, each as the median
of ``--repeat`` runs after one warm-up:

- the concentration snapshot (group roll-up by a recursive CTE, shares, HHI, upsert)
  against one aggregate of the same orders per account;
- the health assessment (every signal, the median purchase interval, the score; the writes
  of the assessments and the accounts' health) against one read-only aggregate over the
  same orders (sums per half year, distinct order dates), invoices and interactions: a
  re-run of the day, which writes only what changed (the median of ``--repeat`` runs, the
  figure in the ratio), and once the next day, which writes every row (rolled back);
- alert evaluation (both families, nothing changing: the nightly steady state) against
  one read-only scan of the rows it reads; the first evaluation, which opens every
  alert, is printed too;

prints each pair with its ratio, and removes the tenant it made (unless ``--keep``).
DESIGN section 9 and issue 6: within 3x of the bound, under 15 s for the large tenant,
the concentration figures for one tenant under 50 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
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

from django.db import connection, transaction  # noqa: E402

from bench.generate import drop_tenant, generate  # noqa: E402
from kam import services as kam_services  # noqa: E402
from kam.models import Tenant, User  # noqa: E402
from kam.tenancy import tenant_context, tenant_today  # noqa: E402
from risk import engine, selectors, services  # noqa: E402
from risk.models import RiskAlert, RiskRun, RunKind  # noqa: E402

CONCENTRATION_BOUND_SQL = """
SELECT COUNT(*), SUM(revenue_12m) FROM (
    SELECT o.account_id, SUM(o.amount) AS revenue_12m
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date > %(d365)s AND o.order_date <= %(d)s
    GROUP BY o.account_id
) r
"""

HEALTH_BOUND_SQL = """
WITH orders AS (
    SELECT o.account_id, SUM(o.amount) FILTER (WHERE o.order_date > %(d182)s) AS r6,
           SUM(o.amount) FILTER (WHERE o.order_date <= %(d182)s AND o.order_date > %(d364)s) AS p6,
           MAX(o.order_date) AS last_order, COUNT(DISTINCT o.order_date) AS order_days
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date > %(d730)s AND o.order_date <= %(d)s
    GROUP BY o.account_id
),
invoices AS (
    SELECT i.account_id, AVG(GREATEST(COALESCE(i.paid_on, %(d)s) - i.due_on, 0)) AS m
    FROM accounts_invoice i
    WHERE i.tenant_id = %(tenant)s AND i.due_on > %(d365)s AND i.due_on <= %(d)s
    GROUP BY i.account_id
),
interactions AS (
    SELECT i.account_id, MAX(i.occurred_at) AS last_at, COUNT(*) FILTER (WHERE i.kind = 'complaint') AS complaints
    FROM accounts_interaction i
    WHERE i.tenant_id = %(tenant)s AND i.occurred_at < %(day_after)s
    GROUP BY i.account_id
)
SELECT COUNT(*), SUM(o.r6), SUM(o.p6), MAX(o.last_order), SUM(o.order_days), AVG(i.m), MAX(e.last_at),
       SUM(e.complaints)
FROM accounts_account a
LEFT JOIN orders o ON o.account_id = a.id
LEFT JOIN invoices i ON i.account_id = a.id
LEFT JOIN interactions e ON e.account_id = a.id
WHERE a.tenant_id = %(tenant)s AND a.status <> 'lost'
"""

ALERTS_BOUND_SQL = """
SELECT
    (SELECT COUNT(*) FROM risk_healthassessment h WHERE h.tenant_id = %(tenant)s AND h.as_of = %(d)s
        AND (h.band = 'red' OR h.score_change <= -15 OR h.purchase_ratio > 1.5)),
    (SELECT COUNT(DISTINCT i.account_id) FROM accounts_invoice i WHERE i.tenant_id = %(tenant)s
        AND i.issued_on <= %(d)s AND (i.paid_on IS NULL OR i.paid_on > %(d)s) AND i.due_on < %(d30)s),
    (SELECT COUNT(*) FROM accounts_contact c WHERE c.tenant_id = %(tenant)s AND c.left_on > %(d90)s
        AND c.left_on <= %(d)s),
    (SELECT COUNT(*) FROM accounts_contract c WHERE c.tenant_id = %(tenant)s AND c.end_on >= %(d)s),
    (SELECT COUNT(*) FROM accounts_event e WHERE e.tenant_id = %(tenant)s AND e.occurred_on > %(d90)s),
    (SELECT COUNT(*) FROM risk_riskalert r WHERE r.tenant_id = %(tenant)s AND r.status <> 'resolved')
"""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def bound(tenant: Tenant, sql: str, as_of: dt.date) -> tuple:
    params = engine.health_params(tenant.pk, as_of, tenant.time_zone)
    params.update(d30=as_of - dt.timedelta(days=30), d90=as_of - dt.timedelta(days=90))
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def add_teams(tenant: Tenant) -> None:
    """Tiers (1 % S, 9 % A), a team with one member for every tenth account, and that member
    linked to the account's contacts: what the relationship signal and team gaps read."""
    user, _created = User.objects.get_or_create(email=f"bench@{tenant.slug}.test", defaults={"full_name": "bench"})
    kam_services.membership_create(tenant=tenant, user=user, role="manager")
    with tenant_context(tenant), connection.cursor() as cursor:
        params = {"tenant": tenant.pk, "user": user.pk, "since": tenant_today(tenant) - dt.timedelta(days=400)}
        cursor.execute(
            """
            UPDATE accounts_account SET tier = CASE WHEN id %% 100 = 0 THEN 'S' WHEN id %% 10 = 0 THEN 'A' ELSE 'C' END
            WHERE tenant_id = %(tenant)s
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO teams_accountteam (tenant_id, account_id, lead_id, created_at, updated_at)
            SELECT %(tenant)s, id, %(user)s, now(), now() FROM accounts_account
            WHERE tenant_id = %(tenant)s AND id %% 10 = 0
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO teams_teammember (tenant_id, team_id, user_id, function, level, allocation, since,
                                          created_at, updated_at)
            SELECT %(tenant)s, t.id, %(user)s, f.function, f.level, 1, %(since)s, now(), now()
            FROM teams_accountteam t
            CROSS JOIN (VALUES ('sales', 'managerial'), ('technical', 'managerial')) AS f(function, level)
            WHERE t.tenant_id = %(tenant)s
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO teams_counterpartlink (tenant_id, member_id, contact_id, strength, target_strength, started_on,
                                               created_at, updated_at)
            SELECT %(tenant)s, m.id, c.id, 'credible_source', 'trusted_advisor', %(since)s, now(), now()
            FROM teams_teammember m
            JOIN teams_accountteam t ON t.id = m.team_id
            JOIN accounts_contact c ON c.account_id = t.account_id AND c.tenant_id = %(tenant)s
            WHERE m.tenant_id = %(tenant)s AND m.function = 'sales'
            """,
            params,
        )


def analyze() -> None:
    """Statistics as autovacuum would have them on a live server. ANALYZE needs the tables'
    owner (the application role is refused), so this runs as the owner role."""
    from kam.db import owner_connection

    with owner_connection(), connection.cursor() as cursor:
        for table in (
            "accounts_account",
            "accounts_order",
            "accounts_invoice",
            "accounts_contact",
            "accounts_interaction",
            "teams_accountteam",
            "teams_teammember",
            "teams_counterpartlink",
        ):
            cursor.execute(f"ANALYZE {table}")


def report(label: str, seconds: float, bound_seconds: float | None = None) -> None:
    if bound_seconds is None:
        print(f"  {label:<58} {seconds * 1000:9.0f} ms")
    else:
        print(
            f"  {label:<58} {seconds * 1000:9.0f} ms   bound {bound_seconds * 1000:7.0f} ms"
            f"   ratio {seconds / bound_seconds:5.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slug", default="bench-risk")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=40_000)
    parser.add_argument("--contacts", type=int, default=None, help="default: 3 per account")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the tenant it made")
    args = parser.parse_args()
    args.contacts = args.contacts if args.contacts is not None else 3 * args.accounts

    tenant = Tenant.objects.filter(slug=args.slug).first()
    made = tenant is None
    if made:
        started = time.perf_counter()
        tenant = kam_services.tenant_create(slug=args.slug, name=f"Bench {args.slug}", industry_profile="manufacturing")
        generate(tenant, args)
        analyze()
        add_teams(tenant)
        analyze()
        print(
            f"{args.slug}: {args.accounts:,} accounts, {args.orders:,} orders, {args.invoices:,} invoices, "
            f"{args.contacts:,} contacts, {args.interactions:,} interactions generated in "
            f"{time.perf_counter() - started:.1f} s"
        )
    else:
        print(f"{args.slug}: reusing the existing tenant")
    try:
        measure(tenant, args.repeat)
    finally:
        if made and not args.keep:
            drop_tenant(tenant)
            print(f"{args.slug}: removed")


def measure(tenant: Tenant, repeat: int) -> None:
    as_of = tenant_today(tenant)
    run = services.risk_run_create(tenant, kind=RunKind.FULL, as_of=as_of)

    # first evaluation: opens every alert (notifications included)
    services.concentration_take(tenant, as_of=as_of, run=run)
    services.health_assess(tenant, as_of=as_of, run=run)
    with tenant_context(tenant):
        snapshot = selectors.concentration_latest(tenant)
    start = time.perf_counter()
    opened = len(services.alerts_evaluate_concentration(tenant, snapshot=snapshot, run=run).opened)
    opened += len(services.alerts_evaluate_accounts(tenant, as_of=as_of, run=run).opened)
    first_alerts = time.perf_counter() - start

    concentration, _ = timed(lambda: services.concentration_take(tenant, as_of=as_of, run=run), repeat)
    concentration_bound, _ = timed(lambda: bound(tenant, CONCENTRATION_BOUND_SQL, as_of), repeat)
    health, assessed = timed(lambda: services.health_assess(tenant, as_of=as_of, run=run), repeat)
    health_bound, _ = timed(lambda: bound(tenant, HEALTH_BOUND_SQL, as_of), repeat)

    def next_day() -> int:
        # The nightly case: a day not assessed yet, so every row is written and the accounts'
        # health moves; rolled back, so that the tenant stays as it was for the next run.
        with transaction.atomic():
            assessed_next = services.health_assess(tenant, as_of=as_of + dt.timedelta(days=1), run=run)
            transaction.set_rollback(True)
        return assessed_next

    health_next_day, _ = timed(next_day, 1)

    def evaluate() -> int:
        outcome = services.alerts_evaluate_concentration(tenant, snapshot=snapshot, run=run)
        outcome += services.alerts_evaluate_accounts(tenant, as_of=as_of, run=run)
        return len(outcome.opened) + len(outcome.updated) + len(outcome.resolved)

    alerts, changed = timed(evaluate, repeat)
    alerts_bound, _ = timed(lambda: bound(tenant, ALERTS_BOUND_SQL, as_of), repeat)

    def gaps() -> int:
        with tenant_context(tenant):
            return len(services.team_gaps(tenant, as_of=as_of))

    team_gaps, gap_count = timed(gaps, repeat)

    def full_run() -> RiskRun:
        return services.risk_run_execute(tenant, run=services.risk_run_create(tenant, as_of=as_of))

    full, result = timed(full_run, repeat)

    def read_figures() -> Any:
        with tenant_context(tenant):
            return selectors.concentration_latest(tenant)

    read, _ = timed(read_figures, max(repeat, 5))
    with tenant_context(tenant):
        open_alerts = RiskAlert.objects.exclude(status="resolved").count()
    print(f"as of {as_of}: {assessed:,} accounts assessed, {opened:,} alerts opened by the first evaluation")
    report("concentration snapshot (roll-up, shares, HHI, upsert)", concentration, concentration_bound)
    report("health assessment, a re-run of the day (writes what changed)", health, health_bound)
    report("health assessment, the next day (writes every row; rolled back)", health_next_day, health_bound)
    report(f"alert evaluation, steady state ({open_alerts:,} open, {changed} changed)", alerts, alerts_bound)
    report(f"  of which teams' staffing gaps (teams' selectors, {gap_count:,} teams short)", team_gaps)
    report("alert evaluation, first run (opens them, notifies owners)", first_alerts)
    total = concentration + health + alerts
    total_bound = concentration_bound + health_bound + alerts_bound
    report("the three together", total, total_bound)
    report(f"a full risk run as the task does it (status {result.status})", full)
    report("reading the latest concentration figures (one tenant)", read)
    print(f"  peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
