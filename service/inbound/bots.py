"""Chat bot callbacks to needs: WeCom (企业微信), DingTalk (钉钉), Feishu (飞书).

Each vendor signs its callbacks its own way; a request is believed only when its signature
checks out with the bot's secret, its timestamp is recent, and its nonce was not seen before
(Redis, through the cache's ``add``). Only then is its body read. The vendor's message id
makes a need once, whatever the retries.

- WeCom: ``msg_signature`` = SHA-1 of the sorted concatenation of the Token, ``timestamp``,
  ``nonce`` and the encrypted message; the message is AES-256-CBC with the key
  base64(EncodingAESKey + "="), IV its first 16 bytes, PKCS#7 to 32 bytes, and reads
  16 random bytes, a 4-byte big-endian length, the message, the receiver id. A GET with
  ``echostr`` is the console's URL check: its decrypted text is the answer.
- DingTalk (a robot's outgoing callback): headers ``timestamp`` (ms) and ``sign`` =
  base64(HMAC-SHA256(AppSecret, timestamp + "\\n" + AppSecret)), within an hour of now.
  The signature does not cover the body, so each signature is taken once.
- Feishu (event subscription with an Encrypt Key): ``X-Lark-Signature`` = hex SHA-256 of
  ``X-Lark-Request-Timestamp`` + ``X-Lark-Request-Nonce`` + Encrypt Key + the raw body; an
  encrypted body ``{"encrypt": ...}`` is AES-256-CBC with the key SHA-256(Encrypt Key), IV
  the first 16 bytes of the decoded data. The URL check (``url_verification``) carries no
  signature: its challenge is answered when it decrypts with the key, or when its token is
  the bot's Verification Token.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import struct
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from kam import audit
from kam.models import AuditAction, Tenant
from kam.tenancy import tenant_service
from service.inbound.senders import contact_for_chat
from service.models import BotKind, Channel, InboundBot, Need
from service.services import MAX_SUBJECT, need_create

logger = logging.getLogger(__name__)

DINGTALK_WINDOW_SECONDS = 60 * 60  # DingTalk's documented rule
MAX_REF = 200
# A bot's keys: never written to the audit log (kam.audit itself leaves out only fields named
# "secret"); a change of one is logged as a change, without its values.
BOT_KEYS = frozenset({"token", "secret", "aes_key"})


class HookRefused(Exception):
    """A callback that is not believed or cannot be read: the status and the error's code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _bad_signature() -> HookRefused:
    return HookRefused(401, "bad_signature", _("The signature does not match."))


def _unreadable(what: str) -> HookRefused:
    return HookRefused(400, "invalid", _("The callback could not be read: %(what)s.") % {"what": what})


@dataclass
class ChatMessage:
    """One customer message a callback carried."""

    msg_id: str
    sender: str
    text: str
    sender_name: str = ""
    sent_at: dt.datetime | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Callback:
    """What a believed callback asks: a challenge to answer (URL check), a message to store,
    or nothing (an event that is no customer message)."""

    kind: str
    challenge: str | None = None
    message: ChatMessage | None = None
    encrypted_json: bool = False
    nonce_key: str | None = None


def missing_settings(bot: InboundBot) -> dict[str, str]:
    """What a bot of its kind still needs before its callbacks can be checked."""
    missing: dict[str, str] = {}
    if bot.kind == BotKind.WECOM:
        if not bot.token:
            missing["token"] = _("WeCom signs callbacks with this Token.")
        if not _wecom_key_ok(bot.aes_key):
            missing["aes_key"] = _("The EncodingAESKey is 43 characters, as WeCom's console shows it.")
    elif bot.kind in (BotKind.DINGTALK, BotKind.FEISHU) and not bot.secret:
        missing["secret"] = (
            _("DingTalk signs callbacks with the robot's AppSecret.")
            if bot.kind == BotKind.DINGTALK
            else _("Feishu signs and encrypts callbacks with the Encrypt Key.")
        )
    return missing


