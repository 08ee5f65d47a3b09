"""System checks that keep the tenancy rules of DESIGN section 2 true as apps grow.

The database half (every tenant table has RLS enabled, forced and the policy) is
checked against a live database by tests/kam/test_rls.py.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db.models import UniqueConstraint


@checks.register(checks.Tags.models)
def tenant_models_follow_the_rules(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from kam.rls import tenant_owned_models

    errors: list[checks.CheckMessage] = []
    for model in tenant_owned_models():
        label = model._meta.label
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
