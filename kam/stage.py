"""A job's result on its way from a TEMP table into tenant tables (kam.models.TenantStageModel).

    with staged(cursor, ScoreStage, source="pg_temp.score_result", columns=COLUMNS,
                tenant_id=tenant.pk, run_id=run.pk, target=AccountScore) as rows:
        cursor.execute("INSERT INTO scoring_accountscore (id, tenant_id, ...)"
                       " SELECT s.row_id, s.tenant_id, ... FROM scoring_scorestage s"
                       " WHERE s.tenant_id = %s AND s.run_id = %s", ...)

The same statements run on plain PostgreSQL and on Citus, where the INSERT ... SELECT
from the stage runs on the tenant's shard (no volatile function in it: the primary keys
were drawn on the way into the stage).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import models

from kam.models import TenantStageModel

# Rows per INSERT of insert_rows: a statement of a few hundred kB.
INSERT_PAGE = 1000

# From this many rows in a stage, its statements join without nested loops (staged()).
LOOPS_AT_MOST = 1000


def temp_table(cursor: Any, name: str, create_sql: str, params: Any = None) -> int:
    """Make the transaction's TEMP table ``name`` afresh with ``create_sql`` (a ``CREATE TEMP
    TABLE name ... ON COMMIT DROP AS ...``), dropping one a caller left in the transaction;
    returns the rows it holds."""
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
    cursor.execute(create_sql, params)
    return cursor.rowcount


def sequence_of(model: type[models.Model]) -> str:
    """The expression that draws ``model``'s next primary key (its identity sequence)."""
    return f"nextval(pg_get_serial_sequence('{model._meta.db_table}', '{model._meta.pk.column}'))"


@contextmanager
def staged(
    cursor: Any,
    stage: type[TenantStageModel],
    *,
    source: str,
    columns: Sequence[str],
    tenant_id: int,
    run_id: int,
    target: type[models.Model],
    where: str = "TRUE",
    order_by: str = "account_id",
) -> Iterator[int]:
    """Copy ``columns`` of the rows of ``source`` that meet ``where`` into ``stage``, each with
    the next primary key of ``target``, in ``order_by`` order; yield how many; empty the
    stage of the run afterwards. When the body fails, the transaction rolls back, the
    stage's rows with it."""
    table = stage._meta.db_table
    names = ", ".join(columns)
    cursor.execute(
        f"INSERT INTO {table} (tenant_id, run_id, row_id, {names})"
        f" SELECT %s, %s, {sequence_of(target)}, {names} FROM {source} WHERE {where} ORDER BY {order_by}",
        [tenant_id, run_id],
    )
    rows = cursor.rowcount
    # The planner's statistics of a stage are those of an empty table (it never holds a committed
    # row): it would take the run's rows for a handful and loop over them once per row of the
    # table they are joined to (an import of 100,000 orders for 200 accounts: 20,000,000 rows
    # read). A stage of many rows is joined by hash instead.
    no_loops = rows >= LOOPS_AT_MOST
    if no_loops:
        cursor.execute("SELECT current_setting('enable_nestloop')")
        (nestloop,) = cursor.fetchone()
        cursor.execute("SET LOCAL enable_nestloop = off")
    yield rows
    if no_loops:
        cursor.execute("SELECT set_config('enable_nestloop', %s, true)", [nestloop])
    cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s AND run_id = %s", [tenant_id, run_id])


def insert_rows(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows made in Python into a tenant table: multi-row INSERT ... VALUES, a page at a time.

    Not INSERT ... SELECT FROM unnest(arrays): Citus would pull such rows to the coordinator
    and write them to the shard with COPY, which row-level security refuses. VALUES rows are
    routed to the tenant's shard as they are. Each row carries its tenant_id."""
    row = f"({', '.join(['%s'] * len(columns))})"
    for start in range(0, len(rows), INSERT_PAGE):
        page = rows[start : start + INSERT_PAGE]
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(page))}",
            [value for values in page for value in values],
        )
