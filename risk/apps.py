from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk control")
    default_auto_field = "django.db.models.BigAutoField"

    def tenant_created(self, tenant: Any) -> None:
        from risk.services import risk_policy_seed_default

        risk_policy_seed_default(tenant)

    def load_demo(self, tenant: Any, people: dict[str, Any]) -> None:
        from risk import demo

        demo.load(tenant, people)
