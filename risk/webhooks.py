"""Webhooks: signed JSON POSTs of the events an endpoint chose, with retries.

- ``emit`` records one WebhookDelivery per subscribed endpoint and event, inside the
  tenant's context and from that tenant's rows only, and queues the deliveries once the
  transaction commits. A risk job therefore never waits for, nor fails because of, a
  receiver.
- ``deliver`` makes one attempt: it claims the delivery with a conditional UPDATE (so two
  workers never send the same attempt), POSTs outside any transaction with a short
  timeout, and records the outcome. A failure is retried with exponential backoff and
  jitter (``next_attempt_at``) up to ``MAX_ATTEMPTS``; the hourly sweep re-queues what is
  due in case a queued retry was lost.

Every request carries ``X-KAM-Timestamp`` (Unix seconds) and ``X-KAM-Signature:
sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``; the README (Risk control) shows how to
verify it. The body is the stored payload serialised compactly with sorted keys.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kam.models import Tenant
from kam.tenancy import tenant_context
from risk.models import TEST_EVENT, DeliveryStatus, RiskAlert, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-KAM-Signature"
TIMESTAMP_HEADER = "X-KAM-Timestamp"
EVENT_HEADER = "X-KAM-Event"
DELIVERY_HEADER = "X-KAM-Delivery"
USER_AGENT = "KAM-Webhooks/1.0"

MAX_ATTEMPTS = 8
BASE_DELAY_SECONDS = 30
# Below the broker's visibility timeout (2 h), so no retry is queued with an ETA beyond it.
MAX_DELAY_SECONDS = 3600
JITTER = 0.2
# A claimed attempt is not claimed again for this long (the request's timeout is far shorter).
CLAIM_LEASE = 120
RESPONSE_EXCERPT = 1000
# Deliveries queued one task each after a commit; above this, one sweep task queues them.
DIRECT_QUEUE_LIMIT = 50
SWEEP_BATCH = 1000
DELIVERY_LOG_DAYS = 30


def timeout_seconds() -> float:
    return float(getattr(settings, "RISK_WEBHOOK_TIMEOUT", 5))


def private_networks_allowed() -> bool:
    """Deliveries to loopback and private addresses are refused unless allowed (development)."""
    return bool(getattr(settings, "RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS", settings.DEBUG))


# --- signing --------------------------------------------------------------------------------------


def new_secret() -> str:
    import secrets

    return "whsec_" + secrets.token_urlsafe(32)


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        payload, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """The wait after the ``attempts``-th failed attempt: 30 s doubling, at most an hour, ±20 %."""
    delay = min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS)
    return delay * (rng or random).uniform(1 - JITTER, 1 + JITTER)


# --- payloads -------------------------------------------------------------------------------------


def alert_payload(alert: RiskAlert) -> dict[str, Any]:
    """An alert as integrators receive it (its account read through the same tenant)."""
    from risk.notifications import alert_summary

    account = alert.account if alert.account_id else None
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "severity": alert.severity,
        "status": alert.status,
        "account": {"id": account.pk, "name": account.name} if account else None,
        "dedupe_key": alert.dedupe_key,
        "summary": alert_summary(alert.kind, alert.details),
        "details": alert.details,
        "assignee": alert.assignee_id,
        "snoozed_until": alert.snoozed_until,
        "opened_at": alert.opened_at,
        "updated_at": alert.updated_at,
        "resolved_at": alert.resolved_at,
        "resolution": alert.resolution or None,
    }


def envelope(tenant: Tenant, event: str, event_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
    # Round-tripped through JSON so that what is stored is exactly what is signed and sent.
    payload = {
        "id": str(event_id),
        "event": event,
        "created_at": timezone.now(),
        "tenant": tenant.slug,
        "data": data,
    }
    return json.loads(body_of(payload))


# --- emitting -------------------------------------------------------------------------------------


def subscribed_endpoints(tenant: Tenant, event: str) -> list[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.filter(is_active=True).order_by("id")
    return [endpoint for endpoint in endpoints if event in (endpoint.events or [])]


def emit(tenant: Tenant, event: str, items: list[dict[str, Any]]) -> list[int]:
    """Record a delivery of each item to every active endpoint that chose ``event``; they are
    sent after the current transaction commits. Returns the delivery ids."""
    if not items:
        return []
    endpoints = subscribed_endpoints(tenant, event)
    if not endpoints:
        return []
    now = timezone.now()
    deliveries = []
    for endpoint in endpoints:
        for data in items:
            event_id = uuid.uuid4()
            deliveries.append(
                WebhookDelivery(
                    tenant=tenant,
                    endpoint=endpoint,
                    event=event,
                    event_id=event_id,
                    payload=envelope(tenant, event, event_id, data),
                    next_attempt_at=now,
                )
            )
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=500)
    ids = [delivery.pk for delivery in deliveries]
    queue_deliveries(tenant, ids)
    return ids


def emit_alert_events(tenant: Tenant, events: dict[str, list[int]]) -> int:
    """``{"alert.opened": [ids], ...}``: the alerts' payloads, built only when an endpoint wants them."""
    count = 0
    for event, alert_ids in events.items():
        if not alert_ids or not subscribed_endpoints(tenant, event):
            continue
        alerts = RiskAlert.objects.filter(pk__in=alert_ids).select_related("account").order_by("id")
        count += len(emit(tenant, event, [{"alert": alert_payload(alert)} for alert in alerts]))
    return count


