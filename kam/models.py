"""Platform core: users, tenants, memberships, API tokens, the audit log, and the
base every tenant-owned model declares.

Platform tables (User, Tenant, Membership, ApiToken) are read before a tenant is
known (login, the tenant switcher, token authentication), so they carry no
row-level security; only kam's own code reads them, always filtered explicitly.
Every model that inherits :class:`TenantOwnedModel` gets RLS (kam/rls.py).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections import Counter
from collections.abc import Iterator
from operator import attrgetter
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import EmptyResultSet
from django.core.validators import RegexValidator
from django.db import models, router, transaction
from django.db.models import signals
from django.db.models.deletion import Collector
from django.db.models.expressions import Col
from django.db.models.fields.related import lazy_related_operation
from django.db.models.lookups import Exact
from django.db.models.signals import class_prepared
from django.db.models.sql.constants import GET_ITERATOR_CHUNK_SIZE
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kam.tenancy import get_current_tenant


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address. Not a customer 'account'."""

    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False, help_text=_("May log in to the Django admin."))
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class IndustryProfile(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    FMCG = "fmcg", _("Fast-moving consumer goods")
    INDUSTRIAL_EQUIPMENT = "industrial_equipment", _("Industrial equipment")
    SOFTWARE = "software", _("Software")
    CONSULTING = "consulting", _("Consulting")
    OTHER = "other", _("Other")


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    _("Use 1 to 50 lower-case letters, digits and hyphens, not starting or ending with a hyphen."),
)


mobile_validator = RegexValidator(
    r"^(\+?\d{2,3}[ -]?)?1[3-9]\d{9}$|^\+\d{7,15}$",
    _("Enter a mobile number such as 13800138000 (or with its country code, +8613800138000)."),
)


