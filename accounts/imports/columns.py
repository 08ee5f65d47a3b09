"""The columns of each kind of import file (the page's reference table and docs/import.md say the
same) and the mapping of a file's header onto them: Chinese or English column names, case,
spaces and underscores ignored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.imports.cells import cell_text, normalize_name
from accounts.imports.errors import ErrorLog
from accounts.models import ImportKind


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
        "offering",
        "产品编码",
        "offering",
        gettext_lazy("Offering"),
        gettext_lazy("the code of an offering of the workspace's catalogue; blank: the product line's mapping"),
        aliases=("产品与解决方案", "offering code"),
    ),
    Column(
        "buying_centre",
        "采购中心",
        "buying_centre",
        gettext_lazy("Buying centre"),
        gettext_lazy("the code of a buying centre of the order's account; blank: the account's primary one"),
        aliases=("采购中心编码", "buying center", "buying centre code"),
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


def column_reference() -> list[dict[str, Any]]:
    """Every kind's columns, for the page's reference table (docs/import.md says the same)."""
    return [{"kind": kind, "label": ImportKind(kind).label, "columns": COLUMNS[kind]} for kind in ImportKind.values]
