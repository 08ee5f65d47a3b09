"""One redis-py client per process for the code that talks to Redis directly (the API's rate
limit, the worker's record of tasks in flight); the cache goes through Django's backend.

Django's RedisCache builds a new client object around its pool on every call, which costs
more than a counter's round trip; this client, and its connection pool, are made once per
process and URL (redis-py clients are thread-safe, and a pool reconnects after a restart of
Redis and after a fork).
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def redis_client() -> redis.Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.setdefault(url, redis.Redis.from_url(url))
    return client
