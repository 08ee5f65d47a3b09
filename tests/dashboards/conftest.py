"""Hand-made data for the dashboards: score runs with their snapshots, current tiers and
health bands, concentration snapshots, alerts, teams, health assessments and contracts,
all written directly (as the jobs would leave them), so every expected number in the
tests can be worked out by hand from here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from kam.models import RunStatus, Tenant
from kam.tenancy import tenant_context, tenant_today
from risk.models import ConcentrationSnapshot, HealthAssessment, RiskAlert, RiskRun
from risk.services import risk_policy_seed_default
from scoring.models import AccountScore, Scorecard, ScoreRun
from scoring.services import scorecard_seed_default
from teams.models import AccountTeam, TeamMember
from tests.factories import AccountFactory, ContractFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_in(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def drop_cache() -> None:
    """Forget this test process's cached figures (dashboards/cache.py), as conftest does
    between tests: a test that changes data without a new run must not read old figures."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


def score_run(tenant: Tenant, as_of: dt.date, snapshots: dict[Account, tuple[str, str]], **pareto: Any) -> ScoreRun:
    """A finished full score run with one snapshot per account: {account: (tier, revenue_12m)}."""
    with tenant_context(tenant):
        scorecard = Scorecard.objects.first() or scorecard_seed_default(tenant)
        run = ScoreRun.objects.create(
            tenant=tenant,
            trigger="manual",
            scorecard=scorecard,
            as_of=as_of,
            status=RunStatus.DONE,
            started_at=timezone.now(),
            finished_at=timezone.now(),
            accounts_scored=len(snapshots),
            **pareto,
        )
        AccountScore.objects.bulk_create(
            AccountScore(
                tenant=tenant,
                run=run,
                account=account,
                as_of=as_of,
                revenue_12m=Decimal(revenue),
                base=Decimal("50"),
                adjustments=Decimal("0"),
                total=Decimal("50"),
                computed_tier=tier,
                tier=tier,
            )
            for account, (tier, revenue) in snapshots.items()
        )
    return run


def risk_run(tenant: Tenant, as_of: dt.date) -> RiskRun:
    with tenant_context(tenant):
        return RiskRun.objects.create(
            tenant=tenant, as_of=as_of, status=RunStatus.DONE, started_at=timezone.now(), finished_at=timezone.now()
        )


def set_current(tenant: Tenant, account: Account, tier: str, band: str) -> None:
    with tenant_context(tenant):
        Account.objects.filter(pk=account.pk).update(tier=tier, health_band=band)
    account.tier, account.health_band = tier, band


def alert(tenant: Tenant, kind: str, severity: str, account: Account | None = None, **extra: Any) -> RiskAlert:
    with tenant_context(tenant):
        return RiskAlert.objects.create(
            tenant=tenant,
            kind=kind,
            severity=severity,
            account=account,
            dedupe_key=f"{kind}:{account.pk if account else 'tenant'}:{RiskAlert.objects.count()}",
            opened_at=timezone.now(),
            updated_at=timezone.now(),
            **extra,
        )


def assessment(tenant: Tenant, run: RiskRun, account: Account, as_of: dt.date, expected: dt.date | None) -> None:
    with tenant_context(tenant):
        HealthAssessment.objects.create(
            tenant=tenant,
            run=run,
            account=account,
            as_of=as_of,
            last_order_on=as_of - dt.timedelta(days=20),
            purchase_interval_days=Decimal("30.0"),
            expected_next_purchase=expected,
            engagement_points=Decimal("50"),
            relationship_points=Decimal("50"),
            weight_total=100,
            complaint_penalty=Decimal("0"),
            score=Decimal("60"),
            band="yellow",
        )


@pytest.fixture
def today(tenant: Tenant) -> dt.date:
    return tenant_today(tenant)


