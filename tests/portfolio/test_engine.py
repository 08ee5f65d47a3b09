"""The formulas of DESIGN section 13 against hand-computed figures (the world: conftest.py).

Shares on D: p1: A1 0.75. p2: A1 0.25, A2 1/3, A3 1. p3: A2 2/3 (owner not on the team; p1 left A2's team
before D and counts no more).
revenue: p1 750,000; p2 250,000 + 100,000 + 200,000 = 550,000; p3 200,000.
percent_rank (ascending): p3 0, p2 0.5, p1 1.
health: p1 50; p2 (0.25 x 50 + 1/3 x 90) / (0.25 + 1/3) = 42.5 / 0.58333 = 72.857142...; p3 90 (A3 has none).
growth: p1 0.1 -> linear 42.857142...; p2 (0.025 - 0.1 + 0.6) / 1.58333 = 0.331578947... -> 75.939849...;
p3 -0.3 -> clamped to 0.
index 40/40/20: p1 (4000 + 2000 + 857.142857) / 100 = 68.57; p2 (2000 + 2914.285714 + 1518.796992) / 100
= 64.3308 -> 64.33; p3 (0 + 3600 + 0) / 100 = 36.00.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kam.models import Membership, Role
from kam.tenancy import tenant_context
from portfolio import engine, selectors, services
from portfolio.models import PortfolioWeights
from risk.models import RiskRun
from scoring.models import Scorecard, ScoreRun
from tests.factories import AccountFactory, UserFactory
from tests.portfolio.conftest import D, health, snapshot

pytestmark = pytest.mark.django_db


def by_user(rows):
    return {row.user_id: row for row in rows}


def test_shares_sums_and_index(world):
    with tenant_context(world.tenant):
        people = by_user(selectors.people(world.tenant, D))
        accounts = {a.account_id: a for a in selectors.person_accounts(world.tenant, world.p2.pk, D)}
    p1, p2, p3 = people[world.p1.pk], people[world.p2.pk], people[world.p3.pk]
    assert accounts[world.a1.pk].share == Decimal("0.2500")
    assert accounts[world.a2.pk].share == Decimal("0.3333")
    assert accounts[world.a3.pk].share == Decimal("1.0000")
    assert (p1.revenue, p2.revenue, p3.revenue) == (Decimal("750000.00"), Decimal("550000.00"), Decimal("200000.00"))
    assert (p1.revenue_rank, p2.revenue_rank, p3.revenue_rank) == (Decimal("1"), Decimal("0.5"), Decimal("0"))
    assert (p1.health, p2.health, p3.health) == (Decimal("50.00"), Decimal("72.86"), Decimal("90.00"))
    assert p2.growth == Decimal("0.3316")
    assert (p1.growth_points, p2.growth_points, p3.growth_points) == (
        Decimal("42.86"),
        Decimal("75.94"),
        Decimal("0.00"),
    )
    assert (p1.index, p2.index, p3.index) == (Decimal("68.57"), Decimal("64.33"), Decimal("36.00"))
    assert p1.accounts == 1 and p2.accounts == 3 and p3.accounts == 1
    assert p2.tier_mix == {"S": 1, "A": 1, "B": 0, "C": 1}
    # open alerts on their accounts (the resolved one does not count); SLA breaches among them
    assert (p1.open_alerts, p2.open_alerts, p3.open_alerts) == (1, 2, 1)
    assert (p1.sla_breaches, p2.sla_breaches, p3.sla_breaches) == (0, 1, 1)


def test_weights_changed(world):
    services.weights_update(world.tenant, revenue=20, health=60, growth=20)
    with tenant_context(world.tenant):
        people = by_user(selectors.people(world.tenant, D))
    # p1 (2000 + 3000 + 857.14) / 100; p2 (1000 + 4371.43 + 1518.80) / 100 = 68.902; p3 5400 / 100
    assert people[world.p1.pk].index == Decimal("58.57")
    assert people[world.p2.pk].index == Decimal("68.90")
    assert people[world.p3.pk].index == Decimal("54.00")


def test_team_rollup_and_tenant_rollup(world):
    with tenant_context(world.tenant):
        teams = {t.account_id: t for t in selectors.teams(world.tenant, D)}
        rollup = selectors.rollup(world.tenant, D)
    beta = teams[world.a2.pk]
    assert [(m["user_id"], m["share"]) for m in beta.members] == [
        (world.p3.pk, Decimal("0.6667")),
        (world.p2.pk, Decimal("0.3333")),
    ]
    assert world.a3.pk not in teams  # no account team
    assert rollup.accounts == 3 and rollup.people == 3
    assert rollup.revenue == Decimal("1500000.00")
    assert rollup.health == Decimal("70.00")  # (50 + 90) / 2
    assert rollup.tier_mix == {"S": 1, "A": 1, "B": 0, "C": 1}
    assert (rollup.open_alerts, rollup.sla_breaches) == (2, 1)


def test_trend_at_quarter_ends_from_snapshots(world):
    """2026-03-31 reads A1's snapshot of 2026-03-15 (400,000, growth 0.5), no health: p1 300,000, p2 100,000,
    p3 0 (A2 has no snapshot yet). Health drops out: p1 (4000 + 2000) / 60 = 100; p2 (2000 + 2000) / 60 =
    66.67; p3 0 / 40. Before it no snapshot at all: every revenue 0 (ties rank 0), index 0."""
    with tenant_context(world.tenant):
        rows = selectors.trend(world.tenant, D)
    days = sorted({row.day for row in rows})
    assert days == [dt.date(2025, 9, 30), dt.date(2025, 12, 31), dt.date(2026, 3, 31), D]
    march = {row.user_id: row for row in rows if row.day == dt.date(2026, 3, 31)}
    assert march[world.p1.pk].revenue == Decimal("300000.00")
    assert march[world.p1.pk].health is None
    assert (march[world.p1.pk].index, march[world.p2.pk].index, march[world.p3.pk].index) == (
        Decimal("100.00"),
        Decimal("66.67"),
        Decimal("0.00"),
    )
    december = [row for row in rows if row.day == dt.date(2025, 12, 31)]
    assert {row.index for row in december} == {Decimal("0.00")}


def test_rounding_half_up_and_single_person(tenant, manager):
    """One person (percent_rank 0), health 50.01, no growth: (40 x 0 + 40 x 50.01) / 80 = 25.005 -> 25.01."""
    account = AccountFactory(tenant=tenant, owner=manager)
    with tenant_context(tenant):
        risk_run = RiskRun.objects.create(tenant=tenant, as_of=D)
        health(tenant, risk_run, account, D, "50.01")
        people = selectors.people(tenant, D)
    assert len(people) == 1
    assert people[0].revenue_rank == 0
    assert people[0].index == Decimal("25.01")


def test_linear_clamps_high(tenant, manager):
    account = AccountFactory(tenant=tenant, owner=manager)
    with tenant_context(tenant):
        card = Scorecard.objects.create(tenant=tenant, version=1, status="active")
        from scoring.models import Criterion

        Criterion.objects.create(
            tenant=tenant,
            scorecard=card,
            key="grw",
            label_zh="增长",
            label_en="Growth",
            kind="metric",
            metric="growth",
            normalization="linear",
            weight=15,
        )
        run = ScoreRun.objects.create(tenant=tenant, as_of=D, trigger="manual", scorecard=card, status="done")
        s = snapshot(tenant, run, account, D, "1000", None)
        s.breakdown_keys, s.breakdown_values = ["grw"], [Decimal("1.5"), 100, 15, 0]
        s.save()
        person = selectors.people(tenant, D)[0]
    # the criterion's own key is found through the run's scorecard; 1.5 clamps to 100 points
    assert person.growth == Decimal("1.5000") and person.growth_points == Decimal("100.00")
    assert person.index == Decimal("33.33")  # (0 + 20 x 100) / 60


def test_zero_allocations_hold_no_portfolio(tenant, manager):
    other = UserFactory(email="zero@acme.test")
    Membership.objects.create(tenant=tenant, user=other, role=Role.MEMBER)
    from tests.teams.factories import AccountTeamFactory, TeamMemberFactory

    account = AccountFactory(tenant=tenant, owner=manager)
    team = AccountTeamFactory(tenant=tenant, account=account)
    TeamMemberFactory(tenant=tenant, team=team, user=other, allocation=0)
    with tenant_context(tenant):
        people = selectors.people(tenant, D)
    assert [p.user_id for p in people] == [manager.pk]


def test_one_statement_per_question(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with tenant_context(world.tenant):
        weights = selectors.weights_get(world.tenant)
        with CaptureQueriesContext(connection) as queries:
            engine.people(world.tenant.pk, selectors.quarter_ends(D), weights)
    # besides the savepoint and SET LOCAL work_mem: one statement for the four days
    reads = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"] and "work_mem" not in q["sql"]]
    assert len(reads) == 1 and reads[0].lstrip().startswith("WITH")


def test_bad_weights_write_nothing(world):
    from django.core.exceptions import ValidationError

    for bad in (
        {"revenue": 50, "health": 40, "growth": 20},
        {"revenue": -10, "health": 90, "growth": 20},
        {"revenue": "x", "health": 40, "growth": 20},
        {"revenue": 101, "health": 0, "growth": -1},
    ):
        with pytest.raises(ValidationError):
            services.weights_update(world.tenant, **bad)
    with tenant_context(world.tenant):
        assert not PortfolioWeights.objects.exists()
        assert selectors.weights_get(world.tenant) == {"revenue": 40, "health": 40, "growth": 20}


def test_snapshots_since_the_last_full_run_a_later_rescore_counts(world):
    """Read on D + 10: the last full run on or before it is D's, so its snapshots count, and A3's own
    rescore on D + 5 (a run of that account alone) wins over A3's snapshot of D. p2: 0.25 x 1,000,000 +
    1/3 x 300,000 + 1 x 500,000 = 850,000. A snapshot older than the last full run is never read: the
    history of nightly runs costs nothing (A1's of 2026-03-15 is not A1's figure, D's is)."""
    later = D + dt.timedelta(days=10)
    with tenant_context(world.tenant):
        card = Scorecard.objects.get(version=1)
        rescore = ScoreRun.objects.create(
            tenant=world.tenant,
            as_of=D + dt.timedelta(days=5),
            trigger="event",
            scorecard=card,
            status="done",
            account=world.a3,
        )
        snapshot(world.tenant, rescore, world.a3, D + dt.timedelta(days=5), "500000", "0.6", tier="C")
        people = by_user(selectors.people(world.tenant, later))
    assert people[world.p2.pk].revenue == Decimal("850000.00")
    assert people[world.p1.pk].revenue == Decimal("750000.00")
