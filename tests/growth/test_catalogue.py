"""The offerings catalogue: services (create, edit, deactivate, import, mappings) and the
settings page (permissions, confirmation, import report, unmapped product lines)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from growth import selectors, services
from growth.models import Offering, ProductLineMapping
from kam.models import AuditLog, Tenant, User
from kam.tenancy import tenant_context
from tests import factories
from tests.conftest import login

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name: str, tenant: Tenant, **kwargs: Any) -> str:
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def make_offering(tenant: Tenant, code: str = "PUMP", **kwargs: Any) -> Offering:
    data = {"name_zh": f"{code} 中文", "name_en": f"{code} English", **kwargs}
    return services.offering_create(tenant, code=code, **data)


def refresh(obj: Any) -> None:
    with tenant_context(obj.tenant):
        obj.refresh_from_db()


def csv_upload(text: str, name: str = "offerings.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def xlsx_upload(rows: list[list[Any]], name: str = "offerings.xlsx") -> SimpleUploadedFile:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


# --- services ------------------------------------------------------------------------------------


def test_offering_create_validates_and_audits(tenant: Tenant) -> None:
    offering = make_offering(tenant, "PUMP-01", category="Pumps")
    assert offering.tenant_id == tenant.pk and offering.is_active
    with tenant_context(tenant):
        assert AuditLog.objects.filter(object_type="growth.offering", object_id=str(offering.pk)).exists()
    with pytest.raises(ValidationError) as exc:
        make_offering(tenant, "PUMP-01")
    assert "code" in exc.value.message_dict
    for bad in ("", "-x", "a b", "x" * 41, "泵"):
        with pytest.raises(ValidationError) as exc:
            make_offering(tenant, bad)
        assert "code" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.offering_create(tenant, code="OK", name_zh="  ", name_en="x")
    assert "name_zh" in exc.value.message_dict
    with tenant_context(tenant):
        assert Offering.objects.count() == 1


def test_same_code_in_two_tenants(tenant: Tenant, other_tenant: Tenant) -> None:
    make_offering(tenant, "PUMP")
    make_offering(other_tenant, "PUMP")
    with tenant_context(tenant):
        assert Offering.objects.count() == 1


def test_offering_update_and_deactivate(tenant: Tenant) -> None:
    offering = make_offering(tenant, "PUMP")
    other = make_offering(tenant, "VALVE")
    services.offering_update(tenant, offering=offering, name_en="Pumps", position=3)
    refresh(offering)
    assert (offering.name_en, offering.position) == ("Pumps", 3)
    with pytest.raises(ValidationError):
        services.offering_update(tenant, offering=offering, code=other.code)
    services.offering_deactivate(tenant, offering=offering)
    refresh(offering)
    assert not offering.is_active
    with tenant_context(tenant):
        assert list(selectors.offering_choice_list(tenant)) == [other]


def test_code_named_by_orders_stays(tenant: Tenant) -> None:
    offering = make_offering(tenant, "PUMP")
    factories.OrderFactory(tenant=tenant, offering="PUMP")
    with pytest.raises(ValidationError) as exc:
        services.offering_update(tenant, offering=offering, code="PUMP2")
    assert "code" in exc.value.message_dict


def test_update_refuses_another_tenants_offering(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = make_offering(other_tenant, "PUMP")
    with pytest.raises(ValidationError):
        services.offering_update(tenant, offering=theirs, name_en="Hijacked")
    refresh(theirs)
    assert theirs.name_en == "PUMP English"


def test_mapping_set_moves_and_matches_case_insensitively(tenant: Tenant, other_tenant: Tenant) -> None:
    pump, valve = make_offering(tenant, "PUMP"), make_offering(tenant, "VALVE")
    mapping = services.product_line_mapping_set(tenant, product_line="  Pumps ", offering=pump)
    assert (mapping.product_line, mapping.product_line_key) == ("Pumps", "pumps")
    again = services.product_line_mapping_set(tenant, product_line="PUMPS", offering=valve)
    assert again.pk == mapping.pk and again.offering_id == valve.pk
    with tenant_context(tenant):
        assert ProductLineMapping.objects.count() == 1
    theirs = make_offering(other_tenant, "X")
    with pytest.raises(ValidationError):
        services.product_line_mapping_set(tenant, product_line="Other", offering=theirs)
    with pytest.raises(ValidationError) as exc:
        services.product_line_mapping_set(tenant, product_line="   ", offering=pump)
    assert "product_line" in exc.value.message_dict


def test_unmapped_product_lines_with_counts(tenant: Tenant, other_tenant: Tenant) -> None:
    pump = make_offering(tenant, "PUMP")
    account = factories.AccountFactory(tenant=tenant)
    for line in ("Bearings", "bearings ", "Bearings", "Seals", "Pumps", ""):
        factories.OrderFactory(tenant=tenant, account=account, product_line=line)
    factories.OrderFactory(tenant=tenant, account=account, product_line="Named", offering="PUMP")
    factories.OrderFactory(tenant=other_tenant, product_line="Theirs")
    services.product_line_mapping_set(tenant, product_line="pumps", offering=pump)
    with tenant_context(tenant):
        lines, total = selectors.unmapped_product_line_list(tenant)
    assert [(line.key, line.order_count) for line in lines] == [("bearings", 3), ("seals", 1)]
    assert lines[0].product_line == "Bearings"
    assert total == 2


# --- import --------------------------------------------------------------------------------------


def _import(tenant: Tenant, upload: SimpleUploadedFile, tmp_path: Any) -> services.OfferingImportResult:
    path = tmp_path / upload.name
    path.write_bytes(upload.read())
    return services.offerings_import(tenant, path=path, file_name=upload.name)


def test_import_creates_and_updates(tenant: Tenant, tmp_path: Any) -> None:
    make_offering(tenant, "PUMP", name_en="Old")
    text = "编码,中文名称,英文名称,类别,排序,启用\nPUMP,泵,Pumps,Fluid,2,是\nVALVE,阀门,Valves,,1,否\n\n"
    result = _import(tenant, csv_upload(text), tmp_path)
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    with tenant_context(tenant):
        pump, valve = Offering.objects.get(code="PUMP"), Offering.objects.get(code="VALVE")
    assert (pump.name_en, pump.category, pump.position, pump.is_active) == ("Pumps", "Fluid", 2, True)
    assert (valve.name_zh, valve.is_active) == ("阀门", False)
    again = _import(tenant, csv_upload(text), tmp_path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_import_xlsx(tenant: Tenant, tmp_path: Any) -> None:
    upload = xlsx_upload([["code", "name_zh", "name_en", "position"], ["GEAR", "齿轮", "Gears", 4]])
    result = _import(tenant, upload, tmp_path)
    assert result.ok and result.created == 1
    with tenant_context(tenant):
        assert Offering.objects.get(code="GEAR").position == 4


def test_import_with_a_bad_row_writes_nothing(tenant: Tenant, tmp_path: Any) -> None:
    make_offering(tenant, "PUMP", name_en="Old")
    text = (
        "code,name_zh,name_en,position,active\n"
        "PUMP,泵,New name,1,yes\n"
        "bad code,阀门,Valves,1,yes\n"
        "GEAR,,Gears,1,yes\n"
        "SEAL,密封,Seals,-1,maybe\n"
        "PUMP,泵,Again,1,yes\n"
    )
    result = _import(tenant, csv_upload(text), tmp_path)
    assert not result.ok
    problems = {(error.row, error.column) for error in result.errors}
    assert problems == {(3, "code"), (4, "name_zh"), (5, "position"), (5, "active"), (6, "code")}
    with tenant_context(tenant):
        assert list(Offering.objects.values_list("code", "name_en")) == [("PUMP", "Old")]


def test_import_missing_column_and_bad_file(tenant: Tenant, tmp_path: Any) -> None:
    result = _import(tenant, csv_upload("code,name_zh\nA,甲\n"), tmp_path)
    assert [(e.row, e.column) for e in result.errors] == [(1, "")]
    assert "name_en" in result.errors[0].message
    binary = SimpleUploadedFile("x.csv", b"\xff\xfe\x00\x01garbage")
    assert _import(tenant, binary, tmp_path).file_error
    with tenant_context(tenant):
        assert not Offering.objects.exists()


# --- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("director", 200), ("manager", 403), ("member", 403)])
def test_page_roles(tenant: Tenant, role_users: dict[str, User], role: str, status: int) -> None:
    response = login(role_users[role]).get(url("growth-offerings", tenant), **EN)
    assert response.status_code == status


def test_page_lists_and_director_reads_only(tenant: Tenant, admin: User, director: User) -> None:
    make_offering(tenant, "PUMP", name_en="Pumps")
    page = login(admin).get(url("growth-offerings", tenant), **EN).content.decode()
    assert "Pumps" in page and "New offering" in page
    page = login(director).get(url("growth-offerings", tenant), **EN).content.decode()
    assert "Pumps" in page and "New offering" not in page
    response = login(director).post(
        url("growth-offering-create", tenant), {"code": "X", "name_zh": "x", "name_en": "x"}
    )
    assert response.status_code == 403


def test_create_edit_deactivate_through_the_page(tenant: Tenant, admin: User) -> None:
    client = login(admin)
    response = client.post(url("growth-offering-create", tenant), {"code": "PUMP", "name_zh": "泵", "name_en": "Pumps"})
    assert response.status_code == 302
    with tenant_context(tenant):
        offering = Offering.objects.get(code="PUMP")
    response = client.post(
        url("growth-offering-create", tenant), {"code": "PUMP", "name_zh": "泵", "name_en": "Pumps"}, **EN
    )
    assert response.status_code == 400
    assert "exists already" in response.content.decode()
    response = client.post(
        url("growth-offering-edit", tenant, offering_id=offering.pk),
        {"code": "PUMP", "name_zh": "泵", "name_en": "Pumps and more", "position": "2", "is_active": "on"},
    )
    assert response.status_code == 302
    refresh(offering)
    assert offering.name_en == "Pumps and more"
    confirm = client.get(url("growth-offering-deactivate", tenant, offering_id=offering.pk), **EN)
    assert confirm.status_code == 200 and "Deactivate" in confirm.content.decode()
    refresh(offering)
    assert offering.is_active  # asking changes nothing
    response = client.post(url("growth-offering-deactivate", tenant, offering_id=offering.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    refresh(offering)
    assert not offering.is_active
    client.post(url("growth-offering-activate", tenant, offering_id=offering.pk))
    refresh(offering)
    assert offering.is_active


def test_another_tenants_offering_is_404(tenant: Tenant, other_tenant: Tenant, admin: User) -> None:
    theirs = make_offering(other_tenant, "PUMP")
    client = login(admin)
    for name in ("growth-offering-edit", "growth-offering-deactivate", "growth-offering-activate"):
        response = client.post(
            url(name, tenant, offering_id=theirs.pk), {"code": "PUMP", "name_zh": "x", "name_en": "x"}
        )
        assert response.status_code == 404
    refresh(theirs)
    assert theirs.is_active and theirs.name_zh == "PUMP 中文"
    page = client.get(url("growth-offerings", tenant)).content.decode()
    assert "PUMP 中文" not in page


def test_import_page_reports_rows(tenant: Tenant, admin: User) -> None:
    client = login(admin)
    upload = csv_upload("code,name_zh,name_en\nOK,好,Good\nno good,坏,Bad\n")
    response = client.post(url("growth-offerings-import", tenant), {"file": upload}, **EN)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page and '<td class="num">3</td>' in page
    with tenant_context(tenant):
        assert not Offering.objects.exists()
    response = client.post(
        url("growth-offerings-import", tenant), {"file": csv_upload("code,name_zh,name_en\nOK,好,Good\n")}
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        assert Offering.objects.filter(code="OK").exists()


def test_mapping_through_the_page(tenant: Tenant, other_tenant: Tenant, admin: User) -> None:
    pump = make_offering(tenant, "PUMP")
    theirs = make_offering(other_tenant, "THEIRS")
    factories.OrderFactory(tenant=tenant, product_line="Bearings")
    client = login(admin)
    page = client.get(url("growth-offerings", tenant), **EN).content.decode()
    assert "Bearings" in page and "Not mapped yet" in page
    response = client.post(url("growth-mapping-set", tenant), {"product_line": "Bearings", "offering": theirs.pk}, **EN)
    assert response.status_code == 400
    response = client.post(url("growth-mapping-set", tenant), {"product_line": "Bearings", "offering": pump.pk})
    assert response.status_code == 302
    with tenant_context(tenant):
        mapping = ProductLineMapping.objects.get()
        assert selectors.unmapped_product_line_list(tenant) == ([], 0)
    their_mapping = services.product_line_mapping_set(other_tenant, product_line="x", offering=theirs)
    assert client.post(url("growth-mapping-delete", tenant, mapping_id=their_mapping.pk)).status_code == 404
    assert client.get(url("growth-mapping-delete", tenant, mapping_id=mapping.pk)).status_code == 200
    client.post(url("growth-mapping-delete", tenant, mapping_id=mapping.pk))
    with tenant_context(tenant):
        assert not ProductLineMapping.objects.exists()
        assert Decimal(1) == 1
