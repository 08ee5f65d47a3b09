from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk control")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.tabs import AccountTab
        from accounts.tabs import register as register_tab
        from kam.navigation import NavItem, TopbarWidget, register, register_topbar_widget
        from kam.permissions import ADMINS, READ_ALL

        # Entries whose URL does not resolve are left out, so these may precede their pages.
        register_tab(AccountTab("risk", _("Risk"), "risk-account-tab", order=30))
        register(NavItem("risk-center", _("Risk center"), "risk-center", order=40))
        register(NavItem("risk-concentration", _("Concentration"), "risk-concentration", roles=READ_ALL, order=42))
        register(NavItem("risk-runs", _("Risk runs"), "risk-runs", roles=READ_ALL, order=44))
        register(NavItem("risk-policy", _("Risk policy"), "risk-policy", roles=READ_ALL, group="settings", order=7))
        register(NavItem("risk-webhooks", _("Webhooks"), "risk-webhooks", roles=ADMINS, group="settings", order=25))
        from service import signals as service_signals

        service_signals.need_routed.connect(_need_routed, dispatch_uid="risk.need_routed")
        service_signals.need_changed.connect(_need_changed, dispatch_uid="risk.need_changed")
        from scoring import signals as scoring_signals

        scoring_signals.override_requested.connect(_override_requested, dispatch_uid="risk.override_requested")
        scoring_signals.override_decided.connect(_override_decided, dispatch_uid="risk.override_decided")
        register_topbar_widget(
            TopbarWidget(
                "risk-bell",
                "risk-bell",
                refresh_select="#risk-bell-button,#risk-bell-panel",
                stylesheet="risk/css/alerts.css",
                order=10,
            )
        )

    def tenant_created(self, tenant: Any) -> None:
        from risk.services import risk_policy_seed_default

        risk_policy_seed_default(tenant)

    def load_demo(self, tenant: Any, people: dict[str, Any]) -> None:
        from risk import demo

        demo.load(tenant, people)


# What risk does when the customer service tells of a need (service/signals.py); both are sent
# once the need's transaction has committed.


# The need is saved by then: a failure here is logged rather than turned into an error page.


def _need_routed(sender: Any, *, tenant: Any, need: Any, notify: Any = (), **kwargs: Any) -> None:
    from risk.services import notifications_need_routed

    try:
        notifications_need_routed(tenant, need=need, notify=list(notify or []))
    except Exception:
        logger.exception("the bell of need %s of tenant %s", need.pk, tenant.pk)


def _need_changed(sender: Any, *, tenant: Any, need: Any, **kwargs: Any) -> None:
    from risk.tasks import queue_sla_sweep

    try:
        queue_sla_sweep(tenant)
    except Exception:
        logger.exception("the SLA sweep after need %s of tenant %s", need.pk, tenant.pk)


# The bell of tier requests (scoring/signals.py), sent once the request's transaction committed.


def _override_bell(tenant: Any, request: Any, event: str) -> None:
    from kam.tenancy import tenant_context
    from risk.notifications import notify_override_request

    try:
        with tenant_context(tenant):
            notify_override_request(tenant, request=request, event=event)
    except Exception:
        logger.exception("the bell of tier request %s of tenant %s", request.pk, tenant.pk)


def _override_requested(sender: Any, *, tenant: Any, request: Any, **kwargs: Any) -> None:
    _override_bell(tenant, request, "requested")


def _override_decided(sender: Any, *, tenant: Any, request: Any, **kwargs: Any) -> None:
    _override_bell(tenant, request, "decided")
