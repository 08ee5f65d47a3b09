"""The Celery app. DESIGN section 7: beat fans out one task per tenant; tasks take
tenant_id, are idempotent, acknowledge late and have time limits (settings.py)."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

app = Celery("kam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The periodic schedule, in code. Times are in CELERY_TIMEZONE (the tenant default,
# Asia/Shanghai). Per-tenant jobs are entries of the form
# {"task": "kam.fan_out", "args": ["<app>.<task name>"]}: one task per active tenant.
app.conf.beat_schedule = {
    "hourly-cleanup": {"task": "kam.hourly_cleanup", "schedule": crontab(minute=7)},
    "hourly-import-sweep": {
        "task": "kam.fan_out",
        "schedule": crontab(minute=17),
        "args": ["accounts.sweep_stale_imports"],
    },
    "nightly-end-stale-links": {
        "task": "kam.fan_out",
        "schedule": crontab(hour=1, minute=30),
        "args": ["teams.end_stale_links"],
    },
    "daily-concentration": {
        "task": "kam.fan_out",
        "schedule": crontab(hour=3, minute=0),
        "args": ["risk.daily_concentration"],
    },
    "nightly-health": {"task": "kam.fan_out", "schedule": crontab(hour=3, minute=30), "args": ["risk.nightly_health"]},
    "hourly-webhook-retry": {"task": "kam.fan_out", "schedule": crontab(minute=27), "args": ["risk.retry_webhooks"]},
    "nightly-score": {"task": "kam.fan_out", "schedule": crontab(hour=2, minute=0), "args": ["scoring.nightly_score"]},
}
