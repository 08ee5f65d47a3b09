"""Django admin for service. Row-level security applies here too: the admin shows a tenant's
rows only inside that tenant's context, so day-to-day work happens in the service pages;
these registrations serve support staff (changes are audited, without the bots' keys)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kam import audit
from kam.models import AuditAction
from service.models import InboundBot

# Never written to the audit log (kam.audit itself leaves out only fields named "secret");
# a change of one is logged as changed, without its values.
BOT_KEYS = frozenset({"token", "secret", "aes_key"})


def _without_keys(bot: InboundBot) -> dict[str, Any]:
    return {key: value for key, value in audit.snapshot(bot).items() if key not in BOT_KEYS}


@admin.register(InboundBot)
class InboundBotAdmin(admin.ModelAdmin):
    list_display = ("tenant", "kind", "name", "is_active", "created_at")
    list_filter = ("kind", "is_active")

    def save_model(self, request: HttpRequest, obj: InboundBot, form: Any, change: bool) -> None:
        before = _without_keys(InboundBot._base_manager.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        after = _without_keys(obj)
        if change:
            changes = audit.diff(before, after)
            action = AuditAction.UPDATE
        else:
            changes = {
                key: [None, value]
                for key, value in after.items()
                if value not in (None, "") and key not in audit.BOOKKEEPING_FIELDS
            }
            action = AuditAction.CREATE
        changes.update({key: ["…", "…"] for key in sorted(BOT_KEYS & set(form.changed_data))})
        if changes:
            audit.record(tenant=obj.tenant, action=action, instance=obj, changes=changes, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: InboundBot) -> None:
        removed = {key: [value, None] for key, value in _without_keys(obj).items() if value not in (None, "")}
        audit.record(tenant=obj.tenant, action=AuditAction.DELETE, instance=obj, changes=removed, actor=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
