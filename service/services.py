"""Writes of service: categories and rules, needs (capture, classification, routing, SLA),
their thread and status. Every function takes the tenant first and runs in its context.

The SLA (DESIGN section 11), in calendar hours from ``received_at``, per the account's tier
(first response / resolution): S 2/24, A 4/48, B 8/72, C 24/120; ``urgent`` halves both,
``low`` doubles both. A need without an account (triage) is held to the C figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Contact
from kam import audit
from kam.models import Membership, Role, Tenant, User
from kam.records import UNSET, check_same_tenant, create_record, delete_record, given, update_record
from kam.tenancy import tenant_service
from service import defaults, signals
from service.classify import Classification, classify
from service.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    Category,
    CategorySource,
    Channel,
    EntryKind,
    KeywordRule,
    Need,
    NeedEntry,
    NeedStatus,
    Priority,
    RouteTo,
)

# hours: tier -> (first response, resolution)
SLA_HOURS = {"S": (2, 24), "A": (4, 48), "B": (8, 72), "C": (24, 120)}
PRIORITY_FACTOR = {Priority.URGENT: 0.5, Priority.HIGH: 1.0, Priority.NORMAL: 1.0, Priority.LOW: 2.0}

MAX_SUBJECT = 300
MAX_BODY = 100_000


def sla_due(tier: str | None, priority: str, received_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    first, resolution = SLA_HOURS.get(tier or "C", SLA_HOURS["C"])
    factor = PRIORITY_FACTOR.get(priority, 1.0)
    return (
        received_at + dt.timedelta(hours=first * factor),
        received_at + dt.timedelta(hours=resolution * factor),
    )


# --- categories and rules ------------------------------------------------------------------------


@tenant_service
def categories_seed_default(tenant: Tenant) -> None:
    """The eight categories and their keyword rules, where missing (idempotent)."""
    existing = set(Category.objects.values_list("key", flat=True))
    for position, (key, zh, en, route_to, tells) in enumerate(defaults.CATEGORIES):
        if key in existing:
            continue
        category = Category.objects.create(
            tenant=tenant, key=key, name_zh=zh, name_en=en, route_to=route_to, tells_director=tells, position=position
        )
        KeywordRule.objects.bulk_create(
            [
                KeywordRule(tenant=tenant, category=category, keyword=keyword, weight=weight)
                for keyword, weight in defaults.RULES.get(key, [])
            ]
        )


def _rule_keyword(keyword: str) -> str:
    keyword = " ".join(_clean_text(keyword, 200).split())
    if not keyword:
        raise ValidationError({"keyword": _("Enter a keyword or a phrase.")})
    if len(keyword) > 60:
        raise ValidationError({"keyword": _("A keyword has at most 60 characters.")})
    return keyword


def _rule_weight(weight: Any) -> int:
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 10:
        raise ValidationError({"weight": _("The weight is a whole number from 1 to 10.")})
    return weight


@tenant_service
def category_update(
    tenant: Tenant,
    *,
    category: Category,
    name_zh: str = UNSET,
    name_en: str = UNSET,
    route_to: str = UNSET,
    tells_director: bool = UNSET,
    is_active: bool = UNSET,
    position: int = UNSET,
    actor: Any = None,
) -> Category:
    """Rename, reroute, (de)activate or move a category; its key stays (the model's labels)."""
    changes = given(
        name_zh=name_zh,
        name_en=name_en,
        route_to=route_to,
        tells_director=tells_director,
        is_active=is_active,
        position=position,
    )
    for name in ("name_zh", "name_en"):
        if name in changes:
            changes[name] = " ".join(_clean_text(changes[name], 200).split())
            if not changes[name]:
                raise ValidationError({name: _("Give the category a name.")})
    if "route_to" in changes and changes["route_to"] not in RouteTo.values:
        raise ValidationError({"route_to": _("Choose whom the category's needs go to.")})
    return update_record(tenant, category, changes, actor=actor)


@tenant_service
def keyword_rule_create(
    tenant: Tenant, *, category: Category, keyword: str, weight: int = 1, actor: Any = None
) -> KeywordRule:
    """A keyword (or phrase) for a category; matching ignores case, so "Invoice" and "invoice"
    are the same keyword."""
    check_same_tenant(tenant, category=category)
    keyword = _rule_keyword(keyword)
    weight = _rule_weight(weight)
    if KeywordRule.objects.filter(category=category, keyword__iexact=keyword).exists():
        raise ValidationError({"keyword": _("This category has this keyword already.")})
    data = {"category": category, "keyword": keyword, "weight": weight}
    return create_record(
        tenant,
        KeywordRule,
        data,
        actor=actor,
        database_message=lambda exc: _("This category has this keyword already."),
    )


@tenant_service
def keyword_rule_update(
    tenant: Tenant, *, rule: KeywordRule, weight: int = UNSET, is_active: bool = UNSET, actor: Any = None
) -> KeywordRule:
    """A keyword's weight, or (de)activating it: an inactive keyword no longer classifies."""
    changes = given(weight=weight, is_active=is_active)
    if "weight" in changes:
        changes["weight"] = _rule_weight(changes["weight"])
    return update_record(tenant, rule, changes, actor=actor)


@tenant_service
def keyword_rule_delete(tenant: Tenant, *, rule: KeywordRule, actor: Any = None) -> None:
    delete_record(tenant, rule, actor=actor)


@tenant_service
def classifier_training_queue(tenant: Tenant, *, actor: Any = None) -> None:
    """Train the tenant's text model now rather than at night ("service.train_models", queued
    when this transaction commits)."""

    def send() -> None:
        try:
            from service.tasks import train_models
        except ImportError:
            from kam.celery import app

            app.send_task("service.train_models", args=[tenant.pk])
        else:
            train_models.delay(tenant.pk)

    transaction.on_commit(send)


# --- routing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    function: str
    assignee: User | None
    notify: list[User]


def route(tenant: Tenant, account: Account | None, category: Category | None) -> Route:
    """category -> function -> the account team's member of that function with the fewest open
    needs (then the lowest id), else the account owner. Complaints (a category that tells the
    directors) also name the tenant's active directors."""
    from teams.models import TeamMember

    function = category.route_to if category else RouteTo.OWNER
    notify: list[User] = []
    if category and category.tells_director:
        notify = list(
            User.objects.filter(
                memberships__tenant=tenant, memberships__role=Role.DIRECTOR, memberships__is_active=True, is_active=True
            ).order_by("id")
        )
    if account is None:
        return Route(function, None, notify)
    assignee = None
    if function != RouteTo.OWNER:
        today = timezone.localdate()
        members = (
            TeamMember.objects.filter(team__account=account, function=function, since__lte=today, user__is_active=True)
            .filter(Q(until__isnull=True) | Q(until__gte=today))
            .values_list("user_id", flat=True)
        )
        user_ids = list(dict.fromkeys(members))
        if user_ids:
            load = dict(
                Need.objects.filter(assignee_id__in=user_ids, status__in=OPEN_STATUSES)
                .values("assignee_id")
                .annotate(n=Count("id"))
                .values_list("assignee_id", "n")
            )
            chosen = min(user_ids, key=lambda uid: (load.get(uid, 0), uid))
            assignee = User.objects.get(pk=chosen)
    if assignee is None and account.owner_id:
        assignee = account.owner
    return Route(function, assignee, notify)


# --- capture -------------------------------------------------------------------------------------


def _clean_text(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text.replace("\x00", "")[:limit]


@tenant_service
def need_create(
    tenant: Tenant,
    *,
    subject: str,
    body: str = "",
    channel: str = Channel.PORTAL,
    account: Account | None = None,
    contact: Contact | None = None,
    sender: str = "",
    received_at: dt.datetime | None = None,
    priority: str = Priority.NORMAL,
    category: Category | None = None,
    external_ref: str | None = None,
    problems: list[str] | None = None,
    actor: Any = None,
) -> tuple[Need, bool]:
    """A need received: classified (unless a person gave its category), routed, its SLA set, its
    first message in the thread. Idempotent by ``external_ref``: the same reference again
    returns the need it made (``created`` False) and changes nothing."""
    if not Category.objects.exists():  # a tenant made before the service app
        categories_seed_default(tenant)
    if external_ref:
        found = Need.objects.filter(external_ref=external_ref).first()
        if found is not None:
            return found, False
    if contact is not None and account is None:
        account = contact.account
    if contact is not None and account is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("This contact belongs to another account.")})
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if priority not in Priority.values:
        raise ValidationError({"priority": _("Unknown priority.")})
    subject = _clean_text(subject, MAX_SUBJECT).strip()
    body = _clean_text(body, MAX_BODY)
    if not subject and not body.strip():
        raise ValidationError({"subject": _("A need needs a subject or a text.")})
    if not subject:
        subject = body.strip().splitlines()[0][:MAX_SUBJECT]
    received_at = received_at or timezone.now()
    if category is not None:
        found_class = Classification(category.key, CategorySource.PERSON, None, {"person": True})
    else:
        found_class = classify(tenant, subject, body)
        category = Category.objects.filter(key=found_class.category_key).first() if found_class.category_key else None
    routed = route(tenant, account, category)
    first_due, resolution_due = sla_due(account.tier if account else None, priority, received_at)
    need = Need(
        tenant=tenant,
        account=account,
        contact=contact,
        channel=channel,
        sender=_clean_text(sender, 254),
        subject=subject,
        body=body,
        received_at=received_at,
        external_ref=external_ref or None,
        category=category,
        category_source=found_class.source if category else "",
        confidence=found_class.confidence if category else None,
        classification=found_class.reason,
        priority=priority,
        status=NeedStatus.TRIAGED if category and account and routed.assignee else NeedStatus.NEW,
        function=routed.function if category else "",
        assignee=routed.assignee if category else None,
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
        problems=list(problems or []),
        created_by=actor if isinstance(actor, User) else None,
    )
    try:
        with transaction.atomic():
            need.save()
    except IntegrityError:
        # the same external_ref written at the same moment by another request: that one stands
        if external_ref:
            return Need.objects.get(external_ref=external_ref), False
        raise
    NeedEntry.objects.create(tenant=tenant, need=need, kind=EntryKind.MESSAGE, body=body, author=None)
    audit.record_create(tenant=tenant, instance=need, actor=actor)
    if need.assignee_id or routed.notify:
        transaction.on_commit(
            lambda: signals.need_routed.send(sender=Need, tenant=tenant, need=need, notify=routed.notify)
        )
    return need, True


