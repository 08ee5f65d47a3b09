"""What goes to which channel: the routes, and the facts a message is said from.

``alerts_to_channels`` runs inside the alert evaluation's transaction (risk's
``alerts_changed`` signal): it queues one :class:`ChannelItem` per alert and channel whose
routes take it, with the alert's facts as they are now, and asks for a flush of each channel
once the transaction commits. A rolled-back evaluation therefore queues nothing, and a
vendor that is down loses nothing: the items wait.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from kam.models import Membership, Tenant
from messaging.models import Channel, ChannelItem, ItemTopic
from risk.models import SERVICE_KINDS, SEVERITY_RANK, RiskAlert, Severity
from risk.notifications import alert_link_builder


def site_url(path: str) -> str:
    """An absolute link to a page of KAM (messages are read outside the browser's session)."""
    return settings.SITE_URL.rstrip("/") + path


def page_link(name: str, tenant: Tenant, **kwargs: Any) -> str | None:
    try:
        return site_url(reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs}))
    except NoReverseMatch:
        return None


def takes(channel: Channel, kind: str, severity: str) -> bool:
    """Whether the channel's routes take an alert of this kind and severity."""
    if kind in SERVICE_KINDS:
        return channel.sla_breaches
    minimum = (channel.alert_routes or {}).get(kind)
    if minimum not in Severity.values:
        return False
    return SEVERITY_RANK.get(severity, -1) >= SEVERITY_RANK[minimum]


def alert_facts(tenant: Tenant, alert_ids: Iterable[int], *, event: str) -> list[dict[str, Any]]:
    """The facts of each alert a message tells: kind, severity, figures, account, owner (with
    the mobile number of their membership, for an @mention), link. One query."""
    alerts = list(
        RiskAlert.objects.filter(tenant=tenant, pk__in=list(alert_ids))
        .select_related("account", "account__owner")
        .order_by("id")
    )
    owners = {alert.account.owner_id for alert in alerts if alert.account_id and alert.account.owner_id}
    mobiles = dict(
        Membership.objects.filter(tenant=tenant, user_id__in=owners, is_active=True).values_list("user_id", "mobile")
    )
    link = alert_link_builder(tenant)
    risk_center = page_link("risk-center", tenant)
    facts = []
    for alert in alerts:
        account = alert.account if alert.account_id else None
        owner = account.owner if account is not None and account.owner_id else None
        facts.append(
            {
                "alert_id": alert.pk,
                "event": event,
                "kind": alert.kind,
                "severity": alert.severity,
                "details": alert.details or {},
                "opened_at": alert.opened_at.isoformat() if alert.opened_at else None,
                "account": {"id": account.pk, "name": account.name, "tier": account.tier or ""} if account else None,
                "owner": (
                    {"id": owner.pk, "name": owner.display_name, "mobile": mobiles.get(owner.pk) or ""}
                    if owner is not None and owner.pk in mobiles
                    else None
                ),
                "link": site_url(link(alert.pk)),
                "risk_center": risk_center,
            }
        )
    return facts


def active_channels(tenant: Tenant) -> list[Channel]:
    return list(Channel.objects.filter(tenant=tenant, is_active=True).order_by("id"))


def alerts_to_channels(tenant: Tenant, *, opened: list[int], escalated: list[int]) -> int:
    """Queue the opened and escalated alerts on every channel whose routes take them.
    Returns the number of items queued."""
    channels = active_channels(tenant)
    if not channels or not (opened or escalated):
        return 0
    items = []
    for event, alert_ids in (("opened", opened), ("escalated", escalated)):
        if not alert_ids:
            continue
        for facts in alert_facts(tenant, alert_ids, event=event):
            for channel in channels:
                if takes(channel, facts["kind"], facts["severity"]):
                    items.append(
                        ChannelItem(
                            tenant=tenant,
                            channel=channel,
                            topic=ItemTopic.ALERT,
                            event=event,
                            alert_id=facts["alert_id"],
                            data=facts,
                        )
                    )
    ChannelItem.objects.bulk_create(items, batch_size=1000)
    flush_on_commit(tenant, {item.channel_id for item in items})
    return len(items)


def flush_on_commit(tenant: Tenant, channel_ids: Iterable[int]) -> None:
    """Flush these channels once the transaction commits (robust: a broker that is down
    leaves the items waiting for the sweep rather than failing the caller)."""
    from messaging import tasks

    for channel_id in sorted(set(channel_ids)):
        transaction.on_commit(
            lambda channel_id=channel_id: tasks.flush_channel.delay(tenant.pk, channel_id), robust=True
        )
