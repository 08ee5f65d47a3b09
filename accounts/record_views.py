"""Orders, invoices and payments entered in the browser (DESIGN section 14), on the account's
Orders and Invoices tabs, by the people who write the account.

The rules are the services' (accounts.services order_create, invoice_create, payment_create,
payment_delete), which the API and the import go through too: a form that fails answers 400
with the messages beside its fields, and nothing is written. An order written here rescores
its account once it commits (accounts.services.order_written_hooks).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget

from accounts import selectors, services
from accounts import tabs as account_tabs
from accounts.forms import InvoiceForm, OrderForm, PaymentForm
from accounts.models import Account, Invoice, Payment
from accounts.views import _invoices_context, _orders_context
from kam.formats import format_money
from kam.forms import add_service_errors
from kam.pages import is_partial
from kam.permissions import WRITERS, tenant_view
from kam.tenancy import get_object_for_tenant, tenant_today

TAB_CONTEXTS = {"orders": _orders_context, "invoices": _invoices_context}


def _form_response(request: HttpRequest, template: str, partial: str, context: dict[str, Any]) -> HttpResponse:
    """The form: inline (htmx) or as a page of its own (no JavaScript); 400 when it has errors."""
    form = context["form"]
    name = f"{template}#{partial}" if is_partial(request) else template
    return render(request, name, context, status=400 if form.errors else 200)


def _done(request: HttpRequest, account: Account, tab: str, notice: str) -> HttpResponse:
    """After a write: the whole tab again, with the change and a notice on top (htmx), or the
    account page on that tab with the message (no JavaScript)."""
    if request.htmx:
        context = TAB_CONTEXTS[tab](request, account, notice=notice)
        response = render(request, f"accounts/tab_{tab}.html", context)
        return reswap(retarget(response, "#tab-panel"), "innerHTML")
    messages.success(request, notice)
    return redirect(account_tabs.page_url(request.tenant.slug, account.pk, tab))


def _posted(request: HttpRequest) -> Any:
    # An empty POST is a bound form (its required fields missing: 400), never an unbound one.
    return request.POST if request.method == "POST" else None


def _invoice_of(request: HttpRequest, account: Account, invoice_id: int) -> Invoice:
    return get_object_for_tenant(Invoice.objects.filter(account=account), request.tenant, invoice_id)


# --- orders -----------------------------------------------------------------------------------------


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def order_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    form = OrderForm(_posted(request), today=tenant_today(request.tenant))
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create(request.tenant, account=account, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            notice = _("The order of %(amount)s dated %(day)s was added.") % {
                "amount": format_money(order.amount),
                "day": order.order_date.isoformat(),
            }
            return _done(request, account, "orders", notice)
    return _form_response(request, "accounts/order_form.html", "order-form", {"form": form, "account": account})


# --- invoices -----------------------------------------------------------------------------------------


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def invoice_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    form = InvoiceForm(_posted(request), today=tenant_today(request.tenant))
    if request.method == "POST" and form.is_valid():
        try:
            invoice = services.invoice_create(request.tenant, account=account, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            notice = _("Invoice %(number)s of %(amount)s was added.") % {
                "number": invoice.number,
                "amount": format_money(invoice.amount),
            }
            return _done(request, account, "invoices", notice)
    return _form_response(request, "accounts/invoice_form.html", "invoice-form", {"form": form, "account": account})


# --- payments -----------------------------------------------------------------------------------------


def _payment_notice(payment: Payment, invoice: Invoice) -> str:
    values = {
        "amount": format_money(payment.amount),
        "number": invoice.number,
        "balance": format_money(invoice.balance),
    }
    if invoice.paid_on is not None:
        return _("A payment of %(amount)s was recorded: invoice %(number)s is paid in full.") % values
    return _("A payment of %(amount)s was recorded: invoice %(number)s is paid in part, %(balance)s left to pay.") % (
        values
    )


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def payment_create(request: HttpRequest, account_id: int, invoice_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    invoice = _invoice_of(request, account, invoice_id)
    form = PaymentForm(_posted(request), today=tenant_today(request.tenant), invoice=invoice)
    if request.method == "POST" and form.is_valid():
        try:
            payment = services.payment_create(request.tenant, invoice=invoice, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            invoice.refresh_from_db()
        else:
            return _done(request, account, "invoices", _payment_notice(payment, invoice))
    context = {"form": form, "account": account, "invoice": invoice}
    return _form_response(request, "accounts/payment_form.html", "payment-form", context)


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def payment_delete(request: HttpRequest, account_id: int, invoice_id: int, payment_id: int) -> HttpResponse:
    account = selectors.account_get_writable(request.tenant, request.membership, account_id)
    invoice = _invoice_of(request, account, invoice_id)
    payment = get_object_for_tenant(Payment.objects.filter(invoice=invoice), request.tenant, payment_id)
    context = {"account": account, "invoice": invoice, "payment": payment}
    if request.method == "GET":  # the confirmation page, for browsers without JavaScript
        return render(request, "accounts/payment_confirm.html", context)
    try:
        invoice = services.payment_delete(request.tenant, payment=payment, actor=request.user)
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        return render(request, "accounts/payment_confirm.html", context, status=400)
    notice = _(
        "The payment of %(amount)s dated %(day)s was undone; invoice %(number)s has %(balance)s left to pay."
    ) % {
        "amount": format_money(payment.amount),
        "day": payment.paid_on.isoformat(),
        "number": invoice.number,
        "balance": format_money(invoice.balance),
    }
    return _done(request, account, "invoices", notice)
