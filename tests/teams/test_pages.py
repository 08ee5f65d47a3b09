"""Team and plan pages: what each role may read and change, in-place edits with htmx,
both languages, another tenant's ids (404), and list pages whose query count does not
grow with their rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import ContactLevel, Tier
from kam.models import Membership, Role
from kam.tenancy import tenant_context
from teams.models import ActionStatus, CounterpartLink, Function, Level, PlanAction, StaffingRule, Strength, TeamMember
from tests.factories import AccountFactory, ContactFactory, UserFactory
from tests.teams.factories import (
    AccountPlanFactory,
    AccountTeamFactory,
    CounterpartLinkFactory,
    InitiativeFactory,
    PlanActionFactory,
    TeamMemberFactory,
)

pytestmark = pytest.mark.django_db


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


HTMX = {"HTTP_HX_REQUEST": "true"}


def tab_url(account) -> str:
    return f"/t/acme/teams/accounts/{account.pk}/"


def team_member_name(tenant, team) -> str:
    with tenant_context(tenant):
        return TeamMember.objects.select_related("user").get(team=team).user.display_name


def listed_accounts(response) -> list[str]:
    return re.findall(r'class="account-link" href="[^"]+">([^<]+)</a>', response.content.decode())


@pytest.fixture
def team(tenant, s_account, member, today):
    """The S account's team: the member serves on it (service, operational), facing the clerk."""
    team = AccountTeamFactory(tenant=tenant, account=s_account)
    serving = TeamMemberFactory(
        tenant=tenant, team=team, user=member, function=Function.SERVICE, level=Level.OPERATIONAL, allocation=30
    )
    with tenant_context(tenant):
        clerk = s_account.contacts.get(level=ContactLevel.OPERATIONAL)
    CounterpartLinkFactory(tenant=tenant, member=serving, contact=clerk, strength=Strength.VENDOR)
    return team


@pytest.fixture
def plan(tenant, s_account, manager, member, today):
    plan = AccountPlanFactory(
        tenant=tenant,
        account=s_account,
        period_start=today - dt.timedelta(days=100),
        period_end=today + dt.timedelta(200),
    )
    lab = InitiativeFactory(tenant=tenant, plan=plan, title="联合实验室")
    PlanActionFactory(
        tenant=tenant, plan=plan, initiative=lab, title="签署协议", owner=manager, due_on=today - dt.timedelta(3)
    )
    PlanActionFactory(tenant=tenant, plan=plan, title="整理交付数据", owner=member, due_on=today + dt.timedelta(10))
    PlanActionFactory(
        tenant=tenant,
        plan=plan,
        title="季度互访",
        owner=member,
        due_on=today - dt.timedelta(20),
        status=ActionStatus.DONE,
    )
    return plan


# --- who reads the team -------------------------------------------------------------------------------


def test_a_member_reads_the_accounts_of_their_teams_in_the_accounts_list(tenant, team, member, s_account):
    # given another account the member does not serve on
    AccountFactory(tenant=tenant, name="别家客户")
    # when the member opens the accounts list
    response = client_in(member).get("/t/acme/accounts/")
    # then only the account of their team is listed
    assert listed_accounts(response) == ["中车华北集团"]
    # and its page opens on the team tab, with the matrix
    page = client_in(member).get(f"/t/acme/accounts/{s_account.pk}/?tab=team")
    assert page.status_code == 200
    assert "Layered docking matrix" in page.content.decode()


def test_a_member_off_the_team_no_longer_reads_the_account(tenant, team, member, s_account, today):
    with tenant_context(tenant):
        TeamMember.objects.filter(user=member).update(since=today - dt.timedelta(30), until=today - dt.timedelta(1))
    assert client_in(member).get(tab_url(s_account), **HTMX).status_code == 404
    assert listed_accounts(client_in(member).get("/t/acme/accounts/")) == []


