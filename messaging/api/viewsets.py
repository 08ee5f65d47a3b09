"""Viewsets of the channels API (issue #20): a tenant's channels (企业微信 / 钉钉 / 飞书 group
robots, e-mail, webhooks), a test message sent now, and the delivery log with "send again".

Channels are the administrators' (as risk's webhook endpoints): a session user of another role
gets 403, a read token reads and a write token writes. Every write goes through
messaging.services, whose ValidationErrors answer 400 with field messages, so that the pages
and the API refuse the same input with the same words. The secret is write-only; a webhook
channel's generated one is answered once, at creation.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api.errors import error_body
from kam.api.filters import IdFilter
from kam.api.schema import error_example, error_response
from kam.api.utils import service_errors
from kam.api.viewsets import TenantApiViewSetMixin
from kam.permissions import ADMINS
from messaging import selectors, services
from messaging.api.serializers import (
    ChannelCreatedSerializer,
    ChannelDeliverySerializer,
    ChannelRateLimitedSerializer,
    ChannelSerializer,
)
from messaging.models import Channel, ChannelDelivery, DeliveryStatus, ItemTopic

# --- examples ----------------------------------------------------------------------------------------

CHANNEL_EXAMPLE = {
    "id": 12,
    "name": "大客户部钉钉群",
    "kind": "dingtalk_robot",
    "url": "https://oapi.dingtalk.com/robot/send?access_token=6f1c…",
    "recipients": [],
    "secret_hint": "SEC3a9…",
    "language": "zh-hans",
    "alert_routes": {"payment_overdue": "warning", "concentration_single": "critical"},
    "sla_breaches": True,
    "daily_digest": True,
    "digest_time": "08:30",
    "is_active": True,
    "waiting_count": 0,
    "last_status": "delivered",
    "last_at": "2026-06-30T08:30:02+08:00",
    "created_at": "2026-06-02T10:15:40+08:00",
    "updated_at": "2026-06-20T09:01:12+08:00",
}
WEBHOOK_CREATED_EXAMPLE = {
    **CHANNEL_EXAMPLE,
    "id": 13,
    "name": "BI 系统",
    "kind": "webhook",
    "url": "https://bi.example.com/kam/channel",
    "secret": "whsec_kZ1v…",
    "secret_hint": "whsec_…",
    "last_status": None,
    "last_at": None,
}
DELIVERY_EXAMPLE = {
    "id": 5120,
    "channel": 12,
    "topic": "alert",
    "title": "2 条新预警",
    "item_count": 2,
    "payload": {"msgtype": "markdown", "markdown": {"title": "2 条新预警", "text": "…"}},
    "status": "failed",
    "attempts": 8,
    "next_attempt_at": None,
    "last_attempt_at": "2026-06-30T11:02:45+08:00",
    "delivered_at": None,
    "response_code": 200,
    "response_body": '{"errcode":310000,"errmsg":"sign not match"}',
    "error": "The vendor refused the message: code 310000, sign not match",
    "duration_ms": 184,
    "created_at": "2026-06-30T09:14:03+08:00",
}
CHANNEL_DESCRIPTION = (
    "Channels (通知渠道) push alerts, SLA breaches and the daily digest to a WeCom (企业微信), DingTalk (钉钉) "
    "or Feishu (飞书) group robot, to e-mail recipients or to a webhook. Kinds: wecom_robot, dingtalk_robot, "
    "feishu_robot (a `url` of the vendor's robot; the DingTalk and Feishu robots sign with `secret`), email "
    "(`recipients`), webhook (a `url`, signed like the risk webhooks with `secret`). What a route selects is "
    "queued and sent within the vendor's rate limit (merged when busy, never dropped), retried with backoff. "
    "Administrators only."
)


def _example(name: str, value: dict, *, request: bool = False) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=request, response_only=not request)


RATE_LIMITED = OpenApiResponse(
    ChannelRateLimitedSerializer,
    description="The robot's rate window is full (DingTalk and WeCom 20 a minute, Feishu 5 a second and 100 a "
    "minute): try again after `retry_after` seconds (the Retry-After header). Also the API's own rate limit.",
    examples=[
        _example(
            "Rate window full",
            {
                "error": {
                    "code": "rate_limited",
                    "message": "The robot takes no more messages for now: try again in 12 s.",
                    "fields": {},
                },
                "detail": "The robot takes no more messages for now: try again in 12 s.",
                "retry_after": 12,
            },
        )
    ],
)
NOT_FAILED = error_response(
    "Only a failed message can be sent again: this one is pending or delivered.",
    error_example(
        "409",
        "Not failed",
        code="conflict",
        message="Only a failed message can be sent again; this one is delivered.",
    ),
)


# --- channels ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List channels",
        description=CHANNEL_DESCRIPTION,
        examples=[_example("DingTalk robot", CHANNEL_EXAMPLE)],
    ),
    retrieve=extend_schema(summary="Get a channel", examples=[_example("DingTalk robot", CHANNEL_EXAMPLE)]),
    create=extend_schema(
        summary="Create a channel",
        description=CHANNEL_DESCRIPTION + " A webhook channel created without a `secret` is given one; the answer "
        "carries it in `secret`, this once.",
        responses={201: ChannelCreatedSerializer},
        examples=[
            _example(
                "DingTalk robot",
                {
                    "name": "大客户部钉钉群",
                    "kind": "dingtalk_robot",
                    "url": "https://oapi.dingtalk.com/robot/send?access_token=6f1c…",
                    "secret": "SEC3a9…",
                    "alert_routes": {"payment_overdue": "warning", "concentration_single": "critical"},
                    "digest_time": "08:30",
                },
                request=True,
            ),
            _example(
                "E-mail",
                {"name": "Risk mailbox", "kind": "email", "recipients": ["risk@example.com"], "language": "en"},
                request=True,
            ),
            _example("Webhook created", WEBHOOK_CREATED_EXAMPLE),
        ],
    ),
    update=extend_schema(
        summary="Replace a channel",
        description="`name` and `kind` are required; `kind` must stay the channel's. A blank `secret` keeps it.",
    ),
    partial_update=extend_schema(
        summary="Change a channel",
        description="The fields given change. The kind cannot (400). A blank or missing `secret` keeps the "
        "secret. A new URL, secret or recipients make the waiting retries due at once.",
        examples=[_example("Critical only", {"alert_routes": {"payment_overdue": "critical"}}, request=True)],
    ),
    destroy=extend_schema(summary="Delete a channel, its queue and its delivery log"),
    test=extend_schema(
        summary="Send a test message now",
        description="Sends a test message at once (one attempt, not retried) and answers the delivery with the "
        "vendor's answer: `status` delivered, or failed with the vendor's error code in `error` (a refusal is "
        "still a 200). 429 when the robot's rate window is full.",
        request=None,
        responses={200: ChannelDeliverySerializer, 429: RATE_LIMITED},
        examples=[_example("Refused by the vendor", DELIVERY_EXAMPLE)],
    ),
)
class ChannelViewSet(TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Channels: where the workspace's alerts, SLA breaches and daily digest are sent."""

    queryset = Channel.objects.all()
    serializer_class = ChannelSerializer
    ordering = ("-id",)
    filter_backends = ()
    read_roles = ADMINS
    write_roles = ADMINS
    account_path = None  # the tenant's channels, for its administrators
    fast_list = False  # the list's annotations (waiting, last status) are not columns

    def get_queryset(self) -> QuerySet[Channel]:
        if getattr(self, "swagger_fake_view", False):
            return Channel.objects.none()
        return selectors.channel_list(self.tenant)

    def _answer(self, channel: Channel, *, serializer_class: type[serializers.Serializer] = ChannelSerializer) -> Any:
        """The channel as a GET answers it now (its queue and last message included)."""
        fresh = selectors.channel_list(self.tenant).get(pk=channel.pk)
        return serializer_class(fresh, context=self.get_serializer_context()).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            channel = services.channel_create(self.tenant, actor=self.actor, **body.validated_data)
        return Response(
            self._answer(channel, serializer_class=ChannelCreatedSerializer), status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        channel = self.get_object()
        body = self.get_serializer(channel, data=request.data, partial=kwargs.pop("partial", False))
        body.is_valid(raise_exception=True)
        with service_errors():
            channel = services.channel_update(self.tenant, channel=channel, actor=self.actor, **body.validated_data)
        return Response(self._answer(channel))

    def perform_destroy(self, instance: Channel) -> None:
        with service_errors():
            services.channel_delete(self.tenant, channel=instance, actor=self.actor)

    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        with service_errors():
            outcome = services.channel_test(self.tenant, channel=self.get_object(), actor=self.actor)
        if outcome.delivery is None:
            seconds = max(1, math.ceil(outcome.wait))
            message = _("The robot takes no more messages for now: try again in %(seconds)s s.") % {"seconds": seconds}
            return Response(
                {**error_body("rate_limited", message), "detail": message, "retry_after": seconds},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(seconds)},
            )
        return Response(ChannelDeliverySerializer(outcome.delivery, context=self.get_serializer_context()).data)


