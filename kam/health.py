"""/healthz: the database, Redis, and whether a Celery worker answers."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.cache import cache
from django.db import connection

WORKER_CACHE_KEY = "healthz:worker"
WORKER_CACHE_SECONDS = 15


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # report, never raise: this is the page that says what is down
        return f"error: {exc.__class__.__name__}"


def _redis() -> str:
    try:
        cache.set("healthz:ping", "1", 5)
        return "ok" if cache.get("healthz:ping") == "1" else "error: no echo"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


def _worker() -> str:
    try:
        cached = cache.get(WORKER_CACHE_KEY)
    except Exception:
        cached = None
    if cached:
        return cached
    from kam.celery import app

    try:
        replies = app.control.ping(timeout=1.0)
        state = "ok" if replies else "no worker answered"
    except Exception as exc:
        state = f"error: {exc.__class__.__name__}"
    with contextlib.suppress(Exception):
        # A worker that answered is remembered longer than one that did not (it may be starting).
        cache.set(WORKER_CACHE_KEY, state, WORKER_CACHE_SECONDS if state == "ok" else 3)
    return state


def check(*, include_worker: bool = True) -> dict[str, Any]:
    report = {"database": _database(), "redis": _redis()}
    if include_worker:
        report["worker"] = _worker() if report["redis"] == "ok" else "unknown: Redis is down"
    # The web process is healthy when it can serve: database and Redis. A missing worker
    # is reported, not fatal, so a web container is not restarted for a worker's sake.
    report["status"] = "ok" if report["database"] == "ok" and report["redis"] == "ok" else "error"
    return report
