from __future__ import annotations

from typing import Any


def load(tenant: Any, people: dict[str, Any]) -> None:
    """Placeholder: filled by its owner."""
