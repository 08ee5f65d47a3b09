"""The one way services write a tenant's record: validate, save, audit.

Every app's services create, update and delete through these, so each write checks
the model's rules and constraints, turns a database refusal into a message instead of
a 500, stays inside its tenant, and lands in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from kam import audit
from kam.models import Tenant

M = TypeVar("M", bound=models.Model)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


# The default of an update service's keyword arguments: a field not given stays as it is
# (None would clear it). Typed Any so that a signature states the field's own type:
# ``name: str = UNSET``.
UNSET: Any = _Unset()


def given(**fields: Any) -> dict[str, Any]:
    """The fields a caller gave (not UNSET): what an update service changes."""
    return {name: value for name, value in fields.items() if value is not UNSET}


def check_same_tenant(tenant: Tenant, **related: models.Model | None) -> None:
    """Each named object, when given, must belong to ``tenant`` (a field error otherwise)."""
    for name, obj in related.items():
        if obj is not None and getattr(obj, "tenant_id", tenant.pk) != tenant.pk:
            raise ValidationError({name: _("Choose one of this workspace's own records.")})


def save_validated(instance: M, *, database_message: Callable[[IntegrityError], str] | None = None) -> M:
    """full_clean (fields, model rules, constraints) then save; a database refusal becomes a message."""
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        message = database_message(exc) if database_message else None
        raise ValidationError(message or _("The change breaks a data rule and was not saved.")) from exc
    return instance


def create_record(
    tenant: Tenant,
    model: type[M],
    data: Mapping[str, Any],
    *,
    actor: Any = None,
    database_message: Callable[[IntegrityError], str] | None = None,
) -> M:
    instance = model(tenant=tenant, **data)
    save_validated(instance, database_message=database_message)
    audit.record_create(tenant=tenant, instance=instance, actor=actor)
    return instance


def update_record(
    tenant: Tenant,
    instance: M,
    data: Mapping[str, Any],
    *,
    actor: Any = None,
    database_message: Callable[[IntegrityError], str] | None = None,
) -> M:
    if instance.tenant_id != tenant.pk:  # type: ignore[attr-defined]
        raise ValidationError(_("No such record in this workspace."))
    before = audit.snapshot(instance)
    for name, value in data.items():
        setattr(instance, name, value)
    save_validated(instance, database_message=database_message)
    audit.record_update(tenant=tenant, instance=instance, before=before, actor=actor)
    return instance


def delete_record(tenant: Tenant, instance: models.Model, *, actor: Any = None) -> None:
    if instance.tenant_id != tenant.pk:  # type: ignore[attr-defined]
        raise ValidationError(_("No such record in this workspace."))
    audit.record_delete(tenant=tenant, instance=instance, actor=actor)
    instance.delete()
