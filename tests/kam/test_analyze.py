"""Fresh planner statistics after bulk writes: kam.db.analyze_written and kam_analyze()."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection

from kam import db
from kam.tenancy import tenant_context
from scoring import services as scoring_services
from tests.factories import AccountFactory, OrderFactory
from tests.risk.conftest import run as risk_run

pytestmark = pytest.mark.django_db


def believed_rows(table: str) -> float:
    """What the planner believes the table holds; on Citus summed over the table's shards."""
    return db.believed_rows([table]).get(table, 0)


@pytest.fixture
def every_write_counts(monkeypatch):
    monkeypatch.setattr(db, "ANALYZE_MIN_ROWS", 1)


# Transactional: the analyses run once the job's transaction has committed (on Citus a role
# other than the writer may not touch the shards a transaction changed).
after_commit = pytest.mark.django_db(transaction=True)


@after_commit
def test_the_app_role_analyses_tenant_tables_through_the_function(tenant):
    with tenant_context(tenant):
        AccountFactory.create_batch(3, tenant=tenant)
        assert db.analyze_written({"accounts_account": 3}) == []  # fewer than ANALYZE_MIN_ROWS
    with connection.cursor() as cursor:
        cursor.execute("SELECT kam_analyze(%s)", [["accounts_account"]])
    assert believed_rows("accounts_account") >= 3


@pytest.mark.parametrize("table", ["kam_user", "django_session", "pg_class", "accounts_account; DROP TABLE x"])
def test_the_function_refuses_any_other_table(tenant, table):
    with connection.cursor() as cursor, pytest.raises(DatabaseError, match="not a tenant table"):
        cursor.execute("SELECT kam_analyze(%s)", [[table]])


def test_only_the_app_role_may_call_it():
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_function_privilege('public', 'kam_analyze(text[])', 'EXECUTE')")
        assert cursor.fetchone() == (False,)
        cursor.execute("SELECT has_function_privilege(current_user, 'kam_analyze(text[])', 'EXECUTE')")
        assert cursor.fetchone() == (True,)


@after_commit
def test_a_write_small_beside_the_table_leaves_the_statistics_to_autovacuum(tenant, monkeypatch):
    monkeypatch.setattr(db, "ANALYZE_MIN_ROWS", 1)
    with tenant_context(tenant):  # a transaction: the ANALYZE follows its commit
        AccountFactory.create_batch(40, tenant=tenant)
        assert db.analyze_written({"accounts_account": 40}) == ["accounts_account"]
    assert believed_rows("accounts_account") >= 40
    with tenant_context(tenant):
        # the planner now believes 40 rows or more: 3 more are less than a tenth of them
        assert db.analyze_written({"accounts_account": 3}) == []


@after_commit
def test_a_score_run_leaves_its_snapshots_analysed(tenant, every_write_counts):
    with tenant_context(tenant):
        scoring_services.scorecard_seed_default(tenant)
        for account in AccountFactory.create_batch(5, tenant=tenant):
            OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 5, 1))
        run = scoring_services.score_run_create(tenant, as_of=dt.date(2026, 6, 30))
        done = scoring_services.score_run_execute(tenant, run=run)
    assert done.status == "done"
    assert believed_rows("scoring_accountscore") >= 5
    assert believed_rows("accounts_account") >= 5


@after_commit
def test_a_risk_run_leaves_its_assessments_analysed(tenant, every_write_counts):
    with tenant_context(tenant):
        AccountFactory.create_batch(4, tenant=tenant)
    assert risk_run(tenant).status == "done"
    assert believed_rows("risk_healthassessment") >= 4
