"""Contracts in the browser and the API (DESIGN section 14, issue #18): the clause register on the
account's contracts tab, the inline form for writers (both languages), its validation (the same
as the API's), the document upload checked by content and size, its download by the account's
readers only, and the demo's IP states."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from accounts.models import Contract, IpOwnership, Tier
from kam import services as kam_services
from kam.models import Role
from kam.tenancy import tenant_context, tenant_today
from tests.conftest import bearer
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HTMX = {"HTTP_HX_REQUEST": "true"}


# --- files -------------------------------------------------------------------------------------------


def zip_bytes(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40 + b"\xff\xd9"
DOCX = zip_bytes("[Content_Types].xml", "_rels/.rels", "word/document.xml")
XLSX = zip_bytes("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."
PLAIN_ZIP = zip_bytes("notes.txt", "photo.jpg")


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


class UnreadableBody:
    """A request body that must not be read: the refusal has to come from the headers alone."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def declared(size: int) -> dict[str, Any]:
    return {"CONTENT_LENGTH": str(size), "CONTENT_TYPE": MULTIPART_CONTENT, "wsgi.input": UnreadableBody()}


# --- helpers -----------------------------------------------------------------------------------------


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def base(account) -> str:
    return f"/t/acme/accounts/{account.pk}/contracts"