# --- people working a need -----------------------------------------------------------------------


def _entry(tenant: Tenant, need: Need, kind: str, actor: Any, body: str = "", change: dict | None = None) -> NeedEntry:
    return NeedEntry.objects.create(
        tenant=tenant,
        need=need,
        kind=kind,
        author=actor if isinstance(actor, User) else None,
        body=body,
        change=change or {},
    )


def _changed(tenant: Tenant, need: Need) -> None:
    transaction.on_commit(lambda: signals.need_changed.send(sender=Need, tenant=tenant, need=need))


@tenant_service
def need_set_status(
    tenant: Tenant, *, need: Need, status: str, actor: Any = None, note: str = "", satisfaction: int | None = None
) -> Need:
    """Move a need along its statuses (TRANSITIONS); resolving may carry the customer's rating."""
    need = Need.objects.select_for_update().get(pk=need.pk)
    if status not in NeedStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    if status == need.status:
        return need
    if status not in TRANSITIONS[need.status]:
        raise ValidationError(
            {
                "status": _("A need that is %(from)s cannot become %(to)s.")
                % {"from": NeedStatus(need.status).label, "to": NeedStatus(status).label}
            }
        )
    if satisfaction is not None and status != NeedStatus.RESOLVED:
        raise ValidationError({"satisfaction": _("Satisfaction is asked on resolution.")})
    if satisfaction is not None and not 1 <= int(satisfaction) <= 5:
        raise ValidationError({"satisfaction": _("Satisfaction is rated from 1 to 5.")})
    if status in (NeedStatus.TRIAGED, NeedStatus.IN_PROGRESS) and need.account_id is None:
        raise ValidationError({"account": _("Set the account first: the sender is not known.")})
    now = timezone.now()
    before = need.status
    need.status = status
    fields = ["status", "updated_at"]
    if status == NeedStatus.RESOLVED:
        need.resolved_at = now
        need.satisfaction = satisfaction
        fields += ["resolved_at", "satisfaction"]
    elif status == NeedStatus.CLOSED:
        need.closed_at = now
        fields.append("closed_at")
        if need.resolved_at is None:
            need.resolved_at = now
            fields.append("resolved_at")
    elif before == NeedStatus.RESOLVED:  # reopened
        need.resolved_at = None
        need.satisfaction = None
        fields += ["resolved_at", "satisfaction"]
    need.save(update_fields=fields)
    _entry(tenant, need, EntryKind.STATUS, actor, note, {"from": before, "to": status})
    audit.record(tenant=tenant, action="update", instance=need, changes={"status": [before, status]}, actor=actor)
    _changed(tenant, need)
    return need


