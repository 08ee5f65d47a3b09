"""Notifications API (DESIGN section 8): the caller's in-app notifications, their unread
count, and marking them read.

A notification belongs to one person in one tenant, so these endpoints answer signed-in
people (the browser session) only: an API token acts for the tenant, not for a person,
and is refused (403). Every role reads and marks its own; nobody reaches another user's
or another tenant's notifications. Marking read goes through risk.services.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.openapi import KamAutoSchema
from kam.api.fields import MAX_ID
from kam.api.permissions import TenantAccess
from kam.api.viewsets import TenantViewSetMixin
from kam.models import ApiToken
from kam.permissions import ALL_ROLES
from risk import selectors, services
from risk.models import Notification

MARK_READ_LIMIT = 500


class PeopleOnly(permissions.BasePermission):
    """Notifications are a person's: an API token, which has none, is refused."""

    message = _("Notifications belong to people; an API token has none. Sign in to read yours.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return not isinstance(request.auth, ApiToken)


class NotificationSerializer(serializers.ModelSerializer):
    alert = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Id of the alert it is about, if any."
    )
    link = serializers.CharField(read_only=True, help_text="The page to open, a path of this site; may be empty.")
    read_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="When it was read; null: unread.")

    class Meta:
        model = Notification
        fields = ["id", "kind", "alert", "title", "body", "link", "created_at", "read_at"]
        read_only_fields = fields


class NotificationFilter(filters.FilterSet):
    unread = filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="true: only unread; false: only read."
    )

    class Meta:
        model = Notification
        fields = ("unread",)


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MARK_READ_LIMIT,
        help_text="The notifications to mark read; without it, all of the caller's. Ids that are not the "
        "caller's are ignored.",
    )


UNREAD_COUNT = inline_serializer("NotificationUnreadCount", {"unread": serializers.IntegerField()})
MARK_READ_RESULT = inline_serializer(
    "NotificationMarkReadResult",
    {
        "marked": serializers.IntegerField(help_text="How many were unread and are now read."),
        "unread": serializers.IntegerField(help_text="How many stay unread."),
    },
)
# Documented for the browser session only: a token is refused.
SESSION_ONLY = [{"cookieAuth": []}]
NOTIFICATION_EXAMPLE = {
    "id": 9051,
    "kind": "alert.opened",
    "alert": 311,
    "title": "Payment overdue: 恒通汽车零部件",
    "body": "2 invoices unpaid, up to 48 days past due (356000.00).",
    "link": "/t/huadong/risk/alerts/311/",
    "created_at": "2026-06-30T02:10:05+08:00",
    "read_at": None,
}


@extend_schema_view(
    list=extend_schema(
        summary="List my notifications",
        description=(
            "The signed-in user's in-app notifications in the current workspace, newest first: new and "
            "escalated alerts (`alert.opened`, `alert.escalated`) and alerts assigned to them "
            "(`alert.assigned`). `unread=true` lists the unread ones. Answers the browser session only: "
            "an API token is refused (403)."
        ),
        examples=[OpenApiExample("Notification", value=NOTIFICATION_EXAMPLE, response_only=True)],
        auth=SESSION_ONLY,
    ),
)
class NotificationViewSet(TenantViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Notification.unscoped.all()
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    filter_backends = (filters.DjangoFilterBackend,)
    permission_classes = [TenantAccess, PeopleOnly]
    schema = KamAutoSchema()
    read_roles = ALL_ROLES
    # Marking one's own notifications read is not a write of tenant data: every role may.
    write_roles = ALL_ROLES

    @property
    def tenant(self) -> Any:
        return self.request._request.tenant

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):
            return Notification.unscoped.none()
        return selectors.notifications_of(self.tenant, self.request.user)

    @extend_schema(summary="Count my unread notifications", responses=UNREAD_COUNT, auth=SESSION_ONLY)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request: Request) -> Response:
        return Response({"unread": selectors.unread_notification_count(self.tenant, request.user)})

    @extend_schema(
        summary="Mark my notifications read",
        description="Marks the given `ids` read, or all of the caller's unread notifications without `ids`.",
        request=MarkReadSerializer,
        responses=MARK_READ_RESULT,
        auth=SESSION_ONLY,
        examples=[
            OpenApiExample("Some", value={"ids": [9051, 9052]}, request_only=True),
            OpenApiExample("All", value={}, request_only=True),
            OpenApiExample("Result", value={"marked": 2, "unread": 5}, response_only=True),
        ],
    )
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request: Request) -> Response:
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data.get("ids")
        marked = services.notifications_mark_read(self.tenant, user=request.user, ids=ids)
        return Response({"marked": marked, "unread": selectors.unread_notification_count(self.tenant, request.user)})
