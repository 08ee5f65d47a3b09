"""Webhooks against a real HTTP receiver on 127.0.0.1: the signature verified with the
recipe documented in docs/api.md, retries with exponential backoff, a slow or failing
receiver that never fails the job, and the refusal of private addresses."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from kam import outbound
from kam.tenancy import tenant_context
from risk import services, webhooks
from risk.models import RunKind, WebhookDelivery
from risk.tasks import retry_webhooks
from tests.factories import AccountFactory, InvoiceFactory
from tests.risk.conftest import D, run

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented_verifier():
    """The verification recipe exactly as docs/api.md shows it to integrators."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- webhook-verification -->\s*```python\n(.*?)```", text, re.S)
    assert block, "docs/api.md lost its webhook verification recipe"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_kam_signature"]


class Receiver:
    """An HTTP server in a thread that records each request and answers from a script."""

    def __init__(self, answers: list[int] | None = None, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers = list(answers or [])
        self.delay = delay
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                if receiver.delay:
                    time.sleep(receiver.delay)
                code = receiver.answers.pop(0) if receiver.answers else 200
                answer = b'{"ok": true}' if code < 300 else b"temporarily unavailable"
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/kam/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def overdue_account(tenant, name: str = "拖欠客户"):
    account = AccountFactory(tenant=tenant, name=name)
    InvoiceFactory(
        tenant=tenant, account=account, issued_on=D - dt.timedelta(days=70), due_on=D - dt.timedelta(days=40)
    )
    return account


def endpoint_for(tenant, url: str, events: list[str]):
    return services.webhook_endpoint_create(tenant, url=url, events=events)


def deliveries(tenant) -> list[WebhookDelivery]:
    with tenant_context(tenant):
        return list(WebhookDelivery.objects.order_by("id"))


def test_deliveries_are_signed_as_the_documentation_says(tenant, policy, receiver, django_capture_on_commit_callbacks):
    # given
    account = overdue_account(tenant)
    endpoint = endpoint_for(tenant, receiver.url, ["alert.opened", "risk_run.done"])
    verify = documented_verifier()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = run(tenant)
    # then: health_red and payment_overdue opened, and the run is done
    events = sorted(
        (r["headers"]["X-KAM-Event"], json.loads(r["body"])["data"].get("alert", {}).get("kind"))
        for r in receiver.requests
    )
    assert events == [
        ("alert.opened", "health_red"),
        ("alert.opened", "payment_overdue"),
        ("risk_run.done", None),
    ]
    for request in receiver.requests:
        headers, body = request["headers"], request["body"]
        assert verify(endpoint.secret, headers["X-KAM-Timestamp"], headers["X-KAM-Signature"], body)
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        # tampered, or signed with another secret, or replayed an hour later: refused
        assert not verify(endpoint.secret, headers["X-KAM-Timestamp"], headers["X-KAM-Signature"], body + b" ")
        assert not verify("whsec_other", headers["X-KAM-Timestamp"], headers["X-KAM-Signature"], body)
        old = str(int(headers["X-KAM-Timestamp"]) - 3600)
        assert not verify(endpoint.secret, old, webhooks.signature(endpoint.secret, old, body), body)
    opened = next(json.loads(r["body"]) for r in receiver.requests if b"payment_overdue" in r["body"])
    assert opened["event"] == "alert.opened" and opened["tenant"] == "acme"
    assert opened["data"]["alert"]["account"] == {"id": account.pk, "name": "拖欠客户"}
    assert opened["data"]["alert"]["details"]["max_days_overdue"] == 40
    done = next(json.loads(r["body"]) for r in receiver.requests if r["headers"]["X-KAM-Event"] == "risk_run.done")
    assert (done["data"]["run"]["id"], done["data"]["run"]["status"], done["data"]["run"]["alerts_opened"]) == (
        result.pk,
        "done",
        2,
    )
    assert [(d.status, d.attempts, d.response_code) for d in deliveries(tenant)] == [("delivered", 1, 200)] * 3
    # the stored payload is the body sent, and the delivery id header is its event id
    first = deliveries(tenant)[0]
    sent = next(r for r in receiver.requests if r["headers"]["X-KAM-Delivery"] == str(first.event_id))
    assert sent["body"] == webhooks.body_of(first.payload)


def test_events_an_endpoint_did_not_choose_are_not_sent(tenant, policy, receiver, django_capture_on_commit_callbacks):
    overdue_account(tenant)
    endpoint_for(tenant, receiver.url, ["alert.resolved"])
    services.webhook_endpoint_create(tenant, url=receiver.url, events=["alert.opened"], is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        run(tenant)
    assert receiver.requests == []


def _due_now(tenant) -> None:
    """Let the time of the next attempt come (instead of waiting for the backoff)."""
    with tenant_context(tenant):
        WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def test_failed_deliveries_are_retried_with_exponential_backoff(tenant, policy, django_capture_on_commit_callbacks):
    overdue_account(tenant)
    with Receiver(answers=[500, 503]) as receiver:
        endpoint_for(tenant, receiver.url, ["risk_run.done"])
        with django_capture_on_commit_callbacks(execute=True):
            before = timezone.now()
            run(tenant, kind=RunKind.CONCENTRATION)
        # then the first attempt failed: pending, next in 30 s +- 20 %
        (delivery,) = deliveries(tenant)
        assert (delivery.status, delivery.attempts, delivery.response_code, delivery.error) == (
            "pending",
            1,
            500,
            "HTTP 500",
        )
        assert delivery.response_body == "temporarily unavailable"
        assert dt.timedelta(seconds=24) <= delivery.next_attempt_at - before <= dt.timedelta(seconds=37)
        # the retry queued with its countdown does nothing before its time (eager Celery runs it at once)
        assert len(receiver.requests) == 1
        # when the time comes, the hourly sweep sends it again: 503, next in 60 s +- 20 %
        _due_now(tenant)
        with django_capture_on_commit_callbacks(execute=True):
            swept_at = timezone.now()
            retry_webhooks.delay(tenant.pk)
        (delivery,) = deliveries(tenant)
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 2, 503)
        assert dt.timedelta(seconds=47) <= delivery.next_attempt_at - swept_at <= dt.timedelta(seconds=73)
        # third time lucky
        _due_now(tenant)
        with django_capture_on_commit_callbacks(execute=True):
            retry_webhooks.delay(tenant.pk)
        (delivery,) = deliveries(tenant)
        assert (delivery.status, delivery.attempts, delivery.response_code, delivery.next_attempt_at) == (
            "delivered",
            3,
            200,
            None,
        )
        # the same event id on every attempt, a fresh timestamp and signature each time
        assert len({r["headers"]["X-KAM-Delivery"] for r in receiver.requests}) == 1
        assert len(receiver.requests) == 3


def test_backoff_doubles_up_to_an_hour_and_gives_up_after_eight_attempts(
    tenant, policy, django_capture_on_commit_callbacks
):
    import random

    rng = random.Random(1)
    delays = [webhooks.backoff_seconds(attempt, rng) for attempt in range(1, 9)]
    # 30, 60, 120, 240, 480, 960, 1920, 3600 (capped) seconds, each within +- 20 %
    for delay, base in zip(delays, [30, 60, 120, 240, 480, 960, 1920, 3600], strict=True):
        assert 0.8 * base <= delay <= 1.2 * base
    overdue_account(tenant)
    with Receiver(answers=[500] * 20) as receiver:
        endpoint_for(tenant, receiver.url, ["risk_run.done"])
        with django_capture_on_commit_callbacks(execute=True):
            run(tenant, kind=RunKind.CONCENTRATION)
        for _ in range(10):
            _due_now(tenant)
            with django_capture_on_commit_callbacks(execute=True):
                retry_webhooks.delay(tenant.pk)
        (delivery,) = deliveries(tenant)
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
        assert len(receiver.requests) == 8


def test_a_slow_receiver_does_not_hold_up_or_fail_the_job(tenant, policy, settings, django_capture_on_commit_callbacks):
    settings.RISK_WEBHOOK_TIMEOUT = 0.5
    overdue_account(tenant)
    with Receiver(delay=3) as receiver:
        endpoint_for(tenant, receiver.url, ["alert.opened", "risk_run.done"])
        # the job itself only records the deliveries
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            result = run(tenant)
        assert result.status == "done"
        assert time.monotonic() - started < 2
        assert [(d.status, d.attempts) for d in deliveries(tenant)] == [("pending", 0)] * 3
        # after the commit each delivery gives up at the timeout and waits for its retry
        for callback in callbacks:
            callback()
        assert [(d.status, d.attempts, d.response_code) for d in deliveries(tenant)] == [("pending", 1, None)] * 3
        assert all("timed out" in d.error for d in deliveries(tenant))
    with tenant_context(tenant):
        result.refresh_from_db()
    assert (result.status, result.alerts_opened) == ("done", 2)


def test_an_unreachable_receiver_is_recorded_and_retried(tenant, policy, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        url = receiver.url  # a port nobody listens on once this server is closed
    endpoint_for(tenant, url, ["risk_run.done"])
    with django_capture_on_commit_callbacks(execute=True):
        result = run(tenant, kind=RunKind.CONCENTRATION)
    assert result.status == "done"
    (delivery,) = deliveries(tenant)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.error == "ConnectionRefusedError: [Errno 111] Connection refused"


def test_private_addresses_are_refused_unless_allowed(tenant, policy, settings, receiver):
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    endpoint = endpoint_for(tenant, receiver.url, ["alert.opened"])
    delivery = services.webhook_send_test(tenant, endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, None)
    assert "private or local addresses (127.0.0.1)" in delivery.error
    assert receiver.requests == []


def test_send_test_answers_with_the_receivers_response(tenant, policy, receiver):
    endpoint = endpoint_for(tenant, receiver.url, ["alert.opened"])
    delivery = services.webhook_send_test(tenant, endpoint=endpoint)
    assert (delivery.event, delivery.status, delivery.response_code, delivery.response_body) == (
        "webhook.test",
        "delivered",
        200,
        '{"ok": true}',
    )
    body = json.loads(receiver.requests[0]["body"])
    assert body["data"] == {"message": "KAM webhook test", "endpoint": endpoint.pk, "events": ["alert.opened"]}


def test_endpoint_validation_and_the_secret_stays_out_of_the_audit_log(tenant, policy):
    from kam.models import AuditLog

    with pytest.raises(Exception, match="Unknown events: alert.exploded"):
        services.webhook_endpoint_create(tenant, url="https://example.com/h", events=["alert.exploded"])
    with pytest.raises(Exception, match="http or https"):
        services.webhook_endpoint_create(tenant, url="ftp://example.com/h", events=[])
    endpoint = services.webhook_endpoint_create(tenant, url="https://example.com/h", events=["alert.opened"])
    rotated = services.webhook_endpoint_rotate_secret(tenant, endpoint=endpoint)
    services.webhook_endpoint_update(tenant, endpoint=rotated, events=["alert.resolved", "alert.opened"])
    assert rotated.secret.startswith("whsec_") and len(rotated.secret) > 40
    with tenant_context(tenant):
        logged = json.dumps(list(AuditLog.objects.values_list("changes", flat=True)))
        endpoint.refresh_from_db()
    assert endpoint.secret not in logged
    assert endpoint.events == ["alert.opened", "alert.resolved"]


class DrippingReceiver:
    """A raw TCP server that answers one byte of a valid response every ``interval`` s."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.server = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            connection, _address = self.server.accept()
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000:
                    connection.sendall(bytes([byte]))
                    time.sleep(self.interval)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/kam/hooks"

    def __enter__(self) -> DrippingReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.close()


def test_a_receiver_that_drips_its_answer_is_cut_at_the_deadline(settings):
    # each byte comes well within the per-read timeout: only the deadline stops it
    settings.RISK_WEBHOOK_TIMEOUT = 1
    settings.RISK_WEBHOOK_DEADLINE = 1.5
    with DrippingReceiver(interval=0.05) as receiver:
        started = time.monotonic()
        attempt = webhooks.post(receiver.url, "s" * 32, event="alert.opened", event_id="e-1", payload={"a": 1})
        took = time.monotonic() - started
    assert 1.4 < took < 3
    assert not attempt.ok and attempt.response_code is None
    assert attempt.error == "TimeoutError: No complete answer within 1.5 s."


def test_the_request_goes_to_the_vetted_address_not_to_a_second_dns_answer(settings, receiver):
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    port = receiver.server.server_address[1]
    # a host name that no resolver answers: the request can only reach the receiver through the
    # address check_destination handed over, and the Host header keeps the name
    url = f"http://hooks.kam-test.invalid:{port}/kam/hooks"
    code, text = webhooks._send(url, b"{}", {"Content-Type": "application/json"}, address="127.0.0.1")
    assert (code, text) == (200, '{"ok": true}')
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.kam-test.invalid:{port}"
    # and check_destination vets every address before handing one over
    with pytest.raises(webhooks.DestinationRefused):
        webhooks.check_destination(f"http://localhost:{port}/kam/hooks")


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (openssl, as Debian ships it)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("served_name", ["hooks.kam-test.invalid", "elsewhere.kam-test.invalid"])
def test_https_goes_to_the_vetted_address_and_checks_the_certificate_against_the_host_name(
    tmp_path, monkeypatch, served_name
):
    cert, key = _certificate(tmp_path, served_name)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    with Receiver() as receiver:
        receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
        port = receiver.server.server_address[1]
        # the client trusts that certificate, and nothing else
        trusting = ssl.create_default_context(cafile=cert)
        monkeypatch.setattr(outbound.ssl, "create_default_context", lambda: trusting)
        url = f"https://hooks.kam-test.invalid:{port}/kam/hooks"
        if served_name == "hooks.kam-test.invalid":
            assert webhooks._send(url, b"{}", {}, address="127.0.0.1") == (200, '{"ok": true}')
            assert receiver.requests[0]["headers"]["Host"] == f"hooks.kam-test.invalid:{port}"
        else:  # a certificate for another name is refused, though the address was the one asked for
            with pytest.raises(ssl.SSLCertVerificationError):
                webhooks._send(url, b"{}", {}, address="127.0.0.1")