def form_data(**changes: Any) -> dict[str, Any]:
    data = {
        "title": "2026 年度框架协议",
        "start_on": "2026-01-01",
        "end_on": "2026-12-31",
        "value": "2000000.00",
        "notice_days": "60",
        "ip_ownership": "customer",
        "confidentiality_until": "2029-12-31",
        "exclusivity": "on",
        "non_solicit": "on",
        "liability_cap": "500000.00",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def contracts_of(tenant) -> list[Contract]:
    with tenant_context(tenant):
        return list(Contract.objects.order_by("id"))


def stored_path(contract: Contract) -> Path:
    return Path(settings.MEDIA_ROOT) / contract.document.name


@pytest.fixture
def contract(tenant, account) -> Contract:
    return ContractFactory(
        tenant=tenant,
        account=account,
        title="原框架协议",
        start_on=dt.date(2026, 1, 1),
        end_on=dt.date(2026, 12, 31),
        value=Decimal("1000000.00"),
    )


# --- the form: create and edit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "legend", "button"), [("en", "Clause register", "Save contract"), ("zh-hans", "条款登记", "保存合同")]
)
def test_the_form_groups_the_clauses_in_both_languages(tenant, manager, account, language, legend, button):
    response = client_in(manager, language).get(f"{base(account)}/new/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<legend>{legend}</legend>" in html and button in html
    assert 'enctype="multipart/form-data"' in html and 'hx-encoding="multipart/form-data"' in html
    for name in ("ip_ownership", "confidentiality_until", "exclusivity", "non_solicit", "liability_cap", "document"):
        assert f'name="{name}"' in html
    # the clause fields inside the clause register's fieldset
    register = html[html.index(f"<legend>{legend}</legend>") : html.index("</fieldset>", html.index(legend))]
    assert 'name="ip_ownership"' in register and 'name="liability_cap"' in register and 'name="title"' not in register


def test_a_writer_adds_a_contract_with_its_clauses_and_a_pdf(tenant, manager, account):
    # when: the manager (who owns the account) saves the form with a PDF
    response = client_in(manager).post(
        f"{base(account)}/new/", {**form_data(), "document": upload("框架协议（签字版）.pdf", PDF)}, **HTMX
    )
    # then: the tab comes back with a notice, and the contract has every field
    assert response.status_code == 200, response.content.decode()
    assert response["HX-Retarget"] == "#tab-panel"
    assert "The contract 2026 年度框架协议 was added." in response.content.decode()
    [contract] = contracts_of(tenant)
    assert (contract.title, contract.start_on, contract.end_on, contract.value) == (
        "2026 年度框架协议", dt.date(2026, 1, 1), dt.date(2026, 12, 31), Decimal("2000000.00"),
    )  # fmt: skip
    assert (contract.notice_days, contract.ip_ownership, contract.confidentiality_until) == (
        60, "customer", dt.date(2029, 12, 31),
    )  # fmt: skip
    assert (contract.exclusivity, contract.non_solicit, contract.liability_cap) == (True, True, Decimal("500000.00"))
    assert (contract.document_name, contract.document_size, contract.document_type) == (
        "框架协议（签字版）.pdf", len(PDF), "application/pdf",
    )  # fmt: skip
    # stored under MEDIA_ROOT/contracts/<tenant>/ with a random name, outside the static files
    assert contract.document.name.startswith(f"contracts/{tenant.pk}/") and contract.document.name.endswith(".pdf")
    assert "框架协议" not in contract.document.name
    path = stored_path(contract)
    assert path.read_bytes() == PDF
    static_roots = [Path(settings.STATIC_ROOT), *(Path(entry) for entry in settings.STATICFILES_DIRS)]
    assert not any(path.resolve().is_relative_to(root.resolve()) for root in static_roots)


def test_the_tab_shows_the_register_and_the_unprotected_badge(tenant, manager, account):
    # given: an S account with an active contract that protects nothing, and one that is protected
    today = tenant_today(tenant)
    account.tier = Tier.S
    with tenant_context(tenant):
        account.save(update_fields=["tier"])
    ContractFactory(
        tenant=tenant, account=account, title="无保护合同", start_on=today - dt.timedelta(days=30),
        end_on=today + dt.timedelta(days=300), ip_ownership=IpOwnership.CUSTOMER,
        confidentiality_until=today - dt.timedelta(days=1), notice_days=60,
    )  # fmt: skip
    ContractFactory(
        tenant=tenant, account=account, title="保密合同", start_on=today - dt.timedelta(days=30),
        end_on=today + dt.timedelta(days=200), ip_ownership=IpOwnership.NONE,
        confidentiality_until=today + dt.timedelta(days=400), liability_cap=Decimal("300000"),
    )  # fmt: skip
    # when
    html = client_in(manager).get(f"{base(account)}/", **HTMX).content.decode()

    def row(title: str) -> str:
        """The contract's rows: its own and its clause register's."""
        return html[html.rindex("<tbody", 0, html.index(title)) : html.index("</tbody>", html.index(title))]

    # then: each contract's register, the badge on the unprotected one only (red: an S account)
    assert "Clause register" in html and "Add contract" in html
    assert '<span class="badge badge--overdue"' in row("无保护合同") and "IP not protected" in row("无保护合同")
    assert (
        "The customer&#x27;s" in row("无保护合同") and "lapsed" in row("无保护合同") and "60 days" in row("无保护合同")
    )
    assert "IP not protected" not in row("保密合同") and "in force" in row("保密合同")
    assert "Not agreed" in row("保密合同") and "300,000" in row("保密合同")
    # one contract protects: not the account-wide warning
    assert "none of its active contracts protects our IP" not in html


def test_the_tab_warns_when_no_active_contract_of_a_key_account_protects(tenant, manager, account):
    account.tier = Tier.A
    with tenant_context(tenant):
        account.save(update_fields=["tier"])
    today = tenant_today(tenant)
    ContractFactory(tenant=tenant, account=account, start_on=today, end_on=today + dt.timedelta(days=10))
    html = client_in(manager, "zh-hans").get(f"{base(account)}/", **HTMX).content.decode()
    assert "知识产权未受保护" in html and "条款登记" in html
    assert "这是 A 级客户" in html


def test_a_reader_sees_the_register_without_the_writers_buttons(tenant, executive, account, contract):
    html = client_in(executive).get(f"{base(account)}/", **HTMX).content.decode()
    assert "原框架协议" in html and "Clause register" in html
    assert "Add contract" not in html and f"/contracts/{contract.pk}/edit/" not in html
    assert client_in(executive).get(f"{base(account)}/new/", **HTMX).status_code == 403


def test_a_writer_edits_a_contract(tenant, manager, account, contract):
    client = client_in(manager)
    form = client.get(f"{base(account)}/{contract.pk}/edit/", **HTMX).content.decode()
    assert 'value="原框架协议"' in form and "Edit 原框架协议" in form
    response = client.post(
        f"{base(account)}/{contract.pk}/edit/", form_data(title="补充协议", ip_ownership="ours"), **HTMX
    )
    assert response.status_code == 200
    [saved] = contracts_of(tenant)
    assert (saved.title, saved.ip_ownership, saved.notice_days) == ("补充协议", "ours", 60)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"end_on": "2025-12-31"}, "end_on", "A contract cannot end before it starts."),
        ({"value": "-1"}, "value", "Ensure this value is greater than or equal to 0."),
        ({"liability_cap": "-0.01"}, "liability_cap", "Ensure this value is greater than or equal to 0."),
        ({"notice_days": "731"}, "notice_days", "Ensure this value is less than or equal to 730."),
        ({"notice_days": "-1"}, "notice_days", "Ensure this value is greater than or equal to 0."),
        (
            {"confidentiality_until": "2025-06-30"},
            "confidentiality_until",
            "Confidentiality cannot end before the contract starts.",
        ),
    ],
)
def test_invalid_terms_are_400_beside_the_field_and_nothing_is_written(
    tenant, manager, account, contract, changes, field, message
):
    client = client_in(manager)
    # when: a new contract, and an edit of the existing one, with the bad value (and a good file)
    created = client.post(f"{base(account)}/new/", {**form_data(**changes), "document": upload("a.pdf", PDF)}, **HTMX)
    edited = client.post(
        f"{base(account)}/{contract.pk}/edit/",
        {**form_data(title="改过的标题", **changes), "document": upload("a.pdf", PDF)},
        **HTMX,
    )
    # then: 400, the message on the field, nothing written (not the title, not the file)
    for response in (created, edited):
        assert response.status_code == 400
        html = response.content.decode()
        error = html[html.index(f'id="id_{field}_error"') :]
        assert message in error[: error.index("</div>")]
    [unchanged] = contracts_of(tenant)
    assert (unchanged.title, unchanged.document.name) == ("原框架协议", "")
    assert not (Path(settings.MEDIA_ROOT) / "contracts" / str(tenant.pk)).exists() or not any(
        (Path(settings.MEDIA_ROOT) / "contracts" / str(tenant.pk)).iterdir()
    )


