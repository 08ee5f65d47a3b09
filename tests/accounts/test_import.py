"""CSV / XLSX import of accounts, contacts, orders and invoices: the engine, the pages,
the API, the Celery task and the management command.

Good files are generated here from the same rows in UTF-8, UTF-8 with BOM, GB18030 and
XLSX; bad files are a corpus of small byte strings and rows. Big files (2,500 rows for
the task path, 50 MB for the size limit) are made at test time, never committed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone, translation

from accounts.imports.errors import MAX_STORED_ERRORS, error_total
from accounts.imports.jobs import SYNC_ROW_LIMIT, import_job_queue
from accounts.imports.progress import JobProgress
from accounts.imports.run import ImportOutcome, import_file
from accounts.imports.uploads import MAX_UPLOAD_BYTES
from accounts.models import Account, Contact, ImportJob, ImportStatus, Invoice, Order
from accounts.validators import credit_code_check_character
from kam.models import AuditLog
from kam.tenancy import tenant_context
from tests.conftest import bearer, login
from tests.factories import AccountFactory, ContactFactory, OrderFactory
from tests.sqlaudit import audit

pytestmark = pytest.mark.django_db

FORMATS = ["utf-8", "utf-8-sig", "gb18030", "xlsx"]
NOT_TEXT = "The file is not UTF-8 or GB18030 text. Save it from Excel as “CSV UTF-8” or as an Excel workbook (.xlsx)."
NUMBER = "Enter a number such as 1234.50, 1,234.50 or ¥1,234.50."
DATE = "Enter a valid date such as 2026-03-31, 2026/3/31 or 2026年3月31日."


def credit_code(n: int) -> str:
    first17 = f"91110108{n:09d}"
    return first17 + credit_code_check_character(first17)


# Codes whose check character is a letter, so Excel keeps them as text like a user would.
CODE_1, CODE_2, CODE_3 = credit_code(1), credit_code(2), credit_code(3)
assert not any(code.isdigit() for code in (CODE_1, CODE_2, CODE_3))


# --- files ------------------------------------------------------------------------------------------

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
PLAIN_NUMBER = re.compile(r"-?\d{1,15}(\.\d+)?\Z")


def excel_value(text: str) -> Any:
    """What Excel stores for a typed cell: real dates and numbers; everything else as text."""
    if ISO_DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return text  # no such day: Excel keeps what was typed as text
    if PLAIN_NUMBER.match(text) and not (text.startswith("0") and len(text) > 1):
        return float(text) if "." in text else int(text)
    return text


def build_file(folder: Path, rows: list[list[str]], fmt: str = "utf-8", stem: str = "import") -> Path:
    if fmt == "xlsx":
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append([excel_value(cell) for cell in row])
        path = folder / f"{stem}.xlsx"
        workbook.save(path)
        return path
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = folder / f"{stem}-{fmt}.csv"
    path.write_bytes(buffer.getvalue().encode(fmt))
    return path


def run(tenant, kind: str, path: Path, **kwargs: Any) -> ImportOutcome:
    return import_file(tenant, kind=kind, path=path, file_name=path.name, **kwargs)


def errors_of(outcome: ImportOutcome) -> list[tuple[Any, str, str]]:
    return [(error["row"], error["column"], error["message"]) for error in outcome.errors]


def counts(tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {
            "accounts": Account.objects.count(),
            "contacts": Contact.objects.count(),
            "orders": Order.objects.count(),
            "invoices": Invoice.objects.count(),
        }


def fresh(tenant, obj: Any) -> Any:
    """The object as stored now (read inside its tenant: outside, RLS shows nothing)."""
    with tenant_context(tenant):
        obj.refresh_from_db()
    return obj


def jobs(tenant) -> list[ImportJob]:
    with tenant_context(tenant):
        return list(ImportJob.objects.order_by("id"))


def the_job(tenant) -> ImportJob:
    found = jobs(tenant)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(autouse=True)
def _english_and_a_private_upload_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("accounts.imports.jobs.IMPORT_ROOT", tmp_path / "uploads")
    with translation.override("en"):
        yield


@pytest.fixture
def accounts(tenant, account):
    """中车华北集团 (the manager's, from conftest) and 远航船舶重工 (nobody's), with credit codes."""
    with tenant_context(tenant):
        Account.objects.filter(pk=account.pk).update(credit_code=CODE_1)
    ship = AccountFactory(tenant=tenant, name="远航船舶重工", credit_code=CODE_3)
    fresh(tenant, account)
    return {"crrc": account, "ship": ship}


# --- accounts -------------------------------------------------------------------------------------------

ACCOUNT_ROWS = [
    ["客户名称", "法定名称", "统一社会信用代码", "行业", "地区", "上级客户", "负责人", "状态", "合作起始日期", "备注"],
    # the subsidiary comes before its parent: resolution inside the file is order-independent
    [
        "华北分公司",
        "华北装备有限公司",
        CODE_2,
        "轨道交通",
        "河北",
        "中车集团",
        "mark@acme.test",
        "活跃",
        "2019/6/1",
        "",
    ],
    ["中车集团", "中车集团有限公司", CODE_1, "轨道交通", "北京", "", "", "active", "2015年3月1日", "集团总部"],
    ["远航船舶", "", "", "船舶", "上海", "", "", "潜在客户", "2021-04-01", ""],
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_accounts_in_every_encoding_are_created_with_their_values(tenant, manager, tmp_path, fmt):
    # given
    path = build_file(tmp_path, ACCOUNT_ROWS, fmt)
    # when
    outcome = run(tenant, "accounts", path)
    # then
    assert errors_of(outcome) == []
    assert (outcome.total_rows, outcome.created, outcome.updated, outcome.unchanged) == (3, 3, 0, 0)
    assert outcome.encoding == fmt
    with tenant_context(tenant):
        saved = {a.name: a for a in Account.objects.select_related("parent", "owner")}
    branch, group, ship = saved["华北分公司"], saved["中车集团"], saved["远航船舶"]
    assert (
        branch.legal_name,
        branch.credit_code,
        branch.industry,
        branch.region,
        branch.parent,
        branch.owner,
        branch.status,
        branch.cooperation_since,
    ) == ("华北装备有限公司", CODE_2, "轨道交通", "河北", group, manager, "active", dt.date(2019, 6, 1))
    assert (group.parent, group.status, group.cooperation_since, group.notes) == (
        None,
        "active",
        dt.date(2015, 3, 1),
        "集团总部",
    )
    assert (ship.credit_code, ship.status, ship.cooperation_since, ship.owner) == (
        "",
        "prospect",
        dt.date(2021, 4, 1),
        None,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_importing_the_same_accounts_again_changes_nothing(tenant, manager, tmp_path, fmt):
    path = build_file(tmp_path, ACCOUNT_ROWS, fmt)
    run(tenant, "accounts", path)
    again = run(tenant, "accounts", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert counts(tenant)["accounts"] == 3


def test_accounts_upsert_by_credit_code_then_by_name(tenant, manager, tmp_path):
    # given: the three accounts
    run(tenant, "accounts", build_file(tmp_path, ACCOUNT_ROWS, stem="first"))
    # when: 中车集团 renamed (found by its code), 远航船舶 moves region (found by name), one new
    changed = [
        ["客户名称", "统一社会信用代码", "地区", "上级客户"],
        ["中车集团总部", CODE_1, "北京", ""],
        ["远航船舶", "", "江苏", "中车集团总部"],
        ["蓝天新能源", "", "江苏", ""],
    ]
    outcome = run(tenant, "accounts", build_file(tmp_path, changed, stem="second"))
    # then
    assert errors_of(outcome) == []
    assert (outcome.created, outcome.updated, outcome.unchanged) == (1, 2, 0)
    with tenant_context(tenant):
        saved = {a.name: a for a in Account.objects.select_related("parent")}
    assert set(saved) == {"华北分公司", "中车集团总部", "远航船舶", "蓝天新能源"}
    assert (saved["远航船舶"].region, saved["远航船舶"].parent.name) == ("江苏", "中车集团总部")
    assert saved["华北分公司"].parent.name == "中车集团总部"
    # blank cells (and missing columns) keep stored values
    assert (saved["中车集团总部"].legal_name, saved["中车集团总部"].notes) == ("中车集团有限公司", "集团总部")


def test_a_known_account_without_a_code_gets_the_code_of_the_file(tenant, tmp_path):
    existing = AccountFactory(tenant=tenant, name="蓝天新能源", credit_code="")
    rows = [["客户名称", "统一社会信用代码"], ["蓝天新能源", CODE_3]]
    outcome = run(tenant, "accounts", build_file(tmp_path, rows))
    assert (outcome.created, outcome.updated) == (0, 1)
    assert fresh(tenant, existing).credit_code == CODE_3
    # A form opened before the import carries the old version (1): its save is refused, not lost.
    assert fresh(tenant, existing).version == 2


def test_english_headers_in_any_case_and_spacing(tenant, tmp_path):
    rows = [
        ["Name", "Legal Name", "CREDIT_CODE", " industry ", "Parent Account", "Status", "Cooperation Since", "Notes"],
        ["Globex Holdings", "Globex Holdings Ltd.", CODE_1, "Energy", "", "Dormant", "2020-01-02", "key group"],
        ["Globex Solar", "", "", "Energy", CODE_1, "lost", "", ""],
    ]
    outcome = run(tenant, "accounts", build_file(tmp_path, rows))
    assert errors_of(outcome) == []
    with tenant_context(tenant):
        solar = Account.objects.select_related("parent").get(name="Globex Solar")
        holdings = Account.objects.get(name="Globex Holdings")
    assert (solar.parent, solar.status, holdings.status, holdings.industry) == (holdings, "lost", "dormant", "Energy")


def test_a_cycle_with_existing_accounts_is_a_row_error(tenant, tmp_path):
    # given: 子公司 -> 母公司 in the database
    parent = AccountFactory(tenant=tenant, name="母公司")
    AccountFactory(tenant=tenant, name="子公司", parent=parent)
    before = counts(tenant)
    # when: the file makes 母公司 a subsidiary of 子公司
    rows = [["客户名称", "上级客户"], ["母公司", "子公司"]]
    outcome = run(tenant, "accounts", build_file(tmp_path, rows))
    # then
    assert errors_of(outcome) == [
        (2, "上级客户", "This parent would make a cycle in the group hierarchy: 母公司 → 子公司 → 母公司.")
    ]
    assert fresh(tenant, parent).parent_id is None
    assert counts(tenant) == before


def test_moving_a_parent_inside_the_file_never_trips_the_database_trigger(tenant, tmp_path):
    # given: B -> A in the database; when: the file swaps them (A -> B, B has none)
    a = AccountFactory(tenant=tenant, name="A 集团")
    b = AccountFactory(tenant=tenant, name="B 集团", parent=a)
    rows = [["客户名称", "上级客户"], ["A 集团", "B 集团"]]
    first = run(tenant, "accounts", build_file(tmp_path, rows, stem="one"))
    # that alone is a cycle (B's parent stays A) ...
    assert first.error_count == 1
    # ... but with B's parent cleared in the same file it is fine: clearing needs a new parent, so
    # B moves under a new root C instead.
    rows = [["客户名称", "上级客户"], ["A 集团", "B 集团"], ["B 集团", "C 集团"], ["C 集团", ""]]
    second = run(tenant, "accounts", build_file(tmp_path, rows, stem="two"))
    assert errors_of(second) == []
    fresh(tenant, a), fresh(tenant, b)
    with tenant_context(tenant):
        assert (a.parent.name, b.parent.name) == ("B 集团", "C 集团")


# --- contacts -------------------------------------------------------------------------------------------

CONTACT_ROWS = [
    ["客户", "姓名", "职务", "部门", "层级", "采购角色", "态度", "汇报对象", "邮箱", "电话", "离职日期"],
    [
        "中车华北集团",
        "李工",
        "工程师",
        "技术部",
        "操作层",
        "技术评估者",
        "中立",
        "王总",
        "li@crrc.example",
        "13800000000",
        "",
    ],
    ["中车华北集团", "王总", "总经理", "", "决策层", "决策者", "支持者（内线）", "", "wang@crrc.example", "", ""],
    [CODE_3, "赵敏", "采购经理", "采购部", "managerial", "Influencer", "supporter", "", "", "", "2026-02-28"],
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_contacts_in_every_encoding(tenant, accounts, tmp_path, fmt):
    path = build_file(tmp_path, CONTACT_ROWS, fmt)
    outcome = run(tenant, "contacts", path)
    assert errors_of(outcome) == []
    assert (outcome.created, outcome.updated, outcome.unchanged) == (3, 0, 0)
    with tenant_context(tenant):
        saved = {c.name: c for c in Contact.objects.select_related("account", "reports_to")}
    li, wang, zhao = saved["李工"], saved["王总"], saved["赵敏"]
    assert (li.account, li.title, li.department, li.level, li.buying_role, li.attitude, li.reports_to) == (
        accounts["crrc"],
        "工程师",
        "技术部",
        "operational",
        "technical_buyer",
        "neutral",
        wang,
    )
    assert (li.email, li.phone) == ("li@crrc.example", "13800000000")
    assert (wang.level, wang.buying_role, wang.attitude, wang.reports_to) == (
        "executive",
        "decision_maker",
        "champion",
        None,
    )
    assert (zhao.account, zhao.level, zhao.buying_role, zhao.attitude, zhao.left_on) == (
        accounts["ship"],
        "managerial",
        "influencer",
        "supporter",
        dt.date(2026, 2, 28),
    )
    again = run(tenant, "contacts", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_contacts_upsert_by_account_and_name_and_report_to_existing_people(tenant, accounts, tmp_path):
    boss = ContactFactory(tenant=tenant, account=accounts["crrc"], name="陈董", title="董事长")
    rows = [
        ["客户", "姓名", "职务", "汇报对象"],
        ["中车华北集团", "陈董", "董事长兼总经理", ""],
        ["中车华北集团", "刘工", "", "陈董"],
    ]
    outcome = run(tenant, "contacts", build_file(tmp_path, rows))
    assert (outcome.created, outcome.updated, outcome.unchanged) == (1, 1, 0)
    fresh(tenant, boss)
    with tenant_context(tenant):
        liu = Contact.objects.select_related("reports_to").get(name="刘工")
    assert (boss.title, liu.reports_to) == ("董事长兼总经理", boss)


# --- orders ----------------------------------------------------------------------------------------------

ORDER_ROWS = [
    ["客户", "下单日期", "金额", "成本", "产品线", "外部编号"],
    ["中车华北集团", "2026-01-15", "¥1,234.50", "1000", "精密轴承", "PO-001"],
    ["中车华北集团", "2026/2/3", "88,000", "", "齿轮箱", "PO-002"],
    [CODE_3, "2026年3月4日", "500.5", "", "", ""],
]


def order_values(tenant) -> list[tuple]:
    with tenant_context(tenant):
        return list(
            Order.objects.order_by("order_date").values_list(
                "account__name", "order_date", "amount", "cost", "product_line", "external_ref"
            )
        )


@pytest.mark.parametrize("fmt", FORMATS)
def test_orders_in_every_encoding(tenant, accounts, tmp_path, fmt):
    path = build_file(tmp_path, ORDER_ROWS, fmt)
    outcome = run(tenant, "orders", path)
    assert errors_of(outcome) == []
    assert (outcome.created, outcome.updated, outcome.unchanged) == (3, 0, 0)
    assert order_values(tenant) == [
        ("中车华北集团", dt.date(2026, 1, 15), Decimal("1234.50"), Decimal("1000.00"), "精密轴承", "PO-001"),
        ("中车华北集团", dt.date(2026, 2, 3), Decimal("88000.00"), None, "齿轮箱", "PO-002"),
        ("远航船舶重工", dt.date(2026, 3, 4), Decimal("500.50"), None, "", ""),
    ]
    # again: the two orders with an external reference are unchanged; the one without is added again
    again = run(tenant, "orders", path)
    assert (again.created, again.updated, again.unchanged) == (1, 0, 2)


def test_the_fast_path_stores_what_the_checked_path_stores(tenant, accounts, tmp_path):
    # The first row of an account goes through the checked path (the account is not yet
    # known), the second through the fast path: both must store the same values.
    rows = [ORDER_HEADER] + [["中车华北集团", "2026-01-15", "1234.5", "0", " 精密轴承 ", ref] for ref in ("F-1", "F-2")]
    outcome = run(tenant, "orders", build_file(tmp_path, rows))
    assert outcome.created == 2
    with tenant_context(tenant):
        stored = Order.objects.order_by("external_ref").values_list(
            "account_id", "order_date", "amount", "cost", "product_line", "external_ref"
        )
        assert [values[:-1] for values in stored] == [
            (accounts["crrc"].pk, dt.date(2026, 1, 15), Decimal("1234.50"), Decimal("0.00"), "精密轴承")
        ] * 2


def test_orders_upsert_by_external_ref_counts_updates(tenant, accounts, tmp_path):
    run(tenant, "orders", build_file(tmp_path, ORDER_ROWS[:3], stem="one"))
    changed = [ORDER_ROWS[0], ORDER_ROWS[1], ["中车华北集团", "2026/2/3", "90,000.00", "", "", "PO-002"]]
    outcome = run(tenant, "orders", build_file(tmp_path, changed, stem="two"))
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 1)
    with tenant_context(tenant):
        po2 = Order.objects.get(external_ref="PO-002")
    # the amount changed; the blank product line kept the stored one
    assert (po2.amount, po2.product_line) == (Decimal("90000.00"), "齿轮箱")


def test_the_copy_path_writes_the_tenant_and_is_idempotent(tenant, other_tenant, accounts, foreign_account, tmp_path):
    # given: the other tenant has an order with the same external reference
    OrderFactory(tenant=other_tenant, account=foreign_account, external_ref="PO-001", amount=Decimal("1.00"))
    rows = [ORDER_ROWS[0]] + [["中车华北集团", "2026-01-01", f"{n}.00", "", "", f"PO-{n:03d}"] for n in range(1, 51)]
    path = build_file(tmp_path, rows)
    # when: imported twice
    first = run(tenant, "orders", path)
    second = run(tenant, "orders", path)
    # then
    assert (first.created, first.updated, first.unchanged) == (50, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 50)
    # unfiltered on purpose (tests/sqlaudit.py): what the database holds for the tenant
    with tenant_context(tenant), audit.expecting(), connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id, count(*) FROM accounts_order GROUP BY tenant_id")
        assert cursor.fetchall() == [(tenant.pk, 50)]
    with tenant_context(other_tenant):
        assert list(Order.objects.values_list("external_ref", "amount")) == [("PO-001", Decimal("1.00"))]


def test_an_account_of_another_tenant_is_unknown(tenant, other_tenant, accounts, foreign_account, tmp_path):
    # given: "Globex 客户" exists only in the other tenant
    other_before = counts(other_tenant)
    rows = [ORDER_ROWS[0], ["Globex 客户", "2026-01-15", "100", "", "", "X-1"]]
    # when
    outcome = run(tenant, "orders", build_file(tmp_path, rows))
    # then
    assert errors_of(outcome) == [
        (
            2,
            "客户",
            "No account “Globex 客户” in this workspace (looked up by unified social credit code and by name).",
        )
    ]
    assert counts(tenant)["orders"] == 0
    assert counts(other_tenant) == other_before


# --- invoices --------------------------------------------------------------------------------------------

INVOICE_ROWS = [
    ["客户", "发票号", "开票日期", "到期日", "金额", "付款日期", "已付金额"],
    ["中车华北集团", "INV-001", "2026-01-01", "2026-01-31", "50,000.00", "2026-01-20", "50000"],
    [CODE_3, "INV-002", "2026/2/1", "2026/3/3", "¥12,000", "", ""],
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_invoices_in_every_encoding(tenant, accounts, tmp_path, fmt):
    path = build_file(tmp_path, INVOICE_ROWS, fmt)
    outcome = run(tenant, "invoices", path)
    assert errors_of(outcome) == []
    assert (outcome.created, outcome.updated, outcome.unchanged) == (2, 0, 0)
    with tenant_context(tenant):
        saved = list(
            Invoice.objects.order_by("number").values_list(
                "account__name", "number", "issued_on", "due_on", "amount", "paid_on", "paid_amount"
            )
        )
    assert saved == [
        (
            "中车华北集团",
            "INV-001",
            dt.date(2026, 1, 1),
            dt.date(2026, 1, 31),
            Decimal("50000.00"),
            dt.date(2026, 1, 20),
            Decimal("50000.00"),
        ),
        ("远航船舶重工", "INV-002", dt.date(2026, 2, 1), dt.date(2026, 3, 3), Decimal("12000.00"), None, None),
    ]
    # paying INV-002 is an update; INV-001 is unchanged
    paid = [
        INVOICE_ROWS[0],
        INVOICE_ROWS[1],
        [CODE_3, "INV-002", "2026/2/1", "2026/3/3", "¥12,000", "2026-03-01", "12000"],
    ]
    again = run(tenant, "invoices", build_file(tmp_path, paid, fmt, stem="paid"))
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)


# --- preview -----------------------------------------------------------------------------------------------


def test_preview_shows_the_first_ten_rows_and_how_columns_map(tenant, accounts, tmp_path):
    rows = [["客户", "下单日期", "金额", "销售员"]] + [
        ["中车华北集团", f"2026-01-{day:02d}", f"{day}00", "小王"] for day in range(1, 13)
    ]
    outcome = run(tenant, "orders", build_file(tmp_path, rows), dry_run=True)
    assert outcome.ok and outcome.total_rows == 12
    assert outcome.preview["columns"] == [
        {"header": "客户", "field": "account"},
        {"header": "下单日期", "field": "order_date"},
        {"header": "金额", "field": "amount"},
        {"header": "销售员", "field": ""},
    ]
    assert [row["row"] for row in outcome.preview["rows"]] == list(range(2, 12))
    assert outcome.preview["rows"][0]["cells"] == ["中车华北集团", "2026-01-01", "100", "小王"]
    # a dry run writes nothing
    assert counts(tenant)["orders"] == 0


# --- bad files: row and column errors, and nothing written ----------------------------------------------------

ORDER_HEADER = ["客户", "下单日期", "金额", "成本", "产品线", "外部编号"]
INVOICE_HEADER = INVOICE_ROWS[0]
ACCOUNT_HEADER = ["客户名称", "统一社会信用代码", "上级客户", "状态"]

BAD_ROWS = {
    "missing column": (
        "orders",
        [["客户", "下单日期", "成本"], ["中车华北集团", "2026-01-01", "5"]],
        [(1, "", "The required column “金额 / amount” is missing.")],
    ),
    "bad number": (
        "orders",
        [ORDER_HEADER, ["中车华北集团", "2026-01-15", "12a5", "", "", ""]],
        [(2, "金额", NUMBER)],
    ),
    "too many decimals": (
        "orders",
        [ORDER_HEADER, ["中车华北集团", "2026-01-15", "12.345", "", "", ""]],
        [(2, "金额", "Use at most two decimal places.")],
    ),
    "bad date": (
        "orders",
        [
            ORDER_HEADER,
            ["中车华北集团", "2026-02-30", "100", "", "", ""],
            ["中车华北集团", "15.1.2026", "100", "", "", ""],
        ],
        [(2, "下单日期", DATE), (3, "下单日期", DATE)],
    ),
    "negative amount": (
        "orders",
        [
            ORDER_HEADER,
            ["中车华北集团", "2026-01-15", "-100", "-5", "", ""],
            ["中车华北集团", "2026-01-15", "0", "", "", ""],
        ],
        [
            (2, "金额", "The amount must be greater than zero."),
            (2, "成本", "The cost cannot be negative."),
            (3, "金额", "The amount must be greater than zero."),
        ],
    ),
    "required value missing": (
        "orders",
        [ORDER_HEADER, ["中车华北集团", "", "100", "", "", ""]],
        [(2, "下单日期", "This value is required.")],
    ),
    "duplicate external ref": (
        "orders",
        [
            ORDER_HEADER,
            ["中车华北集团", "2026-01-15", "100", "", "", "PO-9"],
            ["中车华北集团", "2026-01-16", "oops", "", "", "PO-9"],
            ["中车华北集团", "2026-01-17", "300", "", "", "PO-9"],
        ],
        [
            (3, "金额", NUMBER),
            (3, "外部编号", "The external reference PO-9 appears already in row 2."),
            (4, "外部编号", "The external reference PO-9 appears already in row 2."),
        ],
    ),
    "unknown account": (
        "orders",
        [ORDER_HEADER, ["不存在的公司", "2026-01-15", "100", "", "", ""]],
        [
            (
                2,
                "客户",
                "No account “不存在的公司” in this workspace (looked up by unified social credit code and by name).",
            )
        ],
    ),
    "too long": (
        "orders",
        [ORDER_HEADER, ["中车华北集团", "2026-01-15", "100", "", "产" * 101, ""]],
        [(2, "产品线", "Use at most 100 characters; this value has 101.")],
    ),
    "due before issue": (
        "invoices",
        [INVOICE_HEADER, ["中车华北集团", "INV-1", "2026-02-01", "2026-01-31", "100", "", ""]],
        [(2, "到期日", "The due date cannot be before the issue date.")],
    ),
    "duplicate invoice number": (
        "invoices",
        [
            INVOICE_HEADER,
            ["中车华北集团", "INV-1", "2026-01-01", "2026-01-31", "100", "", ""],
            ["中车华北集团", "INV-1", "2026-01-01", "2026-01-31", "200", "", ""],
        ],
        [(3, "发票号", "The invoice number INV-1 appears already in row 2.")],
    ),
    "unknown parent": (
        "accounts",
        [ACCOUNT_HEADER, ["新客户", "", "不存在集团", ""]],
        [(2, "上级客户", "No account “不存在集团” in this file or in this workspace.")],
    ),
    "parent cycle in the file": (
        "accounts",
        [ACCOUNT_HEADER, ["甲公司", "", "乙公司", ""], ["乙公司", "", "甲公司", ""]],
        [
            (2, "上级客户", "This parent would make a cycle in the group hierarchy: 甲公司 → 乙公司 → 甲公司."),
            (3, "上级客户", "This parent would make a cycle in the group hierarchy: 乙公司 → 甲公司 → 乙公司."),
        ],
    ),
    "own parent": (
        "accounts",
        [ACCOUNT_HEADER, ["甲公司", "", "甲公司", ""]],
        [(2, "上级客户", "An account cannot be its own parent.")],
    ),
    "duplicate credit code": (
        "accounts",
        [ACCOUNT_HEADER, ["甲公司", CODE_2, "", ""], ["乙公司", CODE_2, "", ""]],
        [(3, "统一社会信用代码", f"The unified social credit code {CODE_2} appears already in row 2.")],
    ),
    "bad credit code": (
        "accounts",
        [ACCOUNT_HEADER, ["甲公司", CODE_2[:-1] + ("A" if CODE_2[-1] != "A" else "B"), "", ""]],
        [
            (
                2,
                "统一社会信用代码",
                "The check character of this unified social credit code is wrong; please check the code.",
            )
        ],
    ),
    "unknown status": (
        "accounts",
        [ACCOUNT_HEADER, ["甲公司", "", "", "maybe"]],
        [(2, "状态", "“maybe” is not one of: prospect (Prospect), active (Active), dormant (Dormant), lost (Lost).")],
    ),
    "unknown owner": (
        "accounts",
        [["客户名称", "负责人"], ["甲公司", "nobody@acme.test"]],
        [(2, "负责人", "No active member of this workspace has the e-mail address “nobody@acme.test”.")],
    ),
    "reports_to loop": (
        "contacts",
        [["客户", "姓名", "汇报对象"], ["中车华北集团", "甲", "乙"], ["中车华北集团", "乙", "甲"]],
        [
            (2, "汇报对象", "This would make a loop in the org chart: 甲 → 乙 → 甲."),
            (3, "汇报对象", "This would make a loop in the org chart: 乙 → 甲 → 乙."),
        ],
    ),
    "bad e-mail and unknown boss": (
        "contacts",
        [["客户", "姓名", "邮箱", "汇报对象"], ["中车华北集团", "甲", "not-an-email", "丙"]],
        [
            (2, "邮箱", "Enter a valid email address."),
            (2, "汇报对象", "No contact “丙” at this account, in this file or in this workspace."),
        ],
    ),
}


@pytest.mark.parametrize("case", BAD_ROWS, ids=list(BAD_ROWS))
@pytest.mark.parametrize("fmt", ["utf-8", "xlsx"])
def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_written(tenant, accounts, tmp_path, case, fmt):
    kind, rows, expected = BAD_ROWS[case]
    before = counts(tenant)
    outcome = run(tenant, kind, build_file(tmp_path, rows, fmt))
    assert errors_of(outcome) == expected
    assert (outcome.created, outcome.updated, outcome.unchanged, outcome.written) == (0, 0, 0, False)
    assert counts(tenant) == before


def test_good_rows_before_a_bad_one_are_not_written(tenant, accounts, tmp_path):
    rows = [ORDER_HEADER] + [["中车华北集团", "2026-01-15", "100", "", "", f"OK-{n}"] for n in range(50)]
    rows.append(["中车华北集团", "2026-01-15", "-1", "", "", "BAD"])
    outcome = run(tenant, "orders", build_file(tmp_path, rows))
    assert errors_of(outcome) == [(52, "金额", "The amount must be greater than zero.")]
    assert counts(tenant)["orders"] == 0


BAD_BYTES = {
    "latin-1": ("accounts,order_date,amount\nCafé Müller,2026-01-01,5\n".encode("latin-1"), NOT_TEXT),
    "utf-16": ("客户,下单日期,金额\n中车华北集团,2026-01-01,5\n".encode("utf-16"), NOT_TEXT),
    "empty": (b"", "The file is empty."),
    "blank lines only": (b"\r\n  \r\n,,\r\n", "The file is empty."),
    "header only": ("客户,下单日期,金额\r\n".encode(), "The file has no data rows, only a header."),
    "binary garbage": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        "The file is not a text file (it contains binary data). Upload a CSV file or an Excel workbook (.xlsx).",
    ),
    "damaged xlsx": (
        b"PK\x03\x04" + b"\x14\x00garbage" * 50,
        "The file is not a valid Excel workbook (.xlsx); it may be damaged. Save it again from Excel or upload it as CSV.",
    ),
    "xls": (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
        "Excel 97–2003 workbooks (.xls) are not supported. Save the file as an Excel workbook (.xlsx) or as CSV.",
    ),
}


@pytest.mark.parametrize("case", BAD_BYTES, ids=list(BAD_BYTES))
def test_unreadable_files_get_a_clear_error_and_nothing_is_written(tenant, accounts, tmp_path, case):
    content, message = BAD_BYTES[case]
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    before = counts(tenant)
    outcome = run(tenant, "orders", path)
    assert errors_of(outcome) == [(None, "", message)]
    assert counts(tenant) == before


def test_a_file_named_xlsx_that_is_not_a_workbook(tenant, tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_text("客户,下单日期,金额\n")
    outcome = run(tenant, "orders", path)
    assert outcome.errors[0]["message"].startswith("The file is not a valid Excel workbook (.xlsx)")


def test_thousands_of_errors_are_counted_and_the_first_ones_kept(tenant, accounts, tmp_path):
    rows = [ORDER_HEADER] + [["中车华北集团", "2026-01-15", "x", "", "", ""] for _ in range(1200)]
    outcome = run(tenant, "orders", build_file(tmp_path, rows))
    assert outcome.error_count == 1200
    assert len(outcome.errors) == MAX_STORED_ERRORS + 1
    assert outcome.errors[-1] == {"row": None, "column": "", "message": "200 more errors are not listed.", "more": 200}
    assert error_total(outcome.errors) == 1200


# --- managers write only their accounts -------------------------------------------------------------


def test_a_manager_imports_only_for_accounts_they_may_write(tenant, manager, accounts, membership_of, tmp_path):
    # given: the manager owns 中车华北集团, not 远航船舶重工
    rows = [
        ORDER_HEADER,
        ["中车华北集团", "2026-01-15", "100", "", "", "M-1"],
        ["远航船舶重工", "2026-01-15", "100", "", "", "M-2"],
    ]
    # when
    outcome = run(tenant, "orders", build_file(tmp_path, rows), membership=membership_of(manager, tenant))
    # then
    assert errors_of(outcome) == [(3, "客户", "You may not write this account.")]
    assert counts(tenant)["orders"] == 0
    # and with only their own account, it works
    ok = run(tenant, "orders", build_file(tmp_path, rows[:2], stem="own"), membership=membership_of(manager, tenant))
    assert (ok.error_count, ok.created) == (0, 1)


def test_a_manager_cannot_take_over_an_order_of_another_account(tenant, manager, accounts, membership_of, tmp_path):
    OrderFactory(tenant=tenant, account=accounts["ship"], external_ref="SHIP-1")
    rows = [ORDER_HEADER, ["中车华北集团", "2026-01-15", "100", "", "", "SHIP-1"]]
    outcome = run(tenant, "orders", build_file(tmp_path, rows), membership=membership_of(manager, tenant))
    assert errors_of(outcome) == [(2, "外部编号", "This record belongs to an account you may not write.")]


def test_a_manager_may_create_accounts_but_not_update_others(tenant, manager, accounts, membership_of, tmp_path):
    rows = [["客户名称", "地区"], ["远航船舶重工", "上海"], ["新客户", "广东"]]
    outcome = run(tenant, "accounts", build_file(tmp_path, rows), membership=membership_of(manager, tenant))
    assert errors_of(outcome) == [(2, "客户名称", "You may not write this account.")]
    ok = run(
        tenant,
        "accounts",
        build_file(tmp_path, [rows[0], rows[2]], stem="new"),
        membership=membership_of(manager, tenant),
    )
    assert ok.created == 1
    with tenant_context(tenant):
        # the new account is the manager's, so they can go on writing it
        assert Account.objects.get(name="新客户").owner == manager


# --- the page ----------------------------------------------------------------------------------------------

LIST = "/t/acme/imports/"


def upload(client, path: Path, kind: str, **extra: Any):
    with open(path, "rb") as handle:
        return client.post(LIST, {"kind": kind, "file": handle}, HTTP_ACCEPT_LANGUAGE="en", **extra)


def test_upload_shows_the_preview_then_imports_on_confirm(tenant, admin, accounts, tmp_path):
    client = login(admin)
    # when: uploaded
    response = upload(client, build_file(tmp_path, ORDER_ROWS, "gb18030"), "orders")
    # then: checked, previewed, nothing written yet
    job = the_job(tenant)
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/imports/{job.pk}/"
    assert (job.status, job.total_rows, job.encoding, job.errors) == ("pending", 3, "gb18030", [])
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Import 3 rows" in page
    assert "The file has 3 rows and no errors." in page
    assert "→ Order date" in page and "88,000" in page and "精密轴承" in page
    assert counts(tenant)["orders"] == 0
    # when: confirmed
    confirmed = client.post(f"/t/acme/imports/{job.pk}/confirm/", HTTP_ACCEPT_LANGUAGE="en")
    # then
    fresh(tenant, job)
    assert confirmed.status_code == 302
    assert (job.status, job.created_count, job.updated_count, job.unchanged_count) == ("done", 3, 0, 0)
    assert counts(tenant)["orders"] == 3
    done = client.get(f"/t/acme/imports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "All 3 rows imported." in done
    assert 'hx-trigger="every 1s"' not in done
    # a second confirm does nothing
    client.post(f"/t/acme/imports/{job.pk}/confirm/")
    assert counts(tenant)["orders"] == 3


def test_upload_with_errors_shows_the_rows_and_columns(
    tenant, admin, accounts, tmp_path, django_capture_on_commit_callbacks
):
    rows = [
        ORDER_HEADER,
        ["中车华北集团", "2026-13-01", "100", "", "", ""],
        ["中车华北集团", "2026-01-01", "-3", "", "", ""],
    ]
    client = login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, build_file(tmp_path, rows), "orders")
    job = the_job(tenant)
    assert job.status == "failed"
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The file has 2 errors, so nothing was imported." in page
    assert re.search(r'<td class="num">2</td>\s*<td>下单日期</td>\s*<td>' + re.escape(DATE) + "</td>", page)
    assert re.search(r'<td class="num">3</td>\s*<td>金额</td>\s*<td>The amount must be greater than zero.</td>', page)
    assert '<td class="has-error">2026-13-01</td>' in page  # the cell is marked in the preview
    assert "Import 2 rows" not in page
    assert not Path(job.file_path).exists()  # a finished job's file is deleted once it commits
    assert counts(tenant)["orders"] == 0


def test_the_import_list_shows_recent_imports_with_their_status(tenant, admin, accounts, tmp_path):
    client = login(admin)
    upload(client, build_file(tmp_path, ORDER_ROWS), "orders")
    upload(client, build_file(tmp_path, [ORDER_HEADER, ["x", "y", "z", "", "", ""]], stem="bad"), "orders")
    page = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "import-utf-8.csv" in page and "bad-utf-8.csv" in page
    assert "badge--import-pending" in page and "badge--import-failed" in page
    assert "3 errors" in page
    # the column reference names both headers
    assert "<code>统一社会信用代码</code>" in page and "<code>credit_code</code>" in page


def test_the_import_list_query_count_does_not_grow_with_jobs(tenant, admin, django_assert_max_num_queries):
    client = login(admin)
    client.get(LIST)
    with tenant_context(tenant):
        for n in range(15):
            ImportJob.objects.create(tenant=tenant, kind="orders", file_name=f"{n}.csv", created_by=admin)
    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200


def test_discard_removes_a_checked_job_and_its_file(tenant, admin, accounts, tmp_path):
    client = login(admin)
    upload(client, build_file(tmp_path, ORDER_ROWS), "orders")
    job = the_job(tenant)
    response = client.post(f"/t/acme/imports/{job.pk}/discard/")
    assert response.status_code == 302
    assert jobs(tenant) == []


@pytest.mark.parametrize("role", ["member", "executive"])
def test_readers_may_not_import(tenant, role_users, role, tmp_path):
    client = login(role_users[role])
    assert client.get(LIST).status_code == 403
    path = build_file(tmp_path, ORDER_ROWS)
    assert upload(client, path, "orders").status_code == 403
    assert jobs(tenant) == []


def test_a_manager_may_not_confirm_another_persons_import(tenant, admin, manager, accounts, tmp_path):
    upload(login(admin), build_file(tmp_path, ORDER_ROWS), "orders")
    job = the_job(tenant)
    client = login(manager)
    assert client.get(f"/t/acme/imports/{job.pk}/").status_code == 200
    assert client.post(f"/t/acme/imports/{job.pk}/confirm/").status_code == 403
    assert client.post(f"/t/acme/imports/{job.pk}/discard/").status_code == 403


def test_outsider_and_other_tenants_jobs_are_404(tenant, other_tenant, admin, outsider):
    with tenant_context(other_tenant):
        theirs = ImportJob.objects.create(tenant=other_tenant, kind="orders", file_name="theirs.csv")
    with tenant_context(tenant):
        ours = ImportJob.objects.create(tenant=tenant, kind="orders", file_name="ours.csv")
    client = login(admin)
    for suffix in ("", "confirm/", "discard/"):
        method = client.get if not suffix else client.post
        assert method(f"/t/acme/imports/{theirs.pk}/{suffix}").status_code == 404, suffix
    outsider_client = login(outsider)
    assert outsider_client.get(LIST).status_code == 404
    assert outsider_client.get(f"/t/acme/imports/{ours.pk}/").status_code == 404
    # and the other tenant's jobs never show in our list
    assert "theirs.csv" not in client.get(LIST).content.decode()


def test_the_upload_still_needs_the_csrf_token(tenant, admin, accounts, tmp_path):
    # The view is csrf_exempt only to put the size limit in place first; it checks CSRF itself.
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert upload(client, build_file(tmp_path, ORDER_ROWS), "orders").status_code == 403
    assert jobs(tenant) == []


def test_an_upload_over_50_mb_is_refused_before_it_is_read(tenant, admin, tmp_path):
    # given: a sparse file one byte over the limit (no disk space used)
    big = tmp_path / "orders.csv"
    with open(big, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)
    # when
    response = upload(login(admin), big, "orders")
    # then
    assert response.status_code == 413
    assert "The file is 50.0 MB; the limit is 50 MB. Split it into smaller files." in response.content.decode()
    assert jobs(tenant) == []
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").rglob("*.*"))


def test_a_large_content_length_is_refused_unread(tenant, admin):
    # The body is a few bytes; the header claims 60 MB: the view answers without reading it
    # (the CSRF check, which would read it, comes later: enforced here like in a browser).
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.generic(
        "POST",
        LIST,
        b"--x--\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(60 * 1024 * 1024),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 413
    assert "The file is 60.0 MB; the limit is 50 MB." in response.content.decode()


def test_a_file_growing_past_the_limit_while_streaming_is_dropped(tenant, admin, tmp_path, monkeypatch):
    # Content-Length under the limit plus the form's envelope, the file itself over it.
    monkeypatch.setattr("accounts.imports.uploads.MAX_UPLOAD_BYTES", 1000)
    response = upload(login(admin), build_file(tmp_path, [ORDER_HEADER] * 100), "orders")
    assert response.status_code == 413
    assert "the limit is 0 MB. Split it into smaller files." in response.content.decode()
    assert jobs(tenant) == []


# --- the Celery path ---------------------------------------------------------------------------------------


def big_order_rows(n: int) -> list[list[str]]:
    return [ORDER_HEADER] + [
        ["中车华北集团", f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}", f"{1000 + i}.50", "", "轴承", f"BIG-{i:05d}"]
        for i in range(n)
    ]


def test_a_large_file_is_checked_and_imported_by_the_task(
    tenant, admin, accounts, tmp_path, django_capture_on_commit_callbacks
):
    client = login(admin)
    rows = big_order_rows(SYNC_ROW_LIMIT + 500)
    # when: uploaded (the check runs as a task: eager in tests)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(client, build_file(tmp_path, rows, "utf-8-sig"), "orders")
    job = the_job(tenant)
    assert len(callbacks) == 1
    assert response.status_code == 302
    assert (job.status, job.total_rows, job.processed_rows) == ("pending", 2500, 2500)
    assert "Import 2,500 rows" in client.get(f"/t/acme/imports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # when: confirmed, the import runs as a task too
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/t/acme/imports/{job.pk}/confirm/")
    fresh(tenant, job)
    assert (job.status, job.processed_rows, job.total_rows, job.created_count) == ("done", 2500, 2500, 2500)
    assert job.started_at is not None and job.finished_at >= job.started_at
    assert counts(tenant)["orders"] == 2500
    with tenant_context(tenant):
        entry = AuditLog.objects.get(object_type="accounts.order")
    assert (entry.actor_user, entry.changes["created"]) == (admin, [None, 2500])


def test_the_progress_partial_polls_while_running_and_stops_when_done(tenant, admin):
    with tenant_context(tenant):
        job = ImportJob.objects.create(
            tenant=tenant,
            kind="orders",
            file_name="big.csv",
            status=ImportStatus.VALIDATING,
            total_rows=10_000,
            processed_rows=2_500,
            started_at=timezone.now(),
        )
    client = login(admin)
    url = f"/t/acme/imports/{job.pk}/"

    def state(**values: Any) -> str:
        with tenant_context(tenant):
            ImportJob.objects.filter(pk=job.pk).update(**values)
        return client.get(url, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    checking = state()
    assert checking.lstrip().startswith('<div id="job-state"')  # the partial only
    assert 'hx-trigger="every 1s"' in checking
    assert 'value="25"' in checking and "Checking rows: 2,500 of about 10,000." in checking
    importing_ = state(status=ImportStatus.IMPORTING, processed_rows=4_000)
    assert "Checking rows before writing: 4,000 of about 10,000." in importing_
    writing = state(processed_rows=10_000)
    assert "Writing 10,000 rows in one transaction…" in writing and 'hx-trigger="every 1s"' in writing
    done = state(status=ImportStatus.DONE, created_count=10_000)
    assert 'hx-trigger="every 1s"' not in done
    assert "All 10,000 rows imported." in done


@pytest.mark.django_db(transaction=True)
def test_the_task_reports_progress_through_its_own_connection(tmp_path, monkeypatch):
    """Committed data: the progress connection's reports are visible while the task's
    transaction is still open, read back from the task's own connection."""
    from accounts.tasks import run_import_job
    from tests.factories import TenantFactory

    tenant = TenantFactory(slug="progress")
    AccountFactory(tenant=tenant, name="中车华北集团")
    path = build_file(tmp_path, big_order_rows(5000))
    with tenant_context(tenant):
        job = ImportJob.objects.create(
            tenant=tenant, kind="orders", file_name="big.csv", file_path=str(path), status=ImportStatus.VALIDATING
        )
    seen: list[tuple[str, int]] = []
    report = JobProgress._update

    def spy(self, **values):
        report(self, **values)
        seen.append(tuple(ImportJob.objects.filter(pk=job.pk).values_list("status", "processed_rows").get()))

    monkeypatch.setattr(JobProgress, "_update", spy)
    monkeypatch.setattr(JobProgress, "INTERVAL", 0)
    # when: checked (the page's first step), then imported (its confirm)
    run_import_job.delay(tenant.pk, job.pk, dry_run=True, language="en")
    checked, seen[:] = list(seen), []
    assert (fresh(tenant, job).status, job.total_rows) == ("pending", 5000)
    with tenant_context(tenant):
        import_job_queue(tenant, job, dry_run=False)  # on_commit: runs when this block commits
    # then
    fresh(tenant, job)
    assert (job.status, job.processed_rows, job.created_count) == ("done", 5000, 5000)
    assert checked[0] == ("validating", 0)
    assert ("validating", 1000) in checked and ("validating", 4000) in checked
    assert seen[0] == ("importing", 0)
    assert ("importing", 1000) in seen and ("importing", 4000) in seen
    assert seen[-1] == ("importing", 5000)
    assert not path.exists()  # the file is deleted when the job ends
    # the same messages delivered again change nothing
    run_import_job.delay(tenant.pk, job.pk, language="en")
    run_import_job.delay(tenant.pk, job.pk, dry_run=True, language="en")
    assert counts(tenant)["orders"] == 5000
    assert (fresh(tenant, job).status, job.created_count) == ("done", 5000)


