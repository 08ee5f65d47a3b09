"""growth.metrics forecasts (DESIGN section 12): per account and offering, and the tenant's next
six months, against figures worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Account
from growth import metrics
from growth.models import Offering, ProductLineMapping
from kam.models import Tenant
from kam.tenancy import tenant_context
from tests import factories


def offering(tenant: Tenant, code: str) -> Offering:
    with tenant_context(tenant):
        return Offering.objects.create(tenant=tenant, code=code, name_zh=f"{code} 中文", name_en=f"{code} English")


def order(tenant: Tenant, account: Account, day: dt.date, amount: str, **extra: str) -> None:
    factories.OrderFactory(tenant=tenant, account=account, order_date=day, amount=Decimal(amount), **extra)


# --- per account and offering -----------------------------------------------------------------------

D = dt.date(2026, 6, 30)


@pytest.fixture
def account(tenant: Tenant) -> Account:
    return factories.AccountFactory(tenant=tenant, name="华东精密机械")


@pytest.mark.django_db
def test_next_date_and_amount_by_hand(tenant: Tenant, account: Account) -> None:
    offering(tenant, "BRG")
    # Distinct dates in (D-730, D] = (2024-06-30, 2026-06-30]: 2025-01-01, 01-31 (+30), 03-13 (+41),
    # 05-12 (+60, two orders), 07-21 (+70). Gaps 30, 41, 60, 70: median (41 + 60) / 2 = 50.5;
    # next = 2025-07-21 + floor(50.5) = 2025-09-09.
    # The last six orders by (date, id), newest first: 500, 1000, 400, 300, 200, 100 (the 999 of
    # 2024-03-01 is the seventh); sorted 100 200 300 400 500 1000: median (300 + 400) / 2 = 350.00.
    order(tenant, account, dt.date(2024, 3, 1), "999.00", offering="BRG")
    order(tenant, account, dt.date(2025, 1, 1), "100.00", offering="BRG")
    order(tenant, account, dt.date(2025, 1, 31), "200.00", offering="BRG")
    order(tenant, account, dt.date(2025, 3, 13), "300.00", offering="BRG")
    order(tenant, account, dt.date(2025, 5, 12), "400.00", offering="BRG")
    order(tenant, account, dt.date(2025, 5, 12), "1000.00", offering="BRG")
    order(tenant, account, dt.date(2025, 7, 21), "500.00", offering="BRG")
    order(tenant, account, D + dt.timedelta(days=1), "5.00", offering="BRG")  # after D: not counted
    with tenant_context(tenant):
        (forecast,) = metrics.account_forecast(tenant, account, as_of=D)
    assert forecast.code == "BRG"
    assert forecast.order_days == 5
    assert forecast.last_order == dt.date(2025, 7, 21)
    assert forecast.interval_days == Decimal("50.5")
    assert forecast.next_date == dt.date(2025, 9, 9)
    assert forecast.amount == Decimal("350.00")
    assert forecast.orders_counted == 6


@pytest.mark.django_db
def test_mapped_product_lines_ties_by_id_and_too_few_dates(tenant: Tenant, account: Account) -> None:
    valves, seals = offering(tenant, "VAL"), offering(tenant, "SEAL")
    with tenant_context(tenant):
        ProductLineMapping.objects.create(tenant=tenant, product_line="阀门", offering=valves)
    # VAL (through its product line, trimmed and case folded): seven orders on one day, created in
    # the order 1, 2, 3, 4, 5, 6, 8.01; the last six by (date, id) are the last six created:
    # 2 3 4 5 6 8.01, median (4 + 5) / 2 = 4.50. One distinct date: no next date.
    for amount in ("1.00", "2.00", "3.00", "4.00", "5.00", "6.00", "8.01"):
        order(tenant, account, dt.date(2026, 6, 1), amount, product_line=" 阀门 ")
    # SEAL: 0.01 and 0.02: median 0.015 -> 0.02 (half up); two dates: no next date.
    order(tenant, account, dt.date(2026, 5, 1), "0.01", offering="SEAL")
    order(tenant, account, dt.date(2026, 6, 1), "0.02", offering="SEAL")
    # Orders of no offering (an unknown code, an unmapped line) count for none.
    order(tenant, account, dt.date(2026, 6, 1), "70.00", offering="NOPE")
    order(tenant, account, dt.date(2026, 6, 1), "70.00", product_line="未映射")
    with tenant_context(tenant):
        rows = {row.code: row for row in metrics.account_forecast(tenant, account, as_of=D)}
    assert set(rows) == {"VAL", "SEAL"}
    assert (rows["VAL"].amount, rows["VAL"].next_date, rows["VAL"].order_days) == (Decimal("4.50"), None, 1)
    assert (rows["SEAL"].amount, rows["SEAL"].next_date, rows["SEAL"].interval_days) == (Decimal("0.02"), None, None)
    assert seals.pk == rows["SEAL"].offering_id


@pytest.mark.django_db
def test_odd_count_and_window(tenant: Tenant, account: Account) -> None:
    offering(tenant, "GEAR")
    # 2024-06-30 is D-730: outside the window. In it: 2025-01-01, 2025-01-11 (+10), 2025-02-10 (+30),
    # 2025-02-17 (+7): gaps 7 10 30, median 10; next = 2025-02-27. Amounts: 4 orders + the old one
    # = 5: 10 20 30 40 50 -> 30.00.
    order(tenant, account, dt.date(2024, 6, 30), "50.00", offering="GEAR")
    order(tenant, account, dt.date(2025, 1, 1), "10.00", offering="GEAR")
    order(tenant, account, dt.date(2025, 1, 11), "20.00", offering="GEAR")
    order(tenant, account, dt.date(2025, 2, 10), "40.00", offering="GEAR")
    order(tenant, account, dt.date(2025, 2, 17), "30.00", offering="GEAR")
    with tenant_context(tenant):
        (row,) = metrics.account_forecast(tenant, account, as_of=D)
    assert (row.order_days, row.interval_days, row.next_date, row.amount) == (
        4,
        Decimal("10"),
        dt.date(2025, 2, 27),
        Decimal("30.00"),
    )


@pytest.mark.django_db
def test_account_forecast_isolation(tenant: Tenant, other_tenant: Tenant, account: Account) -> None:
    """Another tenant's offering of the same code, and its orders, are not this account's."""
    offering(tenant, "BRG")
    offering(other_tenant, "BRG")
    theirs = factories.AccountFactory(tenant=other_tenant)
    order(tenant, account, dt.date(2026, 6, 1), "10.00", offering="BRG")
    order(other_tenant, theirs, dt.date(2026, 6, 2), "99.00", offering="BRG")
    with tenant_context(tenant):
        rows = metrics.account_forecast(tenant, account, as_of=D)
        assert metrics.account_forecast(tenant, theirs, as_of=D) == []
    assert [(row.code, row.amount) for row in rows] == [("BRG", Decimal("10.00"))]


# --- the tenant's next six months ------------------------------------------------------------------

TODAY = dt.date(2026, 6, 15)  # next six months: 2026-07 .. 2026-12, a year earlier 2025-07 .. 2025-12


@pytest.mark.django_db
def test_tenant_forecast_by_hand(tenant: Tenant, other_tenant: Tenant) -> None:
    a = factories.AccountFactory(tenant=tenant)
    b = factories.AccountFactory(tenant=tenant)
    # revenue_12m (2025-06-15, 2026-06-15]: 1,000 + 2,000.01 + 333.33 + 1,666.66 + 1,000 = 6,000.00
    order(tenant, a, dt.date(2025, 7, 10), "1000.00")
    order(tenant, b, dt.date(2025, 8, 31), "2000.01")
    order(tenant, a, dt.date(2025, 12, 1), "333.33")
    order(tenant, a, dt.date(2026, 3, 1), "1666.66")
    order(tenant, b, TODAY, "1000.00")
    # prev_12m (2024-06-15, 2025-06-15]: 4,000 (on D-365) + 1,000 = 5,000; growth 0.2
    order(tenant, a, dt.date(2025, 6, 15), "4000.00")
    order(tenant, a, dt.date(2024, 6, 16), "1000.00")
    order(tenant, a, dt.date(2024, 6, 15), "50000.00")  # D-730: outside
    order(tenant, a, dt.date(2026, 6, 16), "70000.00")  # after D
    theirs = factories.AccountFactory(tenant=other_tenant)
    order(other_tenant, theirs, dt.date(2025, 7, 10), "123456.00")  # another tenant's
    with tenant_context(tenant):
        forecast = metrics.tenant_forecast(tenant, as_of=TODAY)
    assert (forecast.revenue_12m, forecast.prev_12m, forecast.growth) == (
        Decimal("6000.00"),
        Decimal("5000.00"),
        Decimal("0.2"),
    )
    assert [month.month for month in forecast.months] == [dt.date(2026, m, 1) for m in range(7, 13)]
    assert [month.last_year_month for month in forecast.months] == [dt.date(2025, m, 1) for m in range(7, 13)]
    assert [month.last_year for month in forecast.months] == [
        Decimal(v) for v in ("1000.00", "2000.01", "0.00", "0.00", "0.00", "333.33")
    ]
    # x 1.2: 1,200.00; 2,400.012 -> 2,400.01; 0; 0; 0; 399.996 -> 400.00
    assert [month.forecast for month in forecast.months] == [
        Decimal(v) for v in ("1200.00", "2400.01", "0.00", "0.00", "0.00", "400.00")
    ]
    assert forecast.total_forecast == Decimal("4000.01")


@pytest.mark.django_db
def test_growth_clamped_and_half_up(tenant: Tenant) -> None:
    a = factories.AccountFactory(tenant=tenant)
    # prev 100; revenue 0.03 + 10,000 = 10,000.03: (10,000.03 - 100) / 100 = 99.0003 -> 0.5
    order(tenant, a, dt.date(2025, 1, 1), "100.00")
    order(tenant, a, dt.date(2025, 7, 5), "0.03")
    order(tenant, a, dt.date(2026, 1, 1), "10000.00")
    with tenant_context(tenant):
        forecast = metrics.tenant_forecast(tenant, as_of=TODAY)
    assert forecast.raw_growth == Decimal("99.0003")
    assert forecast.growth == Decimal("0.5")
    # July: 0.03 x 1.5 = 0.045 -> 0.05 (half up; half even would give 0.04)
    assert forecast.months[0].forecast == Decimal("0.05")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("orders", "growth"),
    [
        ([], Decimal("0")),  # both 0
        ([("2025-01-01", "100.00")], Decimal("-0.5")),  # revenue 0, prev 100: -1 -> -0.5
        ([("2026-01-01", "100.00")], Decimal("0.5")),  # prev 0, revenue > 0: 1.0 -> 0.5
        ([("2025-01-01", "100.00"), ("2026-01-01", "90.00")], Decimal("-0.1")),
    ],
)
def test_growth_rules(tenant: Tenant, orders: list[tuple[str, str]], growth: Decimal) -> None:
    a = factories.AccountFactory(tenant=tenant)
    for day, amount in orders:
        order(tenant, a, dt.date.fromisoformat(day), amount)
    with tenant_context(tenant):
        forecast = metrics.tenant_forecast(tenant, as_of=TODAY)
    assert forecast.growth == growth
    assert len(forecast.months) == 6


def test_months_helpers() -> None:
    assert metrics.first_of_next_month(dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)
    assert metrics.first_of_next_month(dt.date(2026, 1, 31)) == dt.date(2026, 2, 1)
    assert metrics.add_months(dt.date(2026, 1, 1), -12) == dt.date(2025, 1, 1)
    assert metrics.add_months(dt.date(2026, 7, 1), -6) == dt.date(2026, 1, 1)
