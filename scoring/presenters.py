"""Display shaping of the scoring pages: what a stored snapshot, run or scorecard looks like
on a page (sentences, rows, the history chart). No queries and no scoring: every figure
comes from what the selectors read, and a tier's reason is the one its run stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from accounts.models import Tier
from kam.formats import format_money, format_percent, plain_number, signed, two_decimals
from scoring.engine import TIER_ORDER, TIER_RANK
from scoring.models import AccountScore, Criterion, CriterionKind, Metric, Normalization, TierReason, TierRule

if TYPE_CHECKING:
    from accounts.models import Event

# The score tab's history chart shows the latest snapshots, oldest first.
HISTORY_POINTS = 60


def movement(previous_tier: str, tier: str) -> str:
    """``new`` (no earlier snapshot), ``up``, ``down`` or ``same``."""
    if not previous_tier:
        return "new"
    if TIER_RANK[tier] > TIER_RANK[previous_tier]:
        return "up"
    if TIER_RANK[tier] < TIER_RANK[previous_tier]:
        return "down"
    return "same"


def tier_sections(
    shown: dict[str, list[AccountScore]],
    figures: dict[str, dict[str, Any]],
    before: dict[int, str],
    *,
    only: str | None,
) -> list[dict[str, Any]]:
    """The tier page's sections, S to C: a tier's figures (count, revenue, share) and its shown
    accounts with the tier each had in the run before (``before``) and their movement since."""
    sections = []
    for tier in TIER_ORDER:
        if tier not in shown:
            continue
        row = figures.get(tier, {"count": 0, "revenue_12m": Decimal("0"), "share": None})
        sections.append(
            {
                "tier": tier,
                "label": Tier(tier).label,
                "count": row["count"],
                "revenue_12m": row["revenue_12m"],
                "share": row["share"],
                "rows": [
                    {
                        "score": score,
                        "previous": before.get(score.account_id, ""),
                        "movement": movement(before.get(score.account_id, ""), score.tier),
                    }
                    for score in shown[tier]
                ],
                "more": only is None and row["count"] > len(shown[tier]),
            }
        )
    return sections


def tier_cards(figures: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The tier page's figure per tier, S to C."""
    return [{**figures[tier], "label": Tier(tier).label} for tier in TIER_ORDER if tier in figures]


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


# --- why this tier -------------------------------------------------------------------------------


def tier_reason_text(score: AccountScore, rules: Sequence[TierRule], hysteresis: Decimal) -> str | None:
    """Why the snapshot's computed tier, in a sentence: the reason its run stored, told with the
    snapshot's total and revenue and its scorecard version's thresholds and gates (``rules``,
    highest threshold first, and ``hysteresis``). None for a snapshot written before runs
    stored the reason."""
    if score.tier_reason is None:
        return None
    tier, total_text = score.computed_tier, two_decimals(score.total)
    by_tier = {rule.tier: rule for rule in rules}
    if score.tier_reason == TierReason.HYSTERESIS:
        return _(
            "Kept at %(tier)s by the %(h)s-point hysteresis: total %(total)s is within %(h)s points of "
            "%(tier)s (%(threshold)s)."
        ) % {
            "tier": tier,
            "h": plain_number(hysteresis),
            "total": total_text,
            "threshold": plain_number(by_tier[tier].threshold),
        }
    if score.tier_reason == TierReason.GATE:
        return _gate_text(score, rules)
    higher = [rule for rule in rules if TIER_RANK[rule.tier] > TIER_RANK[tier]]  # highest first
    own = by_tier.get(tier)
    if not higher:
        return _("Total %(total)s reaches %(tier)s (%(threshold)s).") % {
            "total": total_text,
            "tier": tier,
            "threshold": plain_number(own.threshold if own else 0),
        }
    next_up = higher[-1]  # the lowest of the higher tiers
    lower = [rule for rule in rules if TIER_RANK[rule.tier] < TIER_RANK[tier]]
    if own is None or not lower or score.total < own.threshold:  # the lowest tier: nothing reached
        return _("Total %(total)s is below %(higher)s (%(higher_threshold)s), so %(tier)s.") % {
            "total": total_text,
            "higher": next_up.tier,
            "higher_threshold": plain_number(next_up.threshold),
            "tier": tier,
        }
    return _("Total %(total)s reaches %(tier)s (%(threshold)s) but not %(higher)s (%(higher_threshold)s).") % {
        "total": total_text,
        "tier": tier,
        "threshold": plain_number(own.threshold),
        "higher": next_up.tier,
        "higher_threshold": plain_number(next_up.threshold),
    }


def _gate_text(score: AccountScore, rules: Sequence[TierRule]) -> str:
    """The tiers from the one the run stored as gated down to the computed tier: each reached by
    the total (thresholds fall from S to C), each held back by its revenue gate."""
    gated = [
        rule
        for rule in rules  # highest first
        if TIER_RANK[score.computed_tier] < TIER_RANK[rule.tier] <= TIER_RANK[score.gated_tier]
    ]
    top = gated[0]
    figures = {
        "total": two_decimals(score.total),
        "tier": top.tier,
        "threshold": plain_number(top.threshold),
        "revenue": plain_number(score.revenue_12m),
        "result": score.computed_tier,
    }
    if len(gated) == 1:
        return _(
            "Total %(total)s reaches %(tier)s (%(threshold)s), but revenue %(revenue)s is below the "
            "%(tier)s gate %(gate)s, so %(result)s."
        ) % {**figures, "gate": plain_number(top.min_revenue_12m)}
    names = [f"{rule.tier} ({plain_number(rule.min_revenue_12m)})" for rule in gated]
    gates = _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}
    return _(
        "Total %(total)s reaches %(tier)s (%(threshold)s), but revenue %(revenue)s is below the gates of "
        "%(gates)s, so %(result)s."
    ) % {**figures, "gates": gates}


def override_text(tier: str, reason: str) -> str:
    """A tier set by hand, with the reason given for it."""
    return _("Set to %(tier)s by hand: %(reason)s.") % {"tier": tier, "reason": reason.rstrip("。.")}


def why_texts(score: AccountScore, rules: Sequence[TierRule], hysteresis: Decimal, override_reason: str) -> list[str]:
    """The score tab's "why this tier": the override (with the reason given, ``override_reason``)
    when the tier was set by hand, then why the scorecard gives the computed tier."""
    texts = []
    if score.override_tier:
        texts.append(override_text(score.override_tier, override_reason))
    reason = tier_reason_text(score, rules, hysteresis)
    if reason is not None:
        texts.append(reason)
    return texts


# --- the score tab's events -------------------------------------------------------------------------


def event_rows(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The events that count on the snapshot's day, with their signed points."""
    return [
        {
            "kind_label": event.get_kind_display(),
            "points": signed(event.impact_points),
            "direction": "up" if event.impact_points > 0 else "down" if event.impact_points < 0 else "same",
            "occurred_on": event.occurred_on,
            "expires_on": event.expires_on,
            "note": event.note,
        }
        for event in events
    ]


# --- the score breakdown ----------------------------------------------------------------------------


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
    if metric in (Metric.REVENUE_12M, Metric.POTENTIAL):
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
