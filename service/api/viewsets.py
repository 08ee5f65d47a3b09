"""Viewsets of the service API (DESIGN sections 8 and 11): customer needs, their thread and
replies.

The base in kam.api.viewsets narrows the rows to the request's tenant; who of its people
sees and works which need is service.selectors' rule, the pages' too: a member sees and works
the needs of the accounts they read and those given to them; a manager works those of the
accounts they write, the triage queue (needs of unknown senders) and those given to them;
administrators and directors all; executives read. Tokens act tenant-wide with their scope.
Every write goes through service.services, whose ValidationErrors become 400s with field
messages.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account
from kam.api.pagination import CursorPagination
from kam.api.utils import service_errors
from kam.api.viewsets import ETagMixin, TenantApiViewSetMixin, etag_of
from kam.models import Role
from kam.permissions import ALL_ROLES, READ_ALL, WRITERS
from service import selectors, services
from service.api import filters, openapi
from service.api.serializers import NeedEntrySerializer, NeedSerializer, NeedUpdateSerializer, ReplySerializer
from service.models import Need, NeedEntry

# The thread reads in the order it was written.
EntryPagination = type("EntryPagination", (CursorPagination,), {"ordering": "id"})


@openapi.need_schema
class NeedViewSet(
    ETagMixin,
    TenantApiViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Customer needs (客户需求) from every channel: classified, routed and held to an SLA."""

    queryset = Need.objects.select_related("category")
    serializer_class = NeedSerializer
    filterset_class = filters.NeedFilter
    ordering_fields = ("received_at", "created_at", "updated_at", "id")
    ordering = ("-received_at", "-id")
    http_method_names = ["get", "post", "patch", "head", "options"]
    read_roles = ALL_ROLES
    write_roles = WRITERS | {Role.MEMBER}
    account_path = "account"

    # --- who works which need ---

    def check_account_workable(self, account: Account | None) -> None:
        """A session user logs or moves needs to the accounts the pages let them log needs for
        (a member those they read, a manager those they write); needs without an account (the
        triage queue) are for the writing roles."""
        membership = self.membership
        if membership is None:
            return
        if account is None:
            self.require_role(
                WRITERS, _("Only managers, directors and administrators triage needs of unknown senders.")
            )
        elif not selectors.account_list_for_logging(self.tenant, membership).filter(pk=account.pk).exists():
            raise PermissionDenied(_("You may only work the needs of the accounts you own or serve on."))

    def check_need_writable(self, need: Need) -> None:
        membership = self.membership
        if membership is not None and need.pk not in selectors.need_id_set_workable(self.tenant, membership, [need]):
            raise PermissionDenied(_("You may only work the needs of the accounts you own or serve on, and yours."))

    def readable_rows(self, rows: QuerySet[Need]) -> QuerySet[Need]:
        # A member sees the needs of the accounts they read and those given to them
        # (service.selectors, the pages' rule too); a token and the roles that read every
        # account see all.
        membership = self.membership
        if membership is None or membership.role in READ_ALL:
            return rows
        return rows & selectors.need_list_visible(self.tenant, membership)

    # --- writes ---

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        contact = data.get("contact")
        self.check_account_workable(data.get("account") or (contact.account if contact is not None else None))
        with service_errors():
            need, created = services.need_create(self.tenant, actor=self.actor, **data)
        if not created and not self.get_queryset().filter(pk=need.pk).exists():
            # the need made before is not one this person reads: say no more than that it exists
            raise ValidationError({"external_ref": [_("A need with this external reference exists already.")]})
        return Response(
            self.get_serializer(need).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return NeedUpdateSerializer if self.action == "partial_update" else NeedSerializer

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.check_if_match(request)
        need = self.get_object()  # locked for the rest of the request (ETagMixin)
        self.check_need_writable(need)
        body = self.get_serializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if changes.get("account") is not None and changes["account"].pk != need.account_id:
            self.check_account_workable(changes["account"])
        with service_errors():
            need = services.need_update(self.tenant, need=need, actor=self.actor, **changes)
        response = Response(NeedSerializer(need, context=self.get_serializer_context()).data)
        response["ETag"] = etag_of(response.data)  # what a GET now answers
        return response

    # --- the thread ---

    @action(detail=True, methods=["post"], filter_backends=())
    def reply(self, request: Request, pk: str | None = None) -> Response:
        need = self.get_object()
        self.check_need_writable(need)
        body = ReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            entry = services.need_reply(
                self.tenant,
                need=need,
                body=body.validated_data["body"],
                internal=body.validated_data["internal"],
                actor=self.actor,
            )
        return Response(NeedEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"], filter_backends=(), pagination_class=EntryPagination)
    def entries(self, request: Request, pk: str | None = None) -> Response:
        need = self.get_object()
        page = self.paginate_queryset(NeedEntry.objects.filter(need=need))
        return self.get_paginated_response(NeedEntrySerializer(page, many=True).data)
