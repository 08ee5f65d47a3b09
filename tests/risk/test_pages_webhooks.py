"""The webhook settings pages: administrators only, the endpoints with their last delivery,
adding and editing (the service's URL and event rules, bad input changes nothing), the
signing secret shown once (on creation and rotation), deletion with confirmation, "send
test" against a real HTTP receiver on 127.0.0.1 (delivered, an error answer, a timeout, a
refused connection) with the delivery in the log, the log filtered by status and paged,
another tenant's endpoints (404, never listed), and both languages."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kam.models import AuditLog, Role
from kam.tenancy import tenant_context
from risk import services, webhooks
from risk.models import WebhookDelivery, WebhookEndpoint
from tests.risk.test_webhooks import Receiver

pytestmark = pytest.mark.django_db

LIST = "/t/acme/risk/settings/webhooks/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:
    # The receivers of these tests listen on 127.0.0.1, which production refuses.
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def page_of(endpoint: WebhookEndpoint) -> str:
    return f"{LIST}{endpoint.pk}/"


def endpoints(tenant) -> list[WebhookEndpoint]:
    with tenant_context(tenant):
        return list(WebhookEndpoint.objects.order_by("id"))


def deliveries(tenant) -> list[WebhookDelivery]:
    with tenant_context(tenant):
        return list(WebhookDelivery.objects.order_by("id"))


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<div class="field-error" id="id_{name}_error">(.*?)</div>', html, re.S)
    return match.group(1).strip() if match else ""


def secret_shown(html: str) -> str:
    match = re.search(r'id="webhook-secret-value" value="([^"]+)"', html)
    return match.group(1) if match else ""


def log_rows(html: str) -> list[tuple[str, str]]:
    """(status, event) of each row of the delivery log, top down."""
    return re.findall(
        r'<tr id="delivery-\d+" class="delivery-row delivery-row--(\w+)">.*?<code>([^<]+)</code>', html, re.S
    )


@pytest.fixture
def endpoint(tenant):
    return services.webhook_endpoint_create(
        tenant, url="https://erp.example.com/kam/hooks", events=["alert.opened", "risk_run.done"], description="ERP"
    )


@pytest.fixture
def foreign_endpoint(other_tenant):
    return services.webhook_endpoint_create(
        other_tenant, url="https://globex.example.com/secret-hook", events=["alert.opened"]
    )


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.MANAGER, Role.MEMBER, Role.EXECUTIVE])
def test_only_administrators_reach_the_webhook_pages(tenant, endpoint, role_users, role):
    client = client_in(role_users[role])
    for url in (LIST, page_of(endpoint), f"{page_of(endpoint)}edit/", f"{page_of(endpoint)}delete/"):
        assert client.get(url).status_code == 403, url
    for url in (f"{page_of(endpoint)}test/", f"{page_of(endpoint)}rotate-secret/", f"{page_of(endpoint)}delete/"):
        assert client.post(url).status_code == 403, url
    assert client.post(LIST, {"url": "https://x.example.com/", "events": ["alert.opened"]}).status_code == 403
    # nothing changed, nothing sent
    (only,) = endpoints(tenant)
    assert (only.pk, only.secret) == (endpoint.pk, endpoint.secret)
    assert deliveries(tenant) == []


def test_another_tenants_endpoint_is_404_and_never_listed(tenant, admin, endpoint, foreign_endpoint):
    client = client_in(admin)
    html = client.get(LIST).content.decode()
    assert "erp.example.com" in html and "globex" not in html
    base = page_of(foreign_endpoint)
    for url in (base, f"{base}edit/", f"{base}delete/", f"{base}rotate-secret/"):
        assert client.get(url).status_code == 404, url
    for url in (f"{base}test/", f"{base}rotate-secret/", f"{base}delete/", f"{base}edit/"):
        assert client.post(url, {"url": "https://evil.example.com/", "events": ["alert.opened"]}).status_code == 404
    (foreign,) = endpoints(foreign_endpoint.tenant)
    assert (foreign.url, foreign.secret) == ("https://globex.example.com/secret-hook", foreign_endpoint.secret)
    assert deliveries(foreign_endpoint.tenant) == []


def test_an_administrator_of_another_tenant_gets_404(tenant, endpoint, outsider):
    client = client_in(outsider)
    assert client.get(LIST).status_code == 404
    assert client.get(page_of(endpoint)).status_code == 404
    assert client.post(f"{page_of(endpoint)}test/").status_code == 404
    assert client.post(LIST, {"url": "https://x.example.com/", "events": ["alert.opened"]}).status_code == 404
    assert endpoints(tenant) == [endpoint]


# --- the list and adding ---------------------------------------------------------------------------


def test_the_list_shows_each_endpoints_events_status_and_last_delivery(tenant, admin, endpoint, receiver):
    # given a second endpoint, switched off, that answered a test with 200
    quiet = services.webhook_endpoint_create(tenant, url=receiver.url, events=["alert.resolved"], is_active=True)
    services.webhook_send_test(tenant, endpoint=quiet)
    services.webhook_endpoint_update(tenant, endpoint=quiet, is_active=False)
    # when
    html = client_in(admin).get(LIST).content.decode()
    # then
    first = html.split(f'id="webhook-{endpoint.pk}"')[1].split("</tr>")[0]
    assert "Alert opened" in first and "Risk run done" in first and ">Active<" in first
    assert "Nothing sent yet" in first
    second = html.split(f'id="webhook-{quiet.pk}"')[1].split("</tr>")[0]
    assert "Switched off" in second and "Alert resolved" in second
    assert "webhook.test" in second and "badge--delivery-delivered" in second and "HTTP 200" in second


def test_the_list_reads_a_fixed_number_of_queries(tenant, admin, receiver):
    def queries() -> int:
        client = client_in(admin)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    first = services.webhook_endpoint_create(tenant, url=receiver.url, events=["alert.opened"])
    services.webhook_send_test(tenant, endpoint=first)
    one = queries()
    for number in range(4):
        more = services.webhook_endpoint_create(tenant, url=f"{receiver.url}/{number}", events=["alert.opened"])
        services.webhook_send_test(tenant, endpoint=more)
    assert queries() == one


def test_adding_an_endpoint_shows_its_secret_once(tenant, admin):
    client = client_in(admin)
    # when
    response = client.post(
        LIST,
        {
            "url": "  https://bi.example.com/kam/hooks?source=kam  ",
            "description": "BI",
            "events": ["alert.resolved", "alert.opened"],
            "is_active": "on",
        },
    )
    html = response.content.decode()
    # then: stored as the service keeps it (URL trimmed, events in their canonical order)
    (created,) = endpoints(tenant)
    assert (created.url, created.description, created.events, created.is_active) == (
        "https://bi.example.com/kam/hooks?source=kam",
        "BI",
        ["alert.opened", "alert.resolved"],
        True,
    )
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0") and "no-store" in response["Cache-Control"]
    assert secret_shown(html) == created.secret and created.secret.startswith("whsec_")
    assert "Copy the signing secret now. It will not be shown again." in html
    assert 'X-KAM-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))' in html
    # and never again: not on the list, not on its page, not in the audit log
    for url in (LIST, page_of(created), f"{page_of(created)}edit/"):
        again = client.get(url).content.decode()
        assert created.secret not in again and secret_shown(again) == ""
    assert created.secret[:10] in client.get(page_of(created)).content.decode()
    with tenant_context(tenant):
        (entry,) = AuditLog.objects.filter(object_type="risk.webhookendpoint")
    assert entry.action == "create" and entry.actor_user_id == admin.pk
    assert created.secret not in str(entry.changes)


BAD_ENDPOINTS = [
    # (field, data, message)
    ("url", {"url": ""}, "Enter the URL that receives the events."),
    ("url", {"url": "erp.example.com/hooks"}, "Enter an http or https URL."),
    ("url", {"url": "ftp://erp.example.com/hooks"}, "Enter an http or https URL."),
    ("url", {"url": "javascript:alert(1)"}, "Enter an http or https URL."),
    ("url", {"url": "https://" + "a" * 495 + ".com"}, "Ensure this value has at most 500 characters (it has 507)."),
    ("events", {"events": []}, "Choose at least one event to send."),
    ("events", {"events": ["alert.opened", "alert.deleted"]}, "Choose events from the list."),
    ("events", {"events": ["webhook.test"]}, "Choose events from the list."),
    ("description", {"description": "x" * 201}, "Ensure this value has at most 200 characters (it has 201)."),
]
GOOD_ENDPOINT = {
    "url": "https://ok.example.com/hooks",
    "events": ["alert.opened"],
    "description": "",
    "is_active": "on",
}


@pytest.mark.parametrize(("name", "data", "message"), BAD_ENDPOINTS)
def test_bad_input_when_adding_is_refused_and_nothing_is_made(tenant, admin, name, data, message):
    response = client_in(admin).post(LIST, {**GOOD_ENDPOINT, **data})
    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, name) == message
    assert endpoints(tenant) == []
    assert secret_shown(html) == ""


@pytest.mark.parametrize(("name", "data", "message"), BAD_ENDPOINTS)
def test_bad_input_when_editing_changes_nothing(tenant, admin, endpoint, name, data, message):
    response = client_in(admin).post(f"{page_of(endpoint)}edit/", {**GOOD_ENDPOINT, **data})
    assert response.status_code == 400
    assert field_error(response.content.decode(), name) == message
    (unchanged,) = endpoints(tenant)
    assert (unchanged.url, unchanged.events, unchanged.description, unchanged.is_active) == (
        "https://erp.example.com/kam/hooks",
        ["alert.opened", "risk_run.done"],
        "ERP",
        True,
    )


def test_editing_changes_the_endpoint_and_keeps_its_secret(tenant, admin, endpoint):
    client = client_in(admin)
    form = client.get(f"{page_of(endpoint)}edit/").content.decode()
    assert 'value="https://erp.example.com/kam/hooks"' in form
    assert re.search(r'value="alert.opened"[^>]*checked', form) and not re.search(
        r'value="alert.resolved"[^>]*checked', form
    )
    response = client.post(
        f"{page_of(endpoint)}edit/",
        {"url": "https://erp.example.com/kam/v2", "events": ["alert.escalated"], "description": "ERP v2"},
        follow=True,
    )
    assert response.redirect_chain == [(page_of(endpoint), 302)]
    assert "The webhook was saved." in response.content.decode()
    (changed,) = endpoints(tenant)
    assert (changed.url, changed.events, changed.description, changed.is_active, changed.secret) == (
        "https://erp.example.com/kam/v2",
        ["alert.escalated"],
        "ERP v2",
        False,  # the box was not ticked
        endpoint.secret,
    )


# --- the secret, deletion ------------------------------------------------------------------------


def test_rotating_the_secret_shows_the_new_one_once(tenant, admin, endpoint):
    client = client_in(admin)
    # without JavaScript: a confirmation page first, then the endpoint page with the new secret
    confirm = client.get(f"{page_of(endpoint)}rotate-secret/").content.decode()
    assert "Make a new signing secret?" in confirm
    assert endpoints(tenant)[0].secret == endpoint.secret
    response = client.post(f"{page_of(endpoint)}rotate-secret/")
    (rotated,) = endpoints(tenant)
    assert rotated.secret != endpoint.secret
    assert secret_shown(response.content.decode()) == rotated.secret
    assert "no-store" in response["Cache-Control"]
    # with htmx: the panel alone, swapped in place
    panel = client.post(f"{page_of(endpoint)}rotate-secret/", **HTMX)
    (again,) = endpoints(tenant)
    assert panel.content.decode().lstrip().startswith('<section class="card panel-secret" id="webhook-secret"')
    assert secret_shown(panel.content.decode()) == again.secret != rotated.secret
    assert "The old secret no longer signs deliveries" in panel.content.decode()
    # and the hint on the page follows, out of band
    assert f'<code id="secret-hint" hx-swap-oob="true">{again.secret[:10]}…</code>' in panel.content.decode()
    # and the page shows neither afterwards
    html = client.get(page_of(endpoint)).content.decode()
    assert again.secret not in html and rotated.secret not in html
    with tenant_context(tenant):
        rotations = list(AuditLog.objects.filter(object_type="risk.webhookendpoint", action="update"))
    assert [entry.changes for entry in rotations] == [{"secret": ["…", "rotated"]}] * 2


def test_deleting_asks_first_then_removes_the_endpoint_and_its_log(tenant, admin, endpoint, receiver):
    services.webhook_endpoint_update(tenant, endpoint=endpoint, url=receiver.url)
    services.webhook_send_test(tenant, endpoint=endpoint)
    client = client_in(admin)
    confirm = client.get(f"{page_of(endpoint)}delete/")
    assert "Delete the webhook to" in confirm.content.decode() and endpoints(tenant) == [endpoint]
    # with htmx (after hx-confirm): the answer sends the browser to the list
    response = client.post(f"{page_of(endpoint)}delete/", **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == LIST
    assert endpoints(tenant) == [] and deliveries(tenant) == []
    listed = client.get(LIST).content.decode()
    assert f"The webhook to {receiver.url} was deleted with its delivery log." in listed
    assert "No webhooks yet." in listed


def test_deleting_without_javascript_redirects_to_the_list(tenant, admin, endpoint):
    response = client_in(admin).post(f"{page_of(endpoint)}delete/")
    assert response.status_code == 302 and response["Location"] == LIST
    assert endpoints(tenant) == []


# --- send test -------------------------------------------------------------------------------------


def test_send_test_delivers_and_the_delivery_is_in_the_log(tenant, admin, receiver):
    endpoint = services.webhook_endpoint_create(tenant, url=receiver.url, events=["alert.opened"])
    client = client_in(admin)
    # when, with htmx, from the endpoint page
    response = client.post(f"{page_of(endpoint)}test/", **HTMX)
    html = response.content.decode()
    # then the receiver got one signed webhook.test POST
    (request,) = receiver.requests
    assert request["headers"]["X-KAM-Event"] == "webhook.test"
    assert (
        webhooks.signature(endpoint.secret, request["headers"]["X-KAM-Timestamp"], request["body"])
        == (request["headers"]["X-KAM-Signature"])
    )
    # the answer shows the outcome in place and tells the page to reload its log
    (delivery,) = deliveries(tenant)
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("delivered", 200, 1)
    assert response.status_code == 200 and json.loads(response["HX-Trigger"]) == {"webhook-tested": {}}
    assert 'class="badge badge--delivery-delivered">Delivered</span>' in html and "HTTP 200" in html
    assert f"{delivery.duration_ms} ms" in html
    # and the log shows it
    log = client.get(page_of(endpoint)).content.decode()
    assert log_rows(log) == [("delivered", "webhook.test")]
    # without JavaScript: a message on the endpoint page, whose log has both
    again = client.post(f"{page_of(endpoint)}test/", follow=True)
    latest = deliveries(tenant)[-1]
    assert again.redirect_chain == [(page_of(endpoint), 302)]
    assert f"The test event was delivered: HTTP 200 in {latest.duration_ms} ms." in again.content.decode()
    assert log_rows(again.content.decode()) == [("delivered", "webhook.test")] * 2


def test_send_test_to_a_failing_receiver_says_why(tenant, admin):
    with Receiver(answers=[503]) as failing:
        endpoint = services.webhook_endpoint_create(tenant, url=failing.url, events=["alert.opened"])
        response = client_in(admin).post(f"{page_of(endpoint)}test/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "badge--delivery-failed" in html
    assert "The receiver answered HTTP 503; only a 2xx answer counts as delivered." in html
    (delivery,) = deliveries(tenant)
    # a test is never retried
    assert (delivery.status, delivery.response_code, delivery.next_attempt_at) == ("failed", 503, None)


def test_send_test_to_a_slow_receiver_gives_up_after_the_timeout(tenant, admin, settings):
    settings.RISK_WEBHOOK_TIMEOUT = 0.5
    with Receiver(delay=3) as slow:
        endpoint = services.webhook_endpoint_create(tenant, url=slow.url, events=["alert.opened"])
        started = time.monotonic()
        response = client_in(admin).post(f"{page_of(endpoint)}test/", **HTMX)
        waited = time.monotonic() - started
    assert response.status_code == 200
    assert "The receiver did not answer within 0.5 seconds." in response.content.decode()
    # the page did not wait for the receiver's 3 seconds
    assert waited < 2.5
    (delivery,) = deliveries(tenant)
    assert delivery.status == "failed" and delivery.error.startswith("TimeoutError")


def test_send_test_to_nothing_listening_without_javascript(tenant, admin):
    endpoint = services.webhook_endpoint_create(
        tenant, url=f"http://127.0.0.1:{closed_port()}/hooks", events=["alert.opened"]
    )
    response = client_in(admin).post(f"{page_of(endpoint)}test/", follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(page_of(endpoint), 302)]
    assert (
        "The test event was not delivered. The connection was refused: nothing listens at that address and port."
        in html
    )
    assert log_rows(html) == [("failed", "webhook.test")]


def test_send_test_to_a_private_address_when_they_are_refused(tenant, admin, receiver, settings):
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    endpoint = services.webhook_endpoint_create(tenant, url=receiver.url, events=["alert.opened"])
    response = client_in(admin).post(f"{page_of(endpoint)}test/", **HTMX)
    assert response.status_code == 200
    assert "Webhooks are not sent to private or local addresses (127.0.0.1)." in response.content.decode()
    assert receiver.requests == []


def test_send_test_to_a_switched_off_endpoint(tenant, admin, receiver):
    endpoint = services.webhook_endpoint_create(tenant, url=receiver.url, events=["alert.opened"], is_active=False)
    html = client_in(admin).post(f"{page_of(endpoint)}test/", **HTMX).content.decode()
    assert "The endpoint is switched off." in html
    assert receiver.requests == []


# --- the delivery log ------------------------------------------------------------------------------


def pending_deliveries(tenant, endpoint, count: int) -> None:
    """Deliveries recorded by an event, not sent yet (they go out after a commit that a test never makes)."""
    with tenant_context(tenant):
        webhooks.emit(tenant, "alert.opened", [{"alert": {"id": number}} for number in range(count)])


def test_the_log_filters_by_status_and_pages(tenant, admin):
    with Receiver(answers=[200, 500, 200]) as server:
        endpoint = services.webhook_endpoint_create(tenant, url=server.url, events=["alert.opened"])
        for _ in range(3):
            services.webhook_send_test(tenant, endpoint=endpoint)
    pending_deliveries(tenant, endpoint, 30)
    client = client_in(admin)
    # all: 33, newest first, 25 a page
    first = client.get(page_of(endpoint)).content.decode()
    assert len(log_rows(first)) == 25 and set(log_rows(first)) == {("pending", "alert.opened")}
    assert "Page 1 of 2" in first
    second = client.get(f"{page_of(endpoint)}?page=2").content.decode()
    assert log_rows(second) == [("pending", "alert.opened")] * 5 + [
        ("delivered", "webhook.test"),
        ("failed", "webhook.test"),
        ("delivered", "webhook.test"),
    ]
    # the counts beside the filters: 33 in all, 2 delivered, 1 failed, 30 pending
    counts = re.findall(r'<span class="count">(\d+)</span>', first)
    assert counts == ["33", "2", "1", "30"]  # all, then delivered, failed, pending
    failed = client.get(f"{page_of(endpoint)}?status=failed").content.decode()
    assert log_rows(failed) == [("failed", "webhook.test")]
    assert "The receiver answered HTTP 500" in failed
    delivered = client.get(f"{page_of(endpoint)}?status=delivered", **HTMX).content.decode()
    assert delivered.lstrip().startswith('<section class="card delivery-log" id="delivery-log"')
    assert log_rows(delivered) == [("delivered", "webhook.test")] * 2
    pending = client.get(f"{page_of(endpoint)}?status=pending&page=2").content.decode()
    assert len(log_rows(pending)) == 5
    # the next retry of a pending delivery is shown; an unknown status shows all
    assert "<time" in pending.split('class="delivery-row delivery-row--pending">')[1].split("</tr>")[0]
    assert len(log_rows(client.get(f"{page_of(endpoint)}?status=nonsense&page=x").content.decode())) == 25


def test_the_log_reads_a_fixed_number_of_queries(tenant, admin, endpoint):
    def queries() -> int:
        client = client_in(admin)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page_of(endpoint)).status_code == 200
        return len(captured)

    pending_deliveries(tenant, endpoint, 2)
    few = queries()
    pending_deliveries(tenant, endpoint, 20)
    assert queries() == few


def test_the_log_shows_another_endpoints_deliveries_never(tenant, other_tenant, admin, endpoint, foreign_endpoint):
    pending_deliveries(other_tenant, foreign_endpoint, 3)
    html = client_in(admin).get(page_of(endpoint)).content.decode()
    assert log_rows(html) == []
    assert "Nothing sent yet." in html


# --- languages -------------------------------------------------------------------------------------


def test_the_pages_in_chinese(tenant, admin, receiver):
    client = client_in(admin, "zh-hans")
    empty = client.get(LIST).content.decode()
    assert "<h1>Webhook</h1>" in empty and "添加 Webhook" in empty
    bad = client.post(LIST, {**GOOD_ENDPOINT, "events": []}).content.decode()
    assert field_error(bad, "events") == "请至少选择一个要发送的事件。"
    created = client.post(LIST, {**GOOD_ENDPOINT, "url": receiver.url}).content.decode()
    assert "请立即复制签名密钥，它不会再次显示。" in created
    (endpoint,) = endpoints(tenant)
    tested = client.post(f"{page_of(endpoint)}test/", **HTMX).content.decode()
    assert "已送达" in tested
    page = client.get(page_of(endpoint)).content.decode()
    assert "投递日志" in page and "预警已产生" in page
