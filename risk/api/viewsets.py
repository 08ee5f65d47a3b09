"""Viewsets and views of the risk API (DESIGN section 8).

Each declares its queryset, serializer, filters and ``account_path``; the base in
kam.api.viewsets narrows the rows to the request's tenant and, for a team member, to the
accounts they read. A manager changes the alerts and plans of the accounts they write;
tenant-wide alerts are for administrators and directors. Every write goes through
risk.services, whose ValidationErrors become 400s with field messages.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kam.api.errors import not_found
from kam.api.pagination import CursorPagination
from kam.api.permissions import TenantAccess
from kam.api.utils import query_flag, service_errors
from kam.api.viewsets import AccountRecordMixin, RecordServices, TenantApiMixin, TenantApiViewSetMixin
from kam.models import ApiToken
from kam.permissions import ADMINS, ALL_ROLES, READ_ALL, RUNNERS, SCORECARD_EDITORS, WRITERS
from kam.tenancy import get_object_for_tenant
from risk import selectors, services, tasks
from risk.api import filters, openapi
from risk.api.serializers import (
    AlertSerializer,
    ConcentrationSerializer,
    ContingencyPlanSerializer,
    HealthSerializer,
    MarkReadSerializer,
    NotificationSerializer,
    ResolveSerializer,
    RiskPolicySerializer,
    RiskRunSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from risk.models import (
    ConcentrationSnapshot,
    ContingencyPlan,
    Notification,
    RiskAlert,
    RiskRun,
    RunKind,
    WebhookDelivery,
    WebhookEndpoint,
)

WRITE_DENIED = gettext_lazy("You may only change the risk records of accounts you own or serve on.")

# --- alerts ------------------------------------------------------------------------------------------


@openapi.alert_schema
class AlertViewSet(
    TenantApiViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Risk alerts: open, acknowledged and resolved, with their details."""

    queryset = RiskAlert.objects.select_related("account")
    serializer_class = AlertSerializer
    filterset_class = filters.AlertFilter
    ordering_fields = ("opened_at", "updated_at", "id")
    ordering = ("-id",)
    http_method_names = ["get", "post", "patch", "head", "options"]
    read_roles = ALL_ROLES
    write_roles = WRITERS
    account_path = "account"
    write_denied_message = WRITE_DENIED

    def check_alert_writable(self, alert: RiskAlert) -> None:
        """An account's alert is changed by who writes the account; a tenant-wide one by the runners."""
        if alert.account is None:
            self.require_role(RUNNERS, _("Only administrators and directors may change tenant-wide alerts."))
        else:
            self.check_account_writable(alert.account)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        alert = serializer.instance
        self.check_alert_writable(alert)
        data = serializer.validated_data
        with service_errors():
            serializer.instance = services.alert_update(
                self.tenant,
                alert=alert,
                actor=self.actor,
                **{key: data[key] for key in ("assignee", "snoozed_until") if key in data},
            )

    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        self.check_alert_writable(alert)
        with service_errors():
            alert = services.alert_acknowledge(self.tenant, alert=alert, actor=self.actor)
        return Response(self.get_serializer(alert).data)

    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        self.check_alert_writable(alert)
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            alert = services.alert_resolve(
                self.tenant,
                alert=alert,
                note=body.validated_data.get("note", ""),
                close_actions=body.validated_data.get("close_actions", False),
                actor=self.actor,
            )
        return Response(self.get_serializer(alert).data)


# --- concentration -----------------------------------------------------------------------------------


@openapi.concentration_schema
class ConcentrationView(TenantApiMixin, APIView):
    read_roles = READ_ALL

    def get(self, request: Request) -> Response:
        snapshot = selectors.concentration_latest(self.tenant)
        if snapshot is None:
            return not_found(_("No concentration snapshot yet."))
        return Response(ConcentrationSerializer(snapshot).data)


@openapi.concentration_history_schema
class ConcentrationHistoryViewSet(TenantApiViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Concentration snapshots, newest first."""

    queryset = ConcentrationSnapshot.objects.all()
    serializer_class = ConcentrationSerializer
    read_roles = READ_ALL
    filter_backends = ()
    pagination_class = type("SnapshotPagination", (CursorPagination,), {"ordering": "-as_of"})
    account_path = None  # the tenant's figures


# --- health ------------------------------------------------------------------------------------------


@openapi.account_health_schema
class AccountHealthView(TenantApiMixin, APIView):
    def get(self, request: Request, account_id: int) -> Response:
        account = self.readable_account(account_id)
        assessment = selectors.health_latest(self.tenant, account)
        if assessment is None:
            return not_found(_("Not assessed yet."))
        return Response(HealthSerializer(assessment).data)


# --- risk runs ---------------------------------------------------------------------------------------


@openapi.risk_run_schema
class RiskRunViewSet(TenantApiViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Risk runs: the concentration snapshot and the health assessment, each followed by alert evaluation."""

    queryset = RiskRun.objects.all()
    serializer_class = RiskRunSerializer
    read_roles = READ_ALL
    write_roles = RUNNERS
    ordering = ("-id",)
    filterset_fields = ("status", "kind")
    account_path = None  # runs are the tenant's

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            run = services.risk_run_create(
                self.tenant,
                kind=serializer.validated_data.get("kind", RunKind.FULL),
                as_of=serializer.validated_data.get("as_of"),
                actor=self.actor,
            )
        if query_flag(request, "wait"):
            run = services.risk_run_execute(self.tenant, run=run)
            return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)
        tasks.queue_run(self.tenant, run)
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


