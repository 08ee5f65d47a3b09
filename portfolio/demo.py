"""Demo portfolios (issue #19, item 4): two specialists of the teams demo whose portfolios
differ, so that the incentive index visibly rewards keeping accounts healthy.

Only the allocations of their existing team memberships change (no figure reads allocations:
scores, health and alerts stay identical, and no random draw is taken):
- the specialist (刘建国, 黄志强, 何晓燕, 郭涛, in that order) serving the team of the account
  with the poorest health and growth (the index's terms) gives it 90 % and 0 % to their other teams: a large share of a large account
  whose health is poor;
- another specialist serving the team of the account with the best
  health and growth gives it just enough time that
  their revenue share is nine tenths of the first one's (1..90 %), and 0 % to their other teams:
  a smaller, healthy portfolio, close behind in revenue.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today

SPECIALISTS = ("tech.liu", "tech.huang", "delivery.he", "delivery.guo")
HIGH = 90
BEHIND = Decimal("0.9")


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    from portfolio import engine
    from teams.models import TeamMember

    today = tenant_today(tenant)
    domain = people["member"].email.split("@", 1)[1]
    emails = [f"{name}@{domain}" for name in SPECIALISTS]
    with tenant_context(tenant):
        teams = [team for team in engine.teams(tenant.pk, today) if team.health is not None and team.revenue_12m]
        if len(teams) < 2:
            return
        worst = min(teams, key=lambda team: (_quality(team), -team.revenue_12m, team.team_id))
        best = max(teams, key=lambda team: (_quality(team), team.revenue_12m, -team.team_id))
        if worst.team_id == best.team_id:
            return
        rows = list(TeamMember.objects.filter(until__isnull=True, user__email__in=emails).select_related("user"))
        order = {email: position for position, email in enumerate(emails)}
        rows.sort(key=lambda row: (order[row.user.email], row.pk))
        first = next((row for row in rows if row.team_id == worst.team_id), None)
        second = next(
            (row for row in rows if row.team_id == best.team_id and first and row.user_id != first.user_id), None
        )
        if first is None or second is None:
            return
        _only(rows, first, HIGH)
        # the first one's revenue share, then the second's allocation for nine tenths of it
        worst_total = sum(member["allocation"] for member in worst.members if member["user_id"] != first.user_id)
        target = worst.revenue_12m * HIGH / (worst_total + HIGH) * BEHIND
        others = sum(member["allocation"] for member in best.members if member["user_id"] != second.user_id)
        allocation = int(target * others / (best.revenue_12m - target)) if best.revenue_12m > target else HIGH
        _only(rows, second, max(1, min(HIGH, allocation)))


def _quality(team: Any) -> Decimal:
    """The health and growth terms of the index with the default weights (the account alone)."""
    growth = team.growth if team.growth is not None else Decimal("-0.2")
    points = min(max((growth + Decimal("0.2")) / Decimal("0.7"), Decimal(0)), Decimal(1)) * 100
    return 40 * team.health + 20 * points


def _only(rows: list, keep: Any, allocation: int) -> None:
    """``keep``'s person gives ``allocation`` to keep's team and 0 to their other teams."""
    from teams.models import TeamMember

    for row in rows:
        if row.user_id == keep.user_id:
            TeamMember.objects.filter(pk=row.pk).update(allocation=allocation if row.pk == keep.pk else 0)
