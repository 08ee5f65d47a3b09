"""The risk API under /api/v1/ (kam/urls.py includes this module)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from risk import api, api_notifications

router = SimpleRouter()
router.register("alerts", api.AlertViewSet, basename="api-risk-alert")
router.register("risk-runs", api.RiskRunViewSet, basename="api-risk-run")
router.register("contingency-plans", api.ContingencyPlanViewSet, basename="api-contingency-plan")
router.register("webhooks", api.WebhookEndpointViewSet, basename="api-webhook")
router.register("notifications", api_notifications.NotificationViewSet, basename="api-notification")

urlpatterns = [
    path("concentration/", api.ConcentrationView.as_view(), name="api-concentration"),
    path(
        "concentration/history/",
        api.ConcentrationHistoryViewSet.as_view({"get": "list"}),
        name="api-concentration-history",
    ),
    path("accounts/<int:account_id>/health/", api.AccountHealthView.as_view(), name="api-account-health"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        api.WebhookDeliveryViewSet.as_view({"get": "list"}),
        name="api-webhook-deliveries",
    ),
    path("risk-policy/", api.RiskPolicyView.as_view(), name="api-risk-policy"),
    *router.urls,
]
