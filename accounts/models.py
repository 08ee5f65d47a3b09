"""Customer enterprises (客户) — not login accounts — and their records. DESIGN section 3.

Rules the database can hold are in the database: amounts > 0, due_on >= issued_on,
external_ref unique per tenant when given, the credit code's format and check
character, and a trigger that refuses a parent from another tenant or a cycle in
the group hierarchy (accounts/migrations/0002_rules.py).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.validators import validate_credit_code
from kam.models import TenantOwnedModel, TenantStageModel

MONEY = {"max_digits": 16, "decimal_places": 2}


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", pgettext_lazy("account status", "Prospect")
    ACTIVE = "active", pgettext_lazy("account status", "Active")
    DORMANT = "dormant", pgettext_lazy("account status", "Dormant")
    LOST = "lost", pgettext_lazy("account status", "Lost")


class Tier(models.TextChoices):
    S = "S", _("S · Strategic")
    A = "A", _("A · Key")
    B = "B", _("B · Priority")
    C = "C", _("C · Standard")


class HealthBand(models.TextChoices):
    GREEN = "green", _("Healthy")
    YELLOW = "yellow", _("Watch")
    RED = "red", _("Warning")


class Account(TenantOwnedModel):
    name = models.CharField(_("name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, validators=[validate_credit_code]
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
        db_constraint=False,
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
    # Denormalised by the apps that compute them (scoring, risk), through accounts.services.
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, blank=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2, null=True, blank=True)
    health_score = models.DecimalField(_("health score"), max_digits=5, decimal_places=2, null=True, blank=True)
    health_band = models.CharField(_("health band"), max_length=8, choices=HealthBand.choices, blank=True)
    # Denormalised by growth (DESIGN section 12): the buying centres' estimated annual spend,
    # revenue_12m / wallet (null without a wallet), and the potential of the next 12 months.
    wallet = models.DecimalField(_("wallet"), **MONEY, null=True, blank=True)
    share_of_wallet = models.DecimalField(_("share of wallet"), max_digits=9, decimal_places=4, null=True, blank=True)
    potential_12m = models.DecimalField(_("potential (12 months)"), **MONEY, null=True, blank=True)
    # Optimistic concurrency: +1 on every save by a service. A form carries the version it
    # was shown with; a save over a newer version is refused (accounts.services), so two
    # people editing the account at once never silently overwrite each other.
    version = models.PositiveIntegerField(_("version"), default=1, db_default=1, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "credit_code"],
                condition=~Q(credit_code=""),
                name="account_unique_tenant_credit_code",
                violation_error_message=_("Another account already has this unified social credit code."),
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")),
                name="account_not_own_parent",
                violation_error_message=_("An account cannot be its own parent."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="account_tenant_status"),
            models.Index(fields=["tenant", "owner"], name="account_tenant_owner"),
            models.Index(fields=["tenant", "parent"], name="account_tenant_parent"),
            models.Index(fields=["tenant", "name"], name="account_tenant_name"),
            # The lists' default order within a tier (the API's ?tier=A walks it page by page).
            models.Index(fields=["tenant", "tier", "name", "id"], name="account_tenant_tier_name"),
            models.Index(fields=["tenant", "health_band"], name="account_tenant_health"),
            models.Index(fields=["tenant", "industry"], name="account_tenant_industry"),
            models.Index(fields=["tenant", "region"], name="account_tenant_region"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactLevel(models.TextChoices):
    OPERATIONAL = "operational", _("Operational")
    MANAGERIAL = "managerial", _("Managerial")
    EXECUTIVE = "executive", _("Executive level")


class BuyingRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")
    TECHNICAL_BUYER = "technical_buyer", _("Technical buyer")


class Attitude(models.TextChoices):
    CHAMPION = "champion", _("Champion")
    SUPPORTER = "supporter", _("Supporter")
    NEUTRAL = "neutral", _("Neutral")
    SKEPTIC = "skeptic", _("Skeptic")
    BLOCKER = "blocker", _("Blocker")


class Contact(TenantOwnedModel):
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("account"), db_constraint=False
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=ContactLevel.choices, default=ContactLevel.OPERATIONAL)
    buying_role = models.CharField(_("buying role"), max_length=16, choices=BuyingRole.choices, default=BuyingRole.USER)
    attitude = models.CharField(_("attitude"), max_length=16, choices=Attitude.choices, default=Attitude.NEUTRAL)
    reports_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("reports to"),
        db_constraint=False,
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    left_on = models.DateField(_("left the company on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reports_to=models.F("id")),
                name="contact_not_own_manager",
                violation_error_message=_("A contact cannot report to themselves."),
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "account"], name="contact_tenant_account"),
            models.Index(fields=["tenant", "level"], name="contact_tenant_level"),
        ]

    def __str__(self) -> str:
        return self.name


class Order(TenantOwnedModel):
    """A purchase record. Re-sending one with the same external_ref changes nothing."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="orders", verbose_name=_("account"), db_constraint=False
    )
    order_date = models.DateField(_("order date"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    cost = models.DecimalField(_("cost"), **MONEY, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))])
    product_line = models.CharField(_("product line"), max_length=100, blank=True)
    # The codes of a growth offering and of a buying centre of the account (DESIGN section 12);
    # plain codes, since accounts imports no other domain app. Empty: the product line's
    # mapping, and the account's primary buying centre.
    offering = models.CharField(_("offering"), max_length=40, blank=True, default="", db_default="")
    buying_centre = models.CharField(_("buying centre"), max_length=40, blank=True, default="", db_default="")
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="order_amount_positive",
                violation_error_message=_("The amount must be greater than zero."),
            ),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gte=0),
                name="order_cost_not_negative",
                violation_error_message=_("The cost cannot be negative."),
            ),
            models.UniqueConstraint(
                fields=["tenant", "external_ref"],
                condition=~Q(external_ref=""),
                name="order_unique_tenant_external_ref",
                violation_error_message=_("An order with this external reference exists already."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "account", "order_date"], name="order_tenant_account_date"),
            models.Index(fields=["tenant", "order_date"], name="order_tenant_date"),
        ]

    def __str__(self) -> str:
        return f"{self.order_date} {self.amount}"