# --- the delivery log --------------------------------------------------------------------------------


class ChannelDeliveryFilter(filters.FilterSet):
    channel = IdFilter(field_name="channel_id", help_text="Id of the channel.")
    status = filters.ChoiceFilter(choices=DeliveryStatus.choices)
    topic = filters.ChoiceFilter(choices=ItemTopic.choices)

    class Meta:
        model = ChannelDelivery
        fields = ("channel", "status", "topic")


@extend_schema_view(
    list=extend_schema(
        summary="List channel deliveries",
        description="The delivery log of the channels, newest first: each message (one or more items merged), its "
        "attempts, the vendor's last answer and the error. Kept 30 days. Administrators only.",
        examples=[_example("Refused by the vendor", DELIVERY_EXAMPLE)],
    ),
    retrieve=extend_schema(summary="Get a channel delivery", examples=[_example("Delivery", DELIVERY_EXAMPLE)]),
    send_again=extend_schema(
        summary="Send a failed message again",
        description="A failed delivery goes back in its channel's queue with its attempts started again (status "
        "pending); it is sent as the rate window allows. A pending or delivered one is a 409.",
        request=None,
        responses={200: ChannelDeliverySerializer, 409: NOT_FAILED},
    ),
)
class ChannelDeliveryViewSet(
    TenantApiViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The delivery log of the workspace's channels."""

    queryset = ChannelDelivery.objects.all()
    serializer_class = ChannelDeliverySerializer
    filterset_class = ChannelDeliveryFilter
    filter_backends = (DjangoFilterBackend,)
    ordering = ("-id",)
    read_roles = ADMINS
    write_roles = ADMINS
    account_path = None  # the tenant's, for its administrators

    @action(detail=True, methods=["post"], url_path="send-again", filter_backends=())
    def send_again(self, request: Request, pk: str | None = None) -> Response:
        record = self.get_object()
        with service_errors():
            sent = record.status == DeliveryStatus.FAILED and services.delivery_send_again(self.tenant, record=record)
        if not sent:
            record.refresh_from_db()
            message = _("Only a failed message can be sent again; this one is %(status)s.") % {
                "status": record.get_status_display().lower()
            }
            return Response(error_body("conflict", message), status=status.HTTP_409_CONFLICT)
        record.refresh_from_db()
        return Response(self.get_serializer(record).data)


def register(router: Any) -> None:
    router.register("channels", ChannelViewSet, basename="api-channel")
    router.register("channel-deliveries", ChannelDeliveryViewSet, basename="api-channel-delivery")
