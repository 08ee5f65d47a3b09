"""Dedicated service teams (专属服务团队), layered docking (分层对接机制), staffing rules
and account plans (客户计划). DESIGN section 5.

Dates are inclusive days in the tenant's time zone:
- a member is active on D when ``since <= D`` and (``until`` is empty or ``until >= D``);
- a contact is still at the customer on D when ``left_on`` is empty or after D;
- a counterpart link is active on D when ``ended_on`` is empty or after D, and both its
  member and its contact are active on D (applied on read, so a departure shows at once;
  the nightly ``teams.end_stale_links`` then writes ``ended_on`` and keeps the history).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Tier
from kam.models import TenantOwnedModel


class Function(models.TextChoices):
    SALES = "sales", _("Sales")
    TECHNICAL = "technical", _("Technical")
    DELIVERY = "delivery", _("Delivery")
    FINANCE = "finance", _("Finance")
    SERVICE = "service", _("Service")
    EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")


class Level(models.TextChoices):
    """The three layers of the docking matrix; the same keys as a contact's level."""

    OPERATIONAL = "operational", _("Operational level")
    MANAGERIAL = "managerial", _("Managerial level")
    EXECUTIVE = "executive", _("Executive level")


# Top to bottom as the matrix shows them.
LEVELS_TOP_DOWN = [Level.EXECUTIVE, Level.MANAGERIAL, Level.OPERATIONAL]


# The level a function usually works on: the default when a member is added without one.
DEFAULT_LEVEL_BY_FUNCTION = {
    Function.EXECUTIVE_SPONSOR: Level.EXECUTIVE,
    Function.SALES: Level.MANAGERIAL,
    Function.TECHNICAL: Level.MANAGERIAL,
    Function.DELIVERY: Level.OPERATIONAL,
    Function.FINANCE: Level.OPERATIONAL,
    Function.SERVICE: Level.OPERATIONAL,
}


class Strength(models.TextChoices):
    """How the customer sees our person, weakest first."""

    UNKNOWN = "unknown", _("Unknown")
    VENDOR = "vendor", _("Vendor")
    CREDIBLE_SOURCE = "credible_source", _("Credible source")
    PROBLEM_SOLVER = "problem_solver", _("Problem solver")
    TRUSTED_ADVISOR = "trusted_advisor", _("Trusted advisor")


STRENGTH_RANK = {value: rank for rank, value in enumerate(Strength.values)}


