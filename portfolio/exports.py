"""The people's portfolios as a spreadsheet (CSV with BOM, or XLSX), in the page's order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.exports import FORMATS, neutralise, to_csv, to_xlsx
from portfolio.engine import Person

__all__ = ["FORMATS", "export_people", "headers"]


def headers() -> list[str]:
    return [
        _("Person"),
        _("Incentive index"),
        _("Revenue, last 12 months (share)"),
        _("Revenue rank"),
        _("Health"),
        pgettext("portfolio", "Growth"),
        _("Accounts"),
        "S",
        "A",
        "B",
        "C",
        _("Open alerts"),
        _("SLA breaches"),
        _("As of"),
    ]


def rows(people: Iterable[Person]) -> Iterator[list[Any]]:
    for person in people:
        yield [
            neutralise(value)
            for value in (
                person.name,
                person.index,
                person.revenue,
                person.revenue_rank,
                person.health,
                person.growth,
                person.accounts,
                person.tier_mix["S"],
                person.tier_mix["A"],
                person.tier_mix["B"],
                person.tier_mix["C"],
                person.open_alerts,
                person.sla_breaches,
                person.day.isoformat(),
            )
        ]


def export_people(people: Iterable[Person], file_format: str, *, title: str) -> bytes:
    if file_format == "xlsx":
        return to_xlsx(headers(), rows(people), title=title)
    return to_csv(headers(), rows(people))
