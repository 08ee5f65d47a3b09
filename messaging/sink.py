"""A local receiver that behaves like the vendors KAM's channels send to (issue #20).

Tests and the demo point channels at it instead of WeCom (企业微信), DingTalk (钉钉), Feishu
(飞书) and integrators' webhooks. Each endpoint checks what the vendor checks — the exact JSON
shape, the signature by the vendor's documented algorithm, the freshness of the timestamp and
the vendor's rate limit — and answers as the vendor does, so that a sender that passes here
passes there too, and a test can see exactly what would have been sent:

- WeCom ``POST /cgi-bin/webhook/send?key=KEY``: no signature; errcode 93000 / 40008 / 40058.
- DingTalk ``POST /robot/send?access_token=T&timestamp=MS&sign=S``: S is
  urlencode(base64(HMAC-SHA256(secret, f"{MS}\\n{secret}"))); errcode 300001 / 310000 / 40035,
  and 130101 past 20 messages in a sliding minute per robot.
- Feishu ``POST /open-apis/bot/v2/hook/T`` with ``timestamp`` (seconds) and ``sign`` =
  base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) in the body; code 19001 / 19021 /
  9499, and 11232 past 5 a second or 100 a minute per robot.
- Generic webhooks ``POST /webhook/NAME`` signed like risk.webhooks: 200 or 401.

The robots answer HTTP 200 with their error code, as the vendors do. ``GET /`` shows the last
messages as a page (the demo's "what would be sent"), ``GET /messages.json`` the same as JSON.

The module imports nothing of Django at import time, so it can be used (and imported) before
settings are configured; only a webhook check imports risk.webhooks, when Django is ready.
The pages are a developer's stand-in for third-party systems and speak the vendors' language
(their error messages are theirs, not KAM's), so nothing here is translated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlsplit

logger = logging.getLogger(__name__)

WECOM, DINGTALK, FEISHU, WEBHOOK = "wecom", "dingtalk", "feishu", "webhook"
VENDORS = (WECOM, DINGTALK, FEISHU, WEBHOOK)

WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"
FEISHU_PREFIX = "/open-apis/bot/v2/hook/"
WEBHOOK_PREFIX = "/webhook/"

WECOM_MAX_CONTENT_BYTES = 4096
# Both robots refuse a timestamp more than an hour away from their clock.
TIMESTAMP_TOLERANCE_SECONDS = 3600
# KAM's webhook receivers are told to refuse older ones (docs/api.md, verify_kam_signature).
WEBHOOK_TOLERANCE_SECONDS = 300
DINGTALK_LIMIT = (20, 60.0)
FEISHU_LIMITS = ((5, 1.0), (100, 60.0))
MAX_BODY_BYTES = 1024 * 1024
PAGE_MESSAGES = 200
PAGE_TITLE = "KAM channel sink — what would be sent"

OK_WECOM = {"errcode": 0, "errmsg": "ok"}
OK_DINGTALK = {"errcode": 0, "errmsg": "ok"}
OK_FEISHU = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
OK_WEBHOOK = {"ok": True}

WECOM_BAD_KEY = {
    "errcode": 93000,
    "errmsg": "invalid webhook url, hint: [sink] the key is not known to this receiver",
}
WECOM_BAD_TYPE = {"errcode": 40008, "errmsg": "invalid message type"}
WECOM_BAD_CONTENT = {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
DINGTALK_BAD_SIGN = {
    "errcode": 310000,
    "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
}
DINGTALK_BAD_TIMESTAMP = {
    "errcode": 310000,
    "errmsg": "invalid timestamp, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
}
DINGTALK_BAD_TOKEN = {"errcode": 300001, "errmsg": "token is not exist"}
DINGTALK_TOO_FAST = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
FEISHU_BAD_SIGN = {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
FEISHU_BAD_TOKEN = {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
FEISHU_BAD_REQUEST = {"code": 9499, "msg": "Bad Request"}
FEISHU_TOO_FAST = {"code": 11232, "msg": "frequency limited"}
VENDOR_BUSY = {"errcode": 45009, "errmsg": "api freq out of limit"}
WEBHOOK_BAD_SIGNATURE = {"ok": False, "error": "bad signature"}
WEBHOOK_STALE = {"ok": False, "error": "stale timestamp"}
WEBHOOK_UNKNOWN = {"ok": False, "error": "unknown webhook"}
WEBHOOK_BAD_JSON = {"ok": False, "error": "invalid JSON"}
WEBHOOK_FAILED = {"ok": False, "error": "internal error"}
SERVER_ERROR = {"error": "internal server error"}
NOT_FOUND = {"error": "not found"}

FAULT_KINDS = ("http500", "vendor_error", "hang", "slow")

Secrets = Callable[[str, str], str | None] | dict[str, str] | None


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk's sign before URL-encoding: base64(HMAC-SHA256(secret, "<ms>\\n<secret>"))."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu's sign: the key is "<seconds>\\n<secret>" and the message is empty (their docs)."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of a KAM webhook: risk.webhooks.signature itself once Django is ready.

    Using the sender's own function means the sink can never disagree with what KAM sends; the
    local copy (the documented formula) only serves when the sink runs without Django.
    """
    try:
        from risk.webhooks import signature
    except Exception:  # Django not configured: the formula of docs/api.md
        digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return f"sha256={digest}"
    return signature(secret, timestamp, body)


