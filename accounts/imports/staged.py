"""Orders and invoices: streamed, no Python object kept per row. Each row goes to a temporary
CSV file as it is read; PostgreSQL COPY loads it into a TEMP staging table, duplicates are
found with one GROUP BY, and one INSERT ... SELECT ... ON CONFLICT upserts everything. A
million orders import in about 70 seconds on two cores (bench/import_orders.py), in a flat 76 MB."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import references
from accounts.imports.base import INVALID, Counts, Importer
from accounts.imports.cells import FAST_AMOUNT_RE, parse_date, parse_money, parse_text
from accounts.imports.errors import MAX_STORED_ERRORS, ImportFileError
from accounts.models import ImportKind, Invoice, InvoiceStage, Order, OrderStage
from kam.db import analyze_written
from kam.models import TenantStageModel
from kam.stage import staged as staged_into

STAGE_TABLE = "kam_import_stage"
# The checked rows go from the TEMP table into the importer's stage (kam.stage.staged), from
# which the upsert runs on the tenant's shard on Citus; always the same "run" of the stage,
# whose rows no other transaction sees.
STAGE_RUN = 0
STAGE_KEYS = {"id", "tenant_id", "run_id", "row_id"}


class StagedImporter(Importer):
    """Valid rows go to a temporary CSV file as they are read; the database does the rest."""

    stage_ddl: str = ""
    stage_model: type[TenantStageModel]
    key_field: str = ""  # external_ref / number: unique in the tenant, duplicates in the file are errors
    duplicate_message: Callable[[], str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Closed by close(), which import_file calls in a finally block.
        self.buffer = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.buffer)
        self.staged = 0

    def stage(self, *values: Any) -> None:
        """One row into the COPY file; a value that did not parse goes in as NULL."""
        self.writer.writerow([None if value is INVALID else value for value in values])
        self.staged += 1

    def amount(self, row: int, cells: Sequence[Any]) -> Any:
        """The required amount column, greater than zero."""
        amount = self.cell(row, cells, "amount", parse_money, required=True)
        if amount is not INVALID and amount <= 0:
            self.error(row, "amount", _("The amount must be greater than zero."))
        return amount

    def not_negative(self, row: int, cells: Sequence[Any], name: str, message: str) -> Any:
        """An optional amount column, zero or more; ``message`` says it cannot be negative."""
        value = self.cell(row, cells, name, parse_money)
        if value not in (None, INVALID) and value < 0:
            self.error(row, name, message)
        return value

    def check(self) -> None:
        """COPY the valid rows into a TEMP table; find keys given twice; a manager's foreign records."""
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
            cursor.execute(f"CREATE TEMP TABLE {STAGE_TABLE} ({self.stage_ddl}) ON COMMIT DROP")
            self.buffer.flush()
            self.buffer.seek(0)
            cursor.copy_expert(f"COPY {STAGE_TABLE} FROM STDIN (FORMAT csv)", self.buffer)
            cursor.execute(f"ANALYZE {STAGE_TABLE}")
            key = self.key_field
            cursor.execute(
                f"SELECT {key}, array_agg(row_no ORDER BY row_no) FROM {STAGE_TABLE}"
                f" WHERE {key} <> '' GROUP BY {key} HAVING count(*) > 1 ORDER BY min(row_no) LIMIT %s",
                [MAX_STORED_ERRORS],
            )
            for value, rows in cursor.fetchall():
                for row in rows[1:]:
                    self.error(row, key, self.duplicate_message() % {"value": value, "row": rows[0]})
            if self.writable is not None:
                table = self.model._meta.db_table
                cursor.execute(
                    f"SELECT s.row_no FROM {STAGE_TABLE} s JOIN {table} t"
                    f" ON t.tenant_id = %s AND t.{key} = s.{key} AND s.{key} <> ''"
                    " WHERE NOT (t.account_id = ANY(%s)) ORDER BY s.row_no LIMIT %s",
                    [self.tenant.pk, list(self.writable), MAX_STORED_ERRORS],
                )
                for (row,) in cursor.fetchall():
                    self.error(row, key, _("This record belongs to an account you may not write."))

    def upsert_sql(self) -> str:
        """INSERT ... SELECT FROM the staging table ... ON CONFLICT DO UPDATE, with the tenant
        as ``%(tenant)s``; an update only where a value differs, so that the row counts as unchanged."""
        raise NotImplementedError

    def staged_rows(self) -> str:
        """FROM the stage's rows and their accounts (all in the tenant): what the upserts insert."""
        return (
            f"FROM {self.stage_model._meta.db_table} s"
            " JOIN accounts_account a ON a.tenant_id = s.tenant_id AND a.id = s.account_id"
            " WHERE s.tenant_id = %(tenant)s AND s.run_id = %(run)s"
        )

    def write(self) -> Counts:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*), count(a.id) FROM {STAGE_TABLE} s"
                " LEFT JOIN accounts_account a ON a.id = s.account_id AND a.tenant_id = %s",
                [self.tenant.pk],
            )
            staged, joined = cursor.fetchone()
            if staged != joined:
                raise ImportFileError(_("An account of this file was deleted during the import; try again."))
            columns = [f.column for f in self.stage_model._meta.concrete_fields if f.column not in STAGE_KEYS]
            with staged_into(
                cursor,
                self.stage_model,
                source=STAGE_TABLE,
                columns=columns,
                tenant_id=self.tenant.pk,
                run_id=STAGE_RUN,
                target=self.model,
                order_by="row_no",
            ):
                # Rows whose key is there already: updated, or unchanged; the others are created.
                key, table, stage = self.key_field, self.model._meta.db_table, self.stage_model._meta.db_table
                cursor.execute(
                    f"SELECT count(*) FROM {stage} s JOIN {table} t ON t.tenant_id = s.tenant_id AND t.{key} = s.{key}"
                    f" WHERE s.tenant_id = %s AND s.run_id = %s AND s.{key} <> ''",
                    [self.tenant.pk, STAGE_RUN],
                )
                (existing,) = cursor.fetchone()
                # The time as a value: Citus wants nothing but IMMUTABLE functions in DO UPDATE SET.
                params = {"tenant": self.tenant.pk, "run": STAGE_RUN, "now": timezone.now()}
                cursor.execute(self.upsert_sql(), params)
                created = staged - existing
                updated = cursor.rowcount - created  # an upsert counts the rows it inserted or updated
            cursor.execute(f"DROP TABLE {STAGE_TABLE}")
        analyze_written({self.model._meta.db_table: created + updated})
        return Counts(created=created, updated=updated, unchanged=staged - created - updated)

    def close(self) -> None:
        self.buffer.close()