# --- the document: types, size ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("合同.pdf", PDF, "application/pdf"),
        ("合同.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("报价.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("签字页.png", PNG, "image/png"),
        ("签字页.JPG", JPEG, "image/jpeg"),
        ("签字页.jpeg", JPEG, "image/jpeg"),
    ],
)
def test_each_document_type_is_taken(tenant, manager, account, contract, name, content, content_type):
    response = client_in(manager).post(
        f"{base(account)}/{contract.pk}/edit/", {**form_data(), "document": upload(name, content)}, **HTMX
    )
    assert response.status_code == 200, response.content.decode()
    [saved] = contracts_of(tenant)
    assert (saved.document_name, saved.document_type, saved.document_size) == (name, content_type, len(content))
    assert stored_path(saved).read_bytes() == content


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "合同.pdf",
            EXE,
            "This file is a program, not a document: it is refused whatever its name says. "
            "Upload a PDF, Word (DOCX), Excel (XLSX), PNG or JPEG file.",
        ),
        (
            "合同.docx",
            PLAIN_ZIP,
            "This ZIP archive is not a Word (DOCX) or Excel (XLSX) document. Upload a PDF, DOCX, XLSX, PNG or JPEG file.",
        ),
        (
            "合同.pdf",
            PNG,
            "The file's name ends in “.pdf” but its content is a PNG image: name it .png or choose the right file.",
        ),
        (
            "合同.txt",
            b"just some text",
            "The content of this file is not a PDF, Word (DOCX), Excel (XLSX), PNG or JPEG document "
            "(the content is checked, not the name).",
        ),
        ("空.pdf", b"", "The submitted file is empty."),
    ],
)
def test_a_bad_document_is_refused_and_changes_nothing(tenant, manager, account, contract, name, content, message):
    # when: an edit that changes the title too, with a bad file
    response = client_in(manager).post(
        f"{base(account)}/{contract.pk}/edit/",
        {**form_data(title="改过的标题"), "document": upload(name, content)},
        **HTMX,
    )
    # then: 400 with the reason beside the file, and the contract as it was
    assert response.status_code == 400
    html = response.content.decode()
    error = html[html.index('id="id_document_error"') :]
    assert message.replace("'", "&#x27;").replace("“", "“") in error[: error.index("</div>")]
    [unchanged] = contracts_of(tenant)
    assert (unchanged.title, unchanged.document.name, unchanged.document_name) == ("原框架协议", "", "")


