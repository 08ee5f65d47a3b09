"""Service pages: the needs inbox (客户需求: filters, counts, bulk triage), the form that logs
a need by hand, the account page's "Needs" tab and the home panel "Needs waiting for me".

Who sees and works which need is service.selectors' rule (the API's): the roles that read
every account see every need, the triage queue included; a member the needs of the accounts
they read and those given to them. Logging a need follows interactions
(accounts.access.can_log_interaction). Every write goes through service.services, so
classification, routing and the SLA apply. Another tenant's need or account is 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from accounts import access
from accounts import tabs as account_tabs
from accounts.selectors import account_get, user_list
from kam.forms import add_service_errors
from kam.models import Role
from kam.pages import go, is_partial
from kam.permissions import WRITERS, tenant_view
from service import selectors, services
from service.forms import NeedBulkForm, NeedCreateForm, NeedFilterForm
from service.models import OPEN_STATUSES, Category, Need, NeedStatus, Priority

PAGE_SIZE = 50
TAB_PAGE_SIZE = 20
TAB_KEY = "needs"
# At most this many needs in one bulk action.
BULK_LIMIT = 200
LIST_KEYS = (
    "q",
    "status",
    "category",
    "assignee",
    "tier",
    "priority",
    "channel",
    "overdue",
    "triage",
    "account",
    "sort",
    "page",
)
LOGGING_ROLES = WRITERS | {Role.MEMBER}


# --- helpers ---------------------------------------------------------------------------------------


class IdsFirstPaginator(Paginator):
    """A page of needs in two steps: the page's ids from the needs table alone, then those rows
    with their account, category and assignee. In one step, a filter the planner cannot
    estimate (overdue: a CASE over the two deadlines) had it join every matching need (23,000
    on the bench tenant) before the newest 50 were picked."""

    def page(self, number: Any) -> Any:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._get_page(list(self.object_list.filter(pk__in=ids)), number, self)


def _inbox_url(request: HttpRequest, params: QueryDict | None = None) -> str:
    url = reverse("service-needs", kwargs={"tenant_slug": request.tenant.slug})
    return f"{url}?{params.urlencode()}" if params else url


def _need_url(request: HttpRequest, need: Need) -> str:
    return reverse("service-need", kwargs={"tenant_slug": request.tenant.slug, "need_id": need.pk})


def _list_params(raw: str) -> QueryDict:
    """The inbox's query string (sent back by the bulk form) with only its own keys and no
    empty values; the status filter keeps all its values, the others their first."""
    params = QueryDict(mutable=True)
    for key, values in QueryDict(raw[:2000]).lists():
        kept = [value for value in values if value]
        if key in LIST_KEYS and kept:
            params.setlist(key, kept if key == "status" else kept[:1])
    return params


def _posted_id(value: str) -> int | None:
    if value.isascii() and value.isdigit() and 0 < int(value) < 2**63:
        return int(value)
    return None


# --- the inbox -------------------------------------------------------------------------------------


def _inbox_context(
    request: HttpRequest,
    params: QueryDict,
    **extra: Any,
) -> dict[str, Any]:
    tenant, membership = request.tenant, request.membership
    now = timezone.now()
    members = list(user_list(tenant))
    categories = list(Category.objects.order_by("position", "id"))
    form = NeedFilterForm(params, categories=categories, members=members)
    filters = form.filters()
    needs = selectors.need_inbox(tenant, membership, now=now, **filters)
    page = IdsFirstPaginator(needs, PAGE_SIZE).get_page(params.get("page"))
    rows = list(page.object_list)
    workable = selectors.need_id_set_workable(tenant, membership, rows)
    for need in rows:
        need.can_work = need.pk in workable
        need.is_overdue = bool(need.is_open and need.next_due_at and need.next_due_at < now)
    filter_account = None
    if filters["account_id"]:
        filter_account = (
            access.readable_accounts(tenant, membership).filter(pk=filters["account_id"]).only("name").first()
        )
    counts = selectors.need_inbox_counts(tenant, membership, now=now)
    query = params.copy()
    query.pop("page", None)
    without_account = query.copy()
    without_account.pop("account", None)
    return {
        "form": form,
        "filters": filters,
        "filtered": form.active(),
        "page": page,
        "rows": rows,
        "counts": counts,
        "status_chips": [
            {
                "value": status,
                "label": NeedStatus(status).label,
                "count": counts[status],
                "current": filters["statuses"] == [status],
            }
            for status in OPEN_STATUSES
        ],
        "query": query.urlencode(),
        "list_query": params.urlencode(),
        "without_account_query": without_account.urlencode(),
        "filter_account": filter_account,
        "can_bulk": bool(workable),
        "priorities": Priority.choices,
        "statuses": NeedStatus.choices,
        "bulk_members": members,
        "bulk_categories": [category for category in categories if category.is_active],
        "can_create": membership.role in LOGGING_ROLES,
        **extra,
    }


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def needs(request: HttpRequest) -> HttpResponse:
    context = _inbox_context(request, _list_params(request.GET.urlencode()))
    template = "service/needs.html#needs-body" if is_partial(request) else "service/needs.html"
    return render(request, template, context)


# --- bulk triage -----------------------------------------------------------------------------------


def _bulk_selection(request: HttpRequest) -> list[Need]:
    """The selected needs (the ticked ones, or all the page's): every one seen by the member
    and theirs to work, else a ValidationError and nothing is changed."""
    raw = request.POST.getlist("page_ids" if request.POST.get("all_on_page") else "need_ids")
    if not raw:
        raise ValidationError(_("Select at least one need."))
    ids = sorted({_posted_id(value) or 0 for value in raw})
    if 0 in ids:
        raise ValidationError(_("The selection is not valid. Reload the page and try again."))
    if len(ids) > BULK_LIMIT:
        raise ValidationError(_("Select at most %(count)s needs at a time.") % {"count": BULK_LIMIT})
    found = list(
        selectors.need_list_visible(request.tenant, request.membership)
        .filter(pk__in=ids)
        .select_related("account", "category", "assignee")
        .order_by("id")
    )
    if len(found) != len(ids):
        raise ValidationError(
            _("Some of the selected needs do not exist in this workspace or are not yours to see; nothing was changed.")
        )
    if len(selectors.need_id_set_workable(request.tenant, request.membership, found)) != len(found):
        raise ValidationError(_("Some of the selected needs are not yours to change; nothing was changed."))
    return found


def _already(action: str, need: Need, value: Any) -> bool:
    """Whether the need has the value already (then it counts as unchanged)."""
    if action == "assign":
        return need.assignee_id == value.pk
    if action == "category":
        # a person confirming the category the rules or the model chose is a change (training data)
        return need.category_id == value.pk and need.category_source == "person"
    if action == "priority":
        return need.priority == value
    return need.status == value


def _apply(request: HttpRequest, action: str, need: Need, value: Any) -> None:
    tenant, actor = request.tenant, request.user
    if action == "assign":
        services.need_assign(tenant, need=need, assignee=value, actor=actor)
    elif action == "category":
        services.need_set_category(tenant, need=need, category=value, actor=actor)
    elif action == "priority":
        services.need_set_priority(tenant, need=need, priority=value, actor=actor)
    else:
        services.need_set_status(tenant, need=need, status=value, actor=actor)


def _bulk_notice(changed: int, unchanged: int) -> str:
    parts = [ngettext("%(count)s need changed.", "%(count)s needs changed.", changed) % {"count": changed}]
    if unchanged:
        parts.append(
            ngettext("%(count)s had it already.", "%(count)s had it already.", unchanged) % {"count": unchanged}
        )
    return " ".join(parts)


def _bulk_answer(
    request: HttpRequest,
    params: QueryDict,
    *,
    notice: str = "",
    error: str = "",
    failures: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    if not request.htmx and not error:
        messages.success(request, notice)
        for failure in failures or []:
            messages.warning(request, f"{failure['subject']}: {failure['message']}")
        return redirect(_inbox_url(request, params))
    context = _inbox_context(request, params, notice=notice, error=error, failures=failures or [])
    status = 400 if error else 200
    if not is_partial(request):
        return render(request, "service/needs.html", context, status=status)
    response = render(request, "service/needs.html#needs-body", context, status=status)
    return reswap(retarget(response, "#needs-body"), "outerHTML")


@tenant_view(roles=LOGGING_ROLES)
@require_POST
def needs_bulk(request: HttpRequest) -> HttpResponse:
    """Assign, classify, prioritise or move the selected needs, each through its service (so
    routing and the SLA apply). Bad input (a need not seen, not the member's, an invalid
    value) changes nothing; a need its service refuses (a move its status does not allow) is
    reported with the reason and the others are changed. Without JavaScript the first POST
    answers a confirmation page (htmx asks with hx-confirm)."""
    params = _list_params(request.POST.get("list_query", ""))
    form = NeedBulkForm(request.POST, members=user_list(request.tenant))
    try:
        if not form.is_valid():
            raise ValidationError([message for errors in form.errors.values() for message in errors])
        selected = _bulk_selection(request)
    except ValidationError as exc:
        return _bulk_answer(request, params, error=" ".join(exc.messages))
    action, value = form.cleaned_data["action"], form.value()
    if not request.htmx and request.POST.get("confirmed") != "1":
        context = {
            "needs": selected,
            "action": action,
            "value": value,
            "value_label": _value_label(action, value),
            "form": form,
            "list_query": params.urlencode(),
        }
        return render(request, "service/needs_confirm.html", context)
    changed = unchanged = 0
    failures: list[dict[str, Any]] = []
    for need in selected:
        if _already(action, need, value):
            unchanged += 1
            continue
        try:
            with transaction.atomic():  # a need refused leaves nothing of it half-written
                _apply(request, action, need, value)
        except ValidationError as exc:
            failures.append({"pk": need.pk, "subject": need.subject, "message": " ".join(exc.messages)})
        else:
            changed += 1
    notice = _bulk_notice(changed, unchanged)
    if failures:
        notice += " " + ngettext("%(count)s was not changed:", "%(count)s were not changed:", len(failures)) % {
            "count": len(failures)
        }
    return _bulk_answer(request, params, notice=notice, failures=failures)


def _value_label(action: str, value: Any) -> str:
    if action == "assign":
        return value.display_name
    if action == "category":
        return value.name
    if action == "priority":
        return str(Priority(value).label)
    return str(NeedStatus(value).label)


# --- logging a need by hand ------------------------------------------------------------------------


@tenant_view(roles=LOGGING_ROLES)
@require_http_methods(["GET", "POST"])
def need_create(request: HttpRequest) -> HttpResponse:
    accounts = selectors.account_list_for_logging(request.tenant, request.membership)
    if request.method == "POST":
        form = NeedCreateForm(request.POST, accounts=accounts)
    else:
        # ?account= from the account tab; with htmx, the values typed so far (the account changed).
        names = ("channel", "account", "contact", "subject", "body", "priority", "received_at", "category")
        initial = {name: request.GET[name][:2000] for name in names if request.GET.get(name)}
        if "account" in initial and not accounts.filter(pk=_posted_id(initial["account"]) or 0).exists():
            del initial["account"]
        form = NeedCreateForm(initial=initial, accounts=accounts)
    action = reverse("service-need-create", kwargs={"tenant_slug": request.tenant.slug})
    # Choosing another account asks for the form again, with that account's contacts.
    form.fields["account"].widget.attrs.update(
        {
            "hx-get": action,
            "hx-include": "closest form",
            "hx-target": "#need-form",
            "hx-select": "#need-form",
            "hx-swap": "outerHTML",
        }
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            need, _created = services.need_create(
                request.tenant,
                channel=data["channel"],
                account=data["account"],
                contact=data["contact"],
                subject=data["subject"],
                body=data["body"],
                priority=data["priority"],
                received_at=data["received_at"],
                category=data["category"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The need %(subject)s was logged.") % {"subject": need.subject})
            return go(request, _need_url(request, need))
    context = {"form": form, "has_accounts": accounts.exists()}
    template = "service/need_form.html#need-form" if is_partial(request) else "service/need_form.html"
    return render(request, template, context, status=400 if form.errors else 200)


# --- the account tab -------------------------------------------------------------------------------


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def account_tab(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(request.tenant, request.membership, account_id)
    slug = request.tenant.slug
    if not account_tabs.is_tab_request(request):
        page_param = request.GET.get("page", "")
        return redirect(account_tabs.page_url(slug, account.pk, TAB_KEY, page=page_param))
    now = timezone.now()
    page = Paginator(selectors.need_list_for_account(request.tenant, account), TAB_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = list(page.object_list)
    for need in rows:
        need.is_overdue = bool(need.is_open and need.next_due_at and need.next_due_at < now)
    figures = selectors.need_figures_for_account(request.tenant, account, now=now)
    context = {
        "account": account,
        "page": page,
        "rows": rows,
        "figures": figures,
        "status_counts": [(NeedStatus(key).label, key, count) for key, count in figures.by_status.items() if count],
        "can_create": request.membership.role in LOGGING_ROLES
        and access.can_log_interaction(request.tenant, request.membership, account),
        "tab_key": TAB_KEY,
        "tab_url": reverse("service-account-tab", kwargs={"tenant_slug": slug, "account_id": account.pk}),
        "page_url": reverse("accounts-detail", kwargs={"tenant_slug": slug, "account_id": account.pk}),
        "all_statuses": NeedStatus.values,
    }
    return render(request, "service/account_tab.html", context)


# --- the home panel: needs waiting for me ----------------------------------------------------------


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def my_needs(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    waiting = selectors.need_list_waiting_for(request.tenant, request.user, now=now)
    for need in waiting.needs:
        need.is_overdue = bool(need.next_due_at and need.next_due_at < now)
    context = {"waiting": waiting, "inbox_url": _inbox_url(request, QueryDict("assignee=me"))}
    template = "service/my_needs.html#my-needs-body" if is_partial(request) else "service/my_needs.html"
    return render(request, template, context)
