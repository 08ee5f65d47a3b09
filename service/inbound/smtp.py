"""The SMTP receiver of needs (aiosmtpd): ``needs+<tenant-slug>@SERVICE_MAIL_DOMAIN``.

Refused while the conversation runs, so the sending server bounces the message to its
author with the reason:
- at RCPT TO, with 550: another domain, another local part, a workspace that does not exist;
- at DATA, with 552: a message over SERVICE_MAIL_MAX_BYTES (aiosmtpd's ``data_size_limit``);
- after DATA, with 554: a message that cannot be read, or has neither subject nor text.
A failure of our own (the database away) answers 451, and the sender tries again later;
the Message-ID makes a second delivery store nothing new.

aiosmtpd runs on asyncio; the ORM is synchronous, so each look-up and each delivery runs in
a worker thread, which closes its database connections when it is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connections

from kam.models import Tenant
from service.inbound.mail import MailRefused, need_capture_email, parse_mail, recipient_slug

logger = logging.getLogger(__name__)

MAX_RECIPIENTS = 20
_T = TypeVar("_T")


def _closing(fn: Callable[..., _T], *args: Any) -> _T:
    try:
        return fn(*args)
    finally:
        connections.close_all()


async def in_thread(fn: Callable[..., _T], *args: Any) -> _T:
    """Run ORM code off the event loop, in a thread that closes its connections after."""
    return await asyncio.get_running_loop().run_in_executor(None, _closing, fn, *args)


def active_tenant(slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug, is_active=True).first()


def deliver(content: bytes, mail_from: str, rcpt_tos: list[str], domain: str) -> str:
    """Make the message a need in each tenant it was addressed to; the SMTP reply."""
    try:
        mail = parse_mail(content, envelope_from=mail_from)
    except MailRefused as refused:
        logger.warning("refused a message from %s to %s: %s", mail_from, ", ".join(rcpt_tos), refused.reply)
        return refused.reply
    stored = []
    for slug in dict.fromkeys(recipient_slug(address, domain) for address in rcpt_tos):
        tenant = active_tenant(slug) if slug else None
        if tenant is None:
            continue  # checked at RCPT TO; deactivated since
        try:
            need, created = need_capture_email(tenant, mail=mail)
        except Exception:
            logger.exception("could not store a message from %s for %s", mail.sender, slug)
            return "451 4.3.0 The message could not be stored just now; try again later."
        stored.append(f"{slug}#{need.pk}" + ("" if created else " (already received)"))
        logger.info("need %s from %s %s (%s)", need.pk, mail.sender, "stored" if created else "was stored", slug)
    if not stored:
        return "550 5.1.1 No recipient of this message is a workspace here."
    return "250 2.0.0 Received: " + ", ".join(stored)


class NeedsHandler:
    """aiosmtpd handler: recipients checked at RCPT TO, the message delivered at DATA."""

    def __init__(self, domain: str | None = None) -> None:
        self.domain = (domain or settings.SERVICE_MAIL_DOMAIN).lower()

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        slug = recipient_slug(address, self.domain)
        if slug is None:
            logger.warning("refused recipient %s from %s: not a needs address", address, session.peer)
            return f"550 5.1.1 <{address}>: not an address of this server; write to needs+<workspace>@{self.domain}"
        try:
            tenant = await in_thread(active_tenant, slug)
        except Exception:
            logger.exception("could not look up workspace %s", slug)
            return "451 4.3.0 The recipient could not be checked just now; try again later."
        if tenant is None:
            logger.warning("refused recipient %s from %s: no such workspace", address, session.peer)
            return f"550 5.1.1 <{address}>: no such workspace"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        try:
            return await in_thread(deliver, content, envelope.mail_from or "", list(envelope.rcpt_tos), self.domain)
        except Exception:
            logger.exception("could not deliver a message from %s", envelope.mail_from)
            return "451 4.3.0 The message could not be stored just now; try again later."


def make_controller(host: str | None = None, port: int | None = None, *, max_bytes: int | None = None) -> Controller:
    """The receiver, not started: ``start()`` serves it in a thread of its own, ``stop()`` ends it."""
    return Controller(
        NeedsHandler(),
        hostname=host or settings.SERVICE_SMTP_HOST,
        port=port if port is not None else settings.SERVICE_SMTP_PORT,
        ready_timeout=10,
        data_size_limit=max_bytes or settings.SERVICE_MAIL_MAX_BYTES,
        enable_SMTPUTF8=True,
        ident="KAM needs receiver",
    )
