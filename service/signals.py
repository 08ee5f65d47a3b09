"""What service tells other apps, without importing them (risk listens: the bell, the SLA sweep).

- ``need_routed(tenant, need, notify)``: a need got an assignee (on capture or by a person);
  ``notify`` are the users to tell besides the assignee (the directors, for a complaint).
- ``need_changed(tenant, need)``: status, first response or priority changed; the SLA alerts
  of the need may have cleared.
"""

from __future__ import annotations

from django.dispatch import Signal

need_routed = Signal()
need_changed = Signal()
