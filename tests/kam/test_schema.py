"""Tenant keys (kam/schema.py, DESIGN section 10), read from the live database: every tenant
table's primary key is (tenant_id, id); every foreign key between tenant tables is composite
and deferrable; the ones to platform tables stay simple; triggers name their tenant and take
no locks. A migration that forgets any of it fails here. And the migrations that made it so
run back and forth over a database with rows, which keep every value."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from django.apps import apps as global_apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import isolate_apps

from kam import checks, rls, schema
from kam.db import owner_connection
from kam.models import Tenant, TenantOwnedModel
from kam.tenancy import tenant_context
from tests.conftest import grant_truncate
from tests.reliability.tenant_data import build_world

pytestmark = pytest.mark.django_db


class Key(NamedTuple):
    table: str
    kind: str  # p (primary) or f (foreign)
    columns: list[str]  # in the key's order
    target: str | None
    target_columns: list[str] | None
    deferrable: bool
    deferred: bool
    on_delete: str
    on_update: str


KEYS = """
SELECT c.conrelid::regclass::text, c.contype,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n),
       NULLIF(c.confrelid, 0)::regclass::text,
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n),
       c.condeferrable, c.condeferred, c.confdeltype, c.confupdtype
FROM pg_constraint c
WHERE c.contype IN ('p', 'f') AND c.conrelid::regclass::text = ANY(%s)
"""


def keys() -> list[Key]:
    with connection.cursor() as cursor:
        cursor.execute(KEYS, [rls.tenant_tables()])
        return [Key(*row) for row in cursor.fetchall()]


def primary_keys() -> dict[str, tuple[str, ...]]:
    return {key.table: tuple(key.columns) for key in keys() if key.kind == "p"}


def foreign_keys() -> list[Key]:
    return [key for key in keys() if key.kind == "f"]


def test_every_tenant_table_is_keyed_by_tenant_and_id():
    assert primary_keys() == dict.fromkeys(rls.tenant_tables(), ("tenant_id", "id"))


def test_every_foreign_key_between_tenant_tables_is_composite_and_deferrable():
    tenant_tables = set(rls.tenant_tables())
    between = [key for key in foreign_keys() if key.target in tenant_tables]
    assert len(between) >= 30
    for key in between:
        assert (key.columns[0], len(key.columns), key.target_columns) == ("tenant_id", 2, ["tenant_id", "id"]), key
        # Django's collector cascades and sets to NULL; the database checks at commit, as before.
        assert (key.deferrable, key.deferred, key.on_delete, key.on_update) == (True, True, "a", "a"), key


def test_the_database_holds_every_relation_the_models_declare_and_no_other():
    declared = {
        (model._meta.db_table, field.column, field.related_model._meta.db_table)
        for model in rls.tenant_owned_models()
        for field in schema.composite_relations(model)
    }
    tenant_tables = set(rls.tenant_tables())
    held = {(key.table, key.columns[-1], key.target) for key in foreign_keys() if key.target in tenant_tables}
    assert held == declared
    # The snapshot tables keep having no foreign keys at all (their triggers keep what keys would).
    # Nor have the jobs' stages (kam.models.TenantStageModel), which never hold a committed row.
    without = {m._meta.db_table for m in rls.tenant_owned_models() if not schema.has_database_foreign_keys(m)}
    assert without == {"scoring_accountscore", "risk_healthassessment", *rls.stage_tables()}
    assert [key for key in foreign_keys() if key.table in without] == []


def test_foreign_keys_to_platform_tables_stay_simple():
    platform = {global_apps.get_model(label)._meta.db_table for label in schema.REFERENCE_MODELS}
    to_platform = [key for key in foreign_keys() if key.target not in set(rls.tenant_tables())]
    assert {key.target for key in to_platform} <= platform
    assert all(len(key.columns) == 1 and key.target_columns == ["id"] for key in to_platform)
    assert ("accounts_account", ["tenant_id"], "kam_tenant") in [(k.table, k.columns, k.target) for k in to_platform]


def test_no_index_repeats_the_primary_keys_lead():
    # (tenant_id, id) serves a lookup by tenant alone and by tenant and id; an index on id alone
    # would serve only statements that name no tenant, which there must not be.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text FROM pg_index i"
            " WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary AND NOT i.indisunique"
            " AND i.indnkeyatts = 1 AND (SELECT attname FROM pg_attribute"
            " WHERE attrelid = i.indrelid AND attnum = i.indkey[0]) IN ('id', 'tenant_id')",
            [rls.tenant_tables()],
        )
        assert cursor.fetchall() == []


def test_triggers_on_tenant_tables_take_their_tenant_from_their_rows_and_no_locks():
    # Per row, naming NEW/OLD.tenant_id, or per statement over its transition tables' tenant_id;
    # no advisory lock and no tenant read from the session: on Citus a trigger runs beside the
    # tenant's shard, not on the coordinator.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, t.tgtype & 1 = 1, t.tgoldtable IS NOT NULL OR t.tgnewtable IS NOT NULL, p.prosrc"
            " FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE NOT t.tgisinternal AND t.tgrelid::regclass::text = ANY(%s)",
            [rls.tenant_tables()],
        )
        triggers = cursor.fetchall()
    assert {name for name, *_rest in triggers} >= {"accounts_account_parent_check", "scoring_orders_changed"}
    for name, per_row, transition_tables, source in triggers:
        assert "advisory" not in source, name
        assert "current_setting" not in source, name
        if per_row:
            assert "NEW.tenant_id" in source or "OLD.tenant_id" in source, name
        else:
            assert transition_tables and "SELECT DISTINCT tenant_id FROM" in source, name


# --- the system check ------------------------------------------------------------------------------


def test_system_check_passes_for_the_project():
    assert checks.tenant_models_follow_the_rules() == []
    assert checks.platform_models_name_no_tenant_rows() == []


def test_system_check_flags_keys_a_distributed_schema_cannot_hold(monkeypatch):
    with isolate_apps("kam") as isolated:

        class Widget(TenantOwnedModel):
            class Meta:
                app_label = "kam"

        class Gadget(TenantOwnedModel):
            code = models.CharField(max_length=10, primary_key=True)
            # a simple foreign key to a tenant table, and one to a table that is neither tenant nor platform
            widget = models.ForeignKey(Widget, on_delete=models.CASCADE)
            kind = models.ForeignKey(ContentType, on_delete=models.CASCADE, db_constraint=False)

            class Meta:
                app_label = "kam"

        class Snapshot(TenantOwnedModel):
            # a table without foreign keys in the database: its keys are left to triggers, and fine
            tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
            widget = models.ForeignKey(Widget, on_delete=models.CASCADE, db_constraint=False)

            class Meta:
                app_label = "kam"

        class Shelf(models.Model):  # noqa: DJ008
            # a platform table naming a tenant's row
            widget = models.ForeignKey(Widget, on_delete=models.CASCADE, db_constraint=False)

            class Meta:
                app_label = "kam"

        monkeypatch.setattr(rls, "tenant_owned_models", lambda: [Widget, Gadget, Snapshot])
        monkeypatch.setattr(checks, "apps", isolated)
        errors = checks.tenant_models_follow_the_rules()
        assert sorted((error.id, error.obj.__name__) for error in errors) == [
            ("kam.E004", "Gadget"),
            ("kam.E005", "Gadget"),
            ("kam.E006", "Gadget"),
        ]
        assert [(error.id, error.obj.__name__) for error in checks.platform_models_name_no_tenant_rows()] == [
            ("kam.E007", "Shelf")
        ]
        assert schema.composite_relations(Snapshot) == []


def test_composite_relations_follow_the_models():
    from accounts.models import Account, Contact

    assert [f.name for f in schema.composite_relations(Contact)] == ["account", "reports_to"]
    assert [f.name for f in schema.composite_relations(Account)] == ["parent"]


# --- the migrations, back and forth over rows -------------------------------------------------------

# Each app's last migration before tenant keys.
PREVIOUS = [
    ("accounts", "0004_account_tier_name_index"),
    ("scoring", "0004_accountscore_tier_reason"),
    ("teams", "0002_default_staffing_rules"),
    ("risk", "0002_health_without_foreign_keys"),
    ("kam", "0002_auditlog_access_denied"),
]


RESCORE_CACHES = {"scoring_scorebasis", "scoring_scorechange"}

# Apps younger than PREVIOUS: migrating back takes their tables away altogether.
YOUNGER_APPS = {"service", "growth", "renewals", "portfolio", "messaging"}
# Tables younger than PREVIOUS in older apps: migrating back drops them (accounts 0010: payments;
# scoring 0012: tier override requests).
YOUNGER_TABLES = {"accounts_payment", "scoring_tieroverriderequest"}
# risk 0011: diversification targets and alternative markets (issue #19)
YOUNGER_TABLES |= {"risk_diversificationtarget", "risk_alternativemarket"}
# risk 0012: contingency plans that act (issue #19)
YOUNGER_TABLES |= {"risk_contingencystep", "risk_contingencyactivation"}

# Columns younger than PREVIOUS: migrating back drops them (risk 0009: the health signal service;
# accounts 0009: growth's figures on the account and an order's offering and buying centre).
YOUNGER_COLUMNS = [
    "service_satisfaction",
    "service_breaches",
    "service_points",
    "wallet",
    "share_of_wallet",
    "potential_12m",
    "offering",
    "buying_centre",
    # accounts 0010: a contract's clause register and document (ip_clause is its column before)
    "notice_days",
    "ip_ownership",
    "confidentiality_until",
    "non_solicit",
    "liability_cap",
    "document",
    "document_name",
    "document_size",
    "document_type",
    "renewal_of_id",
    "ip_clause",
    # risk 0012: a contingency plan's triggers and review reminder
    "trigger_kinds",
    "review_reminded_on",
    # kam 0005: a member's work mobile (DingTalk @mentions, issue #20)
    "mobile",
]


def fingerprints(tenants: list[Tenant]) -> dict[tuple[int, str], tuple[int, str]]:
    """(tenant, table) -> (rows, MD5 of every row in id order), read as the app role under RLS
    (the jobs' stages, which never hold a committed row, are younger than PREVIOUS). Generated
    columns are left out: computed from the row, and younger than PREVIOUS too (as are
    YOUNGER_COLUMNS, which a migration back drops); and so are the
    rescore's caches (the basis and the change notes), which a migration back may drop and the
    next full run rebuilds; and the tables of YOUNGER_APPS, which a migration back drops."""
    generated = (
        sorted({f.column for model in global_apps.get_models() for f in model._meta.concrete_fields if f.generated})
        + YOUNGER_COLUMNS
    )
    result = {}
    for tenant in tenants:
        with tenant_context(tenant), connection.cursor() as cursor:
            for table in rls.rls_tables():
                if table in RESCORE_CACHES or table in YOUNGER_TABLES or table.split("_")[0] in YOUNGER_APPS:
                    continue
                cursor.execute(
                    f"SELECT count(*), md5(coalesce(string_agg((to_jsonb(t) - %s::text[])::text, '' ORDER BY t.id), ''))"
                    f' FROM "{table}" t WHERE t.tenant_id = %s',
                    [generated, tenant.pk],
                )
                result[tenant.pk, table] = cursor.fetchone()
    return result


def migrate(*target: str) -> None:
    with owner_connection():
        call_command("migrate", *target, verbosity=0)
        grant_truncate()  # the tables migrations made anew (the jobs' stages)


@pytest.mark.django_db(transaction=True)
def test_the_migrations_run_back_and_forth_over_rows_and_keep_every_value():
    # given: two tenants with one of everything, committed
    tenants = [build_world("schema-a", "键甲").tenant, build_world("schema-b", "键乙").tenant]
    before = fingerprints(tenants)
    assert not [table for (_tenant, table), (rows, _digest) in before.items() if not rows]
    try:
        # when: back to the keys before, then forward again
        for app, name in PREVIOUS:
            migrate(app, name)
        # then: the keys were the simple ones, the rows the same
        assert set(primary_keys().values()) == {("id",)}
        assert {len(key.columns) for key in foreign_keys()} == {1}
        assert fingerprints(tenants) == before
    finally:
        migrate()
    assert set(primary_keys().values()) == {("tenant_id", "id")}
    assert fingerprints(tenants) == before
