"""The health signal ``service`` (DESIGN section 11, weight 15), every expected number worked by
hand from the design's words:

    points = (s - 1) * 25 - 10 * breaches, clamped to 0..100, where
    s        = the mean satisfaction of the account's needs resolved in (D-180, D] with a rating;
    breaches = over the account's needs, one for a first-response deadline in (D-90, D] met by
               neither a reply nor the resolution, one for a resolution deadline in (D-90, D] met
               late or not at all (so two at most per need), each counted once it has passed;
    no rated need: no data, and the weight 15 drops out (section 6's renormalisation), so an
    account without rated needs keeps exactly the health it had before the signal existed.

Days are instants in the tenant's time zone (Asia/Shanghai): (D-180, D] runs from the start of
D-179 to the end of D. D = 2026-06-30: D-179 = 2026-01-02, D-89 = 2026-04-02.

Every controlled account has an interaction 10 days before D (engagement 100, weight 15), no
counterpart (relationship 0, weight 15) and no orders or invoices (no data): 1500 / 30 = 50.00
before the service signal.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kam import services as kam_services
from kam.models import Role
from kam.tenancy import tenant_context, tenant_today
from risk.models import HealthAssessment, RunKind
from service import services as service_services
from service.models import Need, NeedStatus
from tests.conftest import make_token
from tests.factories import AccountFactory, InteractionFactory
from tests.risk.conftest import D, run

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
SECOND = dt.timedelta(seconds=1)


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=SHANGHAI)


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=SHANGHAI)


def days_before(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


def engaged_account(tenant, name: str):
    account = AccountFactory(tenant=tenant, name=name)
    InteractionFactory(tenant=tenant, account=account, occurred_at=noon(days_before(10)))
    return account


def need(
    tenant,
    account,
    *,
    rating: int | None = None,
    resolved_at=None,
    first_due=None,
    responded_at=None,
    resolution_due=None,
) -> Need:
    """A need with exactly these times (the deadlines the SLA would set are beside the point here)."""
    received = min(t for t in (resolved_at, first_due, resolution_due, responded_at, noon(D)) if t is not None)
    with tenant_context(tenant):
        return Need.objects.create(
            tenant=tenant,
            account=account,
            subject="需求",
            received_at=received - dt.timedelta(hours=1),
            status=NeedStatus.RESOLVED if resolved_at else NeedStatus.IN_PROGRESS,
            satisfaction=rating,
            resolved_at=resolved_at,
            first_response_due_at=first_due,
            first_response_at=responded_at,
            resolution_due_at=resolution_due,
        )


def rated(tenant, account, *ratings: int) -> None:
    """Needs answered and resolved in time (10 days before D), rated."""
    for rating in ratings:
        need(tenant, account, rating=rating, resolved_at=noon(days_before(10)))


def assess(tenant, as_of: dt.date = D) -> dict[str, HealthAssessment]:
    result = run(tenant, as_of=as_of, kind=RunKind.HEALTH)
    assert result.status == "done", result.error
    with tenant_context(tenant):
        return {h.account.name: h for h in HealthAssessment.objects.filter(as_of=as_of).select_related("account")}


def figures(h: HealthAssessment) -> tuple:
    return (h.service_satisfaction, h.service_breaches, h.service_points, h.weight_total, h.score)


def test_rated_needs_and_breaches_move_the_score_as_the_formula_says(tenant):
    # given
    engaged_account(tenant, "no needs")
    rated(tenant, engaged_account(tenant, "rated 4 and 5"), 4, 5)
    breached = engaged_account(tenant, "rated 5, two breaches")
    rated(tenant, breached, 5)
    need(tenant, breached, first_due=noon(days_before(5)), resolution_due=noon(days_before(3)))  # neither met
    clamped = engaged_account(tenant, "rated 1, one breach")
    rated(tenant, clamped, 1)
    need(tenant, clamped, first_due=noon(days_before(5)))
    unrated = engaged_account(tenant, "breaches, no rating")
    need(tenant, unrated, first_due=noon(days_before(5)), resolution_due=noon(days_before(3)))
    need(tenant, unrated, rating=None, resolved_at=noon(days_before(4)))  # resolved, not rated
    # when
    got = assess(tenant)
    # then
    assert {name: figures(h) for name, h in got.items()} == {
        # no rated need: no data; (15 * 100 + 15 * 0) / 30 = 50
        "no needs": (None, 0, None, 30, Decimal("50.00")),
        # s = 4.5 -> 3.5 * 25 = 87.5; (1500 + 15 * 87.5) / 45 = 2812.5 / 45 = 62.5
        "rated 4 and 5": (Decimal("4.5"), 0, Decimal("87.5"), 45, Decimal("62.50")),
        # s = 5 -> 100 - 2 * 10 = 80; (1500 + 1200) / 45 = 60
        "rated 5, two breaches": (Decimal("5"), 2, Decimal("80"), 45, Decimal("60.00")),
        # s = 1 -> 0 - 10, clamped to 0; 1500 / 45 = 33.333... -> 33.33
        "rated 1, one breach": (Decimal("1"), 1, Decimal("0"), 45, Decimal("33.33")),
        # breaches are counted, but without a rating the signal has no data: 50 as before
        "breaches, no rating": (None, 2, None, 30, Decimal("50.00")),
    }
    assert (got["rated 1, one breach"].band, got["rated 4 and 5"].band) == ("red", "yellow")


def test_a_repeating_mean_is_exact(tenant):
    # s = (5 + 5 + 4) / 3 = 4.666... -> 3.666... * 25 = 91.666...; (1500 + 15 * 91.666...) / 45
    # = (1500 + 1375) / 45 = 63.888... -> 63.89
    rated(tenant, engaged_account(tenant, "thirds"), 5, 5, 4)
    h = assess(tenant)["thirds"]
    assert figures(h) == (Decimal("4.6667"), 0, Decimal("91.6667"), 45, Decimal("63.89"))


def test_the_180_day_window_of_ratings_has_its_edges_at_the_tenants_midnights(tenant):
    account = engaged_account(tenant, "edges")
    need(tenant, account, rating=5, resolved_at=start_of(days_before(179)))  # 2026-01-02 00:00: in
    need(tenant, account, rating=5, resolved_at=start_of(D + dt.timedelta(days=1)) - SECOND)  # D 23:59:59: in
    need(tenant, account, rating=1, resolved_at=start_of(days_before(179)) - SECOND)  # D-180 23:59:59: out
    need(tenant, account, rating=1, resolved_at=start_of(D + dt.timedelta(days=1)))  # D+1 00:00: out
    # s = 5 (the ones out would make it 3) -> 100; (1500 + 1500) / 45 = 66.666... -> 66.67
    assert figures(assess(tenant)["edges"]) == (Decimal("5"), 0, Decimal("100"), 45, Decimal("66.67"))


def test_the_90_day_window_of_breaches_and_what_counts_as_late(tenant):
    account = engaged_account(tenant, "breach edges")
    rated(tenant, account, 5)  # 100 before breaches
    window_start = start_of(days_before(89))  # 2026-04-02 00:00 Shanghai
    day_after = start_of(D + dt.timedelta(days=1))
    # counted (4):
    need(tenant, account, first_due=window_start)  # on the window's first instant, never answered
    need(tenant, account, resolution_due=day_after - SECOND)  # on its last instant, never resolved
    need(tenant, account, first_due=noon(days_before(20)), responded_at=noon(days_before(20)) + SECOND)  # 1 s late
    need(tenant, account, resolution_due=noon(days_before(20)), resolved_at=noon(days_before(19)))  # resolved late
    # not counted:
    need(tenant, account, first_due=window_start - SECOND)  # before the window
    need(tenant, account, resolution_due=day_after)  # after D
    need(tenant, account, first_due=noon(days_before(20)), responded_at=noon(days_before(20)))  # just in time
    # resolved before the first-response deadline without a reply: the clock stopped
    need(tenant, account, first_due=noon(days_before(20)), resolved_at=noon(days_before(21)))
    # 100 - 4 * 10 = 60; (1500 + 15 * 60) / 45 = 2400 / 45 = 53.333... -> 53.33
    assert figures(assess(tenant)["breach edges"]) == (Decimal("5"), 4, Decimal("60"), 45, Decimal("53.33"))


def test_a_deadline_still_ahead_today_is_not_a_breach(tenant, account, make_need):
    # the fixture account is tier A: first response within 4 hours of receipt
    today = tenant_today(tenant)
    make_need("设备故障，无法启动", account=account, received_at=timezone.now() - dt.timedelta(hours=1))
    late = make_need("发票抬头错误", account=account, received_at=timezone.now() - dt.timedelta(hours=5))
    with tenant_context(tenant):
        service_services.need_set_status(tenant, need=late, status=NeedStatus.RESOLVED, satisfaction=4)
    # s = 4 -> 75; the unanswered need is due in 3 hours: not late; the resolved one was answered
    # 1 hour after its first-response deadline (by its resolution): one breach -> 65
    h = assess(tenant, as_of=today)[account.name]
    assert (h.service_satisfaction, h.service_breaches, h.service_points) == (Decimal("4"), 1, Decimal("65"))


def test_needs_of_another_tenant_or_without_an_account_count_nowhere(tenant, other_tenant):
    ours = engaged_account(tenant, "ours")
    rated(tenant, ours, 4)
    theirs = AccountFactory(tenant=other_tenant, name="theirs")
    need(other_tenant, theirs, rating=1, resolved_at=noon(days_before(10)))
    need(other_tenant, theirs, first_due=noon(days_before(5)))
    need(tenant, None, rating=1, resolved_at=noon(days_before(10)))  # a sender not known yet
    # s = 4 -> 75; (1500 + 1125) / 45 = 58.333... -> 58.33
    assert figures(assess(tenant)["ours"]) == (Decimal("4"), 0, Decimal("75"), 45, Decimal("58.33"))


def test_the_api_and_the_account_tab_show_the_signal(tenant, other_tenant, director, read_token):
    account = engaged_account(tenant, "shown")
    rated(tenant, account, 4, 5)
    need(tenant, account, first_due=noon(days_before(5)))
    assess(tenant)
    # s = 4.5 -> 87.5 - 10 = 77.5; (1500 + 15 * 77.5) / 45 = 2662.5 / 45 = 59.1666... -> 59.17
    api = Client(HTTP_AUTHORIZATION=f"Bearer {read_token}")
    health = api.get(f"/api/v1/accounts/{account.pk}/health/").json()
    assert health["signals"]["service"] == {"raw": 4.5, "points": 77.5, "weight": 15, "breaches": 1}
    assert (health["weight_total"], health["score"]) == (45, 59.17)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(director)
    tab = reverse("risk-account-tab", kwargs={"tenant_slug": "acme", "account_id": account.pk})
    html = client.get(tab, HTTP_HX_REQUEST="true").content.decode()
    row = re.search(r'<tr data-signal="service"[^>]*>(.*?)</tr>', html, re.S)
    assert row
    assert " ".join(re.sub(r"<[^>]+>", " ", row.group(1)).split()) == (
        "Service satisfaction 4.50 of 5 1 SLA breach in the last 90 days (−10 each) 77.50 15 "
        "33.3% of the score 25.83 / 33.33"
    )
    assert "weights used: 45 of 115" in " ".join(re.sub(r"<[^>]+>", " ", html).split())
    # another tenant's reader: 404
    outsider_api = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(other_tenant, 'read')[1]}")
    assert outsider_api.get(f"/api/v1/accounts/{account.pk}/health/").status_code == 404


# --- the demo: accounts without rated needs keep exactly their health ------------------------------


def weighted(h: HealthAssessment) -> Decimal:
    """Section 6's weighted mean from the stored points (four decimals) and the weights."""
    parts = [
        (25, h.revenue_trend_points),
        (25, h.purchase_rhythm_points),
        (20, h.payment_points),
        (15, h.engagement_points),
        (15, h.relationship_points),
        (15, h.service_points),
    ]
    used = [(weight, points) for weight, points in parts if points is not None]
    assert h.weight_total == sum(weight for weight, _points in used)
    return sum(weight * points for weight, points in used) / h.weight_total


