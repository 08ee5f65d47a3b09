from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = _("Account teams")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.access import register_served_accounts_provider
        from accounts.tabs import AccountTab
        from accounts.tabs import register as register_tab
        from kam.navigation import HomePanel, NavItem, register, register_panel
        from kam.permissions import READ_ALL, SCORECARD_EDITORS
        from teams.selectors import account_id_list_served

        # Members read, and managers write, the accounts whose team they serve on.
        register_served_accounts_provider(account_id_list_served)
        register_tab(AccountTab("team", _("Team"), "teams-account-tab", order=25))
        register(NavItem("teams", _("Teams"), "teams-overview", order=30))
        register(NavItem("my-actions", pgettext_lazy("plan actions", "My actions"), "teams-my-actions", order=35))
        register_panel(
            HomePanel("my-actions", pgettext_lazy("plan actions", "My actions"), "teams-my-actions", "#my-actions-body")
        )
        register(NavItem("team-people", _("People and allocation"), "teams-people", roles=READ_ALL, order=37))
        register(
            NavItem(
                "staffing-rules", _("Staffing rules"), "teams-rules", roles=SCORECARD_EDITORS, group="settings", order=6
            )
        )

    def tenant_created(self, tenant: Any) -> None:
        from teams.services import staffing_rules_seed_default

        staffing_rules_seed_default(tenant)

    def load_demo(self, tenant: Any, people: dict[str, Any]) -> None:
        from teams import demo

        demo.load(tenant, people)
