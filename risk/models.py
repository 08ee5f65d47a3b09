"""Risk control (风险管控): policy, concentration snapshots, health assessments with the
purchase-cycle estimate, alerts, contingency plans, webhooks and in-app notifications.
DESIGN section 6.

The figures are written by set-based SQL (risk/engine.py); these models are what pages,
the API and other apps read.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import HealthBand
from kam.models import DeliveryStatus as DeliveryStatus  # the webhook log's statuses, shared with channels
from kam.models import Numeric, OutboundDelivery, Tenant, TenantOwnedModel, TenantRun, TenantStageModel

MONEY = {"max_digits": 18, "decimal_places": 2}
SHARE = {"max_digits": 9, "decimal_places": 8}
POINTS = {"max_digits": 7, "decimal_places": 4}


class RiskPolicy(TenantOwnedModel):
    """The tenant's warning lines and thresholds (客户集中度预警线 and the alert rules).

    Shares are fractions (0.10 is 10 %). One row per tenant, seeded when the tenant is made.
    """

    single_customer_warning = models.DecimalField(
        _("single customer share: warning"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("1"))],
        help_text=_("A customer group at or above this share of revenue raises a warning (0.10 = 10 %)."),
    )
    single_customer_critical = models.DecimalField(
        _("single customer share: critical"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.20"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("1"))],
    )
    top5_warning = models.DecimalField(
        _("top 5 share: warning"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.50"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
    )
    hhi_warning = models.DecimalField(
        _("HHI: warning"),
        max_digits=7,
        decimal_places=2,
        default=Decimal("1500"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("10000"))],
    )
    hhi_critical = models.DecimalField(
        _("HHI: critical"),
        max_digits=7,
        decimal_places=2,
        default=Decimal("2500"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("10000"))],
    )
    health_drop_points = models.DecimalField(
        _("health drop (points)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("15"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("100"))],
        help_text=_("A fall of at least this many points since the last assessment raises an alert."),
    )
    purchase_overdue_ratio = models.DecimalField(
        _("purchase overdue ratio"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.5"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("10"))],
        help_text=_("Days since the last order over the usual interval above which a purchase is overdue."),
    )
    payment_overdue_days = models.PositiveSmallIntegerField(
        _("payment overdue (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    contract_expiring_days = models.PositiveSmallIntegerField(
        _("contract expiring (days)"), default=90, validators=[MinValueValidator(1), MaxValueValidator(730)]
    )
    recent_days = models.PositiveSmallIntegerField(
        _("recent (days)"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
        help_text=_("How long a key contact's departure or a leadership change or merger asks for attention."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("risk policy")
        verbose_name_plural = _("risk policies")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="riskpolicy_one_per_tenant")]

    def __str__(self) -> str:
        return str(_("Risk policy"))


class RunKind(models.TextChoices):
    FULL = "full", _("Concentration and health")
    CONCENTRATION = "concentration", _("Concentration")
    HEALTH = "health", _("Health")


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Scheduled")
    MANUAL = "manual", _("Manual")


class RiskRun(TenantRun):
    """One execution of the risk jobs (the daily concentration snapshot, the nightly health
    assessment, or both on demand), each followed by alert evaluation."""

    kind = models.CharField(_("kind"), max_length=16, choices=RunKind.choices, default=RunKind.FULL)
    trigger = models.CharField(_("trigger"), max_length=8, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    accounts_assessed = models.PositiveIntegerField(_("accounts assessed"), default=0)
    alerts_opened = models.PositiveIntegerField(_("alerts opened"), default=0)
    alerts_updated = models.PositiveIntegerField(_("alerts updated"), default=0)
    alerts_resolved = models.PositiveIntegerField(_("alerts resolved"), default=0)

    class Meta:
        verbose_name = _("risk run")
        verbose_name_plural = _("risk runs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="riskrun_tenant_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.as_of}"

    @property
    def includes_concentration(self) -> bool:
        return self.kind in (RunKind.FULL, RunKind.CONCENTRATION)

    @property
    def includes_health(self) -> bool:
        return self.kind in (RunKind.FULL, RunKind.HEALTH)


class ConcentrationSnapshot(TenantOwnedModel):
    """Revenue concentration as of a day, over customer groups (the top-most parent and all
    its descendants count as one customer), with the per-account figures beside them.
    One per day: a re-run of the day replaces it."""

    run = models.ForeignKey(
        RiskRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    as_of = models.DateField(_("as of"))
    total_revenue_12m = models.DecimalField(_("total revenue, last 12 months"), **MONEY)
    group_count = models.PositiveIntegerField(_("customer groups with revenue"), default=0)
    top1_share = models.DecimalField(_("largest group's share"), **SHARE)
    top5_share = models.DecimalField(_("top 5 share"), **SHARE)
    top10_share = models.DecimalField(_("top 10 share"), **SHARE)
    hhi = models.DecimalField(_("HHI"), max_digits=12, decimal_places=4)
    # The same figures per account, without the group roll-up.
    account_count = models.PositiveIntegerField(_("accounts with revenue"), default=0)
    account_top1_share = models.DecimalField(**SHARE)
    account_top5_share = models.DecimalField(**SHARE)
    account_top10_share = models.DecimalField(**SHARE)
    account_hhi = models.DecimalField(max_digits=12, decimal_places=4)
    # [{"root", "root_name", "revenue_12m", "share", "accounts": [{"id", "name", "revenue_12m", "share"}]}],
    # the largest groups first (revenue as strings with two decimals, shares 0..1).
    groups = models.JSONField(_("largest groups"), default=list)
    # [{"id", "name", "root", "revenue_12m", "share"}]: the largest accounts, without roll-up.
    accounts = models.JSONField(_("largest accounts"), default=list)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("concentration snapshot")
        verbose_name_plural = _("concentration snapshots")
        ordering = ["-as_of", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "as_of"], name="concentration_one_per_day")]

    def __str__(self) -> str:
        return f"{self.as_of}: HHI {self.hhi}"


class HealthAssessment(TenantOwnedModel):
    """One account's health as of a day (客户健康度评估), with every signal's raw value and
    points, the weights used, the complaint penalty, and the purchase-cycle estimate
    (采购周期预测). One per account and day: a re-run of the day replaces the rows whose
    figures changed (the others keep the run that first wrote them).

    A signal without data has NULL raw value and points, and its weight is not in
    ``weight_total``. Points are kept to four decimals for display; the score was computed
    from the exact values.
    """

    # No column is indexed on its own: reads go by day (tenant, as_of) or by account (the unique
    # index, which leads with tenant and account), and every index costs the nightly INSERT of one
    # row per account. Nor are there foreign keys in the database: their checks took longer than
    # the INSERT itself (1.4 s for 100,000 rows). Deletes still cascade: Django's collector for
    # deletes through the ORM, and a trigger on accounts_account for any other (risk migration
    # 0002); an account delete waits for a running health assessment of its tenant first
    # (accounts.services.account_delete takes its lock). The tenant key's db_constraint=False
    # says the table has no foreign keys at all (kam/schema.py).
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("tenant"),
        db_index=False,
        db_constraint=False,
    )
    run = models.ForeignKey(
        RiskRun, on_delete=models.CASCADE, related_name="assessments", db_index=False, db_constraint=False
    )
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="health_assessments",
        db_index=False,
        db_constraint=False,
    )
    as_of = models.DateField(_("as of"))
    # revenue trend: orders in (D-182, D] against (D-364, D-182]
    revenue_recent_6m = models.DecimalField(_("revenue, last 6 months"), **MONEY, default=Decimal("0"))
    revenue_previous_6m = models.DecimalField(_("revenue, 6 months before"), **MONEY, default=Decimal("0"))
    revenue_trend = models.DecimalField(_("revenue trend"), max_digits=30, decimal_places=6, null=True, blank=True)
    revenue_trend_points = models.DecimalField(**POINTS, null=True, blank=True)
    # purchase rhythm: the median gap between distinct order dates in (D-730, D]
    order_days = models.PositiveIntegerField(_("distinct order dates, last 2 years"), default=0)
    last_order_on = models.DateField(_("last order"), null=True, blank=True)
    purchase_interval_days = models.DecimalField(
        _("usual purchase interval (days)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    purchase_ratio = models.DecimalField(
        _("days since the last order / interval"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    purchase_rhythm_points = models.DecimalField(**POINTS, null=True, blank=True)
    expected_next_purchase = models.DateField(_("expected next purchase"), null=True, blank=True)
    # payment: invoices due in (D-365, D]
    invoices_due = models.PositiveIntegerField(_("invoices due, last 12 months"), default=0)
    mean_overdue_days = models.DecimalField(
        _("mean days overdue"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    payment_points = models.DecimalField(**POINTS, null=True, blank=True)
    # engagement: days since the last interaction on or before D (none ever: 0 points)
    days_since_interaction = models.IntegerField(_("days since the last interaction"), null=True, blank=True)
    engagement_points = models.DecimalField(**POINTS)
    # relationship: levels with an active counterpart link to a contact still there
    relationship_levels = models.PositiveSmallIntegerField(_("levels linked"), default=0)
    relationship_points = models.DecimalField(**POINTS)
    # service (DESIGN section 11): the mean satisfaction of the needs resolved in (D-180, D], and
    # the SLA breaches of the needs due in (D-90, D]; no rated need: no data
    service_satisfaction = models.DecimalField(
        _("mean satisfaction, last 180 days"), max_digits=6, decimal_places=4, null=True, blank=True
    )
    service_breaches = models.PositiveSmallIntegerField(_("SLA breaches, last 90 days"), default=0)
    service_points = models.DecimalField(**POINTS, null=True, blank=True)
    weight_total = models.PositiveSmallIntegerField(_("weights used"))
    complaints = models.PositiveSmallIntegerField(_("complaints, last 90 days"), default=0)
    complaint_penalty = models.DecimalField(_("complaint penalty"), max_digits=5, decimal_places=2)
    score = models.DecimalField(_("health score"), max_digits=5, decimal_places=2)
    band = models.CharField(_("health band"), max_length=8, choices=HealthBand.choices)
    previous_score = models.DecimalField(_("previous score"), max_digits=5, decimal_places=2, null=True, blank=True)
    score_change = models.DecimalField(
        _("change since the last assessment"), max_digits=6, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("health assessment")
        verbose_name_plural = _("health assessments")
        ordering = ["-as_of", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account", "as_of"], name="health_one_per_account_day")
        ]
        indexes = [models.Index(fields=["tenant", "as_of"], name="health_tenant_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.as_of}: {self.score} {self.band}"


# The health signals of DESIGN section 6 (and service, section 11) with their weights, in the
# order pages show them.
SIGNAL_WEIGHTS = {
    "revenue_trend": 25,
    "purchase_rhythm": 25,
    "payment": 20,
    "engagement": 15,
    "relationship": 15,
    "service": 15,
}


class AlertKind(models.TextChoices):
    CONCENTRATION_SINGLE = "concentration_single", _("Single customer concentration")
    CONCENTRATION_TOP5 = "concentration_top5", _("Top 5 concentration")
    CONCENTRATION_HHI = "concentration_hhi", _("Concentration index (HHI)")
    HEALTH_RED = "health_red", _("Health in the red")
    HEALTH_DROP = "health_drop", _("Health dropped")
    PURCHASE_OVERDUE = "purchase_overdue", _("Purchase overdue")
    PAYMENT_OVERDUE = "payment_overdue", _("Payment overdue")
    TEAM_GAP = "team_gap", _("Team gap")
    KEY_CONTACT_LEFT = "key_contact_left", _("Key contact left")
    CONTRACT_EXPIRING = "contract_expiring", _("Contract expiring")
    REVIEW_NEEDED = "review_needed", _("Review needed")
    IP_UNPROTECTED = "ip_unprotected", _("IP unprotected")
    RENEWAL_OVERDUE = "renewal_overdue", _("Renewal overdue")
    SLA_BREACH = "sla_breach", _("SLA breached")
    DIVERSIFICATION_BEHIND = "diversification_behind", _("Diversification behind")


def alert_kind_values() -> list[str]:
    """The alert kinds as the API's schema lists them (kam.settings ENUM_NAME_OVERRIDES: one name,
    AlertKindEnum, for an alert's kind and a contingency plan's trigger kinds)."""
    return list(AlertKind.values)


CONCENTRATION_KINDS = (
    AlertKind.CONCENTRATION_SINGLE,
    AlertKind.CONCENTRATION_TOP5,
    AlertKind.CONCENTRATION_HHI,
    AlertKind.DIVERSIFICATION_BEHIND,
)
# Evaluated by the SLA sweep of the customer service's needs (DESIGN section 11), not by risk runs.
SERVICE_KINDS = (AlertKind.SLA_BREACH,)
# Evaluated after the health assessment.
ACCOUNT_KINDS = tuple(kind for kind in AlertKind if kind not in CONCENTRATION_KINDS + SERVICE_KINDS)


class Severity(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("alert status", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Resolution(models.TextChoices):
    CLEARED = "cleared", _("Condition cleared")
    MANUAL = "manual", _("Resolved by hand")


class RiskAlert(TenantOwnedModel):
    """预警: a risk condition found by a run. At most one open (or acknowledged) alert per
    dedupe key (kind + subject), held by a partial unique index: re-running a job updates
    the open alert instead of opening another, and the next run resolves it when its
    condition has cleared."""

    kind = models.CharField(_("kind"), max_length=24, choices=AlertKind.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.WARNING)
    status = models.CharField(_("status"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="risk_alerts",
        verbose_name=_("account"),
        help_text=_("The subject; empty for a tenant-wide alert (top 5 share, HHI)."),
        db_constraint=False,
    )
    dedupe_key = models.CharField(_("dedupe key"), max_length=200)
    details = models.JSONField(_("details"), default=dict, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="risk_alerts",
        verbose_name=_("assignee"),
    )
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    run = models.ForeignKey(
        RiskRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Last evaluated by."),
        db_constraint=False,
    )
    opened_at = models.DateTimeField(_("opened"))
    updated_at = models.DateTimeField(_("updated"))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(_("resolution"), max_length=8, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(_("resolution note"), blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"],
                condition=~Q(status="resolved"),
                name="riskalert_one_open_per_key",
                violation_error_message=_("An alert for this is open already."),
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "kind"], name="riskalert_tenant_status_kind"),
            models.Index(fields=["tenant", "account", "status"], name="riskalert_tenant_account"),
            models.Index(fields=["tenant", "assignee", "status"], name="riskalert_tenant_assignee"),
            # resolved ones too: a key contact's departure or an event reviewed by hand stays reviewed
            models.Index(fields=["tenant", "dedupe_key"], name="riskalert_tenant_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.dedupe_key})"

    @property
    def is_open(self) -> bool:
        return self.status != AlertStatus.RESOLVED


class ContingencyKind(models.TextChoices):
    ALTERNATIVE_MARKET = "alternative_market", _("Alternative market cultivation plan")
    SUDDEN_LOSS = "sudden_loss", _("Sudden loss contingency plan")


class ContingencyPlan(TenantOwnedModel):
    """替代市场培育计划 / 突发流失应急预案 for an account above a concentration line."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="contingency_plans",
        verbose_name=_("account"),
        db_constraint=False,
    )
    kind = models.CharField(_("kind"), max_length=24, choices=ContingencyKind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contingency_plans",
        verbose_name=_("owner"),
    )
    actions = models.TextField(_("actions"))
    review_on = models.DateField(_("review on"), null=True, blank=True)
    # Contingency plans that act (issue #19): the alert kinds whose opening on the plan's account
    # turns its steps into actions on the account's plan (risk.contingency).
    trigger_kinds = ArrayField(
        models.CharField(max_length=24, choices=AlertKind.choices),
        verbose_name=_("triggered by"),
        default=list,
        blank=True,
    )
    # The review day whose reminder was sent (once per review day; a new day reminds again).
    review_reminded_on = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contingency plan")
        verbose_name_plural = _("contingency plans")
        ordering = ["review_on", "id"]
        indexes = [
            models.Index(fields=["tenant", "account"], name="contingency_tenant_account"),
            models.Index(fields=["tenant", "review_on"], name="contingency_tenant_review"),
        ]

    def __str__(self) -> str:
        return self.title or str(self.get_kind_display())