@pytest.fixture
def world(tenant: Tenant, manager: Any, other_tenant: Tenant, today: dt.date) -> SimpleNamespace:
    """acme with five scored accounts (revenue 500, 200, 150, 100, 50 in the latest run),
    an unscored one, an archived one and one new since the baseline run; globex with
    accounts, runs and alerts that must never count."""
    names = ["甲 Alpha", "乙 Beta", "丙 Gamma", "丁 Delta", "戊 Epsilon", "己 New", "庚 Lost", "辛 Fresh"]
    a1, a2, a3, a4, a5, a6, a7, a8 = (AccountFactory(tenant=tenant, name=name) for name in names)
    with tenant_context(tenant):
        Account.objects.filter(pk=a7.pk).update(status="lost")
    # A year and more ago (before every period's start): the baseline of the migration.
    baseline = score_run(
        tenant,
        today - dt.timedelta(days=400),
        {a1: ("A", "300"), a2: ("A", "200"), a3: ("C", "50"), a4: ("B", "100"), a5: ("B", "80"), a7: ("S", "900")},
    )
    # Today: the tiers and revenue the tier summary and the Pareto curve read.
    # Pareto: N = 5 accounts with revenue, k = ceil(0.2 * 5) = 1, top20 = 500 / 1000 = 0.5.
    latest = score_run(
        tenant,
        today,
        {a1: ("S", "500"), a2: ("A", "200"), a3: ("B", "150"), a4: ("B", "100"), a5: ("C", "50")},
        total_revenue_12m=Decimal("1000"),
        pareto_accounts=5,
        pareto_top_count=1,
        top20_share=Decimal("0.5"),
    )
    # Current values (as the runs left them): a5 not assessed, a6 neither tiered nor
    # assessed, a7 archived (left out), a8 new since the baseline.
    for account, tier, band in (
        (a1, "S", "green"),
        (a2, "A", "red"),
        (a3, "B", "yellow"),
        (a4, "B", "yellow"),
        (a5, "C", ""),
        (a6, "", ""),
        (a7, "S", "red"),
        (a8, "C", "green"),
    ):
        set_current(tenant, account, tier, band)
    risk = risk_run(tenant, today)
    risk_policy_seed_default(tenant)
    with tenant_context(tenant):
        for as_of, top1, top5, top10, hhi in (
            (today - dt.timedelta(days=10), "0.15", "0.40", "0.60", "1200"),
            (today, "0.25", "0.45", "0.70", "1600"),
        ):
            ConcentrationSnapshot.objects.create(
                tenant=tenant,
                run=risk,
                as_of=as_of,
                total_revenue_12m=Decimal("1000"),
                group_count=5,
                top1_share=Decimal(top1),
                top5_share=Decimal(top5),
                top10_share=Decimal(top10),
                hhi=Decimal(hhi),
                account_count=5,
                account_top1_share=Decimal(top1),
                account_top5_share=Decimal(top5),
                account_top10_share=Decimal(top10),
                account_hhi=Decimal(hhi),
            )
    # Open alerts: 2 health_red (1 critical, 1 warning), 1 payment_overdue warning
    # (acknowledged counts as open), 1 concentration_single critical (tenant-wide);
    # one resolved alert that must not count.
    alert(tenant, "health_red", "critical", a2)
    alert(tenant, "health_red", "warning", a3)
    alert(tenant, "payment_overdue", "warning", a4, status="acknowledged")
    alert(tenant, "concentration_single", "critical", None)
    alert(tenant, "purchase_overdue", "warning", a1, status="resolved")
    # Teams of the key accounts: a1 (S) has a team with a gap, a2 (A) a complete team.
    with tenant_context(tenant):
        AccountTeam.objects.create(tenant=tenant, account=a1)
        AccountTeam.objects.create(tenant=tenant, account=a2)
    alert(tenant, "team_gap", "warning", a1)
    # globex: the same kinds of rows, which no acme figure may count.
    g1 = AccountFactory(tenant=other_tenant, name="Globex 外部客户")
    set_current(other_tenant, g1, "S", "red")
    score_run(other_tenant, today, {g1: ("S", "99999")}, total_revenue_12m=Decimal("99999"), pareto_accounts=1)
    alert(other_tenant, "health_red", "critical", g1)
    drop_cache()
    return SimpleNamespace(
        accounts=[a1, a2, a3, a4, a5, a6, a7, a8],
        a1=a1,
        a2=a2,
        a3=a3,
        a4=a4,
        a5=a5,
        a6=a6,
        a7=a7,
        a8=a8,
        baseline=baseline,
        latest=latest,
        risk=risk,
        foreign=g1,
    )


