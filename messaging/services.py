"""Writes of the channels: create, change, delete, test, send again. Each validates every
field the same way for the pages and the API (``channel_validate``) and audits the change
(never the secret)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from kam import audit
from kam.models import Tenant, User
from kam.records import UNSET
from kam.tenancy import tenant_service
from messaging import delivery
from messaging.models import URL_KINDS, Channel, ChannelDelivery, ChannelKind, ChannelLanguage
from risk.models import SERVICE_KINDS, AlertKind, Severity
from risk.webhooks import new_secret

MAX_RECIPIENTS = 20
# The path (and the query key holding the robot's token) of each vendor's robot URL.
ROBOT_PATHS = {
    ChannelKind.WECOM_ROBOT: ("/cgi-bin/webhook/send", "key"),
    ChannelKind.DINGTALK_ROBOT: ("/robot/send", "access_token"),
    ChannelKind.FEISHU_ROBOT: ("/open-apis/bot/v2/hook/", None),
}
ROUTABLE_KINDS = tuple(kind for kind in AlertKind.values if kind not in SERVICE_KINDS)
EDITABLE = (
    "name",
    "kind",
    "url",
    "recipients",
    "secret",
    "language",
    "alert_routes",
    "sla_breaches",
    "daily_digest",
    "digest_time",
    "is_active",
)


def _url_errors(kind: str, url: str) -> list[str]:
    if not url:
        return [_("Give the robot's or the receiver's URL.")]
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return [_("Enter a valid http or https URL.")]
    refused = delivery.vendor_host_error(kind, url)
    if refused:
        return [refused]
    if kind not in ROBOT_PATHS:
        return []
    path, token_key = ROBOT_PATHS[ChannelKind(kind)]
    parts = urlsplit(url)
    if kind == ChannelKind.FEISHU_ROBOT:
        ok = path in parts.path and parts.path.rstrip("/").rsplit("/", 1)[-1] not in ("", "hook")
    else:
        ok = parts.path.rstrip("/").endswith(path) and bool(parse_qs(parts.query).get(token_key or ""))
    if ok:
        return []
    examples = {
        ChannelKind.WECOM_ROBOT: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
        ChannelKind.DINGTALK_ROBOT: "https://oapi.dingtalk.com/robot/send?access_token=…",
        ChannelKind.FEISHU_ROBOT: "https://open.feishu.cn/open-apis/bot/v2/hook/…",
    }
    return [
        _("This is not a %(kind)s URL; it looks like %(example)s")
        % {"kind": ChannelKind(kind).label, "example": examples[ChannelKind(kind)]}
    ]


def _routes_errors(routes: Any) -> list[str]:
    if not isinstance(routes, dict):
        return [_("Give the alert routes as kind: minimum severity.")]
    errors = []
    for kind, minimum in routes.items():
        if kind not in ROUTABLE_KINDS:
            errors.append(_("“%(kind)s” is not an alert kind (SLA breaches have their own switch).") % {"kind": kind})
        elif minimum not in Severity.values:
            errors.append(
                _("“%(value)s” is not a severity; use one of %(choices)s.")
                % {"value": minimum, "choices": ", ".join(Severity.values)}
            )
    return errors


def clean_recipients(value: Any) -> list[str]:
    """A list or a comma-, semicolon- or newline-separated text of addresses, checked."""
    if isinstance(value, str):
        value = [part.strip() for part in value.replace(";", ",").replace("\n", ",").split(",")]
    if not isinstance(value, list | tuple):
        raise ValidationError({"recipients": _("Give a list of e-mail addresses.")})
    addresses = []
    for address in value:
        address = str(address).strip().lower()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                {"recipients": _("“%(address)s” is not an e-mail address.") % {"address": address}}
            ) from None
        if address not in addresses:
            addresses.append(address)
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError({"recipients": _("At most %(count)s addresses.") % {"count": MAX_RECIPIENTS}})
    return addresses


def channel_validate(tenant: Tenant, values: dict[str, Any], *, instance: Channel | None = None) -> dict[str, Any]:
    """The channel's fields checked together, every error at once (ValidationError by field)."""
    data = {field: getattr(instance, field) for field in EDITABLE} if instance else {}
    data.update(values)
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("Give the channel a name."))
    elif len(name) > 100:
        errors.setdefault("name", []).append(_("At most 100 characters."))
    elif Channel.objects.filter(tenant=tenant, name=name).exclude(pk=instance.pk if instance else None).exists():
        errors.setdefault("name", []).append(_("A channel of this name exists already."))
    data["name"] = name
    kind = data.get("kind")
    if kind not in ChannelKind.values:
        errors.setdefault("kind", []).append(_("Choose one of the kinds."))
    if instance is not None and kind != instance.kind and "kind" in values:
        errors.setdefault("kind", []).append(_("The kind of a channel cannot change; make a new channel."))
    url = str(data.get("url") or "").strip()
    data["url"] = url
    if kind in URL_KINDS:
        url_errors = _url_errors(kind, url)
        if url_errors:
            errors["url"] = url_errors
        data["recipients"] = []
    elif kind == ChannelKind.EMAIL:
        data["url"] = ""
        try:
            data["recipients"] = clean_recipients(data.get("recipients") or [])
        except ValidationError as exc:
            errors.setdefault("recipients", []).extend(exc.message_dict["recipients"])
        else:
            if not data["recipients"]:
                errors.setdefault("recipients", []).append(_("Give at least one e-mail address."))
    secret = str(data.get("secret") or "").strip()
    if len(secret) > 200:
        errors.setdefault("secret", []).append(_("At most 200 characters."))
    data["secret"] = secret
    if data.get("language", ChannelLanguage.ZH_HANS) not in ChannelLanguage.values:
        errors.setdefault("language", []).append(_("Choose Chinese or English."))
    routes = data.get("alert_routes") or {}
    routes_errors = _routes_errors(routes)
    if routes_errors:
        errors["alert_routes"] = routes_errors
    data["alert_routes"] = routes
    digest_time = data.get("digest_time") or dt.time(8, 30)
    if isinstance(digest_time, str):
        try:
            digest_time = dt.time.fromisoformat(digest_time)
        except ValueError:
            errors.setdefault("digest_time", []).append(_("Give a time as HH:MM."))
    data["digest_time"] = digest_time
    if errors:
        raise ValidationError({field: messages for field, messages in errors.items() if messages})
    return data


