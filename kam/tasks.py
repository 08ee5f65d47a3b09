"""Platform tasks and the helpers every app's tasks use.

Every task is a :class:`kam.recovery.KamTask` (the app's task class): database errors are
retried with exponential backoff and jitter, and a task whose worker died is re-queued by
the recovery sweep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from celery import shared_task
from celery.schedules import crontab
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from kam import services
from kam.models import Tenant
from kam.recovery import once_per_slot
from kam.tenancy import tenant_context

# How far back schedule_slot looks for a crontab's last time: the longest period of the
# schedule (a day), with room for a monthly entry.
_SLOT_SEARCH_MINUTES = 32 * 24 * 60


def tenant_task(*, atomic: bool = True, **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """A Celery task that runs inside its tenant: ``fn(tenant, *args, **kwargs)``.

    The task is called with ``tenant_id`` first. With ``atomic`` (the default) the
    tenant is entered (kam.tenancy.tenant_context: the app level and the RLS setting) for
    the whole task, in one transaction. With ``atomic=False`` the body runs outside any
    tenant and every service call enters it in its own transaction (tenant_service), so a
    long job can commit progress that pages see while it works; it reads through
    ``tenant_context`` blocks of its own. An unknown or inactive tenant id does nothing, so
    a stale message is harmless.

    A task queued by beat (through :func:`fan_out`) carries ``kam_slot``, its scheduled
    time: it runs once per tenant and slot, however many copies arrive.
    """

    def decorator(fn: Callable[..., Any]) -> Any:
        name = task_options.pop("name", f"{fn.__module__.split('.')[0]}.{fn.__name__}")

        @shared_task(name=name, **task_options)
        @wraps(fn)
        def run(tenant_id: int, *args: Any, kam_slot: str | None = None, **kwargs: Any) -> Any:
            tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
            if tenant is None:
                return None

            def body() -> Any:
                if atomic:
                    with tenant_context(tenant):
                        return fn(tenant, *args, **kwargs)
                return fn(tenant, *args, **kwargs)

            if kam_slot is None:
                return body()
            return once_per_slot(name, tenant.pk, kam_slot, body)

        return run

    return decorator


def fan_out(task_name: str, *args: Any, slot: str | None = None, queue: str | None = None, **kwargs: Any) -> int:
    """Queue ``task_name(tenant_id, *args, **kwargs)`` once for every active tenant.

    With ``slot`` (beat's scheduled time), each tenant's task runs once for that slot. With
    ``queue``, on that queue (beat's jobs go to the batch queue, so that the interactive
    work people wait for never queues behind them).
    """
    from kam.celery import app

    task_kwargs = {**kwargs, "kam_slot": slot} if slot else kwargs
    tenant_ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    options = {"queue": queue} if queue else {}
    for tenant_id in tenant_ids:
        app.signature(task_name, args=[tenant_id, *args], kwargs=task_kwargs).apply_async(**options)
    return len(tenant_ids)


@shared_task(name="kam.fan_out")
def fan_out_task(task_name: str, *args: Any, schedule_entry: str | None = None, **kwargs: Any) -> int:
    """Beat's entry point for per-tenant jobs; ``schedule_entry`` names the beat entry. The
    tenants' tasks go to the batch queue."""
    slot = schedule_slot(schedule_entry) if schedule_entry else None
    return fan_out(task_name, *args, slot=slot, queue=settings.KAM_BATCH_QUEUE, **kwargs)


@shared_task(name="kam.dispatch_nightly")
def dispatch_nightly_task(schedule_entry: str = "nightly-dispatch") -> int:
    """Beat's entry point of the nightly cycle, every minute: the tenants' jobs whose local
    time it is (kam/nightly.py)."""
    from kam import nightly

    minute = dt.datetime.fromisoformat(schedule_slot(schedule_entry)).replace(tzinfo=ZoneInfo(str(_celery_timezone())))
    return nightly.dispatch(minute)


def _celery_timezone() -> str:
    from kam.celery import app

    return str(app.conf.timezone or "UTC")


def schedule_slot(entry: str, now: dt.datetime | None = None) -> str:
    """The scheduled time that beat entry ``entry`` was sent for: its latest time at or
    before ``now``, in the schedule's time zone (e.g. ``2026-05-01T02:00`` for the nightly
    score run sent at 02:00 and executed at 02:00:03 or 02:40).

    Two beats send the same entry within seconds of each other, so both copies name the
    same slot. A schedule that is not a crontab counts whole periods since the epoch.
    """
    from kam.celery import app

    schedule = app.conf.beat_schedule[entry]["schedule"]
    now = (now or timezone.now()).astimezone(ZoneInfo(str(app.conf.timezone or "UTC")))
    if not isinstance(schedule, crontab):
        period = max(1, int(schedule.run_every.total_seconds()))
        return f"every-{period}s-{int(now.timestamp()) // period}"
    moment = now.replace(second=0, microsecond=0)
    for _ in range(_SLOT_SEARCH_MINUTES):
        if (
            moment.minute in schedule.minute
            and moment.hour in schedule.hour
            and moment.day in schedule.day_of_month
            and moment.month in schedule.month_of_year
            and (moment.weekday() + 1) % 7 in schedule.day_of_week
        ):
            return moment.strftime("%Y-%m-%dT%H:%M")
        moment -= dt.timedelta(minutes=1)
    raise ValueError(f"beat entry {entry} has no time in the last {_SLOT_SEARCH_MINUTES} minutes")


@tenant_task()
def cleanup_tenant_tokens(tenant: Tenant) -> int:
    return services.api_tokens_cleanup(tenant=tenant)


@shared_task(name="kam.hourly_cleanup")
def hourly_cleanup() -> dict[str, int]:
    """Expired sessions, then each tenant's long-expired or revoked API tokens."""
    expired_sessions, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    tenants = fan_out("kam.cleanup_tenant_tokens", queue=settings.KAM_BATCH_QUEUE)
    return {"sessions": expired_sessions, "tenants": tenants}


def queue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue a task once the current transaction commits (never for rolled-back work)."""
    from django.db import transaction

    transaction.on_commit(lambda: task.delay(*args, **kwargs))
