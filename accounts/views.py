"""HTMX pages of customer accounts: the list, the account page with its tabs, the forms,
archive and delete, quick logging of interactions and events, and the export.

Thin: reads come from accounts.selectors / accounts.access,
writes go through accounts.services, which validate, audit and hold the tenant.
Every page works without JavaScript; htmx only swaps the part that changed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, resolve, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from accounts import access, exports, selectors, services
from accounts import panels as account_panels
from accounts import tabs as account_tabs
from accounts.forms import AccountFilterForm, AccountForm, ContactForm, EventForm, InteractionForm
from accounts.models import Account, AccountStatus, Contact
from kam.forms import add_service_errors
from kam.pages import go, is_partial
from kam.permissions import WRITERS, tenant_view
from kam.tenancy import get_object_for_tenant, tenant_today

PAGE_SIZE = 25
TAB_PAGE_SIZE = 20
# Sortable columns of the list (keys of selectors.SORTS) and the direction a first click sorts by.
SORTABLE_COLUMNS = {"name": "name", "tier": "tier", "score": "-score", "health": "-health", "potential": "-potential"}
# Sent with a recorded interaction or event; the timeline tab reloads itself on it.
TIMELINE_CHANGED = "accounts-timeline-changed"


# --- helpers ------------------------------------------------------------------------------------


def _slug(request: HttpRequest) -> str:
    return request.tenant.slug


def _detail_url(request: HttpRequest, account: Account, tab: str = "") -> str:
    if tab:
        return account_tabs.page_url(_slug(request), account.pk, tab)
    return reverse("accounts-detail", kwargs={"tenant_slug": _slug(request), "account_id": account.pk})


def _query_without(params: QueryDict, *names: str) -> str:
    """The query string without ``names`` and without empty values (links stay short)."""
    query = QueryDict(mutable=True)
    for key, values in params.lists():
        kept = [value for value in values if value]
        if key not in names and kept:
            query.setlist(key, kept)
    return query.urlencode()


def _optional_url(name: str, **kwargs: Any) -> str | None:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


# --- list ---------------------------------------------------------------------------------------


def _sort_links(params: QueryDict, current: str) -> dict[str, dict[str, str]]:
    """For each sortable column header: the URL of its next sort and the current direction."""
    base = _query_without(params, "page", "sort")
    links = {}
    for column, first in SORTABLE_COLUMNS.items():
        if current == column:
            target, direction = f"-{column}", "ascending"
        elif current == f"-{column}":
            target, direction = column, "descending"
        else:
            target, direction = first, ""
        links[column] = {"url": f"?{base}&sort={target}" if base else f"?sort={target}", "direction": direction}
    return links


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def account_list(request: HttpRequest) -> HttpResponse:
    form = AccountFilterForm(request.GET, tenant=request.tenant)
    filters = form.filters()
    accounts = selectors.account_list(request.tenant, request.membership, **filters)
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    has_any = bool(page.object_list) or access.readable_accounts(request.tenant, request.membership).exists()
    context = {
        "form": form,
        "page": page,
        "query": _query_without(request.GET, "page"),
        "export_query": _query_without(request.GET, "page", "format"),
        "sort": filters["sort"],
        "sort_links": _sort_links(request.GET, filters["sort"]),
        "filtered": form.active(),
        "has_any": has_any,
        "can_create": access.can_create_accounts(request.membership),
        "import_url": _optional_url("imports-list", tenant_slug=_slug(request))
        if request.membership.role in WRITERS
        else None,
    }
    template = "accounts/list.html#account-rows" if is_partial(request) else "accounts/list.html"
    return render(request, template, context)


@tenant_view()
@require_GET
def account_export(request: HttpRequest) -> HttpResponse:
    file_format = request.GET.get("format", "csv")
    if file_format not in exports.FORMATS:
        return HttpResponseBadRequest(_("Choose the format csv or xlsx."), content_type="text/plain; charset=utf-8")
    form = AccountFilterForm(request.GET, tenant=request.tenant)
    accounts = selectors.account_list(request.tenant, request.membership, **form.filters())
    content = exports.export_accounts(accounts, file_format, title=_("Accounts"))
    response = HttpResponse(content, content_type=exports.FORMATS[file_format])
    today = tenant_today(request.tenant)
    response["Content-Disposition"] = f'attachment; filename="accounts-{today:%Y%m%d}.{file_format}"'
    return response


# --- account page -------------------------------------------------------------------------------


def _embed_tab(request: HttpRequest, tab: account_tabs.ResolvedTab) -> SafeString:
    """The tab's fragment, rendered by its own view (whichever app serves it) inside this request."""
    match = resolve(tab.url)
    setattr(request, account_tabs.EMBED_ATTRIBUTE, True)
    try:
        response = match.func(request, *match.args, **match.kwargs)
    except PermissionDenied:
        return format_html('<p class="muted">{}</p>', _("You do not have permission to see this tab."))
    except Http404:
        return format_html('<p class="muted">{}</p>', _("This tab has nothing to show."))
    finally:
        delattr(request, account_tabs.EMBED_ATTRIBUTE)
    if hasattr(response, "render"):
        response.render()
    if response.status_code != 200:
        return format_html('<p class="muted">{}</p>', _("This tab could not be loaded."))
    # The fragment comes from the tab's own (auto-escaping) template.
    return mark_safe(response.content.decode(response.charset))  # noqa: S308


