"""Portfolio pages, under /t/<tenant_slug>/portfolio/ (kam/urls.py)."""

from __future__ import annotations

from portfolio.views import urlpatterns

__all__ = ["urlpatterns"]
