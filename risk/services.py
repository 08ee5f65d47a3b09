"""Writes of risk: the policy, risk runs (concentration snapshot, health assessment, alert
evaluation), alerts, contingency plans, webhook endpoints and notifications.

Every function takes the tenant first. The jobs are set-based SQL (risk/engine.py), run
under one PostgreSQL advisory lock per tenant and kind, and are idempotent: running the
same day again replaces that day's snapshot and assessments and leaves the alerts as
they were (at most one open alert per dedupe key).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Tier
from kam import audit, runs
from kam.db import analyze_written
from kam.models import Membership, RunStatus, Tenant, User
from kam.records import UNSET, given
from kam.runs import advisory_xact_lock
from kam.stage import staged, temp_table
from kam.tenancy import get_current_tenant, tenant_context, tenant_service, tenant_today
from risk import contingency, engine, notifications, selectors, signals, webhooks
from risk.models import (
    ACCOUNT_KINDS,
    CONCENTRATION_KINDS,
    SERVICE_KINDS,
    AlertStage,
    AlertStatus,
    ConcentrationSnapshot,
    ContingencyKind,
    ContingencyPlan,
    HealthAssessment,
    HealthStage,
    Notification,
    Resolution,
    RiskAlert,
    RiskPolicy,
    RiskRun,
    RunKind,
    RunTrigger,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from service.models import OPEN_STATUSES

logger = logging.getLogger(__name__)

# Tiers whose teams are checked against the staffing rules (team_gap alerts).
STAFFED_TIERS = (Tier.S, Tier.A)


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def _is_active_member(tenant: Tenant, user: User) -> bool:
    """Whom an alert or a plan may be given to: an active member of this tenant."""
    return Membership.objects.filter(tenant=tenant, user=user, is_active=True).exists()


def _job_memory() -> None:
    """More memory for the job's hash aggregates than an ordinary request gets (a few MB by
    default): without it PostgreSQL sorts 100,000 groups instead of hashing them."""
    memory = getattr(settings, "RISK_JOB_WORK_MEM", "64MB")
    if not re.fullmatch(r"\d+\s*(kB|MB|GB)?", memory):
        raise ValueError(f"RISK_JOB_WORK_MEM is not a PostgreSQL memory size: {memory!r}")
    with connection.cursor() as cursor:
        # SET LOCAL, not set_config(): Citus passes it on to the worker that runs the job's
        # statements. It takes no bind parameters, hence the check above.
        cursor.execute(f"SET LOCAL work_mem = '{memory}'")


# --- policy ----------------------------------------------------------------------------------------


@tenant_service
def risk_policy_seed_default(tenant: Tenant) -> RiskPolicy:
    """The default warning lines of DESIGN section 6 (idempotent)."""
    policy, _created = RiskPolicy.objects.get_or_create(tenant=tenant)
    return policy


def risk_policy_of(tenant: Tenant) -> RiskPolicy:
    """The tenant's policy; the defaults are seeded on first use for a tenant made before risk."""
    return selectors.policy_get(tenant) or risk_policy_seed_default(tenant)


# The settings risk_policy_update takes (the API's serializer offers the same).
POLICY_FIELDS = (
    "single_customer_warning",
    "single_customer_critical",
    "top5_warning",
    "hhi_warning",
    "hhi_critical",
    "health_drop_points",
    "purchase_overdue_ratio",
    "payment_overdue_days",
    "contract_expiring_days",
    "recent_days",
)


