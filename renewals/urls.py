"""Renewal pages, under /t/<tenant_slug>/renewals/ (kam/urls.py)."""

from __future__ import annotations

from renewals import views

urlpatterns = views.urlpatterns
