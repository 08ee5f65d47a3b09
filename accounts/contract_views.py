"""The account's contracts tab (DESIGN section 14): the clause register of each contract, a badge
where an active contract leaves our IP unprotected, and for writers the inline form (create and
edit, with the document) and the document's confirmed removal; the document's download for the
account's readers.

Uploads are size-limited before the body is read (accounts.documents.limit_upload): the views
that take one are CSRF-exempt at the door and check CSRF themselves once the limit is in place
(Django: "upload handlers on the fly"), as the import page does. Their URL names are in
settings.REQUEST_UPLOAD_URL_NAMES, so a body over the general 5 MB limit reaches them and gets the
form's own message; beyond REQUEST_MAX_UPLOAD_SIZE it is refused (413) before any view runs.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from accounts import access, documents, selectors, services
from accounts import tabs as account_tabs
from accounts.forms import ContractForm
from accounts.imports import uploads
from accounts.models import Account, Contract, Tier
from accounts.views import account_tab
from kam.forms import add_service_errors
from kam.pages import is_partial
from kam.permissions import WRITERS, tenant_view
from kam.tenancy import get_object_for_tenant, tenant_today

# Tiers whose unprotected IP is an alert (ip_unprotected, DESIGN section 14): their badge is red.
KEY_TIERS = (Tier.S, Tier.A)


def _tab_url(request: HttpRequest, account: Account) -> str:
    return account_tabs.page_url(request.tenant.slug, account.pk, "contracts")


def contracts_context(request: HttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    """The tab's contracts, each with its clause register read for today (the tenant's day)."""
    today = tenant_today(request.tenant)
    contracts = list(selectors.contract_list_with_renewal_flag(request.tenant, account, today=today))
    for contract in contracts:
        contract.days_left = (contract.end_on - today).days
        contract.active_today = contract.is_active(today)
        contract.ip_unprotected = contract.active_today and not contract.ip_protected(today)
        contract.confidentiality_in_force = (
            contract.confidentiality_until is not None and contract.confidentiality_until >= today
        )
    active = [contract for contract in contracts if contract.active_today]
    return {
        "account": account,
        "contracts": contracts,
        "today": today,
        "window_days": selectors.RENEWAL_WINDOW_DAYS,
        "can_write": access.can_write(request.tenant, request.membership, account),
        "key_account": account.tier in KEY_TIERS,
        # What ip_unprotected says of the account: active contracts, and none protects the IP.
        "nothing_protected": bool(active) and all(contract.ip_unprotected for contract in active),
        **extra,
    }


def _tab_response(request: HttpRequest, account: Account, notice: str) -> HttpResponse:
    """After a write: the whole tab again with a notice (htmx), or the account page on the tab."""
    if request.htmx:
        response = render(request, "accounts/tab_contracts.html", contracts_context(request, account, notice=notice))
        return reswap(retarget(response, "#tab-panel"), "innerHTML")
    messages.success(request, notice)
    return redirect(_tab_url(request, account))


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
@account_tab("contracts")
def tab_contracts(request: HttpRequest, account: Account) -> HttpResponse:
    return render(request, "accounts/tab_contracts.html", contracts_context(request, account))


# --- create and edit (with the document) -------------------------------------------------------------


def _form_response(
    request: HttpRequest,
    form: ContractForm,
    account: Account,
    contract: Contract | None,
    *,
    status: int = 200,
    refused: str = "",
) -> HttpResponse:
    context = {"form": form, "account": account, "contract": contract, "refused": refused}
    template = "accounts/contract_form.html#contract-form" if is_partial(request) else "accounts/contract_form.html"
    return render(request, template, context, status=status)


def _contract_form(request: HttpRequest, account: Account, contract: Contract | None) -> HttpResponse:
    handler = None
    if request.method == "POST":
        try:
            handler = documents.limit_upload(request)
        except uploads.UploadTooLarge as exc:
            # Refused unread (before CSRF, whose check would parse the body): nothing changes.
            message = "{} {}".format(documents.too_large_message(exc.size), _("Nothing was saved."))
            return _form_response(
                request, ContractForm(contract=contract), account, contract, status=400, refused=message
            )
    return _contract_form_checked(request, account, contract, handler=handler)


@csrf_protect
def _contract_form_checked(
    request: HttpRequest,
    account: Account,
    contract: Contract | None,
    *,
    handler: uploads.SizeLimitedUploadHandler | None,
) -> HttpResponse:
    if request.method != "POST":
        return _form_response(request, ContractForm(contract=contract), account, contract)
    files = request.FILES  # the body is parsed here (if CSRF did not already), through the limit
    form = ContractForm(request.POST, files, contract=contract)
    valid = form.is_valid()
    if handler is not None and handler.too_large:
        form.add_error("document", documents.too_large_message())
        valid = False
    if valid:
        try:
            if contract is None:
                contract = services.contract_create(
                    request.tenant, account=account, actor=request.user, **form.service_data()
                )
                notice = _("The contract %(title)s was added.") % {"title": contract.title}
            else:
                services.contract_update(request.tenant, contract=contract, actor=request.user, **form.service_data())
                notice = _("The contract %(title)s was saved.") % {"title": contract.title}
        except ValidationError as exc:
            add_service_errors(form, exc)
            if contract is not None and contract.pk:
                contract.refresh_from_db()  # the service set the values before validating them
        else:
            return _tab_response(request, account, notice)
    return _form_response(request, form, account, contract, status=400)


def _contract_of(request: HttpRequest, account: Account, contract_id: int) -> Contract:
    return get_object_for_tenant(Contract.objects.filter(account=account), request.tenant, contract_id)


@csrf_exempt  # checked by _contract_form_checked, once the size limit is in place
@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def contract_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    return _contract_form(request, account, None)


@csrf_exempt  # checked by _contract_form_checked, once the size limit is in place
@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def contract_edit(request: HttpRequest, account_id: int, contract_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    return _contract_form(request, account, _contract_of(request, account, contract_id))


# --- the document --------------------------------------------------------------------------------------


@tenant_view()
@require_GET
def contract_document(request: HttpRequest, account_id: int, contract_id: int) -> HttpResponse:
    """The stored document, to the account's readers only (404 otherwise, as for another
    tenant's), as an attachment with its original name and the type its content showed."""
    account = selectors.account_get(request.tenant, request.membership, account_id)
    contract = _contract_of(request, account, contract_id)
    if not contract.document:
        raise Http404("This contract has no document")
    try:
        handle = contract.document.open("rb")
    except OSError as exc:
        raise Http404("The document's file is missing") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=contract.document_name or documents.clean_name(contract.document.name),
        content_type=contract.document_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def contract_document_remove(request: HttpRequest, account_id: int, contract_id: int) -> HttpResponse:
    """Remove the document (confirmed: hx-confirm, or this page without JavaScript); its file is deleted."""
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    contract = _contract_of(request, account, contract_id)
    if request.method == "GET":
        return render(request, "accounts/contract_confirm.html", {"account": account, "contract": contract})
    if contract.document:
        services.contract_update(request.tenant, contract=contract, document=None, actor=request.user)
    return _tab_response(request, account, _("The document of %(title)s was removed.") % {"title": contract.title})
