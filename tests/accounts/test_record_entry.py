"""Orders, invoices and payments entered on the account's tabs (DESIGN section 14), the
payments API, and the rescore after an order (issue #18 part 4).

The pages call the services the API and the import call: bad input answers 400 with the
message beside its field, in the import's words, and writes nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.models import Invoice, Order, Payment
from kam.models import AuditLog
from kam.tenancy import tenant_context, tenant_today
from scoring import services as scoring_services
from scoring.models import AccountScore, ScoreRun
from tests.conftest import bearer, login
from tests.factories import AccountFactory, InvoiceFactory, OrderFactory, PaymentFactory
from tests.reliability.test_concurrency import in_thread

DATE_INVALID = "Enter the date as YYYY-MM-DD, e.g. 2026-12-07 (2026/12/07 and 2026年12月7日 are taken too)."

pytestmark = pytest.mark.django_db

API = "/api/v1"


def client_in(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


HTMX = {"HTTP_HX_REQUEST": "true"}


def urls(account_id: int, invoice_id: int = 0, payment_id: int = 0, slug: str = "acme") -> dict[str, str]:
    kwargs = {"tenant_slug": slug, "account_id": account_id}
    found = {
        "order": reverse("accounts-order-create", kwargs=kwargs),
        "invoice": reverse("accounts-invoice-create", kwargs=kwargs),
        "orders-tab": reverse("accounts-tab-orders", kwargs=kwargs),
        "invoices-tab": reverse("accounts-tab-invoices", kwargs=kwargs),
    }
    if invoice_id:
        found["payment"] = reverse("accounts-payment-create", kwargs={**kwargs, "invoice_id": invoice_id})
    if payment_id:
        found["undo"] = reverse(
            "accounts-payment-delete", kwargs={**kwargs, "invoice_id": invoice_id, "payment_id": payment_id}
        )
    return found


def counts(tenant: Any) -> tuple[int, int, int]:
    with tenant_context(tenant):
        return Order.objects.count(), Invoice.objects.count(), Payment.objects.count()


def reload(tenant: Any, obj: Any) -> Any:
    with tenant_context(tenant):
        obj.refresh_from_db()
    return obj


@pytest.fixture
def today(tenant) -> dt.date:
    return tenant_today(tenant)


@pytest.fixture
def invoice(tenant, account, today):
    """¥50,000.00, issued 30 days ago, due in 30 days, nothing paid."""
    return InvoiceFactory(
        tenant=tenant,
        account=account,
        number="FP-001",
        issued_on=today - dt.timedelta(days=30),
        due_on=today + dt.timedelta(days=30),
        amount=Decimal("50000.00"),
    )


def order_body(today: dt.date, **changes: Any) -> dict[str, Any]:
    return {
        "order_date": today.isoformat(),
        "amount": "128000.00",
        "cost": "91500.00",
        "product_line": "精密轴承",
        "offering": "",
        "buying_centre": "",
        "external_ref": "ERP-SO-1",
        **changes,
    }


def invoice_body(today: dt.date, **changes: Any) -> dict[str, Any]:
    return {
        "number": "FP-900",
        "issued_on": today.isoformat(),
        "due_on": (today + dt.timedelta(days=30)).isoformat(),
        "amount": "8800.00",
        **changes,
    }


def payment_body(today: dt.date, **changes: Any) -> dict[str, Any]:
    return {"paid_on": today.isoformat(), "amount": "20000.00", "reference": "CMB-42", **changes}


# --- who may enter them ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "director"])
def test_writers_see_the_buttons_and_open_the_forms(role_users, role, account, invoice):
    # given the manager who owns the account, or a director
    client = client_in(role_users[role])
    page = urls(account.pk, invoice.pk)
    # then the tabs offer the forms, and each form opens inline
    orders = client.get(page["orders-tab"], **HTMX).content.decode()
    assert "Add order" in orders and page["order"] in orders
    invoices = client.get(page["invoices-tab"], **HTMX).content.decode()
    assert "Add invoice" in invoices and page["payment"] in invoices and "Record payment" in invoices
    for name, field in (("order", "id_external_ref"), ("invoice", "id_due_on"), ("payment", "id_reference")):
        response = client.get(page[name], **HTMX)
        assert response.status_code == 200, name
        assert f'id="{field}"' in response.content.decode()
        # and as a page of its own, without JavaScript
        assert "<html" in client.get(page[name]).content.decode()


@pytest.mark.parametrize("role", ["member", "executive"])
def test_readers_get_403_and_no_buttons(role_users, role, tenant, account, invoice, today):
    payment = PaymentFactory(tenant=tenant, invoice=invoice)
    client = client_in(role_users[role])
    page = urls(account.pk, invoice.pk, payment.pk)
    with tenant_context(tenant):
        account.owner = role_users[role]  # even on an account they own: reading is not writing
        account.save()
    assert "Add order" not in client.get(page["orders-tab"], **HTMX).content.decode()
    invoices = client.get(page["invoices-tab"], **HTMX).content.decode()
    assert "Add invoice" not in invoices and "Record payment" not in invoices and "Undo" not in invoices
    bodies = {"order": order_body(today), "invoice": invoice_body(today), "payment": payment_body(today), "undo": {}}
    for name, body in bodies.items():
        assert client.get(page[name]).status_code == 403, name
        assert client.post(page[name], body).status_code == 403, name
    assert counts(tenant) == (0, 1, 1)


def test_a_manager_who_does_not_serve_the_account_gets_403(tenant, manager, invoice, today):
    other = AccountFactory(tenant=tenant, name="别人的客户")
    foreign_invoice = InvoiceFactory(tenant=tenant, account=other, number="FP-OTHER")
    client = client_in(manager)
    page = urls(other.pk, foreign_invoice.pk)
    assert client.post(page["order"], order_body(today)).status_code == 403
    assert client.post(page["invoice"], invoice_body(today)).status_code == 403
    assert client.post(page["payment"], payment_body(today)).status_code == 403
    assert counts(tenant) == (0, 2, 0)


def test_another_tenants_ids_are_404(tenant, director, account, invoice, foreign_account, outsider, today):
    # given an invoice and a payment of another workspace
    foreign_invoice = InvoiceFactory(tenant=foreign_account.tenant, account=foreign_account, number="GX-1")
    foreign_payment = PaymentFactory(tenant=foreign_account.tenant, invoice=foreign_invoice)
    own_payment = PaymentFactory(tenant=tenant, invoice=invoice)
    client = client_in(director)
    # when acme's director puts them into acme's pages: 404, whichever part is foreign
    tried = [
        urls(foreign_account.pk, foreign_invoice.pk, foreign_payment.pk),
        urls(account.pk, foreign_invoice.pk, foreign_payment.pk),
        urls(account.pk, invoice.pk, foreign_payment.pk),
    ]
    for page in tried:
        for name in ("payment", "undo") if page is not tried[2] else ("undo",):
            assert client.get(page[name]).status_code == 404, (page, name)
            assert client.post(page[name], payment_body(today)).status_code == 404, (page, name)
    for name in ("order", "invoice"):
        assert client.post(tried[0][name], order_body(today) | invoice_body(today)).status_code == 404
    # and globex's admin opening acme's: 404 too
    outsider_client = client_in(outsider)
    page = urls(account.pk, invoice.pk, own_payment.pk)
    for name in ("order", "invoice", "payment", "undo"):
        assert outsider_client.get(page[name]).status_code == 404, name
        assert outsider_client.post(page[name], payment_body(today)).status_code == 404, name
    assert counts(tenant) == (0, 1, 1)
    assert counts(foreign_account.tenant) == (0, 1, 1)


# --- orders -------------------------------------------------------------------------------------------------


def test_an_order_entered_on_the_tab(tenant, manager, account, today):
    client = client_in(manager)
    response = client.post(urls(account.pk)["order"], order_body(today), **HTMX)
    # then the tab comes back in place of the panel, with the order and a notice
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#tab-panel"
    html = response.content.decode()
    assert f"The order of ¥128,000.00 dated {today.isoformat()} was added." in html
    assert "ERP-SO-1" in html
    with tenant_context(tenant):
        order = Order.objects.get()
        logged = AuditLog.objects.filter(object_type="accounts.order", object_id=str(order.pk)).count()
    assert (order.account_id, order.order_date, order.amount, order.cost, order.product_line, order.external_ref) == (
        account.pk,
        today,
        Decimal("128000.00"),
        Decimal("91500.00"),
        "精密轴承",
        "ERP-SO-1",
    )
    assert logged == 1


def test_without_javascript_the_order_form_redirects_to_the_tab(tenant, director, account, today):
    response = client_in(director).post(urls(account.pk)["order"], order_body(today, external_ref=""))
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/accounts/{account.pk}/?tab=orders"
    assert counts(tenant) == (1, 0, 0)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-5"}, "amount", "The amount must be greater than zero."),
        ({"amount": "0"}, "amount", "The amount must be greater than zero."),
        ({"amount": "12.345"}, "amount", "Use at most two decimal places."),
        ({"amount": "abc"}, "amount", "Enter a number."),
        ({"cost": "-1"}, "cost", "The cost cannot be negative."),
        ({"order_date": "2026-02-30"}, "order_date", DATE_INVALID),
        ({"external_ref": "ERP-OLD"}, "external_ref", "An order with this external reference exists already."),
        ({"offering": "NOPE"}, "offering", "No offering with the code “NOPE” in this workspace."),
        ({"buying_centre": "NOPE"}, "buying_centre", "The account has no buying centre with the code “NOPE”."),
    ],
)
def test_a_bad_order_is_400_beside_its_field_and_writes_nothing(
    tenant, manager, account, today, changes, field, message
):
    OrderFactory(tenant=tenant, account=account, external_ref="ERP-OLD")
    response = client_in(manager).post(urls(account.pk)["order"], order_body(today, **changes), **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert message in html  # curly quotes are not HTML-escaped
    assert counts(tenant) == (1, 0, 0)


def test_an_empty_post_is_400(tenant, manager, account, invoice):
    client = client_in(manager)
    page = urls(account.pk, invoice.pk)
    for name in ("order", "invoice", "payment"):
        response = client.post(page[name], {}, **HTMX)
        assert response.status_code == 400, name
        assert "This field is required." in response.content.decode()
    assert counts(tenant) == (0, 1, 0)


# --- invoices -----------------------------------------------------------------------------------------------


def test_an_invoice_entered_on_the_tab(tenant, manager, account, today):
    response = client_in(manager).post(urls(account.pk)["invoice"], invoice_body(today), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Invoice FP-900 of ¥8,800.00 was added." in html
    with tenant_context(tenant):
        invoice = Invoice.objects.get()
    assert (invoice.number, invoice.issued_on, invoice.amount, invoice.paid_on, invoice.paid_amount) == (
        "FP-900",
        today,
        Decimal("8800.00"),
        None,
        None,
    )
    # and it can take a payment at once
    assert urls(account.pk, invoice.pk)["payment"] in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-8800"}, "amount", "The amount must be greater than zero."),
        ({"due_on": "2020-01-01"}, "due_on", "The due date cannot be before the issue date."),
        ({"number": "FP-001"}, "number", "An invoice with this number exists already."),
        ({"number": "  "}, "number", "This field is required."),
        ({"issued_on": "yesterday"}, "issued_on", DATE_INVALID),
    ],
)
def test_a_bad_invoice_is_400_beside_its_field_and_writes_nothing(
    tenant, director, account, invoice, today, changes, field, message
):
    response = client_in(director).post(urls(account.pk)["invoice"], invoice_body(today, **changes), **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert message in html
    assert counts(tenant) == (0, 1, 0)


# --- payments -----------------------------------------------------------------------------------------------


def test_payments_in_part_then_in_whole(tenant, manager, account, invoice, today):
    client = client_in(manager)
    page = urls(account.pk, invoice.pk)
    # when ¥20,000 of the ¥50,000 come: paid in part, no paid_on
    response = client.post(page["payment"], payment_body(today - dt.timedelta(days=5)), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "A payment of ¥20,000.00 was recorded: invoice FP-001 is paid in part, ¥30,000.00 left to pay." in html
    assert "Paid in part" in html and "1 payment on FP-001" in html
    reload(tenant, invoice)
    assert (invoice.paid_amount, invoice.paid_on, invoice.balance) == (Decimal("20000.00"), None, Decimal("30000.00"))
    # when the other ¥30,000 come: paid in full, on that day
    response = client.post(page["payment"], payment_body(today, amount="30000", reference=""), **HTMX)
    assert response.status_code == 200
    assert "invoice FP-001 is paid in full." in response.content.decode()
    reload(tenant, invoice)
    assert (invoice.paid_amount, invoice.paid_on, invoice.balance) == (Decimal("50000.00"), today, Decimal("0"))
    with tenant_context(tenant):
        payments = list(Payment.objects.order_by("paid_on").values_list("amount", "reference", "created_by"))
        audited = AuditLog.objects.filter(object_type="accounts.payment").count()
    assert payments == [(Decimal("20000.00"), "CMB-42", manager.pk), (Decimal("30000.00"), "", manager.pk)]
    assert audited == 2
    # and the paid invoice offers no more payment
    assert page["payment"] not in client.get(page["invoices-tab"], **HTMX).content.decode()


def test_the_invoice_is_settled_on_the_latest_day_paid(tenant, director, account, invoice, today):
    # a payment entered late, dated before the earlier one: the invoice was settled on the later day
    client = client_in(director)
    page = urls(account.pk, invoice.pk)
    client.post(page["payment"], payment_body(today - dt.timedelta(days=2), amount="20000"))
    client.post(page["payment"], payment_body(today - dt.timedelta(days=9), amount="30000"))
    assert reload(tenant, invoice).paid_on == today - dt.timedelta(days=2)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "50000.01"}, "amount", "The invoice's balance is ¥30,000.00; a payment cannot exceed it."),
        ({"amount": "0"}, "amount", "The amount must be greater than zero."),
        ({"amount": "-100"}, "amount", "The amount must be greater than zero."),
        ({"paid_on": "2000-01-01"}, "paid_on", "A payment cannot be dated before the invoice was issued"),
        ("tomorrow", "paid_on", "A payment cannot be dated in the future."),
    ],
)
def test_a_bad_payment_is_400_and_writes_nothing(tenant, manager, account, invoice, today, changes, field, message):
    # given ¥20,000 of the ¥50,000 paid already
    services.payment_create(tenant, invoice=invoice, paid_on=today, amount=Decimal("20000"))
    if changes == "tomorrow":
        changes = {"paid_on": (today + dt.timedelta(days=1)).isoformat()}
    response = client_in(manager).post(urls(account.pk, invoice.pk)["payment"], payment_body(today, **changes), **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert message.replace("'", "&#x27;") in html
    reload(tenant, invoice)
    assert (invoice.paid_amount, invoice.paid_on) == (Decimal("20000.00"), None)
    assert counts(tenant) == (0, 1, 1)


def test_a_paid_invoice_takes_no_payment(tenant, manager, account, invoice, today):
    with tenant_context(tenant):
        Invoice.objects.filter(pk=invoice.pk).update(paid_on=today, paid_amount=Decimal("50000"))
    response = client_in(manager).post(urls(account.pk, invoice.pk)["payment"], payment_body(today), **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Invoice FP-001 is already paid (on {today.isoformat()}); it takes no more payments." in html
    assert 'role="alert"' in html
    assert counts(tenant) == (0, 1, 0)


def test_undo_a_payment_reopens_the_invoice(tenant, manager, account, invoice, today):
    first = services.payment_create(tenant, invoice=invoice, paid_on=today, amount=Decimal("20000"))
    last = services.payment_create(tenant, invoice=invoice, paid_on=today, amount=Decimal("30000"))
    assert reload(tenant, invoice).paid_on == today
    client = client_in(manager)
    page = urls(account.pk, invoice.pk, last.pk)
    # the tab lists the payments, each with its undo (confirmed first)
    tab = client.get(page["invoices-tab"], **HTMX).content.decode()
    assert "2 payments on FP-001" in tab and page["undo"] in tab and "hx-confirm" in tab
    # without JavaScript, a confirmation page first
    confirm = client.get(page["undo"])
    assert confirm.status_code == 200
    assert "Undo the payment of ¥30,000.00 on invoice FP-001?" in confirm.content.decode()
    assert counts(tenant) == (0, 1, 2)
    # when the settling payment is undone: open again, paid in part
    response = client.post(page["undo"], **HTMX)
    assert response.status_code == 200
    assert (
        f"The payment of ¥30,000.00 dated {today.isoformat()} was undone; invoice FP-001 has ¥30,000.00 left to pay."
        in response.content.decode()
    )
    reload(tenant, invoice)
    assert (invoice.paid_amount, invoice.paid_on) == (Decimal("20000.00"), None)
    # and when the first goes too, nothing is paid
    response = client.post(urls(account.pk, invoice.pk, first.pk)["undo"])
    assert response.status_code == 302
    reload(tenant, invoice)
    assert (invoice.paid_amount, invoice.paid_on) == (None, None)
    with tenant_context(tenant):
        assert AuditLog.objects.filter(object_type="accounts.payment", action="delete").count() == 2


def test_the_invoices_tab_reads_payments_in_one_query(tenant, director, account, today):
    def tab_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(urls(account.pk)["invoices-tab"], **HTMX).status_code == 200
        return len(queries)

    client = client_in(director)
    days = {"issued_on": today - dt.timedelta(days=9), "due_on": today}
    invoice = InvoiceFactory(tenant=tenant, account=account, **days)
    services.payment_create(tenant, invoice=invoice, paid_on=today, amount=Decimal("1"), actor=director)
    tab_queries()  # the first request of a session reads what later ones find cached
    few = tab_queries()
    for n in range(5):
        more = InvoiceFactory(tenant=tenant, account=account, **days)
        services.payment_create(tenant, invoice=more, paid_on=today, amount=Decimal(n + 1), actor=director)
    assert tab_queries() == few


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_tabs_and_forms_render_in_both_languages(tenant, director, account, invoice, today, language):
    services.payment_create(tenant, invoice=invoice, paid_on=today, amount=Decimal("20000"))
    client = client_in(director, language)
    page = urls(account.pk, invoice.pk)
    words = {
        "en": ("Add order", "Add invoice", "Record payment", "Balance", "Paid in part", "Save order"),
        "zh-hans": ("添加订单", "添加发票", "登记回款", "未付余额", "部分付款", "保存订单"),
    }[language]
    html = "".join(
        client.get(page[name], **HTMX).content.decode() for name in ("orders-tab", "invoices-tab", "order", "payment")
    )
    for word in words:
        assert word in html, word
    full = client.get(f"/t/acme/accounts/{account.pk}/?tab=invoices").content.decode()
    assert f'<html lang="{language}">' in full and words[3] in full
    # an error in Chinese as well
    response = client.post(page["payment"], payment_body(today, amount="99999"), **HTMX)
    expected = {
        "en": "The invoice&#x27;s balance is ¥30,000.00; a payment cannot exceed it.",
        "zh-hans": "发票未付余额为 ¥3.00万，回款金额不能超过该余额。",
    }[language]
    assert expected in response.content.decode()


# --- an order rescores its account ------------------------------------------------------------------------------


@pytest.fixture
def scored(tenant, manager, today):
    """Three accounts with revenue in the last 12 months, scored by a full run: the manager's
    account has the least (¥100,000 against ¥500,000 and ¥1,000,000)."""
    scoring_services.scorecard_seed_default(tenant)
    mine = AccountFactory(tenant=tenant, name="甲", owner=manager)
    for account, amount in ((mine, "100000"), (AccountFactory(tenant=tenant, name="乙"), "500000")):
        OrderFactory(tenant=tenant, account=account, order_date=today - dt.timedelta(days=40), amount=Decimal(amount))
    OrderFactory(tenant=tenant, order_date=today - dt.timedelta(days=40), amount=Decimal("1000000"))
    run = scoring_services.score_run_create(tenant, as_of=today)
    scoring_services.score_run_execute(tenant, run=run)
    return mine


def latest_score(tenant, account) -> AccountScore:
    with tenant_context(tenant):
        return AccountScore.objects.filter(account=account).select_related("run").latest("run__created_at", "id")


def test_an_order_entered_on_the_page_rescores_the_account(
    tenant, manager, scored, today, django_capture_on_commit_callbacks
):
    before = latest_score(tenant, scored)
    # when the manager enters a ¥2,000,000 order: the account now has the most revenue
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in(manager).post(urls(scored.pk)["order"], order_body(today, amount="2000000"), **HTMX)
    assert response.status_code == 200
    # then a run of trigger "order" scored that account, and that account only
    with tenant_context(tenant):
        runs = list(ScoreRun.objects.filter(trigger="order").values_list("account_id", "status", "accounts_scored"))
    assert runs == [(scored.pk, "done", 1)]
    after = latest_score(tenant, scored)
    assert after.run.trigger == "order"
    assert after.revenue_12m == before.revenue_12m + Decimal("2000000")
    assert after.total > before.total
    # and it is what a full run computes from the same orders
    full = scoring_services.score_run_execute(tenant, run=scoring_services.score_run_create(tenant, as_of=today))
    with tenant_context(tenant):
        expected = AccountScore.objects.get(run=full, account=scored)
    assert (after.total, after.tier, after.revenue_12m, after.breakdown_values) == (
        expected.total,
        expected.tier,
        expected.revenue_12m,
        expected.breakdown_values,
    )


def test_the_api_rescores_after_a_single_order_and_not_after_bulk(
    tenant, scored, write_token, today, django_capture_on_commit_callbacks
):
    body = {"account": scored.pk, "order_date": today.isoformat(), "amount": "300000.00", "external_ref": "API-1"}
    headers = {"content_type": "application/json", **bearer(write_token)}
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{API}/orders/", json.dumps(body), **headers).status_code == 201
    with tenant_context(tenant):
        order = Order.objects.get(external_ref="API-1")
    with django_capture_on_commit_callbacks(execute=True):
        patch = client.patch(f"{API}/orders/{order.pk}/", json.dumps({"amount": "1.00"}), **headers)
        assert patch.status_code == 200
        assert client.delete(f"{API}/orders/{order.pk}/", **bearer(write_token)).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        bulk = [{**body, "external_ref": "API-BULK"}]
        assert client.post(f"{API}/orders/bulk/", json.dumps(bulk), **headers).status_code == 201
    with tenant_context(tenant):
        assert list(ScoreRun.objects.filter(trigger="order").values_list("account_id", flat=True)) == [scored.pk] * 3


def test_an_order_moved_to_another_account_rescores_both(tenant, scored, today, django_capture_on_commit_callbacks):
    other = AccountFactory(tenant=tenant, name="丙")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order = services.order_create(tenant, account=scored, order_date=today, amount=Decimal("5"))
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.order_update(tenant, order=order, account=other)
    with tenant_context(tenant):
        rescored = set(ScoreRun.objects.filter(trigger="order").values_list("account_id", flat=True))
    assert rescored == {scored.pk, other.pk}


# --- the payments API ---------------------------------------------------------------------------------------------


class Api:
    def __init__(self, token: str | None = None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.headers = {"HTTP_ACCEPT_LANGUAGE": "en", **(bearer(token) if token else {})}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(API + path, params or {}, **self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(API + path, json.dumps(body), content_type="application/json", **self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(API + path, **self.headers)


def test_api_payments_round_trip(tenant, account, invoice, write_token, today):
    api = Api(write_token)
    body = {"invoice": invoice.pk, "paid_on": today.isoformat(), "amount": "20000.00", "reference": "CMB-1"}
    created = api.post("/payments/", body)
    assert created.status_code == 201, created.content
    payment = created.json()
    assert payment == {
        "id": payment["id"],
        "invoice": invoice.pk,
        "account": account.pk,
        "paid_on": today.isoformat(),
        "amount": "20000.00",
        "reference": "CMB-1",
        "created_at": payment["created_at"],
    }
    # the invoice is paid in part
    assert api.get(f"/invoices/{invoice.pk}/").json()["paid_amount"] == "20000.00"
    assert api.get(f"/invoices/{invoice.pk}/").json()["paid_on"] is None
    # lists by invoice and by account; one payment, with its ETag
    other = InvoiceFactory(tenant=tenant, account=AccountFactory(tenant=tenant), issued_on=today, due_on=today)
    services.payment_create(tenant, invoice=other, paid_on=today, amount=Decimal("1"))
    for params in ({"invoice": invoice.pk}, {"account": account.pk}):
        assert [row["id"] for row in api.get("/payments/", params).json()["results"]] == [payment["id"]]
    assert len(api.get("/payments/").json()["results"]) == 2
    detail = api.get(f"/payments/{payment['id']}/")
    assert detail.status_code == 200 and detail["ETag"]
    # never changed in place
    for method in ("put", "patch"):
        changed = getattr(api.client, method)(
            f"{API}/payments/{payment['id']}/", json.dumps({"amount": "1.00"}), "application/json", **api.headers
        )
        assert changed.status_code == 405, method
    # the rest of the balance settles it
    api.post("/payments/", {**body, "amount": "30000.00", "reference": ""})
    assert api.get(f"/invoices/{invoice.pk}/").json()["paid_on"] == today.isoformat()
    # undo: the invoice is open again
    assert api.delete(f"/payments/{payment['id']}/").status_code == 204
    reload(tenant, invoice)
    assert (invoice.paid_amount, invoice.paid_on) == (Decimal("30000.00"), None)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"amount": "50000.01"}, {"amount": ["The invoice's balance is ¥50,000.00; a payment cannot exceed it."]}),
        ({"amount": "-1"}, {"amount": ["Ensure this value is greater than or equal to 0.01."]}),
        ({"paid_on": "1999-12-31"}, {"paid_on": ["A payment cannot be dated before the invoice was issued"]}),
        ({"invoice": 2_000_000_000}, {"invoice": ['Invalid pk "2000000000" - object does not exist.']}),
    ],
)
def test_api_bad_payments_are_400_and_write_nothing(tenant, invoice, write_token, today, changes, fields):
    body = {"invoice": invoice.pk, "paid_on": today.isoformat(), "amount": "100.00", **changes}
    response = Api(write_token).post("/payments/", body)
    assert response.status_code == 400
    got = response.json()["error"]["fields"]
    assert set(got) == set(fields)
    for name, messages in fields.items():
        assert got[name][0].startswith(messages[0])
    assert counts(tenant) == (0, 1, 0)
    assert reload(tenant, invoice).paid_amount is None


def test_api_payments_stay_in_their_tenant(tenant, account, invoice, outsider_token, write_token, foreign_account):
    payment = services.payment_create(tenant, invoice=invoice, paid_on=invoice.issued_on, amount=Decimal("5"))
    foreign_invoice = InvoiceFactory(tenant=foreign_account.tenant, account=foreign_account)
    outsider = Api(outsider_token)
    # another tenant's payment is 404 to read and to delete, and never listed
    assert outsider.get(f"/payments/{payment.pk}/").status_code == 404
    assert outsider.delete(f"/payments/{payment.pk}/").status_code == 404
    assert outsider.get("/payments/").json()["results"] == []
    assert outsider.get("/payments/", {"invoice": invoice.pk}).json()["results"] == []
    # and acme's token cannot pay globex's invoice
    response = Api(write_token).post(
        "/payments/", {"invoice": foreign_invoice.pk, "paid_on": "2026-01-02", "amount": "1.00"}
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["invoice"]
    assert counts(tenant) == (0, 1, 1)
    assert counts(foreign_account.tenant) == (0, 1, 0)


def test_api_session_roles(tenant, account, invoice, member, executive, manager, today):
    body = {"invoice": invoice.pk, "paid_on": today.isoformat(), "amount": "100.00"}
    for user in (member, executive):
        assert Api(client=login(user)).post("/payments/", body).status_code == 403
    other = InvoiceFactory(tenant=tenant, account=AccountFactory(tenant=tenant), issued_on=today, due_on=today)
    manager_api = Api(client=login(manager))
    assert manager_api.post("/payments/", {**body, "invoice": other.pk}).status_code == 403
    assert manager_api.post("/payments/", body).status_code == 201
    assert counts(tenant) == (0, 2, 1)


# --- two payments at once -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_payments_at_once_cannot_both_take_the_last_of_the_balance(tenant, account, manager, director):
    # given ¥50,000 to pay, and two people recording ¥30,000 each at the same moment
    today = tenant_today(tenant)
    invoice = InvoiceFactory(
        tenant=tenant, account=account, issued_on=today, due_on=today, amount=Decimal("50000.00"), number="FP-RACE"
    )
    start = threading.Barrier(2)

    def pay(actor: Any) -> Payment:
        with tenant_context(tenant):
            mine = Invoice.objects.get(pk=invoice.pk)
        start.wait(10)
        with translation.override("en"):  # a thread starts in the default language
            return services.payment_create(tenant, invoice=mine, paid_on=today, amount=Decimal("30000"), actor=actor)

    threads = [in_thread(lambda: pay(manager)), in_thread(lambda: pay(director))]
    for thread, _outcome in threads:
        thread.join(30)
    outcomes = [outcome for _thread, outcome in threads]
    # then one is recorded, the other is told the balance left
    assert sum("result" in outcome for outcome in outcomes) == 1
    errors = [outcome["error"] for outcome in outcomes if "error" in outcome]
    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert errors[0].message_dict == {"amount": ["The invoice's balance is ¥20,000.00; a payment cannot exceed it."]}
    reload(tenant, invoice)
    assert (invoice.paid_amount, invoice.paid_on) == (Decimal("30000.00"), None)
    assert counts(tenant) == (0, 1, 1)
