"""Serializers of the growth API. They check the shape of the input; the rules (a centre of
the opportunity's account, active offerings, amounts, close dates, owners, stages, codes)
live in growth.opportunities and growth.services, which every write goes through.

Related ids are looked up in the request tenant's rows only: another tenant's account, centre,
offering or person is "Invalid pk" like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Account, Contact
from growth.models import (
    BuyingCentre,
    BuyingCentreKind,
    Offering,
    Opportunity,
    OpportunityOffering,
    ProductLineMapping,
    Stage,
)
from kam.api.fields import TenantMemberField, tenant_field


class OfferingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Offering
        fields = (
            "id",
            "code",
            "name_zh",
            "name_en",
            "category",
            "description",
            "is_active",
            "position",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        # The services decide uniqueness (a clear message, not DRF's generic one).
        validators: list = []


class ProductLineMappingSerializer(serializers.ModelSerializer):
    offering = tenant_field(Offering, help_text="Id of the offering the product line counts for.")

    class Meta:
        model = ProductLineMapping
        fields = ("id", "product_line", "offering", "created_at")
        read_only_fields = ("id", "created_at")
        validators: list = []


class BuyingCentreSerializer(serializers.ModelSerializer):
    account = tenant_field(Account, help_text="Id of the account; a centre stays with its account.")
    decision_maker = tenant_field(
        Contact, required=False, allow_null=True, help_text="Id of a contact of the account who decides."
    )
    kind = serializers.ChoiceField(choices=BuyingCentreKind.choices, default=BuyingCentreKind.BUSINESS_UNIT)
    annual_spend = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        required=False,
        help_text="Estimated annual spend on our categories (its wallet); 0 or more.",
    )

    class Meta:
        model = BuyingCentre
        fields = (
            "id",
            "account",
            "code",
            "name",
            "kind",
            "decision_maker",
            "annual_spend",
            "is_primary",
            "notes",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        validators: list = []


class OpportunitySerializer(serializers.ModelSerializer):
    account = tenant_field(Account, help_text="Id of the account.")
    buying_centre = tenant_field(
        BuyingCentre, required=False, allow_null=True, help_text="Id of a buying centre of the account, or null."
    )
    offerings = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Offering.objects.all(),
        help_text="Ids of active offerings of the catalogue.",
    )
    owner = TenantMemberField(required=False, allow_null=True, help_text="An active member of the tenant, or null.")
    stage = serializers.ChoiceField(
        choices=Stage.choices,
        required=False,
        help_text="lead 10%, qualified 25%, solution 50%, proposal 70%, negotiation 85%, won 100%, lost 0%. "
        "Any stage moves to any other; won and lost set closed_on, an open stage clears it.",
    )
    lost_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="Why it was lost (kept on stage lost only)."
    )
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="0 or more.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    probability = serializers.IntegerField(read_only=True, help_text="The stage's probability, in percent.")
    weighted_amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, help_text="amount x probability / 100."
    )

    class Meta:
        model = Opportunity
        fields = (
            "id",
            "account",
            "buying_centre",
            "offerings",
            "title",
            "amount",
            "expected_close",
            "owner",
            "source",
            "need",
            "initiative",
            "stage",
            "probability",
            "weighted_amount",
            "closed_on",
            "lost_reason",
            "description",
            "version",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "id",
            "source",
            "need",
            "initiative",
            "closed_on",
            "version",
            "created_by",
            "created_at",
            "updated_at",
        )

    def to_representation(self, instance: Opportunity) -> dict[str, Any]:
        data = super().to_representation(instance)
        # the offerings in a stable order, from the prefetched rows when there are some
        data["offerings"] = sorted(data["offerings"])
        return data


def offering_ids(opportunity: Opportunity) -> list[int]:
    return sorted(OpportunityOffering.objects.filter(opportunity=opportunity).values_list("offering_id", flat=True))
