"""Writes of teams: staffing rules, teams and their members, counterpart links, account
plans with their initiatives and actions. Every function takes the tenant first,
validates (model rules and constraints, the same tenant and account for every related
row), runs in a transaction inside the tenant (kam.tenancy.tenant_service) and records
the change in the audit log. Pages, the API, tasks and the demo all come through here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils.translation import gettext as _

from accounts.models import Account, Contact, Tier
from kam import audit
from kam.models import AuditAction, Membership, Tenant, User
from kam.records import UNSET, check_same_tenant, create_record, delete_record, given, update_record
from kam.tenancy import tenant_service, tenant_today
from teams import selectors
from teams.models import (
    DEFAULT_LEVEL_BY_FUNCTION,
    AccountPlan,
    AccountTeam,
    ActionStatus,
    CounterpartLink,
    Function,
    Initiative,
    Level,
    PlanAction,
    RuleKind,
    StaffingRule,
    Strength,
    TeamMember,
)

M = TypeVar("M", bound=models.Model)

# DESIGN section 5: (tier, kind, function, level, minimum) seeded for every tenant.
DEFAULT_STAFFING_RULES: list[tuple[str, str, str, str, int]] = [
    (Tier.S, RuleKind.MEMBER, Function.EXECUTIVE_SPONSOR, "", 1),
    (Tier.S, RuleKind.MEMBER, Function.SALES, "", 1),
    (Tier.S, RuleKind.MEMBER, Function.TECHNICAL, "", 1),
    (Tier.S, RuleKind.MEMBER, Function.DELIVERY, "", 1),
    (Tier.S, RuleKind.MEMBER, Function.FINANCE, "", 1),
    (Tier.S, RuleKind.COUNTERPART, "", Level.EXECUTIVE, 1),
    (Tier.A, RuleKind.MEMBER, Function.SALES, "", 1),
    (Tier.A, RuleKind.MEMBER, Function.TECHNICAL, "", 1),
    (Tier.A, RuleKind.MEMBER, Function.DELIVERY, "", 1),
]

# Allocation of a member added from a suggestion, in %.
DEFAULT_ALLOCATION = 20


# --- helpers ---------------------------------------------------------------------------------------


def _check_tenant_user(tenant: Tenant, name: str, user: User | None) -> None:
    if user is None:
        return
    if not Membership.objects.filter(tenant=tenant, user=user, is_active=True, user__is_active=True).exists():
        raise ValidationError({name: _("Choose an active member of this workspace.")})


_check_same_tenant = check_same_tenant
_create = create_record
_update = update_record
_delete = delete_record


# --- staffing rules ----------------------------------------------------------------------------------


@tenant_service
def staffing_rules_seed_default(tenant: Tenant) -> int:
    """The rules of DESIGN section 5 for a new tenant; rules it has already are left alone."""
    created = 0
    for tier, kind, function, level, minimum in DEFAULT_STAFFING_RULES:
        _rule, made = StaffingRule.objects.get_or_create(
            tenant=tenant, tier=tier, kind=kind, function=function, level=level, defaults={"minimum_count": minimum}
        )
        created += made
    return created


def _clean_rule_data(data: dict[str, Any]) -> dict[str, Any]:
    """A member rule names a function, a counterpart rule a level; None is "any" ("")."""
    data = dict(data)
    if data["kind"] == RuleKind.COUNTERPART and data["level"] in (None, ""):
        raise ValidationError({"level": _("A counterpart rule names a level.")})
    if data["kind"] == RuleKind.MEMBER and data["function"] in (None, ""):
        raise ValidationError({"function": _("A member rule names a function.")})
    for name in ("function", "level"):
        if data[name] is None:
            data[name] = ""
    return data


@tenant_service
def staffing_rule_create(
    tenant: Tenant,
    *,
    tier: str,
    kind: str = RuleKind.MEMBER,
    function: str | None = "",
    level: str | None = "",
    minimum_count: int = 1,
    actor: Any = None,
) -> StaffingRule:
    data = {"tier": tier, "kind": kind, "function": function, "level": level, "minimum_count": minimum_count}
    return _create(tenant, StaffingRule, _clean_rule_data(data), actor=actor)


@tenant_service
def staffing_rule_update(
    tenant: Tenant,
    *,
    rule: StaffingRule,
    tier: str = UNSET,
    kind: str = UNSET,
    function: str | None = UNSET,
    level: str | None = UNSET,
    minimum_count: int = UNSET,
    actor: Any = None,
) -> StaffingRule:
    """Change the fields given."""
    changes = given(tier=tier, kind=kind, function=function, level=level, minimum_count=minimum_count)
    data = _clean_rule_data({"kind": rule.kind, "function": rule.function, "level": rule.level, **changes})
    return _update(tenant, rule, data, actor=actor)


@tenant_service
def staffing_rule_delete(tenant: Tenant, *, rule: StaffingRule, actor: Any = None) -> None:
    _delete(tenant, rule, actor=actor)


# --- teams -----------------------------------------------------------------------------------------


@tenant_service
def team_create(tenant: Tenant, *, account: Account, lead: User | None = None, actor: Any = None) -> AccountTeam:
    _check_same_tenant(tenant, account=account)
    _check_tenant_user(tenant, "lead", lead)
    if AccountTeam.objects.filter(account=account).exists():
        raise ValidationError({"account": _("This account has a team already.")})
    return _create(tenant, AccountTeam, {"account": account, "lead": lead}, actor=actor)


@tenant_service
def team_get_or_create(tenant: Tenant, *, account: Account, actor: Any = None) -> AccountTeam:
    _check_same_tenant(tenant, account=account)
    team = AccountTeam.objects.filter(account=account).first()
    return team if team is not None else team_create(tenant, account=account, actor=actor)


@tenant_service
def team_update(tenant: Tenant, *, team: AccountTeam, lead: User | None, actor: Any = None) -> AccountTeam:
    _check_tenant_user(tenant, "lead", lead)
    return _update(tenant, team, {"lead": lead}, actor=actor)


@tenant_service
def team_delete(tenant: Tenant, *, team: AccountTeam, actor: Any = None) -> None:
    """The team with its members and links (their history goes with it)."""
    _delete(tenant, team, actor=actor)


@tenant_service
def team_build(
    tenant: Tenant, *, account: Account, as_of: dt.date | None = None, actor: Any = None
) -> list[TeamMember]:
    """Fill the member rules the team misses, each with the first person suggested for it
    (selectors.user_list_suggested: who already serves that function elsewhere, least allocated
    first). Creates the team when the account has none. Returns the members added."""
    as_of = as_of or tenant_today(tenant)
    team = team_get_or_create(tenant, account=account, actor=actor)
    added: list[TeamMember] = []
    for proposal in selectors.slot_proposal_list(tenant, account, as_of=as_of):
        # One function per person where the suggestions allow it.
        taken = {member.user_id for member in added}
        people = [user for user in proposal.suggestions if user.pk not in taken] or proposal.suggestions
        for user in people[: proposal.gap.missing]:
            added.append(
                team_member_add(
                    tenant,
                    team=team,
                    user=user,
                    function=proposal.gap.function,
                    level=proposal.level,
                    allocation=DEFAULT_ALLOCATION,
                    since=as_of,
                    actor=actor,
                )
            )
    if team.lead_id is None and added:
        sales = next((member for member in added if member.function == Function.SALES), added[0])
        team_update(tenant, team=team, lead=sales.user, actor=actor)
    return added


# --- members ---------------------------------------------------------------------------------------


def _check_member(tenant: Tenant, team: AccountTeam, user: User | None) -> None:
    _check_same_tenant(tenant, team=team)
    _check_tenant_user(tenant, "user", user)


@tenant_service
def team_member_add(
    tenant: Tenant,
    *,
    team: AccountTeam,
    user: User,
    function: str,
    level: str = "",
    allocation: int = DEFAULT_ALLOCATION,
    since: dt.date | None = None,
    until: dt.date | None = None,
    actor: Any = None,
) -> TeamMember:
    """A person joins the team. A total allocation over 100 % is allowed and flagged, not refused."""
    _check_member(tenant, team, user)
    data = {
        "team": team,
        "user": user,
        "function": function,
        "level": level or DEFAULT_LEVEL_BY_FUNCTION.get(function, Level.OPERATIONAL),
        "allocation": allocation,
        "since": since or tenant_today(tenant),
        "until": until,
    }
    return _create(tenant, TeamMember, data, actor=actor)


@tenant_service
def team_member_update(
    tenant: Tenant,
    *,
    member: TeamMember,
    user: User = UNSET,
    function: str = UNSET,
    level: str = UNSET,
    allocation: int = UNSET,
    since: dt.date = UNSET,
    until: dt.date | None = UNSET,
    actor: Any = None,
) -> TeamMember:
    """Change function, level, allocation or dates (the fields given). Links of a member whose
    last day is set in the past end with the next nightly run (and drop out of the matrix at once)."""
    data = given(user=user, function=function, level=level, allocation=allocation, since=since, until=until)
    if "user" in data:
        _check_tenant_user(tenant, "user", data["user"])
    member = _update(tenant, member, data, actor=actor)
    if member.until is not None and member.until < tenant_today(tenant):
        counterpart_links_end_stale(tenant)
    return member


@tenant_service
def team_member_remove(tenant: Tenant, *, member: TeamMember, actor: Any = None) -> TeamMember | None:
    """Take a person off the team. Who served for a day or more keeps their history: their
    last day becomes yesterday and their links end today. Someone added today or for a
    future start is deleted outright (a correction). Returns the member kept, or None."""
    today = tenant_today(tenant)
    if member.since >= today:
        _delete(tenant, member, actor=actor)
        return None
    if member.until is not None and member.until < today:
        return member  # gone already
    member = _update(tenant, member, {"until": today - dt.timedelta(days=1)}, actor=actor)
    counterpart_links_end_stale(tenant, as_of=today)
    return member


# --- counterpart links -----------------------------------------------------------------------------


def _check_link(tenant: Tenant, member: TeamMember, contact: Contact, as_of: dt.date) -> None:
    _check_same_tenant(tenant, member=member, contact=contact)
    if contact.account_id != member.team.account_id:
        raise ValidationError({"contact": _("Choose a contact of this team's account.")})
    if contact.left_on is not None and contact.left_on <= as_of:
        raise ValidationError({"contact": _("%(name)s has left the company.") % {"name": contact.name}})
    if member.since > as_of or (member.until is not None and member.until < as_of):
        raise ValidationError({"member": _("Choose an active member of the team.")})


@tenant_service
def counterpart_link_create(
    tenant: Tenant,
    *,
    member: TeamMember,
    contact: Contact,
    strength: str = Strength.UNKNOWN,
    target_strength: str = Strength.TRUSTED_ADVISOR,
    started_on: dt.date | None = None,
    actor: Any = None,
) -> CounterpartLink:
    today = tenant_today(tenant)
    _check_link(tenant, member, contact, today)
    if CounterpartLink.objects.filter(member=member, contact=contact, ended_on__isnull=True).exists():
        raise ValidationError({"contact": _("These two are linked already.")})
    data = {
        "member": member,
        "contact": contact,
        "strength": strength,
        "target_strength": target_strength,
        "started_on": started_on or today,
    }
    return _create(tenant, CounterpartLink, data, actor=actor)


@tenant_service
def counterpart_link_update(
    tenant: Tenant,
    *,
    link: CounterpartLink,
    strength: str = UNSET,
    target_strength: str = UNSET,
    actor: Any = None,
) -> CounterpartLink:
    """Change the relationship now and the one aimed at (those given)."""
    data = given(strength=strength, target_strength=target_strength)
    if link.ended_on is not None:
        raise ValidationError(_("This link has ended; add a new one instead."))
    return _update(tenant, link, data, actor=actor)


@tenant_service
def counterpart_link_end(
    tenant: Tenant, *, link: CounterpartLink, ended_on: dt.date | None = None, actor: Any = None
) -> CounterpartLink:
    """End a link (it stays in the history). Ending one that ended already changes nothing."""
    if link.ended_on is not None:
        return link
    ended_on = ended_on or tenant_today(tenant)
    return _update(tenant, link, {"ended_on": max(ended_on, link.started_on)}, actor=actor)


END_STALE_LINKS_SQL = """
UPDATE teams_counterpartlink AS link
   SET ended_on = GREATEST(link.started_on, LEAST(
           CASE WHEN contact.left_on <= %(as_of)s THEN contact.left_on END,
           CASE WHEN member.until < %(as_of)s THEN member.until + 1 END)),
       updated_at = now()
  FROM accounts_contact AS contact, teams_teammember AS member
 WHERE link.tenant_id = %(tenant)s
   AND contact.tenant_id = %(tenant)s
   AND member.tenant_id = %(tenant)s
   AND link.ended_on IS NULL
   AND contact.id = link.contact_id
   AND member.id = link.member_id
   AND (contact.left_on <= %(as_of)s OR member.until < %(as_of)s)
