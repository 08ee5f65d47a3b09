from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Customer accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import access, selectors
        from kam.api.viewsets import AccountRules, register_account_rules
        from kam.navigation import NavItem, register
        from kam.permissions import WRITERS

        register(NavItem("accounts", _("Accounts"), "accounts-list", order=10))
        register(NavItem("imports", _("Import"), "imports-list", roles=WRITERS, order=90))
        # The API base (kam.api.viewsets) holds session users to these; kam cannot import them.
        register_account_rules(
            AccountRules(readable=access.readable_accounts, can_write=access.can_write, get=selectors.account_get)
        )

    def load_demo(self, tenant, people) -> None:  # type: ignore[no-untyped-def]
        from accounts import demo

        demo.load(tenant, people)
