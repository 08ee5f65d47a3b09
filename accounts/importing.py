"""CSV and XLSX import of accounts, contacts, orders and invoices (DESIGN sections 3 and 9).

One engine for the import page, the API (both through a Celery task for large files) and
``manage.py import_csv``:

1. open the file: an Excel workbook (.xlsx) by its zip signature, else text in UTF-8 (with
   or without BOM) or GB18030 — what Excel in China saves — decided by decoding the whole
   file strictly, so a wrong guess is impossible;
2. map the header: Chinese or English column names, case, spaces and underscores ignored;
3. check every row, collecting errors by row number as the user sees it in the file (the
   header is row 1) and by column (the header as written);
4. only when the whole file is valid, write it, in one transaction (a savepoint when the
   caller has one open), under the tenant's row-level security.

Accounts and contacts refer to each other inside the file (parent, reports_to) and are
checked as a graph in memory (cycles included). Orders and invoices stream: each valid row
goes to a temporary CSV file, PostgreSQL COPY loads it into a TEMP staging table, duplicates
are found with one GROUP BY, and one INSERT ... SELECT ... ON CONFLICT upserts everything.
No Python object per row is kept for them: a million orders import in about 70 seconds on two cores
(bench/import_orders.py), in a flat 76 MB.

Empty cells never overwrite: on an update, a blank cell (or a missing optional column)
leaves the stored value as it is; on a create, it leaves the field blank or at its default.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import logging
import re
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import EmailValidator
from django.db import DatabaseError, connection, models, transaction
from django.db.models import F, QuerySet
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import WRITE_ALL, writable_accounts
from accounts.models import (
    Account,
    AccountStatus,
    Attitude,
    BuyingRole,
    Contact,
    ContactLevel,
    ImportJob,
    ImportKind,
    ImportStatus,
    Invoice,
    Order,
)
from accounts.validators import validate_credit_code
from kam import audit
from kam.models import ApiToken, AuditAction, Membership, Role, Tenant, User
from kam.permissions import WRITERS
from kam.runs import advisory_xact_lock
from kam.tenancy import tenant_context

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Files with fewer data rows than this are checked and imported in the request; larger ones in a task.
SYNC_ROW_LIMIT = 2000
PREVIEW_ROWS = 10
# Errors kept on the job (the page shows the first ERRORS_SHOWN of them, with the total).
MAX_STORED_ERRORS = 1000
ERRORS_SHOWN = 200
# Uploaded files wait here for the worker (kam's var/ folder; deleted when the job ends).
IMPORT_ROOT = Path(settings.VAR_DIR) / "imports"
PREVIEW_TTL = 7 * 24 * 3600
TERMINAL_STATUSES = frozenset({ImportStatus.DONE, ImportStatus.FAILED})
RUNNING_STATUSES = frozenset({ImportStatus.VALIDATING, ImportStatus.IMPORTING})

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls)


# --- errors -----------------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be read: wrong encoding, binary, damaged, empty."""

    def __init__(self, message: str, *, row: int | None = None, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


class CellError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ErrorLog:
    """Row errors: the first ``limit`` are kept, all are counted."""

    def __init__(self, limit: int = MAX_STORED_ERRORS) -> None:
        self.limit = limit
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: int | None, column: str, message: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append({"row": row, "column": column, "message": str(message)})

    def as_json(self) -> list[dict[str, Any]]:
        """Sorted by row (file-level errors first); a last entry says how many were left out."""
        items = sorted(self.items, key=lambda item: item["row"] or 0)
        left_out = self.count - len(items)
        if left_out:
            items.append(
                {
                    "row": None,
                    "column": "",
                    "message": _("%(count)s more errors are not listed.") % {"count": f"{left_out:,}"},
                    "more": left_out,
                }
            )
        return items


def error_total(errors: Sequence[dict[str, Any]]) -> int:
    """How many errors a stored list stands for (its last entry may count the left-out ones)."""
    return sum(item.get("more", 1) for item in errors)


# --- reading files ----------------------------------------------------------------------------

NOT_TEXT_MESSAGE = gettext_lazy(
    "The file is not UTF-8 or GB18030 text. Save it from Excel as “CSV UTF-8” or as an Excel workbook (.xlsx)."
)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    format: str  # "csv" or "xlsx"
    encoding: str  # "utf-8", "utf-8-sig", "gb18030" or "xlsx"
    estimated_rows: int  # data rows, for progress before the file is read


def inspect_file(path: str | Path, file_name: str = "") -> SourceFile:
    """Decide how to read the file, or raise ImportFileError with a message for the user."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(ZIP_MAGIC):
        return SourceFile(path, "xlsx", "xlsx", _xlsx_row_estimate(path))
    if head.startswith(OLE_MAGIC):
        raise ImportFileError(
            _("Excel 97–2003 workbooks (.xls) are not supported. Save the file as an Excel workbook (.xlsx) or as CSV.")
        )
    if file_name.lower().endswith(".xlsx"):
        raise ImportFileError(_xlsx_damaged())
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(str(NOT_TEXT_MESSAGE))
    candidates = ["utf-8-sig"] if head.startswith(codecs.BOM_UTF8) else ["utf-8", "gb18030"]
    for encoding in candidates:
        lines = _decode_whole_file(path, encoding)
        if lines is not None:
            return SourceFile(path, "csv", encoding, max(lines - 1, 0))
    raise ImportFileError(str(NOT_TEXT_MESSAGE))


def _decode_whole_file(path: Path, encoding: str) -> int | None:
    """The number of line breaks when the whole file decodes strictly, else None."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 0
    last = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            if b"\x00" in chunk:
                raise ImportFileError(
                    _(
                        "The file is not a text file (it contains binary data). "
                        "Upload a CSV file or an Excel workbook (.xlsx)."
                    )
                )
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return None
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return lines + (1 if last not in (b"\n", b"") else 0)


def _xlsx_damaged() -> str:
    return _(
        "The file is not a valid Excel workbook (.xlsx); it may be damaged. "
        "Save it again from Excel or upload it as CSV."
    )


def _open_workbook(path: Path) -> Any:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
        try:
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, XML errors...
            raise ImportFileError(_xlsx_damaged()) from exc


def _xlsx_row_estimate(path: Path) -> int:
    workbook = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        return max((sheet.max_row or 1) - 1, 0) if sheet is not None else 0
    except Exception as exc:
        raise ImportFileError(_xlsx_damaged()) from exc
    finally:
        workbook.close()


def iter_records(source: SourceFile) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) for every record of the file, the header included; rows count from 1."""
    if source.format == "xlsx":
        yield from _xlsx_records(source.path)
    else:
        yield from _csv_records(source.path, source.encoding)


def _csv_records(path: Path, encoding: str) -> Iterator[tuple[int, list[Any]]]:
    with open(path, encoding=encoding, newline="") as handle:
        first_line = handle.readline()
        handle.seek(0)
        delimiter = ","
        if "," not in first_line:
            delimiter = next((d for d in ("\t", ";") if d in first_line), ",")
        reader = csv.reader(handle, delimiter=delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):  # noqa: B007 - read after the loop on error
                yield number, cells
        except csv.Error as exc:
            raise ImportFileError(
                _("Row %(row)s could not be read as CSV: %(error)s") % {"row": number + 1, "error": exc},
                row=number + 1,
            ) from exc


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[Any]]]:
    workbook = _open_workbook(path)
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("The file is empty."))
        sheet = workbook.worksheets[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(cells)
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(_xlsx_damaged()) from exc
    finally:
        workbook.close()


# --- cells ---------------------------------------------------------------------------------------


def cell_text(raw: Any) -> str:
    """A cell as text: strings stripped; Excel numbers without a spurious ".0"; dates as ISO."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time(0) else raw.isoformat(sep=" ")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return str(raw).strip()