"""


@tenant_service
def counterpart_links_end_stale(tenant: Tenant, *, as_of: dt.date | None = None) -> int:
    """End every open link whose contact left or whose member's last day passed, on the day
    that happened (the contact's ``left_on``, the day after the member's ``until``). One
    statement for the whole tenant; running it again changes nothing. Returns the count."""
    as_of = as_of or tenant_today(tenant)
    with connection.cursor() as cursor:
        cursor.execute(END_STALE_LINKS_SQL, {"tenant": tenant.pk, "as_of": as_of})
        ended = cursor.rowcount
    if ended:
        audit.record_bulk(
            tenant=tenant,
            action=AuditAction.UPDATE,
            model=CounterpartLink,
            summary=_("%(count)s counterpart links ended: contact left or member's last day passed") % {"count": ended},
            changes={"ended": [None, ended], "as_of": [None, as_of.isoformat()]},
        )
    return ended


# --- account plans ---------------------------------------------------------------------------------


@tenant_service
def account_plan_create(
    tenant: Tenant,
    *,
    account: Account,
    period_start: dt.date,
    period_end: dt.date,
    title: str = "",
    objectives: str = "",
    actor: Any = None,
) -> AccountPlan:
    _check_same_tenant(tenant, account=account)
    data = {
        "account": account,
        "created_by": actor if isinstance(actor, User) else None,
        "title": title,
        "period_start": period_start,
        "period_end": period_end,
        "objectives": objectives,
    }
    return _create(tenant, AccountPlan, data, actor=actor)


@tenant_service
def account_plan_update(
    tenant: Tenant,
    *,
    plan: AccountPlan,
    title: str = UNSET,
    period_start: dt.date = UNSET,
    period_end: dt.date = UNSET,
    objectives: str = UNSET,
    actor: Any = None,
) -> AccountPlan:
    """Change the fields given."""
    data = given(title=title, period_start=period_start, period_end=period_end, objectives=objectives)
    return _update(tenant, plan, data, actor=actor)


@tenant_service
def account_plan_delete(tenant: Tenant, *, plan: AccountPlan, actor: Any = None) -> None:
    _delete(tenant, plan, actor=actor)


@tenant_service
def initiative_create(
    tenant: Tenant, *, plan: AccountPlan, kind: str, title: str, description: str = "", actor: Any = None
) -> Initiative:
    _check_same_tenant(tenant, plan=plan)
    data = {"plan": plan, "kind": kind, "title": title, "description": description}
    return _create(tenant, Initiative, data, actor=actor)


@tenant_service
def initiative_update(
    tenant: Tenant,
    *,
    initiative: Initiative,
    kind: str = UNSET,
    title: str = UNSET,
    description: str = UNSET,
    actor: Any = None,
) -> Initiative:
    """Change the fields given."""
    return _update(tenant, initiative, given(kind=kind, title=title, description=description), actor=actor)


@tenant_service
def initiative_delete(tenant: Tenant, *, initiative: Initiative, actor: Any = None) -> None:
    """The initiative goes; its actions stay in the plan, without an initiative."""
    _delete(tenant, initiative, actor=actor)


def _check_action(tenant: Tenant, plan: AccountPlan, data: Mapping[str, Any]) -> None:
    _check_same_tenant(tenant, plan=plan, initiative=data.get("initiative"))
    initiative = data.get("initiative")
    if initiative is not None and initiative.plan_id != plan.pk:
        raise ValidationError({"initiative": _("Choose an initiative of this plan.")})
    if "owner" in data:
        _check_tenant_user(tenant, "owner", data["owner"])


@tenant_service
def plan_action_create(
    tenant: Tenant,
    *,
    plan: AccountPlan,
    title: str,
    due_on: dt.date,
    initiative: Initiative | None = None,
    owner: User | None = None,
    status: str = ActionStatus.OPEN,
    actor: Any = None,
) -> PlanAction:
    data = {"initiative": initiative, "title": title, "owner": owner, "due_on": due_on, "status": status}
    _check_action(tenant, plan, data)
    return _create(tenant, PlanAction, {"plan": plan, **data}, actor=actor)


@tenant_service
def plan_action_update(
    tenant: Tenant,
    *,
    action: PlanAction,
    initiative: Initiative | None = UNSET,
    title: str = UNSET,
    owner: User | None = UNSET,
    due_on: dt.date = UNSET,
    status: str = UNSET,
    actor: Any = None,
) -> PlanAction:
    """Change the fields given."""
    data = given(initiative=initiative, title=title, owner=owner, due_on=due_on, status=status)
    _check_action(tenant, action.plan, data)
    return _update(tenant, action, data, actor=actor)


@tenant_service
def plan_action_delete(tenant: Tenant, *, action: PlanAction, actor: Any = None) -> None:
    _delete(tenant, action, actor=actor)


# --- actions made by other apps (risk's contingency plans) -----------------------------------------


@tenant_service
def account_plans_current(
    tenant: Tenant, *, account_ids: list[int], day: dt.date, title: str = "", actor: Any = None
) -> dict[int, int]:
    """The plan of each account that actions go to on ``day``: the one whose period covers
    the day, else the latest; an account without any plan gets one (``day`` to a year on).
    Set-based: one read, one bulk insert for the missing. Returns {account id: plan id}."""
    ids = sorted({int(pk) for pk in account_ids})
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ON (p.account_id) p.account_id, p.id
            FROM teams_accountplan p
            WHERE p.tenant_id = %(tenant)s AND p.account_id = ANY(%(ids)s)
            ORDER BY p.account_id, (p.period_start <= %(day)s AND p.period_end >= %(day)s) DESC,
                     p.period_start DESC, p.id DESC
            """,
            {"tenant": tenant.pk, "ids": ids, "day": day},
        )
        found = dict(cursor.fetchall())
    missing = [pk for pk in ids if pk not in found]
    if missing:
        accounts = Account.objects.filter(tenant=tenant, pk__in=missing).values_list("pk", flat=True)
        made = AccountPlan.objects.bulk_create(
            [
                AccountPlan(
                    tenant=tenant,
                    account_id=pk,
                    title=title,
                    period_start=day,
                    period_end=day + dt.timedelta(days=364),
                    created_by=actor if isinstance(actor, User) else None,
                )
                for pk in accounts
            ]
        )
        for plan in made:
            found[plan.account_id] = plan.pk
        if made:
            audit.record_bulk(
                tenant=tenant,
                action=AuditAction.CREATE,
                model=AccountPlan,
                summary=f"{len(made)} account plans for contingency actions",
                changes={"accounts": [plan.account_id for plan in made]},
                actor=actor,
            )
    return found


