"""Display shaping of the renewal pages: the ECharts options of the month chart (drawn by
static/dashboards/js/charts.js, the project's chart renderer: "@money" and "@tip" are its
formatters). Runs no queries."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kam.formats import format_money
from renewals.selectors import MonthFigure

CHART_COLOR = "#1f5fae"
MUTED = "#5b6576"
GRID_LINE = "#e6e9ef"


def month_chart(months: list[MonthFigure]) -> dict[str, Any]:
    """ECharts options (static/dashboards/js/charts.js draws them): value at stake by month."""
    labels = [figure.month.strftime("%Y-%m") for figure in months]
    return {
        "tooltip": {"trigger": "item", "formatter": "@tip", "confine": True},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": labels,
            "axisTick": {"show": False},
            "axisLabel": {"color": MUTED},
        },
        "yAxis": {
            "type": "value",
            "axisLabel": {"formatter": "@money", "color": MUTED},
            "splitLine": {"lineStyle": {"color": GRID_LINE}},
        },
        "series": [
            {
                "type": "bar",
                "name": _("Value at stake"),
                "barMaxWidth": 28,
                "itemStyle": {"color": CHART_COLOR},
                "data": [
                    {
                        "value": float(figure.value),
                        "tip": _("%(month)s: %(count)s open, %(value)s at stake")
                        % {"month": label, "count": figure.count, "value": format_money(figure.value)},
                    }
                    for label, figure in zip(labels, months, strict=True)
                ],
            }
        ],
    }
