"""Customer service (客户服务, 智能客服): needs captured from every channel, classified by
keyword rules and a per-tenant text model, routed to the account team and held to an SLA.
DESIGN section 11.

A need without an account came from a sender KAM could not map (an unknown e-mail address,
a bot user without a contact): it waits in the triage queue of the tenant it was addressed
to, never another's. A need without a category waits for a person: the rules found nothing
and the model was not sure enough (confidence below 0.6) or not good enough to be used.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kam.models import TenantOwnedModel


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    WECOM = "wecom", _("WeCom")
    DINGTALK = "dingtalk", _("DingTalk")
    FEISHU = "feishu", _("Feishu")
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    MEETING = "meeting", _("Meeting")


class CategorySource(models.TextChoices):
    RULE = "rule", _("Keyword rule")
    MODEL = "model", _("Text model")
    PERSON = "person", _("Person")


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", pgettext_lazy("priority", "High")
    NORMAL = "normal", pgettext_lazy("priority", "Normal")
    LOW = "low", pgettext_lazy("priority", "Low")


class NeedStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("need status", "New")
    TRIAGED = "triaged", _("Triaged")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for the customer")
    RESOLVED = "resolved", pgettext_lazy("need status", "Resolved")
    CLOSED = "closed", pgettext_lazy("need status", "Closed")


# Statuses in which a need is still someone's work (and its SLA clock runs).
OPEN_STATUSES = (NeedStatus.NEW, NeedStatus.TRIAGED, NeedStatus.IN_PROGRESS, NeedStatus.WAITING_CUSTOMER)

# The moves a person (or an integrator) may make; "reopen" is resolved -> in_progress.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    NeedStatus.NEW: (NeedStatus.TRIAGED, NeedStatus.IN_PROGRESS, NeedStatus.RESOLVED, NeedStatus.CLOSED),
    NeedStatus.TRIAGED: (NeedStatus.IN_PROGRESS, NeedStatus.WAITING_CUSTOMER, NeedStatus.RESOLVED, NeedStatus.CLOSED),
    NeedStatus.IN_PROGRESS: (NeedStatus.WAITING_CUSTOMER, NeedStatus.RESOLVED),
    NeedStatus.WAITING_CUSTOMER: (NeedStatus.IN_PROGRESS, NeedStatus.RESOLVED),
    NeedStatus.RESOLVED: (NeedStatus.CLOSED, NeedStatus.IN_PROGRESS),
    NeedStatus.CLOSED: (),
}


class RouteTo(models.TextChoices):
    """Who a category's needs go to: a team function, or the account owner."""

    SALES = "sales", _("Sales")
    TECHNICAL = "technical", _("Technical")
    DELIVERY = "delivery", _("Delivery")
    FINANCE = "finance", _("Finance")
    SERVICE = "service", _("Service")
    OWNER = "owner", _("Account owner")


