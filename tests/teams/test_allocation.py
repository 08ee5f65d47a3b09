"""A person's allocation across teams, the over-100 % flag, suggestions by function and
building a team from its tier's rules."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Tier
from kam.tenancy import tenant_context
from teams import selectors, services
from teams.models import Function, Level
from tests.factories import AccountFactory, UserFactory
from tests.teams.factories import AccountTeamFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


def test_allocation_sums_active_memberships_only(tenant, manager, today):
    # given the manager at 40 % + 35 % + 30 % on three teams, 50 % on a fourth that ended, 20 % on one not started
    for allocation in (40, 35, 30):
        TeamMemberFactory(tenant=tenant, user=manager, allocation=allocation)
    TeamMemberFactory(
        tenant=tenant, user=manager, allocation=50, since=dt.date(2024, 1, 1), until=today - dt.timedelta(1)
    )
    TeamMemberFactory(tenant=tenant, user=manager, allocation=20, since=today + dt.timedelta(1))
    # when
    with tenant_context(tenant):
        total = selectors.allocation_get(tenant, manager)
        people = {user.pk: user for user in selectors.user_list_with_allocation(tenant)}
    # then 40 + 35 + 30 = 105 %: over 100, flagged
    assert total == 105
    assert (people[manager.pk].total_allocation, people[manager.pk].over_allocated) == (105, True)
    assert sorted(m.allocation for m in people[manager.pk].active_team_memberships) == [30, 35, 40]


def test_exactly_100_is_not_over(tenant, member):
    TeamMemberFactory(tenant=tenant, user=member, allocation=60)
    TeamMemberFactory(tenant=tenant, user=member, allocation=40)
    with tenant_context(tenant):
        person = selectors.user_list_with_allocation(tenant).get(pk=member.pk)
    assert (person.total_allocation, person.over_allocated) == (100, False)


def test_people_lists_members_of_the_tenant_without_teams_at_zero(tenant, admin, executive, outsider):
    with tenant_context(tenant):
        people = {user.email: user.total_allocation for user in selectors.user_list_with_allocation(tenant)}
    # the other tenant's people are not listed
    assert people == {"alice@acme.test": 0, "eve@acme.test": 0}


def test_an_allocation_out_of_range_is_refused(tenant, manager):
    from django.core.exceptions import ValidationError

    team = AccountTeamFactory(tenant=tenant)
    with pytest.raises(ValidationError) as error:
        services.team_member_add(tenant, team=team, user=manager, function=Function.SALES, allocation=120)
    assert error.value.message_dict["allocation"] == ["Ensure this value is less than or equal to 100."]


def test_only_the_tenants_active_people_can_join(tenant, outsider):
    from django.core.exceptions import ValidationError

    team = AccountTeamFactory(tenant=tenant)
    with pytest.raises(ValidationError) as error:
        services.team_member_add(tenant, team=team, user=outsider, function=Function.SALES)
    assert error.value.message_dict == {"user": ["Choose an active member of this workspace."]}


def test_suggestions_prefer_who_serves_the_function_then_the_least_allocated(tenant, admin, director, manager, member):
    # given the manager serves sales elsewhere at 60 %, the director sales at 20 %, the member technical at 10 %
    TeamMemberFactory(tenant=tenant, user=manager, function=Function.SALES, allocation=60)
    TeamMemberFactory(tenant=tenant, user=director, function=Function.SALES, allocation=20)
    TeamMemberFactory(tenant=tenant, user=member, function=Function.TECHNICAL, allocation=10)
    team = AccountTeamFactory(tenant=tenant)
    # when sales people are suggested for a new team
    with tenant_context(tenant):
        suggested = selectors.user_list_suggested(tenant, team=team, function=Function.SALES, limit=4)
    # then the two who sell elsewhere, least allocated first, then the others by allocation (admin 0, member 10)
    assert [(user.email, user.serves_function, user.total_allocation) for user in suggested] == [
        ("dora@acme.test", True, 20),
        ("mark@acme.test", True, 60),
        ("alice@acme.test", False, 0),
        ("bob@acme.test", False, 10),
    ]


def test_build_fills_the_member_rules_with_the_first_suggestions(tenant, rules, manager, member, today):
    # given an A account (sales, technical, delivery) without a team, and people serving those functions elsewhere
    account = AccountFactory(tenant=tenant, tier=Tier.A, owner=manager)
    engineer, courier = UserFactory(email="eng@acme.test"), UserFactory(email="ops@acme.test")
    from kam.models import Membership

    for user in (engineer, courier):
        Membership.objects.create(tenant=tenant, user=user, role="member")
    TeamMemberFactory(tenant=tenant, user=manager, function=Function.SALES, allocation=30)
    TeamMemberFactory(tenant=tenant, user=engineer, function=Function.TECHNICAL, allocation=30)
    TeamMemberFactory(tenant=tenant, user=courier, function=Function.DELIVERY, allocation=30)
    # when
    added = services.team_build(tenant, account=account)
    # then one per function, at the function's usual level and 20 %, and sales leads the team
    assert [(m.function, m.user.email, m.level, m.allocation, m.since) for m in added] == [
        ("delivery", "ops@acme.test", Level.OPERATIONAL, 20, today),
        ("sales", "mark@acme.test", Level.MANAGERIAL, 20, today),
        ("technical", "eng@acme.test", Level.MANAGERIAL, 20, today),
    ]
    with tenant_context(tenant):
        assert selectors.team_get(tenant, account).lead == manager
        assert selectors.coverage_get(tenant, account).percent == 100
    # and building again adds nobody
    assert services.team_build(tenant, account=account) == []
