"""Filters of the teams API lists (django-filter). A bad value is a 400 with the field's
message, never a 500; "today" is the tenant's."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from kam.api.filters import IdFilter
from kam.tenancy import tenant_today
from teams import selectors
from teams.models import AccountPlan, AccountTeam, CounterpartLink, Initiative, PlanAction, TeamMember


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
        serving = selectors.team_member_list_active(tenant, as_of=tenant_today(tenant)).filter(user_id=value)
        return queryset.filter(pk__in=serving.values("team_id"))


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


class InitiativeFilter(filters.FilterSet):
    plan = IdFilter(field_name="plan_id")
    account = IdFilter(field_name="plan__account_id")

    class Meta:
        model = Initiative
        fields = ("plan", "account", "kind")


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
