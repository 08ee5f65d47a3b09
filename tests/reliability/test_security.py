"""Security settings and headers (issue #8, item 10).

- `manage.py check --deploy` is clean with the production settings (a subprocess with the
  environment a server gets), and those settings turn on HSTS, secure cookies and the HTTPS
  redirect; the same values, applied here, give those headers and cookies;
- every answer carries the Content-Security-Policy (no inline script), X-Frame-Options DENY,
  a Referrer-Policy and nosniff; no template carries inline script beyond a known list that
  may only shrink;
- logging in rotates the session key;
- every permission denied (pages and API) and every request made with an API token leaves
  one audit row: method, path, status.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from kam.api.views import MeView
from kam.models import AuditLog
from kam.security import ACCESS_OBJECT_TYPE, AccessAction
from kam.tenancy import tenant_context
from tests.conftest import bearer, login, make_token

BASE_DIR = Path(settings.BASE_DIR)
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory


# --- production settings --------------------------------------------------------------------------


def production_env() -> dict[str, str]:
    """What a server gets (docker-compose.yml): production, a real secret, its host, and
    database and cache URLs (never connected to by these commands)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DEBUG", "SECURE_"))}
    env.update(
        KAM_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="kam.example.com",
        DATABASE_URL="postgres://kam_app:unused@127.0.0.1:1/kam",
        REDIS_URL="redis://127.0.0.1:1/0",
        DJANGO_SETTINGS_MODULE="kam.settings",
    )
    return env


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


PRODUCTION_SETTINGS = (
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "X_FRAME_OPTIONS",
    "SECURE_REFERRER_POLICY",
    "SECURE_CONTENT_TYPE_NOSNIFF",
)


@pytest.fixture(scope="module")
def production_settings() -> dict[str, Any]:
    names = json.dumps(PRODUCTION_SETTINGS)
    code = (
        f"import json; from django.conf import settings as s; print(json.dumps({{n: getattr(s, n) for n in {names}}}))"
    )
    result = manage("shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_the_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_production_settings_turn_https_on(production_settings: dict[str, Any]) -> None:
    assert production_settings == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_REDIRECT_EXEMPT": ["^healthz$"],
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
    }


@pytest.fixture
def as_in_production(settings: Any, production_settings: dict[str, Any]) -> None:
    """The production values of the security settings, in this process (a new Client loads
    the middleware again, so it reads them)."""
    for name, value in production_settings.items():
        setattr(settings, name, tuple(value) if name == "SECURE_PROXY_SSL_HEADER" else value)
    settings.ALLOWED_HOSTS = ["kam.example.com"]


def https(**extra: Any) -> dict[str, Any]:
    return {"HTTP_HOST": "kam.example.com", "HTTP_X_FORWARDED_PROTO": "https", **extra}


def test_in_production_https_is_enforced_and_cookies_are_secure(
    as_in_production: None, tenant: Any, admin: Any
) -> None:
    client = Client()
    plain = client.get("/login/", HTTP_HOST="kam.example.com")
    assert plain.status_code == 301
    assert plain["Location"] == "https://kam.example.com/login/"

    page = client.get("/login/", **https())
    assert page.status_code == 200
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert page.cookies["csrftoken"]["secure"] is True

    token = page.cookies["csrftoken"].value
    logged_in = client.post(
        "/login/",
        {"username": admin.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        **https(HTTP_REFERER="https://kam.example.com/login/"),
    )
    assert logged_in.status_code == 302
    session = logged_in.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True
    assert session["httponly"] is True


def test_in_production_the_healthcheck_is_answered_over_plain_http(as_in_production: None, db: None) -> None:
    # docker-compose.yml asks http://127.0.0.1:8000/healthz from inside the container.
    response = Client().get("/healthz", HTTP_HOST="kam.example.com")
    # the database and Redis are up (a worker is not needed for "ok"): 200, not a redirect
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert "Location" not in response


# --- headers on every answer ----------------------------------------------------------------------


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        ("/login/", None, 200),
        ("/t/acme/accounts/", "admin", 200),
        ("/t/acme/no-such-page/", "admin", 404),
        ("/t/acme/settings/members/", "member", 403),
        ("/api/v1/me/", "token", 200),
        ("/api/v1/schema/", None, 200),
        ("/api/v1/docs/", None, 200),
    ],
)
def test_security_headers_on_every_kind_of_answer(tenant, admin, member, write_token, path, who, status) -> None:
    people = {"admin": admin, "member": member}
    client = login(people[who]) if who in people else Client()
    response = client.get(path, **(bearer(write_token) if who == "token" else {}))
    assert response.status_code == status
    assert response["Content-Security-Policy"] == CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_policy_allows_no_inline_or_evaluated_script() -> None:
    policy = directives(CSP)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["default-src"]


