"""Row-level security: the database itself keeps tenants apart (DESIGN section 2)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, models, transaction
from django.test.utils import isolate_apps

from accounts.models import Account
from kam import checks, rls
from kam.models import AuditLog, TenantOwnedModel
from kam.tenancy import get_current_tenant, tenant_context
from tests.factories import AccountFactory, TenantFactory
from tests.sqlaudit import audit

pytestmark = pytest.mark.django_db


def raw_count(table: str = "accounts_account") -> int:
    # Unfiltered on purpose (tests/sqlaudit.py): the database alone must keep tenants apart.
    with audit.expecting(), connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def raw_tenant_ids() -> set[int]:
    with audit.expecting(), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM accounts_account")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def two_tenants(tenant, other_tenant):
    # given: 3 accounts in A, 2 in B
    AccountFactory.create_batch(3, tenant=tenant)
    AccountFactory.create_batch(2, tenant=other_tenant)
    return tenant, other_tenant


def test_raw_sql_sees_only_the_current_tenant(two_tenants):
    a, b = two_tenants
    with tenant_context(a):
        assert raw_count() == 3
        assert raw_tenant_ids() == {a.pk}
    with tenant_context(b):
        assert raw_count() == 2
        assert raw_tenant_ids() == {b.pk}


def test_no_tenant_sees_no_rows(two_tenants):
    assert get_current_tenant() is None
    assert raw_count() == 0
    assert Account.objects.count() == 0  # the app-level manager fails closed too
    assert Account._base_manager.count() == 0  # and so does the base manager


def test_nested_context_restores_the_outer_tenant(two_tenants):
    a, b = two_tenants
    with tenant_context(a):
        with tenant_context(b):
            assert raw_count() == 2
        assert raw_count() == 3
        assert get_current_tenant() == a
    assert raw_count() == 0


def execute(*statements: str, params: list | None = None) -> None:
    """Run statements in a savepoint, so that a refused one leaves the test transaction usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)


def test_insert_for_another_tenant_is_refused(two_tenants):
    a, b = two_tenants
    insert = (
        "INSERT INTO accounts_account (tenant_id, name, legal_name, credit_code, industry, region, status, notes,"
        " created_at, updated_at) VALUES (%s, 'x', '', '', '', '', 'active', '', now(), now())"
    )
    with tenant_context(a), pytest.raises(DatabaseError, match="row-level security"):
        execute(insert, params=[b.pk])


def on_citus() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
        return cursor.fetchone()[0]


def test_update_cannot_move_a_row_to_another_tenant(two_tenants):
    a, b = two_tenants
    # Citus refuses it before the policy could: a row's tenant is its distribution column.
    refusal = "partition value" if on_citus() else "new row violates row-level security policy"
    with tenant_context(a), pytest.raises(DatabaseError, match=refusal):
        execute("UPDATE accounts_account SET tenant_id = %s WHERE tenant_id = %s", params=[b.pk, a.pk])


@pytest.mark.django_db(transaction=True)
def test_interleaved_transactions_on_one_connection_leak_nothing():
    # given: committed rows of two tenants
    a = TenantFactory(slug="rls-a")
    b = TenantFactory(slug="rls-b")
    AccountFactory.create_batch(3, tenant=a)
    AccountFactory.create_batch(2, tenant=b)
    backend_pid = connection.connection.get_backend_pid() if connection.connection else None
    # when: 1,000 transactions alternate between A and B on one connection
    seen = []
    for i in range(1000):
        current = a if i % 2 == 0 else b
        with tenant_context(current):
            seen.append((current.pk, raw_tenant_ids(), raw_count()))
        if i % 100 == 0:
            # between transactions nothing is set: the setting was local to the transaction
            assert raw_count() == 0
    # then: each saw only its own rows, always on the same server connection
    assert all(ids == {pk} for pk, ids, _count in seen)
    assert [count for _pk, _ids, count in seen[:4]] == [3, 2, 3, 2]
    assert backend_pid is not None  # the factories opened the connection
    assert connection.connection.get_backend_pid() == backend_pid


def test_app_role_is_not_superuser_bypassrls_or_owner():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) AND pg_get_userbyid(c.relowner) = current_user",
            [rls.tenant_tables()],
        )
        assert cursor.fetchall() == []


def test_every_tenant_table_but_the_stages_has_forced_rls_and_the_policy():
    tables = rls.rls_tables()
    assert {"accounts_account", "kam_auditlog"} <= set(tables)
    assert set(tables) == set(rls.tenant_tables()) - set(rls.stage_tables())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
            [tables],
        )
        flags = {name: (enabled, forced) for name, enabled, forced in cursor.fetchall()}
        cursor.execute(
            "SELECT tablename, qual, with_check FROM pg_policies WHERE tablename = ANY(%s) AND policyname = %s",
            [tables, rls.POLICY_NAME],
        )
        policies = {name: (qual, check) for name, qual, check in cursor.fetchall()}
    expected = "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::bigint)"
    for table in tables:
        assert flags[table] == (True, True), table
        assert policies[table] == (expected, expected), table


