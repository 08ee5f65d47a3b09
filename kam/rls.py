"""Row-level security on every tenant-owned table, and the app role's grants.

Runs after every ``migrate`` (post_migrate), as the owner role that migrations use,
so a new app gets RLS by declaring :class:`kam.models.TenantOwnedModel`; nothing
else to remember (a job's stage, :class:`kam.models.TenantStageModel`, is the one
table without: it never holds a committed row). Idempotent. DESIGN section 2.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

POLICY_NAME = "tenant_isolation"
POLICY_EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def tenant_owned_models() -> list[type]:
    from kam.models import TenantOwnedModel

    return [
        model
        for model in apps.get_models(include_auto_created=False)
        if issubclass(model, TenantOwnedModel) and not model._meta.proxy and model._meta.managed
    ]


def tenant_tables() -> list[str]:
    return sorted({model._meta.db_table for model in tenant_owned_models()})


def stage_tables() -> list[str]:
    """The jobs' stages (kam.models.TenantStageModel): tenant tables without row-level
    security, which never hold a committed row."""
    return sorted({model._meta.db_table for model in tenant_owned_models() if not model.row_level_security})


def rls_tables() -> list[str]:
    """The tenant tables under row-level security: all but the stages."""
    return sorted(set(tenant_tables()) - set(stage_tables()))


def enable_rls(connection: BaseDatabaseWrapper, table: str) -> None:
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
        cursor.execute(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
        cursor.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {quoted}")
        cursor.execute(
            f"CREATE POLICY {POLICY_NAME} ON {quoted} USING ({POLICY_EXPRESSION}) WITH CHECK ({POLICY_EXPRESSION})"
        )


def app_role() -> str | None:
    """The runtime role, when it differs from the role that owns the tables."""
    app_user = settings.DATABASE_APP_ROLE
    owner_user = settings.DATABASE_OWNER.get("USER")
    return app_user if app_user and app_user != owner_user else None


def grant_app_role(connection: BaseDatabaseWrapper, role: str) -> None:
    quoted = connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
        # Fresh statistics after a bulk job (kam migration 0004, kam.db.analyze_written); not
        # there when the migrations were taken back before it.
        cursor.execute("SELECT to_regprocedure('kam_analyze(text[])') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute(f"GRANT EXECUTE ON FUNCTION kam_analyze(text[]) TO {quoted}")


def apply_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # post_migrate fires once per app after all migrations ran; one pass covers every table.
    if sender.label != "kam":
        return
    connection = connections[using]
    if app_role() is not None and connection.settings_dict.get("USER") != settings.DATABASE_OWNER.get("USER"):
        # post_migrate also follows `flush` (transactional tests), run as the app role,
        # which may not alter tables; RLS is in place since the owner's migrate.
        return
    # A migration back may have taken an app's tables away (they come again with its migrations).
    existing = set(connection.introspection.table_names())
    for table in rls_tables():
        if table in existing:
            enable_rls(connection, table)
    role = app_role()
    if role:
        grant_app_role(connection, role)
