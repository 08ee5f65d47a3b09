"""The one base for tenant API viewsets: the queryset is narrowed to the request's
tenant once, here; creates are stamped with it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import viewsets


class TenantViewSetMixin:
    queryset: QuerySet

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().filter(tenant=self.request.tenant)  # type: ignore[misc]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["tenant"] = self.request.tenant  # type: ignore[attr-defined]
        return context


class TenantModelViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    pass


class TenantReadOnlyViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
