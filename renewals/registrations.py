"""What renewals adds to the frames of other apps: navigation, the account tab and the home panel.
Entries whose URL does not resolve are left out, so they may precede their pages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register_all() -> None:
    from accounts.tabs import AccountTab
    from accounts.tabs import register as register_tab
    from kam.models import Role
    from kam.navigation import HomePanel, NavItem, register, register_panel
    from kam.permissions import WRITERS

    # Everyone: the roles that read every account see all renewals, a member those of their accounts.
    register(NavItem("renewals", _("Renewals"), "renewals", order=39))
    register_tab(AccountTab("renewals", _("Renewals"), "renewals-account-tab", order=62))
    owners = WRITERS | {Role.MEMBER}  # executives own no renewal
    register_panel(HomePanel("my-renewals", _("My renewals"), "renewals-mine", "#my-renewals-body", roles=owners))
