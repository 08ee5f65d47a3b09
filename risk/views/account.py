"""Risk pages: the account page's risk tab — the latest health assessment (客户健康度评估)
with every signal's weight and contribution, the band history, the purchase rhythm
(采购周期预测), the account's open alerts — and its contingency plans (替代市场培育计划,
突发流失应急预案) with their editor.

Who may do what, as the API: anyone who reads the account reads its tab (a team member
the accounts they work on); writing a plan needs a writer's role and the right to write
the account (a manager the accounts they own or serve on), as ContingencyPlanViewSet
checks. Another tenant's account or plan is 404. Every write goes through risk.services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from accounts import access
from accounts import tabs as account_tabs
from accounts.models import Account
from accounts.selectors import account_get, account_get_writable, group_root_get, user_list
from kam import formats
from kam.forms import DateField, UserChoiceField, add_service_errors
from kam.models import Tenant, User
from kam.pages import is_partial
from kam.permissions import READ_ALL, WRITERS, tenant_view
from kam.tenancy import tenant_today
from risk import notifications, presenters, selectors, services
from risk.models import SIGNAL_WEIGHTS, AlertKind, ContingencyKind, ContingencyPlan

TAB_KEY = "risk"
TAB_TEMPLATE = "risk/account_tab.html"
FORM_TEMPLATE = "risk/plan_form.html"
# The band history's table lists the latest assessments; the chart shows the whole history.
HISTORY_TABLE_ROWS = 60


class PlanForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of plan"), choices=ContingencyKind.choices)
    title = forms.CharField(
        label=pgettext_lazy("contingency plan", "Title"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Empty: the kind of plan is shown instead."),
    )
    owner = UserChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    review_on = DateField(label=gettext_lazy("Review on"), required=False)
    actions = forms.CharField(
        label=pgettext_lazy("contingency plan", "Actions"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("What will be done, by whom and by when, should the account be lost or shrink."),
        error_messages={"required": gettext_lazy("Write down the actions of the plan.")},
    )

    def __init__(self, *args: Any, tenant: Tenant, plan: ContingencyPlan | None = None, **kwargs: Any) -> None:
        if plan is not None:
            kwargs.setdefault(
                "initial",
                {
                    "kind": plan.kind,
                    "title": plan.title,
                    "owner": plan.owner_id,
                    "review_on": plan.review_on,
                    "actions": plan.actions,
                    "trigger_kinds": list(plan.trigger_kinds),
                },
            )
        super().__init__(*args, **kwargs)
        # An owner who has since left stays choosable on the plan they own, so editing it does not drop them.
        self.fields["owner"].queryset = user_list(tenant, include=[plan.owner_id if plan else None])
        self.fields["owner"].empty_label = _("— nobody yet —")

    trigger_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Triggered by"),
        choices=AlertKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "When an alert of one of these kinds opens on the account, the steps below become actions on the account's plan."
        ),
    )

    def clean_actions(self) -> str:
        actions = self.cleaned_data["actions"].strip()
        if not actions:
            raise forms.ValidationError(_("Write down the actions of the plan."))
        return actions

    def clean_title(self) -> str:
        return self.cleaned_data["title"].strip()


class StepForm(forms.Form):
    """One row of a plan's checklist: what, who (a member of this workspace), due how many days
    after the alert's day. An empty extra row is left out."""

    title = forms.CharField(label=gettext_lazy("Step"), max_length=200, required=False)
    owner = UserChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    due_offset_days = forms.IntegerField(
        label=gettext_lazy("Due after (days)"),
        min_value=0,
        max_value=365,
        required=False,
        error_messages={
            "min_value": gettext_lazy("The due offset lies between 0 and 365 days."),
            "max_value": gettext_lazy("The due offset lies between 0 and 365 days."),
        },
    )

    def __init__(self, *args: Any, users: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = users if users is not None else User.objects.none()
        self.fields["owner"].empty_label = _("— choose —")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.cleaned_data.get("DELETE") or not self.has_changed():
            return data
        if not (data.get("title") or "").strip():
            self.add_error("title", _("Write what is to be done."))
        if data.get("owner") is None and "owner" not in self.errors:
            self.add_error("owner", _("Choose who does it."))
        return data


StepFormSet = forms.formset_factory(StepForm, extra=2, can_delete=True, max_num=30, validate_max=True)


def step_formset(request: HttpRequest, plan: ContingencyPlan | None) -> Any:
    """The checklist's rows: the plan's steps and two empty ones ("add a row" posts back with one more)."""
    tenant = request.tenant
    keep = [plan.owner_id] if plan else []
    initial = []
    if plan is not None:
        for step in plan.steps.order_by("position", "id"):
            initial.append({"title": step.title, "owner": step.owner_id, "due_offset_days": step.due_offset_days})
            keep.append(step.owner_id)
    users = user_list(tenant, include=[pk for pk in keep if pk])
    # A post without the checklist (an older client) leaves the steps as they are.
    data = request.POST if request.method == "POST" and "steps-TOTAL_FORMS" in request.POST else None
    if data is not None and "add_step" in data:
        data = data.copy()
        data["steps-TOTAL_FORMS"] = str(int(data.get("steps-TOTAL_FORMS") or 0) + 1)
    return StepFormSet(data, initial=initial or None, prefix="steps", form_kwargs={"users": users})


def steps_given(formset: Any) -> dict[str, Any]:
    """{"steps": [...]} from a posted checklist, {} when the post had none."""
    return {"steps": steps_of(formset)} if formset.is_bound else {}


def steps_of(formset: Any) -> list[dict[str, Any]]:
    return [
        {
            "title": form.cleaned_data["title"].strip(),
            "owner": form.cleaned_data["owner"],
            "due_offset_days": form.cleaned_data.get("due_offset_days") or 0,
        }
        for form in formset.forms
        if not form.cleaned_data.get("DELETE") and (form.cleaned_data.get("title") or "").strip()
    ]


# --- helpers ---------------------------------------------------------------------------------------


def _can_edit_plans(request: HttpRequest, account: Account) -> bool:
    """account_get_writable's rule: whoever may write the account (access.can_write holds only
    for the writing roles, so a "role in WRITERS" check would add nothing)."""
    return access.can_write(request.tenant, request.membership, account)


def _writable_plan(request: HttpRequest, plan_id: int) -> ContingencyPlan:
    """A plan of an account the member reads (else 404) and writes (else 403)."""
    plan = selectors.plan_get(request.tenant, request.membership, plan_id)
    if not _can_edit_plans(request, plan.account):
        raise PermissionDenied
    return plan


def _tab_url(request: HttpRequest, account: Account) -> str:
    return account_tabs.page_url(request.tenant.slug, account.pk, TAB_KEY)


def _group_line(request: HttpRequest, account: Account) -> dict[str, Any] | None:
    """The account's customer group in the latest snapshot when it reaches the single-customer
    warning line, for the note that a contingency plan is expected (tenant-wide figures:
    only for the roles that read the concentration page)."""
    if request.membership.role not in READ_ALL:
        return None
    snapshot = selectors.concentration_latest(request.tenant)
    if snapshot is None:
        return None
    root = group_root_get(request.tenant, account)
    group = next((group for group in snapshot.groups if group["root"] == root.pk), None)
    if group is None:
        return None
    policy = services.risk_policy_of(request.tenant)
    share = Decimal(str(group["share"]))
    level = selectors.concentration_level(share, policy.single_customer_warning, policy.single_customer_critical)
    if level == "ok":
        return None
    if level == "critical":
        line = _("critical line %(value)s") % {"value": formats.share_text(policy.single_customer_critical)}
    else:
        line = _("warning line %(value)s") % {"value": formats.share_text(policy.single_customer_warning)}
    return {
        "name": group["root_name"],
        "is_root": root.pk == account.pk,
        "share": share,
        "level": level,
        "line": line,
        "has_plan": root.pk in selectors.plan_root_ids(request.tenant),
    }


def _health_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    tenant = request.tenant
    assessment = selectors.health_latest(tenant, account)
    if assessment is None:
        return {"assessment": None}
    policy = services.risk_policy_of(tenant)
    rows = presenters.signal_rows(assessment, selectors.health_signals(assessment))
    history = selectors.health_list(tenant, account)
    return {
        "assessment": assessment,
        "signals": rows,
        "weighted_mean": presenters.weighted_mean(rows),
        "weights_all": sum(SIGNAL_WEIGHTS.values()),
        "missing_signals": [row.label for row in rows if not row.has_data],
        "rhythm": presenters.purchase_rhythm(assessment, policy),
        "history_chart": presenters.health_chart(history),
        "history_rows": history[::-1][:HISTORY_TABLE_ROWS],
        "history_count": len(history),
    }


def _tab_context(request: HttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    tenant = request.tenant
    link = notifications.alert_link_builder(tenant)
    # membership None: the account is readable already, and so are its alerts.
    alerts = list(selectors.alert_list(tenant, None, account=account.pk, status="open"))
    for alert in alerts:
        alert.summary = notifications.alert_summary(alert.kind, alert.details)
        alert.link = link(alert.pk)
        alert.fix_link = presenters.alert_fix_link(tenant.slug, alert)
    return {
        "account": account,
        "today": tenant_today(tenant),
        "alerts": alerts,
        "plans": list(selectors.plan_list(tenant, account=account).order_by("review_on", "id")),
        "can_edit": _can_edit_plans(request, account),
        "group_line": _group_line(request, account),
        **_health_context(request, account),
        **extra,
    }


def _tab(request: HttpRequest, account: Account, **extra: Any) -> HttpResponse:
    return render(request, TAB_TEMPLATE, _tab_context(request, account, **extra))


def _written(request: HttpRequest, account: Account, notice: str) -> HttpResponse:
    """After a write: the whole tab again with a notice (htmx), or the account page on its risk tab."""
    if request.htmx:
        return reswap(retarget(_tab(request, account, notice=notice), "#risk-tab"), "outerHTML")
    messages.success(request, notice)
    return redirect(_tab_url(request, account))


def _form_response(request: HttpRequest, context: dict[str, Any], form: PlanForm, steps: Any = None) -> HttpResponse:
    template = f"{FORM_TEMPLATE}#plan-form" if is_partial(request) else FORM_TEMPLATE
    invalid = form.errors or (steps is not None and steps.is_bound and not steps.is_valid())
    adding = request.method == "POST" and "add_step" in request.POST
    return render(request, template, context, status=400 if invalid and not adding else 200)


def _focus_first(request: HttpRequest, form: PlanForm) -> None:
    """A form opened in place by htmx takes the focus on its first field."""
    if request.htmx and request.method == "GET":
        form.fields["kind"].widget.attrs["autofocus"] = True


# --- views -------------------------------------------------------------------------------------------


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def account_tab(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(request.tenant, request.membership, account_id)
    if not account_tabs.is_tab_request(request):
        return redirect(_tab_url(request, account))
    return _tab(request, account)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    kind = request.GET.get("kind", "")
    initial = {
        "owner": account.owner_id,
        "kind": kind if kind in ContingencyKind.values else ContingencyKind.SUDDEN_LOSS,
    }
    form = PlanForm(request.POST or None, tenant=request.tenant, initial=initial)
    steps = step_formset(request, None)
    _focus_first(request, form)
    adding = "add_step" in request.POST
    if request.method == "POST" and not adding and form.is_valid() and (not steps.is_bound or steps.is_valid()):
        try:
            services.contingency_plan_create(
                request.tenant, account=account, actor=request.user, **steps_given(steps), **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _written(request, account, _("The contingency plan was added."))
    context = {"form": form, "steps": steps, "account": account, "plan": None}
    return _form_response(request, context, form, steps)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _writable_plan(request, plan_id)
    form = PlanForm(request.POST or None, tenant=request.tenant, plan=plan)
    steps = step_formset(request, plan)
    _focus_first(request, form)
    adding = "add_step" in request.POST
    if request.method == "POST" and not adding and form.is_valid() and (not steps.is_bound or steps.is_valid()):
        # Only what changed: an owner who has since left stays on a plan whose text is edited.
        changed = {name: value for name, value in form.cleaned_data.items() if name in form.changed_data}
        try:
            services.contingency_plan_update(
                request.tenant, plan=plan, actor=request.user, **steps_given(steps), **changed
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            plan.refresh_from_db()
        else:
            return _written(request, plan.account, _("The contingency plan was saved."))
    context = {"form": form, "steps": steps, "account": plan.account, "plan": plan}
    return _form_response(request, context, form, steps)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def plan_delete(request: HttpRequest, plan_id: int) -> HttpResponse:
    """GET: the confirmation (for browsers without JavaScript; htmx asks with hx-confirm)."""
    plan = _writable_plan(request, plan_id)
    account = plan.account
    if request.method == "GET":
        return render(request, "risk/plan_delete.html", {"plan": plan, "account": account})
    services.contingency_plan_delete(request.tenant, plan=plan, actor=request.user)
    return _written(request, account, _("The contingency plan was deleted."))


urlpatterns = [
    path("accounts/<int:account_id>/", account_tab, name="risk-account-tab"),
    path("accounts/<int:account_id>/plans/new/", plan_create, name="risk-plan-create"),
    path("plans/<int:plan_id>/edit/", plan_edit, name="risk-plan-edit"),
    path("plans/<int:plan_id>/delete/", plan_delete, name="risk-plan-delete"),
]
