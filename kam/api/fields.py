"""Serializer fields shared by the apps' APIs: ids of the request tenant's own rows, instants,
numbers with two decimals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kam.models import User

# Largest id PostgreSQL's bigint holds: a bigger number is refused as input, never sent to the database.
MAX_ID = 2**63 - 1
CENT = Decimal("0.01")


def two_places(value: Decimal | None) -> float | None:
    """A decimal as a JSON number rounded to two places (scores, points); None stays null."""
    return None if value is None else float(Decimal(value).quantize(CENT))


def tenant_field(model: type[Model], **kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    """The id of one of the request tenant's ``model`` rows: the model's scoped manager reads
    the active tenant's rows when the request runs, and none without one (fail closed)."""
    return serializers.PrimaryKeyRelatedField(queryset=model._default_manager.all(), **kwargs)


class TenantMemberField(serializers.PrimaryKeyRelatedField):
    """The id of a user who is an active member of the request tenant."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=User.objects.all(), **kwargs)

    def get_queryset(self) -> QuerySet:
        tenant = self.context.get("tenant")
        if tenant is None:
            return User.objects.none()
        return User.objects.filter(is_active=True, memberships__tenant=tenant, memberships__is_active=True)


class InstantField(serializers.DateTimeField):
    """A date and time from 1900 on. Earlier instants have no business here, and the tenant's
    time zone gives them its local mean time (Asia/Shanghai: +08:05:43), an offset ISO 8601
    answers cannot carry."""

    EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)

    def to_internal_value(self, value: Any) -> dt.datetime:
        instant = super().to_internal_value(value)
        if instant < self.EARLIEST:
            raise serializers.ValidationError(_("Enter a date and time from 1900 on."), code="min_value")
        return instant
