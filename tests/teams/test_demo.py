"""The demo teams (TeamsConfig.load_demo): S and A accounts get teams with realistic gaps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps
from django.test import Client

from accounts.models import ContactLevel, Tier
from kam.models import Role
from kam.tenancy import tenant_context
from teams import selectors
from teams.models import AccountPlan, AccountTeam, CounterpartLink, PlanAction
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiered(tenant, rules, role_users):
    """Accounts as the accounts and scoring demos leave them: tiers, scores and a contact on each level."""
    accounts = {}
    for name, tier, score in [
        ("远航船舶重工", Tier.S, "85"),
        ("中车华北集团", Tier.S, "83"),
        ("北方重型机械", Tier.A, "78"),
        ("长江航空部件", Tier.B, "60"),
        ("瑞丰农机", Tier.C, "30"),
    ]:
        account = AccountFactory(
            tenant=tenant, name=name, tier=tier, score=Decimal(score), owner=role_users[Role.MANAGER]
        )
        for level, title in [
            (ContactLevel.EXECUTIVE, "总经理"),
            (ContactLevel.MANAGERIAL, "采购总监"),
            (ContactLevel.MANAGERIAL, "技术主管"),
            (ContactLevel.OPERATIONAL, "采购专员"),
        ]:
            ContactFactory(tenant=tenant, account=account, level=level, title=title)
        accounts[name] = account
    return accounts


def test_the_demo_teams_have_realistic_gaps(tenant, tiered, role_users, today):
    # when
    apps.get_app_config("teams").load_demo(tenant, {str(role): user for role, user in role_users.items()})
    # then the S and A accounts and the best B account have teams, the C account none
    with tenant_context(tenant):
        teams = set(AccountTeam.objects.values_list("account__name", flat=True))
        coverage = selectors.coverage_list(tenant, list(tiered.values()))
        ended = list(CounterpartLink.objects.filter(ended_on__isnull=False).select_related("contact"))
        plan = AccountPlan.objects.get()
        kinds = sorted(plan.initiatives.values_list("kind", flat=True))
        overdue = [a.title for a in selectors.plan_action_list(tenant, plan) if a.is_overdue]
        manager_total = selectors.allocation_get(tenant, role_users[Role.MANAGER])
        served = selectors.account_id_list_served(tenant, role_users[Role.MEMBER])
        served_names = sorted(AccountTeam.objects.filter(account_id__in=served).values_list("account__name", flat=True))
    assert teams == {"远航船舶重工", "中车华北集团", "北方重型机械", "长江航空部件"}
    # the first S account misses finance, and its clerk left: the link ended, the operational level is a gap
    first = coverage[tiered["远航船舶重工"].pk]
    assert [gap.label() for gap in first.gaps] == ["Finance"]
    assert first.level_gaps == [("operational", "nobody_theirs")]
    assert [(link.contact.title, link.ended_on == link.contact.left_on) for link in ended] == [("采购专员", True)]
    # the second has no executive sponsor, so no executive-level link either
    second = coverage[tiered["中车华北集团"].pk]
    assert [gap.label() for gap in second.gaps] == ["Counterpart link on the Executive level", "Executive sponsor"]
    assert coverage[tiered["北方重型机械"].pk].percent == 100
    # the plan: a joint lab and a shared data platform, one overdue action
    assert kinds == ["joint_lab", "shared_data_platform"]
    assert overdue == ["签署联合实验室合作协议"]
    # the manager sells to all four (4 x 40 % = 160 %); the demo member serves on them
    assert manager_total == 160
    assert served_names == ["中车华北集团", "北方重型机械", "远航船舶重工", "长江航空部件"]
    # and the member's accounts list is not empty
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(role_users[Role.MEMBER])
    assert "远航船舶重工" in client.get("/t/acme/accounts/").content.decode()
    with tenant_context(tenant):
        assert PlanAction.objects.filter(owner=role_users[Role.MEMBER]).count() == 1