def bot_snapshot(bot: InboundBot) -> dict[str, Any]:
    """The bot's fields for the audit log, without its keys."""
    return {key: value for key, value in audit.snapshot(bot).items() if key not in BOT_KEYS}


def bot_audit(bot: InboundBot, action: str, before: dict[str, Any] | None, keys_changed: set[str], actor: Any) -> None:
    after = bot_snapshot(bot)
    if action == AuditAction.CREATE:
        changes = {
            key: [None, value]
            for key, value in after.items()
            if value not in (None, "") and key not in audit.BOOKKEEPING_FIELDS
        }
    elif action == AuditAction.DELETE:
        changes = {key: [value, None] for key, value in after.items() if value not in (None, "")}
    else:
        changes = audit.diff(before or {}, after)
    changes.update({key: ["…", "…"] for key in sorted(BOT_KEYS & keys_changed)})
    if changes:
        audit.record(tenant=bot.tenant, action=action, instance=bot, changes=changes, actor=actor)


@tenant_service
def inbound_bot_create(
    tenant: Tenant,
    *,
    kind: str,
    name: str,
    token: str = "",
    secret: str = "",
    aes_key: str = "",
    receive_id: str = "",
    actor: Any = None,
) -> InboundBot:
    """A bot whose callbacks bring needs into ``tenant``; its keys as the vendor's console shows them."""
    bot = InboundBot(
        tenant=tenant,
        kind=kind,
        name=(name or "").strip(),
        token=(token or "").strip(),
        secret=(secret or "").strip(),
        aes_key=(aes_key or "").strip(),
        receive_id=(receive_id or "").strip(),
    )
    bot.full_clean()
    bot.save()
    bot_audit(bot, AuditAction.CREATE, None, {key for key in BOT_KEYS if getattr(bot, key)}, actor)
    return bot


@tenant_service
def inbound_bot_set_active(tenant: Tenant, *, bot: InboundBot, is_active: bool, actor: Any = None) -> InboundBot:
    """Switch a bot's callbacks on or off (off: they are 404, as for no bot at all)."""
    if bot.is_active != is_active:
        before = bot_snapshot(bot)
        bot.is_active = is_active
        bot.save(update_fields=["is_active"])
        bot_audit(bot, AuditAction.UPDATE, before, set(), actor)
    return bot


# --- shared checks -------------------------------------------------------------------------------


def _check_time(timestamp: str, window: int, now: dt.datetime, *, millis: bool = False) -> None:
    try:
        sent = float(timestamp) / (1000 if millis else 1)
    except (TypeError, ValueError):
        raise _bad_signature() from None
    if abs(now.timestamp() - sent) > window:
        raise HookRefused(403, "expired", _("The timestamp is too far from now; the request is refused."))


def _claim(bot: InboundBot, nonce: str, window: int) -> str:
    """Take the nonce for this bot for the window; a second request with it is a replay."""
    digest = hashlib.sha256(nonce.encode("utf-8", "surrogateescape")).hexdigest()[:40]
    key = f"service:hook:{bot.tenant_id}:{bot.pk}:{digest}"
    # Both sides of now are accepted, so the nonce is kept for twice the window.
    if not cache.add(key, 1, timeout=2 * window):
        raise HookRefused(403, "replayed", _("This request was received before; the replay is refused."))
    return key


def release(callback: Callback) -> None:
    """Give the nonce back when the message could not be stored, so the vendor's retry passes."""
    if callback.nonce_key:
        cache.delete(callback.nonce_key)


def _aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if not data or len(data) % 16:
        raise _unreadable(_("the encrypted data has a wrong length"))
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def _unpad(data: bytes, block: int) -> bytes:
    pad = data[-1] if data else 0
    if not 1 <= pad <= block or data[-pad:] != bytes([pad]) * pad:
        raise _bad_signature()  # the wrong key decrypts to noise, never to valid padding
    return data[:-pad]


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _unreadable(_("the encrypted data is not base64")) from None


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _unreadable(_("the body is not JSON")) from None


