"""Customer enterprises (客户) — not login accounts. DESIGN section 3.

The foundation carries the Account itself so that demo data, the tenant context and
row-level security have a real table to stand on; its pages, contacts, orders and the
rest arrive with the Accounts issue.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.models import TenantOwnedModel


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    LOST = "lost", _("Lost")


class Account(TenantOwnedModel):
    name = models.CharField(_("name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_accounts",
        verbose_name=_("owner"),
    )
    status = models.CharField(_("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    cooperation_since = models.DateField(_("cooperating since"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "credit_code"],
                condition=~models.Q(credit_code=""),
                name="account_unique_tenant_credit_code",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="account_tenant_status"),
            models.Index(fields=["tenant", "owner"], name="account_tenant_owner"),
            models.Index(fields=["tenant", "parent"], name="account_tenant_parent"),
            models.Index(fields=["tenant", "name"], name="account_tenant_name"),
        ]

    def __str__(self) -> str:
        return self.name
