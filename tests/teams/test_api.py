"""Teams API (DESIGN section 8): teams/, team-members/, counterparts/, plans/ with
plan-initiatives/ and plan-actions/, staffing-rules/: field names, writes through the
services, scopes and roles, another tenant's ids (404 in the URL, 400 in the body), and
list query counts that do not grow with the rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import ContactLevel, Tier
from kam.tenancy import tenant_context
from teams.models import CounterpartLink, Function, Level, TeamMember
from tests.conftest import bearer
from tests.factories import AccountFactory, ContactFactory
from tests.teams.factories import (
    AccountPlanFactory,
    AccountTeamFactory,
    CounterpartLinkFactory,
    InitiativeFactory,
    PlanActionFactory,
    TeamMemberFactory,
)

pytestmark = pytest.mark.django_db


def api(token: str) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en", **bearer(token))


def session(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def post(client: Client, url: str, body: dict, method: str = "post"):
    return getattr(client, method)(url, body, content_type="application/json")


@pytest.fixture
def team(tenant, s_account, member, manager):
    team = AccountTeamFactory(tenant=tenant, account=s_account, lead=manager)
    serving = TeamMemberFactory(
        tenant=tenant, team=team, user=member, function=Function.SERVICE, level=Level.OPERATIONAL, allocation=30
    )
    with tenant_context(tenant):
        clerk = s_account.contacts.get(level=ContactLevel.OPERATIONAL)
    CounterpartLinkFactory(tenant=tenant, member=serving, contact=clerk)
    return team


# --- teams ----------------------------------------------------------------------------------------------


def test_a_team_with_its_members_and_coverage(tenant, team, s_account, member, manager, write_token):
    body = api(write_token).get(f"/api/v1/teams/{team.pk}/").json()
    with tenant_context(tenant):
        serving = TeamMember.objects.get(team=team)
    assert body["id"] == team.pk
    assert (body["account"], body["lead"]) == (s_account.pk, manager.pk)
    assert body["members"] == [
        {
            "id": serving.pk,
            "user": member.pk,
            "function": "service",
            "level": "operational",
            "allocation": 30,
            "since": "2025-01-01",
            "until": None,
        }
    ]
    # S: 6 slots, none filled (service is not among the S functions; the link is operational)
    assert body["coverage"]["percent"] == 0
    assert (body["coverage"]["required"], body["coverage"]["filled"]) == (6, 0)
    assert body["coverage"]["gaps"][0] == {
        "kind": "counterpart",
        "function": "",
        "level": "executive",
        "required": 1,
        "filled": 0,
    }


def test_the_matrix_of_a_team(tenant, team, s_account, write_token):
    rows = api(write_token).get(f"/api/v1/teams/{team.pk}/matrix/").json()
    assert [(row["level"], row["gap"]) for row in rows] == [
        ("executive", "nobody_ours"),
        ("managerial", "nobody_ours"),
        ("operational", None),
    ]
    assert len(rows[2]["links"]) == 1 and rows[2]["links"][0]["strength"] == "credible_source"


def test_create_a_team_once_per_account(tenant, rules, manager, write_token):
    account = AccountFactory(tenant=tenant, tier=Tier.A)
    client = api(write_token)
    created = post(client, "/api/v1/teams/", {"account": account.pk, "lead": manager.pk})
    assert created.status_code == 201
    assert (created.json()["account"], created.json()["lead"], created.json()["coverage"]["percent"]) == (
        account.pk,
        manager.pk,
        0,
    )
    again = post(client, "/api/v1/teams/", {"account": account.pk})
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"account": ["This account has a team already."]}


def test_build_a_team_from_the_rules(tenant, rules, manager, write_token):
    account = AccountFactory(tenant=tenant, tier=Tier.A)
    team = AccountTeamFactory(tenant=tenant, account=account)
    response = post(api(write_token), f"/api/v1/teams/{team.pk}/build/", {})
    assert response.status_code == 200
    assert sorted(member["function"] for member in response.json()["members"]) == ["delivery", "sales", "technical"]
    assert response.json()["coverage"]["percent"] == 100


def test_a_read_token_cannot_write(tenant, rules, read_token):
    account = AccountFactory(tenant=tenant, tier=Tier.A)
    response = post(api(read_token), "/api/v1/teams/", {"account": account.pk})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This token is read-only; writing needs a token with the write scope."


def test_teams_filter_by_tier_and_member(tenant, team, member, rules, write_token):
    other = AccountTeamFactory(tenant=tenant, account=AccountFactory(tenant=tenant, tier=Tier.A))
    client = api(write_token)
    assert [row["id"] for row in client.get("/api/v1/teams/?tier=A").json()["results"]] == [other.pk]
    assert [row["id"] for row in client.get(f"/api/v1/teams/?member={member.pk}").json()["results"]] == [team.pk]


def test_teams_list_queries_do_not_grow(tenant, rules, write_token, django_assert_max_num_queries):
    def add(count: int) -> None:
        for _number in range(count):
            account = AccountFactory(tenant=tenant, tier=Tier.S)
            member = TeamMemberFactory(tenant=tenant, team=AccountTeamFactory(tenant=tenant, account=account))
            CounterpartLinkFactory(tenant=tenant, member=member)

    add(2)
    client = api(write_token)
    client.get("/api/v1/teams/")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/teams/")
    add(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/v1/teams/").json()["results"]) == 12


# --- team members ---------------------------------------------------------------------------------------


def test_add_a_member_and_see_their_total_allocation(tenant, team, member, write_token, today):
    # given the member serves at 30 % already
    response = post(
        api(write_token),
        "/api/v1/team-members/",
        {"team": team.pk, "user": member.pk, "function": "technical", "allocation": 80},
    )
    # then they are added at the function's usual level from today, and flagged: 30 + 80 = 110 %
    assert response.status_code == 201
    body = response.json()
    assert (body["level"], body["since"], body["until"], body["active"]) == (
        "managerial",
        today.isoformat(),
        None,
        True,
    )
    assert (body["account"], body["total_allocation"], body["over_allocated"]) == (team.account_id, 110, True)


def test_change_and_remove_a_member(tenant, team, member, write_token, today):
    with tenant_context(tenant):
        serving = TeamMember.objects.get(team=team)
    client = api(write_token)
    changed = post(client, f"/api/v1/team-members/{serving.pk}/", {"allocation": 50}, "patch")
    assert (changed.status_code, changed.json()["allocation"], changed.json()["total_allocation"]) == (200, 50, 50)
    # the person of a membership does not change
    moved = post(client, f"/api/v1/team-members/{serving.pk}/", {"user": 1, "allocation": 40}, "patch")
    assert moved.json()["user"] == member.pk
    assert client.delete(f"/api/v1/team-members/{serving.pk}/").status_code == 204
    after = client.get(f"/api/v1/team-members/{serving.pk}/").json()
    assert (after["until"], after["active"]) == ((today - dt.timedelta(days=1)).isoformat(), False)
    assert [row["id"] for row in client.get("/api/v1/team-members/?active=true").json()["results"]] == []


def test_members_filter_by_user_function_and_account(tenant, team, member, manager, write_token):
    TeamMemberFactory(tenant=tenant, user=manager, function=Function.SALES)
    client = api(write_token)
    assert [
        row["user"] for row in client.get(f"/api/v1/team-members/?account={team.account_id}").json()["results"]
    ] == [member.pk]
    assert [row["user"] for row in client.get("/api/v1/team-members/?function=sales").json()["results"]] == [manager.pk]
    assert client.get("/api/v1/team-members/?function=juggler").status_code == 400


def test_a_member_session_reads_their_teams_and_writes_nothing(tenant, team, member, rules):
    AccountTeamFactory(tenant=tenant, account=AccountFactory(tenant=tenant, tier=Tier.A))
    client = session(member)
    assert [row["id"] for row in client.get("/api/v1/teams/").json()["results"]] == [team.pk]
    response = post(client, "/api/v1/team-members/", {"team": team.pk, "user": member.pk, "function": "sales"})
    assert response.status_code == 403


def test_a_manager_session_writes_only_the_teams_of_their_accounts(tenant, team, manager, director, rules):
    # the manager owns the team's account; another account is the director's
    theirs = AccountTeamFactory(tenant=tenant, account=AccountFactory(tenant=tenant, tier=Tier.A, owner=director))
    client = session(manager)
    own = post(client, "/api/v1/team-members/", {"team": team.pk, "user": manager.pk, "function": "sales"})
    assert own.status_code == 201
    other = post(client, "/api/v1/team-members/", {"team": theirs.pk, "user": manager.pk, "function": "sales"})
    assert other.status_code == 403
    assert other.json()["error"]["message"] == "You may only change the teams and plans of accounts you write."


# --- counterparts ---------------------------------------------------------------------------------------


def test_link_change_and_end_a_counterpart(tenant, team, s_account, write_token, today):
    with tenant_context(tenant):
        serving = TeamMember.objects.get(team=team)
        chief = s_account.contacts.get(level=ContactLevel.EXECUTIVE)
    client = api(write_token)
    created = post(client, "/api/v1/counterparts/", {"member": serving.pk, "contact": chief.pk, "strength": "vendor"})
    assert created.status_code == 201
    body = created.json()
    assert (body["account"], body["level"], body["strength"], body["target_strength"]) == (
        s_account.pk,
        "executive",
        "vendor",
        "trusted_advisor",
    )
    assert (body["started_on"], body["ended_on"], body["active"]) == (today.isoformat(), None, True)
    changed = post(client, f"/api/v1/counterparts/{body['id']}/", {"strength": "problem_solver"}, "patch")
    assert changed.json()["strength"] == "problem_solver"
    ended = post(client, f"/api/v1/counterparts/{body['id']}/end/", {})
    assert (ended.json()["ended_on"], ended.json()["active"]) == (today.isoformat(), False)
    assert client.delete(f"/api/v1/counterparts/{body['id']}/").status_code == 405
    assert [row["id"] for row in client.get("/api/v1/counterparts/?active=false").json()["results"]] == [body["id"]]


def test_a_contact_of_another_account_is_refused(tenant, team, write_token):
    with tenant_context(tenant):
        serving = TeamMember.objects.get(team=team)
    stranger = ContactFactory(tenant=tenant, name="别家联系人")
    response = post(api(write_token), "/api/v1/counterparts/", {"member": serving.pk, "contact": stranger.pk})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"contact": ["Choose a contact of this team's account."]}


def test_a_contact_who_left_shows_the_link_inactive(tenant, team, write_token, today):
    with tenant_context(tenant):
        link = CounterpartLink.objects.select_related("contact").get(member__team=team)
        type(link.contact).objects.filter(pk=link.contact_id).update(left_on=today - dt.timedelta(days=2))
    body = api(write_token).get(f"/api/v1/counterparts/{link.pk}/").json()
    assert (body["active"], body["ended_on"]) == (False, None)


# --- plans ------------------------------------------------------------------------------------------


def test_a_plan_with_its_initiatives_and_actions(tenant, s_account, manager, write_token, today):
    client = api(write_token)
    created = post(
        client,
        "/api/v1/plans/",
        {"account": s_account.pk, "title": "2026 计划", "period_start": "2026-01-01", "period_end": "2026-12-31"},
    )
    assert created.status_code == 201
    plan_id = created.json()["id"]
    lab = post(client, "/api/v1/plan-initiatives/", {"plan": plan_id, "kind": "joint_lab", "title": "联合实验室"})
    assert lab.status_code == 201
    late = post(
        client,
        "/api/v1/plan-actions/",
        {
            "plan": plan_id,
            "initiative": lab.json()["id"],
            "title": "签署协议",
            "owner": manager.pk,
            "due_on": (today - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert (late.status_code, late.json()["status"], late.json()["overdue"]) == (201, "open", True)
    body = client.get(f"/api/v1/plans/{plan_id}/").json()
    assert list(body) == [
        "id",
        "account",
        "title",
        "period_start",
        "period_end",
        "objectives",
        "initiatives",
        "actions",
        "created_at",
        "updated_at",
    ]
    assert body["initiatives"] == [
        {"id": lab.json()["id"], "kind": "joint_lab", "title": "联合实验室", "description": ""}
    ]
    assert body["actions"] == [
        {
            "id": late.json()["id"],
            "initiative": lab.json()["id"],
            "title": "签署协议",
            "owner": manager.pk,
            "due_on": (today - dt.timedelta(days=1)).isoformat(),
            "status": "open",
            "overdue": True,
        }
    ]
    assert [
        row["id"] for row in client.get(f"/api/v1/plan-actions/?owner={manager.pk}&overdue=true").json()["results"]
    ] == [late.json()["id"]]


def test_an_initiative_of_another_plan_is_refused(tenant, s_account, write_token):
    plan = AccountPlanFactory(tenant=tenant, account=s_account)
    elsewhere = InitiativeFactory(tenant=tenant)
    response = post(
        api(write_token),
        "/api/v1/plan-actions/",
        {"plan": plan.pk, "initiative": elsewhere.pk, "title": "x", "due_on": "2026-05-01"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"initiative": ["Choose an initiative of this plan."]}


def test_an_owner_moves_the_status_of_their_action_only(tenant, team, s_account, member):
    plan = AccountPlanFactory(tenant=tenant, account=s_account)
    action = PlanActionFactory(tenant=tenant, plan=plan, owner=member)
    client = session(member)
    moved = post(client, f"/api/v1/plan-actions/{action.pk}/", {"status": "in_progress"}, "patch")
    assert (moved.status_code, moved.json()["status"]) == (200, "in_progress")
    renamed = post(client, f"/api/v1/plan-actions/{action.pk}/", {"title": "改名"}, "patch")
    assert renamed.status_code == 403
    assert client.delete(f"/api/v1/plan-actions/{action.pk}/").status_code == 403


def test_plans_list_queries_do_not_grow(tenant, write_token, django_assert_max_num_queries):
    def add(count: int) -> None:
        for _number in range(count):
            plan = AccountPlanFactory(tenant=tenant)
            InitiativeFactory(tenant=tenant, plan=plan)
            PlanActionFactory(tenant=tenant, plan=plan)

    add(2)
    client = api(write_token)
    client.get("/api/v1/plans/")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/plans/")
    add(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/v1/plans/").json()["results"]) == 12


@pytest.mark.parametrize("resource", ["team-members", "counterparts", "plan-actions", "plan-initiatives"])
def test_other_lists_queries_do_not_grow(tenant, write_token, resource, django_assert_max_num_queries):
    def add(count: int) -> None:
        for _number in range(count):
            CounterpartLinkFactory(tenant=tenant)
            InitiativeFactory(tenant=tenant)
            PlanActionFactory(tenant=tenant)

    add(2)
    client = api(write_token)
    client.get(f"/api/v1/{resource}/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/api/v1/{resource}/")
    add(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(f"/api/v1/{resource}/").json()["results"]) == 12


# --- staffing rules ------------------------------------------------------------------------------------


def test_staffing_rules_are_edited_by_directors(tenant, rules, director, manager):
    assert len(session(manager).get("/api/v1/staffing-rules/").json()["results"]) == 9
    body = {"tier": "B", "kind": "member", "function": "sales", "level": "", "minimum_count": 1}
    assert post(session(manager), "/api/v1/staffing-rules/", body).status_code == 403
    created = post(session(director), "/api/v1/staffing-rules/", body)
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], **body}


# --- another tenant -------------------------------------------------------------------------------------


@pytest.fixture
def foreign(other_tenant, foreign_account):
    member = TeamMemberFactory(
        tenant=other_tenant, team=AccountTeamFactory(tenant=other_tenant, account=foreign_account)
    )
    link = CounterpartLinkFactory(tenant=other_tenant, member=member)
    plan = AccountPlanFactory(tenant=other_tenant, account=foreign_account)
    return {
        "teams": member.team_id,
        "team-members": member.pk,
        "counterparts": link.pk,
        "plans": plan.pk,
        "plan-initiatives": InitiativeFactory(tenant=other_tenant, plan=plan).pk,
        "plan-actions": PlanActionFactory(tenant=other_tenant, plan=plan).pk,
        "contact": link.contact_id,
        "account": foreign_account.pk,
    }


def test_another_tenants_ids_are_404_and_its_rows_never_listed(tenant, team, foreign, write_token):
    client = api(write_token)
    deleted = {}
    for resource in ("teams", "team-members", "counterparts", "plans", "plan-initiatives", "plan-actions"):
        url = f"/api/v1/{resource}/{foreign[resource]}/"
        assert client.get(url).status_code == 404, url
        assert post(client, url, {}, "patch").status_code == 404, url
        deleted[resource] = client.delete(url).status_code
        listed = {row["id"] for row in client.get(f"/api/v1/{resource}/").json()["results"]}
        assert foreign[resource] not in listed, resource
    # counterpart links are ended, not deleted (the route has no DELETE): 405 before any lookup
    assert deleted == {
        "teams": 404,
        "team-members": 404,
        "counterparts": 405,
        "plans": 404,
        "plan-initiatives": 404,
        "plan-actions": 404,
    }
    assert client.get(f"/api/v1/teams/{foreign['teams']}/matrix/").status_code == 404
    assert post(client, f"/api/v1/teams/{foreign['teams']}/build/", {}).status_code == 404
    assert post(client, f"/api/v1/counterparts/{foreign['counterparts']}/end/", {}).status_code == 404
    assert client.get(f"/api/v1/teams/?account={foreign['account']}").json()["results"] == []


def test_another_tenants_ids_in_a_body_are_400(tenant, team, member, foreign, write_token):
    client = api(write_token)
    with tenant_context(tenant):
        serving = TeamMember.objects.get(team=team)
    cases = [
        ("teams", {"account": foreign["account"]}, "account"),
        ("team-members", {"team": foreign["teams"], "user": member.pk, "function": "sales"}, "team"),
        ("counterparts", {"member": serving.pk, "contact": foreign["contact"]}, "contact"),
        ("plans", {"account": foreign["account"], "period_start": "2026-01-01", "period_end": "2026-12-31"}, "account"),
        ("plan-initiatives", {"plan": foreign["plans"], "kind": "other", "title": "x"}, "plan"),
        ("plan-actions", {"plan": foreign["plans"], "title": "x", "due_on": "2026-01-01"}, "plan"),
    ]
    for resource, body, field in cases:
        response = post(client, f"/api/v1/{resource}/", body)
        assert response.status_code == 400, resource
        assert response.json()["error"]["fields"][field][0].startswith("Invalid pk"), resource


def test_the_schema_documents_the_teams_resources(db):
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/teams/{id}/matrix/", "/api/v1/counterparts/{id}/end/", "/api/v1/plan-actions/"):
        assert path in schema
