"""Reads of teams for pages, the API, tasks and other apps (risk reads staffing gaps here).

Everything is "as of" a day, by default today in the tenant's time zone. Who is active
on that day is decided here on read (teams/models.py), so a contact who left or a member
whose last day passed drops out of the coverage and the matrix at once, before the
nightly task writes ``ended_on``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.access import readable_accounts
from accounts.models import Account, Contact, Tier
from accounts.selectors import user_list
from kam.models import Membership, Role, Tenant, User
from kam.tenancy import tenant_selector, tenant_today
from teams.models import (
    DEFAULT_LEVEL_BY_FUNCTION,
    LEVELS_TOP_DOWN,
    OPEN_STATUSES,
    AccountPlan,
    AccountTeam,
    CounterpartLink,
    Function,
    Initiative,
    Level,
    PlanAction,
    RuleKind,
    StaffingRule,
    TeamMember,
)

# Tiers whose teams the overview lists (the key accounts).
OVERVIEW_TIERS = (Tier.S, Tier.A)
# Roles suggested as executive sponsor.
SPONSOR_ROLES = frozenset({Role.ADMIN, Role.DIRECTOR, Role.EXECUTIVE})
# Over this total a person's allocation is flagged.
FULL_ALLOCATION = 100


# --- who is active on a day ------------------------------------------------------------------------


def member_active_q(as_of: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}since__lte": as_of}) & (
        Q(**{f"{prefix}until__isnull": True}) | Q(**{f"{prefix}until__gte": as_of})
    )


def contact_present_q(as_of: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__gt": as_of})


def link_active_q(as_of: dt.date) -> Q:
    return (
        (Q(ended_on__isnull=True) | Q(ended_on__gt=as_of))
        & Q(started_on__lte=as_of)
        & member_active_q(as_of, "member__")
        & contact_present_q(as_of, "contact__")
    )


@tenant_selector
def team_member_list_active(tenant: Tenant, *, as_of: dt.date) -> QuerySet[TeamMember]:
    return TeamMember.objects.filter(member_active_q(as_of))


@tenant_selector
def counterpart_link_list_active(tenant: Tenant, *, as_of: dt.date) -> QuerySet[CounterpartLink]:
    return CounterpartLink.objects.filter(link_active_q(as_of))


# --- served accounts (accounts.access provider) ----------------------------------------------------


@tenant_selector
def account_id_list_served(tenant: Tenant, user: User) -> QuerySet:
    """Ids of the accounts the user serves on today: an active team membership, or leading the team.

    Registered with accounts.access, so that members read their teams' accounts and
    managers write them. A subquery: readable_accounts() stays one query.
    """
    today = tenant_today(tenant)
    serving = team_member_list_active(tenant, as_of=today).filter(user=user, team_id=OuterRef("pk"))
    return AccountTeam.objects.filter(Q(lead=user) | Exists(serving)).order_by().values("account_id")


# --- teams ----------------------------------------------------------------------------------------------


@tenant_selector
def team_get(tenant: Tenant, account: Account) -> AccountTeam | None:
    """The account's team, or None when it has none yet."""
    return AccountTeam.objects.filter(account=account).select_related("lead").first()


@tenant_selector
def team_member_list(tenant: Tenant, team: AccountTeam, *, as_of: dt.date) -> list[TeamMember]:
    return list(
        team_member_list_active(tenant, as_of=as_of).filter(team=team).select_related("user").order_by("function", "id")
    )


@tenant_selector
def team_member_list_former(tenant: Tenant, team: AccountTeam, *, as_of: dt.date) -> list[TeamMember]:
    return list(
        TeamMember.objects.filter(team=team, until__lt=as_of).select_related("user").order_by("-until", "-id")[:50]
    )


@tenant_selector
def staffing_rule_list(tenant: Tenant, tier: str | None = None) -> QuerySet[StaffingRule]:
    rules = StaffingRule.objects.all()
    return rules.filter(tier=tier) if tier is not None else rules