class Invoice(TenantOwnedModel):
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("account"), db_constraint=False
    )
    number = models.CharField(_("number"), max_length=64)
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    paid_amount = models.DecimalField(
        _("paid amount"), **MONEY, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="invoice_amount_positive",
                violation_error_message=_("The amount must be greater than zero."),
            ),
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("issued_on")),
                name="invoice_due_after_issue",
                violation_error_message=_("The due date cannot be before the issue date."),
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__isnull=True) | Q(paid_amount__gte=0),
                name="invoice_paid_not_negative",
                violation_error_message=_("The paid amount cannot be negative."),
            ),
            models.UniqueConstraint(
                fields=["tenant", "number"],
                name="invoice_unique_tenant_number",
                violation_error_message=_("An invoice with this number exists already."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "account", "due_on"], name="invoice_tenant_account_due"),
            models.Index(fields=["tenant", "due_on"], name="invoice_tenant_due"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def balance(self) -> Decimal:
        """What is left to pay: the amount less what was paid (never below zero)."""
        return max(self.amount - (self.paid_amount or Decimal("0")), Decimal("0"))

    def clean(self) -> None:
        # The same rule as the invoice_due_after_issue constraint, named on its field so that
        # forms and the API put the message beside due_on (the constraint is then skipped).
        if self.issued_on and self.due_on and self.due_on < self.issued_on:
            raise ValidationError({"due_on": _("The due date cannot be before the issue date.")})


class Payment(TenantOwnedModel):
    """A payment received against an invoice (回款). The invoice's paid_amount is the sum of
    what was recorded before the first payment and the payments since; once nothing is left
    to pay, its paid_on is the day of the payment that settled it (accounts.services.payment_create)."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="payments", verbose_name=_("invoice"), db_constraint=False
    )
    paid_on = models.DateField(_("paid on"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="payment_amount_positive",
                violation_error_message=_("The amount must be greater than zero."),
            ),
        ]
        indexes = [models.Index(fields=["tenant", "invoice", "paid_on"], name="payment_tenant_invoice")]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.amount}"


class InteractionKind(models.TextChoices):
    MEETING = "meeting", _("Meeting")
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    EMAIL = "email", _("E-mail")
    SERVICE_TICKET = "service_ticket", _("Service ticket")
    COMPLAINT = "complaint", _("Complaint")


class Interaction(TenantOwnedModel):
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="interactions", verbose_name=_("account"), db_constraint=False
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        verbose_name=_("contact"),
        db_constraint=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(_("when"))
    summary = models.TextField(_("summary"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "account", "occurred_at"], name="interaction_tenant_account_at"),
            models.Index(fields=["tenant", "kind", "occurred_at"], name="interaction_tenant_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class EventKind(models.TextChoices):
    MAJOR_INVESTMENT = "major_investment", _("Major investment project")
    EXPANSION = "expansion", _("Expansion")
    BUDGET_CUT = "budget_cut", _("Budget cut")
    COMPETITOR_WIN = "competitor_win", _("Competitor win")
    LEADERSHIP_CHANGE = "leadership_change", _("Leadership change")
    MERGER = "merger", _("Merger")


# DESIGN section 3: (impact points, days active) when not given.
EVENT_DEFAULTS: dict[str, tuple[Decimal, int | None]] = {
    EventKind.MAJOR_INVESTMENT: (Decimal("10"), 180),
    EventKind.EXPANSION: (Decimal("5"), 180),
    EventKind.BUDGET_CUT: (Decimal("-5"), 180),
    EventKind.COMPETITOR_WIN: (Decimal("-10"), 180),
    EventKind.LEADERSHIP_CHANGE: (Decimal("0"), 180),
    EventKind.MERGER: (Decimal("0"), 180),
}
# Kinds that open a review alert (risk) rather than move the score.
REVIEW_EVENT_KINDS = frozenset({EventKind.LEADERSHIP_CHANGE, EventKind.MERGER})


class Event(TenantOwnedModel):
    """A signal that should move the tier now (动态调整)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="events", verbose_name=_("account"), db_constraint=False
    )
    kind = models.CharField(_("kind"), max_length=24, choices=EventKind.choices)
    occurred_on = models.DateField(_("occurred on"))
    impact_points = models.DecimalField(_("impact points"), max_digits=6, decimal_places=2)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-occurred_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("occurred_on")),
                name="event_expires_after_occurring",
                violation_error_message=_("An event must expire after the day it occurred."),
            ),
            models.CheckConstraint(
                condition=Q(impact_points__gte=-100) & Q(impact_points__lte=100),
                name="event_impact_in_range",
                violation_error_message=_("Impact points must lie between -100 and 100."),
            ),
        ]
        indexes = [models.Index(fields=["tenant", "account", "occurred_on"], name="event_tenant_account_on")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"


class IpOwnership(models.TextChoices):
    OURS = "ours", _("Ours")
    CUSTOMER = "customer", _("The customer's")
    JOINT = "joint", _("Joint")
    NONE = "none", _("Not agreed")


# The IP ownerships that protect the supplier's core know-how (DESIGN section 14).
IP_PROTECTING = (IpOwnership.OURS, IpOwnership.JOINT)


def contract_document_path(instance: Contract, filename: str) -> str:
    """contracts/<tenant id>/<random>.<ext>: nothing of the customer's file name reaches the disk."""
    import secrets
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:8]
    return f"contracts/{instance.tenant_id}/{secrets.token_hex(16)}{suffix}"


