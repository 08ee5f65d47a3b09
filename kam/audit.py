"""The audit log: every create, update and delete made through services, the API or
the admin, with the tenant, the actor (user or API token), the object and the
changed fields before and after.

Why our own and not django-simple-history or django-pghistory: those record every
row write, including the set-based score and risk runs that rewrite thousands of
denormalised values at once; we want the deliberate changes people and integrators
make, recorded by the service that makes them, and readable under the tenant's RLS.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile

from kam.models import ApiToken, AuditAction, AuditLog, Tenant, User
from kam.tenancy import get_current_actor, tenant_context

# Never written to the log, whatever the model.
SECRET_FIELDS = frozenset({"password", "token_hash", "secret"})
# Said by the entry itself (object, tenant, time), so left out of a create's or delete's fields.
BOOKKEEPING_FIELDS = frozenset({"id", "tenant_id", "created_at", "updated_at"})


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):
        return value.name or ""  # a stored file by its path (a contract's document)
    return value


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The instance's concrete field values, JSON-ready (foreign keys as ids)."""
    values: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        values[field.attname] = _plain(getattr(instance, field.attname))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields that differ."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key) and key != "updated_at"
    }


def record(
    *,
    tenant: Tenant,
    action: str,
    instance: models.Model,
    changes: dict[str, Any] | None = None,
    actor: Any = None,
) -> AuditLog:
    return _write(
        tenant=tenant,
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance),
        changes=changes,
        actor=actor,
    )


def record_bulk(
    *, tenant: Tenant, action: str, model: type[models.Model], summary: str, changes: dict[str, Any], actor: Any = None
) -> AuditLog:
    """One entry for a set-based write (bulk create, import) instead of one per row."""
    return _write(
        tenant=tenant,
        action=action,
        object_type=model._meta.label_lower,
        object_id="",
        object_repr=summary,
        changes=changes,
        actor=actor,
    )


def _write(
    *,
    tenant: Tenant,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    changes: dict[str, Any] | None,
    actor: Any,
) -> AuditLog:
    actor = actor if actor is not None else get_current_actor()
    with tenant_context(tenant):
        return AuditLog.objects.create(
            tenant=tenant,
            actor_user=actor if isinstance(actor, User) else None,
            actor_token=actor if isinstance(actor, ApiToken) else None,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr[:200],
            changes=changes or {},
        )


def record_create(*, tenant: Tenant, instance: models.Model, actor: Any = None) -> AuditLog:
    created = {
        key: [None, value]
        for key, value in snapshot(instance).items()
        if value not in (None, "") and key not in BOOKKEEPING_FIELDS
    }
    return record(tenant=tenant, action=AuditAction.CREATE, instance=instance, changes=created, actor=actor)


def record_update(
    *, tenant: Tenant, instance: models.Model, before: dict[str, Any], actor: Any = None
) -> AuditLog | None:
    changes = diff(before, snapshot(instance))
    if not changes:
        return None
    return record(tenant=tenant, action=AuditAction.UPDATE, instance=instance, changes=changes, actor=actor)


def record_delete(*, tenant: Tenant, instance: models.Model, actor: Any = None) -> AuditLog:
    removed = {
        key: [value, None]
        for key, value in snapshot(instance).items()
        if value not in (None, "") and key not in BOOKKEEPING_FIELDS
    }
    return record(tenant=tenant, action=AuditAction.DELETE, instance=instance, changes=removed, actor=actor)
