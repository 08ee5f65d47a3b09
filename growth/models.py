"""Growth (潜在需求, 解决方案式销售, 成长潜力): our offerings, the customer's buying centres and
their wallet, the whitespace between them, opportunities, share of wallet and potential.
DESIGN section 12.

How an order reaches the whitespace: ``accounts.Order`` names its offering by code
(``Order.offering``) or, when it does not, its ``product_line`` maps to an offering code
through :class:`ProductLineMapping`; it names its buying centre by code
(``Order.buying_centre``) or else counts for the account's primary buying centre. accounts
keeps both as plain codes, since accounts imports no other domain app (DESIGN section 1).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kam.models import TenantOwnedModel

# An offering's and a buying centre's code: what an ERP or a spreadsheet names it by.
CODE_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class Offering(TenantOwnedModel):
    """One entry of our catalogue (产品与解决方案目录)."""

    code = models.CharField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    category = models.CharField(_("category"), max_length=60, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("offering")
        verbose_name_plural = _("offerings")
        ordering = ["position", "code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"],
                name="offering_unique_code",
                violation_error_message=_("An offering with this code exists already."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class ProductLineMapping(TenantOwnedModel):
    """An order's free-text ``product_line`` -> an offering, for orders that name no offering.
    Matching is exact after trimming and case folding (``product_line_key``)."""

    product_line = models.CharField(_("product line"), max_length=100)
    # lower(btrim(product_line)): what orders are matched on
    product_line_key = models.CharField(max_length=100, editable=False)
    offering = models.ForeignKey(
        Offering, on_delete=models.CASCADE, related_name="mappings", verbose_name=_("offering"), db_constraint=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("product line mapping")
        verbose_name_plural = _("product line mappings")
        ordering = ["product_line_key", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "product_line_key"],
                name="productlinemapping_unique_line",
                violation_error_message=_("This product line is mapped already."),
            )
        ]

    def __str__(self) -> str:
        return self.product_line

    def save(self, *args, **kwargs) -> None:
        self.product_line = self.product_line.strip()
        self.product_line_key = self.product_line.casefold()
        super().save(*args, **kwargs)


class BuyingCentreKind(models.TextChoices):
    BUSINESS_UNIT = "business_unit", _("Business unit")
    PLANT = "plant", _("Plant")
    DEPARTMENT = "department", _("Department")


class BuyingCentre(TenantOwnedModel):
    """采购中心: a business unit, plant or department of an account that buys on its own, with
    its decision maker and its estimated annual spend on our categories (its wallet)."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="buying_centres",
        verbose_name=_("account"),
        db_constraint=False,
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(
        _("kind"), max_length=16, choices=BuyingCentreKind.choices, default=BuyingCentreKind.BUSINESS_UNIT
    )
    decision_maker = models.ForeignKey(
        "accounts.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="buying_centres",
        verbose_name=_("decision maker"),
        db_constraint=False,
    )
    annual_spend = models.DecimalField(
        _("estimated annual spend"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("What it spends in a year on the categories we sell (its wallet)."),
    )
    # Orders that name no buying centre count for the account's primary one.
    is_primary = models.BooleanField(_("primary"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    # Denormalised by growth.metrics with the account's figures (nightly, and after a change of
    # the account's centres or opportunities), for the tenant-wide whitespace page: the
    # centre's orders in the last 12 months, and the offerings it bought in the last 24.
    revenue_12m = models.DecimalField(_("revenue, 12 months"), max_digits=16, decimal_places=2, null=True, blank=True)
    bought_offerings = ArrayField(models.BigIntegerField(), null=True, blank=True, editable=False)
    figures_as_of = models.DateField(_("figures as of"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("buying centre")
        verbose_name_plural = _("buying centres")
        ordering = ["-is_primary", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account", "code"],
                name="buyingcentre_unique_code",
                violation_error_message=_("This account has a buying centre with this code already."),
            ),
            models.UniqueConstraint(
                fields=["tenant", "account"],
                condition=Q(is_primary=True),
                name="buyingcentre_one_primary",
                violation_error_message=_("An account has one primary buying centre."),
            ),
            models.CheckConstraint(
                condition=Q(annual_spend__gte=0),
                name="buyingcentre_spend_not_negative",
                violation_error_message=_("The annual spend cannot be negative."),
            ),
        ]
        indexes = [models.Index(fields=["tenant", "account", "name"], name="buyingcentre_tenant_account")]

    def __str__(self) -> str:
        return self.name


class CellStatus(models.TextChoices):
    """A whitespace cell (buying centre x offering), in this order of precedence."""

    BOUGHT = "bought", _("Bought")
    PIPELINE = "pipeline", _("Pipeline")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")
    OPEN = "open", pgettext_lazy("whitespace cell", "Open")


class NotApplicable(TenantOwnedModel):
    """A person's mark that an offering does not apply to a buying centre, with the reason."""

    buying_centre = models.ForeignKey(
        BuyingCentre,
        on_delete=models.CASCADE,
        related_name="not_applicable",
        verbose_name=_("buying centre"),
        db_constraint=False,
    )
    offering = models.ForeignKey(
        Offering, on_delete=models.CASCADE, related_name="+", verbose_name=_("offering"), db_constraint=False
    )
    reason = models.CharField(_("reason"), max_length=300)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    set_at = models.DateTimeField(_("set"), auto_now=True)

    class Meta:
        verbose_name = _("not-applicable mark")
        verbose_name_plural = _("not-applicable marks")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "buying_centre", "offering"],
                name="notapplicable_unique_cell",
                violation_error_message=_("This cell is marked already."),
            )
        ]

    def __str__(self) -> str:
        return self.reason


class Stage(models.TextChoices):
    LEAD = "lead", pgettext_lazy("pipeline stage", "Lead")
    QUALIFIED = "qualified", _("Qualified")
    SOLUTION = "solution", _("Solution")
    PROPOSAL = "proposal", _("Proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


# DESIGN section 12: a stage's probability (%); weighted = amount x probability / 100.
STAGE_PROBABILITY: dict[str, int] = {
    Stage.LEAD: 10,
    Stage.QUALIFIED: 25,
    Stage.SOLUTION: 50,
    Stage.PROPOSAL: 70,
    Stage.NEGOTIATION: 85,
    Stage.WON: 100,
    Stage.LOST: 0,
}
OPEN_STAGES = (Stage.LEAD, Stage.QUALIFIED, Stage.SOLUTION, Stage.PROPOSAL, Stage.NEGOTIATION)
CLOSED_STAGES = (Stage.WON, Stage.LOST)


class Source(models.TextChoices):
    NEED = "need", _("Customer need")
    PLAN = "plan", _("Account plan")
    MANUAL = "manual", _("Manual")


class Opportunity(TenantOwnedModel):
    """商机: a sale we are working on, at one stage of the pipeline."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="opportunities",
        verbose_name=_("account"),
        db_constraint=False,
    )
    buying_centre = models.ForeignKey(
        BuyingCentre,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("buying centre"),
        db_constraint=False,
    )
    offerings = models.ManyToManyField(
        Offering, through="OpportunityOffering", related_name="opportunities", verbose_name=_("offerings")
    )
    title = models.CharField(_("title"), max_length=200)
    amount = models.DecimalField(
        _("amount"), max_digits=16, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    expected_close = models.DateField(_("expected close"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("owner"),
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.MANUAL)
    need = models.ForeignKey(
        "service.Need",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("from need"),
        db_constraint=False,
    )
    initiative = models.ForeignKey(
        "teams.Initiative",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("from initiative"),
        db_constraint=False,
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.LEAD)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    lost_reason = models.CharField(_("reason lost"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Optimistic concurrency, as on accounts: +1 on every save by a service.
    version = models.PositiveIntegerField(_("version"), default=1, db_default=1, editable=False)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["expected_close", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="opportunity_amount_not_negative",
                violation_error_message=_("The amount cannot be negative."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "account", "stage"], name="opportunity_tenant_account"),
            models.Index(fields=["tenant", "stage", "expected_close", "id"], name="opportunity_tenant_stage"),
            models.Index(fields=["tenant", "owner", "stage"], name="opportunity_tenant_owner"),
            # the pipeline table's default order, and the board's sums read from the index alone
            models.Index(fields=["tenant", "expected_close", "id"], name="opportunity_tenant_close"),
            models.Index(fields=["tenant", "stage"], include=["amount"], name="opportunity_stage_amount"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def probability(self) -> int:
        return STAGE_PROBABILITY[self.stage]

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / 100).quantize(Decimal("0.01"))

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class OpportunityOffering(TenantOwnedModel):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        verbose_name = _("offering of an opportunity")
        verbose_name_plural = _("offerings of opportunities")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "opportunity", "offering"], name="opportunityoffering_unique")
        ]
        indexes = [models.Index(fields=["tenant", "offering"], name="opportunityoffering_offering")]
