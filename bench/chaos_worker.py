"""Kill the Celery worker again and again during a full score run and a risk run; check that
both runs complete, with exactly the result of an undisturbed run, nothing lost or doubled.

    .venv/bin/python bench/chaos_worker.py [--slug bench-large] [--kills 20] [--seed 2026]
        [--min-gap 1] [--max-gap SECONDS] [--as-of YYYY-MM-DD]

On the tenant (build it with bench/generate.py; e.g. --slug chaos-small --accounts 5000
--orders 200000 for a quick try):

1. a clean run: a full score run and a full risk run (concentration, health, alerts) of
   the day, inline, timed; their results are fingerprinted (row count and MD5 of every
   account score, health assessment, the concentration snapshot, every alert, and the
   accounts' denormalised tier, score and health, ids and timestamps left out);
2. the same two runs are created again and queued to a worker started here (``celery
   worker``, prefork, two processes, on a queue of its own), which is killed with SIGKILL
   (its whole process group: main process and pool children, as the OOM killer or a lost
   machine does) ``--kills`` times at random moments (every MIN-GAP to MAX-GAP seconds
   after it is ready; by default up to 0.8 x the shorter clean run, so that every kill
   lands in the middle of both runs, which start again with each worker) and started
   again each time;
3. after the last restart it waits for both runs and checks: both are done, no other run
   appeared, the fingerprints equal the clean run's, one snapshot for the day, no alert
   twice. Exit status 0 when all hold.

A killed task comes back when the next worker starts (kam/recovery.py: its claim in
PostgreSQL died with its process, so the start-up sweep moves its message back to the
queue), not after the two-hour Redis visibility timeout. The worker's log is
var/chaos/worker.log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from kam.celery import app  # noqa: E402
from kam.models import RunStatus, Tenant  # noqa: E402
from kam.tenancy import tenant_context, tenant_today  # noqa: E402
from risk import services as risk_services  # noqa: E402
from risk.models import RiskRun, RunKind  # noqa: E402
from scoring import services as scoring_services  # noqa: E402
from scoring.models import RunTrigger, ScoreRun  # noqa: E402

QUEUE = "kam-chaos"
LOG = ROOT / "var" / "chaos" / "worker.log"
# What a re-run may change without the result being different: ids, runs, timestamps.
VOLATILE = ("id", "run_id", "tenant_id", "created_at", "updated_at", "opened_at", "acknowledged_at", "resolved_at")
FINGERPRINTS = {
    "account scores": ("scoring_accountscore", "run_id = %(score_run)s", "account_id"),
    "health assessments": ("risk_healthassessment", "as_of = %(as_of)s", "account_id"),
    "concentration snapshot": ("risk_concentrationsnapshot", "as_of = %(as_of)s", "as_of"),
    "alerts": ("risk_riskalert", "true", "dedupe_key, status, id"),
}


# --- the result of a run, fingerprinted ------------------------------------------------------------


def fingerprint(tenant: Tenant, as_of: dt.date, score_run: int) -> dict[str, tuple[int, str]]:
    """(rows, MD5) per kind of result, read under the tenant's RLS."""
    minus = " ".join(f"- '{key}'" for key in VOLATILE)
    params = {"tenant": tenant.pk, "as_of": as_of, "score_run": score_run}
    result = {}
    with tenant_context(tenant), connection.cursor() as cursor:
        for name, (table, where, order) in FINGERPRINTS.items():
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg((to_jsonb(t) {minus})::text, '|' ORDER BY {order}), ''))"
                f" FROM {table} t WHERE tenant_id = %(tenant)s AND {where}",
                params,
            )
            result[name] = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), md5(string_agg(concat_ws(',', id, tier, score, health_score, health_band), '|' ORDER BY id))"
            " FROM accounts_account WHERE tenant_id = %(tenant)s",
            params,
        )
        result["accounts' tier, score, health"] = cursor.fetchone()
    return result


def run_counts(tenant: Tenant) -> tuple[int, int]:
    with tenant_context(tenant):
        return ScoreRun.objects.count(), RiskRun.objects.count()


# --- the worker ------------------------------------------------------------------------------------


