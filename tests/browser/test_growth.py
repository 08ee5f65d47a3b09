"""The pipeline in a real browser (Chromium, tests/browser/conftest.py): a card dragged to
another column moves its opportunity's stage (static/growth/js/pipeline.js submits the card's
form through htmx, which answers the board again); the board in English and Chinese, with
no console error. Screenshots go to var/test-artifacts/browser/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from growth import opportunities as opps
from growth.models import Opportunity
from kam.tenancy import tenant_context
from tests import factories
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_card_dragged_to_another_column_moves_its_stage(live_server, open_page, tenant, manager):
    with tenant_context(tenant):
        account = factories.AccountFactory(tenant=tenant, name="宁波精工集团", owner=manager, tier="A")
        opportunity = opps.opportunity_create(
            tenant,
            account=account,
            title="伺服产线升级",
            amount=Decimal("800000"),
            expected_close=dt.date(2027, 3, 31),
            owner=manager,
        )
    page = open_page()
    log_in(page, live_server.url, manager.email)
    page.page.goto(f"{live_server.url}/t/{tenant.slug}/growth/pipeline/")
    card = page.page.locator(f"#opportunity-{opportunity.pk}")
    expect(card).to_be_visible()
    expect(page.page.locator(".pipeline-column--lead .pipeline-count")).to_have_text("1")
    page.shot("board before")
    card.drag_to(page.page.locator(".pipeline-column--proposal .pipeline-cards"))
    expect(page.page.locator(".pipeline-column--proposal .pipeline-count")).to_have_text("1")
    expect(page.page.locator(".pipeline-column--lead .pipeline-count")).to_have_text("0")
    expect(page.page.locator("#pipeline-board .alert--success")).to_be_visible()
    page.shot("board after the drag")
    with tenant_context(tenant):
        assert Opportunity.objects.get(pk=opportunity.pk).stage == "proposal"
    # the card's select moves it too (the form the drag submits)
    page.page.select_option(f"#stage-{opportunity.pk}", "won")
    page.page.click(f"#opportunity-{opportunity.pk} button[type=submit]")
    expect(page.page.locator(".pipeline-column--won .pipeline-count")).to_have_text("1")
    with tenant_context(tenant):
        assert Opportunity.objects.get(pk=opportunity.pk).stage == "won"

    chinese = open_page(locale="zh-CN")
    log_in(chinese, live_server.url, manager.email)
    chinese.page.goto(f"{live_server.url}/t/{tenant.slug}/growth/pipeline/")
    expect(chinese.page.locator("#pipeline-board")).to_contain_text("伺服产线升级")
    chinese.shot("board in chinese")


def test_the_opportunity_form_loads_the_centres_of_the_account_chosen(live_server, open_page, tenant, manager):
    from growth.models import BuyingCentre

    with tenant_context(tenant):
        first = factories.AccountFactory(tenant=tenant, name="甲客户", owner=manager)
        second = factories.AccountFactory(tenant=tenant, name="乙客户", owner=manager)
        BuyingCentre.objects.create(tenant=tenant, account=first, code="A1", name="甲一厂")
        BuyingCentre.objects.create(tenant=tenant, account=second, code="B1", name="乙研发部")
    page = open_page()
    log_in(page, live_server.url, manager.email)
    page.page.goto(f"{live_server.url}/t/{tenant.slug}/growth/opportunities/new/?account={first.pk}")
    centres = page.page.locator("#id_buying_centre")
    expect(centres).to_contain_text("甲一厂")
    page.page.select_option("#id_account", str(second.pk))
    expect(centres).to_contain_text("乙研发部")
    expect(centres).not_to_contain_text("甲一厂")
    page.page.select_option("#id_buying_centre", label="乙研发部 (B1)")
    page.page.fill("#id_title", "研发中心数字化")
    page.page.fill("#id_amount", "300000")
    page.shot("new opportunity")
    page.page.click("button.btn--primary[type=submit]")
    expect(page.page.locator("h1")).to_have_text("研发中心数字化")
    page.shot("opportunity page")
    with tenant_context(tenant):
        made = Opportunity.objects.get()
        assert (made.account_id, made.buying_centre.code) == (second.pk, "B1")
