"""Serve KAM for development: web server, the interactive and the batch Celery worker, beat, the SMTP receiver of
needs (service/inbound/smtp.py) and the channel sink (messaging/sink.py, the stand-in for the
WeCom / DingTalk / Feishu robots) from one command.

Ctrl-C (or SIGTERM) stops all six cleanly; if one of them dies, the others are
stopped too and the command exits non-zero. With --stop-services, the embedded
PostgreSQL and Redis are stopped at the end as well.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from kam.management.commands.seed_demo import DEMO_PASSWORD, demo_logins

GRACE_SECONDS = 15


def celery_worker(python: str, queue: str, name: str) -> list[str]:
    return [python, "-m", "celery", "-A", "kam", "worker", "--loglevel", "INFO", "-Q", queue, "-n", f"{name}@%h"]


class Command(BaseCommand):
    help = (
        "Run the web server, a Celery worker, Celery beat, the SMTP receiver and the channel sink together"
        " (development)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--stop-services", action="store_true", help="stop the embedded PostgreSQL and Redis on exit"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        base = str(settings.BASE_DIR)
        address = f"{options['host']}:{options['port']}"
        commands = {
            "web": [python, "manage.py", "runserver", address],
            # People's work (the default queue) and the batch beat sends, each with its own worker.
            "worker": [
                *celery_worker(python, settings.CELERY_TASK_DEFAULT_QUEUE, "interactive"),
                "--concurrency",
                "2",
            ],
            "batch-worker": [*celery_worker(python, settings.KAM_BATCH_QUEUE, "batch"), "--concurrency", "1"],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "kam",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
            "smtp": [python, "manage.py", "smtp_receiver"],
            "sink": [python, "manage.py", "channel_sink"],
        }
        processes: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum: int | None = None, frame: Any = None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, command in commands.items():
            # Each in its own session: Ctrl-C reaches only this supervisor, which stops them in order.
            processes[name] = subprocess.Popen(command, cwd=base, start_new_session=True)
        url = f"http://{address}/"
        self._announce(url)
        exit_code = 0
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with code {process.returncode}; stopping the others")
                        exit_code = 1
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            self._stop_all(processes)
            if options["stop_services"]:
                from kam import embedded

                embedded.stop_postgres()
                embedded.stop_redis()
                self.stdout.write("embedded PostgreSQL and Redis stopped")
        if exit_code:
            raise SystemExit(exit_code)

    def _announce(self, url: str) -> None:
        for _ in range(120):
            try:
                with urllib.request.urlopen(url + "healthz", timeout=2):
                    break
            except Exception:
                time.sleep(0.5)
        lines = ["", "=" * 64, f"  KAM is running at {url}", f"  Demo logins (password: {DEMO_PASSWORD}):"]
        lines += [f"    {email:<32} {label}" for email, label in demo_logins()]
        lines += [
            "  API docs: " + url + "api/v1/docs/",
            f"  Needs by e-mail: needs+<workspace>@{settings.SERVICE_MAIL_DOMAIN}"
            f" to smtp://{settings.SERVICE_SMTP_HOST}:{settings.SERVICE_SMTP_PORT}",
            f"  Channel messages: http://127.0.0.1:{getattr(settings, 'CHANNEL_SINK_PORT', 8026)}/",
            "  Ctrl-C stops the web server, the workers, beat, the SMTP receiver and the channel sink.",
            "=" * 64,
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _stop_all(self, processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for name, process in processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {GRACE_SECONDS}s; killing it")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.stdout.write("web server, workers, beat, SMTP receiver and channel sink stopped")
