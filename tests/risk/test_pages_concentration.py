"""The concentration page: the latest snapshot's figures against the warning lines, the
largest customer groups (with their accounts) and accounts, the trend over a period, the
empty state, roles (READ_ALL, as the API) and tenant isolation.

The world is the one of test_concentration, worked by hand: groups R+C1+C2 = 600,
X 250, Y 100, Z 50, total 1,000 -> shares .60 .25 .10 .05; top 1 60 %, top 5 = top 10 =
100 %, HHI = 60^2 + 25^2 + 10^2 + 5^2 = 4,350. Per account: R 300 (30 %), X 250 (25 %),
C1 200 (20 %), C2 100 (10 %), Y 100 (10 %), Z 50 (5 %).
Default lines: single customer 10 % warning, 20 % critical; top 5 50 %; HHI 1,500 / 2,500.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from kam.models import Role
from risk import services
from risk.models import RunKind
from tests.factories import AccountFactory, OrderFactory
from tests.risk.conftest import D, run

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE = "risk-concentration"


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def url(name: str = PAGE, slug: str = "acme", **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": slug, **kwargs})


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def order(tenant, account, amount: str, day: dt.date = dt.date(2026, 3, 1)) -> None:
    OrderFactory(tenant=tenant, account=account, order_date=day, amount=Decimal(amount))


def gauge(html: str, key: str) -> str:
    """The text of one figure's gauge."""
    match = re.search(rf'<div class="gauge gauge--(\w+)" data-figure="{key}">(.*?)<p class="gauge-lines">', html, re.S)
    assert match, key
    return f"{match.group(1)}: {text(match.group(2))}"


def group_rows(html: str) -> list[str]:
    """Each group's row as text (its accounts included), up to its last cell, the plan."""
    rows = re.findall(r'<tr data-group="\d+"[^>]*>(.*?<td class="conc-plan">.*?)</td>', html, re.S)
    return [text(row) for row in rows]


@pytest.fixture
def world(tenant, policy):
    root = AccountFactory(tenant=tenant, name="集团总部 R")
    child = AccountFactory(tenant=tenant, name="子公司 C1", parent=root)
    grandchild = AccountFactory(tenant=tenant, name="孙公司 C2", parent=child)
    x = AccountFactory(tenant=tenant, name="X 重工")
    y = AccountFactory(tenant=tenant, name="Y 电子")
    z = AccountFactory(tenant=tenant, name="Z 精密")
    for account, amount in ((root, "300"), (child, "200"), (grandchild, "100"), (x, "250"), (y, "100"), (z, "50")):
        order(tenant, account, amount)
    run(tenant, kind=RunKind.CONCENTRATION)
    return {"root": root, "child": child, "grandchild": grandchild, "x": x, "y": y, "z": z}


@pytest.fixture
def foreign(other_tenant):
    """The other tenant, with a snapshot of its own."""
    services.risk_policy_seed_default(other_tenant)
    account = AccountFactory(tenant=other_tenant, name="Globex 秘密客户")
    order(other_tenant, account, "999")
    run(other_tenant, kind=RunKind.CONCENTRATION)
    return account


# --- roles and tenants --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.EXECUTIVE])
def test_roles_that_read_every_account_see_the_page(world, role_users, role):
    response = client_in(role_users[role]).get(url())
    assert response.status_code == 200
    assert "Customer concentration" in response.content.decode()


def test_a_team_member_may_not_see_tenant_wide_concentration(world, member):
    # as the API's ConcentrationView: read_roles = READ_ALL
    assert client_in(member).get(url()).status_code == 403


def test_an_outsider_gets_404(world, outsider):
    assert client_in(outsider).get(url()).status_code == 404


def test_another_tenants_groups_never_show(world, foreign, admin):
    html = client_in(admin).get(url()).content.decode()
    accounts_view = client_in(admin).get(url() + "?view=accounts").content.decode()
    assert "Globex 秘密客户" not in html
    assert "Globex 秘密客户" not in accounts_view
    assert "集团总部 R" in html


# --- figures against the lines -------------------------------------------------------------------------


