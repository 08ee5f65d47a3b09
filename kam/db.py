"""Database helpers shared by the platform: running as the owner role; fresh statistics after bulk writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction

_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")
logger = logging.getLogger(__name__)


@contextmanager
def owner_connection(alias: str = "default") -> Iterator[None]:
    """Connect ``alias`` as the owner role (migrations, test database set-up), then back.

    The database NAME is left alone, so a test database created meanwhile stays in use.
    """
    connection = connections[alias]
    saved = {key: connection.settings_dict.get(key) for key in _CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: settings.DATABASE_OWNER.get(key) for key in _CREDENTIALS})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


# A job's writes to a table call for fresh statistics when they are at least this many rows
# and this share of the rows the planner believes the table holds (autovacuum's own rule
# with its default scale factor, applied at once instead of a minute later).
ANALYZE_MIN_ROWS = 1_000
ANALYZE_SHARE = 0.1


def analyze_written(written: dict[str, int]) -> list[str]:
    """ANALYZE the tables a job wrote many rows to (``{table: rows written}``) once its
    transaction has committed, through kam_analyze (kam migration 0004: the owner's right,
    for tenant tables only). Returns the tables it will analyse.

    After the commit, not inside the job's transaction: there ANALYZE would hold its lock on
    the table until the job ends (serialising every tenant's jobs on it), and on Citus a
    statement run as another role (the function's owner) may not touch shards the
    transaction changed."""
    candidates = {table: rows for table, rows in written.items() if rows >= ANALYZE_MIN_ROWS}
    if not candidates:
        return []
    believed = believed_rows(list(candidates))
    stale = sorted(table for table, rows in candidates.items() if rows >= ANALYZE_SHARE * believed.get(table, 0))
    if stale:
        transaction.on_commit(partial(_analyze, stale))
    return stale


def believed_rows(tables: list[str]) -> dict[str, float]:
    """The rows the planner believes each table holds (0 before any ANALYZE). On Citus the
    coordinator keeps no estimate of a distributed table: the sum of its shards' is asked
    of the workers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_dist_partition') IS NOT NULL")
        citus = cursor.fetchone()[0]
        cursor.execute(
            "SELECT relname, greatest(reltuples, 0) FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relname = ANY(%s)",
            [tables],
        )
        believed = dict(cursor.fetchall())
        if citus:
            cursor.execute(
                "SELECT logicalrelid::text FROM pg_dist_partition WHERE logicalrelid::text = ANY(%s)"
                " AND partmethod = 'h'",
                [tables],
            )
            for (table,) in cursor.fetchall():
                cursor.execute(
                    "SELECT coalesce(sum(greatest(result::real, 0)), 0) FROM run_command_on_shards(%s,"
                    " $$SELECT reltuples FROM pg_class WHERE oid = '%%s'::regclass$$) WHERE success",
                    [table],
                )
                believed[table] = cursor.fetchone()[0]
    return believed


def _analyze(tables: list[str]) -> None:
    try:
        # A savepoint when a caller's transaction is still open (a test capturing on_commit):
        # a refused ANALYZE then leaves it usable.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT kam_analyze(%s)", [tables])
    except DatabaseError:
        # The job's work is committed; autovacuum will analyse the tables in its time.
        logger.exception("ANALYZE of %s after a bulk job failed", ", ".join(tables))
