"""Viewsets of the renewals API (DESIGN sections 8 and 14): renewals, their stage moves and the
signing that creates the next contract.

The base in kam.api.viewsets narrows the rows to the request's tenant and, for a session member,
to the accounts they read. A renewal is changed by the writers of its account (admins and
directors all, a manager those they own or serve on); members and executives read. Tokens act
tenant-wide with their scope. Every write goes through renewals.services, whose
ValidationErrors answer 400 with field messages. A renewal carries an ETag; a change with a
stale If-Match is a 412.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api.utils import service_errors
from kam.api.viewsets import ETagMixin, TenantApiViewSetMixin, etag_of
from kam.permissions import ALL_ROLES, WRITERS
from renewals import services
from renewals.api import filters
from renewals.api.serializers import MoveSerializer, RenewalSerializer, RenewalUpdateSerializer, SignSerializer
from renewals.models import Renewal

WRITE_DENIED = gettext_lazy("You may only change the renewals of the accounts you own or serve on.")

RENEWAL_EXAMPLE = {
    "id": 311,
    "account": 1024,
    "contract": 5501,
    "contract_title": "年度框架采购协议",
    "contract_end_on": "2026-09-30",
    "value": "2400000.00",
    "stage": "negotiating",
    "owner": 7,
    "due_on": "2026-07-02",
    "opened_on": "2026-06-02",
    "note": "客户要求价格下调 3%。",
    "lost_reason": "",
    "next_contract": None,
    "closed_at": None,
    "overdue": False,
    "created_at": "2026-06-02T01:45:03+08:00",
    "updated_at": "2026-06-20T10:12:40+08:00",
}
SIGNED_EXAMPLE = {
    **RENEWAL_EXAMPLE,
    "stage": "signed",
    "next_contract": 5702,
    "closed_at": "2026-07-15T16:20:00+08:00",
}


def _example(name: str, value: dict, *, request: bool = False) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=request, response_only=not request)


@extend_schema_view(
    list=extend_schema(
        summary="List renewals",
        description="Renewals (续约) of contracts that do not renew themselves, by due date. One opens by itself "
        "when its contract comes within notice_days + 30 days of its end. A session member sees those of the "
        "accounts they read. `stage` may repeat; `open=true` leaves out signed and lost; `overdue=true`: open "
        "and the contract has ended. `value` is the value at stake (the contract's).",
        examples=[_example("Renewal", RENEWAL_EXAMPLE)],
    ),
    retrieve=extend_schema(summary="Get a renewal", examples=[_example("Renewal", RENEWAL_EXAMPLE)]),
    partial_update=extend_schema(
        summary="Change a renewal's owner, due date or note",
        description="`owner` (an active member of the workspace, or null), `due_on`, `note`. The stage moves with "
        "`move`, signing with `sign`.",
        request=RenewalUpdateSerializer,
        responses=RenewalSerializer,
        examples=[_example("New owner", {"owner": 7, "due_on": "2026-07-10"}, request=True)],
    ),
    move=extend_schema(
        summary="Move a renewal to another stage",
        description="Stages: prepare -> proposed -> negotiating -> signed | lost. Allowed: one step forward, "
        "proposed or negotiating to signed (signs with the default terms, as `sign` with no body), any open stage "
        "to lost (`reason` required), lost back to prepare while the contract has not ended. Any other move is a "
        "400 and changes nothing.",
        request=MoveSerializer,
        responses=RenewalSerializer,
        examples=[
            _example("Proposed", {"stage": "proposed"}, request=True),
            _example("Lost", {"stage": "lost", "reason": "客户改为公开招标。"}, request=True),
        ],
    ),
    sign=extend_schema(
        summary="Sign a renewal",
        description="A proposed or negotiating renewal: creates the next contract (`renewal_of` the old one) with "
        "the old contract's terms (auto_renew, notice_days, ip_ownership, exclusivity, non_solicit, "
        "liability_cap; confidentiality_until moved by as many days as the end), and the renewal becomes signed, "
        "naming it in `next_contract`. Defaults: from the day after the old end, as long as the old term, at the "
        "old value and title. The end must come after the start.",
        request=SignSerializer,
        responses=RenewalSerializer,
        examples=[
            _example(
                "New term", {"start_on": "2026-10-01", "end_on": "2027-09-30", "value": "2600000.00"}, request=True
            ),
            _example("Signed", SIGNED_EXAMPLE),
        ],
    ),
)
class RenewalViewSet(
    ETagMixin,
    TenantApiViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Renewals (续约) of contracts, with their stage, owner and due date."""

    queryset = Renewal.objects.select_related("contract")
    serializer_class = RenewalSerializer
    filterset_class = filters.RenewalFilter
    ordering_fields = ("due_on", "opened_on", "created_at", "updated_at", "id")
    ordering = ("due_on", "id")
    http_method_names = ["get", "post", "patch", "head", "options"]
    read_roles = ALL_ROLES
    write_roles = WRITERS
    account_path = "account"
    write_denied_message = WRITE_DENIED
    fast_list = False

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return RenewalUpdateSerializer if self.action == "partial_update" else RenewalSerializer

    def _answer(self, renewal: Renewal) -> Response:
        data = RenewalSerializer(renewal, context=self.get_serializer_context()).data
        response = Response(data)
        response["ETag"] = etag_of(data)  # what a GET now answers
        return response

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.check_if_match(request)
        renewal = self.get_object()  # locked for the rest of the request (ETagMixin)
        self.check_account_writable(renewal.account)
        body = self.get_serializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        with service_errors():
            renewal = services.renewal_update(self.tenant, renewal=renewal, actor=self.actor, **body.validated_data)
        return self._answer(renewal)

    @action(detail=True, methods=["post"], filter_backends=())
    def move(self, request: Request, pk: str | None = None) -> Response:
        renewal = self.get_object()
        self.check_account_writable(renewal.account)
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            renewal = services.renewal_move(
                self.tenant,
                renewal=renewal,
                stage=body.validated_data["stage"],
                reason=body.validated_data.get("reason", ""),
                actor=self.actor,
            )
        return self._answer(renewal)

    @action(detail=True, methods=["post"], filter_backends=())
    def sign(self, request: Request, pk: str | None = None) -> Response:
        renewal = self.get_object()
        self.check_account_writable(renewal.account)
        body = SignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            renewal = services.renewal_sign(self.tenant, renewal=renewal, actor=self.actor, **body.validated_data)
        return self._answer(renewal)


def register(router: Any) -> None:
    router.register("renewals", RenewalViewSet, basename="api-renewal")