class Contract(TenantOwnedModel):
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="contracts", verbose_name=_("account"), db_constraint=False
    )
    title = models.CharField(pgettext_lazy("contract", "title"), max_length=200)
    start_on = models.DateField(_("start"))
    end_on = models.DateField(_("end"))
    value = models.DecimalField(_("value"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    notice_days = models.PositiveSmallIntegerField(
        _("notice period (days)"), default=90, validators=[MaxValueValidator(730)]
    )
    # The clause register (DESIGN section 14): who owns the IP the work creates, confidentiality
    # until a date (none: not agreed), exclusivity, non-solicitation and the liability cap.
    ip_ownership = models.CharField(
        _("IP ownership"), max_length=8, choices=IpOwnership.choices, default=IpOwnership.NONE
    )
    confidentiality_until = models.DateField(_("confidential until"), null=True, blank=True)
    exclusivity = models.BooleanField(_("exclusivity"), default=False)
    non_solicit = models.BooleanField(_("non-solicitation"), default=False)
    liability_cap = models.DecimalField(
        _("liability cap"), **MONEY, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    # The signed document, stored under MEDIA_ROOT/contracts/<tenant>/ and served only to the
    # account's readers (accounts/documents.py checks its type by its content).
    document = models.FileField(_("document"), upload_to=contract_document_path, max_length=300, blank=True)
    document_name = models.CharField(_("document name"), max_length=200, blank=True)
    document_size = models.PositiveBigIntegerField(_("document size"), null=True, blank=True)
    document_type = models.CharField(_("document type"), max_length=100, blank=True)
    # The contract this one renews (renewals: signing a renewal creates it from that one's terms).
    renewal_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="renewals",
        verbose_name=_("renews"),
        db_constraint=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-end_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__gte=models.F("start_on")),
                name="contract_end_after_start",
                violation_error_message=_("A contract cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0),
                name="contract_value_not_negative",
                violation_error_message=_("The contract value cannot be negative."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "account", "end_on"], name="contract_tenant_account_end"),
            models.Index(fields=["tenant", "end_on"], name="contract_tenant_end"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        # The contract_end_after_start rule named on end_on, so that the pages and the API put the
        # message beside the field (the constraint is then skipped); and confidentiality, when
        # agreed, runs from the start at the earliest.
        errors = {}
        if self.start_on and self.end_on and self.end_on < self.start_on:
            errors["end_on"] = _("A contract cannot end before it starts.")
        if self.start_on and self.confidentiality_until and self.confidentiality_until < self.start_on:
            errors["confidentiality_until"] = _("Confidentiality cannot end before the contract starts.")
        if errors:
            raise ValidationError(errors)

    def is_active(self, day) -> bool:  # type: ignore[no-untyped-def]
        return self.start_on <= day <= self.end_on

    def ip_protected(self, day) -> bool:  # type: ignore[no-untyped-def]
        """The contract's own clauses protect the IP on ``day``: ownership ours or joint, or
        confidentiality in force (DESIGN section 14)."""
        return self.ip_ownership in IP_PROTECTING or (
            self.confidentiality_until is not None and self.confidentiality_until >= day
        )


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    ORDERS = "orders", _("Orders")
    INVOICES = "invoices", _("Invoices")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    VALIDATING = "validating", _("Checking")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(TenantOwnedModel):
    """One CSV or XLSX import: its file, progress and outcome (per-row errors)."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    file_name = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(max_length=500, blank=True)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="importjob_tenant_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class OrderStage(TenantStageModel):
    """An order import's checked rows on their way into Order (kam.models.TenantStageModel):
    the columns of the import's TEMP table, ``row_id`` the order's primary key should it be new."""

    row_no = models.IntegerField()
    account_id = models.BigIntegerField(null=True)
    order_date = models.DateField(null=True)
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    cost = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    product_line = models.TextField(null=True)
    offering = models.TextField(null=True)
    buying_centre = models.TextField(null=True)
    external_ref = models.TextField(null=True)


class InvoiceStage(TenantStageModel):
    """An invoice import's checked rows on their way into Invoice (kam.models.TenantStageModel)."""

    row_no = models.IntegerField()
    account_id = models.BigIntegerField(null=True)
    number = models.TextField(null=True)
    issued_on = models.DateField(null=True)
    due_on = models.DateField(null=True)
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    paid_on = models.DateField(null=True)
    paid_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True)
