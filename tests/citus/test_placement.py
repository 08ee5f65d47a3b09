"""Where the rows are: tenants spread over both workers, and each tenant's rows of
every table sit together on one worker (one co-location group)."""

from __future__ import annotations

import pytest
from django.db import connection

from kam import citus_cluster
from kam.models import Tenant
from tests.citus.conftest import worker_of
from tests.factories import OrderFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _tenants_on_each_worker(cluster: citus_cluster.Cluster, table: str) -> dict[int, set[int]]:
    """worker port -> the tenant ids of the rows of ``table`` that are stored there, read
    on the workers themselves (as the superuser: no row-level security)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT shard_name, nodeport FROM citus_shards WHERE table_name = %s::regclass", [table])
        shards = cursor.fetchall()
    found: dict[int, set[int]] = {}
    for shard, port in shards:
        node = next(name for name, node_port in cluster.ports.items() if node_port == port)
        rows = cluster.sql(node, f"SELECT DISTINCT tenant_id FROM {shard}")
        found.setdefault(port, set()).update(int(value) for value in rows.split())
    return found


def test_tenants_land_on_both_workers_with_all_their_rows_together(cluster):
    tenants: list[Tenant] = []
    # Shards are placed by a hash of tenant_id; a handful of tenants reaches both workers.
    while len({worker_of(t.pk) for t in tenants}) < 2 and len(tenants) < 24:
        tenant = TenantFactory()
        OrderFactory(tenant=tenant)
        tenants.append(tenant)
    workers = {cluster.ports[name] for name in citus_cluster.WORKERS}
    accounts = _tenants_on_each_worker(cluster, "accounts_account")
    orders = _tenants_on_each_worker(cluster, "accounts_order")
    assert set(accounts) == workers and all(accounts.values())
    for tenant in tenants:
        _host, port = worker_of(tenant.pk)
        assert tenant.pk in accounts[port]
        assert tenant.pk in orders[port]
        assert not any(tenant.pk in ids for other, ids in accounts.items() if other != port)