# --- coverage of the staffing rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """A staffing rule not met: ``filled`` of ``required``."""

    kind: str  # RuleKind
    function: str
    level: str
    required: int
    filled: int

    @property
    def missing(self) -> int:
        return self.required - self.filled

    def label(self) -> str:
        """E.g. "Finance", "Executive sponsor (Executive level)", "Counterpart on the Executive level"."""
        from django.utils.translation import gettext as _

        level = Level(self.level).label if self.level else ""
        if self.kind == RuleKind.COUNTERPART:
            text = _("Counterpart link on the %(level)s") % {"level": level}
            if self.function:
                text += f" ({Function(self.function).label})"
            return text
        text = str(Function(self.function).label)
        return f"{text} ({level})" if level else text


class LevelGap:
    """Why a level of the docking matrix is a gap."""

    NOBODY = "nobody"  # nobody on either side
    NOBODY_OURS = "nobody_ours"  # none of our people on the level
    NOBODY_THEIRS = "nobody_theirs"  # no contact of theirs still there on the level
    NO_EXECUTIVE_LINK = "no_executive_link"  # an S account without an executive-level link


def level_gap(level: str, tier: str, *, ours: bool, theirs: bool, linked: bool) -> str | None:
    """The gap of one level of the docking matrix, or None."""
    if not ours and not theirs:
        return LevelGap.NOBODY
    if not ours:
        return LevelGap.NOBODY_OURS
    if not theirs:
        return LevelGap.NOBODY_THEIRS
    if level == Level.EXECUTIVE and tier == Tier.S and not linked:
        return LevelGap.NO_EXECUTIVE_LINK
    return None


@dataclass
class Coverage:
    """How far a team meets its tier's rules: slots filled of slots required (each rule's
    filled count is capped at its minimum, so one rule's surplus hides no other's gap)."""

    required: int = 0
    filled: int = 0
    gaps: list[Gap] = field(default_factory=list)
    # (level, LevelGap) of the docking matrix's gaps, top down; set by coverage_list.
    level_gaps: list[tuple[str, str]] = field(default_factory=list)

    @property
    def percent(self) -> int | None:
        """0..100, rounded down; None when the tier has no rules."""
        if self.required == 0:
            return None
        return self.filled * 100 // self.required

    @property
    def complete(self) -> bool:
        return self.filled == self.required


@dataclass(frozen=True)
class MemberFacts:
    function: str
    level: str


@dataclass(frozen=True)
class LinkFacts:
    member_function: str
    contact_level: str


def coverage_from(
    rules: Iterable[StaffingRule], members: Iterable[MemberFacts], links: Iterable[LinkFacts]
) -> Coverage:
    """The coverage of one team, from its tier's rules and its active members and links."""
    members, links = list(members), list(links)
    coverage = Coverage()
    for rule in rules:
        if rule.kind == RuleKind.COUNTERPART:
            count = sum(
                1
                for link in links
                if link.contact_level == rule.level and (not rule.function or link.member_function == rule.function)
            )
        else:
            count = sum(
                1
                for member in members
                if member.function == rule.function and (not rule.level or member.level == rule.level)
            )
        filled = min(count, rule.minimum_count)
        coverage.required += rule.minimum_count
        coverage.filled += filled
        if filled < rule.minimum_count:
            coverage.gaps.append(Gap(rule.kind, rule.function, rule.level, rule.minimum_count, filled))
    return coverage


@dataclass(frozen=True)
class AccountFacts:
    """What coverage needs of an account: its id and tier."""

    pk: int
    tier: str


