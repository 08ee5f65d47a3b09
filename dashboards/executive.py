"""The executive dashboard (管理驾驶舱): one builder per card, each returning a Part with its
ECharts option, its data table (the same figures, for screen readers, copying and CSV)
and an empty state. Figures come from the latest full score run's snapshots, the latest
concentration snapshot, current tiers and health bands, and open alerts.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from accounts.models import HealthBand, Tier
from dashboards import cache, selectors
from dashboards import echarts as ec
from dashboards.parts import (
    Board,
    Cell,
    Column,
    Figure,
    Part,
    count_text,
    figures_part,
    money_short,
    register,
    share,
)
from kam.formats import CENT, EMPTY, format_money, format_percent, plain_number
from kam.permissions import READ_ALL
from risk.models import AlertKind, Severity

TIERS = ("S", "A", "B", "C")
BANDS = ("green", "yellow", "red")
SEVERITIES = ("critical", "warning", "info")
# The runs whose end refreshes a part (dashboards.parts.EVENTS).
SCORE, RISK = frozenset({"score"}), frozenset({"risk"})
BOTH = SCORE | RISK
# The risk center's filters that list what the dashboards count as open: open and
# acknowledged (its default status), snoozed ones included.
OPEN_ALERTS = {"status": "unresolved", "snoozed": "on"}


# --- labels --------------------------------------------------------------------------------------------


def tier_label(tier: str) -> str:
    return str(Tier(tier).label) if tier else _("Not tiered")


def band_label(band: str) -> str:
    return str(HealthBand(band).label) if band else _("Not assessed")


def accounts_text(count: int) -> str:
    return ngettext("%(count)s account", "%(count)s accounts", count) % {"count": count_text(count)}


def labelled(label: str, value: str) -> str:
    """A tooltip's "label: value", with the language's colon (Chinese：)."""
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


def line_text(share: Any) -> str:
    """A warning line as a percentage without needless decimals: 0.10 -> "10%", 0.125 -> "12.5%"."""
    return f"{plain_number((Decimal(str(share)) * 100).quantize(CENT), grouping=False)}%"


def day_text(day: dt.date | None) -> str:
    return day.isoformat() if day else EMPTY


def run_note(board: Board) -> str:
    summary = board.tier_summary
    if summary["as_of"] is None:
        return ""
    return _("Score run as of %(day)s") % {"day": day_text(summary["as_of"])}


def no_score_run() -> str:
    return _("Appears after the first score run.")


def no_risk_run() -> str:
    return _("Appears after the first risk run.")


# --- key figures ---------------------------------------------------------------------------------------


@register("kpis", "executive", READ_ALL)
def key_figures(board: Board) -> Part:
    summary = board.tier_summary
    tiers = {row["tier"]: row for row in summary["tiers"]}
    pareto = summary["pareto"]
    lines = board.concentration_lines
    counts = board.alert_counts
    open_total = sum(sum(by_severity.values()) for by_severity in counts.values())
    critical = sum(by_severity.get(Severity.CRITICAL, 0) for by_severity in counts.values())
    tiered = sum(row["count"] for row in summary["tiers"])
    key_accounts = sum(tiers[tier]["count"] for tier in ("S", "A") if tier in tiers)
    figures = [
        Figure(
            _("Revenue, last 12 months"),
            money_short(pareto["total_revenue_12m"]) if pareto else "—",
            note=run_note(board),
        ),
        Figure(
            _("Key accounts (S and A)"),
            count_text(key_accounts) if pareto else "—",
            note=_("of %(count)s tiered") % {"count": count_text(tiered)} if pareto else "",
            url=board.url("scoring-tiers"),
        ),
        Figure(
            _("Top %(share)s of accounts bring") % {"share": "20%"},
            format_percent(pareto["top20_share"]) if pareto and pareto["accounts"] else "—",
            note=_("of the revenue (80/20 rule)") if pareto and pareto["accounts"] else "",
        ),
    ]
    for key, label in (("top1_share", _("Largest customer group")), ("hhi", _("Concentration (HHI)"))):
        line = lines.get(key)
        if line is None:
            figures.append(Figure(label, "—", note=_("No risk run yet")))
            continue
        value = format_percent(line["value"]) if key != "hhi" else count_text(round(line["value"]))
        warning = line_text(line["warning"]) if key != "hhi" else count_text(round(line["warning"]))
        figures.append(
            Figure(
                label,
                value,
                note=_("Warning line %(line)s") % {"line": warning},
                level=line["level"],
                url=board.url("risk-concentration"),
            )
        )
    figures.append(
        Figure(
            _("Open alerts"),
            count_text(open_total),
            note=ngettext("%(count)s critical", "%(count)s critical", critical) % {"count": count_text(critical)},
            level="critical" if critical else "",
            url=board.url("risk-center", OPEN_ALERTS),
        )
    )
    return figures_part("kpis", figures, depends=BOTH)


# --- tier distribution ------------------------------------------------------------------------------------


@register("tiers", "executive", READ_ALL)
def tier_distribution(board: Board) -> Part:
    summary = board.tier_summary
    part = Part(
        key="tiers",
        title=_("Tier distribution"),
        depends=SCORE,
        columns=[
            Column(_("Tier")),
            Column(_("Accounts"), numeric=True),
            Column(_("Share of accounts"), numeric=True),
            Column(_("Revenue, last 12 months"), numeric=True),
            Column(_("Share of revenue"), numeric=True),
        ],
    )
    if summary["run"] is None:
        part.empty = no_score_run()
        return part
    rows = summary["tiers"]
    accounts_total = sum(row["count"] for row in rows)
    for row in rows:
        tier = row["tier"]
        part.rows.append(
            [
                Cell(
                    tier_label(tier),
                    value=tier,
                    url=board.url("scoring-tiers", {"tier": tier}),
                    badge=f"tier-{tier.lower()}",
                ),
                Cell(count_text(row["count"]), value=row["count"]),
                Cell(
                    format_percent(share(row["count"], accounts_total)),
                    value=round(100 * share(row["count"], accounts_total), 2),
                ),
                Cell(format_money(row["revenue_12m"]), value=row["revenue_12m"]),
                Cell(format_percent(row["share"]), value=round(100 * row["share"], 2)),
            ]
        )
    part.summary = _("%(accounts)s tiered by the score run as of %(day)s; S and A bring %(share)s of the revenue.") % {
        "accounts": accounts_text(accounts_total),
        "day": day_text(summary["as_of"]),
        "share": format_percent(sum(row["share"] for row in rows if row["tier"] in ("S", "A"))),
    }

    def pie(name: str, center: str, values: list[tuple[str, Any, str]]) -> dict[str, Any]:
        """A donut of the tiers; values are (tier, value, tooltip text)."""
        return {
            "type": "pie",
            "name": name,
            "radius": ["36%", "58%"],
            "center": [center, "52%"],
            "avoidLabelOverlap": True,
            "minShowLabelAngle": 5,
            "label": {"formatter": "@pie-percent", "color": ec.MUTED, "overflow": "none"},
            "labelLine": {"length": 6, "length2": 8},
            "itemStyle": {"borderColor": "#fff", "borderWidth": 2},
            "data": [
                {
                    "name": tier_label(tier),
                    "value": float(value),
                    "tip": tip,
                    "itemStyle": {"color": ec.TIER_COLORS[tier]},
                }
                for tier, value, tip in values
            ],
        }

    by_count = [
        (row["tier"], row["count"], labelled(tier_label(row["tier"]), accounts_text(row["count"]))) for row in rows
    ]
    by_revenue = [
        (
            row["tier"],
            row["revenue_12m"],
            labelled(tier_label(row["tier"]), f"{format_money(row['revenue_12m'])} ({format_percent(row['share'])})"),
        )
        for row in rows
    ]
    part.option = {
        "tooltip": ec.tooltip(),
        "legend": ec.legend(),
        "title": [
            {"text": _("By accounts"), "left": "25%", "bottom": 0, "textAlign": "center", "textStyle": ec.TITLE_STYLE},
            {"text": _("By revenue"), "left": "75%", "bottom": 0, "textAlign": "center", "textStyle": ec.TITLE_STYLE},
        ],
        "series": [
            pie(_("Accounts"), "25%", by_count),
            pie(_("Revenue, last 12 months"), "75%", by_revenue),
        ],
    }
    part.png_name = "tiers"
    return part


# --- Pareto ----------------------------------------------------------------------------------------------


@register("pareto", "executive", READ_ALL)
def pareto(board: Board) -> Part:
    summary = board.tier_summary
    part = Part(
        key="pareto",
        title=_("Pareto curve (80/20 rule)"),
        depends=SCORE,
        columns=[
            Column(_("Top share of accounts"), numeric=True),
            Column(_("Accounts"), numeric=True),
            Column(_("Revenue, last 12 months"), numeric=True),
            Column(_("Share of revenue"), numeric=True),
        ],
    )
    figures = summary["pareto"]
    if board.full_run is None or not figures or not figures["accounts"]:
        part.empty = no_score_run() if board.full_run is None else _("No account had revenue in the last 12 months.")
        return part
    run = board.full_run
    points = cache.cached(
        board.tenant, "pareto", (run.pk,), lambda: selectors.pareto_curve(board.tenant, run), ttl=cache.SNAPSHOT_TTL
    )
    for point in points:
        part.rows.append(
            [
                Cell(format_percent(point.accounts_share), value=round(100 * point.accounts_share, 2)),
                Cell(count_text(point.accounts), value=point.accounts),
                Cell(format_money(point.revenue), value=point.revenue),
                Cell(format_percent(point.revenue_share), value=round(100 * point.revenue_share, 2)),
            ]
        )
    top_share = figures["top20_share"]
    top_x = share(figures["top_count"], figures["accounts"])
    part.summary = _(
        "The top 20%% of accounts (%(top)s of %(total)s with revenue) bring %(share)s of the revenue of the last 12 months."
    ) % {
        "top": count_text(figures["top_count"]),
        "total": count_text(figures["accounts"]),
        "share": format_percent(top_share),
    }
    tip = _("The top %(accounts)s of accounts (%(count)s) bring %(share)s of the revenue.")
    data = [{"value": [0, 0], "tip": ""}] + [
        {
            "value": [point.accounts_share, point.revenue_share],
            "tip": tip
            % {
                "accounts": format_percent(point.accounts_share),
                "count": count_text(point.accounts),
                "share": format_percent(point.revenue_share),
            },
        }
        for point in points
    ]
    part.option = {
        "tooltip": ec.tooltip(),
        "grid": {"left": 52, "right": 24, "top": 28, "bottom": 44},
        "xAxis": ec.value_axis(
            "@percent0", min=0, max=1, name=_("Share of accounts, largest first"), nameLocation="middle", nameGap=28
        ),
        "yAxis": ec.value_axis("@percent0", min=0, max=1, name=_("Share of revenue"), nameLocation="end"),
        "series": [
            {
                "type": "line",
                "name": _("Cumulative share of revenue"),
                "data": data,
                "symbolSize": 5,
                "lineStyle": {"width": 2, "color": ec.TIER_COLORS["A"]},
                "itemStyle": {"color": ec.TIER_COLORS["A"]},
                "areaStyle": {"color": ec.TIER_COLORS["A"], "opacity": 0.08},
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": ec.MUTED},
                    "label": {"formatter": _("top %(share)s") % {"share": "20%"}, "color": ec.MUTED},
                    "data": [{"xAxis": top_x}],
                },
                "markPoint": {
                    "symbol": "circle",
                    "symbolSize": 9,
                    "itemStyle": {"color": ec.TIER_COLORS["S"]},
                    "label": {
                        "position": "right" if top_x < 0.5 else "left",
                        "formatter": format_percent(top_share),
                        "color": ec.TIER_COLORS["S"],
                        "fontWeight": 600,
                    },
                    "data": [{"coord": [top_x, top_share]}],
                },
            },
            {
                "type": "line",
                "name": _("Equal shares"),
                "data": [[0, 0], [1, 1]],
                "symbol": "none",
                "silent": True,
                "tooltip": {"show": False},
                "lineStyle": {"type": "dotted", "color": ec.BAND_COLORS[""]},
            },
        ],
    }
    part.png_name = "pareto"
    return part


# --- health heatmap (tier x band) ---------------------------------------------------------------------------


def heatmap_part(
    board: Board, *, key: str, title: str, counts: Counter, link_query: dict[str, Any], depends: frozenset[str]
) -> Part:
    """A tier x health band matrix: an ECharts heatmap whose cells open the accounts list
    filtered to that tier and band, and the same matrix as a table with the same links."""
    part = Part(key=key, title=title, depends=depends, chart_height=260)
    tiers = list(TIERS) + ([""] if any(tier == "" for tier, _band in counts) else [])
    bands = list(BANDS) + ([""] if any(band == "" for _tier, band in counts) else [])
    part.columns = (
        [Column(_("Tier"))]
        + [Column(band_label(band), numeric=True) for band in bands]
        + [Column(pgettext("sum of a row", "Total"), numeric=True)]
    )
    total = sum(counts.values())
    if not total:
        part.empty = _("No accounts yet.")
        return part

    def link(tier: str, band: str) -> str:
        # The accounts list filters by a tier and a band, not by "none", so those cells have no link.
        if not tier or not band:
            return ""
        return board.url("accounts-list", {**link_query, "tier": tier, "health_band": band})

    for tier in tiers:
        cells = [Cell(tier_label(tier), value=tier or "", badge=f"tier-{tier.lower()}" if tier else "")]
        for band in bands:
            count = counts.get((tier, band), 0)
            cells.append(Cell(count_text(count), value=count, url=link(tier, band) if count else ""))
        row_total = sum(counts.get((tier, band), 0) for band in bands)
        cells.append(Cell(count_text(row_total), value=row_total))
        part.rows.append(cells)
    assessed = sum(count for (tier, band), count in counts.items() if band)
    red = sum(count for (tier, band), count in counts.items() if band == "red")
    part.summary = _("%(total)s; %(red)s in the red of %(assessed)s assessed.") % {
        "total": accounts_text(total),
        "red": count_text(red),
        "assessed": count_text(assessed),
    }
    largest = max(counts.values())
    data = []
    y_tiers = list(reversed(tiers))  # S at the top
    for x, band in enumerate(bands):
        for y, tier in enumerate(y_tiers):
            count = counts.get((tier, band), 0)
            amount = 0.18 + 0.82 * count / largest if count else 0.0
            color = ec.mix(ec.BAND_COLORS[band], amount) if count else ec.EMPTY_CELL
            data.append(
                {
                    "value": [x, y, count],
                    "url": link(tier, band) if count else "",
                    "tip": labelled(f"{tier_label(tier)} · {band_label(band)}", accounts_text(count)),
                    "itemStyle": {"color": color},
                    "label": {"color": ec.text_on(amount)},
                }
            )
    part.option = {
        "tooltip": ec.tooltip(),
        "grid": {"left": 96, "right": 12, "top": 8, "bottom": 28},
        "xAxis": ec.category_axis([band_label(band) for band in bands], position="bottom", splitArea={"show": False}),
        "yAxis": ec.category_axis([tier_label(tier) for tier in y_tiers]),
        "series": [
            {
                "type": "heatmap",
                "name": title,
                "data": data,
                "label": {"show": True, "formatter": "@cell-count", "fontSize": 13},
                "itemStyle": {"borderColor": "#fff", "borderWidth": 3, "borderRadius": 4},
                "emphasis": {"itemStyle": {"borderColor": ec.TEXT, "borderWidth": 1}},
                "cursor": "pointer",
            }
        ],
    }
    part.notes.append(_("Select a cell to open those accounts."))
    part.png_name = key
    return part


@register("heatmap", "executive", READ_ALL)
def health_heatmap(board: Board) -> Part:
    from accounts.models import Account

    counts = cache.cached(
        board.tenant,
        "health-matrix",
        (board.version.token,),
        lambda: selectors.health_matrix(Account.objects.all()),
        ttl=cache.CURRENT_TTL,
    )
    return heatmap_part(board, key="heatmap", title=_("Health by tier"), counts=counts, link_query={}, depends=BOTH)


# --- tier migration -------------------------------------------------------------------------------------------


NEW, GONE = "new", "gone"


@register("migration", "executive", READ_ALL)
def tier_migration(board: Board) -> Part:
    period = board.period
    part = Part(key="migration", title=_("Tier migration"), depends=SCORE, chart_height=320)
    if board.full_run is None:
        part.empty = no_score_run()
        return part
    baseline = selectors.baseline_run(board.tenant, on_or_before=period.start)
    if baseline is None:
        part.empty = _(
            "No tiers from %(day)s or before yet: the migration compares the last score run on or before the period's start with today's tiers."
        ) % {"day": day_text(period.start)}
        return part
    flows = cache.cached(
        board.tenant,
        "migration",
        (baseline.pk, board.version.score_run),
        lambda: selectors.tier_migration(board.tenant, baseline),
        ttl=cache.CURRENT_TTL,
    )
    flows = Counter({(before or NEW, now or GONE): count for (before, now), count in flows.items()})
    sources = [tier for tier in (*TIERS, NEW) if any(before == tier for before, _now in flows)]
    targets = [tier for tier in (*TIERS, GONE) if any(now == tier for _before, now in flows)]

    def source_label(tier: str) -> str:
        return _("New since") if tier == NEW else _("%(tier)s then") % {"tier": tier}

    def target_label(tier: str) -> str:
        return _("Archived or not tiered") if tier == GONE else _("%(tier)s now") % {"tier": tier}

    rank = {tier: index for index, tier in enumerate(TIERS)}
    up = sum(n for (b, a), n in flows.items() if b in rank and a in rank and rank[a] < rank[b])
    down = sum(n for (b, a), n in flows.items() if b in rank and a in rank and rank[a] > rank[b])
    new = sum(n for (b, _a), n in flows.items() if b == NEW)
    part.summary = _("From the score run as of %(day)s to today: %(up)s up, %(down)s down, %(new)s new.") % {
        "day": day_text(baseline.as_of),
        "up": accounts_text(up),
        "down": accounts_text(down),
        "new": accounts_text(new),
    }
    part.columns = (
        [Column(_("Tier then"))]
        + [Column(target_label(t), numeric=True) for t in targets]
        + [Column(pgettext("sum of a row", "Total"), numeric=True)]
    )
    for before in sources:
        cells = [Cell(source_label(before), value=before)]
        for now in targets:
            count = flows.get((before, now), 0)
            cells.append(Cell(count_text(count), value=count))
        cells.append(
            Cell(
                count_text(sum(flows.get((before, now), 0) for now in targets)),
                value=sum(flows.get((before, now), 0) for now in targets),
            )
        )
        part.rows.append(cells)

    def color(tier: str) -> str:
        return ec.TIER_COLORS.get(tier, ec.TIER_COLORS[""])

    nodes = [
        {
            "name": source_label(tier),
            "depth": 0,
            "itemStyle": {"color": color(tier)},
            "tip": labelled(source_label(tier), accounts_text(sum(n for (b, _a), n in flows.items() if b == tier))),
        }
        for tier in sources
    ] + [
        {
            "name": target_label(tier),
            "depth": 1,
            "itemStyle": {"color": color(tier)},
            "tip": labelled(target_label(tier), accounts_text(sum(n for (_b, a), n in flows.items() if a == tier))),
        }
        for tier in targets
    ]
    links = [
        {
            "source": source_label(before),
            "target": target_label(now),
            "value": count,
            "tip": labelled(f"{source_label(before)} → {target_label(now)}", accounts_text(count)),
        }
        for before in sources
        for now in targets
        if (count := flows.get((before, now), 0))
    ]
    part.option = {
        "tooltip": ec.tooltip(),
        "series": [
            {
                "type": "sankey",
                "left": 8,
                "right": 120,
                "top": 8,
                "bottom": 8,
                "nodeWidth": 14,
                "nodeGap": 10,
                "layoutIterations": 0,  # keep S, A, B, C from the top down
                "draggable": False,
                "data": nodes,
                "links": links,
                "label": {"color": ec.TEXT, "fontSize": 12},
                "lineStyle": {"color": "gradient", "opacity": 0.35, "curveness": 0.5},
                "emphasis": {"focus": "adjacency"},
            }
        ],
    }
    part.png_name = "tier-migration"
    return part


# --- concentration -------------------------------------------------------------------------------------------


@register("concentration", "executive", READ_ALL)
def concentration(board: Board) -> Part:
    from risk.selectors import concentration_list

    part = Part(
        key="concentration",
        title=_("Revenue concentration"),
        depends=RISK,
        width="full",
        chart_height=320,
        columns=[
            Column(_("As of")),
            Column(_("Largest group"), numeric=True),
            Column(_("Top 5"), numeric=True),
            Column(_("Top 10"), numeric=True),
            Column(_("HHI"), numeric=True),
        ],
    )
    lines = board.concentration_lines
    if not lines:
        part.empty = no_risk_run()
        return part
    snapshot = board.concentration
    labels = {"top1_share": _("Largest customer group"), "top5_share": _("Top 5 groups"), "hhi": _("HHI")}
    for key in ("top1_share", "top5_share", "hhi"):
        line = lines[key]
        hhi = key == "hhi"
        fmt = (lambda v: count_text(round(v))) if hhi else format_percent
        line_fmt = fmt if hhi else line_text
        note = _("Warning %(warning)s") % {"warning": line_fmt(line["warning"])}
        if line["critical"] is not None:
            note += " · " + _("critical %(critical)s") % {"critical": line_fmt(line["critical"])}
        part.figures.append(Figure(labels[key], fmt(line["value"]), note=note, level=line["level"]))
    part.figures.append(Figure(_("Top 10 groups"), format_percent(snapshot.top10_share), note=_("No warning line")))
    trend = list(
        concentration_list(board.tenant)
        .filter(as_of__gte=board.period.start)
        .order_by("as_of")
        .values_list("as_of", "top1_share", "top5_share", "top10_share", "hhi")
    )
    for day, top1, top5, top10, hhi in trend:
        part.rows.append(
            [
                Cell(day_text(day), value=day.isoformat()),
                Cell(format_percent(top1), value=round(100 * top1, 2)),
                Cell(format_percent(top5), value=round(100 * top5, 2)),
                Cell(format_percent(top10), value=round(100 * top10, 2)),
                Cell(count_text(round(hhi)), value=round(hhi, 2)),
            ]
        )
    part.summary = _(
        "Over customer groups (a parent and its subsidiaries count as one customer), as of %(day)s; the trend since %(start)s."
    ) % {"day": day_text(snapshot.as_of), "start": day_text(board.period.start)}
    if not trend:
        part.notes.append(_("No snapshot in this period."))
        return part
    top1_line, top5_line, hhi_line = lines["top1_share"], lines["top5_share"], lines["hhi"]

    def series(name: str, values: list[tuple[dt.date, Any]], color: str, axis: int, **extra: Any) -> dict[str, Any]:
        return {
            "type": "line",
            "name": name,
            "xAxisIndex": axis,
            "yAxisIndex": axis,
            "showSymbol": len(values) < 40,
            "symbolSize": 5,
            "lineStyle": {"width": 2, "color": color},
            "itemStyle": {"color": color},
            "data": [float(value) for _day, value in values],
            "tooltip": {"valueFormatter": "@count" if axis else "@percent"},
            **extra,
        }

    share_lines = [(float(top1_line["warning"]), _("single customer warning"), "warning")]
    if top1_line["critical"] is not None:
        share_lines.append((float(top1_line["critical"]), _("single customer critical"), "critical"))
    share_lines.append((float(top5_line["warning"]), _("top 5 warning"), "warning"))
    hhi_lines = [(float(hhi_line["warning"]), _("warning"), "warning")]
    if hhi_line["critical"] is not None:
        hhi_lines.append((float(hhi_line["critical"]), _("critical"), "critical"))
    share_max = max([float(v) for row in trend for v in row[1:4]] + [value for value, _l, _v in share_lines])
    hhi_max = max([float(row[4]) for row in trend] + [value for value, _l, _v in hhi_lines])
    days = [row[0].isoformat() for row in trend]
    part.option = {
        "tooltip": {"trigger": "axis", "confine": True},
        "axisPointer": {"link": [{"xAxisIndex": "all"}]},
        "legend": ec.legend(),
        "grid": [
            {"left": 56, "right": 150, "top": 32, "height": "46%"},
            {"left": 56, "right": 150, "top": "66%", "bottom": 28},
        ],
        "xAxis": [
            ec.category_axis(days, gridIndex=0, boundaryGap=False, axisLabel={"show": False}),
            ec.category_axis(
                days, gridIndex=1, boundaryGap=False, axisLabel={"formatter": "@date-short", "color": ec.MUTED}
            ),
        ],
        "yAxis": [
            # Room above the highest value or line, on a round number (the lines are not data,
            # so the axis would not reach them by itself).
            ec.value_axis("@percent0", gridIndex=0, min=0, max=min(1.0, math.ceil(share_max * 10 + 0.5) / 10)),
            ec.value_axis("@count", gridIndex=1, min=0, max=math.ceil(hhi_max * 1.1 / 500) * 500, splitNumber=2),
        ],
        "series": [
            series(
                labels["top1_share"],
                [(r[0], r[1]) for r in trend],
                ec.TIER_COLORS["S"],
                0,
                markLine=ec.warning_lines(share_lines),
            ),
            series(labels["top5_share"], [(r[0], r[2]) for r in trend], ec.TIER_COLORS["A"], 0),
            series(_("Top 10 groups"), [(r[0], r[3]) for r in trend], ec.TIER_COLORS["B"], 0),
            series(_("HHI"), [(r[0], r[4]) for r in trend], ec.MUTED, 1, markLine=ec.warning_lines(hhi_lines)),
        ],
    }
    part.more_url = board.url("risk-concentration")
    part.more_label = _("Customer groups and contingency plans")
    part.png_name = "concentration"
    return part


# --- open alerts ------------------------------------------------------------------------------------------------


@register("alerts", "executive", READ_ALL)
def open_alerts(board: Board) -> Part:
    counts = board.alert_counts
    part = Part(
        key="alerts",
        title=_("Open alerts"),
        depends=RISK,
        width="wide",
        columns=[Column(_("Alert"))]
        + [Column(Severity(severity).label, numeric=True) for severity in SEVERITIES]
        + [Column(pgettext("sum of a row", "Total"), numeric=True)],
    )
    if not counts:
        part.empty = _("No open alerts.")
        return part

    def link(kind: str, severity: str = "") -> str:
        return board.url("risk-center", {**OPEN_ALERTS, "kind": kind, "severity": severity})

    kinds = sorted(counts, key=lambda kind: (-sum(counts[kind].values()), kind))
    critical = 0
    for kind in kinds:
        cells = [Cell(str(AlertKind(kind).label), url=link(kind))]
        for severity in SEVERITIES:
            count = counts[kind].get(severity, 0)
            cells.append(Cell(count_text(count), value=count, url=link(kind, severity) if count else ""))
        cells.append(Cell(count_text(sum(counts[kind].values())), value=sum(counts[kind].values())))
        part.rows.append(cells)
        critical += counts[kind].get(Severity.CRITICAL, 0)
    total = sum(sum(by.values()) for by in counts.values())
    part.summary = ngettext(
        "%(count)s open alert, %(critical)s critical.", "%(count)s open alerts, %(critical)s critical.", total
    ) % {"count": count_text(total), "critical": count_text(critical)}
    shown = list(reversed(kinds))  # the most frequent at the top
    part.chart_height = max(180, 44 + 30 * len(shown))
    part.option = {
        "tooltip": ec.tooltip(),
        "legend": ec.legend(),
        "grid": {"left": 8, "right": 24, "top": 30, "bottom": 8, "containLabel": True},
        "xAxis": ec.value_axis("@count", minInterval=1),
        "yAxis": ec.category_axis([str(AlertKind(kind).label) for kind in shown]),
        "series": [
            {
                "type": "bar",
                "name": str(Severity(severity).label),
                "stack": "alerts",
                "barMaxWidth": 18,
                "itemStyle": {"color": ec.SEVERITY_COLORS[severity]},
                "cursor": "pointer",
                "data": [
                    {
                        "value": counts[kind].get(severity, 0),
                        "url": link(kind, severity),
                        "tip": labelled(
                            f"{AlertKind(kind).label} · {Severity(severity).label}",
                            count_text(counts[kind].get(severity, 0)),
                        ),
                    }
                    for kind in shown
                ],
            }
            for severity in SEVERITIES
        ],
    }
    part.png_name = "open-alerts"
    return part


# --- team coverage of the key accounts -------------------------------------------------------------------------


@register("coverage", "executive", READ_ALL)
def team_coverage(board: Board) -> Part:
    coverage = selectors.key_account_coverage(board.tenant)
    measured = selectors.gaps_measured(board.tenant)
    part = Part(
        key="coverage",
        title=_("Team coverage of S and A accounts"),
        depends=BOTH,
        width="narrow",
        chart_height=180,
        columns=[
            Column(_("Tier")),
            Column(_("Accounts"), numeric=True),
            Column(_("Complete team"), numeric=True),
            Column(_("Team with gaps"), numeric=True),
            Column(_("No team"), numeric=True),
        ],
    )
    total = sum(entry.accounts for entry in coverage.values())
    if not total:
        part.empty = _("No S or A accounts yet.")
        return part
    gaps_url = board.url("risk-center", {**OPEN_ALERTS, "kind": AlertKind.TEAM_GAP})
    for tier in ("S", "A"):
        entry = coverage[tier]
        part.rows.append(
            [
                Cell(tier_label(tier), value=tier, badge=f"tier-{tier.lower()}", url=board.url("teams-overview")),
                Cell(count_text(entry.accounts), value=entry.accounts),
                Cell(count_text(entry.staffed), value=entry.staffed),
                Cell(count_text(entry.with_gaps), value=entry.with_gaps, url=gaps_url if entry.with_gaps else ""),
                Cell(count_text(entry.no_team), value=entry.no_team),
            ]
        )
    staffed = sum(entry.staffed for entry in coverage.values())
    part.summary = _("%(share)s of the S and A accounts have a complete team.") % {
        "share": format_percent(share(staffed, total))
    }
    if not measured:
        part.notes.append(_("Teams are checked against the staffing rules by the risk run; none has run yet."))
    kinds = (
        ("staffed", _("Complete team"), ec.BAND_COLORS["green"]),
        ("with_gaps", _("Team with gaps"), ec.BAND_COLORS["yellow"]),
        ("no_team", _("No team"), ec.BAND_COLORS["red"]),
    )
    tiers = ["A", "S"]  # S at the top
    part.option = {
        "tooltip": ec.tooltip(),
        "legend": ec.legend(),
        "grid": {"left": 8, "right": 16, "top": 30, "bottom": 8, "containLabel": True},
        "xAxis": ec.value_axis("@count", minInterval=1),
        "yAxis": ec.category_axis([tier_label(tier) for tier in tiers]),
        "series": [
            {
                "type": "bar",
                "name": label,
                "stack": "coverage",
                "barMaxWidth": 22,
                "itemStyle": {"color": color},
                "data": [
                    {
                        "value": getattr(coverage[tier], attribute),
                        "tip": labelled(
                            f"{tier_label(tier)} · {label}", accounts_text(getattr(coverage[tier], attribute))
                        ),
                    }
                    for tier in tiers
                ],
            }
            for attribute, label, color in kinds
        ],
    }
    part.png_name = "team-coverage"
    return part