# --- the API -----------------------------------------------------------------------------------------------

API = "/api/v1/imports/"


def api_upload(client, path: Path, kind: str, headers: dict[str, str], **data: Any):
    with open(path, "rb") as handle:
        return client.post(API, {"kind": kind, "file": handle, **data}, HTTP_ACCEPT_LANGUAGE="en", **headers)


def test_api_import_with_a_write_token(tenant, accounts, write_token, tmp_path, django_capture_on_commit_callbacks):
    from django.test import Client

    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, build_file(tmp_path, ORDER_ROWS, "xlsx"), "orders", bearer(write_token))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "kind",
        "status",
        "file_name",
        "total_rows",
        "processed_rows",
        "progress_percent",
        "created",
        "updated",
        "unchanged",
        "errors",
        "created_at",
        "started_at",
        "finished_at",
    }
    assert (body["kind"], body["status"], body["file_name"]) == ("orders", "importing", "import.xlsx")
    status = client.get(f"{API}{body['id']}/", **bearer(write_token)).json()
    assert (status["status"], status["total_rows"], status["created"], status["updated"], status["unchanged"]) == (
        "done",
        3,
        3,
        0,
        0,
    )
    assert status["errors"] == []
    assert counts(tenant)["orders"] == 3


def test_api_import_with_errors_ends_failed_with_the_errors(
    tenant, accounts, write_token, tmp_path, django_capture_on_commit_callbacks
):
    from django.test import Client

    client = Client()
    rows = [ORDER_HEADER, ["中车华北集团", "2026-01-15", "¥-5", "", "", ""]]
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api_upload(client, build_file(tmp_path, rows), "orders", bearer(write_token)).json()["id"]
    status = client.get(f"{API}{job_id}/", **bearer(write_token)).json()
    assert status["status"] == "failed"
    assert status["errors"] == [{"row": 2, "column": "金额", "message": "The amount must be greater than zero."}]


