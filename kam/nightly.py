"""The nightly cycle, at each tenant's own local time (DESIGN section 7).

Beat sends one entry every minute, ``nightly-dispatch`` (kam.celery). For that minute,
:func:`due_jobs` finds each active tenant's nightly jobs whose time it is *in the tenant's
time zone*: the score run at the tenant's ``score_at`` (02:00 by default), concentration at
``concentration_at`` (03:00) and health at ``health_at`` (03:30); the jobs that prepare the
score run in the half hour before it and the contingency reviews after health. Each
tenant's times are shifted by its stagger, a fixed number of minutes within
``NIGHTLY_STAGGER_MINUTES`` derived from its id, so that a thousand tenants in one time
zone do not all start in the same minute, and a tenant's jobs keep their order.

Each job is queued on the batch queue with its slot: the tenant's local night and the
job's time (``2026-12-07T02:00+13``: the 02:00 job, 13 minutes of stagger). The task runs
once per (task, tenant, slot) (kam.recovery.once_per_slot), so two beats, or a dispatch
sent twice, still give one run. A local time that a daylight-saving change skips is run
at the instant the clock jumps to; one it repeats, at its first occurrence: every night
has each job exactly once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

UTC = dt.UTC
# A job's wall time lies at most this far from the minute that ran it (a clock change).
CLOCK_CHANGE_REACH = dt.timedelta(hours=3)


@dataclass(frozen=True)
class NightlyJob:
    task: str
    # The tenant's field whose time the job keeps, and its offset from it in minutes.
    anchor: str
    offset_minutes: int = 0


# In the order of a night. The preparation of the score run (links ended, the need
# classifier trained, renewals opened, growth's figures the score may read) comes in the
# half hour before it; the contingency plans' reviews forty minutes after health.
NIGHTLY_JOBS: tuple[NightlyJob, ...] = (
    NightlyJob("teams.end_stale_links", "score_at", -30),
    NightlyJob("service.train_models", "score_at", -20),
    NightlyJob("renewals.open_due", "score_at", -15),
    NightlyJob("growth.refresh_figures", "score_at", -10),
    NightlyJob("scoring.nightly_score", "score_at"),
    NightlyJob("risk.daily_concentration", "concentration_at"),
    NightlyJob("risk.nightly_health", "health_at"),
    NightlyJob("risk.contingency_reviews", "health_at", 40),
)
ANCHORS = ("score_at", "concentration_at", "health_at")
DEFAULT_TIMES = {"score_at": dt.time(2, 0), "concentration_at": dt.time(3, 0), "health_at": dt.time(3, 30)}


def job_label(task: str) -> str:
    """A job's name as the schedule page shows it."""
    from django.utils.translation import gettext as _

    labels = {
        "teams.end_stale_links": _("End the counterpart links of contacts who left"),
        "service.train_models": _("Train the need classifier"),
        "renewals.open_due": _("Open the renewals that come due"),
        "growth.refresh_figures": _("Refresh share of wallet and potential"),
        "scoring.nightly_score": _("Score run"),
        "risk.daily_concentration": _("Concentration"),
        "risk.nightly_health": _("Health assessment"),
        "risk.contingency_reviews": _("Remind the owners of contingency plans due for review"),
    }
    return labels.get(task, task)


def batch_queue() -> str:
    return settings.KAM_BATCH_QUEUE


def stagger_minutes(tenant_id: int) -> int:
    """The tenant's fixed shift within the window: consecutive ids spread over it."""
    window = max(1, int(settings.NIGHTLY_STAGGER_MINUTES))
    return (tenant_id * 37) % window


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # not a zone (kept by an old row): the default
        return ZoneInfo(settings.TIME_ZONE)


def scheduled_at(job: NightlyJob, night: dt.date, anchor: dt.time, zone: str, stagger: int) -> dt.datetime:
    """The UTC minute the job runs on the tenant's ``night`` (the local date of its anchor)."""
    local = dt.datetime.combine(night, anchor) + dt.timedelta(minutes=job.offset_minutes + stagger)
    # A wall time in a daylight-saving gap or fold: zoneinfo's fold=0 reading, converted to
    # UTC, is one real instant either way.
    return local.replace(tzinfo=_zone(zone)).astimezone(UTC).replace(second=0, microsecond=0)


def slot_of(job: NightlyJob, night: dt.date, anchor: dt.time, stagger: int) -> str:
    moment = dt.datetime.combine(night, anchor) + dt.timedelta(minutes=job.offset_minutes)
    return f"{night.isoformat()}T{moment:%H:%M}+{stagger}"


def due_jobs(minute: dt.datetime, tenants: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """The (task, tenant id, slot) whose time is ``minute`` (aware), for ``tenants``: dicts of
    ``id``, ``time_zone`` and the anchor times."""
    minute = minute.astimezone(UTC).replace(second=0, microsecond=0)
    due = []
    for tenant in tenants:
        zone = _zone(tenant["time_zone"])
        stagger = stagger_minutes(tenant["id"])
        wall = minute.astimezone(zone)
        # Near a daylight-saving change the wall clock skips or repeats: try the nights around.
        steady = wall.utcoffset() == (minute - CLOCK_CHANGE_REACH).astimezone(zone).utcoffset()
        wall = wall.replace(tzinfo=None)
        for job in NIGHTLY_JOBS:
            anchor = tenant.get(job.anchor) or DEFAULT_TIMES[job.anchor]
            own = wall - dt.timedelta(minutes=job.offset_minutes + stagger)
            if steady:
                nights = (own.date(),) if own.time() == anchor else ()
            else:
                nights = (own.date() - dt.timedelta(days=1), own.date(), own.date() + dt.timedelta(days=1))
            for night in nights:
                if scheduled_at(job, night, anchor, tenant["time_zone"], stagger) == minute:
                    due.append((job.task, tenant["id"], slot_of(job, night, anchor, stagger)))
    return due


def dispatch(minute: dt.datetime) -> int:
    """Queue, on the batch queue, every tenant's nightly jobs whose time is ``minute``."""
    from kam.celery import app
    from kam.models import Tenant

    tenants = list(Tenant.objects.filter(is_active=True).order_by("pk").values("id", "time_zone", *ANCHORS))
    jobs = due_jobs(minute, tenants)
    for task, tenant_id, slot in jobs:
        app.signature(task, args=[tenant_id], kwargs={"kam_slot": slot}).apply_async(queue=batch_queue())
    return len(jobs)
