"""Who may do what (DESIGN section 2), in one place for pages and the API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from kam.models import Role

ALL_ROLES = frozenset(Role.values)
ADMINS = frozenset({Role.ADMIN})
# Roles that read every account of the tenant (members read their teams' accounts).
READ_ALL = frozenset({Role.ADMIN, Role.DIRECTOR, Role.EXECUTIVE, Role.MANAGER})
# Roles that may write tenant data at all (managers: the accounts they own or serve on).
WRITERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})
SCORECARD_EDITORS = frozenset({Role.ADMIN, Role.DIRECTOR})
# Roles that start score and risk runs (pages and API).
RUNNERS = frozenset({Role.ADMIN, Role.DIRECTOR})
OVERRIDE_APPROVERS = frozenset({Role.DIRECTOR})


def tenant_view(
    roles: Iterable[str] = ALL_ROLES,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A page under /t/<tenant_slug>/: login, an active membership (else 404), a role (else 403).

    The tenant itself is resolved and activated by kam.middleware.TenantMiddleware.
    """
    allowed = frozenset(roles)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, tenant_slug: str, **kwargs: Any) -> HttpResponse:
            if getattr(request, "membership", None) is None:
                raise Http404("No such workspace")
            if request.membership.role not in allowed:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