def _snapshot(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "kind": channel.kind,
        "url": channel.url,
        "recipients": list(channel.recipients or []),
        "language": channel.language,
        "alert_routes": dict(channel.alert_routes or {}),
        "sla_breaches": channel.sla_breaches,
        "daily_digest": channel.daily_digest,
        "digest_time": channel.digest_time.strftime("%H:%M") if channel.digest_time else None,
        "is_active": channel.is_active,
        "secret": "(changed)" if channel.secret else "",
    }


def _audit(tenant: Tenant, channel: Channel, action: str, before: dict[str, Any] | None, actor: Any) -> None:
    after = _snapshot(channel) if action != "delete" else {}
    before = before or {}
    changes = {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
    if changes or action != "update":
        audit.record(tenant=tenant, action=action, instance=channel, changes=changes, actor=actor)


@tenant_service
def channel_create(tenant: Tenant, *, actor: Any = None, **values: Any) -> Channel:
    data = channel_validate(tenant, values)
    if data["kind"] == ChannelKind.WEBHOOK and not data["secret"]:
        data["secret"] = new_secret()
    channel = Channel.objects.create(
        tenant=tenant,
        created_by=actor if isinstance(actor, User) else None,
        **{field: data[field] for field in EDITABLE if field in data},
    )
    _audit(tenant, channel, "create", None, actor)
    return channel


@tenant_service
def channel_update(tenant: Tenant, *, channel: Channel, actor: Any = None, **values: Any) -> Channel:
    """Change the given fields. A blank secret keeps the secret (it is never shown back);
    a changed URL or secret makes the waiting retries due at once."""
    values = {key: value for key, value in values.items() if value is not UNSET}
    if "secret" in values and not str(values["secret"] or "").strip():
        values.pop("secret")
    before = _snapshot(channel)
    old_target = (channel.url, channel.secret, tuple(channel.recipients or []), channel.is_active)
    data = channel_validate(tenant, values, instance=channel)
    for field in EDITABLE:
        if field in values or field in ("url", "recipients", "name"):
            setattr(channel, field, data[field])
    channel.save()
    _audit(tenant, channel, "update", before, actor)
    if (channel.url, channel.secret, tuple(channel.recipients or []), channel.is_active) != old_target:
        delivery.retry_now(tenant, channel)
    return channel


@tenant_service
def channel_delete(tenant: Tenant, *, channel: Channel, actor: Any = None) -> None:
    before = _snapshot(channel)
    channel.delete()
    audit.record(
        tenant=tenant,
        action="delete",
        instance=channel,
        changes={key: [value, None] for key, value in before.items() if value not in (None, "", [], {})},
        actor=actor,
    )


def channel_test(tenant: Tenant, *, channel: Channel, actor: Any = None) -> delivery.TestOutcome:
    """Send a test message now; the outcome has the delivery with the vendor's answer."""
    by = getattr(actor, "display_name", None) or str(actor or "API")
    return delivery.send_test(tenant, channel, by=by)


def delivery_send_again(tenant: Tenant, *, record: ChannelDelivery) -> bool:
    with transaction.atomic():
        return delivery.send_again(tenant, record)