@tenant_service
def risk_policy_update(
    tenant: Tenant,
    *,
    single_customer_warning: Decimal = UNSET,
    single_customer_critical: Decimal = UNSET,
    top5_warning: Decimal = UNSET,
    hhi_warning: Decimal = UNSET,
    hhi_critical: Decimal = UNSET,
    health_drop_points: Decimal = UNSET,
    purchase_overdue_ratio: Decimal = UNSET,
    payment_overdue_days: int = UNSET,
    contract_expiring_days: int = UNSET,
    recent_days: int = UNSET,
    actor: Any = None,
) -> RiskPolicy:
    """Change the given lines and thresholds (POLICY_FIELDS); the others stay."""
    fields = given(
        single_customer_warning=single_customer_warning,
        single_customer_critical=single_customer_critical,
        top5_warning=top5_warning,
        hhi_warning=hhi_warning,
        hhi_critical=hhi_critical,
        health_drop_points=health_drop_points,
        purchase_overdue_ratio=purchase_overdue_ratio,
        payment_overdue_days=payment_overdue_days,
        contract_expiring_days=contract_expiring_days,
        recent_days=recent_days,
    )
    policy = risk_policy_of(tenant)
    before = audit.snapshot(policy)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.updated_by = _user(actor)
    policy.full_clean()
    errors: dict[str, str] = {}
    if policy.single_customer_critical < policy.single_customer_warning:
        errors["single_customer_critical"] = _("The critical line cannot be below the warning line.")
    if policy.hhi_critical < policy.hhi_warning:
        errors["hhi_critical"] = _("The critical line cannot be below the warning line.")
    if errors:
        raise ValidationError(errors)
    policy.save()
    audit.record_update(tenant=tenant, instance=policy, before=before, actor=actor)
    return policy


# --- runs ------------------------------------------------------------------------------------------


@dataclass
class AlertOutcome:
    opened: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)

    def __iadd__(self, other: AlertOutcome) -> AlertOutcome:
        self.opened += other.opened
        self.escalated += other.escalated
        self.updated += other.updated
        self.resolved += other.resolved
        return self


@tenant_service
def risk_run_create(
    tenant: Tenant,
    *,
    kind: str = RunKind.FULL,
    trigger: str = RunTrigger.MANUAL,
    as_of: dt.date | None = None,
    actor: Any = None,
) -> RiskRun:
    """A queued run; ``risk_run_execute`` (in a task or inline) does the work."""
    if kind not in RunKind.values:
        raise ValidationError({"kind": _("Choose full, concentration or health.")})
    return runs.create(RiskRun, tenant, as_of=as_of, actor=actor, kind=kind, trigger=trigger)


def risk_run_execute(tenant: Tenant, *, run: RiskRun) -> RiskRun:
    """Run the concentration snapshot and/or the health assessment, each followed by its
    alert evaluation, and record the outcome on the run.

    Each step is its own transaction when called outside one (a worker), so the run's
    progress shows on the page while it works; inside a transaction (a test, ?wait=true)
    the steps are savepoints. A failing step marks the run failed (and keeps what the
    steps before it committed); it never raises. Idempotent: re-executing a run, or a new
    run for the same day, leaves the same state.
    """
    current = get_current_tenant()
    if current is not None and current.pk != tenant.pk:
        raise RuntimeError(f"risk_run_execute for tenant {tenant.pk} inside tenant {current.pk}'s context")
    # A running run is claimed again: its worker died, and the run was delivered once more.
    claimed = runs.mark_running(tenant, run=run, progress=5, claimable=(RunStatus.QUEUED, RunStatus.RUNNING))
    if not claimed:
        run.refresh_from_db()
        return run
    outcome = AlertOutcome()
    assessed = 0
    try:
        if run.includes_concentration:
            with tenant_context(tenant):
                advisory_xact_lock(tenant, "risk:concentration")
                snapshot = concentration_take(tenant, as_of=run.as_of, run=run)
                if _is_latest_snapshot(tenant, snapshot):
                    outcome += alerts_evaluate_concentration(tenant, run=run, snapshot=snapshot)
                runs.set_progress(tenant, run=run, percent=45 if run.includes_health else 95)
        if run.includes_health:
            with tenant_context(tenant):
                advisory_xact_lock(tenant, "risk:health")
                assessed = health_assess(tenant, as_of=run.as_of, run=run)
                if _is_latest_assessment(tenant, run.as_of):
                    outcome += alerts_evaluate_accounts(tenant, run=run, as_of=run.as_of)
                runs.set_progress(tenant, run=run, percent=95)
    except Exception as exc:
        logger.exception("risk run %s of tenant %s failed", run.pk, tenant.pk)
        with tenant_context(tenant):
            runs.mark_failed(tenant, run=run, error=runs.error_text(exc))
            webhooks.emit(tenant, WebhookEvent.RISK_RUN_FAILED, [{"run": run_payload(run)}])
        return run
    with tenant_context(tenant):
        runs.mark_done(
            tenant,
            run=run,
            accounts_assessed=assessed,
            alerts_opened=len(outcome.opened),
            alerts_updated=len(outcome.updated) + len(outcome.escalated),
            alerts_resolved=len(outcome.resolved),
        )
        webhooks.emit(tenant, WebhookEvent.RISK_RUN_DONE, [{"run": run_payload(run)}])
    return run