class OrderImporter(StagedImporter):
    kind = ImportKind.ORDERS
    model = Order
    stage_model = OrderStage
    key_field = "external_ref"
    stage_ddl = (
        "row_no integer NOT NULL, account_id bigint, order_date date, amount numeric(16, 2),"
        " cost numeric(16, 2), product_line text, offering text, buying_centre text, external_ref text"
    )

    @staticmethod
    def duplicate_message() -> str:
        return _("The external reference %(value)s appears already in row %(row)s.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        positions = self.header.positions
        self.fast_positions = tuple(
            positions.get(name, -1)
            for name in (
                "account",
                "order_date",
                "amount",
                "cost",
                "product_line",
                "offering",
                "buying_centre",
                "external_ref",
            )
        )

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        fast = self.fast_row(cells)
        if fast is not None:
            # Straight to the file: a fast row holds no INVALID for stage() to replace.
            self.writer.writerow((row, *fast))
            self.staged += 1
            return
        self.checked_row(row, cells)

    def fast_row(self, cells: Sequence[Any]) -> tuple[Any, ...] | None:
        """The common case of a million-row file, without a Python object per cell: a known
        account, an ISO date, plain amounts, short texts. None sends the row to checked_row,
        which accepts the same values (and more) and names what is wrong."""
        length = len(cells)
        values = []
        for index in self.fast_positions:
            raw = cells[index] if 0 <= index < length else ""
            if not isinstance(raw, str):
                return None
            values.append(raw.strip())
        account, order_date, amount, cost, product_line, offering, buying_centre, external_ref = values
        account_id = self.known_accounts.get(account)
        if account_id is None or len(order_date) != 10 or order_date[4] != "-" or order_date[7] != "-":
            return None
        try:
            dt.date.fromisoformat(order_date)
        except ValueError:
            return None
        if not FAST_AMOUNT_RE.match(amount) or not amount.strip("0.") or (cost and not FAST_AMOUNT_RE.match(cost)):
            return None
        if len(product_line) > 100 or len(external_ref) > 100 or len(offering) > 40 or len(buying_centre) > 40:
            return None
        return account_id, order_date, amount, cost or None, product_line, offering, buying_centre, external_ref

    def checked_row(self, row: int, cells: Sequence[Any]) -> None:
        account_id = self.account_of(row, cells)
        order_date = self.cell(row, cells, "order_date", parse_date, required=True)
        amount = self.amount(row, cells)
        cost = self.not_negative(row, cells, "cost", _("The cost cannot be negative."))
        product_line = self.cell(row, cells, "product_line", parse_text, 100)
        offering = self.cell(row, cells, "offering", parse_text, 40)
        buying_centre = self.cell(row, cells, "buying_centre", parse_text, 40)
        external_ref = self.cell(row, cells, "external_ref", parse_text, 100)
        # Every row is staged, so that duplicates are found among rows with other errors too;
        # the upsert runs only when no row has an error at all.
        self.stage(row, account_id, order_date, amount, cost, product_line, offering, buying_centre, external_ref)

    def check(self) -> None:
        """And the codes of offerings and buying centres, asked of their owner
        (accounts.references) once per distinct value: an unknown one is an error of its row."""
        super().check()
        with connection.cursor() as cursor:
            if self.has("offering"):
                cursor.execute(f"SELECT DISTINCT offering FROM {STAGE_TABLE} WHERE offering <> ''")
                unknown = references.unknown(self.tenant, references.OFFERING, (code for (code,) in cursor.fetchall()))
                if unknown:
                    cursor.execute(
                        f"SELECT row_no, offering FROM {STAGE_TABLE} WHERE offering = ANY(%s) ORDER BY row_no LIMIT %s",
                        [sorted(unknown), MAX_STORED_ERRORS],
                    )
                    for row, code in cursor.fetchall():
                        self.error(row, "offering", references.unknown_offering_message(code))
            if self.has("buying_centre"):
                cursor.execute(
                    f"SELECT DISTINCT account_id, buying_centre FROM {STAGE_TABLE}"
                    " WHERE buying_centre <> '' AND account_id IS NOT NULL"
                )
                pairs = {(account_id, code) for account_id, code in cursor.fetchall()}
                unknown = references.unknown(self.tenant, references.BUYING_CENTRE, pairs)
                if unknown:
                    ordered = sorted(unknown)
                    cursor.execute(
                        f"SELECT s.row_no, s.buying_centre FROM {STAGE_TABLE} s"
                        " JOIN unnest(%s::bigint[], %s::text[]) AS bad(account_id, code)"
                        " ON bad.account_id = s.account_id AND bad.code = s.buying_centre"
                        " ORDER BY s.row_no LIMIT %s",
                        [[pk for pk, _code in ordered], [code for _pk, code in ordered], MAX_STORED_ERRORS],
                    )
                    for row, code in cursor.fetchall():
                        self.error(row, "buying_centre", references.unknown_centre_message(code))

    def upsert_sql(self) -> str:
        # An existing external_ref is updated only when a value differs (else: unchanged);
        # blank cost and product line keep what is stored.
        return f"""
            INSERT INTO accounts_order AS o
                (id, tenant_id, account_id, order_date, amount, cost, product_line, offering, buying_centre,
                 external_ref, created_at)
            SELECT s.row_id, s.tenant_id, a.id, s.order_date, s.amount, s.cost,
                   coalesce(s.product_line, ''), coalesce(s.offering, ''), coalesce(s.buying_centre, ''),
                   coalesce(s.external_ref, ''), %(now)s
            {self.staged_rows()}
            ON CONFLICT (tenant_id, external_ref) WHERE external_ref <> '' DO UPDATE SET
                account_id = EXCLUDED.account_id,
                order_date = EXCLUDED.order_date,
                amount = EXCLUDED.amount,
                cost = coalesce(EXCLUDED.cost, o.cost),
                product_line = coalesce(nullif(EXCLUDED.product_line, ''), o.product_line),
                offering = coalesce(nullif(EXCLUDED.offering, ''), o.offering),
                buying_centre = coalesce(nullif(EXCLUDED.buying_centre, ''), o.buying_centre)
            WHERE (o.account_id, o.order_date, o.amount, o.cost, o.product_line, o.offering, o.buying_centre)
                  IS DISTINCT FROM
                  (EXCLUDED.account_id, EXCLUDED.order_date, EXCLUDED.amount,
                   coalesce(EXCLUDED.cost, o.cost), coalesce(nullif(EXCLUDED.product_line, ''), o.product_line),
                   coalesce(nullif(EXCLUDED.offering, ''), o.offering),
                   coalesce(nullif(EXCLUDED.buying_centre, ''), o.buying_centre))
        """


class InvoiceImporter(StagedImporter):
    kind = ImportKind.INVOICES
    model = Invoice
    stage_model = InvoiceStage
    key_field = "number"
    stage_ddl = (
        "row_no integer NOT NULL, account_id bigint, number text, issued_on date, due_on date,"
        " amount numeric(16, 2), paid_on date, paid_amount numeric(16, 2)"
    )

    @staticmethod
    def duplicate_message() -> str:
        return _("The invoice number %(value)s appears already in row %(row)s.")

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        account_id = self.account_of(row, cells)
        number = self.cell(row, cells, "number", parse_text, 64, required=True)
        issued_on = self.cell(row, cells, "issued_on", parse_date, required=True)
        due_on = self.cell(row, cells, "due_on", parse_date, required=True)
        if INVALID not in (issued_on, due_on) and due_on < issued_on:
            self.error(row, "due_on", _("The due date cannot be before the issue date."))
        amount = self.amount(row, cells)
        paid_on = self.cell(row, cells, "paid_on", parse_date)
        paid_amount = self.not_negative(row, cells, "paid_amount", _("The paid amount cannot be negative."))
        self.stage(row, account_id, number, issued_on, due_on, amount, paid_on, paid_amount)

    def upsert_sql(self) -> str:
        return f"""
            INSERT INTO accounts_invoice AS i
                (id, tenant_id, account_id, number, issued_on, due_on, amount, paid_on, paid_amount,
                 created_at, updated_at)
            SELECT s.row_id, s.tenant_id, a.id, s.number, s.issued_on, s.due_on, s.amount, s.paid_on, s.paid_amount,
                   %(now)s, %(now)s
            {self.staged_rows()}
            ON CONFLICT (tenant_id, number) DO UPDATE SET
                account_id = EXCLUDED.account_id,
                issued_on = EXCLUDED.issued_on,
                due_on = EXCLUDED.due_on,
                amount = EXCLUDED.amount,
                paid_on = coalesce(EXCLUDED.paid_on, i.paid_on),
                paid_amount = coalesce(EXCLUDED.paid_amount, i.paid_amount),
                updated_at = %(now)s
            WHERE (i.account_id, i.issued_on, i.due_on, i.amount, i.paid_on, i.paid_amount) IS DISTINCT FROM
                  (EXCLUDED.account_id, EXCLUDED.issued_on, EXCLUDED.due_on, EXCLUDED.amount,
                   coalesce(EXCLUDED.paid_on, i.paid_on), coalesce(EXCLUDED.paid_amount, i.paid_amount))
        """
