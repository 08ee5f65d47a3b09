from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class KamConfig(AppConfig):
    name = "kam"
    verbose_name = _("KAM platform")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kam import checks, rls  # noqa: F401  (checks registers itself)
        from kam.api import schema  # noqa: F401  (OpenAPI extensions register themselves)

        post_migrate.connect(rls.apply_after_migrate, dispatch_uid="kam.rls.apply_after_migrate")

        from kam.navigation import NavItem, register
        from kam.permissions import ADMINS

        register(NavItem("home", _("Home"), "tenant-home", order=0))
        register(NavItem("members", _("Members"), "settings-members", roles=ADMINS, group="settings", order=10))
        register(NavItem("tokens", _("API tokens"), "settings-tokens", roles=ADMINS, group="settings", order=20))
        register(
            NavItem("schedule", _("Nightly schedule"), "settings-schedule", roles=ADMINS, group="settings", order=25)
        )
        register(NavItem("audit", _("Audit log"), "settings-audit", roles=ADMINS, group="settings", order=30))