@tenant_selector
def coverage_list(
    tenant: Tenant,
    accounts: Iterable[Account | AccountFacts],
    *,
    as_of: dt.date | None = None,
    level_gaps: bool = True,
    account_ids: QuerySet | None = None,
) -> dict[int, Coverage]:
    """Coverage per account id, with the docking matrix's level gaps, in four queries
    whatever the number of accounts (rules, members, links, contacts).

    ``account_ids``, a subquery of the same accounts' ids, spares thousands of accounts a
    list of ids sent back and forth. Without ``level_gaps`` the contacts are not read and
    only the rules' gaps are computed.
    """
    as_of = as_of or tenant_today(tenant)
    accounts = list(accounts)
    ids: Any = account_ids if account_ids is not None else [account.pk for account in accounts]
    rules_by_tier: dict[str, list[StaffingRule]] = defaultdict(list)
    for rule in staffing_rule_list(tenant).order_by("tier", "kind", "function", "level", "id"):
        rules_by_tier[rule.tier].append(rule)
    members: dict[int, list[MemberFacts]] = defaultdict(list)
    for account_id, function, level in (
        team_member_list_active(tenant, as_of=as_of)
        .filter(team__account_id__in=ids)
        .values_list("team__account_id", "function", "level")
    ):
        members[account_id].append(MemberFacts(function, level))
    links: dict[int, list[LinkFacts]] = defaultdict(list)
    for account_id, function, level in (
        counterpart_link_list_active(tenant, as_of=as_of)
        .filter(member__team__account_id__in=ids)
        .values_list("member__team__account_id", "member__function", "contact__level")
    ):
        links[account_id].append(LinkFacts(function, level))
    contact_levels: dict[int, set[str]] = defaultdict(set)
    if level_gaps:
        for account_id, level in (
            Contact.objects.filter(contact_present_q(as_of), account_id__in=ids)
            .order_by()
            .values_list("account_id", "level")
            .distinct()
        ):
            contact_levels[account_id].add(level)
    result = {}
    for account in accounts:
        ours, theirs = members[account.pk], links[account.pk]
        coverage = coverage_from(rules_by_tier.get(account.tier, []), ours, theirs)
        for level in LEVELS_TOP_DOWN if level_gaps else ():
            gap = level_gap(
                level,
                account.tier,
                ours=any(member.level == level for member in ours),
                theirs=level in contact_levels[account.pk],
                linked=any(link.contact_level == level for link in theirs),
            )
            if gap is not None:
                coverage.level_gaps.append((level, gap))
        result[account.pk] = coverage
    return result


@tenant_selector
def coverage_get(tenant: Tenant, account: Account, *, as_of: dt.date | None = None) -> Coverage:
    return coverage_list(tenant, [account], as_of=as_of)[account.pk]


# --- the layered docking matrix (分层对接) ------------------------------------------------------------


@dataclass
class MatrixRow:
    """One level of the docking matrix, as the team tab and the API show it."""

    level: str
    members: list[TeamMember]
    contacts: list[Contact]
    links: list[CounterpartLink]
    gap: str | None = None

    @property
    def label(self) -> Any:
        return Level(self.level).label

    @property
    def unlinked_contacts(self) -> list[Contact]:
        """Their contacts on the level nobody of ours faces yet."""
        linked = {link.contact_id for link in self.links}
        return [contact for contact in self.contacts if contact.pk not in linked]


@tenant_selector
def counterpart_matrix_get(
    tenant: Tenant, account: Account, *, team: AccountTeam | None = None, as_of: dt.date | None = None
) -> list[MatrixRow]:
    """Per level, top down: our active members on that level, the customer's contacts still
    there on that level, and the active links to those contacts (a link sits on its
    contact's level). A level with nobody on one side or both is a gap; so is, for an S
    account, the executive level without an active link."""
    as_of = as_of or tenant_today(tenant)
    members = team_member_list(tenant, team, as_of=as_of) if team is not None else []
    contacts = list(contact_list_present(tenant, account, as_of=as_of))
    links = (
        list(
            counterpart_link_list_active(tenant, as_of=as_of)
            .filter(member__team=team)
            .select_related("member__user", "contact")
            .order_by("contact__name", "id")
        )
        if team is not None
        else []
    )
    rows = []
    for level in LEVELS_TOP_DOWN:
        row = MatrixRow(
            level=level,
            members=[member for member in members if member.level == level],
            contacts=[contact for contact in contacts if contact.level == level],
            links=[link for link in links if link.contact.level == level],
        )
        row.gap = level_gap(
            level, account.tier, ours=bool(row.members), theirs=bool(row.contacts), linked=bool(row.links)
        )
        rows.append(row)
    return rows


@tenant_selector
def counterpart_link_list_ended(
    tenant: Tenant, team: AccountTeam, *, as_of: dt.date, limit: int = 20
) -> list[CounterpartLink]:
    """Links no longer active (ended, or their contact left or member's last day passed): the history."""
    return list(
        CounterpartLink.objects.filter(member__team=team)
        .exclude(link_active_q(as_of))
        .select_related("member__user", "contact")
        .order_by("-ended_on", "-id")[:limit]
    )


