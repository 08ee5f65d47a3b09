"""Django admin for the platform core. Changes made here are audited like any other."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kam import audit
from kam.models import ApiToken, AuditLog, Membership, Tenant, User


class AuditedAdmin(admin.ModelAdmin):
    """Records admin creates, updates and deletes in the tenant's audit log."""

    def _tenant_of(self, obj: models.Model) -> Tenant | None:
        return obj if isinstance(obj, Tenant) else getattr(obj, "tenant", None)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = audit.snapshot(type(obj)._base_manager.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        tenant = self._tenant_of(obj)
        if tenant is None:
            return
        if before is None:
            audit.record_create(tenant=tenant, instance=obj, actor=request.user)
        else:
            audit.record_update(tenant=tenant, instance=obj, before=before, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        tenant = self._tenant_of(obj)
        if tenant is not None and not isinstance(obj, Tenant):
            audit.record_delete(tenant=tenant, instance=obj, actor=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("tenant", "role", "is_active")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined")
    search_fields = ("email", "full_name")
    list_filter = ("is_active", "is_staff")
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Tenant)
class TenantAdmin(AuditedAdmin):
    list_display = ("name", "slug", "industry_profile", "currency", "time_zone", "is_active", "created_at")
    search_fields = ("name", "slug")
    list_filter = ("industry_profile", "is_active")


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ("user", "tenant", "role", "is_active", "created_at")
    list_filter = ("role", "is_active", "tenant")
    search_fields = ("user__email", "tenant__name", "tenant__slug")
    autocomplete_fields = ("user",)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("name", "tenant", "prefix", "scope", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("scope", "tenant")
    search_fields = ("name", "prefix", "tenant__slug")
    readonly_fields = ("prefix", "token_hash", "created_at", "last_used_at")
    fields = ("tenant", "name", "scope", "prefix", "expires_at", "revoked_at", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's secret is shown once at creation: create tokens on the settings page
        # or with `manage.py create_api_token`, which can show it.
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only. Outside a tenant (the admin sets none) the scoped manager and RLS show no
    entries; admins browse the log of their tenant on its settings page."""

    list_display = ("created_at", "tenant", "action", "object_type", "object_repr")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