@tenant_service
def need_rate(tenant: Tenant, *, need: Need, satisfaction: int, actor: Any = None) -> Need:
    """The customer's rating of a resolved need, 1..5."""
    if need.status not in (NeedStatus.RESOLVED, NeedStatus.CLOSED):
        raise ValidationError({"satisfaction": _("Only a resolved need is rated.")})
    if not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
        raise ValidationError({"satisfaction": _("Satisfaction is rated from 1 to 5.")})
    before = need.satisfaction
    need.satisfaction = satisfaction
    need.save(update_fields=["satisfaction", "updated_at"])
    audit.record(
        tenant=tenant, action="update", instance=need, changes={"satisfaction": [before, satisfaction]}, actor=actor
    )
    return need


@tenant_service
def need_reply(tenant: Tenant, *, need: Need, body: str, actor: Any = None, internal: bool = False) -> NeedEntry:
    """A reply to the customer (the first one stops the first-response clock) or an internal note."""
    body = _clean_text(body, MAX_BODY).strip()
    if not body:
        raise ValidationError({"body": _("Write something first.")})
    if need.status == NeedStatus.CLOSED and not internal:
        raise ValidationError({"body": _("This need is closed: it takes internal notes only.")})
    entry = _entry(tenant, need, EntryKind.NOTE if internal else EntryKind.REPLY, actor, body)
    if not internal and need.first_response_at is None:
        need.first_response_at = entry.created_at
        fields = ["first_response_at", "updated_at"]
        if need.status in (NeedStatus.NEW, NeedStatus.TRIAGED) and need.account_id is not None:
            need.status = NeedStatus.IN_PROGRESS
            fields.append("status")
        need.save(update_fields=fields)
        _changed(tenant, need)
    return entry


