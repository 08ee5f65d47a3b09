"""The channels API under /api/v1/ (kam/urls.py includes this module)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from messaging.api.viewsets import register

router = SimpleRouter()
register(router)

urlpatterns = router.urls
