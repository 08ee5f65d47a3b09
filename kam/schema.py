"""Tenant keys: the shape of the tenant tables' keys in the database (DESIGN section 10).

- Every tenant table's primary key is ``(tenant_id, id)``. Django keeps ``id`` as the
  model's pk: ids come from the table's identity and stay unique per table, and every
  statement names its tenant besides, so the key's index serves each lookup by id.
- Every foreign key between tenant tables is composite, ``(tenant_id, x_id) ->
  (tenant_id, id)``: it keeps a row's references inside its tenant, and it is the only
  shape a database distributed by ``tenant_id`` (Citus) accepts between its tables.
- Foreign keys to the platform (reference) tables, :data:`REFERENCE_MODELS`, stay simple.

Django knows no composite keys, so a foreign key between tenant models is declared with
``db_constraint=False`` (Django then creates no simple foreign key, nor expects one) and
the migration that adds it says what the database holds instead, with the operations
below: :class:`TenantPrimaryKey` after a tenant model's ``CreateModel``, and
:class:`CompositeForeignKey` for each of its foreign keys to tenant models. Both read the
table and column names from the migration's state, so they stay true to the history.
The constraints are ``NO ACTION`` and ``DEFERRABLE INITIALLY DEFERRED``, as Django's own
are: Django's collector cascades and sets to NULL in Python, the database checks at
commit.

A tenant table may instead have no foreign keys in the database at all, when checking
them costs more than the rows' writes themselves (the score snapshots and the health
assessments, 100,000 rows per run): it says so by declaring its ``tenant`` foreign key
with ``db_constraint=False``; triggers then keep what the keys would have kept.

``kam/checks.py`` refuses models that break these rules, and tests/kam/test_schema.py
compares the live database with :func:`composite_relations`, so a migration that forgets
an operation fails there.
"""

from __future__ import annotations

from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.utils import truncate_name
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

# The platform's tables: global rows that tenant tables may name with simple foreign keys
# (on Citus: reference tables, copied to every node).
REFERENCE_MODELS = frozenset({"kam.Tenant", "kam.User", "kam.Membership", "kam.ApiToken"})

TENANT_COLUMN = "tenant_id"


def is_tenant_model(model: type[models.Model]) -> bool:
    from kam.models import TenantOwnedModel

    return issubclass(model, TenantOwnedModel)


def has_database_foreign_keys(model: type[models.Model]) -> bool:
    """Whether the tenant table keeps foreign keys in the database (it declares so by its
    ``tenant`` key's ``db_constraint``)."""
    return model._meta.get_field("tenant").db_constraint


def tenant_relations(model: type[models.Model]) -> list[models.ForeignKey]:
    """The model's foreign keys to tenant models."""
    return [
        field for field in model._meta.concrete_fields if field.is_relation and is_tenant_model(field.related_model)
    ]


def composite_relations(model: type[models.Model]) -> list[models.ForeignKey]:
    """The foreign keys of a tenant model that the database holds as composite ones."""
    return tenant_relations(model) if has_database_foreign_keys(model) else []


def composite_foreign_key_name(table: str, column: str, max_length: int) -> str:
    """``<table>_<column>_fk``, shortened with a hash as PostgreSQL's names must be."""
    return truncate_name(f"{table}_{column}_fk", max_length)


def _primary_key_name(schema_editor: BaseDatabaseSchemaEditor, table: str) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            [schema_editor.quote_name(table)],
        )
        return cursor.fetchone()[0]


class TenantPrimaryKey(Operation):
    """The table's primary key becomes ``(tenant_id, id)`` (backwards: ``(id)`` again), in
    place: the rows stay, the key's index is built anew. Foreign keys that name the table's
    ``id`` alone must be gone before (``db_constraint=False`` on their fields)."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        # Django's model state knows no composite primary key: id stays the model's pk.
        pass

    def _replace(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, state: ProjectState, columns: list[str]
    ) -> None:
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        q = schema_editor.quote_name
        table = model._meta.db_table
        # The key keeps its name (the one PostgreSQL gave it when Django created the table).
        name = q(_primary_key_name(schema_editor, table))
        schema_editor.execute(
            f"ALTER TABLE {q(table)} DROP CONSTRAINT {name},"
            f" ADD CONSTRAINT {name} PRIMARY KEY ({', '.join(q(column) for column in columns)})"
        )

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        self._replace(app_label, schema_editor, to_state, [TENANT_COLUMN, "id"])

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        self._replace(app_label, schema_editor, to_state, ["id"])

    def describe(self) -> str:
        return f"Primary key (tenant_id, id) of {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name.lower()}_tenant_primary_key"


class CompositeForeignKey(Operation):
    """The foreign key ``(tenant_id, <field>_id) -> <target> (tenant_id, id)`` of a field
    declared with ``db_constraint=False``, deferrable and checked at commit; backwards it goes."""

    def __init__(self, model_name: str, name: str) -> None:
        self.model_name = model_name
        self.name = name

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        # The field keeps db_constraint=False: Django neither makes nor looks for a key of its own.
        pass

    def _parts(self, app_label: str, state: ProjectState) -> tuple[type[models.Model], str, str, str]:
        model = state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        table = model._meta.db_table
        return model, table, field.column, field.related_model._meta.db_table

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model, table, column, target = self._parts(app_label, to_state)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        q = schema_editor.quote_name
        name = composite_foreign_key_name(table, column, schema_editor.connection.ops.max_name_length())
        schema_editor.execute(
            f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} FOREIGN KEY ({q(TENANT_COLUMN)}, {q(column)})"
            f" REFERENCES {q(target)} ({q(TENANT_COLUMN)}, {q('id')}) DEFERRABLE INITIALLY DEFERRED"
        )

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model, table, column, _target = self._parts(app_label, from_state)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        q = schema_editor.quote_name
        name = composite_foreign_key_name(table, column, schema_editor.connection.ops.max_name_length())
        schema_editor.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}")

    def describe(self) -> str:
        return f"Composite foreign key (tenant_id, {self.name}) of {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name.lower()}_{self.name.lower()}_composite_key"
