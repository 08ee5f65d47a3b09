"""Serializers of the accounts API. They check the shape of the input; the rules live in
accounts.services, which every write goes through.

Related ids are looked up in the request tenant's rows only (the serializer context
carries ``tenant``): another tenant's id is "Invalid pk" like an id that does not exist.
Field names are a contract with integrators (DESIGN section 8): add, never rename.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import (
    Account,
    Contact,
    Contract,
    Event,
    EventKind,
    HealthBand,
    Interaction,
    Invoice,
    Order,
    Tier,
)
from kam.api.fields import MAX_ID, InstantField, TenantMemberField, tenant_field

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
INTERACTION_FIELDS = ("id", "account", "contact", "kind", "occurred_at", "summary")
EVENT_FIELDS = ("id", "account", "kind", "occurred_on", "impact_points", "expires_on", "note")
CONTRACT_FIELDS = ("id", "account", "title", "start_on", "end_on", "value", "auto_renew", "ip_clause", "exclusivity")


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

    class Meta:
        model = Contract
        fields = CONTRACT_FIELDS