@tenant_service
def need_assign(tenant: Tenant, *, need: Need, assignee: User | None, actor: Any = None, note: str = "") -> Need:
    """Give the need to a member of the tenant (or to nobody)."""
    if assignee is not None and not Membership.objects.filter(tenant=tenant, user=assignee, is_active=True).exists():
        raise ValidationError({"assignee": _("This person is not a member of this workspace.")})
    before = need.assignee_id
    if before == (assignee.pk if assignee else None):
        return need
    need.assignee = assignee
    need.save(update_fields=["assignee", "updated_at"])
    _entry(
        tenant,
        need,
        EntryKind.ASSIGNMENT,
        actor,
        note,
        {"from": before, "to": assignee.pk if assignee else None},
    )
    audit.record(
        tenant=tenant, action="update", instance=need, changes={"assignee": [before, need.assignee_id]}, actor=actor
    )
    if assignee is not None:
        transaction.on_commit(lambda: signals.need_routed.send(sender=Need, tenant=tenant, need=need, notify=[]))
    return need


@tenant_service
def need_set_category(
    tenant: Tenant, *, need: Need, category: Category, actor: Any = None, reroute: bool = True
) -> Need:
    """A person sets or corrects the category (the model's training data); routes the need anew
    when it had no assignee yet or ``reroute``."""
    before = need.category.key if need.category_id else None
    need.category = category
    need.category_source = CategorySource.PERSON
    need.confidence = None
    need.classification = {**(need.classification or {}), "person": {"from": before, "to": category.key}}
    fields = ["category", "category_source", "confidence", "classification", "updated_at"]
    if reroute or need.assignee_id is None:
        routed = route(tenant, need.account, category)
        need.function = routed.function
        need.assignee = routed.assignee or need.assignee
        fields += ["function", "assignee"]
        if need.status == NeedStatus.NEW and need.account_id and need.assignee_id:
            need.status = NeedStatus.TRIAGED
            fields.append("status")
        if routed.notify or routed.assignee:
            transaction.on_commit(
                lambda: signals.need_routed.send(sender=Need, tenant=tenant, need=need, notify=routed.notify)
            )
    need.save(update_fields=fields)
    _entry(tenant, need, EntryKind.CATEGORY, actor, "", {"from": before, "to": category.key})
    audit.record(
        tenant=tenant, action="update", instance=need, changes={"category": [before, category.key]}, actor=actor
    )
    return need


