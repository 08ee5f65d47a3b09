"""Sending the waiting items of a channel: merged, within the vendor's rate limit, retried.

``flush(tenant, channel_id)`` is the one loop, run by a task per channel:

1. a delivery whose retry is due goes first; otherwise the waiting items are packed into
   one new delivery (as many as fit one message of the vendor: formats.MAX_MERGED and the
   size limit), claimed with ``FOR UPDATE SKIP LOCKED`` so two workers never take the same;
2. before anything is sent a slot is taken in the channel's rate window (the times of its
   last sends, kept on the channel row and read under its row lock): DingTalk and WeCom
   take 20 messages a minute per robot, Feishu 5 a second and 100 a minute. With no slot
   free the flush is queued again for when one frees: the items wait and are merged into
   the next message, never dropped;
3. the attempt is claimed with a conditional UPDATE (never sent twice), posted outside any
   transaction to the address kam.outbound vetted and pinned, and recorded. A vendor's
   answer counts as success only with ``errcode`` (WeCom, DingTalk) or ``code`` (Feishu)
   0; anything else is a failure whose message is logged on the delivery, retried with
   kam.outbound's backoff up to ``MAX_ATTEMPTS``.

Signatures are made at each attempt (the vendors refuse a timestamp older than an hour):
DingTalk ``&timestamp=<ms>&sign=urlencode(base64(HMAC-SHA256(secret, "<ms>\\n<secret>")))``;
Feishu ``timestamp`` (seconds) and ``sign = base64(HMAC-SHA256(key="<s>\\n<secret>", msg=""))``
in the body; the generic webhook kind the X-KAM-Signature of risk.webhooks.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kam.models import Tenant
from kam.outbound import Attempt, post_body, record_attempt
from kam.tenancy import tenant_context
from messaging import formats
from messaging.models import Channel, ChannelDelivery, ChannelItem, ChannelKind, DeliveryStatus, ItemTopic
from risk.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A claimed attempt is not claimed again for this long (an attempt's deadline is far shorter).
CLAIM_LEASE = 120
# Messages one flush task sends before it hands over to a fresh task (others' turn in the queue).
FLUSH_BATCH = 25
DELIVERY_LOG_DAYS = 30
USER_AGENT = "KAM-Channels/1.0"


def clock() -> float:
    """Now, in Unix seconds: the rate window's time (a test may replace it)."""
    return time.time()


# (messages, seconds) per robot: every window must hold (DESIGN section 15 and the vendors' documents).
RATE_LIMITS: dict[str, tuple[tuple[int, int], ...]] = {
    ChannelKind.WECOM_ROBOT: ((20, 60),),
    ChannelKind.DINGTALK_ROBOT: ((20, 60),),
    ChannelKind.FEISHU_ROBOT: ((5, 1), (100, 60)),
}


def rate_limits(kind: str) -> tuple[tuple[int, int], ...]:
    return tuple(getattr(settings, "CHANNEL_RATE_LIMITS", {}).get(kind, RATE_LIMITS.get(kind, ())))


# --- signing and sending ---------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signed_request(
    channel: Channel, payload: dict[str, Any], *, now: float | None = None
) -> tuple[str, bytes, dict[str, str]]:
    """The URL, body and headers of one attempt, signed as the channel's vendor wants."""
    now = time.time() if now is None else now
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    url = channel.url
    if channel.kind == ChannelKind.DINGTALK_ROBOT and channel.secret:
        timestamp_ms = str(int(now * 1000))
        separator = "&" if urlsplit(url).query else "?"
        url = f"{url}{separator}timestamp={timestamp_ms}&sign={dingtalk_sign(channel.secret, timestamp_ms)}"
    if channel.kind == ChannelKind.FEISHU_ROBOT and channel.secret:
        timestamp = str(int(now))
        payload = {"timestamp": timestamp, "sign": feishu_sign(channel.secret, timestamp), **payload}
    body = _json(payload)
    if channel.kind == ChannelKind.WEBHOOK:
        timestamp = str(int(now))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = signature(channel.secret, timestamp, body)
    return url, body, headers


