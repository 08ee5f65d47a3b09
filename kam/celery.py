"""The Celery app. DESIGN section 7: beat fans out one task per tenant; tasks take
tenant_id, are idempotent, acknowledge late and have time limits (settings.py).

Every task is a :class:`kam.recovery.KamTask`: database errors are retried with backoff
and jitter, and a task whose worker died is put back in its queue by the next recovery
sweep (each worker sweeps when it starts and every 30 seconds), not two hours later
when the Redis visibility timeout would bring it back.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

app = Celery("kam", task_cls="kam.recovery:KamTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def per_tenant(entry: str, task: str, schedule: crontab) -> tuple[str, dict[str, Any]]:
    """A beat entry that queues ``task`` once per active tenant (kam.fan_out), on the batch queue.

    The entry's name travels with it, so that each tenant's task carries its schedule slot
    and a second beat started by mistake cannot run it twice (kam.recovery.once_per_slot).
    """
    return entry, {"task": "kam.fan_out", "schedule": schedule, "args": [task], "kwargs": {"schedule_entry": entry}}


@app.on_after_configure.connect
def _beat_to_the_batch_queue(sender: Celery, **_kwargs: Any) -> None:
    """Every beat entry goes to the batch queue (settings.KAM_BATCH_QUEUE), read once the
    configuration is loaded: not while this module is imported, which may happen while the
    settings module itself is still being imported."""
    from django.conf import settings

    for entry in sender.conf.beat_schedule.values():
        entry.setdefault("options", {})["queue"] = settings.KAM_BATCH_QUEUE


# The periodic schedule, in code. Times are in CELERY_TIMEZONE (the tenant default,
# Asia/Shanghai). The nightly cycle (links, classifier, renewals, growth, score,
# concentration, health, reviews) runs at each tenant's own local time: kam/nightly.py,
# dispatched every minute.
app.conf.beat_schedule = dict(
    [
        ("hourly-cleanup", {"task": "kam.hourly_cleanup", "schedule": crontab(minute=7)}),
        (
            "nightly-dispatch",
            {
                "task": "kam.dispatch_nightly",
                "schedule": crontab(minute="*"),
                "kwargs": {"schedule_entry": "nightly-dispatch"},
            },
        ),
        per_tenant("hourly-import-sweep", "accounts.sweep_stale_imports", crontab(minute=17)),
        per_tenant("hourly-webhook-retry", "risk.retry_webhooks", crontab(minute=27)),
        # the channels: today's digests whose time has come (08:30 tenant time by default), waiting messages
        per_tenant("channel-sweep", "messaging.sweep", crontab(minute="*/5")),
        per_tenant("sla-sweep", "risk.sla_sweep", crontab(minute="*/10")),
    ]
)

_sweeper: Any = None


@signals.worker_ready.connect
def _start_recovery(**_kwargs: Any) -> None:
    """Bring back at once the tasks a dead worker left half done, then keep watching."""
    global _sweeper
    from kam.recovery import RecoverySweeper

    if _sweeper is None:
        _sweeper = RecoverySweeper()
        _sweeper.start()


@signals.worker_shutdown.connect
def _stop_recovery(**_kwargs: Any) -> None:
    global _sweeper
    if _sweeper is not None:
        _sweeper.stop()
        _sweeper = None
