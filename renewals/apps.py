from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RenewalsConfig(AppConfig):
    name = "renewals"
    verbose_name = _("Renewals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from renewals import registrations

        registrations.register_all()

    def load_demo(self, tenant: Any, people: dict[str, Any]) -> None:
        from renewals import demo

        demo.load(tenant, people)
