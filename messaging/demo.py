"""Demo channels (DESIGN section 15): one of each kind, pointing at the local receiver that
`make run` starts (messaging/sink.py, http://127.0.0.1:CHANNEL_SINK_PORT/), so that a user
sees there what each vendor would be sent. Each channel gets today's digest queued at once.

The manager and the director get a work mobile number, so that DingTalk's messages
@mention them. Deterministic (no random numbers); loading it again changes nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings

from kam.models import Membership, Tenant
from kam.tenancy import tenant_context
from messaging import services
from messaging.digest import digest_facts, local_now
from messaging.models import Channel, ChannelItem, ChannelKind, ItemTopic
from messaging.routing import flush_on_commit
from risk.models import CONCENTRATION_KINDS, AlertKind

MOBILES = {"manager": "13800138001", "director": "13800138002", "admin": "13800138003"}


def sink_url() -> str:
    return f"http://127.0.0.1:{settings.CHANNEL_SINK_PORT}"


def demo_secret(tenant: Tenant, kind: str) -> str:
    """A demo robot's secret (DingTalk's start with SEC); known to the sink through the database."""
    return "SEC" + hashlib.sha256(f"kam-demo:{tenant.slug}:{kind}".encode()).hexdigest()[:40]


def _specs(tenant: Tenant) -> list[dict[str, Any]]:
    base = sink_url()
    every = {kind: "warning" for kind in AlertKind.values if kind != AlertKind.SLA_BREACH}
    return [
        {
            "name": "大客户部 · 企业微信群",
            "kind": ChannelKind.WECOM_ROBOT,
            "url": f"{base}/cgi-bin/webhook/send?key={tenant.slug}-wecom",
            "alert_routes": every,
        },
        {
            "name": "风险值班 · 钉钉群",
            "kind": ChannelKind.DINGTALK_ROBOT,
            "url": f"{base}/robot/send?access_token={tenant.slug}-dingtalk",
            "secret": demo_secret(tenant, ChannelKind.DINGTALK_ROBOT),
            "alert_routes": dict.fromkeys(every, "critical"),
        },
        {
            "name": "管理层 · 飞书群",
            "kind": ChannelKind.FEISHU_ROBOT,
            "url": f"{base}/open-apis/bot/v2/hook/{tenant.slug}-feishu",
            "secret": demo_secret(tenant, ChannelKind.FEISHU_ROBOT),
            "alert_routes": dict.fromkeys(CONCENTRATION_KINDS, "warning"),
            "sla_breaches": False,
        },
        {
            "name": "Key account team mailbox",
            "kind": ChannelKind.EMAIL,
            "recipients": [f"kam-team@{tenant.slug}.example.com"],
            "language": "en",
            "alert_routes": {},
            "sla_breaches": False,
        },
        {
            "name": "BI integration",
            "kind": ChannelKind.WEBHOOK,
            "url": f"{base}/webhook/{tenant.slug}",
            "secret": demo_secret(tenant, ChannelKind.WEBHOOK),
            "language": "en",
            "alert_routes": dict.fromkeys(every, "info"),
            "daily_digest": False,
        },
    ]


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    with tenant_context(tenant):
        if Channel.objects.filter(tenant=tenant).exists():
            return
        for role, mobile in MOBILES.items():
            if role in people:
                Membership.objects.filter(tenant=tenant, user=people[role]).update(mobile=mobile)
        channels = [services.channel_create(tenant, actor=people.get("admin"), **spec) for spec in _specs(tenant)]
        wanted = [channel for channel in channels if channel.daily_digest]
        facts = digest_facts(tenant)
        # Today's digest is this one: the sweep sends the next at tomorrow's digest time, not a second today.
        Channel.objects.filter(tenant=tenant, pk__in=[channel.pk for channel in wanted]).update(
            last_digest_on=local_now(tenant).date()
        )
        ChannelItem.objects.bulk_create(
            [ChannelItem(tenant=tenant, channel=channel, topic=ItemTopic.DIGEST, data=facts) for channel in wanted]
        )
        flush_on_commit(tenant, [channel.pk for channel in wanted])


def sink_secrets(vendor: str, token: str) -> str | None:
    """The secret of the channel whose URL holds ``token`` (the sink of `make run` checks the
    signatures with it, as the vendor would); None when no channel has it."""
    kinds = {
        "wecom": ChannelKind.WECOM_ROBOT,
        "dingtalk": ChannelKind.DINGTALK_ROBOT,
        "feishu": ChannelKind.FEISHU_ROBOT,
        "webhook": ChannelKind.WEBHOOK,
    }
    kind = kinds.get(vendor)
    if kind is None or not token:
        return None
    for tenant in Tenant.objects.filter(is_active=True).order_by("pk"):
        with tenant_context(tenant):
            for channel in Channel.objects.filter(tenant=tenant, kind=kind, url__contains=token).only("url", "secret"):
                return channel.secret
    return None
