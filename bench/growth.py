"""Time growth on the large bench tenant: the refresh of every account's share of wallet and
potential against a lower bound measured in the same run, and the p95 of growth's pages.

    .venv/bin/python bench/growth.py [--slug bench-large] [--runs 3] [--repeat 30]

The tenant must hold its growth rows (bench/generate.py: 30 offerings, 300,000 buying centres,
200,000 opportunities; a tenant made before the growth step gets them by running generate.py
again).

The refresh: ``growth.metrics.account_figures_refresh(tenant)`` for all accounts, one set-based
statement (DESIGN section 12): the statement's own time (as the database driver saw it), and
the call's as a caller sees it (its transaction and the statistics it leaves: ANALYZE of the
accounts table, which holds every tenant's accounts). Twice per run: when every account's figures change (they were cleared before, outside
the timing: the first run, or a night after a broad change, writes every account) and when
nothing changed (run again at once: the statement writes no row). The lower bound is the same
statement's aggregates, read-only: its own text up to its first write (the buying centres'
wallets, one pass over the last 24 months' orders grouped by account and buying centre, and the
open pipeline, joined to every account), with the same parameters and work_mem, selected into nothing but a count and the
sums of the three figures (so that no aggregate can be left out). It writes nothing, so the
ratio of the statement that writes every account includes the cost of writing 100,000 accounts
and 300,000 buying centres; the target is that statement within 3x. For reference, beside it:
the bare writes (the UPDATEs that clear the figures before each run, timed: the same columns of
every account and buying centre written with nothing computed), and the statement against the bound plus those
writes. Runs alternate (bound, refresh of every account, refresh of none)
and each figure is the median over ``--runs``, after one untimed read of the bound (the tables
in the cache).

The pages, measured as bench/service.py does (bench/pages.py's helpers: in this process,
through Django's test Client, the whole request path, wall-clock): as a director of the tenant,
the whitespace tab of an account as htmx loads it (the account with the most orders, and a
typical one: the median count) and the pipeline page; one first request, then ``--repeat``
more. The target is p95 under 200 ms. A page whose URL does not resolve yet is skipped with a
message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

from bench.pages import TARGET_MS, member, percentile, timed  # noqa: E402
from growth.models import BuyingCentre, Offering, Opportunity  # noqa: E402
from kam.models import Role, Tenant  # noqa: E402
from kam.tenancy import tenant_context, tenant_today  # noqa: E402

RATIO_TARGET = 3.0


def metrics_module():  # type: ignore[no-untyped-def]
    """growth.metrics, or None while it is not there (imported late: another helper writes it)."""
    try:
        from growth import metrics
    except ImportError:
        return None
    return metrics if hasattr(metrics, "account_figures_refresh") else None


def lower_bound_sql(metrics) -> str:  # type: ignore[no-untyped-def]
    """The refresh statement's aggregates, read-only: its text up to the UPDATE, then a SELECT of
    a count and the sums of the three figures from its ``figures``."""
    sql = metrics.refresh_sql(only_some=False)
    # The statement's CTEs up to the first that writes (the buying centres' figures), then the
    # final SELECT in place of the accounts' UPDATE.
    cut = min(at for at in (sql.find("centres_written AS"), sql.find("UPDATE accounts_account")) if at >= 0)
    head = sql[:cut].rstrip().rstrip(",")
    if "figures AS" not in head or "UPDATE" in head:
        raise SystemExit(
            "growth.metrics.refresh_sql changed shape: no read-only 'figures' before a write; adapt the bound."
        )
    return head + "\nSELECT count(*), sum(f.wallet), sum(f.share_of_wallet), sum(f.potential_12m) FROM figures f"


def bound_params(metrics, tenant: Tenant, as_of: dt.date) -> dict:  # type: ignore[no-untyped-def]
    """The parameters account_figures_refresh passes for all accounts as of D."""
    return {
        "tenant": tenant.pk,
        "d": as_of,
        "d365": as_of - dt.timedelta(days=365),
        "d_plus": as_of + dt.timedelta(days=365),
        "ids": [],
        "max_share": metrics.MAX_SHARE,
        "max_money": metrics.MAX_MONEY,
    }


def stopwatch(work: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def clear_figures(tenant: Tenant) -> float:
    """Every account's and buying centre's figures to NULL (committed), so the next refresh writes
    every row; the seconds of those UPDATEs: writing the same columns, nothing computed."""
    with tenant_context(tenant), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "UPDATE accounts_account SET wallet = NULL, share_of_wallet = NULL, potential_12m = NULL"
            " WHERE tenant_id = %s",
            [tenant.pk],
        )
        # and the buying centres' figures, which the same statement writes
        cursor.execute(
            "UPDATE growth_buyingcentre SET revenue_12m = NULL, bought_offerings = NULL, figures_as_of = NULL"
            " WHERE tenant_id = %s",
            [tenant.pk],
        )
        return time.perf_counter() - started


def timed_refresh(metrics, tenant: Tenant, as_of: dt.date) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """One account_figures_refresh of every account: (seconds of the call, seconds of its UPDATE
    statement as the database driver saw it, accounts written)."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        written = metrics.account_figures_refresh(tenant, as_of=as_of)
        call = time.perf_counter() - started
    statements = [float(q["time"]) for q in queries.captured_queries if "UPDATE accounts_account" in q["sql"]]
    if len(statements) != 1:
        raise SystemExit(f"expected one UPDATE of the accounts in the refresh, saw {len(statements)}")
    return call, statements[0], written


