"""Reads and derivations the scoring pages need that scoring.selectors does not offer (yet).

Reads only: every write goes through scoring.services. Each read takes the tenant first,
like the selectors, so it could move there unchanged. The pure functions below (movement,
tier explanation, raw-value formatting, chart geometry) turn a stored snapshot into what
the pages show; they never recompute a score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from accounts.access import readable_accounts
from accounts.models import Event
from kam.formats import format_money, format_percent, plain_number, two_decimals
from kam.models import Membership, Tenant
from kam.permissions import READ_ALL
from kam.tenancy import get_object_for_tenant
from scoring import selectors
from scoring.engine import TIER_ORDER
from scoring.models import (
    AccountScore,
    Criterion,
    CriterionKind,
    Metric,
    Normalization,
    RunStatus,
    Scorecard,
    ScoreRun,
    TierOverride,
    TierRule,
)

# S=3 ... C=0: "higher" between tiers.
TIER_RANK = {tier: len(TIER_ORDER) - 1 - position for position, tier in enumerate(TIER_ORDER)}
# The tier page lists this many accounts per tier; "show all" pages through one tier.
ROWS_PER_TIER = 25
# The score tab's history chart shows the latest snapshots, oldest first.
HISTORY_POINTS = 60


def reads_all(membership: Membership) -> bool:
    return membership.role in READ_ALL


# --- tier page ------------------------------------------------------------------------------------


def run_scores(tenant: Tenant, membership: Membership, run: ScoreRun) -> QuerySet[AccountScore]:
    """The snapshots of ``run`` of the accounts the member may read (all of them for READ_ALL roles)."""
    scores = AccountScore.objects.for_tenant(tenant).filter(run=run)
    if not reads_all(membership):
        scores = scores.filter(account__in=readable_accounts(tenant, membership).values("pk"))
    return scores


def tier_leaders(
    tenant: Tenant, membership: Membership, run: ScoreRun, *, per_tier: int = ROWS_PER_TIER
) -> dict[str, list[AccountScore]]:
    """The best ``per_tier`` accounts of each tier (highest total first), in one query."""
    ranked = run_scores(tenant, membership, run).annotate(
        position=Window(
            RowNumber(), partition_by=[F("tier")], order_by=[F("total").desc(), F("account__name").asc(), F("id")]
        )
    )
    leaders: dict[str, list[AccountScore]] = {tier: [] for tier in TIER_ORDER}
    rows = ranked.filter(position__lte=per_tier).select_related("account").order_by("tier", "position")
    for score in rows:
        leaders.setdefault(score.tier, []).append(score)
    return leaders


def tier_accounts(tenant: Tenant, membership: Membership, run: ScoreRun, tier: str) -> QuerySet[AccountScore]:
    """Every account of one tier in ``run``, highest total first (for paging through a tier)."""
    return (
        run_scores(tenant, membership, run)
        .filter(tier=tier)
        .select_related("account")
        .order_by("-total", "account__name", "id")
    )


def tier_counts(tenant: Tenant, membership: Membership, run: ScoreRun) -> dict[str, dict[str, Any]]:
    """Per tier, the number and revenue_12m of the accounts the member may read (one query)."""
    rows = (
        run_scores(tenant, membership, run)
        .values("tier")
        .annotate(count=Count("id"), revenue_12m=Sum("revenue_12m"))
        .order_by()
    )
    counts = {tier: {"tier": tier, "count": 0, "revenue_12m": Decimal("0")} for tier in TIER_ORDER}
    for row in rows:
        counts[row["tier"]] = {"tier": row["tier"], "count": row["count"], "revenue_12m": row["revenue_12m"]}
    return counts


def previous_full_run(tenant: Tenant, run: ScoreRun) -> ScoreRun | None:
    """The full run finished before ``run``: the tier page's movements are "since" it."""
    return (
        ScoreRun.objects.for_tenant(tenant)
        .filter(status=RunStatus.DONE, account__isnull=True, finished_at__lt=run.finished_at)
        .exclude(pk=run.pk)
        .order_by("-finished_at", "-id")
        .first()
    )