def run_payload(run: RiskRun) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": run.pk,
        "kind": run.kind,
        "trigger": run.trigger,
        "as_of": run.as_of,
        "status": run.status,
        "accounts_assessed": run.accounts_assessed,
        "alerts_opened": run.alerts_opened,
        "alerts_updated": run.alerts_updated,
        "alerts_resolved": run.alerts_resolved,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error or None,
    }
    if run.includes_concentration and run.status == RunStatus.DONE:
        snapshot = ConcentrationSnapshot.objects.filter(as_of=run.as_of).first()
        if snapshot is not None:
            payload["concentration"] = {
                "as_of": snapshot.as_of,
                "total_revenue_12m": f"{snapshot.total_revenue_12m:.2f}",
                "top1_share": float(snapshot.top1_share),
                "top5_share": float(snapshot.top5_share),
                "top10_share": float(snapshot.top10_share),
                "hhi": float(snapshot.hhi),
            }
    return payload


@tenant_service
def concentration_take(tenant: Tenant, *, as_of: dt.date, run: RiskRun | None = None) -> ConcentrationSnapshot:
    """The day's concentration snapshot: one read-only statement computes it, one upsert
    stores it (a re-run of the day replaces it)."""
    params = engine.concentration_params(tenant.pk, as_of, run_id=run.pk if run else None, now=timezone.now())
    _job_memory()
    with connection.cursor() as cursor:
        cursor.execute(engine.CONCENTRATION_SELECT, params)
        params.update(zip(engine.CONCENTRATION_COLUMNS, cursor.fetchone(), strict=True))
        cursor.execute(engine.CONCENTRATION_UPSERT_SQL, params)
        (snapshot_id,) = cursor.fetchone()
    return ConcentrationSnapshot.objects.get(pk=snapshot_id)


@tenant_service
def health_assess(tenant: Tenant, *, as_of: dt.date, run: RiskRun) -> int:
    """Assess every account that is not lost, as of the day (replacing that day's
    assessments: a re-run rewrites only the rows whose figures changed), and set the
    accounts' current health when the day is the latest assessed. Returns the number of
    accounts assessed."""
    params = engine.health_params(tenant.pk, as_of, tenant.time_zone, run_id=run.pk, now=timezone.now())
    _job_memory()
    with connection.cursor() as cursor:
        temp_table(cursor, engine.HEALTH_RESULT, engine.HEALTH_CREATE_RESULT_SQL, params)
        with staged(
            cursor,
            HealthStage,
            source=f"pg_temp.{engine.HEALTH_RESULT}",
            columns=engine.HEALTH_COLUMNS,
            tenant_id=tenant.pk,
            run_id=run.pk,
            target=HealthAssessment,
        ) as assessed:
            cursor.execute(engine.HEALTH_DELETE_CHANGED_SQL, params)
            cursor.execute(engine.HEALTH_INSERT_NEW_SQL, params)
            written = cursor.rowcount
            if _is_latest_assessment(tenant, as_of):
                cursor.execute(engine.HEALTH_DENORMALISE_SQL, params)
                cursor.execute(engine.HEALTH_CLEAR_LOST_SQL, params)
    analyze_written({"risk_healthassessment": written})
    return assessed


def _is_latest_snapshot(tenant: Tenant, snapshot: ConcentrationSnapshot) -> bool:
    """Alerts describe the present: a snapshot of a past day (a backfill) does not move them."""
    return not ConcentrationSnapshot.objects.filter(as_of__gt=snapshot.as_of).exists()


