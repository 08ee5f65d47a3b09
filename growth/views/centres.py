"""The buying centres (采购中心) of an account: create, edit, delete (with a confirmation).
They are listed on the account's whitespace tab (growth.views.whitespace), as its rows.

Readers of the account see them; writers of the account (accounts.access) change them:
another tenant's or an unreadable account is 404, a read-only one 403, another account's
centre 404. Writes go through growth.services; a bad value shows beside its field and
writes nothing (400).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import tabs as account_tabs
from accounts.models import Account
from accounts.selectors import account_get_writable
from growth import selectors, services
from growth.forms import BuyingCentreForm, centre_initial
from growth.models import BuyingCentre
from kam.forms import add_service_errors
from kam.pages import go
from kam.permissions import WRITERS, tenant_view

TAB_KEY = "whitespace"


def _tab_url(request: HttpRequest, account: Account) -> str:
    return account_tabs.page_url(request.tenant.slug, account.pk, TAB_KEY)


def _form_page(
    request: HttpRequest, account: Account, centre: BuyingCentre | None, form: BuyingCentreForm, status: int = 200
) -> HttpResponse:
    context = {"account": account, "centre": centre, "form": form, "back_url": _tab_url(request, account)}
    return render(request, "growth/centre_form.html", context, status=status)


def _save(request: HttpRequest, account: Account, centre: BuyingCentre | None) -> HttpResponse:
    prefix_id = f"id_centre{centre.pk if centre else 'new'}_%s"
    if request.method == "GET":
        initial = centre_initial(centre) if centre else {}
        return _form_page(
            request, account, centre, BuyingCentreForm(initial=initial, account=account, auto_id=prefix_id)
        )
    form = BuyingCentreForm(request.POST, account=account, auto_id=prefix_id)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if centre is None:
                centre = services.buying_centre_create(request.tenant, account=account, actor=request.user, **data)
                notice = _("The buying centre “%(name)s” was added.") % {"name": centre.name}
            else:
                if centre.is_primary and not data["is_primary"]:
                    data.pop("is_primary")  # the primary stays until another one is made primary
                services.buying_centre_update(request.tenant, centre=centre, actor=request.user, **data)
                notice = _("The buying centre “%(name)s” was saved.") % {"name": centre.name}
        except ValidationError as exc:
            if centre is not None:
                centre.refresh_from_db()
            add_service_errors(form, exc)
        else:
            messages.success(request, notice)
            return go(request, _tab_url(request, account))
    return _form_page(request, account, centre, form, status=400)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def centre_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    return _save(request, account, None)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def centre_edit(request: HttpRequest, account_id: int, centre_id: int) -> HttpResponse:
    account = account_get_writable(request.tenant, request.membership, account_id)
    centre = selectors.buying_centre_get(request.tenant, account, centre_id)
    return _save(request, account, centre)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def centre_delete(request: HttpRequest, account_id: int, centre_id: int) -> HttpResponse:
    """GET is the confirmation for browsers without JavaScript (htmx asks with hx-confirm)."""
    account = account_get_writable(request.tenant, request.membership, account_id)
    centre = selectors.buying_centre_get(request.tenant, account, centre_id)
    if request.method == "GET":
        context = {"account": account, "centre": centre, "back_url": _tab_url(request, account)}
        return render(request, "growth/centre_confirm.html", context)
    name = centre.name
    services.buying_centre_delete(request.tenant, centre=centre, actor=request.user)
    messages.success(request, _("The buying centre “%(name)s” was deleted.") % {"name": name})
    return go(request, _tab_url(request, account))


urlpatterns = [
    path("accounts/<int:account_id>/buying-centres/new/", centre_create, name="growth-centre-create"),
    path("accounts/<int:account_id>/buying-centres/<int:centre_id>/edit/", centre_edit, name="growth-centre-edit"),
    path(
        "accounts/<int:account_id>/buying-centres/<int:centre_id>/delete/", centre_delete, name="growth-centre-delete"
    ),
]
