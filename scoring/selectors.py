"""Reads of scoring for pages, the API and dashboards: snapshots, never raw orders.

Each read takes the tenant first. A read that takes a membership answers what that member
may see: every account for the roles that read all (READ_ALL), else the accounts they
work on (accounts.access).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from accounts.access import readable_accounts
from accounts.models import Account, Event, Tier
from kam.models import Membership, RunStatus, Tenant
from kam.permissions import READ_ALL
from kam.tenancy import get_object_for_tenant, tenant_selector, tenant_today
from scoring.engine import TIER_ORDER
from scoring.models import (
    AccountScore,
    Criterion,
    OverrideRequestStatus,
    Rating,
    RunTrigger,
    Scorecard,
    ScorecardStatus,
    ScoreRun,
    TierOverride,
    TierOverrideRequest,
    TierRule,
)

# The tier page lists this many accounts per tier; "show all" pages through one tier.
ROWS_PER_TIER = 25


def _reads_all(membership: Membership) -> bool:
    return membership.role in READ_ALL


# --- an account's snapshots ---------------------------------------------------------------------------


@tenant_selector
def score_list_of_account(tenant: Tenant, account: Account) -> QuerySet[AccountScore]:
    """The account's snapshots of completed runs, newest first."""
    return (
        AccountScore.objects.filter(account=account, run__status=RunStatus.DONE)
        .select_related("run")
        .order_by("-as_of", "-run__created_at", "-id")
    )


@tenant_selector
def score_get_latest(tenant: Tenant, account: Account) -> AccountScore | None:
    """The account's current score: its newest snapshot of a completed run (None before the first)."""
    return score_list_of_account(tenant, account).first()


# --- the snapshots of a run (the tier page) -----------------------------------------------------------


@tenant_selector
def score_list_of_run(tenant: Tenant, membership: Membership, run: ScoreRun) -> QuerySet[AccountScore]:
    """The snapshots of ``run`` of the accounts the member may read."""
    scores = AccountScore.objects.filter(run=run)
    if not _reads_all(membership):
        scores = scores.filter(account__in=readable_accounts(tenant, membership).values("pk"))
    return scores


@tenant_selector
def score_list_of_tier(tenant: Tenant, membership: Membership, run: ScoreRun, tier: str) -> QuerySet[AccountScore]:
    """Every account of one tier in ``run``, highest total first (for paging through a tier)."""
    return (
        score_list_of_run(tenant, membership, run)
        .filter(tier=tier)
        .select_related("account")
        .order_by("-total", "account__name", "id")
    )


@tenant_selector
def score_list_of_tier_leaders(
    tenant: Tenant, membership: Membership, run: ScoreRun, *, per_tier: int = ROWS_PER_TIER
) -> dict[str, list[AccountScore]]:
    """The best ``per_tier`` accounts of each tier (highest total first), in one query."""
    ranked = score_list_of_run(tenant, membership, run).annotate(
        position=Window(
            RowNumber(), partition_by=[F("tier")], order_by=[F("total").desc(), F("account__name").asc(), F("id")]
        )
    )
    leaders: dict[str, list[AccountScore]] = {tier: [] for tier in TIER_ORDER}
    rows = ranked.filter(position__lte=per_tier).select_related("account").order_by("tier", "position")
    for score in rows:
        leaders.setdefault(score.tier, []).append(score)
    return leaders


@tenant_selector
def tier_counts_get(tenant: Tenant, membership: Membership, run: ScoreRun) -> dict[str, dict[str, Any]]:
    """Per tier, the number and revenue_12m of the accounts the member may read (one query)."""
    rows = (
        score_list_of_run(tenant, membership, run)
        .values("tier")
        .annotate(count=Count("id"), revenue_12m=Sum("revenue_12m"))
        .order_by()
    )
    counts = {tier: {"tier": tier, "count": 0, "revenue_12m": Decimal("0")} for tier in TIER_ORDER}
    for row in rows:
        counts[row["tier"]] = {"tier": row["tier"], "count": row["count"], "revenue_12m": row["revenue_12m"]}
    return counts


@tenant_selector
def tier_get_of_accounts(tenant: Tenant, run: ScoreRun | None, account_ids: Iterable[int]) -> dict[int, str]:
    """The tier each of these accounts got in ``run`` (one query; none without a run)."""
    if run is None:
        return {}
    scores = AccountScore.objects.filter(run=run, account_id__in=list(account_ids))
    return dict(scores.values_list("account_id", "tier"))


