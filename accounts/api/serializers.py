"""Serializers of the accounts API. They check the shape of the input; the rules live in
accounts.services, which every write goes through.

Related ids are looked up in the request tenant's rows only (the serializer context
carries ``tenant``): another tenant's id is "Invalid pk" like an id that does not exist.
Field names are a contract with integrators (DESIGN section 8): add, never rename.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import (
    IP_PROTECTING,
    Account,
    Contact,
    Contract,
    Event,
    EventKind,
    HealthBand,
    Interaction,
    Invoice,
    Order,
    Payment,
    Tier,
)
from kam.api.fields import MAX_ID, InstantField, TenantMemberField, tenant_field
from kam.tenancy import tenant_today

ACCOUNT_FIELDS = (
    "id",
    "name",
    "legal_name",
    "credit_code",
    "industry",
    "region",
    "parent",
    "owner",
    "status",
    "cooperation_since",
    "tier",
    "score",
    "health_score",
    "health_band",
    "wallet",
    "share_of_wallet",
    "potential_12m",
    "created_at",
    "updated_at",
)
CONTACT_FIELDS = (
    "id",
    "account",
    "name",
    "title",
    "department",
    "level",
    "buying_role",
    "attitude",
    "reports_to",
    "email",
    "phone",
    "left_on",
    "created_at",
    "updated_at",
)
ORDER_FIELDS = (
    "id",
    "account",
    "order_date",
    "amount",
    "cost",
    "product_line",
    "offering",
    "buying_centre",
    "external_ref",
)
INVOICE_FIELDS = ("id", "account", "number", "issued_on", "due_on", "amount", "paid_on", "paid_amount")
PAYMENT_FIELDS = ("id", "invoice", "account", "paid_on", "amount", "reference", "created_at")
INTERACTION_FIELDS = ("id", "account", "contact", "kind", "occurred_at", "summary")
EVENT_FIELDS = ("id", "account", "kind", "occurred_on", "impact_points", "expires_on", "note")
CONTRACT_FIELDS = (
    "id",
    "account",
    "title",
    "start_on",
    "end_on",
    "value",
    "auto_renew",
    "ip_clause",
    "exclusivity",
    # the clause register (DESIGN section 14)
    "notice_days",
    "ip_ownership",
    "confidentiality_until",
    "non_solicit",
    "liability_cap",
    "renewal_of",
    "ip_protected",
    "document_name",
    "document_size",
    "document_type",
    "document_url",
)


def score_field(**kwargs: Any) -> serializers.DecimalField:
    """A score: a JSON number with (at most) two decimals, 0..100."""
    return serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, **kwargs)


class AccountSerializer(serializers.ModelSerializer):
    parent = tenant_field(
        Account, required=False, allow_null=True, help_text="Id of the parent account (group hierarchy)."
    )
    owner = TenantMemberField(
        required=False, allow_null=True, help_text="Id of the account manager: an active member of the tenant."
    )
    score = score_field(read_only=True, allow_null=True, help_text="Current score 0..100 (scoring app).")
    health_score = score_field(read_only=True, allow_null=True, help_text="Current health 0..100 (risk app).")
    # A ratio, as the API's shares are: a number (above 1 when the account buys more than its
    # estimated wallet); null without a wallet (growth app).
    share_of_wallet = serializers.DecimalField(
        max_digits=9,
        decimal_places=4,
        coerce_to_string=False,
        read_only=True,
        allow_null=True,
        help_text="Revenue of the last 12 months / the wallet; null without a wallet.",
    )
    # Blank until the first score run or health assessment: the schema's enum says so too.
    tier = serializers.ChoiceField(
        choices=Tier.choices, allow_blank=True, read_only=True, help_text="Current tier; blank before any score run."
    )
    health_band = serializers.ChoiceField(
        choices=HealthBand.choices,
        allow_blank=True,
        read_only=True,
        help_text="Current health band; blank before any assessment.",
    )

    class Meta:
        model = Account
        fields = ACCOUNT_FIELDS
        # wallet, share_of_wallet and potential_12m: denormalised by growth (DESIGN section 12)
        read_only_fields = (
            "tier",
            "health_band",
            "wallet",
            "share_of_wallet",
            "potential_12m",
            "created_at",
            "updated_at",
        )


class ContactSerializer(serializers.ModelSerializer):
    account = tenant_field(Account)
    reports_to = tenant_field(
        Contact, required=False, allow_null=True, help_text="Id of the contact this one reports to (same account)."
    )

    class Meta:
        model = Contact
        fields = CONTACT_FIELDS
        read_only_fields = ("created_at", "updated_at")


class OrderSerializer(serializers.ModelSerializer):
    account = tenant_field(Account)

    class Meta:
        model = Order
        fields = ORDER_FIELDS
        extra_kwargs = {
            "external_ref": {
                "help_text": "Your system's id of the order, unique in the tenant: re-sending it creates nothing."
            },
            "offering": {
                "help_text": "The code of an offering of the tenant's catalogue (growth); blank: the offering its "
                "product_line maps to. An unknown code is a field error."
            },
            "buying_centre": {
                "help_text": "The code of a buying centre of the order's account (growth); blank: the account's "
                "primary one. An unknown code is a field error."
            },
        }


class OrderRowSerializer(OrderSerializer):
    """One order of a bulk call. The account is a plain id here: the view resolves all the
    batch's ids with one query instead of one per row."""

    account = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class OrderBatchSerializer(serializers.Serializer):
    """The object form of a bulk call; a bare list of orders is accepted as well."""

    orders = OrderRowSerializer(many=True)


class OrderBatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Orders written by this call.")
    already_existed = serializers.IntegerField(
        help_text="Orders skipped because their external_ref was already recorded."
    )


class InvoiceSerializer(serializers.ModelSerializer):
    account = tenant_field(Account)

    class Meta:
        model = Invoice
        fields = INVOICE_FIELDS


class PaymentSerializer(serializers.ModelSerializer):
    invoice = tenant_field(Invoice, help_text="Id of the invoice paid.")
    account = serializers.IntegerField(source="invoice.account_id", read_only=True, help_text="The invoice's account.")
    paid_on = serializers.DateField(
        help_text="The day the money came: not before the invoice's issue, not in the future."
    )
    reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="E.g. the bank transfer's number."
    )

    class Meta:
        model = Payment
        fields = PAYMENT_FIELDS
        read_only_fields = ("created_at",)


class InteractionSerializer(serializers.ModelSerializer):
    account = tenant_field(Account)
    contact = tenant_field(Contact, required=False, allow_null=True, help_text="Id of a contact of the same account.")
    occurred_at = InstantField(help_text="When it happened (ISO 8601, from 1900 on).")

    class Meta:
        model = Interaction
        fields = INTERACTION_FIELDS


class EventSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    impact_points = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        coerce_to_string=False,
        required=False,
        allow_null=True,
        help_text="Points added to the score while active; the kind's default when omitted.",
    )
    expires_on = serializers.DateField(
        required=False, allow_null=True, help_text="End of the effect (exclusive); the kind's default when omitted."
    )

    class Meta:
        model = Event
        fields = EVENT_FIELDS
        read_only_fields = ("account",)


class ContractSerializer(serializers.ModelSerializer):
    account = tenant_field(Account)
    ip_clause = serializers.SerializerMethodField(
        help_text="Deprecated: read `ip_ownership`. True when the IP is ours or joint; read-only (sent, it is ignored)."
    )
    ip_protected = serializers.SerializerMethodField(
        help_text="Whether the contract protects our IP today (the tenant's day): ownership ours or joint, or "
        "confidentiality in force."
    )
    document_url = serializers.SerializerMethodField(
        help_text="Where the document is downloaded (the account's readers, signed in); null without a document."
    )

    class Meta:
        model = Contract
        fields = CONTRACT_FIELDS
        read_only_fields = ("renewal_of", "document_name", "document_size", "document_type")
        extra_kwargs = {
            "notice_days": {"help_text": "Days of notice before the end, 0..730; a renewal opens 30 days earlier."},
            "ip_ownership": {"help_text": "Who owns the IP the work creates: ours, customer, joint or none."},
            "confidentiality_until": {
                "help_text": "Confidentiality agreed until this day (not before `start_on`); null: none agreed."
            },
            "liability_cap": {"help_text": "The liability cap; null: no cap agreed."},
            "renewal_of": {"help_text": "The contract this one renews (set when a renewal is signed)."},
            "document_name": {"help_text": "The document's original file name; empty without a document."},
            "document_size": {"help_text": "The document's size in bytes; null without a document."},
            "document_type": {"help_text": "The document's type, as its content showed it; empty without a document."},
        }

    @extend_schema_field({"type": "boolean", "deprecated": True, "readOnly": True})
    def get_ip_clause(self, contract: Contract) -> bool:
        return contract.ip_ownership in IP_PROTECTING

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_ip_protected(self, contract: Contract) -> bool:
        if "today" not in self.context:
            self.context["today"] = tenant_today(self.context["tenant"])
        return contract.ip_protected(self.context["today"])

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True, "readOnly": True})
    def get_document_url(self, contract: Contract) -> str | None:
        if not contract.document:
            return None
        path = reverse(
            "accounts-contract-document",
            kwargs={
                "tenant_slug": self.context["tenant"].slug,
                "account_id": contract.account_id,
                "contract_id": contract.pk,
            },
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ContractDocumentSerializer(serializers.Serializer):
    """The multipart body of contracts/{id}/document/."""

    document = serializers.FileField(
        help_text="PDF, Word (DOCX), Excel (XLSX), PNG or JPEG, at most 20 MB. The type is checked by the content, "
        "and the name's extension must agree with it."
    )
