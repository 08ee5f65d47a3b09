"""Time the service pages on the large bench tenant: p50 and p95 server time per page.

    .venv/bin/python bench/service.py [--slug bench-large] [--repeat 30] [--explain]

The tenant must hold its needs (bench/generate.py: 1,000,000 needs over two years, answered
by 50 service people; a tenant made before the needs step gets them by running generate.py
again). Measured as bench/pages.py does: in this process, through Django's test Client, the
whole request path (middleware, tenant context and RLS, session, view, templates) against the
development database, wall-clock per request: one first request, then ``--repeat`` more.

The pages: the needs inbox (first page with the default filters, the new ones, the overdue
ones) as a manager, who sees every need, and as a service person; an account's needs tab for
the account with the most needs and for a typical one (the median count); the home panel of
the needs waiting for a service person with a typical load (the median of open needs
assigned). The target is p95 under 200 ms. ``--explain`` prints, for each page over the
target, EXPLAIN ANALYZE of its slowest statements.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.pages import TARGET_MS, member, percentile, timed  # noqa: E402
from kam.models import Role, Tenant, User  # noqa: E402
from kam.tenancy import tenant_context  # noqa: E402
from service.models import OPEN_STATUSES, Need  # noqa: E402


def median_row(rows: list[tuple[int, int]]) -> tuple[int, int]:
    """The (id, count) with the median count."""
    ordered = sorted(rows, key=lambda row: (row[1], row[0]))
    return ordered[len(ordered) // 2]


def subjects(tenant: Tenant) -> dict[str, tuple[int, int]]:
    """The accounts and the service person the pages are timed for: (id, needs)."""
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, count(*) FROM service_need WHERE tenant_id = %s AND account_id IS NOT NULL"
            " GROUP BY account_id",
            [tenant.pk],
        )
        per_account = cursor.fetchall()
        open_per_agent = list(
            Need.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=False)
            .values("assignee_id")
            .annotate(n=Count("id"))
            .values_list("assignee_id", "n")
        )
    if not per_account or not open_per_agent:
        raise SystemExit(f"{tenant.slug} has no needs: run bench/generate.py --slug {tenant.slug} first.")
    return {
        "busiest account": max(per_account, key=lambda row: (row[1], -row[0])),
        "typical account": median_row(per_account),
        "typical agent": median_row(open_per_agent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slug", default="bench-large")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slow statements of a slow page")
    args = parser.parse_args()

    tenant = Tenant.objects.filter(slug=args.slug).first()
    if tenant is None:
        raise SystemExit(f"No tenant {args.slug}: build it with bench/generate.py first.")
    with tenant_context(tenant):
        needs = Need.objects.count()
        open_needs = Need.objects.filter(status__in=OPEN_STATUSES).count()
    chosen = subjects(tenant)
    manager = member(tenant, f"bench-manager@{args.slug}.example.com", Role.MANAGER)
    agent = User.objects.get(pk=chosen["typical agent"][0])
    busiest, typical = chosen["busiest account"], chosen["typical account"]

    def url(name: str, query: str = "", **kwargs: int) -> str:
        return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs}) + query

    htmx = {"HTTP_HX_REQUEST": "true"}
    pages = [
        ("inbox, manager", manager, url("service-needs"), {}),
        ("inbox ?status=new, manager", manager, url("service-needs", "?status=new"), {}),
        ("inbox, overdue, manager", manager, url("service-needs", "?overdue=1"), {}),
        ("inbox, service person", agent, url("service-needs"), {}),
        ("inbox, overdue, service person", agent, url("service-needs", "?overdue=1"), {}),
        (f"account tab, {busiest[1]:,} needs", manager, url("service-account-tab", account_id=busiest[0]), htmx),
        (f"account tab, {typical[1]:,} needs", manager, url("service-account-tab", account_id=typical[0]), htmx),
        (f"home panel, {chosen['typical agent'][1]:,} open", agent, url("service-my-needs"), htmx),
    ]
    clients: dict[int, Client] = {}
    for user in (manager, agent):
        client = Client()
        client.force_login(user)
        clients[user.pk] = client

    print(f"tenant {tenant.slug}: {needs:,} needs, {open_needs:,} open; {args.repeat} warm requests per page; ms")
    print(f"{'page':40} {'first':>8} {'p50':>8} {'p95':>8} {'queries':>8}")
    worst = 0.0
    slow: list[tuple[str, list[dict]]] = []
    for label, user, path, headers in pages:
        client = clients[user.pk]
        first, _status = timed(client, path, headers)
        warm = [timed(client, path, headers)[0] for _ in range(args.repeat)]
        with CaptureQueriesContext(connection) as queries:
            client.get(path, **headers)
        p95 = percentile(warm, 0.95)
        worst = max(worst, p95)
        over = p95 >= TARGET_MS
        print(
            f"{label:40} {first:8.1f} {statistics.median(warm):8.1f} {p95:8.1f} {len(queries.captured_queries):8d}"
            + ("  over target" if over else "")
        )
        if over:
            slow.append((label, list(queries.captured_queries)))
    print(f"\nworst p95: {worst:.1f} ms (target {TARGET_MS:.0f} ms: {worst / TARGET_MS:.2f}x)")
    if args.explain:
        for label, captured in slow:
            explain(tenant, label, captured)


def explain(tenant: Tenant, label: str, captured: list[dict]) -> None:
    """EXPLAIN ANALYZE of the page's three slowest SELECTs, in the tenant's context."""
    selects = [query for query in captured if query["sql"].lstrip().upper().startswith("SELECT")]
    for query in sorted(selects, key=lambda query: -float(query["time"]))[:3]:
        with tenant_context(tenant), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\n{label}: {float(query['time']) * 1000:.1f} ms ({(time.perf_counter() - started) * 1000:.0f} ms)")
        print(query["sql"])
        print(plan)


if __name__ == "__main__":
    main()
