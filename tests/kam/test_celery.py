"""Tasks run inside their tenant: a real worker on the real broker (Redis)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import connection

from accounts.models import Account
from kam.celery import app
from kam.models import ApiToken
from kam.tasks import tenant_task
from tests.factories import AccountFactory, TenantFactory
from tests.sqlaudit import audit


@tenant_task(name="tests.report_visible_accounts")
def report_visible_accounts(tenant, marker: str) -> None:
    # unfiltered on purpose (tests/sqlaudit.py): the database alone must keep tenants apart
    with audit.expecting(), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM accounts_account")
        raw_ids = sorted(row[0] for row in cursor.fetchall())
    names = sorted(Account.objects.values_list("name", flat=True))
    cache.set(marker, {"tenant": tenant.pk, "raw_tenant_ids": raw_ids, "names": names}, 60)


@pytest.fixture
def real_worker(settings):
    from celery.contrib.testing.worker import start_worker

    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


def _wait_for(key: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = cache.get(key)
        if value is not None:
            return value
        time.sleep(0.1)
    raise AssertionError(f"the worker did not report {key} within {seconds}s")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sees_only_its_own_tenants_rows(real_worker):
    # given: committed accounts in two tenants
    a = TenantFactory(slug="worker-a")
    b = TenantFactory(slug="worker-b")
    AccountFactory(tenant=a, name="甲方一号")
    AccountFactory(tenant=a, name="甲方二号")
    AccountFactory(tenant=b, name="乙方")
    # when: the worker runs the task for each tenant
    report_visible_accounts.delay(a.pk, "report-a")
    report_visible_accounts.delay(b.pk, "report-b")
    # then
    assert _wait_for("report-a") == {"tenant": a.pk, "raw_tenant_ids": [a.pk], "names": ["甲方一号", "甲方二号"]}
    assert _wait_for("report-b") == {"tenant": b.pk, "raw_tenant_ids": [b.pk], "names": ["乙方"]}


@pytest.mark.django_db
def test_unknown_tenant_id_does_nothing():
    report_visible_accounts.delay(999_999, "report-none")
    assert cache.get("report-none") is None


@pytest.mark.django_db
def test_hourly_cleanup_fans_out_to_every_tenant(tenant, other_tenant):
    import datetime as dt

    from django.utils import timezone

    from kam import services
    from kam.tasks import hourly_cleanup
    from tests.conftest import make_token

    # given: in each tenant, a token revoked 31 days ago, one revoked yesterday, and a live one
    now = timezone.now()
    for t in (tenant, other_tenant):
        old, _ = make_token(t, "read", name="old")
        recent, _ = make_token(t, "read", name="recent")
        make_token(t, "read", name="live")
        services.api_token_revoke(tenant=t, token=old)
        services.api_token_revoke(tenant=t, token=recent)
        ApiToken.objects.filter(pk=old.pk).update(revoked_at=now - dt.timedelta(days=31))
        ApiToken.objects.filter(pk=recent.pk).update(revoked_at=now - dt.timedelta(days=1))
    # when
    result = hourly_cleanup.delay().get()
    # then: the old ones are gone in both tenants, the rest stay
    assert result["tenants"] == 2
    for t in (tenant, other_tenant):
        assert sorted(ApiToken.objects.filter(tenant=t).values_list("name", flat=True)) == ["live", "recent"]


def test_celery_settings_follow_design_section_7(settings):
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_time_limit > app.conf.task_soft_time_limit > 0
    assert app.conf.broker_transport_options["visibility_timeout"] >= 2 * app.conf.task_time_limit
    assert "hourly-cleanup" in app.conf.beat_schedule
