"""Renewal pages (续约), under /t/<tenant_slug>/renewals/ (kam/urls.py): the renewals page (count
and value at stake by stage, the open ones by month of their contract's end for the next 12
months, filters by stage, owner, overdue and tier, the list), a renewal's panel (stage moves,
owner, due date, note, and signing with the new term prefilled), the account's "Renewals" tab
and the home card "My renewals".

Who sees which renewal: the readers of its account (renewals.selectors); who changes it: the
writers of its account (accounts.access.can_write). Another tenant's renewal or account is 404;
seeing but not writing is 403. Every write goes through renewals.services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import tabs as account_tabs
from accounts.access import can_write
from accounts.models import Tier
from accounts.selectors import account_get, user_list
from kam.forms import add_service_errors
from kam.pages import go, is_partial
from kam.permissions import tenant_view
from kam.tenancy import tenant_today
from renewals import presenters, selectors, services
from renewals.forms import MoveForm, RenewalEditForm, SignForm
from renewals.models import OPEN_STAGES, STAGE_LABELS, Renewal, RenewalStage

PAGE_SIZE = 50
TAB_KEY = "renewals"
FILTER_KEYS = ("stage", "owner", "overdue", "tier")


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) < 19 else None


def _filters(request: HttpRequest, params: QueryDict) -> tuple[selectors.RenewalFilters, dict[str, str]]:
    """The page's filters from the query; unknown values are ignored, never an error."""
    raw = {key: params.get(key, "").strip() for key in FILTER_KEYS}
    stage = raw["stage"] if raw["stage"] in (*RenewalStage.values, "open") else ""
    owner = request.user.pk if raw["owner"] == "me" else _int(raw["owner"])
    tier = raw["tier"] if raw["tier"] in Tier.values else ""
    overdue = raw["overdue"] in ("1", "true", "on", "yes")
    filters = selectors.RenewalFilters(stage=stage, owner=owner, overdue=overdue, tier=tier)
    shown = {
        "stage": stage,
        "owner": raw["owner"] if owner else "",
        "overdue": "1" if overdue else "",
        "tier": tier,
    }
    return filters, shown


def _query(shown: dict[str, str], **extra: Any) -> str:
    return urlencode({key: value for key, value in {**shown, **extra}.items() if value})


def _page_url(request: HttpRequest) -> str:
    return reverse("renewals", kwargs={"tenant_slug": request.tenant.slug})


def _renewal_url(request: HttpRequest, renewal: Renewal) -> str:
    return reverse("renewal", kwargs={"tenant_slug": request.tenant.slug, "renewal_id": renewal.pk})


def _contracts_tab_url(request: HttpRequest, account_id: int) -> str:
    return account_tabs.page_url(request.tenant.slug, account_id, "contracts")


def _annotate(request: HttpRequest, rows: list[Renewal], today: dt.date) -> None:
    slug = request.tenant.slug
    base = reverse("renewal", kwargs={"tenant_slug": slug, "renewal_id": 0})[:-2]
    for renewal in rows:
        renewal.url = f"{base}{renewal.pk}/"
        renewal.contracts_url = _contracts_tab_url(request, renewal.account_id)
        renewal.is_overdue = renewal.stage in OPEN_STAGES and renewal.contract.end_on < today
        renewal.is_late = renewal.stage in OPEN_STAGES and renewal.due_on < today


