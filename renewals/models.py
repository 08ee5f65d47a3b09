"""Renewals (续约) of contracts that do not renew themselves. DESIGN section 14.

A renewal opens notice_days + 30 days before its contract ends (renewals.services), moves
through prepare -> proposed -> negotiating -> signed | lost, and, once signed, names the
contract that follows, made from the previous one's terms. While it is neither signed nor
lost after its contract ended, risk raises ``renewal_overdue``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kam.models import TenantOwnedModel

# Days before the notice period at which a renewal opens: notice_days + LEAD_DAYS before the end.
LEAD_DAYS = 30


class RenewalStage(models.TextChoices):
    PREPARE = "prepare", _("Preparing")
    PROPOSED = "proposed", _("Proposed")
    NEGOTIATING = "negotiating", _("Negotiating")
    SIGNED = "signed", _("Signed")
    LOST = "lost", _("Lost")


OPEN_STAGES = (RenewalStage.PREPARE, RenewalStage.PROPOSED, RenewalStage.NEGOTIATING)
CLOSED_STAGES = (RenewalStage.SIGNED, RenewalStage.LOST)
# The stages as pages and messages name them ("Lost" alone means another thing elsewhere: 丢单, 流失).
STAGE_LABELS = {
    RenewalStage.PREPARE: pgettext_lazy("renewal stage", "Preparing"),
    RenewalStage.PROPOSED: pgettext_lazy("renewal stage", "Proposed"),
    RenewalStage.NEGOTIATING: pgettext_lazy("renewal stage", "Negotiating"),
    RenewalStage.SIGNED: pgettext_lazy("renewal stage", "Signed"),
    RenewalStage.LOST: pgettext_lazy("renewal stage", "Lost"),
}


class Renewal(TenantOwnedModel):
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="renewals",
        verbose_name=_("account"),
        db_constraint=False,
    )
    contract = models.ForeignKey(
        "accounts.Contract",
        on_delete=models.CASCADE,
        related_name="renewal_records",
        verbose_name=_("contract"),
        db_constraint=False,
    )
    stage = models.CharField(_("stage"), max_length=12, choices=RenewalStage.choices, default=RenewalStage.PREPARE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    # The day by which the customer must have the proposal: the contract's end less its notice period.
    due_on = models.DateField(_("due on"))
    opened_on = models.DateField(_("opened on"))
    note = models.TextField(_("note"), blank=True)
    lost_reason = models.TextField(_("reason lost"), blank=True)
    next_contract = models.ForeignKey(
        "accounts.Contract",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("next contract"),
        db_constraint=False,
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "contract"],
                name="renewal_unique_contract",
                violation_error_message=_("This contract has a renewal already."),
            ),
            models.CheckConstraint(
                condition=~Q(stage="lost") | ~Q(lost_reason=""),
                name="renewal_lost_has_reason",
                violation_error_message=_("Say why the renewal was lost."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "stage", "due_on"], name="renewal_tenant_stage_due"),
            models.Index(fields=["tenant", "owner", "stage"], name="renewal_tenant_owner_stage"),
            models.Index(fields=["tenant", "account"], name="renewal_tenant_account"),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} ({self.stage})"

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def stage_label(self) -> str:
        return str(STAGE_LABELS.get(self.stage, self.stage))
