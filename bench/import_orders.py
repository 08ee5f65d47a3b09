"""Import of orders at scale (DESIGN section 9): N order rows (default 1,000,000) for a
throw-away tenant with 2,000 accounts, written to a CSV file, then timed twice in the
same run:

(a) the lower bound: psql's ``\\copy`` of the same file into a TEMP table of text columns
    (no parsing, no checks, no indexes) — the bytes into PostgreSQL and nothing else;
(b) the full KAM import through the engine: decoding check, header mapping, every row
    validated in Python and streamed to a COPY file, COPY into the staging table,
    duplicate check, and one INSERT ... SELECT ... ON CONFLICT into accounts_order under
    row-level security, in one transaction.

    .venv/bin/python bench/import_orders.py [--rows 1000000] [--accounts 2000] [--rerun]

--rerun imports the same file a second time (every order then exists: all unchanged).
The bench tenant, its rows and the file are removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.imports.run import ImportOutcome, import_file  # noqa: E402
from accounts.models import Account  # noqa: E402
from accounts.validators import credit_code_check_character  # noqa: E402
from kam.models import Tenant  # noqa: E402
from kam.tenancy import tenant_context  # noqa: E402

PRODUCT_LINES = ["精密轴承", "齿轮箱", "液压系统", "数控机床", "工业机器人", "传感器"]


def credit_code(n: int) -> str:
    first17 = f"91310115{n:09d}"
    return first17 + credit_code_check_character(first17)


def create_accounts(tenant: Tenant, count: int) -> list[tuple[str, str]]:
    accounts = [
        Account(tenant=tenant, name=f"压测客户 {n:05d}", credit_code=credit_code(n) if n % 2 else "")
        for n in range(count)
    ]
    with tenant_context(tenant):
        Account.objects.bulk_create(accounts, batch_size=1000)
    return [(account.name, account.credit_code) for account in accounts]


def write_orders(path: Path, rows: int, accounts: list[tuple[str, str]], seed: int = 2026) -> None:
    """Realistic cells: names and credit codes, three date spellings, ¥ and thousands separators."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户", "下单日期", "金额", "成本", "产品线", "外部编号"])
        for i in range(rows):
            name, code = accounts[rng.randrange(len(accounts))]
            account = code if code and i % 10 == 0 else name
            year, month, day = 2024 + i % 3, 1 + rng.randrange(12), 1 + rng.randrange(28)
            style = i % 20
            if style == 0:
                order_date = f"{year}/{month}/{day}"
            elif style == 1:
                order_date = f"{year}年{month}月{day}日"
            else:
                order_date = f"{year}-{month:02d}-{day:02d}"
            cents = rng.randrange(10_000, 500_000_000)
            amount = f"¥{cents / 100:,.2f}" if i % 10 == 1 else f"{cents // 100}.{cents % 100:02d}"
            cost = f"{cents * 7 // 1000 / 1:.2f}" if i % 2 else ""
            writer.writerow([account, order_date, amount, cost, PRODUCT_LINES[i % 6], f"BENCH-{i:08d}"])


def psql_copy(path: Path) -> float:
    """Seconds for psql to \\copy the file into a TEMP table of text columns."""
    from kam import embedded

    db = settings.DATABASES["default"]
    env = {**embedded.pg_env(), "PGPASSWORD": db.get("PASSWORD") or ""}
    command = [
        embedded.pg_bin("psql"),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        db["HOST"],
        "-U",
        db["USER"],
        "-d",
        db["NAME"],
        *(["-p", str(db["PORT"])] if db.get("PORT") else []),
        "-c",
        "CREATE TEMP TABLE bench_stage (account text, order_date text, amount text, cost text,"
        " product_line text, external_ref text)",
        "-c",
        f"\\copy bench_stage FROM '{path}' WITH (FORMAT csv, HEADER true)",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return time.perf_counter() - start


def kam_import(tenant: Tenant, path: Path) -> tuple[float, ImportOutcome]:
    start = time.perf_counter()
    outcome = import_file(tenant, kind="orders", path=path, file_name=path.name)
    return time.perf_counter() - start, outcome


def report(label: str, rows: int, seconds: float) -> None:
    print(f"{label:<34} {seconds:8.1f} s   {rows / seconds:>12,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--rerun", action="store_true", help="import the same file a second time")
    args = parser.parse_args()

    tenant = Tenant.objects.create(slug=f"bench-import-{os.getpid()}", name="bench import")
    folder = Path(tempfile.mkdtemp(prefix="kam-bench-"))
    path = folder / "orders.csv"
    try:
        start = time.perf_counter()
        accounts = create_accounts(tenant, args.accounts)
        write_orders(path, args.rows, accounts)
        size_mb = path.stat().st_size / 1024 / 1024
        print(
            f"{args.rows:,} order rows for {args.accounts:,} accounts: {size_mb:.1f} MB of CSV,"
            f" generated in {time.perf_counter() - start:.1f} s"
        )

        floor = psql_copy(path)
        seconds, outcome = kam_import(tenant, path)
        if not outcome.ok:
            print(f"the import failed with {outcome.error_count} errors, e.g. {outcome.errors[:3]}")
            sys.exit(1)
        report("(a) psql \\copy into a TEMP table", args.rows, floor)
        report("(b) KAM import (check + upsert)", args.rows, seconds)
        print(f"    ratio (b)/(a): {seconds / floor:.1f}x")
        phases = outcome.seconds
        print(
            f"    of which: read and check rows {phases['read_and_check_rows']:.1f} s,"
            f" COPY + duplicate check {phases['check_file'] - phases['read_and_check_rows']:.1f} s,"
            f" upsert {phases['total'] - phases['check_file']:.1f} s,"
            f" commit (deferred foreign key checks) {seconds - phases['total']:.1f} s"
        )
        print(f"    created {outcome.created:,}, updated {outcome.updated:,}, unchanged {outcome.unchanged:,}")
        if args.rerun:
            again, second = kam_import(tenant, path)
            report("(c) the same file again", args.rows, again)
            print(f"    created {second.created:,}, updated {second.updated:,}, unchanged {second.unchanged:,}")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak_mb:.0f} MB")
    finally:
        # Plain SQL: the bench tenant has rows in these tables only (no ORM cascade over every app).
        with tenant_context(tenant), connection.cursor() as cursor:
            # the change notes last: deleting orders and accounts writes them
            for table in (
                "accounts_order",
                "accounts_importjob",
                "kam_auditlog",
                "accounts_account",
                "scoring_scorechange",
            ):
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
            cursor.execute("DELETE FROM kam_tenant WHERE id = %s", [tenant.pk])
        path.unlink(missing_ok=True)
        folder.rmdir()


if __name__ == "__main__":
    main()
