"""The accounts REST API (DESIGN section 8): tenant isolation for every resource, token
scopes and session roles, the field names integrators rely on, validation in the one
error shape, idempotent orders, bulk orders and events."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.models import Account, AccountStatus, Contact, Contract, Event, Interaction, Invoice, Order
from accounts.validators import credit_code_check_character
from kam.models import AuditLog, Membership, Role
from kam.tenancy import tenant_context
from tests.conftest import bearer, login, make_token
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    EventFactory,
    InteractionFactory,
    InvoiceFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
INVALID = "The request has invalid fields."
NOT_FOUND = {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
READ_ONLY = {
    "error": {
        "code": "permission_denied",
        "message": "This token is read-only; writing needs a token with the write scope.",
        "fields": {},
    }
}
VALID_CREDIT_CODE = "91110000100012345" + credit_code_check_character("91110000100012345")  # ...45L


def invalid(fields: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": "invalid", "message": INVALID, "fields": fields}}


def no_such(pk: int) -> list[str]:
    return [f'Invalid pk "{pk}" - object does not exist.']


class Api:
    """A JSON client in English, with a bearer token or a logged-in session."""

    def __init__(self, token: str | None = None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.headers = {"HTTP_ACCEPT_LANGUAGE": "en", **(bearer(token) if token else {})}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(API + path, params or {}, **self.headers)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        call = getattr(self.client, method)
        return call(API + path, json.dumps(body), content_type="application/json", **self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.send("post", path, body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.send("patch", path, body)

    def put(self, path: str, body: Any = None) -> Any:
        return self.send("put", path, body)

    def delete(self, path: str) -> Any:
        return self.client.delete(API + path, **self.headers)


def session(user: Any) -> Api:
    return Api(client=login(user))


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def count(tenant: Any, model: type) -> int:
    with tenant_context(tenant):
        return model.objects.count()


def local_iso(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat()


@pytest.fixture
def api(write_token: str) -> Api:
    return Api(write_token)


@pytest.fixture
def read_api(read_token: str) -> Api:
    return Api(read_token)


@pytest.fixture
def outsider_api(outsider_token: str) -> Api:
    return Api(outsider_token)


# --- the account records, for the tests every resource must pass --------------------------------


@dataclass(frozen=True)
class Records:
    model: type
    factory: Callable[..., Any]
    body: Callable[[int], dict[str, Any]]  # a valid create body for an account id
    change: dict[str, Any]  # a valid PATCH body
    field: str  # a field the PATCH changes, to check nothing changed


RECORDS = {
    "contacts": Records(
        Contact,
        ContactFactory,
        lambda account: {"account": account, "name": "王磊", "level": "executive", "buying_role": "decision_maker"},
        {"title": "总经理"},
        "title",
    ),
    "orders": Records(
        Order,
        OrderFactory,
        lambda account: {"account": account, "order_date": "2026-02-01", "amount": "1234.50"},
        {"product_line": "齿轮箱"},
        "product_line",
    ),
    "invoices": Records(
        Invoice,
        InvoiceFactory,
        lambda account: {
            "account": account,
            "number": "FP-2026-001",
            "issued_on": "2026-02-01",
            "due_on": "2026-03-03",
            "amount": "8800.00",
        },
        {"number": "FP-2026-999"},
        "number",
    ),
    "interactions": Records(
        Interaction,
        InteractionFactory,
        lambda account: {
            "account": account,
            "kind": "visit",
            "occurred_at": "2026-03-02T09:30:00+08:00",
            "summary": "拜访",
        },
        {"summary": "改期"},
        "summary",
    ),
    "contracts": Records(
        Contract,
        ContractFactory,
        lambda account: {
            "account": account,
            "title": "2026 年度框架协议",
            "start_on": "2026-01-01",
            "end_on": "2026-12-31",
            "value": "2000000.00",
        },
        {"title": "补充协议"},
        "title",
    ),
}
RECORD_NAMES = list(RECORDS)


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_record_list_shows_only_the_tokens_tenant(api, tenant, other_tenant, account, foreign_account, name):
    # given: two rows here, one in the other tenant
    records = RECORDS[name]
    mine = [records.factory(tenant=tenant, account=account) for _ in range(2)]
    records.factory(tenant=other_tenant, account=foreign_account)
    # when
    response = api.get(f"/{name}/")
    # then
    assert sorted(ids(response)) == sorted(record.pk for record in mine)
    assert response.json()["previous"] is None and response.json()["next"] is None


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_another_tenants_record_is_404_and_unchanged(api, other_tenant, foreign_account, name):
    # given
    records = RECORDS[name]
    foreign = records.factory(tenant=other_tenant, account=foreign_account)
    before = getattr(foreign, records.field)
    # when
    responses = [
        api.get(f"/{name}/{foreign.pk}/"),
        api.patch(f"/{name}/{foreign.pk}/", records.change),
        api.put(f"/{name}/{foreign.pk}/", records.body(foreign_account.pk)),
        api.delete(f"/{name}/{foreign.pk}/"),
    ]
    # then
    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert all(r.json() == NOT_FOUND for r in responses)
    with tenant_context(other_tenant):
        assert getattr(records.model.objects.get(pk=foreign.pk), records.field) == before


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_record_create_with_another_tenants_account_is_400(api, tenant, foreign_account, name):
    # when
    response = api.post(f"/{name}/", RECORDS[name].body(foreign_account.pk))
    # then
    assert response.status_code == 400
    assert response.json() == invalid({"account": no_such(foreign_account.pk)})
    assert count(tenant, RECORDS[name].model) == 0


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_record_cannot_be_moved_to_another_tenants_account(api, tenant, account, foreign_account, name):
    record = RECORDS[name].factory(tenant=tenant, account=account)
    response = api.patch(f"/{name}/{record.pk}/", {"account": foreign_account.pk})
    assert response.status_code == 400
    assert response.json() == invalid({"account": no_such(foreign_account.pk)})
    with tenant_context(tenant):
        assert RECORDS[name].model.objects.get(pk=record.pk).account_id == account.pk


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_record_create_patch_delete_with_a_write_token(api, tenant, account, name):
    records = RECORDS[name]
    # when: create
    created = api.post(f"/{name}/", records.body(account.pk))
    # then
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    # when: change
    changed = api.patch(f"/{name}/{pk}/", records.change)
    assert changed.status_code == 200, changed.content
    assert changed.json()[records.field] == records.change[records.field]
    # when: delete
    assert api.delete(f"/{name}/{pk}/").status_code == 204
    assert count(tenant, records.model) == 0


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_read_token_cannot_write_records(read_api, tenant, account, name):
    # given
    records = RECORDS[name]
    record = records.factory(tenant=tenant, account=account)
    before = getattr(record, records.field)
    # when
    responses = [
        read_api.post(f"/{name}/", records.body(account.pk)),
        read_api.patch(f"/{name}/{record.pk}/", records.change),
        read_api.delete(f"/{name}/{record.pk}/"),
    ]
    # then
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert all(r.json() == READ_ONLY for r in responses)
    assert count(tenant, records.model) == 1
    with tenant_context(tenant):
        assert getattr(records.model.objects.get(pk=record.pk), records.field) == before
    assert read_api.get(f"/{name}/{record.pk}/").status_code == 200


def _queries_for(api: Api, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path, {"page_size": 100})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_record_list_query_count_does_not_grow_with_rows(api, tenant, account, name, django_assert_max_num_queries):
    records = RECORDS[name]
    api.get(f"/{name}/")  # the token's first use records last_used_at; not part of a list's cost
    for _ in range(3):
        records.factory(tenant=tenant, account=account)
    with django_assert_max_num_queries(7):
        three = _queries_for(api, f"/{name}/")
    for _ in range(27):
        records.factory(tenant=tenant, account=account)
    with django_assert_max_num_queries(7):
        thirty = _queries_for(api, f"/{name}/")
    assert three == thirty


def test_outsider_session_gets_404_for_our_records(outsider, account, tenant):
    order = OrderFactory(tenant=tenant, account=account)
    api = session(outsider)
    assert api.get(f"/accounts/{account.pk}/").json() == NOT_FOUND
    assert api.get(f"/orders/{order.pk}/").status_code == 404
    assert ids(api.get("/orders/")) == []


# --- accounts ------------------------------------------------------------------------------------


def test_account_fields_are_the_documented_ones(api, tenant, manager):
    # given
    parent = AccountFactory(tenant=tenant, name="中车集团")
    account = AccountFactory(
        tenant=tenant,
        name="中车华北",
        legal_name="中车华北有限公司",
        credit_code=VALID_CREDIT_CODE,
        industry="轨道交通",
        region="华北",
        parent=parent,
        owner=manager,
        status=AccountStatus.ACTIVE,
        cooperation_since=dt.date(2019, 4, 1),
        tier="A",
        score=Decimal("72.50"),
        health_score=Decimal("64.00"),
        health_band="yellow",
        wallet=Decimal("500000.00"),
        share_of_wallet=Decimal("0.2500"),
        potential_12m=Decimal("375000.00"),
    )
    # when
    response = api.get(f"/accounts/{account.pk}/")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": account.pk,
        "name": "中车华北",
        "legal_name": "中车华北有限公司",
        "credit_code": VALID_CREDIT_CODE,
        "industry": "轨道交通",
        "region": "华北",
        "parent": parent.pk,
        "owner": manager.pk,
        "status": "active",
        "cooperation_since": "2019-04-01",
        "tier": "A",
        "score": 72.5,
        "health_score": 64.0,
        "health_band": "yellow",
        "wallet": "500000.00",
        "share_of_wallet": 0.25,
        "potential_12m": "375000.00",
        "created_at": local_iso(account.created_at),
        "updated_at": local_iso(account.updated_at),
    }
    assert '"score":72.5,' in response.content.decode()  # a JSON number, not a string


def test_account_create_ignores_read_only_fields(api, tenant, manager):
    # when
    response = api.post(
        "/accounts/",
        {
            "name": "华东电力",
            "credit_code": VALID_CREDIT_CODE,
            "owner": manager.pk,
            "status": "prospect",
            "tier": "S",
            "score": 99,
            "health_band": "green",
            "potential_12m": "1.00",
        },
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    with tenant_context(tenant):
        account = Account.objects.get()
    assert body == {
        "id": account.pk,
        "name": "华东电力",
        "legal_name": "",
        "credit_code": VALID_CREDIT_CODE,
        "industry": "",
        "region": "",
        "parent": None,
        "owner": manager.pk,
        "status": "prospect",
        "cooperation_since": None,
        "tier": "",
        "score": None,
        "health_score": None,
        "health_band": "",
        "wallet": None,
        "share_of_wallet": None,
        "potential_12m": None,
        "created_at": local_iso(account.created_at),
        "updated_at": local_iso(account.updated_at),
    }
    assert (account.tier, account.score, account.health_band) == ("", None, "")


def test_account_list_shows_only_the_tokens_tenant(api, tenant, other_tenant, account, foreign_account):
    second = AccountFactory(tenant=tenant, name="Alpha 电气")
    assert ids(api.get("/accounts/")) == [second.pk, account.pk]  # by name


def test_another_tenants_account_is_404_and_unchanged(api, other_tenant, foreign_account):
    responses = [
        api.get(f"/accounts/{foreign_account.pk}/"),
        api.patch(f"/accounts/{foreign_account.pk}/", {"name": "改名"}),
        api.delete(f"/accounts/{foreign_account.pk}/"),
        api.post(f"/accounts/{foreign_account.pk}/archive/"),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert all(r.json() == NOT_FOUND for r in responses)
    with tenant_context(other_tenant):
        unchanged = Account.objects.get(pk=foreign_account.pk)
    assert (unchanged.name, unchanged.status) == ("Globex 客户", "active")


def test_account_with_another_tenants_parent_or_owner_is_400(api, tenant, foreign_account, outsider):
    response = api.post("/accounts/", {"name": "华东电力", "parent": foreign_account.pk, "owner": outsider.pk})
    assert response.status_code == 400
    assert response.json() == invalid({"parent": no_such(foreign_account.pk), "owner": no_such(outsider.pk)})
    assert count(tenant, Account) == 0


def test_account_owner_must_be_an_active_member(api, tenant, manager):
    Membership.objects.filter(user=manager, tenant=tenant).update(is_active=False)
    response = api.post("/accounts/", {"name": "华东电力", "owner": manager.pk})
    assert response.status_code == 400
    assert response.json() == invalid({"owner": no_such(manager.pk)})


def test_read_token_cannot_write_accounts(read_api, tenant, account):
    responses = [
        read_api.post("/accounts/", {"name": "新客户"}),
        read_api.patch(f"/accounts/{account.pk}/", {"name": "改名"}),
        read_api.delete(f"/accounts/{account.pk}/"),
        read_api.post(f"/accounts/{account.pk}/archive/"),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert all(r.json() == READ_ONLY for r in responses)
    with tenant_context(tenant):
        assert list(Account.objects.values_list("name", "status")) == [("中车华北集团", "active")]


def test_account_patch_changes_only_the_given_fields(api, tenant, account):
    response = api.patch(f"/accounts/{account.pk}/", {"region": "华北", "cooperation_since": "2018-06-01"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["region"], response.json()["cooperation_since"]) == (
        "中车华北集团",
        "华北",
        "2018-06-01",
    )
    account.refresh_from_db()
    assert (account.region, account.cooperation_since) == ("华北", dt.date(2018, 6, 1))


def test_account_bad_credit_code_is_400_with_the_message(api, tenant):
    wrong_check = VALID_CREDIT_CODE[:-1] + ("0" if VALID_CREDIT_CODE[-1] != "0" else "1")
    response = api.post("/accounts/", {"name": "华东电力", "credit_code": wrong_check})
    assert response.status_code == 400
    assert response.json() == invalid(
        {"credit_code": ["The check character of this unified social credit code is wrong; please check the code."]}
    )
    assert count(tenant, Account) == 0


def test_account_duplicate_credit_code_is_400(api, tenant):
    AccountFactory(tenant=tenant, credit_code=VALID_CREDIT_CODE)
    response = api.post("/accounts/", {"name": "华东电力", "credit_code": VALID_CREDIT_CODE})
    assert response.status_code == 400
    assert response.json() == invalid(
        {"non_field_errors": ["Another account already has this unified social credit code."]}
    )


def test_account_parent_cycle_is_400(api, tenant):
    # given: group -> subsidiary
    group = AccountFactory(tenant=tenant, name="集团")
    subsidiary = AccountFactory(tenant=tenant, name="子公司", parent=group)
    # when: the group is put under its own subsidiary, or under itself
    cycle = api.patch(f"/accounts/{group.pk}/", {"parent": subsidiary.pk})
    itself = api.patch(f"/accounts/{group.pk}/", {"parent": group.pk})
    # then
    assert cycle.status_code == 400
    assert cycle.json() == invalid({"parent": ["This parent would make a cycle in the group hierarchy."]})
    assert itself.json() == invalid({"parent": ["An account cannot be its own parent."]})
    group.refresh_from_db()
    assert group.parent_id is None


def test_account_delete_without_history(api, tenant):
    prospect = AccountFactory(tenant=tenant, status=AccountStatus.PROSPECT)
    response = api.delete(f"/accounts/{prospect.pk}/")
    assert response.status_code == 204
    assert count(tenant, Account) == 0


def test_account_with_orders_is_not_deleted_but_can_be_archived(api, tenant, account):
    # given
    OrderFactory(tenant=tenant, account=account)
    # when
    deleted = api.delete(f"/accounts/{account.pk}/")
    archived = api.post(f"/accounts/{account.pk}/archive/")
    # then
    assert deleted.status_code == 400
    assert deleted.json() == invalid(
        {
            "non_field_errors": [
                "中车华北集团 has orders or invoices; archive it (status lost) instead of deleting its history."
            ]
        }
    )
    assert archived.status_code == 200
    assert (archived.json()["id"], archived.json()["status"]) == (account.pk, "lost")
    account.refresh_from_db()
    assert account.status == "lost"


def test_account_filters(api, tenant, manager, director):
    # given
    north = AccountFactory(tenant=tenant, name="中车华北", region="华北", industry="轨道交通", owner=manager, tier="A")
    east = AccountFactory(
        tenant=tenant, name="华东电力", legal_name="国网华东", region="华东", status="prospect", owner=director
    )
    coded = AccountFactory(tenant=tenant, name="西部矿业", credit_code=VALID_CREDIT_CODE, health_band="red")
    child = AccountFactory(tenant=tenant, name="中车华北二厂", parent=north)
    # when / then
    assert ids(api.get("/accounts/", {"region": "华北"})) == [north.pk]
    assert ids(api.get("/accounts/", {"industry": "轨道交通"})) == [north.pk]
    assert ids(api.get("/accounts/", {"status": "prospect"})) == [east.pk]
    assert ids(api.get("/accounts/", {"tier": "A"})) == [north.pk]
    assert ids(api.get("/accounts/", {"health_band": "red"})) == [coded.pk]
    assert ids(api.get("/accounts/", {"owner": director.pk})) == [east.pk]
    assert ids(api.get("/accounts/", {"parent": north.pk})) == [child.pk]
    assert ids(api.get("/accounts/", {"q": "华东"})) == [east.pk]  # legal name 国网华东 and name 华东电力
    assert ids(api.get("/accounts/", {"q": VALID_CREDIT_CODE.lower()})) == [coded.pk]
    assert ids(api.get("/accounts/", {"q": "中车"})) == [north.pk, child.pk]


def test_account_updated_after_filter(api, tenant):
    old = AccountFactory(tenant=tenant, name="老客户")
    new = AccountFactory(tenant=tenant, name="新客户")
    with tenant_context(tenant):
        Account.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        Account.objects.filter(pk=new.pk).update(updated_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    assert ids(api.get("/accounts/", {"updated_after": "2026-02-01T00:00:00+08:00"})) == [new.pk]
    assert ids(api.get("/accounts/", {"updated_after": "2026-03-01T08:00:00+08:00"})) == [new.pk]  # inclusive


def test_account_list_orders_and_pages_with_a_cursor(api, tenant):
    # given: five accounts with two equal names (the id breaks the tie)
    names = ["甲", "乙", "乙", "丙", "丁"]
    accounts = [AccountFactory(tenant=tenant, name=name) for name in names]
    expected = [a.pk for a in sorted(accounts, key=lambda a: (a.name, a.pk))]
    # when: pages of two
    seen: list[int] = []
    response = api.get("/accounts/", {"page_size": 2})
    while True:
        seen += ids(response)
        if not response.json()["next"]:
            break
        response = api.client.get(response.json()["next"], **api.headers)
    # then
    assert seen == expected
    assert ids(api.get("/accounts/", {"ordering": "-id"})) == sorted(expected, reverse=True)


def test_account_list_query_count_does_not_grow(api, tenant, manager, django_assert_max_num_queries):
    api.get("/accounts/")
    parent = AccountFactory(tenant=tenant)
    for _ in range(2):
        AccountFactory(tenant=tenant, parent=parent, owner=manager)
    with django_assert_max_num_queries(7):
        three = _queries_for(api, "/accounts/")
    for _ in range(27):
        AccountFactory(tenant=tenant, parent=parent, owner=manager)
    with django_assert_max_num_queries(7):
        thirty = _queries_for(api, "/accounts/")
    assert three == thirty


def test_writes_are_audited_with_the_token_or_the_user(tenant, manager, account):
    # given
    token, raw = make_token(tenant, "write", name="ERP")
    # when
    Api(raw).patch(f"/accounts/{account.pk}/", {"region": "华北"})
    session(manager).patch(f"/accounts/{account.pk}/", {"industry": "轨道交通"})
    # then
    with tenant_context(tenant):
        entries = list(
            AuditLog.objects.filter(object_type="accounts.account", action="update")
            .order_by("id")
            .values_list("actor_token_id", "actor_user_id", "changes")
        )
    assert entries == [
        (token.pk, None, {"region": ["", "华北"]}),
        (None, manager.pk, {"industry": ["", "轨道交通"]}),
    ]


# --- sessions and roles ---------------------------------------------------------------------------


def test_member_session_sees_only_their_accounts_and_records(tenant, member, account):
    # given: the member owns one account; the manager's account is not theirs
    own = AccountFactory(tenant=tenant, name="自有客户", owner=member)
    own_order = OrderFactory(tenant=tenant, account=own)
    OrderFactory(tenant=tenant, account=account)
    api = session(member)
    # when / then
    assert ids(api.get("/accounts/")) == [own.pk]
    assert api.get(f"/accounts/{account.pk}/").json() == NOT_FOUND
    assert ids(api.get("/orders/")) == [own_order.pk]
    assert api.get(f"/accounts/{account.pk}/events/").status_code == 404


def test_member_cannot_write_accounts_or_orders(tenant, member):
    own = AccountFactory(tenant=tenant, owner=member)
    api = session(member)
    assert api.patch(f"/accounts/{own.pk}/", {"name": "改名"}).status_code == 403
    assert api.post("/orders/", RECORDS["orders"].body(own.pk)).status_code == 403
    assert count(tenant, Order) == 0


def test_member_logs_interactions_on_their_accounts_only(tenant, member, account):
    own = AccountFactory(tenant=tenant, owner=member)
    api = session(member)
    # when
    logged = api.post("/interactions/", RECORDS["interactions"].body(own.pk))
    refused = api.post("/interactions/", RECORDS["interactions"].body(account.pk))
    # then
    assert logged.status_code == 201, logged.content
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "You may only log interactions on the accounts you serve."
    with tenant_context(tenant):
        interaction = Interaction.objects.get()
    assert (interaction.account_id, interaction.user_id) == (own.pk, member.pk)


def test_member_changes_only_the_interactions_they_logged(tenant, member, manager):
    own = AccountFactory(tenant=tenant, owner=member)
    theirs = InteractionFactory(tenant=tenant, account=own, user=manager)
    response = session(member).patch(f"/interactions/{theirs.pk}/", {"summary": "改"})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "You may only change the interactions you logged."


def test_manager_cannot_patch_another_managers_account(tenant, manager, account):
    # given: a second manager with an account of her own
    other_manager = UserFactory(email="mia@acme.test")
    Membership.objects.create(tenant=tenant, user=other_manager, role=Role.MANAGER)
    theirs = AccountFactory(tenant=tenant, name="她的客户", owner=other_manager)
    api = session(manager)
    # when
    refused = api.patch(f"/accounts/{theirs.pk}/", {"name": "改名"})
    allowed = api.patch(f"/accounts/{account.pk}/", {"region": "华北"})
    order_refused = api.post("/orders/", RECORDS["orders"].body(theirs.pk))
    # then
    assert refused.status_code == 403
    assert refused.json() == {
        "error": {
            "code": "permission_denied",
            "message": "You may only change the accounts you own or serve on.",
            "fields": {},
        }
    }
    assert allowed.status_code == 200
    assert order_refused.status_code == 403
    theirs.refresh_from_db()
    assert theirs.name == "她的客户"
    assert sorted(ids(api.get("/accounts/"))) == sorted([theirs.pk, account.pk])  # managers read every account


def test_manager_creating_an_account_owns_it(tenant, manager):
    response = session(manager).post("/accounts/", {"name": "新客户"})
    assert response.status_code == 201
    assert response.json()["owner"] == manager.pk


def test_executive_reads_but_does_not_write(tenant, executive, account):
    api = session(executive)
    assert ids(api.get("/accounts/")) == [account.pk]
    response = api.post("/accounts/", {"name": "新客户"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_director_writes_any_account(tenant, director, account):
    response = session(director).patch(f"/accounts/{account.pk}/", {"status": "dormant"})
    assert response.status_code == 200
    assert response.json()["status"] == "dormant"


def test_member_list_query_count_does_not_grow(tenant, member, django_assert_max_num_queries):
    api = session(member)
    for _ in range(3):
        AccountFactory(tenant=tenant, owner=member)
    three = _queries_for(api, "/accounts/")
    for _ in range(27):
        AccountFactory(tenant=tenant, owner=member)
    with django_assert_max_num_queries(8):
        thirty = _queries_for(api, "/accounts/")
    assert three == thirty


# --- orders ----------------------------------------------------------------------------------------


def test_order_fields_money_as_strings(api, tenant, account):
    # when
    response = api.post(
        "/orders/",
        {
            "account": account.pk,
            "order_date": "2026-02-01",
            "amount": "123.45",
            "cost": 100,
            "product_line": "精密轴承",
            "external_ref": "ERP-0001",
        },
    )
    # then
    assert response.status_code == 201, response.content
    with tenant_context(tenant):
        order = Order.objects.get()
    assert response.json() == {
        "id": order.pk,
        "account": account.pk,
        "order_date": "2026-02-01",
        "amount": "123.45",
        "cost": "100.00",
        "product_line": "精密轴承",
        "offering": "",
        "buying_centre": "",
        "external_ref": "ERP-0001",
    }
    assert (order.amount, order.cost) == (Decimal("123.45"), Decimal("100.00"))


def test_order_post_is_idempotent_by_external_ref(api, tenant, account):
    body = {"account": account.pk, "order_date": "2026-02-01", "amount": "500.00", "external_ref": "ERP-7"}
    first = api.post("/orders/", body)
    again = api.post("/orders/", {**body, "amount": "999.00"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()  # the recorded order, unchanged
    assert count(tenant, Order) == 1


def test_order_external_ref_of_another_tenant_does_not_collide(api, tenant, other_tenant, account, foreign_account):
    OrderFactory(tenant=other_tenant, account=foreign_account, external_ref="ERP-7")
    response = api.post(
        "/orders/", {"account": account.pk, "order_date": "2026-02-01", "amount": "1.00", "external_ref": "ERP-7"}
    )
    assert response.status_code == 201
    assert response.json()["account"] == account.pk


@pytest.mark.parametrize("amount", ["0", "-5", "0.00"])
def test_order_amount_must_be_positive(api, tenant, account, amount):
    response = api.post("/orders/", {"account": account.pk, "order_date": "2026-02-01", "amount": amount})
    assert response.status_code == 400
    assert response.json() == invalid({"amount": ["Ensure this value is greater than or equal to 0.01."]})
    assert count(tenant, Order) == 0


def test_order_string_where_a_number_is_expected(api, tenant, account):
    response = api.post("/orders/", {"account": "zwei", "order_date": "01/02/2026", "amount": "lots"})
    assert response.status_code == 400
    assert response.json() == invalid(
        {
            "account": ["Incorrect type. Expected pk value, received str."],
            "order_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
            "amount": ["A valid number is required."],
        }
    )


def test_order_filters(api, tenant, account):
    other = AccountFactory(tenant=tenant)
    january = OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 1, 10), product_line="轴承")
    february = OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 2, 10), external_ref="E-2")
    march = OrderFactory(tenant=tenant, account=other, order_date=dt.date(2026, 3, 10))
    assert ids(api.get("/orders/", {"account": account.pk})) == [february.pk, january.pk]
    assert ids(api.get("/orders/", {"order_date_after": "2026-02-10"})) == [march.pk, february.pk]
    assert ids(api.get("/orders/", {"order_date_before": "2026-02-10"})) == [february.pk, january.pk]
    assert ids(api.get("/orders/", {"product_line": "轴承"})) == [january.pk]
    assert ids(api.get("/orders/", {"external_ref": "E-2"})) == [february.pk]


# --- orders/bulk -----------------------------------------------------------------------------------


def _batch(account_id: int) -> list[dict[str, Any]]:
    return [
        {"account": account_id, "order_date": "2026-01-05", "amount": "100.00", "external_ref": "B-1"},
        {"account": account_id, "order_date": "2026-01-06", "amount": "200.50", "external_ref": "B-2"},
        {"account": account_id, "order_date": "2026-01-07", "amount": 300, "cost": "120", "external_ref": "B-3"},
    ]


def test_bulk_sent_twice_creates_nothing_the_second_time(api, tenant, account):
    # when
    first = api.post("/orders/bulk/", _batch(account.pk))
    second = api.post("/orders/bulk/", _batch(account.pk))
    # then
    assert (first.status_code, first.json()) == (201, {"created": 3, "already_existed": 0})
    assert (second.status_code, second.json()) == (200, {"created": 0, "already_existed": 3})
    with tenant_context(tenant):
        assert sorted(Order.objects.values_list("external_ref", "amount")) == [
            ("B-1", Decimal("100.00")),
            ("B-2", Decimal("200.50")),
            ("B-3", Decimal("300.00")),
        ]


def test_bulk_accepts_an_object_and_counts_new_and_old(api, tenant, account):
    api.post("/orders/bulk/", _batch(account.pk)[:2])
    response = api.post("/orders/bulk/", {"orders": _batch(account.pk)})
    assert (response.status_code, response.json()) == (201, {"created": 1, "already_existed": 2})
    assert count(tenant, Order) == 3


def test_bulk_with_one_bad_row_writes_nothing(api, tenant, account, foreign_account):
    # given: row 1 has a zero amount, row 3 another tenant's account
    rows = _batch(account.pk)
    rows[1]["amount"] = "0"
    rows.append({"account": foreign_account.pk, "order_date": "2026-01-08", "amount": "1.00"})
    rows.append("not an order")
    # when
    response = api.post("/orders/bulk/", rows)
    # then
    assert response.status_code == 400
    assert response.json() == invalid(
        {
            "rows": {
                "1": {"amount": ["Ensure this value is greater than or equal to 0.01."]},
                "3": {"account": no_such(foreign_account.pk)},
                "4": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
            }
        }
    )
    assert count(tenant, Order) == 0


def test_bulk_refuses_more_than_ten_thousand_orders(api, tenant, account):
    row = {"account": account.pk, "order_date": "2026-01-05", "amount": "1.00"}
    response = api.post("/orders/bulk/", [row] * 10_001)
    assert response.status_code == 400
    assert response.json() == invalid(
        {"orders": ["At most 10,000 orders per call; this one has 10,001. Send them in smaller batches."]}
    )
    assert count(tenant, Order) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"order": []}, 'Send a JSON list of orders, or an object {"orders": [...]}.'),
        ("orders", 'Send a JSON list of orders, or an object {"orders": [...]}.'),
        ([], "Send at least one order."),
    ],
)
def test_bulk_body_must_be_a_list_of_orders(api, tenant, body, message):
    response = api.post("/orders/bulk/", body)
    assert response.status_code == 400
    assert response.json() == invalid({"orders": [message]})


def test_bulk_repeated_external_ref_in_one_batch_is_400(api, tenant, account):
    rows = _batch(account.pk)
    rows[2]["external_ref"] = "B-1"
    response = api.post("/orders/bulk/", rows)
    assert response.status_code == 400
    assert response.json() == invalid(
        {"non_field_errors": ["These external references appear more than once in the batch: B-1"]}
    )
    assert count(tenant, Order) == 0


def test_bulk_needs_a_write_token_and_a_writable_account(read_api, tenant, manager, account):
    other = AccountFactory(tenant=tenant, name="别人的客户")
    assert read_api.post("/orders/bulk/", _batch(account.pk)).json() == READ_ONLY
    refused = session(manager).post("/orders/bulk/", _batch(account.pk)[:1] + _batch(other.pk)[1:])
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        f"You may only add orders to the accounts you own or serve on; not to: {other.pk}"
    )
    assert count(tenant, Order) == 0


def test_bulk_resolves_accounts_with_one_query(api, tenant, account, django_assert_max_num_queries):
    # given: orders of ten accounts
    accounts = [AccountFactory(tenant=tenant) for _ in range(10)]
    rows = [
        {"account": a.pk, "order_date": "2026-01-05", "amount": "1.00", "external_ref": f"R-{n}"}
        for n, a in enumerate(accounts)
    ]
    api.get("/accounts/")
    # when
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/orders/bulk/", rows)
    # then
    assert response.json() == {"created": 10, "already_existed": 0}
    account_reads = [q for q in queries if 'FROM "accounts_account"' in q["sql"]]
    assert len(account_reads) == 1


# --- invoices, contacts, interactions, contracts ----------------------------------------------------


def test_invoice_fields(api, tenant, account):
    response = api.post("/invoices/", RECORDS["invoices"].body(account.pk))
    assert response.status_code == 201
    with tenant_context(tenant):
        invoice = Invoice.objects.get()
    assert response.json() == {
        "id": invoice.pk,
        "account": account.pk,
        "number": "FP-2026-001",
        "issued_on": "2026-02-01",
        "due_on": "2026-03-03",
        "amount": "8800.00",
        "paid_on": None,
        "paid_amount": None,
    }


def test_invoice_due_before_issue_is_400(api, tenant, account):
    body = {**RECORDS["invoices"].body(account.pk), "due_on": "2026-01-31"}
    response = api.post("/invoices/", body)
    assert response.status_code == 400
    assert response.json() == invalid({"due_on": ["The due date cannot be before the issue date."]})
    assert count(tenant, Invoice) == 0


def test_invoice_filters(api, tenant, account):
    today = timezone.localdate()
    overdue = InvoiceFactory(
        tenant=tenant, account=account, issued_on=today - dt.timedelta(days=60), due_on=today - dt.timedelta(days=30)
    )
    paid = InvoiceFactory(
        tenant=tenant,
        account=account,
        issued_on=today - dt.timedelta(days=60),
        due_on=today - dt.timedelta(days=29),
        paid_on=today - dt.timedelta(days=40),
        paid_amount=Decimal("50000.00"),
    )
    open_ = InvoiceFactory(tenant=tenant, account=account, issued_on=today, due_on=today + dt.timedelta(days=30))
    assert ids(api.get("/invoices/", {"overdue": "true"})) == [overdue.pk]
    assert sorted(ids(api.get("/invoices/", {"overdue": "false"}))) == sorted([paid.pk, open_.pk])
    assert sorted(ids(api.get("/invoices/", {"due_after": (today - dt.timedelta(days=29)).isoformat()}))) == sorted(
        [paid.pk, open_.pk]
    )
    assert ids(api.get("/invoices/", {"due_before": (today - dt.timedelta(days=30)).isoformat()})) == [overdue.pk]


def test_contact_fields_and_filters(api, tenant, account):
    boss = ContactFactory(tenant=tenant, account=account, name="张总", level="executive", attitude="champion")
    response = api.post(
        "/contacts/",
        {
            "account": account.pk,
            "name": "李工",
            "title": "设备主管",
            "department": "设备部",
            "level": "operational",
            "buying_role": "technical_buyer",
            "attitude": "supporter",
            "reports_to": boss.pk,
            "email": "li@crrc.test",
            "phone": "13800000000",
            "left_on": "2026-02-28",
        },
    )
    assert response.status_code == 201, response.content
    with tenant_context(tenant):
        contact = Contact.objects.get(name="李工")
    assert response.json() == {
        "id": contact.pk,
        "account": account.pk,
        "name": "李工",
        "title": "设备主管",
        "department": "设备部",
        "level": "operational",
        "buying_role": "technical_buyer",
        "attitude": "supporter",
        "reports_to": boss.pk,
        "email": "li@crrc.test",
        "phone": "13800000000",
        "left_on": "2026-02-28",
        "created_at": local_iso(contact.created_at),
        "updated_at": local_iso(contact.updated_at),
    }
    assert ids(api.get("/contacts/", {"left": "true"})) == [contact.pk]
    assert ids(api.get("/contacts/", {"left": "false"})) == [boss.pk]
    assert ids(api.get("/contacts/", {"level": "executive", "attitude": "champion"})) == [boss.pk]
    assert ids(api.get("/contacts/", {"buying_role": "technical_buyer", "account": account.pk})) == [contact.pk]


def test_contact_reports_to_another_tenants_contact_is_400(api, tenant, other_tenant, account, foreign_account):
    foreign_boss = ContactFactory(tenant=other_tenant, account=foreign_account)
    response = api.post("/contacts/", {"account": account.pk, "name": "李工", "reports_to": foreign_boss.pk})
    assert response.status_code == 400
    assert response.json() == invalid({"reports_to": no_such(foreign_boss.pk)})
    assert count(tenant, Contact) == 0


def test_interaction_fields_and_filters(api, tenant, account):
    contact = ContactFactory(tenant=tenant, account=account)
    response = api.post(
        "/interactions/",
        {
            "account": account.pk,
            "contact": contact.pk,
            "kind": "complaint",
            "occurred_at": "2026-03-02T01:30:00Z",
            "summary": "交付延期投诉",
        },
    )
    assert response.status_code == 201, response.content
    with tenant_context(tenant):
        interaction = Interaction.objects.get()
    assert response.json() == {
        "id": interaction.pk,
        "account": account.pk,
        "contact": contact.pk,
        "kind": "complaint",
        "occurred_at": "2026-03-02T09:30:00+08:00",
        "summary": "交付延期投诉",
    }
    assert interaction.user_id is None  # a token is no person
    earlier = InteractionFactory(tenant=tenant, account=account, occurred_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    assert ids(api.get("/interactions/", {"kind": "complaint"})) == [interaction.pk]
    assert ids(api.get("/interactions/", {"occurred_after": "2026-03-02T09:30:00+08:00"})) == [interaction.pk]
    assert ids(api.get("/interactions/", {"occurred_before": "2026-02-01T00:00:00Z"})) == [earlier.pk]


def test_interaction_contact_of_another_account_is_400(api, tenant, account):
    elsewhere = ContactFactory(tenant=tenant)
    body = {**RECORDS["interactions"].body(account.pk), "contact": elsewhere.pk}
    response = api.post("/interactions/", body)
    assert response.status_code == 400
    assert response.json() == invalid({"contact": ["Choose a contact of this account."]})


def test_contract_fields_and_filters(api, tenant, account):
    # ip_clause is read-only now (deprecated for ip_ownership): sent, it is ignored
    body = {**RECORDS["contracts"].body(account.pk), "auto_renew": True, "ip_clause": True, "ip_ownership": "joint"}
    response = api.post("/contracts/", body)
    assert response.status_code == 201
    with tenant_context(tenant):
        contract = Contract.objects.get()
    assert response.json() == {
        "id": contract.pk,
        "account": account.pk,
        "title": "2026 年度框架协议",
        "start_on": "2026-01-01",
        "end_on": "2026-12-31",
        "value": "2000000.00",
        "auto_renew": True,
        "ip_clause": True,  # joint: the IP is (partly) ours
        "exclusivity": False,
        "notice_days": 90,
        "ip_ownership": "joint",
        "confidentiality_until": None,
        "non_solicit": False,
        "liability_cap": None,
        "renewal_of": None,
        "ip_protected": True,
        "document_name": "",
        "document_size": None,
        "document_type": "",
        "document_url": None,
    }
    short = ContractFactory(tenant=tenant, account=account, end_on=dt.date(2026, 6, 30))
    assert ids(api.get("/contracts/", {"ending_before": "2026-06-30"})) == [short.pk]


# --- events ----------------------------------------------------------------------------------------


def test_event_defaults_fill_impact_and_expiry(api, tenant, account):
    # when: a major investment with no impact or expiry given
    response = api.post(
        f"/accounts/{account.pk}/events/",
        {"kind": "major_investment", "occurred_on": "2026-03-01", "note": "新建智能工厂"},
    )
    # then: +10 for 180 days; 2026-03-01 + 180 days = 2026-08-28 (30 + 30 + 31 + 30 + 31 + 28)
    assert response.status_code == 201, response.content
    with tenant_context(tenant):
        event = Event.objects.get()
    assert response.json() == {
        "id": event.pk,
        "account": account.pk,
        "kind": "major_investment",
        "occurred_on": "2026-03-01",
        "impact_points": 10.0,
        "expires_on": "2026-08-28",
        "note": "新建智能工厂",
    }
    assert (event.impact_points, event.expires_on) == (Decimal("10.00"), dt.date(2026, 8, 28))


def test_event_given_impact_and_expiry_win(api, tenant, account):
    response = api.post(
        f"/accounts/{account.pk}/events/",
        {"kind": "budget_cut", "occurred_on": "2026-03-01", "impact_points": "-7.5", "expires_on": "2026-04-01"},
    )
    assert response.status_code == 201
    assert (response.json()["impact_points"], response.json()["expires_on"]) == (-7.5, "2026-04-01")


def test_event_list_shows_only_that_accounts_events(api, tenant, account):
    mine = EventFactory(tenant=tenant, account=account)
    EventFactory(tenant=tenant)  # another account's
    assert ids(api.get(f"/accounts/{account.pk}/events/")) == [mine.pk]


def test_events_of_another_tenants_account_are_404(api, other_tenant, foreign_account):
    EventFactory(tenant=other_tenant, account=foreign_account)
    listed = api.get(f"/accounts/{foreign_account.pk}/events/")
    created = api.post(f"/accounts/{foreign_account.pk}/events/", {"kind": "merger", "occurred_on": "2026-03-01"})
    assert (listed.status_code, created.status_code) == (404, 404)
    assert listed.json() == created.json() == NOT_FOUND
    assert count(other_tenant, Event) == 1


def test_event_validation_and_scope(api, read_api, tenant, account):
    bad = api.post(f"/accounts/{account.pk}/events/", {"kind": "windfall", "occurred_on": "2026-03-01"})
    assert bad.status_code == 400
    assert bad.json() == invalid({"kind": ['"windfall" is not a valid choice.']})
    expired = api.post(
        f"/accounts/{account.pk}/events/",
        {"kind": "merger", "occurred_on": "2026-03-01", "expires_on": "2026-02-01"},
    )
    assert expired.json() == invalid({"non_field_errors": ["An event must expire after the day it occurred."]})
    read_only = read_api.post(f"/accounts/{account.pk}/events/", {"kind": "merger", "occurred_on": "2026-03-01"})
    assert read_only.json() == READ_ONLY
    assert count(tenant, Event) == 0


def test_event_needs_a_writable_account(tenant, manager):
    theirs = AccountFactory(tenant=tenant)
    response = session(manager).post(f"/accounts/{theirs.pk}/events/", {"kind": "merger", "occurred_on": "2026-03-01"})
    assert response.status_code == 403
    assert count(tenant, Event) == 0


def test_event_list_query_count_does_not_grow(api, tenant, account, django_assert_max_num_queries):
    api.get("/accounts/")
    for _ in range(3):
        EventFactory(tenant=tenant, account=account)
    three = _queries_for(api, f"/accounts/{account.pk}/events/")
    for _ in range(27):
        EventFactory(tenant=tenant, account=account)
    with django_assert_max_num_queries(8):
        thirty = _queries_for(api, f"/accounts/{account.pk}/events/")
    assert three == thirty


# --- bad input is 4xx, never 500 ---------------------------------------------------------------------


def test_malformed_json_is_400(write_token, account):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        f"{API}/orders/", '{"account": 1, "amount": ', content_type="application/json", **bearer(write_token)
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert response.json()["error"]["message"].startswith("JSON parse error")


def test_wrong_content_type_is_415(write_token, account):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        f"{API}/orders/", "account=1", content_type="text/csv", **bearer(write_token)
    )
    assert response.status_code == 415
    assert response.json() == {
        "error": {
            "code": "unsupported_media_type",
            "message": 'Unsupported media type "text/csv" in request.',
            "fields": {},
        }
    }


def test_huge_page_size_is_capped_at_500(api, tenant, account):
    services.orders_bulk_create(
        tenant,
        rows=[{"account": account, "order_date": dt.date(2026, 1, 1), "amount": Decimal("1")} for _ in range(501)],
    )
    response = api.get("/orders/", {"page_size": 100000})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 500
    assert response.json()["next"] is not None


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/orders/", {"account": "abc"}),
        ("/orders/", {"account": "1.5"}),
        ("/orders/", {"account": "99999999999999999999999"}),
        ("/orders/", {"order_date_after": "yesterday"}),
        ("/accounts/", {"updated_after": "soon"}),
        ("/accounts/", {"status": "bankrupt"}),
        ("/interactions/", {"occurred_after": "2026-13-01"}),
    ],
)
def test_bad_filter_values_are_400(api, account, path, params):
    response = api.get(path, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == set(params)


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/99999999999999999999999/",
        "/orders/abc/",
        "/accounts/{pk}/events/?cursor=garbage",
        "/accounts/?cursor=garbage",
    ],
)
def test_garbage_ids_and_cursors_are_404(api, account, path):
    response = api.client.get(API + path.format(pk=account.pk), **api.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_huge_related_id_is_400(api, tenant):
    response = api.post("/accounts/", {"name": "x", "parent": 99999999999999999999999})
    assert response.status_code == 400
    assert response.json() == invalid({"parent": no_such(99999999999999999999999)})
    rows = [{"account": 99999999999999999999999, "order_date": "2026-01-01", "amount": "1"}]
    bulk = api.post("/orders/bulk/", rows)
    assert bulk.status_code == 400
    assert bulk.json() == invalid(
        {"rows": {"0": {"account": ["Ensure this value is less than or equal to 9223372036854775807."]}}}
    )


# --- the schema ---------------------------------------------------------------------------------------


def test_schema_documents_the_accounts_api(db):
    response = Client().get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    for path in ("/accounts/", "/accounts/{account_id}/events/", "/orders/", "/orders/bulk/", "/invoices/"):
        assert f"{API}{path}" in schema["paths"]
    account = schema["components"]["schemas"]["Account"]["properties"]
    assert list(account) == [
        "id",
        "name",
        "legal_name",
        "credit_code",
        "industry",
        "region",
        "parent",
        "owner",
        "status",
        "cooperation_since",
        "tier",
        "score",
        "health_score",
        "health_band",
        "wallet",
        "share_of_wallet",
        "potential_12m",
        "created_at",
        "updated_at",
    ]
    operation = schema["paths"][f"{API}/orders/bulk/"]["post"]
    assert operation["summary"]
    assert {"200", "201", "400", "401", "403"} <= set(operation["responses"])
    assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/KamError"
    }