@tenant_selector
def tier_summary_get(tenant: Tenant) -> dict[str, Any]:
    """Per tier: accounts, revenue_12m and share, from the latest full run; and its Pareto."""
    run = run_get_latest_full(tenant)
    if run is None:
        return {"as_of": None, "run": None, "tiers": [], "pareto": None}
    rows = {
        row["tier"]: row
        for row in AccountScore.objects.filter(run=run)
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


# --- runs ---------------------------------------------------------------------------------------------


@tenant_selector
def run_list(tenant: Tenant, membership: Membership) -> QuerySet[ScoreRun]:
    """Runs, newest first, with what the runs page shows of them; a member sees the full runs
    and the rescoring of the accounts they read."""
    runs = (
        ScoreRun.objects.select_related("scorecard", "account", "created_by")
        .exclude(trigger=RunTrigger.PREVIEW)
        .order_by("-created_at", "-id")
    )
    if not _reads_all(membership):
        runs = runs.filter(Q(account__isnull=True) | Q(account__in=readable_accounts(tenant, membership).values("pk")))
    return runs


@tenant_selector
def run_get(tenant: Tenant, membership: Membership, run_id: Any) -> ScoreRun:
    """A run the member may see, or 404 (another tenant's id included)."""
    return get_object_for_tenant(run_list(tenant, membership), tenant, run_id)


def _full_runs_done(tenant: Tenant) -> QuerySet[ScoreRun]:
    return ScoreRun.objects.filter(status=RunStatus.DONE, account__isnull=True)


@tenant_selector
def run_get_latest_full(tenant: Tenant) -> ScoreRun | None:
    """The completed full run the tier page and the summary show (None before the first)."""
    return (
        _full_runs_done(tenant)
        .select_related("scorecard", "account", "created_by")
        .order_by("-finished_at", "-id")
        .first()
    )


@tenant_selector
def run_get_previous_full(tenant: Tenant, run: ScoreRun) -> ScoreRun | None:
    """The full run finished before ``run``: the tier page's movements are "since" it."""
    return (
        _full_runs_done(tenant)
        .filter(finished_at__lt=run.finished_at)
        .exclude(pk=run.pk)
        .order_by("-finished_at", "-id")
        .first()
    )


# --- scorecards ---------------------------------------------------------------------------------------


@tenant_selector
def scorecard_list(tenant: Tenant) -> QuerySet[Scorecard]:
    """Every version, newest first."""
    return Scorecard.objects.select_related("created_by").order_by("-version")


@tenant_selector
def scorecard_get(tenant: Tenant, scorecard_id: Any) -> Scorecard:
    """One version of the tenant, or 404."""
    return get_object_for_tenant(Scorecard.objects.select_related("created_by"), tenant, scorecard_id)


@tenant_selector
def scorecard_get_active(tenant: Tenant) -> Scorecard | None:
    """The version runs use; None while the tenant has none (a run then cannot start)."""
    return Scorecard.objects.filter(status=ScorecardStatus.ACTIVE).first()


@tenant_selector
def criterion_list(tenant: Tenant, scorecard: Scorecard) -> list[Criterion]:
    """The version's criteria in scorecard order."""
    return list(Criterion.objects.filter(scorecard=scorecard).order_by("position", "id"))


@tenant_selector
def tier_rule_list(tenant: Tenant, scorecard: Scorecard | int) -> list[TierRule]:
    """The tier rules of a version, highest threshold first (as the engine reads them)."""
    rules = TierRule.objects.filter(scorecard=scorecard)
    return sorted(rules, key=lambda rule: (-rule.threshold, TIER_ORDER.index(rule.tier)))


# --- ratings, overrides and events of an account ------------------------------------------------------


@tenant_selector
def rating_list_latest(tenant: Tenant, account: Account) -> dict[str, Rating]:
    """The account's latest rating per criterion key."""
    ratings: dict[str, Rating] = {}
    for rating in Rating.objects.filter(account=account).select_related("rated_by"):
        ratings.setdefault(rating.criterion, rating)  # newest first by Meta.ordering
    return ratings


@tenant_selector
def override_get_active(tenant: Tenant, account: Account) -> TierOverride | None:
    """The override the next run applies: not lifted, not expired today."""
    return (
        TierOverride.objects.filter(account=account, lifted_at__isnull=True)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=tenant_today(tenant)))
        .select_related("set_by")
        .first()
    )


@tenant_selector
def override_get_applied(tenant: Tenant, score: AccountScore) -> TierOverride | None:
    """The override a snapshot applied: the latest one of that tier set before its run."""
    if not score.override_tier:
        return None
    return (
        TierOverride.objects.filter(
            account_id=score.account_id, tier=score.override_tier, set_at__lte=score.run.created_at
        )
        .select_related("set_by")
        .order_by("-set_at", "-id")
        .first()
    )


@tenant_selector
def event_list_active(tenant: Tenant, account_id: int, as_of: dt.date) -> QuerySet[Event]:
    """The account's events that count on ``as_of`` (occurred_on <= as_of < expires_on, or no expiry)."""
    return (
        Event.objects.filter(account_id=account_id, occurred_on__lte=as_of)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=as_of))
        .order_by("-occurred_on", "-id")
    )


# --- tier override requests ------------------------------------------------------------------------


def _requests() -> QuerySet[TierOverrideRequest]:
    return TierOverrideRequest.objects.select_related("account", "requested_by", "decided_by", "override")


@tenant_selector
def override_request_get(tenant: Tenant, request_id: Any) -> TierOverrideRequest:
    """A request of this tenant by id; another tenant's, or garbage, is 404."""
    return get_object_for_tenant(_requests(), tenant, request_id)


@tenant_selector
def override_request_list(
    tenant: Tenant, *, status: str | None = None, account: Account | None = None
) -> QuerySet[TierOverrideRequest]:
    """Requests newest first (pending ones oldest first: the order they wait in)."""
    requests = _requests()
    if account is not None:
        requests = requests.filter(account=account)
    if status == OverrideRequestStatus.PENDING:
        return requests.filter(status=status).order_by("requested_at", "id")
    if status == "decided":
        return requests.exclude(status=OverrideRequestStatus.PENDING).order_by("-decided_at", "-id")
    if status:
        requests = requests.filter(status=status)
    return requests


@tenant_selector
def override_request_pending_of_account(tenant: Tenant, account: Account) -> TierOverrideRequest | None:
    return _requests().filter(account=account, status=OverrideRequestStatus.PENDING).first()


@tenant_selector
def override_request_of_override(tenant: Tenant, override: TierOverride | None) -> TierOverrideRequest | None:
    """The approved request an override was set from, if it was."""
    if override is None:
        return None
    return _requests().filter(override=override, status=OverrideRequestStatus.APPROVED).first()
