"""Writes of the portfolio app: the incentive index's weights (administrators). Bad input
raises ValidationError with field messages and writes nothing; the change is audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kam import audit
from kam.models import Tenant
from kam.tenancy import tenant_service
from portfolio.models import PortfolioWeights

FIELDS = ("revenue", "health", "growth")


def validate_weights(values: dict[str, Any]) -> dict[str, int]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    for name in FIELDS:
        value = values.get(name)
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if isinstance(value, int) else int(str(value).strip())
        except (TypeError, ValueError):
            errors[name] = [_("Enter a whole number from 0 to 100.")]
            continue
        if not 0 <= number <= 100:
            errors[name] = [_("Enter a whole number from 0 to 100.")]
            continue
        clean[name] = number
    if not errors and sum(clean.values()) != 100:
        errors["__all__"] = [_("The weights must sum to 100 (now %(total)s).") % {"total": sum(clean.values())}]
    if errors:
        raise ValidationError(errors)
    return clean


@tenant_service
def weights_update(tenant: Tenant, *, actor: Any = None, **values: Any) -> PortfolioWeights:
    clean = validate_weights(values)
    row = PortfolioWeights.objects.select_for_update().filter(tenant=tenant).first()
    user = actor if getattr(actor, "is_authenticated", False) and hasattr(actor, "email") else None
    if row is None:
        row = PortfolioWeights.objects.create(tenant=tenant, updated_by=user, **clean)
        audit.record_create(tenant=tenant, instance=row, actor=actor)
        return row
    before = audit.snapshot(row)
    for name, value in clean.items():
        setattr(row, name, value)
    row.updated_by = user
    row.save()
    audit.record_update(tenant=tenant, instance=row, before=before, actor=actor)
    return row
