"""Contingency plans that act (issue #19, DESIGN section 6).

A contingency plan (替代市场培育计划 / 突发流失应急预案) names the alert kinds that trigger it
(``trigger_kinds``) and a checklist of steps with owners and due offsets. When an alert of one
of those kinds opens on the plan's account, the steps become actions (teams.PlanAction) on the
account's plan (客户计划), one per step, assigned to the step's owner and due on the alert's day
plus the step's offset. What a trigger did is recorded here (ContingencyActivation: plan, alert,
the actions' ids), once per plan and alert, so that a re-run adds nothing. teams does not know
risk: the mapping lives on risk's side.

Which alerts trigger a plan:
- an alert on the plan's account;
- a tenant-wide alert (``concentration_top5``, ``concentration_hhi``: no account) triggers every
  plan that names its kind, on the plan's own account;
- ``concentration_single`` is raised on a customer group's root account: it triggers the plans
  of every account of the group.

Resolving an alert by hand may close the open actions it created (``close_actions``): they are
marked cancelled, as no longer needed. An alert cleared by a run (its condition went away)
leaves its actions open — people decide whether the work is still worth doing — and the alert
page says so.

The review day (``review_on``) opens a reminder: on or after the day, the plan's owner gets one
bell notification (nightly, ``risk.contingency_reviews``); ``review_reminded_on`` records the day
reminded, so a new review day reminds again and the same one never twice.

Everything is set-based: a run that opens many alerts reads the matching plans in one
statement, their steps in one, and writes the actions and the activations in one INSERT each.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kam import audit
from kam.models import AuditAction, Membership, Tenant, User
from kam.stage import insert_rows
from kam.tenancy import tenant_service, tenant_today
from risk.models import (
    AlertKind,
    ContingencyActivation,
    ContingencyPlan,
    ContingencyStep,
    RiskAlert,
)

MAX_STEPS = 30
MAX_OFFSET_DAYS = 365
ACCOUNT_WALK_DEPTH = 32
REVIEW_KIND = "contingency.review"


# --- validation ------------------------------------------------------------------------------------


def clean_trigger_kinds(kinds: Any) -> list[str]:
    """The alert kinds, each known, without repeats, in AlertKind's order."""
    if kinds is None:
        return []
    if isinstance(kinds, str) or not isinstance(kinds, list | tuple | set | frozenset):
        raise ValidationError({"trigger_kinds": _("Give a list of alert kinds.")})
    unknown = [str(kind) for kind in kinds if str(kind) not in AlertKind.values]
    if unknown:
        raise ValidationError(
            {"trigger_kinds": _("Unknown alert kind: %(kinds)s.") % {"kinds": ", ".join(sorted(set(unknown)))[:200]}}
        )
    wanted = {str(kind) for kind in kinds}
    return [kind for kind in AlertKind.values if kind in wanted]