def _header_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    can_write = access.can_write(request.tenant, request.membership, account)
    return {
        "account": account,
        "can_write": can_write,
        "can_log_interaction": can_write or access.can_log_interaction(request.tenant, request.membership, account),
        "can_delete": can_write and selectors.account_is_deletable(request.tenant, account),
    }


@tenant_view()
@require_GET
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get(request.tenant, request.membership, account_id)
    tabs = account_tabs.tabs_for(_slug(request), account.pk)
    wanted = request.GET.get("tab")
    selected = next((tab for tab in tabs if tab.key == wanted), tabs[0] if tabs else None)
    context = {
        **_header_context(request, account),
        "tabs": tabs,
        "selected_tab": selected,
        "panel": _embed_tab(request, selected) if selected else "",
    }
    return render(request, "accounts/detail.html", context)


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def account_badges(request: HttpRequest, account_id: int) -> HttpResponse:
    """The account page's tier, health and score badges, reloaded by the live refresh
    (templates/kam/_refresh.html) when a score or risk run finishes."""
    account = selectors.account_get(request.tenant, request.membership, account_id)
    if not request.htmx:
        return redirect(_detail_url(request, account))
    return render(request, "accounts/detail.html#account-badges", {"account": account})


def account_tab(key: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A tab's view: looks the account up (404 when not readable) and answers the fragment to
    htmx or the embedding account page; a plain visit goes to the account page with the tab."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, account_id: int) -> HttpResponse:
            account = selectors.account_get(request.tenant, request.membership, account_id)
            if not account_tabs.is_tab_request(request):
                params = {name: request.GET[name] for name in ("page", "cursor") if request.GET.get(name)}
                return redirect(account_tabs.page_url(_slug(request), account.pk, key, **params))
            return view(request, account)

        return wrapper

    return decorator


def _tab_page(request: HttpRequest, key: str, account: Account, queryset: Any) -> dict[str, Any]:
    page = Paginator(queryset, TAB_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "account": account,
        "page": page,
        "tab_key": key,
        "tab_url": reverse(f"accounts-tab-{key}", kwargs={"tenant_slug": _slug(request), "account_id": account.pk}),
        "page_url": _detail_url(request, account),
    }


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
@account_tab("overview")
def tab_overview(request: HttpRequest, account: Account) -> HttpResponse:
    figures = selectors.account_figures_get(request.tenant, account)
    panels = account_panels.panels_for(_slug(request), account.pk)
    return render(request, "accounts/tab_overview.html", {"account": account, "figures": figures, "panels": panels})


def _contacts_context(request: HttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    return {
        "account": account,
        "org_chart": selectors.contact_org_chart_get(request.tenant, account),
        "can_write": access.can_write(request.tenant, request.membership, account),
        **extra,
    }


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
@account_tab("contacts")
def tab_contacts(request: HttpRequest, account: Account) -> HttpResponse:
    return render(request, "accounts/tab_contacts.html", _contacts_context(request, account))


def _orders_context(request: HttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    return {
        **_tab_page(request, "orders", account, selectors.order_list(request.tenant, account)),
        "can_write": access.can_write(request.tenant, request.membership, account),
        **extra,
    }


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
@account_tab("orders")
def tab_orders(request: HttpRequest, account: Account) -> HttpResponse:
    return render(request, "accounts/tab_orders.html", _orders_context(request, account))


def _invoices_context(request: HttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    context = _tab_page(request, "invoices", account, selectors.invoice_list(request.tenant, account))
    # The page's invoices with their payments: one query for the page, not one per invoice.
    context["page"].object_list = selectors.invoice_list_with_payments(request.tenant, context["page"].object_list)
    return {**context, "can_write": access.can_write(request.tenant, request.membership, account), **extra}


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
@account_tab("invoices")
def tab_invoices(request: HttpRequest, account: Account) -> HttpResponse:
    return render(request, "accounts/tab_invoices.html", _invoices_context(request, account))


# The contracts tab, its forms and the document: accounts/contract_views.py.


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
@account_tab("timeline")
def tab_timeline(request: HttpRequest, account: Account) -> HttpResponse:
    cursor = selectors.parse_timeline_cursor(request.GET.get("cursor"))
    entries, next_cursor = selectors.timeline_entry_list(request.tenant, account, cursor=cursor)
    # Who logged each interaction: one query for the page, not one per entry.
    prefetch_related_objects([entry.obj for entry in entries if entry.kind == "interaction"], "user")
    context = {
        "account": account,
        "entries": entries,
        "next_cursor": next_cursor,
        "tab_url": reverse("accounts-tab-timeline", kwargs={"tenant_slug": _slug(request), "account_id": account.pk}),
        "more_page_url": account_tabs.page_url(_slug(request), account.pk, "timeline", cursor=next_cursor or ""),
        "timeline_changed": TIMELINE_CHANGED,
    }
    # "Load more" appends the next entries to the list; anything else gets the whole tab.
    more = bool(request.htmx) and cursor is not None and request.GET.get("more") == "1"
    return render(
        request, "accounts/tab_timeline.html#timeline-entries" if more else "accounts/tab_timeline.html", context
    )


def _group_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    root = selectors.account_group_get(request.tenant, account)
    ids: list[int] = []
    stack = [root]
    while stack:
        node = stack.pop()
        ids.append(node.account.pk)
        stack.extend(node.children)
    return {
        "account": account,
        "root": root,
        "group_size": len(ids),
        "readable_ids": selectors.account_id_list_readable(request.tenant, request.membership, ids),
    }


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
@account_tab("group")
def tab_group(request: HttpRequest, account: Account) -> HttpResponse:
    return render(request, "accounts/tab_group.html", _group_context(request, account))


@tenant_view()
@require_GET
def account_group_page(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get(request.tenant, request.membership, account_id)
    return render(request, "accounts/group.html", _group_context(request, account))


# --- create and edit ----------------------------------------------------------------------------


def _account_form_response(request: HttpRequest, form: AccountForm, account: Account | None) -> HttpResponse:
    context = {"form": form, "account": account}
    template = "accounts/account_form.html#account-form" if is_partial(request) else "accounts/account_form.html"
    return render(request, template, context, status=400 if form.errors else 200)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def account_create(request: HttpRequest) -> HttpResponse:
    if not access.can_create_accounts(request.membership):
        raise PermissionDenied
    form = AccountForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            data = {name: value for name, value in form.cleaned_data.items() if name != "version"}
            account = services.account_create(request.tenant, actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The account %(name)s was created.") % {"name": account.name})
            return go(request, _detail_url(request, account))
    return _account_form_response(request, form, None)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    form = AccountForm(request.POST or None, tenant=request.tenant, account=account)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        expected_version = data.pop("version")
        try:
            services.account_update(
                request.tenant, account=account, actor=request.user, expected_version=expected_version, **data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            account.refresh_from_db()  # the service set the values before validating them
            if getattr(exc, "code", None) == services.STALE_ACCOUNT_CODE:
                form.refused_as_stale(account.version)
        else:
            messages.success(request, _("The account %(name)s was saved.") % {"name": account.name})
            return go(request, _detail_url(request, account))
    return _account_form_response(request, form, account)


# --- archive and delete -------------------------------------------------------------------------


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def account_archive(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    if request.method == "GET":  # the confirmation page, for browsers without JavaScript
        return render(request, "accounts/confirm.html", {"account": account, "action": "archive"})
    if account.status != AccountStatus.LOST:
        services.account_archive(request.tenant, account=account, actor=request.user)
    messages.success(
        request, _("%(name)s was archived: its status is now lost, its history is kept.") % {"name": account.name}
    )
    return go(request, _detail_url(request, account))


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    context = {
        "account": account,
        "action": "delete",
        "can_delete": selectors.account_is_deletable(request.tenant, account),
    }
    if request.method == "GET":
        return render(request, "accounts/confirm.html", context)
    name = account.name
    try:
        services.account_delete(request.tenant, account=account, actor=request.user)
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        context["can_delete"] = False
        template = "accounts/confirm.html#action-error" if request.htmx else "accounts/confirm.html"
        return render(request, template, context, status=400)
    messages.success(request, _("The account %(name)s was deleted.") % {"name": name})
    return go(request, reverse("accounts-list", kwargs={"tenant_slug": _slug(request)}))


# --- contacts -----------------------------------------------------------------------------------


def _contact_form(request: HttpRequest, account: Account, contact: Contact | None) -> HttpResponse:
    form = ContactForm(request.POST or None, tenant=request.tenant, account=account, contact=contact)
    if request.method == "POST" and form.is_valid():
        try:
            if contact is None:
                contact = services.contact_create(
                    request.tenant, account=account, actor=request.user, **form.cleaned_data
                )
                notice = _("%(name)s was added.") % {"name": contact.name}
            else:
                services.contact_update(request.tenant, contact=contact, actor=request.user, **form.cleaned_data)
                notice = _("%(name)s was saved.") % {"name": contact.name}
        except ValidationError as exc:
            add_service_errors(form, exc)
            if contact is not None and contact.pk:
                contact.refresh_from_db()
        else:
            if request.htmx:
                # The whole tab again, with the change in the chart and a notice on top.
                response = render(
                    request, "accounts/tab_contacts.html", _contacts_context(request, account, notice=notice)
                )
                return reswap(retarget(response, "#tab-panel"), "innerHTML")
            messages.success(request, notice)
            return redirect(_detail_url(request, account, "contacts"))
    context = {"form": form, "account": account, "contact": contact}
    template = "accounts/contact_form.html#contact-form" if is_partial(request) else "accounts/contact_form.html"
    return render(request, template, context, status=400 if form.errors else 200)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    return _contact_form(request, account, None)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, account_id: int, contact_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    contact = get_object_for_tenant(
        Contact.objects.filter(account=account).select_related("reports_to"), request.tenant, contact_id
    )
    return _contact_form(request, account, contact)


# --- log an interaction, record an event (two clicks from the account page) ---------------------------


def _quick_form_response(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    name = f"{template}#quick-form" if is_partial(request) else template
    return render(request, name, context, status=status)


def _quick_done(request: HttpRequest, account: Account, template: str, notice: str) -> HttpResponse:
    """After a quick write: the panel closes into a notice and the timeline reloads (htmx), or
    the account page opens on its timeline with the message (no JavaScript)."""
    if request.htmx:
        response = render(request, template + "#quick-done", {"account": account, "notice": notice})
        return trigger_client_event(response, TIMELINE_CHANGED)
    messages.success(request, notice)
    return redirect(_detail_url(request, account, "timeline"))


@tenant_view()
@require_http_methods(["GET", "POST"])
def interaction_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get(request.tenant, request.membership, account_id)
    if not access.can_log_interaction(request.tenant, request.membership, account):
        raise PermissionDenied
    form = InteractionForm(request.POST or None, tenant=request.tenant, account=account)
    if request.htmx:
        form.fields["kind"].widget.attrs["autofocus"] = True
    template = "accounts/interaction_form.html"
    if request.method == "POST" and form.is_valid():
        try:
            services.interaction_create(
                request.tenant, account=account, actor=request.user, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _quick_done(request, account, template, _("The interaction was logged."))
    context = {"form": form, "account": account}
    return _quick_form_response(request, template, context, status=400 if form.errors else 200)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def event_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    today = tenant_today(request.tenant)
    template = "accounts/event_form.html"
    if request.method == "POST":
        form = EventForm(request.POST, today=today)
    else:
        # A changed kind or day asks for the form again, to show that kind's defaults.
        fields = ("kind", "occurred_on", "impact_points", "expires_on", "note")
        initial = {name: request.GET[name] for name in fields if request.GET.get(name)}
        form = EventForm(initial=initial, today=today)
    if request.htmx:
        # Choosing another kind or day re-renders the form with that kind's defaults as placeholders.
        action = reverse("accounts-event-create", kwargs={"tenant_slug": _slug(request), "account_id": account.pk})
        refresh = {"hx-get": action, "hx-include": "closest form", "hx-target": "#quick-form", "hx-swap": "outerHTML"}
        form.fields["kind"].widget.attrs.update({**refresh, "autofocus": True})
        form.fields["occurred_on"].widget.attrs.update(refresh)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(request.tenant, account=account, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            notice = _("The event %(kind)s was recorded (%(points)s points).") % {
                "kind": event.get_kind_display(),
                "points": f"{event.impact_points:+.2f}".rstrip("0").rstrip("."),
            }
            return _quick_done(request, account, template, notice)
    context = {"form": form, "account": account}
    return _quick_form_response(request, template, context, status=400 if form.errors else 200)
