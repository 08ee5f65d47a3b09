"""Tasks that survive their worker: claims, the messages of dead workers, database retries.

DESIGN section 7 asks for late acknowledgement: a task's message stays in kombu's
"unacked" set in Redis until the task returns, and kombu puts it back in its queue only
when the Redis ``visibility_timeout`` (two hours here) has passed. A worker killed in the
middle of a score run (OOM killer, ``kill -9``, a lost machine) would leave that run
"running" for two hours. So every task execution in a worker:

1. holds a PostgreSQL *session* advisory lock, its **claim**, on a connection of its own
   (:func:`claim`). PostgreSQL ends a backend whose client has gone and frees its
   locks: a free claim means that nobody executes that message any more;
2. records itself in a Redis hash (``<cache prefix>:kam:inflight``) while it runs.

:func:`recover_orphans` — run by every worker when it starts and then every
``RECOVERY_INTERVAL`` seconds — looks at the recorded executions whose claim is free
(their process died) and moves their message from kombu's unacked set back to the head
of its queue, where the next free worker takes it. The tasks are idempotent (DESIGN
section 7), so whatever the dead execution had committed is redone or skipped.

Database errors (PostgreSQL restarting, refusing connections) are retried by every task
with exponential backoff and full jitter (:class:`KamTask`), and a scheduled per-tenant
job runs once per schedule slot however many beats queued it (:func:`once_per_slot`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
from celery import Task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# What a task retries: the database is down, restarting, or dropped the connection.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)
# Seconds between two recovery sweeps in a running worker (the first runs at start-up).
RECOVERY_INTERVAL = 30
# A slot that ran is remembered this long (longer than the longest schedule period, a day).
SLOT_MEMORY_SECONDS = 2 * 24 * 3600


# --- claims: PostgreSQL session advisory locks on a connection of the process's own ------------

_local = threading.local()
# Connections inherited through fork() belong to the parent: never close them here (libpq
# would end the parent's session), just keep them referenced.
_inherited: list[Any] = []


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key (the one-bigint form: its own key space, apart
    from the two-integer locks the runs and imports take)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _new_connection() -> Any:
    from django.db import connections

    connection = psycopg2.connect(**connections["default"].get_connection_params())
    connection.autocommit = True
    return connection


def _claim_connection(*, fresh: bool = False) -> Any:
    """This process's (and thread's) claim connection, opened on first use."""
    connection = getattr(_local, "connection", None)
    if connection is not None and getattr(_local, "pid", None) != os.getpid():
        _inherited.append(connection)
        connection = None
    if connection is not None and (fresh or connection.closed):
        with contextlib.suppress(Exception):
            connection.close()
        connection = None
    if connection is None:
        connection = _new_connection()
        _local.connection, _local.pid = connection, os.getpid()
    return connection


def close_claim_connection() -> None:
    """Close this thread's claim connection (tests, before their database is dropped)."""
    connection = getattr(_local, "connection", None)
    if connection is not None and getattr(_local, "pid", None) == os.getpid():
        with contextlib.suppress(Exception):
            connection.close()
    _local.connection = None


def _execute(sql: str, key: int) -> Any:
    """Run one lock statement; a broken connection (PostgreSQL restarted) is reopened once."""
    for attempt in (1, 2):
        try:
            with _claim_connection(fresh=attempt == 2).cursor() as cursor:
                cursor.execute(sql, [key])
                return cursor.fetchone()[-1]
        except psycopg2.Error:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def claim(name: str, *, wait: bool = True) -> Iterator[bool | None]:
    """Hold the claim ``name`` for the block.

    Yields True when held; False when ``wait`` is off and a live process holds it; None
    when the database cannot be reached (the caller goes on unclaimed: its own database
    work will fail and be retried anyway).
    """
    key = _lock_key(name)
    try:
        held = _execute("SELECT pg_advisory_lock(%s), true" if wait else "SELECT pg_try_advisory_lock(%s)", key)
    except psycopg2.Error as exc:
        logger.warning("claim %s not taken, the database is unreachable: %s", name, exc)
        yield None
        return
    if not held:
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(psycopg2.Error):
            _execute("SELECT pg_advisory_unlock(%s)", key)


# --- executions in flight ----------------------------------------------------------------------


def _redis() -> Any:
    from kam.redisconn import redis_client

    return redis_client()


def _key(name: str) -> str:
    from django.conf import settings

    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:kam:{name}"


def _execution_field(task_id: str, retries: int) -> str:
    # A retry is a new message with the same task id: each attempt is its own execution.
    return f"{task_id}:{retries}"


@contextlib.contextmanager
def tracked_execution(task_name: str, task_id: str, retries: int) -> Iterator[None]:
    """Claim this execution and record it in Redis while it runs.

    The claim is taken before the record is written and released after it is deleted, so
    a record whose claim is free belongs to a process that died. A second delivery of the
    same message (kombu's own re-delivery after the visibility timeout) waits for the first.
    """
    field = _execution_field(task_id, retries)
    with claim(f"task:{field}") as held:
        if not held:
            yield
            return
        record = json.dumps(
            {"task": task_name, "id": task_id, "retries": retries, "host": socket.gethostname(), "pid": os.getpid()}
        )
        recorded = _record(field, record)
        try:
            yield
        finally:
            if recorded:
                with contextlib.suppress(Exception):
                    _redis().hdel(_key("inflight"), field)


