"""Risk pages under /t/<tenant_slug>/risk/ (served by the risk pages; none yet)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