def test_a_bad_term_and_a_bad_file_are_told_together(tenant, manager, account):
    response = client_in(manager).post(
        f"{base(account)}/new/", {**form_data(end_on="2025-12-31"), "document": upload("合同.pdf", EXE)}, **HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_end_on_error"' in html and "A contract cannot end before it starts." in html
    assert 'id="id_document_error"' in html and "This file is a program, not a document" in html
    assert contracts_of(tenant) == []


def test_a_document_over_the_limit_is_dropped_while_it_arrives(tenant, manager, account, contract, monkeypatch):
    # given: a limit of 1,000 bytes (the real one is 20 MB), a 5,000-byte PDF that says nothing of its size
    monkeypatch.setattr("accounts.documents.MAX_DOCUMENT_BYTES", 1000)
    big = PDF + b"0" * 5000
    # when
    response = client_in(manager).post(
        f"{base(account)}/{contract.pk}/edit/",
        {**form_data(title="改过的标题"), "document": upload("大.pdf", big)},
        **HTMX,
    )
    # then
    assert response.status_code == 400
    assert "The document is larger than the limit of" in response.content.decode()
    [unchanged] = contracts_of(tenant)
    assert (unchanged.title, unchanged.document.name) == ("原框架协议", "")


def test_a_30_mb_upload_gets_the_forms_message_unread(tenant, manager, account, contract):
    # Above the general 5 MB limit, within the upload ceiling: the contract form answers, unread.
    response = client_in(manager).post(f"{base(account)}/{contract.pk}/edit/", **declared(30 * MB), **HTMX)
    assert response.status_code == 400
    assert "The document is 30.0 MB; the limit is 20 MB. Nothing was saved." in response.content.decode()
    assert contracts_of(tenant)[0].title == "原框架协议"


def test_a_200_mb_upload_is_413_before_anything_reads_it(tenant, manager, account):
    response = client_in(manager).post(f"{base(account)}/new/", **declared(200 * MB))
    assert response.status_code == 413
    assert response.content.decode() == "The request body is 200.0 MB; the limit here is 64.0 MB."
    assert contracts_of(tenant) == []


# --- the document: download, replace, remove -----------------------------------------------------------


@pytest.fixture
def with_document(tenant, manager, account, contract) -> Contract:
    response = client_in(manager).post(
        f"{base(account)}/{contract.pk}/edit/", {**form_data(), "document": upload("签字版 合同.pdf", PDF)}, **HTMX
    )
    assert response.status_code == 200
    return contracts_of(tenant)[0]


def test_a_reader_downloads_the_document(tenant, executive, account, with_document):
    response = client_in(executive).get(f"{base(account)}/{with_document.pk}/document/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%E7%AD%BE%E5%AD%97%E7%89%88%20%E5%90%88%E5%90%8C.pdf"  # fmt: skip


def test_a_member_who_does_not_read_the_account_gets_404(tenant, member, account, with_document):
    response = client_in(member).get(f"{base(account)}/{with_document.pk}/document/")
    assert response.status_code == 404


def test_a_member_who_reads_the_account_downloads(tenant, member, with_document):
    with tenant_context(tenant):
        mine = AccountFactory(tenant=tenant, owner=member)
        Contract.objects.filter(pk=with_document.pk).update(account=mine)
    response = client_in(member).get(f"/t/acme/accounts/{mine.pk}/contracts/{with_document.pk}/document/")
    assert response.status_code == 200


def test_another_tenants_user_gets_404(tenant, other_tenant, outsider, account, with_document):
    client = client_in(outsider)
    # through our tenant (no membership) and through theirs (not their account)
    assert client.get(f"{base(account)}/{with_document.pk}/document/").status_code == 404
    assert client.get(f"/t/globex/accounts/{account.pk}/contracts/{with_document.pk}/document/").status_code == 404
    assert client.get(f"/t/globex/accounts/{account.pk}/contracts/{with_document.pk}/edit/").status_code == 404


def test_a_contract_without_a_document_is_404(tenant, executive, account, contract):
    assert client_in(executive).get(f"{base(account)}/{contract.pk}/document/").status_code == 404


def test_replacing_the_document_deletes_the_old_file(
    tenant, manager, account, with_document, django_capture_on_commit_callbacks
):
    old = stored_path(with_document)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in(manager).post(
            f"{base(account)}/{with_document.pk}/edit/", {**form_data(), "document": upload("新.png", PNG)}, **HTMX
        )
    assert response.status_code == 200
    [saved] = contracts_of(tenant)
    assert saved.document_name == "新.png" and stored_path(saved).read_bytes() == PNG
    assert not old.exists()


def test_removing_the_document_is_confirmed_and_deletes_the_file(
    tenant, manager, account, with_document, django_capture_on_commit_callbacks
):
    client = client_in(manager)
    url = f"{base(account)}/{with_document.pk}/document/remove/"
    # the form offers it with a confirmation; without JavaScript, a confirmation page
    form = client.get(f"{base(account)}/{with_document.pk}/edit/", **HTMX).content.decode()
    assert f'hx-post="{url}"' in form and "hx-confirm=" in form
    page = client.get(url).content.decode()
    assert "Remove the document 签字版 合同.pdf?" in page
    old = stored_path(with_document)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, **HTMX)
    assert response.status_code == 200 and "The document of 2026 年度框架协议 was removed." in response.content.decode()
    [saved] = contracts_of(tenant)
    assert (saved.document.name, saved.document_name, saved.document_size, saved.document_type) == ("", "", None, "")
    assert not old.exists()
    assert client.get(f"{base(account)}/{with_document.pk}/document/").status_code == 404


# --- the API ------------------------------------------------------------------------------------------


API = "/api/v1/contracts/"


def api_json(response) -> dict[str, Any]:
    return json.loads(response.content)


def test_the_api_round_trips_the_clause_register(tenant, write_token, account):
    body = {
        "account": account.pk,
        "title": "技术服务协议",
        "start_on": "2026-01-01",
        "end_on": "2027-12-31",
        "value": "800000.00",
        "notice_days": 120,
        "ip_ownership": "customer",
        "confidentiality_until": "2099-12-31",
        "non_solicit": True,
        "exclusivity": True,
        "liability_cap": "100000.00",
    }
    created = Client().post(API, json.dumps(body), content_type="application/json", **bearer(write_token), **EN)
    assert created.status_code == 201, created.content
    data = api_json(created)
    assert {key: data[key] for key in body} == {**body}
    # customer-owned, confidentiality in force: protected; ip_clause (deprecated) false
    assert (data["ip_protected"], data["ip_clause"], data["renewal_of"], data["document_url"]) == (
        True,
        False,
        None,
        None,
    )
    read = api_json(Client().get(f"{API}{data['id']}/", **bearer(write_token)))
    assert read == data


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"end_on": "2025-12-31"}, "end_on", "A contract cannot end before it starts."),
        (
            {"confidentiality_until": "2025-12-31"},
            "confidentiality_until",
            "Confidentiality cannot end before the contract starts.",
        ),  # fmt: skip
        ({"notice_days": 731}, "notice_days", "Ensure this value is less than or equal to 730."),
        ({"liability_cap": "-1.00"}, "liability_cap", "Ensure this value is greater than or equal to 0."),
        ({"value": "-1.00"}, "value", "Ensure this value is greater than or equal to 0."),
    ],
)
def test_the_api_refuses_what_the_page_refuses(tenant, write_token, account, changes, field, message):
    body = {"account": account.pk, "title": "协议", "start_on": "2026-01-01", "end_on": "2026-12-31", **changes}
    response = Client().post(API, json.dumps(body), content_type="application/json", **bearer(write_token), **EN)
    assert response.status_code == 400
    assert api_json(response)["error"]["fields"][field] == [message]
    assert contracts_of(tenant) == []