def _is_latest_assessment(tenant: Tenant, as_of: dt.date) -> bool:
    return not HealthAssessment.objects.filter(as_of__gt=as_of).exists()


# --- alert evaluation --------------------------------------------------------------------------------


def _policy_params(policy: RiskPolicy, as_of: dt.date) -> dict[str, Any]:
    return {
        "d": as_of,
        "single_warning": policy.single_customer_warning,
        "single_critical": policy.single_customer_critical,
        "top5_warning": policy.top5_warning,
        "hhi_warning": policy.hhi_warning,
        "hhi_critical": policy.hhi_critical,
        "health_drop": policy.health_drop_points,
        "purchase_ratio": policy.purchase_overdue_ratio,
        "payment_days": policy.payment_overdue_days,
        "payment_due_before": as_of - dt.timedelta(days=policy.payment_overdue_days),
        "contract_days": policy.contract_expiring_days,
        "contract_until": as_of + dt.timedelta(days=policy.contract_expiring_days),
        "recent_from": as_of - dt.timedelta(days=policy.recent_days),
    }


def _apply(tenant: Tenant, candidates_sql: str, params: dict[str, Any]) -> AlertOutcome:
    """The candidates into a TEMP table, through the stage, against the current alerts."""
    _job_memory()
    params = {**params, "stage_run": params["run"] or 0}
    with connection.cursor() as cursor:
        temp_table(cursor, engine.ALERT_CANDIDATES, candidates_sql, params)
        with staged(
            cursor,
            AlertStage,
            source=f"pg_temp.{engine.ALERT_CANDIDATES}",
            columns=engine.ALERT_COLUMNS,
            tenant_id=tenant.pk,
            run_id=params["stage_run"],
            target=RiskAlert,
            order_by="dedupe_key",
        ):
            rows = []
            for sql in (engine.ALERTS_OPEN_SQL, engine.ALERTS_UPDATE_SQL, engine.ALERTS_RESOLVE_SQL):
                cursor.execute(sql, params)
                rows += cursor.fetchall()
        cursor.execute(f"DROP TABLE pg_temp.{engine.ALERT_CANDIDATES}")
    outcome = AlertOutcome()
    for what, alert_id, _old, _new in rows:
        getattr(outcome, what).append(alert_id)
    notified = notifications.notify_alerts(tenant, alert_ids=outcome.opened, event="opened")
    # Contingency plans that act (risk/contingency.py): the opened alerts' plans make their actions.
    contingency.activate(tenant, alert_ids=outcome.opened)
    notified += notifications.notify_alerts(tenant, alert_ids=outcome.escalated, event="escalated")
    analyze_written({"risk_riskalert": len(rows), "risk_notification": notified})
    webhooks.emit_alert_events(
        tenant,
        {
            WebhookEvent.ALERT_OPENED: outcome.opened,
            WebhookEvent.ALERT_ESCALATED: outcome.escalated,
            WebhookEvent.ALERT_RESOLVED: outcome.resolved,
        },
    )
    if outcome.opened or outcome.escalated:
        signals.alerts_changed.send(
            sender=RiskAlert, tenant=tenant, opened=list(outcome.opened), escalated=list(outcome.escalated)
        )
    return outcome


@tenant_service
def alerts_evaluate_concentration(
    tenant: Tenant, *, snapshot: ConcentrationSnapshot, run: RiskRun | None = None
) -> AlertOutcome:
    """concentration_single (per customer group), concentration_top5 and concentration_hhi
    from the snapshot; each says whether a contingency plan covers the group(s)."""
    params = {
        **_policy_params(risk_policy_of(tenant), snapshot.as_of),
        "tenant": tenant.pk,
        "snapshot": snapshot.pk,
        "run": run.pk if run else None,
        "now": timezone.now(),
        "kinds": list(CONCENTRATION_KINDS),
    }
    return _apply(tenant, engine.CONCENTRATION_CANDIDATES_SQL, params)


