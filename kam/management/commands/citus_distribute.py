"""``manage.py citus_distribute [--check]``: lay the schema out on a Citus cluster (DESIGN
section 10). Idempotent: what already holds is left alone, so a second run changes nothing.

On the coordinator, as the owner role (it owns the tables), in one transaction:

1. the global tables become reference tables (a copy on every node): tenants, users,
   memberships, API tokens;
2. every tenant table (every ``TenantOwnedModel``, and an auto-created many-to-many table
   between two of them) is distributed on ``tenant_id``, parents before children, all in
   one co-location group with ``accounts_account`` (first in that order): a tenant's rows
   of every table live on one worker;
3. the foreign keys of the tenant tables being distributed are dropped before step 1 and
   added again after step 2. Citus requires it for those to reference tables: a plain
   table that references a table turned into a reference table becomes a Citus local
   table, and a Citus local table with an identity column (every ``id`` here) can no
   longer be distributed. For those between tenant tables, see distribute();
4. row-level security (kam/rls.py) and the app role's grants are applied again where a
   shard lacks them.

Then the role settings, each set by the role itself (no superuser needed):

- app role: ``citus.propagate_set_commands = 'local'``: Citus sends the request's
  ``SET LOCAL app.tenant_id`` to the workers (it never sends ``set_config()``);
- owner role: ``citus.enable_unsafe_triggers = on`` (distributing a table with triggers,
  and later migrations that create or drop them; the triggers filter by
  ``NEW.tenant_id``) and ``citus.enable_local_reference_table_foreign_keys = off`` (a
  tenant table that a later migration creates stays a plain table, so that the next run
  of this command can still distribute it).

Nothing changes when a table is not distributable (a primary key or unique constraint
without ``tenant_id``, a foreign key between tenant tables that is not composite, ...):
the command lists why and exits non-zero. On plain PostgreSQL it says so and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.db.backends.utils import CursorWrapper

from kam.db import owner_connection
from kam.models import ApiToken, Membership, Tenant
from kam.rls import POLICY_NAME, app_role, enable_rls, grant_app_role, stage_tables, tenant_owned_models

DISTRIBUTION_COLUMN = "tenant_id"
# The platform's global tables: small, read by every request, joined with tenant tables.
REFERENCE_MODELS: tuple[type[models.Model], ...] = (Tenant, get_user_model(), Membership, ApiToken)
APP_ROLE_SETTINGS = {"citus.propagate_set_commands": "local"}
OWNER_ROLE_SETTINGS = {"citus.enable_unsafe_triggers": "on", "citus.enable_local_reference_table_foreign_keys": "off"}
APP_PRIVILEGES = "SELECT,INSERT,UPDATE,DELETE"
# pg_trigger.tgenabled of a trigger that fires, and how ALTER TABLE switches it on so again.
TRIGGER_STATES = {"O": "ENABLE", "A": "ENABLE ALWAYS", "R": "ENABLE REPLICA"}


def reference_tables() -> list[str]:
    return [model._meta.db_table for model in REFERENCE_MODELS]


def tenant_tables() -> list[str]:
    """Every tenant table: the tenant-owned models' and the auto-created many-to-many
    tables that join two of them."""
    owned = tenant_owned_models()
    tables = {model._meta.db_table for model in owned}
    for model in owned:
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            if through._meta.auto_created and m2m.related_model in owned:
                tables.add(through._meta.db_table)
    return sorted(tables)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    target: str
    columns: tuple[str, ...]
    target_columns: tuple[str, ...]
    definition: str


@dataclass
class Schema:
    """What the coordinator's catalog says about the tables concerned."""

    # table -> (kind: "distributed" | "reference" | "citus local", distribution column, co-location id)
    citus: dict[str, tuple[str, str | None, int]]
    keys: dict[str, list[tuple[str, tuple[str, ...]]]]  # table -> [(constraint or index, its columns)]
    foreign_keys: list[ForeignKey]
    columns: dict[str, set[str]]
    triggers: dict[str, list[tuple[str, str]]]  # table -> [(name, pg_trigger.tgenabled)] of its firing triggers

    def kind(self, table: str) -> str:
        return self.citus.get(table, ("plain", None, 0))[0]