class AccountTeam(TenantOwnedModel):
    """The dedicated service team of one account (a "virtual company" service unit)."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="teams",
        verbose_name=_("account"),
        db_constraint=False,
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team lead"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("account team")
        verbose_name_plural = _("account teams")
        ordering = ["account__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account"],
                name="accountteam_one_per_account",
                violation_error_message=_("This account has a team already."),
            )
        ]
        indexes = [models.Index(fields=["tenant", "lead"], name="accountteam_tenant_lead")]

    def __str__(self) -> str:
        return str(_("Team of %(account)s") % {"account": self.account})


class TeamMember(TenantOwnedModel):
    team = models.ForeignKey(
        AccountTeam, on_delete=models.CASCADE, related_name="members", verbose_name=_("team"), db_constraint=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships", verbose_name=_("person")
    )
    function = models.CharField(_("function"), max_length=20, choices=Function.choices)
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    allocation = models.PositiveSmallIntegerField(
        _("allocation %"),
        default=20,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Share of the person's working time given to this account."),
    )
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True, help_text=_("The last day on the team."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        ordering = ["team_id", "function", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(allocation__gte=0) & Q(allocation__lte=100),
                name="teammember_allocation_0_100",
                violation_error_message=_("The allocation lies between 0 and 100 %."),
            ),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=models.F("since")),
                name="teammember_until_after_since",
                violation_error_message=_("The last day cannot be before the first."),
            ),
            models.UniqueConstraint(
                fields=["tenant", "team", "user", "function"],
                condition=Q(until__isnull=True),
                name="teammember_one_open_per_function",
                violation_error_message=_("This person already serves this team in this function."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "team"], name="teammember_tenant_team"),
            models.Index(fields=["tenant", "user"], name="teammember_tenant_user"),
            models.Index(fields=["tenant", "function"], name="teammember_tenant_function"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_function_display()}"


class CounterpartLink(TenantOwnedModel):
    """One of our team members facing one customer contact, with the relationship now and the one aimed at."""

    member = models.ForeignKey(
        TeamMember, on_delete=models.CASCADE, related_name="links", verbose_name=_("team member"), db_constraint=False
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        on_delete=models.CASCADE,
        related_name="counterpart_links",
        verbose_name=_("contact"),
        db_constraint=False,
    )
    strength = models.CharField(
        _("relationship now"), max_length=16, choices=Strength.choices, default=Strength.UNKNOWN
    )
    target_strength = models.CharField(
        _("relationship aimed at"), max_length=16, choices=Strength.choices, default=Strength.TRUSTED_ADVISOR
    )
    started_on = models.DateField(_("since"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("counterpart link")
        verbose_name_plural = _("counterpart links")
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "member", "contact"],
                condition=Q(ended_on__isnull=True),
                name="counterpartlink_one_open_per_pair",
                violation_error_message=_("These two are linked already."),
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="counterpartlink_ends_after_start",
                violation_error_message=_("A link cannot end before it started."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "member"], name="counterpart_tenant_member"),
            models.Index(fields=["tenant", "contact"], name="counterpart_tenant_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} ↔ {self.contact_id}"


class RuleKind(models.TextChoices):
    MEMBER = "member", _("Team member")
    COUNTERPART = "counterpart", _("Counterpart link")


class StaffingRule(TenantOwnedModel):
    """What the team of an account of a tier must have.

    ``member``: at least ``minimum_count`` active members of ``function`` (and ``level``
    when given). ``counterpart``: at least ``minimum_count`` active links to contacts
    still at the customer on ``level`` (of members of ``function`` when given).
    """

    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=RuleKind.choices, default=RuleKind.MEMBER)
    function = models.CharField(
        _("function"), max_length=20, choices=Function.choices, blank=True, help_text=_("Empty: any function.")
    )
    level = models.CharField(
        _("level"), max_length=12, choices=Level.choices, blank=True, help_text=_("Empty: any level.")
    )
    minimum_count = models.PositiveSmallIntegerField(
        pgettext_lazy("staffing rule", "minimum"), default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("staffing rule")
        verbose_name_plural = _("staffing rules")
        ordering = ["tier", "kind", "function", "level", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "tier", "kind", "function", "level"],
                name="staffingrule_unique",
                violation_error_message=_("This tier has this rule already; change its minimum instead."),
            ),
            models.CheckConstraint(
                condition=Q(minimum_count__gte=1) & Q(minimum_count__lte=20),
                name="staffingrule_minimum_1_20",
                violation_error_message=_("The minimum lies between 1 and 20."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="member") | ~Q(function=""),
                name="staffingrule_member_needs_function",
                violation_error_message=_("A member rule names a function."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="counterpart") | ~Q(level=""),
                name="staffingrule_counterpart_needs_level",
                violation_error_message=_("A counterpart rule names a level."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier}: {self.kind} {self.function or '*'}/{self.level or '*'} x{self.minimum_count}"


class AccountPlan(TenantOwnedModel):
    """客户计划: a period's objectives for one account, its initiatives and actions."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="plans",
        verbose_name=_("account"),
        db_constraint=False,
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    objectives = models.TextField(_("objectives"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("account plan")
        verbose_name_plural = _("account plans")
        ordering = ["-period_start", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="accountplan_end_after_start",
                violation_error_message=_("The period cannot end before it starts."),
            )
        ]
        indexes = [models.Index(fields=["tenant", "account", "-period_start"], name="accountplan_tenant_account")]

    def __str__(self) -> str:
        return self.title or f"{self.period_start} – {self.period_end}"


class InitiativeKind(models.TextChoices):
    JOINT_LAB = "joint_lab", _("Joint lab")
    SHARED_DATA_PLATFORM = "shared_data_platform", _("Shared data platform")
    CO_DEVELOPMENT = "co_development", _("Co-development")
    TRAINING = "training", _("Training")
    OTHER = "other", _("Other")


class Initiative(TenantOwnedModel):
    plan = models.ForeignKey(
        AccountPlan, on_delete=models.CASCADE, related_name="initiatives", verbose_name=_("plan"), db_constraint=False
    )
    kind = models.CharField(_("kind"), max_length=24, choices=InitiativeKind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("initiative")
        verbose_name_plural = _("initiatives")
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "plan"], name="initiative_tenant_plan")]

    def __str__(self) -> str:
        return self.title


class ActionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("action status", "Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", pgettext_lazy("action status", "Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = frozenset({ActionStatus.OPEN, ActionStatus.IN_PROGRESS})


class PlanAction(TenantOwnedModel):
    plan = models.ForeignKey(
        AccountPlan, on_delete=models.CASCADE, related_name="actions", verbose_name=_("plan"), db_constraint=False
    )
    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
        verbose_name=_("initiative"),
        db_constraint=False,
    )
    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plan_actions",
        verbose_name=_("owner"),
    )
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("plan action", "action")
        verbose_name_plural = pgettext_lazy("plan action", "actions")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["tenant", "plan", "due_on"], name="planaction_tenant_plan"),
            models.Index(fields=["tenant", "owner", "status", "due_on"], name="planaction_tenant_owner"),
        ]

    def __str__(self) -> str:
        return self.title
