"""The account manager's home: their accounts (owned or served on), alerts, expected purchases,
renewals and actions — worked out by hand from the `portfolio` of conftest."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from kam.tenancy import tenant_context
from teams.models import TeamMember
from tests.dashboards.conftest import HTMX, client_in
from tests.teams.factories import AccountPlanFactory, PlanActionFactory

pytestmark = pytest.mark.django_db


def csv_rows(client, key: str) -> list[list[str]]:
    response = client.get(f"/t/acme/dashboards/parts/{key}/?format=csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_my_accounts_by_tier_and_health(portfolio, manager):
    rows = csv_rows(client_in(manager), "my-health")
    # m1 S red, m2 A green (owned), m3 B green (served on); n1 is someone else's, and the
    # account the manager owns in the other tenant does not exist here.
    assert rows[1:] == [
        ["S", "0", "0", "1", "1"],
        ["A", "1", "0", "0", "1"],
        ["B", "1", "0", "0", "1"],
        ["C", "0", "0", "0", "0"],
    ]


def test_my_health_links_narrow_the_list_to_the_managers_accounts(portfolio, manager):
    html = client_in(manager).get("/t/acme/dashboards/parts/my-health/", **HTMX).content.decode()
    assert f'href="/t/acme/accounts/?owner={manager.pk}&amp;tier=S&amp;health_band=red"' in html


def test_my_open_alerts_most_severe_first(portfolio, manager):
    rows = csv_rows(client_in(manager), "my-alerts")
    assert rows[0] == ["Severity", "Alert", "Account", "Opened"]
    # m1 critical; m2 warning (acknowledged is still open); n1's alert assigned to the
    # manager. Not: m3's resolved alert, n1's unassigned one. The formula in m1's name is
    # neutralised in the CSV.
    assert [row[:3] for row in rows[1:]] == [
        ["Critical", "Health in the red", '\'=HYPERLINK("http://evil")'],
        ["Warning", "Payment overdue", "我的二号客户"],
        ["Info", "Contract expiring", "别人的客户"],
    ]


def test_expected_purchases_in_the_next_90_days(portfolio, manager, today):
    client = client_in(manager)
    rows = csv_rows(client, "my-purchases")
    assert rows[0] == ["Expected on", "When", "Account", "Usual interval (days)", "Last order"]
    # m1: its latest assessment (in 10 days; the older one said 50); m2 in 60 days. m3's
    # is in 100 days, n1 is not the manager's.
    assert [row[:3] for row in rows[1:]] == [
        [(today + dt.timedelta(days=10)).isoformat(), "10", '\'=HYPERLINK("http://evil")'],
        [(today + dt.timedelta(days=60)).isoformat(), "60", "我的二号客户"],
    ]
    html = client.get("/t/acme/dashboards/parts/my-purchases/", **HTMX).content.decode()
    assert "1 in the next 30 days, 2 in the next 90 days." in html


def test_contract_renewals_in_the_next_90_days(portfolio, manager, today):
    rows = csv_rows(client_in(manager), "my-renewals")
    assert rows[0] == ["Ends on", "When", "Account", "Contract", "Value", "Auto-renew"]
    assert [row[:4] for row in rows[1:]] == [
        [(today + dt.timedelta(days=20)).isoformat(), "20", '\'=HYPERLINK("http://evil")', "'+年度框架协议"],
        [(today + dt.timedelta(days=80)).isoformat(), "80", "我的二号客户", "二号合同"],
    ]


def test_key_figures_of_the_manager(portfolio, manager, tenant, today):
    plan = AccountPlanFactory(tenant=tenant, account=portfolio.m1)
    PlanActionFactory(tenant=tenant, plan=plan, owner=manager, due_on=today - dt.timedelta(days=1))
    PlanActionFactory(tenant=tenant, plan=plan, owner=manager, due_on=today + dt.timedelta(days=20))
    PlanActionFactory(tenant=tenant, plan=plan, owner=manager, due_on=today + dt.timedelta(days=40))
    PlanActionFactory(tenant=tenant, plan=plan, owner=manager, due_on=today, status="done")
    figures = {row[0]: row[1:] for row in csv_rows(client_in(manager), "my-kpis")[1:]}
    assert figures == {
        "My accounts": ["3", "2 S or A · 1 in the red"],
        "Open alerts": ["3", "1 critical"],
        "Purchases expected in 30 days": ["1", "2 in 90 days"],
        "Contracts ending in 30 days": ["1", "2 in 90 days"],
        # due within 30 days: the overdue one and the one in 20 days; the done one is not open.
        "Plan actions due in 30 days": ["2", "1 overdue"],
    }


def test_a_team_member_sees_the_accounts_they_serve_on(portfolio, member, today, tenant):
    with tenant_context(tenant):
        TeamMember.objects.create(
            tenant=tenant, team=portfolio.team, user=member, function="technical", level="operational", since=today
        )
    client = client_in(member)
    rows = csv_rows(client, "my-health")
    assert [row[0] for row in rows[1:] if row[-1] != "0"] == ["B"]  # m3 only
    html = client.get("/t/acme/dashboards/parts/my-health/", **HTMX).content.decode()
    # their list shows only their accounts already: no owner filter in the links
    assert 'href="/t/acme/accounts/?tier=B&amp;health_band=green"' in html
    assert csv_rows(client, "my-renewals")[1:] == []  # m3's contract ends in 200 days


def test_nothing_yet(tenant, manager):
    html = client_in(manager).get("/t/acme/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My dashboard" in html
    assert "No accounts yet: the accounts you own or whose team you serve on appear here." in html
    assert "No open alerts on your accounts." in html
    assert "No purchase expected in the next 90 days" in html
    assert "No contract ends in the next 90 days." in html
