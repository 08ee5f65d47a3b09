"""The life of a score run in a worker (kam.runs): claimed and marked running, done with its
figures at 100 %, or failed with the error; a failed run executed again runs afresh."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kam.models import RunStatus
from kam.tenancy import tenant_context
from scoring import services, tasks
from scoring.models import ScoreRun
from tests.factories import AccountFactory, OrderFactory

pytestmark = pytest.mark.django_db

D = dt.date(2026, 6, 30)


@pytest.fixture
def queued(tenant, admin):
    services.scorecard_seed_default(tenant)
    account = AccountFactory(tenant=tenant, name="甲")
    OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 3, 1), amount=Decimal("100"))
    return services.score_run_create(tenant, as_of=D, actor=admin)


def stored(tenant, run) -> ScoreRun:
    with tenant_context(tenant):
        return ScoreRun.objects.get(pk=run.pk)


def test_a_worker_runs_a_queued_run_to_done(tenant, admin, queued):
    assert (queued.status, queued.progress, queued.created_by, queued.started_at) == ("queued", 0, admin, None)
    tasks.execute_run.delay(tenant.pk, queued.pk)
    run = stored(tenant, queued)
    assert (run.status, run.progress, run.accounts_scored, run.error) == (RunStatus.DONE, 100, 1, "")
    assert run.started_at <= run.finished_at


def test_a_failing_run_is_marked_failed_with_its_error(tenant, queued, monkeypatch):
    def fail(tenant, *, run):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "score_run_execute", fail)
    with pytest.raises(RuntimeError):
        tasks.execute_run.delay(tenant.pk, queued.pk)
    run = stored(tenant, queued)
    assert (run.status, run.error) == (RunStatus.FAILED, "RuntimeError: the database went away")
    assert run.started_at <= run.finished_at
    # when it is executed again, it runs afresh: no error left, done
    monkeypatch.undo()
    tasks.execute_run.delay(tenant.pk, queued.pk)
    run = stored(tenant, queued)
    assert (run.status, run.progress, run.error) == (RunStatus.DONE, 100, "")


def test_a_done_run_is_not_executed_again(tenant, queued):
    tasks.execute_run.delay(tenant.pk, queued.pk)
    finished = stored(tenant, queued).finished_at
    tasks.execute_run.delay(tenant.pk, queued.pk)  # re-delivered
    assert stored(tenant, queued).finished_at == finished


def test_a_run_needs_an_active_scorecard(tenant):
    with pytest.raises(ValidationError, match="This workspace has no active scorecard."):
        services.score_run_create(tenant, as_of=D)
