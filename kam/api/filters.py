"""Filter pieces shared by the apps' APIs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request


class IdFilter(filters.NumberFilter):
    """An integer id (1.5 or 1e30 is refused, not rounded or overflowed)."""

    field_class = forms.IntegerField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, turned to UTC here: PostgreSQL refuses offsets beyond ±15:59 that
    Python accepts (``+18:01``), and an instant near year 1 or 9999 may leave the calendar."""

    def to_python(self, value: Any) -> dt.datetime | None:
        result = super().to_python(value)
        if result is None or timezone.is_naive(result):
            return result
        try:
            return result.astimezone(dt.UTC)
        except OverflowError as exc:
            raise ValidationError(_("Enter an instant between the years 1 and 9999."), code="invalid") from exc


class InstantFilter(filters.IsoDateTimeFilter):
    """``?..._after=`` / ``?..._before=`` on a timestamp: ISO 8601, any offset, never a 500."""

    field_class = UtcIsoDateTimeField


class StableOrderingFilter(OrderingFilter):
    """``?ordering=`` with the id appended as a tie-breaker, so that cursor pages are stable
    when the chosen field has equal values."""

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or ())
        if not any(field.lstrip("-") in {"id", "pk"} for field in ordering):
            ordering.append("-id" if ordering and ordering[0].startswith("-") else "id")
        return ordering