# --- contingency plans ---------------------------------------------------------------------------------


@openapi.contingency_plan_schema
class ContingencyPlanViewSet(AccountRecordMixin, viewsets.ModelViewSet):
    """Contingency plans for accounts above a concentration line."""

    queryset = ContingencyPlan.objects.all()
    serializer_class = ContingencyPlanSerializer
    filterset_class = filters.ContingencyPlanFilter
    ordering_fields = ("review_on", "id")
    ordering = ("-id",)
    read_roles = ALL_ROLES
    write_roles = WRITERS
    write_denied_message = WRITE_DENIED
    record_services = RecordServices(
        "plan", services.contingency_plan_create, services.contingency_plan_update, services.contingency_plan_delete
    )


# --- webhooks ----------------------------------------------------------------------------------------


@openapi.webhook_schema
class WebhookEndpointViewSet(TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Webhook endpoints of the workspace: URL, events, signing secret."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    ordering = ("-id",)
    filter_backends = ()
    read_roles = ADMINS
    write_roles = ADMINS
    account_path = None  # the tenant's endpoints, for its administrators

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            endpoint = services.webhook_endpoint_create(self.tenant, actor=self.actor, **serializer.validated_data)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.webhook_endpoint_update(
                self.tenant, endpoint=serializer.instance, actor=self.actor, **serializer.validated_data
            )

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        with service_errors():
            services.webhook_endpoint_delete(self.tenant, endpoint=instance, actor=self.actor)

    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        with service_errors():
            delivery = services.webhook_send_test(self.tenant, endpoint=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        with service_errors():
            endpoint = services.webhook_endpoint_rotate_secret(
                self.tenant, endpoint=self.get_object(), actor=self.actor
            )
        return Response({"id": endpoint.pk, "secret": endpoint.secret})


@openapi.webhook_delivery_schema
class WebhookDeliveryViewSet(TenantApiViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The delivery log of the workspace's webhooks."""

    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    filter_backends = (DjangoFilterBackend,)
    filterset_fields = ("status", "event")
    ordering = ("-id",)
    read_roles = ADMINS
    account_path = None  # the deliveries of the endpoint in the URL

    @cached_property
    def endpoint(self) -> WebhookEndpoint:
        return get_object_for_tenant(WebhookEndpoint.objects.all(), self.tenant, self.kwargs["endpoint_id"])

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        return super().get_queryset().filter(endpoint=self.endpoint)


# --- policy ------------------------------------------------------------------------------------------


@openapi.risk_policy_schema
class RiskPolicyView(TenantApiMixin, APIView):
    read_roles = READ_ALL
    write_roles = SCORECARD_EDITORS

    def get(self, request: Request) -> Response:
        return Response(RiskPolicySerializer(services.risk_policy_of(self.tenant)).data)

    def patch(self, request: Request) -> Response:
        serializer = RiskPolicySerializer(services.risk_policy_of(self.tenant), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            policy = services.risk_policy_update(self.tenant, actor=self.actor, **serializer.validated_data)
        return Response(RiskPolicySerializer(policy).data)


# --- notifications -------------------------------------------------------------------------------------


class PeopleOnly(permissions.BasePermission):
    """Notifications are a person's: an API token, which has none, is refused."""

    message = gettext_lazy("Notifications belong to people; an API token has none. Sign in to read yours.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return not isinstance(request.auth, ApiToken)


@openapi.notification_schema
class NotificationViewSet(TenantApiViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    # The caller's in-app notifications, their unread count, and marking them read. A
    # notification belongs to one person in one tenant, so these endpoints answer signed-in
    # people (the browser session) only: an API token acts for the tenant, not for a person,
    # and is refused (403). Every role reads and marks its own; nobody reaches another user's
    # or another tenant's notifications. (No docstring: the schema would take it as the
    # description of the operations that have none.)

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    filterset_class = filters.NotificationFilter
    filter_backends = (DjangoFilterBackend,)
    permission_classes = [TenantAccess, PeopleOnly]
    read_roles = ALL_ROLES
    # Marking one's own notifications read is not a write of tenant data: every role may.
    write_roles = ALL_ROLES
    account_path = None  # the caller's own

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return selectors.notification_list(self.tenant, self.request.user)

    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request: Request) -> Response:
        return Response({"unread": selectors.notification_count_unread(self.tenant, request.user)})

    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request: Request) -> Response:
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data.get("ids")
        marked = services.notifications_mark_read(self.tenant, user=request.user, ids=ids)
        return Response({"marked": marked, "unread": selectors.notification_count_unread(self.tenant, request.user)})
