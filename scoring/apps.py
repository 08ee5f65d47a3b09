from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Scoring and tiers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.services import event_recorded_hooks

        event_recorded_hooks.append(_rescore_after_event)

    def tenant_created(self, tenant) -> None:  # type: ignore[no-untyped-def]
        from scoring.services import scorecard_seed_default

        scorecard_seed_default(tenant)

    def load_demo(self, tenant, people) -> None:  # type: ignore[no-untyped-def]
        from scoring import demo

        demo.load(tenant, people)


def _rescore_after_event(tenant, event) -> None:  # type: ignore[no-untyped-def]
    """Recording an event rescores that account at once (DESIGN section 3)."""
    from scoring.tasks import rescore_account

    rescore_account.delay(tenant.pk, event.account_id, "event")
