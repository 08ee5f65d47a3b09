"""What the risk pages show, derived from stored snapshots and assessments: the gauges of
the concentration figures against their warning lines, the rows of the largest groups and
accounts, the line charts (concentration trend, health band history) as coordinates for
inline SVG, the health signals with their weights and contributions, and the purchase
rhythm in words.

Pure functions over what the selectors read: no queries, and nothing here recomputes a
share or a score. The charts follow scoring's history chart, which is tied to score
snapshots and tier rules; this one is general (any series over dates, reference lines,
background zones) because the pages need several.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts import tabs as account_tabs
from kam.formats import format_percent, plain_number, share_text
from risk.models import SIGNAL_WEIGHTS, AlertKind, ConcentrationSnapshot, HealthAssessment, RiskAlert, RiskPolicy
from risk.selectors import concentration_level

# The concentration page's period selector: days back from the latest snapshot (None: all).
PERIODS: dict[str, int | None] = {"90d": 90, "1y": 365, "all": None}
PERIOD_LABELS = {"90d": _("90 days"), "1y": _("1 year"), "all": _("All")}
DEFAULT_PERIOD = "1y"
# A chart marks each snapshot with a dot up to this many; beyond, the line alone reads better.
MAX_DOTS = 90
# The trend table lists at most this many snapshots (newest first); the chart shows them all.
TREND_TABLE_ROWS = 400

LEVEL_LABELS = {
    "ok": pgettext_lazy("concentration level", "Within the lines"),
    "warning": pgettext_lazy("concentration level", "Warning"),
    "critical": pgettext_lazy("concentration level", "Critical"),
}
FIGURE_LABELS = {
    "top1_share": _("Largest customer group"),
    "top5_share": _("Top 5 customer groups"),
    "top10_share": _("Top 10 customer groups"),
    "hhi": _("Concentration index (HHI)"),
}
SIGNAL_LABELS = {
    "revenue_trend": pgettext_lazy("health signal", "Revenue trend"),
    "purchase_rhythm": pgettext_lazy("health signal", "Purchase rhythm"),
    "payment": pgettext_lazy("health signal", "Payment"),
    "engagement": pgettext_lazy("health signal", "Engagement"),
    "relationship": pgettext_lazy("health signal", "Relationship"),
    "service": pgettext_lazy("health signal", "Service"),
}


def period_since(period: str, latest: dt.date) -> dt.date | None:
    days = PERIODS[period]
    return None if days is None else latest - dt.timedelta(days=days)


def hhi_text(value: Any) -> str:
    return f"{Decimal(str(value)):,.0f}"


def _nice_ceiling(value: float, step: float) -> float:
    return max(step, -(-value // step) * step)


def hhi_scale(*values: Any) -> float:
    """The top of an HHI axis: a round number above the values and lines, at most 10,000."""
    highest = max((float(v) for v in values if v is not None), default=0.0)
    return min(10000.0, _nice_ceiling(highest * 1.15, 1000.0))


# --- gauges ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaugeMark:
    level: str  # warning | critical
    position: float  # percent of the gauge's width
    text: str


@dataclass(frozen=True)
class Gauge:
    key: str
    label: Any
    value_text: str
    level: str  # ok | warning | critical | none (no line)
    level_label: Any
    fill: float  # percent of the gauge's width
    marks: list[GaugeMark]
    scale_text: str  # the value at the right end


def _position(value: Any, scale: float) -> float:
    return round(min(100.0, max(0.0, float(value) / scale * 100)), 1) if scale else 0.0


def concentration_gauges(lines: Sequence[dict[str, Any]], snapshot: ConcentrationSnapshot) -> list[Gauge]:
    """The top-1, top-5, top-10 shares and the HHI as gauges; ``lines`` is
    risk.selectors.concentration_lines (the top-10 share has no line)."""
    by_key = {line["key"]: line for line in lines}
    rows = [
        by_key.get("top1_share"),
        by_key.get("top5_share"),
        {"key": "top10_share", "value": snapshot.top10_share, "warning": None, "critical": None, "level": "none"},
        by_key.get("hhi"),
    ]
    gauges = []
    for row in rows:
        if row is None:
            continue
        is_hhi = row["key"] == "hhi"
        scale = hhi_scale(row["value"], row["warning"], row["critical"]) if is_hhi else 1.0
        marks = [
            GaugeMark(level, _position(row[level], scale), (hhi_text if is_hhi else share_text)(row[level]))
            for level in ("warning", "critical")
            if row[level] is not None
        ]
        gauges.append(
            Gauge(
                key=row["key"],
                label=FIGURE_LABELS[row["key"]],
                value_text=hhi_text(row["value"]) if is_hhi else format_percent(row["value"]),
                level=row["level"],
                level_label=LEVEL_LABELS.get(row["level"], ""),
                fill=_position(row["value"], scale),
                marks=marks,
                scale_text=hhi_text(scale) if is_hhi else "100%",
            )
        )
    return gauges


# --- largest groups and accounts -------------------------------------------------------------------


@dataclass
class GroupRow:
    rank: int
    root: int
    name: str
    revenue_12m: Decimal
    share: Decimal
    level: str
    has_plan: bool
    accounts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AccountRow:
    rank: int
    account_id: int
    name: str
    group_name: str  # empty when the account is its own group (or its group is not among the largest)
    revenue_12m: Decimal
    share: Decimal
    level: str


def group_rows(snapshot: ConcentrationSnapshot, policy: RiskPolicy, planned: set[int]) -> list[GroupRow]:
    """The snapshot's largest groups (largest first), each graded against the single-customer
    lines and with its member accounts; ``planned`` are the roots covered by a plan."""
    rows = []
    for rank, group in enumerate(snapshot.groups, start=1):
        share = Decimal(str(group["share"]))
        rows.append(
            GroupRow(
                rank=rank,
                root=group["root"],
                name=group["root_name"],
                revenue_12m=Decimal(group["revenue_12m"]),
                share=share,
                level=concentration_level(share, policy.single_customer_warning, policy.single_customer_critical),
                has_plan=group["root"] in planned,
                accounts=[
                    {**account, "revenue_12m": Decimal(account["revenue_12m"]), "share": Decimal(str(account["share"]))}
                    for account in group.get("accounts", [])
                ],
            )
        )
    return rows


def account_rows(snapshot: ConcentrationSnapshot, policy: RiskPolicy) -> list[AccountRow]:
    """The snapshot's largest accounts without the roll-up, graded against the same lines."""
    group_names = {group["root"]: group["root_name"] for group in snapshot.groups}
    rows = []
    for rank, account in enumerate(snapshot.accounts, start=1):
        share = Decimal(str(account["share"]))
        root = account.get("root")
        rows.append(
            AccountRow(
                rank=rank,
                account_id=account["id"],
                name=account["name"],
                group_name=group_names.get(root, "") if root and root != account["id"] else "",
                revenue_12m=Decimal(account["revenue_12m"]),
                share=share,
                level=concentration_level(share, policy.single_customer_warning, policy.single_customer_critical),
            )
        )
    return rows


