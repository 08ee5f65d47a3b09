"""PostgreSQL down or restarting: pages answer a clear 503 page (both languages), the API a
503 in its one error shape, and everything works again as soon as the database is back,
without restarting anything (kam/middleware.py). Tasks retry database errors with backoff
and jitter (kam/recovery.py, KamTask).

"Down" is the app's connection pointed at a closed port (a stopped server refuses
connections the same way); "restarted" is its backend terminated with
pg_terminate_backend, which is what a restart does to every open connection.
bench/chaos_postgres.py stops and starts a real server.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import psycopg2
import pytest
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from accounts.models import Account
from kam.celery import app
from kam.models import Tenant
from kam.tasks import tenant_task
from tests.conftest import bearer, login
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/t/acme/accounts/"


# --- a view whose database connection dies half-way, as in a restart during a request ---------


def _connection_dies(request: HttpRequest, **_kwargs: str) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    return HttpResponse("not reached")


def _still_works(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return JsonResponse({"pid": cursor.fetchone()[0]})


urlpatterns = [
    path("api/v1/dies/", _connection_dies),
    path("t/<slug:tenant_slug>/dies/", _connection_dies),
    path("api/v1/works/", _still_works),
]


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """The app's connection pointed at a closed port: every connection attempt is refused.
    On leaving, the database is "back": the next request connects again."""
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT="9")
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.fixture
def account(tenant: Tenant) -> Account:
    return AccountFactory(tenant=tenant, name="停机测试客户")


def _new_request() -> None:
    """What Django does when a request starts (the test client skips it): connections that
    are too old or failed are closed, and the rest are health-checked on first use."""
    close_old_connections()


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "first", "second"),
    [("en", "Temporarily unavailable", "暂时无法访问"), ("zh-hans", "暂时无法访问", "Temporarily unavailable")],
)
def test_a_page_answers_503_in_both_languages_while_the_database_is_down(manager, account, language, first, second):
    client = login(manager)
    with database_down():
        response = client.get(PAGE, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 503
    assert response["Retry-After"] == "15"
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert f'<html lang="{"en" if language == "en" else "zh-Hans"}">' in body
    # both languages, the request's first; it reloads itself and offers to try again
    assert body.index(first) < body.index(second)
    assert "KAM cannot reach its database at the moment" in body
    assert "KAM 暂时无法连接数据库" in body
    assert '<meta http-equiv="refresh" content="15">' in body
    assert f'href="{PAGE}"' in body


def test_a_form_sent_while_the_database_is_down_is_told_it_was_not_saved(manager, account):
    client = login(manager)
    with database_down():
        response = client.post(f"/t/acme/accounts/{account.pk}/edit/", {"name": "新名字"})
    assert response.status_code == 503
    body = response.content.decode()
    assert "If you were saving something, it was not saved" in body
    assert "http-equiv" not in body  # a POST is not repeated by reloading


def test_pages_work_again_as_soon_as_the_database_is_back(manager, account):
    client = login(manager)
    with database_down():
        assert client.get(PAGE).status_code == 503
    # the database is back: no restart, the next request works
    response = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "停机测试客户" in response.content.decode()


def test_a_connection_broken_by_a_restart_is_replaced_at_the_next_request(manager, account):
    # given: the web process holds a persistent connection, and PostgreSQL restarts
    client = login(manager)
    assert client.get(PAGE).status_code == 200
    old_pid = connection.connection.info.backend_pid
    _terminate(old_pid)
    # when: the next request comes
    _new_request()
    response = client.get(PAGE)
    # then: it is answered normally on a new connection
    assert response.status_code == 200
    assert connection.connection.info.backend_pid != old_pid


def test_a_connection_lost_during_a_page_is_a_503_and_the_next_request_works(manager, account, settings):
    settings.ROOT_URLCONF = __name__
    client = login(manager)
    response = client.get("/t/acme/dies/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()
    _new_request()
    assert client.get("/api/v1/works/").status_code == 200


# --- API --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The database is not reachable at the moment. Try again in 15 seconds."),
        ("zh-hans", "数据库暂时无法连接，请 15 秒后重试。"),
    ],
)
def test_the_api_answers_503_in_its_error_shape_while_the_database_is_down(write_token, account, language, message):
    with database_down():
        response = login_free_client().get("/api/v1/accounts/", HTTP_ACCEPT_LANGUAGE=language, **bearer(write_token))
    assert response.status_code == 503
    assert response["Retry-After"] == "15"
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"error": {"code": "service_unavailable", "message": message, "fields": {}}}


def test_the_api_answers_503_when_the_connection_dies_during_the_call(write_token, settings):
    settings.ROOT_URLCONF = __name__
    response = login_free_client().get("/api/v1/dies/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    _new_request()
    assert login_free_client().get("/api/v1/works/").status_code == 200


def test_the_api_works_again_when_the_database_is_back(write_token, account):
    client = login_free_client()
    with database_down():
        assert client.get("/api/v1/accounts/", **bearer(write_token)).status_code == 503
    response = client.get("/api/v1/accounts/", **bearer(write_token))
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["停机测试客户"]


def login_free_client():
    from django.test import Client

    return Client()


def _terminate(pid: int) -> None:
    """End a backend from another connection, as a PostgreSQL restart does."""
    from django.db import connections

    other = psycopg2.connect(**connections["default"].get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


# --- tasks ------------------------------------------------------------------------------------


@tenant_task(name="tests.outage.connection_dies_once")
def connection_dies_once(tenant: Tenant, marker: str) -> None:
    """Loses its database connection the first time (as in a restart), then does its work."""
    cache.add(marker, 0, 60)
    attempt = cache.incr(marker)
    if attempt == 1:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    cache.set(f"{marker}:done", {"attempt": attempt, "accounts": Account.objects.count()}, 60)


def test_every_task_retries_database_errors_with_backoff_and_jitter():
    app.loader.import_default_modules()
    for name in ("scoring.nightly_score", "scoring.execute_run", "risk.execute_run", "accounts.run_import_job"):
        task = app.tasks[name]
        assert psycopg2.OperationalError in task.autoretry_for
        assert task.retry_backoff and task.retry_jitter
        assert task.max_retries >= 10
        assert hasattr(task, "_orig_run")  # the retrying wrapper is in place


@pytest.mark.worker
def test_a_task_whose_connection_dies_is_retried_and_succeeds(tenant, account, real_worker):
    # when: a real worker runs a task whose first attempt loses its connection
    connection_dies_once.delay(tenant.pk, "outage-task")
    # then: the retry (after a jittered backoff of at most 2 s) does the work
    deadline = time.monotonic() + 30
    while (done := cache.get("outage-task:done")) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert done == {"attempt": 2, "accounts": 1}


@pytest.fixture
def real_worker() -> Iterator[None]:
    from celery.contrib.testing.worker import start_worker

    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True
