"""Celery entry points of scoring: thin wrappers around scoring.services."""

from __future__ import annotations

from accounts.models import Account
from kam.models import Tenant
from kam.tasks import tenant_task
from kam.tenancy import tenant_context
from scoring import selectors, services
from scoring.models import RunStatus, RunTrigger, ScoreRun


@tenant_task(name="scoring.execute_run", atomic=False)
def execute_run(tenant: Tenant, run_id: int) -> None:
    """Mark the run running (committed, visible), then do it in one transaction; a
    failure is recorded on the run rather than lost."""
    with tenant_context(tenant):
        run = ScoreRun.objects.filter(pk=run_id).exclude(status=RunStatus.DONE).first()
    if run is None:
        return
    services.score_run_mark_running(tenant, run=run)
    try:
        services.score_run_execute(tenant, run=run)
    except Exception as exc:
        services.score_run_fail(tenant, run=run, error=f"{exc.__class__.__name__}: {exc}")
        raise


@tenant_task(name="scoring.rescore_account")
def rescore_account(tenant: Tenant, account_id: int, trigger: str = RunTrigger.EVENT) -> None:
    account = Account.objects.for_tenant(tenant).filter(pk=account_id).first()
    if account is None or account.status == "lost" or selectors.active_scorecard(tenant) is None:
        return
    run = services.score_run_create(tenant, trigger=trigger, account=account)
    services.score_run_execute(tenant, run=run)


@tenant_task(name="scoring.nightly_score")
def nightly_score(tenant: Tenant) -> None:
    if selectors.active_scorecard(tenant) is None:
        return
    run = services.score_run_create(tenant, trigger=RunTrigger.SCHEDULE)
    services.score_run_execute(tenant, run=run)


def queue_run(tenant: Tenant, run: ScoreRun) -> None:
    """Execute the run in a worker once the transaction that created it commits."""
    from django.db import transaction

    transaction.on_commit(lambda: execute_run.delay(tenant.pk, run.pk))
