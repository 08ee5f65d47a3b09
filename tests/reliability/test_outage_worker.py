"""A worker killed in the middle of a task: the task runs again as soon as a worker starts,
not two hours later when Redis's visibility timeout would bring its message back
(kam/recovery.py). Real worker processes, killed with SIGKILL.

bench/chaos_worker.py does the same twenty times over full score and risk runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from kam.celery import app
from kam.recovery import recover_orphans

pytestmark = [pytest.mark.worker, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]


@shared_task(name="tests.outage_worker.slow")
def slow(marker: str, seconds: float) -> None:
    """Sleeps on its first attempt (long enough to be killed), returns at once after that."""
    cache.add(marker, 0, 300)
    attempt = cache.incr(marker)
    cache.set(f"{marker}:started", attempt, 300)
    if attempt == 1:
        time.sleep(seconds)
    cache.set(f"{marker}:done", attempt, 300)


class Worker:
    """``celery worker`` in a process group of its own, on this test's database and a queue of its own."""

    def __init__(self, queue: str, log: Path) -> None:
        self.queue, self.log = queue, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        db = connection.settings_dict
        host = quote(db["HOST"], safe="") + (f":{db['PORT']}" if db["PORT"] else "")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kam.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{host}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        }
        command = [sys.executable, "-m", "celery", "-A", "kam", "worker", "--pool", "solo", "-Q", self.queue]
        command += ["--include", __name__, "--loglevel", "INFO", "--hostname", f"{self.queue}@%h"]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    worker = Worker(f"kam-test-recovery-{uuid.uuid4().hex[:8]}", tmp_path / "worker.log")
    app.conf.task_always_eager = False  # sent to the worker, not run here
    try:
        yield worker
    finally:
        app.conf.task_always_eager = True
        worker.stop()
    with app.connection_for_write() as broker:
        broker.default_channel.queue_delete(worker.queue)


def wait_for(key: str, seconds: float) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = cache.get(key)
        if value is not None:
            return value
        time.sleep(0.2)
    return None


def test_a_task_killed_with_its_worker_runs_again_when_a_worker_starts(worker, tmp_path):
    marker = f"recovery-{uuid.uuid4().hex[:8]}"
    # given: a worker that has started a long task
    worker.start()
    slow.apply_async(args=[marker, 120], queue=worker.queue)
    assert wait_for(f"{marker}:started", 60) == 1, (tmp_path / "worker.log").read_text()
    # a sweep while it runs leaves it alone: its worker is alive
    assert recover_orphans() == []
    # when: the worker is killed (the whole process group, as the OOM killer or a lost machine)
    worker.kill()
    killed_at = time.monotonic()
    assert cache.get(f"{marker}:done") is None
    # and a worker starts again
    worker.start()
    # then: the task runs again within seconds (not after the two-hour visibility timeout)
    assert wait_for(f"{marker}:done", 60) == 2, (tmp_path / "worker.log").read_text()
    assert time.monotonic() - killed_at < 60
    assert "re-queued 1 task(s) whose worker died" in (tmp_path / "worker.log").read_text()
