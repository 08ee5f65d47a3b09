"""Time score runs against a lower bound measured in the same process.

    .venv/bin/python bench/score.py [--slug bench-large] [--small bench-small] [--repeat 3]

Build the tenants first with bench/generate.py (defaults: 100,000 accounts and
5,000,000 orders for bench-large; e.g. --slug bench-small --accounts 1000 --orders 50000).

For the large tenant it prints: a full run (the set-based statement that writes one
snapshot per account and updates the accounts whose tier or score changed), the lower
bound (one hand-written statement computing the same per-account metrics and the
tenant total from the same rows, writing nothing), their ratio; a nightly run (the day
after another run: every account has a previous snapshot and most scores move); one
account rescored after an event or a rating (ranked against the latest full run), and
after an order was written (against that run and the change notes of the orders written
since); the small tenant's full
run; and this process's peak memory. Every full run has yesterday's snapshots to take
the previous tier from, as it would have after a nightly run. Beside the bound, the pandas
peer: a script that exports the orders, invoices and accounts with COPY and computes the
same metrics with pandas (what a data team would write instead of the statement). Of the runs it makes, the
bench keeps only the last full run of yesterday and of today (the basis of later
rescores), so that repeated benches measure the same database rather than one with ever
more runs per day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import multiprocessing
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402
import pandas as pd  # noqa: E402

django.setup()

from django.db import connection, connections  # noqa: E402

from accounts import services as account_services  # noqa: E402
from accounts.models import Account  # noqa: E402
from kam.models import Tenant  # noqa: E402
from kam.tenancy import tenant_context, tenant_today  # noqa: E402
from scoring import services  # noqa: E402
from scoring.models import RunTrigger, ScoreRun  # noqa: E402

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


def export(cursor: Any, query: str, columns: list[str], **read_csv: Any) -> pd.DataFrame:
    """The rows of ``query`` as a data frame with ``columns``, through COPY ... TO STDOUT as CSV
    (row-level security applies); the columns but account_id and amount are dates."""
    buffer = io.BytesIO()
    cursor.cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    return pd.read_csv(
        buffer, names=columns, parse_dates=[c for c in columns if c != "account_id" and c != "amount"], **read_csv
    )


def pandas_peer(tenant: Tenant) -> tuple:
    """The peer a data team would write: export the tenant's orders, invoices and accounts,
    and compute the default scorecard's metrics with pandas (revenue_12m and its share's
    percentile, purchase growth, years of cooperation, payments on time); no snapshot
    written, no tier. Returns the same sums as the lower bound, to show it did the work."""
    as_of = tenant_today(tenant)
    day = pd.Timestamp(as_of)
    with tenant_context(tenant), connection.cursor() as cursor:
        orders = export(
            cursor,
            f"SELECT account_id, order_date, amount FROM accounts_order"
            f" WHERE tenant_id = {tenant.pk} AND order_date <= '{as_of}'",
            ["account_id", "order_date", "amount"],
        )
        invoices = export(
            cursor,
            f"SELECT account_id, due_on, paid_on FROM accounts_invoice WHERE tenant_id = {tenant.pk}"
            f" AND due_on > '{as_of - dt.timedelta(days=365)}' AND due_on <= '{as_of}'",
            ["account_id", "due_on", "paid_on"],
        )
        accounts = export(
            cursor,
            f"SELECT id, cooperation_since FROM accounts_account WHERE tenant_id = {tenant.pk} AND status <> 'lost'",
            ["account_id", "cooperation_since"],
            index_col="account_id",
        )
    recent = orders["order_date"] > day - pd.Timedelta(days=365)
    before = (orders["order_date"] > day - pd.Timedelta(days=730)) & ~recent
    by_account = pd.DataFrame(
        {
            "revenue_12m": orders[recent].groupby("account_id")["amount"].sum(),
            "prev_12m": orders[before].groupby("account_id")["amount"].sum(),
            "first_order": orders.groupby("account_id")["order_date"].min(),
        }
    )
    payments = invoices.assign(on_time=invoices["paid_on"] <= invoices["due_on"]).groupby("account_id")["on_time"]
    m = accounts.join(by_account).join(payments.sum().rename("on_time")).join(payments.size().rename("due"))
    total = by_account["revenue_12m"].sum()
    share = m["revenue_12m"].fillna(0) / total
    m["share_pct"] = (share.rank(method="min") - 1) / max(len(m) - 1, 1)
    m["growth"] = (m["revenue_12m"].fillna(0) - m["prev_12m"]) / m["prev_12m"].where(m["prev_12m"] > 0)
    since = m["cooperation_since"].fillna(m["first_order"])
    m["years"] = (day - since).dt.days / 365.25
    return (
        len(m),
        m["revenue_12m"].sum(),
        m["prev_12m"].sum(),
        m["first_order"].min(),
        m["on_time"].sum(),
        m["due"].sum(),
    )


def pandas_peer_apart(slug: str, repeat: int) -> tuple[list[float], float]:
    """The peer's times, and its peak memory in MB, from a child process: this process's peak
    is the worker's side of a run, which the data frames would hide."""
    connections.close_all()  # the child opens its own
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply(_pandas_peer_samples, (slug, repeat))


def _pandas_peer_samples(slug: str, repeat: int) -> tuple[list[float], float]:
    tenant = Tenant.objects.get(slug=slug)
    samples, _sums = timed(lambda: pandas_peer(tenant), repeat)
    return samples, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return samples, result


def seconds(samples: list[float]) -> str:
    """The median, and the range when there is one: the machine may be shared."""
    median = f"{statistics.median(samples):.2f} s"
    return median if len(samples) == 1 else f"{median} (range {min(samples):.2f}-{max(samples):.2f})"


