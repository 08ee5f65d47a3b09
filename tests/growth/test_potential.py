"""scoring's metric ``potential``: a scorecard version may add it (linear or percentile); it
reads growth's potential_12m as denormalised on the account; the default scorecard has it not.
Every expected number is worked by hand in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Account
from growth import metrics
from growth.models import BuyingCentre
from kam.models import Tenant
from kam.tenancy import tenant_context
from scoring import services
from scoring.engine import METRIC_COLUMNS
from scoring.models import AccountScore, Criterion, Metric
from scoring.presenters import format_raw
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

D = dt.date(2026, 6, 30)
TIERS = [
    {"tier": "S", "threshold": Decimal("90")},
    {"tier": "A", "threshold": Decimal("65")},
    {"tier": "B", "threshold": Decimal("45")},
    {"tier": "C", "threshold": Decimal("0")},
]


def with_wallet(tenant: Tenant, name: str, spend: str | None) -> Account:
    account = AccountFactory(tenant=tenant, name=name)
    if spend is not None:
        with tenant_context(tenant):
            BuyingCentre.objects.create(
                tenant=tenant, account=account, code="HQ", name="HQ", annual_spend=Decimal(spend), is_primary=True
            )
    return account


def potential_scorecard(tenant: Tenant) -> None:
    """A version with potential twice: linear over [0, 2,000,000] (60, 10 points when unknown)
    and percentile among the scored accounts (40)."""
    spec = {
        "criteria": [
            {
                "key": "potential_linear",
                "label_zh": "潜力",
                "label_en": "Potential",
                "kind": "metric",
                "metric": "potential",
                "normalization": "linear",
                "params": {"lo": 0, "hi": 2000000},
                "weight": Decimal("60"),
                "missing_value": Decimal("10"),
            },
            {
                "key": "potential_rank",
                "label_zh": "潜力排名",
                "label_en": "Potential rank",
                "kind": "metric",
                "metric": "potential",
                "normalization": "percentile",
                "params": {},
                "weight": Decimal("40"),
            },
        ],
        "tiers": TIERS,
    }
    scorecard = services.scorecard_create_draft(tenant, spec=spec)
    services.scorecard_activate(tenant, scorecard=scorecard)


def run(tenant: Tenant) -> dict[str, AccountScore]:
    created = services.score_run_create(tenant, as_of=D)
    done = services.score_run_execute(tenant, run=created)
    with tenant_context(tenant):
        return {s.account.name: s for s in AccountScore.objects.filter(run=done).select_related("account")}


def test_the_metric_exists_and_is_not_in_the_default_scorecard(tenant: Tenant) -> None:
    assert Metric.POTENTIAL == "potential"
    assert METRIC_COLUMNS["potential"] == "m.potential"
    default = services.scorecard_seed_default(tenant)
    with tenant_context(tenant):
        assert not Criterion.objects.filter(scorecard=default, metric=Metric.POTENTIAL).exists()
        assert Criterion.objects.filter(scorecard=default).exists()


def test_linear_and_percentile_potential_by_hand(tenant: Tenant, other_tenant: Tenant) -> None:
    # potential_12m = wallet (no orders, no opportunities): P 1,000,000; Q 250,000; R 0
    with_wallet(tenant, "P", "1000000.00")
    with_wallet(tenant, "Q", "250000.00")
    with_wallet(tenant, "R", None)
    # another tenant's huge potential changes nobody's percentile here
    with_wallet(other_tenant, "theirs", "99000000.00")
    metrics.account_figures_refresh(tenant, as_of=D)
    metrics.account_figures_refresh(other_tenant, as_of=D)
    # T comes after the refresh: potential_12m NULL -> the missing value of each criterion
    with_wallet(tenant, "T", None)
    potential_scorecard(tenant)

    got = run(tenant)

    # linear: P 1,000,000 / 2,000,000 = 50; Q 12.5; R 0; T unknown: 10
    # percentile among 4 (ascending, NULL last): R rank 1 -> 0, Q 2 -> 100/3, P 3 -> 200/3; T unknown: 0
    # P: (60 x 50 + 40 x 66.667) / 100 = 56.667 -> 56.67 (B); Q: (60 x 12.5 + 40 x 33.333) / 100 = 20.833 -> 20.83
    # R: 0.00; T: (60 x 10) / 100 = 6.00
    assert {name: score.total for name, score in got.items()} == {
        "P": Decimal("56.67"),
        "Q": Decimal("20.83"),
        "R": Decimal("0.00"),
        "T": Decimal("6.00"),
    }
    assert got["P"].tier == "B"
    breakdown = {row["key"]: row for row in got["P"].breakdown}
    assert breakdown["potential_linear"]["raw"] == 1000000.0
    assert breakdown["potential_linear"]["normalized"] == 50.0
    assert breakdown["potential_rank"]["normalized"] == 66.6667


def test_the_score_follows_the_accounts_potential(tenant: Tenant) -> None:
    p = with_wallet(tenant, "P", "1000000.00")
    with_wallet(tenant, "Q", "250000.00")
    metrics.account_figures_refresh(tenant, as_of=D)
    potential_scorecard(tenant)
    assert run(tenant)["P"].total == Decimal("70.00")  # (60 x 50 + 40 x 100) / 100
    # P's wallet doubles: linear 100, still the top rank: (60 x 100 + 40 x 100) / 100 = 100.00
    with tenant_context(tenant):
        BuyingCentre.objects.filter(account=p).update(annual_spend=Decimal("2000000.00"))
    metrics.account_figures_refresh(tenant, as_of=D, account_ids=[p.pk])
    assert run(tenant)["P"].total == Decimal("100.00")


def test_the_raw_value_reads_as_money() -> None:
    criterion = Criterion(kind="metric", metric=Metric.POTENTIAL, normalization="linear")
    assert "1,000,000" in format_raw(criterion, Decimal("1000000.00"))