@tenant_selector
def contact_list_present(tenant: Tenant, account: Account, *, as_of: dt.date) -> QuerySet[Contact]:
    """The account's contacts still there on the day, by name (the matrix's side, whom to link)."""
    return Contact.objects.filter(contact_present_q(as_of), account=account).order_by("name", "id")


# --- allocation ------------------------------------------------------------------------------------


@tenant_selector
def allocation_subquery(tenant: Tenant, *, as_of: dt.date, user_ref: str = "pk") -> Subquery:
    """The total allocation % of the user the outer row names (``user_ref``): an annotation."""
    totals = (
        team_member_list_active(tenant, as_of=as_of)
        .filter(user=OuterRef(user_ref))
        .order_by()
        .values("user")
        .annotate(total=Sum("allocation"))
        .values("total")
    )
    return Subquery(totals, output_field=IntegerField())


@tenant_selector
def allocation_get(tenant: Tenant, user: User, *, as_of: dt.date | None = None) -> int:
    """The user's total allocation % over their active team memberships."""
    as_of = as_of or tenant_today(tenant)
    total = team_member_list_active(tenant, as_of=as_of).filter(user=user).aggregate(total=Sum("allocation"))["total"]
    return int(total or 0)


@tenant_selector
def allocation_list(tenant: Tenant, *, user_ids: Iterable[int], as_of: dt.date) -> dict[int, int]:
    """Each user's total allocation % over their active team memberships, by user id (one
    query; users on no team are left out)."""
    return dict(
        team_member_list_active(tenant, as_of=as_of)
        .filter(user_id__in=set(user_ids))
        .order_by()
        .values("user_id")
        .annotate(total=Sum("allocation"))
        .values_list("user_id", "total")
    )


@tenant_selector
def user_list_with_allocation(tenant: Tenant, *, as_of: dt.date | None = None) -> QuerySet[User]:
    """The tenant's people (and anyone still on a team), each with ``total_allocation``,
    ``over_allocated`` and ``active_team_memberships`` (their teams, accounts, functions)."""
    as_of = as_of or tenant_today(tenant)
    active = Membership.objects.filter(tenant=tenant, is_active=True).values("user_id")
    on_teams = team_member_list_active(tenant, as_of=as_of).values("user_id")
    total = Coalesce(allocation_subquery(tenant, as_of=as_of), Value(0))
    return (
        User.objects.filter(Q(pk__in=active) | Q(pk__in=on_teams))
        .annotate(total_allocation=total)
        .annotate(
            over_allocated=ExpressionWrapper(Q(total_allocation__gt=FULL_ALLOCATION), output_field=BooleanField())
        )
        .prefetch_related(
            Prefetch(
                "team_memberships",
                queryset=team_member_list_active(tenant, as_of=as_of)
                .select_related("team__account")
                .order_by("team__account__name", "function", "id"),
                to_attr="active_team_memberships",
            )
        )
        .order_by("-total_allocation", "full_name", "email", "id")
    )


@tenant_selector
def user_list_suggested(
    tenant: Tenant, *, team: AccountTeam | None, function: str, as_of: dt.date | None = None, limit: int = 3
) -> list[User]:
    """People for a function: those who already serve that function on other teams first,
    then the least allocated; each with ``serves_function`` and ``total_allocation``."""
    as_of = as_of or tenant_today(tenant)
    candidates = user_list(tenant)
    if function == Function.EXECUTIVE_SPONSOR:
        # A sponsor speaks for the company to the customer's top: leadership roles only.
        leaders = Membership.objects.filter(tenant=tenant, is_active=True, role__in=SPONSOR_ROLES).values("user_id")
        candidates = candidates.filter(pk__in=leaders)
    if team is not None:
        already = team_member_list_active(tenant, as_of=as_of).filter(team=team, function=function).values("user_id")
        candidates = candidates.exclude(pk__in=already)
    serves = team_member_list_active(tenant, as_of=as_of).filter(user=OuterRef("pk"), function=function)
    return list(
        candidates.annotate(
            serves_function=Exists(serves),
            total_allocation=Coalesce(allocation_subquery(tenant, as_of=as_of), Value(0)),
        ).order_by("-serves_function", "total_allocation", "full_name", "email")[:limit]
    )