def millis(samples: list[float]) -> str:
    median = f"{statistics.median(samples) * 1000:.0f} ms"
    return median if len(samples) == 1 else f"{median} (range {min(samples) * 1000:.0f}-{max(samples) * 1000:.0f})"


MADE: list[int] = []  # the runs this bench made


def full_run(tenant: Tenant, as_of: dt.date | None = None) -> ScoreRun:
    run = services.score_run_create(tenant, trigger=RunTrigger.MANUAL, as_of=as_of)
    MADE.append(run.pk)
    return services.score_run_execute(tenant, run=run)


def yesterday(tenant: Tenant) -> dt.date:
    return tenant_today(tenant) - dt.timedelta(days=1)


def history(tenant: Tenant) -> None:
    """A full run of yesterday, as last night's run would have left, unless there is one."""
    with tenant_context(tenant):
        exists = ScoreRun.objects.filter(as_of=yesterday(tenant), account__isnull=True, status="done").exists()
    if not exists:
        full_run(tenant, yesterday(tenant))


def nightly_run(tenant: Tenant, repeat: int) -> tuple[list[float], ScoreRun]:
    """A run of yesterday, then the timed run of today: the shape of every night."""
    today = tenant_today(tenant)
    samples, run = [], None
    for _ in range(repeat):
        full_run(tenant, yesterday(tenant))
        start = time.perf_counter()
        run = full_run(tenant, today)
        samples.append(time.perf_counter() - start)
    return samples, run


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


def single_account(tenant: Tenant, account: Account) -> ScoreRun:
    run = services.score_run_create(tenant, trigger=RunTrigger.EVENT, account=account)
    MADE.append(run.pk)
    return services.score_run_execute(tenant, run=run)


def single_account_after_an_order(tenant: Tenant, account: Account, repeat: int) -> list[float]:
    """Each time an order of the account written (and committed) first, then the rescore: ranked
    against the latest full run and the notes of the orders written since (scoring/engine.py).
    The orders go again afterwards."""
    samples, orders = [], []
    # The bench rescores itself, timed: the rescore an order queues for a worker is not wanted here.
    hooks = list(account_services.order_written_hooks)
    account_services.order_written_hooks.clear()
    try:
        for n in range(repeat):
            orders.append(
                account_services.order_create(
                    tenant, account=account, order_date=tenant_today(tenant), amount=Decimal(f"{1000 * (n + 1)}.01")
                )
            )
            start = time.perf_counter()
            single_account(tenant, account)
            samples.append(time.perf_counter() - start)
    finally:
        for order in orders:
            account_services.order_delete(tenant, order=order)
        account_services.order_written_hooks.extend(hooks)
    return samples


def tidy(tenant: Tenant) -> None:
    """Last full runs of yesterday and of today (the basis again); the bench's other runs go."""
    keep = [full_run(tenant, yesterday(tenant)).pk, full_run(tenant).pk]
    with tenant_context(tenant):
        ScoreRun.objects.filter(pk__in=MADE).exclude(pk__in=keep).delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slug", default="bench-large")
    parser.add_argument("--small", default="bench-small")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    large = Tenant.objects.get(slug=args.slug)
    with tenant_context(large):
        accounts = Account.objects.count()
        account = Account.objects.exclude(status="lost").order_by("id").first()
    history(large)
    full_run(large)  # warm the caches once, as a nightly run on a live server would find them
    run_times, run = timed(lambda: full_run(large), args.repeat)
    bound_times, _bound = timed(lambda: lower_bound(large), args.repeat)
    print(f"{args.slug}: {accounts:,} accounts")
    print(
        f"  full score run (writes {run.accounts_scored:,} snapshots, updates changed accounts): {seconds(run_times)}"
    )
    print(f"  lower bound (same metrics, one read-only statement):                  {seconds(bound_times)}")
    print(f"  ratio: {statistics.median(run_times) / statistics.median(bound_times):.2f}x")
    peer_times, peer_memory = pandas_peer_apart(args.slug, args.repeat)
    print(
        f"  pandas peer (export orders, invoices, accounts; compute the metrics): {seconds(peer_times)},"
        f" peak memory {peer_memory:.0f} MB"
    )
    print(f"  full run / pandas peer: {statistics.median(run_times) / statistics.median(peer_times):.2f}x")
    nightly_times, nightly = nightly_run(large, args.repeat)
    print(
        f"  nightly run (the day after a run: previous snapshots found, {nightly.moved_up + nightly.moved_down:,}"
        f" accounts moved, changed scores updated): {seconds(nightly_times)}"
    )
    single_times, _ = timed(lambda: single_account(large, account), max(5, args.repeat))
    print(f"  one account rescored after an event or a rating: {millis(single_times)}")
    after_order = single_account_after_an_order(large, account, max(5, args.repeat))
    print(
        f"  one account rescored after an order was written (against the basis and the notes since):"
        f" {millis(after_order)}; target 50 ms: {statistics.median(after_order) * 1000 / 50:.2f}x"
    )
    tidy(large)
    small = Tenant.objects.filter(slug=args.small).first()
    if small is None:
        print(f"{args.small}: not found (bench/generate.py --slug {args.small} --accounts 1000 --orders 50000)")
    else:
        with tenant_context(small):
            small_accounts = Account.objects.count()
        MADE.clear()
        history(small)
        full_run(small)
        small_times, _ = timed(lambda: full_run(small), max(5, args.repeat))
        print(f"{args.small}: {small_accounts:,} accounts, full score run {millis(small_times)}")
        tidy(small)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (the worker's side of a run): {peak:.0f} MB")


if __name__ == "__main__":
    main()
