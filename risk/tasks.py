"""Celery entry points of risk: thin wrappers around risk.services and risk.webhooks.

Beat fans these out to every tenant (kam/celery.py)::

    {"task": "kam.fan_out", "args": ["risk.daily_concentration"]}
    {"task": "kam.fan_out", "args": ["risk.nightly_health"]}
    {"task": "kam.fan_out", "args": ["risk.retry_webhooks"]}   # hourly
    {"task": "kam.fan_out", "args": ["risk.sla_sweep"]}        # every 10 minutes
    {"task": "kam.fan_out", "args": ["risk.contingency_reviews"]}  # nightly

``sla_sweep`` is also queued for a tenant when one of its needs changes (risk/apps.py), so
that a reply or a resolution clears the need's SLA alert within moments.

``execute_run`` and ``deliver_webhook`` take ``tenant_id`` like every tenant task but are
not wrapped in one transaction: a run commits its steps one by one so that its progress
shows, and a delivery must not hold a transaction open while it waits for a receiver.
Each step sets the tenant context itself.
"""

from __future__ import annotations

from celery import shared_task

from kam import runs
from kam.models import RunStatus, Tenant
from kam.tasks import queue_on_commit, tenant_task
from kam.tenancy import tenant_context
from risk import notifications, services, webhooks
from risk.models import RiskRun, RunKind, RunTrigger

# A run scans every order of the tenant; a delivery waits at most its timeout.
RUN_LIMITS = {"soft_time_limit": 25 * 60, "time_limit": 30 * 60}
DELIVERY_LIMITS = {"soft_time_limit": 60, "time_limit": 90}
# The SLA sweep reads the tenant's open needs past a deadline (an index on the open ones).
SWEEP_LIMITS = {"soft_time_limit": 5 * 60, "time_limit": 6 * 60}


def _active_tenant(tenant_id: int) -> Tenant | None:
    return Tenant.objects.filter(pk=tenant_id, is_active=True).first()


@shared_task(name="risk.execute_run", **RUN_LIMITS)
def execute_run(tenant_id: int, run_id: int) -> None:
    tenant = _active_tenant(tenant_id)
    if tenant is None:
        return
    with tenant_context(tenant):
        run = RiskRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
    if run is not None:
        services.risk_run_execute(tenant, run=run)


def _scheduled_run(tenant: Tenant, kind: str) -> None:
    run = services.risk_run_create(tenant, kind=kind, trigger=RunTrigger.SCHEDULE)
    services.risk_run_execute(tenant, run=run)


@tenant_task(name="risk.daily_concentration", **RUN_LIMITS)
def daily_concentration(tenant: Tenant) -> None:
    """Today's concentration snapshot (replacing an earlier one of the day), then its alerts."""
    _scheduled_run(tenant, RunKind.CONCENTRATION)


@tenant_task(name="risk.nightly_health", **RUN_LIMITS)
def nightly_health(tenant: Tenant) -> None:
    """Every account's health as of today, then the per-account alerts."""
    _scheduled_run(tenant, RunKind.HEALTH)


@tenant_task(name="risk.sla_sweep", **SWEEP_LIMITS)
def sla_sweep(tenant: Tenant) -> dict[str, int]:
    """Open, escalate and resolve the tenant's sla_breach alerts as of now (under its
    ``risk:sla`` lock: a second sweep of the tenant waits for the first)."""
    outcome = services.alerts_evaluate_sla(tenant)
    return {
        "opened": len(outcome.opened),
        "escalated": len(outcome.escalated),
        "updated": len(outcome.updated),
        "resolved": len(outcome.resolved),
    }


def queue_sla_sweep(tenant: Tenant) -> None:
    """Sweep the tenant's SLA alerts once the current transaction commits."""
    queue_on_commit(sla_sweep, tenant.pk)


@shared_task(name="risk.deliver_webhook", **DELIVERY_LIMITS)
def deliver_webhook(tenant_id: int, delivery_id: int) -> None:
    tenant = _active_tenant(tenant_id)
    if tenant is not None:
        webhooks.deliver(tenant, delivery_id)


@tenant_task(name="risk.retry_webhooks")
def retry_webhooks(tenant: Tenant) -> dict[str, int]:
    """The hourly sweep: queue the deliveries that are due, drop old log entries."""
    return webhooks.sweep(tenant)


@tenant_task(name="risk.send_alert_emails")
def send_alert_emails(
    tenant: Tenant, alert_ids: list[int], event: str = "opened", only_users: list[int] | None = None
) -> int:
    return notifications.send_alert_emails(tenant, alert_ids=alert_ids, event=event, only_users=only_users)


@tenant_task(name="risk.contingency_reviews")
def contingency_reviews(tenant: Tenant) -> int:
    """Nightly: a bell notification for the owner of each contingency plan whose review day
    has come (once per review day; risk/contingency.py)."""
    from risk import contingency

    return contingency.review_reminders(tenant)


def queue_run(tenant: Tenant, run: RiskRun) -> None:
    """Execute the run in a worker once the transaction that created it commits."""
    runs.queue(execute_run, run)
