from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    """Executive and account manager dashboards: they read snapshots and current values
    written by accounts, scoring, teams and risk, and own no tables."""

    name = "dashboards"
    verbose_name = _("Dashboards")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kam.homes import register_home
        from kam.models import Role
        from kam.navigation import NavItem, register
        from kam.permissions import READ_ALL

        # Directors and executives land on the executive dashboard, account managers and
        # team members on their own; administrators keep the panel home.
        executive_home = {Role.DIRECTOR, Role.EXECUTIVE}
        register_home("dashboards-executive", executive_home)
        register_home("dashboards-mine", {Role.MANAGER, Role.MEMBER})
        # For the roles whose Home it is, a "Dashboard" entry would be a second link to the same page.
        register(NavItem("dashboard", _("Dashboard"), "dashboards-executive", roles=READ_ALL - executive_home, order=5))