def tiers_in_run(tenant: Tenant, run: ScoreRun | None, account_ids: Iterable[int]) -> dict[int, str]:
    """The tier each of these accounts got in ``run`` (one query)."""
    if run is None:
        return {}
    scores = AccountScore.objects.for_tenant(tenant).filter(run=run, account_id__in=list(account_ids))
    return dict(scores.values_list("account_id", "tier"))


def movement(previous_tier: str, tier: str) -> str:
    """``new`` (no earlier snapshot), ``up``, ``down`` or ``same``."""
    if not previous_tier:
        return "new"
    if TIER_RANK[tier] > TIER_RANK[previous_tier]:
        return "up"
    if TIER_RANK[tier] < TIER_RANK[previous_tier]:
        return "down"
    return "same"


# --- runs -----------------------------------------------------------------------------------------


def visible_runs(tenant: Tenant, membership: Membership) -> QuerySet[ScoreRun]:
    """Runs, newest first; a member sees full runs and the rescoring of the accounts they read."""
    runs = selectors.runs(tenant).exclude(trigger="preview").order_by("-created_at", "-id")
    if not reads_all(membership):
        runs = runs.filter(Q(account__isnull=True) | Q(account__in=readable_accounts(tenant, membership).values("pk")))
    return runs


def run_get(tenant: Tenant, membership: Membership, run_id: int) -> ScoreRun:
    """A run the member may see, or 404 (another tenant's id included)."""
    return get_object_for_tenant(visible_runs(tenant, membership), tenant, run_id)


# --- scorecard ------------------------------------------------------------------------------------


def scorecard_versions(tenant: Tenant) -> QuerySet[Scorecard]:
    return Scorecard.objects.for_tenant(tenant).select_related("created_by").order_by("-version")


def scorecard_get(tenant: Tenant, scorecard_id: Any) -> Scorecard:
    return get_object_for_tenant(Scorecard.objects.select_related("created_by"), tenant, scorecard_id)


def scorecard_criteria(tenant: Tenant, scorecard: Scorecard) -> list[Criterion]:
    return list(Criterion.objects.for_tenant(tenant).filter(scorecard=scorecard).order_by("position", "id"))


def scorecard_tier_rules(tenant: Tenant, scorecard: Scorecard | int) -> list[TierRule]:
    """The tier rules of a version, highest threshold first (as the engine reads them)."""
    rules = TierRule.objects.for_tenant(tenant).filter(scorecard=scorecard)
    return sorted(rules, key=lambda rule: (-rule.threshold, TIER_ORDER.index(rule.tier)))


def normalization_text(criterion: Criterion) -> str:
    """How a criterion turns its raw value into 0..100 points, in a few words."""
    params = criterion.params or {}
    if criterion.normalization == Normalization.LINEAR and "lo" in params and "hi" in params:
        return _("linear from %(lo)s to %(hi)s") % {"lo": plain_number(params["lo"]), "hi": plain_number(params["hi"])}
    if criterion.normalization == Normalization.BANDS and params.get("bands"):
        bands = ", ".join(f"{plain_number(t)}:{plain_number(p)}" for t, p in params["bands"])
        return _("bands %(bands)s") % {"bands": bands}
    if criterion.normalization == Normalization.RATING:
        return _("rating 1–5; not rated: %(points)s points") % {"points": plain_number(criterion.missing_value)}
    return str(criterion.get_normalization_display())


# --- account score tab ----------------------------------------------------------------------------


def active_events(tenant: Tenant, account_id: int, as_of: dt.date) -> QuerySet[Event]:
    """The account's events that count on ``as_of`` (occurred_on <= as_of < expires_on, or no expiry)."""
    return (
        Event.objects.for_tenant(tenant)
        .filter(account_id=account_id, occurred_on__lte=as_of)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=as_of))
        .order_by("-occurred_on", "-id")
    )


def override_behind(tenant: Tenant, score: AccountScore) -> TierOverride | None:
    """The override a snapshot applied: the latest one of that tier set before its run."""
    if not score.override_tier:
        return None
    return (
        TierOverride.objects.for_tenant(tenant)
        .filter(account_id=score.account_id, tier=score.override_tier, set_at__lte=score.run.created_at)
        .select_related("set_by")
        .order_by("-set_at", "-id")
        .first()
    )


