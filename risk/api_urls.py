"""The risk API under /api/v1/ (kam/urls.py includes this module)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from risk.api.diversification import AlternativeMarketViewSet, DiversificationTargetViewSet
from risk.api.viewsets import (
    AccountHealthView,
    AlertViewSet,
    ConcentrationHistoryViewSet,
    ConcentrationView,
    ContingencyPlanViewSet,
    NotificationViewSet,
    RiskPolicyView,
    RiskRunViewSet,
    WebhookDeliveryViewSet,
    WebhookEndpointViewSet,
)

router = SimpleRouter()
router.register("alerts", AlertViewSet, basename="api-risk-alert")
router.register("risk-runs", RiskRunViewSet, basename="api-risk-run")
router.register("contingency-plans", ContingencyPlanViewSet, basename="api-contingency-plan")
router.register("webhooks", WebhookEndpointViewSet, basename="api-webhook")
router.register("notifications", NotificationViewSet, basename="api-notification")
router.register("diversification-targets", DiversificationTargetViewSet, basename="api-diversification-target")
router.register("alternative-markets", AlternativeMarketViewSet, basename="api-alternative-market")

urlpatterns = [
    path("concentration/", ConcentrationView.as_view(), name="api-concentration"),
    path(
        "concentration/history/",
        ConcentrationHistoryViewSet.as_view({"get": "list"}),
        name="api-concentration-history",
    ),
    path("accounts/<int:account_id>/health/", AccountHealthView.as_view(), name="api-account-health"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        WebhookDeliveryViewSet.as_view({"get": "list"}),
        name="api-webhook-deliveries",
    ),
    path("risk-policy/", RiskPolicyView.as_view(), name="api-risk-policy"),
    *router.urls,
]