@tenant_service
def plan_actions_create_many(tenant: Tenant, *, rows: list[dict[str, Any]], actor: Any = None) -> list[PlanAction]:
    """Many actions in one INSERT (``rows``: plan_id, title, owner_id, due_on), for writes made
    by a job (a triggered contingency plan). The plans must be this tenant's; the owners
    are checked by the caller. Returns the actions in the order of ``rows``."""
    if not rows:
        return []
    plan_ids = {row["plan_id"] for row in rows}
    if AccountPlan.objects.filter(tenant=tenant, pk__in=plan_ids).count() != len(plan_ids):
        raise ValidationError({"plan": _("Choose a plan of this workspace.")})
    actions = PlanAction.objects.bulk_create(
        [
            PlanAction(
                tenant=tenant,
                plan_id=row["plan_id"],
                title=str(row["title"])[:200],
                owner_id=row.get("owner_id"),
                due_on=row["due_on"],
                status=ActionStatus.OPEN,
            )
            for row in rows
        ]
    )
    audit.record_bulk(
        tenant=tenant,
        action=AuditAction.CREATE,
        model=PlanAction,
        summary=f"{len(actions)} actions",
        changes={"actions": [action.pk for action in actions]},
        actor=actor,
    )
    return actions


@tenant_service
def plan_actions_close(
    tenant: Tenant, *, action_ids: list[int], status: str = ActionStatus.CANCELLED, actor: Any = None
) -> int:
    """Close the open (or in progress) actions among ``action_ids`` with ``status`` (done or
    cancelled), in one UPDATE. Returns how many changed."""
    if status not in (ActionStatus.DONE, ActionStatus.CANCELLED):
        raise ValidationError({"status": _("Close an action as done or cancelled.")})
    open_ids = list(
        PlanAction.objects.filter(
            tenant=tenant, pk__in=list(action_ids), status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS]
        ).values_list("pk", flat=True)
    )
    if not open_ids:
        return 0
    from django.utils import timezone

    changed = PlanAction.objects.filter(tenant=tenant, pk__in=open_ids).update(status=status, updated_at=timezone.now())
    audit.record_bulk(
        tenant=tenant,
        action=AuditAction.UPDATE,
        model=PlanAction,
        summary=f"{changed} actions closed",
        changes={"actions": open_ids, "status": [None, str(status)]},
        actor=actor,
    )
    return changed
