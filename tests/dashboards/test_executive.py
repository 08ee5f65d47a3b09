"""The executive dashboard's figures, each worked out by hand from the `world` of conftest
and read back from the card's CSV (the same rows its table shows and its chart draws)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest

from tests.dashboards.conftest import HTMX, client_in, drop_cache, score_run
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def csv_rows(client, key: str, period: str = "12m") -> list[list[str]]:
    response = client.get(f"/t/acme/dashboards/parts/{key}/?period={period}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def floats(row: list[str]) -> list[float]:
    return [float(value) for value in row]


def chart_option(html: str, key: str) -> dict:
    match = re.search(rf'<script id="chart-{key}-option" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no chart option for {key}"
    return json.loads(match.group(1))


def test_tier_distribution_counts_and_revenue_from_the_latest_run(world, executive):
    rows = csv_rows(client_in(executive), "tiers")
    assert rows[0] == ["Tier", "Accounts", "Share of accounts", "Revenue, last 12 months", "Share of revenue"]
    # 5 accounts in the latest run, revenue 1000: S a1 500, A a2 200, B a3+a4 250, C a5 50
    # (the baseline run, the archived a7 and the other tenant do not count).
    assert rows[1:] == [
        ["S", "1", "20.0", "500.00", "50.0"],
        ["A", "1", "20.0", "200.00", "20.0"],
        ["B", "2", "40.0", "250.00", "25.0"],
        ["C", "1", "20.0", "50.00", "5.0"],
    ]


def test_pareto_curve_and_the_top_20_percent_share(world, executive):
    client = client_in(executive)
    rows = csv_rows(client, "pareto")
    # Revenue 500, 200, 150, 100, 50 of 1000: the top ceil(p * 5) accounts bring
    # 500, 700, 850, 950, 1000 -> 50 %, 70 %, 85 %, 95 %, 100 %.
    assert [floats(row) for row in rows[1:]] == [
        [20.0, 1, 500, 50.0],
        [40.0, 2, 700, 70.0],
        [60.0, 3, 850, 85.0],
        [80.0, 4, 950, 95.0],
        [100.0, 5, 1000, 100.0],
    ]
    html = client.get("/t/acme/dashboards/parts/pareto/", **HTMX).content.decode()
    # k = ceil(0.2 * 5) = 1 account brings 500 / 1000.
    assert "The top 20% of accounts (1 of 5 with revenue) bring 50.0% of the revenue" in html
    option = chart_option(html, "pareto")
    assert option["series"][0]["markPoint"]["data"] == [{"coord": [0.2, 0.5]}]


def test_health_heatmap_counts_current_tiers_and_bands(world, executive):
    rows = csv_rows(client_in(executive), "heatmap")
    assert rows[0] == ["Tier", "Healthy", "Watch", "Warning", "Not assessed", "Total"]
    # a1 S green, a2 A red, a3 a4 B yellow, a5 C unassessed, a8 C green, a6 neither;
    # a7 is archived, globex's S red is another tenant's.
    assert rows[1:] == [
        ["S", "1", "0", "0", "0", "1"],
        ["A", "0", "0", "1", "0", "1"],
        ["B", "0", "2", "0", "0", "2"],
        ["C", "1", "0", "0", "1", "2"],
        ["", "0", "0", "0", "1", "1"],
    ]


def test_heatmap_cells_open_the_accounts_list_filtered_to_that_tier_and_band(world, executive):
    client = client_in(executive)
    html = client.get("/t/acme/dashboards/parts/heatmap/", **HTMX).content.decode()
    link = "/t/acme/accounts/?tier=B&amp;health_band=yellow"
    assert f'<a href="{link}">2</a>' in html  # the table's cell
    cells = {tuple(item["value"][:2]): item["url"] for item in chart_option(html, "heatmap")["series"][0]["data"]}
    # x: Healthy, Watch, Warning, Not assessed; y from the bottom: not tiered, C, B, A, S.
    assert cells[(1, 2)] == "/t/acme/accounts/?tier=B&health_band=yellow"
    assert cells[(0, 4)] == "/t/acme/accounts/?tier=S&health_band=green"
    assert cells[(2, 4)] == ""  # S red: no account (the archived a7 is left out), no link
    assert cells[(3, 1)] == ""  # C not assessed: the list cannot filter "no band"
    listed = client.get("/t/acme/accounts/?tier=B&health_band=yellow").content.decode()
    assert world.a3.name in listed and world.a4.name in listed
    assert world.a1.name not in listed and world.a5.name not in listed


def test_tier_migration_from_the_last_run_before_the_period_to_current_tiers(world, executive):
    client = client_in(executive)
    rows = csv_rows(client, "migration", period="12m")
    assert rows[0] == ["Tier then", "S now", "A now", "B now", "C now", "Archived or not tiered", "Total"]
    # baseline (400 days ago): a1 A, a2 A, a3 C, a4 B, a5 B, a7 S; now: a1 S, a2 A, a3 B,
    # a4 B, a5 C, a7 archived, a8 C (new); a6 has no tier.
    assert rows[1:] == [
        ["S", "0", "0", "0", "0", "1", "1"],
        ["A", "1", "1", "0", "0", "0", "2"],
        ["B", "0", "0", "1", "1", "0", "2"],
        ["C", "0", "0", "1", "0", "0", "1"],
        ["new", "0", "0", "0", "1", "0", "1"],
    ]
    html = client.get("/t/acme/dashboards/parts/migration/?period=12m", **HTMX).content.decode()
    assert "2 accounts up, 1 account down, 1 account new" in html
    links = {
        (link["source"], link["target"]): link["value"]
        for link in chart_option(html, "migration")["series"][0]["links"]
    }
    assert links == {
        ("S then", "Archived or not tiered"): 1,
        ("A then", "S now"): 1,
        ("A then", "A now"): 1,
        ("B then", "B now"): 1,
        ("B then", "C now"): 1,
        ("C then", "B now"): 1,
        ("New since", "C now"): 1,
    }


def test_tier_migration_without_a_run_before_the_period_says_so(tenant, executive, today):
    account = AccountFactory(tenant=tenant)
    score_run(tenant, today, {account: ("A", "100")})
    html = client_in(executive).get("/t/acme/dashboards/parts/migration/?period=12m", **HTMX).content.decode()
    start = (today - dt.timedelta(days=365)).isoformat()
    assert f"No tiers from {start} or before yet" in html
    assert 'id="chart-migration"' not in html


def test_concentration_against_the_warning_lines_with_the_trend(world, executive, today):
    client = client_in(executive)
    rows = csv_rows(client, "concentration", period="12m")
    assert rows[0] == ["As of", "Largest group", "Top 5", "Top 10", "HHI"]
    assert rows[1][0] == (today - dt.timedelta(days=10)).isoformat()
    assert floats(rows[1][1:]) == [15.0, 40.0, 60.0, 1200.0]
    assert floats(rows[2][1:]) == [25.0, 45.0, 70.0, 1600.0]
    html = client.get("/t/acme/dashboards/parts/concentration/?period=12m", **HTMX).content.decode()
    # The default lines: single customer 10 % warning / 20 % critical, top 5 50 %, HHI 1500 / 2500.
    figures = re.findall(r'dash-figure--(\w+)">\s*<span class="dash-figure-label">([^<]+)<', html)
    assert figures == [
        ("critical", "Largest customer group"),  # 25 % >= 20 %
        ("ok", "Top 5 groups"),  # 45 % < 50 %
        ("warning", "HHI"),  # 1500 <= 1600 < 2500
    ]
    option = chart_option(html, "concentration")
    assert option["xAxis"][1]["data"] == [(today - dt.timedelta(days=10)).isoformat(), today.isoformat()]
    lines = [line["yAxis"] for line in option["series"][0]["markLine"]["data"]]
    assert lines == [0.1, 0.2, 0.5]


def test_trend_follows_the_period(world, executive, today):
    # "This quarter" starts on the quarter's first day: the snapshot of 10 days ago is in it
    # only when that day is in this quarter too.
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    rows = csv_rows(client_in(executive), "concentration", period="quarter")
    expected = [day for day in (today - dt.timedelta(days=10), today) if day >= quarter_start]
    assert [row[0] for row in rows[1:]] == [day.isoformat() for day in expected]


def test_open_alerts_by_kind_and_severity(world, executive):
    rows = csv_rows(client_in(executive), "alerts")
    assert rows[0] == ["Alert", "Critical", "Warning", "Info", "Total"]
    # Open or acknowledged: health_red critical + warning, concentration_single critical,
    # payment_overdue warning (acknowledged), team_gap warning; the resolved one and
    # globex's do not count. The most frequent first, then by kind.
    assert rows[1:] == [
        ["Health in the red", "1", "1", "0", "2"],
        ["Single customer concentration", "1", "0", "0", "1"],
        ["Payment overdue", "0", "1", "0", "1"],
        ["Team gap", "0", "1", "0", "1"],
    ]


def test_team_coverage_of_s_and_a_accounts(world, executive):
    rows = csv_rows(client_in(executive), "coverage")
    assert rows[0] == ["Tier", "Accounts", "Complete team", "Team with gaps", "No team"]
    # S: a1 (a team with an open team_gap alert; a7 is archived). A: a2 (a team, no gap).
    assert rows[1:] == [["S", "1", "0", "1", "0"], ["A", "1", "1", "0", "0"]]
    # An S account without a team.
    extra = AccountFactory(tenant=world.a1.tenant)
    from tests.dashboards.conftest import set_current

    set_current(world.a1.tenant, extra, "S", "green")
    assert csv_rows(client_in(executive), "coverage")[1] == ["S", "2", "0", "1", "1"]


def test_key_figures(world, executive):
    rows = csv_rows(client_in(executive), "kpis")
    assert rows[0] == ["Figure", "Value", "Note"]
    figures = {row[0]: row[1:] for row in rows[1:]}
    today = world.latest.as_of.isoformat()
    assert figures == {
        "Revenue, last 12 months": ["¥1,000.00", f"Score run as of {today}"],
        "Key accounts (S and A)": ["2", "of 5 tiered"],
        "Top 20% of accounts bring": ["50.0%", "of the revenue (80/20 rule)"],
        "Largest customer group": ["25.0%", "Warning line 10%"],
        "Concentration (HHI)": ["1,600", "Warning line 1,500"],
        "Open alerts": ["5", "2 critical"],
    }


def test_cached_figures_follow_a_new_run(world, executive, tenant, today):
    client = client_in(executive)
    assert csv_rows(client, "tiers")[1] == ["S", "1", "20.0", "500.00", "50.0"]
    # A later full run: a new key, the page shows it at once (no waiting for the cache).
    score_run(
        tenant,
        today,
        {world.a1: ("S", "100"), world.a2: ("S", "100")},
        total_revenue_12m=200,
        pareto_accounts=2,
        pareto_top_count=1,
        top20_share="0.5",
    )
    assert csv_rows(client, "tiers")[1] == ["S", "2", "100.0", "200.00", "100.0"]
    drop_cache()


def test_alert_cells_open_the_risk_center_with_the_same_filter(world, executive):
    html = client_in(executive).get("/t/acme/dashboards/parts/alerts/", **HTMX).content.decode()
    # open = open and acknowledged (the risk center's "unresolved"), snoozed ones included
    link = "/t/acme/risk/?status=unresolved&amp;snoozed=on&amp;kind=health_red&amp;severity=critical"
    assert f'<a href="{link}">1</a>' in html
    data = chart_option(html, "alerts")["series"][0]["data"]  # the critical series
    assert data[-1]["url"] == link.replace("&amp;", "&")  # health_red, the most frequent, at the top
