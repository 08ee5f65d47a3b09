"""A cache of the dashboards' heavy figures, keyed by the runs they come from.

A score run's snapshots never change once it is done, so what is computed from them alone
(tier summary, Pareto curve) is kept under the run's id for a day. What also reads current
values — the tier x health matrix, the tier migration to today's tiers — changes when a
score or risk run finishes (they write those values), so it is kept under the ids of the
latest finished runs (``DataVersion.token``): a new run makes a new key at once. Other
writes (an account archived or added) show within ``CURRENT_TTL``.

At 100,000 accounts these statements take 50–300 ms each (bench/pages.py); cached, a
dashboard answers in tens of milliseconds. Keys carry the tenant id; values are plain
numbers, never texts, so one entry serves both languages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from kam.models import Tenant

T = TypeVar("T")

SNAPSHOT_TTL = 24 * 60 * 60
CURRENT_TTL = 10 * 60
# Bump when the shape of a cached value changes, so old entries are not read back.
VERSION = 1


def cached(tenant: Tenant, name: str, key: tuple[object, ...], compute: Callable[[], T], *, ttl: int) -> T:
    """``compute()``, or its result kept under (tenant, name, key)."""
    cache_key = ":".join(["dashboards", str(VERSION), str(tenant.pk), name, *map(str, key)])
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, ttl)
    return value
