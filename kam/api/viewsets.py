"""The one base for tenant API viewsets: the queryset is narrowed to the request's
tenant once, here; creates are stamped with it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.sql.where import NothingNode
from rest_framework import viewsets


def request_time_queryset(queryset: QuerySet) -> QuerySet:
    """The class-level ``queryset`` re-read at request time.

    ``Model.objects`` narrows to the current tenant when the queryset is made, and a
    class attribute is made at import, when no tenant is set: it is then empty for
    good. Declare ``queryset = Model.unscoped...``; for one declared on ``objects``
    anyway, the emptiness that came from import time is dropped here, so the request's
    tenant filter below decides (and the database's RLS still applies).
    """
    query = queryset.query.chain()
    query.where.children = [child for child in query.where.children if not isinstance(child, NothingNode)]
    fresh = queryset.model.unscoped.all()
    fresh.query = query
    fresh._prefetch_related_lookups = queryset._prefetch_related_lookups
    return fresh


class TenantViewSetMixin:
    queryset: QuerySet

    def get_queryset(self) -> QuerySet:
        return request_time_queryset(self.queryset).filter(tenant=self.request.tenant)  # type: ignore[attr-defined]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["tenant"] = self.request.tenant  # type: ignore[attr-defined]
        return context


class TenantModelViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    pass


class TenantReadOnlyViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
