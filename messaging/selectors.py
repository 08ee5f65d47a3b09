"""Reads of the channels for the pages and the API (each names its tenant)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from kam.models import Tenant
from kam.tenancy import get_object_for_tenant, tenant_selector
from messaging.models import Channel, ChannelDelivery, ChannelItem, DeliveryStatus


@tenant_selector
def channel_list(tenant: Tenant) -> QuerySet[Channel]:
    """The tenant's channels by name, each with its waiting items, its pending and failed
    messages and its last message's status and time."""
    last = ChannelDelivery.objects.filter(tenant=tenant, channel=OuterRef("pk")).order_by("-created_at", "-id")

    def count(rows: QuerySet) -> Subquery:
        return Subquery(rows.order_by().values("channel").annotate(n=Count("pk")).values("n"))

    waiting = ChannelItem.objects.filter(tenant=tenant, channel=OuterRef("pk"), delivery__isnull=True)
    sent = ChannelDelivery.objects.filter(tenant=tenant, channel=OuterRef("pk"))
    return (
        Channel.objects.filter(tenant=tenant)
        .annotate(
            waiting_count=Coalesce(count(waiting), 0),
            pending_count=Coalesce(count(sent.filter(status=DeliveryStatus.PENDING)), 0),
            failed_count=Coalesce(count(sent.filter(status=DeliveryStatus.FAILED)), 0),
            last_status=Subquery(last.values("status")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
            last_error=Subquery(last.values("error")[:1]),
        )
        .order_by("name", "id")
    )


@tenant_selector
def channel_get(tenant: Tenant, channel_id: Any) -> Channel:
    """The tenant's channel; another tenant's id, or none, is 404."""
    return get_object_for_tenant(Channel.objects.select_related("created_by"), tenant, channel_id)


@tenant_selector
def delivery_list(tenant: Tenant, *, channel: Channel | None = None, status: str = "") -> QuerySet[ChannelDelivery]:
    """The delivery log, newest first, of one channel or all, of one status or all."""
    rows = ChannelDelivery.objects.filter(tenant=tenant).select_related("channel").order_by("-created_at", "-id")
    if channel is not None:
        rows = rows.filter(channel=channel)
    if status in DeliveryStatus.values:
        rows = rows.filter(status=status)
    return rows


@tenant_selector
def delivery_get(tenant: Tenant, delivery_id: Any, *, channel: Channel | None = None) -> ChannelDelivery:
    rows = ChannelDelivery.objects.select_related("channel")
    if channel is not None:
        rows = rows.filter(channel=channel)
    return get_object_for_tenant(rows, tenant, delivery_id)


@tenant_selector
def waiting_count(tenant: Tenant, channel: Channel) -> int:
    return ChannelItem.objects.filter(tenant=tenant, channel=channel, delivery__isnull=True).count()
