"""Display shaping of the team pages: the members table by function, the gaps with their
suggestions, the overview's rows, the staffing rules by tier, a plan's actions under their
initiatives. No queries: the views read through teams.selectors and hand the results here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from accounts.models import Account, Tier
from teams.models import (
    LEVELS_TOP_DOWN,
    AccountTeam,
    Function,
    Initiative,
    Level,
    PlanAction,
    RuleKind,
    StaffingRule,
    TeamMember,
)
from teams.selectors import FULL_ALLOCATION, Coverage, Gap, LevelGap, SlotProposal

# The members table top down: the sponsor first, then the functions of the "virtual company".
FUNCTION_ORDER = [
    Function.EXECUTIVE_SPONSOR,
    Function.SALES,
    Function.TECHNICAL,
    Function.DELIVERY,
    Function.FINANCE,
    Function.SERVICE,
]
# Why a level of the docking matrix is a gap, in a few words.
LEVEL_GAP_TEXT = {
    LevelGap.NOBODY: gettext_lazy("nobody on either side"),
    LevelGap.NOBODY_OURS: gettext_lazy("none of our people"),
    LevelGap.NOBODY_THEIRS: gettext_lazy("no contact of theirs"),
    LevelGap.NO_EXECUTIVE_LINK: gettext_lazy("no executive-level link"),
}


# --- the account's team tab ------------------------------------------------------------------------


def members_with_allocation(members: list[TeamMember], totals: Mapping[int, int]) -> list[TeamMember]:
    """Each member with ``total_allocation`` (over all their teams, from
    selectors.allocation_list) and ``over_allocated``."""
    for member in members:
        member.total_allocation = totals.get(member.user_id, 0)
        member.over_allocated = member.total_allocation > FULL_ALLOCATION
    return members


def members_by_function(members: Iterable[TeamMember]) -> list[tuple[str | Promise, list[TeamMember]]]:
    """(function label, its members) in the order of the members table; empty functions left out."""
    members = list(members)
    groups = [
        (Function(value).label, [member for member in members if member.function == value]) for value in FUNCTION_ORDER
    ]
    return [(label, group) for label, group in groups if group]


def gap_rows(coverage: Coverage, proposals: Iterable[SlotProposal]) -> list[tuple[Gap, SlotProposal | None]]:
    """Each staffing gap with the people suggested to fill it (None: no suggestion, e.g. for
    a counterpart rule, or for whoever may not edit the team)."""
    suggestions = {proposal.gap: proposal for proposal in proposals}
    return [(gap, suggestions.get(gap)) for gap in coverage.gaps]


# --- the teams overview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewRow:
    account: Account
    team: AccountTeam | None
    coverage: Coverage
    level_gaps: list[tuple[str | Promise, str | Promise]]  # (level, why it is a gap)


def overview_rows(accounts: Iterable[Account], coverage: Mapping[int, Coverage]) -> list[OverviewRow]:
    """The overview's accounts (selectors.key_account_list: each with its ``team_list``) with
    their team, coverage and the docking matrix's gaps in words."""
    rows = []
    for account in accounts:
        found = coverage[account.pk]
        rows.append(
            OverviewRow(
                account=account,
                team=account.team_list[0] if account.team_list else None,
                coverage=found,
                level_gaps=[(Level(level).label, LEVEL_GAP_TEXT[gap]) for level, gap in found.level_gaps],
            )
        )
    return rows


# --- staffing rules -------------------------------------------------------------------------------------


def _rule_order(rule: StaffingRule) -> tuple[bool, int, int]:
    """Member rules in the order of the members table, then counterpart rules top down."""
    function_rank = FUNCTION_ORDER.index(rule.function) if rule.function else -1
    level_rank = LEVELS_TOP_DOWN.index(rule.level) if rule.level else -1
    return (rule.kind == RuleKind.COUNTERPART, function_rank, level_rank)


def rules_by_tier(rules: Iterable[StaffingRule]) -> list[tuple[str, str | Promise, list[StaffingRule]]]:
    """(tier, its label, its rules in table order) for every tier, S first."""
    by_tier: dict[str, list[StaffingRule]] = defaultdict(list)
    for rule in sorted(rules, key=_rule_order):
        by_tier[rule.tier].append(rule)
    return [(value, label, by_tier.get(value, [])) for value, label in Tier.choices]


# --- the account plan ------------------------------------------------------------------------------------


def plan_actions_arranged(
    initiatives: list[Initiative], actions: list[PlanAction], *, can_edit: bool, user_id: int
) -> None:
    """Each initiative with its ``action_list``; each action with ``can_move``: who writes the
    account moves any action's status, an action's owner their own."""
    for initiative in initiatives:
        initiative.action_list = [action for action in actions if action.initiative_id == initiative.pk]
    for action in actions:
        action.can_move = can_edit or action.owner_id == user_id
