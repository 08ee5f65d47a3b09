"""What growth adds to the frames of other apps: account tabs, navigation, settings pages.
Entries whose URL does not resolve are left out, so they may precede their pages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register_all() -> None:
    from accounts.panels import OverviewPanel
    from accounts.panels import register as register_panel
    from accounts.tabs import AccountTab
    from accounts.tabs import register as register_tab
    from growth.selectors import register_order_references
    from kam.navigation import NavItem, register
    from kam.permissions import ADMINS

    register_tab(AccountTab("whitespace", _("Whitespace"), "growth-account-whitespace", order=32))
    register_tab(AccountTab("opportunities", _("Opportunities"), "growth-account-opportunities", order=34))
    register(NavItem("growth-pipeline", _("Pipeline"), "growth-pipeline", order=36))
    register(NavItem("growth-whitespace", _("Whitespace"), "growth-whitespace", order=37))
    register_panel(OverviewPanel("growth-figures", _("Wallet and potential"), "growth-account-figures", order=10))
    register(NavItem("growth-offerings", _("Offerings"), "growth-offerings", roles=ADMINS, group="settings", order=9))
    register_order_references()  # accounts.references: the offering and centre codes of orders
