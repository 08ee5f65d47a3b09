"""The tenant-wide whitespace as a spreadsheet (CSV with BOM, or XLSX): one row per buying
centre with open cells, in the page's order (the wallet left first), with the same filters.
Cells are formula-guarded and written as accounts.exports writes the account list."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _

from accounts.exports import FORMATS, neutralise, to_csv, to_xlsx
from growth.whitespace import OpenCentre

__all__ = ["FORMATS", "export_open_cells", "headers"]


def headers() -> list[str]:
    return [
        _("Account"),
        _("Tier"),
        _("Buying centre code"),
        _("Buying centre"),
        _("Estimated annual spend"),
        _("Revenue, last 12 months"),
        _("Wallet left"),
        _("Open offerings (codes)"),
        _("Open offerings"),
    ]


def rows(centres: Iterable[OpenCentre]) -> Iterator[list[Any]]:
    for centre in centres:
        yield [
            neutralise(value)
            for value in (
                centre.account_name,
                centre.tier,
                centre.centre_code,
                centre.centre_name,
                centre.annual_spend,
                centre.revenue_12m,
                centre.wallet_left,
                ", ".join(offering.code for offering in centre.offerings),
                ", ".join(offering.name for offering in centre.offerings),
            )
        ]


def export_open_cells(centres: Iterable[OpenCentre], file_format: str, *, title: str) -> bytes:
    if file_format == "xlsx":
        return to_xlsx(headers(), rows(centres), title=title)
    return to_csv(headers(), rows(centres))
