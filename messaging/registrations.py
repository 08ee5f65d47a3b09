"""What the channels add to the other apps: the settings page's menu entry, and the
listener of risk's alerts (risk does not import messaging)."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def register_all() -> None:
    from kam.navigation import NavItem, register
    from kam.permissions import ADMINS
    from risk import signals as risk_signals

    register(
        NavItem("messaging-channels", _("Channels"), "messaging-channels", roles=ADMINS, group="settings", order=26)
    )
    risk_signals.alerts_changed.connect(_alerts_changed, dispatch_uid="messaging.alerts_changed")


def _alerts_changed(sender: Any, *, tenant: Any, opened: list[int], escalated: list[int], **kwargs: Any) -> None:
    """Inside the evaluation's transaction: the items commit with the alerts, or not at all."""
    from messaging.routing import alerts_to_channels

    alerts_to_channels(tenant, opened=opened, escalated=escalated)
