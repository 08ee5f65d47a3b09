"""Orders that name an offering and a buying centre by code (DESIGN section 12): the CSV/XLSX
import and the API accept the codes; an unknown offering code, or a buying centre code the
order's account does not have, is a row (or field) error and nothing is written. The check
goes through accounts.references, where growth registers its checkers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts import references
from accounts import services as account_services
from accounts.imports.run import import_file
from accounts.models import Account, Order
from growth import services, whitespace
from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today
from tests import factories
from tests.conftest import bearer

HEADER = ["客户", "下单日期", "金额", "产品线", "产品编码", "采购中心", "外部编号"]


@pytest.fixture(autouse=True)
def _uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("accounts.imports.jobs.IMPORT_ROOT", tmp_path / "uploads")


@pytest.fixture
def account(tenant: Tenant) -> Account:
    account = factories.AccountFactory(tenant=tenant, name="华东精密机械", tier="S")
    services.offering_create(tenant, code="PUMP", name_zh="泵", name_en="Pumps")
    services.offering_create(tenant, code="OLD", name_zh="旧", name_en="Old", is_active=False)
    services.buying_centre_create(tenant, account=account, code="HQ", name="总部")
    services.buying_centre_create(tenant, account=account, code="PL", name="工厂")
    return account


def write(folder: Path, rows: list[list[Any]], fmt: str = "csv") -> Path:
    if fmt == "xlsx":
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        path = folder / "orders.xlsx"
        workbook.save(path)
        return path
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path = folder / "orders.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def run(tenant: Tenant, path: Path) -> Any:
    return import_file(tenant, kind="orders", path=path, file_name=path.name)


def stored(tenant: Tenant) -> list[tuple[str, str, str]]:
    with tenant_context(tenant):
        return list(Order.objects.order_by("external_ref").values_list("external_ref", "offering", "buying_centre"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_stores_the_codes(tenant: Tenant, account: Account, tmp_path: Path, fmt: str) -> None:
    rows = [
        HEADER,
        ["华东精密机械", "2026-01-15", "100", "", "PUMP", "PL", "PO-1"],
        ["华东精密机械", "2026-01-16", "200", "x", "OLD", "", "PO-2"],  # inactive offerings exist
        ["华东精密机械", "2026-01-17", "300", "y", "", "", "PO-3"],
        ["华东精密机械", "2026/1/18", "400", "", " PUMP ", " HQ ", "PO-4"],  # the checked path trims
    ]
    outcome = run(tenant, write(tmp_path, rows, fmt))
    assert outcome.errors == []
    assert stored(tenant) == [("PO-1", "PUMP", "PL"), ("PO-2", "OLD", ""), ("PO-3", "", ""), ("PO-4", "PUMP", "HQ")]


def test_import_unknown_codes_are_row_errors_and_nothing_is_written(
    tenant: Tenant, other_tenant: Tenant, account: Account, tmp_path: Path
) -> None:
    other = factories.AccountFactory(tenant=tenant, name="别的客户")
    services.buying_centre_create(tenant, account=other, code="ELSEWHERE", name="x")
    services.offering_create(other_tenant, code="THEIRS", name_zh="t", name_en="t")
    rows = [
        HEADER,
        ["华东精密机械", "2026-01-15", "100", "", "PUMP", "PL", "PO-1"],
        ["华东精密机械", "2026-01-15", "100", "", "NOPE", "", "PO-2"],
        ["华东精密机械", "2026-01-15", "100", "", "THEIRS", "", "PO-3"],  # another tenant's code
        ["华东精密机械", "2026-01-15", "100", "", "", "ELSEWHERE", "PO-4"],  # another account's centre
        ["别的客户", "2026-01-15", "100", "", "pump", "ELSEWHERE", "PO-5"],  # codes are exact
    ]
    outcome = run(tenant, write(tmp_path, rows))
    assert [(error["row"], error["column"]) for error in outcome.errors] == [
        (3, "产品编码"),
        (4, "产品编码"),
        (5, "采购中心"),
        (6, "产品编码"),
    ]
    assert "NOPE" in outcome.errors[0]["message"]
    assert stored(tenant) == []


def test_import_update_keeps_codes_on_blank_cells(tenant: Tenant, account: Account, tmp_path: Path) -> None:
    run(tenant, write(tmp_path, [HEADER, ["华东精密机械", "2026-01-15", "100", "", "PUMP", "PL", "PO-1"]]))
    outcome = run(tenant, write(tmp_path, [HEADER, ["华东精密机械", "2026-01-15", "100", "", "", "", "PO-1"]]))
    assert (outcome.updated, outcome.unchanged) == (0, 1)
    outcome = run(tenant, write(tmp_path, [HEADER, ["华东精密机械", "2026-01-15", "100", "", "PUMP", "HQ", "PO-1"]]))
    assert outcome.updated == 1
    assert stored(tenant) == [("PO-1", "PUMP", "HQ")]


def test_imported_codes_reach_the_whitespace(tenant: Tenant, account: Account, tmp_path: Path) -> None:
    day = (tenant_today(tenant) - dt.timedelta(days=3)).isoformat()
    run(tenant, write(tmp_path, [HEADER, ["华东精密机械", day, "100", "", "PUMP", "PL", "PO-1"]]))
    with tenant_context(tenant):
        matrix = whitespace.account_matrix(tenant, account)
    statuses = {(c.code, cell.status) for c, cells in matrix.rows for cell in cells}
    assert statuses == {("HQ", "open"), ("PL", "bought")}


def test_without_a_checker_codes_are_accepted(tenant: Tenant, account: Account, tmp_path: Path) -> None:
    saved = dict(references._checkers)
    references._checkers.clear()
    try:
        outcome = run(tenant, write(tmp_path, [HEADER, ["华东精密机械", "2026-01-15", "1", "", "ANY", "ANY", "P"]]))
    finally:
        references._checkers.update(saved)
    assert outcome.errors == [] and stored(tenant) == [("P", "ANY", "ANY")]


# --- services ------------------------------------------------------------------------------------


def test_order_services_check_the_codes(tenant: Tenant, account: Account) -> None:
    base = {"account": account, "order_date": dt.date(2026, 1, 15), "amount": Decimal("10")}
    with pytest.raises(ValidationError) as exc:
        account_services.order_create(tenant, offering="NOPE", **base)
    assert "offering" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        account_services.order_create(tenant, buying_centre="NOPE", **base)
    assert "buying_centre" in exc.value.message_dict
    order = account_services.order_create(tenant, offering="PUMP", buying_centre="PL", **base)
    other = factories.AccountFactory(tenant=tenant)
    with pytest.raises(ValidationError) as exc:
        account_services.order_update(tenant, order=order, account=other)  # PL is not a centre of the other
    assert "buying_centre" in exc.value.message_dict
    account_services.order_update(tenant, order=order, buying_centre="HQ")
    with tenant_context(tenant):
        assert Order.objects.get(pk=order.pk).buying_centre == "HQ"
    with pytest.raises(ValidationError):
        account_services.orders_bulk_create(tenant, rows=[{**base, "offering": "PUMP"}, {**base, "offering": "NO"}])
    with tenant_context(tenant):
        assert Order.objects.count() == 1


# --- API -----------------------------------------------------------------------------------------


def post(token: str, path: str, body: Any) -> Any:
    return Client().post(
        "/api/v1" + path, json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **bearer(token)
    )


def test_api_accepts_and_checks_the_codes(tenant: Tenant, account: Account, write_token: str) -> None:
    body = {"account": account.pk, "order_date": "2026-01-15", "amount": "10.00"}
    response = post(write_token, "/orders/", {**body, "offering": "PUMP", "buying_centre": "PL", "external_ref": "A"})
    assert response.status_code == 201, response.content
    assert (response.json()["offering"], response.json()["buying_centre"]) == ("PUMP", "PL")
    response = post(write_token, "/orders/", {**body, "offering": "NOPE", "external_ref": "B"})
    assert response.status_code == 400 and "offering" in response.json()["error"]["fields"]
    response = post(write_token, "/orders/", {**body, "buying_centre": "NOPE", "external_ref": "C"})
    assert response.status_code == 400 and "buying_centre" in response.json()["error"]["fields"]
    response = post(write_token, "/orders/", {**body, "offering": "x" * 41, "external_ref": "D"})
    assert response.status_code == 400
    assert stored(tenant) == [("A", "PUMP", "PL")]


def test_api_bulk_reports_rows(tenant: Tenant, account: Account, write_token: str) -> None:
    row = {"account": account.pk, "order_date": "2026-01-15", "amount": "10.00"}
    batch = [
        {**row, "offering": "PUMP", "buying_centre": "HQ", "external_ref": "1"},
        {**row, "offering": "NOPE", "external_ref": "2"},
        {**row, "buying_centre": "NOPE", "external_ref": "3"},
    ]
    response = post(write_token, "/orders/bulk/", batch)
    assert response.status_code == 400, response.content
    rows = response.json()["error"]["fields"]["rows"]
    assert set(rows) == {"1", "2"} and "offering" in rows["1"] and "buying_centre" in rows["2"]
    assert stored(tenant) == []
    response = post(write_token, "/orders/bulk/", batch[:1])
    assert response.status_code == 201 and stored(tenant) == [("1", "PUMP", "HQ")]
