"""What risk tells other apps, without importing them (messaging listens: the channels).

- ``alerts_changed(tenant, opened, escalated)``: an alert evaluation opened and escalated these
  alerts (ids). Sent inside the evaluation's transaction, so that a receiver's writes (the
  channels' queued messages) commit or roll back with the alerts themselves; a receiver
  sends nothing before the commit.
"""

from __future__ import annotations

from django.dispatch import Signal

alerts_changed = Signal()
