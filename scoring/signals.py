"""What scoring tells other apps, without importing them (risk listens: the bell).

Both are sent once the request's transaction has committed.

- ``override_requested(tenant, request)``: a manager asked for a tier by hand (a
  TierOverrideRequest, pending); the tenant's directors decide it.
- ``override_decided(tenant, request)``: a director approved or rejected it; its requester
  hears of the decision.
"""

from __future__ import annotations

from django.dispatch import Signal

override_requested = Signal()
override_decided = Signal()
