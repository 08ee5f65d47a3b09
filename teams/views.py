"""HTMX pages of teams: the account's team tab (members, the layered docking matrix, gaps),
the teams overview, people and their allocation, staffing rules, the account plan and
"my actions".

Thin: reads come from teams.selectors (and accounts' selectors and access rules), the
display shaping from teams.presenters, writes go through teams.services. Every page works without JavaScript; with htmx a
write answers the part of the page that changed (the team tab, the plan body, a row).
Who may do what: anyone who reads the account reads its team and plan (members read
their teams' accounts); who writes the account edits its team and plan (managers the
accounts they own or serve on, directors and admins all); an action's owner may move
its status. Another tenant's ids are 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from accounts import access
from accounts import tabs as account_tabs
from accounts.models import Account
from accounts.selectors import account_get, account_get_writable
from kam.forms import add_service_errors
from kam.models import Role
from kam.pages import go, is_partial
from kam.permissions import READ_ALL, SCORECARD_EDITORS, WRITERS, tenant_view
from kam.tenancy import get_object_for_tenant, tenant_today
from teams import presenters, selectors, services
from teams.forms import (
    ActionForm,
    ActionStatusForm,
    InitiativeForm,
    LinkForm,
    LinkStrengthForm,
    MemberForm,
    PlanForm,
    StaffingRuleForm,
    TeamLeadForm,
    rule_initial,
)
from teams.models import (
    DEFAULT_LEVEL_BY_FUNCTION,
    AccountPlan,
    CounterpartLink,
    Initiative,
    Level,
    PlanAction,
    StaffingRule,
    TeamMember,
)

OVERVIEW_PAGE_SIZE = 25
PEOPLE_PAGE_SIZE = 50
ACTIONS_PAGE_SIZE = 50


# --- helpers ---------------------------------------------------------------------------------------


def _today(request: HttpRequest) -> dt.date:
    return tenant_today(request.tenant)


def _focus_first(request: HttpRequest, form: Any) -> None:
    """A form opened in place by htmx takes the focus on its first field."""
    if request.htmx and request.method == "GET":
        first = next(iter(form.fields.values()))
        first.widget.attrs["autofocus"] = True


def _can_edit(request: HttpRequest, account: Account) -> bool:
    return access.can_write(request.tenant, request.membership, account)


def _team_page_url(request: HttpRequest, account: Account) -> str:
    return account_tabs.page_url(request.tenant.slug, account.pk, "team")


def _plan_url(request: HttpRequest, account: Account, plan: AccountPlan | None = None) -> str:
    url = reverse("teams-plan", kwargs={"tenant_slug": request.tenant.slug, "account_id": account.pk})
    return f"{url}?plan={plan.pk}" if plan is not None else url


# --- the account's team tab ------------------------------------------------------------------------


def _team_context(request: HttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    tenant, today = request.tenant, _today(request)
    team = selectors.team_get(tenant, account)
    members = selectors.team_member_list(tenant, team, as_of=today) if team else []
    totals = selectors.allocation_list(tenant, user_ids=[member.user_id for member in members], as_of=today)
    members = presenters.members_with_allocation(members, totals)
    coverage = selectors.coverage_get(tenant, account, as_of=today)
    can_edit = _can_edit(request, account)
    proposals = selectors.slot_proposal_list(tenant, account, as_of=today) if can_edit else []
    return {
        "account": account,
        "team": team,
        "members": members,
        "by_function": presenters.members_by_function(members),
        "coverage": coverage,
        "matrix": selectors.counterpart_matrix_get(tenant, account, team=team, as_of=today),
        "former_members": selectors.team_member_list_former(tenant, team, as_of=today) if team else [],
        "ended_links": selectors.counterpart_link_list_ended(tenant, team, as_of=today) if team else [],
        "gap_rows": presenters.gap_rows(coverage, proposals),
        "proposals": proposals,
        "plan": selectors.account_plan_get_current(tenant, account, as_of=today),
        "lead_form": TeamLeadForm(tenant=tenant, team=team) if can_edit and team else None,
        "can_edit": can_edit,
        "today": today,
        "full_allocation": selectors.FULL_ALLOCATION,
        **extra,
    }


def _team_tab(request: HttpRequest, account: Account, **extra: Any) -> HttpResponse:
    return render(request, "teams/account_tab.html", _team_context(request, account, **extra))


def _team_written(request: HttpRequest, account: Account, notice: str) -> HttpResponse:
    """After a write: the whole tab again with a notice (htmx), or the account page on its team tab."""
    if request.htmx:
        response = _team_tab(request, account, notice=notice)
        return reswap(retarget(response, "#team-tab"), "outerHTML")
    messages.success(request, notice)
    return redirect(_team_page_url(request, account))


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def account_tab(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(request.tenant, request.membership, account_id)
    if not account_tabs.is_tab_request(request):
        return redirect(_team_page_url(request, account))
    return _team_tab(request, account)


@tenant_view(roles=WRITERS)
@require_POST
def team_lead(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    team = services.team_get_or_create(request.tenant, account=account, actor=request.user)
    form = TeamLeadForm(request.POST, tenant=request.tenant, team=team)
    if form.is_valid():
        try:
            services.team_update(request.tenant, team=team, lead=form.cleaned_data["lead"], actor=request.user)
        except ValidationError as exc:
            return _team_written(request, account, " ".join(exc.messages))
        return _team_written(request, account, _("The team lead was saved."))
    return _team_written(request, account, _("Choose a member of this workspace as team lead."))


@tenant_view(roles=WRITERS)
@require_POST
def team_build(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    added = services.team_build(request.tenant, account=account, actor=request.user)
    if added:
        names = ", ".join(f"{member.user.display_name} ({member.get_function_display()})" for member in added)
        notice = _("Added from the staffing rules: %(names)s.") % {"names": names}
    else:
        notice = _("The team already has every function its tier's rules ask for.")
    return _team_written(request, account, notice)


# --- members ---------------------------------------------------------------------------------------


def _member_form_response(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    template = "teams/member_form.html#member-form" if is_partial(request) else "teams/member_form.html"
    return render(request, template, context, status=status)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def member_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    today = _today(request)
    initial = {name: request.GET[name] for name in ("user", "function", "level") if request.GET.get(name)}
    if "function" in initial and "level" not in initial and initial["function"] in DEFAULT_LEVEL_BY_FUNCTION:
        initial["level"] = DEFAULT_LEVEL_BY_FUNCTION[initial["function"]]
    form = MemberForm(
        request.POST or None,
        tenant=request.tenant,
        today=today,
        initial={"since": today, "allocation": services.DEFAULT_ALLOCATION, "level": Level.MANAGERIAL, **initial},
    )
    _focus_first(request, form)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_get_or_create(request.tenant, account=account, actor=request.user)
            member = services.team_member_add(request.tenant, team=team, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            notice = _("%(name)s joined the team as %(function)s.") % {
                "name": member.user.display_name,
                "function": member.get_function_display(),
            }
            return _team_written(request, account, notice)
    context = {"form": form, "account": account, "member": None}
    return _member_form_response(request, context, status=400 if form.errors else 200)


def _member_of(request: HttpRequest, account: Account, member_id: int) -> TeamMember:
    members = TeamMember.objects.filter(team__account=account).select_related("user", "team")
    return get_object_for_tenant(members, request.tenant, member_id)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, account_id: int, member_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    member = _member_of(request, account, member_id)
    form = MemberForm(request.POST or None, tenant=request.tenant, member=member, today=_today(request))
    _focus_first(request, form)
    if request.method == "POST" and form.is_valid():
        data = {name: value for name, value in form.cleaned_data.items() if name != "user"}
        try:
            services.team_member_update(request.tenant, member=member, actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            member.refresh_from_db()
        else:
            return _team_written(request, account, _("%(name)s was saved.") % {"name": member.user.display_name})
    context = {"form": form, "account": account, "member": member}
    return _member_form_response(request, context, status=400 if form.errors else 200)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, account_id: int, member_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    member = _member_of(request, account, member_id)
    if request.method == "GET":  # the confirmation, for browsers without JavaScript
        return render(request, "teams/confirm.html", {"account": account, "action": "remove_member", "member": member})
    services.team_member_remove(request.tenant, member=member, actor=request.user)
    return _team_written(request, account, _("%(name)s left the team.") % {"name": member.user.display_name})


# --- counterpart links ------------------------------------------------------------------------------


def _link_of(request: HttpRequest, account: Account, link_id: int) -> CounterpartLink:
    links = CounterpartLink.objects.filter(member__team__account=account).select_related("member__user", "contact")
    return get_object_for_tenant(links, request.tenant, link_id)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def link_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    team = selectors.team_get(request.tenant, account)
    if team is None:
        team = services.team_get_or_create(request.tenant, account=account, actor=request.user)
    initial = {name: request.GET[name] for name in ("member", "contact") if request.GET.get(name, "").isdigit()}
    form = LinkForm(
        request.POST or None, tenant=request.tenant, team=team, account=account, today=_today(request), initial=initial
    )
    _focus_first(request, form)
    if request.method == "POST" and form.is_valid():
        try:
            link = services.counterpart_link_create(request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            notice = _("%(ours)s now faces %(theirs)s.") % {
                "ours": link.member.user.display_name,
                "theirs": link.contact.name,
            }
            return _team_written(request, account, notice)
    context = {"form": form, "account": account}
    template = "teams/link_form.html#link-form" if is_partial(request) else "teams/link_form.html"
    return render(request, template, context, status=400 if form.errors else 200)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def link_edit(request: HttpRequest, account_id: int, link_id: int) -> HttpResponse:
    """The link's strengths, changed in place: htmx swaps the link for a small form and back."""
    account = account_get_writable(request.tenant, request.membership, account_id)
    link = _link_of(request, account, link_id)
    form = LinkStrengthForm(request.POST or None, link=link)
    if request.method == "POST" and form.is_valid():
        try:
            services.counterpart_link_update(request.tenant, link=link, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            link.refresh_from_db()
        else:
            notice = _("The relationship of %(ours)s with %(theirs)s was saved.") % {
                "ours": link.member.user.display_name,
                "theirs": link.contact.name,
            }
            return _team_written(request, account, notice)
    context = {"form": form, "account": account, "link": link}
    template = "teams/link_edit.html#link-edit" if is_partial(request) else "teams/link_edit.html"
    return render(request, template, context, status=400 if form.errors else 200)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def link_end(request: HttpRequest, account_id: int, link_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    link = _link_of(request, account, link_id)
    if request.method == "GET":
        return render(request, "teams/confirm.html", {"account": account, "action": "end_link", "link": link})
    services.counterpart_link_end(request.tenant, link=link, actor=request.user)
    notice = _("The link of %(ours)s with %(theirs)s ended; it stays in the history.") % {
        "ours": link.member.user.display_name,
        "theirs": link.contact.name,
    }
    return _team_written(request, account, notice)


# --- overview, people, rules ----------------------------------------------------------------------


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def overview(request: HttpRequest) -> HttpResponse:
    tier = request.GET.get("tier", "")
    if tier not in selectors.OVERVIEW_TIERS:
        tier = ""
    accounts = selectors.key_account_list(request.tenant, request.membership, tier=tier)
    page = Paginator(accounts, OVERVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    accounts_shown = list(page.object_list)
    coverage = selectors.coverage_list(request.tenant, accounts_shown, as_of=_today(request))
    rows = presenters.overview_rows(accounts_shown, coverage)
    context = {
        "page": page,
        "rows": rows,
        "tier": tier,
        "counts": selectors.key_account_count(request.tenant, request.membership),
        "query": f"tier={tier}" if tier else "",
    }
    template = "teams/overview.html#overview-rows" if is_partial(request) else "teams/overview.html"
    return render(request, template, context)


@tenant_view(roles=READ_ALL)
@require_GET
@vary_on_headers("HX-Request")
def people(request: HttpRequest) -> HttpResponse:
    people = selectors.user_list_with_allocation(request.tenant, as_of=_today(request))
    only_over = request.GET.get("over") == "1"
    if only_over:
        people = people.filter(over_allocated=True)
    page = Paginator(people, PEOPLE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "only_over": only_over,
        "query": "over=1" if only_over else "",
        "full_allocation": selectors.FULL_ALLOCATION,
    }
    template = "teams/people.html#people-rows" if is_partial(request) else "teams/people.html"
    return render(request, template, context)


def _rules_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "tiers": presenters.rules_by_tier(selectors.staffing_rule_list(request.tenant)),
        "can_edit": request.membership.role in SCORECARD_EDITORS,
        "form": StaffingRuleForm(),
        **extra,
    }


def _rules_written(request: HttpRequest, notice: str) -> HttpResponse:
    if request.htmx:
        response = render(request, "teams/rules.html#rules-body", _rules_context(request, notice=notice))
        return reswap(retarget(response, "#rules-body"), "outerHTML")
    messages.success(request, notice)
    return redirect("teams-rules", tenant_slug=request.tenant.slug)


@tenant_view()
@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    return render(request, "teams/rules.html", _rules_context(request))


@tenant_view(roles=SCORECARD_EDITORS)
@require_POST
def rule_create(request: HttpRequest) -> HttpResponse:
    form = StaffingRuleForm(request.POST)
    if form.is_valid():
        try:
            services.staffing_rule_create(request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _rules_written(request, _("The staffing rule was added."))
    context = _rules_context(request, form=form)
    template = "teams/rules.html#rules-body" if is_partial(request) else "teams/rules.html"
    return render(request, template, context, status=400)


@tenant_view(roles=SCORECARD_EDITORS)
@require_POST
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_for_tenant(StaffingRule, request.tenant, rule_id)
    form = StaffingRuleForm({**rule_initial(rule), "minimum_count": request.POST.get("minimum_count", "")})
    if form.is_valid():
        try:
            services.staffing_rule_update(
                request.tenant, rule=rule, actor=request.user, minimum_count=form.cleaned_data["minimum_count"]
            )
        except ValidationError as exc:
            return _rules_written(request, " ".join(exc.messages))
        return _rules_written(request, _("The staffing rule was saved."))
    return _rules_written(request, " ".join(form.errors.get("minimum_count", [_("Enter a minimum from 1 to 20.")])))


@tenant_view(roles=SCORECARD_EDITORS)
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_for_tenant(StaffingRule, request.tenant, rule_id)
    if request.method == "GET":
        return render(request, "teams/confirm.html", {"action": "delete_rule", "rule": rule})
    services.staffing_rule_delete(request.tenant, rule=rule, actor=request.user)
    return _rules_written(request, _("The staffing rule was deleted."))


# --- account plan ------------------------------------------------------------------------------------


def _plan_of(request: HttpRequest, account: Account, plan_id: Any) -> AccountPlan:
    return get_object_for_tenant(AccountPlan.objects.filter(account=account), request.tenant, plan_id)


def _plan_context(request: HttpRequest, account: Account, plan: AccountPlan | None, **extra: Any) -> dict[str, Any]:
    tenant, today = request.tenant, _today(request)
    actions = list(selectors.plan_action_list(tenant, plan, as_of=today)) if plan else []
    initiatives = list(selectors.initiative_list(tenant, plan)) if plan else []
    can_edit = _can_edit(request, account)
    presenters.plan_actions_arranged(initiatives, actions, can_edit=can_edit, user_id=request.user.pk)
    return {
        "account": account,
        "plan": plan,
        "plans": list(selectors.account_plan_list(tenant, account)),
        "initiatives": initiatives,
        "actions": actions,
        "overdue_count": sum(1 for action in actions if action.is_overdue),
        "can_edit": can_edit,
        "today": today,
        "status_form": ActionStatusForm(),
        **extra,
    }


def _plan_written(request: HttpRequest, account: Account, plan: AccountPlan | None, notice: str) -> HttpResponse:
    if request.htmx:
        response = render(request, "teams/plan.html#plan-body", _plan_context(request, account, plan, notice=notice))
        return reswap(retarget(response, "#plan-body"), "outerHTML")
    messages.success(request, notice)
    return redirect(_plan_url(request, account, plan))


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def plan_page(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(request.tenant, request.membership, account_id)
    wanted = request.GET.get("plan")
    if wanted:
        plan = _plan_of(request, account, wanted)
    else:
        plan = selectors.account_plan_get_current(request.tenant, account, as_of=_today(request))
    context = _plan_context(request, account, plan)
    template = "teams/plan.html#plan-body" if is_partial(request) else "teams/plan.html"
    return render(request, template, context)


def _form_response(
    request: HttpRequest, template: str, partial: str, context: dict[str, Any], form: Any
) -> HttpResponse:
    name = f"{template}#{partial}" if is_partial(request) else template
    return render(request, name, context, status=400 if form.errors else 200)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    form = PlanForm(request.POST or None, today=_today(request))
    _focus_first(request, form)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.account_plan_create(
                request.tenant, account=account, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The account plan was created."))
            url = _plan_url(request, account, plan)
            return go(request, url)
    context = {"form": form, "account": account, "plan": None}
    return _form_response(request, "teams/plan_form.html", "plan-form", context, form)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, account_id: int, plan_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    plan = _plan_of(request, account, plan_id)
    form = PlanForm(request.POST or None, plan=plan, today=_today(request))
    _focus_first(request, form)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_plan_update(request.tenant, plan=plan, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            plan.refresh_from_db()
        else:
            return _plan_written(request, account, plan, _("The account plan was saved."))
    context = {"form": form, "account": account, "plan": plan}
    return _form_response(request, "teams/plan_form.html", "plan-form", context, form)


def _plan_item_form(
    request: HttpRequest,
    account: Account,
    plan: AccountPlan,
    form: InitiativeForm | ActionForm,
    *,
    item_kind: str,
    save: Callable[..., Any],
    notice: str,
) -> HttpResponse:
    """The form of a new or changed initiative or action (``item_kind``) of the plan: when
    valid, ``save(**cleaned_data)`` writes it and the plan body shows ``notice``."""
    _focus_first(request, form)
    if request.method == "POST" and form.is_valid():
        try:
            save(**form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _plan_written(request, account, plan, notice)
    context = {
        "form": form,
        "account": account,
        "plan": plan,
        "item_kind": item_kind,
        "item": form.instance,
        "form_url": request.path,
    }
    return _form_response(request, "teams/plan_item_form.html", "item-form", context, form)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def initiative_form(
    request: HttpRequest, account_id: int, plan_id: int, initiative_id: int | None = None
) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    plan = _plan_of(request, account, plan_id)
    if initiative_id is None:
        initiative = None
        save = partial(services.initiative_create, request.tenant, plan=plan, actor=request.user)
        notice = _("The initiative was added.")
    else:
        initiative = get_object_for_tenant(Initiative.objects.filter(plan=plan), request.tenant, initiative_id)
        save = partial(services.initiative_update, request.tenant, initiative=initiative, actor=request.user)
        notice = _("The initiative was saved.")
    form = InitiativeForm(request.POST or None, instance=initiative)
    return _plan_item_form(request, account, plan, form, item_kind="initiative", save=save, notice=notice)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def initiative_delete(request: HttpRequest, account_id: int, plan_id: int, initiative_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    plan = _plan_of(request, account, plan_id)
    initiative = get_object_for_tenant(Initiative.objects.filter(plan=plan), request.tenant, initiative_id)
    if request.method == "GET":
        context = {"account": account, "plan": plan, "action": "delete_initiative", "initiative": initiative}
        return render(request, "teams/confirm.html", context)
    services.initiative_delete(request.tenant, initiative=initiative, actor=request.user)
    return _plan_written(request, account, plan, _("The initiative was deleted; its actions stay in the plan."))


def _action_of(request: HttpRequest, plan: AccountPlan, action_id: int) -> PlanAction:
    actions = PlanAction.objects.filter(plan=plan).select_related("plan", "owner", "initiative")
    return get_object_for_tenant(actions, request.tenant, action_id)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def action_form(request: HttpRequest, account_id: int, plan_id: int, action_id: int | None = None) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    plan = _plan_of(request, account, plan_id)
    initial = None
    if action_id is None:
        action = None
        save = partial(services.plan_action_create, request.tenant, plan=plan, actor=request.user)
        notice = _("The action was added.")
        # "Add action" beside an initiative proposes it.
        if request.GET.get("initiative", "").isdigit():
            initial = {"initiative": request.GET["initiative"]}
    else:
        action = _action_of(request, plan, action_id)
        save = partial(services.plan_action_update, request.tenant, action=action, actor=request.user)
        notice = _("The action was saved.")
    form = ActionForm(request.POST or None, tenant=request.tenant, plan=plan, instance=action, initial=initial)
    return _plan_item_form(request, account, plan, form, item_kind="action", save=save, notice=notice)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def action_delete(request: HttpRequest, account_id: int, plan_id: int, action_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    plan = _plan_of(request, account, plan_id)
    action = _action_of(request, plan, action_id)
    if request.method == "GET":
        context = {"account": account, "plan": plan, "action": "delete_action", "plan_action": action}
        return render(request, "teams/confirm.html", context)
    services.plan_action_delete(request.tenant, action=action, actor=request.user)
    return _plan_written(request, account, plan, _("The action was deleted."))


@tenant_view()
@require_POST
def action_status(request: HttpRequest, account_id: int, plan_id: int, action_id: int) -> HttpResponse:
    """Move an action's status: who writes the account, or the action's owner."""
    account = account_get(request.tenant, request.membership, account_id)
    plan = _plan_of(request, account, plan_id)
    action = _action_of(request, plan, action_id)
    if not (_can_edit(request, account) or action.owner_id == request.user.pk):
        raise PermissionDenied
    form = ActionStatusForm(request.POST)
    if form.is_valid():
        services.plan_action_update(
            request.tenant, action=action, actor=request.user, status=form.cleaned_data["status"]
        )
        notice = _("%(title)s is now %(status)s.") % {"title": action.title, "status": action.get_status_display()}
    else:
        notice = _("Choose a valid status.")
    if request.POST.get("from") == "my-actions":
        if request.htmx:
            response = render(request, "teams/my_actions.html#my-actions-body", _my_actions_context(request, notice))
            return reswap(retarget(response, "#my-actions-body"), "outerHTML")
        messages.success(request, notice)
        return redirect("teams-my-actions", tenant_slug=request.tenant.slug)
    return _plan_written(request, account, plan, notice)


# --- my actions ----------------------------------------------------------------------------------------


def _my_actions_context(request: HttpRequest, notice: str | None = None) -> dict[str, Any]:
    actions = selectors.plan_action_list_open(request.tenant, request.membership, as_of=_today(request))
    page = Paginator(actions, ACTIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "page": page,
        "overdue_count": actions.filter(is_overdue=True).count(),
        "status_form": ActionStatusForm(),
        "notice": notice,
        "query": "",
        "is_member": request.membership.role == Role.MEMBER,
    }


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def my_actions(request: HttpRequest) -> HttpResponse:
    template = "teams/my_actions.html#my-actions-body" if is_partial(request) else "teams/my_actions.html"
    return render(request, template, _my_actions_context(request))