def queue_deliveries(tenant: Tenant, delivery_ids: list[int]) -> None:
    """Send once the transaction commits. ``robust``: a broker that is down leaves the
    deliveries pending for the sweep instead of failing the caller after its commit."""
    from risk import tasks

    if not delivery_ids:
        return
    if len(delivery_ids) <= DIRECT_QUEUE_LIMIT:
        for delivery_id in delivery_ids:
            transaction.on_commit(
                lambda delivery_id=delivery_id: tasks.deliver_webhook.delay(tenant.pk, delivery_id), robust=True
            )
    else:
        transaction.on_commit(lambda: tasks.retry_webhooks.delay(tenant.pk), robust=True)


# --- delivering -----------------------------------------------------------------------------------


class DestinationRefused(Exception):
    pass


@dataclass
class Attempt:
    ok: bool
    response_code: int | None = None
    response_body: str = ""
    error: str = ""
    duration_ms: int = 0


def check_destination(url: str) -> str | None:
    """The address to connect to, once every address of the host is known to be public; the
    request then goes to that address, not to a second DNS answer (which could point inside
    the network: DNS rebinding). None when private networks are allowed (development)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused(_("Only http and https URLs can receive webhooks."))
    if private_networks_allowed():
        return None
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise DestinationRefused(_("The host name does not resolve: %(error)s") % {"error": exc}) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise DestinationRefused(
                _("Webhooks are not sent to private or local addresses (%(address)s).") % {"address": address}
            )
    return str(infos[0][4][0])


def post(url: str, secret: str, *, event: str, event_id: str, payload: dict[str, Any]) -> Attempt:
    """One signed POST with the timeout; never raises."""
    body = body_of(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        EVENT_HEADER: event,
        DELIVERY_HEADER: event_id,
    }
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        address = check_destination(url)
        code, text = _send(url, body, headers, address=address)
    except DestinationRefused as exc:
        return Attempt(ok=False, error=str(exc), duration_ms=elapsed())
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Attempt(ok=False, error=f"{type(exc).__name__}: {exc}"[:500], duration_ms=elapsed())
    ok = 200 <= code < 300
    return Attempt(
        ok=ok, response_code=code, response_body=text, error="" if ok else f"HTTP {code}", duration_ms=elapsed()
    )


class _Pinned:
    """Connects to a given address (when one is given); the Host header, and for HTTPS the
    certificate check, keep the URL's host name."""

    host: str
    port: int
    timeout: float

    def __init__(self, host: str, port: int | None, *, address: str | None, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)  # type: ignore[call-arg]
        self.address = address

    def _pinned_socket(self) -> socket.socket:
        return socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPConnection(_Pinned, http.client.HTTPConnection):
    def connect(self) -> None:
        if self.address is None:
            return super().connect()
        self.sock = self._pinned_socket()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_Pinned, http.client.HTTPSConnection):
    def connect(self) -> None:
        if self.address is None:
            return super().connect()
        self.sock = self._context.wrap_socket(self._pinned_socket(), server_hostname=self.host)


def deadline_seconds() -> float:
    """The most one attempt may take, however the receiver drips its answer: the timeout
    applies to each read, so a byte every few seconds would otherwise hold a worker."""
    return float(getattr(settings, "RISK_WEBHOOK_DEADLINE", 3 * timeout_seconds()))


