"""Demo renewals (DESIGN section 14): one at every stage."""

from __future__ import annotations

from typing import Any


def load(tenant: Any, people: dict[str, Any]) -> None:
    pass