def _record(field: str, record: str) -> bool:
    try:
        _redis().hset(_key("inflight"), field, record)
    except Exception as exc:  # Redis down: the task runs untracked, as it would without us
        logger.warning("execution %s not recorded: %s", field, exc)
        return False
    return True


# --- the sweep -----------------------------------------------------------------------------------


def _unacked_tags(channel: Any, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], list[str]]:
    """Delivery tags of kombu's unacked messages, by (task id, retries), for the wanted ones."""
    found: dict[tuple[str, int], list[str]] = {}
    for tag, raw in channel.client.hscan_iter(channel.unacked_key, count=500):
        try:
            message = json.loads(raw)[0]
            headers = message.get("headers") or {}
            identity = (str(headers.get("id")), int(headers.get("retries") or 0))
        except (ValueError, TypeError, IndexError, AttributeError):
            continue
        if identity in wanted:
            found.setdefault(identity, []).append(tag.decode() if isinstance(tag, bytes) else tag)
    return found


def recover_orphans() -> list[str]:
    """Put back in their queues the messages whose executing process has died.

    Returns the task ids recovered. One sweep at a time across all workers (a Redis lock);
    each orphan's claim is held while its message is moved, so that no new execution of it
    starts half-way.
    """
    from kam.celery import app

    redis = _redis()
    inflight = {
        (k.decode() if isinstance(k, bytes) else k): v for k, v in (redis.hgetall(_key("inflight")) or {}).items()
    }
    if not inflight:
        return []
    sweep_lock = _key("recovery-sweep")
    if not redis.set(sweep_lock, f"{socket.gethostname()}:{os.getpid()}", nx=True, px=60_000):
        return []
    recovered: list[str] = []
    connection = _new_connection()
    try:
        with app.connection_for_write() as broker:
            channel = broker.default_channel
            for field, raw in inflight.items():
                if _recover_one(connection, channel, redis, field, raw):
                    recovered.append(json.loads(raw)["id"])
    finally:
        connection.close()
        redis.delete(sweep_lock)
    if recovered:
        logger.warning("re-queued %d task(s) whose worker died: %s", len(recovered), ", ".join(recovered))
    return recovered


def _recover_one(connection: Any, channel: Any, redis: Any, field: str, raw: Any) -> bool:
    key = _lock_key(f"task:{field}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            return False  # its process is alive and still working on it
        try:
            if redis.hget(_key("inflight"), field) != raw:
                return False  # it finished (or started again) meanwhile
            info = json.loads(raw)
            identity = (str(info["id"]), int(info["retries"]))
            for tag in _unacked_tags(channel, {identity}).get(identity, []):
                channel.qos.restore_by_tag(tag, leftmost=True)
            redis.hdel(_key("inflight"), field)
            return True
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


class RecoverySweeper(threading.Thread):
    """Sweeps at worker start and then every ``interval`` seconds until stopped."""

    def __init__(self, interval: float = RECOVERY_INTERVAL) -> None:
        super().__init__(name="kam-recovery", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                recover_orphans()
            except Exception as exc:  # Redis or PostgreSQL down: try again next time
                logger.info("recovery sweep skipped: %s", exc)
            finally:
                from django.db import connections

                connections.close_all()
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


# --- one run per schedule slot -----------------------------------------------------------------


def once_per_slot(task_name: str, tenant_id: int, slot: str, body: Callable[[], Any]) -> Any:
    """Run ``body`` unless this (task, tenant, slot) ran already or runs right now.

    Two beats started by mistake queue every scheduled job twice, and a message can be
    delivered again; each copy carries the slot (the scheduled time) and the second one
    finds it taken. "Runs now" is a claim (it dies with its process, so a killed run is
    re-run); "ran" is remembered in Redis for two days once the body returned.
    """
    from django.core.cache import cache

    done_key = f"kam:slot-done:{task_name}:{tenant_id}:{slot}"
    if cache.get(done_key):
        logger.info("%s for tenant %s, slot %s: done already", task_name, tenant_id, slot)
        return None
    with claim(f"slot:{task_name}:{tenant_id}:{slot}", wait=False) as held:
        if held is False or cache.get(done_key):
            logger.info("%s for tenant %s, slot %s: taken by another copy", task_name, tenant_id, slot)
            return None
        result = body()
        cache.set(done_key, time.time(), SLOT_MEMORY_SECONDS)
        return result


# --- the task base class -------------------------------------------------------------------------


class KamTask(Task):
    """Base of every KAM task (``Celery(task_cls=...)`` in kam/celery.py).

    Database errors are retried with exponential backoff and full jitter (waits of up to 2,
    4, 8 ... 300 s, a random part of each), 12 times: up to about 28 minutes of outage, 14
    on average, so a PostgreSQL restart delays work instead of losing it. Each execution in a worker is
    tracked (see the module docstring), so a worker's death does not strand its task.
    """

    autoretry_for = DATABASE_ERRORS
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 12

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.request_stack.top is None:  # called as a plain function: Task.__call__ sets up the request
            return super().__call__(*args, **kwargs)
        request = self.request
        # Inside the worker's tracer the request is set up already; Task.__call__ would push an
        # empty one over it (retries and id lost), so the body is called directly.
        if request.is_eager or not request.id:
            return self.run(*args, **kwargs)
        with tracked_execution(self.name, request.id, int(request.retries or 0)):
            return self.run(*args, **kwargs)