def is_blank(cells: Sequence[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def parse_text(raw: Any, max_length: int | None) -> str:
    text = cell_text(raw)
    if max_length is not None and len(text) > max_length:
        raise CellError(
            _("Use at most %(limit)d characters; this value has %(length)d.")
            % {"limit": max_length, "length": len(text)}
        )
    return text


DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\Z"
)
EXCEL_EPOCH = dt.date(1899, 12, 30)


def _date_message() -> str:
    return _("Enter a valid date such as 2026-03-31, 2026/3/31 or 2026年3月31日.")


def parse_date(raw: Any) -> dt.date | None:
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # An Excel date serial in a cell not formatted as a date.
        if 1 <= raw < 2958466:
            return EXCEL_EPOCH + dt.timedelta(days=int(raw))
        raise CellError(_date_message())
    text = raw.strip() if isinstance(raw, str) else str(raw).strip()
    if not text:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise CellError(_date_message()) from None
    match = DATE_RE.match(text)
    if match is None:
        raise CellError(_date_message())
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError(_date_message()) from None


PLAIN_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?\Z")
GROUPED_NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?\Z")
MONEY_LIMIT = Decimal(10) ** 14  # max_digits 16, 2 decimal places
# A plain amount that needs no parsing: what parse_money accepts unchanged (0 or more, < 10^14).
FAST_AMOUNT_RE = re.compile(r"(?:0|[1-9]\d{0,13})(?:\.\d{1,2})?\Z")
TWO_PLACES = Decimal("0.01")


def _number_message() -> str:
    return _("Enter a number such as 1234.50, 1,234.50 or ¥1,234.50.")


def parse_money(raw: Any) -> Decimal | None:
    """A decimal amount: thousands separators and a leading ¥ allowed, two decimal places at most."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise CellError(_number_message())
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
        rounded = value.quantize(TWO_PLACES)
        if abs(rounded - value) < Decimal("0.000001"):  # binary noise of a stored float
            value = rounded
    else:
        text = raw.strip() if isinstance(raw, str) else str(raw).strip()
        if not text:
            return None
        value = Decimal(text) if PLAIN_NUMBER_RE.match(text) else _parse_money_text(text)
    if not value.is_finite():
        raise CellError(_number_message())
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise CellError(_("Use at most two decimal places."))
    if abs(value) >= MONEY_LIMIT:
        raise CellError(_("The number is too large."))
    return value


def _parse_money_text(text: str) -> Decimal:
    negative = False
    text = text.replace(" ", "")
    if text[:1] in "-+":
        negative, text = text[0] == "-", text[1:]
    for prefix in ("¥", "￥", "RMB", "CNY", "rmb", "cny"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if text[:1] in "-+" and not negative:
        negative, text = text[0] == "-", text[1:]
    if text.endswith("元"):
        text = text[:-1]
    if GROUPED_NUMBER_RE.match(text):
        text = text.replace(",", "")
    if not PLAIN_NUMBER_RE.match(text) or text.startswith("-"):
        raise CellError(_number_message())
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellError(_number_message()) from None
    return -value if negative else value


def normalize_name(text: str) -> str:
    """Header and choice spelling ignored: case, spaces, underscores, hyphens, a unit in brackets."""
    text = re.sub(r"[(（][^)）]*[)）]", "", text)
    return re.sub(r"[\s_\-*＊:：]+", "", text).casefold()


# Choice values in the glossary's words, besides the keys and the model's labels in both languages.
CHOICE_SYNONYMS: dict[type[models.TextChoices], dict[str, tuple[str, ...]]] = {
    AccountStatus: {
        "prospect": ("潜在客户", "潜在"),
        "active": ("活跃", "合作中", "正常"),
        "dormant": ("休眠", "沉睡"),
        "lost": ("流失", "已流失"),
    },
    ContactLevel: {
        "operational": ("操作层",),
        "managerial": ("管理层",),
        "executive": ("决策层", "executive"),
    },
    BuyingRole: {
        "decision_maker": ("决策者",),
        "influencer": ("影响者",),
        "user": ("使用者", "用户"),
        "gatekeeper": ("把关者",),
        "technical_buyer": ("技术评估者",),
    },
    Attitude: {
        "champion": ("支持者（内线）", "支持者", "内线"),
        "supporter": ("认可者",),
        "neutral": ("中立",),
        "skeptic": ("怀疑者",),
        "blocker": ("反对者",),
    },
}


@lru_cache(maxsize=16)
def _choice_table(choices: type[models.TextChoices], language: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for value, label in choices.choices:
        names = {value, *CHOICE_SYNONYMS.get(choices, {}).get(value, ())}
        for lang in ("en", "zh-hans", language):
            with translation.override(lang):
                names.add(str(label))
        for name in names:
            table.setdefault(normalize_name(name), value)
    return table


def parse_choice(raw: Any, choices: type[models.TextChoices]) -> str | None:
    text = cell_text(raw)
    if not text:
        return None
    value = _choice_table(choices, translation.get_language() or "en").get(normalize_name(text))
    if value is None:
        listed = ", ".join(f"{key} ({label})" for key, label in choices.choices)
        raise CellError(_("“%(value)s” is not one of: %(choices)s.") % {"value": text, "choices": listed})
    return value


def parse_credit_code(raw: Any) -> str:
    code = cell_text(raw).upper().replace(" ", "")
    try:
        validate_credit_code(code)
    except ValidationError as exc:
        raise CellError(" ".join(str(message) for message in exc.messages)) from None
    return code


_email_validator = EmailValidator()


def parse_email(raw: Any) -> str:
    text = parse_text(raw, 254)
    if text:
        try:
            _email_validator(text)
        except ValidationError as exc:
            raise CellError(" ".join(str(message) for message in exc.messages)) from None
    return text


# --- columns ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of an import file. ``zh`` and ``en`` are the documented headers."""

    field: str
    zh: str
    en: str
    label: Promise
    format: Promise
    required: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return f"{self.zh} / {self.en}"

    def names(self) -> tuple[str, ...]:
        return (self.zh, self.en, str(self.label), *self.aliases)


DATE_FORMAT = gettext_lazy("date: 2026-03-31, 2026/3/31, 2026年3月31日 or an Excel date")
MONEY_FORMAT = gettext_lazy("number, two decimals at most; “1,234.50” and a leading ¥ are accepted")
ACCOUNT_REF = gettext_lazy("an account of the workspace: its unified social credit code or its exact name")

ACCOUNT_COLUMNS = (
    Column(
        "name",
        "客户名称",
        "name",
        gettext_lazy("Name"),
        gettext_lazy("text, up to 200 characters"),
        True,
        ("客户", "account name"),
    ),
    Column(
        "legal_name", "法定名称", "legal_name", gettext_lazy("Legal name"), gettext_lazy("text, up to 200 characters")
    ),
    Column(
        "credit_code",
        "统一社会信用代码",
        "credit_code",
        gettext_lazy("Unified social credit code"),
        gettext_lazy("18 characters, check character verified (GB 32100-2015)"),
        aliases=("信用代码", "uscc"),
    ),
    Column("industry", "行业", "industry", gettext_lazy("Industry"), gettext_lazy("text, up to 100 characters")),
    Column(
        "region",
        "地区",
        "region",
        gettext_lazy("Region"),
        gettext_lazy("text, up to 100 characters"),
        aliases=("区域",),
    ),
    Column(
        "parent",
        "上级客户",
        "parent",
        gettext_lazy("Parent"),
        gettext_lazy("an account in this file or in the workspace: its credit code or its exact name"),
        aliases=("上级", "parent account"),
    ),
    Column(
        "owner",
        "负责人",
        "owner",
        gettext_lazy("Owner"),
        gettext_lazy("the e-mail address of an active member of the workspace"),
        aliases=("负责人邮箱", "owner email"),
    ),
    Column(
        "status",
        "状态",
        "status",
        gettext_lazy("Status"),
        gettext_lazy("prospect, active, dormant or lost (or 潜在客户, 活跃, 休眠, 流失); default active"),
    ),
    Column(
        "cooperation_since",
        "合作起始日期",
        "cooperation_since",
        gettext_lazy("Cooperating since"),
        DATE_FORMAT,
        aliases=("合作开始日期",),
    ),
    Column("notes", "备注", "notes", gettext_lazy("Notes"), gettext_lazy("text"), aliases=("note",)),
)

CONTACT_COLUMNS = (
    Column("account", "客户", "account", gettext_lazy("Account"), ACCOUNT_REF, True, ("客户名称",)),
    Column("name", "姓名", "name", gettext_lazy("Name"), gettext_lazy("text, up to 100 characters"), True),
    Column("title", "职务", "title", gettext_lazy("Title"), gettext_lazy("text, up to 100 characters")),
    Column("department", "部门", "department", gettext_lazy("Department"), gettext_lazy("text, up to 100 characters")),
    Column(
        "level",
        "层级",
        "level",
        gettext_lazy("Level"),
        gettext_lazy("operational, managerial or executive (操作层, 管理层, 决策层); default operational"),
    ),
    Column(
        "buying_role",
        "采购角色",
        "buying_role",
        gettext_lazy("Buying role"),
        gettext_lazy(
            "decision_maker, influencer, user, gatekeeper or technical_buyer "
            "(决策者, 影响者, 使用者, 把关者, 技术评估者); default user"
        ),
    ),
    Column(
        "attitude",
        "态度",
        "attitude",
        gettext_lazy("Attitude"),
        gettext_lazy(
            "champion, supporter, neutral, skeptic or blocker (支持者, 认可者, 中立, 怀疑者, 反对者); default neutral"
        ),
    ),
    Column(
        "reports_to",
        "汇报对象",
        "reports_to",
        gettext_lazy("Reports to"),
        gettext_lazy("the name of a contact at the same account, in this file or in the workspace"),
    ),
    Column(
        "email",
        "邮箱",
        "email",
        gettext_lazy("E-mail"),
        gettext_lazy("an e-mail address"),
        aliases=("电子邮箱", "e-mail"),
    ),
    Column(
        "phone", "电话", "phone", gettext_lazy("Phone"), gettext_lazy("text, up to 40 characters"), aliases=("手机",)
    ),
    Column("left_on", "离职日期", "left_on", gettext_lazy("Left the company on"), DATE_FORMAT),
)

ORDER_COLUMNS = (
    Column("account", "客户", "account", gettext_lazy("Account"), ACCOUNT_REF, True, ("客户名称",)),
    Column("order_date", "下单日期", "order_date", gettext_lazy("Order date"), DATE_FORMAT, True, ("日期", "date")),
    Column(
        "amount",
        "金额",
        "amount",
        gettext_lazy("Amount"),
        gettext_lazy("number greater than 0; “1,234.50” and ¥ accepted"),
        True,
    ),
    Column("cost", "成本", "cost", gettext_lazy("Cost"), gettext_lazy("number, 0 or more; “1,234.50” and ¥ accepted")),
    Column(
        "product_line",
        "产品线",
        "product_line",
        gettext_lazy("Product line"),
        gettext_lazy("text, up to 100 characters"),
    ),
    Column(
        "external_ref",
        "外部编号",
        "external_ref",
        gettext_lazy("External reference"),
        gettext_lazy("text, up to 100 characters; unique in the workspace; without it a row always adds an order"),
        aliases=("订单号", "order number"),
    ),
)

INVOICE_COLUMNS = (
    Column("account", "客户", "account", gettext_lazy("Account"), ACCOUNT_REF, True, ("客户名称",)),
    Column(
        "number",
        "发票号",
        "number",
        gettext_lazy("Number"),
        gettext_lazy("text, up to 64 characters; unique in the workspace"),
        True,
        ("发票号码", "invoice number"),
    ),
    Column("issued_on", "开票日期", "issued_on", gettext_lazy("Issued on"), DATE_FORMAT, True),
    Column(
        "due_on",
        "到期日",
        "due_on",
        gettext_lazy("Due on"),
        gettext_lazy("date, not before the issue date"),
        True,
        ("到期日期",),
    ),
    Column(
        "amount",
        "金额",
        "amount",
        gettext_lazy("Amount"),
        gettext_lazy("number greater than 0; “1,234.50” and ¥ accepted"),
        True,
    ),
    Column("paid_on", "付款日期", "paid_on", gettext_lazy("Paid on"), DATE_FORMAT),
    Column("paid_amount", "已付金额", "paid_amount", gettext_lazy("Paid amount"), gettext_lazy("number, 0 or more")),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.ACCOUNTS: ACCOUNT_COLUMNS,
    ImportKind.CONTACTS: CONTACT_COLUMNS,
    ImportKind.ORDERS: ORDER_COLUMNS,
    ImportKind.INVOICES: INVOICE_COLUMNS,
}


@dataclass
class HeaderMap:
    row: int
    positions: dict[str, int]  # field -> cell index
    written: dict[str, str]  # field -> the header as written in the file
    columns: list[dict[str, str]]  # every header cell: {"header", "field"} ("" when not imported)
    cell_indexes: list[int] = field(default_factory=list)  # where each of ``columns`` is in a row


def map_header(kind: str, row: int, cells: Sequence[Any], errors: ErrorLog) -> HeaderMap:
    by_name: dict[str, Column] = {}
    for column in COLUMNS[kind]:
        for name in column.names():
            by_name.setdefault(normalize_name(name), column)
    header = HeaderMap(row=row, positions={}, written={}, columns=[])
    for index, raw in enumerate(cells):
        text = cell_text(raw)
        column = by_name.get(normalize_name(text)) if text else None
        if column is not None and column.field in header.positions:
            errors.add(
                row,
                text,
                _("This column means the same as “%(other)s”; keep one of them.")
                % {"other": header.written[column.field]},
            )
            column = None
        if column is not None:
            header.positions[column.field] = index
            header.written[column.field] = text
        if text:
            header.columns.append({"header": text, "field": column.field if column else ""})
            header.cell_indexes.append(index)
    for column in COLUMNS[kind]:
        if column.required and column.field not in header.positions:
            errors.add(row, "", _("The required column “%(column)s” is missing.") % {"column": column.display})
    return header


# --- lookups -------------------------------------------------------------------------------------

AMBIGUOUS = -1  # a name that several records carry


def normalize_code(text: str) -> str:
    return text.upper().replace(" ", "")


class AccountIndex:
    """The tenant's accounts by credit code and by name, loaded once per import."""

    def __init__(self, tenant: Tenant) -> None:
        self.by_code: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.parent_of: dict[int, int | None] = {}
        self.name_of: dict[int, str] = {}
        self.code_of: dict[int, str] = {}
        rows = Account.objects.for_tenant(tenant).values_list("id", "name", "credit_code", "parent_id")
        for pk, name, code, parent_id in rows.iterator(chunk_size=5000):
            if code:
                self.by_code[code] = pk
            self.by_name[name] = AMBIGUOUS if name in self.by_name else pk
            self.parent_of[pk] = parent_id
            self.name_of[pk] = name
            self.code_of[pk] = code

    def find(self, text: str) -> int | None:
        """An account id, AMBIGUOUS, or None: a credit code first, then the exact name."""
        if len(text) >= 18:
            pk = self.by_code.get(normalize_code(text))
            if pk is not None:
                return pk
        return self.by_name.get(text)


def _writable_ids(tenant: Tenant, membership: Membership | None) -> set[int] | None:
    """None when every account may be written (admin, director, API token, command)."""
    if membership is None or membership.role in WRITE_ALL:
        return None
    return set(writable_accounts(tenant, membership).values_list("id", flat=True))


# --- importers ---------------------------------------------------------------------------------

INVALID = object()


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Importer:
    kind: str = ""
    model: type[models.Model]

    def __init__(
        self,
        tenant: Tenant,
        *,
        header: HeaderMap,
        errors: ErrorLog,
        membership: Membership | None,
    ) -> None:
        self.tenant = tenant
        self.header = header
        self.errors = errors
        self.membership = membership
        self.writable = _writable_ids(tenant, membership)
        self.accounts = AccountIndex(tenant)
        # Account cells already resolved (and writable): the fast path of orders looks here first.
        self.known_accounts: dict[str, int] = {}

    # One cell: its raw value, parsed; an error is recorded and INVALID returned.
    def cell(
        self, row: int, cells: Sequence[Any], name: str, parse: Callable[..., Any], *args: Any, required: bool = False
    ) -> Any:
        index = self.header.positions.get(name)
        raw = cells[index] if index is not None and index < len(cells) else None
        try:
            value = parse(raw, *args)
        except CellError as exc:
            self.errors.add(row, self.header.written[name], exc.message)
            return INVALID
        if required and (value is None or value == ""):
            self.errors.add(row, self.header.written[name], _("This value is required."))
            return INVALID
        return value

    def has(self, name: str) -> bool:
        return name in self.header.positions

    def error(self, row: int, name: str, message: str) -> None:
        self.errors.add(row, self.header.written.get(name, ""), message)

    def account_of(self, row: int, cells: Sequence[Any]) -> int | None:
        """The account a contact, order or invoice row names, or None after recording why not."""
        text = self.cell(row, cells, "account", parse_text, 200, required=True)
        if text is INVALID:
            return None
        pk = self.accounts.find(text)
        if pk is None:
            self.error(
                row,
                "account",
                _("No account “%(value)s” in this workspace (looked up by unified social credit code and by name).")
                % {"value": text},
            )
            return None
        if pk == AMBIGUOUS:
            self.error(
                row,
                "account",
                _("Several accounts are called “%(value)s”; use the unified social credit code instead.")
                % {"value": text},
            )
            return None
        if self.writable is not None and pk not in self.writable:
            self.error(row, "account", _("You may not write this account."))
            return None
        self.known_accounts[text] = pk
        return pk

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        raise NotImplementedError

    def check(self) -> None:
        """Checks across rows, once every row was read (may use the database, never writes to it)."""

    def write(self) -> Counts:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _path_names(names: Sequence[str]) -> str:
    return " → ".join(names)


# --- accounts and contacts: a graph in memory -----------------------------------------------------


@dataclass
class GraphRow:
    row: int
    values: dict[str, Any]  # the fields given (empty cells left out)
    key: str = ""  # credit code or name (accounts); name (contacts)
    account_id: int | None = None  # contacts
    target: int | None = None  # the existing record it updates
    ref_text: str = ""  # parent (accounts) or reports_to (contacts) as written
    ref_node: int | None = None  # resolved: an existing id, or -(index + 1) for a row of this file


class AccountImporter(Importer):
    kind = ImportKind.ACCOUNTS
    model = Account

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items: list[GraphRow] = []
        members = Membership.objects.filter(tenant=self.tenant, is_active=True, user__is_active=True)
        self.members = {email.lower(): pk for email, pk in members.values_list("user__email", "user_id")}

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        values: dict[str, Any] = {}
        name = self.cell(row, cells, "name", parse_text, 200, required=True)
        values["name"] = name
        for field_name, limit in (("legal_name", 200), ("industry", 100), ("region", 100), ("notes", None)):
            if self.has(field_name):
                values[field_name] = self.cell(row, cells, field_name, parse_text, limit)
        if self.has("credit_code"):
            values["credit_code"] = self.cell(row, cells, "credit_code", parse_credit_code)
        if self.has("status"):
            values["status"] = self.cell(row, cells, "status", parse_choice, AccountStatus)
        if self.has("cooperation_since"):
            values["cooperation_since"] = self.cell(row, cells, "cooperation_since", parse_date)
        if self.has("owner"):
            email = self.cell(row, cells, "owner", parse_text, 254)
            if email not in (INVALID, ""):
                owner_id = self.members.get(email.lower())
                if owner_id is None:
                    self.error(
                        row,
                        "owner",
                        _("No active member of this workspace has the e-mail address “%(value)s”.") % {"value": email},
                    )
                values["owner_id"] = owner_id
        parent = self.cell(row, cells, "parent", parse_text, 200) if self.has("parent") else ""
        item = GraphRow(
            row=row,
            values={key: value for key, value in values.items() if value not in (None, "", INVALID)},
            ref_text="" if parent is INVALID else parent,
        )
        item.key = item.values.get("credit_code") or item.values.get("name", "")
        self.items.append(item)

    def check(self) -> None:
        self._find_duplicates_and_targets()
        self._resolve_parents()
        self._find_cycles()

    def _find_duplicates_and_targets(self) -> None:
        seen_code: dict[str, int] = {}
        seen_name: dict[str, int] = {}
        seen_target: dict[int, int] = {}
        for item in self.items:
            if "name" not in item.values:
                continue
            code, name = item.values.get("credit_code", ""), item.values["name"]
            if code:
                if code in seen_code:
                    self.error(
                        item.row,
                        "credit_code",
                        _("The unified social credit code %(value)s appears already in row %(row)s.")
                        % {"value": code, "row": seen_code[code]},
                    )
                    continue
                seen_code[code] = item.row
                target = self.accounts.by_code.get(code)
                if target is None:
                    # A known account without a code yet gets it: matched by its exact name.
                    by_name = self.accounts.by_name.get(name)
                    if by_name not in (None, AMBIGUOUS) and not self.accounts.code_of[by_name]:
                        target = by_name
            else:
                if name in seen_name:
                    self.error(
                        item.row,
                        "name",
                        _("The account “%(value)s” appears already in row %(row)s.")
                        % {"value": name, "row": seen_name[name]},
                    )
                    continue
                seen_name[name] = item.row
                target = self.accounts.by_name.get(name)
                if target == AMBIGUOUS:
                    self.error(
                        item.row,
                        "name",
                        _("Several accounts are called “%(value)s”; add the unified social credit code to choose one.")
                        % {"value": name},
                    )
                    continue
            if target is not None:
                if target in seen_target:
                    self.error(
                        item.row,
                        "name",
                        _("This row and row %(row)s would both update the account “%(value)s”.")
                        % {"row": seen_target[target], "value": self.accounts.name_of[target]},
                    )
                    continue
                seen_target[target] = item.row
                if self.writable is not None and target not in self.writable:
                    self.error(item.row, "name", _("You may not write this account."))
                    continue
            item.target = target

    def node(self, index: int) -> int:
        item = self.items[index]
        return item.target if item.target is not None else -(index + 1)

    def _resolve_parents(self) -> None:
        in_file_code: dict[str, int] = {}
        in_file_name: dict[str, int] = {}
        for index, item in enumerate(self.items):
            if "credit_code" in item.values:
                in_file_code[item.values["credit_code"]] = index
            if "name" in item.values:
                name = item.values["name"]
                in_file_name[name] = AMBIGUOUS if name in in_file_name else index
        for index, item in enumerate(self.items):
            text = item.ref_text
            if not text:
                continue
            found = in_file_code.get(normalize_code(text)) if len(text) >= 18 else None
            if found is None:
                found = in_file_name.get(text)
            if found == AMBIGUOUS:
                self.error(
                    item.row,
                    "parent",
                    _("Several rows of this file are called “%(value)s”; use the unified social credit code.")
                    % {"value": text},
                )
                continue
            if found is not None:
                item.ref_node = self.node(found)
            else:
                existing = self.accounts.find(text)
                if existing == AMBIGUOUS:
                    self.error(
                        item.row,
                        "parent",
                        _("Several accounts are called “%(value)s”; use the unified social credit code instead.")
                        % {"value": text},
                    )
                    continue
                if existing is None:
                    self.error(
                        item.row,
                        "parent",
                        _("No account “%(value)s” in this file or in this workspace.") % {"value": text},
                    )
                    continue
                item.ref_node = existing
            if item.ref_node == self.node(index):
                self.error(item.row, "parent", _("An account cannot be its own parent."))
                item.ref_node = None

    def _find_cycles(self) -> None:
        parent_of: dict[int, int | None] = dict(self.accounts.parent_of)
        names: dict[int, str] = dict(self.accounts.name_of)
        for index, item in enumerate(self.items):
            node = self.node(index)
            names[node] = item.values.get("name") or names.get(node, "?")
            if item.ref_node is not None:
                parent_of[node] = item.ref_node
            elif node < 0:
                parent_of[node] = None
        _report_cycles(
            self, parent_of, names, "parent", _("This parent would make a cycle in the group hierarchy: %(path)s.")
        )

    def write(self) -> Counts:
        counts = Counts()
        now = timezone.now()
        existing = Account.objects.in_bulk([item.target for item in self.items if item.target is not None])
        created: dict[int, Account] = {}
        to_create: list[tuple[int, Account]] = []
        changed: dict[int, Account] = {}
        fields: set[str] = set()
        default_owner = self.membership.user_id if self.membership and self.membership.role == Role.MANAGER else None
        for index, item in enumerate(self.items):
            if item.target is None:
                data = {"owner_id": default_owner, **item.values}
                to_create.append((index, Account(tenant=self.tenant, **data)))
                continue
            account = existing[item.target]
            for name, value in item.values.items():
                if getattr(account, name) != value:
                    setattr(account, name, value)
                    fields.add(name)
                    changed[index] = account
        Account.objects.bulk_create([account for _index, account in to_create], batch_size=1000)
        created = dict(to_create)
        if fields:
            for account in changed.values():
                account.updated_at = now
            Account.objects.bulk_update(list(changed.values()), [*sorted(fields), "updated_at"], batch_size=500)

        # Parents last, once every account has an id. Clearing the parents that change first,
        # then setting the new ones, never shows the database trigger an intermediate cycle.
        def pk_of(node: int) -> int:
            return node if node > 0 else created[-node - 1].pk

        moving: list[tuple[int, Account, int]] = []
        for index, item in enumerate(self.items):
            if item.ref_node is None:
                continue
            account = created.get(index) or existing[item.target]  # type: ignore[index]
            parent_id = pk_of(item.ref_node)
            if account.parent_id != parent_id:
                moving.append((index, account, parent_id))
        clearing = [account for _index, account, _parent in moving if account.parent_id is not None]
        for account in clearing:
            account.parent_id = None
        Account.objects.bulk_update(clearing, ["parent"], batch_size=500)
        for index, account, parent_id in moving:
            account.parent_id = parent_id
            account.updated_at = now
            if index not in created:
                changed[index] = account
        Account.objects.bulk_update([account for _i, account, _p in moving], ["parent", "updated_at"], batch_size=500)
        # An account form opened before the import must notice it (the version check of
        # accounts.services), not write the import's changes back over.
        Account.objects.filter(pk__in=[account.pk for account in changed.values()]).update(version=F("version") + 1)

        counts.created = len(created)
        counts.updated = len(changed)
        counts.unchanged = len(self.items) - counts.created - counts.updated
        return counts


class ContactImporter(Importer):
    kind = ImportKind.CONTACTS
    model = Contact

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items: list[GraphRow] = []

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        account_id = self.account_of(row, cells)
        values: dict[str, Any] = {"name": self.cell(row, cells, "name", parse_text, 100, required=True)}
        for field_name, limit in (("title", 100), ("department", 100), ("phone", 40)):
            if self.has(field_name):
                values[field_name] = self.cell(row, cells, field_name, parse_text, limit)
        for field_name, choices in (("level", ContactLevel), ("buying_role", BuyingRole), ("attitude", Attitude)):
            if self.has(field_name):
                values[field_name] = self.cell(row, cells, field_name, parse_choice, choices)
        if self.has("email"):
            values["email"] = self.cell(row, cells, "email", parse_email)
        if self.has("left_on"):
            values["left_on"] = self.cell(row, cells, "left_on", parse_date)
        boss = self.cell(row, cells, "reports_to", parse_text, 100) if self.has("reports_to") else ""
        item = GraphRow(
            row=row,
            values={key: value for key, value in values.items() if value not in (None, "", INVALID)},
            account_id=account_id,
            ref_text="" if boss is INVALID else boss,
        )
        item.key = item.values.get("name", "")
        self.items.append(item)

    def check(self) -> None:
        account_ids = {item.account_id for item in self.items if item.account_id is not None}
        existing: dict[tuple[int, str], int] = {}
        self.boss_of: dict[int, int | None] = {}
        self.names: dict[int, str] = {}
        rows = Contact.objects.filter(account_id__in=account_ids).values_list(
            "id", "account_id", "name", "reports_to_id"
        )
        for pk, account_id, name, boss_id in rows.iterator(chunk_size=5000):
            key = (account_id, name)
            existing[key] = AMBIGUOUS if key in existing else pk
            self.boss_of[pk] = boss_id
            self.names[pk] = name
        in_file: dict[tuple[int, str], int] = {}
        for index, item in enumerate(self.items):
            if item.account_id is None or not item.key:
                continue
            key = (item.account_id, item.key)
            if key in in_file:
                self.error(
                    item.row,
                    "name",
                    _("The contact “%(value)s” at this account appears already in row %(row)s.")
                    % {"value": item.key, "row": self.items[in_file[key]].row},
                )
                continue
            in_file[key] = index
            target = existing.get(key)
            if target == AMBIGUOUS:
                self.error(
                    item.row,
                    "name",
                    _("Several contacts at this account are called “%(value)s”.") % {"value": item.key},
                )
                continue
            item.target = target
        for index, item in enumerate(self.items):
            if not item.ref_text or item.account_id is None:
                continue
            key = (item.account_id, item.ref_text)
            if key in in_file:
                item.ref_node = self.node(in_file[key])
            elif existing.get(key) not in (None, AMBIGUOUS):
                item.ref_node = existing[key]
            else:
                message = (
                    _("Several contacts at this account are called “%(value)s”.")
                    if existing.get(key) == AMBIGUOUS
                    else _("No contact “%(value)s” at this account, in this file or in this workspace.")
                )
                self.error(item.row, "reports_to", message % {"value": item.ref_text})
                continue
            if item.ref_node == self.node(index):
                self.error(item.row, "reports_to", _("A contact cannot report to themselves."))
                item.ref_node = None
        self._find_cycles()

    def node(self, index: int) -> int:
        item = self.items[index]
        return item.target if item.target is not None else -(index + 1)

    def _find_cycles(self) -> None:
        boss_of: dict[int, int | None] = dict(self.boss_of)
        names: dict[int, str] = dict(self.names)
        for index, item in enumerate(self.items):
            node = self.node(index)
            names[node] = item.key or names.get(node, "?")
            if item.ref_node is not None:
                boss_of[node] = item.ref_node
            elif node < 0:
                boss_of[node] = None
        _report_cycles(self, boss_of, names, "reports_to", _("This would make a loop in the org chart: %(path)s."))

    def write(self) -> Counts:
        now = timezone.now()
        existing = Contact.objects.in_bulk([item.target for item in self.items if item.target is not None])
        to_create: list[tuple[int, Contact]] = []
        changed: dict[int, Contact] = {}
        fields: set[str] = set()
        for index, item in enumerate(self.items):
            if item.target is None:
                to_create.append((index, Contact(tenant=self.tenant, account_id=item.account_id, **item.values)))
                continue
            contact = existing[item.target]
            for name, value in item.values.items():
                if getattr(contact, name) != value:
                    setattr(contact, name, value)
                    fields.add(name)
                    changed[index] = contact
        Contact.objects.bulk_create([contact for _index, contact in to_create], batch_size=1000)
        created = dict(to_create)
        if fields:
            for contact in changed.values():
                contact.updated_at = now
            Contact.objects.bulk_update(list(changed.values()), [*sorted(fields), "updated_at"], batch_size=500)
        moving: list[Contact] = []
        for index, item in enumerate(self.items):
            if item.ref_node is None:
                continue
            contact = created.get(index) or existing[item.target]  # type: ignore[index]
            boss_id = item.ref_node if item.ref_node > 0 else created[-item.ref_node - 1].pk
            if contact.reports_to_id != boss_id:
                contact.reports_to_id = boss_id
                contact.updated_at = now
                moving.append(contact)
                if index not in created:
                    changed[index] = contact
        Contact.objects.bulk_update(moving, ["reports_to", "updated_at"], batch_size=500)
        counts = Counts(created=len(created), updated=len(changed))
        counts.unchanged = len(self.items) - counts.created - counts.updated
        return counts


# --- orders and invoices: streamed through COPY into a staging table --------------------------------

STAGE_TABLE = "kam_import_stage"


class StagedImporter(Importer):
    """Valid rows go to a temporary CSV file as they are read; the database does the rest."""

    stage_ddl: str = ""
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
        raise NotImplementedError

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
            cursor.execute(self.upsert_sql(), {"tenant": self.tenant.pk})
            created, updated = cursor.fetchone()
            cursor.execute(f"DROP TABLE {STAGE_TABLE}")
        return Counts(created=created, updated=updated, unchanged=staged - created - updated)

    def close(self) -> None:
        self.buffer.close()


class OrderImporter(StagedImporter):
    kind = ImportKind.ORDERS
    model = Order
    key_field = "external_ref"
    stage_ddl = (
        "row_no integer NOT NULL, account_id bigint, order_date date, amount numeric(16, 2),"
        " cost numeric(16, 2), product_line text, external_ref text"
    )

    @staticmethod
    def duplicate_message() -> str:
        return _("The external reference %(value)s appears already in row %(row)s.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        positions = self.header.positions
        self.fast_positions = tuple(
            positions.get(name, -1)
            for name in ("account", "order_date", "amount", "cost", "product_line", "external_ref")
        )

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        fast = self.fast_row(cells)
        if fast is not None:
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
        account, order_date, amount, cost, product_line, external_ref = values
        account_id = self.known_accounts.get(account)
        if account_id is None or len(order_date) != 10 or order_date[4] != "-" or order_date[7] != "-":
            return None
        try:
            dt.date.fromisoformat(order_date)
        except ValueError:
            return None
        if not FAST_AMOUNT_RE.match(amount) or not amount.strip("0.") or (cost and not FAST_AMOUNT_RE.match(cost)):
            return None
        if len(product_line) > 100 or len(external_ref) > 100:
            return None
        return account_id, order_date, amount, cost or None, product_line, external_ref

    def checked_row(self, row: int, cells: Sequence[Any]) -> None:
        account_id = self.account_of(row, cells)
        order_date = self.cell(row, cells, "order_date", parse_date, required=True)
        amount = self.cell(row, cells, "amount", parse_money, required=True)
        if amount is not INVALID and amount <= 0:
            self.error(row, "amount", _("The amount must be greater than zero."))
        cost = self.cell(row, cells, "cost", parse_money)
        if cost not in (None, INVALID) and cost < 0:
            self.error(row, "cost", _("The cost cannot be negative."))
        product_line = self.cell(row, cells, "product_line", parse_text, 100)
        external_ref = self.cell(row, cells, "external_ref", parse_text, 100)
        # Every row is staged, so that duplicates are found among rows with other errors too;
        # the upsert runs only when no row has an error at all.
        self.stage(row, account_id, order_date, amount, cost, product_line, external_ref)

    def upsert_sql(self) -> str:
        # An existing external_ref is updated only when a value differs (else: unchanged);
        # blank cost and product line keep what is stored. xmax = 0 marks an inserted row.
        return f"""
            WITH upserted AS (
                INSERT INTO accounts_order AS o
                    (tenant_id, account_id, order_date, amount, cost, product_line, external_ref, created_at)
                SELECT %(tenant)s, a.id, s.order_date, s.amount, s.cost,
                       coalesce(s.product_line, ''), coalesce(s.external_ref, ''), now()
                FROM {STAGE_TABLE} s JOIN accounts_account a ON a.id = s.account_id AND a.tenant_id = %(tenant)s
                ON CONFLICT (tenant_id, external_ref) WHERE external_ref <> '' DO UPDATE SET
                    account_id = EXCLUDED.account_id,
                    order_date = EXCLUDED.order_date,
                    amount = EXCLUDED.amount,
                    cost = coalesce(EXCLUDED.cost, o.cost),
                    product_line = coalesce(nullif(EXCLUDED.product_line, ''), o.product_line)
                WHERE (o.account_id, o.order_date, o.amount, o.cost, o.product_line) IS DISTINCT FROM
                      (EXCLUDED.account_id, EXCLUDED.order_date, EXCLUDED.amount,
                       coalesce(EXCLUDED.cost, o.cost), coalesce(nullif(EXCLUDED.product_line, ''), o.product_line))
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
        """


class InvoiceImporter(StagedImporter):
    kind = ImportKind.INVOICES
    model = Invoice
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
        amount = self.cell(row, cells, "amount", parse_money, required=True)
        if amount is not INVALID and amount <= 0:
            self.error(row, "amount", _("The amount must be greater than zero."))
        paid_on = self.cell(row, cells, "paid_on", parse_date)
        paid_amount = self.cell(row, cells, "paid_amount", parse_money)
        if paid_amount not in (None, INVALID) and paid_amount < 0:
            self.error(row, "paid_amount", _("The paid amount cannot be negative."))
        self.stage(row, account_id, number, issued_on, due_on, amount, paid_on, paid_amount)

    def upsert_sql(self) -> str:
        return f"""
            WITH upserted AS (
                INSERT INTO accounts_invoice AS i
                    (tenant_id, account_id, number, issued_on, due_on, amount, paid_on, paid_amount,
                     created_at, updated_at)
                SELECT %(tenant)s, a.id, s.number, s.issued_on, s.due_on, s.amount, s.paid_on, s.paid_amount,
                       now(), now()
                FROM {STAGE_TABLE} s JOIN accounts_account a ON a.id = s.account_id AND a.tenant_id = %(tenant)s
                ON CONFLICT (tenant_id, number) DO UPDATE SET
                    account_id = EXCLUDED.account_id,
                    issued_on = EXCLUDED.issued_on,
                    due_on = EXCLUDED.due_on,
                    amount = EXCLUDED.amount,
                    paid_on = coalesce(EXCLUDED.paid_on, i.paid_on),
                    paid_amount = coalesce(EXCLUDED.paid_amount, i.paid_amount),
                    updated_at = now()
                WHERE (i.account_id, i.issued_on, i.due_on, i.amount, i.paid_on, i.paid_amount) IS DISTINCT FROM
                      (EXCLUDED.account_id, EXCLUDED.issued_on, EXCLUDED.due_on, EXCLUDED.amount,
                       coalesce(EXCLUDED.paid_on, i.paid_on), coalesce(EXCLUDED.paid_amount, i.paid_amount))
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
        """


IMPORTERS: dict[str, type[Importer]] = {
    ImportKind.ACCOUNTS: AccountImporter,
    ImportKind.CONTACTS: ContactImporter,
    ImportKind.ORDERS: OrderImporter,
    ImportKind.INVOICES: InvoiceImporter,
}


# --- progress --------------------------------------------------------------------------------------


class Progress:
    """Where an import reports how far it got. This one reports nowhere (requests, commands)."""

    def begin(self, *, status: str, total: int) -> None:
        pass

    def checked(self, rows: int, total: int) -> None:
        pass

    def writing(self, total: int) -> None:
        pass

    def close(self) -> None:
        pass


class JobProgress(Progress):
    """Progress written to the ImportJob through a database connection of its own.

    The import runs in one transaction (the task's tenant context), so what it writes is
    invisible until the end; this connection commits each report at once, so the page
    sees it while the import runs. The import's own transaction never updates the job row
    before it finishes, so the two never wait on each other; a lock timeout guards anyway.
    Best effort: a report that fails is logged and skipped.
    """

    INTERVAL = 0.5  # seconds between two reports

    def __init__(self, job: ImportJob) -> None:
        self.job_id = job.pk
        self.tenant_id = job.tenant_id
        self._raw: Any = None
        self._last = 0.0

    def begin(self, *, status: str, total: int) -> None:
        self._update(status=status, total_rows=total, processed_rows=0, started_at=timezone.now())

    def checked(self, rows: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= self.INTERVAL:
            self._last = now
            self._update(processed_rows=rows, total_rows=max(total, rows))

    def writing(self, total: int) -> None:
        self._update(status=ImportStatus.IMPORTING, processed_rows=total, total_rows=total)

    def _update(self, **values: Any) -> None:
        try:
            if self._raw is None:
                self._raw = connection.get_new_connection(connection.get_connection_params())
                self._raw.autocommit = False
            with self._raw.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('app.tenant_id', %s, true), set_config('lock_timeout', '2s', true)",
                    [str(self.tenant_id)],
                )
                assignments = ", ".join(f"{name} = %s" for name in values)
                cursor.execute(
                    f"UPDATE accounts_importjob SET {assignments} WHERE id = %s AND tenant_id = %s",
                    [*values.values(), self.job_id, self.tenant_id],
                )
            self._raw.commit()
        except Exception:  # progress is a courtesy; the import goes on without it
            logger.warning("import job %s: progress not reported", self.job_id, exc_info=True)
            self.close()

    def close(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._raw.close()
            self._raw = None


# --- the import ----------------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    kind: str
    encoding: str = ""
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    preview: dict[str, Any] | None = None
    written: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_count == 0


class ImportBusy(Exception):
    """Another import of the same kind holds the tenant's lock (only when not waiting for it)."""


class _HeaderRejected(Exception):
    """The header is wrong: no row is read."""


def _acquire_kind_lock(tenant: Tenant, kind: str, *, wait: bool) -> bool:
    """One import per tenant and kind at a time (DESIGN section 7), until the transaction ends."""
    return advisory_xact_lock(tenant, f"import:{kind}", wait=wait)


def import_file(
    tenant: Tenant,
    *,
    kind: str,
    path: str | Path,
    file_name: str = "",
    membership: Membership | None = None,
    actor: Any = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    wait_for_lock: bool = True,
) -> ImportOutcome:
    """Check the whole file, then (unless ``dry_run`` or a row is wrong) write it in one transaction.

    ``membership`` limits a manager to the accounts they may write; None (API token, command)
    writes anything in the tenant. Runs in the tenant's context (a savepoint when the caller's
    transaction is open), so row-level security applies to every statement. With
    ``wait_for_lock=False``, raises ImportBusy when another import of the kind is running.
    """
    if kind not in COLUMNS:
        raise ValueError(f"unknown import kind {kind!r}")
    progress = progress or Progress()
    outcome = ImportOutcome(kind=kind)
    errors = ErrorLog()
    started = time.perf_counter()
    importer: Importer | None = None
    with tenant_context(tenant, actor=actor):
        try:
            if not dry_run and not _acquire_kind_lock(tenant, kind, wait=wait_for_lock):
                raise ImportBusy
            source = _inspect(path, file_name)
            outcome.encoding = source.encoding
            progress.begin(
                status=ImportStatus.VALIDATING if dry_run else ImportStatus.IMPORTING, total=source.estimated_rows
            )
            records = iter_records(source)
            first = next(((number, cells) for number, cells in records if not is_blank(cells)), None)
            if first is None:
                raise ImportFileError(_("The file is empty."))
            header = map_header(kind, first[0], first[1], errors)
            outcome.preview = {"columns": header.columns, "rows": []}
            if errors.count:
                raise _HeaderRejected
            importer = IMPORTERS[kind](tenant, header=header, errors=errors, membership=membership)
            outcome.total_rows = _read_rows(importer, records, outcome.preview["rows"], progress, source)
            if outcome.total_rows == 0:
                raise ImportFileError(_("The file has no data rows, only a header."))
            outcome.seconds["read_and_check_rows"] = time.perf_counter() - started
            try:
                with transaction.atomic():  # nothing of it stays unless every row is valid
                    importer.check()
                    outcome.seconds["check_file"] = time.perf_counter() - started
                    if errors.count or dry_run:
                        transaction.set_rollback(True)
                    else:
                        progress.writing(outcome.total_rows)
                        counts = importer.write()
                        outcome.created, outcome.updated, outcome.unchanged = (
                            counts.created,
                            counts.updated,
                            counts.unchanged,
                        )
                        if counts.created or counts.updated:
                            _audit(tenant, kind, file_name or Path(path).name, counts, actor)
                        outcome.written = True
            except DatabaseError as exc:  # the savepoint rolled everything back
                logger.info("import refused by the database: %s", exc)
                errors.add(None, "", _database_message(exc))
            outcome.seconds["total"] = time.perf_counter() - started
        except _HeaderRejected:
            pass
        except ImportFileError as exc:
            errors.add(exc.row, exc.column, exc.message)
        finally:
            if importer is not None:
                importer.close()
    outcome.errors = errors.as_json()
    outcome.error_count = errors.count
    if outcome.error_count:
        outcome.created = outcome.updated = outcome.unchanged = 0
        outcome.written = False
    return outcome


def _inspect(path: str | Path, file_name: str) -> SourceFile:
    try:
        return inspect_file(path, file_name)
    except FileNotFoundError:
        raise ImportFileError(_("The uploaded file is no longer available; upload it again.")) from None


def _read_rows(
    importer: Importer,
    records: Iterator[tuple[int, list[Any]]],
    preview_rows: list[dict[str, Any]],
    progress: Progress,
    source: SourceFile,
) -> int:
    rows = 0
    positions = importer.header.cell_indexes
    add_row = importer.add_row
    for number, cells in records:
        if is_blank(cells):
            continue
        rows += 1
        if len(preview_rows) < PREVIEW_ROWS:
            preview_rows.append({"row": number, "cells": _preview_cells(cells, positions)})
        add_row(number, cells)
        if rows % 1000 == 0:
            progress.checked(rows, source.estimated_rows)
    progress.checked(rows, rows)
    return rows


def _preview_cells(cells: Sequence[Any], positions: list[int]) -> list[str]:
    texts = []
    for index in positions:
        text = cell_text(cells[index] if index < len(cells) else None)
        texts.append(text if len(text) <= 80 else text[:79] + "…")
    return texts


def _database_message(exc: Exception) -> str:
    if "cycle" in str(exc):
        return _("The import would make a cycle in the group hierarchy, so nothing was written.")
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    return _("The database refused the import (rule %(rule)s), so nothing was written.") % {
        "rule": constraint or type(exc).__name__
    }


def _audit(tenant: Tenant, kind: str, file_name: str, counts: Counts, actor: Any) -> None:
    audit.record_bulk(
        tenant=tenant,
        action=AuditAction.CREATE if counts.created else AuditAction.UPDATE,
        model=IMPORTERS[kind].model,
        summary=_("Import %(file)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged")
        % {"file": file_name, "created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged},
        changes={
            "file": [None, file_name],
            "created": [None, counts.created],
            "updated": [None, counts.updated],
            "unchanged": [None, counts.unchanged],
        },
        actor=actor,
    )


# --- import jobs: what the page, the API, the task and the command share -----------------------------


def too_large_message(size: int) -> str:
    return _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.") % {
        "size": f"{size / 1024 / 1024:.1f}",
        "limit": MAX_UPLOAD_BYTES // (1024 * 1024),
    }


def import_dir(tenant: Tenant) -> Path:
    folder = IMPORT_ROOT / str(tenant.pk)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def import_job_create(tenant: Tenant, *, kind: str, upload: UploadedFile, user: User | None = None) -> ImportJob:
    """Save the uploaded file where the worker can read it and record the job (pending)."""
    if kind not in COLUMNS:
        raise ValidationError({"kind": _("Choose what the file contains.")})
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": too_large_message(upload.size)})
    file_name = Path(upload.name or "upload.csv").name[:255]
    suffix = Path(file_name).suffix.lower()
    target = import_dir(tenant) / f"{uuid.uuid4().hex}{suffix if suffix in ('.csv', '.txt', '.xlsx') else ''}"
    try:
        written = 0
        with open(target, "wb") as out:
            for chunk in upload.chunks():
                written += len(chunk)
                if written > MAX_UPLOAD_BYTES:
                    raise ValidationError({"file": too_large_message(written)})
                out.write(chunk)
        with tenant_context(tenant):
            return ImportJob.objects.create(
                tenant=tenant,
                kind=kind,
                file_name=file_name,
                file_path=str(target),
                created_by=user if isinstance(user, User) else None,
            )
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def import_job_is_ready(job: ImportJob) -> bool:
    """Checked without errors and waiting for the user to confirm."""
    return job.status == ImportStatus.PENDING and job.total_rows > 0 and not job.errors and bool(job.file_path)


def import_job_estimated_rows(job: ImportJob) -> int:
    try:
        return inspect_file(job.file_path, job.file_name).estimated_rows
    except (ImportFileError, OSError):
        return 0  # small enough: the check in the request says what is wrong


def import_job_process(
    tenant: Tenant,
    job: ImportJob,
    *,
    dry_run: bool,
    membership: Membership | None = None,
    actor: Any = None,
    progress: Progress | None = None,
    wait_for_lock: bool = True,
) -> ImportOutcome:
    """Check (``dry_run``) or import the job's file, and record the outcome on the job."""
    outcome = import_file(
        tenant,
        kind=job.kind,
        path=job.file_path,
        file_name=job.file_name,
        membership=membership,
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        wait_for_lock=wait_for_lock,
    )
    record_outcome(tenant, job, outcome, dry_run=dry_run)
    return outcome


def record_outcome(tenant: Tenant, job: ImportJob, outcome: ImportOutcome, *, dry_run: bool) -> None:
    now = timezone.now()
    job.encoding = outcome.encoding[:20]
    job.total_rows = job.processed_rows = outcome.total_rows
    job.created_count, job.updated_count, job.unchanged_count = outcome.created, outcome.updated, outcome.unchanged
    job.errors = outcome.errors
    if outcome.error_count:
        job.status = ImportStatus.FAILED
    else:
        job.status = ImportStatus.PENDING if dry_run else ImportStatus.DONE
    job.started_at = job.started_at or now
    if job.status in TERMINAL_STATUSES:
        job.finished_at = now
    with tenant_context(tenant):
        job.save(
            update_fields=[
                "encoding",
                "total_rows",
                "processed_rows",
                "created_count",
                "updated_count",
                "unchanged_count",
                "errors",
                "status",
                "started_at",
                "finished_at",
            ]
        )
    if outcome.preview is not None:
        cache.set(_preview_key(job), outcome.preview, PREVIEW_TTL)
    if job.status in TERMINAL_STATUSES and job.file_path:
        path = job.file_path
        transaction.on_commit(lambda: Path(path).unlink(missing_ok=True))


def _fail(tenant: Tenant, job: ImportJob, message: str) -> None:
    outcome = ImportOutcome(kind=job.kind, errors=[{"row": None, "column": "", "message": message}], error_count=1)
    record_outcome(tenant, job, outcome, dry_run=False)


def _preview_key(job: ImportJob) -> str:
    return f"import-preview:{job.tenant_id}:{job.pk}"


def import_job_preview(job: ImportJob) -> dict[str, Any] | None:
    return cache.get(_preview_key(job))


def import_job_claim(tenant: Tenant, job: ImportJob) -> bool:
    """pending (checked) -> importing, for one request only (a conditional UPDATE)."""
    with tenant_context(tenant):
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING, total_rows__gt=0, errors=[]).update(
            status=ImportStatus.IMPORTING
        )
    if claimed:
        job.status = ImportStatus.IMPORTING
    return bool(claimed)


def import_job_release(tenant: Tenant, job: ImportJob) -> None:
    """Back to pending after a claim that could not run (another import held the lock)."""
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.IMPORTING).update(status=ImportStatus.PENDING)
    job.status = ImportStatus.PENDING


def import_job_queue(
    tenant: Tenant, job: ImportJob, *, dry_run: bool, user: User | None = None, token: ApiToken | None = None
) -> None:
    """Run the job in a Celery task once the current transaction commits."""
    from accounts.tasks import run_import_job
    from kam.tasks import queue_on_commit

    # The run starts afresh (a confirmed import checks every row again before writing).
    job.status = ImportStatus.VALIDATING if dry_run else ImportStatus.IMPORTING
    job.processed_rows, job.started_at = 0, None
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk).update(status=job.status, processed_rows=0, started_at=None)
    queue_on_commit(
        run_import_job,
        tenant.pk,
        job.pk,
        dry_run=dry_run,
        user_id=user.pk if isinstance(user, User) else None,
        token_id=token.pk if token is not None else None,
        language=translation.get_language(),
    )