def test_the_figures_are_graded_against_the_policy_lines(world, director):
    html = client_in(director).get(url()).content.decode()
    # 60 % >= 20 % critical; 100 % >= 50 % warning; top 10 has no line; 4,350 >= 2,500 critical
    assert gauge(html, "top1_share") == "critical: Largest customer group Critical 60.0% 0 100%"
    assert gauge(html, "top5_share") == "warning: Top 5 customer groups Warning 100.0% 0 100%"
    assert gauge(html, "top10_share") == "none: Top 10 customer groups 100.0% 0 100%"
    # the HHI axis ends at a round thousand above 4,350 * 1.15 = 5,002.5 -> 6,000
    assert gauge(html, "hhi") == "critical: Concentration index (HHI) Critical 4,350 0 6,000"
    page = text(html)
    assert "warning line 10% critical line 20%" in page
    assert "warning line 1,500 critical line 2,500" in page
    assert "¥1,000.00" in page  # revenue of the last 12 months


def test_a_stricter_policy_moves_the_grades(world, director, tenant):
    # given the single-customer lines raised above 60 %: the largest group is within them
    services.risk_policy_update(
        tenant, single_customer_warning=Decimal("0.70"), single_customer_critical=Decimal("0.80")
    )
    html = client_in(director).get(url()).content.decode()
    assert gauge(html, "top1_share").startswith("ok: Largest customer group Within the lines 60.0%")
    assert "warning line 70% critical line 80%" in text(html)


def test_groups_roll_up_with_their_accounts_and_plans(world, director, tenant):
    # given a plan on the grandchild: the whole group R counts as covered
    services.contingency_plan_create(tenant, account=world["grandchild"], kind="sudden_loss", actions="备选客户开发")
    html = client_in(director).get(url()).content.decode()
    rows = group_rows(html)
    assert [row.split(" ")[0] for row in rows] == ["1", "2", "3", "4"]
    # R: 600 of 1,000 with three accounts; X 25 % >= 20 % and no plan; Y 10 % = the warning line; Z below
    assert rows[0].startswith(
        "1 集团总部 R 3 accounts Accounts of 集团总部 R 集团总部 R (parent) ¥300.00 30.0% 子公司 C1 ¥200.00 20.0% 孙公司 C2"
    )
    assert rows[0].endswith("¥600.00 60.0% ✓ Has a plan")
    assert rows[1] == "2 X 重工 ¥250.00 25.0% No plan"
    assert rows[2] == "3 Y 电子 ¥100.00 10.0% No plan"
    assert rows[3] == "4 Z 精密 ¥50.00 5.0% —"
    assert 'class="conc-group conc-group--critical"' in html


def test_accounts_without_roll_up(world, director):
    html = client_in(director).get(url() + "?view=accounts").content.decode()
    rows = [text(row) for row in re.findall(r'<tr data-account="\d+">(.*?)</tr>', html, re.S)]
    # R 300/1,000 = 30 %, X 25 %, C1 20 % (group R), C2 10 % (group R), Y 10 %, Z 5 %
    assert rows[:2] == ["1 集团总部 R — ¥300.00 30.0%", "2 X 重工 — ¥250.00 25.0%"]
    assert rows[2] == "3 子公司 C1 集团总部 R ¥200.00 20.0%"
    # equal revenue: the older account first (C2 was made before Y)
    assert rows[3:5] == ["4 孙公司 C2 集团总部 R ¥100.00 10.0%", "5 Y 电子 — ¥100.00 10.0%"]
    assert rows[5] == "6 Z 精密 — ¥50.00 5.0%"
    # per account: HHI = 30^2 + 25^2 + 20^2 + 10^2 + 10^2 + 5^2 = 900 + 625 + 400 + 100 + 100 + 25 = 2,150
    assert "largest 30.0%, top 5 95.0%, top 10 100.0%, HHI 2,150" in text(html)


