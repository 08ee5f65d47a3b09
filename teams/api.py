"""Teams API (DESIGN section 8): teams/, team-members/, counterparts/, plans/ (with their
initiatives and actions nested), plan-initiatives/ and plan-actions/ to write those, and
staffing-rules/.

Tokens act tenant-wide with their scope; session users are held to accounts.access:
members read only their teams' accounts, managers write only the accounts they own or
serve on (an action's owner may also move its status). Related ids are looked up in the
request tenant's rows only: another tenant's id in a body is a 400 ("Invalid pk"), in a
URL a 404. Every write goes through teams.services.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import can_write, readable_accounts
from accounts.models import Account, Contact
from kam.api.fields import TenantMemberField, TenantPrimaryKeyRelatedField
from kam.api.filters import IdFilter, StableOrderingFilter
from kam.api.schema import KamAutoSchema
from kam.api.utils import actor_of, service_errors
from kam.api.viewsets import TenantViewSetMixin
from kam.models import Membership
from kam.permissions import ALL_ROLES, READ_ALL, SCORECARD_EDITORS, WRITERS
from kam.tenancy import tenant_today
from teams import selectors, services
from teams.models import (
    AccountPlan,
    AccountTeam,
    CounterpartLink,
    Initiative,
    PlanAction,
    StaffingRule,
    TeamMember,
)

# --- shared -------------------------------------------------------------------------------------------


class TeamsApiMixin(TenantViewSetMixin):
    """Tenant-narrowed queryset (kam), documented errors, numeric ids, filters with a stable
    order, and the account rules for session users. ``account_path`` names the account
    from the viewset's model (e.g. ``team__account``)."""

    request: Request
    schema = KamAutoSchema()
    lookup_value_regex = "[0-9]+"
    filter_backends = (filters.DjangoFilterBackend, StableOrderingFilter)
    account_path = "account"

    @property
    def tenant(self) -> Any:
        return self.request._request.tenant

    @property
    def membership(self) -> Membership | None:
        """The session user's membership; None for a token, which acts tenant-wide."""
        return getattr(self.request._request, "membership", None)

    @property
    def today(self) -> Any:
        return tenant_today(self.tenant)

    def get_queryset(self) -> QuerySet:
        rows = super().get_queryset()
        membership = self.membership
        if membership is not None and membership.role not in READ_ALL:
            rows = rows.filter(**{f"{self.account_path}__in": readable_accounts(self.tenant, membership).values("pk")})
        return rows

    def check_writable(self, account: Account) -> None:
        membership = self.membership
        if membership is not None and not can_write(self.tenant, membership, account):
            raise PermissionDenied(_("You may only change the teams and plans of accounts you write."))


def tenant_field(model: type, **kwargs: Any) -> TenantPrimaryKeyRelatedField:
    return TenantPrimaryKeyRelatedField(queryset=model.unscoped.all(), **kwargs)