def test_api_dry_run_only_checks(tenant, accounts, write_token, tmp_path, django_capture_on_commit_callbacks):
    from django.test import Client

    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api_upload(
            client, build_file(tmp_path, ORDER_ROWS), "orders", bearer(write_token), dry_run="true"
        ).json()["id"]
    status = client.get(f"{API}{job_id}/", **bearer(write_token)).json()
    assert (status["status"], status["total_rows"]) == ("pending", 3)
    assert counts(tenant)["orders"] == 0


def test_api_writer_session_and_role_limits(tenant, admin, member, accounts, tmp_path):
    path = build_file(tmp_path, ORDER_ROWS)
    assert api_upload(login(admin), path, "orders", {}).status_code == 201
    refused = api_upload(login(member), path, "orders", {})
    assert refused.status_code == 403
    assert login(member).get(API).status_code == 403


def test_api_refuses_a_read_token_bad_input_and_big_files(tenant, read_token, write_token, tmp_path):
    from django.test import Client

    path = build_file(tmp_path, ORDER_ROWS)
    assert api_upload(Client(), path, "orders", bearer(read_token)).status_code == 403
    bad_kind = api_upload(Client(), path, "payments", bearer(write_token))
    assert bad_kind.status_code == 400
    assert set(bad_kind.json()["error"]["fields"]) == {"kind"}
    no_file = Client().post(API, {"kind": "orders"}, **bearer(write_token))
    assert no_file.status_code == 400
    assert set(no_file.json()["error"]["fields"]) == {"file"}
    too_big = Client().generic(
        "POST",
        API,
        b"--x--\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(51 * 1024 * 1024),
        HTTP_ACCEPT_LANGUAGE="en",
        **bearer(write_token),
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["message"] == "The file is 51.0 MB; the limit is 50 MB. Split it into smaller files."
    assert jobs(tenant) == []


def test_api_another_tenants_job_is_404(tenant, other_tenant, write_token, outsider_token):
    from django.test import Client

    with tenant_context(other_tenant):
        theirs = ImportJob.objects.create(tenant=other_tenant, kind="orders", file_name="theirs.csv")
    with tenant_context(tenant):
        ours = ImportJob.objects.create(tenant=tenant, kind="orders", file_name="ours.csv")
    assert Client().get(f"{API}{theirs.pk}/", **bearer(write_token)).status_code == 404
    assert Client().get(f"{API}{ours.pk}/", **bearer(outsider_token)).status_code == 404
    listed = Client().get(API, **bearer(write_token)).json()["results"]
    assert [job["file_name"] for job in listed] == ["ours.csv"]


def test_api_schema_documents_the_import_endpoints(db):
    from django.test import Client

    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/imports/" in schema and "multipart/form-data" in schema


# --- the management command ------------------------------------------------------------------------------


def test_command_imports_and_prints_the_counts(tenant, accounts, tmp_path):
    out = io.StringIO()
    path = build_file(tmp_path, ORDER_ROWS, "gb18030")
    call_command("import_csv", str(path), tenant="acme", kind="orders", language="en", stdout=out)
    assert out.getvalue().strip() == "import-gb18030.csv: 3 rows imported into acme: 3 created, 0 updated, 0 unchanged."
    assert counts(tenant)["orders"] == 3
    with tenant_context(tenant):
        job = the_job(tenant)
    assert (job.status, job.created_count, job.file_path) == ("done", 3, "")
    assert path.exists()  # the command's file is the user's: left alone


def test_command_prints_row_errors_and_exits_1(tenant, accounts, tmp_path):
    err = io.StringIO()
    rows = [ORDER_HEADER, ["中车华北集团", "2026-01-15", "abc", "", "", ""]]
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_csv", str(build_file(tmp_path, rows)), tenant="acme", kind="orders", language="en", stderr=err
        )
    assert raised.value.returncode == 1
    assert str(raised.value) == "1 error(s) in import-utf-8.csv; nothing was imported."
    assert err.getvalue().strip() == f"row 2, 金额: {NUMBER}"
    assert counts(tenant)["orders"] == 0


