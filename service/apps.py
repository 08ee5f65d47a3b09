from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "service"
    verbose_name = _("Customer service")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.tabs import AccountTab
        from accounts.tabs import register as register_tab
        from kam.navigation import HomePanel, NavItem, register, register_panel
        from kam.permissions import ADMINS

        # Entries whose URL does not resolve are left out, so these may precede their pages.
        register_tab(AccountTab("needs", _("Needs"), "service-account-tab", order=28))
        register(NavItem("service-needs", _("Needs"), "service-needs", order=38))
        register_panel(HomePanel("my-needs", _("Needs waiting for me"), "service-my-needs", "#my-needs-body"))
        register(
            NavItem("service-rules", _("Need classification"), "service-rules", roles=ADMINS, group="settings", order=8)
        )

    def tenant_created(self, tenant: Any) -> None:
        from service.services import categories_seed_default

        categories_seed_default(tenant)

    def load_demo(self, tenant: Any, people: dict[str, Any]) -> None:
        from service import demo

        demo.load(tenant, people)
