from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Channels")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging import registrations

        registrations.register_all()

    def load_demo(self, tenant: Any, people: dict[str, Any]) -> None:
        from messaging import demo

        demo.load(tenant, people)