# --- the renewals page --------------------------------------------------------------------------------


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def renewals(request: HttpRequest) -> HttpResponse:
    today = tenant_today(request.tenant)
    filters, shown = _filters(request, request.GET)
    # The figures read every filter but the stage, so each stage's column keeps its count.
    unstaged = selectors.RenewalFilters(**{**filters.__dict__, "stage": ""})
    figure_rows = selectors.renewal_list_filtered(request.tenant, request.membership, unstaged, as_of=today)
    figures = selectors.stage_figures(request.tenant, figure_rows, as_of=today)
    months = selectors.month_figures(request.tenant, figure_rows, as_of=today)
    rows = selectors.renewal_list_filtered(request.tenant, request.membership, filters, as_of=today)
    paginator = Paginator(selectors.page_rows(rows), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    listed = list(page.object_list)
    _annotate(request, listed, today)
    page_url = _page_url(request)
    stage_cards = [
        {
            "stage": stage,
            "label": STAGE_LABELS[stage],
            "count": figures["by_stage"][stage].count,
            "value": figures["by_stage"][stage].value,
            "url": f"{page_url}?{_query(shown, stage=stage)}",
            "current": shown["stage"] == stage,
            "open": stage in OPEN_STAGES,
        }
        for stage in RenewalStage.values
    ]
    context = {
        "shown": shown,
        "query": _query(shown),
        "page_url": page_url,
        "owners": list(user_list(request.tenant)),
        "tiers": Tier.choices,
        "stage_choices": [(stage, STAGE_LABELS[stage]) for stage in RenewalStage.values],
        "open_stage_choices": [(stage, STAGE_LABELS[stage]) for stage in OPEN_STAGES],
        "stage_cards": stage_cards,
        "figures": figures,
        "months": months,
        "months_total": sum(figure.count for figure in months),
        "chart": presenters.month_chart(months) if any(figure.count for figure in months) else None,
        "page": page,
        "rows": listed,
        "today": today,
    }
    template = "renewals/renewals.html#renewals-body" if is_partial(request) else "renewals/renewals.html"
    return render(request, template, context)


# --- one renewal ----------------------------------------------------------------------------------------


def _panel_context(
    request: HttpRequest,
    renewal: Renewal,
    *,
    edit_form: RenewalEditForm | None = None,
    sign_form: SignForm | None = None,
    move_error: str = "",
) -> dict[str, Any]:
    today = tenant_today(request.tenant)
    may_write = can_write(request.tenant, request.membership, renewal.account)
    moves = services.allowed_moves(request.tenant, renewal) if may_write else []
    if edit_form is None:
        edit_form = RenewalEditForm(
            initial={"owner": renewal.owner_id, "due_on": renewal.due_on, "note": renewal.note},
            tenant=request.tenant,
            renewal=renewal,
        )
    if sign_form is None and RenewalStage.SIGNED in moves:
        sign_form = SignForm(initial=services.term_defaults(renewal.contract))
    _annotate(request, [renewal], today)
    return {
        "renewal": renewal,
        "contract": renewal.contract,
        "may_write": may_write,
        "moves": [
            {"stage": stage, "label": STAGE_LABELS[stage]}
            for stage in moves
            if stage not in (RenewalStage.SIGNED, RenewalStage.LOST)
        ],
        "may_lose": RenewalStage.LOST in moves,
        "may_sign": RenewalStage.SIGNED in moves,
        "edit_form": edit_form,
        "sign_form": sign_form,
        "move_error": move_error,
        "page_url": _page_url(request),
        "contracts_url": _contracts_tab_url(request, renewal.account_id),
        "next_contracts_url": _contracts_tab_url(request, renewal.account_id) if renewal.next_contract_id else "",
        "today": today,
    }


def _panel(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    template = "renewals/renewal.html#renewal-panel" if is_partial(request) else "renewals/renewal.html"
    return render(request, template, context, status=status)


def _writable(request: HttpRequest, renewal_id: int) -> Renewal:
    """Seen (else 404) and the member's to change (else 403)."""
    renewal = selectors.renewal_get(request.tenant, request.membership, renewal_id)
    if not can_write(request.tenant, request.membership, renewal.account):
        raise PermissionDenied
    return renewal


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def renewal_detail(request: HttpRequest, renewal_id: int) -> HttpResponse:
    renewal = selectors.renewal_get(request.tenant, request.membership, renewal_id)
    return _panel(request, _panel_context(request, renewal))


@tenant_view()
@require_POST
def renewal_move(request: HttpRequest, renewal_id: int) -> HttpResponse:
    renewal = _writable(request, renewal_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        context = _panel_context(request, renewal, move_error=_("Choose a stage."))
        return _panel(request, context, status=400)
    stage = form.cleaned_data["stage"].strip()
    try:
        renewal = services.renewal_move(
            request.tenant, renewal=renewal, stage=stage, reason=form.cleaned_data["reason"], actor=request.user
        )
    except ValidationError as exc:
        renewal = selectors.renewal_get(request.tenant, request.membership, renewal_id)
        context = _panel_context(request, renewal, move_error=" ".join(exc.messages))
        return _panel(request, context, status=400)
    messages.success(
        request,
        _("The renewal of “%(title)s” is now at %(stage)s.")
        % {"title": renewal.contract.title, "stage": renewal.stage_label},
    )
    return go(request, _renewal_url(request, renewal))


@tenant_view()
@require_POST
def renewal_edit(request: HttpRequest, renewal_id: int) -> HttpResponse:
    renewal = _writable(request, renewal_id)
    form = RenewalEditForm(request.POST, tenant=request.tenant, renewal=renewal)
    if form.is_valid():
        try:
            services.renewal_update(request.tenant, renewal=renewal, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The renewal was saved."))
            return go(request, _renewal_url(request, renewal))
    renewal = selectors.renewal_get(request.tenant, request.membership, renewal_id)
    return _panel(request, _panel_context(request, renewal, edit_form=form), status=400)


@tenant_view()
@require_http_methods(["GET", "POST"])
def renewal_sign(request: HttpRequest, renewal_id: int) -> HttpResponse:
    """GET: the panel with the sign form prefilled; POST: sign (the next contract is created)."""
    renewal = _writable(request, renewal_id)
    if request.method == "GET":
        return _panel(request, _panel_context(request, renewal))
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            renewal = services.renewal_sign(request.tenant, renewal=renewal, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Signed: the contract “%(title)s” runs from %(start)s to %(end)s.")
                % {
                    "title": renewal.next_contract.title,
                    "start": renewal.next_contract.start_on.isoformat(),
                    "end": renewal.next_contract.end_on.isoformat(),
                },
            )
            return go(request, _renewal_url(request, renewal))
    renewal = selectors.renewal_get(request.tenant, request.membership, renewal_id)
    context = _panel_context(request, renewal, sign_form=form)
    if not context["may_sign"]:
        context["move_error"] = " ".join(form.non_field_errors()) or _("This renewal cannot be signed now.")
    return _panel(request, context, status=400)


# --- the home card and the account's tab ------------------------------------------------------------


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def my_renewals(request: HttpRequest) -> HttpResponse:
    today = tenant_today(request.tenant)
    mine = selectors.renewal_list_owned_by(request.tenant, request.user, as_of=today)
    _annotate(request, mine.renewals, today)
    context = {"mine": mine, "list_url": f"{_page_url(request)}?owner=me&stage=open"}
    template = "renewals/my_renewals.html#my-renewals-body" if is_partial(request) else "renewals/my_renewals.html"
    return render(request, template, context)


@tenant_view()
@require_GET
def account_tab(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(request.tenant, request.membership, account_id)
    if not account_tabs.is_tab_request(request):
        return redirect(account_tabs.page_url(request.tenant.slug, account.pk, TAB_KEY))
    today = tenant_today(request.tenant)
    rows = list(selectors.renewal_list_for_account(request.tenant, account).order_by("-opened_on", "-id"))
    _annotate(request, rows, today)
    context = {
        "account": account,
        "rows": rows,
        "page_url": _page_url(request),
        "contracts_url": _contracts_tab_url(request, account.pk),
    }
    return render(request, "renewals/account_tab.html", context)


urlpatterns = [
    path("", renewals, name="renewals"),
    path("mine/", my_renewals, name="renewals-mine"),
    path("<int:renewal_id>/", renewal_detail, name="renewal"),
    path("<int:renewal_id>/move/", renewal_move, name="renewal-move"),
    path("<int:renewal_id>/edit/", renewal_edit, name="renewal-edit"),
    path("<int:renewal_id>/sign/", renewal_sign, name="renewal-sign"),
    path("accounts/<int:account_id>/", account_tab, name="renewals-account-tab"),
]
