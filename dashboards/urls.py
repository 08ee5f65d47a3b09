"""Dashboard pages under /t/<tenant_slug>/dashboards/ (kam/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