def bench_refresh(tenant: Tenant, runs: int) -> None:
    metrics = metrics_module()
    if metrics is None:
        print("refresh: skipped (growth.metrics.account_figures_refresh is not there yet)")
        return
    as_of = tenant_today(tenant)
    sql, params = lower_bound_sql(metrics), bound_params(metrics, tenant, as_of)

    def bound() -> tuple[float, int]:
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")  # as the refresh of all accounts sets it
            started = time.perf_counter()
            cursor.execute(sql, params)
            count = cursor.fetchone()[0]
            return time.perf_counter() - started, count

    bounds: list[float] = []
    writes: list[float] = []
    every: list[float] = []
    every_call: list[float] = []
    none: list[float] = []
    written_every = written_none = 0
    _seconds, accounts = bound()  # once untimed: the tables in the cache for all that follows
    for _ in range(runs):
        bounds.append(bound()[0])
        writes.append(clear_figures(tenant))
        call, statement, written_every = timed_refresh(metrics, tenant, as_of)
        every.append(statement)
        every_call.append(call)
        _call, statement, written_none = timed_refresh(metrics, tenant, as_of)
        none.append(statement)
    low = statistics.median(bounds)
    print(f"refresh of share of wallet and potential, {accounts:,} accounts; median of {runs} runs, seconds")
    print(f"{'':58} {'median':>8} {'min':>8} {'max':>8} {'x bound':>8}")
    rows = [
        ("lower bound: its aggregates, read-only", bounds),
        ("for reference: writing the figures of every account and buying centre", writes),
        (f"the statement, every account changes ({written_every:,} written)", every),
        (f"the statement, nothing changes ({written_none:,} written)", none),
        ("the call, every account changes (+ its statistics)", every_call),
    ]
    for label, values in rows:
        ratio = statistics.median(values) / low if low else float("nan")
        print(f"{label:58} {statistics.median(values):8.2f} {min(values):8.2f} {max(values):8.2f} {ratio:7.2f}x")
    worst = statistics.median(every) / low if low else float("nan")
    both = statistics.median(bounds) + statistics.median(writes)
    print(
        f"the statement writing every account: {worst:.2f}x the lower bound (target within {RATIO_TARGET:.0f}x)"
        + ("  over target" if worst > RATIO_TARGET else "")
        + f"; {statistics.median(every) / both:.2f}x the aggregates plus the bare writes"
    )