@pytest.fixture
def portfolio(tenant: Tenant, manager: Any, other_tenant: Tenant, today: dt.date) -> SimpleNamespace:
    """The account manager's accounts: m1 and m2 owned, m3 served on (team member); n1 someone
    else's. Assessments, contracts and alerts around them."""
    m1 = AccountFactory(tenant=tenant, name='=HYPERLINK("http://evil")', owner=manager)
    m2 = AccountFactory(tenant=tenant, name="我的二号客户", owner=manager)
    m3 = AccountFactory(tenant=tenant, name="我服务的客户")
    n1 = AccountFactory(tenant=tenant, name="别人的客户")
    with tenant_context(tenant):
        team = AccountTeam.objects.create(tenant=tenant, account=m3)
        TeamMember.objects.create(
            tenant=tenant,
            team=team,
            user=manager,
            function="sales",
            level="managerial",
            since=today - dt.timedelta(days=30),
        )
    for account, tier, band in ((m1, "S", "red"), (m2, "A", "green"), (m3, "B", "green"), (n1, "S", "red")):
        set_current(tenant, account, tier, band)
    run = risk_run(tenant, today)
    old = risk_run(tenant, today - dt.timedelta(days=7))
    # m1: the latest assessment expects a purchase in 10 days (the older one, in 50, is ignored);
    # m2 in 60 days; m3 in 100 days (out of the 90-day window); n1 in 5 days (not mine).
    assessment(tenant, run, m1, today, today + dt.timedelta(days=10))
    assessment(tenant, old, m1, today - dt.timedelta(days=7), today + dt.timedelta(days=50))
    assessment(tenant, run, m2, today, today + dt.timedelta(days=60))
    assessment(tenant, run, m3, today, today + dt.timedelta(days=100))
    assessment(tenant, run, n1, today, today + dt.timedelta(days=5))
    # Contracts: m1 ends in 20 days, m2 in 80, m3 in 200 (out), n1 in 10 (not mine).
    ContractFactory(tenant=tenant, account=m1, title="+年度框架协议", end_on=today + dt.timedelta(days=20))
    ContractFactory(tenant=tenant, account=m2, title="二号合同", end_on=today + dt.timedelta(days=80))
    ContractFactory(tenant=tenant, account=m3, title="三号合同", end_on=today + dt.timedelta(days=200))
    ContractFactory(tenant=tenant, account=n1, title="别人的合同", end_on=today + dt.timedelta(days=10))
    # Alerts: m1 critical, m2 acknowledged warning (open), m3 resolved (not open), n1 one
    # assigned to the manager (theirs) and one not (not theirs).
    alert(tenant, "health_red", "critical", m1)
    alert(tenant, "payment_overdue", "warning", m2, status="acknowledged")
    alert(tenant, "purchase_overdue", "warning", m3, status="resolved")
    alert(tenant, "contract_expiring", "info", n1, assignee=manager)
    alert(tenant, "health_red", "critical", n1)
    foreign = AccountFactory(tenant=other_tenant, name="Globex 客户", owner=manager)
    drop_cache()
    return SimpleNamespace(m1=m1, m2=m2, m3=m3, n1=n1, team=team, foreign=foreign)
