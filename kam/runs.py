"""What every tenant job shares: one run per tenant and kind at a time.

A job takes its lock inside its transaction, on the connection that writes (on Citus, the
coordinator); the lock is released when the transaction ends. The key is the pair
(crc32 of the job's name, tenant id), so database triggers that must wait for a job
(scoring and risk migrations) compute the same key.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from django.db import connection

if TYPE_CHECKING:
    from kam.models import Tenant


def lock_class(name: str) -> int:
    """The first half of the advisory lock key of a job called ``name``."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def advisory_xact_lock(tenant: Tenant, name: str, *, wait: bool = True) -> bool:
    """Hold the tenant's lock called ``name`` until the transaction ends.

    Waiting (the default), a second job of the same tenant and name waits here until the
    first commits; with ``wait=False`` it returns False at once instead."""
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [lock_class(name), tenant.pk])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [lock_class(name), tenant.pk])
        return bool(cursor.fetchone()[0])
