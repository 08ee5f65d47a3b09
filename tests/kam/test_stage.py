"""The jobs' stages (kam.models.TenantStageModel, kam.stage): never a committed row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from kam import rls
from kam.stage import LOOPS_AT_MOST, staged
from kam.tenancy import tenant_context
from risk.models import AlertStage, RiskAlert
from scoring import services as scoring_services
from tests.factories import AccountFactory, OrderFactory, TenantFactory
from tests.risk.conftest import run as risk_run


def rows_in_stages(tenant_id: int) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in rls.stage_tables():
            cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant_id])
            counts[table] = cursor.fetchone()[0]
    return counts


def staged_candidates(cursor, tenant, run_id: int, **options):
    """The alert candidates of pg_temp.candidates into the alerts' stage (kam.stage.staged)."""
    columns = ("kind", "dedupe_key", "account_id", "severity", "details")
    return staged(
        cursor,
        AlertStage,
        source="pg_temp.candidates",
        columns=columns,
        tenant_id=tenant.pk,
        run_id=run_id,
        target=RiskAlert,
        **options,
    )


@pytest.mark.django_db(transaction=True)
def test_the_jobs_leave_their_stages_empty():
    tenant = TenantFactory(slug="stage-a")
    with tenant_context(tenant):
        scoring_services.scorecard_seed_default(tenant)
        for account in AccountFactory.create_batch(3, tenant=tenant):
            OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 5, 1))
        run = scoring_services.score_run_create(tenant, as_of=dt.date(2026, 6, 30))
        assert scoring_services.score_run_execute(tenant, run=run).status == "done"
    assert risk_run(tenant).status == "done"
    with tenant_context(tenant):
        assert set(rows_in_stages(tenant.pk).values()) == {0}


@pytest.mark.django_db
def test_staged_copies_the_rows_with_the_targets_next_ids_and_empties_the_stage(tenant):
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE candidates ON COMMIT DROP AS"
            " SELECT * FROM (VALUES ('kind', 'b', NULL::bigint, 'info', '{}'::jsonb),"
            " ('kind', 'a', NULL::bigint, 'info', '{}'::jsonb)) AS c(kind, dedupe_key, account_id, severity, details)"
        )
        cursor.execute("SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM risk_riskalert_id_seq")
        first = cursor.fetchone()[0]
        with staged_candidates(cursor, tenant, 7, order_by="dedupe_key") as count:
            cursor.execute(
                "SELECT dedupe_key, row_id FROM risk_alertstage WHERE tenant_id = %s AND run_id = 7 ORDER BY row_id",
                [tenant.pk],
            )
            staged_rows = cursor.fetchall()
        assert count == 2
        # in dedupe_key order, each with a new id of the alerts' own sequence
        assert [key for key, _id in staged_rows] == ["a", "b"]
        assert [row_id for _key, row_id in staged_rows] == [first, first + 1]
        assert rows_in_stages(tenant.pk)["risk_alertstage"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [2, LOOPS_AT_MOST])
def test_a_large_stage_is_joined_without_nested_loops_and_the_setting_comes_back(tenant, rows):
    # A stage's statistics are an empty table's: the planner would loop over its rows once per
    # row of the table it is joined to.
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE candidates ON COMMIT DROP AS SELECT 'kind' AS kind, n::text AS dedupe_key,"
            " NULL::bigint AS account_id, 'info' AS severity, '{}'::jsonb AS details FROM generate_series(1, %s) n",
            [rows],
        )
        with staged_candidates(cursor, tenant, 8) as count:
            cursor.execute("SHOW enable_nestloop")
            inside = cursor.fetchone()[0]
        cursor.execute("SHOW enable_nestloop")
        after = cursor.fetchone()[0]
    assert count == rows
    assert inside == ("off" if rows >= LOOPS_AT_MOST else "on")
    assert after == "on"


@pytest.mark.django_db
def test_the_stages_are_unlogged_and_indexed_by_tenant_and_run():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relpersistence,"
            " EXISTS (SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid"
            "         WHERE i.indrelid = c.oid AND x.relname = c.relname || '_run')"
            " FROM pg_class c WHERE c.relname = ANY(%s) ORDER BY c.relname",
            [rls.stage_tables()],
        )
        stages = cursor.fetchall()
    assert len(stages) == len(rls.stage_tables()) >= 5
    assert {(persistence, indexed) for _name, persistence, indexed in stages} == {("u", True)}