def test_the_tab_shows_members_by_function_the_matrix_and_the_gaps(tenant, team, s_account, manager):
    # when the owner opens the team tab
    response = client_in(manager).get(tab_url(s_account), **HTMX)
    html = response.content.decode()
    # then: the member under Service, the executive level empty on our side, the link with its strength
    assert response.status_code == 200
    assert re.findall(r'<tr class="function-row"><th[^>]*>([^<]+)</th></tr>', html) == ["Service"]
    assert team_member_name(tenant, team) in html
    assert html.count('class="matrix-row is-gap"') == 2  # executive and managerial: none of ours
    assert "Gap: none of our people on this level" in html
    assert "Vendor" in html and "→ Trusted advisor" in html
    # 0 of 6 S slots filled: every rule is a gap, each with suggestions to add
    assert "0 of 6 required slots filled" in html
    assert re.findall(r'class="badge badge--gap">([^<]+)<', html) == [
        "Counterpart link on the Executive level",
        "Delivery",
        "Executive sponsor",
        "Finance",
        "Sales",
        "Technical",
    ]
    assert "Fill the gaps with the first suggestions" in html


def test_a_plain_visit_to_the_tab_goes_to_the_account_page(tenant, team, s_account, manager):
    response = client_in(manager).get(tab_url(s_account))
    assert (response.status_code, response["Location"]) == (302, f"/t/acme/accounts/{s_account.pk}/?tab=team")


def test_the_tab_in_chinese(tenant, team, s_account, manager):
    html = client_in(manager, "zh-hans").get(tab_url(s_account), **HTMX).content.decode()
    assert "分层对接矩阵" in html
    assert "决策层" in html and "管理层" in html and "操作层" in html
    assert "缺口：我方在此层级无人对接" in html


# --- who changes the team -----------------------------------------------------------------------------


def test_the_owner_adds_a_member_in_place(tenant, team, s_account, manager, director, today):
    # when the manager who owns the account adds the director as executive sponsor, with htmx
    response = client_in(manager).post(
        f"{tab_url(s_account)}members/new/",
        {
            "user": director.pk,
            "function": Function.EXECUTIVE_SPONSOR,
            "level": Level.EXECUTIVE,
            "allocation": 10,
            "since": today.isoformat(),
        },
        **HTMX,
    )
    # then the whole tab comes back in place of the old one, with a notice
    assert response.status_code == 200
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#team-tab", "outerHTML")
    html = response.content.decode()
    assert f"{director.display_name} joined the team as Executive sponsor." in html
    with tenant_context(tenant):
        added = TeamMember.objects.get(user=director)
    assert (added.function, added.level, added.allocation, added.since) == ("executive_sponsor", "executive", 10, today)


def test_an_invalid_member_form_answers_400_in_place(tenant, team, s_account, manager, today):
    response = client_in(manager).post(
        f"{tab_url(s_account)}members/new/",
        {"user": manager.pk, "function": "sales", "level": "managerial", "allocation": 150, "since": today.isoformat()},
        **HTMX,
    )
    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 100." in response.content.decode()
    assert 'id="member-form"' in response.content.decode()


def test_a_manager_who_serves_on_the_team_edits_it(tenant, rules, director, manager, today):
    # given an account the director owns, whose team the manager serves on
    account = AccountFactory(tenant=tenant, tier=Tier.A, owner=director)
    team = AccountTeamFactory(tenant=tenant, account=account)
    TeamMemberFactory(tenant=tenant, team=team, user=manager, function=Function.SALES)
    # when the manager builds the team from the rules
    response = client_in(manager).post(f"{tab_url(account)}build/", **HTMX)
    # then it worked
    assert response.status_code == 200
    with tenant_context(tenant):
        assert sorted(team.members.values_list("function", flat=True)) == ["delivery", "sales", "technical"]


def test_a_manager_off_the_account_may_read_but_not_change(tenant, rules, director, manager, today):
    account = AccountFactory(tenant=tenant, tier=Tier.A, owner=director)
    assert client_in(manager).get(tab_url(account), **HTMX).status_code == 200
    html = client_in(manager).get(tab_url(account), **HTMX).content.decode()
    assert "Add member" not in html
    assert client_in(manager).post(f"{tab_url(account)}build/", **HTMX).status_code == 403
    assert client_in(manager).get(f"{tab_url(account)}members/new/", **HTMX).status_code == 403


