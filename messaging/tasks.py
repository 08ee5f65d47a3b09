"""Celery entry points of the channels (thin wrappers around messaging.delivery).

- ``flush_channel(tenant_id, channel_id)``: send what the channel has waiting, within its
  vendor's rate limit; queued after the transaction that queued the items commits, and
  again by itself for the time the rate window or a retry names. Not one transaction: it
  commits each message's record as it goes, and holds none open while a vendor answers.
- ``sweep`` (beat, every five minutes, per tenant): today's digests whose time has come,
  and a flush of every channel with work (a lost task costs minutes, not messages).
"""

from __future__ import annotations

from celery import shared_task

from kam.models import Tenant
from kam.tasks import tenant_task
from messaging import delivery

FLUSH_LIMITS = {"soft_time_limit": 5 * 60, "time_limit": 6 * 60}


@shared_task(name="messaging.flush_channel", **FLUSH_LIMITS)
def flush_channel(tenant_id: int, channel_id: int) -> dict[str, float] | None:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return None
    outcome = delivery.flush(tenant, channel_id)
    return {"sent": outcome.sent, "failed": outcome.failed, "wait": outcome.wait}


@tenant_task(name="messaging.sweep")
def sweep(tenant: Tenant) -> dict[str, int]:
    return delivery.sweep(tenant)
