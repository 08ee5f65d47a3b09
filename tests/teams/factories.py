"""factory_boy factories of the teams app (created inside their tenant, as RLS requires)."""

from __future__ import annotations

import datetime as dt

import factory

from teams.models import (
    AccountPlan,
    AccountTeam,
    ActionStatus,
    CounterpartLink,
    Function,
    Initiative,
    InitiativeKind,
    Level,
    PlanAction,
    StaffingRule,
    Strength,
    TeamMember,
)
from tests.factories import AccountFactory, ContactFactory, TenantOwnedFactory, UserFactory


class AccountTeamFactory(TenantOwnedFactory):
    class Meta:
        model = AccountTeam

    account = factory.SubFactory(AccountFactory, tenant=factory.SelfAttribute("..tenant"))


class TeamMemberFactory(TenantOwnedFactory):
    class Meta:
        model = TeamMember

    team = factory.SubFactory(AccountTeamFactory, tenant=factory.SelfAttribute("..tenant"))
    user = factory.SubFactory(UserFactory)
    function = Function.SALES
    level = Level.MANAGERIAL
    allocation = 20
    since = dt.date(2025, 1, 1)


class CounterpartLinkFactory(TenantOwnedFactory):
    class Meta:
        model = CounterpartLink

    member = factory.SubFactory(TeamMemberFactory, tenant=factory.SelfAttribute("..tenant"))
    contact = factory.SubFactory(
        ContactFactory, tenant=factory.SelfAttribute("..tenant"), account=factory.SelfAttribute("..member.team.account")
    )
    strength = Strength.CREDIBLE_SOURCE
    target_strength = Strength.TRUSTED_ADVISOR
    started_on = dt.date(2025, 2, 1)


class StaffingRuleFactory(TenantOwnedFactory):
    class Meta:
        model = StaffingRule

    tier = "S"
    kind = "member"
    function = Function.SALES
    level = ""
    minimum_count = 1


class AccountPlanFactory(TenantOwnedFactory):
    class Meta:
        model = AccountPlan

    account = factory.SubFactory(AccountFactory, tenant=factory.SelfAttribute("..tenant"))
    title = "年度客户计划"
    period_start = dt.date(2026, 1, 1)
    period_end = dt.date(2026, 12, 31)
    objectives = "采购额增长 15%"


class InitiativeFactory(TenantOwnedFactory):
    class Meta:
        model = Initiative

    plan = factory.SubFactory(AccountPlanFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = InitiativeKind.JOINT_LAB
    title = "联合实验室"


class PlanActionFactory(TenantOwnedFactory):
    class Meta:
        model = PlanAction

    plan = factory.SubFactory(AccountPlanFactory, tenant=factory.SelfAttribute("..tenant"))
    title = "签署合作协议"
    due_on = dt.date(2026, 6, 30)
    status = ActionStatus.OPEN
