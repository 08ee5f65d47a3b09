"""Coverage of the staffing rules and the gaps, on hand-made teams (DESIGN section 5)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ContactLevel, Tier
from kam.tenancy import tenant_context
from teams import selectors, services
from teams.models import Function, Level, RuleKind, StaffingRule
from teams.selectors import Gap, LinkFacts, MemberFacts, coverage_from
from tests.factories import AccountFactory, ContactFactory
from tests.teams.factories import AccountTeamFactory, CounterpartLinkFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


def rule(function: str = "", level: str = "", minimum: int = 1, kind: str = RuleKind.MEMBER) -> StaffingRule:
    return StaffingRule(tier="S", kind=kind, function=function, level=level, minimum_count=minimum)


def test_default_rules_are_seeded_for_a_new_tenant():
    # given / when a tenant made by the service (which calls every app's tenant_created)
    from kam import services as kam_services

    tenant = kam_services.tenant_create(slug="newco", name="新公司", industry_profile="manufacturing")
    # then it has the DESIGN defaults: S five functions and an executive counterpart; A three functions
    with tenant_context(tenant):
        rules = sorted((r.tier, r.kind, r.function, r.level, r.minimum_count) for r in StaffingRule.objects.all())
    assert rules == [
        ("A", "member", "delivery", "", 1),
        ("A", "member", "sales", "", 1),
        ("A", "member", "technical", "", 1),
        ("S", "counterpart", "", "executive", 1),
        ("S", "member", "delivery", "", 1),
        ("S", "member", "executive_sponsor", "", 1),
        ("S", "member", "finance", "", 1),
        ("S", "member", "sales", "", 1),
        ("S", "member", "technical", "", 1),
    ]
    # and seeding again adds nothing
    assert services.staffing_rules_seed_default(tenant) == 0


def test_coverage_counts_each_rule_up_to_its_minimum():
    # given rules needing 1 sales and 2 technical, and a team of 3 sales and 1 technical
    rules = [rule(Function.SALES), rule(Function.TECHNICAL, minimum=2)]
    members = [MemberFacts(Function.SALES, Level.MANAGERIAL)] * 3 + [MemberFacts(Function.TECHNICAL, Level.OPERATIONAL)]
    # when
    coverage = coverage_from(rules, members, [])
    # then sales fills 1 of 1 (the two extra hide no gap), technical 1 of 2: 2 of 3 slots = 66 %
    assert (coverage.required, coverage.filled, coverage.percent) == (3, 2, 66)
    assert coverage.gaps == [Gap(RuleKind.MEMBER, Function.TECHNICAL, "", 2, 1)]
    assert coverage.gaps[0].missing == 1


def test_a_level_rule_counts_only_members_on_that_level():
    # given a rule for delivery on the operational level, and a delivery manager on the managerial level
    coverage = coverage_from(
        [rule(Function.DELIVERY, Level.OPERATIONAL)], [MemberFacts(Function.DELIVERY, Level.MANAGERIAL)], []
    )
    # then the slot is open
    assert (coverage.filled, coverage.percent) == (0, 0)
    assert coverage.gaps[0].label() == "Delivery (Operational level)"


def test_a_counterpart_rule_counts_links_to_contacts_on_its_level():
    # given the S rule "an executive-level counterpart" and links to a managerial and an executive contact
    rules = [rule(level=Level.EXECUTIVE, kind=RuleKind.COUNTERPART)]
    # when only the managerial link exists
    without = coverage_from(rules, [], [LinkFacts(Function.SALES, ContactLevel.MANAGERIAL)])
    # then the rule is a gap
    assert (without.percent, [gap.label() for gap in without.gaps]) == (0, ["Counterpart link on the Executive level"])
    # and with a link to an executive contact (whoever of ours holds it) it is met
    met = coverage_from(rules, [], [LinkFacts(Function.SALES, ContactLevel.EXECUTIVE)])
    assert (met.percent, met.gaps) == (100, [])


def test_no_rules_means_no_coverage_figure():
    coverage = coverage_from([], [MemberFacts(Function.SALES, Level.MANAGERIAL)], [])
    assert (coverage.required, coverage.percent, coverage.gaps, coverage.complete) == (0, None, [], True)


def test_team_coverage_of_an_s_account(tenant, s_account, today):
    # given an S team with sales, two technical people and delivery, and one who already left
    team = AccountTeamFactory(tenant=tenant, account=s_account)
    TeamMemberFactory(tenant=tenant, team=team, function=Function.SALES)
    TeamMemberFactory(tenant=tenant, team=team, function=Function.TECHNICAL)
    TeamMemberFactory(tenant=tenant, team=team, function=Function.TECHNICAL)
    TeamMemberFactory(tenant=tenant, team=team, function=Function.DELIVERY, level=Level.OPERATIONAL)
    TeamMemberFactory(
        tenant=tenant, team=team, function=Function.FINANCE, since=dt.date(2024, 1, 1), until=today - dt.timedelta(1)
    )
    # and one who starts next month
    TeamMemberFactory(tenant=tenant, team=team, function=Function.EXECUTIVE_SPONSOR, since=today + dt.timedelta(30))
    # when
    with tenant_context(tenant):
        coverage = selectors.coverage_get(tenant, s_account)
    # then 3 of the 6 S slots are filled (sales, technical, delivery): 50 %
    assert (coverage.required, coverage.filled, coverage.percent) == (6, 3, 50)
    assert [gap.label() for gap in coverage.gaps] == [
        "Counterpart link on the Executive level",
        "Executive sponsor",
        "Finance",
    ]


def test_a_full_s_team_is_covered(tenant, s_account):
    # given every S function and a link from the sponsor to the customer's general manager
    team = AccountTeamFactory(tenant=tenant, account=s_account)
    members = {
        function: TeamMemberFactory(tenant=tenant, team=team, function=function)
        for function in (
            Function.EXECUTIVE_SPONSOR,
            Function.SALES,
            Function.TECHNICAL,
            Function.DELIVERY,
            Function.FINANCE,
        )
    }
    with tenant_context(tenant):
        chief = s_account.contacts.get(level=ContactLevel.EXECUTIVE)
    CounterpartLinkFactory(tenant=tenant, member=members[Function.EXECUTIVE_SPONSOR], contact=chief)
    # when
    with tenant_context(tenant):
        coverage = selectors.coverage_get(tenant, s_account)
    # then 6 of 6
    assert (coverage.filled, coverage.percent, coverage.gaps) == (6, 100, [])


def test_coverage_for_many_accounts_takes_three_queries(tenant, rules, today):
    # given 2 then 8 S accounts with teams
    def make(count: int) -> list:
        accounts = []
        for number in range(count):
            account = AccountFactory(tenant=tenant, tier=Tier.S if number % 2 else Tier.A)
            member = TeamMemberFactory(tenant=tenant, team=AccountTeamFactory(tenant=tenant, account=account))
            ContactFactory(tenant=tenant, account=account, level=ContactLevel.EXECUTIVE)
            CounterpartLinkFactory(tenant=tenant, member=member)
            accounts.append(account)
        return accounts

    few, many = make(2), make(8)
    with tenant_context(tenant), CaptureQueriesContext(connection) as first:
        selectors.coverage_list(tenant, few, as_of=today)
    with tenant_context(tenant), CaptureQueriesContext(connection) as second:
        result = selectors.coverage_list(tenant, many, as_of=today)
    # then rules, members, links and contacts: the same four queries for 8 accounts as for 2
    assert len(first.captured_queries) == len(second.captured_queries) == 4
    # an A account with one sales member: 1 of 3 A slots
    assert result[many[0].pk].percent == 33


def test_an_edited_rule_changes_the_coverage(tenant, s_account):
    # given an S team with only sales, and the technical rule raised to 2 and finance deleted
    team = AccountTeamFactory(tenant=tenant, account=s_account)
    TeamMemberFactory(tenant=tenant, team=team, function=Function.SALES)
    with tenant_context(tenant):
        technical = StaffingRule.objects.get(tier="S", function=Function.TECHNICAL)
        finance = StaffingRule.objects.get(tier="S", function=Function.FINANCE)
    services.staffing_rule_update(tenant, rule=technical, minimum_count=2)
    services.staffing_rule_delete(tenant, rule=finance)
    # when
    with tenant_context(tenant):
        coverage = selectors.coverage_get(tenant, s_account)
    # then sponsor 1 + sales 1 + technical 2 + delivery 1 + counterpart 1 = 6 slots, 1 filled: 16 %
    assert (coverage.required, coverage.filled, coverage.percent) == (6, 1, 16)


def test_a_rule_needs_its_function_or_level(tenant, rules):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as member_rule:
        services.staffing_rule_create(tenant, tier="B", kind=RuleKind.MEMBER, function="", level="")
    assert member_rule.value.message_dict == {"function": ["A member rule names a function."]}
    with pytest.raises(ValidationError) as duplicate:
        services.staffing_rule_create(tenant, tier="S", kind=RuleKind.MEMBER, function=Function.SALES, level="")
    assert duplicate.value.messages == ["This tier has this rule already; change its minimum instead."]
