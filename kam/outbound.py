"""Outbound HTTP for webhooks and channels: one POST to a vetted address, with a deadline.

- ``check_destination`` refuses URLs whose host resolves to a private or local address
  (unless private networks are allowed: development and tests) and returns the address it
  vetted; ``send`` then connects to that address, not to a second DNS answer (DNS
  rebinding), keeping the host name for the Host header and the certificate check.
- ``post_body`` is one attempt that never raises: an :class:`Attempt` with the answer or the error.
- ``backoff_seconds`` is the wait before the next attempt: 30 s doubling, at most an hour, ±20 %.

risk.webhooks and messaging.delivery both send through here, under the same settings
(``RISK_WEBHOOK_TIMEOUT``, ``RISK_WEBHOOK_DEADLINE``, ``RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS``).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

BASE_DELAY_SECONDS = 30
# Below the broker's visibility timeout (2 h), so no retry is queued with an ETA beyond it.
MAX_DELAY_SECONDS = 3600
JITTER = 0.2
RESPONSE_EXCERPT = 1000


def timeout_seconds() -> float:
    return float(getattr(settings, "RISK_WEBHOOK_TIMEOUT", 5))


def private_networks_allowed() -> bool:
    """Deliveries to loopback and private addresses are refused unless allowed (development)."""
    return bool(getattr(settings, "RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS", settings.DEBUG))


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """The wait after the ``attempts``-th failed attempt: 30 s doubling, at most an hour, ±20 %."""
    delay = min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS)
    return delay * (rng or random).uniform(1 - JITTER, 1 + JITTER)


class DestinationRefused(Exception):
    pass


@dataclass
class Attempt:
    ok: bool
    response_code: int | None = None
    response_body: str = ""
    error: str = ""
    duration_ms: int = 0


RECORDED_FIELDS = (
    "status",
    "response_code",
    "response_body",
    "error",
    "duration_ms",
    "delivered_at",
    "next_attempt_at",
)


def record_attempt(delivery: Any, attempt: Attempt, *, give_up: bool) -> float | None:
    """Write an attempt's outcome onto its delivery row (a kam.models.OutboundDelivery) and
    save it: delivered; failed when ``give_up`` (no attempts left, a test, a switched-off
    receiver); else pending again after the backoff. Returns the seconds until the retry,
    or None when there is none. The caller is inside the delivery's tenant."""
    from django.utils import timezone

    from kam.models import DeliveryStatus

    delivery.response_code = attempt.response_code
    delivery.response_body = attempt.response_body
    delivery.error = attempt.error
    delivery.duration_ms = attempt.duration_ms
    retry_in: float | None = None
    if attempt.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif give_up:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        retry_in = backoff_seconds(delivery.attempts)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    delivery.save(update_fields=list(RECORDED_FIELDS))
    return retry_in


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


def post_body(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    """One POST of ``body`` to a vetted address within the deadline; never raises. ``ok`` is
    a 2xx answer (a vendor's own error code inside a 2xx is for the caller to read)."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        address = check_destination(url)
        code, text = send(url, body, headers, address=address)
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


def send(url: str, body: bytes, headers: dict[str, str], *, address: str | None = None) -> tuple[int, str]:
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