# --- teams --------------------------------------------------------------------------------------------


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
    """Computes the coverage of a whole page of teams at once (selectors.coverage_for_accounts:
    four queries), so the list costs the same whatever its length."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        teams = list(data.all() if hasattr(data, "all") else data)
        tenant = self.context["tenant"]
        self.child.coverage_by_account = selectors.coverage_for_accounts(
            tenant, [team.account for team in teams], as_of=tenant_today(tenant)
        )
        return super().to_representation(teams)


class TeamSerializer(serializers.ModelSerializer):
    account = tenant_field(Account, help_text="Id of the account; one team per account.")
    lead = TenantMemberField(required=False, allow_null=True, help_text="Id of the team lead: an active member.")
    members = serializers.SerializerMethodField(help_text="The members active today.")
    coverage = serializers.SerializerMethodField(help_text="Coverage of the tier's staffing rules today.")

    class Meta:
        model = AccountTeam
        fields = ("id", "account", "lead", "members", "coverage", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")
        list_serializer_class = TeamListSerializer

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            fields["account"].read_only = True  # a team does not move to another account
        return fields

    @extend_schema_field(TeamMemberBriefSerializer(many=True))
    def get_members(self, team: AccountTeam) -> list[dict[str, Any]]:
        members = getattr(team, "active_member_list", None)
        if members is None:
            members = selectors.team_members(self.context["tenant"], team, as_of=tenant_today(self.context["tenant"]))
        return TeamMemberBriefSerializer(members, many=True).data

    @extend_schema_field(CoverageSerializer)
    def get_coverage(self, team: AccountTeam) -> dict[str, Any]:
        coverage = getattr(self, "coverage_by_account", {}).get(team.account_id)
        if coverage is None:
            coverage = selectors.team_coverage(self.context["tenant"], team.account)
        return {
            "percent": coverage.percent,
            "required": coverage.required,
            "filled": coverage.filled,
            "gaps": [
                {"kind": g.kind, "function": g.function, "level": g.level, "required": g.required, "filled": g.filled}
                for g in coverage.gaps
            ],
        }


class TeamFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    lead = IdFilter(field_name="lead_id")
    tier = filters.CharFilter(field_name="account__tier", help_text="The account's tier: S, A, B or C.")
    member = IdFilter(method="filter_member", help_text="Id of a user on the team today.")

    class Meta:
        model = AccountTeam
        fields = ("account", "lead", "tier")

    def filter_member(self, queryset: QuerySet, name: str, value: int | None) -> QuerySet:
        if value is None:
            return queryset
        tenant = self.request._request.tenant
        serving = selectors.active_members(tenant, as_of=tenant_today(tenant)).filter(user_id=value)
        return queryset.filter(pk__in=serving.values("team_id"))


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


@extend_schema_view(
    list=extend_schema(summary="Account teams", description="Each with its members today and its coverage."),
    create=extend_schema(summary="Create the team of an account"),
    partial_update=extend_schema(summary="Change the team lead"),
    update=extend_schema(summary="Change the team lead"),
    destroy=extend_schema(summary="Delete a team with its members and links"),
)
class TeamViewSet(TeamsApiMixin, viewsets.ModelViewSet):
    queryset = AccountTeam.unscoped.select_related("account", "lead")
    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    ordering_fields = ("id", "created_at")
    ordering = ("id",)

    def get_queryset(self) -> QuerySet:
        members = selectors.active_members(self.tenant, as_of=self.today).order_by("function", "id")
        return (
            super().get_queryset().prefetch_related(Prefetch("members", queryset=members, to_attr="active_member_list"))
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        self.check_writable(data["account"])
        with service_errors():
            serializer.instance = services.team_create(
                self.tenant, account=data["account"], lead=data.get("lead"), actor=actor_of(self.request)
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        team = serializer.instance
        self.check_writable(team.account)
        with service_errors():
            serializer.instance = services.team_update(
                self.tenant,
                team=team,
                lead=serializer.validated_data.get("lead", team.lead),
                actor=actor_of(self.request),
            )

    def perform_destroy(self, instance: AccountTeam) -> None:
        self.check_writable(instance.account)
        with service_errors():
            services.team_delete(self.tenant, team=instance, actor=actor_of(self.request))

    @extend_schema(
        summary="The layered docking matrix (分层对接) of the team",
        description="Per level, top down (executive, managerial, operational): the ids of our members and "
        "of their contacts on that level, the active links, and the gap of the level.",
        responses=MatrixRowSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def matrix(self, request: Request, pk: str | None = None) -> Response:
        team = self.get_object()
        rows = selectors.counterpart_matrix(self.tenant, team.account, team=team, as_of=self.today)
        return Response(MatrixRowSerializer(rows, many=True).data)

    @extend_schema(
        summary="Fill the team's gaps from the staffing rules",
        description="Adds, for each member rule the team misses, the first people suggested (who serves "
        "that function elsewhere first, the least allocated first). Answers the team.",
        request=None,
        responses=TeamSerializer,
    )
    @action(detail=True, methods=["post"])
    def build(self, request: Request, pk: str | None = None) -> Response:
        team = self.get_object()
        self.check_writable(team.account)
        with service_errors():
            services.team_build(self.tenant, account=team.account, actor=actor_of(request))
        return Response(self.get_serializer(self.get_queryset().get(pk=team.pk)).data)


# --- team members ---------------------------------------------------------------------------------------


class TeamMemberSerializer(serializers.ModelSerializer):
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

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            fields["team"].read_only = True
            fields["user"].read_only = True
        return fields

    def get_active(self, member: TeamMember) -> bool:
        today = tenant_today(self.context["tenant"])
        return member.since <= today and (member.until is None or member.until >= today)

    def get_over_allocated(self, member: TeamMember) -> bool:
        return (getattr(member, "total_allocation", None) or 0) > selectors.FULL_ALLOCATION


class TeamMemberFilter(filters.FilterSet):
    team = IdFilter(field_name="team_id")
    account = IdFilter(field_name="team__account_id")
    user = IdFilter(field_name="user_id")
    active = filters.BooleanFilter(method="filter_active", help_text="true: on the team today; false: not.")

    class Meta:
        model = TeamMember
        fields = ("team", "account", "user", "function", "level")

    def filter_active(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        condition = selectors.member_active_q(tenant_today(self.request._request.tenant))
        return queryset.filter(condition) if value else queryset.exclude(condition)


@extend_schema_view(
    list=extend_schema(summary="Team members", description="Past, present and future; filter with ?active=true."),
    create=extend_schema(
        summary="Add a person to a team", description="A total allocation over 100 % is flagged, not refused."
    ),
    destroy=extend_schema(
        summary="Take a person off the team",
        description="Who served a day or more keeps their history: their last day becomes yesterday and "
        "their links end. Someone added today or for a future start is deleted.",
    ),
)
class TeamMemberViewSet(TeamsApiMixin, viewsets.ModelViewSet):
    queryset = TeamMember.unscoped.select_related("team")
    serializer_class = TeamMemberSerializer
    filterset_class = TeamMemberFilter
    account_path = "team__account"
    ordering_fields = ("id", "since", "allocation")
    ordering = ("id",)

    def get_queryset(self) -> QuerySet:
        total = selectors.allocation_subquery(self.tenant, as_of=self.today, user_ref="user_id")
        return super().get_queryset().annotate(total_allocation=Coalesce(total, Value(0)))

    def _reloaded(self, member: TeamMember) -> TeamMember:
        return self.get_queryset().get(pk=member.pk)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_writable(data["team"].account)
        with service_errors():
            member = services.team_member_add(self.tenant, actor=actor_of(self.request), **data)
        serializer.instance = self._reloaded(member)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        member = serializer.instance
        self.check_writable(member.team.account)
        with service_errors():
            member = services.team_member_update(
                self.tenant, member=member, actor=actor_of(self.request), **serializer.validated_data
            )
        serializer.instance = self._reloaded(member)

    def perform_destroy(self, instance: TeamMember) -> None:
        self.check_writable(instance.team.account)
        with service_errors():
            services.team_member_remove(self.tenant, member=instance, actor=actor_of(self.request))


# --- counterparts -----------------------------------------------------------------------------------------


class CounterpartSerializer(serializers.ModelSerializer):
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

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            for name in ("member", "contact", "started_on"):
                fields[name].read_only = True
        return fields

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


class CounterpartFilter(filters.FilterSet):
    account = IdFilter(field_name="member__team__account_id")
    team = IdFilter(field_name="member__team_id")
    member = IdFilter(field_name="member_id")
    contact = IdFilter(field_name="contact_id")
    user = IdFilter(field_name="member__user_id", help_text="Id of our person.")
    level = filters.CharFilter(field_name="contact__level", help_text="The contact's level.")
    active = filters.BooleanFilter(method="filter_active", help_text="true: active today; false: ended or stale.")

    class Meta:
        model = CounterpartLink
        fields = ("account", "team", "member", "contact", "user", "level", "strength")

    def filter_active(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        condition = selectors.link_active_q(tenant_today(self.request._request.tenant))
        return queryset.filter(condition) if value else queryset.exclude(condition)


@extend_schema_view(
    list=extend_schema(
        summary="Counterpart links", description="Our people facing the customer's contacts, with history."
    ),
    create=extend_schema(summary="Link a team member with a contact of the team's account"),
    partial_update=extend_schema(summary="Change the relationship now and the one aimed at"),
    update=extend_schema(summary="Change the relationship now and the one aimed at"),
)
class CounterpartViewSet(
    TeamsApiMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Links are never deleted: POST .../end/ ends one and keeps it in the history."""

    queryset = CounterpartLink.unscoped.select_related("member", "contact")
    serializer_class = CounterpartSerializer
    filterset_class = CounterpartFilter
    account_path = "member__team__account"
    ordering_fields = ("id", "started_on")
    ordering = ("id",)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        member = TeamMember.unscoped.select_related("team__account").get(pk=data["member"].pk)
        self.check_writable(member.team.account)
        with service_errors():
            serializer.instance = services.counterpart_link_create(
                self.tenant,
                member=member,
                actor=actor_of(self.request),
                **{k: v for k, v in data.items() if k != "member"},
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        link = serializer.instance
        self.check_writable(link.contact.account)
        with service_errors():
            serializer.instance = services.counterpart_link_update(
                self.tenant, link=link, actor=actor_of(self.request), **serializer.validated_data
            )

    @extend_schema(
        summary="End a link",
        description="Sets ended_on to today (or the given day); the link stays in the history. Idempotent.",
        request=CounterpartEndSerializer,
        responses=CounterpartSerializer,
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        link = self.get_object()
        self.check_writable(link.contact.account)
        body = CounterpartEndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            link = services.counterpart_link_end(
                self.tenant, link=link, ended_on=body.validated_data.get("ended_on"), actor=actor_of(request)
            )
        return Response(self.get_serializer(link).data)


# --- plans ---------------------------------------------------------------------------------------------


class InitiativeSerializer(serializers.ModelSerializer):
    plan = tenant_field(AccountPlan, help_text="Id of the account plan.")

    class Meta:
        model = Initiative
        fields = ("id", "plan", "kind", "title", "description", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            fields["plan"].read_only = True
        return fields


class PlanActionSerializer(serializers.ModelSerializer):
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

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            fields["plan"].read_only = True
        return fields

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


class PlanSerializer(serializers.ModelSerializer):
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

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            fields["account"].read_only = True
        return fields


class PlanFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    current = filters.BooleanFilter(method="filter_current", help_text="true: the period covers today.")

    class Meta:
        model = AccountPlan
        fields = ("account",)

    def filter_current(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        today = tenant_today(self.request._request.tenant)
        condition = Q(period_start__lte=today, period_end__gte=today)
        return queryset.filter(condition) if value else queryset.exclude(condition)


@extend_schema_view(
    list=extend_schema(summary="Account plans (客户计划)", description="Each with its initiatives and actions nested."),
    create=extend_schema(
        summary="Create an account plan",
        description="Add initiatives and actions with plan-initiatives/ and plan-actions/.",
    ),
)
class PlanViewSet(TeamsApiMixin, viewsets.ModelViewSet):
    queryset = AccountPlan.unscoped.all()
    serializer_class = PlanSerializer
    filterset_class = PlanFilter
    ordering_fields = ("id", "period_start")
    ordering = ("id",)

    def get_queryset(self) -> QuerySet:
        actions = selectors.with_overdue(PlanAction.unscoped.filter(tenant=self.tenant), self.today).order_by(
            "due_on", "id"
        )
        return (
            super()
            .get_queryset()
            .prefetch_related(
                Prefetch("initiatives", queryset=Initiative.unscoped.filter(tenant=self.tenant).order_by("id")),
                Prefetch("actions", queryset=actions),
            )
        )

    def _reloaded(self, plan: AccountPlan) -> AccountPlan:
        return self.get_queryset().get(pk=plan.pk)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        account = data.pop("account")
        self.check_writable(account)
        with service_errors():
            plan = services.account_plan_create(self.tenant, account=account, actor=actor_of(self.request), **data)
        serializer.instance = self._reloaded(plan)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        plan = serializer.instance
        self.check_writable(plan.account)
        with service_errors():
            plan = services.account_plan_update(
                self.tenant, plan=plan, actor=actor_of(self.request), **serializer.validated_data
            )
        serializer.instance = self._reloaded(plan)

    def perform_destroy(self, instance: AccountPlan) -> None:
        self.check_writable(instance.account)
        with service_errors():
            services.account_plan_delete(self.tenant, plan=instance, actor=actor_of(self.request))


class InitiativeFilter(filters.FilterSet):
    plan = IdFilter(field_name="plan_id")
    account = IdFilter(field_name="plan__account_id")

    class Meta:
        model = Initiative
        fields = ("plan", "account", "kind")


@extend_schema_view(
    list=extend_schema(
        summary="Initiatives of account plans",
        description="Joint lab, shared data platform, co-development, training, other.",
    ),
    destroy=extend_schema(
        summary="Delete an initiative", description="Its actions stay in the plan, without an initiative."
    ),
)
class InitiativeViewSet(TeamsApiMixin, viewsets.ModelViewSet):
    queryset = Initiative.unscoped.select_related("plan__account")
    serializer_class = InitiativeSerializer
    filterset_class = InitiativeFilter
    account_path = "plan__account"
    ordering_fields = ("id",)
    ordering = ("id",)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        plan = data.pop("plan")
        self.check_writable(plan.account)
        with service_errors():
            serializer.instance = services.initiative_create(
                self.tenant, plan=plan, actor=actor_of(self.request), **data
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        initiative = serializer.instance
        self.check_writable(initiative.plan.account)
        with service_errors():
            serializer.instance = services.initiative_update(
                self.tenant, initiative=initiative, actor=actor_of(self.request), **serializer.validated_data
            )

    def perform_destroy(self, instance: Initiative) -> None:
        self.check_writable(instance.plan.account)
        with service_errors():
            services.initiative_delete(self.tenant, initiative=instance, actor=actor_of(self.request))


class PlanActionFilter(filters.FilterSet):
    plan = IdFilter(field_name="plan_id")
    account = IdFilter(field_name="plan__account_id")
    initiative = IdFilter(field_name="initiative_id")
    owner = IdFilter(field_name="owner_id")
    overdue = filters.BooleanFilter(field_name="is_overdue", help_text="true: open or in progress after its due day.")
    due_after = filters.DateFilter(field_name="due_on", lookup_expr="gte")
    due_before = filters.DateFilter(field_name="due_on", lookup_expr="lte")

    class Meta:
        model = PlanAction
        fields = ("plan", "account", "initiative", "owner", "status")


@extend_schema_view(
    list=extend_schema(
        summary="Actions of account plans",
        description="Filter ?owner=<user id>&overdue=true for someone's late actions.",
    ),
    create=extend_schema(summary="Add an action to a plan"),
    partial_update=extend_schema(
        summary="Change an action",
        description="Who writes the account changes anything; the action's owner may change its status only.",
    ),
)
class PlanActionViewSet(TeamsApiMixin, viewsets.ModelViewSet):
    queryset = PlanAction.unscoped.select_related("plan__account")
    serializer_class = PlanActionSerializer
    filterset_class = PlanActionFilter
    account_path = "plan__account"
    ordering_fields = ("id", "due_on")
    ordering = ("id",)
    # Members may move the status of their own actions; the rest is checked per account below.
    write_roles = ALL_ROLES

    def get_queryset(self) -> QuerySet:
        return selectors.with_overdue(super().get_queryset(), self.today)

    def _reloaded(self, action: PlanAction) -> PlanAction:
        return self.get_queryset().get(pk=action.pk)

    def _check_role_writes(self) -> None:
        membership = self.membership
        if membership is not None and membership.role not in WRITERS:
            raise PermissionDenied(_("You may only change the status of your own actions."))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._check_role_writes()
        data = dict(serializer.validated_data)
        plan = data.pop("plan")
        self.check_writable(plan.account)
        with service_errors():
            action = services.plan_action_create(self.tenant, plan=plan, actor=actor_of(self.request), **data)
        serializer.instance = self._reloaded(action)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        action = serializer.instance
        data = dict(serializer.validated_data)
        membership = self.membership
        own_status_only = membership is not None and action.owner_id == self.request.user.pk and set(data) <= {"status"}
        if not own_status_only:
            self._check_role_writes()
            self.check_writable(action.plan.account)
        with service_errors():
            action = services.plan_action_update(self.tenant, action=action, actor=actor_of(self.request), **data)
        serializer.instance = self._reloaded(action)

    def perform_destroy(self, instance: PlanAction) -> None:
        self._check_role_writes()
        self.check_writable(instance.plan.account)
        with service_errors():
            services.plan_action_delete(self.tenant, action=instance, actor=actor_of(self.request))


# --- staffing rules -----------------------------------------------------------------------------------


class StaffingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = StaffingRule
        fields = ("id", "tier", "kind", "function", "level", "minimum_count")


@extend_schema_view(
    list=extend_schema(
        summary="Staffing rules per tier",
        description="member: at least minimum_count active members of the function (and level when given); "
        "counterpart: at least minimum_count active links to contacts on the level. Admins and directors edit.",
    )
)
class StaffingRuleViewSet(TeamsApiMixin, viewsets.ModelViewSet):
    queryset = StaffingRule.unscoped.all()
    serializer_class = StaffingRuleSerializer
    filterset_fields = ("tier", "kind", "function", "level")
    write_roles = SCORECARD_EDITORS
    ordering_fields = ("id",)
    ordering = ("id",)

    def get_queryset(self) -> QuerySet:
        return TenantViewSetMixin.get_queryset(self)  # rules are not per account

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.staffing_rule_create(
                self.tenant, actor=actor_of(self.request), **serializer.validated_data
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.staffing_rule_update(
                self.tenant, rule=serializer.instance, actor=actor_of(self.request), **serializer.validated_data
            )

    def perform_destroy(self, instance: StaffingRule) -> None:
        with service_errors():
            services.staffing_rule_delete(self.tenant, rule=instance, actor=actor_of(self.request))
