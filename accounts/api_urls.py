"""The accounts API under /api/v1/ (kam/urls.py includes this module)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api.viewsets import (
    AccountEventViewSet,
    AccountViewSet,
    ContactViewSet,
    ContractViewSet,
    InteractionViewSet,
    InvoiceViewSet,
    OrderViewSet,
    PaymentViewSet,
)

router = SimpleRouter()
router.register("accounts", AccountViewSet, basename="api-account")
router.register("contacts", ContactViewSet, basename="api-contact")
router.register("orders", OrderViewSet, basename="api-order")
router.register("invoices", InvoiceViewSet, basename="api-invoice")
router.register("payments", PaymentViewSet, basename="api-payment")
router.register("interactions", InteractionViewSet, basename="api-interaction")
router.register("contracts", ContractViewSet, basename="api-contract")

urlpatterns = [
    path(
        "accounts/<int:account_id>/events/",
        AccountEventViewSet.as_view({"get": "list", "post": "create"}),
        name="api-account-events",
    ),
    *router.urls,
]