@pytest.mark.parametrize("role", [Role.MEMBER, Role.EXECUTIVE])
def test_members_and_executives_read_only(tenant, team, s_account, role_users, role):
    user = role_users[role]
    client = client_in(user)
    html = client.get(tab_url(s_account), **HTMX).content.decode()
    assert "Layered docking matrix" in html
    assert "Add member" not in html and "Change" not in html
    with tenant_context(tenant):
        member_id = TeamMember.objects.get(team=team).pk
    for url in (
        f"{tab_url(s_account)}members/new/",
        f"{tab_url(s_account)}members/{member_id}/remove/",
        f"{tab_url(s_account)}build/",
        f"{tab_url(s_account)}lead/",
    ):
        assert client.post(url, {}, **HTMX).status_code == 403, url


def test_a_director_edits_any_team(tenant, team, s_account, director, manager):
    response = client_in(director).post(f"{tab_url(s_account)}lead/", {"lead": manager.pk}, **HTMX)
    assert response.status_code == 200
    assert "The team lead was saved." in response.content.decode()
    with tenant_context(tenant):
        team.refresh_from_db()
    assert team.lead == manager


def test_removing_a_member_asks_first_and_keeps_the_history(tenant, team, s_account, manager, member, today):
    with tenant_context(tenant):
        serving = TeamMember.objects.get(user=member)
    url = f"{tab_url(s_account)}members/{serving.pk}/remove/"
    # the link carries the confirmation for htmx, and a page for browsers without JavaScript
    tab = client_in(manager).get(tab_url(s_account), **HTMX).content.decode()
    assert re.search(r'hx-post="' + re.escape(url) + r'"[^>]*hx-confirm="Take ', tab)
    confirm = client_in(manager).get(url)
    assert "Take" in confirm.content.decode() and confirm.status_code == 200
    # when confirmed
    response = client_in(manager).post(url)
    # then back to the account page; the member's last day is yesterday, their link ended today
    assert (response.status_code, response["Location"]) == (302, f"/t/acme/accounts/{s_account.pk}/?tab=team")
    with tenant_context(tenant):
        serving.refresh_from_db()
        link = CounterpartLink.objects.get(member=serving)
    assert (serving.until, link.ended_on) == (today - dt.timedelta(days=1), today)


def test_a_link_is_changed_in_place(tenant, team, s_account, manager):
    with tenant_context(tenant):
        link = CounterpartLink.objects.get(member__team=team)
    url = f"{tab_url(s_account)}links/{link.pk}/edit/"
    # when the owner asks for the edit form with htmx
    form = client_in(manager).get(url, **HTMX).content.decode()
    # then only the link's element comes back, as a small form
    assert form.strip().startswith(f'<div class="link-item" id="link-{link.pk}">')
    # and saving it changes the strength
    response = client_in(manager).post(
        url, {"strength": Strength.PROBLEM_SOLVER, "target_strength": Strength.TRUSTED_ADVISOR}, **HTMX
    )
    assert response.status_code == 200 and response["HX-Retarget"] == "#team-tab"
    with tenant_context(tenant):
        link.refresh_from_db()
    assert link.strength == Strength.PROBLEM_SOLVER


def test_a_link_is_added_and_ended(tenant, team, s_account, manager, member):
    with tenant_context(tenant):
        serving = TeamMember.objects.get(user=member)
        chief = s_account.contacts.get(level=ContactLevel.EXECUTIVE)
    response = client_in(manager).post(
        f"{tab_url(s_account)}links/new/",
        {"member": serving.pk, "contact": chief.pk, "strength": "vendor", "target_strength": "problem_solver"},
        **HTMX,
    )
    assert response.status_code == 200
    assert f"{member.display_name} now faces 赵总." in response.content.decode()
    with tenant_context(tenant):
        link = CounterpartLink.objects.get(contact=chief)
    ended = client_in(manager).post(f"{tab_url(s_account)}links/{link.pk}/end/", **HTMX)
    assert "it stays in the history" in ended.content.decode()
    with tenant_context(tenant):
        link.refresh_from_db()
    assert link.ended_on is not None


# --- overview, people, rules ---------------------------------------------------------------------------