@tenant_service
def need_set_account(
    tenant: Tenant, *, need: Need, account: Account, contact: Contact | None = None, actor: Any = None
) -> Need:
    """Triage of an unknown sender: the account (and contact) it came from; routes and times it."""
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("This contact belongs to another account.")})
    before = need.account_id
    need.account = account
    need.contact = contact
    need.first_response_due_at, need.resolution_due_at = sla_due(account.tier, need.priority, need.received_at)
    fields = ["account", "contact", "first_response_due_at", "resolution_due_at", "updated_at"]
    if need.category_id:
        routed = route(tenant, account, need.category)
        need.function, need.assignee = routed.function, routed.assignee
        fields += ["function", "assignee"]
        if need.status == NeedStatus.NEW and need.assignee_id:
            need.status = NeedStatus.TRIAGED
            fields.append("status")
    need.save(update_fields=fields)
    audit.record(tenant=tenant, action="update", instance=need, changes={"account": [before, account.pk]}, actor=actor)
    _changed(tenant, need)
    return need


@tenant_service
def need_set_priority(tenant: Tenant, *, need: Need, priority: str, actor: Any = None) -> Need:
    """A new priority moves the SLA deadlines (from the time received)."""
    if priority not in Priority.values:
        raise ValidationError({"priority": _("Unknown priority.")})
    before = need.priority
    need.priority = priority
    need.first_response_due_at, need.resolution_due_at = sla_due(
        need.account.tier if need.account_id else None, priority, need.received_at
    )
    need.save(update_fields=["priority", "first_response_due_at", "resolution_due_at", "updated_at"])
    audit.record(tenant=tenant, action="update", instance=need, changes={"priority": [before, priority]}, actor=actor)
    _changed(tenant, need)
    return need


@tenant_service
def need_update(tenant: Tenant, *, need: Need, actor: Any = None, **changes: Any) -> Need:
    """Several changes of one need at once (the API's PATCH), each through its own service and
    in this order: the account and contact (triage), the category (a person's, which the model
    learns from), the priority, the assignee, then the status, with the customer's rating on
    resolution (``satisfaction`` alone rates a need resolved before). All or nothing: a change
    refused undoes those before it. Keys: account, contact, category, priority, assignee,
    status, satisfaction."""
    unknown = set(changes) - {"account", "contact", "category", "priority", "assignee", "status", "satisfaction"}
    if unknown:
        raise TypeError(f"need_update() got unexpected changes: {sorted(unknown)}")
    with transaction.atomic():
        if "account" in changes or "contact" in changes:
            contact = changes.get("contact")
            account = changes.get("account") or (contact.account if contact is not None else need.account)
            if "contact" not in changes and account is not None and account.pk == need.account_id:
                contact = need.contact
            if account is None:
                raise ValidationError({"account": _("Set the account first: the sender is not known.")})
            if account.pk != need.account_id or (contact.pk if contact else None) != need.contact_id:
                need = need_set_account(tenant, need=need, account=account, contact=contact, actor=actor)
        category = changes.get("category")
        if category is not None and (category.pk != need.category_id or need.category_source != CategorySource.PERSON):
            # the same category again is a person confirming it: no new route
            need = need_set_category(
                tenant, need=need, category=category, actor=actor, reroute=category.pk != need.category_id
            )
        if changes.get("priority") not in (None, need.priority):
            need = need_set_priority(tenant, need=need, priority=changes["priority"], actor=actor)
        if "assignee" in changes:
            need = need_assign(tenant, need=need, assignee=changes["assignee"], actor=actor)
        status, satisfaction = changes.get("status"), changes.get("satisfaction")
        if status not in (None, need.status):
            need = need_set_status(tenant, need=need, status=status, actor=actor, satisfaction=satisfaction)
        elif satisfaction is not None:
            need = need_rate(tenant, need=need, satisfaction=satisfaction, actor=actor)
    return need
