"""Two beats started by mistake still give one run per tenant per schedule slot.

Beat's per-tenant entries send kam.fan_out with the entry's name; fan_out queues each
tenant's task with the slot (the entry's scheduled time), and the task runs once per
(task, tenant, slot): kam.tasks.tenant_task and kam.recovery.once_per_slot. The nightly
cycle is dispatched every minute at each tenant's local time (kam/nightly.py), its jobs
with slots of their own (tests/kam/test_nightly.py walks a night). Celery runs eagerly
here, so "queued" means "run now".
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from kam import nightly
from kam import services as kam_services
from kam.celery import app
from kam.models import IndustryProfile, Tenant
from kam.recovery import claim, close_claim_connection
from kam.tasks import fan_out, schedule_slot
from kam.tenancy import tenant_context
from risk.models import RiskRun, RunKind
from scoring.models import RunTrigger, ScoreRun
from tests.factories import AccountFactory, OrderFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _every_task_registered() -> Iterator[None]:
    """As in a worker: an unregistered task name would be sent to the broker, not run eagerly.
    Afterwards the slot claims' connection goes, so that the test database can be dropped."""
    app.loader.import_default_modules()
    yield
    close_claim_connection()


@pytest.fixture
def tenants(db: None) -> list[Tenant]:
    made = []
    for slug in ("beat-a", "beat-b"):
        tenant = kam_services.tenant_create(slug=slug, name=slug, industry_profile=IndustryProfile.MANUFACTURING)
        account = AccountFactory(tenant=tenant, name=f"{slug} 客户")
        OrderFactory(tenant=tenant, account=account)
        made.append(tenant)
    return made


def run_entry(name: str) -> None:
    """What beat does for an entry: send its task with its args and kwargs (eager here)."""
    entry = app.conf.beat_schedule[name]
    app.tasks[entry["task"]].apply(args=entry.get("args", []), kwargs=entry.get("kwargs", {}))


def scheduled_score_runs(tenant: Tenant) -> int:
    with tenant_context(tenant):
        return ScoreRun.objects.filter(trigger=RunTrigger.SCHEDULE).count()


def minute_of(task: str, tenant: Tenant) -> dt.datetime:
    """The minute the nightly dispatch queues ``task`` for ``tenant`` on the night of 1 May."""
    job = next(job for job in nightly.NIGHTLY_JOBS if job.task == task)
    anchor = getattr(tenant, job.anchor)
    return nightly.scheduled_at(job, dt.date(2026, 5, 1), anchor, tenant.time_zone, nightly.stagger_minutes(tenant.pk))


def test_the_nightly_score_dispatched_twice_makes_one_run_per_tenant(tenants):
    # when: two beats dispatch each tenant's score minute
    for tenant in tenants:
        nightly.dispatch(minute_of("scoring.nightly_score", tenant))
        nightly.dispatch(minute_of("scoring.nightly_score", tenant))
    # then
    assert [scheduled_score_runs(t) for t in tenants] == [1, 1]


@pytest.mark.parametrize(
    ("task", "kind"), [("risk.daily_concentration", RunKind.CONCENTRATION), ("risk.nightly_health", RunKind.HEALTH)]
)
def test_the_risk_jobs_dispatched_twice_make_one_run_per_tenant(tenants, task, kind):
    for tenant in tenants:
        nightly.dispatch(minute_of(task, tenant))
        nightly.dispatch(minute_of(task, tenant))
    for tenant in tenants:
        with tenant_context(tenant):
            assert RiskRun.objects.filter(kind=kind).count() == 1


def test_every_per_tenant_entry_carries_its_name_for_the_slot():
    per_tenant = {name: entry for name, entry in app.conf.beat_schedule.items() if entry["task"] == "kam.fan_out"}
    assert len(per_tenant) >= 4
    for name, entry in per_tenant.items():
        assert entry["kwargs"] == {"schedule_entry": name}
        assert entry["args"][0] in app.tasks


def test_the_next_slot_runs_again(tenants):
    # the 2 May run is a new slot; the 1 May one sent again is not
    fan_out("scoring.nightly_score", slot="2026-05-01T02:00")
    fan_out("scoring.nightly_score", slot="2026-05-02T02:00")
    fan_out("scoring.nightly_score", slot="2026-05-01T02:00")
    assert [scheduled_score_runs(t) for t in tenants] == [2, 2]


def test_a_copy_that_runs_right_now_elsewhere_is_dropped_and_a_dead_ones_slot_runs(tenants):
    """The slot's claim is held while a copy runs (here by another thread's connection); a
    second copy then does nothing. A claim dies with its process, so a copy whose worker
    was killed does not keep the slot: the next copy runs it."""
    tenant = tenants[0]
    slot = "2026-05-03T02:00"
    holding, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        with claim(f"slot:scoring.nightly_score:{tenant.pk}:{slot}", wait=False) as held:
            assert held is True
            holding.set()
            release.wait(10)
        connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert holding.wait(10)
    try:
        app.tasks["scoring.nightly_score"].apply(args=[tenant.pk], kwargs={"kam_slot": slot})
        assert scheduled_score_runs(tenant) == 0  # dropped: the other copy has the slot
    finally:
        release.set()
        thread.join(10)
    # the other copy "died" without finishing (its claim is gone, the slot was never done)
    app.tasks["scoring.nightly_score"].apply(args=[tenant.pk], kwargs={"kam_slot": slot})
    assert scheduled_score_runs(tenant) == 1


@pytest.mark.parametrize(
    ("entry", "now", "slot"),
    [
        # the nightly dispatch, every minute: sent at 02:00:03 or executed 50 seconds late, the same slot
        ("nightly-dispatch", dt.datetime(2026, 5, 1, 2, 0, 3, tzinfo=SHANGHAI), "2026-05-01T02:00"),
        ("nightly-dispatch", dt.datetime(2026, 5, 1, 2, 0, 50, tzinfo=SHANGHAI), "2026-05-01T02:00"),
        # in UTC the same moment: 18:00 UTC is 02:00 in Shanghai
        ("nightly-dispatch", dt.datetime(2026, 4, 30, 18, 0, 5, tzinfo=dt.UTC), "2026-05-01T02:00"),
        # hourly at minute 17
        ("hourly-import-sweep", dt.datetime(2026, 5, 1, 10, 16, tzinfo=SHANGHAI), "2026-05-01T09:17"),
        ("hourly-import-sweep", dt.datetime(2026, 5, 1, 10, 17, 30, tzinfo=SHANGHAI), "2026-05-01T10:17"),
        # every ten minutes
        ("sla-sweep", dt.datetime(2026, 5, 1, 10, 29, tzinfo=SHANGHAI), "2026-05-01T10:20"),
    ],
)
def test_schedule_slot_is_the_entrys_latest_time(entry, now, slot):
    assert schedule_slot(entry, now) == slot
