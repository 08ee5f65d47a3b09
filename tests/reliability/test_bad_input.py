"""Bad input everywhere, over pages and the API: a clear 4xx, nothing written, never a 500.

Oversized bodies are refused by their Content-Length before anything reads them (the body
here is a stream that fails the test if read); deep, huge or malformed JSON, wrong content
types, invalid UTF-8, NUL characters and very long strings get one clear message each;
logins and tokens past their rate answer 429 with Retry-After.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Account, Interaction
from kam.api.throttling import TokenRateThrottle
from kam.tenancy import tenant_context
from tests.conftest import bearer, login
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
ACCOUNTS_API = "/api/v1/accounts/"
# Messages are compared in English (the default language is zh-hans).
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


class UnreadableBody:
    """A request body that must not be read: the refusal has to come from the headers alone."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def declared(size: int, content_type: str = "application/json") -> dict[str, Any]:
    """WSGI extras for a request that declares ``size`` bytes it never sends."""
    return {"CONTENT_LENGTH": str(size), "CONTENT_TYPE": content_type, "wsgi.input": UnreadableBody()}


def account_count(tenant: Any) -> int:
    with tenant_context(tenant):
        return Account.objects.count()


def error(response: Any) -> dict[str, Any]:
    """The API's one error shape, checked whole."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


# --- sizes -------------------------------------------------------------------------------------------


def test_an_api_body_over_the_limit_is_413_before_it_is_read(tenant, write_token):
    response = Client().post(ACCOUNTS_API, **declared(6 * MB), **bearer(write_token), **EN)
    assert response.status_code == 413
    assert error(response) == {
        "code": "too_large",
        "message": "The request body is 6.0 MB; the limit here is 5.0 MB.",
        "fields": {},
    }
    assert account_count(tenant) == 0


def test_a_page_body_over_the_limit_is_413_before_it_is_read(tenant, admin):
    response = login(admin).post(
        "/t/acme/accounts/new/", **declared(6 * MB, "application/x-www-form-urlencoded"), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "The request body is 6.0 MB; the limit here is 5.0 MB."


def test_the_refusal_speaks_the_requests_language(tenant, admin):
    response = login(admin).post(
        "/t/acme/accounts/new/", **declared(6 * MB, "application/x-www-form-urlencoded"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 413
    assert response.content.decode() == "请求正文为 6.0 MB，此处上限为 5.0 MB。"


def test_a_body_at_the_limit_is_let_through(tenant, write_token):
    # Exactly the limit: read and parsed (and refused by the serializer as an empty account).
    body = json.dumps({"name": "", "notes": "x" * (settings.REQUEST_MAX_BODY_SIZE - 40)})
    body += " " * (settings.REQUEST_MAX_BODY_SIZE - len(body.encode()))
    response = Client().post(ACCOUNTS_API, body, content_type="application/json", **bearer(write_token), **EN)
    assert response.status_code == 400
    assert "name" in error(response)["fields"]


@pytest.mark.parametrize(
    ("url", "size", "answer"),
    [
        # Above the general limit, within the import's own: the import view answers, unread.
        ("/api/v1/imports/", 55 * MB, "The file is 55.0 MB; the limit is 50 MB. Split it into smaller files."),
        # Above every limit: refused before any view.
        ("/api/v1/imports/", 70 * MB, "The request body is 70.0 MB; the limit here is 64.0 MB."),
    ],
)
def test_the_import_upload_has_its_own_larger_limit(tenant, write_token, url, size, answer):
    response = Client().post(url, **declared(size, "multipart/form-data; boundary=x"), **bearer(write_token), **EN)
    assert response.status_code == 413
    assert error(response)["message"] == answer


def test_the_import_page_refuses_an_upload_over_its_limit_unread(tenant, admin):
    response = login(admin).post(
        "/t/acme/imports/", **declared(55 * MB, "multipart/form-data; boundary=x"), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 413
    assert "The file is 55.0 MB; the limit is 50 MB." in response.content.decode()


def test_a_very_long_query_string_is_414(tenant, admin, write_token):
    query = "q=" + "x" * settings.REQUEST_MAX_QUERY_STRING
    api = Client().get(ACCOUNTS_API, QUERY_STRING=query, **bearer(write_token), **EN)
    page = login(admin).get("/t/acme/accounts/", QUERY_STRING=query, HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == page.status_code == 414
    assert error(api)["code"] == "uri_too_long"
    assert page.content.decode() == "The query string is 8,194 characters long; at most 8,192 are accepted."


def test_a_long_search_within_the_limit_is_answered(tenant, admin, write_token):
    # 800 characters, 7,200 once percent-encoded: under the 8,192 limit.
    assert login(admin).get("/t/acme/accounts/", {"q": "客" * 800}).status_code == 200
    assert Client().get(ACCOUNTS_API, {"search": "客" * 800}, **bearer(write_token)).status_code == 200


# --- JSON ----------------------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return '{"name": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("depth", [21, 5_000, 200_000])
def test_json_nested_too_deeply_is_400(tenant, write_token, depth):
    response = Client().post(ACCOUNTS_API, nested(depth), content_type="application/json", **bearer(write_token), **EN)
    assert response.status_code == 400
    assert error(response) == {
        "code": "parse_error",
        "message": "The JSON is nested too deeply: at most 20 levels of objects and arrays.",
        "fields": {},
    }
    assert account_count(tenant) == 0


def test_json_nested_within_the_limit_reaches_the_serializer(tenant, write_token):
    response = Client().post(ACCOUNTS_API, nested(19), content_type="application/json", **bearer(write_token), **EN)
    assert response.status_code == 400
    assert error(response)["fields"]["name"] == ["Not a valid string."]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"name": "\xff\xfe"}', "The body is not valid UTF-8 text."),
        (b'{"name": "a\\u0000b"}', "Text may not contain the NUL character (\\u0000)."),
        (b'{"name": "x", "notes": {"k": "\\u0000"}}', "Text may not contain the NUL character (\\u0000)."),
        (b'{"name": "x", "score": 1e999}', "JSON parse error: Numbers must be finite; 1e999 is too large."),
        (b'{"name": NaN}', "JSON parse error: NaN is not valid JSON."),
        (
            b'{"name": "x",',
            "JSON parse error: Expecting property name enclosed in double quotes: line 1 column 14 (char 13)",
        ),
    ],
)
def test_malformed_json_is_a_clear_400(tenant, write_token, body, message):
    response = Client().post(ACCOUNTS_API, body, content_type="application/json", **bearer(write_token), **EN)
    assert response.status_code == 400
    assert error(response) == {"code": "parse_error", "message": message, "fields": {}}
    assert account_count(tenant) == 0


def test_an_escaped_backslash_before_u0000_is_text_not_nul(tenant, write_token):
    # "a\\u0000" is a backslash followed by "u0000": ordinary text.
    response = Client().post(
        ACCOUNTS_API, b'{"name": "a\\\\u0000"}', content_type="application/json", **bearer(write_token), **EN
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "a\\u0000"


def test_a_huge_string_is_a_field_error(tenant, write_token):
    response = Client().post(
        ACCOUNTS_API, {"name": "x" * 1_000_000}, content_type="application/json", **bearer(write_token), **EN
    )
    assert response.status_code == 400
    assert error(response)["fields"]["name"] == ["Ensure this field has no more than 200 characters."]
    assert account_count(tenant) == 0


def test_a_huge_number_for_an_id_is_a_field_error(tenant, write_token):
    response = Client().post(
        ACCOUNTS_API, {"name": "x", "parent": 10**30}, content_type="application/json", **bearer(write_token), **EN
    )
    assert response.status_code == 400
    assert "parent" in error(response)["fields"]


def test_the_bulk_orders_endpoint_uses_the_same_parser(tenant, write_token):
    response = Client().post(
        "/api/v1/orders/bulk/", nested(50), content_type="application/json", **bearer(write_token), **EN
    )
    assert response.status_code == 400
    assert error(response)["code"] == "parse_error"


# --- content types -------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-yaml", ""])
def test_a_body_of_another_content_type_is_415(tenant, write_token, content_type):
    response = Client().generic("POST", ACCOUNTS_API, b"name: x", content_type=content_type, **bearer(write_token))
    assert response.status_code == 415
    code = error(response)["code"]
    assert code == "unsupported_media_type"
    assert account_count(tenant) == 0


def test_a_form_body_is_accepted_by_the_api(tenant, write_token):
    response = Client().post(
        ACCOUNTS_API, "name=%E5%AE%A2%E6%88%B7", content_type="application/x-www-form-urlencoded", **bearer(write_token)
    )
    assert response.status_code == 201
    assert response.json()["name"] == "客户"


# --- NUL and invalid UTF-8 in query strings and forms ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("q=a%00b", "The request contains a NUL character (%00), which no text field accepts."),
        ("q=%ff%fe", "The request is not valid UTF-8 text."),
        ("q=%e5%ae", "The request is not valid UTF-8 text."),
    ],
)
def test_a_bad_query_string_is_400_on_pages_and_api(tenant, admin, write_token, query, message):
    page = login(admin).get("/t/acme/accounts/", QUERY_STRING=query, HTTP_ACCEPT_LANGUAGE="en")
    api = Client().get(ACCOUNTS_API, QUERY_STRING=query, **bearer(write_token), **EN)
    assert page.status_code == api.status_code == 400
    assert page.content.decode() == message
    assert error(api) == {"code": "invalid", "message": message, "fields": {}}


def test_a_query_string_in_utf8_with_a_percent_sign_is_fine(tenant, admin):
    assert login(admin).get("/t/acme/accounts/", {"q": "100% 客户"}).status_code == 200


@pytest.mark.parametrize("body", ["name=a%00b", "name=%ff", "name=a\x00b"])
def test_a_bad_form_field_is_400_and_writes_nothing(tenant, admin, body):
    response = login(admin).post(
        "/t/acme/accounts/new/", body, content_type="application/x-www-form-urlencoded", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.content.decode().startswith("The request")
    assert account_count(tenant) == 0


def test_a_nul_in_a_multipart_field_is_a_form_error(tenant, admin):
    # Multipart bodies are left to the views (the import adds its upload limit first): forms refuse NUL.
    response = login(admin).post("/t/acme/accounts/new/", {"name": "a\x00b"}, **EN)
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert account_count(tenant) == 0


def test_a_nul_in_a_multipart_api_field_is_a_field_error(tenant, write_token):
    response = Client().post(ACCOUNTS_API, {"name": "a\x00b"}, **bearer(write_token), **EN)
    assert response.status_code == 400
    assert error(response)["fields"]["name"] == ["Null characters are not allowed."]


def test_a_very_long_form_field_is_a_field_error(tenant, admin):
    response = login(admin).post("/t/acme/accounts/new/", {"name": "x" * 100_000}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Ensure this value has at most 200 characters (it has 100000)." in response.content.decode()
    assert account_count(tenant) == 0


# --- headers ------------------------------------------------------------------------------------------------------


def test_a_host_outside_allowed_hosts_is_400_in_the_apis_shape(tenant, write_token):
    api = Client().get(ACCOUNTS_API, HTTP_HOST="evil.example.com", **bearer(write_token), **EN)
    page = Client().get("/login/", HTTP_HOST="mfRhqi&/Ce", **EN)
    assert api.status_code == page.status_code == 400
    assert error(api) == {"code": "invalid", "message": "The Host header names no site served here.", "fields": {}}
    assert page.content.decode() == "The Host header names no site served here."


# --- dates and times ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"),
    [
        # PostgreSQL refuses offsets beyond ±15:59, which Python parses: turned to UTC first.
        ("updated_after=2026-03-01T10:00:00%2B18:01", 200),
        # Year 1 at +05:00 is before year 1 in UTC: outside the calendar.
        ("updated_after=0001-01-01T00:00:00%2B05:00", 400),
        ("updated_after=9999-12-31T23:00:00-05:00", 400),
    ],
)
def test_instants_in_api_filters_never_reach_the_database_broken(tenant, write_token, query, status):
    response = Client().get(ACCOUNTS_API, QUERY_STRING=query, **bearer(write_token), **EN)
    assert response.status_code == status
    if status == 400:
        assert error(response)["fields"] == {"updated_after": ["Enter an instant between the years 1 and 9999."]}


def test_an_api_instant_before_1900_is_a_field_error(tenant, write_token):
    account = AccountFactory(tenant=tenant)
    body = {"account": account.pk, "kind": "meeting", "occurred_at": "0067-11-16T00:24:00Z", "summary": "x"}
    response = Client().post(
        "/api/v1/interactions/", body, content_type="application/json", **bearer(write_token), **EN
    )
    assert response.status_code == 400
    assert error(response)["fields"] == {"occurred_at": ["Enter a date and time from 1900 on."]}


def test_a_page_form_instant_with_an_impossible_offset_is_a_form_error(tenant, admin):
    account = AccountFactory(tenant=tenant, owner=admin)
    client = login(admin)
    client.raise_request_exception = False
    response = client.post(
        f"/t/acme/accounts/{account.pk}/interactions/new/",
        {"kind": "meeting", "occurred_at": "2026-03-01T10:00+18:01", "summary": "x"},
    )
    # 10:00 at +18:01 is 15:59 UTC the day before: a valid instant, stored in UTC.
    assert response.status_code == 302
    with tenant_context(tenant):
        assert Interaction.objects.get(account=account).occurred_at == dt.datetime(2026, 2, 28, 15, 59, tzinfo=dt.UTC)


# --- rate limits ------------------------------------------------------------------------------------------------


def test_too_many_failed_logins_answer_429_with_retry_after(tenant, admin):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": admin.email, "password": "wrong password"})
    locked = client.post("/login/", {"username": admin.email, "password": "correct horse battery staple"})
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_a_token_past_its_rate_answers_429_with_retry_after(tenant, write_token, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "2/minute"})
    client = Client()
    statuses = [client.get(ACCOUNTS_API, **bearer(write_token), **EN).status_code for _ in range(3)]
    throttled = client.post(ACCOUNTS_API, {"name": "x"}, content_type="application/json", **bearer(write_token), **EN)
    assert statuses == [200, 200, 429]
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert error(throttled)["code"] == "throttled"
    assert account_count(tenant) == 0