class ContingencyStep(TenantOwnedModel):
    """One step of a contingency plan's checklist: when the plan is triggered, an action on the
    account's plan (teams) for ``owner``, due ``due_offset_days`` after the alert's day."""

    plan = models.ForeignKey(
        ContingencyPlan, on_delete=models.CASCADE, related_name="steps", verbose_name=_("plan"), db_constraint=False
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("step"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    due_offset_days = models.PositiveSmallIntegerField(
        _("due after (days)"), default=0, validators=[MinValueValidator(0), MaxValueValidator(365)]
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contingency step")
        verbose_name_plural = _("contingency steps")
        ordering = ["plan_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_offset_days__gte=0) & Q(due_offset_days__lte=365),
                name="contingencystep_offset_0_365",
                violation_error_message=_("The due offset lies between 0 and 365 days."),
            )
        ]
        indexes = [models.Index(fields=["tenant", "plan", "position"], name="contingencystep_tenant_plan")]

    def __str__(self) -> str:
        return self.title


class ContingencyActivation(TenantOwnedModel):
    """What a trigger did: the plan's steps became the actions ``action_ids`` (teams.PlanAction)
    on the account's plan when ``alert`` opened. One per plan and alert, so a re-run adds nothing.
    teams does not know risk: the mapping from alert to actions lives here."""

    plan = models.ForeignKey(
        ContingencyPlan,
        on_delete=models.CASCADE,
        related_name="activations",
        verbose_name=_("plan"),
        db_constraint=False,
    )
    alert = models.ForeignKey(
        RiskAlert,
        on_delete=models.CASCADE,
        related_name="contingency_activations",
        verbose_name=_("alert"),
        db_constraint=False,
    )
    action_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    activated_at = models.DateTimeField(_("activated"))

    class Meta:
        verbose_name = _("contingency plan activation")
        verbose_name_plural = _("contingency plan activations")
        ordering = ["-activated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan", "alert"], name="contingencyactivation_once_per_alert")
        ]
        indexes = [models.Index(fields=["tenant", "alert"], name="contingencyact_tenant_alert")]

    def __str__(self) -> str:
        return f"{self.plan_id} ← {self.alert_id}"


