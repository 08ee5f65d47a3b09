"""What people do in KAM, in a real browser (issue #7): a manager's event moves a tier on
the page, a member sees only the accounts of their teams, the language switch, and an
outsider's URL. The executive's dashboards are in test_dashboards.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kam.tenancy import tenant_context
from tests import factories
from tests.browser.conftest import log_in
from tests.teams.factories import TeamMemberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_managers_major_investment_event_moves_the_tier_on_the_page(live_server, open_page, tenant, manager):
    account = factories.scored_account_in_b(tenant, manager)
    page = open_page()
    log_in(page, live_server.url, manager.email)
    page.page.goto(f"{live_server.url}/t/{tenant.slug}/accounts/{account.pk}/")
    badges = page.page.locator(".account-badges")
    expect(badges).to_contain_text("B")

    page.page.get_by_role("link", name="Record event").click()
    form = page.page.locator("#quick-form form")
    form.locator("textarea[name=note]").fill("新建智能工厂，三年投资十亿元")
    # Choosing the kind asks the server for the form again with that kind's defaults (htmx);
    # the answer replaces the form, the note carried along: wait for it before submitting.
    with page.page.expect_response(
        lambda response: "/events/new/" in response.url and response.request.method == "GET"
    ):
        form.locator("select[name=kind]").select_option("major_investment")
    expect(page.page.locator("#event-defaults")).to_contain_text("10")
    expect(form.locator("textarea[name=note]")).to_have_value("新建智能工厂，三年投资十亿元")
    form.get_by_role("button", name="Record event").click()
    expect(page.page.locator("#quick-form")).to_contain_text("was recorded (+10 points)")

    # 58.75 + 10 = 68.75 >= 65: tier A, shown without reloading the page (the live refresh polls every 20 s).
    expect(badges.locator(".badge--tier")).to_have_text("A · Key", timeout=30_000)
    page.shot("tier-moved")
    with tenant_context(tenant):
        account.refresh_from_db()
    assert (account.tier, account.score) == ("A", Decimal("68.75"))


def test_a_member_sees_only_the_accounts_of_their_teams(live_server, open_page, tenant, member):
    served = factories.AccountFactory(tenant=tenant, name="杭州海康精密")
    other = factories.AccountFactory(tenant=tenant, name="苏州远景能源")
    TeamMemberFactory(tenant=tenant, team__account=served, user=member)
    page = open_page()
    log_in(page, live_server.url, member.email)
    page.page.goto(f"{live_server.url}/t/{tenant.slug}/accounts/")
    table = page.page.locator("main")
    expect(table).to_contain_text(served.name)
    expect(table).not_to_contain_text(other.name)
    page.shot("member-accounts")

    page.page.get_by_role("link", name=served.name).first.click()
    page.page.get_by_role("tab", name="Team", exact=True).click()
    expect(page.page.locator("main")).to_contain_text(member.full_name)
    page.shot("member-team")

    page.expect_not_found()
    response = page.page.goto(f"{live_server.url}/t/{tenant.slug}/accounts/{other.pk}/")
    assert response is not None and response.status == 404


def test_switching_the_language_shows_chinese_labels(live_server, open_page, tenant, director):
    page = open_page()
    log_in(page, live_server.url, director.email)
    page.page.goto(f"{live_server.url}/t/{tenant.slug}/accounts/")
    nav = page.page.get_by_role("navigation", name="Main navigation")
    expect(nav).to_contain_text("Accounts")
    page.page.get_by_role("button", name="中文").click()
    nav = page.page.get_by_role("navigation", name="主导航")
    expect(nav).to_contain_text("客户")
    expect(page.page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.shot("chinese")
    page.page.get_by_role("button", name="English").click()
    expect(page.page.get_by_role("navigation", name="Main navigation")).to_contain_text("Accounts")


def test_an_outsiders_url_gives_the_404_page(live_server, open_page, tenant, outsider):
    account = factories.AccountFactory(tenant=tenant, name="外人不可见客户")
    page = open_page()
    page.expect_not_found()
    log_in(page, live_server.url, outsider.email)
    for path in (f"/t/{tenant.slug}/", f"/t/{tenant.slug}/accounts/{account.pk}/"):
        response = page.page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 404
        expect(page.page.locator("main")).to_contain_text("not found", ignore_case=True)
        expect(page.page.locator("body")).not_to_contain_text(account.name)
    page.shot("outsider-404")
