"""Redis restarts under a running worker: the worker consumes again without being restarted,
and a message queued before the restart is still there after it (append-only file).

A Redis of its own (the system's redis-server on a free port, append-only file on) and a
Celery app with KAM's Celery settings pointed at it, so that nothing else on the machine
is touched. bench/chaos_redis.py does the same with real score and risk runs, for the
embedded Redis and a server Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache

pytestmark = [pytest.mark.worker, pytest.mark.django_db]

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--appendonly", "yes"]
        command += ["--dir", str(self.folder), "--save", ""]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # writes the append-only file, as on a restart
            self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("no redis-server on this machine")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_app(redis_server: RedisServer) -> Iterator[Celery]:
    """KAM's Celery settings (retries, transport options, acks_late), on the private Redis.

    A worker makes its app the current one; KAM's app is made current again afterwards, so
    that the next tests' tasks do not go to this test's (stopped) Redis."""
    from kam.celery import app as kam_app

    app = Celery(f"redis-restart-{os.getpid()}", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=redis_server.url, task_always_eager=False, task_default_queue="restart-test")

    @app.task(name="tests.outage_redis.mark")
    def mark(key: str) -> None:
        cache.set(key, "done", 120)

    try:
        yield app
    finally:
        kam_app.set_current()
        kam_app.set_default()


def wait_for(key: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cache.get(key):
            return True
        time.sleep(0.1)
    return False


def test_a_worker_consumes_again_after_redis_restarts(celery_app, redis_server):
    mark = celery_app.tasks["tests.outage_redis.mark"]
    marker = uuid.uuid4().hex
    # a message queued while no worker runs, then Redis restarts: it is still there
    mark.delay(f"{marker}:queued-before")
    redis_server.stop()
    redis_server.start()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert wait_for(f"{marker}:queued-before", 30)
        mark.delay(f"{marker}:before")
        assert wait_for(f"{marker}:before", 30)
        # when: Redis restarts under the running worker
        redis_server.stop()
        time.sleep(1)
        redis_server.start()
        back = time.monotonic()
        mark.delay(f"{marker}:after")
        # then: the same worker takes the next task within 60 s
        assert wait_for(f"{marker}:after", 60)
        assert time.monotonic() - back < 60