@dataclass
class Received:
    """One request to a vendor endpoint and how the sink answered it."""

    at: float
    vendor: str
    token: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any | None
    ok: bool
    answer: dict
    status: int

    @property
    def verdict(self) -> str:
        """ "accepted", or the error as the vendor put it."""
        if self.ok:
            return "accepted"
        answer = self.answer or {}
        if "errcode" in answer:
            return f"errcode {answer['errcode']}: {answer.get('errmsg', '')}"
        if "code" in answer:
            return f"code {answer['code']}: {answer.get('msg', '')}"
        if "error" in answer:
            return f"HTTP {self.status}: {answer['error']}"
        return f"HTTP {self.status}"

    def title_and_content(self) -> tuple[str, str]:
        """What a reader of the group would see: a title (may be empty) and the text."""
        return _title_and_content(self.vendor, self.json, self.body)

    def as_dict(self) -> dict[str, Any]:
        title, content = self.title_and_content()
        return {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at)),
            "vendor": self.vendor,
            "token": self.token,
            "verdict": self.verdict,
            "ok": self.ok,
            "status": self.status,
            "title": title,
            "content": content,
            "json": self.json,
            "answer": self.answer,
        }


@dataclass
class _Fault:
    how: str
    seconds: float


@dataclass
class _Outcome:
    ok: bool
    answer: dict
    status: int = HTTPStatus.OK
    violation: bool = False


def _texts(node: Any) -> list[str]:
    """Every "content" string of a Feishu card element, depth first (text, fields, notes…)."""
    found: list[str] = []
    if isinstance(node, dict):
        content = node.get("content")
        if isinstance(content, str):
            found.append(content)
        for key, value in node.items():
            if key != "content" and isinstance(value, dict | list):
                found.extend(_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_texts(item))
    return found


def _title_and_content(vendor: str, data: Any, body: bytes) -> tuple[str, str]:
    if not isinstance(data, dict):
        return "", body[:4000].decode("utf-8", errors="replace")
    if vendor == WECOM:
        markdown = data.get("markdown")
        content = markdown.get("content") if isinstance(markdown, dict) else None
        return "", content if isinstance(content, str) else json.dumps(data, ensure_ascii=False, indent=2)
    if vendor == DINGTALK:
        markdown = data.get("markdown")
        if isinstance(markdown, dict):
            return str(markdown.get("title", "")), str(markdown.get("text", ""))
        return "", json.dumps(data, ensure_ascii=False, indent=2)
    if vendor == FEISHU:
        card = data.get("card")
        if isinstance(card, dict):
            header = card.get("header")
            title = header.get("title") if isinstance(header, dict) else None
            title_text = title.get("content") if isinstance(title, dict) else None
            return str(title_text or ""), "\n\n".join(_texts(card.get("elements", [])))
        return "", json.dumps(data, ensure_ascii=False, indent=2)
    return "", json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)


