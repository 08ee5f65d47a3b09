# ruff: noqa: F811  (the fixtures imported from test_opportunities are redefined as arguments)
"""The growth API: opportunities (CRUD, filters, stage moves by PATCH, ETag/If-Match),
offerings (administrators write, everyone reads), buying centres, product line mappings; bad
input answers 400 with the field and writes nothing; another tenant's rows are 404 and never
listed; the OpenAPI schema still builds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from growth.models import BuyingCentre, Offering, Opportunity, ProductLineMapping
from kam.models import AuditLog
from kam.tenancy import tenant_context, tenant_today
from tests.accounts.test_api import NOT_FOUND, READ_ONLY
from tests.conftest import bearer, login
from tests.growth.test_opportunities import growth, make_opportunity  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

API = "/api/v1/opportunities/"


def _client(token: str) -> tuple[Client, dict[str, str]]:
    return Client(), {**bearer(token), "HTTP_ACCEPT_LANGUAGE": "en"}


def test_create_read_and_list_an_opportunity(tenant, growth, write_token, manager):
    client, headers = _client(write_token)
    body = {
        "account": growth.account.pk,
        "buying_centre": growth.centre.pk,
        "offerings": [growth.servo.pk, growth.plc.pk],
        "title": "新产线",
        "amount": "250000.00",
        "expected_close": "2027-06-30",
        "owner": manager.pk,
        "stage": "solution",
    }
    response = client.post(API, body, content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["probability"] == 50 and data["weighted_amount"] == "125000.00"
    assert data["source"] == "manual" and data["version"] == 1 and data["closed_on"] is None
    assert data["offerings"] == sorted([growth.servo.pk, growth.plc.pk])
    detail = client.get(f"{API}{data['id']}/", **headers)
    assert detail.status_code == 200 and detail["ETag"]
    assert detail.json() == data
    listed = client.get(API, {"account": growth.account.pk, "stage": "solution", "offering": growth.plc.pk}, **headers)
    assert [row["id"] for row in listed.json()["results"]] == [data["id"]]
    assert client.get(API, {"stage": "lead"}, **headers).json()["results"] == []
    ranged = client.get(
        API, {"expected_close_after": "2027-06-30", "expected_close_before": "2027-06-30"}, **headers
    ).json()["results"]
    assert len(ranged) == 1
    assert client.get(API, {"expected_close_after": "2027-07-01"}, **headers).json()["results"] == []
    assert client.get(API, {"owner": manager.pk}, **headers).json()["results"][0]["id"] == data["id"]


def test_patch_moves_the_stage_and_weighted_and_probability_are_read_only(
    tenant,
    growth,
    make_opportunity,
    write_token,
):
    opportunity = make_opportunity()
    client, headers = _client(write_token)
    response = client.patch(
        f"{API}{opportunity.pk}/",
        {"stage": "won", "probability": 3, "weighted_amount": "1.00"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["stage"], data["probability"], data["weighted_amount"]) == ("won", 100, "100000.00")
    assert data["closed_on"] == tenant_today(tenant).isoformat() and data["version"] == 2
    assert response["ETag"] == client.get(f"{API}{opportunity.pk}/", **headers)["ETag"]
    reopened = client.patch(f"{API}{opportunity.pk}/", {"stage": "lead"}, content_type="application/json", **headers)
    assert reopened.json()["closed_on"] is None


def test_a_stale_if_match_is_412_and_writes_nothing(tenant, growth, make_opportunity, write_token):
    opportunity = make_opportunity()
    client, headers = _client(write_token)
    tag = client.get(f"{API}{opportunity.pk}/", **headers)["ETag"]
    first = client.patch(
        f"{API}{opportunity.pk}/", {"amount": "5.00"}, content_type="application/json", HTTP_IF_MATCH=tag, **headers
    )
    assert first.status_code == 200
    stale = client.patch(
        f"{API}{opportunity.pk}/", {"amount": "7.00"}, content_type="application/json", HTTP_IF_MATCH=tag, **headers
    )
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "precondition_failed")
    with tenant_context(tenant):
        assert Opportunity.objects.get(pk=opportunity.pk).amount == Decimal("5.00")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"stage": "closed"}, "stage"),
        ({"expected_close": "1900-01-01"}, "expected_close"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_input_is_400_with_the_field_and_nothing_written(tenant, growth, write_token, change, field):
    client, headers = _client(write_token)
    body = {"account": growth.account.pk, "title": "x", "amount": "1", "expected_close": "2027-01-01", **change}
    response = client.post(API, body, content_type="application/json", **headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    with tenant_context(tenant):
        assert not Opportunity.objects.exists()


def test_another_tenants_centre_and_a_centre_of_another_account_are_400(tenant, growth, write_token):
    client, headers = _client(write_token)
    body = {"account": growth.account.pk, "title": "x", "amount": "1", "expected_close": "2027-01-01"}
    foreign = client.post(
        API, {**body, "buying_centre": growth.foreign_centre.pk}, content_type="application/json", **headers
    )
    assert foreign.status_code == 400
    assert foreign.json()["error"]["fields"]["buying_centre"] == [
        f'Invalid pk "{growth.foreign_centre.pk}" - object does not exist.'
    ]
    other_account = client.post(
        API, {**body, "buying_centre": growth.second_centre.pk}, content_type="application/json", **headers
    )
    assert other_account.status_code == 400
    assert "another account" in other_account.json()["error"]["fields"]["buying_centre"][0]
    foreign_offering = client.post(
        API, {**body, "offerings": [growth.foreign_offering.pk]}, content_type="application/json", **headers
    )
    assert foreign_offering.status_code == 400 and "offerings" in foreign_offering.json()["error"]["fields"]
    with tenant_context(tenant):
        assert not Opportunity.objects.exists()


def test_another_tenants_opportunity_is_404_and_never_listed(
    tenant,
    other_tenant,
    growth,
    make_opportunity,
    write_token,
):
    foreign = make_opportunity(on=other_tenant, account=growth.foreign_account, owner=None)
    client, headers = _client(write_token)
    assert client.get(f"{API}{foreign.pk}/", **headers).json() == NOT_FOUND
    assert (
        client.patch(f"{API}{foreign.pk}/", {"stage": "won"}, content_type="application/json", **headers).status_code
        == 404
    )
    assert client.delete(f"{API}{foreign.pk}/", **headers).status_code == 404
    assert client.get(API, **headers).json()["results"] == []
    with tenant_context(other_tenant):
        assert Opportunity.objects.get(pk=foreign.pk).stage == "lead"


def test_delete_and_roles(tenant, growth, make_opportunity, read_token, executive, member, manager):
    opportunity = make_opportunity()
    client, headers = _client(read_token)
    assert client.delete(f"{API}{opportunity.pk}/", **headers).json() == READ_ONLY
    assert (
        login(executive).patch(f"{API}{opportunity.pk}/", {"stage": "won"}, content_type="application/json").status_code
        == 403
    )
    # a member reads only the accounts they own or serve on: the opportunity is not there
    assert login(member).get(f"{API}{opportunity.pk}/").status_code == 404
    response = login(manager).delete(f"{API}{opportunity.pk}/")
    assert response.status_code == 204
    with tenant_context(tenant):
        assert not Opportunity.objects.exists()
        assert AuditLog.objects.filter(object_type="growth.opportunity", action="delete", actor_user=manager).exists()


def test_the_list_costs_the_same_whatever_its_length(tenant, growth, make_opportunity, write_token):
    client, headers = _client(write_token)
    make_opportunity(offerings=[growth.plc])
    client.get(API, **headers)  # the token's first use of the run is recorded once
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(API, **headers).json()["results"]) == 1
    for index in range(5):
        make_opportunity(offerings=[growth.plc, growth.servo], title=f"机会 {index}")
    with CaptureQueriesContext(connection) as six:
        assert len(client.get(API, **headers).json()["results"]) == 6
    assert len(six) == len(one)


# --- offerings, mappings, buying centres ------------------------------------------------------------


def test_offerings_admins_write_everyone_reads(tenant, growth, admin, manager):
    listed = login(manager).get("/api/v1/offerings/").json()["results"]
    assert {row["code"] for row in listed} == {"PLC", "SERVO", "OLD"}
    body = {"code": "MES", "name_zh": "制造执行系统", "name_en": "MES"}
    assert login(manager).post("/api/v1/offerings/", body, content_type="application/json").status_code == 403
    created = login(admin).post("/api/v1/offerings/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    duplicate = login(admin).post("/api/v1/offerings/", {**body}, content_type="application/json")
    assert duplicate.status_code == 400 and "code" in duplicate.json()["error"]["fields"]
    retired = login(admin).patch(
        f"/api/v1/offerings/{created.json()['id']}/", {"is_active": False}, content_type="application/json"
    )
    assert retired.status_code == 200 and retired.json()["is_active"] is False
    assert login(admin).delete(f"/api/v1/offerings/{created.json()['id']}/").status_code == 405
    assert login(admin).get(f"/api/v1/offerings/{growth.foreign_offering.pk}/").status_code == 404


def test_product_line_mappings(tenant, growth, admin, write_token):
    client, headers = _client(write_token)
    created = client.post(
        "/api/v1/product-line-mappings/",
        {"product_line": " PLC 控制器 ", "offering": growth.plc.pk},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    assert created.json()["product_line"] == "PLC 控制器"
    moved = client.patch(
        f"/api/v1/product-line-mappings/{created.json()['id']}/",
        {"offering": growth.servo.pk},
        content_type="application/json",
        **headers,
    )
    assert moved.status_code == 200 and moved.json()["offering"] == growth.servo.pk
    foreign = client.post(
        "/api/v1/product-line-mappings/",
        {"product_line": "X", "offering": growth.foreign_offering.pk},
        content_type="application/json",
        **headers,
    )
    assert foreign.status_code == 400
    assert client.delete(f"/api/v1/product-line-mappings/{moved.json()['id']}/", **headers).status_code == 204
    with tenant_context(tenant):
        assert not ProductLineMapping.objects.exists()


def test_buying_centres_crud_filter_and_isolation(tenant, growth, write_token, member):
    client, headers = _client(write_token)
    listed = client.get("/api/v1/buying-centres/", {"account": growth.account.pk}, **headers).json()["results"]
    assert [row["id"] for row in listed] == [growth.centre.pk]
    created = client.post(
        "/api/v1/buying-centres/",
        {"account": growth.account.pk, "code": "PLANT2", "name": "二厂", "kind": "plant", "annual_spend": "500.00"},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    negative = client.patch(
        f"/api/v1/buying-centres/{created.json()['id']}/",
        {"annual_spend": "-1"},
        content_type="application/json",
        **headers,
    )
    assert negative.status_code == 400 and "annual_spend" in negative.json()["error"]["fields"]
    moved = client.patch(
        f"/api/v1/buying-centres/{created.json()['id']}/",
        {"account": growth.second.pk},
        content_type="application/json",
        **headers,
    )
    assert moved.status_code == 400 and "account" in moved.json()["error"]["fields"]
    assert client.get(f"/api/v1/buying-centres/{growth.foreign_centre.pk}/", **headers).status_code == 404
    assert (
        login(member)
        .post(
            "/api/v1/buying-centres/",
            {"account": growth.account.pk, "code": "Z", "name": "Z"},
            content_type="application/json",
        )
        .status_code
        == 403
    )
    assert client.delete(f"/api/v1/buying-centres/{created.json()['id']}/", **headers).status_code == 204
    with tenant_context(tenant):
        assert list(BuyingCentre.objects.filter(account=growth.account).values_list("code", flat=True)) == ["BU1"]
        assert Offering.objects.count() == 3


def test_the_openapi_schema_builds_with_the_growth_resources(db):
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("opportunities", "offerings", "buying-centres", "product-line-mappings"):
        assert f"/api/v1/{path}/" in paths and f"/api/v1/{path}/{{id}}/" in paths
    schema = response.json()["components"]["schemas"]
    assert schema["Opportunity"]["properties"]["weighted_amount"]["readOnly"] is True


def test_a_close_date_is_kept_as_sent(tenant, growth, write_token):
    client, headers = _client(write_token)
    body = {"account": growth.account.pk, "title": "x", "amount": "0", "expected_close": "2030-02-28"}
    response = client.post(API, body, content_type="application/json", **headers)
    assert response.status_code == 201
    with tenant_context(tenant):
        assert Opportunity.objects.get().expected_close == dt.date(2030, 2, 28)
