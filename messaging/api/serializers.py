"""Serializers of the channels API. They check the shape of the input only; the rules (the
URL of each vendor, the alert kinds and severities of the routes, the recipients of an
e-mail channel, a kind that never changes) live in messaging.services, which every write
goes through, so that the pages and the API refuse the same things with the same words.

The secret is write-only: what is stored is never sent back, except the one a webhook
channel is given at creation (the integrator needs it to check the signatures).
"""

from __future__ import annotations

from typing import Any

from django.db.models import TextChoices
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kam.api.schema import KamErrorDetailSerializer
from kam.models import OUTBOUND_DELIVERY_FIELDS
from messaging.models import Channel, ChannelDelivery, ChannelKind, ChannelLanguage, DeliveryStatus, ItemTopic
from messaging.services import EDITABLE, MAX_RECIPIENTS, ROUTABLE_KINDS
from risk.models import Severity

# Addresses taken in one request; the service allows MAX_RECIPIENTS once duplicates are dropped.
MAX_LISTED = 100
CHANNEL_FIELDS = (
    "id",
    "name",
    "kind",
    "url",
    "recipients",
    "secret",
    "secret_hint",
    "language",
    "alert_routes",
    "sla_breaches",
    "daily_digest",
    "digest_time",
    "is_active",
    "waiting_count",
    "last_status",
    "last_at",
    "created_at",
    "updated_at",
)
# The fields a client writes (the services' EDITABLE); the rest are the server's.
WRITABLE = EDITABLE
DELIVERY_FIELDS = (
    "id",
    "channel",
    "topic",
    "title",
    "item_count",
    "payload",
    *OUTBOUND_DELIVERY_FIELDS,
)


def enum_field(choices: type[TextChoices], **kwargs: Any) -> serializers.ChoiceField:
    """A choice field of one of messaging's choice sets; its component name is fixed in
    SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (risk's deliveries have a ``status`` and its
    alerts a ``kind`` of their own)."""
    return serializers.ChoiceField(choices=choices.choices, **kwargs)


@extend_schema_field(
    {
        "type": "object",
        "description": "Alert kind -> the minimum severity sent (info < warning < critical); a kind not "
        "named is not sent. Kinds: " + ", ".join(ROUTABLE_KINDS) + ". SLA breaches have their own switch, "
        "`sla_breaches`.",
        "additionalProperties": {"type": "string", "enum": list(Severity.values)},
        "example": {"payment_overdue": "warning", "concentration_single": "critical"},
    }
)
class AlertRoutesField(serializers.DictField):
    """The routes as given; messaging.services says which kind or severity is wrong."""

    child = serializers.CharField(max_length=20)


@extend_schema_field({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "08:30"})
class DigestTimeField(serializers.TimeField):
    """The digest's time of day in the tenant's time zone, as HH:MM (seconds are accepted, and dropped)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)

    def to_internal_value(self, value: Any) -> Any:
        return super().to_internal_value(value).replace(second=0, microsecond=0)


class ChannelSerializer(serializers.ModelSerializer):
    kind = enum_field(ChannelKind, help_text="Fixed at creation: to change it, make a new channel.")
    url = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="The robot's webhook URL (WeCom …/cgi-bin/webhook/send?key=…, DingTalk …/robot/send?access_token=…, "
        "Feishu …/open-apis/bot/v2/hook/…) or the receiver's URL of a webhook channel. Empty for e-mail.",
    )
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=254),
        required=False,
        max_length=MAX_LISTED,
        help_text=f"The e-mail addresses of an e-mail channel (1 to {MAX_RECIPIENTS}); empty for the other kinds.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="The robot's signing secret (DingTalk 加签 SEC…, Feishu 签名校验) or the webhook's. Never read "
        "back; a blank or missing one on a change keeps the secret. A webhook channel created without one is "
        "given one, shown once in the answer.",
    )
    secret_hint = serializers.CharField(read_only=True, help_text="The start of the secret; empty when there is none.")
    language = enum_field(ChannelLanguage, required=False, help_text="The language of the messages.")
    alert_routes = AlertRoutesField(required=False)
    sla_breaches = serializers.BooleanField(required=False, help_text="Send SLA breaches (alert sla_breach).")
    daily_digest = serializers.BooleanField(required=False, help_text="Send the daily digest at `digest_time`.")
    digest_time = DigestTimeField(required=False, help_text="HH:MM in the workspace's time zone; 08:30 by default.")
    is_active = serializers.BooleanField(required=False, help_text="Off: nothing is sent, nothing is queued.")
    waiting_count = serializers.SerializerMethodField(help_text="Items queued and not yet in a message.")
    last_status = enum_field(
        DeliveryStatus, read_only=True, allow_null=True, help_text="The status of the last message; null: none yet."
    )
    last_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="When the last message was made.")

    class Meta:
        model = Channel
        fields = CHANNEL_FIELDS
        read_only_fields = ("created_at", "updated_at")

    @extend_schema_field(serializers.IntegerField(min_value=0))
    def get_waiting_count(self, channel: Channel) -> int:
        # Annotated by messaging.selectors.channel_list (a subquery: null when none wait).
        return getattr(channel, "waiting_count", None) or 0


class ChannelCreatedSerializer(ChannelSerializer):
    secret = serializers.SerializerMethodField(
        help_text="A webhook channel's signing secret, shown this once: keep it with the receiver. Null for the "
        "other kinds (their secret is the vendor's and is never read back)."
    )

    class Meta(ChannelSerializer.Meta):
        fields = CHANNEL_FIELDS

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_secret(self, channel: Channel) -> str | None:
        return channel.secret if channel.kind == ChannelKind.WEBHOOK else None


class ChannelDeliverySerializer(serializers.ModelSerializer):
    channel = serializers.PrimaryKeyRelatedField(read_only=True, help_text="Id of the channel.")
    topic = enum_field(ItemTopic, read_only=True)
    status = enum_field(DeliveryStatus, read_only=True, help_text="failed: given up; send it again to retry.")
    item_count = serializers.IntegerField(read_only=True, help_text="How many items the message merged.")
    payload = serializers.JSONField(read_only=True, help_text="The message as the vendor takes it, before signing.")
    next_attempt_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_attempt_at = serializers.DateTimeField(read_only=True, allow_null=True)
    delivered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    response_code = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The HTTP status of the last attempt."
    )
    response_body = serializers.CharField(read_only=True, help_text="An excerpt of the vendor's last answer.")
    error = serializers.CharField(
        read_only=True, help_text="Why the last attempt failed, with the vendor's error code; empty when none."
    )
    duration_ms = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = ChannelDelivery
        fields = DELIVERY_FIELDS
        read_only_fields = DELIVERY_FIELDS


class ChannelRateLimitedSerializer(serializers.Serializer):
    """The answer of a test refused by the robot's rate window: the one error shape, and the
    ``detail`` and ``retry_after`` a client reads without parsing the message."""

    error = KamErrorDetailSerializer(help_text="The one error shape, with code `rate_limited`.")
    detail = serializers.CharField(required=False, help_text="The same message.")
    retry_after = serializers.IntegerField(
        required=False, help_text="Seconds until the robot takes a message again (also in Retry-After)."
    )
