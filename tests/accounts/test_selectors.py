"""Account figures, group roll-up, org chart and timeline, against hand-computed numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts import selectors
from kam.tenancy import tenant_context
from tests.factories import (
    AccountFactory,
    ContactFactory,
    EventFactory,
    InteractionFactory,
    InvoiceFactory,
    OrderFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date(2026, 6, 30)


def order(tenant, account, day, amount):
    return OrderFactory(tenant=tenant, account=account, order_date=day, amount=Decimal(amount))


def test_figures_follow_design_section_4(tenant):
    # given: an account with orders in both windows, and another account
    a = AccountFactory(tenant=tenant, cooperation_since=dt.date(2020, 6, 30))
    b = AccountFactory(tenant=tenant)
    order(tenant, a, dt.date(2026, 6, 30), "300")  # 12m (D itself counts)
    order(tenant, a, dt.date(2025, 7, 1), "100")  # 12m (D-364)
    order(tenant, a, dt.date(2025, 6, 30), "200")  # prev 12m (D-365 is excluded from 12m)
    order(tenant, a, dt.date(2026, 7, 1), "999")  # after D: ignored
    order(tenant, b, dt.date(2026, 1, 1), "600")
    with tenant_context(tenant):
        figures = selectors.account_figures_get(tenant, a, as_of=D)
    # then: revenue 400, prev 200, growth (400-200)/200 = 1.0, share 400/1000
    assert figures.revenue_12m == Decimal("400")
    assert figures.prev_12m == Decimal("200")
    assert figures.growth == 1.0
    assert figures.tenant_revenue_12m == Decimal("1000")
    assert figures.revenue_share == 0.4
    # cooperation since 2020-06-30 (earlier than the first order): 2191 days / 365.25
    assert figures.cooperation_years == pytest.approx(2191 / 365.25)
    assert figures.last_order == dt.date(2026, 6, 30)


@pytest.mark.parametrize(
    ("revenue", "prev", "growth"),
    [
        ("300", "100", 2.0),
        ("500", "100", 2.0),
        ("0", "100", -1.0),
        ("50", "0", 1.0),
        ("0", "0", 0.0),
        ("90", "100", -0.1),
    ],
)
def test_growth_clamps_to_minus_one_and_two(revenue, prev, growth):
    assert selectors.growth_of(Decimal(revenue), Decimal(prev)) == pytest.approx(growth)


def test_expected_next_purchase_uses_the_median_gap(tenant):
    a = AccountFactory(tenant=tenant)
    # distinct dates: gaps 10, 20, 30 days -> median 20; two orders on one day count once
    for day in (dt.date(2026, 3, 1), dt.date(2026, 3, 11), dt.date(2026, 3, 31), dt.date(2026, 4, 30)):
        order(tenant, a, day, "10")
    order(tenant, a, dt.date(2026, 4, 30), "10")
    with tenant_context(tenant):
        figures = selectors.account_figures_get(tenant, a, as_of=D)
    assert figures.purchase_interval_days == 20.0
    assert figures.expected_next_purchase == dt.date(2026, 5, 20)


def test_no_rhythm_with_fewer_than_three_dates(tenant):
    a = AccountFactory(tenant=tenant)
    order(tenant, a, dt.date(2026, 3, 1), "10")
    order(tenant, a, dt.date(2026, 4, 1), "10")
    with tenant_context(tenant):
        figures = selectors.account_figures_get(tenant, a, as_of=D)
    assert (figures.purchase_interval_days, figures.expected_next_purchase) == (None, None)


def test_overdue_invoices(tenant):
    a = AccountFactory(tenant=tenant)
    InvoiceFactory(tenant=tenant, account=a, issued_on=dt.date(2026, 5, 1), due_on=dt.date(2026, 5, 31))  # overdue
    InvoiceFactory(tenant=tenant, account=a, issued_on=dt.date(2026, 6, 1), due_on=dt.date(2026, 7, 1))  # open
    InvoiceFactory(
        tenant=tenant,
        account=a,
        issued_on=dt.date(2026, 4, 1),
        due_on=dt.date(2026, 4, 30),
        paid_on=dt.date(2026, 5, 9),
    )
    with tenant_context(tenant):
        figures = selectors.account_figures_get(tenant, a, as_of=D)
        flags = list(selectors.invoice_list(tenant, a, as_of=D).values_list("due_on", "is_overdue"))
    assert (figures.open_invoices, figures.overdue_invoices) == (2, 1)
    assert flags == [(dt.date(2026, 7, 1), False), (dt.date(2026, 5, 31), True), (dt.date(2026, 4, 30), False)]


def test_group_rolls_revenue_up_to_the_root(tenant):
    root = AccountFactory(tenant=tenant, name="集团")
    child = AccountFactory(tenant=tenant, name="子公司", parent=root)
    grandchild = AccountFactory(tenant=tenant, name="孙公司", parent=child)
    sibling = AccountFactory(tenant=tenant, name="兄弟公司", parent=root)
    order(tenant, root, dt.date(2026, 1, 1), "100")
    order(tenant, child, dt.date(2026, 1, 1), "20")
    order(tenant, grandchild, dt.date(2026, 1, 1), "3")
    order(tenant, sibling, dt.date(2026, 1, 1), "4000")
    order(tenant, grandchild, dt.date(2024, 1, 1), "999")  # outside 12m
    with tenant_context(tenant):
        tree = selectors.account_group_get(tenant, grandchild, as_of=D)
    assert tree.account == root
    assert tree.rolled_up_revenue_12m == Decimal("4123")
    # the biggest subsidiary first
    assert [(n.account.name, n.revenue_12m, n.rolled_up_revenue_12m) for n in tree.children] == [
        ("兄弟公司", Decimal("4000"), Decimal("4000")),
        ("子公司", Decimal("20"), Decimal("23")),
    ]
    assert tree.children[1].children[0].account == grandchild


def test_org_chart_from_reports_to(tenant):
    a = AccountFactory(tenant=tenant)
    boss = ContactFactory(tenant=tenant, account=a, name="总经理")
    ContactFactory(tenant=tenant, account=a, name="采购总监", reports_to=boss)
    ContactFactory(tenant=tenant, account=a, name="独立顾问")
    ContactFactory(tenant=tenant, account=AccountFactory(tenant=tenant), name="别家的人")
    with tenant_context(tenant):
        roots = selectors.contact_org_chart_get(tenant, a)
    assert [(n.contact.name, [r.contact.name for r in n.reports]) for n in roots] == [
        ("总经理", ["采购总监"]),
        ("独立顾问", []),
    ]


def test_timeline_pages_newest_first_without_gaps_or_repeats(tenant):
    # given: 12 orders on one day, 5 interactions and 3 events, across the last months
    a = AccountFactory(tenant=tenant)
    for _ in range(12):
        order(tenant, a, dt.date(2026, 5, 5), "1")
    for day in range(1, 6):
        InteractionFactory(tenant=tenant, account=a, occurred_at=dt.datetime(2026, 5, day, 9, tzinfo=dt.UTC))
    for month in (2, 3, 4):
        EventFactory(tenant=tenant, account=a, occurred_on=dt.date(2026, month, 1), expires_on=None)
    # when: read in pages of 4
    seen, cursor = [], None
    with tenant_context(tenant):
        while True:
            page, next_cursor = selectors.timeline_entry_list(
                tenant, a, cursor=selectors.parse_timeline_cursor(cursor), limit=4
            )
            seen.extend(page)
            if next_cursor is None:
                break
            cursor = next_cursor
    # then: every entry exactly once, in order
    keys = [entry.key for entry in seen]
    assert len(keys) == 12 + 5 + 3 + 0  # no audited changes: factories bypass services
    assert len(set(keys)) == len(keys)
    assert keys == sorted(keys, reverse=True)
    # 2026-05-05 09:00 UTC is 17:00 in Shanghai, after that day's orders (noon, local)
    assert [entry.kind for entry in seen[:13]] == ["interaction"] + ["order"] * 12


def test_timeline_ignores_a_garbage_cursor():
    assert selectors.parse_timeline_cursor("nonsense") is None
    assert selectors.parse_timeline_cursor("2026-01-01T00:00:00+00:00|alien|3") is None