def subjects(tenant: Tenant) -> dict[str, tuple[int, int]]:
    """The accounts the whitespace tab is timed for: (id, orders in the last 24 months), the
    most and the median."""
    since = tenant_today(tenant) - dt.timedelta(days=730)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.account_id, count(*) FROM accounts_order o"
            " JOIN growth_buyingcentre b ON b.tenant_id = o.tenant_id AND b.account_id = o.account_id AND b.is_primary"
            " WHERE o.tenant_id = %s AND o.order_date > %s GROUP BY o.account_id",
            [tenant.pk, since],
        )
        rows = cursor.fetchall()
    if not rows:
        raise SystemExit(f"{tenant.slug}: no account with buying centres and orders; run bench/generate.py.")
    ordered = sorted(rows, key=lambda row: (row[1], row[0]))
    return {"busiest": ordered[-1], "typical": ordered[len(ordered) // 2]}


def bench_pages(tenant: Tenant, repeat: int) -> None:
    chosen = subjects(tenant)
    director = member(tenant, f"bench-director@{tenant.slug}.example.com", Role.DIRECTOR)
    client = Client()
    client.force_login(director)
    htmx = {"HTTP_HX_REQUEST": "true"}

    def url(name: str, **kwargs: int) -> str | None:
        try:
            return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})
        except NoReverseMatch:
            return None

    pages = []
    for key in ("busiest", "typical"):
        account_id, orders = chosen[key]
        with tenant_context(tenant):
            opportunities = Opportunity.objects.filter(account_id=account_id).count()
        label = f"whitespace tab, {orders:,} orders, {opportunities} opp."
        pages.append(
            (label, "growth-account-whitespace", url("growth-account-whitespace", account_id=account_id), htmx)
        )
    pages.append(("pipeline page", "growth-pipeline", url("growth-pipeline"), {}))

    print(f"\npages as a director; {repeat} warm requests per page; ms")
    print(f"{'page':50} {'first':>8} {'p50':>8} {'p95':>8} {'queries':>8}")
    worst = 0.0
    measured = 0
    for label, name, path, headers in pages:
        if path is None:
            print(f"{label:50} skipped: the URL {name} is not there yet")
            continue
        first, _status = timed(client, path, headers)
        warm = [timed(client, path, headers)[0] for _ in range(repeat)]
        with CaptureQueriesContext(connection) as queries:
            client.get(path, **headers)
        p95 = percentile(warm, 0.95)
        worst = max(worst, p95)
        measured += 1
        print(
            f"{label:50} {first:8.1f} {statistics.median(warm):8.1f} {p95:8.1f} {len(queries.captured_queries):8d}"
            + ("  over target" if p95 >= TARGET_MS else "")
        )
    if measured:
        print(f"\nworst p95: {worst:.1f} ms (target {TARGET_MS:.0f} ms: {worst / TARGET_MS:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slug", default="bench-large")
    parser.add_argument("--runs", type=int, default=3, help="runs of the refresh and its bound")
    parser.add_argument("--repeat", type=int, default=30, help="warm requests per page")
    parser.add_argument("--no-refresh", action="store_true", help="the pages only")
    args = parser.parse_args()

    tenant = Tenant.objects.filter(slug=args.slug).first()
    if tenant is None:
        raise SystemExit(f"No tenant {args.slug}: build it with bench/generate.py first.")
    with tenant_context(tenant):
        offerings = Offering.objects.count()
        centres = BuyingCentre.objects.count()
        opportunities = Opportunity.objects.count()
    if not centres:
        raise SystemExit(f"{args.slug} has no buying centres: run bench/generate.py --slug {args.slug} again.")
    print(f"tenant {tenant.slug}: {offerings:,} offerings, {centres:,} buying centres, {opportunities:,} opportunities")
    if not args.no_refresh:
        bench_refresh(tenant, args.runs)
    bench_pages(tenant, args.repeat)


if __name__ == "__main__":
    main()
