"""Django admin for teams. Row-level security applies here too: the admin shows a
tenant's rows only inside that tenant's context, so day-to-day work happens in the
team pages and the API; these registrations serve support staff (changes are audited)."""

from __future__ import annotations

from django.contrib import admin

from kam.admin import AuditedAdmin
from teams.models import AccountPlan, AccountTeam, CounterpartLink, Initiative, PlanAction, StaffingRule, TeamMember


@admin.register(StaffingRule)
class StaffingRuleAdmin(AuditedAdmin):
    list_display = ("tenant", "tier", "kind", "function", "level", "minimum_count")
    list_filter = ("tier", "kind")


@admin.register(AccountTeam)
class AccountTeamAdmin(AuditedAdmin):
    list_display = ("tenant", "account", "lead")
    raw_id_fields = ("account", "lead")


@admin.register(TeamMember)
class TeamMemberAdmin(AuditedAdmin):
    list_display = ("tenant", "team", "user", "function", "level", "allocation", "since", "until")
    list_filter = ("function", "level")
    raw_id_fields = ("team", "user")


@admin.register(CounterpartLink)
class CounterpartLinkAdmin(AuditedAdmin):
    list_display = ("tenant", "member", "contact", "strength", "target_strength", "started_on", "ended_on")
    raw_id_fields = ("member", "contact")


@admin.register(AccountPlan)
class AccountPlanAdmin(AuditedAdmin):
    list_display = ("tenant", "account", "title", "period_start", "period_end")
    raw_id_fields = ("account", "created_by")


@admin.register(Initiative)
class InitiativeAdmin(AuditedAdmin):
    list_display = ("tenant", "plan", "kind", "title")
    raw_id_fields = ("plan",)


@admin.register(PlanAction)
class PlanActionAdmin(AuditedAdmin):
    list_display = ("tenant", "plan", "title", "owner", "due_on", "status")
    list_filter = ("status",)
    raw_id_fields = ("plan", "initiative", "owner")