def share_marks(policy: RiskPolicy) -> list[GaugeMark]:
    """The single-customer lines on a 0..100 % share bar (the group and account tables)."""
    lines = (("warning", policy.single_customer_warning), ("critical", policy.single_customer_critical))
    return [GaugeMark(level, _position(value, 1.0), share_text(value)) for level, value in lines]


# --- line charts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    as_of: dt.date
    text: str  # the tooltip
    css: str = ""


@dataclass(frozen=True)
class ChartSeries:
    key: str
    label: Any
    points: list[ChartPoint]
    polyline: str


@dataclass(frozen=True)
class ChartLine:
    """A horizontal reference line (a warning line), labelled right of the plot."""

    level: str
    y: float
    text: str


@dataclass(frozen=True)
class ChartTick:
    position: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class ChartZone:
    """A horizontal background band (a health band)."""

    key: str
    y: float
    height: float


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    series: list[ChartSeries]
    lines: list[ChartLine]
    y_ticks: list[ChartTick]
    x_ticks: list[ChartTick]
    x_grid: list[ChartTick]
    zones: list[ChartZone]
    dots: bool
    count: int

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def label_y(self) -> int:
        """The baseline of the date labels under the plot."""
        return self.height - 8


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    day = dt.date(first.year, first.month, 1)
    months = []
    while day <= last:
        if day > first:
            months.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def _x_ticks(days: Sequence[dt.date], x_of: Callable[[dt.date], float], left: int, right: int) -> tuple[list, list]:
    """The first and last day at the ends; month starts between them, thinned so the labels never touch."""
    first, last = days[0], days[-1]
    ends = [ChartTick(left, first.isoformat(), "start")]
    if last != first:
        ends.append(ChartTick(right, last.isoformat(), "end"))
    months = _month_starts(first, last)
    stride = max(1, -(-len(months) // 6))
    grid = []
    for month in months[::stride]:
        x = x_of(month)
        if x - left >= 75 and right - x >= 75:
            grid.append(ChartTick(x, month.strftime("%Y-%m")))
    return ends, grid


def line_chart(
    days: Sequence[dt.date],
    series: Sequence[tuple[str, Any, Sequence[Any], Sequence[str] | None]],
    *,
    y_max: float,
    y_ticks: Iterable[float],
    y_text: Callable[[Any], str],
    lines: Iterable[tuple[str, Any, str]] = (),
    zones: Iterable[tuple[str, float, float]] = (),
    width: int = 640,
    height: int = 220,
    right_margin: int = 84,
) -> LineChart:
    """Coordinates of one or more series over dates (oldest first) for an inline SVG.

    ``series``: (key, label, values, css class per point or None); x is proportional to the
    date, so gaps between snapshots show as gaps. ``lines``: (level, value, label)
    reference lines; ``zones``: (key, from, to) background bands. Values are clamped to
    0..y_max.
    """
    left, right, top, bottom = 48, width - right_margin, 12, height - 26

    def y_of(value: Any) -> float:
        clamped = min(max(float(value), 0.0), y_max)
        return round(bottom - clamped / y_max * (bottom - top), 1)

    span = (days[-1] - days[0]).days if days else 0

    def x_of(day: dt.date) -> float:
        if span <= 0:
            return round((left + right) / 2, 1)
        return round(left + (day - days[0]).days / span * (right - left), 1)

    chart_series = []
    for key, label, values, css in series:
        points = [
            ChartPoint(
                x=x_of(day),
                y=y_of(value),
                as_of=day,
                text=f"{day.isoformat()} · {label}: {y_text(value)}",
                css=css[index] if css else "",
            )
            for index, (day, value) in enumerate(zip(days, values, strict=True))
            if value is not None
        ]
        chart_series.append(ChartSeries(key, label, points, " ".join(f"{p.x},{p.y}" for p in points)))
    x_ticks, x_grid = _x_ticks(days, x_of, left, right) if days else ([], [])
    return LineChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        series=chart_series,
        lines=[ChartLine(level, y_of(value), text) for level, value, text in lines],
        y_ticks=[ChartTick(y_of(value), y_text(value)) for value in y_ticks],
        x_ticks=x_ticks,
        x_grid=x_grid,
        zones=[ChartZone(key, y_of(high), round(y_of(low) - y_of(high), 1)) for key, low, high in zones],
        dots=len(days) <= MAX_DOTS,
        count=len(days),
    )


SHARE_SERIES = (("top1_share", _("Largest group")), ("top5_share", _("Top 5 groups")))


# A diversification target's path (DESIGN section 13): (series key, label, {day: value}) for the
# days where the path is drawn (its start within the period and the target date).
PathSeries = tuple[str, Any, dict[dt.date, Any]]


def _with_paths(
    trend: Sequence[dict[str, Any]], series: Sequence[tuple[str, Any]], paths: Sequence[PathSeries]
) -> tuple[list[dt.date], list[tuple[str, Any, list[Any], None]]]:
    """The days of the trend and of the paths, and each series' values on them (None where a
    series has none). Without paths: the trend's days and series as they are."""
    by_day = {row["as_of"]: row for row in trend}
    days = sorted(set(by_day) | {day for _key, _label, values in paths for day in values})
    result = [
        (key, label, [by_day[day][key] if day in by_day else None for day in days], None) for key, label in series
    ]
    result += [(key, label, [values.get(day) for day in days], None) for key, label, values in paths]
    return days, result


def share_chart(trend: Sequence[dict[str, Any]], policy: RiskPolicy, paths: Sequence[PathSeries] = ()) -> LineChart:
    """Top-1 and top-5 shares over time (0..100 %) with the single-customer and top-5 lines,
    and the diversification targets' paths (dashed) when given."""
    top1, top5 = _("Largest"), _("Top 5")
    days, series = _with_paths(trend, SHARE_SERIES, paths)
    return line_chart(
        days,
        series,
        y_max=1.0,
        y_ticks=(0, 0.25, 0.5, 0.75, 1.0),
        y_text=share_text,
        lines=[
            (level, value, f"{name} {share_text(value)}")
            for level, value, name in (
                ("warning", policy.single_customer_warning, top1),
                ("critical", policy.single_customer_critical, top1),
                ("warning", policy.top5_warning, top5),
            )
        ],
    )


def hhi_chart(trend: Sequence[dict[str, Any]], policy: RiskPolicy, paths: Sequence[PathSeries] = ()) -> LineChart:
    """HHI over time with its warning and critical lines; the axis ends a little above both (and
    above the diversification target's path, drawn dashed when given)."""
    path_values = [value for _key, _label, values in paths for value in values.values()]
    y_max = hhi_scale(*(row["hhi"] for row in trend), *path_values, policy.hhi_critical, policy.hhi_warning)
    step = 500 if y_max <= 3000 else 1000 if y_max <= 6000 else 2000
    days, series = _with_paths(trend, (("hhi", _("HHI")),), paths)
    return line_chart(
        days,
        series,
        y_max=y_max,
        y_ticks=[step * index for index in range(int(y_max // step) + 1)],
        y_text=hhi_text,
        lines=[
            ("warning", policy.hhi_warning, hhi_text(policy.hhi_warning)),
            ("critical", policy.hhi_critical, hhi_text(policy.hhi_critical)),
        ],
    )


def trend_rows(trend: Sequence[dict[str, Any]], policy: RiskPolicy) -> list[dict[str, Any]]:
    """The trend table, newest first, each figure with its level."""
    rows = []
    for row in list(trend)[::-1][:TREND_TABLE_ROWS]:
        rows.append(
            {
                **row,
                "hhi_text": hhi_text(row["hhi"]),
                "top1_level": concentration_level(
                    row["top1_share"], policy.single_customer_warning, policy.single_customer_critical
                ),
                "top5_level": concentration_level(row["top5_share"], policy.top5_warning, None),
                "hhi_level": concentration_level(row["hhi"], policy.hhi_warning, policy.hhi_critical),
            }
        )
    return rows


def health_chart(history: Sequence[HealthAssessment]) -> LineChart:
    """The health score over time (0..100) on the bands' colours, each dot in its band's colour."""
    return line_chart(
        [assessment.as_of for assessment in history],
        [
            (
                "score",
                _("Health score"),
                [assessment.score for assessment in history],
                [f"chart-dot--{assessment.band}" for assessment in history],
            )
        ],
        y_max=100.0,
        y_ticks=(0, 40, 70, 100),
        y_text=lambda value: plain_number(Decimal(str(value)).quantize(Decimal("0.01"))),
        zones=[("red", 0, 40), ("yellow", 40, 70), ("green", 70, 100)],
        width=560,
        height=190,
        right_margin=16,
    )


# --- health signals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalRow:
    key: str
    label: Any
    has_data: bool
    raw: Any
    points: Decimal | None
    weight: int
    weight_share: Decimal | None  # the weight's part of the weights used, in percent
    contribution: Decimal | None
    max_contribution: Decimal | None  # weight_share: what 100 points would bring
    track_width: Decimal | None = None  # the contribution bar's track: max_contribution next to the widest's


def signal_rows(assessment: HealthAssessment, signals: dict[str, dict[str, Any] | None]) -> list[SignalRow]:
    """The six signals in DESIGN order; ``signals`` is risk.selectors.health_signals."""
    rows = []
    widest = max((weight for key, weight in SIGNAL_WEIGHTS.items() if signals.get(key) is not None), default=0)
    for key, weight in SIGNAL_WEIGHTS.items():
        signal = signals.get(key)
        if signal is None or not assessment.weight_total:
            rows.append(SignalRow(key, SIGNAL_LABELS[key], False, None, None, weight, None, None, None))
            continue
        share = Decimal(weight) * 100 / assessment.weight_total
        rows.append(
            SignalRow(
                key=key,
                label=SIGNAL_LABELS[key],
                has_data=True,
                raw=signal["raw"],
                points=signal["points"],
                weight=weight,
                weight_share=share,
                contribution=signal["contribution"],
                max_contribution=share,
                track_width=(Decimal(weight) * 100 / widest).quantize(Decimal("0.1")),
            )
        )
    return rows


def weighted_mean(rows: Iterable[SignalRow]) -> Decimal:
    return sum((row.contribution for row in rows if row.contribution is not None), Decimal("0"))


@dataclass(frozen=True)
class Rhythm:
    """The purchase cycle (采购周期) of an assessment, for a sentence."""

    known: bool
    interval_text: str
    last_order_on: dt.date | None
    expected_next: dt.date | None
    days_since: int | None
    ratio: Decimal | None
    state: str  # on_time | late | overdue | unknown
    order_days: int
    alert_ratio: str = ""  # the policy's overdue line, e.g. "1.5"


def purchase_rhythm(assessment: HealthAssessment, policy: RiskPolicy) -> Rhythm:
    """How regularly the account orders and whether the next order is late (DESIGN section 6:
    r = days since the last order / the median interval; an alert past the policy's ratio)."""
    days_since = (assessment.as_of - assessment.last_order_on).days if assessment.last_order_on else None
    if assessment.purchase_interval_days is None:
        return Rhythm(False, "", assessment.last_order_on, None, days_since, None, "unknown", assessment.order_days)
    ratio = assessment.purchase_ratio
    if ratio is None or ratio <= 1:
        state = "on_time"
    elif ratio > policy.purchase_overdue_ratio:
        state = "overdue"
    else:
        state = "late"
    return Rhythm(
        known=True,
        interval_text=plain_number(assessment.purchase_interval_days),
        last_order_on=assessment.last_order_on,
        expected_next=assessment.expected_next_purchase,
        days_since=days_since,
        ratio=ratio,
        state=state,
        order_days=assessment.order_days,
        alert_ratio=plain_number(policy.purchase_overdue_ratio),
    )


# --- where to fix what an alert found ------------------------------------------------------------------


@dataclass(frozen=True)
class AlertLink:
    label: Any
    url: str


def _reversed(name: str, **kwargs: Any) -> str | None:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def renewal_url(tenant_slug: str, renewal_id: Any) -> str | None:
    """The renewal's page (the renewals app's URL name ``renewal``), if it is served."""
    if not isinstance(renewal_id, int) or isinstance(renewal_id, bool):
        return None
    return _reversed("renewal", tenant_slug=tenant_slug, renewal_id=renewal_id)


def renewals_url(tenant_slug: str) -> str | None:
    """The renewals page (URL name ``renewals-list`` or ``renewals``), if it is served."""
    return _reversed("renewals-list", tenant_slug=tenant_slug) or _reversed("renewals", tenant_slug=tenant_slug)


def alert_fix_link(tenant_slug: str, alert: RiskAlert) -> AlertLink | None:
    """The page where what an alert found is put right, for the kinds that have one: the
    account's contracts for ``ip_unprotected``; the renewal's page for ``renewal_overdue`` (the
    renewals page, or the account's contracts, while that page does not exist); the concentration
    page's diversification targets for ``diversification_behind``."""
    if alert.kind == AlertKind.DIVERSIFICATION_BEHIND:
        url = _reversed("risk-concentration", tenant_slug=tenant_slug)
        return AlertLink(_("See the diversification targets"), f"{url}#diversification") if url else None
    if alert.account_id is None:
        return None
    contracts = account_tabs.page_url(tenant_slug, alert.account_id, "contracts")
    if alert.kind == AlertKind.IP_UNPROTECTED:
        return AlertLink(_("Fix the contract"), contracts)
    if alert.kind == AlertKind.RENEWAL_OVERDUE:
        renewal = renewal_url(tenant_slug, (alert.details or {}).get("renewal"))
        if renewal:
            return AlertLink(_("Open the renewal"), renewal)
        renewals = renewals_url(tenant_slug)
        if renewals:
            return AlertLink(_("Open the renewals"), renewals)
        return AlertLink(_("See the contract"), contracts)
    return None
