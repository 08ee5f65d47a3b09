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

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kam.models import Tenant
from kam.outbound import (  # noqa: F401 (the transport, here since webhooks came first)
    Attempt,
    DestinationRefused,
    backoff_seconds,
    check_destination,
    deadline_seconds,
    post_body,
    private_networks_allowed,
    record_attempt,
    timeout_seconds,
)
from kam.outbound import send as _send  # noqa: F401
from kam.tenancy import tenant_context
from risk.models import TEST_EVENT, DeliveryStatus, RiskAlert, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-KAM-Signature"
TIMESTAMP_HEADER = "X-KAM-Timestamp"
EVENT_HEADER = "X-KAM-Event"
DELIVERY_HEADER = "X-KAM-Delivery"
USER_AGENT = "KAM-Webhooks/1.0"

MAX_ATTEMPTS = 8
# A claimed attempt is not claimed again for this long (the request's timeout is far shorter).
CLAIM_LEASE = 120
# Deliveries queued one task each after a commit; above this, one sweep task queues them.
DIRECT_QUEUE_LIMIT = 50
SWEEP_BATCH = 1000
DELIVERY_LOG_DAYS = 30


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
    return post_body(url, body, headers)


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
    with tenant_context(tenant):
        give_up = delivery.attempts >= MAX_ATTEMPTS or delivery.event == TEST_EVENT or not endpoint.is_active
        retry_in = record_attempt(delivery, attempt, give_up=give_up)
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
