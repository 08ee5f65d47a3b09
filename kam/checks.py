"""System checks that keep the tenancy rules of DESIGN sections 2 and 10 true as apps grow.

The database half is checked against a live database: every tenant table has RLS enabled,
forced and the policy (tests/kam/test_rls.py); its primary key is (tenant_id, id) and its
foreign keys to tenant tables are composite (tests/kam/test_schema.py).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks
from django.db.models import UniqueConstraint
from django.db.models.fields import AutoFieldMixin

from kam import schema


@checks.register(checks.Tags.models)
def tenant_models_follow_the_rules(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from kam.rls import tenant_owned_models

    errors: list[checks.CheckMessage] = []
    for model in tenant_owned_models():
        label = model._meta.label
        errors.extend(_key_errors(model))
        for field in model._meta.get_fields():
            if getattr(field, "concrete", False) and field.unique and not field.primary_key:
                errors.append(
                    checks.Error(
                        f"{label}.{field.name} is unique on its own; tenant tables need tenant in every unique constraint.",
                        hint="Use Meta.constraints = [UniqueConstraint(fields=['tenant', ...])].",
                        obj=model,
                        id="kam.E001",
                    )
                )
            if field.many_to_many and not field.auto_created and field.remote_field.through._meta.auto_created:
                errors.append(
                    checks.Error(
                        f"{label}.{field.name} uses an automatic through table, which has no tenant_id and no RLS.",
                        hint="Declare an explicit through model that inherits TenantOwnedModel.",
                        obj=model,
                        id="kam.E002",
                    )
                )
        for unique in model._meta.unique_together:
            if "tenant" not in unique:
                errors.append(
                    checks.Error(f"{label}: unique_together {unique} lacks tenant.", obj=model, id="kam.E001")
                )
        for constraint in model._meta.constraints:
            if isinstance(constraint, UniqueConstraint) and "tenant" not in constraint.fields:
                errors.append(
                    checks.Error(f"{label}: constraint {constraint.name} lacks tenant.", obj=model, id="kam.E001")
                )
        for index in model._meta.indexes:
            if index.fields and index.fields[0].lstrip("-") not in ("tenant", "tenant_id"):
                errors.append(
                    checks.Error(
                        f"{label}: index {index.name} does not lead with tenant.",
                        hint="Tenant queries need indexes that start with tenant_id (DESIGN section 2).",
                        obj=model,
                        id="kam.E003",
                    )
                )
    return errors


@checks.register(checks.Tags.models)
def platform_models_name_no_tenant_rows(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A platform table (no tenant) holding a foreign key to a tenant table: its rows would
    point into the tenants' rows from outside any tenant, which no database distributed by
    tenant accepts either (a reference table cannot name a distributed one)."""
    errors: list[checks.CheckMessage] = []
    for model in apps.get_models(include_auto_created=True):
        if schema.is_tenant_model(model):
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and schema.is_tenant_model(field.related_model):
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{field.name} names a tenant table from a table without tenant.",
                        hint="Make the model tenant-owned (inherit TenantOwnedModel).",
                        obj=model,
                        id="kam.E007",
                    )
                )
    return errors


def _key_errors(model: Any) -> list[checks.CheckMessage]:
    """The rules of kam/schema.py: the automatic id as pk (the database key is (tenant_id, id)),
    foreign keys only to tenant and platform tables, none of them simple between tenant tables."""
    label = model._meta.label
    errors: list[checks.CheckMessage] = []
    pk = model._meta.pk
    if pk.name != "id" or not isinstance(pk, AutoFieldMixin):
        errors.append(
            checks.Error(
                f"{label}: the primary key is {pk.name}, not the automatic id.",
                hint="Tenant tables are keyed (tenant_id, id) in the database; keep Django's id as the pk.",
                obj=model,
                id="kam.E006",
            )
        )
    for field in model._meta.concrete_fields:
        if not field.is_relation:
            continue
        target = field.related_model
        if schema.is_tenant_model(target):
            if field.db_constraint:
                errors.append(
                    checks.Error(
                        f"{label}.{field.name} would get a simple foreign key ({field.column} -> id) to the tenant "
                        f"table {target._meta.db_table}.",
                        hint="Declare it db_constraint=False; its migration adds CompositeForeignKey (kam/schema.py), "
                        "or nothing in a table without database foreign keys.",
                        obj=model,
                        id="kam.E004",
                    )
                )
        elif target._meta.label not in schema.REFERENCE_MODELS:
            errors.append(
                checks.Error(
                    f"{label}.{field.name} names {target._meta.label}, neither a tenant table nor a platform table.",
                    hint=f"Tenant tables may name each other and {', '.join(sorted(schema.REFERENCE_MODELS))}.",
                    obj=model,
                    id="kam.E005",
                )
            )
    return errors
