"""Celery entry points of renewals: thin wrappers around renewals.services.

Beat opens the renewals whose window has come, every night for every tenant (kam/celery.py)::

    {"task": "kam.fan_out", "args": ["renewals.open_due"]}   # 01:45, before the 02:00 score run

A contract's save opens its own renewal at once (renewals.apps), so the nightly run catches
the contracts whose window a new day brings.
"""

from __future__ import annotations

from kam.models import Tenant
from kam.tasks import tenant_task
from renewals import services


@tenant_task(name="renewals.open_due")
def open_due(tenant: Tenant) -> int:
    """Open the renewals due as of the tenant's today; how many were opened."""
    return services.renewals_open(tenant)