# The platform tables that carry a tenant_id and are read before a tenant is known (login, the
# tenant switcher, token authentication): no row-level security by design (kam/models.py).
# A new one is a decision to write down here, not something to pass unnoticed.
PLATFORM_TABLES_WITH_A_TENANT = {"kam_membership", "kam_apitoken"}


def tables_with_a_tenant_column() -> set[str]:
    """Every table of the current schema with a tenant_id column, as the database has them.

    From pg_catalog rather than information_schema.columns, which lists only the columns the
    current role holds a privilege on: the tests run as the application role, so a table made
    without the grants would be invisible there. Views are left out (they read tables that
    have their own policies); TEMP tables live in the session's own schema, so they never
    appear. The jobs' stages are tenant tables like any other (kam.models.TenantStageModel
    inherits the base), so they are here and in rls.tenant_tables() both.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'm', 'f')"
            " AND a.attname = 'tenant_id' AND a.attnum > 0 AND NOT a.attisdropped"
        )
        return {name for (name,) in cursor.fetchall()}


def test_every_table_with_a_tenant_column_is_a_tenant_owned_model():
    # What the post_migrate hook protects (rls.tenant_tables(), from the models inheriting
    # TenantOwnedModel) against what the database holds: a table with tenant_id whose model does
    # not inherit the base (or that has no model) would get no row-level security.
    in_database = tables_with_a_tenant_column()
    assert {"accounts_account", "kam_auditlog", "scoring_scorestage"} <= in_database  # the query sees tables
    assert in_database >= PLATFORM_TABLES_WITH_A_TENANT
    assert not PLATFORM_TABLES_WITH_A_TENANT & set(rls.tenant_tables())
    assert in_database - PLATFORM_TABLES_WITH_A_TENANT == set(rls.tenant_tables())


def test_the_stages_are_the_stage_models_and_have_no_row_level_security():
    # kam.models.TenantStageModel: written with COPY on Citus, never holding a committed row.
    assert rls.stage_tables() == [
        "accounts_invoicestage",
        "accounts_orderstage",
        "risk_alertstage",
        "risk_healthstage",
        "scoring_scorestage",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND (relrowsecurity OR relforcerowsecurity)",
            [rls.stage_tables()],
        )
        assert cursor.fetchall() == []


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("ALTER TABLE accounts_account DISABLE ROW LEVEL SECURITY", "must be owner of table accounts_account"),
        ("ALTER TABLE accounts_account NO FORCE ROW LEVEL SECURITY", "must be owner of table accounts_account"),
        ("DROP POLICY tenant_isolation ON accounts_account", "must be owner of relation accounts_account"),
        ("ALTER ROLE CURRENT_USER BYPASSRLS", "permission denied to alter role"),
    ],
)
def test_app_role_cannot_switch_rls_off(statement, refusal):
    with pytest.raises(DatabaseError, match=refusal):
        execute(statement)


def test_row_security_off_errors_instead_of_bypassing(two_tenants):
    with pytest.raises(DatabaseError, match="row-level security"), audit.expecting():
        execute("SET LOCAL row_security = off", "SELECT count(*) FROM accounts_account")


def test_audit_log_is_tenant_scoped_too(tenant, other_tenant):
    from kam import audit

    audit.record_create(tenant=tenant, instance=tenant)
    audit.record_create(tenant=other_tenant, instance=other_tenant)
    with tenant_context(tenant):
        assert list(AuditLog.objects.values_list("tenant_id", flat=True)) == [tenant.pk]
        assert raw_count("kam_auditlog") == 1


def test_system_check_passes_for_the_project():
    assert checks.tenant_models_follow_the_rules() == []


@isolate_apps("kam")
def test_system_check_flags_a_unique_without_tenant_and_a_foreign_leading_index(monkeypatch):
    class Gadget(TenantOwnedModel):
        code = models.CharField(max_length=10, unique=True)
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "kam"
            indexes = [models.Index(fields=["name"], name="gadget_name")]
            constraints = [models.UniqueConstraint(fields=["name"], name="gadget_unique_name")]

    monkeypatch.setattr(rls, "tenant_owned_models", lambda: [Gadget])
    ids = sorted(error.id for error in checks.tenant_models_follow_the_rules())
    assert ids == ["kam.E001", "kam.E001", "kam.E003"]