def _ref(kind: str, msg_id: str) -> str:
    ref = f"{kind}:{msg_id}"
    return ref if len(ref) <= MAX_REF else f"{kind}:sha256:{hashlib.sha256(msg_id.encode()).hexdigest()}"


def _placeholder(msgtype: str, problems: list[str]) -> str:
    problems.append(_("A message of type %(type)s: only text is read; see the chat for the rest.") % {"type": msgtype})
    return f"[{msgtype}]"


# --- WeCom ---------------------------------------------------------------------------------------


def _wecom_key_ok(aes_key: str) -> bool:
    try:
        return len(aes_key) == 43 and len(base64.b64decode(aes_key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def wecom_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()  # noqa: S324


def wecom_decrypt(bot: InboundBot, encrypted: str) -> bytes:
    key = base64.b64decode(bot.aes_key + "=")
    plain = _unpad(_aes_cbc_decrypt(key, key[:16], _b64(encrypted)), 32)
    if len(plain) < 20:
        raise _bad_signature()
    (length,) = struct.unpack(">I", plain[16:20])
    message, receive_id = plain[20 : 20 + length], plain[20 + length :]
    if len(message) != length:
        raise _unreadable(_("the message length does not match"))
    if bot.receive_id and receive_id.decode("utf-8", "replace") != bot.receive_id:
        raise HookRefused(401, "bad_receiver", _("The message is addressed to another receiver id."))
    return message


def _xml(data: bytes) -> ET.Element:
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise _unreadable(_("XML with a document type is not taken"))
    try:
        return ET.fromstring(data)  # noqa: S314 (no DTD, checked above)
    except ET.ParseError:
        raise _unreadable(_("the body is not XML")) from None


def _wecom_signed(bot: InboundBot, query: Mapping[str, str], encrypted: str, now: dt.datetime) -> str:
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    signature = query.get("msg_signature", "")
    if not (timestamp and nonce and signature and encrypted):
        raise _bad_signature()
    expected = wecom_signature(bot.token, timestamp, nonce, encrypted)
    if not hmac.compare_digest(expected, signature.lower()):
        raise _bad_signature()
    window = settings.SERVICE_HOOK_REPLAY_SECONDS
    _check_time(timestamp, window, now)
    return _claim(bot, nonce, window)


def wecom_callback(bot: InboundBot, method: str, query: Mapping[str, str], body: bytes, now: dt.datetime) -> Callback:
    if method == "GET":
        echostr = query.get("echostr", "")
        nonce_key = _wecom_signed(bot, query, echostr, now)
        return Callback(bot.kind, challenge=wecom_decrypt(bot, echostr).decode("utf-8", "replace"), nonce_key=nonce_key)
    as_json = body.lstrip()[:1] == b"{"
    if as_json:  # an intelligent robot (智能机器人): {"encrypt": "..."}
        outer = _json(body)
        encrypted = str(outer.get("encrypt", "")) if isinstance(outer, dict) else ""
    else:  # an application's callback: <xml><Encrypt>...</Encrypt></xml>
        encrypted = (_xml(body).findtext("Encrypt") or "").strip()
    nonce_key = _wecom_signed(bot, query, encrypted, now)
    plain = wecom_decrypt(bot, encrypted)
    callback = Callback(bot.kind, encrypted_json=as_json, nonce_key=nonce_key)
    callback.message = _wecom_json_message(_json(plain)) if as_json else _wecom_xml_message(_xml(plain))
    return callback


def _wecom_xml_message(root: ET.Element) -> ChatMessage | None:
    msgtype = (root.findtext("MsgType") or "").strip()
    if not msgtype or msgtype == "event":
        return None
    problems: list[str] = []
    text = (root.findtext("Content") or "") if msgtype == "text" else _placeholder(msgtype, problems)
    sender = (root.findtext("FromUserName") or "").strip()
    msg_id = (root.findtext("MsgId") or "").strip()
    created = (root.findtext("CreateTime") or "").strip()
    sent_at = dt.datetime.fromtimestamp(int(created), tz=dt.UTC) if created.isdigit() else None
    return ChatMessage(msg_id=msg_id, sender=sender, text=text, sent_at=sent_at, problems=problems)


def _wecom_json_message(data: Any) -> ChatMessage | None:
    if not isinstance(data, dict):
        raise _unreadable(_("the message is not a JSON object"))
    msgtype = str(data.get("msgtype") or "")
    if not msgtype or msgtype in ("event", "stream"):
        return None
    problems: list[str] = []
    text_part = data.get("text") if isinstance(data.get("text"), dict) else {}
    text = str(text_part.get("content") or "") if msgtype == "text" else _placeholder(msgtype, problems)
    sender_part = data.get("from") if isinstance(data.get("from"), dict) else {}
    return ChatMessage(
        msg_id=str(data.get("msgid") or ""), sender=str(sender_part.get("userid") or ""), text=text, problems=problems
    )


# --- DingTalk ------------------------------------------------------------------------------------


def dingtalk_signature(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_callback(bot: InboundBot, headers: Mapping[str, str], body: bytes, now: dt.datetime) -> Callback:
    timestamp, sign = headers.get("timestamp", ""), headers.get("sign", "")
    if not (timestamp and sign) or not hmac.compare_digest(dingtalk_signature(bot.secret, timestamp), sign):
        raise _bad_signature()
    _check_time(timestamp, DINGTALK_WINDOW_SECONDS, now, millis=True)
    nonce_key = _claim(bot, f"{timestamp}:{sign}", DINGTALK_WINDOW_SECONDS)
    callback = Callback(bot.kind, nonce_key=nonce_key)
    try:
        data = _json(body)
        if not isinstance(data, dict):
            raise _unreadable(_("the body is not a JSON object"))
        msgtype = str(data.get("msgtype") or "")
        problems: list[str] = []
        text_part = data.get("text") if isinstance(data.get("text"), dict) else {}
        text = str(text_part.get("content") or "") if msgtype == "text" else _placeholder(msgtype or "?", problems)
        created = data.get("createAt")
        callback.message = ChatMessage(
            msg_id=str(data.get("msgId") or ""),
            sender=str(data.get("senderStaffId") or data.get("senderId") or ""),
            sender_name=str(data.get("senderNick") or ""),
            text=text,
            sent_at=dt.datetime.fromtimestamp(int(created) / 1000, tz=dt.UTC) if str(created).isdigit() else None,
            problems=problems,
        )
    except HookRefused:
        release(callback)
        raise
    return callback


# --- Feishu --------------------------------------------------------------------------------------


def feishu_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def feishu_decrypt(encrypt_key: str, encrypted: str) -> bytes:
    data = _b64(encrypted)
    if len(data) < 32:
        raise _unreadable(_("the encrypted data is too short"))
    key = hashlib.sha256(encrypt_key.encode()).digest()
    return _unpad(_aes_cbc_decrypt(key, data[:16], data[16:]), 16)


def feishu_callback(bot: InboundBot, headers: Mapping[str, str], body: bytes, now: dt.datetime) -> Callback:
    timestamp = headers.get("x-lark-request-timestamp", "")
    nonce = headers.get("x-lark-request-nonce", "")
    signature = headers.get("x-lark-signature", "")
    signed = bool(timestamp or nonce or signature)
    if signed and not hmac.compare_digest(feishu_signature(timestamp, nonce, bot.secret, body), signature.lower()):
        raise _bad_signature()
    outer = _json(body)
    if not isinstance(outer, dict):
        raise _unreadable(_("the body is not a JSON object"))
    encrypted = "encrypt" in outer
    data = _json(feishu_decrypt(bot.secret, str(outer["encrypt"]))) if encrypted else outer
    if not isinstance(data, dict):
        raise _unreadable(_("the event is not a JSON object"))
    if data.get("type") == "url_verification":
        token_ok = bool(bot.token) and hmac.compare_digest(str(data.get("token", "")), bot.token)
        if not (signed or encrypted or token_ok):
            raise _bad_signature()
        return Callback(bot.kind, challenge=str(data.get("challenge", "")))
    if not signed:
        raise _bad_signature()
    window = settings.SERVICE_HOOK_REPLAY_SECONDS
    _check_time(timestamp, window, now)
    header = data.get("header") if isinstance(data.get("header"), dict) else {}
    if bot.token and not hmac.compare_digest(str(header.get("token", "")), bot.token):
        raise _bad_signature()
    callback = Callback(bot.kind, nonce_key=_claim(bot, nonce, window))
    if header.get("event_type") == "im.message.receive_v1":
        callback.message = _feishu_message(data.get("event"), str(header.get("event_id") or ""))
    return callback


def _feishu_message(event: Any, event_id: str) -> ChatMessage | None:
    if not isinstance(event, dict) or not isinstance(event.get("message"), dict):
        return None
    message = event["message"]
    sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
    ids = sender.get("sender_id") if isinstance(sender.get("sender_id"), dict) else {}
    msgtype = str(message.get("message_type") or "")
    problems: list[str] = []
    if msgtype == "text":
        try:
            content = json.loads(message.get("content") or "{}")
        except (TypeError, ValueError):
            content = {}
        text = str(content.get("text") or "") if isinstance(content, dict) else ""
    else:
        text = _placeholder(msgtype or "?", problems)
    created = str(message.get("create_time") or "")
    return ChatMessage(
        msg_id=str(message.get("message_id") or event_id),
        sender=str(ids.get("user_id") or ids.get("open_id") or ""),
        text=text,
        sent_at=dt.datetime.fromtimestamp(int(created) / 1000, tz=dt.UTC) if created.isdigit() else None,
        problems=problems,
    )


# --- the callback, and the need --------------------------------------------------------------------


def read_callback(
    bot: InboundBot, method: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
) -> Callback:
    """Check a callback for ``bot`` and read it; raises :class:`HookRefused`. ``headers`` are
    keyed in lower case."""
    if missing_settings(bot):
        raise HookRefused(409, "not_configured", _("This bot is not fully set up yet."))
    now = timezone.now()
    if bot.kind == BotKind.WECOM:
        return wecom_callback(bot, method, query, body, now)
    if method != "POST":
        raise HookRefused(405, "method_not_allowed", _("This callback takes POST only."))
    if bot.kind == BotKind.DINGTALK:
        return dingtalk_callback(bot, headers, body, now)
    return feishu_callback(bot, headers, body, now)


@tenant_service
def need_capture_chat(tenant: Tenant, *, bot: InboundBot, message: ChatMessage) -> tuple[Need | None, bool]:
    """The need a bot's message makes (once: by the vendor's message id); none for an empty one."""
    text = message.text.strip()
    if not text:
        return None, False
    problems = list(message.problems)
    match = contact_for_chat(tenant, message.sender)
    if match.problem:
        problems.append(match.problem)
    sender = message.sender or message.sender_name
    if message.sender_name and message.sender and message.sender_name != message.sender:
        sender = f"{message.sender_name} ({message.sender})"
    subject = text.splitlines()[0][:MAX_SUBJECT]
    return need_create(
        tenant,
        channel=Channel(bot.kind),
        subject=subject,
        body=text,
        contact=match.contact,
        sender=sender,
        received_at=message.sent_at if _plausible(message.sent_at) else None,
        external_ref=_ref(bot.kind, message.msg_id) if message.msg_id else None,
        problems=problems,
    )


def _plausible(when: dt.datetime | None) -> bool:
    if when is None:
        return False
    now = timezone.now()
    return now - dt.timedelta(days=1) <= when <= now + dt.timedelta(minutes=15)