def vendor_verdict(kind: str, attempt: Attempt) -> Attempt:
    """A 2xx answer is a success only when the vendor's own code says so (errcode / code 0)."""
    if not attempt.ok or kind not in (ChannelKind.WECOM_ROBOT, ChannelKind.DINGTALK_ROBOT, ChannelKind.FEISHU_ROBOT):
        return attempt
    try:
        answer = json.loads(attempt.response_body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        attempt.ok = False
        attempt.error = _("The robot's answer is not the JSON its vendor sends.")
        return attempt
    if kind == ChannelKind.FEISHU_ROBOT:
        code = answer.get("code", answer.get("StatusCode"))
        message = answer.get("msg", answer.get("StatusMessage", ""))
    else:
        code, message = answer.get("errcode"), answer.get("errmsg", "")
    if code != 0:
        attempt.ok = False
        attempt.error = _("The vendor refused the message: code %(code)s, %(message)s") % {
            "code": code,
            "message": message or "?",
        }
    return attempt


def vendor_hosts_only() -> bool:
    return bool(getattr(settings, "CHANNEL_VENDOR_HOSTS_ONLY", not settings.DEBUG))


def vendor_host_error(kind: str, url: str) -> str | None:
    """In production a robot's URL must be on its vendor's host (settings.CHANNEL_VENDOR_HOSTS)."""
    if kind not in RATE_LIMITS or not vendor_hosts_only():
        return None
    hosts = settings.CHANNEL_VENDOR_HOSTS.get(kind, ())
    host = (urlsplit(url).hostname or "").lower()
    if host in hosts and urlsplit(url).scheme == "https":
        return None
    return _("A %(kind)s only sends to %(hosts)s over https; %(host)s is not allowed.") % {
        "kind": ChannelKind(kind).label,
        "hosts": ", ".join(hosts) or "-",
        "host": host or "?",
    }


def send(channel: Channel, payload: dict[str, Any]) -> Attempt:
    """One attempt at one message; never raises."""
    if channel.kind == ChannelKind.EMAIL:
        return _send_email(channel, payload)
    refused = vendor_host_error(channel.kind, channel.url)
    if refused:
        return Attempt(ok=False, error=refused)
    url, body, headers = signed_request(channel, payload)
    return vendor_verdict(channel.kind, post_body(url, body, headers))


def _send_email(channel: Channel, payload: dict[str, Any]) -> Attempt:
    started = time.monotonic()
    try:
        message = EmailMessage(
            subject=payload["subject"],
            body=payload["text"],
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=list(channel.recipients or []),
        )
        sent = get_connection(fail_silently=False).send_messages([message])
    except Exception as exc:  # any mail backend error is this attempt's failure
        return Attempt(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    elapsed = int((time.monotonic() - started) * 1000)
    if not sent:
        return Attempt(ok=False, error=_("The mail server took no message."), duration_ms=elapsed)
    return Attempt(
        ok=True, response_body=_("Sent to %(to)s") % {"to": ", ".join(channel.recipients)}, duration_ms=elapsed
    )


# --- the rate window ---------------------------------------------------------------------------------


def take_slot(tenant: Tenant, channel_id: int, *, now: float | None = None) -> float:
    """Take a send slot in the channel's rate window: 0.0 when taken, else the seconds until
    one frees. Under the channel row's lock, so that workers share one window."""
    now = clock() if now is None else now
    with tenant_context(tenant):
        channel = Channel.objects.select_for_update().filter(tenant=tenant, pk=channel_id).first()
        if channel is None:
            return 0.0
        limits = rate_limits(channel.kind)
        if not limits:
            return 0.0
        longest = max(seconds for _count, seconds in limits)
        recent = sorted(t for t in (channel.recent_sends or []) if now - t < longest)
        wait = 0.0
        for count, seconds in limits:
            inside = [t for t in recent if now - t < seconds]
            if len(inside) >= count:
                wait = max(wait, inside[-count] + seconds - now)
        if wait > 0:
            return max(wait, 0.001)
        recent.append(now)
        Channel.objects.filter(tenant=tenant, pk=channel_id).update(recent_sends=recent)
        return 0.0


def give_back_slot(tenant: Tenant, channel_id: int, taken: float) -> None:
    with tenant_context(tenant):
        channel = Channel.objects.select_for_update().filter(tenant=tenant, pk=channel_id).first()
        if channel is None:
            return
        recent = list(channel.recent_sends or [])
        if taken in recent:
            recent.remove(taken)
            Channel.objects.filter(tenant=tenant, pk=channel_id).update(recent_sends=recent)


# --- packing and delivering -------------------------------------------------------------------------


def pack(tenant: Tenant, channel: Channel, *, item_ids: list[int] | None = None) -> ChannelDelivery | None:
    """The next waiting items of the channel in one new delivery (in the tenant's context and
    transaction): the oldest item's topic; alerts merged as many as fit, a digest or a test
    alone. None when nothing waits."""
    waiting = ChannelItem.objects.filter(tenant=tenant, channel=channel, delivery__isnull=True)
    if item_ids is not None:
        waiting = waiting.filter(pk__in=item_ids)
    rows = list(waiting.order_by("id").select_for_update(skip_locked=True)[: formats.MAX_MERGED])
    if not rows:
        return None
    topic = rows[0].topic
    taken = [rows[0]]
    message = formats.render(channel, tenant, topic, [rows[0].data])
    if topic == ItemTopic.ALERT:
        for row in rows[1:]:
            if row.topic != ItemTopic.ALERT:
                break
            candidate = formats.render(channel, tenant, topic, [r.data for r in [*taken, row]])
            if not formats.fits(channel, candidate):
                break
            taken.append(row)
            message = candidate
    delivery = ChannelDelivery.objects.create(
        tenant=tenant,
        channel=channel,
        topic=topic,
        title=message.title,
        item_count=len(taken),
        payload=message.payload,
        next_attempt_at=timezone.now(),
    )
    ChannelItem.objects.filter(tenant=tenant, pk__in=[row.pk for row in taken]).update(delivery=delivery)
    return delivery


def _due_retry(tenant: Tenant, channel_id: int) -> int | None:
    return (
        ChannelDelivery.objects.filter(
            tenant=tenant, channel_id=channel_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)
        .first()
    )


def _retry_pending(tenant: Tenant, channel_id: int) -> bool:
    return ChannelDelivery.objects.filter(tenant=tenant, channel_id=channel_id, status=DeliveryStatus.PENDING).exists()


def _has_waiting(tenant: Tenant, channel_id: int) -> bool:
    return ChannelItem.objects.filter(tenant=tenant, channel_id=channel_id, delivery__isnull=True).exists()


def attempt_delivery(tenant: Tenant, delivery_id: int, *, retry: bool = True) -> ChannelDelivery | None:
    """One attempt at a delivery that is due; None when it is not (sent, failed for good, or
    held by another worker). The request runs outside the transactions around it."""
    now = timezone.now()
    with tenant_context(tenant):
        claimed = ChannelDelivery.objects.filter(
            tenant=tenant, pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).update(
            attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + dt.timedelta(seconds=CLAIM_LEASE)
        )
        if not claimed:
            return None
        delivery = ChannelDelivery.objects.select_related("channel").get(tenant=tenant, pk=delivery_id)
    channel = delivery.channel
    if channel.is_active:
        attempt = send(channel, delivery.payload)
    else:
        attempt = Attempt(ok=False, error=_("The channel is switched off."))
    with tenant_context(tenant):
        give_up = not retry or delivery.attempts >= MAX_ATTEMPTS or not channel.is_active
        retry_in = record_attempt(delivery, attempt, give_up=give_up)
        if retry_in is not None:
            queue_flush(tenant, channel.pk, countdown=retry_in)
    if not attempt.ok:
        logger.info("channel %s (%s) message %s failed: %s", channel.pk, channel.kind, delivery.pk, attempt.error)
    return delivery


def queue_flush(tenant: Tenant, channel_id: int, *, countdown: float = 0) -> None:
    """Flush the channel (after ``countdown`` seconds), once the current transaction commits."""
    from messaging import tasks

    transaction.on_commit(
        lambda: tasks.flush_channel.apply_async((tenant.pk, channel_id), countdown=max(countdown, 0)), robust=True
    )


@dataclass
class FlushOutcome:
    sent: int = 0
    failed: int = 0
    wait: float = 0.0  # seconds until the rate window lets the next message out (0: nothing held back)
    more: bool = False  # stopped after FLUSH_BATCH with work left


def flush(tenant: Tenant, channel_id: int, *, limit: int = FLUSH_BATCH) -> FlushOutcome:
    """Send what the channel has waiting, as the rate window allows (see the module's text)."""
    outcome = FlushOutcome()
    while True:
        with tenant_context(tenant):
            channel = Channel.objects.filter(tenant=tenant, pk=channel_id, is_active=True).first()
            if channel is None:
                return outcome
            retry_id = _due_retry(tenant, channel_id)
            if retry_id is None and (not _has_waiting(tenant, channel_id) or _retry_pending(tenant, channel_id)):
                # Nothing to say, or the oldest message waits for its retry: the rest wait behind
                # it (in order, and merged when it goes) rather than fail one by one meanwhile.
                return outcome
        if outcome.sent + outcome.failed >= limit:
            outcome.more = True
            queue_flush(tenant, channel_id)
            return outcome
        taken_at = clock()
        wait = take_slot(tenant, channel_id, now=taken_at)
        if wait:
            outcome.wait = wait
            queue_flush(tenant, channel_id, countdown=wait)
            return outcome
        if retry_id is None:
            with tenant_context(tenant):
                delivery = pack(tenant, channel)
            if delivery is None:
                give_back_slot(tenant, channel_id, taken_at)
                continue
            retry_id = delivery.pk
        attempted = attempt_delivery(tenant, retry_id)
        if attempted is None:
            give_back_slot(tenant, channel_id, taken_at)
            continue
        if attempted.status == DeliveryStatus.DELIVERED:
            outcome.sent += 1
        else:
            outcome.failed += 1
            if attempted.status == DeliveryStatus.PENDING:
                # The channel's oldest message failed: the rest wait behind its retry, in order.
                return outcome


@dataclass
class TestOutcome:
    delivery: ChannelDelivery | None
    wait: float = 0.0


def send_test(tenant: Tenant, channel: Channel, *, by: str) -> TestOutcome:
    """A test message to the channel, sent now (one attempt, no retry) so that the page can
    show the vendor's answer; refused with the wait when the robot's rate window is full."""
    taken_at = clock()
    wait = take_slot(tenant, channel.pk, now=taken_at)
    if wait:
        return TestOutcome(None, wait=wait)
    with tenant_context(tenant):
        item = ChannelItem.objects.create(
            tenant=tenant,
            channel=channel,
            topic=ItemTopic.TEST,
            data={"by": by, "at": timezone.now().isoformat(), "link": formats_site_link(tenant)},
        )
        delivery = pack(tenant, channel, item_ids=[item.pk])
    assert delivery is not None
    return TestOutcome(attempt_delivery(tenant, delivery.pk, retry=False) or delivery)


def formats_site_link(tenant: Tenant) -> str | None:
    from messaging.routing import page_link

    return page_link("tenant-home", tenant)


def send_again(tenant: Tenant, delivery: ChannelDelivery) -> bool:
    """Put a failed delivery back in the queue (its attempts start again)."""
    with tenant_context(tenant):
        changed = ChannelDelivery.objects.filter(tenant=tenant, pk=delivery.pk, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), error=""
        )
        if changed:
            queue_flush(tenant, delivery.channel_id)
    return bool(changed)


def retry_now(tenant: Tenant, channel: Channel) -> int:
    """A channel's URL or secret was corrected: its pending retries are due at once."""
    changed = ChannelDelivery.objects.filter(tenant=tenant, channel=channel, status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now()
    )
    queue_flush(tenant, channel.pk)
    return changed


def sweep(tenant: Tenant) -> dict[str, int]:
    """Every few minutes: queue today's digests whose time has come, flush the channels with
    waiting items or due retries (a lost task costs minutes, not messages), and drop old log
    entries."""
    from messaging.digest import digests_due

    digests = digests_due(tenant)
    now = timezone.now()
    busy = set(
        ChannelItem.objects.filter(tenant=tenant, delivery__isnull=True).values_list("channel_id", flat=True).distinct()
    ) | set(
        ChannelDelivery.objects.filter(tenant=tenant, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .values_list("channel_id", flat=True)
        .distinct()
    )
    for channel_id in sorted(busy - set(digests)):
        queue_flush(tenant, channel_id)
    cutoff = now - dt.timedelta(days=DELIVERY_LOG_DAYS)
    old = ChannelDelivery.objects.filter(tenant=tenant, created_at__lt=cutoff).exclude(status=DeliveryStatus.PENDING)
    ChannelItem.objects.filter(tenant=tenant, delivery__in=old.values("pk")).delete()
    removed, _detail = old.delete()
    return {"digests": len(digests), "flushed": len(busy), "removed": removed}
