"""Viewsets of the teams API (DESIGN section 8).

Each declares its queryset, serializer, filters and ``account_path``; the base in
kam.api.viewsets narrows the rows to the request's tenant and, for a member, to their
teams' accounts. Managers write only the accounts they own or serve on (an action's owner
may also move its status). Another tenant's id in a URL is a 404. Every write goes
through teams.services, whose ValidationErrors become 400s with field messages.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api.utils import service_errors
from kam.api.viewsets import TenantApiViewSetMixin
from kam.permissions import ALL_ROLES, SCORECARD_EDITORS, WRITERS
from teams import selectors, services
from teams.api import filters, openapi
from teams.api.serializers import (
    CounterpartEndSerializer,
    CounterpartSerializer,
    InitiativeSerializer,
    MatrixRowSerializer,
    PlanActionSerializer,
    PlanSerializer,
    StaffingRuleSerializer,
    TeamMemberSerializer,
    TeamSerializer,
)
from teams.models import AccountPlan, AccountTeam, CounterpartLink, Initiative, PlanAction, StaffingRule, TeamMember

WRITE_DENIED = gettext_lazy("You may only change the teams and plans of accounts you write.")

# --- teams -------------------------------------------------------------------------------------------


@openapi.team_schema
class TeamViewSet(TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Account teams: one per key account, led by a member of the workspace."""

    queryset = AccountTeam.objects.select_related("account", "lead")
    serializer_class = TeamSerializer
    filterset_class = filters.TeamFilter
    ordering_fields = ("id", "created_at")
    ordering = ("id",)
    account_path = "account"
    write_denied_message = WRITE_DENIED

    def get_queryset(self) -> QuerySet:
        members = selectors.team_member_list_active(self.tenant, as_of=self.today).order_by("function", "id")
        return (
            super().get_queryset().prefetch_related(Prefetch("members", queryset=members, to_attr="active_member_list"))
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        self.check_account_writable(data["account"])
        with service_errors():
            serializer.instance = services.team_create(
                self.tenant, account=data["account"], lead=data.get("lead"), actor=self.actor
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        team = serializer.instance
        self.check_account_writable(team.account)
        with service_errors():
            serializer.instance = services.team_update(
                self.tenant,
                team=team,
                lead=serializer.validated_data.get("lead", team.lead),
                actor=self.actor,
            )

    def perform_destroy(self, instance: AccountTeam) -> None:
        self.check_account_writable(instance.account)
        with service_errors():
            services.team_delete(self.tenant, team=instance, actor=self.actor)

    @action(detail=True, methods=["get"])
    def matrix(self, request: Request, pk: str | None = None) -> Response:
        team = self.get_object()
        rows = selectors.counterpart_matrix_get(self.tenant, team.account, team=team, as_of=self.today)
        return Response(MatrixRowSerializer(rows, many=True).data)

    @action(detail=True, methods=["post"])
    def build(self, request: Request, pk: str | None = None) -> Response:
        team = self.get_object()
        self.check_account_writable(team.account)
        with service_errors():
            services.team_build(self.tenant, account=team.account, actor=self.actor)
        return Response(self.get_serializer(self.get_queryset().get(pk=team.pk)).data)


# --- team members ------------------------------------------------------------------------------------


@openapi.team_member_schema
class TeamMemberViewSet(TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Team members: who serves an account, in which function and level, with what allocation."""

    queryset = TeamMember.objects.select_related("team")
    serializer_class = TeamMemberSerializer
    filterset_class = filters.TeamMemberFilter
    ordering_fields = ("id", "since", "allocation")
    ordering = ("id",)
    account_path = "team__account"
    write_denied_message = WRITE_DENIED

    def get_queryset(self) -> QuerySet:
        total = selectors.allocation_subquery(self.tenant, as_of=self.today, user_ref="user_id")
        return super().get_queryset().annotate(total_allocation=Coalesce(total, Value(0)))

    def _reloaded(self, member: TeamMember) -> TeamMember:
        return self.get_queryset().get(pk=member.pk)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_account_writable(data["team"].account)
        with service_errors():
            member = services.team_member_add(self.tenant, actor=self.actor, **data)
        serializer.instance = self._reloaded(member)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        member = serializer.instance
        self.check_account_writable(member.team.account)
        with service_errors():
            member = services.team_member_update(
                self.tenant, member=member, actor=self.actor, **serializer.validated_data
            )
        serializer.instance = self._reloaded(member)

    def perform_destroy(self, instance: TeamMember) -> None:
        self.check_account_writable(instance.team.account)
        with service_errors():
            services.team_member_remove(self.tenant, member=instance, actor=self.actor)


# --- counterparts ------------------------------------------------------------------------------------


@openapi.counterpart_schema
class CounterpartViewSet(
    TenantApiViewSetMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Links are never deleted: POST .../end/ ends one and keeps it in the history."""

    queryset = CounterpartLink.objects.select_related("member", "contact")
    serializer_class = CounterpartSerializer
    filterset_class = filters.CounterpartFilter
    ordering_fields = ("id", "started_on")
    ordering = ("id",)
    account_path = "member__team__account"
    write_denied_message = WRITE_DENIED

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        member = TeamMember.objects.select_related("team__account").get(pk=data["member"].pk)
        self.check_account_writable(member.team.account)
        with service_errors():
            serializer.instance = services.counterpart_link_create(
                self.tenant,
                member=member,
                actor=self.actor,
                **{k: v for k, v in data.items() if k != "member"},
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        link = serializer.instance
        self.check_account_writable(link.contact.account)
        with service_errors():
            serializer.instance = services.counterpart_link_update(
                self.tenant, link=link, actor=self.actor, **serializer.validated_data
            )

    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        link = self.get_object()
        self.check_account_writable(link.contact.account)
        body = CounterpartEndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            link = services.counterpart_link_end(
                self.tenant, link=link, ended_on=body.validated_data.get("ended_on"), actor=self.actor
            )
        return Response(self.get_serializer(link).data)


# --- plans -------------------------------------------------------------------------------------------


@openapi.plan_schema
class PlanViewSet(TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Account plans: a period's objectives for one account."""

    queryset = AccountPlan.objects.all()
    serializer_class = PlanSerializer
    filterset_class = filters.PlanFilter
    ordering_fields = ("id", "period_start")
    ordering = ("id",)
    account_path = "account"
    write_denied_message = WRITE_DENIED

    def get_queryset(self) -> QuerySet:
        actions = selectors.with_overdue(PlanAction.objects.all(), self.today).order_by("due_on", "id")
        return (
            super()
            .get_queryset()
            .prefetch_related(
                Prefetch("initiatives", queryset=Initiative.objects.order_by("id")),
                Prefetch("actions", queryset=actions),
            )
        )

    def _reloaded(self, plan: AccountPlan) -> AccountPlan:
        return self.get_queryset().get(pk=plan.pk)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        account = data.pop("account")
        self.check_account_writable(account)
        with service_errors():
            plan = services.account_plan_create(self.tenant, account=account, actor=self.actor, **data)
        serializer.instance = self._reloaded(plan)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        plan = serializer.instance
        self.check_account_writable(plan.account)
        with service_errors():
            plan = services.account_plan_update(self.tenant, plan=plan, actor=self.actor, **serializer.validated_data)
        serializer.instance = self._reloaded(plan)

    def perform_destroy(self, instance: AccountPlan) -> None:
        self.check_account_writable(instance.account)
        with service_errors():
            services.account_plan_delete(self.tenant, plan=instance, actor=self.actor)


@openapi.initiative_schema
class InitiativeViewSet(TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Initiatives of an account plan (joint lab, shared data platform, co-development, ...)."""

    queryset = Initiative.objects.select_related("plan__account")
    serializer_class = InitiativeSerializer
    filterset_class = filters.InitiativeFilter
    ordering_fields = ("id",)
    ordering = ("id",)
    account_path = "plan__account"
    write_denied_message = WRITE_DENIED

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        plan = data.pop("plan")
        self.check_account_writable(plan.account)
        with service_errors():
            serializer.instance = services.initiative_create(self.tenant, plan=plan, actor=self.actor, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        initiative = serializer.instance
        self.check_account_writable(initiative.plan.account)
        with service_errors():
            serializer.instance = services.initiative_update(
                self.tenant, initiative=initiative, actor=self.actor, **serializer.validated_data
            )

    def perform_destroy(self, instance: Initiative) -> None:
        self.check_account_writable(instance.plan.account)
        with service_errors():
            services.initiative_delete(self.tenant, initiative=instance, actor=self.actor)


@openapi.plan_action_schema
class PlanActionViewSet(TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Actions of an account plan, with owner, due date and status."""

    queryset = PlanAction.objects.select_related("plan__account")
    serializer_class = PlanActionSerializer
    filterset_class = filters.PlanActionFilter
    ordering_fields = ("id", "due_on")
    ordering = ("id",)
    # Members may move the status of their own actions; the rest is checked per account below.
    write_roles = ALL_ROLES
    account_path = "plan__account"
    write_denied_message = WRITE_DENIED

    def get_queryset(self) -> QuerySet:
        return selectors.with_overdue(super().get_queryset(), self.today)

    def _reloaded(self, action: PlanAction) -> PlanAction:
        return self.get_queryset().get(pk=action.pk)

    def _check_role_writes(self) -> None:
        self.require_role(WRITERS, _("You may only change the status of your own actions."))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._check_role_writes()
        data = dict(serializer.validated_data)
        plan = data.pop("plan")
        self.check_account_writable(plan.account)
        with service_errors():
            action = services.plan_action_create(self.tenant, plan=plan, actor=self.actor, **data)
        serializer.instance = self._reloaded(action)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        action = serializer.instance
        data = dict(serializer.validated_data)
        membership = self.membership
        own_status_only = membership is not None and action.owner_id == self.request.user.pk and set(data) <= {"status"}
        if not own_status_only:
            self._check_role_writes()
            self.check_account_writable(action.plan.account)
        with service_errors():
            action = services.plan_action_update(self.tenant, action=action, actor=self.actor, **data)
        serializer.instance = self._reloaded(action)

    def perform_destroy(self, instance: PlanAction) -> None:
        self._check_role_writes()
        self.check_account_writable(instance.plan.account)
        with service_errors():
            services.plan_action_delete(self.tenant, action=instance, actor=self.actor)


# --- staffing rules ----------------------------------------------------------------------------------


@openapi.staffing_rule_schema
class StaffingRuleViewSet(TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Staffing rules: the functions and levels a team of each tier must have."""

    queryset = StaffingRule.objects.all()
    serializer_class = StaffingRuleSerializer
    filterset_fields = ("tier", "kind", "function", "level")
    write_roles = SCORECARD_EDITORS
    ordering_fields = ("id",)
    ordering = ("id",)
    account_path = None  # rules are the tenant's, not an account's

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.staffing_rule_create(
                self.tenant, actor=self.actor, **serializer.validated_data
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.staffing_rule_update(
                self.tenant, rule=serializer.instance, actor=self.actor, **serializer.validated_data
            )

    def perform_destroy(self, instance: StaffingRule) -> None:
        with service_errors():
            services.staffing_rule_delete(self.tenant, rule=instance, actor=self.actor)