# --- the vendors' checks --------------------------------------------------------------------------


def _wecom_shape(data: Any) -> dict | None:
    """None when the body is the markdown message KAM sends, else WeCom's error."""
    if not isinstance(data, dict) or set(data) != {"msgtype", "markdown"} or data["msgtype"] != "markdown":
        return WECOM_BAD_TYPE
    markdown = data["markdown"]
    if not isinstance(markdown, dict) or set(markdown) != {"content"}:
        return WECOM_BAD_TYPE
    content = markdown["content"]
    if not isinstance(content, str) or not content or len(content.encode("utf-8")) > WECOM_MAX_CONTENT_BYTES:
        return WECOM_BAD_CONTENT
    return None


def _dingtalk_shape_ok(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("msgtype") != "markdown":
        return False
    if not set(data) <= {"msgtype", "markdown", "at"} or "markdown" not in data:
        return False
    markdown = data["markdown"]
    if not isinstance(markdown, dict) or set(markdown) != {"title", "text"}:
        return False
    if not all(isinstance(markdown[key], str) and markdown[key] for key in ("title", "text")):
        return False
    if "at" in data:
        at = data["at"]
        if not isinstance(at, dict) or not set(at) <= {"atMobiles", "isAtAll"}:
            return False
        mobiles = at.get("atMobiles", [])
        if not isinstance(mobiles, list) or not all(isinstance(mobile, str) for mobile in mobiles):
            return False
        if "isAtAll" in at and not isinstance(at["isAtAll"], bool):
            return False
    return True


def _feishu_shape_ok(data: dict[str, Any], signed: bool) -> bool:
    allowed = {"timestamp", "sign", "msg_type", "card"}
    if not set(data) <= allowed or data.get("msg_type") != "interactive":
        return False
    if signed and not {"timestamp", "sign"} <= set(data):
        return False
    card = data.get("card")
    if not isinstance(card, dict):
        return False
    header = card.get("header")
    if not isinstance(header, dict) or not isinstance(header.get("template"), str):
        return False
    title = header.get("title")
    if not isinstance(title, dict) or title.get("tag") != "plain_text" or not isinstance(title.get("content"), str):
        return False
    elements = card.get("elements")
    if not isinstance(elements, list) or not elements:
        return False
    return all(isinstance(element, dict) and isinstance(element.get("tag"), str) for element in elements)


def _fresh(timestamp: str, now: float, tolerance: float, *, milliseconds: bool = False) -> bool:
    try:
        value = int(timestamp)
    except (TypeError, ValueError):
        return False
    seconds = value / 1000 if milliseconds else value
    return abs(now - seconds) <= tolerance


class _Window:
    """The times of a robot's accepted messages, to apply a sliding-window rate limit."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def full(self, now: float, limits: tuple[tuple[int, float], ...]) -> bool:
        longest = max(span for _, span in limits)
        while self.times and now - self.times[0] >= longest:
            self.times.popleft()
        return any(sum(1 for at in self.times if now - at < span) >= count for count, span in limits)


# --- the server -----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "KAM-ChannelSink/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        sink = self.server.sink
        if path == "/":
            self._send(HTTPStatus.OK, sink.page().encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/messages.json":
            body = json.dumps([item.as_dict() for item in sink.recent()], ensure_ascii=False, indent=2)
            self._send(HTTPStatus.OK, body.encode("utf-8"), "application/json; charset=utf-8")
        else:
            self._json(HTTPStatus.NOT_FOUND, NOT_FOUND)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "request body too large"})
            return
        body = self.rfile.read(length) if length else b""
        status, answer = self.server.sink.handle(self.path, dict(self.headers.items()), body)
        self._json(status, answer)

    def _json(self, status: int, answer: dict) -> None:
        self._send(status, json.dumps(answer, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a "hang" fault)
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sink: Sink) -> None:
        self.sink = sink
        super().__init__(address, _Handler)


class Sink:
    """The receiver: start it, point channels at its URLs, then read what it received.

    ``secrets`` resolves a robot's token (or a webhook's name) to its secret: a dict keyed by
    token, or a callable ``secrets(vendor, token)``; None means unknown (refused as the vendor
    refuses an unknown token), "" a robot without signing. Without ``secrets`` at all, every
    token is known and signatures are not checked (the demo before its channels exist).
    """

    def __init__(self, secrets: Secrets = None, *, rate_limits: bool = True) -> None:
        self.secrets = secrets
        self.rate_limits = rate_limits
        # The sink's clock (timestamps, rate-limit windows): a test may replace it to move time.
        self.clock: Callable[[], float] = time.time
        self.received: list[Received] = []
        self.violations: list[Received] = []
        self.url = ""
        self._lock = threading.Lock()
        self._faults: deque[_Fault] = deque()
        self._windows: dict[tuple[str, str], _Window] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Sink:
        """Listen in a daemon thread; ``port=0`` takes a free port (see ``url``)."""
        if self._server is not None:
            raise RuntimeError("the sink is already running")
        self._stopping.clear()
        self._server = _Server((host, port), self)
        bound_port = self._server.server_address[1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        if ":" in shown:
            shown = f"[{shown}]"
        self.url = f"http://{shown}:{bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="channel-sink", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; requests held by a fault are released at once."""
        self._stopping.set()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Sink:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # addresses

    def wecom_url(self, key: str) -> str:
        return f"{self.url}{WECOM_PATH}?key={quote_plus(key)}"

    def dingtalk_url(self, token: str) -> str:
        return f"{self.url}{DINGTALK_PATH}?access_token={quote_plus(token)}"

    def feishu_url(self, token: str) -> str:
        return f"{self.url}{FEISHU_PREFIX}{quote(token, safe='')}"

    def webhook_url(self, name: str) -> str:
        return f"{self.url}{WEBHOOK_PREFIX}{quote(name, safe='')}"

    # what was received

    def accepted(self, vendor: str | None = None) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.ok and (vendor is None or item.vendor == vendor)]

    def recent(self, limit: int = PAGE_MESSAGES) -> list[Received]:
        """The last ``limit`` requests, newest first."""
        with self._lock:
            return list(reversed(self.received[-limit:]))

    def fail_next(self, count: int = 1, *, how: str = "http500", seconds: float = 0) -> None:
        """Make the next ``count`` requests fail (or be slow), to exercise the sender's retries.

        "http500": HTTP 500. "vendor_error": HTTP 200 with the vendor's busy error (errcode
        45009, Feishu code 11232; a webhook gets HTTP 500). "hang": wait ``seconds``, then
        HTTP 500 to whoever still listens. "slow": wait ``seconds``, then answer as usual.
        """
        if how not in FAULT_KINDS:
            raise ValueError(f"how must be one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults.extend(_Fault(how, seconds) for _ in range(count))

    def reset(self) -> None:
        """Forget what was received, the pending faults and the rate-limit windows."""
        with self._lock:
            self.received.clear()
            self.violations.clear()
            self._faults.clear()
            self._windows.clear()

    # handling

    def handle(self, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        """Answer one POST: (HTTP status, JSON answer). Records it unless the path is unknown."""
        parts = urlsplit(raw_path)
        path = parts.path
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if path == WECOM_PATH:
            vendor, token = WECOM, query.get("key", "")
        elif path == DINGTALK_PATH:
            vendor, token = DINGTALK, query.get("access_token", "")
        elif (
            path.startswith(FEISHU_PREFIX) and len(path) > len(FEISHU_PREFIX) and "/" not in path[len(FEISHU_PREFIX) :]
        ):
            vendor, token = FEISHU, unquote(path[len(FEISHU_PREFIX) :])
        elif path.startswith(WEBHOOK_PREFIX) and len(path) > len(WEBHOOK_PREFIX):
            vendor, token = WEBHOOK, unquote(path[len(WEBHOOK_PREFIX) :])
        else:
            return HTTPStatus.NOT_FOUND, NOT_FOUND
        data: Any | None
        try:
            data = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            data = None
        record = Received(
            at=self.clock(),
            vendor=vendor,
            token=token,
            path=path,
            query=query,
            headers=headers,
            body=body,
            json=data,
            ok=False,
            answer={},
            status=HTTPStatus.OK,
        )
        fault = self._take_fault()
        if fault is not None and fault.how == "slow":
            self._stopping.wait(fault.seconds)
        if fault is not None and fault.how != "slow":
            outcome = self._fault_outcome(vendor, fault)
        else:
            outcome = self._check(vendor, token, query, headers, body, data)
        record.ok, record.answer, record.status = outcome.ok, dict(outcome.answer), int(outcome.status)
        with self._lock:
            self.received.append(record)
            if outcome.violation:
                self.violations.append(record)
        if fault is not None and fault.how == "hang":
            # Recorded first, so that a test sees the request its client gave up on.
            self._stopping.wait(fault.seconds)
        return record.status, record.answer

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    @staticmethod
    def _fault_outcome(vendor: str, fault: _Fault) -> _Outcome:
        if fault.how == "vendor_error" and vendor in (WECOM, DINGTALK):
            return _Outcome(False, VENDOR_BUSY)
        if fault.how == "vendor_error" and vendor == FEISHU:
            return _Outcome(False, FEISHU_TOO_FAST)
        if vendor == WEBHOOK:
            return _Outcome(False, WEBHOOK_FAILED, HTTPStatus.INTERNAL_SERVER_ERROR)
        return _Outcome(False, SERVER_ERROR, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _secret(self, vendor: str, token: str) -> tuple[bool, str | None]:
        """(known, secret); secret None when signatures are not checked (no secrets given)."""
        if self.secrets is None:
            return True, None
        if not token:
            return False, None
        secret = self.secrets(vendor, token) if callable(self.secrets) else self.secrets.get(token)
        return secret is not None, secret

    def _limited(self, vendor: str, token: str, now: float, limits: tuple[tuple[int, float], ...]) -> bool:
        """True when this message would break the robot's limit; else counts it as sent."""
        if not self.rate_limits:
            return False
        with self._lock:
            window = self._windows.setdefault((vendor, token), _Window())
            if window.full(now, limits):
                return True
            window.times.append(now)
            return False

    def _check(
        self, vendor: str, token: str, query: dict[str, str], headers: dict[str, str], body: bytes, data: Any
    ) -> _Outcome:
        known, secret = self._secret(vendor, token)
        now = self.clock()
        if vendor == WECOM:
            if not known:
                return _Outcome(False, WECOM_BAD_KEY)
            error = _wecom_shape(data)
            return _Outcome(False, error) if error else _Outcome(True, OK_WECOM)
        if vendor == DINGTALK:
            if not known:
                return _Outcome(False, DINGTALK_BAD_TOKEN)
            if secret:  # a robot with signing ("加签")
                timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
                if not _fresh(timestamp, now, TIMESTAMP_TOLERANCE_SECONDS, milliseconds=True):
                    return _Outcome(False, DINGTALK_BAD_TIMESTAMP)
                if not hmac.compare_digest(sign.encode(), dingtalk_sign(secret, timestamp).encode()):
                    return _Outcome(False, DINGTALK_BAD_SIGN)
            elif "timestamp" in query and not _fresh(
                query["timestamp"], now, TIMESTAMP_TOLERANCE_SECONDS, milliseconds=True
            ):
                return _Outcome(False, DINGTALK_BAD_TIMESTAMP)
            if not _dingtalk_shape_ok(data):
                missing = "json" if data is None else "markdown"
                return _Outcome(False, {"errcode": 40035, "errmsg": f"缺少参数 {missing}"})
            if self._limited(vendor, token, now, (DINGTALK_LIMIT,)):
                return _Outcome(False, DINGTALK_TOO_FAST, violation=True)
            return _Outcome(True, OK_DINGTALK)
        if vendor == FEISHU:
            if not known:
                return _Outcome(False, FEISHU_BAD_TOKEN)
            if not isinstance(data, dict):
                return _Outcome(False, FEISHU_BAD_REQUEST)
            timestamp, sign = data.get("timestamp"), data.get("sign")
            stale = not isinstance(timestamp, str) or not _fresh(timestamp, now, TIMESTAMP_TOLERANCE_SECONDS)
            if (secret or timestamp is not None) and stale:
                return _Outcome(False, FEISHU_BAD_SIGN)
            if secret and (
                not isinstance(sign, str)
                or not hmac.compare_digest(sign.encode(), feishu_sign(secret, timestamp).encode())
            ):
                return _Outcome(False, FEISHU_BAD_SIGN)
            if not _feishu_shape_ok(data, signed=bool(secret)):
                return _Outcome(False, FEISHU_BAD_REQUEST)
            if self._limited(vendor, token, now, FEISHU_LIMITS):
                return _Outcome(False, FEISHU_TOO_FAST, violation=True)
            return _Outcome(True, OK_FEISHU)
        # a generic webhook
        if not known:
            return _Outcome(False, WEBHOOK_UNKNOWN, HTTPStatus.NOT_FOUND)
        lowered = {key.lower(): value for key, value in headers.items()}
        timestamp = lowered.get("x-kam-timestamp", "")
        given = lowered.get("x-kam-signature", "")
        if secret is not None:
            if not hmac.compare_digest(given.encode(), webhook_signature(secret, timestamp, body).encode()):
                return _Outcome(False, WEBHOOK_BAD_SIGNATURE, HTTPStatus.UNAUTHORIZED)
            if not _fresh(timestamp, now, WEBHOOK_TOLERANCE_SECONDS):
                return _Outcome(False, WEBHOOK_STALE, HTTPStatus.UNAUTHORIZED)
        if data is None:
            return _Outcome(False, WEBHOOK_BAD_JSON, HTTPStatus.BAD_REQUEST)
        return _Outcome(True, OK_WEBHOOK)

    # the page

    def page(self) -> str:
        """The demo's view of the last messages, newest first (everything escaped)."""
        rows = []
        for item in self.recent():
            title, content = item.title_and_content()
            verdict_class = "ok" if item.ok else "refused"
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item.at))
            heading = f"<div class='title'>{html.escape(title)}</div>" if title else ""
            rows.append(
                "<tr>"
                f"<td class='when'>{html.escape(stamp)}</td>"
                f"<td>{html.escape(item.vendor)}</td>"
                f"<td class='token'>{html.escape(item.token)}</td>"
                f"<td class='{verdict_class}'>{html.escape(item.verdict)}</td>"
                f"<td>{heading}<pre>{html.escape(content)}</pre></td>"
                "</tr>"
            )
        table = (
            "<table><thead><tr><th>Time</th><th>Vendor</th><th>Token</th><th>Verdict</th><th>Content</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>"
            if rows
            else "<p class='empty'>Nothing received yet.</p>"
        )
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<meta http-equiv='refresh' content='5'>"
            f"<title>{html.escape(PAGE_TITLE)}</title>"
            "<style>"
            "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}"
            "table{border-collapse:collapse;width:100%}"
            "th,td{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}"
            "th{background:#f4f4f4}.when,.token{white-space:nowrap;font-size:.9em}"
            ".ok{color:#17733a}.refused{color:#b42318}.title{font-weight:600;margin-bottom:.3rem}"
            "pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:.9em}.empty{color:#666}"
            "</style></head><body>"
            f"<h1>{html.escape(PAGE_TITLE)}</h1>"
            f"<p>The last {PAGE_MESSAGES} messages, newest first. "
            "<a href='/messages.json'>As JSON</a>.</p>"
            f"{table}</body></html>"
        )
