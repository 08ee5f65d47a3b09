"""The service API under /api/v1/ (kam/urls.py includes this module)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from service.api.viewsets import NeedViewSet

router = SimpleRouter()
router.register("needs", NeedViewSet, basename="api-need")

urlpatterns = router.urls