def _send(url: str, body: bytes, headers: dict[str, str], *, address: str | None = None) -> tuple[int, str]:
    """POST with http.client: the header names go out as written, and a redirect is an
    answer like any other non-2xx (never followed: it could lead inside the network).

    The connection goes to ``address`` when given (the one check_destination vetted), and
    is cut when the attempt outlasts deadline_seconds() (TimeoutError).
    """
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(
            parts.hostname, parts.port, address=address, timeout=timeout_seconds(), context=ssl.create_default_context()
        )
    else:
        connection = _PinnedHTTPConnection(parts.hostname, parts.port, address=address, timeout=timeout_seconds())
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = deadline_seconds()
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(deadline, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(RESPONSE_EXCERPT * 4).decode("utf-8", "replace")[:RESPONSE_EXCERPT]
    except (OSError, http.client.HTTPException):
        if expired.is_set():
            raise TimeoutError(_("No complete answer within %(seconds)s s.") % {"seconds": f"{deadline:g}"}) from None
        raise
    finally:
        watchdog.cancel()
        connection.close()
    if expired.is_set():
        raise TimeoutError(_("No complete answer within %(seconds)s s.") % {"seconds": f"{deadline:g}"})
    return response.status, text


def deliver(tenant: Tenant, delivery_id: int) -> WebhookDelivery | None:
    """One attempt at a delivery that is due. None when it is not due (sent already, failed
    for good, or another worker holds it). The HTTP request runs outside the transactions
    that claim and record it."""
    now = timezone.now()
    with tenant_context(tenant):
        claimed = WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).update(
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=now + dt_seconds(CLAIM_LEASE),
        )
        if not claimed:
            return None
        delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if endpoint.is_active:
        attempt = post(
            endpoint.url,
            endpoint.secret,
            event=delivery.event,
            event_id=str(delivery.event_id),
            payload=delivery.payload,
        )
    else:
        attempt = Attempt(ok=False, error=_("The endpoint is switched off."))
    retry_in: float | None = None
    with tenant_context(tenant):
        delivery.response_code = attempt.response_code
        delivery.response_body = attempt.response_body
        delivery.error = attempt.error
        delivery.duration_ms = attempt.duration_ms
        if attempt.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        elif delivery.attempts >= MAX_ATTEMPTS or delivery.event == TEST_EVENT or not endpoint.is_active:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            retry_in = backoff_seconds(delivery.attempts)
            delivery.next_attempt_at = timezone.now() + dt_seconds(retry_in)
        delivery.save(
            update_fields=[
                "status",
                "response_code",
                "response_body",
                "error",
                "duration_ms",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        if retry_in is not None:
            from risk import tasks

            delay = retry_in
            transaction.on_commit(
                lambda: tasks.deliver_webhook.apply_async((tenant.pk, delivery_id), countdown=delay), robust=True
            )
    if not attempt.ok:
        logger.info(
            "webhook %s to %s failed (attempt %s): %s", delivery.event, endpoint.url, delivery.attempts, attempt.error
        )
    return delivery


def dt_seconds(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


def send_test(tenant: Tenant, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``webhook.test`` delivery to the endpoint, attempted now (once, no retries)."""
    with tenant_context(tenant):
        event_id = uuid.uuid4()
        delivery = WebhookDelivery.objects.create(
            tenant=tenant,
            endpoint=endpoint,
            event=TEST_EVENT,
            event_id=event_id,
            payload=envelope(
                tenant,
                TEST_EVENT,
                event_id,
                {"message": "KAM webhook test", "endpoint": endpoint.pk, "events": list(endpoint.events or [])},
            ),
            next_attempt_at=timezone.now(),
        )
    return deliver(tenant, delivery.pk) or delivery


def due_deliveries(tenant: Tenant, *, limit: int = SWEEP_BATCH) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def sweep(tenant: Tenant) -> dict[str, int]:
    """Queue every due delivery (lost or postponed retries) and drop old log entries."""
    from risk import tasks

    due = due_deliveries(tenant)
    for delivery_id in due:
        transaction.on_commit(
            lambda delivery_id=delivery_id: tasks.deliver_webhook.delay(tenant.pk, delivery_id), robust=True
        )
    cutoff = timezone.now() - dt_seconds(DELIVERY_LOG_DAYS * 86400)
    removed, _detail = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status=DeliveryStatus.PENDING).delete()
    )
    return {"queued": len(due), "removed": removed}