def explain_tier(
    *,
    total: Decimal,
    revenue_12m: Decimal,
    computed_tier: str,
    previous_tier: str,
    rules: Sequence[TierRule],
    hysteresis: Decimal,
) -> str:
    """Why the score gave ``computed_tier``, from the snapshot's numbers and its scorecard's rules.

    Mirrors the engine (DESIGN section 4): the highest tier whose threshold the total reaches
    and whose gate the revenue passes; then the hysteresis keeps a higher previous tier.
    """
    by_tier = {rule.tier: rule for rule in rules}
    total_text = two_decimals(total)

    def passes_gate(rule: TierRule) -> bool:
        return rule.min_revenue_12m is None or revenue_12m >= rule.min_revenue_12m

    found = next((rule.tier for rule in rules if total >= rule.threshold and passes_gate(rule)), "C")
    if computed_tier != found:
        kept = by_tier.get(computed_tier)
        if kept is not None and previous_tier == computed_tier:
            return _(
                "Kept at %(tier)s by the %(h)s-point hysteresis: total %(total)s is within %(h)s points of "
                "%(tier)s (%(threshold)s)."
            ) % {
                "tier": computed_tier,
                "h": plain_number(hysteresis),
                "total": total_text,
                "threshold": plain_number(kept.threshold),
            }
        return _("Total %(total)s gives %(tier)s.") % {"total": total_text, "tier": computed_tier}

    higher = [rule for rule in rules if TIER_RANK[rule.tier] > TIER_RANK[found]]  # highest first
    blocked = [rule for rule in higher if total >= rule.threshold and not passes_gate(rule)]
    if blocked:
        top = blocked[0]
        if len(blocked) == 1:
            return _(
                "Total %(total)s reaches %(tier)s (%(threshold)s), but revenue %(revenue)s is below the "
                "%(tier)s gate %(gate)s, so %(result)s."
            ) % {
                "total": total_text,
                "tier": top.tier,
                "threshold": plain_number(top.threshold),
                "revenue": plain_number(revenue_12m),
                "gate": plain_number(top.min_revenue_12m),
                "result": found,
            }
        names = [f"{rule.tier} ({plain_number(rule.min_revenue_12m)})" for rule in blocked]
        gates = _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}
        return _(
            "Total %(total)s reaches %(tier)s (%(threshold)s), but revenue %(revenue)s is below the gates of "
            "%(gates)s, so %(result)s."
        ) % {
            "total": total_text,
            "tier": top.tier,
            "threshold": plain_number(top.threshold),
            "revenue": plain_number(revenue_12m),
            "gates": gates,
            "result": found,
        }
    own = by_tier.get(found)
    if not higher:
        return _("Total %(total)s reaches %(tier)s (%(threshold)s).") % {
            "total": total_text,
            "tier": found,
            "threshold": plain_number(own.threshold if own else 0),
        }
    next_up = higher[-1]  # the lowest of the higher tiers
    lower = [rule for rule in rules if TIER_RANK[rule.tier] < TIER_RANK[found]]
    if own is None or not lower or total < own.threshold:
        return _("Total %(total)s is below %(higher)s (%(higher_threshold)s), so %(tier)s.") % {
            "total": total_text,
            "higher": next_up.tier,
            "higher_threshold": plain_number(next_up.threshold),
            "tier": found,
        }
    return _("Total %(total)s reaches %(tier)s (%(threshold)s) but not %(higher)s (%(higher_threshold)s).") % {
        "total": total_text,
        "tier": found,
        "threshold": plain_number(own.threshold),
        "higher": next_up.tier,
        "higher_threshold": plain_number(next_up.threshold),
    }


def explain_override(tier: str, reason: str) -> str:
    return _("Set to %(tier)s by hand: %(reason)s.") % {"tier": tier, "reason": reason.rstrip("。.")}


