"""Serializers of the renewals API. They check the shape of the input; the rules (stages and
their moves, the owner a member of the workspace, the new term's dates) live in
renewals.services, which every write goes through. A person of another tenant is "Invalid pk"
like an id that does not exist."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kam.api.fields import TenantMemberField
from kam.tenancy import tenant_today
from renewals.models import OPEN_STAGES, Renewal, RenewalStage
from renewals.services import MAX_NOTE, MAX_REASON, MAX_TITLE

RENEWAL_FIELDS = (
    "id",
    "account",
    "contract",
    "contract_title",
    "contract_end_on",
    "value",
    "stage",
    "owner",
    "due_on",
    "opened_on",
    "note",
    "lost_reason",
    "next_contract",
    "closed_at",
    "overdue",
    "created_at",
    "updated_at",
)


class RenewalSerializer(serializers.ModelSerializer):
    contract_title = serializers.CharField(source="contract.title", read_only=True)
    contract_end_on = serializers.DateField(source="contract.end_on", read_only=True, help_text="The contract's end.")
    value = serializers.DecimalField(
        source="contract.value",
        max_digits=16,
        decimal_places=2,
        read_only=True,
        help_text="The value at stake: the contract's value.",
    )
    owner = TenantMemberField(allow_null=True, required=False, help_text="Id of the person who owns the renewal.")
    next_contract = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Id of the contract signing created (null until signed)."
    )
    overdue = serializers.SerializerMethodField(
        help_text="Open (not signed or lost) and its contract has ended: the alert renewal_overdue."
    )

    class Meta:
        model = Renewal
        fields = RENEWAL_FIELDS
        read_only_fields = tuple(name for name in RENEWAL_FIELDS if name not in ("owner", "due_on", "note"))

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, renewal: Renewal) -> bool:
        today = self.context.get("today")
        if today is None:
            today = self.context["today"] = tenant_today(self.context["tenant"])
        return renewal.stage in OPEN_STAGES and renewal.contract.end_on < today


class RenewalUpdateSerializer(serializers.Serializer):
    owner = TenantMemberField(allow_null=True, required=False, help_text="Id of an active member, or null.")
    due_on = serializers.DateField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE, trim_whitespace=False)


class MoveSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=RenewalStage.choices)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_REASON, help_text="Why it was lost: required for lost."
    )


class SignSerializer(serializers.Serializer):
    start_on = serializers.DateField(required=False, help_text="Default: the day after the old contract's end.")
    end_on = serializers.DateField(required=False, help_text="Default: the start plus the old term's length.")
    value = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, required=False, help_text="Default: the old contract's value."
    )
    title = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TITLE, help_text="Default: the old contract's title."
    )
