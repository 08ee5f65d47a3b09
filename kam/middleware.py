"""Tenant resolution for pages, and the request transaction the tenant lives in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse

from kam import selectors
from kam.tenancy import activate, deactivate

# Answered outside the request transaction: /healthz must report a database that is down.
NO_TRANSACTION_PATHS = frozenset({"/healthz"})


class TenantMiddleware:
    """Run each request in one transaction and, under /t/<tenant_slug>/, in its tenant.

    The RLS setting is local to a transaction (DESIGN section 2), so the transaction
    is opened here, around the view, rather than by ATOMIC_REQUESTS, which would open
    it only after process_view. A response of 500 or more rolls the transaction back.
    API views set their tenant in authentication (kam/api/auth.py), inside the same
    transaction.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        if request.path_info in NO_TRANSACTION_PATHS:
            return self.get_response(request)
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
        finally:
            deactivate()
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: tuple, view_kwargs: dict[str, Any]
    ) -> None:
        slug = view_kwargs.get("tenant_slug")
        if slug is None:
            return
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
