from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Scoring and tiers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.services import event_recorded_hooks, order_written_hooks
        from accounts.tabs import AccountTab
        from accounts.tabs import register as register_tab
        from kam.navigation import NavItem, register
        from kam.permissions import OVERRIDE_APPROVERS, SCORECARD_EDITORS

        event_recorded_hooks.append(_rescore_after_event)
        order_written_hooks.append(_rescore_after_order)
        register_tab(AccountTab("score", _("Score"), "scoring-account-tab", order=15))
        register(NavItem("tiers", _("Tiers"), "scoring-tiers", order=20))
        register(NavItem("score-runs", _("Score runs"), "scoring-runs", order=25))
        register(
            NavItem(
                "tier-requests", _("Tier requests"), "scoring-override-requests", roles=OVERRIDE_APPROVERS, order=27
            )
        )
        register(
            NavItem(
                "scorecard", _("Scorecard"), "scoring-scorecard", roles=SCORECARD_EDITORS, group="settings", order=5
            )
        )

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


def _rescore_after_order(tenant, account_id) -> None:  # type: ignore[no-untyped-def]
    """An order written one at a time (a page, the API) rescores its account at once; bulk
    writes and imports wait for the nightly run."""
    from scoring.models import RunTrigger
    from scoring.tasks import rescore_account

    rescore_account.delay(tenant.pk, account_id, RunTrigger.ORDER)
