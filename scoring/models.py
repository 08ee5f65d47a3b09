"""Weighted scorecards (加权评分卡) and tiers (客户分级). DESIGN section 4."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Tier
from kam.models import Numeric, Tenant, TenantOwnedModel, TenantRun, TenantStageModel


class ScorecardStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class Scorecard(TenantOwnedModel):
    """One version of the tenant's scorecard. Editing makes a new draft; runs use the active one."""

    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=8, choices=ScorecardStatus.choices, default=ScorecardStatus.DRAFT)
    hysteresis = models.DecimalField(_("hysteresis (points)"), max_digits=5, decimal_places=2, default=Decimal("2"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version"], name="scorecard_unique_tenant_version"),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(status="active"),
                name="scorecard_one_active_per_tenant",
                violation_error_message=_("A workspace has one active scorecard."),
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.get_status_display()})"


class CriterionKind(models.TextChoices):
    METRIC = "metric", _("Quantitative (metric)")
    RATING = "rating", _("Qualitative (rating)")


class Metric(models.TextChoices):
    REVENUE_SHARE = "revenue_share", _("Revenue contribution")
    GROWTH = "growth", _("Purchase growth")
    COOPERATION_YEARS = "cooperation_years", _("Years of cooperation")
    MARGIN = "margin", _("Margin")
    PAYMENT_ON_TIME = "payment_on_time", _("Payments on time")
    REVENUE_12M = "revenue_12m", _("Revenue, last 12 months")
    # growth's denormalised account value (DESIGN section 12); in no default scorecard
    POTENTIAL = "potential", _("Potential, next 12 months")


class Normalization(models.TextChoices):
    LINEAR = "linear", _("Linear between two values")
    PERCENTILE = "percentile", _("Percentile among accounts")
    BANDS = "bands", _("Bands")
    RATING = "rating", _("Rating 1–5")


