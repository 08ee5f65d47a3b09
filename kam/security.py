"""Request hardening that every page and API call passes through (issue #8).

- :class:`RequestLimitsMiddleware` refuses, before any view or parser reads the body: a Host
  header outside ALLOWED_HOSTS (400), a body larger than its limit (413, judged by
  Content-Length), a query string that is too long (414), and a query string or form body
  with a NUL byte or invalid UTF-8 (400). PostgreSQL refuses NUL in text, so such input
  would otherwise reach the database as a 500.
- :class:`ContentSecurityPolicyMiddleware` sends the Content-Security-Policy header.
- :class:`AccessAuditMiddleware` writes one audit row for every request authenticated by an
  API token and for every permission denied (403) inside a tenant.
- :func:`lockout_response` answers a login locked by django-axes: 429 with Retry-After.

Answers are in the one error shape under /api/ (kam/api/errors.py) and plain text on pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.db import DatabaseError, InterfaceError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext as _
from rest_framework.permissions import SAFE_METHODS

from kam.models import ApiToken, AuditLog, User
from kam.tenancy import tenant_context

logger = logging.getLogger(__name__)
# Where Django itself reports a Host header outside ALLOWED_HOSTS.
host_logger = logging.getLogger("django.security.DisallowedHost")

API_PREFIX = "/api/"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def refusal(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """A request refused before any view ran: the API's error shape, or a line of text."""
    if request.path_info.startswith(API_PREFIX):
        from kam.api.errors import error_body

        return JsonResponse(error_body(code, message), status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def content_length(request: HttpRequest) -> int:
    """The declared body size; a missing or garbled header counts as no body, as Django reads it."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def body_limit(request: HttpRequest) -> int:
    """The largest body this URL takes: the upload views' own ceiling, else the general one.

    The URL is resolved only for a body over the general limit, so ordinary requests pay nothing.
    """
    try:
        url_name = resolve(request.path_info).url_name
    except Resolver404:
        return settings.REQUEST_MAX_BODY_SIZE
    if url_name in settings.REQUEST_UPLOAD_URL_NAMES:
        return settings.REQUEST_MAX_UPLOAD_SIZE
    return settings.REQUEST_MAX_BODY_SIZE


def text_problem(raw: bytes) -> str | None:
    """Why URL-encoded text (a query string or a form body) cannot be taken, or None."""
    decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    if b"\x00" in decoded:
        return _("The request contains a NUL character (%00), which no text field accepts.")
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return _("The request is not valid UTF-8 text.")
    return None


class RequestLimitsMiddleware:
    """Refuses oversized bodies and unusable text before anything reads them.

    Placed right after SecurityMiddleware: the body is still unread, and CSRF's check (which
    parses a form body) has not run. Chunked bodies without a Content-Length reach Django as
    empty, so the declared length is the one to judge.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with translation.override(translation.get_language_from_request(request)):
            refused = self.check(request)
        if refused is not None:
            return refused
        return self.get_response(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        try:
            request.get_host()
        except DisallowedHost as exc:
            # Django would answer its HTML 400 page, even under /api/.
            host_logger.warning("%s", exc)
            return refusal(request, 400, "invalid", _("The Host header names no site served here."))
        length = content_length(request)
        if length > settings.REQUEST_MAX_BODY_SIZE and length > (limit := body_limit(request)):
            message = _("The request body is %(size)s MB; the limit here is %(limit)s MB.") % {
                "size": _mb(length),
                "limit": _mb(limit),
            }
            return refusal(request, 413, "too_large", message)
        query = get_bytes_from_wsgi(request.META, "QUERY_STRING", "")
        if len(query) > settings.REQUEST_MAX_QUERY_STRING:
            message = _("The query string is %(length)s characters long; at most %(limit)s are accepted.") % {
                "length": f"{len(query):,}",
                "limit": f"{settings.REQUEST_MAX_QUERY_STRING:,}",
            }
            return refusal(request, 414, "uri_too_long", message)
        problem = text_problem(query) if query else None
        if problem is None and self.is_form(request, length):
            problem = text_problem(request.body)
        if problem is not None:
            return refusal(request, 400, "invalid", problem)
        return None

    @staticmethod
    def is_form(request: HttpRequest, length: int) -> bool:
        """A URL-encoded form body small enough to check here (Django's own limit reads it anyway)."""
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        return content_type == FORM_CONTENT_TYPE and 0 < length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# --- Content-Security-Policy ---------------------------------------------------------------------


class ContentSecurityPolicyMiddleware:
    """Sends CONTENT_SECURITY_POLICY on every response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = "; ".join(f"{name} {value}".strip() for name, value in settings.CONTENT_SECURITY_POLICY.items())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


# --- the access audit ------------------------------------------------------------------------------


class AccessAction:
    """Audit actions of this module (kam.models.AuditAction holds the data changes)."""

    ACCESS = "access"  # a request authenticated by an API token
    DENIED = "denied"  # a 403 inside a tenant


ACCESS_OBJECT_TYPE = "http.request"


def access_entry(request: HttpRequest, status: int) -> AuditLog | None:
    """The audit row a finished request owes, or None.

    One row per request: a token's request (whatever its status), else a session user's 403.
    Only inside a tenant: a credential that never reached one has nothing to be logged into.
    """
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return None
    token = getattr(request, "auth", None)
    if not isinstance(token, ApiToken):
        token = None
    if token is None and status != 403:
        return None
    user = getattr(request, "user", None)
    return AuditLog(
        tenant=tenant,
        actor_user=user if isinstance(user, User) else None,
        actor_token=token,
        action=AccessAction.ACCESS if token is not None else AccessAction.DENIED,
        object_type=ACCESS_OBJECT_TYPE,
        object_id=str(status),
        # A path may carry %00, which PostgreSQL refuses in text.
        object_repr=f"{request.method} {request.path}".replace("\x00", "%00")[:200],
    )


def relaxes_durability(request: HttpRequest, status: int) -> bool:
    """Whether the request's commit may skip waiting for the WAL flush: a read that was
    answered (below 400). Besides its audit row a read writes at most bookkeeping that the
    next request writes again (a token's last_used_at, a default seeded on first use), so a
    server crash can lose at most the last fraction of a second of read rows. A refusal
    (401, 403, 404, 429, ...) is what an investigation looks for: it stays durable."""
    return request.method in SAFE_METHODS and status < 400


class AccessAuditMiddleware:
    """One audit row per token request and per permission denied.

    Placed after kam.middleware.TenantMiddleware, so it runs inside the request's transaction
    with the tenant already set: the row costs one INSERT and no transaction of its own. A
    response of 500 or more rolls that transaction back; its row is written once the response
    has been sent (a response closer), in a transaction of its own.

    The row makes the request's commit wait for a WAL flush (about 2 ms, most of what it
    costs). An answered read (:func:`relaxes_durability`) commits with ``synchronous_commit``
    off instead (SET LOCAL: that transaction only). PostgreSQL stays consistent after a
    crash; the rows of the reads committed in the last ~0.6 s (3 x wal_writer_delay) may be
    missing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        entry = access_entry(request, response.status_code)
        if entry is None:
            return response
        if (
            response.status_code < 500
            and transaction.get_connection().in_atomic_block
            and not transaction.get_rollback()
        ):
            if relaxes_durability(request, response.status_code):
                with transaction.get_connection().cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            entry.save(force_insert=True)
        else:
            response._resource_closers.append(lambda: write_detached(entry))
        return response


def write_detached(entry: AuditLog) -> None:
    """Write an entry after its request's transaction ended (rolled back); never raise."""
    try:
        with tenant_context(entry.tenant):
            entry.save(force_insert=True)
    except (DatabaseError, InterfaceError):  # the database may be what failed the request
        logger.exception("could not write the access audit entry %s", entry.object_repr)


# --- login lock-out ---------------------------------------------------------------------------------


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' answer to a locked login: the lock-out page, 429, and when to try again.

    Retry-After is the whole cool-off: the lock ends at the latest then.
    """
    response = render(request, settings.AXES_LOCKOUT_TEMPLATE, status=settings.AXES_HTTP_RESPONSE_CODE)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
