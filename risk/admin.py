"""Django admin for risk. Row-level security applies here too: the admin shows a tenant's
rows only inside that tenant's context, so day-to-day work happens in the risk pages and
the API; these registrations serve support staff (changes are audited). Webhook endpoints
and deliveries are read-only here: an endpoint's secret never reaches the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kam.admin import AuditedAdmin
from risk.models import (
    ConcentrationSnapshot,
    ContingencyPlan,
    HealthAssessment,
    RiskAlert,
    RiskPolicy,
    RiskRun,
    WebhookDelivery,
    WebhookEndpoint,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RiskPolicy)
class RiskPolicyAdmin(AuditedAdmin):
    list_display = ("tenant", "single_customer_warning", "single_customer_critical", "top5_warning", "hhi_warning")


@admin.register(RiskRun)
class RiskRunAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "kind", "trigger", "as_of", "status", "progress", "accounts_assessed", "created_at")
    list_filter = ("kind", "status")


@admin.register(ConcentrationSnapshot)
class ConcentrationSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "as_of", "total_revenue_12m", "top1_share", "top5_share", "hhi")


@admin.register(HealthAssessment)
class HealthAssessmentAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "account", "as_of", "score", "band", "score_change")
    list_filter = ("band",)


@admin.register(RiskAlert)
class RiskAlertAdmin(AuditedAdmin):
    list_display = ("tenant", "kind", "severity", "status", "account", "assignee", "opened_at")
    list_filter = ("kind", "severity", "status")
    raw_id_fields = ("account", "assignee", "acknowledged_by", "resolved_by", "run")
    readonly_fields = ("kind", "dedupe_key", "details", "opened_at", "run")


@admin.register(ContingencyPlan)
class ContingencyPlanAdmin(AuditedAdmin):
    list_display = ("tenant", "account", "kind", "owner", "review_on")
    list_filter = ("kind",)
    raw_id_fields = ("account", "owner", "created_by")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "url", "is_active", "created_at")
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "endpoint", "event", "status", "attempts", "response_code", "created_at")
    list_filter = ("status", "event")
