"""A small world with hand-computed portfolios (tests/portfolio/test_engine.py explains the figures).

D = 2026-06-30, weights 40/40/20.
- A1: owner p1; team: p1 60, p2 20 (sum 80) -> p1 0.75, p2 0.25. revenue 1,000,000, health 50, growth 0.1.
- A2: owner p3, not on the team; team: p2 50, and p1 30 who left on 2026-06-01 -> p2 50/150, p3 100/150.
  revenue 300,000, health 90, growth -0.3.
- A3: owner p2, no team -> p2 1. revenue 200,000, no health, growth 0.6.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from kam.models import Membership, Role
from kam.tenancy import tenant_context
from risk.models import AlertKind, HealthAssessment, RiskAlert, RiskRun
from scoring.models import AccountScore, Criterion, Scorecard, ScoreRun
from tests.factories import AccountFactory, UserFactory
from tests.teams.factories import AccountTeamFactory, TeamMemberFactory

D = dt.date(2026, 6, 30)
EARLIER = dt.date(2026, 3, 15)


def snapshot(tenant, run, account, as_of, revenue, growth, tier="B"):
    keys, values = (["growth"], [Decimal(growth), 0, 15, 0]) if growth is not None else ([], [])
    return AccountScore.objects.create(
        tenant=tenant,
        run=run,
        account=account,
        as_of=as_of,
        revenue_12m=Decimal(revenue),
        base=0,
        adjustments=0,
        total=50,
        computed_tier=tier,
        tier=tier,
        breakdown_keys=keys,
        breakdown_values=values,
    )


def health(tenant, run, account, as_of, score):
    return HealthAssessment.objects.create(
        tenant=tenant,
        run=run,
        account=account,
        as_of=as_of,
        engagement_points=0,
        relationship_points=0,
        weight_total=100,
        complaint_penalty=0,
        score=Decimal(score),
        band="yellow",
    )


@pytest.fixture
def world(tenant, manager):
    p1 = manager
    p2 = UserFactory(email="p2@acme.test", full_name="Pat Two")
    p3 = UserFactory(email="p3@acme.test", full_name="Pat Three")
    for user in (p2, p3):
        Membership.objects.create(tenant=tenant, user=user, role=Role.MANAGER)
    a1 = AccountFactory(tenant=tenant, name="Alpha", owner=p1)
    a2 = AccountFactory(tenant=tenant, name="Beta", owner=p3)
    a3 = AccountFactory(tenant=tenant, name="Gamma", owner=p2)
    t1 = AccountTeamFactory(tenant=tenant, account=a1)
    TeamMemberFactory(tenant=tenant, team=t1, user=p1, allocation=60)
    TeamMemberFactory(tenant=tenant, team=t1, user=p2, allocation=20)
    t2 = AccountTeamFactory(tenant=tenant, account=a2)
    TeamMemberFactory(tenant=tenant, team=t2, user=p2, allocation=50)
    TeamMemberFactory(tenant=tenant, team=t2, user=p1, allocation=30, until=dt.date(2026, 6, 1))
    with tenant_context(tenant):
        card = Scorecard.objects.create(tenant=tenant, version=1, status="active")
        Criterion.objects.create(
            tenant=tenant,
            scorecard=card,
            key="growth",
            label_zh="采购增长率",
            label_en="Purchase growth",
            kind="metric",
            metric="growth",
            normalization="linear",
            params={"lo": -0.2, "hi": 0.5},
            weight=15,
        )
        old = ScoreRun.objects.create(tenant=tenant, as_of=EARLIER, trigger="manual", scorecard=card, status="done")
        run = ScoreRun.objects.create(tenant=tenant, as_of=D, trigger="manual", scorecard=card, status="done")
        snapshot(tenant, old, a1, EARLIER, "400000", "0.5", tier="A")
        snapshot(tenant, run, a1, D, "1000000", "0.1", tier="S")
        snapshot(tenant, run, a2, D, "300000", "-0.3", tier="A")
        snapshot(tenant, run, a3, D, "200000", "0.6", tier="C")
        risk_run = RiskRun.objects.create(tenant=tenant, as_of=D)
        health(tenant, risk_run, a1, D, "50")
        health(tenant, risk_run, a2, D, "90")
        now = timezone.now()
        RiskAlert.objects.create(
            tenant=tenant,
            kind=AlertKind.HEALTH_RED,
            account=a1,
            dedupe_key=f"health_red:{a1.pk}",
            opened_at=now,
            updated_at=now,
        )
        RiskAlert.objects.create(
            tenant=tenant,
            kind=AlertKind.SLA_BREACH,
            account=a2,
            dedupe_key=f"sla_breach:{a2.pk}:1",
            opened_at=now,
            updated_at=now,
        )
        RiskAlert.objects.create(
            tenant=tenant,
            kind=AlertKind.PURCHASE_OVERDUE,
            account=a2,
            dedupe_key=f"purchase_overdue:{a2.pk}",
            status="resolved",
            opened_at=now,
            updated_at=now,
        )
    return SimpleNamespace(tenant=tenant, p1=p1, p2=p2, p3=p3, a1=a1, a2=a2, a3=a3, t1=t1, t2=t2)
