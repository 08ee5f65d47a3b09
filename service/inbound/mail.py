"""E-mail to needs: the recipient address, the message read with the stdlib ``email`` package,
and the need it becomes in the tenant it was addressed to.

Only the envelope recipient (SMTP's RCPT TO) decides the tenant: ``needs+<tenant-slug>@``
SERVICE_MAIL_DOMAIN. The To and Cc headers are the sender's own words and route nothing.
The sender is the From header's address (SMTP's MAIL FROM when there is none); a contact of
the tenant with that address makes the need its account's, else it waits in triage.

What could not be read well is kept with the need (``Need.problems``): a text in a charset
other than the one declared, characters that could not be decoded, attachments (never
stored), a damaged MIME structure, an implausible Date header.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email
import email.header
import email.policy
import email.utils
import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from kam.models import Tenant
from kam.tenancy import tenant_service
from service.inbound.senders import contact_for_email
from service.models import Channel, Need
from service.services import MAX_BODY, MAX_SUBJECT, need_create

logger = logging.getLogger(__name__)

LOCAL_PART = "needs"
# Declared charsets read as the superset Chinese mail really uses (a "GB2312" message often
# holds GBK characters; Big5 as Hong Kong's extension of it).
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cp950": "big5hkscs",
}
# Tried in this order when no charset is declared or the declared one does not fit.
FALLBACK_CHARSETS = ("utf-8", "gb18030", "big5hkscs")
# A Date header outside this window around the time of receipt is not believed.
DATE_PAST = dt.timedelta(days=3)
DATE_FUTURE = dt.timedelta(minutes=15)
MAX_REF = 200


class MailRefused(Exception):
    """A message no need can be made of: the SMTP reply says why."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def recipient_slug(address: str, domain: str | None = None) -> str | None:
    """The tenant slug of ``needs+<slug>@<domain>``, or None for any other address."""
    domain = (domain or settings.SERVICE_MAIL_DOMAIN).lower()
    local, sep, host = (address or "").strip().strip("<>").rpartition("@")
    if not sep or host.lower() != domain:
        return None
    prefix, plus, slug = local.partition("+")
    if not plus or prefix.lower() != LOCAL_PART or not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?", slug):
        return None
    return slug


