"""The executive dashboard's revenue forecast (dashboards/forecast.py over
growth.metrics.tenant_forecast): the next six months beside the same months last year, as a
chart and its table (CSV), worked out by hand; another tenant's orders never count."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest

from growth.metrics import add_months, first_of_next_month
from kam.models import Tenant, User
from kam.tenancy import tenant_today
from tests import factories
from tests.dashboards.conftest import client_in, drop_cache

pytestmark = pytest.mark.django_db


def csv_rows(client, key: str = "forecast") -> list[list[str]]:
    response = client.get(f"/t/acme/dashboards/parts/{key}/?format=csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def order(tenant: Tenant, day: dt.date, amount: str) -> None:
    factories.OrderFactory(tenant=tenant, order_date=day, amount=Decimal(amount))


@pytest.fixture
def months(tenant: Tenant, other_tenant: Tenant) -> list[dt.date]:
    """acme: 1,000.00 in the first of the six months a year ago and 500.00 in the third (both in the
    last 12 months: after D-365), 1,200.00 on D-400 (the 12 months before). Revenue 1,500 against
    1,200: growth 0.25. globex: large orders on the same days, which must not count."""
    today = tenant_today(tenant)
    first = first_of_next_month(today)
    ago = [add_months(first, n - 12) for n in range(6)]
    order(tenant, ago[0], "1000.00")
    order(tenant, ago[2] + dt.timedelta(days=5), "500.00")
    order(tenant, today - dt.timedelta(days=400), "1200.00")
    for day in (ago[0], ago[1], today - dt.timedelta(days=400)):
        order(other_tenant, day, "777777.00")
    drop_cache()
    return [add_months(first, n) for n in range(6)]


def test_the_table_by_hand(months: list[dt.date], executive: User) -> None:
    rows = csv_rows(client_in(executive))
    assert rows[0] == ["Month", "Same month last year", "Revenue last year", "Forecast"]
    # x 1.25: 1,000 -> 1,250.00; 500 -> 625.00; the other months 0
    expected_last_year = ["1000.00", "0.00", "500.00", "0.00", "0.00", "0.00"]
    expected_forecast = ["1250.00", "0.00", "625.00", "0.00", "0.00", "0.00"]
    assert rows[1:] == [
        [month.isoformat(), add_months(month, -12).isoformat(), last, ahead]
        for month, last, ahead in zip(months, expected_last_year, expected_forecast, strict=True)
    ]


def test_the_page_loads_it_by_itself(months: list[dt.date], executive: User) -> None:
    """The page shows a placeholder that loads the part (it sums orders, the page reads snapshots)."""
    html = client_in(executive).get("/t/acme/dashboards/").content.decode()
    start = html.index('id="part-forecast"')
    placeholder = html[html.rindex("<section", 0, start) : html.index("</section>", start)]
    assert 'hx-get="/t/acme/dashboards/parts/forecast/' in placeholder
    assert 'hx-trigger="load"' in placeholder
    assert "Revenue forecast, next six months" in placeholder
    assert "chart-forecast-option" not in html


def test_the_chart_beside_last_year(months: list[dt.date], executive: User) -> None:
    html = client_in(executive).get("/t/acme/dashboards/parts/forecast/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="part-forecast"' in html
    match = re.search(r'<script id="chart-forecast-option" type="application/json">(.*?)</script>', html, re.S)
    assert match
    option = json.loads(match.group(1))
    assert option["xAxis"]["data"] == [month.strftime("%Y-%m") for month in months]
    last_year, forecast = option["series"]
    assert (last_year["name"], forecast["name"]) == ("Same month last year", "Forecast")
    assert [item["value"] for item in last_year["data"]] == [1000.0, 0.0, 500.0, 0.0, 0.0, 0.0]
    assert [item["value"] for item in forecast["data"]] == [1250.0, 0.0, 625.0, 0.0, 0.0, 0.0]
    assert "+25.0%" in html  # the growth in the summary


def test_in_chinese(months: list[dt.date], executive: User) -> None:
    response = client_in(executive, "zh-hans").get("/t/acme/dashboards/parts/forecast/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="part-forecast"' in response.content.decode()


def test_the_other_tenant_sees_its_own(months: list[dt.date], outsider: User, other_tenant: Tenant) -> None:
    """globex: 777,777 in the first and second month a year ago and on D-400; growth
    (1,555,554 - 777,777) / 777,777 = 1 -> 0.5: 1,166,665.50 each; acme's orders do not count."""
    response = client_in(outsider).get("/t/globex/dashboards/parts/forecast/?format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[2:] for row in rows[1:3]] == [["777777.00", "1166665.50"], ["777777.00", "1166665.50"]]
    assert [row[2] for row in rows[3:]] == ["0.00", "0.00", "0.00", "0.00"]


def test_empty_without_last_years_orders(tenant: Tenant, executive: User) -> None:
    drop_cache()
    html = client_in(executive).get("/t/acme/dashboards/parts/forecast/", HTTP_HX_REQUEST="true").content.decode()
    assert "No orders in these months last year" in html
