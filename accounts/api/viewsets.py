"""Viewsets of the accounts API (DESIGN section 8).

Each declares its queryset, serializer and filters; the base in kam.api.viewsets narrows
the queryset to the request's tenant and, for a session member, to the accounts they
read. Tokens act tenant-wide with their scope (checked by kam.api.permissions.TenantAccess);
session users are held to accounts.access: members read only their accounts, managers
write only theirs. Every write goes through accounts.services, whose ValidationErrors
become 400s with field messages.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import documents, references, services
from accounts.access import can_create_accounts, can_log_interaction, writable_accounts
from accounts.api import filters, openapi
from accounts.api.serializers import (
    AccountSerializer,
    ContactSerializer,
    ContractDocumentSerializer,
    ContractSerializer,
    EventSerializer,
    InteractionSerializer,
    InvoiceSerializer,
    OrderRowSerializer,
    OrderSerializer,
    PaymentSerializer,
)
from accounts.imports import uploads
from accounts.imports.api import PayloadTooLarge
from accounts.models import Account, Contact, Contract, Event, Interaction, Invoice, Order, Payment
from kam.api.filters import StableOrderingFilter
from kam.api.parsers import KamJSONParser
from kam.api.utils import service_errors
from kam.api.viewsets import (
    AccountRecordMixin,
    ETagMixin,
    RecordServices,
    TenantApiViewSetMixin,
    TenantModelViewSet,
)
from kam.models import Role
from kam.permissions import WRITERS

# One bulk call writes at most this many orders; more is refused before any row is read.
BULK_MAX_ORDERS = 10_000
WRITE_DENIED = gettext_lazy("You may only change the accounts you own or serve on.")


@openapi.account_schema
class AccountViewSet(TenantApiViewSetMixin, TenantModelViewSet):
    """Customer enterprises (accounts) with their group hierarchy, tier, score and health."""

    queryset = Account.objects.all()
    serializer_class = AccountSerializer
    filterset_class = filters.AccountFilter
    ordering_fields = ("name", "created_at", "updated_at", "id")
    ordering = ("name", "id")
    account_path = "id"
    write_denied_message = WRITE_DENIED

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        membership = self.membership
        data = dict(serializer.validated_data)
        if membership is not None:
            if not can_create_accounts(membership):
                raise PermissionDenied(_("Your role may not create accounts."))
            # A manager who creates an account without naming an owner owns it, and so may go on writing it.
            data.setdefault("owner", self.request.user)
        with service_errors():
            serializer.instance = services.account_create(self.tenant, actor=self.actor, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_account_writable(serializer.instance)
        with service_errors():
            serializer.instance = services.account_update(
                self.tenant, account=serializer.instance, actor=self.actor, **serializer.validated_data
            )

    def perform_destroy(self, instance: Account) -> None:
        self.check_account_writable(instance)
        with service_errors():
            services.account_delete(self.tenant, account=instance, actor=self.actor)

    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        account = self.get_object()
        self.check_account_writable(account)
        with service_errors():
            account = services.account_archive(self.tenant, account=account, actor=self.actor)
        return Response(self.get_serializer(account).data)


class AccountRecordViewSet(AccountRecordMixin, TenantModelViewSet):
    """Records that belong to an account: a session user reads them where they read the
    account, and writes them where they write the account."""

    write_denied_message = WRITE_DENIED


@openapi.contact_schema
class ContactViewSet(AccountRecordViewSet):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_class = filters.ContactFilter
    ordering_fields = ("name", "created_at", "updated_at", "id")
    ordering = ("name", "id")
    record_services = RecordServices(
        "contact", services.contact_create, services.contact_update, services.contact_delete
    )


@openapi.order_schema
class OrderViewSet(AccountRecordViewSet):
    queryset = Order.objects.all()
    serializer_class = OrderSerializer
    filterset_class = filters.OrderFilter
    ordering_fields = ("order_date", "id")
    ordering = ("-order_date", "-id")
    record_services = RecordServices("order", services.order_create, services.order_update, services.order_delete)

    def existing_order(self, external_ref: str) -> Order | None:
        return Order.objects.filter(external_ref=external_ref).first()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Idempotent by external_ref: re-sending a recorded order answers 200 with it."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.check_account(serializer.validated_data["account"])
        external_ref = serializer.validated_data.get("external_ref", "")
        if external_ref and (existing := self.existing_order(external_ref)) is not None:
            return Response(self.get_serializer(existing).data, status=status.HTTP_200_OK)
        try:
            self.perform_create(serializer)
        except ValidationError:
            # Another request recorded the same external_ref between our look-up and our insert.
            if external_ref and (existing := self.existing_order(external_ref)) is not None:
                return Response(self.get_serializer(existing).data, status=status.HTTP_200_OK)
            raise
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["post"], filter_backends=(), pagination_class=None, parser_classes=(KamJSONParser,))
    def bulk(self, request: Request) -> Response:
        rows = request.data.get("orders") if isinstance(request.data, dict) else request.data
        if not isinstance(rows, list):
            raise ValidationError({"orders": [_('Send a JSON list of orders, or an object {"orders": [...]}.')]})
        if not rows:
            raise ValidationError({"orders": [_("Send at least one order.")]})
        if len(rows) > BULK_MAX_ORDERS:
            raise ValidationError(
                {
                    "orders": [
                        _("At most %(max)s orders per call; this one has %(count)s. Send them in smaller batches.")
                        % {"max": f"{BULK_MAX_ORDERS:,}", "count": f"{len(rows):,}"}
                    ]
                }
            )
        validated, errors = self.validate_rows(rows)
        accounts = self.resolve_accounts(validated, errors)
        self.check_references(validated, accounts, errors)
        if errors:
            raise ValidationError({"rows": dict(sorted(errors.items(), key=lambda item: int(item[0])))})
        self.check_accounts_writable(set(accounts))
        orders = [{**row, "account": accounts[row["account"]]} for row in validated.values()]
        with service_errors():
            result = services.orders_bulk_create(self.tenant, rows=orders, actor=self.actor)
        return Response(result, status=status.HTTP_201_CREATED if result["created"] else status.HTTP_200_OK)

    def validate_rows(self, rows: list[Any]) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
        """Each row's shape, all rows checked: the valid ones by index, and the errors by index."""
        row_serializer = OrderRowSerializer(context=self.get_serializer_context())
        validated: dict[int, dict[str, Any]] = {}
        errors: dict[str, Any] = {}
        for index, row in enumerate(rows):
            try:
                validated[index] = dict(row_serializer.run_validation(row))
            except ValidationError as exc:
                errors[str(index)] = exc.detail
        return validated, errors

    def resolve_accounts(self, validated: dict[int, dict[str, Any]], errors: dict[str, Any]) -> dict[int, Account]:
        """The batch's account ids, looked up in the tenant with one query; unknown ids are row errors."""
        ids = {row["account"] for row in validated.values()}
        accounts = Account.objects.filter(pk__in=ids).only("id", "tenant_id").in_bulk()
        message = serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"]
        for index, row in validated.items():
            if row["account"] not in accounts:
                errors[str(index)] = {"account": [_(message).format(pk_value=row["account"])]}
        return accounts

    def check_references(
        self, validated: dict[int, dict[str, Any]], accounts: dict[int, Account], errors: dict[str, Any]
    ) -> None:
        """The batch's offering and buying centre codes, checked at once (accounts.references):
        an unknown one is an error of its row."""
        indexes = [index for index, row in validated.items() if row["account"] in accounts and str(index) not in errors]
        found = references.order_reference_errors(self.tenant, [validated[index] for index in indexes])
        for position, fields in found.items():
            errors[str(indexes[position])] = fields

    def check_accounts_writable(self, account_ids: set[int]) -> None:
        membership = self.membership
        if membership is None:
            return
        writable = set(
            writable_accounts(self.tenant, membership).filter(pk__in=account_ids).values_list("pk", flat=True)
        )
        refused = sorted(account_ids - writable)
        if refused:
            raise PermissionDenied(
                _("You may only add orders to the accounts you own or serve on; not to: %(ids)s")
                % {"ids": ", ".join(str(pk) for pk in refused[:20])}
            )


