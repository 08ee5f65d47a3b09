"""Team and plan pages, under /t/<tenant_slug>/teams/ (kam/urls.py)."""

from __future__ import annotations

from django.urls import path

from teams import views

ACCOUNT = "accounts/<int:account_id>/"
PLAN = ACCOUNT + "plan/<int:plan_id>/"

urlpatterns = [
    path("", views.overview, name="teams-overview"),
    path("people/", views.people, name="teams-people"),
    path("my-actions/", views.my_actions, name="teams-my-actions"),
    path("rules/", views.rules, name="teams-rules"),
    path("rules/new/", views.rule_create, name="teams-rule-create"),
    path("rules/<int:rule_id>/", views.rule_edit, name="teams-rule-edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="teams-rule-delete"),
    # The account page's "team" tab (accounts/tabs.py) and its in-place edits.
    path(ACCOUNT, views.account_tab, name="teams-account-tab"),
    path(ACCOUNT + "lead/", views.team_lead, name="teams-lead"),
    path(ACCOUNT + "build/", views.team_build, name="teams-build"),
    path(ACCOUNT + "members/new/", views.member_create, name="teams-member-create"),
    path(ACCOUNT + "members/<int:member_id>/edit/", views.member_edit, name="teams-member-edit"),
    path(ACCOUNT + "members/<int:member_id>/remove/", views.member_remove, name="teams-member-remove"),
    path(ACCOUNT + "links/new/", views.link_create, name="teams-link-create"),
    path(ACCOUNT + "links/<int:link_id>/edit/", views.link_edit, name="teams-link-edit"),
    path(ACCOUNT + "links/<int:link_id>/end/", views.link_end, name="teams-link-end"),
    # The account plan (客户计划).
    path(ACCOUNT + "plan/", views.plan_page, name="teams-plan"),
    path(ACCOUNT + "plan/new/", views.plan_create, name="teams-plan-create"),
    path(PLAN + "edit/", views.plan_edit, name="teams-plan-edit"),
    path(PLAN + "initiatives/new/", views.initiative_form, name="teams-initiative-create"),
    path(PLAN + "initiatives/<int:initiative_id>/edit/", views.initiative_form, name="teams-initiative-edit"),
    path(PLAN + "initiatives/<int:initiative_id>/delete/", views.initiative_delete, name="teams-initiative-delete"),
    path(PLAN + "actions/new/", views.action_form, name="teams-action-create"),
    path(PLAN + "actions/<int:action_id>/edit/", views.action_form, name="teams-action-edit"),
    path(PLAN + "actions/<int:action_id>/status/", views.action_status, name="teams-action-status"),
    path(PLAN + "actions/<int:action_id>/delete/", views.action_delete, name="teams-action-delete"),
]
