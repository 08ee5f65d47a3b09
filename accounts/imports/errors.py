"""What can be wrong with an import file: the file as a whole, one cell, and the log of row errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

# Errors kept on the job (the page shows the first few hundred of them, with the total).
MAX_STORED_ERRORS = 1000


class ImportFileError(Exception):
    """The file as a whole cannot be read: wrong encoding, binary, damaged, empty."""

    def __init__(self, message: str, *, row: int | None = None, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


class CellError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ErrorLog:
    """Row errors: the first ``limit`` are kept, all are counted."""

    def __init__(self, limit: int = MAX_STORED_ERRORS) -> None:
        self.limit = limit
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: int | None, column: str, message: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append({"row": row, "column": column, "message": str(message)})

    def as_json(self) -> list[dict[str, Any]]:
        """Sorted by row (file-level errors first); a last entry says how many were left out."""
        items = sorted(self.items, key=lambda item: item["row"] or 0)
        left_out = self.count - len(items)
        if left_out:
            items.append(
                {
                    "row": None,
                    "column": "",
                    "message": _("%(count)s more errors are not listed.") % {"count": f"{left_out:,}"},
                    "more": left_out,
                }
            )
        return items


def error_total(errors: Sequence[dict[str, Any]]) -> int:
    """How many errors a stored list stands for (its last entry may count the left-out ones)."""
    return sum(item.get("more", 1) for item in errors)