@tenant_service
def alerts_evaluate_accounts(tenant: Tenant, *, as_of: dt.date, run: RiskRun | None = None) -> AlertOutcome:
    """The per-account kinds, from the day's health assessments and the accounts' records."""
    params = {
        **_policy_params(risk_policy_of(tenant), as_of),
        "tenant": tenant.pk,
        "run": run.pk if run else None,
        "now": timezone.now(),
        "kinds": list(ACCOUNT_KINDS),
        "team_gaps": json.dumps(team_gaps(tenant, as_of=as_of)),
    }
    return _apply(tenant, engine.ACCOUNT_CANDIDATES_SQL, params)


@tenant_service
def alerts_evaluate_sla(tenant: Tenant, *, now: dt.datetime | None = None) -> AlertOutcome:
    """The SLA sweep (DESIGN section 11): one ``sla_breach`` alert per open need past a
    deadline as of ``now`` (warning for the first response, critical for the resolution),
    resolved once the need is answered or resolved. Under the tenant's ``risk:sla`` lock,
    so that two sweeps of a tenant take turns."""
    advisory_xact_lock(tenant, "risk:sla")
    params = {
        "tenant": tenant.pk,
        "run": None,
        "now": now or timezone.now(),
        "kinds": list(SERVICE_KINDS),
        "open_statuses": [str(status) for status in OPEN_STATUSES],
    }
    return _apply(tenant, engine.SLA_CANDIDATES_SQL, params)


def team_gaps(tenant: Tenant, *, as_of: dt.date) -> list[dict[str, Any]]:
    """The staffing gaps of the S and A accounts' teams (teams' selectors: four queries)."""
    from teams.selectors import AccountFacts, coverage_list

    accounts = Account.objects.exclude(status="lost").filter(tier__in=STAFFED_TIERS)
    tiers = dict(accounts.values_list("pk", "tier"))
    coverage = coverage_list(
        tenant,
        [AccountFacts(pk, tier) for pk, tier in tiers.items()],
        as_of=as_of,
        level_gaps=False,
        account_ids=accounts.order_by().values("pk"),
    )
    gaps = []
    for account_id, found in sorted(coverage.items()):
        if not found.gaps:
            continue
        gaps.append(
            {
                "account_id": account_id,
                "details": {
                    "as_of": as_of.isoformat(),
                    "tier": tiers[account_id],
                    "coverage_percent": found.percent,
                    "gaps": [
                        {
                            "kind": gap.kind,
                            "function": gap.function,
                            "level": gap.level,
                            "required": gap.required,
                            "filled": gap.filled,
                        }
                        for gap in found.gaps
                    ],
                },
            }
        )
    return gaps


# --- alerts by people ---------------------------------------------------------------------------------


def _check_alert(tenant: Tenant, alert: RiskAlert) -> None:
    if alert.tenant_id != tenant.pk:
        raise ValidationError(_("No such alert in this workspace."))


@tenant_service
def alert_acknowledge(tenant: Tenant, *, alert: RiskAlert, actor: Any = None) -> RiskAlert:
    """确认: someone has seen it and owns the follow-up; it stays open until its condition clears."""
    _check_alert(tenant, alert)
    if alert.status == AlertStatus.RESOLVED:
        raise ValidationError({"status": _("This alert is resolved already.")})
    if alert.status == AlertStatus.ACKNOWLEDGED:
        return alert
    before = audit.snapshot(alert)
    now = timezone.now()
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = now
    alert.acknowledged_by = _user(actor)
    alert.updated_at = now
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
    audit.record_update(tenant=tenant, instance=alert, before=before, actor=actor)
    webhooks.emit(tenant, WebhookEvent.ALERT_ACKNOWLEDGED, [{"alert": webhooks.alert_payload(alert)}])
    return alert