# --- reading ---------------------------------------------------------------------------------------


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = CHARSET_ALIASES.get(name.strip().lower(), name.strip().lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_text(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Bytes to text: the declared charset first, then UTF-8, GB18030, Big5; the second value
    says what was done when it was neither the declared charset nor undeclared UTF-8."""
    codec = _codec(declared)
    if codec:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            pass
    if not declared and data.isascii():
        return data.decode("ascii"), None
    readings: dict[str, str] = {}
    for fallback in FALLBACK_CHARSETS:
        try:
            readings[fallback] = data.decode(fallback)
        except UnicodeDecodeError:
            continue
    if "utf-8" in readings:
        chosen = "utf-8"
    elif "gb18030" in readings and "big5hkscs" in readings:
        # Big5 bytes are nearly always valid GBK too, but decode to rare characters outside
        # GB2312; Simplified Chinese text stays inside it.
        chosen = "gb18030" if _fits(readings["gb18030"], "gb2312") else "big5hkscs"
    else:
        chosen = next(iter(readings), "")
    if chosen == "utf-8" and not declared:
        return readings[chosen], None  # UTF-8 is what undeclared 8-bit mail is today (RFC 6532)
    if chosen:
        if declared and not codec:
            note = _("The charset %(declared)s is unknown; the text was read as %(charset)s.")
        elif declared:
            note = _("The text was declared as %(declared)s but is not; it was read as %(charset)s.")
        else:
            note = _("The text declares no charset; it was read as %(charset)s.")
        return readings[chosen], note % {"declared": declared, "charset": chosen}
    text = data.decode(codec or "utf-8", errors="replace")
    return text, _("Some characters of the text could not be decoded and were replaced (\ufffd).")


def _fits(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


class _HtmlText(HTMLParser):
    """The readable text of an HTML body: no scripts or styles, a line per block."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # HTMLParser is lenient; this is for the unforeseen
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _header_text(message: EmailMessage, name: str, problems: list[str]) -> str:
    """A header's text from its raw value: encoded words decoded by their own charsets (with
    the same fallbacks as the body), raw 8-bit bytes read as the body would be."""
    raw = next((value for key, value in message.raw_items() if key.lower() == name.lower()), None)
    if raw is None:
        return ""
    raw = re.sub(r"\r?\n[ \t]*", " ", str(raw))
    try:
        pieces = email.header.decode_header(raw)
    except Exception:
        pieces = [(raw, None)]
    texts = []
    for piece, charset in pieces:
        if isinstance(piece, str):
            data = piece.encode("utf-8", "surrogateescape")
            charset = None if data.isascii() else charset
        else:
            data = piece
        text, note = decode_text(data, charset)
        if note:
            problems.append(_("Header %(name)s: %(note)s") % {"name": name, "note": note})
        texts.append(text)
    return "".join(texts).strip()


def _addresses(message: EmailMessage, name: str) -> list[str]:
    values = [str(value) for key, value in message.raw_items() if key.lower() == name.lower()]
    try:
        return [address.strip() for _name, address in email.utils.getaddresses(values) if "@" in address]
    except Exception:
        return []


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


@dataclass
class ParsedMail:
    subject: str
    body: str
    sender: str
    message_id: str
    external_ref: str
    received_at: dt.datetime
    header_recipients: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _part_text(part: EmailMessage, problems: list[str]) -> str:
    data = part.get_payload(decode=True)
    if data is None:
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    text, note = decode_text(data, part.get_content_charset())
    if note:
        problems.append(note)
    return text.replace("\r\n", "\n")


def _read_body(message: EmailMessage, problems: list[str]) -> str:
    body_part = None
    try:
        body_part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        problems.append(_("The message's structure could not be followed; only its first text part was read."))
    text = ""
    if body_part is not None:
        text = _part_text(body_part, problems)
        if body_part.get_content_subtype() == "html":
            text = html_to_text(text)
    for part in message.walk():
        if part is body_part or part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if body_part is None and not filename and part.get_content_maintype() == "text" and not text.strip():
            text = _part_text(part, problems)
            if part.get_content_subtype() == "html":
                text = html_to_text(text)
            continue
        if part.get_content_maintype() == "text" and not filename and disposition != "attachment":
            continue  # the other alternative of the body (HTML beside the plain text)
        payload = part.get_payload(decode=True) or b""
        problems.append(
            _("Attachment left out (attachments are not stored): %(name)s, %(size)s.")
            % {"name": filename or part.get_content_type(), "size": _size(len(payload))}
        )
    return text.strip()


def _received_at(message: EmailMessage, now: dt.datetime, problems: list[str]) -> dt.datetime:
    raw = next((str(value) for key, value in message.raw_items() if key.lower() == "date"), "")
    if not raw:
        return now
    try:
        when = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is not None and timezone.is_naive(when):
        when = when.replace(tzinfo=dt.UTC)
    if when is None or not now - DATE_PAST <= when <= now + DATE_FUTURE:
        problems.append(_("The Date header (%(date)s) is not plausible; the time of receipt is used.") % {"date": raw})
        return now
    return when


def _external_ref(message_id: str, raw: bytes) -> str:
    if not message_id:
        # No Message-ID: the same bytes again are the same message.
        return "email:sha256:" + hashlib.sha256(raw).hexdigest()
    ref = f"email:{message_id}"
    if len(ref) > MAX_REF:
        return "email:sha256:" + hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()
    return ref


def parse_mail(raw: bytes, *, envelope_from: str = "", now: dt.datetime | None = None) -> ParsedMail:
    """Read a message as received. Raises :class:`MailRefused` when nothing can be read, or
    when it has neither a subject nor a text."""
    now = now or timezone.now()
    problems: list[str] = []
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:
        raise MailRefused("554 5.6.0 The message could not be read as e-mail.") from exc
    if not isinstance(message, EmailMessage) or (not message.keys() and not message.get_payload()):
        raise MailRefused("554 5.6.0 The message could not be read as e-mail.")
    try:
        subject = _header_text(message, "Subject", problems)
        body = _read_body(message, problems)
    except Exception as exc:
        logger.warning("unreadable message from %s: %r", envelope_from, exc)
        raise MailRefused("554 5.6.0 The message's structure could not be read.") from exc
    defects = [type(defect).__name__ for part in message.walk() for defect in part.defects]
    if defects:
        problems.append(
            _("The message's MIME structure is damaged (%(defects)s); what could be read was kept.")
            % {"defects": ", ".join(sorted(set(defects)))}
        )
    from_addresses = _addresses(message, "From")
    header_from = from_addresses[0] if from_addresses else ""
    envelope_from = (envelope_from or "").strip().strip("<>")
    sender = header_from or envelope_from
    if header_from and envelope_from and header_from.lower() != envelope_from.lower():
        problems.append(
            _("The From header (%(header)s) differs from the envelope sender (%(envelope)s); the From header was used.")
            % {"header": header_from, "envelope": envelope_from}
        )
    if not subject and not body:
        raise MailRefused("554 5.6.0 The message has neither a subject nor a text.")
    if not body:
        problems.append(_("The message has no text; only its subject was kept."))
    if len(subject) > MAX_SUBJECT:
        problems.append(_("The subject was cut to %(limit)s characters.") % {"limit": MAX_SUBJECT})
    if len(body) > MAX_BODY:
        problems.append(_("The text was cut to %(limit)s characters.") % {"limit": f"{MAX_BODY:,}"})
    message_id = _header_text(message, "Message-ID", []).strip()
    return ParsedMail(
        subject=subject,
        body=body,
        sender=sender[:254],
        message_id=message_id,
        external_ref=_external_ref(message_id, raw),
        received_at=_received_at(message, now, problems),
        header_recipients=_addresses(message, "To") + _addresses(message, "Cc"),
        problems=problems,
    )


# --- capture -----------------------------------------------------------------------------------------


@tenant_service
def need_capture_email(tenant: Tenant, *, mail: ParsedMail) -> tuple[Need, bool]:
    """The need an e-mail to this tenant's address makes (once: by its Message-ID)."""
    problems = list(mail.problems)
    others = [
        address for address in mail.header_recipients if (slug := recipient_slug(address)) and slug != tenant.slug
    ]
    if others:
        problems.append(
            _(
                "The To or Cc header also names another workspace's address; "
                "only the address the message was delivered to counts."
            )
        )
    match = contact_for_email(tenant, mail.sender)
    if match.problem:
        problems.append(match.problem)
    return need_create(
        tenant,
        channel=Channel.EMAIL,
        subject=mail.subject or mail.body.strip().splitlines()[0],
        body=mail.body,
        contact=match.contact,
        sender=mail.sender,
        received_at=mail.received_at,
        external_ref=mail.external_ref,
        problems=problems,
    )
