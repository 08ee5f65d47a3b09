"""API permissions: a token's scope, or a session user's role (kam/permissions.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions
from rest_framework.request import Request

from kam.models import ApiToken, TokenScope
from kam.permissions import ALL_ROLES, WRITERS


class TenantAccess(permissions.BasePermission):
    """Authenticated into a tenant; writes need a write token or a writing role.

    A view narrows the roles with ``read_roles`` / ``write_roles`` attributes.
    """

    message = _("You do not have permission to do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(request._request, "tenant", None) is None:
            return False
        safe = request.method in permissions.SAFE_METHODS
        if isinstance(request.auth, ApiToken):
            if not safe and request.auth.scope != TokenScope.WRITE:
                self.message = _("This token is read-only; writing needs a token with the write scope.")
                return False
            return True
        role = request._request.membership.role
        allowed = getattr(view, "read_roles", ALL_ROLES) if safe else getattr(view, "write_roles", WRITERS)
        return role in allowed