@openapi.invoice_schema
class InvoiceViewSet(AccountRecordViewSet):
    queryset = Invoice.objects.all()
    serializer_class = InvoiceSerializer
    filterset_class = filters.InvoiceFilter
    ordering_fields = ("issued_on", "due_on", "id")
    ordering = ("-issued_on", "-id")
    record_services = RecordServices(
        "invoice", services.invoice_create, services.invoice_update, services.invoice_delete
    )


@openapi.payment_schema
class PaymentViewSet(
    ETagMixin,
    TenantApiViewSetMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Payments received against invoices, written through accounts.services.payment_create and
    payment_delete (which keep the invoice's paid_amount and paid_on); never changed in place."""

    queryset = Payment.objects.select_related("invoice")
    serializer_class = PaymentSerializer
    filterset_class = filters.PaymentFilter
    ordering_fields = ("paid_on", "id")
    ordering = ("-paid_on", "-id")
    account_path = "invoice__account"
    write_denied_message = WRITE_DENIED
    # Created and deleted, never changed in place (ETagMixin would route a PUT).
    http_method_names = ["get", "post", "delete", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_account_writable(data["invoice"].account)
        with service_errors():
            serializer.instance = services.payment_create(self.tenant, actor=self.actor, **data)

    def perform_destroy(self, instance: Payment) -> None:
        self.check_account_writable(instance.invoice.account)
        with service_errors():
            services.payment_delete(self.tenant, payment=instance, actor=self.actor)


@openapi.interaction_schema
class InteractionViewSet(AccountRecordViewSet):
    """Members log interactions on the accounts they read, and change only their own."""

    queryset = Interaction.objects.all()
    serializer_class = InteractionSerializer
    filterset_class = filters.InteractionFilter
    ordering_fields = ("occurred_at", "id")
    ordering = ("-occurred_at", "-id")
    write_roles = WRITERS | {Role.MEMBER}
    record_services = RecordServices(
        "interaction", services.interaction_create, services.interaction_update, services.interaction_delete
    )

    def check_account(self, account: Account) -> None:
        membership = self.membership
        if membership is not None and not can_log_interaction(self.tenant, membership, account):
            raise PermissionDenied(_("You may only log interactions on the accounts you serve."))

    def check_record(self, record: Interaction) -> None:
        membership = self.membership
        if membership is not None and membership.role == Role.MEMBER and record.user_id != membership.user_id:
            raise PermissionDenied(_("You may only change the interactions you logged."))
        super().check_record(record)

    def create_data(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.membership is not None:
            data["user"] = self.request.user
        return data


@openapi.contract_schema
class ContractViewSet(AccountRecordViewSet):
    queryset = Contract.objects.all()
    serializer_class = ContractSerializer
    filterset_class = filters.ContractFilter
    ordering_fields = ("end_on", "start_on", "id")
    ordering = ("-end_on", "-id")
    record_services = RecordServices(
        "contract", services.contract_create, services.contract_update, services.contract_delete
    )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A document upload: its size limit in place before authentication, which may read the
        # body (the session's CSRF check). A Content-Length beyond it is refused unread.
        self.upload_limit = None
        if getattr(self, "action", None) == "document" and request.method == "PUT":
            try:
                self.upload_limit = documents.limit_upload(request._request)
            except uploads.UploadTooLarge as exc:
                raise PayloadTooLarge(documents.too_large_message(exc.size)) from None
        super().initial(request, *args, **kwargs)

    @openapi.contract_document_upload
    @openapi.contract_document_remove
    @action(detail=True, methods=["put", "delete"], parser_classes=(MultiPartParser,), filter_backends=())
    def document(self, request: Request, pk: str | None = None) -> Response:
        self.check_if_match(request)
        contract = self.get_object()
        self.check_record(contract)
        if request.method == "DELETE":
            with service_errors():
                services.contract_update(self.tenant, contract=contract, document=None, actor=self.actor)
            return Response(ContractSerializer(contract, context=self.get_serializer_context()).data)
        body = ContractDocumentSerializer(data=request.data)  # parsed here, through the size limit
        if self.upload_limit is not None and self.upload_limit.too_large:
            raise PayloadTooLarge(documents.too_large_message())
        body.is_valid(raise_exception=True)
        with service_errors():
            services.contract_update(
                self.tenant, contract=contract, document=body.validated_data["document"], actor=self.actor
            )
        return Response(ContractSerializer(contract, context=self.get_serializer_context()).data)


@openapi.event_schema
class AccountEventViewSet(
    TenantApiViewSetMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """accounts/{account_id}/events/: an account's events; recording one rescores it."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    filter_backends = (StableOrderingFilter,)
    ordering_fields = ("occurred_on", "id")
    ordering = ("-occurred_on", "-id")
    account_path = None  # the events of the account in the URL, which is checked readable
    write_denied_message = WRITE_DENIED

    @cached_property
    def account(self) -> Account:
        """The account in the URL: 404 for another tenant's, or one a member does not read."""
        return self.readable_account(self.kwargs["account_id"])

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # The account in the URL before the body: another tenant's is 404 whatever is sent.
        self.account  # noqa: B018

    def get_queryset(self) -> QuerySet[Event]:
        return super().get_queryset().filter(account=self.account)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self.check_account_writable(self.account)
        with service_errors():
            serializer.instance = services.event_create(
                self.tenant, account=self.account, actor=self.actor, **serializer.validated_data
            )