def test_the_view_switch_answers_only_its_table_to_htmx(world, director):
    response = client_in(director).get(url() + "?view=accounts", HTTP_HX_TARGET="concentration-top", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card conc-top" id="concentration-top"')
    assert "<html" not in html and "concentration-trend" not in html
    assert "Largest accounts, without roll-up" in html


# --- trend -------------------------------------------------------------------------------------------


@pytest.fixture
def history(world, tenant):
    """Snapshots 100 and 400 days before D as well: the orders of 2026-03-01 count 100 days
    before D (2026-03-22) but not 400 days before (2025-05-26), when there was no revenue."""
    for days in (100, 400):
        run(tenant, as_of=D - dt.timedelta(days=days), kind=RunKind.CONCENTRATION)


def trend_days(html: str) -> list[str]:
    table = re.search(r'<div class="table-wrap trend-table">(.*?)</table>', html, re.S).group(1)
    return re.findall(r'<td class="nowrap">(\d{4}-\d\d-\d\d)</td>', table)


@pytest.mark.parametrize(
    ("period", "days"),
    [
        ("90d", ["2026-06-30"]),
        ("1y", ["2026-06-30", "2026-03-22"]),  # D - 100 = 2026-03-22
        ("all", ["2026-06-30", "2026-03-22", "2025-05-26"]),  # D - 400 = 2025-05-26
    ],
)
def test_the_period_selector_chooses_the_snapshots(history, director, period, days):
    html = client_in(director).get(url() + f"?period={period}").content.decode()
    assert trend_days(html) == days
    chart = re.search(r'<svg class="line-chart"[^>]*aria-labelledby="share-chart-title".*?</svg>', html, re.S).group(0)
    assert chart.count('class="chart-dot chart-dot--top1_share"') == len(days)
    assert f'<a href="/t/acme/risk/concentration/?view=groups&amp;period={period}"' in html


def test_the_default_period_is_a_year_and_a_bad_one_falls_back(history, director):
    for query in ("", "?period=forever"):
        html = client_in(director).get(url() + query).content.decode()
        assert trend_days(html) == ["2026-06-30", "2026-03-22"]


def test_the_trend_draws_the_warning_lines_and_grades_the_table(history, director):
    html = client_in(director).get(url() + "?period=all").content.decode()
    share = re.search(r'aria-labelledby="share-chart-title".*?</svg>', html, re.S).group(0)
    labels = [text(label) for label in re.findall(r'<text class="chart-ref-label[^"]*"[^>]*>(.*?)</text>', share)]
    assert labels == ["Largest 10%", "Largest 20%", "Top 5 50%"]
    hhi = re.search(r'aria-labelledby="hhi-chart-title".*?</svg>', html, re.S).group(0)
    assert [text(t) for t in re.findall(r'<text class="chart-ref-label[^"]*"[^>]*>(.*?)</text>', hhi)] == [
        "1,500",
        "2,500",
    ]
    # the rows' figures carry their level: 60 % critical, 100 % warning, 4,350 critical; nothing 400 days before
    assert html.count('<span class="cell-level cell-level--critical">60.0%</span>') == 2
    assert html.count('<span class="cell-level cell-level--warning">100.0%</span>') == 2
    assert html.count('<span class="cell-level cell-level--critical">4,350</span>') == 2
    assert html.count('<span class="cell-level cell-level--ok">0.0%</span>') == 2


def test_the_period_selector_answers_only_the_trend_to_htmx(history, director):
    response = client_in(director).get(url() + "?period=90d", HTTP_HX_TARGET="concentration-trend", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card conc-trend" id="concentration-trend"')
    assert "concentration-top" not in html
    assert trend_days(html) == ["2026-06-30"]


# --- empty state ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "can_run"), [(Role.ADMIN, True), (Role.DIRECTOR, True), (Role.MANAGER, False)])
def test_before_the_first_snapshot_runners_get_a_button(tenant, policy, role_users, role, can_run):
    html = client_in(role_users[role]).get(url()).content.decode()
    assert "No concentration snapshot yet." in html
    assert ('name="kind" value="concentration"' in html) is can_run
    assert (f'action="{url("risk-run-start")}"' in html) is can_run


def test_the_empty_state_button_takes_a_snapshot(tenant, policy, director, django_capture_on_commit_callbacks):
    AccountFactory(tenant=tenant, name="唯一客户")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in(director).post(url("risk-run-start"), {"kind": "concentration"})
    assert response.status_code == 302
    html = client_in(director).get(url()).content.decode()
    assert "No concentration snapshot yet." not in html
    assert "Customer groups with revenue" in html


def test_the_page_in_chinese(world, director):
    html = client_in(director, "zh-hans").get(url()).content.decode()
    page = text(html)
    assert "客户集中度" in page
    assert "赫芬达尔指数（HHI）" in page
    assert "预警线 10%" in page and "严重线 20%" in page


def test_the_page_queries_do_not_grow_with_groups_or_snapshots(world, tenant, director, django_assert_max_num_queries):
    client = client_in(director)
    client.get(url())
    with django_assert_max_num_queries(20) as few:
        client.get(url())
    # when: ten more customer groups and five more snapshots
    for index in range(10):
        order(tenant, AccountFactory(tenant=tenant, name=f"新客户 {index}"), "10")
    for days in range(1, 6):
        run(tenant, as_of=D - dt.timedelta(days=days), kind=RunKind.CONCENTRATION)
    run(tenant, kind=RunKind.CONCENTRATION)
    # then the same number of queries
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url()).content.decode()
    assert len(group_rows(html)) == 14 and len(trend_days(html)) == 6
