"""Serializers of the teams API. They check the shape of the input; the rules live in
teams.services, which every write goes through. Related ids are looked up in the request
tenant's rows only: another tenant's id in a body is a 400 ("Invalid pk")."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account, Contact
from kam.api.fields import TenantMemberField, tenant_field
from kam.tenancy import tenant_today
from teams import selectors
from teams.models import AccountPlan, AccountTeam, CounterpartLink, Initiative, PlanAction, StaffingRule, TeamMember


class CreateOnlyFieldsMixin:
    # ``create_only_fields`` are given when a row is made and never change: read-only when the
    # serializer holds one instance (an update). No docstring: the schema would take it as the
    # description of every serializer that uses the mixin.

    create_only_fields: tuple[str, ...] = ()
    instance: Any

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            for name in self.create_only_fields:
                fields[name].read_only = True
        return fields


# --- teams -------------------------------------------------------------------------------------------


class GapSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["member", "counterpart"])
    function = serializers.CharField(help_text="Empty: any function.")
    level = serializers.CharField(help_text="Empty: any level.")
    required = serializers.IntegerField()
    filled = serializers.IntegerField()


class CoverageSerializer(serializers.Serializer):
    percent = serializers.IntegerField(allow_null=True, help_text="0..100 rounded down; null: no rules for the tier.")
    required = serializers.IntegerField(help_text="Slots the tier's staffing rules require.")
    filled = serializers.IntegerField(help_text="Slots filled (each rule counts up to its minimum).")
    gaps = GapSerializer(many=True)


class TeamMemberBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = TeamMember
        fields = ("id", "user", "function", "level", "allocation", "since", "until")


class TeamListSerializer(serializers.ListSerializer):
    """Computes the coverage of a whole page of teams at once (selectors.coverage_list:
    four queries), so the list costs the same whatever its length."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        teams = list(data.all() if hasattr(data, "all") else data)
        tenant = self.context["tenant"]
        self.child.coverage_by_account = selectors.coverage_list(
            tenant, [team.account for team in teams], as_of=tenant_today(tenant)
        )
        return super().to_representation(teams)