class DiversificationLine(models.TextChoices):
    """The concentration snapshot's lines a diversification target can aim at (its columns)."""

    TOP1 = "top1", _("Largest customer's share")
    TOP5 = "top5", _("Top 5 share")
    HHI = "hhi", _("HHI")


class DiversificationTarget(TenantOwnedModel):
    """A target for one concentration line (DESIGN section 13, item 2): the value to reach by a
    date, from the baseline (the latest concentration snapshot when the target was set). The path
    is the straight line between the two; ``diversification_behind`` opens when the actual is worse
    (higher) than the path by more than 10 % of the gap. At most one active target per line."""

    line = models.CharField(_("line"), max_length=8, choices=DiversificationLine.choices)
    target_value = models.DecimalField(
        _("target value"),
        max_digits=12,
        decimal_places=4,
        help_text=_("A share from 0 to 1 for the largest customer and the top 5 (0.15 = 15 %); 0 to 10000 for HHI."),
    )
    target_date = models.DateField(_("target date"))
    baseline_value = models.DecimalField(_("baseline value"), max_digits=12, decimal_places=4)
    baseline_date = models.DateField(_("baseline date"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="diversification_targets",
        verbose_name=_("owner"),
    )
    note = models.TextField(_("note"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("diversification target")
        verbose_name_plural = _("diversification targets")
        ordering = ["line", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "line"],
                condition=Q(is_active=True),
                name="diversification_one_active_per_line",
                violation_error_message=_("This line has an active target already."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_line_display()} → {self.target_value} ({self.target_date})"


class AlternativeMarket(TenantOwnedModel):
    """替代市场培育计划: a segment of the accounts (by industry and/or region, from the account
    records) to grow, with a revenue target over 12 months by a date and an owner. Progress is the
    segment's revenue over the 12 months to a day, from the orders."""

    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    target_revenue_12m = models.DecimalField(
        _("target revenue, 12 months"), **MONEY, validators=[MinValueValidator(Decimal("0"))]
    )
    target_date = models.DateField(_("target date"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alternative_markets",
        verbose_name=_("owner"),
    )
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("alternative market")
        verbose_name_plural = _("alternative markets")
        ordering = ["target_date", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(industry="") & Q(region="")),
                name="alternativemarket_has_segment",
                violation_error_message=_("Name an industry, a region or both."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class WebhookEvent(models.TextChoices):
    ALERT_OPENED = "alert.opened", _("Alert opened")
    ALERT_ESCALATED = "alert.escalated", _("Alert escalated")
    ALERT_ACKNOWLEDGED = "alert.acknowledged", _("Alert acknowledged")
    ALERT_RESOLVED = "alert.resolved", _("Alert resolved")
    RISK_RUN_DONE = "risk_run.done", _("Risk run done")
    RISK_RUN_FAILED = "risk_run.failed", _("Risk run failed")


# Sent by "send test" whatever the endpoint's choice of events.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(TenantOwnedModel):
    """An integrator's URL that receives the events it chose, as signed JSON POSTs.

    The secret signs every delivery (HMAC-SHA256); it is shown once when the endpoint is
    made or its secret rotated, and never again through the API.
    """

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list, help_text=_("The events to send, e.g. alert.opened."))
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_tenant_active")]

    def __str__(self) -> str:
        return self.url

    @property
    def secret_hint(self) -> str:
        return f"{self.secret[:10]}…" if self.secret else ""


class WebhookDelivery(OutboundDelivery):
    """One event for one endpoint, and the outcome of its attempts (the delivery log)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False
    )
    event = models.CharField(_("event"), max_length=32)
    event_id = models.UUIDField(_("event id"), help_text=_("Sent as X-KAM-Delivery; the same on every attempt."))
    payload = models.JSONField(_("payload"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "next_attempt_at"], name="delivery_tenant_due"),
            models.Index(fields=["tenant", "endpoint", "-created_at"], name="delivery_tenant_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class Notification(TenantOwnedModel):
    """An in-app notification (the bell) for one user in one tenant."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32)
    alert = models.ForeignKey(
        RiskAlert, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_constraint=False
    )
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "user", "read_at"], name="notification_tenant_unread"),
            models.Index(fields=["tenant", "user", "-created_at"], name="notification_tenant_user"),
        ]

    def __str__(self) -> str:
        return self.title


class HealthStage(TenantStageModel):
    """A health assessment's result on its way into HealthAssessment
    (kam.models.TenantStageModel): the columns of risk.engine.HEALTH_COLUMNS as the
    statement computed them, ``row_id`` the assessment's primary key should it be new."""

    account_id = models.BigIntegerField()
    revenue_recent_6m = Numeric(null=True)
    revenue_previous_6m = Numeric(null=True)
    revenue_trend = Numeric(null=True)
    revenue_trend_points = Numeric(null=True)
    order_days = models.BigIntegerField(null=True)
    last_order_on = models.DateField(null=True)
    purchase_interval_days = Numeric(null=True)
    purchase_ratio = Numeric(null=True)
    purchase_rhythm_points = Numeric(null=True)
    expected_next_purchase = models.DateField(null=True)
    invoices_due = models.BigIntegerField(null=True)
    mean_overdue_days = Numeric(null=True)
    payment_points = Numeric(null=True)
    days_since_interaction = models.IntegerField(null=True)
    engagement_points = Numeric(null=True)
    relationship_levels = models.BigIntegerField(null=True)
    relationship_points = Numeric(null=True)
    service_satisfaction = Numeric(null=True)
    service_breaches = models.BigIntegerField(null=True)
    service_points = Numeric(null=True)
    weight_total = models.IntegerField(null=True)
    complaints = models.BigIntegerField(null=True)
    complaint_penalty = models.BigIntegerField(null=True)
    score = Numeric(null=True)
    band = models.TextField(null=True)
    previous_score = Numeric(null=True)
    score_change = Numeric(null=True)


class AlertStage(TenantStageModel):
    """An alert evaluation's candidates on their way to RiskAlert (kam.models.TenantStageModel):
    risk.engine.ALERT_COLUMNS, ``row_id`` the alert's primary key should it be opened."""

    kind = models.TextField()
    dedupe_key = models.TextField()
    account_id = models.BigIntegerField(null=True)
    severity = models.TextField()
    details = models.JSONField()
