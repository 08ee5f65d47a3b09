"""The renewals API: list with its filters, retrieve with an ETag, PATCH of owner, due date and
note, POST move and sign; bad input answers 400 with the field and writes nothing; a member of
another account gets 404, an executive 403 on writes, a read token 403; another tenant's
renewals are 404 and never listed; the list's queries do not grow with its rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Contract
from kam.models import AuditLog
from kam.tenancy import tenant_context
from renewals.models import Renewal
from tests.accounts.test_api import NOT_FOUND, READ_ONLY
from tests.conftest import bearer, login
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/renewals/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _client(token: str) -> tuple[Client, dict[str, str]]:
    return Client(), {**bearer(token), **EN}


def _read(tenant, renewal):
    with tenant_context(tenant):
        return Renewal.objects.get(pk=renewal.pk)


def test_list_filters_and_retrieve(tenant, write_token, make_renewal, manager, director, account, today):
    ready = make_renewal("prepare", ends_in=40)
    late = make_renewal("negotiating", ends_in=-4, value=Decimal("250000"))
    lost = make_renewal("lost", ends_in=90)
    other_account = AccountFactory(tenant=tenant, owner=director, tier="C")
    with tenant_context(tenant):
        Renewal.objects.filter(pk=lost.pk).update(owner=director, account=other_account)
    client, headers = _client(write_token)

    def ids(**query):
        response = client.get(API, query, **headers)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    # by due date: the one past its end was due earliest
    assert ids() == [late.pk, ready.pk, lost.pk]
    assert ids(stage="prepare") == [ready.pk]
    assert ids(stage=["prepare", "lost"]) == [ready.pk, lost.pk]
    assert ids(open="true") == [late.pk, ready.pk]
    assert ids(overdue="true") == [late.pk]
    assert ids(overdue="false") == [ready.pk, lost.pk]
    assert ids(owner=manager.pk) == [late.pk, ready.pk]
    assert ids(account=other_account.pk) == [lost.pk]
    assert ids(tier="C") == [lost.pk]
    detail = client.get(f"{API}{late.pk}/", **headers)
    assert detail.status_code == 200 and detail["ETag"]
    data = detail.json()
    assert data["stage"] == "negotiating" and data["overdue"] is True and data["value"] == "250000.00"
    assert (
        data["contract"] == late.contract_id and data["contract_end_on"] == (today - dt.timedelta(days=4)).isoformat()
    )
    assert data["owner"] == manager.pk and data["next_contract"] is None and data["closed_at"] is None
    for bad in ({"stage": "won"}, {"owner": "x"}, {"account": "1.5"}, {"due_after": "someday"}):
        response = client.get(API, bad, **headers)
        assert response.status_code == 400, bad


def test_patch_owner_due_date_and_note(tenant, write_token, make_renewal, director, outsider):
    renewal = make_renewal()
    client, headers = _client(write_token)
    response = client.patch(
        f"{API}{renewal.pk}/",
        {"owner": director.pk, "due_on": "2026-12-20", "note": "约采购总监面谈", "stage": "signed"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200, response.content
    data = response.json()
    # the stage is not changed by PATCH (move and sign do it)
    assert (data["owner"], data["due_on"], data["note"], data["stage"]) == (
        director.pk,
        "2026-12-20",
        "约采购总监面谈",
        "prepare",
    )
    assert response["ETag"] == client.get(f"{API}{renewal.pk}/", **headers)["ETag"]
    # another tenant's person is an id that does not exist
    refused = client.patch(f"{API}{renewal.pk}/", {"owner": outsider.pk}, content_type="application/json", **headers)
    assert refused.status_code == 400 and "owner" in refused.json()["error"]["fields"]
    assert _read(tenant, renewal).owner_id == director.pk
    stale = client.patch(
        f"{API}{renewal.pk}/", {"note": "x"}, content_type="application/json", HTTP_IF_MATCH='"stale"', **headers
    )
    assert stale.status_code == 412 and _read(tenant, renewal).note == "约采购总监面谈"


def test_move_and_lost_needs_a_reason(tenant, write_token, make_renewal):
    renewal = make_renewal()
    client, headers = _client(write_token)
    move = f"{API}{renewal.pk}/move/"
    response = client.post(move, {"stage": "proposed"}, content_type="application/json", **headers)
    assert response.status_code == 200 and response.json()["stage"] == "proposed"
    skipped = client.post(move, {"stage": "prepare"}, content_type="application/json", **headers)
    assert skipped.status_code == 400
    assert skipped.json()["error"]["fields"]["stage"] == ["A renewal cannot move from Proposed to Preparing."]
    no_reason = client.post(move, {"stage": "lost"}, content_type="application/json", **headers)
    assert no_reason.status_code == 400
    assert no_reason.json()["error"]["fields"] == {"reason": ["Say why the renewal was lost."]}
    assert _read(tenant, renewal).stage == "proposed"
    lost = client.post(move, {"stage": "lost", "reason": "预算冻结"}, content_type="application/json", **headers)
    assert lost.status_code == 200 and lost.json()["lost_reason"] == "预算冻结" and lost.json()["closed_at"]
    unknown = client.post(move, {"stage": "won"}, content_type="application/json", **headers)
    assert unknown.status_code == 400 and "stage" in unknown.json()["error"]["fields"]


def test_sign_creates_the_next_contract(tenant, write_token, make_renewal):
    renewal = make_renewal("negotiating")
    client, headers = _client(write_token)
    sign = f"{API}{renewal.pk}/sign/"
    bad = client.post(
        sign, {"start_on": "2030-03-01", "end_on": "2030-02-01"}, content_type="application/json", **headers
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"end_on": ["The new contract must end after it starts."]}
    with tenant_context(tenant):
        assert not Contract.objects.filter(renewal_of_id=renewal.contract_id).exists()
    response = client.post(
        sign,
        {"start_on": "2030-01-01", "end_on": "2030-12-31", "value": "1100000.00", "title": "续签框架协议"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["stage"] == "signed" and data["next_contract"]
    with tenant_context(tenant):
        following = Contract.objects.get(pk=data["next_contract"])
        assert AuditLog.objects.filter(object_type="renewals.renewal", object_id=str(renewal.pk)).exists()
    assert (following.title, following.start_on, following.value) == (
        "续签框架协议",
        dt.date(2030, 1, 1),
        Decimal("1100000"),
    )
    assert following.renewal_of_id == renewal.contract_id
    again = client.post(sign, {}, content_type="application/json", **headers)
    assert again.status_code == 400


def test_permissions_of_people(tenant, make_renewal, member, executive, manager, director):
    renewal = make_renewal()
    other = AccountFactory(tenant=tenant, owner=director)
    theirs = make_renewal()
    with tenant_context(tenant):
        Renewal.objects.filter(pk=theirs.pk).update(
            account=other, contract=ContractFactory(tenant=tenant, account=other)
        )
    # a member reads only the renewals of the accounts they own or serve on
    member_client = login(member)
    assert member_client.get(f"{API}{renewal.pk}/", **EN).status_code == 404
    assert member_client.get(API, **EN).json()["results"] == []
    # an executive reads all and writes nothing
    executive_client = login(executive)
    assert executive_client.get(f"{API}{renewal.pk}/", **EN).status_code == 200
    for path, body in (("move/", {"stage": "proposed"}), ("sign/", {})):
        assert (
            executive_client.post(f"{API}{renewal.pk}/{path}", body, content_type="application/json").status_code == 403
        )
    assert (
        executive_client.patch(f"{API}{renewal.pk}/", {"note": "x"}, content_type="application/json").status_code == 403
    )
    # a manager changes the renewals of the accounts they write only
    manager_client = login(manager)
    ok = manager_client.post(f"{API}{renewal.pk}/move/", {"stage": "proposed"}, content_type="application/json")
    assert ok.status_code == 200
    refused = manager_client.post(
        f"{API}{theirs.pk}/move/", {"stage": "proposed"}, content_type="application/json", **EN
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "You may only change the renewals of the accounts you own or serve on."
    assert _read(tenant, theirs).stage == "prepare"


def test_a_read_token_cannot_write(tenant, read_token, make_renewal):
    renewal = make_renewal()
    client, headers = _client(read_token)
    response = client.post(
        f"{API}{renewal.pk}/move/", {"stage": "proposed"}, content_type="application/json", **headers
    )
    assert response.status_code == 403 and response.json() == READ_ONLY
    assert _read(tenant, renewal).stage == "prepare"


def test_another_tenants_renewal_is_404_and_never_listed(tenant, make_renewal, outsider_token):
    renewal = make_renewal()
    client, headers = _client(outsider_token)
    assert client.get(API, **headers).json()["results"] == []
    assert client.get(f"{API}{renewal.pk}/", **headers).json() == NOT_FOUND
    for path, body in (("move/", {"stage": "proposed"}), ("sign/", {})):
        response = client.post(f"{API}{renewal.pk}/{path}", body, content_type="application/json", **headers)
        assert response.status_code == 404
    patch = client.patch(f"{API}{renewal.pk}/", {"note": "x"}, content_type="application/json", **headers)
    assert patch.status_code == 404
    assert _read(tenant, renewal).stage == "prepare" and _read(tenant, renewal).note == ""


def test_the_list_queries_do_not_grow(tenant, write_token, make_renewal, django_assert_max_num_queries):
    make_renewal()
    client, headers = _client(write_token)
    with CaptureQueriesContext(connection) as few:
        client.get(API, **headers)
    for _ in range(5):
        make_renewal()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(API, **headers).json()["results"]) == 6
