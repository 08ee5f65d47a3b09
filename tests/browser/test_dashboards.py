"""The executive's dashboard in a real browser (issue #7): every chart renders with no
console error, in English and in Chinese, the tables and the exports are there."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today
from risk import services as risk
from scoring import services as scoring
from scoring.demo import quarter_ends
from tests import factories
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def portfolio(tenant: Tenant) -> None:
    """Twelve customers, one group, two years of orders, ratings; scored at the end of last
    quarter and today, then a risk run: every dashboard card has something to show."""
    today = tenant_today(tenant)
    with tenant_context(tenant):
        scoring.scorecard_seed_default(tenant)
        risk.risk_policy_seed_default(tenant)
    group = factories.AccountFactory(tenant=tenant, name="中车华北集团", cooperation_since=dt.date(2018, 3, 1))
    for index in range(12):
        account = factories.AccountFactory(
            tenant=tenant,
            name=f"华东客户 {index + 1:02d}",
            parent=group if index < 3 else None,
            cooperation_since=today - dt.timedelta(days=300 * (index + 1)),
        )
        for month in range(0, 24, 2):
            factories.OrderFactory(
                tenant=tenant,
                account=account,
                order_date=today - dt.timedelta(days=30 * month + index),
                amount=Decimal(4_000_000 // (index + 1) + 50_000 * month),
            )
        with tenant_context(tenant):
            for criterion in ("industry_position", "tech_leadership", "payment_credit"):
                scoring.rating_add(tenant, account=account, criterion=criterion, value=2 + index % 4)
    with tenant_context(tenant):
        for as_of in [*quarter_ends(today, 1), today]:
            scoring.score_run_execute(tenant, run=scoring.score_run_create(tenant, as_of=as_of))
        risk.risk_run_execute(tenant, run=risk.risk_run_create(tenant))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_executive_sees_every_dashboard_chart_render(live_server, open_page, tenant, executive, language):
    portfolio(tenant)
    page = open_page()
    log_in(page, live_server.url, executive.email)
    if language == "zh-hans":
        page.page.get_by_role("button", name="中文").click()
    page.page.goto(f"{live_server.url}/t/{tenant.slug}/")
    # Lazy parts (the revenue forecast) load themselves after the page: count once they are in.
    expect(page.page.locator(".dash-card[hx-trigger='load']")).to_have_count(0)

    charts = page.page.locator("[data-chart]")
    expect(charts.first).to_be_visible()
    count = charts.count()
    assert count >= 6, f"only {count} charts on the executive dashboard"
    for index in range(count):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        expect(chart).to_have_attribute("data-chart-ready", "true")
        expect(chart.locator("canvas")).to_have_count(1)
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 150, box

    # Every chart has its table and its two exports beside it.
    assert page.page.locator("[data-chart-png]").count() == count
    for link in page.page.locator("a[href*='format=csv']").all():
        response = page.page.request.get(live_server.url + link.get_attribute("href"))
        assert response.status == 200 and "text/csv" in response.headers["content-type"]
    heading = "管理驾驶舱" if language == "zh-hans" else "Executive dashboard"
    expect(page.page.locator("h1")).to_contain_text(heading)
    page.shot(f"executive-{language}")
