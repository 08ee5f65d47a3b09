"""Writes of the platform core. Each takes the tenant explicitly, runs in a
transaction and records what it changed in the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from kam import audit, selectors
from kam.models import ApiToken, IndustryProfile, Membership, Role, Tenant, TokenScope, User, slug_validator


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    industry_profile: str = IndustryProfile.OTHER,
    currency: str = "CNY",
    time_zone: str = "Asia/Shanghai",
    admin_email: str | None = None,
    admin_password: str | None = None,
) -> Tenant:
    """A new tenant; each app then seeds its defaults (AppConfig.tenant_created)."""
    slug_validator(slug)
    if industry_profile not in IndustryProfile.values:
        raise ValidationError(
            _("Unknown industry profile %(value)s; choose one of %(choices)s.")
            % {"value": industry_profile, "choices": ", ".join(IndustryProfile.values)}
        )
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError(_("A tenant with the slug %(slug)s already exists.") % {"slug": slug})
    tenant = Tenant.objects.create(
        slug=slug, name=name, industry_profile=industry_profile, currency=currency, time_zone=time_zone
    )
    audit.record_create(tenant=tenant, instance=tenant)
    for config in apps.get_app_configs():
        initialise = getattr(config, "tenant_created", None)
        if initialise is not None:
            initialise(tenant)
    if admin_email:
        user = user_get_or_create(email=admin_email, password=admin_password)
        membership_create(tenant=tenant, user=user, role=Role.ADMIN)
    return tenant


def user_get_or_create(*, email: str, password: str | None = None, full_name: str = "") -> User:
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        # No password means an unusable one: the person sets theirs through the invitation link.
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def membership_create(*, tenant: Tenant, user: User, role: str, actor: Any = None) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a valid role.")})
    existing = Membership.objects.filter(tenant=tenant, user=user).first()
    if existing is not None and existing.is_active:
        raise ValidationError({"email": _("%(email)s is already a member of this workspace.") % {"email": user.email}})
    if existing is not None:
        before = audit.snapshot(existing)
        existing.role = role
        existing.is_active = True
        existing.save(update_fields=["role", "is_active", "updated_at"])
        audit.record_update(tenant=tenant, instance=existing, before=before, actor=actor)
        return existing
    membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    audit.record_create(tenant=tenant, instance=membership, actor=actor)
    return membership


def invitation_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


@transaction.atomic
def membership_invite(*, tenant: Tenant, email: str, role: str, actor: User | None, base_url: str) -> Membership:
    """Add a person by e-mail with a role; a new person gets a link to set a password."""
    user = user_get_or_create(email=email)
    membership = membership_create(tenant=tenant, user=user, role=role, actor=actor)
    if not user.has_usable_password():
        link = base_url.rstrip("/") + invitation_link(user)
        body = _("%(inviter)s added you to %(tenant)s in KAM as %(role)s.\n\nSet your password here: %(link)s\n") % {
            "inviter": actor.display_name if actor else "KAM",
            "tenant": tenant.name,
            "role": membership.get_role_display(),
            "link": link,
        }
        transaction.on_commit(
            lambda: send_mail(_("You are invited to %(tenant)s") % {"tenant": tenant.name}, body, None, [user.email])
        )
    return membership


def _guard_last_admin(tenant: Tenant, membership: Membership) -> None:
    if membership.role == Role.ADMIN and membership.is_active and selectors.active_admin_count(tenant) <= 1:
        raise ValidationError(_("A workspace needs at least one active administrator; add another one first."))


@transaction.atomic
def membership_change_role(*, tenant: Tenant, membership: Membership, role: str, actor: Any = None) -> Membership:
    if membership.tenant_id != tenant.pk:
        raise ValidationError(_("This person is not a member of this workspace."))
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a valid role.")})
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role == membership.role:
        return membership
    if role != Role.ADMIN:
        _guard_last_admin(tenant, membership)
    before = audit.snapshot(membership)
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit.record_update(tenant=tenant, instance=membership, before=before, actor=actor)
    return membership


@transaction.atomic
def membership_set_active(*, tenant: Tenant, membership: Membership, active: bool, actor: Any = None) -> Membership:
    if membership.tenant_id != tenant.pk:
        raise ValidationError(_("This person is not a member of this workspace."))
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.is_active == active:
        return membership
    if not active:
        _guard_last_admin(tenant, membership)
    before = audit.snapshot(membership)
    membership.is_active = active
    membership.save(update_fields=["is_active", "updated_at"])
    audit.record_update(tenant=tenant, instance=membership, before=before, actor=actor)
    return membership


@transaction.atomic
def api_token_create(
    *, tenant: Tenant, name: str, scope: str = TokenScope.READ, expires_at: dt.datetime | None = None, actor: Any = None
) -> tuple[ApiToken, str]:
    """A new token and its raw value, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, e.g. the system that will use it.")})
    if scope not in TokenScope.values:
        raise ValidationError({"scope": _("Scope must be read or write.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    raw, prefix, digest = ApiToken.generate()
    token = ApiToken.objects.create(
        tenant=tenant,
        name=name,
        scope=scope,
        prefix=prefix,
        token_hash=digest,
        expires_at=expires_at,
        created_by=actor if isinstance(actor, User) else None,
    )
    audit.record_create(tenant=tenant, instance=token, actor=actor)
    return token, raw


@transaction.atomic
def api_token_revoke(*, tenant: Tenant, token: ApiToken, actor: Any = None) -> ApiToken:
    if token.tenant_id != tenant.pk:
        raise ValidationError(_("No such token in this workspace."))
    if token.revoked_at is not None:
        return token
    before = audit.snapshot(token)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record_update(tenant=tenant, instance=token, before=before, actor=actor)
    return token


API_TOKEN_RETENTION = dt.timedelta(days=30)


@transaction.atomic
def api_tokens_cleanup(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Delete the tenant's tokens that expired or were revoked more than 30 days ago.

    Recent ones stay listed so that an admin can still see why an integration stopped.
    """
    cutoff = (now or timezone.now()) - API_TOKEN_RETENTION
    stale = list(ApiToken.objects.filter(tenant=tenant).filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)))
    for token in stale:
        audit.record_delete(tenant=tenant, instance=token, actor=None)
    ApiToken.objects.filter(pk__in=[token.pk for token in stale]).delete()
    return len(stale)


@transaction.atomic
def tenant_schedule_update(*, tenant: Tenant, actor: Any = None, **times: dt.time) -> Tenant:
    """Set the tenant's nightly times (score run, concentration, health), in its time zone;
    kam/nightly.py runs them there, shifted by the tenant's stagger."""
    from kam.nightly import ANCHORS

    unknown = set(times) - set(ANCHORS)
    if unknown:
        raise ValidationError(_("Unknown nightly jobs: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = audit.snapshot(tenant)
    for field, value in times.items():
        setattr(tenant, field, value.replace(second=0, microsecond=0))
    tenant.save(update_fields=list(times))
    audit.record_update(tenant=tenant, instance=tenant, before=before, actor=actor)
    return tenant