@dataclass
class Plan:
    lines: list[tuple[bool, str]] = field(default_factory=list)  # (holds, what)
    blockers: list[str] = field(default_factory=list)
    tables_to_do: int = 0  # of the steps on tables (the rest are role settings)

    def step(self, holds: bool, text: str) -> None:
        self.lines.append((holds, text))

    @property
    def to_do(self) -> int:
        return sum(not holds for holds, _text in self.lines)


class Command(BaseCommand):
    help = (
        "Distribute the tenant tables on tenant_id over a Citus cluster (reference tables, "
        "co-located tenant tables, foreign keys, row-level security, role settings). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="print the plan and what already holds; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app = app_role()  # None when the app runs as the owner: the owner takes its settings too
        with owner_connection():
            owner = connection.settings_dict["USER"]
            owner_settings = OWNER_ROLE_SETTINGS if app else {**OWNER_ROLE_SETTINGS, **APP_ROLE_SETTINGS}
            with connection.cursor() as cursor:
                cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'citus'")
                row = cursor.fetchone()
                if row is None:
                    raise CommandError(
                        "This database is plain PostgreSQL: it has no citus extension. Nothing was changed. "
                        "On a Citus coordinator, run CREATE EXTENSION citus as a superuser first."
                    )
                self.stdout.write(f"Citus {row[0]} on {connection.settings_dict['NAME']} (as {owner})")
                schema = read_schema(cursor)
                order = distribution_order(schema, tenant_tables())
                plan = Plan()
                self._plan_tables(plan, schema, order, cursor)
                plan.tables_to_do = plan.to_do
                self._plan_roles(plan, cursor, {owner: owner_settings, **({app: APP_ROLE_SETTINGS} if app else {})})
            self._print(plan)
            if plan.blockers:
                raise CommandError("Not distributable, nothing was changed:\n  " + "\n  ".join(plan.blockers))
            if options["check"] or not plan.to_do:
                return
            if plan.tables_to_do:
                with transaction.atomic(), connection.cursor() as cursor:
                    self._apply_tables(cursor, schema, order)
            with connection.cursor() as cursor:
                set_role_settings(cursor, owner_settings)
        if app:
            # The app role may set its own defaults; the owner may not (it is no superuser).
            with connection.cursor() as cursor:
                set_role_settings(cursor, APP_ROLE_SETTINGS)
        self.stdout.write(self.style.SUCCESS(f"Done: {plan.to_do} steps applied."))

    # --- the plan ----------------------------------------------------------------------

    def _plan_tables(self, plan: Plan, schema: Schema, order: list[str], cursor: CursorWrapper) -> None:
        reference = set(reference_tables())
        plan.blockers.extend(distribution_blockers(schema, order, reference))
        for table in reference_tables():
            plan.step(schema.kind(table) == "reference", f"reference table {table}")
        anchor = order[0] if order else None
        anchor_group = schema.citus.get(anchor, ("", None, -1))[2] if anchor else -1
        for table in order:
            kind, column, group = schema.citus.get(table, ("plain", None, 0))
            holds = kind == "distributed" and column == DISTRIBUTION_COLUMN and group == anchor_group
            text = f"distribute {table} on {DISTRIBUTION_COLUMN}, co-located with {anchor}"
            keys = [key for key in schema.foreign_keys if key.table == table]
            if keys:
                text += "; its foreign keys after: " + ", ".join(
                    f"({', '.join(k.columns)}) -> {k.target}" for k in keys
                )
            plan.step(holds, text)
            if kind == "distributed" and not holds:
                plan.blockers.append(f"{table} is distributed otherwise (by {column}, co-location {group})")
        stages = set(stage_tables())
        for table in order:
            rls = table not in stages
            holds = schema.kind(table) == "distributed" and shards_hold(cursor, table, app_role(), rls=rls)
            plan.step(holds, f"{'row-level security and grants' if rls else 'grants'} on every shard of {table}")

    def _plan_roles(self, plan: Plan, cursor: CursorWrapper, roles: dict[str, dict[str, str]]) -> None:
        for role, wanted in roles.items():
            current = role_settings(cursor, role)
            for name, value in wanted.items():
                plan.step(current.get(name) == value, f"ALTER ROLE {role} SET {name} = '{value}'")

    def _print(self, plan: Plan) -> None:
        for holds, text in plan.lines:
            self.stdout.write(f"  {'holds' if holds else 'to do'}  {text}")
        self.stdout.write(f"{plan.to_do} of {len(plan.lines)} steps to do.")

    # --- applying it -------------------------------------------------------------------

    def _apply_tables(self, cursor: CursorWrapper, schema: Schema, order: list[str]) -> None:
        reference = reference_tables()
        quote = connection.ops.quote_name
        # One connection per worker: steps of one transaction that touch the same shards
        # must not be spread over several connections.
        cursor.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        cursor.execute("SET LOCAL client_min_messages TO warning")
        # Tables with triggers may be distributed; the tables of Django's own apps that
        # reference the user table (groups, permissions, admin log) become Citus local
        # tables on the coordinator when it turns into a reference table.
        cursor.execute("SET LOCAL citus.enable_unsafe_triggers TO on")
        cursor.execute("SET LOCAL citus.enable_local_reference_table_foreign_keys TO on")
        # Citus makes a table it turns into a Citus local table afresh, its identity sequence
        # too, which then starts again at 1: the next migration's content types would collide.
        positions = sequence_positions(cursor)
        # The foreign keys of the tables to distribute go first and come back last: see the
        # module's docstring (reference tables) and distribute() (the copy of the rows).
        readd = [key for key in schema.foreign_keys if key.table in order and schema.kind(key.table) != "distributed"]
        for key in readd:
            cursor.execute(f"ALTER TABLE {quote(key.table)} DROP CONSTRAINT {quote(key.name)}")
        for table in reference:
            if schema.kind(table) != "reference":
                cursor.execute("SELECT create_reference_table(%s)", [table])
        anchor = order[0]
        for table in order:
            if schema.kind(table) != "distributed":
                distribute(cursor, table, schema.triggers.get(table, []), anchor if table != anchor else "none")
        for key in readd:
            cursor.execute(f"ALTER TABLE {quote(key.table)} ADD CONSTRAINT {quote(key.name)} {key.definition}")
        role = app_role()
        stages = set(stage_tables())
        for table in order:
            if table in stages:
                continue
            # Shards made in this transaction are not visible to the probe's connections.
            if schema.kind(table) != "distributed" or not shards_hold(cursor, table, role):
                enable_rls(connection, table)
        restore_sequences(cursor, positions)
        if role:
            grant_app_role(connection, role)


def sequence_positions(cursor: CursorWrapper) -> dict[str, int]:
    """Every sequence of the schema that has been used, and its last value."""
    cursor.execute(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value FROM pg_sequences"
        " WHERE schemaname = 'public' AND last_value IS NOT NULL"
    )
    return dict(cursor.fetchall())


def restore_sequences(cursor: CursorWrapper, positions: dict[str, int]) -> None:
    """Set each sequence back to where it was, where it now stands before that."""
    now = sequence_positions(cursor)
    for name, last in positions.items():
        if now.get(name, 0) < last:
            cursor.execute("SELECT setval(%s, %s)", [name, last])


def distribute(cursor: CursorWrapper, table: str, triggers: list[tuple[str, str]], colocate_with: str) -> None:
    """Distribute ``table`` on tenant_id, its existing rows copied into the shards.

    Citus copies them with COPY, which PostgreSQL refuses under row-level security even
    to the owner when it is forced: forcing is off for the copy (the caller forces it
    again with the policy). The table's triggers are off too: the rows were checked when
    they were written, and the copy, shard by shard in no particular order, would show a
    trigger a child before its parent. The table has no foreign keys at this point (the
    caller adds them back once every table is distributed): their checks, deferred to the
    end of the transaction on every worker, would make ALTER TABLE refuse to switch the
    triggers on again ("pending trigger events").
    """
    quoted = connection.ops.quote_name(table)
    cursor.execute(f"ALTER TABLE {quoted} NO FORCE ROW LEVEL SECURITY")
    if triggers:
        cursor.execute(f"ALTER TABLE {quoted} DISABLE TRIGGER USER")
    cursor.execute(
        "SELECT create_distributed_table(%s, %s, colocate_with => %s)", [table, DISTRIBUTION_COLUMN, colocate_with]
    )
    for name, enabled in triggers:
        cursor.execute(f"ALTER TABLE {quoted} {TRIGGER_STATES[enabled]} TRIGGER {connection.ops.quote_name(name)}")


# --- catalog ---------------------------------------------------------------------------


def read_schema(cursor: CursorWrapper) -> Schema:
    cursor.execute(
        """
        SELECT logicalrelid::regclass::text,
               CASE WHEN partmethod = 'h' THEN 'distributed'
                    WHEN repmodel = 't' THEN 'reference'
                    WHEN colocationid = 0 THEN 'citus local'
                    ELSE 'single shard' END,
               column_to_column_name(logicalrelid, partkey),
               colocationid
          FROM pg_dist_partition
        """
    )
    citus = {table: (kind, column or None, group) for table, kind, column, group in cursor.fetchall()}
    cursor.execute(
        """
        SELECT c.relname, coalesce(con.conname, i.indexrelid::regclass::text),
               array(SELECT a.attname::text FROM unnest(i.indkey) k JOIN pg_attribute a
                       ON a.attrelid = i.indrelid AND a.attnum = k)
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indrelid
          LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u')
         WHERE c.relnamespace = 'public'::regnamespace AND (i.indisunique OR i.indisprimary)
        """
    )
    keys: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for table, name, columns in cursor.fetchall():
        keys.setdefault(table, []).append((name, tuple(columns)))
    cursor.execute(
        """
        SELECT con.conname, c.relname, t.relname,
               array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
               array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                       JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o),
               pg_get_constraintdef(con.oid)
          FROM pg_constraint con
          JOIN pg_class c ON c.oid = con.conrelid
          JOIN pg_class t ON t.oid = con.confrelid
         WHERE con.contype = 'f' AND c.relnamespace = 'public'::regnamespace
         ORDER BY c.relname, con.conname
        """
    )
    foreign_keys = [
        ForeignKey(name, table, target, tuple(columns), tuple(target_columns), definition)
        for name, table, target, columns, target_columns, definition in cursor.fetchall()
    ]
    cursor.execute(
        """
        SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
           AND a.attnum > 0 AND NOT a.attisdropped
        """
    )
    columns: dict[str, set[str]] = {}
    for table, column in cursor.fetchall():
        columns.setdefault(table, set()).add(column)
    cursor.execute(
        """
        SELECT c.relname, t.tgname, t.tgenabled::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal AND t.tgenabled <> 'D'
         ORDER BY c.relname, t.tgname
        """
    )
    triggers: dict[str, list[tuple[str, str]]] = {}
    for table, name, enabled in cursor.fetchall():
        triggers.setdefault(table, []).append((name, enabled))
    return Schema(citus=citus, keys=keys, foreign_keys=foreign_keys, columns=columns, triggers=triggers)


def distribution_order(schema: Schema, tables: list[str]) -> list[str]:
    """Parents before children (a table's foreign keys to other tenant tables), by name
    among equals: ``accounts_account`` comes first and anchors the co-location group."""
    pending = {table: set() for table in tables}
    for key in schema.foreign_keys:
        if key.table in pending and key.target in pending and key.target != key.table:
            pending[key.table].add(key.target)
    order: list[str] = []
    while pending:
        ready = sorted(table for table, parents in pending.items() if not parents)
        if not ready:
            # A cycle: reported by distribution_blockers; keep the rest in name order.
            ready = sorted(pending)
        for table in ready:
            del pending[table]
            order.append(table)
        for parents in pending.values():
            parents.difference_update(ready)
    return order


def distribution_blockers(schema: Schema, tenant: list[str], reference: set[str]) -> list[str]:
    """Why a tenant table cannot be distributed on tenant_id as the schema stands."""
    blockers: list[str] = []
    tenant_set = set(tenant)
    column = DISTRIBUTION_COLUMN
    for table in tenant:
        if table not in schema.columns:
            blockers.append(f"{table}: no such table (run migrate first)")
            continue
        if column not in schema.columns[table]:
            blockers.append(f"{table}: has no {column} column")
            continue
        for name, columns in schema.keys.get(table, []):
            if column not in columns:
                blockers.append(f"{table}: {name} is unique on ({', '.join(columns)}) without {column}")
    for key in schema.foreign_keys:
        source_tenant, target_tenant = key.table in tenant_set, key.target in tenant_set
        if source_tenant and target_tenant:
            if column not in key.columns or column not in key.target_columns:
                blockers.append(
                    f"{key.table}: foreign key {key.name} ({', '.join(key.columns)}) -> {key.target} "
                    f"is not composite ({column}, ...)"
                )
            elif key.columns.index(column) != key.target_columns.index(column):
                blockers.append(f"{key.table}: foreign key {key.name} does not pair {column} with {column}")
        elif source_tenant and key.target not in reference:
            blockers.append(f"{key.table}: foreign key {key.name} -> {key.target}, neither a tenant nor a global table")
        elif target_tenant and not source_tenant:
            blockers.append(f"{key.table}: foreign key {key.name} -> tenant table {key.target} from outside")
    parents: dict[str, set[str]] = {}
    for key in schema.foreign_keys:
        if key.table in tenant_set and key.target in tenant_set and key.table != key.target:
            parents.setdefault(key.table, set()).add(key.target)
    for table in tenant:
        if _reaches(parents, table, table):
            blockers.append(f"{table}: its foreign keys form a cycle; no order distributes it")
    return blockers


def _reaches(parents: dict[str, set[str]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    stack = list(parents.get(start, ()))
    while stack:
        table = stack.pop()
        if table == goal:
            return True
        if table not in seen:
            seen.add(table)
            stack.extend(parents.get(table, ()))
    return False


def shards_hold(cursor: CursorWrapper, table: str, role: str | None, *, rls: bool = True) -> bool:
    """Every shard of ``table`` has row-level security enabled and forced, the tenant
    policy (unless ``rls`` is false: a job's stage), and (with a separate app role) the
    app role's privileges: asked of the workers."""
    probe = "SELECT TRUE"
    if rls:
        probe += (
            " AND c.relrowsecurity AND c.relforcerowsecurity"
            f" AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = '{POLICY_NAME}')"
        )
    if role:
        probe += f" AND has_table_privilege('{role}', c.oid, '{APP_PRIVILEGES}')"
    probe += " FROM pg_class c WHERE c.oid = '%s'::regclass"
    cursor.execute(
        "SELECT count(*), count(*) FILTER (WHERE success AND result = 't') FROM run_command_on_shards(%s, %s)",
        [table, probe],
    )
    shards, holding = cursor.fetchone()
    return shards > 0 and shards == holding


def role_settings(cursor: CursorWrapper, role: str) -> dict[str, str]:
    """The role's own defaults for every database (ALTER ROLE ... SET)."""
    cursor.execute(
        """
        SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
         WHERE r.rolname = %s AND s.setdatabase = 0
        """,
        [role],
    )
    return dict(item.split("=", 1) for (item,) in cursor.fetchall())


def set_role_settings(cursor: CursorWrapper, wanted: dict[str, str]) -> None:
    """Set the connected role's own defaults that differ (a role may always set its own)."""
    cursor.execute("SELECT current_user")
    (role,) = cursor.fetchone()
    current = role_settings(cursor, role)
    for name, value in wanted.items():
        if current.get(name) != value:
            cursor.execute(f"ALTER ROLE CURRENT_USER SET {name} = '{value}'")