class Category(TenantOwnedModel):
    """A need category (seeded per tenant with the eight of DESIGN section 11, editable)."""

    key = models.SlugField(_("key"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    route_to = models.CharField(_("routed to"), max_length=12, choices=RouteTo.choices, default=RouteTo.OWNER)
    tells_director = models.BooleanField(
        _("tell the directors"), default=False, help_text=_("Directors are notified of every need of this category.")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("need category")
        verbose_name_plural = _("need categories")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "key"],
                name="servicecategory_unique_key",
                violation_error_message=_("A category with this key exists already."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class KeywordRule(TenantOwnedModel):
    """A keyword (or phrase) that points a need at a category. Matching is case-insensitive
    on the subject and body; the category with the largest sum of weights wins."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="rules", verbose_name=_("category"), db_constraint=False
    )
    keyword = models.CharField(_("keyword"), max_length=60)
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("keyword rule")
        verbose_name_plural = _("keyword rules")
        ordering = ["category_id", "keyword", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "category", "keyword"],
                name="servicerule_unique_keyword",
                violation_error_message=_("This category has this keyword already."),
            )
        ]

    def __str__(self) -> str:
        return self.keyword


class Need(TenantOwnedModel):
    """客户需求: one question, fault, request or complaint of a customer."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("account"),
        help_text=_("Empty while the sender is not known: the need waits in the triage queue."),
        db_constraint=False,
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("contact"),
        db_constraint=False,
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    sender = models.CharField(
        _("sender"), max_length=254, blank=True, help_text=_("The e-mail address or chat user it came from.")
    )
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    received_at = models.DateTimeField(_("received"))
    external_ref = models.CharField(_("external reference"), max_length=200, null=True, blank=True)
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("category"),
        db_constraint=False,
    )
    category_source = models.CharField(_("classified by"), max_length=8, choices=CategorySource.choices, blank=True)
    confidence = models.DecimalField(_("confidence"), max_digits=5, decimal_places=4, null=True, blank=True)
    # Why the category: {"rule": [keywords...]} or {"model": {"terms": [...], "probability": p}},
    # and what a person did ({"person": ...}); the page shows it.
    classification = models.JSONField(_("classification"), default=dict, blank=True)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=16, choices=NeedStatus.choices, default=NeedStatus.NEW)
    function = models.CharField(_("function"), max_length=12, choices=RouteTo.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("assignee"),
    )
    # The SLA (DESIGN section 11), set when the need is received (from the account's tier and the
    # priority) and again when a person changes the priority.
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    # What went wrong on the way in, kept with the need ("attachment of 31 MB left out", ...).
    problems = models.JSONField(_("problems on capture"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="need_unique_external_ref",
                violation_error_message=_("A need with this external reference exists already."),
            ),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | (Q(satisfaction__gte=1) & Q(satisfaction__lte=5)),
                name="need_satisfaction_1_5",
                violation_error_message=_("Satisfaction is rated from 1 to 5."),
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="need_confidence_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-received_at", "-id"], name="need_tenant_received"),
            models.Index(fields=["tenant", "status", "-received_at"], name="need_tenant_status"),
            models.Index(fields=["tenant", "account", "-received_at"], name="need_tenant_account"),
            models.Index(fields=["tenant", "assignee", "status"], name="need_tenant_assignee"),
            # the SLA sweep: open needs by their next deadline
            models.Index(
                fields=["tenant", "resolution_due_at"],
                condition=Q(status__in=["new", "triaged", "in_progress", "waiting_customer"]),
                name="need_tenant_open_due",
            ),
            # the inbox (open needs by default, newest first) and its counts read only this small
            # index of the open needs: what a page filters on is in it
            models.Index(
                fields=["tenant", "-received_at", "-id"],
                condition=Q(status__in=["new", "triaged", "in_progress", "waiting_customer"]),
                include=[
                    "status",
                    "account",
                    "assignee",
                    "category",
                    "priority",
                    "first_response_at",
                    "first_response_due_at",
                    "resolution_due_at",
                ],
                name="need_tenant_open_inbox",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EntryKind(models.TextChoices):
    MESSAGE = "message", _("Customer message")
    REPLY = "reply", _("Reply")
    NOTE = "note", _("Internal note")
    STATUS = "status", _("Status change")
    ASSIGNMENT = "assignment", _("Reassignment")
    CATEGORY = "category", _("Category change")


class NeedEntry(TenantOwnedModel):
    """One entry of a need's thread: the customer's messages, our replies, internal notes,
    and what people changed (status, assignee, category)."""

    need = models.ForeignKey(
        Need, on_delete=models.CASCADE, related_name="entries", verbose_name=_("need"), db_constraint=False
    )
    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("text"), blank=True)
    # {"from": ..., "to": ...} for changes
    change = models.JSONField(_("change"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("need entry")
        verbose_name_plural = _("need entries")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "need", "created_at"], name="needentry_tenant_need")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.need_id}"


class ClassifierModel(TenantOwnedModel):
    """A tenant's trained text model (TF-IDF over character 1-3-grams and a linear classifier),
    trained on its own confirmed needs only. The latest row is the one in use, and only while
    ``is_used``: its cross-validated accuracy beat the rules' on the same needs."""

    trained_at = models.DateTimeField(_("trained"))
    samples = models.PositiveIntegerField(_("needs trained on"))
    cv_accuracy = models.DecimalField(_("cross-validated accuracy"), max_digits=5, decimal_places=4)
    rules_accuracy = models.DecimalField(_("rules' accuracy"), max_digits=5, decimal_places=4)
    is_used = models.BooleanField(_("in use"), default=False)
    labels = models.JSONField(_("categories"), default=list)
    # per category key: its accuracy, support; and the model's strongest terms
    report = models.JSONField(_("report"), default=dict, blank=True)
    payload = models.BinaryField(_("model"), editable=False)

    class Meta:
        verbose_name = _("classifier model")
        verbose_name_plural = _("classifier models")
        ordering = ["-trained_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-trained_at"], name="classifier_tenant_trained")]

    def __str__(self) -> str:
        return f"{self.trained_at:%Y-%m-%d} {self.cv_accuracy}"


class BotKind(models.TextChoices):
    WECOM = "wecom", _("WeCom")
    DINGTALK = "dingtalk", _("DingTalk")
    FEISHU = "feishu", _("Feishu")


class InboundBot(TenantOwnedModel):
    """A chat bot whose callbacks bring needs in: /hooks/service/<tenant>/<kind>/<id>/.

    What each kind uses (the names its vendor's console gives them):
    - WeCom: ``token`` (Token), ``aes_key`` (EncodingAESKey, 43 characters) and, for an
      application's callback, ``receive_id`` (the CorpID; empty for an intelligent robot);
    - DingTalk: ``secret`` (the robot's AppSecret);
    - Feishu: ``secret`` (Encrypt Key) and ``token`` (Verification Token, optional).
    The values are stored as given, like the other credentials of integrations."""

    kind = models.CharField(_("kind"), max_length=10, choices=BotKind.choices)
    name = models.CharField(_("name"), max_length=100)
    token = models.CharField(_("token"), max_length=100, blank=True)
    secret = models.CharField(_("secret"), max_length=200, blank=True)
    aes_key = models.CharField(_("AES key"), max_length=43, blank=True)
    receive_id = models.CharField(_("receiver id"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("inbound bot")
        verbose_name_plural = _("inbound bots")
        ordering = ["kind", "name", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from service.inbound.bots import missing_settings

        missing = missing_settings(self)
        if missing:
            raise ValidationError(missing)
