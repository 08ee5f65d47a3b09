"""Run the channel sink (messaging/sink.py) in the foreground: the demo's stand-in for WeCom,
DingTalk, Feishu and webhook receivers.

`make run` starts it beside the web server (kam serve); the demo's channels point at it, and
http://127.0.0.1:CHANNEL_SINK_PORT/ shows what would have been sent. The secrets of the robots
come from the channels in the database (messaging.demo.sink_secrets), so a wrong signature is
refused here as the vendor would refuse it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from messaging.sink import Sink

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8026


def database_secrets() -> Callable[[str, str], str | None] | None:
    """The channels' secrets, or None (accept any) while messaging.demo is not there yet."""
    try:
        from messaging.demo import sink_secrets
    except ImportError:
        logger.warning("messaging.demo.sink_secrets is not available: the channel sink accepts any token and secret")
        return None

    def secrets(vendor: str, token: str) -> str | None:
        # Each request is answered in its own thread: close its connection, or every
        # request would leave one open.
        try:
            return sink_secrets(vendor, token)
        finally:
            connections.close_all()

    return secrets


class Command(BaseCommand):
    help = "Receive channel messages like WeCom, DingTalk, Feishu and webhook receivers would, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=getattr(settings, "CHANNEL_SINK_PORT", DEFAULT_PORT))

    def handle(self, *args: Any, **options: Any) -> None:
        secrets = database_secrets()
        if secrets is None:
            self.stderr.write("messaging.demo.sink_secrets is not available: accepting any token and secret")
        sink = Sink(secrets)
        try:
            sink.start(options["host"], options["port"])
        except OSError as exc:  # the port taken, the address not ours
            raise CommandError(
                f"The channel sink could not listen on {options['host']}:{options['port']}: {exc}"
            ) from exc
        stopped = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stopped.set())
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        self.stdout.write(f"Channel messages (WeCom, DingTalk, Feishu robots and webhooks): {sink.url}/")
        self.stdout.flush()
        try:
            stopped.wait()
        finally:
            sink.stop()
            self.stdout.write("Channel sink stopped")
