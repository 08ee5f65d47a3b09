from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import transaction
from django.utils.translation import gettext_lazy as _


class RenewalsConfig(AppConfig):
    name = "renewals"
    verbose_name = _("Renewals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from accounts.models import Contract
        from renewals import registrations

        registrations.register_all()
        # accounts imports no other app: a contract's save reaches renewals by the signal.
        post_save.connect(_contract_saved, sender=Contract, dispatch_uid="renewals.contract_saved")

    def load_demo(self, tenant: Any, people: dict[str, Any]) -> None:
        from renewals import demo

        demo.load(tenant, people)


def _contract_saved(sender: Any, *, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A contract created or changed: open its renewal if its window has come, once committed
    (a rolled-back save opens nothing; a failure is logged, the contract stays saved)."""
    if raw:
        return
    tenant_id, contract_id = instance.tenant_id, instance.pk
    transaction.on_commit(lambda: _open_for_contract(tenant_id, contract_id), robust=True)


def _open_for_contract(tenant_id: int, contract_id: int) -> None:
    from kam.models import Tenant
    from renewals.services import renewals_open

    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return
    renewals_open(tenant, contract_ids=[contract_id])
