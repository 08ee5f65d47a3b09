"""What portfolio adds to the frames of other apps: navigation and a settings page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register_all() -> None:
    from kam.navigation import NavItem, register
    from kam.permissions import ADMINS

    register(NavItem("portfolio", _("Portfolio"), "portfolio-people", order=38))
    register(
        NavItem(
            "portfolio-weights", _("Incentive weights"), "portfolio-weights", roles=ADMINS, group="settings", order=10
        )
    )
