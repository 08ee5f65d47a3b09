"""Celery entry points of scoring: thin wrappers around scoring.services."""

from __future__ import annotations

from accounts.models import Account
from kam import runs
from kam.models import RunStatus, Tenant
from kam.tasks import tenant_task
from kam.tenancy import tenant_context
from scoring import selectors, services
from scoring.models import RunTrigger, ScoreRun


@tenant_task(name="scoring.execute_run", atomic=False)
def execute_run(tenant: Tenant, run_id: int) -> None:
    """Mark the run running (committed, visible), then do it in one transaction; a
    failure is recorded on the run rather than lost."""
    with tenant_context(tenant):
        run = ScoreRun.objects.filter(pk=run_id).exclude(status=RunStatus.DONE).first()
    if run is None:
        return
    runs.mark_running(tenant, run=run, progress=services.RUNNING_PROGRESS)
    try:
        services.score_run_execute(tenant, run=run)
    except Exception as exc:
        runs.mark_failed(tenant, run=run, error=runs.error_text(exc))
        raise


@tenant_task(name="scoring.rescore_account")
def rescore_account(tenant: Tenant, account_id: int, trigger: str = RunTrigger.EVENT) -> None:
    account = Account.objects.filter(pk=account_id).first()
    if account is None or account.status == "lost" or selectors.scorecard_get_active(tenant) is None:
        return
    run = services.score_run_create(tenant, trigger=trigger, account=account)
    services.score_run_execute(tenant, run=run)


@tenant_task(name="scoring.nightly_score")
def nightly_score(tenant: Tenant) -> None:
    if selectors.scorecard_get_active(tenant) is None:
        return
    run = services.score_run_create(tenant, trigger=RunTrigger.SCHEDULE)
    services.score_run_execute(tenant, run=run)


def queue_run(tenant: Tenant, run: ScoreRun) -> None:
    """Execute the run in a worker once the transaction that created it commits."""
    runs.queue(execute_run, run)
