"""Build the data set of DESIGN section 9 for one large tenant, with COPY.

    .venv/bin/python bench/generate.py [--slug bench-large] [--accounts 100000]
        [--orders 5000000] [--invoices 500000] [--contacts 300000] [--interactions 200000]
        [--seed 2026] [--replace]

Rows are produced by a deterministic generator (seeded) and streamed with COPY into
TEMP staging tables, then moved into the tenant's tables with one INSERT ... SELECT
each: PostgreSQL refuses COPY FROM into a table with row-level security, and the
application role is subject to it. Everything runs inside the tenant's context.
About one account in ten belongs to a group (a parent), orders spread over three years
before today with a rhythm per account, a tenth of the invoices are paid late.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from kam import services  # noqa: E402
from kam.db import owner_connection  # noqa: E402
from kam.models import Tenant  # noqa: E402
from kam.tenancy import tenant_context, tenant_today  # noqa: E402

INDUSTRIES = ["轨道交通", "船舶制造", "新能源", "汽车", "机床", "工程机械", "航空航天", "电子", "矿山", "医疗器械"]
REGIONS = ["北京", "上海", "江苏", "浙江", "广东", "山东", "湖北", "四川", "辽宁", "陕西"]


class RowStream(io.RawIOBase):
    """A file-like object over generated CSV lines, so COPY streams without a temp file."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        while len(self._buffer) < len(target):
            chunk = "".join(line for _, line in zip(range(2000), self._lines, strict=False))
            if not chunk:
                break
            self._buffer += chunk.encode()
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def copy_rows(table: str, columns: str, lines: Iterator[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
        cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", io.BufferedReader(RowStream(lines), 1 << 20))


def generate(tenant: Tenant, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    today = tenant_today(tenant)
    start = today - timedelta(days=3 * 365)
    n_accounts = args.accounts
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM accounts_account")
        first_id = cursor.fetchone()[0]
        # ids are assigned by the sequence; the staging row number maps to them afterwards.
        copy_rows(
            "stage_account",
            "n int, name text, industry text, region text, parent_n int, since date",
            (
                f"{n},客户{n:06d},{INDUSTRIES[n % 10]},{REGIONS[(n // 10) % 10]},"
                f"{(n - n % 10) if n % 10 and n % 7 == 0 else ''},{start - timedelta(days=(n * 37) % 3650)}\n"
                for n in range(1, n_accounts + 1)
            ),
        )
        cursor.execute(
            """
            INSERT INTO accounts_account (tenant_id, name, legal_name, credit_code, industry, region, status, notes,
                                          tier, health_band, cooperation_since, created_at, updated_at)
            SELECT %s, name, name || '有限公司', '', industry, region, 'active', '', '', '', since, now(), now()
            FROM stage_account ORDER BY n
            """,
            [tenant.pk],
        )
        cursor.execute(
            "CREATE TEMP TABLE account_map ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) AS n, id"
            " FROM accounts_account WHERE id > %s",
            [first_id],
        )
        cursor.execute("CREATE INDEX ON account_map (n)")
        cursor.execute(
            """
            UPDATE accounts_account a SET parent_id = parent.id
            FROM stage_account s JOIN account_map child ON child.n = s.n JOIN account_map parent ON parent.n = s.parent_n
            WHERE a.id = child.id AND s.parent_n IS NOT NULL AND a.tenant_id = %s
            """,
            [tenant.pk],
        )

        def orders() -> Iterator[str]:
            days = (today - start).days
            for i in range(args.orders):
                n = 1 + (i * 7919) % n_accounts  # spread over accounts, bigger ones more often below
                if i % 5 == 0:
                    n = 1 + (i % max(1, n_accounts // 50))  # the top 2 % buy a fifth of all orders
                day = start + timedelta(days=(i * 104729 + n * 31) % (days + 1))
                amount = 1000 + rng.randrange(200_000) + (50_000 if n % 13 == 0 else 0)
                cost = f"{amount * 0.7:.2f}" if i % 3 else ""
                yield f"{n},{day},{amount}.00,{cost},产品线{n % 5},B{i}\n"

        copy_rows(
            "stage_order", "n int, order_date date, amount numeric, cost numeric, product_line text, ref text", orders()
        )
        cursor.execute(
            """
            INSERT INTO accounts_order (tenant_id, account_id, order_date, amount, cost, product_line, external_ref,
                                        created_at)
            SELECT %s, m.id, s.order_date, s.amount, s.cost, s.product_line, s.ref, now()
            FROM stage_order s JOIN account_map m ON m.n = s.n
            """,
            [tenant.pk],
        )

        def invoices() -> Iterator[str]:
            for i in range(args.invoices):
                n = 1 + (i * 7907) % n_accounts
                issued = start + timedelta(days=(i * 31) % (3 * 365))
                due = issued + timedelta(days=30)
                if due > today:
                    paid = ""
                elif i % 10 == 0:
                    paid = str(min(today, due + timedelta(days=20 + i % 90)))
                else:
                    paid = str(due - timedelta(days=i % 10))
                yield f"{n},FPB{i},{issued},{due},{10000 + i % 90000}.00,{paid}\n"

        copy_rows("stage_invoice", "n int, number text, issued date, due date, amount numeric, paid date", invoices())
        cursor.execute(
            """
            INSERT INTO accounts_invoice (tenant_id, account_id, number, issued_on, due_on, amount, paid_on, paid_amount,
                                          created_at, updated_at)
            SELECT %s, m.id, s.number, s.issued, s.due, s.amount, s.paid, CASE WHEN s.paid IS NULL THEN NULL ELSE s.amount END,
                   now(), now()
            FROM stage_invoice s JOIN account_map m ON m.n = s.n
            """,
            [tenant.pk],
        )
        levels = ["operational", "managerial", "executive"]
        roles = ["user", "influencer", "decision_maker", "gatekeeper", "technical_buyer"]
        attitudes = ["neutral", "supporter", "champion", "skeptic", "blocker"]
        copy_rows(
            "stage_contact",
            "n int, name text, level text, buying_role text, attitude text, left_on date",
            (
                f"{1 + i % n_accounts},联系人{i},{levels[i % 3]},{roles[i % 5]},{attitudes[(i // 3) % 5]},"
                f"{today - timedelta(days=i % 200) if i % 40 == 0 else ''}\n"
                for i in range(args.contacts)
            ),
        )
        cursor.execute(
            """
            INSERT INTO accounts_contact (tenant_id, account_id, name, title, department, level, buying_role, attitude,
                                          email, phone, left_on, created_at, updated_at)
            SELECT %s, m.id, s.name, '', '', s.level, s.buying_role, s.attitude, '', '', s.left_on, now(), now()
            FROM stage_contact s JOIN account_map m ON m.n = s.n
            """,
            [tenant.pk],
        )
        kinds = ["meeting", "call", "visit", "email", "service_ticket", "complaint"]
        copy_rows(
            "stage_interaction",
            "n int, kind text, at timestamptz",
            (
                f"{1 + (i * 7877) % n_accounts},{kinds[i % 6] if i % 17 else 'complaint'},"
                f"{today - timedelta(days=i % 400)} 10:00:00+08\n"
                for i in range(args.interactions)
            ),
        )
        cursor.execute(
            """
            INSERT INTO accounts_interaction (tenant_id, account_id, kind, occurred_at, summary, created_at)
            SELECT %s, m.id, s.kind, s.at, 'bench', now() FROM stage_interaction s JOIN account_map m ON m.n = s.n
            """,
            [tenant.pk],
        )
    analyze(["accounts_account", "accounts_order", "accounts_invoice", "accounts_contact", "accounts_interaction"])


def analyze(tables: list[str]) -> None:
    """Fresh statistics for the planner, through the owner's connection: ANALYZE run by a
    role that does not own a table only warns and skips it (the app role owns none)."""
    with owner_connection(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slug", default="bench-large")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--invoices", type=int, default=500_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--interactions", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--industry", default="manufacturing")
    parser.add_argument("--replace", action="store_true", help="drop the tenant first when it exists")
    args = parser.parse_args()

    existing = Tenant.objects.filter(slug=args.slug).first()
    if existing and not args.replace:
        print(f"tenant {args.slug} exists (use --replace to rebuild)")
        return
    if existing:
        drop_tenant(existing)
    started = time.perf_counter()
    tenant = services.tenant_create(slug=args.slug, name=f"Bench {args.slug}", industry_profile=args.industry)
    generate(tenant, args)
    print(
        f"{args.slug}: {args.accounts:,} accounts, {args.orders:,} orders, {args.invoices:,} invoices, "
        f"{args.contacts:,} contacts, {args.interactions:,} interactions in {time.perf_counter() - started:.1f} s"
    )


def drop_tenant(tenant: Tenant) -> None:
    """Remove a bench tenant's rows table by table (set-based), then the tenant."""
    from kam.rls import tenant_tables

    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in tenant_tables():
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)} WHERE tenant_id = %s", [tenant.pk])
    tenant.delete()


if __name__ == "__main__":
    main()
