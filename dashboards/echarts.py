"""Pieces of the Apache ECharts options the dashboards send to the browser.

Options are plain JSON built here; static/dashboards/js/charts.js renders them. A
JavaScript function cannot travel in JSON, so a formatter is named by a string starting
with "@" ("@money", "@percent", "@count", "@date", "@tip") and charts.js puts the function
in its place, formatting numbers and dates in the page's language. Every text (series
names, axis names, tooltips given as ``tip``) comes from here, translated.

One palette for all charts: tiers S/A/B/C as on the tier badges (kam.css), health bands
green/yellow/red, alert severities.
"""

from __future__ import annotations

from typing import Any

TIER_COLORS = {"S": "#5b2ba6", "A": "#1f5fae", "B": "#8db3e2", "C": "#a3acb9", "": "#dde2ea"}
BAND_COLORS = {"green": "#2e9e5b", "yellow": "#e0a800", "red": "#c8392f", "": "#a3acb9"}
SEVERITY_COLORS = {"critical": "#c8392f", "warning": "#e0a800", "info": "#8db3e2"}
LEVEL_COLORS = {"warning": "#e0a800", "critical": "#c8392f"}
MUTED = "#5b6576"
GRID_LINE = "#e6e9ef"
EMPTY_CELL = "#f3f5f8"
TEXT = "#1d2430"
TITLE_STYLE = {"fontSize": 13, "fontWeight": 600, "color": TEXT}


def mix(color: str, amount: float) -> str:
    """``color`` blended with white: amount 1 is the colour, 0 is white."""
    amount = max(0.0, min(1.0, amount))
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - (255 - part) * amount):02x}" for part in (red, green, blue))


def text_on(amount: float) -> str:
    """Label colour on a cell of ``mix(color, amount)``: white on the dark ones."""
    return "#ffffff" if amount >= 0.6 else TEXT


def tooltip(**extra: Any) -> dict[str, Any]:
    """The tooltip every chart uses: the server-made ``tip`` text of the hovered item."""
    return {"trigger": "item", "formatter": "@tip", "confine": True, **extra}


def category_axis(labels: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "category",
        "data": labels,
        "axisTick": {"show": False},
        "axisLine": {"lineStyle": {"color": GRID_LINE}},
        "axisLabel": {"color": MUTED},
        **extra,
    }


def value_axis(formatter: str = "@count", **extra: Any) -> dict[str, Any]:
    return {
        "type": "value",
        "axisLabel": {"formatter": formatter, "color": MUTED},
        "splitLine": {"lineStyle": {"color": GRID_LINE}},
        "nameTextStyle": {"color": MUTED},
        **extra,
    }


def legend(**extra: Any) -> dict[str, Any]:
    return {"top": 0, "icon": "roundRect", "itemWidth": 12, "itemHeight": 8, "textStyle": {"color": MUTED}, **extra}


def warning_lines(lines: list[tuple[float, str, str]], *, axis: str = "yAxis") -> dict[str, Any]:
    """A markLine with one dashed line per (value, label, level) — the warning lines."""
    return {
        "silent": True,
        "symbol": "none",
        "data": [
            {
                axis: value,
                "label": {"formatter": label, "position": "end", "color": LEVEL_COLORS[level]},
                "lineStyle": {"type": "dashed", "color": LEVEL_COLORS[level]},
            }
            for value, label, level in lines
        ],
    }