def test_the_overview_lists_s_and_a_accounts_with_coverage_gaps_and_lead(tenant, rules, team, s_account, manager):
    # given an A account without a team and a B account
    AccountFactory(tenant=tenant, name="北方重型机械", tier=Tier.A)
    AccountFactory(tenant=tenant, name="小客户", tier=Tier.B)
    with tenant_context(tenant):
        team.lead = manager
        team.save()
    html = client_in(manager).get("/t/acme/teams/").content.decode()
    # then the S account first, then the A account; the B account is not listed
    assert listed_accounts_overview(html) == ["中车华北集团", "北方重型机械"]
    assert ">0%<" in html and "No team" in html
    # docking gaps: the S team has only an operational person facing the clerk; the A account has nobody at all
    assert re.findall(r'badge--warn" title="([^"]+)">([^<]+)<', html) == [
        ("none of our people", "Executive level"),
        ("none of our people", "Managerial level"),
        ("nobody on either side", "Executive level"),
        ("nobody on either side", "Managerial level"),
        ("nobody on either side", "Operational level"),
    ]


def listed_accounts_overview(html: str) -> list[str]:
    return re.findall(r'class="account-link" href="[^"]+">([^<]+)</a>', html)


def test_a_member_sees_only_their_teams_in_the_overview(tenant, team, member):
    AccountFactory(tenant=tenant, name="别家战略客户", tier=Tier.S)
    assert listed_accounts_overview(client_in(member).get("/t/acme/teams/").content.decode()) == ["中车华北集团"]


def test_overview_queries_do_not_grow_with_the_rows(tenant, rules, admin, django_assert_max_num_queries):
    def add(count: int) -> None:
        for _number in range(count):
            account = AccountFactory(tenant=tenant, tier=Tier.S)
            ContactFactory(tenant=tenant, account=account, level=ContactLevel.EXECUTIVE)
            member = TeamMemberFactory(
                tenant=tenant, team=AccountTeamFactory(tenant=tenant, account=account, lead=admin)
            )
            CounterpartLinkFactory(tenant=tenant, member=member)

    add(2)
    client = client_in(admin)
    client.get("/t/acme/teams/")
    with CaptureQueriesContext(connection) as two:
        assert len(listed_accounts_overview(client.get("/t/acme/teams/").content.decode())) == 2
    add(10)
    with django_assert_max_num_queries(len(two.captured_queries)):
        assert len(listed_accounts_overview(client.get("/t/acme/teams/").content.decode())) == 12


def test_people_shows_allocation_and_flags_over_100(tenant, team, member, manager):
    TeamMemberFactory(tenant=tenant, user=member, function=Function.SERVICE, allocation=80)
    html = client_in(manager).get("/t/acme/teams/people/").content.decode()
    # 30 + 80 = 110 %
    assert re.search(
        r'<span class="allocation-over">110%</span> <span class="badge badge--over">Over 100%</span>', html
    )
    over_only = client_in(manager).get("/t/acme/teams/people/?over=1").content.decode()
    assert re.findall(r'<div class="muted small">([^<]+)</div>', over_only) == ["bob@acme.test"]


def test_people_is_not_for_members(tenant, member):
    assert client_in(member).get("/t/acme/teams/people/").status_code == 403


