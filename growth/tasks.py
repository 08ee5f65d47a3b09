"""Celery entry points of growth: thin wrappers around growth.metrics.

Beat fans the nightly refresh out to every tenant (kam/celery.py)::

    {"task": "kam.fan_out", "args": ["growth.refresh_figures"]}   # 01:50, before the 02:00 score run

at 01:50, so that the nightly score run (02:00) reads the potential of the same night when a
scorecard version adds the metric ``potential``. ``refresh_account`` recomputes one account
after its orders, buying centres or opportunities change: services queue it with
:func:`queue_account_refresh` (after their commit), or call
``growth.metrics.account_figures_refresh(tenant, account_ids=[...])`` inline.
"""

from __future__ import annotations

from growth import metrics
from kam.models import Tenant
from kam.tasks import queue_on_commit, tenant_task

# One statement over every order of the tenant (5,000,000 in the bench: seconds).
REFRESH_LIMITS = {"soft_time_limit": 10 * 60, "time_limit": 12 * 60}


@tenant_task(name="growth.refresh_figures", **REFRESH_LIMITS)
def refresh_figures(tenant: Tenant) -> int:
    """Every account's wallet, share of wallet and potential as of today; the accounts changed."""
    return metrics.account_figures_refresh(tenant)


@tenant_task(name="growth.refresh_account")
def refresh_account(tenant: Tenant, account_id: int) -> int:
    """One account's figures as of today (an id of another tenant, or gone, changes nothing)."""
    return metrics.account_figures_refresh(tenant, account_ids=[account_id])


def queue_account_refresh(tenant: Tenant, account_id: int) -> None:
    """Refresh the account's figures in a worker once the current transaction commits."""
    queue_on_commit(refresh_account, tenant.pk, account_id)
