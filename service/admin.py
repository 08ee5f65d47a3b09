"""Django admin for service. Row-level security applies here too: the admin shows a tenant's
rows only inside that tenant's context, so day-to-day work happens in the service pages and
commands (``manage.py service_bots`` lists a tenant's bots); a bot added or changed here is
saved inside its tenant's context and audited without its keys."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kam.models import AuditAction
from kam.tenancy import tenant_context
from service.inbound.bots import BOT_KEYS, bot_audit, bot_snapshot
from service.models import InboundBot


@admin.register(InboundBot)
class InboundBotAdmin(admin.ModelAdmin):
    list_display = ("tenant", "kind", "name", "is_active", "created_at")
    list_filter = ("kind", "is_active")

    def save_model(self, request: HttpRequest, obj: InboundBot, form: Any, change: bool) -> None:
        with tenant_context(obj.tenant):
            before = bot_snapshot(InboundBot.objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            action = AuditAction.UPDATE if change else AuditAction.CREATE
            bot_audit(obj, action, before, BOT_KEYS & set(form.changed_data), request.user)

    def delete_model(self, request: HttpRequest, obj: InboundBot) -> None:
        with tenant_context(obj.tenant):
            bot_audit(obj, AuditAction.DELETE, None, set(), request.user)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
