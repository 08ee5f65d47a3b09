"""Time score runs against a lower bound measured in the same process.

    .venv/bin/python bench/score.py [--slug bench-large] [--small bench-small] [--repeat 3]

Build the tenants first with bench/generate.py (defaults: 100,000 accounts and
5,000,000 orders for bench-large; e.g. --slug bench-small --accounts 1000 --orders 50000).

For the large tenant it prints: a full run (the set-based statement that writes one
snapshot per account and updates the accounts), the lower bound (one hand-written
statement computing the same per-account metrics and the tenant total from the same
rows, writing nothing), their ratio and this process's peak memory. For the small
tenant, a full run. For one account, a rescore after an event (the single-account path).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from accounts.models import Account  # noqa: E402
from accounts.selectors import tenant_today  # noqa: E402
from kam.models import Tenant  # noqa: E402
from kam.tenancy import tenant_context  # noqa: E402
from scoring import services  # noqa: E402
from scoring.models import RunTrigger  # noqa: E402

LOWER_BOUND_SQL = """
WITH orders AS (
    SELECT o.account_id,
           SUM(o.amount) FILTER (WHERE o.order_date > %(d365)s) AS revenue_12m,
           SUM(o.amount) FILTER (WHERE o.order_date > %(d730)s AND o.order_date <= %(d365)s) AS prev_12m,
           MIN(o.order_date) AS first_order
    FROM accounts_order o
    WHERE o.tenant_id = %(tenant)s AND o.order_date <= %(d)s
    GROUP BY o.account_id
),
invoices AS (
    SELECT i.account_id, COUNT(*) AS due, COUNT(*) FILTER (WHERE i.paid_on <= i.due_on) AS on_time
    FROM accounts_invoice i
    WHERE i.tenant_id = %(tenant)s AND i.due_on > %(d365)s AND i.due_on <= %(d)s
    GROUP BY i.account_id
)
SELECT COUNT(*), SUM(o.revenue_12m), SUM(o.prev_12m), MIN(o.first_order), SUM(i.on_time), SUM(i.due)
FROM accounts_account a
LEFT JOIN orders o ON o.account_id = a.id
LEFT JOIN invoices i ON i.account_id = a.id
WHERE a.tenant_id = %(tenant)s AND a.status <> 'lost'
"""


def timed(fn, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def full_run(tenant: Tenant):
    run = services.score_run_create(tenant, trigger=RunTrigger.MANUAL)
    return services.score_run_execute(tenant, run=run)


def lower_bound(tenant: Tenant) -> tuple:
    as_of = tenant_today(tenant)
    params = {
        "tenant": tenant.pk,
        "d": as_of,
        "d365": as_of - dt.timedelta(days=365),
        "d730": as_of - dt.timedelta(days=730),
    }
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(LOWER_BOUND_SQL, params)
        return cursor.fetchone()


def single_account(tenant: Tenant, account: Account):
    run = services.score_run_create(tenant, trigger=RunTrigger.EVENT, account=account)
    return services.score_run_execute(tenant, run=run)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slug", default="bench-large")
    parser.add_argument("--small", default="bench-small")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    large = Tenant.objects.get(slug=args.slug)
    with tenant_context(large):
        accounts = Account.objects.count()
    full_run(large)  # warm the caches once, as a nightly run on a live server would find them
    run_time, run = timed(lambda: full_run(large), args.repeat)
    bound_time, _bound = timed(lambda: lower_bound(large), args.repeat)
    print(f"{args.slug}: {accounts:,} accounts")
    print(f"  full score run (writes {run.accounts_scored:,} snapshots, updates accounts): {run_time:.2f} s")
    print(f"  lower bound (same metrics, one read-only statement):            {bound_time:.2f} s")
    print(f"  ratio: {run_time / bound_time:.2f}x")
    with tenant_context(large):
        account = Account.objects.order_by("id").first()
    single_account(large, account)
    single_time, _ = timed(lambda: single_account(large, account), max(5, args.repeat))
    print(f"  one account rescored (after an event or a rating): {single_time * 1000:.0f} ms")
    small = Tenant.objects.filter(slug=args.small).first()
    if small is not None:
        with tenant_context(small):
            small_accounts = Account.objects.count()
        full_run(small)
        small_time, _ = timed(lambda: full_run(small), max(5, args.repeat))
        print(f"{args.small}: {small_accounts:,} accounts, full score run {small_time * 1000:.0f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
