"""Template tags of the service pages: ``{% sla_clock need as clock %}`` (the partial
templates/service/_sla_clock.html shows it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

from service.models import OPEN_STATUSES, Need

register = template.Library()

# Less than this share of the window left: the clock turns amber.
SOON_SHARE = 0.25


@dataclass(frozen=True)
class SlaClock:
    """The need's next SLA deadline as a page shows it.

    ``state``: ``running`` (time left), ``soon`` (under a quarter of the window left),
    ``overdue``; for a need that is no longer open, ``met`` or ``missed`` (its resolution
    against the resolution deadline); ``none`` without a deadline.
    """

    state: str
    kind: str  # "first_response" or "resolution"
    kind_label: str
    due_at: dt.datetime | None
    text: str


def clock_of(need: Need, now: dt.datetime | None = None) -> SlaClock:
    """The next deadline: the first response while there is none, else the resolution."""
    now = now or timezone.now()
    if need.status not in OPEN_STATUSES:
        due, done = need.resolution_due_at, need.resolved_at or need.closed_at
        if due is None or done is None:
            return SlaClock("none", "resolution", _("Resolution"), due, "")
        if done <= due:
            return SlaClock("met", "resolution", _("Resolution"), due, _("Resolved in time"))
        return SlaClock(
            "missed", "resolution", _("Resolution"), due, _("Resolved %(time)s late") % {"time": timesince(due, done)}
        )
    if need.first_response_at is None:
        kind, kind_label, due = "first_response", _("First response"), need.first_response_due_at
    else:
        kind, kind_label, due = "resolution", _("Resolution"), need.resolution_due_at
    if due is None:
        return SlaClock("none", kind, kind_label, None, "")
    if due <= now:
        return SlaClock("overdue", kind, kind_label, due, _("Overdue by %(time)s") % {"time": timesince(due, now)})
    window = (due - need.received_at).total_seconds() if need.received_at else 0
    state = "soon" if window > 0 and (due - now).total_seconds() < window * SOON_SHARE else "running"
    return SlaClock(state, kind, kind_label, due, _("%(time)s left") % {"time": timeuntil(due, now)})


@register.simple_tag
def sla_clock(need: Need) -> SlaClock:
    return clock_of(need)
