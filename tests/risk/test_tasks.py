"""The risk jobs as Celery tasks and the command: one task per tenant from beat, in its
tenant; idempotent; a failing step fails the run (and says so), never half-writes."""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from django.core.management import CommandError, call_command

from kam.tasks import fan_out
from kam.tenancy import tenant_context, tenant_today
from risk import engine, services, tasks
from risk.models import ConcentrationSnapshot, HealthAssessment, RiskAlert, RiskRun, WebhookDelivery
from tests.factories import AccountFactory, InvoiceFactory, OrderFactory, TenantFactory
from tests.risk.conftest import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_tenants(tenant, other_tenant):
    for t, name in ((tenant, "甲方客户"), (other_tenant, "乙方客户")):
        services.risk_policy_seed_default(t)
        account = AccountFactory(tenant=t, name=name)
        OrderFactory(tenant=t, account=account, order_date=tenant_today(t) - dt.timedelta(days=3))
    return tenant, other_tenant


def counts(t) -> tuple[int, int, int]:
    with tenant_context(t):
        return (ConcentrationSnapshot.objects.count(), HealthAssessment.objects.count(), RiskRun.objects.count())


def test_beat_fans_the_jobs_out_to_every_tenant(two_tenants):
    tenant, other = two_tenants
    # when (eager Celery): what beat's entries do
    assert fan_out("risk.daily_concentration") >= 2
    assert fan_out("risk.nightly_health") >= 2
    # then each tenant has today's snapshot, its assessments and two scheduled runs
    for t in (tenant, other):
        assert counts(t) == (1, 1, 2)
        with tenant_context(t):
            assert set(RiskRun.objects.values_list("kind", "trigger", "status")) == {
                ("concentration", "schedule", "done"),
                ("health", "schedule", "done"),
            }
            assert ConcentrationSnapshot.objects.get().as_of == tenant_today(t)


def test_the_jobs_are_idempotent(two_tenants):
    tenant, _other = two_tenants
    tasks.nightly_health.delay(tenant.pk)
    tasks.daily_concentration.delay(tenant.pk)
    with tenant_context(tenant):
        first = sorted(RiskAlert.objects.values_list("dedupe_key", "status", "severity"))
    tasks.nightly_health.delay(tenant.pk)
    tasks.daily_concentration.delay(tenant.pk)
    with tenant_context(tenant):
        again = sorted(RiskAlert.objects.values_list("dedupe_key", "status", "severity"))
        assert HealthAssessment.objects.count() == 1  # the day's assessment was replaced
    assert again == first
    # one customer holds all the revenue: single (critical), top 5 and HHI (critical); it has no interaction,
    # no link: health (25*100 + 15*0 + 15*0) / 55 = 45.45, yellow -> no health alert
    assert [(key.split(":")[0], status, severity) for key, status, severity in first] == [
        ("concentration_hhi", "open", "critical"),
        ("concentration_single", "open", "critical"),
        ("concentration_top5", "open", "warning"),
    ]


def test_execute_run_runs_a_queued_run_once(tenant, policy):
    AccountFactory(tenant=tenant)
    run = services.risk_run_create(tenant, as_of=D)
    tasks.execute_run.delay(tenant.pk, run.pk)
    with tenant_context(tenant):
        run.refresh_from_db()
        finished = run.finished_at
    assert (run.status, run.progress, run.accounts_assessed) == ("done", 100, 1)
    tasks.execute_run.delay(tenant.pk, run.pk)  # re-delivered: nothing happens
    with tenant_context(tenant):
        run.refresh_from_db()
    assert run.finished_at == finished
    tasks.execute_run.delay(999_999, run.pk)  # an unknown tenant: nothing happens


def test_a_failing_step_fails_the_run_and_tells_the_integrators(tenant, policy, monkeypatch):
    services.webhook_endpoint_create(tenant, url="https://kam-hooks.invalid/x", events=["risk_run.failed"])
    AccountFactory(tenant=tenant)
    monkeypatch.setattr(
        engine, "HEALTH_CREATE_RESULT_SQL", "SELECT no_such_column FROM accounts_account WHERE tenant_id = %(tenant)s"
    )
    run = services.risk_run_execute(tenant, run=services.risk_run_create(tenant, as_of=D))
    assert run.status == "failed"
    assert "no_such_column" in run.error
    with tenant_context(tenant):
        # the concentration step before it committed; the health step wrote nothing
        assert (ConcentrationSnapshot.objects.count(), HealthAssessment.objects.count()) == (1, 0)
        delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.payload["data"]["run"]["status"]) == ("risk_run.failed", "failed")


def test_assess_risk_command(tenant, policy):
    account = AccountFactory(tenant=tenant, name="逾期客户")
    InvoiceFactory(tenant=tenant, account=account, issued_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 5, 1))
    out = io.StringIO()
    call_command("assess_risk", "--tenant", "acme", "--as-of", "2026-06-30", stdout=out)
    assert "as of 2026-06-30 (full): 1 accounts assessed, 2 alerts opened, 0 updated, 0 resolved" in out.getvalue()
    with pytest.raises(CommandError, match="no active tenant"):
        call_command("assess_risk", "--tenant", "nobody")


# --- a real worker ----------------------------------------------------------------------------------


@pytest.fixture
def real_worker():
    from celery.contrib.testing.worker import start_worker

    from kam.celery import app

    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_queued_risk_run_in_its_tenant(real_worker):
    # given: committed data in two tenants
    a = TenantFactory(slug="risk-worker-a")
    b = TenantFactory(slug="risk-worker-b")
    for t in (a, b):
        services.risk_policy_seed_default(t)
        OrderFactory(tenant=t, account=AccountFactory(tenant=t), order_date=D - dt.timedelta(days=5))
    run = services.risk_run_create(a, as_of=D)
    # when
    tasks.execute_run.delay(a.pk, run.pk)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with tenant_context(a):
            run.refresh_from_db()
        if run.status in ("done", "failed"):
            break
        time.sleep(0.2)
    # then: done, and only tenant a has risk rows
    assert (run.status, run.accounts_assessed) == ("done", 1)
    assert counts(a) == (1, 1, 1)
    assert counts(b) == (0, 0, 0)