class TeamSerializer(CreateOnlyFieldsMixin, serializers.ModelSerializer):
    create_only_fields = ("account",)  # a team does not move to another account
    account = tenant_field(Account, help_text="Id of the account; one team per account.")
    lead = TenantMemberField(required=False, allow_null=True, help_text="Id of the team lead: an active member.")
    members = serializers.SerializerMethodField(help_text="The members active today.")
    coverage = serializers.SerializerMethodField(help_text="Coverage of the tier's staffing rules today.")

    class Meta:
        model = AccountTeam
        fields = ("id", "account", "lead", "members", "coverage", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")
        list_serializer_class = TeamListSerializer

    @extend_schema_field(TeamMemberBriefSerializer(many=True))
    def get_members(self, team: AccountTeam) -> list[dict[str, Any]]:
        members = getattr(team, "active_member_list", None)
        if members is None:
            members = selectors.team_member_list(
                self.context["tenant"], team, as_of=tenant_today(self.context["tenant"])
            )
        return TeamMemberBriefSerializer(members, many=True).data

    @extend_schema_field(CoverageSerializer)
    def get_coverage(self, team: AccountTeam) -> dict[str, Any]:
        coverage = getattr(self, "coverage_by_account", {}).get(team.account_id)
        if coverage is None:
            coverage = selectors.coverage_get(self.context["tenant"], team.account)
        return {
            "percent": coverage.percent,
            "required": coverage.required,
            "filled": coverage.filled,
            "gaps": [
                {"kind": g.kind, "function": g.function, "level": g.level, "required": g.required, "filled": g.filled}
                for g in coverage.gaps
            ],
        }


class MatrixLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    user = serializers.IntegerField(source="member.user_id")
    contact = serializers.IntegerField(source="contact_id")
    strength = serializers.CharField()
    target_strength = serializers.CharField()


class MatrixRowSerializer(serializers.Serializer):
    level = serializers.CharField()
    members = serializers.SerializerMethodField()
    contacts = serializers.SerializerMethodField()
    links = MatrixLinkSerializer(many=True)
    gap = serializers.CharField(
        allow_null=True, help_text="nobody | nobody_ours | nobody_theirs | no_executive_link, or null."
    )

    def get_members(self, row: selectors.MatrixRow) -> list[int]:
        return [member.pk for member in row.members]

    def get_contacts(self, row: selectors.MatrixRow) -> list[int]:
        return [contact.pk for contact in row.contacts]


# --- team members ------------------------------------------------------------------------------------


class TeamMemberSerializer(CreateOnlyFieldsMixin, serializers.ModelSerializer):
    create_only_fields = ("team", "user")
    team = tenant_field(AccountTeam, help_text="Id of the team.")
    account = serializers.IntegerField(source="team.account_id", read_only=True)
    user = TenantMemberField(help_text="Id of the person: an active member of the tenant.")
    active = serializers.SerializerMethodField(help_text="On the team today.")
    total_allocation = serializers.IntegerField(
        read_only=True, help_text="The person's allocation % over all their teams today."
    )
    over_allocated = serializers.SerializerMethodField(help_text="The person's total allocation is over 100 %.")

    class Meta:
        model = TeamMember
        fields = (
            "id",
            "team",
            "account",
            "user",
            "function",
            "level",
            "allocation",
            "since",
            "until",
            "active",
            "total_allocation",
            "over_allocated",
        )
        extra_kwargs = {"level": {"required": False}, "since": {"required": False}}

    def get_active(self, member: TeamMember) -> bool:
        today = tenant_today(self.context["tenant"])
        return member.since <= today and (member.until is None or member.until >= today)

    def get_over_allocated(self, member: TeamMember) -> bool:
        return (getattr(member, "total_allocation", None) or 0) > selectors.FULL_ALLOCATION


# --- counterparts ------------------------------------------------------------------------------------


class CounterpartSerializer(CreateOnlyFieldsMixin, serializers.ModelSerializer):
    create_only_fields = ("member", "contact", "started_on")
    member = tenant_field(TeamMember, help_text="Id of our team member.")
    contact = tenant_field(Contact, help_text="Id of the customer's contact, at the team's account.")
    account = serializers.IntegerField(source="contact.account_id", read_only=True)
    level = serializers.CharField(source="contact.level", read_only=True, help_text="The contact's level.")
    active = serializers.SerializerMethodField(
        help_text="Active today: not ended, contact still there, member on the team."
    )

    class Meta:
        model = CounterpartLink
        fields = (
            "id",
            "member",
            "contact",
            "account",
            "level",
            "strength",
            "target_strength",
            "started_on",
            "ended_on",
            "active",
        )
        read_only_fields = ("ended_on",)
        extra_kwargs = {"started_on": {"required": False}}

    def get_active(self, link: CounterpartLink) -> bool:
        today = tenant_today(self.context["tenant"])
        member, contact = link.member, link.contact
        return (
            (link.ended_on is None or link.ended_on > today)
            and link.started_on <= today
            and member.since <= today
            and (member.until is None or member.until >= today)
            and (contact.left_on is None or contact.left_on > today)
        )


class CounterpartEndSerializer(serializers.Serializer):
    ended_on = serializers.DateField(required=False, help_text="The day the link ended; default today.")


# --- plans -------------------------------------------------------------------------------------------


class InitiativeSerializer(CreateOnlyFieldsMixin, serializers.ModelSerializer):
    create_only_fields = ("plan",)
    plan = tenant_field(AccountPlan, help_text="Id of the account plan.")

    class Meta:
        model = Initiative
        fields = ("id", "plan", "kind", "title", "description", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")


class PlanActionSerializer(CreateOnlyFieldsMixin, serializers.ModelSerializer):
    create_only_fields = ("plan",)
    plan = tenant_field(AccountPlan, help_text="Id of the account plan.")
    initiative = tenant_field(
        Initiative, required=False, allow_null=True, help_text="Id of one of the plan's initiatives."
    )
    owner = TenantMemberField(required=False, allow_null=True, help_text="Id of the owner: an active member.")
    overdue = serializers.SerializerMethodField(help_text="Open or in progress after its due day.")

    class Meta:
        model = PlanAction
        fields = (
            "id",
            "plan",
            "initiative",
            "title",
            "owner",
            "due_on",
            "status",
            "overdue",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")

    def get_overdue(self, action: PlanAction) -> bool:
        overdue = getattr(action, "is_overdue", None)
        if overdue is None:
            overdue = action.status in ("open", "in_progress") and action.due_on < tenant_today(self.context["tenant"])
        return bool(overdue)


class NestedInitiativeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Initiative
        fields = ("id", "kind", "title", "description")


class NestedActionSerializer(PlanActionSerializer):
    class Meta(PlanActionSerializer.Meta):
        fields = ("id", "initiative", "title", "owner", "due_on", "status", "overdue")


class PlanSerializer(CreateOnlyFieldsMixin, serializers.ModelSerializer):
    create_only_fields = ("account",)
    account = tenant_field(Account, help_text="Id of the account.")
    initiatives = NestedInitiativeSerializer(many=True, read_only=True)
    actions = NestedActionSerializer(many=True, read_only=True)

    class Meta:
        model = AccountPlan
        fields = (
            "id",
            "account",
            "title",
            "period_start",
            "period_end",
            "objectives",
            "initiatives",
            "actions",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")


# --- staffing rules ----------------------------------------------------------------------------------


class StaffingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = StaffingRule
        fields = ("id", "tier", "kind", "function", "level", "minimum_count")
