"""Channels (企业微信 / 钉钉 / 飞书 group robots, e-mail, webhooks). DESIGN section 15.

A tenant's :class:`Channel` names where messages go and which ones (its routes: alert kinds
with a minimum severity, SLA breaches, the daily digest). What is to be said is first queued
as :class:`ChannelItem` rows, in the transaction of the event that causes it, so that nothing
is lost when a vendor is down or busy; a flush (messaging.delivery) packs the waiting items
into :class:`ChannelDelivery` messages, as many per message as the vendor takes, and sends
them within the vendor's rate limit, retrying with backoff like the webhooks.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kam.models import DeliveryStatus as DeliveryStatus  # the log's statuses, shared with risk's webhooks
from kam.models import OutboundDelivery, TenantOwnedModel


class ChannelKind(models.TextChoices):
    WECOM_ROBOT = "wecom_robot", _("WeCom group robot")
    DINGTALK_ROBOT = "dingtalk_robot", _("DingTalk group robot")
    FEISHU_ROBOT = "feishu_robot", _("Feishu group robot")
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Webhook")


ROBOT_KINDS = (ChannelKind.WECOM_ROBOT, ChannelKind.DINGTALK_ROBOT, ChannelKind.FEISHU_ROBOT)
# The kinds that sign their requests with the channel's secret.
SIGNED_KINDS = (ChannelKind.DINGTALK_ROBOT, ChannelKind.FEISHU_ROBOT, ChannelKind.WEBHOOK)
URL_KINDS = (*ROBOT_KINDS, ChannelKind.WEBHOOK)


class ChannelLanguage(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


def default_digest_time() -> dt.time:
    return dt.time(8, 30)


class Channel(TenantOwnedModel):
    """One destination of a tenant's messages, with its routes."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    recipients = models.JSONField(
        _("recipients"), default=list, blank=True, help_text=_("The e-mail addresses of an e-mail channel.")
    )
    secret = models.CharField(_("secret"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=ChannelLanguage.choices, default=ChannelLanguage.ZH_HANS
    )
    # {alert kind: minimum severity}; a kind not named is not sent. SLA breaches have their own switch.
    alert_routes = models.JSONField(_("alert routes"), default=dict, blank=True)
    sla_breaches = models.BooleanField(_("SLA breaches"), default=True)
    daily_digest = models.BooleanField(_("daily digest"), default=True)
    digest_time = models.TimeField(_("digest time"), default=default_digest_time)
    last_digest_on = models.DateField(_("last digest"), null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    # The times (Unix seconds) of the messages sent in the last minute: the vendor's rate limit.
    recent_sends = models.JSONField(default=list, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="channel_unique_name",
                violation_error_message=_("A channel of this name exists already."),
            )
        ]
        indexes = [models.Index(fields=["tenant", "is_active"], name="channel_tenant_active")]

    def __str__(self) -> str:
        return self.name

    @property
    def secret_hint(self) -> str:
        return f"{self.secret[:6]}…" if self.secret else ""


class ItemTopic(models.TextChoices):
    ALERT = "alert", _("Alert")
    DIGEST = "digest", _("Daily digest")
    TEST = "test", _("Test message")


class ChannelItem(TenantOwnedModel):
    """One thing to say on a channel (an alert opened or escalated, a digest, a test), with the
    facts it is said from as they were when it happened. Waiting while ``delivery`` is empty."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="items", db_constraint=False)
    topic = models.CharField(_("topic"), max_length=8, choices=ItemTopic.choices)
    event = models.CharField(_("event"), max_length=16, blank=True)
    alert_id = models.BigIntegerField(_("alert"), null=True, blank=True)
    data = models.JSONField(_("facts"), default=dict)
    delivery = models.ForeignKey(
        "ChannelDelivery",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="items",
        db_constraint=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel item")
        verbose_name_plural = _("channel items")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["tenant", "channel", "id"], condition=Q(delivery__isnull=True), name="channelitem_waiting"
            ),
            models.Index(fields=["tenant", "delivery"], name="channelitem_delivery"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event} → {self.channel_id}"


class ChannelDelivery(OutboundDelivery):
    """One message to a channel (one or more items merged), and the outcome of its attempts."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False)
    topic = models.CharField(_("topic"), max_length=8, choices=ItemTopic.choices)
    title = models.CharField(_("title"), max_length=300)
    item_count = models.PositiveIntegerField(_("items"), default=1)
    # What is sent, before the vendor's signature (which is made afresh at each attempt).
    payload = models.JSONField(_("message"))

    class Meta:
        verbose_name = _("channel delivery")
        verbose_name_plural = _("channel deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "next_attempt_at"], name="channeldelivery_due"),
            models.Index(fields=["tenant", "channel", "-created_at"], name="channeldelivery_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.channel_id} ({self.status})"