def test_a_refused_request_carries_the_policy_too(tenant, write_token) -> None:
    response = Client().get("/api/v1/me/", QUERY_STRING="q=%00", **bearer(write_token))
    assert response.status_code == 400
    assert response["Content-Security-Policy"] == CSP


def test_swagger_ui_loads_its_start_up_script_from_a_url(db: None) -> None:
    page = Client().get("/api/v1/docs/").content.decode()
    assert not INLINE_SCRIPT.search(page)
    script = Client().get("/api/v1/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


# --- templates: no inline script -------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"(?<![\w-])(?:on[a-z]+|hx-on[:-][\w:-]*|data-hx-on[:-][\w:-]*)\s*=\s*[\"']", re.I)
JAVASCRIPT_URL = re.compile(r"(?:href|src|action)\s*=\s*[\"']\s*javascript:", re.I)
# Inline code the policy would block: none. Add nothing here; move code to a static file or to a
# data- attribute handled in static/kam/js/kam.js (as the htmx "Cancel" links do).
KNOWN_INLINE_CODE: set[tuple[str, str]] = set()


def template_files() -> list[tuple[str, Path]]:
    roots = [Path(root) for root in settings.TEMPLATES[0]["DIRS"]]
    roots += [BASE_DIR / app / "templates" for app in ("kam", "accounts", "scoring", "teams", "risk", "dashboards")]
    return [(str(path.relative_to(root)), path) for root in roots if root.is_dir() for path in root.rglob("*.html")]


def test_no_template_has_inline_script_beyond_the_known_ones() -> None:
    found = set()
    for name, path in template_files():
        text = path.read_text(encoding="utf-8")
        for pattern, what in (
            (INLINE_SCRIPT, "inline <script>"),
            (INLINE_HANDLER, "inline event handler"),
            (JAVASCRIPT_URL, "javascript: URL"),
        ):
            if pattern.search(text):
                found.add((name, what))
    assert found - KNOWN_INLINE_CODE == set(), "new inline code, which the Content-Security-Policy blocks"
    assert KNOWN_INLINE_CODE - found == set(), "fixed: remove these from KNOWN_INLINE_CODE"


def test_the_template_scan_finds_what_it_looks_for() -> None:
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/kam/js/kam.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script id="data" type="application/json">{}</script>')
    assert INLINE_HANDLER.search('<a onclick="x()">')
    assert INLINE_HANDLER.search('<a hx-on:click="x()">')
    assert not INLINE_HANDLER.search("{% if only == card.tier %}")
    assert JAVASCRIPT_URL.search('<a href="javascript:void(0)">')


# --- sessions ------------------------------------------------------------------------------------------


def test_logging_in_rotates_the_session_key(tenant, admin) -> None:
    client = Client()
    anonymous = client.session
    anonymous["probe"] = "before login"
    anonymous.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = anonymous.session_key
    response = client.post("/login/", {"username": admin.email, "password": PASSWORD})
    assert response.status_code == 302
    new_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != anonymous.session_key
    assert not SessionStore().exists(anonymous.session_key)
    assert client.session["_auth_user_id"] == str(admin.pk)


def test_logging_out_ends_the_session(tenant, admin) -> None:
    client = Client()
    client.post("/login/", {"username": admin.email, "password": PASSWORD})
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/logout/")
    assert not SessionStore().exists(key)


# --- the access audit -----------------------------------------------------------------------------------


def access_rows(tenant: Any) -> list[tuple[str, str, str, int | None, int | None]]:
    with tenant_context(tenant):
        rows = AuditLog.objects.filter(object_type=ACCESS_OBJECT_TYPE).order_by("id")
        return [(row.action, row.object_repr, row.object_id, row.actor_user_id, row.actor_token_id) for row in rows]


def test_every_token_request_leaves_one_row_with_method_path_and_status(tenant, member) -> None:
    token, raw = make_token(tenant, "read")
    client = Client()
    client.get("/api/v1/me/", **bearer(raw))
    client.get("/api/v1/accounts/999999/", **bearer(raw))
    client.post("/api/v1/accounts/", {"name": "x"}, content_type="application/json", **bearer(raw))
    assert access_rows(tenant) == [
        (AccessAction.ACCESS, "GET /api/v1/me/", "200", None, token.pk),
        (AccessAction.ACCESS, "GET /api/v1/accounts/999999/", "404", None, token.pk),
        (AccessAction.ACCESS, "POST /api/v1/accounts/", "403", None, token.pk),
    ]


def test_a_nul_in_the_path_is_logged_percent_encoded(tenant) -> None:
    token, raw = make_token(tenant, "read")
    response = Client().get("/api/v1/imports/%00/", **bearer(raw))
    assert response.status_code == 404
    assert access_rows(tenant) == [(AccessAction.ACCESS, "GET /api/v1/imports/%00/", "404", None, token.pk)]


def test_a_token_request_that_fails_with_500_is_logged_after_the_rollback(tenant, monkeypatch) -> None:
    token, raw = make_token(tenant, "read")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(MeView, "get", broken)
    response = Client(raise_request_exception=False).get("/api/v1/me/", **bearer(raw))
    assert response.status_code == 500
    assert access_rows(tenant) == [(AccessAction.ACCESS, "GET /api/v1/me/", "500", None, token.pk)]


def test_permission_denied_on_a_page_and_in_the_api_is_logged(tenant, member) -> None:
    client = login(member)
    assert client.get("/t/acme/settings/members/").status_code == 403
    assert client.post("/api/v1/accounts/", {"name": "x"}, content_type="application/json").status_code == 403
    assert access_rows(tenant) == [
        (AccessAction.DENIED, "GET /t/acme/settings/members/", "403", member.pk, None),
        (AccessAction.DENIED, "POST /api/v1/accounts/", "403", member.pk, None),
    ]


def test_ordinary_session_requests_and_outsiders_leave_no_row(tenant, admin, outsider) -> None:
    assert login(admin).get("/t/acme/accounts/").status_code == 200
    assert login(admin).get("/api/v1/me/").status_code == 200
    # Another tenant's person under this tenant's slug: 404, and nothing is written into this tenant.
    assert login(outsider).get("/t/acme/settings/members/").status_code == 404
    assert access_rows(tenant) == []


def audit_queries(client: Client, raw: str) -> list[str]:
    """The SQL one token request runs (after its first, which also stamps last_used_at)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/api/v1/me/", **bearer(raw))
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/me/", **bearer(raw)).status_code == 200
    # Savepoints are named afresh on every request.
    return [re.sub(r'"s\d+_x\d+"', '"savepoint"', query["sql"]) for query in captured.captured_queries]


def test_the_token_row_costs_one_insert_in_the_request_transaction(tenant, settings) -> None:
    _token, raw = make_token(tenant, "read")
    with_audit = audit_queries(Client(), raw)
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != "kam.security.AccessAuditMiddleware"]
    without_audit = audit_queries(Client(), raw)
    added = [sql for sql in with_audit if sql.startswith("INSERT")]
    assert not [sql for sql in without_audit if sql.startswith("INSERT")]
    # the INSERT, and for an answered read the SET LOCAL that spares its commit the WAL flush
    assert len(with_audit) == len(without_audit) + 2
    assert "SET LOCAL synchronous_commit TO OFF" in with_audit
    assert len(added) == 1 and added[0].startswith('INSERT INTO "kam_auditlog"'), added
