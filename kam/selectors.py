"""Reads of the platform core. Tenant-owned reads take the tenant first, explicitly."""

from __future__ import annotations

from django.db.models import QuerySet

from kam.models import ApiToken, AuditLog, Membership, Role, Tenant, User
from kam.tenancy import tenant_selector


def membership_for(*, user: User, tenant_slug: str) -> Membership | None:
    """The user's active membership in an active tenant, or None."""
    return (
        Membership.objects.select_related("tenant")
        .filter(user=user, tenant__slug=tenant_slug, is_active=True, tenant__is_active=True)
        .first()
    )


def membership_in(*, user: User, tenant: Tenant) -> Membership | None:
    return Membership.objects.filter(user=user, tenant=tenant, is_active=True).first()


def memberships_of(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("tenant")
        .filter(user=user, is_active=True, tenant__is_active=True)
        .order_by("tenant__name")
    )


def tenant_members(tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(tenant=tenant).order_by("-is_active", "user__email")


def active_admin_count(tenant: Tenant) -> int:
    return Membership.objects.filter(tenant=tenant, role=Role.ADMIN, is_active=True, user__is_active=True).count()


def tenant_tokens(tenant: Tenant) -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("created_by").filter(tenant=tenant)


@tenant_selector
def audit_entries(
    tenant: Tenant, *, object_type: str = "", actor_id: int | None = None, action: str = ""
) -> QuerySet[AuditLog]:
    entries = AuditLog.objects.select_related("actor_user", "actor_token")
    if object_type:
        entries = entries.filter(object_type=object_type)
    if actor_id:
        entries = entries.filter(actor_user_id=actor_id)
    if action:
        entries = entries.filter(action=action)
    return entries


@tenant_selector
def audit_object_types(tenant: Tenant) -> list[str]:
    return list(AuditLog.objects.order_by().values_list("object_type", flat=True).distinct())