def put_document(token: str, contract_id: int, name: str, content: bytes, **extra: Any):
    return Client().put(
        f"{API}{contract_id}/document/",
        encode_multipart(BOUNDARY, {"document": upload(name, content)}),
        content_type=MULTIPART_CONTENT,
        **bearer(token),
        **EN,
        **extra,
    )


def test_the_api_uploads_and_removes_the_document(tenant, write_token, account, contract):
    response = put_document(write_token, contract.pk, "合同.docx", DOCX)
    assert response.status_code == 200, response.content
    data = api_json(response)
    assert (data["document_name"], data["document_size"]) == ("合同.docx", len(DOCX))
    assert data["document_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert data["document_url"] == (f"http://testserver/t/acme/accounts/{account.pk}/contracts/{contract.pk}/document/")
    removed = Client().delete(f"{API}{contract.pk}/document/", **bearer(write_token))
    assert removed.status_code == 200 and api_json(removed)["document_url"] is None


def test_the_api_refuses_an_executable_renamed_pdf(tenant, write_token, account, contract):
    response = put_document(write_token, contract.pk, "invoice.pdf", EXE)
    assert response.status_code == 400
    assert api_json(response)["error"]["fields"]["document"][0].startswith("This file is a program, not a document")
    assert contracts_of(tenant)[0].document.name == ""


def test_the_api_refuses_a_30_mb_document_unread(tenant, write_token, contract):
    response = Client().put(f"{API}{contract.pk}/document/", **declared(30 * MB), **bearer(write_token), **EN)
    assert response.status_code == 413
    assert api_json(response)["error"]["message"] == "The document is 30.0 MB; the limit is 20 MB."


def test_the_api_hides_another_tenants_contracts(tenant, other_tenant, outsider_token, write_token, contract):
    foreign = ContractFactory(tenant=other_tenant)
    assert [row["id"] for row in api_json(Client().get(API, **bearer(write_token)))["results"]] == [contract.pk]
    assert Client().get(f"{API}{foreign.pk}/", **bearer(write_token)).status_code == 404
    assert put_document(outsider_token, contract.pk, "a.pdf", PDF).status_code == 404
    assert contracts_of(tenant)[0].document.name == ""


# --- the demo --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("industry", ["manufacturing", "consulting"])
def test_the_demo_has_every_ip_state_and_an_unprotected_key_account(industry):
    # given: a demo tenant as seed_demo makes it (accounts, then the score runs that tier them)
    # (the slugs of seed_demo: the demo's random draws, and so its tiers, are seeded by them)
    slug = "huadong" if industry == "manufacturing" else "zhice"
    tenant = kam_services.tenant_create(slug=slug, name=f"演示 {industry}", industry_profile=industry)
    people = {}
    for role in Role.values:
        user = kam_services.user_get_or_create(
            email=f"{role}@{industry}.example.com", password="x" * 12, full_name=role
        )
        kam_services.membership_create(tenant=tenant, user=user, role=role)
        people[role] = user
    for label in ("accounts", "scoring"):
        apps.get_app_config(label).load_demo(tenant, people)
    today = tenant_today(tenant)
    with tenant_context(tenant):
        contracts = list(Contract.objects.select_related("account"))
    # then: every IP state, confidentiality in force and lapsed included
    assert {contract.ip_ownership for contract in contracts} == set(IpOwnership.values)
    customer_confidential = [c for c in contracts if c.ip_ownership == "customer" and c.ip_protected(today)]
    lapsed = [c for c in contracts if c.confidentiality_until is not None and c.confidentiality_until < today]
    assert customer_confidential and lapsed
    # and an S or A account whose active contracts protect nothing, while the others are protected
    key_accounts: dict[str, list[Contract]] = {}
    for contract in contracts:
        if contract.account.tier in (Tier.S, Tier.A) and contract.is_active(today):
            key_accounts.setdefault(contract.account.name, []).append(contract)
    unprotected = sorted(
        name for name, active in key_accounts.items() if not any(c.ip_protected(today) for c in active)
    )
    assert unprotected == (["远航船舶重工"] if industry == "manufacturing" else ["国泰银行·信用卡中心"])
    assert len(key_accounts) > len(unprotected)


def test_without_javascript_the_form_is_a_page_and_saving_goes_back_to_the_tab(tenant, manager, account):
    client = client_in(manager)
    page = client.get(f"{base(account)}/new/").content.decode()
    assert "<h1>Add contract</h1>" in page and "hx-post" not in page
    response = client.post(f"{base(account)}/new/", {**form_data(), "document": upload("合同.xlsx", XLSX)})
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/accounts/{account.pk}/?tab=contracts"
    assert [contract.document_name for contract in contracts_of(tenant)] == ["合同.xlsx"]