def score_of(mean: Decimal, penalty: Decimal) -> Decimal:
    return min(max(mean - penalty, Decimal(0)), Decimal(100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_on_the_demo_only_the_account_with_rated_needs_changes_and_as_the_formula_says(db):
    # given: a demo tenant as seed_demo makes it, assessed today without any need
    tenant = kam_services.tenant_create(slug="demo-service", name="演示", industry_profile="manufacturing")
    people = {}
    for role in Role.values:
        user = kam_services.user_get_or_create(email=f"{role}@demo.example.com", password="x" * 12, full_name=role)
        kam_services.membership_create(tenant=tenant, user=user, role=role)
        people[role] = user
    for label in ("accounts", "scoring", "teams", "risk"):
        apps.get_app_config(label).load_demo(tenant, people)
    today = tenant_today(tenant)
    before = assess(tenant, as_of=today)
    assert len(before) > 10
    # the pre-change formula: five signals, weights 25/25/20/15/15 renormalised, minus the penalty
    for h in before.values():
        assert (h.service_points, h.service_satisfaction, h.service_breaches) == (None, None, 0)
        assert abs(score_of(weighted(h), h.complaint_penalty) - h.score) <= Decimal("0.01")
    # when: one account's needs are answered in time, resolved and rated 5 and 4
    name = sorted(before)[0]
    with tenant_context(tenant):
        chosen = HealthAssessment.objects.get(as_of=today, account__name=name).account
    for rating in (5, 4):
        with tenant_context(tenant):
            made, _created = service_services.need_create(
                tenant, subject="交付时间确认", account=chosen, received_at=timezone.now() - dt.timedelta(minutes=30)
            )
            service_services.need_reply(tenant, need=made, body="已确认", actor=people[Role.MANAGER])
            service_services.need_set_status(tenant, need=made, status=NeedStatus.RESOLVED, satisfaction=rating)
    after = assess(tenant, as_of=today)
    # then: every other account's row is the very same (a re-run keeps unchanged rows)
    for other, h in before.items():
        if other != name:
            assert (after[other].pk, after[other].run_id, after[other].score) == (h.pk, h.run_id, h.score)
    # and the chosen one: s = 4.5 -> 87.5 points at weight 15 beside its other signals
    old, new = before[name], after[name]
    assert (new.service_satisfaction, new.service_breaches, new.service_points) == (
        Decimal("4.5"),
        0,
        Decimal("87.5"),
    )
    assert new.weight_total == old.weight_total + 15
    expected = score_of(
        (weighted(old) * old.weight_total + 15 * Decimal("87.5")) / (old.weight_total + 15), old.complaint_penalty
    )
    assert abs(new.score - expected) <= Decimal("0.01")
