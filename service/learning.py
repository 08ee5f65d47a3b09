"""The per-tenant text model (DESIGN section 11). Filled in by the classifier work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kam.models import Tenant

if TYPE_CHECKING:
    from service.classify import Classification


def predict(tenant: Tenant, subject: str, body: str) -> Classification | None:
    """The tenant's model in use and sure enough (>= 0.6), else None."""
    return None