def test_command_dry_run_writes_nothing(tenant, accounts, tmp_path):
    out = io.StringIO()
    path = build_file(tmp_path, ORDER_ROWS)
    call_command("import_csv", str(path), tenant="acme", kind="orders", dry_run=True, language="en", stdout=out)
    assert "all 3 rows are valid (dry run: nothing was written)" in out.getvalue()
    assert counts(tenant)["orders"] == 0
    assert jobs(tenant) == []


def test_command_needs_a_known_tenant(db, tmp_path):
    with pytest.raises(CommandError, match="no active tenant with slug 'nope'"):
        call_command("import_csv", str(build_file(tmp_path, ORDER_ROWS)), tenant="nope", kind="orders")


def test_stale_uploads_are_swept_after_a_day(tenant, admin, tmp_path):
    import datetime as dt

    from django.utils import timezone

    from accounts.models import ImportJob
    from accounts.tasks import sweep_stale_imports
    from kam.tenancy import tenant_context

    # given: a checked upload of two days ago and a fresh one
    old_file, new_file = tmp_path / "old.csv", tmp_path / "new.csv"
    old_file.write_text("x")
    new_file.write_text("x")
    with tenant_context(tenant):
        old = ImportJob.objects.create(tenant=tenant, kind="orders", file_name="old.csv", file_path=str(old_file))
        ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
        ImportJob.objects.create(tenant=tenant, kind="orders", file_name="new.csv", file_path=str(new_file))
    # when
    swept = sweep_stale_imports.delay(tenant.pk).get()
    # then
    assert swept == 1
    with tenant_context(tenant):
        assert list(ImportJob.objects.values_list("file_name", flat=True)) == ["new.csv"]
