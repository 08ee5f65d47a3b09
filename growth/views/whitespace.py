"""The whitespace (空白点): the account's tab (its buying centres x the active offerings, each
cell bought / pipeline / not applicable / open with its revenue in 12 months; the buying
centres themselves; marking a cell not applicable, with a reason, and undoing it) and the
tenant-wide page (the S and A accounts' open cells by buying centre, the wallet left first;
filters tier and offering; CSV and XLSX export of the same).

Readers of the account see its tab; writers of the account mark cells (403 else). The
tenant-wide page shows the accounts the member reads. Another tenant's account, centre or
offering is 404, and never in a list or export.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import access
from accounts import tabs as account_tabs
from accounts.models import Account
from accounts.selectors import account_get, account_get_writable
from growth import exports, selectors, services, whitespace
from growth.forms import NotApplicableForm, WhitespaceFilterForm
from growth.models import CellStatus
from kam.models import Membership
from kam.permissions import READ_ALL, WRITERS, tenant_view

TAB_KEY = "whitespace"
PAGE_SIZE = 50


# --- the account's tab ----------------------------------------------------------------------------


def _may_write(request: HttpRequest, account: Account) -> bool:
    return request.membership.role in WRITERS and access.can_write(request.tenant, request.membership, account)


def _tab(
    request: HttpRequest, account: Account, *, notice: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    slug = request.tenant.slug
    matrix = whitespace.account_matrix(request.tenant, account)
    context = {
        "account": account,
        "matrix": matrix,
        "counts": matrix.counts(),
        "wallet": sum((centre.annual_spend for centre in matrix.centres), start=0),
        "can_write": _may_write(request, account),
        "orders_url": account_tabs.page_url(slug, account.pk, "orders"),
        "tab_url": reverse("growth-account-whitespace", kwargs={"tenant_slug": slug, "account_id": account.pk}),
        "statuses": CellStatus,
        "notice": notice,
        "error": error,
    }
    return render(request, "growth/whitespace_tab.html", context, status=status)


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def account_whitespace(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(request.tenant, request.membership, account_id)
    if not account_tabs.is_tab_request(request):
        return redirect(account_tabs.page_url(request.tenant.slug, account.pk, TAB_KEY))
    return _tab(request, account)


def _after_mark(request: HttpRequest, account: Account, notice: str) -> HttpResponse:
    if request.htmx:
        return _tab(request, account, notice=notice)
    messages.success(request, notice)
    return redirect(account_tabs.page_url(request.tenant.slug, account.pk, TAB_KEY))


def _mark_failed(request: HttpRequest, account: Account, problem: str) -> HttpResponse:
    error = _("The cell was not marked: %(problem)s") % {"problem": problem}
    if request.htmx:
        return _tab(request, account, error=error, status=400)
    messages.error(request, error)
    return redirect(account_tabs.page_url(request.tenant.slug, account.pk, TAB_KEY))


@tenant_view(roles=WRITERS)
@require_POST
def cell_mark(request: HttpRequest, account_id: int) -> HttpResponse:
    """Mark a cell not applicable (POST centre, offering, reason)."""
    account = account_get_writable(request.tenant, request.membership, account_id)
    centre = selectors.buying_centre_get(request.tenant, account, request.POST.get("centre"))
    offering = selectors.offering_get(request.tenant, request.POST.get("offering"))
    form = NotApplicableForm(request.POST, offerings=selectors.offering_choice_list(request.tenant, include=offering))
    if not form.is_valid():
        problem = " ".join(str(message) for errors in form.errors.values() for message in errors)
        return _mark_failed(request, account, problem)
    try:
        services.not_applicable_mark(
            request.tenant,
            buying_centre=centre,
            offering=offering,
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except ValidationError as exc:
        return _mark_failed(request, account, " ".join(exc.messages))
    return _after_mark(
        request,
        account,
        _("%(offering)s is marked not applicable for %(centre)s.") % {"offering": offering.name, "centre": centre.name},
    )


@tenant_view(roles=WRITERS)
@require_POST
def cell_unmark(request: HttpRequest, account_id: int) -> HttpResponse:
    """Undo a not-applicable mark (POST centre, offering)."""
    account = account_get_writable(request.tenant, request.membership, account_id)
    centre = selectors.buying_centre_get(request.tenant, account, request.POST.get("centre"))
    offering = selectors.offering_get(request.tenant, request.POST.get("offering"))
    services.not_applicable_unmark(request.tenant, buying_centre=centre, offering=offering, actor=request.user)
    return _after_mark(
        request,
        account,
        _("%(offering)s for %(centre)s is open again.") % {"offering": offering.name, "centre": centre.name},
    )


# --- the tenant-wide page -------------------------------------------------------------------------


def _readable_ids(request: HttpRequest) -> list[int] | None:
    """None: every account (the roles that read all); else the ids the member reads."""
    membership: Membership = request.membership
    if membership.role in READ_ALL:
        return None
    return list(access.readable_accounts(request.tenant, membership).values_list("id", flat=True))


def _filters(request: HttpRequest) -> tuple[WhitespaceFilterForm, dict[str, Any]]:
    form = WhitespaceFilterForm(request.GET, offerings=selectors.offering_choice_list(request.tenant))
    values = form.values()
    tier = values.get("tier") or ""
    offering = values.get("offering")
    return form, {
        "tiers": [tier] if tier else list(whitespace.WHITESPACE_TIERS),
        "offering_id": offering.pk if offering else None,
        "account_ids": _readable_ids(request),
    }


@tenant_view()
@require_GET
def tenant_whitespace(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    try:
        number = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        number = 1
    page = whitespace.open_cells_page(request.tenant, page=number, page_size=PAGE_SIZE, **filters)
    query = {
        key: request.GET.get(key) for key in ("tier", "offering") if request.GET.get(key) and key in form.cleaned_data
    }
    context = {
        "form": form,
        "page": page,
        "rows": page.rows,
        "query": urlencode(query),
        "slug": request.tenant.slug,
    }
    return render(request, "growth/whitespace.html", context)


@tenant_view()
@require_GET
def tenant_whitespace_export(request: HttpRequest) -> HttpResponse:
    file_format = request.GET.get("format", "csv")
    if file_format not in exports.FORMATS:
        file_format = "csv"
    _form, filters = _filters(request)
    centres = whitespace.open_cells_all(request.tenant, **filters)
    content = exports.export_open_cells(centres, file_format, title=_("Whitespace"))
    response = HttpResponse(content, content_type=exports.FORMATS[file_format])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="whitespace-{stamp}.{file_format}"'
    return response


urlpatterns = [
    path("accounts/<int:account_id>/whitespace/", account_whitespace, name="growth-account-whitespace"),
    path("accounts/<int:account_id>/whitespace/mark/", cell_mark, name="growth-whitespace-mark"),
    path("accounts/<int:account_id>/whitespace/unmark/", cell_unmark, name="growth-whitespace-unmark"),
    path("whitespace/", tenant_whitespace, name="growth-whitespace"),
    path("whitespace/export/", tenant_whitespace_export, name="growth-whitespace-export"),
]