def test_people_queries_do_not_grow_with_the_rows(tenant, admin, django_assert_max_num_queries):
    def add(count: int) -> None:
        for _number in range(count):
            user = UserFactory()
            Membership.objects.create(tenant=tenant, user=user, role=Role.MEMBER)
            TeamMemberFactory(tenant=tenant, user=user)

    add(2)
    client = client_in(admin)
    client.get("/t/acme/teams/people/")
    with CaptureQueriesContext(connection) as few:
        client.get("/t/acme/teams/people/")
    add(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/t/acme/teams/people/").content.decode().count('class="assignment"') == 12


def test_a_director_changes_a_staffing_rule_and_a_manager_may_not(tenant, rules, director, manager):
    with tenant_context(tenant):
        rule = StaffingRule.objects.get(tier="S", function=Function.FINANCE)
    assert client_in(manager).post(f"/t/acme/teams/rules/{rule.pk}/", {"minimum_count": 2}).status_code == 403
    response = client_in(director).post(f"/t/acme/teams/rules/{rule.pk}/", {"minimum_count": 2}, **HTMX)
    assert "The staffing rule was saved." in response.content.decode()
    with tenant_context(tenant):
        rule.refresh_from_db()
    assert rule.minimum_count == 2


# --- plan and my actions -------------------------------------------------------------------------------


def test_the_plan_page_flags_overdue_actions(tenant, plan, s_account, manager):
    html = client_in(manager).get(f"/t/acme/teams/accounts/{s_account.pk}/plan/").content.decode()
    assert "采购额增长 15%" in html
    assert "1 overdue action" in html
    overdue_rows = re.findall(r'<tr id="action-(\d+)" class="is-overdue">\s*<td>([^<]+)</td>', html)
    assert [title for _pk, title in overdue_rows] == ["签署协议"]


def test_the_owner_creates_a_plan_with_an_initiative_and_an_action(tenant, s_account, manager, member, today):
    client = client_in(manager)
    response = client.post(
        f"/t/acme/teams/accounts/{s_account.pk}/plan/new/",
        {"title": "2027 计划", "period_start": "2027-01-01", "period_end": "2027-12-31", "objectives": "增长"},
    )
    with tenant_context(tenant):
        plan = s_account.plans.get()
    assert response["Location"] == f"/t/acme/teams/accounts/{s_account.pk}/plan/?plan={plan.pk}"
    base = f"/t/acme/teams/accounts/{s_account.pk}/plan/{plan.pk}/"
    client.post(f"{base}initiatives/new/", {"kind": "shared_data_platform", "title": "共享数据分析平台"}, **HTMX)
    with tenant_context(tenant):
        platform = plan.initiatives.get()
    response = client.post(
        f"{base}actions/new/",
        {
            "title": "数据接口评审",
            "initiative": platform.pk,
            "owner": member.pk,
            "due_on": "2027-03-01",
            "status": "open",
        },
        **HTMX,
    )
    assert "The action was added." in response.content.decode()
    with tenant_context(tenant):
        action = PlanAction.objects.select_related("initiative", "owner").get(plan=plan)
    assert (action.initiative, action.owner, action.due_on) == (platform, member, dt.date(2027, 3, 1))


def test_an_initiative_of_another_plan_is_refused(tenant, plan, s_account, manager):
    other_initiative = InitiativeFactory(tenant=tenant)
    response = client_in(manager).post(
        f"/t/acme/teams/accounts/{s_account.pk}/plan/{plan.pk}/actions/new/",
        {"title": "x", "initiative": other_initiative.pk, "due_on": "2027-03-01", "status": "open"},
        **HTMX,
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


def test_my_actions_lists_my_open_actions_and_i_move_their_status(tenant, team, plan, member):
    client = client_in(member)
    html = client.get("/t/acme/teams/my-actions/").content.decode()
    # the member's open action, not the done one, not the manager's
    assert re.findall(r'<tr id="action-\d+"[^>]*>\s*<td>([^<]+)</td>', html) == ["整理交付数据"]
    with tenant_context(tenant):
        mine = PlanAction.objects.get(title="整理交付数据")
        theirs = PlanAction.objects.get(title="签署协议")
    status_url = f"/t/acme/teams/accounts/{plan.account_id}/plan/{plan.pk}/actions/{mine.pk}/status/"
    response = client.post(status_url, {"status": "done", "from": "my-actions"}, **HTMX)
    assert response["HX-Retarget"] == "#my-actions-body"
    assert "整理交付数据 is now Done." in response.content.decode()
    # a member may not move someone else's action
    other_url = f"/t/acme/teams/accounts/{plan.account_id}/plan/{plan.pk}/actions/{theirs.pk}/status/"
    assert client.post(other_url, {"status": "done"}, **HTMX).status_code == 403


def test_my_actions_queries_do_not_grow_with_the_rows(tenant, s_account, manager, today, django_assert_max_num_queries):
    plan = AccountPlanFactory(tenant=tenant, account=s_account)
    for number in range(2):
        PlanActionFactory(tenant=tenant, plan=plan, owner=manager, title=f"行动 {number}", due_on=today)
    client = client_in(manager)
    client.get("/t/acme/teams/my-actions/")
    with CaptureQueriesContext(connection) as few:
        client.get("/t/acme/teams/my-actions/")
    for number in range(10):
        PlanActionFactory(tenant=tenant, plan=plan, owner=manager, title=f"更多 {number}", due_on=today)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/t/acme/teams/my-actions/").content.decode().count('<tr id="action-') == 12


# --- another tenant --------------------------------------------------------------------------------------


def account_pages(account_id: int, *, member_id: int = 1, link_id: int = 1, plan_id: int = 1, item_id: int = 1):
    base = f"/t/acme/teams/accounts/{account_id}/"
    plan = f"{base}plan/{plan_id}/"
    return {
        "get": [
            base,
            f"{base}members/new/",
            f"{base}members/{member_id}/edit/",
            f"{base}members/{member_id}/remove/",
            f"{base}links/new/",
            f"{base}links/{link_id}/edit/",
            f"{base}links/{link_id}/end/",
            f"{base}plan/",
            f"{base}plan/new/",
            f"{plan}edit/",
            f"{plan}initiatives/new/",
            f"{plan}initiatives/{item_id}/edit/",
            f"{plan}initiatives/{item_id}/delete/",
            f"{plan}actions/new/",
            f"{plan}actions/{item_id}/edit/",
            f"{plan}actions/{item_id}/delete/",
        ],
        "post": [
            f"{base}lead/",
            f"{base}build/",
            f"{base}members/new/",
            f"{base}members/{member_id}/remove/",
            f"{base}links/{link_id}/end/",
            f"{plan}actions/{item_id}/status/",
        ],
    }


@pytest.fixture
def foreign(other_tenant, foreign_account):
    """A whole team and plan of the other tenant."""
    member = TeamMemberFactory(
        tenant=other_tenant, team=AccountTeamFactory(tenant=other_tenant, account=foreign_account)
    )
    link = CounterpartLinkFactory(tenant=other_tenant, member=member)
    plan = AccountPlanFactory(tenant=other_tenant, account=foreign_account)
    initiative = InitiativeFactory(tenant=other_tenant, plan=plan)
    action = PlanActionFactory(tenant=other_tenant, plan=plan)
    return {"member": member, "link": link, "plan": plan, "initiative": initiative, "action": action}


def test_another_tenants_ids_are_404_on_every_page(tenant, admin, foreign_account, foreign):
    # given the admin of acme, using the other tenant's ids
    client = client_in(admin)
    pages = account_pages(
        foreign_account.pk,
        member_id=foreign["member"].pk,
        link_id=foreign["link"].pk,
        plan_id=foreign["plan"].pk,
        item_id=foreign["action"].pk,
    )
    for url in pages["get"]:
        assert client.get(url, **HTMX).status_code == 404, url
    for url in pages["post"]:
        assert client.post(url, {}, **HTMX).status_code == 404, url
    assert client.get(f"/t/acme/teams/accounts/{foreign_account.pk}/plan/?plan={foreign['plan'].pk}").status_code == 404


def test_another_tenants_rows_inside_an_own_account_are_404(tenant, admin, team, s_account, plan, foreign):
    # own account, foreign member, link, plan, initiative and action ids
    client = client_in(admin)
    base = tab_url(s_account)
    for url in (
        f"{base}members/{foreign['member'].pk}/edit/",
        f"{base}links/{foreign['link'].pk}/edit/",
        f"{base}plan/{foreign['plan'].pk}/edit/",
        f"{base}plan/{plan.pk}/initiatives/{foreign['initiative'].pk}/edit/",
        f"{base}plan/{plan.pk}/actions/{foreign['action'].pk}/edit/",
        f"{base}plan/?plan={foreign['plan'].pk}",
    ):
        assert client.get(url, **HTMX).status_code == 404, url


def test_an_outsider_gets_404_on_every_teams_page(tenant, outsider, team, s_account, plan):
    client = client_in(outsider)
    with tenant_context(tenant):
        member_id = TeamMember.objects.get(team=team).pk
        link_id = CounterpartLink.objects.get(member__team=team).pk
        action_id = PlanAction.objects.filter(plan=plan).first().pk
    pages = account_pages(s_account.pk, member_id=member_id, link_id=link_id, plan_id=plan.pk, item_id=action_id)
    for url in [
        *pages["get"],
        "/t/acme/teams/",
        "/t/acme/teams/people/",
        "/t/acme/teams/my-actions/",
        "/t/acme/teams/rules/",
    ]:
        assert client.get(url, **HTMX).status_code == 404, url
    for url in pages["post"]:
        assert client.post(url, {}, **HTMX).status_code == 404, url