def import_job_execute(
    tenant: Tenant,
    *,
    job_id: int,
    dry_run: bool = False,
    user_id: int | None = None,
    token_id: int | None = None,
) -> ImportOutcome | None:
    """The task's work: idempotent, one run per tenant and kind.

    It acts only on a job in the status it was queued with (validating for a check, importing
    for an import): a re-delivered or late message finds the job moved on and does nothing.
    """
    expected = ImportStatus.VALIDATING if dry_run else ImportStatus.IMPORTING
    job = ImportJob.objects.filter(pk=job_id, status=expected).first()
    if job is None:
        return None
    if not dry_run:
        # A second delivery of the same message waits here for the first run, then finds it done.
        _acquire_kind_lock(tenant, job.kind, wait=True)
        job.refresh_from_db()
        if job.status != expected:
            return None
    membership, actor = None, None
    if user_id is not None:
        membership = (
            Membership.objects.select_related("user")
            .filter(tenant=tenant, user_id=user_id, is_active=True, user__is_active=True, role__in=WRITERS)
            .first()
        )
        if membership is None:
            _fail(tenant, job, _("You may no longer import into this workspace."))
            return None
        actor = membership.user
    elif token_id is not None:
        actor = ApiToken.objects.filter(pk=token_id, tenant=tenant).first()
    progress = JobProgress(job)
    try:
        return import_job_process(tenant, job, dry_run=dry_run, membership=membership, actor=actor, progress=progress)
    except Exception:
        logger.exception("import job %s failed", job.pk)
        _fail(tenant, job, _("The import failed unexpectedly, so nothing was written. Try again or ask for help."))
        return None
    finally:
        progress.close()


