"""Reads of scoring for pages, the API and dashboards: snapshots, never raw orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from accounts.models import Account, Tier
from kam.models import Tenant
from scoring.models import AccountScore, Rating, RunStatus, Scorecard, ScorecardStatus, ScoreRun, TierOverride


def latest_score(tenant: Tenant, account: Account) -> AccountScore | None:
    return (
        AccountScore.objects.for_tenant(tenant)
        .filter(account=account, run__status=RunStatus.DONE)
        .select_related("run")
        .order_by("-as_of", "-run__created_at", "-id")
        .first()
    )


def score_history(tenant: Tenant, account: Account) -> QuerySet[AccountScore]:
    return (
        AccountScore.objects.for_tenant(tenant)
        .filter(account=account, run__status=RunStatus.DONE)
        .select_related("run")
        .order_by("-as_of", "-run__created_at", "-id")
    )


def active_override(tenant: Tenant, account: Account) -> TierOverride | None:
    from django.db.models import Q

    from kam.tenancy import tenant_today

    today = tenant_today(tenant)
    return (
        TierOverride.objects.for_tenant(tenant)
        .filter(account=account, lifted_at__isnull=True)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=today))
        .select_related("set_by")
        .first()
    )


def latest_ratings(tenant: Tenant, account: Account) -> dict[str, Rating]:
    ratings: dict[str, Rating] = {}
    for rating in Rating.objects.for_tenant(tenant).filter(account=account).select_related("rated_by"):
        ratings.setdefault(rating.criterion, rating)  # newest first by Meta.ordering
    return ratings


def scorecards(tenant: Tenant) -> QuerySet[Scorecard]:
    return Scorecard.objects.for_tenant(tenant).prefetch_related("criteria", "tiers").order_by("-version")


def active_scorecard(tenant: Tenant) -> Scorecard | None:
    return scorecards(tenant).filter(status=ScorecardStatus.ACTIVE).first()


def runs(tenant: Tenant) -> QuerySet[ScoreRun]:
    return ScoreRun.objects.for_tenant(tenant).select_related("scorecard", "account", "created_by")


def latest_full_run(tenant: Tenant) -> ScoreRun | None:
    return runs(tenant).filter(status=RunStatus.DONE, account__isnull=True).order_by("-finished_at", "-id").first()


def tier_summary(tenant: Tenant) -> dict[str, Any]:
    """Per tier: accounts, revenue_12m and share, from the latest full run; and its Pareto."""
    run = latest_full_run(tenant)
    if run is None:
        return {"as_of": None, "run": None, "tiers": [], "pareto": None}
    rows = {
        row["tier"]: row
        for row in AccountScore.objects.for_tenant(tenant)
        .filter(run=run)
        .values("tier")
        .annotate(count=Count("id"), revenue_12m=Sum("revenue_12m"))
        .order_by()
    }
    total = run.total_revenue_12m or Decimal("0")
    tiers = []
    for tier in Tier.values:
        row = rows.get(tier, {"count": 0, "revenue_12m": Decimal("0")})
        revenue = row["revenue_12m"] or Decimal("0")
        tiers.append(
            {
                "tier": tier,
                "count": row["count"],
                "revenue_12m": revenue,
                "share": float(revenue / total) if total else 0.0,
            }
        )
    pareto = {
        "accounts": run.pareto_accounts,
        "top_count": run.pareto_top_count,
        "total_revenue_12m": total,
        "top20_share": float(run.top20_share or 0),
    }
    return {"as_of": run.as_of, "run": run.pk, "tiers": tiers, "pareto": pareto}


def tier_movements(tenant: Tenant) -> QuerySet[AccountScore]:
    """Accounts of the latest full run with the tier they had before it."""
    run = latest_full_run(tenant)
    if run is None:
        return AccountScore.objects.none()
    return (
        AccountScore.objects.for_tenant(tenant)
        .filter(run=run)
        .select_related("account", "account__owner")
        .order_by("tier", "-total", "account__name")
    )
