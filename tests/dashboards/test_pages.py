"""Dashboard pages: who sees which home, the navigation, both languages, tenant isolation,
bounded query counts, the CSV export and its formula guard, and the live refresh (the
latest-runs endpoint and the account page's badges)."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from kam.tenancy import tenant_context
from tests.dashboards.conftest import HTMX, alert, client_in, drop_cache, risk_run, score_run, set_current
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

PART_KEYS = ("kpis", "tiers", "pareto", "heatmap", "migration", "concentration", "alerts", "coverage")
MY_KEYS = ("my-kpis", "my-health", "my-alerts", "my-purchases", "my-renewals")


def home_link_is_current(html: str) -> bool:
    return bool(re.search(r'<a href="/t/acme/" aria-current="page">', html))


# --- homes and roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["director", "executive"])
def test_directors_and_executives_land_on_the_executive_dashboard(world, role_users, role):
    response = client_in(role_users[role]).get("/t/acme/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Executive dashboard</h1>" in html
    assert home_link_is_current(html)  # rendered in place: the URL and "Home" stay
    for key in PART_KEYS:
        assert f'id="part-{key}"' in html
    # as the home it brings the home panels (plan actions); opened from the navigation it does not
    assert 'hx-get="/t/acme/teams/my-actions/"' in html
    assert (
        'hx-get="/t/acme/teams/my-actions/"'
        not in client_in(role_users[role]).get("/t/acme/dashboards/").content.decode()
    )


@pytest.mark.parametrize("role", ["manager", "member"])
def test_managers_and_members_land_on_their_own_dashboard(world, role_users, role):
    html = client_in(role_users[role]).get("/t/acme/").content.decode()
    assert "<h1>My dashboard</h1>" in html
    assert home_link_is_current(html)
    for key in MY_KEYS:
        assert f'id="part-{key}"' in html
    # the panels other apps register for the home (plan actions) come along
    assert 'hx-get="/t/acme/teams/my-actions/"' in html


def test_administrators_keep_the_panel_home(world, admin):
    html = client_in(admin).get("/t/acme/").content.decode()
    assert "What you do here" in html
    assert "Executive dashboard" not in html


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("director", 200), ("executive", 200), ("manager", 200), ("member", 403)]
)
def test_the_executive_dashboard_is_for_those_who_read_every_account(world, role_users, role, status):
    client = client_in(role_users[role])
    assert client.get("/t/acme/dashboards/").status_code == status
    for key in PART_KEYS:
        assert client.get(f"/t/acme/dashboards/parts/{key}/", **HTMX).status_code == status, key
        assert client.get(f"/t/acme/dashboards/parts/{key}/?format=csv").status_code == status, key
    for key in MY_KEYS:
        assert client.get(f"/t/acme/dashboards/parts/{key}/", **HTMX).status_code == 200, key


@pytest.mark.parametrize(
    ("role", "listed"),
    [("admin", True), ("director", False), ("executive", False), ("manager", True), ("member", False)],
)
def test_dashboard_in_the_navigation_unless_it_is_the_home(world, role_users, role, listed):
    """Directors and executives have the executive dashboard as their Home: no second entry."""
    html = client_in(role_users[role]).get("/t/acme/accounts/").content.decode()
    assert ('href="/t/acme/dashboards/"' in html) is listed
    assert 'href="/t/acme/"' in html


def test_a_part_without_htmx_goes_to_its_page(world, executive, manager):
    response = client_in(executive).get("/t/acme/dashboards/parts/tiers/?period=12m")
    assert response.status_code == 302 and response["Location"] == "/t/acme/dashboards/?period=12m"
    response = client_in(manager).get("/t/acme/dashboards/parts/my-alerts/")
    assert response["Location"].startswith("/t/acme/dashboards/mine/")


def test_bad_input_is_a_clear_error_never_a_500(world, executive):
    client = client_in(executive)
    assert client.get("/t/acme/dashboards/parts/nonsense/").status_code == 404
    response = client.get("/t/acme/dashboards/parts/tiers/?format=xlsx")
    assert response.status_code == 400 and response.content.decode() == "Unknown format: choose csv."
    # an unknown period is the default one (this quarter), not an error
    response = client.get("/t/acme/dashboards/?period=%3Cscript%3E")
    assert response.status_code == 200
    assert re.findall(r'<a href="\?period=(\w+)" aria-current="true"', response.content.decode()) == ["quarter"]


def test_period_switch_marks_the_chosen_period(world, executive):
    html = client_in(executive).get("/t/acme/dashboards/?period=last_quarter").content.decode()
    current = re.findall(r'<a href="\?period=(\w+)" aria-current="true"', html)
    assert current == ["last_quarter"]
    # the parts reload themselves with the same period
    assert 'hx-get="/t/acme/dashboards/parts/migration/?period=last_quarter"' in html


# --- languages ------------------------------------------------------------------------------------------


def test_both_languages(world, executive):
    chinese = client_in(executive, "zh-hans").get("/t/acme/").content.decode()
    assert "<h1>管理驾驶舱</h1>" in chinese
    assert "二八定律曲线" in chinese and "等级迁移" in chinese and "客户集中度" in chinese
    assert '<html lang="zh-hans">' in chinese
    english = client_in(executive, "en").get("/t/acme/").content.decode()
    assert "Pareto curve (80/20 rule)" in english and '<html lang="en">' in english
    # amounts: 万/亿 in Chinese tables, plain yuan in English
    csv_zh = client_in(executive, "zh-hans").get("/t/acme/dashboards/parts/kpis/?format=csv").content.decode()
    assert '近 12 个月收入,"¥1,000.00"' in csv_zh


def test_chart_texts_come_translated_from_the_server(world, executive):
    html = client_in(executive, "zh-hans").get("/t/acme/dashboards/parts/tiers/", **HTMX).content.decode()
    option = json.loads(
        re.search(r'<script id="chart-tiers-option" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert [title["text"] for title in option["title"]] == ["按客户数", "按收入"]
    assert option["series"][0]["data"][0]["tip"] == "S · 战略客户：1 家客户"


# --- tenant isolation -----------------------------------------------------------------------------------


def test_an_outsider_gets_404_everywhere(world, outsider):
    client = client_in(outsider)
    for url in [
        "/t/acme/dashboards/",
        "/t/acme/dashboards/mine/",
        "/t/acme/dashboards/parts/tiers/?format=csv",
        "/t/acme/dashboards/version/",
        f"/t/acme/accounts/{world.a1.pk}/badges/",
    ]:
        assert client.get(url, **HTMX).status_code == 404, url


def test_another_tenants_account_badges_are_404(world, executive):
    assert client_in(executive).get(f"/t/acme/accounts/{world.foreign.pk}/badges/", **HTMX).status_code == 404


def test_a_member_cannot_read_badges_of_accounts_they_do_not_serve(world, member):
    assert client_in(member).get(f"/t/acme/accounts/{world.a1.pk}/badges/", **HTMX).status_code == 404


def test_the_other_tenant_sees_only_its_own_figures(world, other_tenant, outsider):
    rows = client_in(outsider).get("/t/globex/dashboards/parts/tiers/?format=csv").content.decode("utf-8-sig")
    assert rows.splitlines()[1:] == ["S,1,100.0,99999.00,100.0", "A,0,0.0,0,0.0", "B,0,0.0,0,0.0", "C,0,0.0,0,0.0"]
    heatmap = client_in(outsider).get("/t/globex/dashboards/parts/heatmap/?format=csv").content.decode("utf-8-sig")
    assert heatmap.splitlines()[1] == "S,0,0,1,1"


# --- query counts ---------------------------------------------------------------------------------------


def _queries(client, url: str, **headers) -> int:
    """Queries of one request with the figures not cached (the first request of a session
    also saves the session: warmed up first)."""
    client.get(url, **headers)
    drop_cache()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, **headers).status_code == 200
    return len(queries.captured_queries)


def _more_accounts(tenant, manager, count: int = 6) -> None:
    for index in range(count):
        account = AccountFactory(tenant=tenant, name=f"更多客户 {index}", owner=manager)
        set_current(tenant, account, "SABC"[index % 4], ["green", "yellow", "red"][index % 3])
        alert(tenant, "health_red", "warning", account)


def test_the_executive_dashboard_reads_a_bounded_number_of_queries(
    world, executive, manager, tenant, django_assert_max_num_queries
):
    client = client_in(executive)
    before = _queries(client, "/t/acme/")
    _more_accounts(tenant, manager)
    after = _queries(client, "/t/acme/")
    assert before == after  # the count does not grow with the accounts
    drop_cache()
    with django_assert_max_num_queries(22):  # 17 reads and the request's savepoints
        client.get("/t/acme/")


def test_the_manager_home_reads_a_bounded_number_of_queries(portfolio, manager, tenant, django_assert_max_num_queries):
    client = client_in(manager)
    before = _queries(client, "/t/acme/")
    _more_accounts(tenant, manager)
    after = _queries(client, "/t/acme/")
    assert before == after
    drop_cache()
    with django_assert_max_num_queries(22):
        client.get("/t/acme/")


def test_dashboards_never_read_orders_or_invoices(world, portfolio, executive, manager):
    for client, url in ((client_in(executive), "/t/acme/"), (client_in(manager), "/t/acme/")):
        drop_cache()
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        tables = " ".join(query["sql"] for query in queries.captured_queries)
        assert "accounts_order" not in tables and "accounts_invoice" not in tables


# --- CSV --------------------------------------------------------------------------------------------------


def test_csv_is_an_attachment_with_a_bom_and_guarded_cells(world, executive, tenant):
    with tenant_context(tenant):
        Account.objects.filter(pk=world.a1.pk).update(name="@SUM(A1:A9)")
    response = client_in(executive).get("/t/acme/dashboards/parts/heatmap/?period=12m&format=csv")
    assert (
        response["Content-Disposition"] == f'attachment; filename="acme-heatmap-{world.latest.as_of.isoformat()}.csv"'
    )
    assert response.content.startswith("\ufeff".encode())


def test_csv_neutralises_formulas_in_the_managers_lists(portfolio, manager):
    body = client_in(manager).get("/t/acme/dashboards/parts/my-renewals/?format=csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body and "'+年度框架协议" in body
    assert "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body and ",+年度" not in body


# --- live refresh -----------------------------------------------------------------------------------------


def test_version_endpoint_gives_the_latest_finished_runs(world, executive, tenant, other_tenant, today):
    client = client_in(executive)
    body = client.get("/t/acme/dashboards/version/").json()
    assert body == {
        "score_run": world.latest.pk,
        "risk_run": world.risk.pk,
        "token": f"{world.latest.pk}-{world.risk.pk}",
    }
    # another tenant's later runs change nothing here
    score_run(other_tenant, today, {world.foreign: ("A", "1")})
    risk_run(other_tenant, today)
    assert client.get("/t/acme/dashboards/version/").json() == body


def test_the_poller_is_quiet_until_a_run_finishes(world, executive, tenant, today):
    client = client_in(executive)
    token = f"{world.latest.pk}-{world.risk.pk}"
    html = client.get("/t/acme/").content.decode()
    assert f'hx-get="/t/acme/dashboards/version/?seen={token}"' in html
    assert 'hx-trigger="every 20s"' in html
    unchanged = client.get(f"/t/acme/dashboards/version/?seen={token}", **HTMX)
    assert unchanged.status_code == 204 and "HX-Trigger" not in unchanged
    # a risk run finishes: the risk parts are told, the score parts are not
    new_risk = risk_run(tenant, today)
    changed = client.get(f"/t/acme/dashboards/version/?seen={token}", **HTMX)
    assert changed.status_code == 200
    assert json.loads(changed["HX-Trigger"]) == {
        "kam:data-changed": {"score": False, "risk": True},
        "kam:risk-changed": {},
    }
    assert f"?seen={world.latest.pk}-{new_risk.pk}" in changed.content.decode()


def test_a_poller_without_a_version_reads_it_without_an_event(world, executive):
    response = client_in(executive).get("/t/acme/dashboards/version/?seen=garbage", **HTMX)
    assert response.status_code == 200 and "HX-Trigger" not in response


def test_parts_listen_to_the_runs_they_read(world, executive):
    html = client_in(executive).get("/t/acme/").content.decode()

    def trigger(key: str) -> str:
        return re.search(rf'id="part-{key}".*?hx-trigger="([^"]*)"', html, re.S).group(1)

    assert trigger("tiers") == "kam:score-changed from:body"
    assert trigger("concentration") == "kam:risk-changed from:body"
    assert trigger("heatmap") == "kam:risk-changed from:body, kam:score-changed from:body"


def test_the_account_page_badges_refresh_themselves(world, executive, tenant):
    client = client_in(executive)
    page = client.get(f"/t/acme/accounts/{world.a2.pk}/").content.decode()
    badges_url = f"/t/acme/accounts/{world.a2.pk}/badges/"
    assert f'hx-get="{badges_url}"' in page and 'hx-trigger="kam:data-changed from:body"' in page
    assert 'id="kam-data-version"' in page and 'hx-trigger="load, every 20s"' in page
    # a director's override was scored: the badges show the new tier without a reload
    set_current(tenant, world.a2, "S", "green")
    fragment = client.get(badges_url, **HTMX).content.decode()
    assert fragment.lstrip().startswith('<div class="account-badges" id="account-badges"')
    assert "badge--tier-s" in fragment and "badge--health-green" in fragment
    assert client.get(badges_url)["Location"] == f"/t/acme/accounts/{world.a2.pk}/"


# --- a new tenant -------------------------------------------------------------------------------------------


def test_a_new_tenant_gets_calm_empty_states(tenant, executive):
    html = client_in(executive).get("/t/acme/").content.decode()
    assert "No figures yet." in html
    assert html.count("Appears after the first score run.") == 3  # tiers, Pareto, migration
    assert html.count("Appears after the first risk run.") == 1  # concentration
    assert "data-chart=" not in html  # nothing to draw
    assert client_in(executive).get("/t/acme/dashboards/version/").json() == {
        "score_run": None,
        "risk_run": None,
        "token": "0-0",
    }


def test_a_registered_home_that_does_not_resolve_keeps_the_panel_home(tenant, admin):
    from kam.homes import register_home, unregister_home

    register_home("no-such-page", {"admin"})
    try:
        html = client_in(admin).get("/t/acme/").content.decode()
    finally:
        unregister_home("no-such-page")
    assert "What you do here" in html
