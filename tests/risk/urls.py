"""kam's URLs plus the risk API, for the risk tests until kam/urls.py includes risk.api_urls."""

from __future__ import annotations

from django.urls import include, path

from kam.urls import handler403, handler404, handler500  # noqa: F401
from kam.urls import urlpatterns as kam_urlpatterns

urlpatterns = [*kam_urlpatterns, path("api/v1/", include("risk.api_urls"))]