@tenant_service
def alert_resolve(
    tenant: Tenant, *, alert: RiskAlert, note: str = "", close_actions: bool = False, actor: Any = None
) -> RiskAlert:
    """解决 by hand. A condition that still holds opens a new alert at the next run, except
    for a key contact's departure or a leadership change or merger, which stay reviewed.
    ``close_actions``: also close (cancelled) the open actions its contingency plans created."""
    _check_alert(tenant, alert)
    if alert.status == AlertStatus.RESOLVED:
        return alert
    if close_actions:
        alert.actions_closed = contingency.close_alert_actions(tenant, alert=alert, actor=actor)
    before = audit.snapshot(alert)
    now = timezone.now()
    alert.status = AlertStatus.RESOLVED
    alert.resolution = Resolution.MANUAL
    alert.resolution_note = (note or "").strip()
    alert.resolved_at = now
    alert.resolved_by = _user(actor)
    alert.updated_at = now
    alert.save(update_fields=["status", "resolution", "resolution_note", "resolved_at", "resolved_by", "updated_at"])
    audit.record_update(tenant=tenant, instance=alert, before=before, actor=actor)
    webhooks.emit(tenant, WebhookEvent.ALERT_RESOLVED, [{"alert": webhooks.alert_payload(alert)}])
    return alert


@tenant_service
def alert_update(
    tenant: Tenant,
    *,
    alert: RiskAlert,
    assignee: User | None = UNSET,
    snoozed_until: dt.date | None = UNSET,
    actor: Any = None,
) -> RiskAlert:
    """Assign (an active member of the tenant, or nobody) and snooze (until a future day, or not)."""
    _check_alert(tenant, alert)
    before = audit.snapshot(alert)
    changed = []
    if assignee is not UNSET:
        if assignee is not None and not _is_active_member(tenant, assignee):
            raise ValidationError({"assignee": _("Choose an active member of this workspace.")})
        if alert.assignee_id != (assignee.pk if assignee else None):
            alert.assignee = assignee
            changed.append("assignee")
    if snoozed_until is not UNSET:
        if snoozed_until is not None and snoozed_until <= tenant_today(tenant):
            raise ValidationError({"snoozed_until": _("Snooze until a day in the future.")})
        if alert.snoozed_until != snoozed_until:
            alert.snoozed_until = snoozed_until
            changed.append("snoozed_until")
    if not changed:
        return alert
    alert.updated_at = timezone.now()
    alert.save(update_fields=[*changed, "updated_at"])
    audit.record_update(tenant=tenant, instance=alert, before=before, actor=actor)
    if "assignee" in changed and alert.assignee_id is not None and alert.assignee_id != getattr(actor, "pk", None):
        notifications.notify_assignee(tenant, alert=alert)
    return alert


BULK_ACTIONS = ("acknowledge", "resolve")


@tenant_service
def alerts_bulk(tenant: Tenant, *, alert_ids: list[int], action: str, actor: Any = None) -> int:
    """Acknowledge or resolve many alerts at once (the risk center's bulk actions). Returns how many changed."""
    if action not in BULK_ACTIONS:
        raise ValidationError({"action": _("Choose acknowledge or resolve.")})
    alerts = RiskAlert.objects.filter(pk__in=alert_ids[:500]).exclude(status=AlertStatus.RESOLVED)
    count = 0
    for alert in alerts.select_related("account"):
        if action == "acknowledge" and alert.status == AlertStatus.ACKNOWLEDGED:
            continue
        (alert_acknowledge if action == "acknowledge" else alert_resolve)(tenant, alert=alert, actor=actor)
        count += 1
    return count


@tenant_service
def alerts_bulk_snooze(tenant: Tenant, *, alerts: list[RiskAlert], snoozed_until: dt.date, actor: Any = None) -> int:
    """Snooze every alert until the day, all or none: one transaction, so a refused day
    (not in the future) leaves every alert as it was. Resolved alerts are left alone.
    Returns how many changed."""
    changed = 0
    for alert in alerts:
        if not alert.is_open:
            continue
        before = alert.snoozed_until
        alert_update(tenant, alert=alert, snoozed_until=snoozed_until, actor=actor)
        changed += before != snoozed_until
    return changed


# --- contingency plans -----------------------------------------------------------------------------


def _check_plan(tenant: Tenant, plan: ContingencyPlan) -> None:
    if plan.tenant_id != tenant.pk:
        raise ValidationError(_("No such plan in this workspace."))


