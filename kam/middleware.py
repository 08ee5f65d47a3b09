"""Tenant resolution for pages, the request transaction the tenant lives in, and a clear
503 while the database is unreachable."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, InternalError, OperationalError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kam import selectors
from kam.formats import tenant_zone
from kam.tenancy import activate, deactivate

logger = logging.getLogger(__name__)

# Answered outside the request transaction: /healthz must report a database that is down.
NO_TRANSACTION_PATHS = frozenset({"/healthz"})
# What "the database is unreachable" looks like: refused or dropped connections.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
# On Citus, a worker lost under a connection that the coordinator kept open fails a write
# that needs every node (a reference table) with an internal error of this text.
CITUS_WORKER_LOST = "failure on connection marked as essential"

# Clients (and the 503 page) try again after this many seconds.
RETRY_AFTER_SECONDS = 15


def is_database_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE) or (isinstance(exc, InternalError) and CITUS_WORKER_LOST in str(exc))


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the API's one error shape under /api/, else the 503 page.

    The page is rendered without the request (no context processors, no session, no
    database), in both languages, the request's first; a GET reloads itself.
    """
    if request.path_info.startswith("/api/"):
        from kam.api.errors import error_body

        response: HttpResponse = JsonResponse(
            error_body(
                "service_unavailable",
                _("The database is not reachable at the moment. Try again in %(seconds)s seconds.")
                % {"seconds": RETRY_AFTER_SECONDS},
            ),
            status=503,
        )
    else:
        chinese_first = (get_language() or "zh-hans").startswith("zh")
        languages = [("zh-hans", "zh-Hans"), ("en", "en")]
        context = {
            "languages": languages if chinese_first else languages[::-1],
            "reload_seconds": RETRY_AFTER_SECONDS if request.method in ("GET", "HEAD") else None,
            "retry_url": request.get_full_path(),
        }
        response = HttpResponse(render_to_string("503.html", context), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class TenantMiddleware:
    """Run each request in one transaction and, under /t/<tenant_slug>/, in its tenant.

    The RLS setting is local to a transaction (DESIGN section 2), so the transaction
    is opened here, around the view, rather than by ATOMIC_REQUESTS, which would open
    it only after process_view. A response of 500 or more rolls the transaction back.
    API views set their tenant in authentication (kam/api/auth.py), inside the same
    transaction.

    While PostgreSQL is down or restarting, every request gets a 503 (page or JSON)
    instead of a 500. Before the transaction opens, a persistent connection that the
    restart broke is health-checked and replaced, so the first request after the
    database is back is answered normally: no restart of the web processes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        if request.path_info in NO_TRANSACTION_PATHS:
            return self.get_response(request)
        try:
            _connect()
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
        except (*DATABASE_UNAVAILABLE, InternalError) as exc:
            if not is_database_unavailable(exc):
                raise
            logger.warning("database unavailable for %s %s: %s", request.method, request.path_info, exc)
            return database_unavailable(request)
        finally:
            deactivate()
            timezone.deactivate()
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: tuple, view_kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        slug = view_kwargs.get("tenant_slug")
        if slug is None:
            return None
        try:
            return self._activate_tenant(request, slug)
        except (*DATABASE_UNAVAILABLE, InternalError) as exc:
            if not is_database_unavailable(exc):
                raise
            # Django hands process_view's exceptions to the 500 handler, not process_exception.
            return database_unavailable(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The database went away while the view ran (the API's handler passes these on)."""
        if is_database_unavailable(exception):
            logger.warning("database unavailable during %s %s: %s", request.method, request.path_info, exception)
            return database_unavailable(request)
        return None

    def _activate_tenant(self, request: HttpRequest, slug: str) -> None:
        if not request.user.is_authenticated:
            return  # the view's login_required sends the visitor to the login page
        membership = selectors.membership_for(user=request.user, tenant_slug=slug)
        if membership is None:
            # Another tenant, a deactivated membership, or no such tenant: all look alike.
            raise Http404("No such workspace")
        request.tenant = membership.tenant
        request.membership = membership
        if request.session.get("tenant_id") != membership.tenant_id:
            request.session["tenant_id"] = membership.tenant_id  # the API's session auth and "home" use it
        activate(membership.tenant, actor=request.user)
        # Dates and times on the pages in the tenant's time zone (amounts take its currency
        # from the active tenant: kam.formats).
        timezone.activate(tenant_zone(membership.tenant))


def _connect() -> None:
    """A usable connection before the request transaction opens: a persistent one that a
    database restart broke fails its health check here and is replaced (inside the
    transaction Django could only report it); a database that is down raises."""
    if not connection.in_atomic_block:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
