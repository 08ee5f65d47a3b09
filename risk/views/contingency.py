"""Risk pages: one contingency plan (替代市场培育计划 / 突发流失应急预案) — its text, the alert
kinds that trigger it, its checklist of steps, and its activations: which alert made which
actions on the account's plan, with their status now (risk/contingency.py). Anyone who reads
the account reads the plan; another tenant's plan is 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from accounts import access
from kam.permissions import tenant_view
from kam.tenancy import tenant_today
from risk import contingency, notifications, selectors
from risk.models import AlertKind


@tenant_view()
@require_GET
def plan_page(request: HttpRequest, plan_id: int) -> HttpResponse:
    tenant = request.tenant
    plan = selectors.plan_get(tenant, request.membership, plan_id)
    activations = contingency.activations(tenant, plan=plan)
    link = notifications.alert_link_builder(tenant)
    for row in activations:
        row.alert_link = link(row.alert_id)
    labels = dict(AlertKind.choices)
    context = {
        "plan": plan,
        "account": plan.account,
        "today": tenant_today(tenant),
        "trigger_labels": [labels.get(kind, kind) for kind in plan.trigger_kinds],
        "steps": list(plan.steps.select_related("owner").order_by("position", "id")),
        "activations": activations,
        "can_edit": access.can_write(tenant, request.membership, plan.account),
    }
    return render(request, "risk/plan.html", context)


urlpatterns = [
    path("plans/<int:plan_id>/", plan_page, name="risk-plan"),
]
