"""Stop and start PostgreSQL under a running web server and worker; measure what clients see.

    .venv/bin/python bench/chaos_postgres.py [--down 10] [--restarts 2] [--port 8106]

Everything runs on servers of its own in a temporary folder (KAM_VAR_DIR): an embedded
PostgreSQL and Redis (kam/embedded.py), migrated, with one tenant, its administrator and an
API token; gunicorn (two sync workers: persistent database connections, as in production)
and a Celery worker. The shared servers under var/ are never touched.

A client polls a page (logged in, ``/t/<tenant>/accounts/``) and the API
(``/api/v1/accounts/`` with the token) every 0.25 s. Each restart: PostgreSQL is stopped
(``pg_ctl stop -m fast``, as a restart or a fail-over does), kept down ``--down`` seconds,
and started again; a score run is queued while it is down. Reported: what the clients got
while it was down (expected: 503 pages in both languages and the API's JSON 503, never a
500), how long after PostgreSQL accepted connections again each got its first 200 (limit:
30 s), and whether the score run queued during the outage was done by the worker's
retries (nothing restarted).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECOVERY_LIMIT_SECONDS = 30
SLUG = "chaos-pg"
EMAIL = "admin@chaos-pg.example.com"
PASSWORD = "chaos-postgres-2026"


def prepare_environment() -> Path:
    """Servers of our own: KAM_VAR_DIR before anything of kam is imported."""
    folder = Path(tempfile.mkdtemp(prefix="kam-chaos-pg-", dir="/tmp"))
    os.environ["KAM_VAR_DIR"] = str(folder)
    for name in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "kam.settings"
    return folder


def manage(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class Sample:
    at: float
    target: str
    status: int
    body: str


@dataclass(eq=False)
class Poller(threading.Thread):
    base: str
    token: str
    samples: list[Sample] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__init__(daemon=True)
        self.jar = http.cookiejar.CookieJar()
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def login(self) -> None:
        page = self.browser.open(f"{self.base}/login/", timeout=10).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": EMAIL, "password": PASSWORD}).encode()
        request = urllib.request.Request(f"{self.base}/login/", data=data, headers={"Referer": f"{self.base}/login/"})
        self.browser.open(request, timeout=10)
        assert any(cookie.name == "sessionid" for cookie in self.jar), "login failed"

    def fetch(self, target: str) -> Sample:
        if target == "page":
            request = urllib.request.Request(f"{self.base}/t/{SLUG}/accounts/", headers={"Accept-Language": "en"})
            opener = self.browser
        else:
            request = urllib.request.Request(
                f"{self.base}/api/v1/accounts/",
                headers={"Authorization": f"Bearer {self.token}", "Accept-Language": "en"},
            )
            opener = urllib.request.build_opener()
        try:
            with opener.open(request, timeout=15) as response:
                return Sample(time.monotonic(), target, response.status, response.read().decode(errors="replace"))
        except urllib.error.HTTPError as error:
            return Sample(time.monotonic(), target, error.code, error.read().decode(errors="replace"))
        except OSError as error:
            return Sample(time.monotonic(), target, 0, str(error))

    def run(self) -> None:
        while not self.stopped.is_set():
            for target in ("page", "api"):
                self.samples.append(self.fetch(target))
            time.sleep(0.25)


class Services:
    """gunicorn and a Celery worker on the temporary servers."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "kam.wsgi:application",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "2",
            ],
            "worker": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "kam",
                "worker",
                "-Q",
                "chaos-pg",
                "-c",
                "1",
                "--loglevel",
                "INFO",
            ],
        }
        for name, command in commands.items():
            with open(self.folder / f"{name}.log", "ab") as out:
                self.processes[name] = subprocess.Popen(
                    command, cwd=ROOT, stdout=out, stderr=out, start_new_session=True
                )
        deadline = time.monotonic() + 60
        while b" ready." not in (self.folder / "worker.log").read_bytes() or not self._web_up():
            if time.monotonic() > deadline:
                raise RuntimeError(f"web or worker did not start; see {self.folder}")
            time.sleep(0.2)

    def _web_up(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login/", timeout=2)
            return True
        except OSError:
            return False

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def start_postgres() -> subprocess.Popen:
    """In a process of its own, as `python -m kam.embedded start` would, so that this one
    measures when connections are accepted again while the start runs."""
    code = "from kam import embedded; embedded.ensure_postgres()"
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def accepts_connections(embedded) -> bool:  # noqa: ANN001
    import psycopg2

    try:
        psycopg2.connect(
            host=str(embedded.PG_SOCKET_DIR), user="postgres", dbname="postgres", connect_timeout=1
        ).close()
        return True
    except psycopg2.Error:
        return False


def summarize(samples: list[Sample], start: float, end: float) -> Counter:
    return Counter((s.target, s.status) for s in samples if start <= s.at < end)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--down", type=float, default=10.0, help="seconds PostgreSQL stays stopped")
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--port", type=int, default=8106)
    args = parser.parse_args()
    folder = prepare_environment()
    sys.path.insert(0, str(ROOT))
    from kam import embedded

    print(f"temporary PostgreSQL and Redis in {folder}")
    services = Services(folder, args.port)
    try:
        return run(args, folder, embedded, services)
    except Exception:
        for log in sorted(folder.glob("*.log")):
            print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        raise
    finally:
        services.stop()
        embedded.stop_postgres()
        embedded.stop_redis()
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path, embedded, services: Services) -> int:  # noqa: ANN001
    embedded.postgres_urls()
    embedded.ensure_redis()
    manage("migrate", "--noinput")
    manage("create_tenant", "--slug", SLUG, "--name", "停机演练", "--industry", "manufacturing",
           "--admin-email", EMAIL, "--admin-password", PASSWORD)  # fmt: skip
    token = manage("create_api_token", "--tenant", SLUG, "--name", "chaos", "--scope", "write")
    import django

    django.setup()
    from django.db import connections

    from kam.celery import app
    from kam.models import Tenant
    from scoring import services as scoring_services

    tenant = Tenant.objects.get(slug=SLUG)
    services.start()
    base = f"http://127.0.0.1:{args.port}"
    body = json.dumps({"name": "停机演练客户"}).encode()
    created = urllib.request.Request(
        f"{base}/api/v1/accounts/",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(created, timeout=10)
    poller = Poller(base, token)
    poller.login()
    poller.start()
    time.sleep(3)
    checks: dict[str, bool] = {}
    for number in range(1, args.restarts + 1):
        run = scoring_services.score_run_create(tenant)
        connections.close_all()
        embedded.stop_postgres()
        stopped = time.monotonic()
        app.signature("scoring.execute_run", args=[tenant.pk, run.pk]).apply_async(queue="chaos-pg")
        time.sleep(args.down)
        starting = start_postgres()
        while not accepts_connections(embedded):
            time.sleep(0.02)
        back = time.monotonic()
        if starting.wait(60) != 0:
            raise RuntimeError("PostgreSQL did not start again")
        time.sleep(RECOVERY_LIMIT_SECONDS + 2)
        run_done = wait_for_run(tenant, run.pk, 120)
        during = summarize(poller.samples, stopped, back)
        first_ok = {
            target: min(
                (s.at for s in poller.samples if s.target == target and s.at >= back and s.status == 200), default=None
            )
            for target in ("page", "api")
        }
        recovery = {target: (at - back if at else None) for target, at in first_ok.items()}
        down_bodies = [s for s in poller.samples if stopped <= s.at < back]
        print(f"\nrestart {number}: PostgreSQL down {back - stopped:.1f} s")
        print(f"  answers while down: {dict(sorted(during.items()))}")
        print(
            f"  first 200 after it accepted connections again: page {fmt(recovery['page'])}, API {fmt(recovery['api'])}"
        )
        print(f"  the score run queued while it was down: {'done' if run_done else 'NOT done'} (retried by the worker)")
        checks[f"restart {number}: pages answered 503 while down, never 500"] = bool(during) and all(
            status == 503 for (target, status) in during if target == "page"
        )
        checks[f"restart {number}: the page said so in both languages"] = all(
            "Temporarily unavailable" in s.body and "暂时无法访问" in s.body
            for s in down_bodies
            if s.target == "page" and s.status == 503
        )
        checks[f"restart {number}: the API answered its JSON 503 while down"] = all(
            s.status == 503 and json.loads(s.body)["error"]["code"] == "service_unavailable"
            for s in down_bodies
            if s.target == "api"
        )
        checks[f"restart {number}: pages and API back within {RECOVERY_LIMIT_SECONDS} s"] = all(
            value is not None and value <= RECOVERY_LIMIT_SECONDS for value in recovery.values()
        )
        checks[f"restart {number}: the run queued during the outage was done"] = run_done
    poller.stopped.set()
    poller.join(30)
    after = [s for s in poller.samples if s.status not in (200, 503)]
    checks["no answer other than 200 or 503 at any time"] = not after
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    retries = (folder / "worker.log").read_text(errors="replace").count("Retry in")
    print(f"(the worker logged {retries} retries of tasks that met the outage)")
    return 0 if all(checks.values()) else 1


def wait_for_run(tenant, run_id: int, seconds: float) -> bool:  # noqa: ANN001
    from kam.tenancy import tenant_context
    from scoring.models import ScoreRun

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with tenant_context(tenant):
            if ScoreRun.objects.filter(pk=run_id, status="done").exists():
                return True
        time.sleep(0.5)
    return False


def fmt(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


if __name__ == "__main__":
    raise SystemExit(main())