class Tenant(models.Model):
    """A supplier company using KAM."""

    slug = models.CharField(_("slug"), max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=200)
    industry_profile = models.CharField(
        _("industry profile"), max_length=32, choices=IndustryProfile.choices, default=IndustryProfile.OTHER
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    # The nightly cycle's times, in the tenant's time zone (kam/nightly.py adds its stagger).
    score_at = models.TimeField(_("score run at"), default=datetime.time(2, 0))
    concentration_at = models.TimeField(_("concentration at"), default=datetime.time(3, 0))
    health_at = models.TimeField(_("health assessment at"), default=datetime.time(3, 30))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    DIRECTOR = "director", _("Director")
    MANAGER = "manager", _("Account manager")
    MEMBER = "member", _("Team member")
    EXECUTIVE = "executive", _("Executive")


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("tenant"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # The work mobile number: a DingTalk group robot @mentions the owner of an alert by it.
    mobile = models.CharField(_("mobile number"), max_length=20, blank=True, validators=[mobile_validator])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_tenant_user")]
        indexes = [models.Index(fields=["user", "is_active"], name="membership_user_active")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class TokenScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


TOKEN_PREFIX = "kam_"


def hash_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough and keeps lookups indexable.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A tenant-bound bearer token for integrators. Only its hash is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("tenant"))
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=8, choices=TokenScope.choices, default=TokenScope.READ)
    prefix = models.CharField(_("prefix"), max_length=16, help_text=_("The visible start of the token."))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="apitoken_tenant_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """A new raw token, its visible prefix and its hash."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        return raw, raw[: len(TOKEN_PREFIX) + 8], hash_token(raw)

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"


# --- Tenant-owned data --------------------------------------------------------------------


class CurrentTenantId(models.Expression):
    """The id of the active tenant (kam.tenancy), read when the statement is compiled.

    Compiled rather than captured when the queryset is made: a queryset declared at import
    (a viewset's ``queryset``, a form field's choices) reads the tenant of the request that
    runs it. With no tenant active the condition matches nothing and no statement is sent,
    as with ``.none()``: the application fails closed, as the database does.
    """

    output_field = models.BigIntegerField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        tenant = get_current_tenant()
        if tenant is None:
            raise EmptyResultSet
        return "%s", [tenant.pk]


def _loaded_tenant_id(instance: Any) -> int | None:
    """A tenant object's tenant id as loaded, without loading it: the deletion collector reads
    related rows with only their keys, and a deferred field would be fetched through the
    manager that asks for it."""
    if isinstance(instance, TenantOwnedModel):
        return instance.__dict__.get("tenant_id")
    return None


class TenantCollector(Collector):
    """Django's deletion collector, deleting and nulling rows through each model's base
    manager, so that a tenant table's DELETE and UPDATE name the tenant
    (``WHERE tenant_id = %s AND id IN (...)``) where Django's own send ``WHERE id IN (...)``.

    Otherwise as Collector.delete: the same order, signals and counts. The related rows it
    collects come through the base manager too, so cascades name the tenant as well.
    """

    def delete(self) -> tuple[int, dict[str, int]]:
        for model, instances in self.data.items():
            self.data[model] = sorted(instances, key=attrgetter("pk"))
        self.sort()
        deleted: Counter[str] = Counter()
        with transaction.atomic(using=self.using, savepoint=False):
            for model, obj in self.instances_with_model():
                if not model._meta.auto_created:
                    signals.pre_delete.send(sender=model, instance=obj, using=self.using, origin=self.origin)
            for queryset in self.fast_deletes:
                deleted[queryset.model._meta.label] += queryset._raw_delete(using=self.using) or 0
            for (field, value), batches in self.field_updates.items():
                for batch in batches:
                    if isinstance(batch, models.QuerySet) and batch._result_cache is None:
                        batch.update(**{field.name: value})
                    else:
                        for rows in self._rows(list(batch)):
                            rows.update(**{field.name: value})
            for instances in self.data.values():
                instances.reverse()
            for model, instances in self.data.items():
                for rows in self._rows(instances):
                    deleted[model._meta.label] += rows._raw_delete(self.using) or 0
                if not model._meta.auto_created:
                    for obj in instances:
                        signals.post_delete.send(sender=model, instance=obj, using=self.using, origin=self.origin)
        for model, instances in self.data.items():
            for instance in instances:
                setattr(instance, model._meta.pk.attname, None)
        return sum(deleted.values()), {label: count for label, count in deleted.items() if count}

    def _rows(self, instances: list[models.Model]) -> Iterator[models.QuerySet]:
        """The rows of ``instances`` (one model), by their full key: per tenant, the base
        manager made for one of them (its tenant) and their ids."""
        by_tenant: dict[Any, list[Any]] = {}
        for instance in instances:
            by_tenant.setdefault(_loaded_tenant_id(instance), []).append(instance)
        for group in by_tenant.values():
            manager = type(group[0])._base_manager.db_manager(self.using, hints={"instance": group[0]})
            pks = list(dict.fromkeys(instance.pk for instance in group))
            for start in range(0, len(pks), GET_ITERATOR_CHUNK_SIZE):
                yield manager.filter(pk__in=pks[start : start + GET_ITERATOR_CHUNK_SIZE])


class TenantQuerySet(models.QuerySet):
    def delete(self) -> tuple[int, dict[str, int]]:
        """QuerySet.delete with :class:`TenantCollector`."""
        self._not_support_combined_queries("delete")
        if self.query.is_sliced:
            raise TypeError("Cannot use 'limit' or 'offset' with delete().")
        if self.query.distinct_fields:
            raise TypeError("Cannot call delete() after .distinct(*fields).")
        if self._fields is not None:
            raise TypeError("Cannot call delete() after .values() or .values_list()")
        rows = self._chain()
        rows._for_write = True
        rows.query.select_for_update = False
        rows.query.select_related = False
        rows.query.clear_ordering(force=True)
        collector = TenantCollector(using=rows.db, origin=self)
        collector.collect(rows)
        result = collector.delete()
        self._result_cache = None
        return result

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Rows of the active tenant only (``tenant_id = <id>`` in every statement); none at all
    when no tenant is active (fail closed).

    It is also each tenant model's base manager (TenantOwnedModel.Meta), which Django uses
    for related objects (``contact.account``), ``save()``'s UPDATE, ``refresh_from_db()`` and
    the deletion collector: every statement on a tenant table names its tenant, as Citus
    needs to send it to one worker (docs/design.md, section 2).
    """

    def get_queryset(self) -> TenantQuerySet:
        # A manager made for an object (Django's hint: its related objects, its own row when
        # refreshed or saved) reads that object's tenant, as its key in the database is
        # (tenant_id, id); row-level security still holds it to the active tenant.
        tenant_id = _loaded_tenant_id(self._hints.get("instance"))
        return super().get_queryset().filter(tenant_id=CurrentTenantId() if tenant_id is None else tenant_id)


class TenantOwnedModel(models.Model):
    """Base of every tenant-owned model: a non-null tenant, a scoped manager, and RLS.

    Declaring this base is all a model needs: kam/rls.py enables and forces row-level
    security with the tenant policy on its table after every migrate, and a test fails
    when a tenant table lacks the policy or has a unique constraint without tenant.
    """

    # No index of its own: the primary key in the database, (tenant_id, id), leads with it (kam/schema.py).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"), db_index=False
    )

    objects = TenantManager()

    # Stage tables (TenantStageModel) are the one exception: see there.
    row_level_security: ClassVar[bool] = True

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def delete(self, using: str | None = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        """Model.delete with :class:`TenantCollector`."""
        if self.pk is None:
            raise ValueError(f"{self._meta.object_name} object can't be deleted because its id is None.")
        collector = TenantCollector(using=using or router.db_for_write(type(self), instance=self), origin=self)
        collector.collect([self], keep_parents=keep_parents)
        return collector.delete()

    delete.alters_data = True  # type: ignore[attr-defined]

    def _do_update(self, base_qs: Any, using: Any, pk_val: Any, values: Any, update_fields: Any, forced: Any) -> bool:
        # save()'s UPDATE names the row by its full key: WHERE tenant_id = %s AND id = %s.
        rows = type(self)._base_manager.db_manager(using, hints={"instance": self}).all()
        return super()._do_update(rows, using, pk_val, values, update_fields, forced)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class OutboundDelivery(TenantOwnedModel):
    """What a message sent outside (risk's webhooks, messaging's channels) records of its
    attempts; kam.outbound.record_attempt fills it in after each."""

    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response (excerpt)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        abstract = True


# The columns of a delivery log's row that every OutboundDelivery has, in the order logs show them.
OUTBOUND_DELIVERY_FIELDS = (
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "delivered_at",
    "response_code",
    "response_body",
    "error",
    "duration_ms",
    "created_at",
)


class TenantStageModel(TenantOwnedModel):
    """A job's stage: rows a job computed on the coordinator, on their way into a tenant table.

    A job computes its result into a TEMP table (CREATE TABLE AS may aggregate in
    parallel), copies it into its stage table, and writes its tenant tables from the stage,
    which it empties again before it commits (kam.stage.staged): a stage never holds a
    committed row. The detour is for Citus. There a TEMP table lives on the coordinator and
    may not be joined with distributed tables; rows that a statement pulls to the
    coordinator go back to the shards with COPY, which PostgreSQL refuses on a table under
    row-level security; and an INSERT ... SELECT runs on the shards only when nothing in it
    is volatile, not even an identity column's default. So the stage is distributed like
    every tenant table but has no row-level security (it is written with COPY there), and
    it carries the primary key each row will have in its tenant table, drawn from that
    table's sequence on the way in. Every statement on it names its tenant, as everywhere.
    """

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("tenant"),
        db_index=False,
        db_constraint=False,
    )
    # The job's run; and the primary key the row gets in the tenant table it is staged for.
    run_id = models.BigIntegerField()
    row_id = models.BigIntegerField()

    row_level_security = False

    class Meta:
        abstract = True
        base_manager_name = "objects"
        # A job's statements find its run's rows by this, not by walking the rows the last large
        # job left dead until autovacuum comes (a rescore right after a full run would else scan
        # 100,000 of them three times).
        indexes = [models.Index(fields=["tenant", "run_id"], name="%(app_label)s_%(class)s_run")]


class Numeric(models.Field):
    """``numeric`` without a type modifier: a stage column keeps every digit a statement
    computed, as a TEMP table of CREATE TABLE AS does. Read as Decimal."""

    description = "Numeric"

    def db_type(self, connection: Any) -> str:
        return "numeric"


class TenantJoin:
    """The extra condition of every join along a foreign key between two tenant tables:
    ``<target>.tenant_id = <source>.tenant_id``.

    Citus runs a join on one worker only when each table names the tenant or is joined to
    one that does on the distribution column (co-located); rows joined by a foreign key
    always share their tenant (the composite foreign keys), so the condition changes no
    result. Django asks a join's field for such conditions (``get_extra_restriction``, the
    hook contenttypes' GenericRelation uses); :func:`_join_tenant_tables` gives it to every
    such foreign key when its models are ready, so no model declares it.
    """

    def __init__(self, source: type[TenantOwnedModel], target: type[TenantOwnedModel]) -> None:
        self.source_tenant = source._meta.get_field("tenant")
        self.target_tenant = target._meta.get_field("tenant")

    def __call__(self, alias: str | None, related_alias: str) -> Exact:
        # alias: the target's table (None when Django moves the join into a subquery of an
        # exclude(), whose rows then name the tenant by value); related_alias: the source's.
        source = Col(related_alias, self.source_tenant)
        if alias is None:
            return Exact(source, CurrentTenantId())
        return Exact(Col(alias, self.target_tenant), source)


def _join_tenant_tables(sender: type[models.Model], **kwargs: Any) -> None:
    if not issubclass(sender, TenantOwnedModel) or sender._meta.abstract:
        return
    for field in sender._meta.local_fields:
        if field.many_to_one and field.name != "tenant":
            lazy_related_operation(_add_tenant_join, sender, field.remote_field.model, field=field)


def _add_tenant_join(model: type[models.Model], related_model: type[models.Model], *, field: Any) -> None:
    if issubclass(related_model, TenantOwnedModel):
        field.get_extra_restriction = TenantJoin(model, related_model)


class_prepared.connect(_join_tenant_tables)


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class TenantRun(TenantOwnedModel):
    """What every job run of a tenant records (score runs, risk runs): as of which day,
    its status and progress for the page, its error, who started it and when it ran."""

    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    ACCESS = "access", _("API call")
    DENIED = "denied", _("Permission denied")


class AuditLog(TenantOwnedModel):
    """Who changed what in a tenant, with the changed fields before and after."""

    created_at = models.DateTimeField(_("time"), default=timezone.now)
    actor_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("user")
    )
    actor_token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("API token")
    )
    action = models.CharField(_("action"), max_length=8, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_tenant_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} {self.object_repr}"

    @property
    def actor_display(self) -> str:
        if self.actor_user_id:
            return str(self.actor_user)
        if self.actor_token_id:
            return f"API: {self.actor_token}"
        return str(_("System"))