def _check_plan_data(tenant: Tenant, data: dict[str, Any]) -> None:
    """The rules of a plan's fields, for those given (an update may give a few)."""
    account = data.get("account")
    if account is not None and account.tenant_id != tenant.pk:
        raise ValidationError({"account": _("Choose one of this workspace's own accounts.")})
    owner = data.get("owner")
    if owner is not None and not _is_active_member(tenant, owner):
        raise ValidationError({"owner": _("Choose an active member of this workspace.")})
    if "kind" in data and data["kind"] not in ContingencyKind.values:
        raise ValidationError({"kind": _("Choose alternative_market or sudden_loss.")})
    if "actions" in data and not (data["actions"] or "").strip():
        raise ValidationError({"actions": _("Write down the actions of the plan.")})


@tenant_service
def contingency_plan_create(
    tenant: Tenant,
    *,
    account: Account,
    kind: str,
    actions: str,
    title: str = "",
    owner: User | None = None,
    review_on: dt.date | None = None,
    trigger_kinds: list[str] | None = None,
    steps: list[dict[str, Any]] | None = None,
    actor: Any = None,
) -> ContingencyPlan:
    """A plan; ``trigger_kinds`` (alert kinds) and ``steps`` ([{title, owner, due_offset_days}])
    make it act when such an alert opens on its account (risk/contingency.py)."""
    data = {
        "account": account,
        "kind": kind,
        "title": title,
        "owner": owner,
        "actions": actions,
        "review_on": review_on,
        "trigger_kinds": contingency.clean_trigger_kinds(trigger_kinds),
    }
    _check_plan_data(tenant, data)
    cleaned_steps = contingency.clean_steps(tenant, steps)
    plan = ContingencyPlan(tenant=tenant, created_by=_user(actor), **data)
    plan.full_clean()
    plan.save()
    contingency.save_steps(tenant, plan, cleaned_steps)
    audit.record_create(tenant=tenant, instance=plan, actor=actor)
    return plan


@tenant_service
def contingency_plan_update(
    tenant: Tenant,
    *,
    plan: ContingencyPlan,
    account: Account = UNSET,
    kind: str = UNSET,
    title: str = UNSET,
    owner: User | None = UNSET,
    actions: str = UNSET,
    review_on: dt.date | None = UNSET,
    trigger_kinds: list[str] = UNSET,
    steps: list[dict[str, Any]] = UNSET,
    actor: Any = None,
) -> ContingencyPlan:
    """Change the given fields; the others stay (an owner who has since left included).
    ``steps`` replaces the whole checklist (a step's owner who has since left may stay)."""
    _check_plan(tenant, plan)
    data = given(account=account, kind=kind, title=title, owner=owner, actions=actions, review_on=review_on)
    if trigger_kinds is not UNSET:
        data["trigger_kinds"] = contingency.clean_trigger_kinds(trigger_kinds)
    _check_plan_data(tenant, data)
    cleaned_steps = UNSET
    if steps is not UNSET:
        kept = set(plan.steps.exclude(owner=None).values_list("owner_id", flat=True))
        cleaned_steps = contingency.clean_steps(tenant, steps, keep_owner_ids=kept)
    before = {**audit.snapshot(plan), "steps": contingency.steps_snapshot(plan)}
    for name, value in data.items():
        setattr(plan, name, value)
    plan.full_clean()
    plan.save()
    if cleaned_steps is not UNSET:
        contingency.save_steps(tenant, plan, cleaned_steps)
    changes = audit.diff(before, {**audit.snapshot(plan), "steps": contingency.steps_snapshot(plan)})
    if changes:
        audit.record(tenant=tenant, action="update", instance=plan, changes=changes, actor=actor)
    return plan


@tenant_service
def contingency_plan_delete(tenant: Tenant, *, plan: ContingencyPlan, actor: Any = None) -> None:
    _check_plan(tenant, plan)
    audit.record_delete(tenant=tenant, instance=plan, actor=actor)
    plan.delete()


# --- webhooks --------------------------------------------------------------------------------------


