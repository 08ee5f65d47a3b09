"""A worker stopped while the app runs: the requests of a tenant placed there get the
clear 503 (page or API error shape) that a database outage gets, never a 500, and are
served again once the worker is back, with no restart (kam/middleware.py). Citus reports
an unreachable worker as a connection failure (SQLSTATE 08006), which reaches Django as
the OperationalError the middleware answers with 503."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

from kam import citus_cluster
from kam.models import ApiToken, Membership, Role, Tenant
from tests.citus.conftest import worker_of
from tests.conftest import bearer, login, make_token
from tests.factories import AccountFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/t/acme/accounts/"


def _node(cluster: citus_cluster.Cluster, tenant: Tenant) -> str:
    _host, port = worker_of(tenant.pk)
    return next(name for name, node_port in cluster.ports.items() if node_port == port)


@contextmanager
def stopped(cluster: citus_cluster.Cluster, node: str) -> Iterator[None]:
    citus_cluster.stop_node(node)
    try:
        yield
    finally:
        citus_cluster.start_node(cluster, node)
        # A new backend on the coordinator: the old one's connection to the restarted worker
        # is broken, and the flush after the test (a TRUNCATE on every node) would trip on it.
        connection.close()


def test_a_tenant_on_a_stopped_worker_gets_503_then_service_again(cluster, tenant, manager, write_token):
    AccountFactory(tenant=tenant, name="分片客户")
    client = login(manager)
    assert client.get(PAGE).status_code == 200
    with stopped(cluster, _node(cluster, tenant)):
        page = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en")
        api = Client().get("/api/v1/accounts/", HTTP_ACCEPT_LANGUAGE="en", **bearer(write_token))
        created = Client().post(
            "/api/v1/accounts/", {"name": "停机时新建"}, content_type="application/json", **bearer(write_token)
        )
    assert page.status_code == 503
    assert page["Retry-After"] == "15"
    assert "Temporarily unavailable" in page.content.decode()
    assert api.status_code == 503
    assert api.json()["error"]["code"] == "service_unavailable"
    assert created.status_code == 503
    # the worker is back: the next requests are served, no restart of anything
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "分片客户" in page.content.decode()
    assert Client().get("/api/v1/accounts/", **bearer(write_token)).status_code == 200


def test_a_write_that_needs_every_node_gets_503_when_a_worker_went_away(cluster, tenant, write_token):
    # The process's backend on the coordinator keeps its connections to the workers between
    # requests. A token's first use records it in kam_apitoken, a reference table (a copy
    # on every node): that write opens them.
    client = Client()
    assert client.get("/api/v1/accounts/", **bearer(write_token)).status_code == 200
    ApiToken.objects.update(last_used_at=None)
    with stopped(cluster, "worker1"):
        # Citus finds the cached connection to the stopped worker broken when the next
        # reference-table write needs it, and says so as an internal error, not a connection error.
        response = client.get("/api/v1/accounts/", HTTP_ACCEPT_LANGUAGE="en", **bearer(write_token))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert client.get("/api/v1/accounts/", **bearer(write_token)).status_code == 200


def test_a_tenant_on_the_other_worker_is_still_served(cluster, tenant):
    down = _node(cluster, tenant)
    # a tenant whose shard group is on the other worker
    other = TenantFactory()
    while _node(cluster, other) == down:
        other = TenantFactory()
    AccountFactory(tenant=other, name="另一节点客户")
    user = UserFactory()
    Membership.objects.create(tenant=other, user=user, role=Role.MANAGER)
    token = make_token(other, "read")[1]
    client = login(user)
    # A token records when it was last used, at most once a minute, in kam_apitoken: a
    # reference table, whose writes need every node. Used just now, it writes nothing.
    assert Client().get("/api/v1/accounts/", **bearer(token)).status_code == 200
    with stopped(cluster, down):
        page = client.get(f"/t/{other.slug}/accounts/")
        api = Client().get("/api/v1/accounts/", **bearer(token))
    assert page.status_code == 200
    assert "另一节点客户" in page.content.decode()
    assert api.status_code == 200
