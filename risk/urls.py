"""Risk pages under /t/<tenant_slug>/risk/ (kam/urls.py); each page module keeps its own routes."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("risk.views.alerts")),
    path("", include("risk.views.notifications")),
    path("", include("risk.views.concentration")),
    path("", include("risk.views.diversification")),
    path("", include("risk.views.runs")),
    path("", include("risk.views.account")),
    path("", include("risk.views.contingency")),
    path("", include("risk.views.settings")),
]