def format_raw(criterion: Criterion | None, raw: Any) -> str:
    """A criterion's raw value as people read it: shares and growth as %, years with one
    decimal, ratings as n/5, money in CNY."""
    if raw is None:
        if criterion is not None and criterion.kind == CriterionKind.RATING:
            return _("not rated")
        return _("no data")
    if criterion is None:
        return plain_number(raw)
    if criterion.kind == CriterionKind.RATING:
        return f"{int(Decimal(str(raw)))}/5"
    metric = criterion.metric
    if metric == Metric.GROWTH:
        return format_percent(raw, 1, signed=True)
    if metric in (Metric.REVENUE_SHARE, Metric.MARGIN, Metric.PAYMENT_ON_TIME):
        return format_percent(raw, 1)
    if metric == Metric.COOPERATION_YEARS:
        return _("%(years)s years") % {"years": f"{Decimal(str(raw)):.1f}"}
    if metric == Metric.REVENUE_12M:
        return format_money(raw)
    return plain_number(raw)


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    kind: str
    raw_text: str
    rated: bool
    normalized: Decimal
    weight: Decimal
    weighted: Decimal
    max_weighted: Decimal  # the most this criterion can bring: 100 * weight / sum of weights
    track_width: Decimal  # the weighted bar's track: max_weighted in % of the widest criterion's


def breakdown_rows(breakdown: Iterable[dict[str, Any]], criteria: dict[str, Criterion]) -> list[BreakdownRow]:
    rows = list(breakdown)
    weight_sum = sum((Decimal(str(row["weight"])) for row in rows), Decimal("0"))
    widest = max((Decimal(str(row["weight"])) for row in rows), default=Decimal("0"))
    scale = 100 * widest / weight_sum if weight_sum else Decimal("0")  # the widest criterion's max weighted
    result = []
    for row in rows:
        criterion = criteria.get(row["key"])
        weight = Decimal(str(row["weight"]))
        weighted = Decimal(str(row["weighted"]))
        max_weighted = 100 * weight / weight_sum if weight_sum else Decimal("0")
        result.append(
            BreakdownRow(
                key=row["key"],
                label=criterion.label if criterion else row["key"],
                kind=criterion.kind if criterion else "",
                raw_text=format_raw(criterion, row["raw"]),
                rated=row["raw"] is not None,
                normalized=Decimal(str(row["normalized"])),
                weight=weight,
                weighted=weighted,
                max_weighted=max_weighted,
                track_width=(100 * max_weighted / scale).quantize(Decimal("0.1")) if scale else Decimal("0"),
            )
        )
    return result


def unrated_criteria(rows: Iterable[BreakdownRow]) -> list[str]:
    return [row.label for row in rows if row.kind == CriterionKind.RATING and not row.rated]


# --- history chart --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    total: Decimal
    tier: str
    as_of: dt.date


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: list[ChartPoint]
    polyline: str
    thresholds: list[dict[str, Any]]  # {"tier", "threshold", "y"}
    gridlines: list[dict[str, Any]]  # {"value", "y"}


def history_chart(
    snapshots: Sequence[AccountScore], rules: Sequence[TierRule], *, width: int = 600, height: int = 200
) -> Chart:
    """Coordinates of the score history (oldest first) for an inline SVG: total 0..100 upwards,
    snapshots evenly spaced, the tier thresholds as horizontal lines."""
    left, right, top, bottom = 34, width - 48, 10, height - 24  # the tier labels sit right of the plot

    def y_of(value: Decimal) -> float:
        return round(bottom - float(value) / 100 * (bottom - top), 1)

    count = len(snapshots)
    step = (right - left) / (count - 1) if count > 1 else 0
    points = [
        ChartPoint(
            x=round(left + index * step if count > 1 else (left + right) / 2, 1),
            y=y_of(score.total),
            total=score.total,
            tier=score.tier,
            as_of=score.as_of,
        )
        for index, score in enumerate(snapshots)
    ]
    thresholds = [
        {"tier": rule.tier, "threshold": plain_number(rule.threshold), "y": y_of(rule.threshold)}
        for rule in rules
        if 0 < rule.threshold <= 100
    ]
    gridlines = [{"value": value, "y": y_of(Decimal(value))} for value in (0, 50, 100)]
    return Chart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        points=points,
        polyline=" ".join(f"{point.x},{point.y}" for point in points),
        thresholds=thresholds,
        gridlines=gridlines,
    )
