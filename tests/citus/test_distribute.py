"""`manage.py citus_distribute`: the layout it makes on the cluster, that a second run
changes nothing, and that plain PostgreSQL is refused without a change."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from kam.db import owner_connection
from kam.management.commands.citus_distribute import (
    APP_ROLE_SETTINGS,
    DISTRIBUTION_COLUMN,
    OWNER_ROLE_SETTINGS,
    distribute,
    reference_tables,
    role_settings,
    shards_hold,
    tenant_tables,
)
from kam.rls import app_role, stage_tables, tenant_owned_models

pytestmark = pytest.mark.django_db(transaction=True)


def _catalog() -> dict[str, list[tuple]]:
    """What the command could change: constraints, policies, role settings, and Citus's
    table and shard metadata when there is any."""
    queries = {
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace",
        "policies": "SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'public'",
        "rls": "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
        " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'",
        "role settings": "SELECT setrole::regrole::text, setdatabase, setconfig FROM pg_db_role_setting",
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
        if cursor.fetchone()[0]:
            queries["citus tables"] = "SELECT logicalrelid::text, partmethod, colocationid FROM pg_dist_partition"
            queries["shards"] = "SELECT shardid, logicalrelid::text FROM pg_dist_shard"
        snapshot = {}
        for name, sql in queries.items():
            cursor.execute(sql)
            snapshot[name] = sorted(cursor.fetchall(), key=repr)
    return snapshot


def test_on_plain_postgresql_it_says_so_and_changes_nothing(plain_postgres):
    before = _catalog()
    for args in ([], ["--check"]):
        with pytest.raises(CommandError, match="plain PostgreSQL: it has no citus extension. Nothing was changed"):
            call_command("citus_distribute", *args, stdout=StringIO())
    assert _catalog() == before


def test_every_tenant_table_is_distributed_on_tenant_id_in_one_co_location_group():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT logicalrelid::text, column_to_column_name(logicalrelid, partkey), colocationid"
            " FROM pg_dist_partition WHERE partmethod = 'h'"
        )
        distributed = {table: (column, group) for table, column, group in cursor.fetchall()}
        cursor.execute("SELECT logicalrelid::text FROM pg_dist_partition WHERE partmethod = 'n' AND repmodel = 't'")
        reference = {table for (table,) in cursor.fetchall()}
    assert set(distributed) == set(tenant_tables())
    assert {column for column, _group in distributed.values()} == {DISTRIBUTION_COLUMN}
    assert {group for _column, group in distributed.values()} == {distributed["accounts_account"][1]}
    assert reference == set(reference_tables())


def test_foreign_keys_to_reference_tables_are_back_after_distribution():
    references = set(reference_tables())
    declared = {
        (model._meta.db_table, field.column, field.related_model._meta.db_table)
        for model in tenant_owned_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.db_constraint and field.related_model._meta.db_table in references
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, a.attname, confrelid::regclass::text FROM pg_constraint"
            " JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = conkey[1]"
            " WHERE contype = 'f' AND cardinality(conkey) = 1"
        )
        present = set(cursor.fetchall())
    assert declared
    assert declared <= present


def test_every_shard_has_row_level_security_and_the_app_roles_grants():
    # The jobs' stages (kam.models.TenantStageModel) have the grants and no row-level security.
    stages = set(stage_tables())
    assert stages
    with owner_connection(), connection.cursor() as cursor:
        missing = [
            table for table in tenant_tables() if not shards_hold(cursor, table, app_role(), rls=table not in stages)
        ]
        secured_stages = [table for table in stages if shards_hold(cursor, table, None)]
    assert missing == []
    assert secured_stages == []


def test_the_roles_carry_their_citus_settings():
    with owner_connection(), connection.cursor() as cursor:
        assert role_settings(cursor, app_role()) | APP_ROLE_SETTINGS == role_settings(cursor, app_role())
        owner = connection.settings_dict["USER"]
        assert role_settings(cursor, owner) | OWNER_ROLE_SETTINGS == role_settings(cursor, owner)
    with connection.cursor() as cursor:
        cursor.execute("SHOW citus.propagate_set_commands")
        assert cursor.fetchone()[0] == "local"


def test_check_finds_everything_in_place_and_a_second_run_changes_nothing():
    before = _catalog()
    check, run = StringIO(), StringIO()
    call_command("citus_distribute", "--check", stdout=check)
    call_command("citus_distribute", stdout=run)
    assert "to do  " not in check.getvalue()
    assert "\n0 of " in check.getvalue()
    assert "\n0 of " in run.getvalue()
    assert _catalog() == before


def test_a_tenant_table_made_by_a_later_migration_can_still_be_distributed():
    # The owner's migrations create tables with a foreign key to kam_tenant; with the
    # owner's setting the table stays plain (not a Citus local table), so the next run
    # can distribute it despite its identity column.
    with owner_connection(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE citus_probe (id bigint GENERATED BY DEFAULT AS IDENTITY,"
            " tenant_id bigint NOT NULL REFERENCES kam_tenant (id), PRIMARY KEY (tenant_id, id))"
        )
        try:
            cursor.execute("SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'citus_probe'::regclass")
            assert cursor.fetchone()[0] == 0
            cursor.execute("ALTER TABLE citus_probe DROP CONSTRAINT citus_probe_tenant_id_fkey")
            cursor.execute(
                "SELECT create_distributed_table('citus_probe', 'tenant_id', colocate_with => 'accounts_account')"
            )
            cursor.execute("ALTER TABLE citus_probe ADD FOREIGN KEY (tenant_id) REFERENCES kam_tenant (id)")
        finally:
            cursor.execute("DROP TABLE citus_probe")


def test_rows_already_there_are_copied_without_firing_triggers_under_forced_row_level_security():
    # What a running single-node database brings along: rows, a trigger that must not see
    # the copy (this one refuses every insert), a deferred self-reference, forced RLS.
    with owner_connection(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE citus_probe (id bigint GENERATED BY DEFAULT AS IDENTITY, tenant_id bigint NOT NULL,"
            " parent_id bigint, PRIMARY KEY (tenant_id, id))"
        )
        try:
            cursor.execute("INSERT INTO citus_probe (tenant_id) SELECT t FROM generate_series(1, 40) t")
            cursor.execute(
                "ALTER TABLE citus_probe ADD FOREIGN KEY (tenant_id, parent_id) REFERENCES citus_probe (tenant_id, id)"
                " DEFERRABLE INITIALLY DEFERRED"
            )
            cursor.execute(
                "CREATE FUNCTION citus_probe_refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'the copy fired a trigger'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER citus_probe_refuse BEFORE INSERT ON citus_probe"
                " FOR EACH ROW EXECUTE FUNCTION citus_probe_refuse()"
            )
            cursor.execute("ALTER TABLE citus_probe ENABLE ROW LEVEL SECURITY")
            cursor.execute("ALTER TABLE citus_probe FORCE ROW LEVEL SECURITY")
            cursor.execute("SET citus.enable_unsafe_triggers TO on")
            # as the command does: the foreign keys out, the table distributed, the keys back
            with transaction.atomic():
                cursor.execute("ALTER TABLE citus_probe DROP CONSTRAINT citus_probe_tenant_id_parent_id_fkey")
                distribute(cursor, "citus_probe", [("citus_probe_refuse", "O")], "accounts_account")
                cursor.execute(
                    "ALTER TABLE citus_probe ADD FOREIGN KEY (tenant_id, parent_id)"
                    " REFERENCES citus_probe (tenant_id, id) DEFERRABLE INITIALLY DEFERRED"
                )
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE result = 'O') FROM run_command_on_shards('citus_probe',"
                " $$SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = '%s'::regclass AND NOT tgisinternal$$)"
            )
            shards, enabled = cursor.fetchone()
            cursor.execute("ALTER TABLE citus_probe DISABLE ROW LEVEL SECURITY")
            cursor.execute("SELECT count(*) FROM citus_probe")
            assert cursor.fetchone()[0] == 40
            assert shards == enabled > 0
        finally:
            cursor.execute("DROP TABLE IF EXISTS citus_probe")
            cursor.execute("DROP FUNCTION IF EXISTS citus_probe_refuse()")


def test_the_sequences_go_on_where_they_were_before_the_distribution():
    # Citus makes the tables it turns into Citus local tables afresh, identity sequences too;
    # citus_distribute sets them back, or the next migration's content types would collide.
    with owner_connection(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT logicalrelid::text FROM pg_dist_partition WHERE partmethod = 'n'"
            " AND logicalrelid::text IN ('django_content_type', 'auth_permission', 'kam_user', 'kam_tenant')"
        )
        tables = [name for (name,) in cursor.fetchall()]
        behind = []
        for table in tables:
            cursor.execute(
                f"SELECT (SELECT max(id) FROM {table}), last_value, is_called"
                f" FROM {connection.ops.quote_name(table + '_id_seq')}"
            )
            top, last, called = cursor.fetchone()
            if top is not None and (not called or last < top):
                behind.append(table)
    assert "django_content_type" in tables
    assert behind == []
