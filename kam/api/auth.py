"""API authentication. The credential decides the tenant, which is activated here,
inside the request transaction that kam.middleware.TenantMiddleware opened."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from kam import selectors
from kam.models import ApiToken, Tenant, hash_token
from kam.tenancy import activate

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenUser(AnonymousUser):
    """request.user for a token: authenticated, but no person and no role."""

    def __init__(self, token: ApiToken) -> None:
        self.token = token

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"token:{self.token.prefix}"


def _enter_tenant(request: Request, tenant: Tenant, *, actor: Any, membership: Any = None) -> None:
    django_request = request._request
    django_request.tenant = tenant
    django_request.membership = membership
    activate(tenant, actor=actor)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TokenUser, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: use 'Bearer <token>'."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        token = ApiToken.objects.select_related("tenant").filter(token_hash=hash_token(raw)).first()
        now = timezone.now()
        if token is None or not token.tenant.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token has been revoked."))
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            # At most one write a minute per token, so busy integrations do not write on every call.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        _enter_tenant(request, token.tenant, actor=token)
        return TokenUser(token), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """The browser's session, in the workspace the user last opened (session['tenant_id'])."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        tenant_id = request._request.session.get("tenant_id")
        membership = None
        if tenant_id is not None:
            membership = selectors.memberships_of(user=user).filter(tenant_id=tenant_id).first()
        if membership is None:
            membership = selectors.memberships_of(user=user).first()
        if membership is None:
            raise exceptions.PermissionDenied(_("You are not a member of any workspace."))
        _enter_tenant(request, membership.tenant, actor=user, membership=membership)
        return result