@dataclass
class SlotProposal:
    gap: Gap
    suggestions: list[User]

    @property
    def level(self) -> str:
        """The level a member added for this gap gets: the rule's, else the function's usual one."""
        return self.gap.level or DEFAULT_LEVEL_BY_FUNCTION.get(self.gap.function, Level.OPERATIONAL)


@tenant_selector
def slot_proposal_list(
    tenant: Tenant, account: Account, *, as_of: dt.date | None = None, limit: int = 3
) -> list[SlotProposal]:
    """For each member rule the team misses: the people suggested to fill it."""
    as_of = as_of or tenant_today(tenant)
    team = team_get(tenant, account)
    coverage = coverage_get(tenant, account, as_of=as_of)
    return [
        SlotProposal(
            gap,
            user_list_suggested(tenant, team=team, function=gap.function, as_of=as_of, limit=max(limit, gap.missing)),
        )
        for gap in coverage.gaps
        if gap.kind == RuleKind.MEMBER
    ]


# --- overview --------------------------------------------------------------------------------------


@tenant_selector
def key_account_list(tenant: Tenant, membership: Membership, *, tier: str = "") -> QuerySet[Account]:
    """The S and A accounts the member reads (those of ``tier`` only, when given), each with
    its team (``team_list``) and lead."""
    accounts = readable_accounts(tenant, membership).filter(tier__in=OVERVIEW_TIERS)
    if tier:
        accounts = accounts.filter(tier=tier)
    return (
        accounts.prefetch_related(
            Prefetch(
                "teams",
                queryset=AccountTeam.objects.select_related("lead"),
                to_attr="team_list",
            )
        ).order_by("-tier", "-score", "name", "id")  # S before A
    )


@tenant_selector
def key_account_count(tenant: Tenant, membership: Membership) -> dict[str, int]:
    """How many S (``s``) and A (``a``) accounts the member reads."""
    return (
        readable_accounts(tenant, membership)
        .filter(tier__in=OVERVIEW_TIERS)
        .order_by()
        .aggregate(s=Count("id", filter=Q(tier=Tier.S)), a=Count("id", filter=Q(tier=Tier.A)))
    )


# --- plans and actions -----------------------------------------------------------------------------


def with_overdue(actions: QuerySet[PlanAction], as_of: dt.date) -> QuerySet[PlanAction]:
    """Each action with ``is_overdue``: still open or in progress after its due day."""
    return actions.annotate(
        is_overdue=ExpressionWrapper(Q(status__in=list(OPEN_STATUSES), due_on__lt=as_of), output_field=BooleanField())
    )


@tenant_selector
def account_plan_list(tenant: Tenant, account: Account) -> QuerySet[AccountPlan]:
    return AccountPlan.objects.filter(account=account).order_by("-period_start", "-id")


@tenant_selector
def account_plan_get_current(tenant: Tenant, account: Account, *, as_of: dt.date | None = None) -> AccountPlan | None:
    """The plan whose period covers the day; else the one that started last."""
    as_of = as_of or tenant_today(tenant)
    plans = account_plan_list(tenant, account)
    return plans.filter(period_start__lte=as_of, period_end__gte=as_of).first() or plans.first()


@tenant_selector
def initiative_list(tenant: Tenant, plan: AccountPlan) -> QuerySet[Initiative]:
    return Initiative.objects.filter(plan=plan).order_by("id")


@tenant_selector
def plan_action_list(tenant: Tenant, plan: AccountPlan, *, as_of: dt.date | None = None) -> QuerySet[PlanAction]:
    as_of = as_of or tenant_today(tenant)
    actions = PlanAction.objects.filter(plan=plan).select_related("owner", "initiative")
    return with_overdue(actions, as_of).order_by("due_on", "id")


@tenant_selector
def plan_action_list_open(
    tenant: Tenant, membership: Membership, *, as_of: dt.date | None = None
) -> QuerySet[PlanAction]:
    """The member's open and in-progress actions on the accounts they read, the most urgent first."""
    as_of = as_of or tenant_today(tenant)
    actions = PlanAction.objects.filter(
        owner=membership.user,
        status__in=list(OPEN_STATUSES),
        plan__account__in=readable_accounts(tenant, membership).values("pk"),
    ).select_related("plan__account", "initiative")
    return with_overdue(actions, as_of).order_by("due_on", "id")
