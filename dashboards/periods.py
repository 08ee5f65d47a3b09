"""The period selector of the dashboards: the tier migration compares the tiers at the
period's start with today's, and the trends run from its start to today."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DEFAULT_PERIOD = "quarter"


@dataclass(frozen=True)
class Period:
    key: str
    label: str | Promise
    start: dt.date
    end: dt.date


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def previous_quarter_start(day: dt.date) -> dt.date:
    return quarter_start(quarter_start(day) - dt.timedelta(days=1))


# key -> (label, start as a function of today). "12 months" is DESIGN's 12m window: D-365.
PERIODS = {
    "quarter": (_("This quarter"), quarter_start),
    "last_quarter": (_("Since last quarter"), previous_quarter_start),
    "12m": (_("12 months"), lambda today: today - dt.timedelta(days=365)),
}


def period_of(key: str | None, today: dt.date) -> Period:
    """The chosen period; an unknown or missing key is the default (this quarter)."""
    if key not in PERIODS:
        key = DEFAULT_PERIOD
    label, start = PERIODS[key]
    return Period(key=key, label=label, start=start(today), end=today)


def all_periods(today: dt.date) -> list[Period]:
    return [period_of(key, today) for key in PERIODS]