def _active_member_ids(tenant: Tenant, user_ids: set[int]) -> set[int]:
    return set(
        Membership.objects.filter(
            tenant=tenant, user_id__in=user_ids, is_active=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def clean_steps(tenant: Tenant, steps: Any, *, keep_owner_ids: set[int] | None = None) -> list[dict[str, Any]]:
    """The steps as dicts (title, owner: a User or its id, due_offset_days), checked: a title,
    an owner who is an active member of this workspace (an owner who has since left stays
    allowed on a step that had them: ``keep_owner_ids``), an offset of 0..365 days.
    Returns [{"title", "owner_id", "due_offset_days"}] in order."""
    if steps is None:
        return []
    if not isinstance(steps, list | tuple):
        raise ValidationError({"steps": _("Give a list of steps.")})
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": _("A plan has at most %(count)s steps.") % {"count": MAX_STEPS}})
    cleaned = []
    errors = []
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            errors.append(_("Step %(number)s: give a title, an owner and a due offset.") % {"number": number})
            continue
        title = str(step.get("title") or "").strip()
        owner = step.get("owner", step.get("owner_id"))
        owner_id = owner.pk if isinstance(owner, User) else owner
        offset = step.get("due_offset_days", 0)
        if not title:
            errors.append(_("Step %(number)s: write what is to be done.") % {"number": number})
        elif len(title) > 200:
            errors.append(_("Step %(number)s: the title is longer than 200 characters.") % {"number": number})
        if owner_id in (None, ""):
            errors.append(_("Step %(number)s: choose who does it.") % {"number": number})
            owner_id = None
        else:
            try:
                owner_id = int(owner_id)
            except (TypeError, ValueError):
                errors.append(_("Step %(number)s: choose an active member of this workspace.") % {"number": number})
                owner_id = None
        if isinstance(offset, bool):
            offset = None
        try:
            offset = int(offset) if offset not in (None, "") else 0
        except (TypeError, ValueError):
            offset = None
        if offset is None or not 0 <= offset <= MAX_OFFSET_DAYS:
            errors.append(
                _("Step %(number)s: the due offset lies between 0 and %(max)s days.")
                % {"number": number, "max": MAX_OFFSET_DAYS}
            )
        cleaned.append({"title": title, "owner_id": owner_id, "due_offset_days": offset})
    owners = {step["owner_id"] for step in cleaned if step["owner_id"] is not None}
    allowed = _active_member_ids(tenant, owners) | (keep_owner_ids or set())
    for number, step in enumerate(cleaned, start=1):
        if step["owner_id"] is not None and step["owner_id"] not in allowed:
            errors.append(_("Step %(number)s: choose an active member of this workspace.") % {"number": number})
    if errors:
        raise ValidationError({"steps": errors})
    return cleaned


def save_steps(tenant: Tenant, plan: ContingencyPlan, steps: list[dict[str, Any]]) -> None:
    """Replace the plan's checklist by ``steps`` (cleaned by clean_steps)."""
    ContingencyStep.objects.filter(tenant=tenant, plan=plan).delete()
    ContingencyStep.objects.bulk_create(
        [
            ContingencyStep(
                tenant=tenant,
                plan=plan,
                position=position,
                title=step["title"],
                owner_id=step["owner_id"],
                due_offset_days=step["due_offset_days"],
            )
            for position, step in enumerate(steps, start=1)
        ]
    )


def steps_snapshot(plan: ContingencyPlan) -> list[dict[str, Any]]:
    return [
        {"title": step.title, "owner": step.owner_id, "due_offset_days": step.due_offset_days}
        for step in ContingencyStep.objects.filter(tenant_id=plan.tenant_id, plan=plan).order_by("position", "id")
    ]


# --- acting ------------------------------------------------------------------------------------------

# The (plan, alert) pairs to activate among the given alerts: plans naming the alert's kind, with
# at least one step, on the alert's account, on any account when the alert is tenant-wide, or on
# an account of the customer group whose root a concentration_single alert names; not yet
# activated for the alert.
MATCHES_SQL = f"""
WITH RECURSIVE triggered AS (
    SELECT p.id, p.account_id, p.trigger_kinds
    FROM risk_contingencyplan p
    WHERE p.tenant_id = %(tenant)s AND cardinality(p.trigger_kinds) > 0
      AND (%(plan)s::bigint IS NULL OR p.id = %(plan)s::bigint)
      AND EXISTS (SELECT 1 FROM risk_contingencystep s WHERE s.tenant_id = %(tenant)s AND s.plan_id = p.id)
),
walk(start_id, id, parent_id, depth) AS (
    SELECT a.id, a.id, a.parent_id, 0 FROM accounts_account a
    WHERE a.tenant_id = %(tenant)s AND a.id IN (SELECT account_id FROM triggered)
    UNION ALL
    SELECT w.start_id, a.id, a.parent_id, w.depth + 1
    FROM accounts_account a JOIN walk w ON a.id = w.parent_id
    WHERE a.tenant_id = %(tenant)s AND w.depth < {ACCOUNT_WALK_DEPTH}
),
roots AS (SELECT start_id AS account_id, id AS root_id FROM walk WHERE parent_id IS NULL)
SELECT t.id, a.id, t.account_id, a.opened_at
FROM risk_riskalert a
JOIN triggered t ON a.kind = ANY(t.trigger_kinds)
LEFT JOIN roots r ON r.account_id = t.account_id
WHERE a.tenant_id = %(tenant)s AND a.id = ANY(%(alerts)s)
  AND (a.account_id IS NULL OR a.account_id = t.account_id
       OR (a.kind = 'concentration_single' AND a.account_id = r.root_id))
  AND NOT EXISTS (
      SELECT 1 FROM risk_contingencyactivation c
      WHERE c.tenant_id = %(tenant)s AND c.plan_id = t.id AND c.alert_id = a.id
  )
ORDER BY a.id, t.id
"""


def _local_day(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    return value.astimezone(zone).date()


def activate(tenant: Tenant, *, alert_ids: list[int], plan_id: int | None = None, actor: Any = None) -> int:
    """The plans triggered by the alerts (just opened): their steps become actions on the
    accounts' plans. Idempotent (one activation per plan and alert). Returns the actions made."""
    from teams import services as team_services

    if not alert_ids:
        return 0
    with connection.cursor() as cursor:
        params = {"tenant": tenant.pk, "alerts": sorted({int(pk) for pk in alert_ids}), "plan": plan_id}
        cursor.execute(MATCHES_SQL, params)
        matches = cursor.fetchall()
    if not matches:
        return 0
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    steps_of: dict[int, list[ContingencyStep]] = defaultdict(list)
    plan_ids = sorted({plan_id for plan_id, _alert, _account, _opened in matches})
    for step in ContingencyStep.objects.filter(tenant=tenant, plan_id__in=plan_ids).order_by(
        "plan_id", "position", "id"
    ):
        steps_of[step.plan_id].append(step)
    # The actions go to the plan current on the earliest alert day (one account plan per account).
    first_day: dict[int, dt.date] = {}
    for _plan, _alert, account_id, opened_at in matches:
        day = _local_day(opened_at, zone)
        first_day[account_id] = min(day, first_day.get(account_id, day))
    account_plans: dict[int, int] = {}
    for day in sorted(set(first_day.values())):
        accounts = [pk for pk, first in first_day.items() if first == day]
        account_plans.update(
            team_services.account_plans_current(
                tenant, account_ids=accounts, day=day, title=_("Contingency actions"), actor=actor
            )
        )
    rows = []
    owners: list[tuple[int, int]] = []
    for plan_id, alert_id, account_id, opened_at in matches:
        day = _local_day(opened_at, zone)
        for step in steps_of[plan_id]:
            rows.append(
                {
                    "plan_id": account_plans[account_id],
                    "title": step.title,
                    "owner_id": step.owner_id,
                    "due_on": day + dt.timedelta(days=step.due_offset_days),
                }
            )
            owners.append((plan_id, alert_id))
    actions = team_services.plan_actions_create_many(tenant, rows=rows, actor=actor)
    made: dict[tuple[int, int], list[int]] = defaultdict(list)
    for key, action in zip(owners, actions, strict=True):
        made[key].append(action.pk)
    now = timezone.now()
    ContingencyActivation.objects.bulk_create(
        [
            ContingencyActivation(
                tenant=tenant,
                plan_id=plan_id,
                alert_id=alert_id,
                action_ids=made[(plan_id, alert_id)],
                activated_at=now,
            )
            for plan_id, alert_id, _account, _opened in matches
        ]
    )
    audit.record_bulk(
        tenant=tenant,
        action=AuditAction.CREATE,
        model=ContingencyActivation,
        summary=f"{len(matches)} contingency plan activations",
        changes={"activations": [[plan_id, alert_id] for plan_id, alert_id, _a, _o in matches]},
        actor=actor,
    )
    return len(actions)


def plan_open_alert_ids(tenant: Tenant, plan: ContingencyPlan) -> list[int]:
    """The open (or acknowledged) alerts that would trigger the plan now (the demo and a plan
    made while its alert is open use this to act at once)."""
    if not plan.trigger_kinds:
        return []
    candidates = list(
        RiskAlert.objects.filter(tenant=tenant, kind__in=plan.trigger_kinds)
        .exclude(status="resolved")
        .values_list("pk", flat=True)
    )
    if not candidates:
        return []
    with connection.cursor() as cursor:
        cursor.execute(MATCHES_SQL, {"tenant": tenant.pk, "alerts": candidates, "plan": plan.pk})
        return sorted({alert_id for plan_id, alert_id, _a, _o in cursor.fetchall() if plan_id == plan.pk})


@tenant_service
def plan_activate_open_alerts(tenant: Tenant, *, plan: ContingencyPlan, actor: Any = None) -> int:
    """Act on the alerts of the plan's kinds that are open already (only this plan's pairs)."""
    alert_ids = plan_open_alert_ids(tenant, plan)
    if not alert_ids:
        return 0
    return activate(tenant, alert_ids=alert_ids, plan_id=plan.pk, actor=actor)


# --- reading ---------------------------------------------------------------------------------------


def account_plan_link(tenant: Tenant, account_id: int, plan_id: int) -> str:
    try:
        url = reverse("teams-plan", kwargs={"tenant_slug": tenant.slug, "account_id": account_id})
    except NoReverseMatch:
        url = f"/t/{tenant.slug}/teams/accounts/{account_id}/plan/"
    return f"{url}?plan={plan_id}"


def plan_link(tenant: Tenant, plan_id: int) -> str:
    try:
        return reverse("risk-plan", kwargs={"tenant_slug": tenant.slug, "plan_id": plan_id})
    except NoReverseMatch:
        return f"/t/{tenant.slug}/risk/plans/{plan_id}/"


def activations(
    tenant: Tenant, *, plan: ContingencyPlan | None = None, alert: RiskAlert | None = None
) -> list[ContingencyActivation]:
    """The activations of a plan or of an alert, each with ``actions`` (teams.PlanAction, in
    step order, deleted ones left out), ``open_count`` and ``link`` (the account plan)."""
    from teams.models import OPEN_STATUSES, PlanAction

    rows = ContingencyActivation.objects.filter(tenant=tenant).select_related(
        "plan", "plan__account", "alert", "alert__account"
    )
    if plan is not None:
        rows = rows.filter(plan=plan)
    if alert is not None:
        rows = rows.filter(alert=alert)
    found = list(rows.order_by("-activated_at", "-id")[:200])
    ids = {pk for row in found for pk in row.action_ids}
    actions = {
        action.pk: action
        for action in PlanAction.objects.filter(tenant=tenant, pk__in=ids).select_related("owner", "plan")
    }
    for row in found:
        row.actions = [actions[pk] for pk in row.action_ids if pk in actions]
        row.open_count = sum(1 for action in row.actions if action.status in OPEN_STATUSES)
        first = row.actions[0] if row.actions else None
        row.link = account_plan_link(tenant, first.plan.account_id, first.plan_id) if first else ""
    return found


def open_action_ids(tenant: Tenant, alert: RiskAlert) -> list[int]:
    """The open (or in progress) actions the alert's activations created."""
    from teams.models import OPEN_STATUSES, PlanAction

    ids = [pk for row in ContingencyActivation.objects.filter(tenant=tenant, alert=alert) for pk in row.action_ids]
    if not ids:
        return []
    return list(
        PlanAction.objects.filter(tenant=tenant, pk__in=ids, status__in=list(OPEN_STATUSES)).values_list(
            "pk", flat=True
        )
    )


def close_alert_actions(tenant: Tenant, *, alert: RiskAlert, actor: Any = None) -> int:
    """Close (cancelled: no longer needed) the open actions the alert created."""
    from teams import services as team_services
    from teams.models import ActionStatus

    ids = open_action_ids(tenant, alert)
    if not ids:
        return 0
    return team_services.plan_actions_close(tenant, action_ids=ids, status=ActionStatus.CANCELLED, actor=actor)


# --- review reminders ----------------------------------------------------------------------------------


@tenant_service
def review_reminders(tenant: Tenant, *, today: dt.date | None = None) -> int:
    """On or after a plan's review day, one bell notification for its owner (once per review
    day). One UPDATE marks the plans, one INSERT writes the notifications. Returns how many."""
    today = today or tenant_today(tenant)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE risk_contingencyplan p SET review_reminded_on = p.review_on
            FROM accounts_account a
            WHERE p.tenant_id = %(tenant)s AND a.tenant_id = %(tenant)s AND a.id = p.account_id
              AND p.review_on <= %(today)s AND p.owner_id IS NOT NULL
              AND p.review_reminded_on IS DISTINCT FROM p.review_on
            RETURNING p.id, p.owner_id, p.title, p.kind, p.review_on, a.name
            """,
            {"tenant": tenant.pk, "today": today},
        )
        marked = cursor.fetchall()
        if not marked:
            return 0
        from risk.models import ContingencyKind

        now = timezone.now()
        rows = []
        for plan_id, owner_id, title, kind, review_on, account_name in marked:
            name = title or str(ContingencyKind(kind).label)
            rows.append(
                (
                    tenant.pk,
                    owner_id,
                    REVIEW_KIND,
                    (
                        _("Review the contingency plan “%(plan)s” of %(account)s")
                        % {"plan": name, "account": account_name}
                    )[:300],
                    _(
                        "The plan's review day was %(day)s: check its steps, owners and triggers, and set the next review day."
                    )
                    % {"day": review_on.isoformat()},
                    plan_link(tenant, plan_id),
                    now,
                )
            )
        insert_rows(
            cursor,
            "risk_notification",
            ("tenant_id", "user_id", "kind", "title", "body", "link", "created_at"),
            rows,
        )
    return len(rows)