class Criterion(TenantOwnedModel):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="criteria", db_constraint=False)
    key = models.SlugField(_("key"), max_length=40)
    label_zh = models.CharField(_("label (Chinese)"), max_length=60)
    label_en = models.CharField(_("label (English)"), max_length=60)
    kind = models.CharField(_("kind"), max_length=8, choices=CriterionKind.choices)
    metric = models.CharField(_("metric"), max_length=24, choices=Metric.choices, blank=True)
    normalization = models.CharField(_("normalisation"), max_length=12, choices=Normalization.choices)
    # linear: {"lo": -0.2, "hi": 0.5}; bands: {"bands": [[0, 0], [1, 40], [3, 70], [5, 100]]}
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    missing_value = models.DecimalField(
        _("points when no rating"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scorecard", "key"], name="criterion_unique_key_per_scorecard"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="criterion_weight_not_negative"),
        ]
        indexes = [models.Index(fields=["tenant", "scorecard"], name="criterion_tenant_scorecard")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en


class TierRule(TenantOwnedModel):
    """A tier of a scorecard version: its threshold and optional revenue gate."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="tiers", db_constraint=False)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    threshold = models.DecimalField(_("minimum score"), max_digits=5, decimal_places=2)
    min_revenue_12m = models.DecimalField(
        _("minimum revenue, last 12 months"), max_digits=16, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("tier rule")
        verbose_name_plural = _("tier rules")
        ordering = ["-threshold"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scorecard", "tier"], name="tierrule_unique_tier_per_scorecard")
        ]

    def __str__(self) -> str:
        return f"{self.tier} >= {self.threshold}"


class Rating(TenantOwnedModel):
    """A qualitative rating 1..5 of one criterion for an account; history is kept, the latest counts."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="ratings", db_constraint=False
    )
    criterion = models.SlugField(_("criterion"), max_length=40)
    value = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(_("comment"), blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rated_at = models.DateTimeField(_("rated at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-rated_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(value__gte=1) & Q(value__lte=5), name="rating_value_1_to_5")]
        indexes = [models.Index(fields=["tenant", "account", "criterion", "-rated_at"], name="rating_tenant_latest")]

    def __str__(self) -> str:
        return f"{self.criterion}={self.value}"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Nightly")
    EVENT = "event", _("Event")
    RATING = "rating", _("Rating")
    MANUAL = "manual", _("Manual")
    ORDER = "order", _("Order")
    PREVIEW = "preview", _("What-if preview")


class ScoreRun(TenantRun):
    trigger = models.CharField(_("trigger"), max_length=8, choices=RunTrigger.choices)
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="runs", db_constraint=False)
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Set when only this account was rescored."),
        db_constraint=False,
    )
    accounts_scored = models.PositiveIntegerField(_("accounts scored"), default=0)
    moved_up = models.PositiveIntegerField(_("moved up"), default=0)
    moved_down = models.PositiveIntegerField(_("moved down"), default=0)
    # Pareto (二八定律) over all the tenant's accounts with revenue_12m > 0, for full runs.
    total_revenue_12m = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    pareto_accounts = models.PositiveIntegerField(null=True, blank=True)
    pareto_top_count = models.PositiveIntegerField(null=True, blank=True)
    top20_share = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = _("score run")
        verbose_name_plural = _("score runs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="scorerun_tenant_created")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} {self.as_of}"


class NumericArrayField(models.Field):
    """``numeric[]`` without a type modifier: every element keeps the scale it was computed
    with (a rating 4, a share 0.00047565468661544550, a normalised 75.0000), as the
    breakdown has always shown them. Read as a list of Decimal (or None)."""

    description = "Array of numeric"

    def db_type(self, connection: Any) -> str:
        return "numeric[]"


def _json_number(value: Decimal | None) -> int | float | None:
    """A numeric as JSON had it: a whole number without decimals is an int, anything else a float."""
    if value is None:
        return None
    return int(value) if value.as_tuple().exponent >= 0 else float(value)  # type: ignore[operator]


class TierReason(models.TextChoices):
    """Why a snapshot's computed tier, as the run decided it (DESIGN section 4). A hand-set
    tier is told by the snapshot's override_tier: the reason is the computed tier's."""

    THRESHOLD = "threshold", _("Threshold reached")  # the highest tier whose threshold and gate it passes
    GATE = "gate", _("Held by a revenue gate")  # a higher tier's threshold reached, its revenue gate not
    HYSTERESIS = "hysteresis", _("Kept by the hysteresis")  # the previous, higher tier kept


class AccountScore(TenantOwnedModel):
    """One account's result in one run: the snapshot pages and the API read.

    100,000 of these are written per run of a large tenant, so the row is kept small: the
    breakdown is two arrays rather than a list of JSON objects (a third of the bytes, and
    far cheaper for PostgreSQL to build), and only the indexes reads need exist.
    """

    # No index of their own: (tenant, run, account) and (tenant, account, as_of) serve every
    # read, and each index costs 100,000 entries per run. No foreign key constraints either:
    # their checks, one per row and key at commit, were the largest part of a large run's
    # commit. The one statement that writes snapshots takes the tenant from row-level
    # security, the run from the row it holds locked and the accounts from the accounts
    # table; an account deleted meanwhile waits for the run (accounts.services.account_delete
    # takes the run's lock first) and then takes its snapshots along (a trigger of migration
    # 0002). Django deletes snapshots with their run, account or tenant as before. The
    # tenant key's db_constraint=False says the table has no foreign keys at all (kam/schema.py).
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("tenant"),
        db_index=False,
        db_constraint=False,
    )
    run = models.ForeignKey(
        ScoreRun, on_delete=models.CASCADE, related_name="scores", db_index=False, db_constraint=False
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="scores", db_index=False, db_constraint=False
    )
    as_of = models.DateField(_("as of"))
    revenue_12m = models.DecimalField(max_digits=16, decimal_places=2)
    # revenue_12m in cents (exact: two decimals), for the index a rescore probes: under row-level
    # security a comparison of numeric (not leakproof) cannot bound an index scan, one of bigint can.
    revenue_cents = models.GeneratedField(
        expression=Cast(F("revenue_12m") * 100, models.BigIntegerField()),
        output_field=models.BigIntegerField(),
        db_persist=True,
    )
    base = models.DecimalField(_("base"), max_digits=8, decimal_places=4)
    adjustments = models.DecimalField(_("adjustments"), max_digits=8, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=5, decimal_places=2)
    computed_tier = models.CharField(_("computed tier"), max_length=1, choices=Tier.choices)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    override_tier = models.CharField(_("override"), max_length=1, choices=Tier.choices, blank=True)
    previous_tier = models.CharField(_("previous tier"), max_length=1, choices=Tier.choices, blank=True)
    incomplete = models.BooleanField(_("incomplete"), default=False)
    # The criteria's keys in scorecard order, and per criterion raw, normalised, weight, weighted.
    breakdown_keys = ArrayField(models.CharField(max_length=40), default=list)
    breakdown_values = NumericArrayField(default=list)
    # rank() of revenue_share among the accounts the run scored (1 = the lowest; ties share it),
    # so that one account can later be placed among them without reading every order.
    revenue_rank = models.PositiveIntegerField(null=True, blank=True)
    # Why the computed tier; NULL in snapshots written before runs recorded it (the page then
    # gives no reason). With GATE, the highest tier whose revenue gate held the account below it.
    tier_reason = models.CharField(_("tier reason"), max_length=10, choices=TierReason.choices, null=True, blank=True)
    gated_tier = models.CharField(_("gated tier"), max_length=1, choices=Tier.choices, blank=True)

    class Meta:
        verbose_name = _("account score")
        verbose_name_plural = _("account scores")
        ordering = ["-as_of", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "run", "account"], name="accountscore_unique_run")]
        indexes = [
            models.Index(fields=["tenant", "account", "as_of"], name="accountscore_tenant_account"),
            # a rescore places an account among the basis's snapshots by revenue (scoring/engine.py)
            models.Index(fields=["tenant", "run", "revenue_cents"], name="accountscore_run_revenue"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.total} {self.tier}"

    @property
    def breakdown(self) -> list[dict[str, Any]]:
        """[{"key", "raw", "normalized", "weight", "weighted"}] in scorecard order."""
        values = self.breakdown_values or []
        return [
            {
                "key": key,
                "raw": _json_number(values[4 * i]),
                "normalized": _json_number(values[4 * i + 1]),
                "weight": _json_number(values[4 * i + 2]),
                "weighted": _json_number(values[4 * i + 3]),
            }
            for i, key in enumerate(self.breakdown_keys or [])
        ]


class TierOverride(TenantOwnedModel):
    """等级调整（人工）: a director's tier for an account, with a reason, until it expires or is lifted."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="tier_overrides", db_constraint=False
    )
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    reason = models.TextField(_("reason"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    set_at = models.DateTimeField(_("set at"), auto_now_add=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tier override")
        verbose_name_plural = _("tier overrides")
        ordering = ["-set_at", "-id"]
        indexes = [models.Index(fields=["tenant", "account", "-set_at"], name="tieroverride_tenant_account")]

    def __str__(self) -> str:
        return f"{self.account_id} -> {self.tier}"


class OverrideRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class TierOverrideRequest(TenantOwnedModel):
    """等级调整申请: a manager asks for a tier by hand (tier, reason, optional expiry); a
    director approves (the override is set, naming this request) or rejects, with a comment.
    DESIGN section 14."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="tier_override_requests", db_constraint=False
    )
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    reason = models.TextField(_("reason"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=OverrideRequestStatus.choices, default=OverrideRequestStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    override = models.ForeignKey(
        TierOverride, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests", db_constraint=False
    )

    class Meta:
        verbose_name = _("tier override request")
        verbose_name_plural = _("tier override requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # At most one pending request per account: a second waits until the first is decided.
            models.UniqueConstraint(
                fields=["tenant", "account"],
                condition=Q(status="pending"),
                name="tieroverriderequest_one_pending",
                violation_error_message=_("This account has a pending tier request already."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-requested_at"], name="tieroverriderequest_status"),
            models.Index(fields=["tenant", "account", "-requested_at"], name="tieroverriderequest_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} -> {self.tier} ({self.status})"


class ScoreBasis(TenantOwnedModel):
    """The tenant's latest full run, which a single-account rescore of the same as_of ranks
    against while nothing it read has changed since (see ScoreChange and scoring/engine.py).

    One row per tenant, replaced by every full run in its own transaction.
    """

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    as_of = models.DateField(_("as of"))
    # pg_current_snapshot() of the run's statement, as text: which transactions it saw; and the
    # run's own transaction, which the snapshot shows only up to that statement.
    snapshot = models.TextField()
    xid = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="scorebasis_one_per_tenant")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.as_of}"


class ScoreChange(TenantOwnedModel):
    """What a transaction changed of one account's standing in a score run: its orders (and
    by how much that moved its revenue_12m), or the account added, removed, lost or won back.

    Written by triggers on accounts_order and accounts_account (migration 0009), in the
    writing transaction, one row per transaction and account; read and pruned by score
    runs. A rescore ranks against the basis plus the notes its snapshot did not see:
    ``revenue_delta`` is the change of the account's revenue_12m as of ``as_of``, the
    basis's as_of when the trigger wrote the note (NULL: there was no basis). A note
    with no account (written before migration 0009) or of another as_of than the
    basis's makes the rescore aggregate every order instead.
    """

    xid = models.BigIntegerField()  # pg_current_xact_id()
    account_id = models.BigIntegerField(null=True)
    as_of = models.DateField(null=True)
    revenue_delta = Numeric(default=0)
    # +1: the account became one a run scores (added, won back); -1: it stopped (lost, deleted)
    scored_delta = models.SmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "xid", "account_id"], name="scorechange_unique_xact_account")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.xid} {self.account_id} {self.revenue_delta}"


class ScoreStage(TenantStageModel):
    """A score run's result on its way into AccountScore (kam.models.TenantStageModel):
    the columns of scoring.engine.RESULT_COLUMNS as the run's statement computed them,
    ``row_id`` the snapshot's primary key."""

    account_id = models.BigIntegerField()
    revenue_12m = Numeric(null=True)
    base = Numeric(null=True)
    adjustments = Numeric(null=True)
    total = Numeric(null=True)
    computed_tier = models.TextField(null=True)
    tier = models.TextField(null=True)
    override_tier = models.TextField(null=True)
    previous_tier = models.TextField(null=True)
    incomplete = models.BooleanField(null=True)
    breakdown_keys = ArrayField(models.TextField(), null=True)
    breakdown_values = NumericArrayField(null=True)
    revenue_rank = models.BigIntegerField(null=True)
    tier_reason = models.TextField(null=True)
    gated_tier = models.TextField(null=True)
