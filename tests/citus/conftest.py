"""The Citus suite: runs against the coordinator of `make test-citus` (kam/citus_cluster.py),
whose database is the test database (tests/citus/settings.py). Its tests are skipped on
plain PostgreSQL, except those that ask for the ``plain_postgres`` fixture: they run there only."""

from __future__ import annotations

import pytest
from django.db import connection

from kam import citus_cluster


def _is_citus(django_db_blocker) -> bool:  # noqa: ANN001
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
        return cursor.fetchone()[0]


@pytest.fixture(scope="session")
def on_citus(django_db_setup: None, django_db_blocker) -> bool:  # noqa: ANN001
    return _is_citus(django_db_blocker)


@pytest.fixture
def plain_postgres() -> None:
    """Asked for by the tests of what happens without Citus."""


@pytest.fixture(autouse=True)
def _right_database(request: pytest.FixtureRequest, on_citus: bool) -> None:
    if "plain_postgres" in request.fixturenames:
        if on_citus:
            pytest.skip("plain PostgreSQL only")
    elif not on_citus:
        pytest.skip("needs the Citus cluster of `make test-citus`")


@pytest.fixture
def cluster() -> citus_cluster.Cluster:
    """The running cluster, to stop and start its nodes."""
    current = citus_cluster.current()
    assert current is not None, "no cluster state in var/citus-cluster/"
    return current


def worker_of(tenant_id: int) -> tuple[str, int]:
    """(host, port) of the worker that holds the tenant's shard group."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nodename, nodeport FROM citus_shards"
            " WHERE shardid = get_shard_id_for_distribution_column('accounts_account', %s)",
            [tenant_id],
        )
        return cursor.fetchone()
