"""The account page's risk tab and the contingency plan editor: the health assessment with
each signal's weight and contribution, the band history, the purchase rhythm in words, the
open alerts, the plans (add, edit, delete; bad input changes nothing), roles as the API's
(accounts.access; plans: writers on the accounts they write) and tenant isolation.

The account's record, worked by hand (DESIGN section 6), D = 2026-06-30:
orders on D-90, D-60, D-30 (2026-04-01, 05-01, 05-31), a complaint on D-10.
- revenue trend: all orders in the last 6 months, none before: g = 1.0 -> 100 points;
- purchase rhythm: gaps 30, 30 -> I = 30; r = 30 / 30 = 1.00 -> 100; next = D-30 + 30 = D;
- payment: no invoice -> no data, its weight 20 drops out;
- engagement: 10 days -> 100; relationship: no counterpart link -> 0;
- weights used 25 + 25 + 15 + 15 = 80: mean = (2500 + 2500 + 1500 + 0) / 80 = 81.25,
  contributions 31.25, 31.25, 18.75, 0 (each signal's share of the score 31.25 %, 31.25 %,
  18.75 %, 18.75 %); one complaint: - 10 -> 71.25, green.
As of D-35 (2026-05-26) only two order dates and no interaction yet: revenue 100, rhythm
and payment no data, engagement 0, relationship 0: 2500 / 55 = 45.45, yellow; so the
change at D is 71.25 - 45.45 = +25.80.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import InteractionKind
from kam.models import Role
from kam.tenancy import tenant_context
from risk import notifications, services
from risk.models import ContingencyPlan, RiskAlert, RunKind
from tests.factories import AccountFactory, InteractionFactory, OrderFactory
from tests.risk.conftest import D, run

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def url(name: str, slug: str = "acme", **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": slug, **kwargs})


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def tab(client: Client, account, **extra) -> str:
    response = client.get(url("risk-account-tab", account_id=account.pk), **HTMX, **extra)
    assert response.status_code == 200
    return response.content.decode()


def signal(html: str, key: str) -> str:
    row = re.search(rf'<tr data-signal="{key}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, key
    return text(row.group(1))


def plans_of(tenant, account=None) -> list[ContingencyPlan]:
    with tenant_context(tenant):
        plans = ContingencyPlan.objects.order_by("id")
        return list(plans.filter(account=account) if account else plans)


def days_before(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


@pytest.fixture
def account(tenant, policy, manager):
    account = AccountFactory(tenant=tenant, name="恒通汽车零部件", owner=manager)
    for days in (90, 60, 30):
        OrderFactory(tenant=tenant, account=account, order_date=days_before(days), amount=Decimal("1000"))
    InteractionFactory(
        tenant=tenant,
        account=account,
        kind=InteractionKind.COMPLAINT,
        occurred_at=dt.datetime.combine(days_before(10), dt.time(12), tzinfo=SHANGHAI),
    )
    return account


@pytest.fixture
def assessed(account, tenant):
    run(tenant, as_of=days_before(35), kind=RunKind.HEALTH)
    run(tenant, as_of=D, kind=RunKind.HEALTH)
    return account


@pytest.fixture
def plan(account, tenant, manager):
    return services.contingency_plan_create(
        tenant,
        account=account,
        kind="alternative_market",
        title="新能源客户开发",
        owner=manager,
        actions="一季度拜访三家新能源整车厂",
        review_on=dt.date(2026, 9, 30),
    )


# --- the health assessment -------------------------------------------------------------------------------


def test_the_tab_shows_the_score_and_every_signal(assessed, director):
    html = tab(client_in(director), assessed)
    page = text(html)
    assert "Health score 71.25 / 100 Healthy" in page
    assert "Since the assessment before +25.80 from 45.45" in page
    assert "Expected next purchase 2026-06-30 every 30 days as a rule" in page
    # raw value, points, weight (and its share of the score), contribution / the most it can bring
    assert signal(html, "revenue_trend") == (
        "Revenue trend +100.0% last 6 months ¥3,000.00, the 6 before ¥0.00 100.00 25 31.3% of the score 31.25 / 31.25"
    )
    assert signal(html, "purchase_rhythm") == (
        "Purchase rhythm 1.00 × the usual interval 30 days since the last order; usually every 30 days "
        "100.00 25 31.3% of the score 31.25 / 31.25"
    )
    assert signal(html, "payment") == (
        "Payment no data (weight redistributed) no invoice due in the last 12 months "
        "· its weight 20 is shared by the other signals"
    )
    assert (
        signal(html, "engagement")
        == "Engagement 10 days since the last interaction 100.00 15 18.8% of the score 18.75 / 18.75"
    )
    assert signal(html, "relationship").startswith("Relationship 0 of 3 levels linked")
    assert signal(html, "relationship").endswith("0.00 15 18.8% of the score 0.00 / 18.75")
    assert signal(html, "service") == (
        "Service no data (weight redistributed) no rated need resolved in the last 180 days "
        "· its weight 15 is shared by the other signals"
    )
    assert 'class="signal--no-data"' in html
    assert "Weighted mean (weights used: 80 of 115) 81.25" in page
    assert "Complaint penalty (1 complaint in the last 90 days) −10.00" in page
    assert "Health score (0–100) 71.25" in page


def test_the_purchase_rhythm_in_words(assessed, director):
    page = text(tab(client_in(director), assessed))
    assert "Usually orders every 30 days; next order expected around 2026-06-30." in page
    assert "Last order on 2026-05-31: on 2026-06-30 that was 30 days ago, 1.00 × the usual interval. On rhythm" in page


def test_a_late_purchase_is_said_so(account, tenant, director):
    # as of D+20: 50 days since the last order, r = 50 / 30 = 1.67 > 1.5 (the policy's line)
    run(tenant, as_of=D + dt.timedelta(days=20), kind=RunKind.HEALTH)
    page = text(tab(client_in(director), account))
    assert "that was 50 days ago, 1.67 × the usual interval. Overdue (more than 1.5 × the interval)" in page


def test_too_few_orders_for_a_rhythm(tenant, policy, director):
    account = AccountFactory(tenant=tenant, name="新客户")
    for days in (60, 30):
        OrderFactory(tenant=tenant, account=account, order_date=days_before(days))
    run(tenant, kind=RunKind.HEALTH)
    html = tab(client_in(director), account)
    assert signal(html, "purchase_rhythm").startswith(
        "Purchase rhythm no data (weight redistributed) 2 order dates in the last 2 years; the rhythm needs 3"
    )
    page = text(html)
    assert (
        "Not enough orders to know the rhythm: it needs 3 distinct order dates in the last 2 years, this account has 2."
        in page
    )
    assert "Last order on 2026-05-31." in page
    assert "Expected next purchase — rhythm not known yet" in page


def test_the_band_history(assessed, director):
    html = tab(client_in(director), assessed)
    table = re.search(r"<caption>Assessments, newest first</caption>(.*?)</table>", html, re.S).group(1)
    rows = [text(row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    assert rows == ["2026-06-30 71.25 Healthy +25.80", "2026-05-26 45.45 Watch —"]
    chart = re.search(r'aria-labelledby="health-chart-title".*?</svg>', html, re.S).group(0)
    assert re.findall(r'class="chart-dot chart-dot--score (chart-dot--\w+)"', chart) == [
        "chart-dot--yellow",
        "chart-dot--green",
    ]
    # the bands' zones behind the line: red below 40, yellow to 70, green above
    assert re.findall(r'class="chart-zone chart-zone--(\w+)"', chart) == ["red", "yellow", "green"]


def test_before_the_first_assessment(account, director):
    html = tab(client_in(director), account)
    page = text(html)
    assert "Not assessed yet." in page
    assert "No open alert for this account." in page
    assert "No contingency plan for this account." in page
    assert "data-signal" not in html


# --- alerts ------------------------------------------------------------------------------------------------


def test_the_accounts_open_alerts_link_to_their_page(account, tenant, director):
    now = timezone.now()
    other = AccountFactory(tenant=tenant, name="别家客户")

    def alert(subject, status: str, key: str) -> RiskAlert:
        details = {"days_since_last_order": 50, "purchase_interval_days": 30, "expected_next_purchase": "2026-06-30"}
        with tenant_context(tenant):
            return RiskAlert.objects.create(
                tenant=tenant,
                kind="purchase_overdue",
                severity="warning",
                status=status,
                account=subject,
                dedupe_key=key,
                details=details,
                opened_at=now,
                updated_at=now,
            )

    shown = alert(account, "open", "purchase_overdue:a")
    resolved = alert(account, "resolved", "purchase_overdue:b")
    elsewhere = alert(other, "open", "purchase_overdue:c")
    html = tab(client_in(director), account)
    assert f'data-alert="{shown.pk}"' in html
    assert f'data-alert="{resolved.pk}"' not in html and f'data-alert="{elsewhere.pk}"' not in html
    assert f'href="{notifications.alert_link(tenant, shown.pk)}"' in html
    item = text(re.search(rf'data-alert="{shown.pk}">(.*?)</li>', html, re.S).group(1))
    assert item.startswith(
        "Warning Purchase overdue No order for 50 days; the usual interval is 30 days (expected by 2026-06-30)."
    )


def test_a_group_above_the_line_expects_a_plan(account, tenant, director, member):
    # the account is the tenant's only customer: 100 % >= the 20 % critical line
    run(tenant, kind=RunKind.CONCENTRATION)
    page = text(tab(client_in(director), account))
    assert (
        "This customer group has 100.0% of the revenue of the last 12 months, at or above the single-customer critical line 20%."
        in page
    )
    assert "A contingency plan is expected for it: none of its accounts has one yet." in page


def test_the_group_note_counts_a_plan_anywhere_in_the_group(account, tenant, director):
    child = AccountFactory(tenant=tenant, name="恒通·武汉工厂", parent=account)
    services.contingency_plan_create(tenant, account=child, kind="sudden_loss", actions="启动备选客户")
    run(tenant, kind=RunKind.CONCENTRATION)
    assert "A contingency plan covers the group." in text(tab(client_in(director), child))
    assert "Its customer group 恒通汽车零部件 has 100.0%" in text(tab(client_in(director), child))


# --- roles and tenants --------------------------------------------------------------------------------------


def test_a_plain_visit_goes_to_the_account_page(account, director):
    response = client_in(director).get(url("risk-account-tab", account_id=account.pk))
    assert response.status_code == 302
    assert response["Location"] == url("accounts-detail", account_id=account.pk) + "?tab=risk"


def test_the_account_page_embeds_the_tab(assessed, director):
    html = client_in(director).get(url("accounts-detail", account_id=assessed.pk) + "?tab=risk").content.decode()
    assert 'id="risk-tab"' in html
    assert "Health score 71.25 / 100" in text(html)


@pytest.mark.parametrize(
    ("role", "can_edit"),
    [(Role.ADMIN, True), (Role.DIRECTOR, True), (Role.MANAGER, True), (Role.EXECUTIVE, False)],
)
def test_who_reads_the_account_reads_the_tab_and_writers_edit_plans(assessed, plan, role_users, role, can_edit):
    html = tab(client_in(role_users[role]), assessed)
    assert "新能源客户开发" in html
    assert ("Add a plan" in html) is can_edit
    assert (url("risk-plan-edit", plan_id=plan.pk) in html) is can_edit


def test_a_member_reads_the_tab_of_their_account_only(assessed, plan, tenant, member):
    client = client_in(member)
    assert client.get(url("risk-account-tab", account_id=assessed.pk), **HTMX).status_code == 404
    with tenant_context(tenant):
        type(assessed).objects.filter(pk=assessed.pk).update(owner=member)
    html = tab(client, assessed)
    assert "新能源客户开发" in html and "Add a plan" not in html
    # tenant-wide concentration is not for members
    run(tenant, kind=RunKind.CONCENTRATION)
    assert "single-customer" not in text(tab(client, assessed))


def test_an_outsider_and_another_tenants_account_are_404(account, plan, admin, outsider, other_tenant):
    foreign = AccountFactory(tenant=other_tenant, name="Globex 客户")
    foreign_plan = services.contingency_plan_create(other_tenant, account=foreign, kind="sudden_loss", actions="x")
    own = client_in(admin)
    assert own.get(url("risk-account-tab", account_id=foreign.pk), **HTMX).status_code == 404
    assert own.get(url("risk-plan-create", account_id=foreign.pk)).status_code == 404
    assert own.get(url("risk-plan-edit", plan_id=foreign_plan.pk)).status_code == 404
    assert own.post(url("risk-plan-delete", plan_id=foreign_plan.pk)).status_code == 404
    assert "Globex" not in tab(own, account)
    stranger = client_in(outsider)
    assert stranger.get(url("risk-account-tab", account_id=account.pk), **HTMX).status_code == 404
    assert stranger.post(url("risk-plan-delete", plan_id=plan.pk)).status_code == 404
    assert len(plans_of(other_tenant)) == 1 and plans_of(account.tenant) == [plan]


# --- the plan editor ------------------------------------------------------------------------------------------


VALID = {
    "kind": "sudden_loss",
    "title": "突发流失应急预案",
    "review_on": "2026-12-31",
    "actions": "1. 每月复核订单\n2. 备选客户名单",
}


def test_the_owner_adds_a_plan_in_place(account, tenant, manager, director):
    client = client_in(manager)
    form = client.get(url("risk-plan-create", account_id=account.pk), **HTMX)
    assert form.status_code == 200
    assert form.content.decode().lstrip().startswith('<section class="card inline-panel plan-form" id="plan-form"')
    response = client.post(url("risk-plan-create", account_id=account.pk), {**VALID, "owner": director.pk}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#risk-tab"
    assert "The contingency plan was added." in response.content.decode()
    (plan,) = plans_of(tenant, account)
    assert (plan.kind, plan.title, plan.owner_id, plan.review_on, plan.created_by_id) == (
        "sudden_loss",
        "突发流失应急预案",
        director.pk,
        dt.date(2026, 12, 31),
        manager.pk,
    )
    assert plan.actions == "1. 每月复核订单\n2. 备选客户名单"
    assert "1. 每月复核订单<br>2. 备选客户名单" in response.content.decode()


def test_without_javascript_the_form_is_a_page_and_a_save_goes_back_to_the_tab(account, tenant, director):
    client = client_in(director)
    page = client.get(url("risk-plan-create", account_id=account.pk)).content.decode()
    assert "<html" in page and "New contingency plan" in page
    response = client.post(url("risk-plan-create", account_id=account.pk), VALID)
    assert (response.status_code, response["Location"]) == (
        302,
        url("accounts-detail", account_id=account.pk) + "?tab=risk",
    )
    assert len(plans_of(tenant, account)) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"actions": "   "}, "actions", "Write down the actions of the plan."),
        ({"kind": "hope"}, "kind", "Select a valid choice."),
        (
            {"review_on": "next spring"},
            "review_on",
            "Enter the date as YYYY-MM-DD, e.g. 2026-12-07 (2026/12/07 and 2026年12月7日 are taken too).",
        ),
        ({"title": "长" * 201}, "title", "Ensure this value has at most 200 characters"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(account, tenant, director, change, field, message):
    response = client_in(director).post(url("risk-plan-create", account_id=account.pk), {**VALID, **change}, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and f'id="id_{field}_error"' in html
    assert plans_of(tenant) == []


def test_an_owner_from_another_workspace_is_refused(account, tenant, director, outsider):
    response = client_in(director).post(url("risk-plan-create", account_id=account.pk), {**VALID, "owner": outsider.pk})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert plans_of(tenant) == []


def test_a_plan_is_edited(plan, tenant, manager, director):
    client = client_in(manager)
    form = client.get(url("risk-plan-edit", plan_id=plan.pk), **HTMX).content.decode()
    assert 'value="新能源客户开发"' in form and "一季度拜访三家新能源整车厂</textarea>" in form
    data = {
        "kind": "alternative_market",
        "title": "替代市场：储能",
        "owner": director.pk,
        "review_on": "",
        "actions": "开拓储能",
    }
    response = client.post(url("risk-plan-edit", plan_id=plan.pk), data, **HTMX)
    assert response.status_code == 200 and "The contingency plan was saved." in response.content.decode()
    (saved,) = plans_of(tenant)
    assert (saved.title, saved.owner_id, saved.review_on, saved.actions) == (
        "替代市场：储能",
        director.pk,
        None,
        "开拓储能",
    )


def test_an_owner_who_left_stays_on_a_plan_edited_otherwise(plan, tenant, manager, director):
    from kam.models import Membership

    Membership.objects.filter(tenant=tenant, user=manager).update(is_active=False)
    data = {
        "kind": "alternative_market",
        "title": "新能源客户开发（二期）",
        "owner": manager.pk,
        "actions": "一季度拜访",
    }
    response = client_in(director).post(url("risk-plan-edit", plan_id=plan.pk), data, **HTMX)
    assert response.status_code == 200
    (saved,) = plans_of(tenant)
    assert (saved.title, saved.owner_id, saved.actions) == ("新能源客户开发（二期）", manager.pk, "一季度拜访")
    # but nobody who left can be given a plan anew
    other = services.contingency_plan_create(tenant, account=plan.account, kind="sudden_loss", actions="x")
    data = {"kind": "sudden_loss", "owner": manager.pk, "actions": "x"}
    refused = client_in(director).post(url("risk-plan-edit", plan_id=other.pk), data, **HTMX)
    assert refused.status_code == 400 and "Select a valid choice." in refused.content.decode()


def test_a_bad_edit_changes_nothing(plan, tenant, manager):
    data = {"kind": "sudden_loss", "title": "改名", "review_on": "2026-13-45", "actions": "新措施"}
    response = client_in(manager).post(url("risk-plan-edit", plan_id=plan.pk), data, **HTMX)
    assert response.status_code == 400
    (saved,) = plans_of(tenant)
    assert (saved.kind, saved.title, saved.review_on, saved.actions) == (
        "alternative_market",
        "新能源客户开发",
        dt.date(2026, 9, 30),
        "一季度拜访三家新能源整车厂",
    )


def test_a_plan_is_deleted_after_confirmation(plan, tenant, director):
    client = client_in(director)
    confirm = client.get(url("risk-plan-delete", plan_id=plan.pk)).content.decode()
    assert "Delete the plan “新能源客户开发”?" in confirm
    assert plans_of(tenant) == [plan]
    tab_html = tab(client, plan.account)
    assert 'hx-confirm="Delete the plan “新能源客户开发”? This cannot be undone."' in tab_html
    response = client.post(url("risk-plan-delete", plan_id=plan.pk), **HTMX)
    assert response.status_code == 200 and "The contingency plan was deleted." in response.content.decode()
    assert plans_of(tenant) == []


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.MEMBER])
def test_readers_may_not_write_plans(plan, account, tenant, role_users, role):
    client = client_in(role_users[role])
    assert client.get(url("risk-plan-create", account_id=account.pk)).status_code == 403
    assert client.post(url("risk-plan-create", account_id=account.pk), VALID).status_code == 403
    assert client.post(url("risk-plan-edit", plan_id=plan.pk), VALID).status_code == 403
    assert client.post(url("risk-plan-delete", plan_id=plan.pk)).status_code == 403
    assert plans_of(tenant) == [plan]


def test_a_manager_writes_plans_of_their_accounts_only(plan, tenant, manager):
    someone_elses = AccountFactory(tenant=tenant, name="别人的客户")
    other_plan = services.contingency_plan_create(tenant, account=someone_elses, kind="sudden_loss", actions="x")
    client = client_in(manager)
    assert "Add a plan" not in tab(client, someone_elses)
    assert client.post(url("risk-plan-create", account_id=someone_elses.pk), VALID).status_code == 403
    assert client.post(url("risk-plan-edit", plan_id=other_plan.pk), VALID).status_code == 403
    assert client.post(url("risk-plan-delete", plan_id=other_plan.pk)).status_code == 403
    assert len(plans_of(tenant)) == 2


def test_the_tab_queries_do_not_grow_with_plans_or_history(
    assessed, plan, tenant, director, django_assert_max_num_queries
):
    client = client_in(director)
    tab(client, assessed)
    with django_assert_max_num_queries(40) as few:
        tab(client, assessed)
    for index in range(5):
        services.contingency_plan_create(
            tenant, account=assessed, kind="sudden_loss", owner=director, actions=f"措施 {index}"
        )
    for days in (14, 21, 28):
        run(tenant, as_of=days_before(days), kind=RunKind.HEALTH)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = tab(client, assessed)
    assert html.count('class="plan-card"') == 6


def test_the_tab_in_chinese(assessed, plan, director):
    page = text(tab(client_in(director, "zh-hans"), assessed))
    assert "健康度评分" in page
    assert "无数据（权重已重新分配）" in page
    assert "通常每 30 天下单一次；预计下次下单约在 2026-06-30。" in page
    assert "替代市场培育计划" in page