def _check_endpoint(tenant: Tenant, endpoint: WebhookEndpoint) -> None:
    if endpoint.tenant_id != tenant.pk:
        raise ValidationError(_("No such webhook in this workspace."))


def _endpoint_snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The endpoint's fields for the audit log, without its secret."""
    return {key: value for key, value in audit.snapshot(endpoint).items() if key != "secret"}


def _audit_endpoint(tenant: Tenant, endpoint: WebhookEndpoint, action: str, actor: Any) -> None:
    values = {
        k: v
        for k, v in _endpoint_snapshot(endpoint).items()
        if v not in (None, "") and k not in audit.BOOKKEEPING_FIELDS
    }
    changes = {k: [None, v] if action == "create" else [v, None] for k, v in values.items()}
    audit.record(tenant=tenant, action=action, instance=endpoint, changes=changes, actor=actor)


def _check_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        raise ValidationError({"events": _("Give a list of events.")})
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise ValidationError(
            {
                "events": _("Unknown events: %(unknown)s. Choose from %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(WebhookEvent.values)}
            }
        )
    return sorted(set(events), key=WebhookEvent.values.index)


def _check_url(url: str) -> str:
    from django.core.validators import URLValidator

    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ValidationError({"url": _("Enter an http or https URL.")}) from exc
    return url


@tenant_service
def webhook_endpoint_create(
    tenant: Tenant, *, url: str, events: list[str], description: str = "", is_active: bool = True, actor: Any = None
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (read it from the returned object once; the API shows it once)."""
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=_check_url(url),
        events=_check_events(events),
        description=description,
        is_active=is_active,
        secret=webhooks.new_secret(),
        created_by=_user(actor),
    )
    _audit_endpoint(tenant, endpoint, "create", actor)
    return endpoint


@tenant_service
def webhook_endpoint_update(
    tenant: Tenant,
    *,
    endpoint: WebhookEndpoint,
    url: str = UNSET,
    events: list[str] = UNSET,
    description: str = UNSET,
    is_active: bool = UNSET,
    actor: Any = None,
) -> WebhookEndpoint:
    """Change the given fields; the secret changes only by rotation."""
    _check_endpoint(tenant, endpoint)
    data = given(url=url, events=events, description=description, is_active=is_active)
    before = _endpoint_snapshot(endpoint)
    if "url" in data:
        data["url"] = _check_url(data["url"])
    if "events" in data:
        data["events"] = _check_events(data["events"])
    for name, value in data.items():
        setattr(endpoint, name, value)
    endpoint.save()
    changes = audit.diff(before, _endpoint_snapshot(endpoint))
    if changes:
        audit.record(tenant=tenant, action="update", instance=endpoint, changes=changes, actor=actor)
    return endpoint


@tenant_service
def webhook_endpoint_rotate_secret(tenant: Tenant, *, endpoint: WebhookEndpoint, actor: Any = None) -> WebhookEndpoint:
    _check_endpoint(tenant, endpoint)
    endpoint.secret = webhooks.new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    audit.record(tenant=tenant, action="update", instance=endpoint, changes={"secret": ["…", "rotated"]}, actor=actor)
    return endpoint


@tenant_service
def webhook_endpoint_delete(tenant: Tenant, *, endpoint: WebhookEndpoint, actor: Any = None) -> None:
    _check_endpoint(tenant, endpoint)
    _audit_endpoint(tenant, endpoint, "delete", actor)
    endpoint.delete()


def webhook_send_test(tenant: Tenant, *, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a ``webhook.test`` event now and answer the delivery with the receiver's response."""
    _check_endpoint(tenant, endpoint)
    return webhooks.send_test(tenant, endpoint)


# --- notifications ---------------------------------------------------------------------------------


@tenant_service
def notifications_need_routed(tenant: Tenant, *, need: Any, notify: list[User] | None = None) -> int:
    """The bell of a routed need (service.signals.need_routed): its assignee, and the people
    told of it besides (the directors, for a complaint). Returns the notifications made."""
    return notifications.notify_need_routed(tenant, need=need, notify=notify or [])


@tenant_service
def notifications_mark_read(tenant: Tenant, *, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read: those ids, or all of them."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
