"""The executive dashboard's revenue forecast (DESIGN section 12): the tenant's next six months
(growth.metrics.tenant_forecast) beside the same months of last year, as bars with their
table. Registered with the other executive parts (dashboards.parts.register)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboards import cache
from dashboards import echarts as ec
from dashboards.parts import Board, Cell, Column, Part, register
from growth.metrics import tenant_forecast
from kam.formats import format_money, format_percent
from kam.permissions import READ_ALL

FORECAST_TTL = 60 * 60
LAST_YEAR_COLOR = "#a3acb9"
FORECAST_COLOR = ec.TIER_COLORS["A"]


def month_text(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def labelled(label: str, value: str) -> str:
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


# Lazy: it sums the orders of 24 months (not a snapshot), so the page loads it by itself.
@register("forecast", "executive", READ_ALL, lazy_title=gettext_lazy("Revenue forecast, next six months"))
def revenue_forecast(board: Board) -> Part:
    # Every order of the last 24 months is summed: kept for an hour (orders arrive all day; the
    # figures are monthly, and a new day is a new key).
    forecast = cache.cached(
        board.tenant,
        "forecast",
        (board.today.isoformat(),),
        lambda: tenant_forecast(board.tenant, as_of=board.today),
        ttl=FORECAST_TTL,
    )
    last_year_label, forecast_label = _("Same month last year"), _("Forecast")
    part = Part(
        key="forecast",
        title=_("Revenue forecast, next six months"),
        depends=frozenset(),
        width="wide",
        columns=[
            Column(_("Month")),
            Column(_("Same month last year")),
            Column(_("Revenue last year"), numeric=True),
            Column(_("Forecast"), numeric=True),
        ],
    )
    if not forecast.total_last_year:
        part.empty = _("No orders in these months last year: the forecast starts from them.")
        return part
    for month in forecast.months:
        part.rows.append(
            [
                Cell(month_text(month.month), value=month.month.isoformat()),
                Cell(month_text(month.last_year_month), value=month.last_year_month.isoformat()),
                Cell(format_money(month.last_year), value=month.last_year),
                Cell(format_money(month.forecast), value=month.forecast),
            ]
        )
    part.summary = _(
        "Each month is the same month a year earlier times (1 + growth): revenue grew %(raw)s over the last "
        "12 months, counted as %(growth)s (held within ±50%%). Forecast %(forecast)s against %(last)s last year."
    ) % {
        "raw": format_percent(forecast.raw_growth, 1, signed=True),
        "growth": format_percent(forecast.growth, 1, signed=True),
        "forecast": format_money(forecast.total_forecast),
        "last": format_money(forecast.total_last_year),
    }
    labels = [month_text(month.month) for month in forecast.months]
    part.option = {
        "tooltip": ec.tooltip(),
        "legend": ec.legend(),
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": ec.category_axis(labels),
        "yAxis": ec.value_axis("@money"),
        "series": [
            {
                "type": "bar",
                "name": last_year_label,
                "barMaxWidth": 22,
                "itemStyle": {"color": LAST_YEAR_COLOR},
                "data": [
                    {
                        "value": float(month.last_year),
                        "tip": labelled(
                            f"{month_text(month.last_year_month)} · {last_year_label}", format_money(month.last_year)
                        ),
                    }
                    for month in forecast.months
                ],
            },
            {
                "type": "bar",
                "name": forecast_label,
                "barMaxWidth": 22,
                "itemStyle": {"color": FORECAST_COLOR},
                "data": [
                    {
                        "value": float(month.forecast),
                        "tip": labelled(f"{month_text(month.month)} · {forecast_label}", format_money(month.forecast)),
                    }
                    for month in forecast.months
                ],
            },
        ],
    }
    part.png_name = "revenue-forecast"
    return part