def import_job_discard(tenant: Tenant, job: ImportJob) -> bool:
    """Forget a job that waits for confirmation (or has finished): its file and its record."""
    if job.status in RUNNING_STATUSES:
        return False
    if job.file_path:
        path = job.file_path
        transaction.on_commit(lambda: Path(path).unlink(missing_ok=True))
    cache.delete(_preview_key(job))
    with tenant_context(tenant):
        job.delete()
    return True


def import_jobs_recent(tenant: Tenant) -> QuerySet[ImportJob]:
    return ImportJob.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at", "-id")


def column_reference() -> list[dict[str, Any]]:
    """Every kind's columns, for the page's reference table (the README says the same)."""
    return [{"kind": kind, "label": ImportKind(kind).label, "columns": COLUMNS[kind]} for kind in ImportKind.values]


def _report_cycles(check: Any, up_of: dict, names: dict, column: str, message: str) -> None:
    """A row error for every file row whose chain of parents (or bosses) comes back to it."""
    for index, item in enumerate(check.items):
        if item.ref_node is None:
            continue
        start = check.node(index)
        path = [start]
        current = up_of.get(start)
        while current is not None and current not in path[1:] and len(path) <= len(up_of) + 1:
            path.append(current)
            if current == start:
                check.error(item.row, column, message % {"path": _path_names([names.get(node, "?") for node in path])})
                break
            current = up_of.get(current)
