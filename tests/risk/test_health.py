"""The health assessment against DESIGN section 6, every expected number worked by hand:
each signal at its edges, the renormalisation over the signals that have data, the
complaint penalty and its cap, the median purchase interval, rounding half up, and
"as of D" (later records ignored, datetimes on their date in the tenant's time zone).

D = 2026-06-30: D-182 = 2025-12-30, D-364 = 2025-07-01, D-365 = 2025-06-30, D-730 = 2024-06-30.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from accounts.models import Account, ContactLevel, InteractionKind
from kam.tenancy import tenant_context
from risk.models import HealthAssessment, RiskRun, RunKind
from teams.models import AccountTeam
from tests.factories import AccountFactory, ContactFactory, InteractionFactory, InvoiceFactory, OrderFactory
from tests.risk.conftest import D, run
from tests.teams.factories import AccountTeamFactory, CounterpartLinkFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def days_before(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


def orders(tenant, account, *dates: dt.date, amount: str = "100") -> None:
    for day in dates:
        OrderFactory(tenant=tenant, account=account, order_date=day, amount=Decimal(amount))


def interaction(tenant, account, when: dt.datetime, kind: str = InteractionKind.MEETING) -> None:
    InteractionFactory(tenant=tenant, account=account, occurred_at=when, kind=kind)


def at_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=SHANGHAI)


def team_of(tenant, account) -> AccountTeam:
    with tenant_context(tenant):
        team = AccountTeam.objects.filter(account=account).first()
    return team or AccountTeamFactory(tenant=tenant, account=account)


def link(tenant, account, level: str, *, left_on: dt.date | None = None) -> None:
    member = TeamMemberFactory(tenant=tenant, team=team_of(tenant, account))
    contact = ContactFactory(tenant=tenant, account=account, level=level, left_on=left_on)
    CounterpartLinkFactory(tenant=tenant, member=member, contact=contact)


def assess(tenant, as_of: dt.date = D) -> dict[str, HealthAssessment]:
    result = run(tenant, as_of=as_of, kind=RunKind.HEALTH)
    assert result.status == "done", result.error
    with tenant_context(tenant):
        assessed = HealthAssessment.objects.filter(as_of=as_of).select_related("account")
        return {h.account.name: h for h in assessed}


# --- revenue trend (25) ----------------------------------------------------------------------------


def test_revenue_trend_maps_growth_linearly_from_minus_half_to_a_fifth(tenant, policy):
    cases = {
        # name: (r6 in (D-182, D], p6 in (D-364, D-182])
        "up 20%": ("120", "100"),  # g = .2 -> (.2 + .5) / .7 = 1 -> 100
        "down 50%": ("50", "100"),  # g = -.5 -> 0
        "down 20%": ("80", "100"),  # g = -.2 -> .3 / .7 * 100 = 42.857142...
        "down 60%": ("40", "100"),  # g = -.6 -> clamped to 0
        "new": ("100", None),  # p6 = 0 < r6 -> g = 1.0 -> 100
    }
    for name, (recent, previous) in cases.items():
        account = AccountFactory(tenant=tenant, name=name)
        orders(tenant, account, days_before(10), amount=recent)
        if previous:
            orders(tenant, account, days_before(200), amount=previous)
    AccountFactory(tenant=tenant, name="none")
    got = assess(tenant)
    assert {name: (h.revenue_trend, h.revenue_trend_points) for name, h in got.items()} == {
        "up 20%": (Decimal("0.2"), Decimal("100")),
        "down 50%": (Decimal("-0.5"), Decimal("0")),
        "down 20%": (Decimal("-0.2"), Decimal("42.8571")),
        "down 60%": (Decimal("-0.6"), Decimal("0")),
        "new": (Decimal("1"), Decimal("100")),
        "none": (None, None),  # both 0: no data
    }


def test_revenue_trend_window_edges(tenant, policy):
    account = AccountFactory(tenant=tenant, name="edges")
    orders(tenant, account, days_before(181), amount="30")  # 2025-12-31: recent half
    orders(tenant, account, days_before(182), amount="20")  # 2025-12-30: previous half
    orders(tenant, account, days_before(363), amount="80")  # 2025-07-02: previous half
    orders(tenant, account, days_before(364), amount="500")  # 2025-07-01: outside both
    orders(tenant, account, D + dt.timedelta(days=1), amount="900")  # after D: ignored
    h = assess(tenant)["edges"]
    # r6 = 30, p6 = 20 + 80 = 100 -> g = -.7 -> 0 points
    assert (h.revenue_recent_6m, h.revenue_previous_6m, h.revenue_trend, h.revenue_trend_points) == (
        Decimal("30.00"),
        Decimal("100.00"),
        Decimal("-0.7"),
        Decimal("0"),
    )


# --- purchase rhythm (25) and the purchase cycle --------------------------------------------------


def test_median_interval_of_odd_and_even_numbers_of_gaps(tenant, policy):
    account = AccountFactory(tenant=tenant, name="three gaps")
    # dates D-40, D-30, D-20, D-5 (and a second order on D-20): gaps 10, 10, 15 -> the middle one, 10
    orders(tenant, account, days_before(40), days_before(30), days_before(20), days_before(20), days_before(5))
    other = AccountFactory(tenant=tenant, name="four gaps")
    # dates D-60, D-50, D-30, D-26, D-20: gaps 10, 20, 4, 6 -> sorted 4, 6, 10, 20 -> the mean of the middle two,
    # (6 + 10) / 2 = 8
    orders(tenant, other, days_before(60), days_before(50), days_before(30), days_before(26), days_before(20))
    got = assess(tenant)
    odd_count, even_count = got["three gaps"], got["four gaps"]
    # three gaps: I = 10; last order D-5; r = 5 / 10 = .5 <= 1 -> 100; next = D-5 + 10 = 2026-07-05
    assert (odd_count.order_days, odd_count.purchase_interval_days, odd_count.purchase_ratio) == (
        4,
        Decimal("10"),
        Decimal("0.5"),
    )
    assert (odd_count.purchase_rhythm_points, odd_count.expected_next_purchase) == (Decimal("100"), dt.date(2026, 7, 5))
    # four gaps: I = 8; last order D-20; r = 20 / 8 = 2.5 -> (3 - 2.5) / 2 * 100 = 25; next = D-20 + 8 = 2026-06-18
    assert (even_count.purchase_interval_days, even_count.purchase_ratio, even_count.purchase_rhythm_points) == (
        Decimal("8"),
        Decimal("2.5"),
        Decimal("25"),
    )
    assert even_count.expected_next_purchase == dt.date(2026, 6, 18)


def test_a_half_day_median_and_the_ratio_edges(tenant, policy):
    half = AccountFactory(tenant=tenant, name="half")
    # dates D-31, D-21, D-10: gaps 10 and 11 -> I = 10.5; r = 10 / 10.5 = .952 -> 100;
    # next = D-10 + 10.5 days: on the day D-10 + 10 = D (the half day does not reach the next date)
    orders(tenant, half, days_before(31), days_before(21), days_before(10))
    at_three = AccountFactory(tenant=tenant, name="r=3")
    orders(tenant, at_three, days_before(50), days_before(40), days_before(30))  # I = 10, r = 30 / 10 = 3 -> 0
    at_one = AccountFactory(tenant=tenant, name="r=1")
    orders(tenant, at_one, days_before(30), days_before(20), days_before(10))  # I = 10, r = 1 -> 100
    at_two = AccountFactory(tenant=tenant, name="r=2")
    orders(tenant, at_two, days_before(40), days_before(30), days_before(20))  # I = 10, r = 2 -> 50
    got = assess(tenant)
    assert (got["half"].purchase_interval_days, got["half"].purchase_ratio) == (Decimal("10.5"), Decimal("0.9524"))
    assert got["half"].expected_next_purchase == D
    assert {name: got[name].purchase_rhythm_points for name in ("half", "r=3", "r=1", "r=2")} == {
        "half": Decimal("100"),
        "r=3": Decimal("0"),
        "r=1": Decimal("100"),
        "r=2": Decimal("50"),
    }


def test_fewer_than_three_distinct_dates_in_two_years_is_no_data(tenant, policy):
    account = AccountFactory(tenant=tenant, name="two days")
    # D-730 is outside (D-730, D]; two orders on one day count once: dates D-100, D-50 -> 2 < 3
    orders(tenant, account, days_before(730), days_before(100), days_before(100), days_before(50))
    orders(tenant, account, D + dt.timedelta(days=3))  # after D: ignored
    h = assess(tenant)["two days"]
    assert (h.order_days, h.purchase_interval_days, h.purchase_rhythm_points, h.expected_next_purchase) == (
        2,
        None,
        None,
        None,
    )
    assert h.last_order_on == days_before(50)


# --- payment (20) ------------------------------------------------------------------------------------


def test_payment_points_from_the_mean_days_overdue(tenant, policy):
    prompt = AccountFactory(tenant=tenant, name="prompt")
    # due D-100 paid 10 days late; due D-50 paid early (0) -> m = 5 -> 100 - 5/60*100 = 91.6667
    InvoiceFactory(
        tenant=tenant, account=prompt, issued_on=days_before(130), due_on=days_before(100), paid_on=days_before(90)
    )
    InvoiceFactory(
        tenant=tenant, account=prompt, issued_on=days_before(80), due_on=days_before(50), paid_on=days_before(55)
    )
    late = AccountFactory(tenant=tenant, name="late")
    # due D-60, unpaid -> 60 days -> 0; due D-30 paid after D -> unpaid as of D -> 30; m = 45 -> 25
    InvoiceFactory(tenant=tenant, account=late, issued_on=days_before(90), due_on=days_before(60))
    InvoiceFactory(
        tenant=tenant, account=late, issued_on=days_before(60), due_on=days_before(30), paid_on=D + dt.timedelta(days=1)
    )
    outside = AccountFactory(tenant=tenant, name="outside")
    # due on D-365 (outside (D-365, D]) and due after D: no invoice counts -> no data
    InvoiceFactory(tenant=tenant, account=outside, issued_on=days_before(400), due_on=days_before(365))
    InvoiceFactory(tenant=tenant, account=outside, issued_on=days_before(5), due_on=D + dt.timedelta(days=25))
    got = assess(tenant)
    assert (got["prompt"].invoices_due, got["prompt"].mean_overdue_days, got["prompt"].payment_points) == (
        2,
        Decimal("5"),
        Decimal("91.6667"),
    )
    assert (got["late"].mean_overdue_days, got["late"].payment_points) == (Decimal("45"), Decimal("25"))
    assert (got["outside"].invoices_due, got["outside"].payment_points) == (0, None)


# --- engagement (15) ---------------------------------------------------------------------------------


def test_engagement_from_the_days_since_the_last_interaction(tenant, policy):
    cases = {"30 days": 30, "31 days": 31, "75 days": 75, "120 days": 120}
    for name, days in cases.items():
        interaction(tenant, AccountFactory(tenant=tenant, name=name), at_noon(days_before(days)))
    AccountFactory(tenant=tenant, name="never")
    got = assess(tenant)
    # <= 30 -> 100; 31 -> (120 - 31) / 90 * 100 = 98.8889; 75 -> 50; >= 120 -> 0; none ever -> 0 (with data)
    assert {name: (h.days_since_interaction, h.engagement_points) for name, h in got.items()} == {
        "30 days": (30, Decimal("100")),
        "31 days": (31, Decimal("98.8889")),
        "75 days": (75, Decimal("50")),
        "120 days": (120, Decimal("0")),
        "never": (None, Decimal("0")),
    }


def test_an_interaction_counts_on_its_date_in_the_tenants_time_zone(tenant, policy):
    late_evening_utc = AccountFactory(tenant=tenant, name="next day in Shanghai")
    # 2026-06-30 20:00 UTC is 2026-07-01 04:00 in Shanghai: after D, ignored -> only the one 100 days before
    interaction(tenant, late_evening_utc, dt.datetime(2026, 6, 30, 20, 0, tzinfo=dt.UTC))
    interaction(tenant, late_evening_utc, at_noon(days_before(100)))
    early_utc = AccountFactory(tenant=tenant, name="same day in Shanghai")
    # 2026-06-29 17:00 UTC is 2026-06-30 01:00 in Shanghai: on D -> 0 days
    interaction(tenant, early_utc, dt.datetime(2026, 6, 29, 17, 0, tzinfo=dt.UTC))
    got = assess(tenant)
    assert got["next day in Shanghai"].days_since_interaction == 100  # (120 - 100) / 90 * 100 = 22.2222
    assert got["next day in Shanghai"].engagement_points == Decimal("22.2222")
    assert (got["same day in Shanghai"].days_since_interaction, got["same day in Shanghai"].engagement_points) == (
        0,
        Decimal("100"),
    )


# --- relationship (15) -------------------------------------------------------------------------------


def test_relationship_counts_linked_levels_with_contacts_still_there(tenant, policy):
    two = AccountFactory(tenant=tenant, name="two levels")
    link(tenant, two, ContactLevel.EXECUTIVE)
    link(tenant, two, ContactLevel.OPERATIONAL)
    link(tenant, two, ContactLevel.OPERATIONAL)  # the same level twice counts once
    link(tenant, two, ContactLevel.MANAGERIAL, left_on=days_before(1))  # left: not counted
    three = AccountFactory(tenant=tenant, name="three levels")
    for level in ContactLevel.values:
        link(tenant, three, level)
    link(
        tenant,
        AccountFactory(tenant=tenant, name="leaves later"),
        ContactLevel.MANAGERIAL,
        left_on=D + dt.timedelta(days=1),
    )
    AccountFactory(tenant=tenant, name="none")
    got = assess(tenant)
    # 100 * levels / 3
    assert {name: (h.relationship_levels, h.relationship_points) for name, h in got.items()} == {
        "two levels": (2, Decimal("66.6667")),
        "three levels": (3, Decimal("100")),
        "leaves later": (1, Decimal("33.3333")),
        "none": (0, Decimal("0")),
    }


# --- the score ---------------------------------------------------------------------------------------


def test_weighted_mean_of_all_five_signals_minus_a_complaint(tenant, policy):
    account = AccountFactory(tenant=tenant, name="all signals")
    # trend: r6 = 120 (D-10), p6 = 100 (D-200) -> g = .2 -> 100
    orders(tenant, account, days_before(10), amount="120")
    orders(tenant, account, days_before(200), amount="100")
    # rhythm: dates D-200, D-60, D-50, D-40, D-10: gaps 140, 10, 10, 30 -> sorted 10, 10, 30, 140 -> I = 20;
    # last order D-10 -> r = 10 / 20 = .5 -> 100
    orders(tenant, account, days_before(60), days_before(50), days_before(40), amount="0.01")
    # payment: m = 5 -> 91.6667 (as in the payment test)
    InvoiceFactory(
        tenant=tenant, account=account, issued_on=days_before(130), due_on=days_before(100), paid_on=days_before(90)
    )
    InvoiceFactory(
        tenant=tenant, account=account, issued_on=days_before(80), due_on=days_before(50), paid_on=days_before(55)
    )
    # engagement: 75 days -> 50; one complaint 89 days before D (inside (D-90, D]) is older than the meeting
    interaction(tenant, account, at_noon(days_before(89)), kind=InteractionKind.COMPLAINT)
    interaction(tenant, account, at_noon(days_before(75)))
    # relationship: two levels -> 66.6667
    link(tenant, account, ContactLevel.EXECUTIVE)
    link(tenant, account, ContactLevel.MANAGERIAL)
    h = assess(tenant)["all signals"]
    # r6 = 120 + 3 * .01 = 120.03 (D-60, D-50, D-40 are within 182 days); p6 = 100 -> g = .2003 -> 100
    assert (h.revenue_trend_points, h.purchase_rhythm_points, h.payment_points) == (
        Decimal("100"),
        Decimal("100"),
        Decimal("91.6667"),
    )
    # (25*100 + 25*100 + 20*91.6667 + 15*50 + 15*66.6667) / 100 = (2500 + 2500 + 1833.33 + 750 + 1000) / 100
    # = 85.8333; minus 10 for the complaint = 75.8333 -> 75.83, green
    assert (h.weight_total, h.complaints, h.complaint_penalty, h.score, h.band) == (
        100,
        1,
        Decimal("10"),
        Decimal("75.83"),
        "green",
    )


def test_signals_without_data_drop_their_weights(tenant, policy):
    account = AccountFactory(tenant=tenant, name="little data")
    interaction(tenant, account, at_noon(days_before(3)))  # engagement 100
    link(tenant, account, ContactLevel.EXECUTIVE)  # relationship 33.3333
    h = assess(tenant)["little data"]
    # only engagement and relationship: (15*100 + 15*33.3333) / 30 = 66.6667 -> 66.67, yellow
    assert (h.weight_total, h.revenue_trend_points, h.purchase_rhythm_points, h.payment_points) == (
        30,
        None,
        None,
        None,
    )
    assert (h.score, h.band) == (Decimal("66.67"), "yellow")


def test_an_account_with_nothing_is_red_at_zero_and_lost_accounts_are_not_assessed(tenant, policy):
    AccountFactory(tenant=tenant, name="empty")
    lost = AccountFactory(tenant=tenant, name="lost", status="lost", health_score=Decimal("80"), health_band="green")
    got = assess(tenant)
    # engagement 0 (no interaction ever), relationship 0: (0 + 0) / 30 = 0
    assert set(got) == {"empty"}
    assert (got["empty"].weight_total, got["empty"].score, got["empty"].band) == (30, Decimal("0"), "red")
    with tenant_context(tenant):
        lost.refresh_from_db()
    assert (lost.health_score, lost.health_band) == (None, "")  # a stale value is cleared


def test_complaint_penalty_window_and_cap(tenant, policy):
    engaged = {}
    for name, complaints in (("one", 1), ("four", 4)):
        account = AccountFactory(tenant=tenant, name=name)
        for _ in range(complaints):
            interaction(tenant, account, at_noon(days_before(1)), kind=InteractionKind.COMPLAINT)
        link(tenant, account, ContactLevel.EXECUTIVE)
        link(tenant, account, ContactLevel.MANAGERIAL)
        link(tenant, account, ContactLevel.OPERATIONAL)
        engaged[name] = account
    edge = AccountFactory(tenant=tenant, name="edge")
    # a complaint on D-90 in Shanghai is outside (D-90, D]; one at 23:59 on D-90 UTC+8 too
    interaction(tenant, edge, at_noon(days_before(90)), kind=InteractionKind.COMPLAINT)
    interaction(
        tenant,
        edge,
        dt.datetime.combine(days_before(90), dt.time(23, 59), tzinfo=SHANGHAI),
        kind=InteractionKind.COMPLAINT,
    )
    interaction(tenant, edge, at_noon(days_before(1)))
    got = assess(tenant)
    # engagement 100 (1 day) and relationship 100: base 100; one complaint -> 90; four -> capped at 30 -> 70
    assert (got["one"].complaints, got["one"].complaint_penalty, got["one"].score) == (1, Decimal("10"), Decimal("90"))
    assert (got["four"].complaints, got["four"].complaint_penalty, got["four"].score, got["four"].band) == (
        4,
        Decimal("30"),
        Decimal("70"),
        "green",
    )
    # edge: no complaint inside; engagement 100, relationship 0 -> 50
    assert (got["edge"].complaints, got["edge"].score) == (0, Decimal("50"))


def test_the_penalty_clamps_at_zero_and_bands_follow_the_rounded_score(tenant, policy):
    account = AccountFactory(tenant=tenant, name="angry")
    for _ in range(3):
        interaction(tenant, account, at_noon(days_before(2)), kind=InteractionKind.COMPLAINT)
    # engagement 100, relationship 0 -> 50; minus 30 -> 20, red
    yellow_edge = AccountFactory(tenant=tenant, name="40")
    interaction(tenant, yellow_edge, at_noon(days_before(66)))  # (120 - 66) / 90 * 100 = 60
    link(tenant, yellow_edge, ContactLevel.EXECUTIVE)  # 33.3333
    interaction(tenant, yellow_edge, at_noon(days_before(66)), kind=InteractionKind.COMPLAINT)
    # (15*60 + 15*33.3333) / 30 = 46.6667; minus 10 = 36.67 -> red (below 40)
    below_zero = AccountFactory(tenant=tenant, name="below zero")
    for _ in range(3):
        interaction(tenant, below_zero, at_noon(days_before(89)), kind=InteractionKind.COMPLAINT)
    # engagement (120 - 89) / 90 * 100 = 34.4444, relationship 0 -> 17.2222; minus 30 -> -12.78 -> clamped to 0
    got = assess(tenant)
    assert (got["angry"].score, got["angry"].band) == (Decimal("20"), "red")
    assert (got["40"].score, got["40"].band) == (Decimal("36.67"), "red")
    assert (got["below zero"].complaint_penalty, got["below zero"].score) == (Decimal("30"), Decimal("0"))


def test_rounding_is_half_up_even_through_a_repeating_third(tenant, policy):
    account = AccountFactory(tenant=tenant, name="x.xx5")
    # payment: 16 invoices due in the year, one paid 3 days late -> m = 3/16 = .1875 -> 100 - .3125 = 99.6875
    for n in range(16):
        InvoiceFactory(
            tenant=tenant,
            account=account,
            issued_on=days_before(100 + n),
            due_on=days_before(70 + n),
            paid_on=days_before(67) if n == 0 else days_before(70 + n),
        )
    interaction(tenant, account, at_noon(days_before(1)))  # engagement 100
    link(tenant, account, ContactLevel.EXECUTIVE)  # relationship 100/3
    h = assess(tenant)["x.xx5"]
    # (20*99.6875 + 15*100 + 15*100/3) / 50 = (1993.75 + 1500 + 500) / 50 = 79.875 exactly -> half up: 79.88
    assert (h.weight_total, h.mean_overdue_days, h.score) == (50, Decimal("0.19"), Decimal("79.88"))


def test_change_since_the_previous_assessment_and_the_accounts_current_health(tenant, policy):
    account = AccountFactory(tenant=tenant, name="fading")
    interaction(tenant, account, at_noon(days_before(31)))
    link(tenant, account, ContactLevel.EXECUTIVE)
    first = assess(tenant, as_of=D)["fading"]
    # D: engagement 31 days -> 98.8889; relationship 33.3333 -> (98.8889 + 33.3333) / 2 = 66.1111 -> 66.11
    later = assess(tenant, as_of=D + dt.timedelta(days=60))["fading"]
    # D+60: 91 days -> (120 - 91) / 90 * 100 = 32.2222 -> (32.2222 + 33.3333) / 2 = 32.7778 -> 32.78
    assert (first.score, first.previous_score, first.score_change) == (Decimal("66.11"), None, None)
    assert (later.score, later.previous_score, later.score_change, later.band) == (
        Decimal("32.78"),
        Decimal("66.11"),
        Decimal("-33.33"),
        "red",
    )
    with tenant_context(tenant):
        account.refresh_from_db()
    assert (account.health_score, account.health_band) == (Decimal("32.78"), "red")
    # a backfill of an earlier day does not move the current health
    assess(tenant, as_of=D - dt.timedelta(days=5))
    with tenant_context(tenant):
        account.refresh_from_db()
    assert (account.health_score, account.health_band) == (Decimal("32.78"), "red")


def test_a_rerun_of_the_day_keeps_one_row_per_account_and_rewrites_only_what_changed(tenant, policy):
    account = AccountFactory(tenant=tenant, name="again")
    steady = AccountFactory(tenant=tenant, name="steady")
    interaction(tenant, account, at_noon(days_before(1)))
    interaction(tenant, steady, at_noon(days_before(1)))
    first = assess(tenant)
    second = assess(tenant)
    # nothing changed: the rows stay as the first run wrote them
    assert {name: (h.pk, h.run_id, h.score) for name, h in second.items()} == {
        name: (h.pk, h.run_id, h.score) for name, h in first.items()
    }
    assert first["again"].score == Decimal("50")
    # a complaint today: that account's row is rewritten by the third run, the other one is kept
    interaction(tenant, account, at_noon(D), kind=InteractionKind.COMPLAINT)
    third = assess(tenant)
    with tenant_context(tenant):
        third_run = RiskRun.objects.order_by("-id").first()
    assert (third["again"].run_id, third["again"].score, third["again"].complaints) == (
        third_run.pk,
        Decimal("40"),
        1,
    )
    assert (third["steady"].pk, third["steady"].run_id) == (first["steady"].pk, first["steady"].run_id)
    with tenant_context(tenant):
        assert HealthAssessment.objects.filter(as_of=D).count() == 2
        account.refresh_from_db()
    assert (account.health_score, account.health_band) == (Decimal("40"), "yellow")
    # an account that becomes lost is no longer assessed: its row of the day goes on the next re-run
    with tenant_context(tenant):
        Account.objects.filter(pk=steady.pk).update(status="lost")
    assert set(assess(tenant)) == {"again"}


@pytest.mark.django_db(transaction=True)
def test_an_account_deleted_during_an_assessment_waits_for_it_and_takes_its_assessments_along():
    import threading
    import time

    from django.db import connection, transaction

    from accounts import services as account_services
    from risk import services
    from tests.factories import TenantFactory

    tenant = TenantFactory(slug="jiankang-shanchu")
    services.risk_policy_seed_default(tenant)
    keep = AccountFactory(tenant=tenant, name="留")
    gone = AccountFactory(tenant=tenant, name="删")  # no orders or invoices: it may be deleted
    run(tenant, kind=RunKind.HEALTH)
    queued = services.risk_run_create(tenant, kind=RunKind.HEALTH, as_of=D + dt.timedelta(days=1))
    deleted = []

    def delete():
        try:
            account_services.account_delete(tenant, account=gone)
            deleted.append(time.monotonic())
        finally:
            connection.close()

    # given: a second assessment that has written its rows and not committed yet
    with transaction.atomic():
        assert services.risk_run_execute(tenant, run=queued).accounts_assessed == 2
        worker = threading.Thread(target=delete)
        worker.start()
        worker.join(timeout=1.0)
        # then: the delete waits for the assessment
        assert worker.is_alive() and deleted == []
        committed = time.monotonic()
    worker.join(timeout=30)
    assert deleted and deleted[0] >= committed
    # and: no assessment outlives its account
    with tenant_context(tenant):
        assert sorted(HealthAssessment.objects.values_list("account_id", flat=True)) == [keep.pk, keep.pk]


def test_an_account_deleted_by_any_statement_takes_its_assessments_along(tenant, policy):
    from django.db import connection

    from risk import services

    gone = AccountFactory(tenant=tenant, name="gone")
    AccountFactory(tenant=tenant, name="kept")
    # the assessments alone: the alerts they would open have database foreign keys of their own
    for day in (D, days_before(1)):
        services.health_assess(tenant, as_of=day, run=services.risk_run_create(tenant, kind=RunKind.HEALTH, as_of=day))
    with tenant_context(tenant), connection.cursor() as cursor:
        # not through the ORM, whose collector would delete the assessments first
        cursor.execute("DELETE FROM accounts_account WHERE tenant_id = %s AND id = %s", [tenant.pk, gone.pk])
        names = set(HealthAssessment.objects.values_list("account__name", flat=True))
        assert (HealthAssessment.objects.count(), names) == (2, {"kept"})


def test_the_previous_score_is_each_accounts_latest_before_the_day_even_when_it_missed_the_last_day(tenant, policy):
    back = AccountFactory(tenant=tenant, name="back")
    daily = AccountFactory(tenant=tenant, name="daily")
    # engagement only (relationship 0): score = engagement points / 2, falling day by day
    interaction(tenant, back, at_noon(days_before(40)))
    interaction(tenant, daily, at_noon(days_before(40)))
    first = assess(tenant, as_of=days_before(5))  # 35 days since: 94.44 points
    assert {n: (h.score, h.previous_score) for n, h in first.items()} == {
        "back": (Decimal("47.22"), None),
        "daily": (Decimal("47.22"), None),
    }
    with tenant_context(tenant):
        Account.objects.filter(pk=back.pk).update(status="lost")  # not assessed on D-1
    second = assess(tenant, as_of=days_before(1))  # 39 days since: 90 points
    assert {n: (h.score, h.previous_score) for n, h in second.items()} == {
        "daily": (Decimal("45.00"), Decimal("47.22"))
    }
    with tenant_context(tenant):
        Account.objects.filter(pk=back.pk).update(status="active")
    today = assess(tenant)  # 40 days since: 88.89 points
    assert {n: (h.score, h.previous_score, h.score_change) for n, h in today.items()} == {
        "back": (Decimal("44.44"), Decimal("47.22"), Decimal("-2.78")),  # D-5's: it missed D-1
        "daily": (Decimal("44.44"), Decimal("45.00"), Decimal("-0.56")),  # D-1's
    }
