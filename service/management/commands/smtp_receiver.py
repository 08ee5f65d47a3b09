"""Receive needs by e-mail: the SMTP receiver on SERVICE_SMTP_HOST:SERVICE_SMTP_PORT.

`make run` starts it beside the web server, the worker and beat (kam serve). In production
it listens behind the organisation's mail server, which relays needs+<tenant>@<domain> to it
(docs/service.md, Capture).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from service.inbound.smtp import make_controller


class Command(BaseCommand):
    help = "Receive needs by e-mail (needs+<tenant-slug>@SERVICE_MAIL_DOMAIN) until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SERVICE_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.SERVICE_SMTP_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        controller = make_controller(options["host"], options["port"])
        try:
            controller.start()
        except Exception as exc:  # the port taken, the address not ours
            raise CommandError(
                f"The SMTP receiver could not listen on {options['host']}:{options['port']}: {exc}"
            ) from exc
        stopped = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stopped.set())
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        self.stdout.write(
            f"Receiving needs by e-mail on smtp://{options['host']}:{options['port']}, "
            f"addressed to needs+<workspace>@{settings.SERVICE_MAIL_DOMAIN} "
            f"(at most {settings.SERVICE_MAIL_MAX_BYTES // (1024 * 1024)} MB a message)"
        )
        try:
            stopped.wait()
        finally:
            controller.stop()
            self.stdout.write("SMTP receiver stopped")