@dataclass
class Worker:
    concurrency: int = 2
    process: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)

    def start(self) -> float:
        """Start a worker and wait until it is ready; returns the seconds it took."""
        LOG.parent.mkdir(parents=True, exist_ok=True)
        offset = LOG.stat().st_size if LOG.exists() else 0
        command = [sys.executable, "-m", "celery", "-A", "kam", "worker", "-Q", QUEUE, "--hostname", "chaos@%h"]
        command += ["--concurrency", str(self.concurrency), "--loglevel", "INFO"]
        began = time.monotonic()
        with open(LOG, "ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out, start_new_session=True)
        while time.monotonic() - began < 120:
            if b" ready." in LOG.read_bytes()[offset:]:
                self.starts.append(time.monotonic())
                return time.monotonic() - began
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}; see {LOG}")
            time.sleep(0.1)
        raise RuntimeError(f"the worker was not ready within 120 s; see {LOG}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


# --- the runs ----------------------------------------------------------------------------------------


def clean_run(tenant: Tenant, as_of: dt.date) -> tuple[int, float, float]:
    started = time.perf_counter()
    run = scoring_services.score_run_create(tenant, trigger=RunTrigger.MANUAL, as_of=as_of)
    scoring_services.score_run_execute(tenant, run=run)
    score_seconds = time.perf_counter() - started
    started = time.perf_counter()
    risk_run = risk_services.risk_run_create(tenant, kind=RunKind.FULL, as_of=as_of)
    risk_run = risk_services.risk_run_execute(tenant, run=risk_run)
    if risk_run.status != RunStatus.DONE:
        raise RuntimeError(f"the clean risk run failed: {risk_run.error}")
    return run.pk, score_seconds, time.perf_counter() - started


def queue_runs(tenant: Tenant, as_of: dt.date) -> tuple[ScoreRun, RiskRun]:
    score_run = scoring_services.score_run_create(tenant, trigger=RunTrigger.MANUAL, as_of=as_of)
    risk_run = risk_services.risk_run_create(tenant, kind=RunKind.FULL, as_of=as_of)
    app.signature("scoring.execute_run", args=[tenant.pk, score_run.pk]).apply_async(queue=QUEUE)
    app.signature("risk.execute_run", args=[tenant.pk, risk_run.pk]).apply_async(queue=QUEUE)
    return score_run, risk_run


def states(tenant: Tenant, score_run: ScoreRun, risk_run: RiskRun) -> tuple[str, str]:
    with tenant_context(tenant):
        score = ScoreRun.objects.values_list("status", "progress").get(pk=score_run.pk)
        risk = RiskRun.objects.values_list("status", "progress").get(pk=risk_run.pk)
    return f"{score[0]} {score[1]}%", f"{risk[0]} {risk[1]}%"


def both_done(tenant: Tenant, score_run: ScoreRun, risk_run: RiskRun) -> bool:
    return all(state.startswith("done") for state in states(tenant, score_run, risk_run))


# --- main ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slug", default="bench-large")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--min-gap", type=float, default=1.0, help="seconds after the worker is ready, at least")
    parser.add_argument("--max-gap", type=float, default=None, help="at most (default: 0.8 x the shorter clean run)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args()
    tenant = Tenant.objects.filter(slug=args.slug).first()
    if tenant is None:
        print(f"no tenant {args.slug}; build it with bench/generate.py --slug {args.slug}", file=sys.stderr)
        return 2
    as_of = args.as_of or tenant_today(tenant)
    rng = random.Random(args.seed)

    print(f"tenant {tenant.slug}, as of {as_of}")
    clean_score_run, score_seconds, risk_seconds = clean_run(tenant, as_of)
    expected = fingerprint(tenant, as_of, clean_score_run)
    max_gap = args.max_gap or max(args.min_gap + 1, 0.8 * min(score_seconds, risk_seconds))
    print(
        f"clean run: score {score_seconds:.1f} s, risk {risk_seconds:.1f} s; kills every {args.min_gap:.0f}-{max_gap:.0f} s"
    )
    runs_before = run_counts(tenant)

    worker = Worker()
    log_offset = LOG.stat().st_size if LOG.exists() else 0
    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(QUEUE)
    startup = worker.start()
    score_run, risk_run = queue_runs(tenant, as_of)
    chaos_started = time.monotonic()
    kills = 0
    try:
        while kills < args.kills and not both_done(tenant, score_run, risk_run):
            time.sleep(rng.uniform(args.min_gap, max_gap))
            at = states(tenant, score_run, risk_run)
            worker.kill()
            kills += 1
            print(f"kill {kills:2d} at {time.monotonic() - chaos_started:6.1f} s: score {at[0]:>12}, risk {at[1]:>12}")
            startup = max(startup, worker.start())
        last_start = time.monotonic()
        deadline = last_start + 300 + 5 * (score_seconds + risk_seconds)
        while not both_done(tenant, score_run, risk_run) and time.monotonic() < deadline:
            time.sleep(0.5)
        finished_after = time.monotonic() - last_start
    finally:
        worker.stop()
    log = LOG.read_bytes()[log_offset:].decode(errors="replace")
    return report(tenant, as_of, score_run, risk_run, expected, runs_before, kills, finished_after, startup, log)


def report(
    tenant: Tenant,
    as_of: dt.date,
    score_run: ScoreRun,
    risk_run: RiskRun,
    expected: dict[str, tuple[int, str]],
    runs_before: tuple[int, int],
    kills: int,
    finished_after: float,
    startup: float,
    log: str,
) -> int:
    final = states(tenant, score_run, risk_run)
    actual = fingerprint(tenant, as_of, score_run.pk)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT dedupe_key FROM risk_riskalert WHERE tenant_id = %s AND status <> 'resolved'"
            " GROUP BY dedupe_key HAVING count(*) > 1) doubled",
            [tenant.pk],
        )
        doubled_alerts = cursor.fetchone()[0]
    recovered = sum(int(line.split("re-queued ")[1].split(" ")[0]) for line in log.splitlines() if "re-queued " in line)
    checks = {
        "both runs done": final == ("done 100%", "done 100%"),
        "no other run created": run_counts(tenant) == (runs_before[0] + 1, runs_before[1] + 1),
        "one concentration snapshot of the day": actual["concentration snapshot"][0] == 1,
        "no open alert twice": doubled_alerts == 0,
        **{f"{name} equal to the clean run's": actual[name] == expected[name] for name in expected},
    }
    print(
        f"{kills} kills; the worker started again each time (at most {startup:.1f} s); "
        f"{recovered} killed task(s) re-queued by the start-up sweeps"
    )
    print(f"after the last restart both runs were done in {finished_after:.1f} s: score {final[0]}, risk {final[1]}")
    for name, (rows, digest) in actual.items():
        print(f"  {name:38} {rows:>9,} rows  {digest}")
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
