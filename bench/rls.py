"""Cost of the tenant context: a transaction that sets the tenant (SET LOCAL) and
reads one row of a tenant table under RLS, against a transaction that reads one
row of a platform table with no tenant and no RLS — the lower bound, timed in the
same run.

    .venv/bin/python bench/rls.py [--transactions 5000] [--accounts 20000]

Creates a throw-away tenant with --accounts accounts (removed at the end).
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

from django.db import connection, transaction  # noqa: E402

from kam.models import Tenant  # noqa: E402
from kam.tenancy import tenant_context  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=20000)
    args = parser.parse_args()

    tenant = Tenant.objects.create(slug=f"bench-rls-{os.getpid()}", name="bench")
    try:
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_account (tenant_id, name, legal_name, credit_code, industry, region, status,"
                " notes, tier, health_band, created_at, updated_at)"
                " SELECT %s, 'bench ' || g, '', '', '', '', 'active', '', '', '', now(), now()"
                " FROM generate_series(1, %s) g",
                [tenant.pk, args.accounts],
            )

        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM accounts_account WHERE tenant_id = %s", [tenant.pk])
            probe = cursor.fetchone()[0]

        def with_tenant() -> None:
            with tenant_context(tenant), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, name FROM accounts_account WHERE tenant_id = %s AND id = %s", [tenant.pk, probe]
                )
                cursor.fetchall()

        def bare() -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT id, name FROM kam_tenant WHERE id = %s", [tenant.pk])
                cursor.fetchall()

        timed(with_tenant, 200)  # warm up
        timed(bare, 200)
        ours = timed(with_tenant, args.transactions)
        floor = timed(bare, args.transactions)
        p50, p50_floor = statistics.median(ours), statistics.median(floor)
        print(f"transactions: {args.transactions}, accounts in tenant: {args.accounts}")
        print(
            f"tenant context + RLS read: p50 {p50 * 1e6:.0f} µs, p95 {sorted(ours)[int(len(ours) * 0.95)] * 1e6:.0f} µs"
        )
        print(
            f"bare transaction + read:   p50 {p50_floor * 1e6:.0f} µs, p95 {sorted(floor)[int(len(floor) * 0.95)] * 1e6:.0f} µs"
        )
        print(
            f"overhead of the tenant context: {(p50 - p50_floor) * 1e6:.0f} µs per transaction ({p50 / p50_floor:.2f}x)"
        )
    finally:
        from bench.generate import drop_tenant  # every table's rows, the score-change notes too

        drop_tenant(tenant)


if __name__ == "__main__":
    main()
