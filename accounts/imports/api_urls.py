"""Import endpoints, under /api/v1/ (kam/urls.py)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from accounts.imports.api import ImportJobViewSet

router = SimpleRouter()
# "api-imports": the page owns the URL name "imports-list".
router.register("imports", ImportJobViewSet, basename="api-imports")

urlpatterns = router.urls
