"""The nightly cycle at each tenant's local time (issue #21): a fake clock walks minute by
minute over two days for tenants in three time zones, and over the nights daylight saving
begins and ends; each job comes once a night, at its local time plus the tenant's stagger,
in its order. Dispatched twice (two beats), a minute still runs each job once, and beat's
work goes to the batch queue while people's goes to the default one."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client

from kam import nightly
from kam import services as kam_services
from kam.celery import app
from kam.models import IndustryProfile, Tenant
from kam.recovery import close_claim_connection
from kam.tenancy import tenant_context
from risk.models import RiskRun, RunKind
from scoring.models import RunTrigger, ScoreRun
from tests.factories import AccountFactory, OrderFactory

ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York")
NIGHT_TASKS = [job.task for job in nightly.NIGHTLY_JOBS]


def tenant_rows(*specs: tuple[int, str, dict]) -> list[dict]:
    return [{"id": pk, "time_zone": zone, **nightly.DEFAULT_TIMES, **times} for pk, zone, times in specs]


def walk(start: dt.datetime, hours: int, tenants: list[dict]) -> list[tuple[dt.datetime, str, int, str]]:
    """What the dispatcher would queue each minute from ``start`` for ``hours``."""
    queued = []
    for step in range(hours * 60):
        minute = start + dt.timedelta(minutes=step)
        queued += [(minute, task, tenant_id, slot) for task, tenant_id, slot in nightly.due_jobs(minute, tenants)]
    return queued


def local(minute: dt.datetime, zone: str) -> dt.datetime:
    return minute.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def test_over_two_days_each_tenant_gets_each_job_once_a_night_at_its_local_time():
    # given: three tenants, one per time zone; the Berlin one moved its score run to 01:00
    tenants = tenant_rows(
        (1, "Asia/Shanghai", {}), (2, "Europe/Berlin", {"score_at": dt.time(1, 0)}), (3, "America/New_York", {})
    )
    # when: the clock walks from 6 Dec 00:00 UTC for 72 hours
    queued = walk(dt.datetime(2026, 12, 6, tzinfo=dt.UTC), 72, tenants)
    # then: every (task, tenant, slot) once
    assert not [key for key, n in Counter((t, tid, s) for _m, t, tid, s in queued).items() if n > 1]
    by_tenant: dict[int, dict[str, list[dt.datetime]]] = defaultdict(lambda: defaultdict(list))
    for minute, task, tenant_id, _slot in queued:
        by_tenant[tenant_id][task].append(minute)
    for row in tenants:
        stagger = nightly.stagger_minutes(row["id"])
        zone = row["time_zone"]
        jobs = by_tenant[row["id"]]
        assert set(jobs) == set(NIGHT_TASKS)
        # the score run at the tenant's time plus its stagger, on each local night walked
        score_times = [local(m, zone) for m in jobs["scoring.nightly_score"]]
        expected = (dt.datetime.combine(dt.date(2026, 12, 6), row["score_at"]) + dt.timedelta(minutes=stagger)).time()
        assert {t.time() for t in score_times} == {expected}
        assert len(score_times) == len({t.date() for t in score_times}) >= 2
        assert {local(m, zone).time() for m in jobs["risk.nightly_health"]} == {
            (dt.datetime.combine(dt.date(2026, 12, 6), dt.time(3, 30)) + dt.timedelta(minutes=stagger)).time()
        }
    # each whole night's jobs keep their order: preparation, score, concentration, health, reviews
    nights: dict[tuple[int, str], dict[str, dt.datetime]] = defaultdict(dict)
    for minute, task, tenant_id, slot in queued:
        nights[tenant_id, slot[:10]][task] = minute
    whole = [night for night in nights.values() if len(night) == len(NIGHT_TASKS)]
    assert len(whole) >= 2 * len(tenants)
    for night in whole:
        times = [night[task] for task in NIGHT_TASKS]
        assert times == sorted(times)


def test_the_stagger_spreads_the_tenants_of_one_zone_over_the_window():
    tenants = tenant_rows(*[(pk, "Asia/Shanghai", {}) for pk in range(1, 301)])
    queued = walk(dt.datetime(2026, 12, 6, 18, tzinfo=dt.UTC), 1, tenants)  # 02:00-03:00 in Shanghai
    starts = Counter(minute for minute, task, _t, _s in queued if task == "scoring.nightly_score")
    assert sum(starts.values()) == 300
    assert len(starts) == settings.NIGHTLY_STAGGER_MINUTES
    assert max(starts.values()) <= 300 // settings.NIGHTLY_STAGGER_MINUTES + 1


@pytest.mark.parametrize(
    ("start", "what"),
    [
        (dt.datetime(2026, 3, 8, 4, tzinfo=dt.UTC), "02:00-02:59 skipped (daylight saving begins)"),
        (dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC), "01:00-01:59 twice (daylight saving ends)"),
    ],
)
def test_a_night_when_the_clock_changes_still_has_each_job_once(start, what):
    # New York: score 02:00, its preparation from 01:30; concentration 03:00, health 03:30
    tenants = tenant_rows((3, "America/New_York", {}), (40, "America/New_York", {"score_at": dt.time(1, 15)}))
    queued = walk(start, 12, tenants)
    counts = Counter((task, tenant_id) for _m, task, tenant_id, _s in queued)
    assert counts == Counter({(task, row["id"]): 1 for task in NIGHT_TASKS for row in tenants}), what


# --- dispatched for real (Celery eager) --------------------------------------------------------------


@pytest.fixture(autouse=True)
def _every_task_registered() -> Iterator[None]:
    app.loader.import_default_modules()
    yield
    close_claim_connection()


@pytest.fixture
def world(db: None) -> list[Tenant]:
    made = []
    for slug, zone in zip(("night-sh", "night-be", "night-ny"), ZONES, strict=True):
        tenant = kam_services.tenant_create(
            slug=slug, name=slug, industry_profile=IndustryProfile.MANUFACTURING, time_zone=zone
        )
        OrderFactory(tenant=tenant, account=AccountFactory(tenant=tenant, name=f"{slug} 客户"))
        made.append(tenant)
    return made


def score_minute(tenant: Tenant, night: dt.date) -> dt.datetime:
    job = next(job for job in nightly.NIGHTLY_JOBS if job.task == "scoring.nightly_score")
    return nightly.scheduled_at(job, night, tenant.score_at, tenant.time_zone, nightly.stagger_minutes(tenant.pk))


def scheduled_runs(tenant: Tenant) -> int:
    with tenant_context(tenant):
        return ScoreRun.objects.filter(trigger=RunTrigger.SCHEDULE).count()


def test_each_tenants_score_run_starts_at_its_minute_and_once_when_two_beats_dispatch_it(world):
    night = dt.date(2026, 12, 7)
    for tenant in world:
        minute = score_minute(tenant, night)
        # a minute before: nobody's run
        nightly.dispatch(minute - dt.timedelta(minutes=1))
        assert scheduled_runs(tenant) == 0
        # at its minute, sent by two beats
        nightly.dispatch(minute)
        nightly.dispatch(minute)
        assert scheduled_runs(tenant) == 1
    assert [scheduled_runs(t) for t in world] == [1, 1, 1]


def test_the_risk_runs_follow_at_the_tenants_times(world):
    tenant = world[1]  # Berlin
    tenant.concentration_at, tenant.health_at = dt.time(4, 0), dt.time(4, 45)
    tenant.save()
    stagger = nightly.stagger_minutes(tenant.pk)
    at = dt.datetime(2026, 12, 7, 4, 0, tzinfo=ZoneInfo("Europe/Berlin")) + dt.timedelta(minutes=stagger)
    nightly.dispatch(at)
    nightly.dispatch(at + dt.timedelta(minutes=45))
    nightly.dispatch(at + dt.timedelta(minutes=45))
    with tenant_context(tenant):
        kinds = Counter(RiskRun.objects.values_list("kind", flat=True))
    assert kinds == Counter({RunKind.CONCENTRATION: 1, RunKind.HEALTH: 1})


def test_beats_work_goes_to_the_batch_queue_and_peoples_to_the_default_one(world, monkeypatch):
    from celery.canvas import Signature

    sent: list[tuple[str, str | None]] = []
    original = Signature.apply_async

    def record(self, args=None, kwargs=None, **options):
        sent.append((self.task, options.get("queue")))
        return original(self, args, kwargs, **options)

    monkeypatch.setattr(Signature, "apply_async", record)
    nightly.dispatch(score_minute(world[0], dt.date(2026, 12, 7)))
    app.tasks["kam.fan_out"].apply(args=["risk.sla_sweep"], kwargs={"schedule_entry": "sla-sweep"})
    assert ("scoring.nightly_score", settings.KAM_BATCH_QUEUE) in sent
    assert {queue for task, queue in sent if task == "risk.sla_sweep"} == {settings.KAM_BATCH_QUEUE}
    app.tasks["kam.hourly_cleanup"].apply()
    assert {queue for task, queue in sent if task == "kam.cleanup_tenant_tokens"} == {settings.KAM_BATCH_QUEUE}
    for name, entry in app.conf.beat_schedule.items():
        assert entry["options"] == {"queue": settings.KAM_BATCH_QUEUE}, name
    # a task queued without a queue, as the pages and the API queue theirs, takes the default one
    assert app.amqp.router.route({}, "scoring.rescore_account")["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE


def test_an_administrator_sets_the_nightly_times_and_bad_input_changes_nothing(world):
    from kam.models import Membership, Role
    from tests.factories import UserFactory

    tenant = world[0]
    admin = UserFactory(email="night-admin@example.com")
    Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    url = f"/t/{tenant.slug}/settings/schedule/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"score_at": "25:00", "concentration_at": "03:00", "health_at": "03:30"})
    assert bad.status_code == 400
    tenant.refresh_from_db()
    assert tenant.score_at == dt.time(2, 0)
    ok = client.post(url, {"score_at": "01:30", "concentration_at": "02:30", "health_at": "03:00"})
    assert ok.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.score_at, tenant.concentration_at, tenant.health_at) == (dt.time(1, 30), dt.time(2, 30), dt.time(3))
