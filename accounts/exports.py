"""The account list as a spreadsheet: CSV (UTF-8 with BOM, so Excel reads the Chinese)
or XLSX (openpyxl), with headers in the user's language and display labels for coded
values. Built in memory inside the request: the tenant context lives in the request
transaction, so nothing may query after the view has returned.

Text cells are guarded against spreadsheet formula injection (OWASP "CSV injection"):
a value starting with = + - @, a tab or a carriage return gets a leading single quote,
so a spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.text import capfirst

from accounts.models import Account

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}

# Model fields, in column order; each header is the field's verbose name, translated.
COLUMNS: tuple[str, ...] = (
    "name",
    "legal_name",
    "credit_code",
    "parent",
    "tier",
    "score",
    "health_band",
    "health_score",
    "status",
    "industry",
    "region",
    "owner",
    "cooperation_since",
)


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def headers() -> list[str]:
    """Column headers in the active language."""
    return [str(capfirst(Account._meta.get_field(name).verbose_name)) for name in COLUMNS]


def _cell(account: Account, name: str) -> Any:
    if name == "parent":
        return account.parent.name if account.parent_id else ""
    if name == "owner":
        return account.owner.display_name if account.owner_id else ""
    if name in ("tier", "health_band", "status"):
        return str(getattr(account, f"get_{name}_display")()) if getattr(account, name) else ""
    value = getattr(account, name)
    return "" if value is None else value


def rows(accounts: QuerySet[Account]) -> Iterator[list[Any]]:
    """One list of cell values per account (formula-guarded), read in chunks."""
    for account in accounts.select_related("owner", "parent").iterator(chunk_size=2000):
        yield [neutralise(_cell(account, name)) for name in COLUMNS]


def to_csv(header: list[str], body: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(text) for text in header])
    for row in body:
        writer.writerow(["" if value is None else value for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], body: Iterable[list[Any]], *, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Sheet1")
    bold = Font(bold=True)
    header_cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=neutralise(text))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in body:
        sheet.append([_xlsx_value(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, Decimal):
        return float(value)  # a number the spreadsheet can sum
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters XLSX cannot hold
    return value


def export_accounts(accounts: QuerySet[Account], file_format: str, *, title: str) -> bytes:
    header = headers()
    if file_format == "xlsx":
        return to_xlsx(header, rows(accounts), title=title)
    return to_csv(header, rows(accounts))
