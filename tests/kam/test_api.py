"""The API skeleton: bearer tokens decide the tenant, scopes, one error shape,
throttling, the schema and its docs page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from kam import services
from kam.models import ApiToken, hash_token
from tests.conftest import bearer, login, make_token

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def test_me_with_a_token_names_its_tenant_and_scope(tenant, read_token):
    response = Client().get(ME, **bearer(read_token))
    assert response.status_code == 200
    assert response.json() == {
        "tenant": {"id": tenant.pk, "slug": "acme", "name": "Acme 精工"},
        "scope": "read",
        "token": "read token",
        "user": None,
        "role": None,
    }


def test_me_with_a_session_uses_the_last_opened_workspace(tenant, other_tenant, executive):
    # given: eve is a member of both tenants and last opened the other one
    from kam.models import Membership, Role

    Membership.objects.create(tenant=other_tenant, user=executive, role=Role.MANAGER)
    client = login(executive)
    assert client.get("/t/globex/").status_code == 200
    # when / then
    body = client.get(ME).json()
    assert body["tenant"]["slug"] == "globex"
    assert body["role"] == "manager"
    assert body["scope"] == "write"


def test_token_is_stored_hashed_and_shown_once(tenant):
    token, raw = services.api_token_create(tenant=tenant, name="ERP", scope="write")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw.startswith("kam_") and len(raw) > 40
    assert stored.token_hash == hash_token(raw)
    assert raw not in {stored.token_hash, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix) and len(stored.prefix) == 12


def test_last_used_is_recorded(tenant):
    token, raw = make_token(tenant, "read")
    Client().get(ME, **bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < dt.timedelta(seconds=30)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({}, "Authentication credentials were not provided."),
        ({"HTTP_AUTHORIZATION": "Bearer nope"}, "Invalid token."),
        ({"HTTP_AUTHORIZATION": "Bearer"}, "Invalid Authorization header: use 'Bearer <token>'."),
        ({"HTTP_AUTHORIZATION": "Bearer a b"}, "Invalid Authorization header: use 'Bearer <token>'."),
        ({"HTTP_AUTHORIZATION": "Bearer kam_\u00e9\u00e9"}, "Invalid token."),
    ],
)
def test_bad_credentials_are_401_with_the_error_shape(tenant, header, message):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(ME, **header)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == message
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert response["WWW-Authenticate"] == "Bearer"


def test_revoked_token_is_rejected(tenant):
    token, raw = make_token(tenant, "write")
    services.api_token_revoke(tenant=tenant, token=token)
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(ME, **bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This token has been revoked."


def test_expired_token_is_rejected(tenant):
    token, raw = make_token(tenant, "write")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(ME, **bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This token has expired."


def test_token_of_a_deactivated_tenant_is_rejected(tenant, write_token):
    tenant.is_active = False
    tenant.save()
    assert Client().get(ME, **bearer(write_token)).status_code == 401


def test_read_token_cannot_write(tenant, read_token, write_token):
    # POST to /me/ is not allowed for anyone; a read token is stopped before that, by its scope.
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(ME, {}, content_type="application/json", **bearer(read_token))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This token is read-only; writing needs a token with the write scope."
    assert Client().post(ME, {}, content_type="application/json", **bearer(write_token)).status_code == 405


def test_session_user_without_membership_is_refused(db):
    from tests.factories import UserFactory

    client = login(UserFactory(email="nobody@example.test"))
    response = client.get(ME)
    assert response.status_code == 403


def test_throttle_answers_429_with_retry_after(settings, tenant, read_token):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    from kam.api.throttling import TokenRateThrottle

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/minute"}}
    api_settings.reload()
    TokenRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        client = Client()
        codes = [client.get(ME, **bearer(read_token)).status_code for _ in range(4)]
        last = client.get(ME, **bearer(read_token))
    finally:
        TokenRateThrottle.THROTTLE_RATES = SimpleRateThrottle.THROTTLE_RATES
    assert codes == [200, 200, 200, 429]
    assert last.status_code == 429
    assert int(last["Retry-After"]) > 0
    assert last.json()["error"]["code"] == "throttled"


def test_throttle_counts_exactly_under_concurrency_and_opens_again_with_the_next_window(tenant):
    """Counters in Redis, incremented atomically: 8 threads at once lose no count, refused
    requests are not counted, and the next window starts from zero."""
    import threading
    from types import SimpleNamespace

    from kam.api.throttling import TokenRateThrottle

    token, _raw = make_token(tenant, "read")
    request = SimpleNamespace(auth=token, user=None)
    clock = [600.0 * 1000 + 10]  # 10 s into a minute
    allowed: list[bool] = []

    def throttle() -> TokenRateThrottle:
        found = TokenRateThrottle()
        found.rate, (found.num_requests, found.duration) = "100/minute", (100, 60)
        found.timer = lambda: clock[0]
        return found

    def ask() -> None:
        for _ in range(25):
            allowed.append(throttle().allow_request(request, None))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (allowed.count(True), allowed.count(False)) == (100, 100)
    refused = throttle()
    assert refused.allow_request(request, None) is False
    assert refused.wait() == 50  # the rest of the minute
    clock[0] += 50  # the next minute
    assert [throttle().allow_request(request, None) for _ in range(101)].count(True) == 100


def test_throttle_counts_each_token_apart(settings, tenant):
    from rest_framework.settings import api_settings

    from kam.api.throttling import TokenRateThrottle

    _t1, one = make_token(tenant, "read", name="one")
    _t2, two = make_token(tenant, "read", name="two")
    original = TokenRateThrottle.THROTTLE_RATES
    TokenRateThrottle.THROTTLE_RATES = {"token": "2/minute"}
    try:
        client = Client()
        first = [client.get(ME, **bearer(one)).status_code for _ in range(3)]
        second = client.get(ME, **bearer(two)).status_code
    finally:
        TokenRateThrottle.THROTTLE_RATES = original
        api_settings.reload()
    assert first == [200, 200, 429]
    assert second == 200


def test_schema_is_openapi_3_and_documents_me(db):
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema["paths"]
    bearer_auth = schema["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer_auth["type"], bearer_auth["scheme"]) == ("http", "bearer")


def test_docs_page_is_served_from_vendored_files(db):
    response = Client().get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def test_unknown_api_path_is_json_404(db):
    response = Client().get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_cursor_pagination_caps_page_size():
    from kam.api.pagination import CursorPagination

    assert CursorPagination.max_page_size == 500
    assert CursorPagination.page_size_query_param == "page_size"
