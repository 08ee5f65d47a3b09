"""Celery entry points of teams: thin wrappers around teams.services.

Beat fans ``teams.end_stale_links`` out to every tenant each night:
``{"task": "kam.fan_out", "args": ["teams.end_stale_links"]}`` in kam/celery.py.
"""

from __future__ import annotations

from kam.models import Tenant
from kam.tasks import tenant_task
from teams import services


@tenant_task(name="teams.end_stale_links")
def end_stale_links(tenant: Tenant) -> int:
    """End the counterpart links whose contact left or whose member's last day passed."""
    return services.counterpart_links_end_stale(tenant)
