"""One night of the nightly cycle at 1,000 tenants, with real Celery workers (issue #21).

    .venv/bin/python bench/nightly.py [--tenants 1000] [--replace] [--night YYYY-MM-DD]
        [--minute-seconds 0.2] [--probes 10] [--probe-gap 1.0] [--timeout 3600] [--seed 2026]

1. The tenants ``night-0001`` ... ``night-NNNN`` (made once, with kam.services.tenant_create,
   which seeds each app's defaults; the missing ones are added, ``--replace`` rebuilds them):
   nine in ten small (20-80 accounts, a few hundred orders), one in ten medium (150-500
   accounts, a few thousand orders), one in a hundred large (2,000-4,000 accounts, 20,000-
   40,000 orders); seven in ten in Asia/Shanghai, the rest in Asia/Tokyo, Europe/Berlin and
   America/New_York. Their rows come from bench/generate.py's ``generate`` (COPY; no needs,
   growth or people), the statistics are taken once at the end.
2. Two workers started as ``make run`` starts them (kam/management/commands/serve.py: the
   interactive worker, concurrency 2, and the batch worker, concurrency 1), on queues of the
   bench's own (CELERY_INTERACTIVE_QUEUE / CELERY_BATCH_QUEUE, read by kam/settings.py), so
   that a running ``make run`` takes none of its tasks. A fake clock walks, one simulated
   minute every ``--minute-seconds``, over the UTC minutes that hold every bench tenant's
   local night of ``--night`` (by default today: from the first Tokyo tenant's 01:30 to the
   last New York tenant's 05:09), and each minute queues the jobs kam.nightly.due_jobs
   finds due, on the batch queue with their slot, as kam.nightly.dispatch does; only the
   bench's tenants are dispatched (the other tenants of the development database keep
   their own nights, and the figures do not depend on what other benches built). The
   slots of that night are forgotten first (kam.recovery.once_per_slot remembers them two
   days), so the bench can be run again.
3. When half the night's score runs are queued, ``--probes`` interactive tasks are queued one
   every ``--probe-gap`` seconds, as people would: ``scoring.rescore_account`` for an
   account of a small tenant, on the default queue. A probe's wait is from its queueing to
   its start: the creation time of the ScoreRun that the rescore writes first thing.
4. Once every batch task of the night is done (read from the batch worker's log), it
   prints: the night's time (first job queued to the last batch task done), the batch work
   (the tasks' summed run time) against each time zone's real night window, the deepest
   batch queue, the probes' longest and median wait (target 2 s), each worker's peak
   memory (VmHWM of its main and pool processes, sampled every half second), and checks
   that the dispatcher queued each expected job once, that every batch task succeeded, and
   that each tenant got exactly one scheduled score run and one scheduled concentration and
   health run. Exit status 0 when every check passes.

The workers are stopped on exit (Ctrl-C and errors too) and the bench's queues purged;
their logs are var/nightly/interactive.log and var/nightly/batch.log. The tenants stay in
the development database, like the other benches' tenants.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")
# Queues of the bench's own, for this process and the workers (kam/settings.py reads them).
INTERACTIVE_QUEUE = "kam-bench-nightly"
BATCH_QUEUE = "kam-bench-nightly-batch"
os.environ["CELERY_INTERACTIVE_QUEUE"] = INTERACTIVE_QUEUE
os.environ["CELERY_BATCH_QUEUE"] = BATCH_QUEUE

import django  # noqa: E402
import psutil  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import generate as gen  # noqa: E402
from kam import nightly, services  # noqa: E402
from kam.celery import app  # noqa: E402
from kam.management.commands.serve import celery_worker  # noqa: E402
from kam.models import Tenant  # noqa: E402
from kam.tenancy import tenant_context  # noqa: E402

LOG_DIR = ROOT / "var" / "nightly"
PREFIX = "night-"
ZONES = [("Asia/Shanghai", 70), ("Asia/Tokyo", 10), ("Europe/Berlin", 10), ("America/New_York", 10)]
WAIT_TARGET = 2.0  # seconds, the longest wait of an interactive task
SCORE_TASK = "scoring.nightly_score"
TASK_LINE = re.compile(
    r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/[^\]]*\] Task (?P<name>[\w.]+)\[(?P<id>[0-9a-f-]{36})\] "
    r"(?:(?P<ok>succeeded in (?P<runtime>[\d.e-]+)s)|(?P<failed>raised (?:unexpected|expected)))"
)


# --- the tenants -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    size: str
    zone: str
    accounts: int
    orders: int


def shapes(count: int, seed: int) -> dict[str, Shape]:
    """Each bench tenant's size class, time zone and rows, by slug (deterministic)."""
    rng = random.Random(seed)
    zones = gen.Weighted(ZONES)
    result = {}
    for k in range(1, count + 1):
        zone = zones(rng.random())
        if k % 100 == 1:  # one in a hundred, the first among them
            accounts = rng.randint(2_000, 4_000)
            size, orders = "large", accounts * rng.randint(9, 11)
        elif k % 10 == 5:
            accounts = rng.randint(150, 500)
            size, orders = "medium", accounts * rng.randint(8, 15)
        else:
            accounts = rng.randint(20, 80)
            size, orders = "small", accounts * rng.randint(5, 12)
        result[f"{PREFIX}{k:04d}"] = Shape(size, zone, accounts, orders)
    return result


def build(count: int, seed: int, replace: bool) -> list[Tenant]:
    """The bench's tenants, the missing ones made (all of them with ``replace``)."""
    wanted = shapes(count, seed)
    existing = {t.slug: t for t in Tenant.objects.filter(slug__in=list(wanted))}
    if replace and existing:
        started = time.perf_counter()
        for tenant in existing.values():
            gen.drop_tenant(tenant)
        print(f"dropped {len(existing):,} bench tenants in {time.perf_counter() - started:.1f} s", flush=True)
        existing = {}
    missing = [slug for slug in wanted if slug not in existing]
    if missing:
        started = time.perf_counter()
        analyze = gen.analyze
        gen.analyze = lambda tables, vacuum=False: None  # once at the end, not per tenant
        try:
            for done, slug in enumerate(missing, 1):
                shape = wanted[slug]
                rows = argparse.Namespace(
                    accounts=shape.accounts,
                    orders=shape.orders,
                    invoices=max(1, shape.orders // 5),
                    contacts=shape.accounts * 3,
                    interactions=shape.accounts * 2,
                    seed=seed + int(slug[len(PREFIX) :]),
                )
                # The tenant and its rows commit together: a build stopped half way leaves none half made.
                with transaction.atomic():
                    tenant = services.tenant_create(
                        slug=slug, name=f"夜间基准 {slug}", industry_profile="manufacturing", time_zone=shape.zone
                    )
                    gen.generate(tenant, rows)
                if done % 100 == 0 or done == len(missing):
                    print(
                        f"  {done:,} of {len(missing):,} tenants made ({time.perf_counter() - started:.0f} s)",
                        flush=True,
                    )
        finally:
            gen.analyze = analyze
        gen.analyze(
            ["accounts_account", "accounts_order", "accounts_invoice", "accounts_contact", "accounts_interaction"]
        )
        sizes = Counter(wanted[slug].size for slug in missing)
        accounts = sum(wanted[slug].accounts for slug in missing)
        orders = sum(wanted[slug].orders for slug in missing)
        print(
            f"built {len(missing):,} tenants ({sizes['small']:,} small, {sizes['medium']:,} medium, {sizes['large']:,}"
            f" large; {accounts:,} accounts, {orders:,} orders) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    tenants = list(Tenant.objects.filter(slug__in=list(wanted), is_active=True).order_by("pk"))
    if len(tenants) != count:
        raise SystemExit(f"{count - len(tenants)} bench tenants are missing or inactive")
    return tenants


# --- the night's schedule ------------------------------------------------------------------------------


@dataclass
class Night:
    date: dt.date
    tenants: list[dict[str, Any]]
    expected: dict[tuple[str, int, str], dt.datetime]  # (task, tenant, slot) -> its UTC minute
    first: dt.datetime
    last: dt.datetime

    @property
    def minutes(self) -> int:
        return int((self.last - self.first).total_seconds() // 60) + 1


def plan(date: dt.date, tenant_ids: list[int]) -> Night:
    """The UTC minutes that hold each tenant's local night of ``date``, and every job (of any
    night) whose time falls in them: what the dispatcher should queue, each once."""
    tenants = list(Tenant.objects.filter(pk__in=tenant_ids).order_by("pk").values("id", "time_zone", *nightly.ANCHORS))
    own: list[dt.datetime] = []
    for tenant in tenants:
        stagger = nightly.stagger_minutes(tenant["id"])
        for job in nightly.NIGHTLY_JOBS:
            anchor = tenant.get(job.anchor) or nightly.DEFAULT_TIMES[job.anchor]
            own.append(nightly.scheduled_at(job, date, anchor, tenant["time_zone"], stagger))
    first, last = min(own), max(own)
    expected = {}
    for tenant in tenants:
        stagger = nightly.stagger_minutes(tenant["id"])
        for job in nightly.NIGHTLY_JOBS:
            anchor = tenant.get(job.anchor) or nightly.DEFAULT_TIMES[job.anchor]
            for night in (date - dt.timedelta(days=1), date, date + dt.timedelta(days=1)):
                at = nightly.scheduled_at(job, night, anchor, tenant["time_zone"], stagger)
                if first <= at <= last:
                    expected[(job.task, tenant["id"], nightly.slot_of(job, night, anchor, stagger))] = at
    return Night(date, tenants, expected, first, last)


def forget_slots(night: Night) -> None:
    """A bench run of the same night again: the slots the last one marked done are forgotten."""
    cache.delete_many([f"kam:slot-done:{task}:{tenant}:{slot}" for task, tenant, slot in night.expected])


def dispatch(minute: dt.datetime, tenants: list[dict[str, Any]]) -> list[tuple[str, int, str, str]]:
    """kam.nightly.dispatch for the bench's tenants: the jobs due at ``minute``, queued on the batch
    queue with their slot. Returns (task, tenant, slot, task id)."""
    queued = []
    for task, tenant_id, slot in nightly.due_jobs(minute, tenants):
        result = app.signature(task, args=[tenant_id], kwargs={"kam_slot": slot}).apply_async(
            queue=nightly.batch_queue()
        )
        queued.append((task, tenant_id, slot, result.id))
    return queued


# --- the workers -------------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    queue: str
    concurrency: int
    process: subprocess.Popen | None = None
    log: Path = field(init=False)
    peak_hwm: dict[int, int] = field(default_factory=dict)  # pid -> VmHWM in kB
    peak_total: int = 0  # kB: the most RSS of the main and pool processes together

    def __post_init__(self) -> None:
        self.log = LOG_DIR / f"{self.name}.log"

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        command = [
            *celery_worker(sys.executable, self.queue, f"nightly-bench-{self.name}"),
            "--concurrency",
            str(self.concurrency),
        ]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out, start_new_session=True)

    def wait_ready(self, timeout: float = 120) -> None:
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if b" ready." in self.log.read_bytes():
                return
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} worker exited; see {self.log}")
            time.sleep(0.2)
        raise RuntimeError(f"the {self.name} worker was not ready within {timeout:.0f} s; see {self.log}")

    def pids(self) -> tuple[int | None, list[int]]:
        """The main process and its pool processes."""
        if self.process is None or self.process.poll() is not None:
            return None, []
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        return self.process.pid, [child.pid for child in children]

    def sample(self) -> None:
        main, children = self.pids()
        total = 0
        for pid in [main, *children] if main else []:
            status = _status(pid)
            if status:
                self.peak_hwm[pid] = max(self.peak_hwm.get(pid, 0), status.get("VmHWM", 0))
                total += status.get("VmRSS", 0)
        self.peak_total = max(self.peak_total, total)

    def memory(self) -> str:
        main = self.process.pid if self.process else None
        pool = [kb for pid, kb in self.peak_hwm.items() if pid != main]
        return (
            f"main process {self.peak_hwm.get(main, 0) / 1024:.0f} MB, {len(pool)} pool process(es) up to"
            f" {max(pool, default=0) / 1024:.0f} MB each (VmHWM); RSS of all together at most {self.peak_total / 1024:.0f} MB"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB (empty when it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {
        key: int(rest.split()[0])
        for key, _, rest in (line.partition(":") for line in lines)
        if key in ("VmRSS", "VmHWM")
    }


def queue_depth(channel: Any, queue: str) -> int:
    try:
        return channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:  # not declared yet
        return 0


def purge(*queues: str) -> None:
    with app.connection_for_write() as broker:
        for queue in queues:
            with contextlib.suppress(Exception):  # not declared yet
                broker.default_channel.queue_purge(queue)


class Sampler(threading.Thread):
    """Every half second: the workers' memory and the depth of the batch queue."""

    def __init__(self, workers: list[Worker]) -> None:
        super().__init__(daemon=True)
        self.workers = workers
        self.deepest = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with app.connection_for_read() as broker:
            channel = broker.default_channel
            while not self.halt.is_set():
                for worker in self.workers:
                    worker.sample()
                self.deepest = max(self.deepest, queue_depth(channel, BATCH_QUEUE))
                self.halt.wait(0.5)


class BatchLog:
    """The batch worker's log, read as it grows: each task's end, its time and run time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.rest = b""
        self.done: dict[str, tuple[float, float]] = {}  # task id -> (ended at, run time)
        self.failed: dict[str, str] = {}  # task id -> task name

    def read(self) -> None:
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        self.offset += len(chunk)
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()
        for raw in lines:
            match = TASK_LINE.match(raw.decode(errors="replace"))
            if match is None:
                continue
            ended = time.mktime(time.strptime(match["at"][:19], "%Y-%m-%d %H:%M:%S")) + int(match["at"][20:]) / 1000
            if match["ok"]:
                self.done[match["id"]] = (ended, float(match["runtime"]))
            else:
                self.failed[match["id"]] = match["name"]


# --- the probes ------------------------------------------------------------------------------------------


@dataclass
class Probe:
    tenant_id: int
    account_id: int
    queued_at: dt.datetime | None = None
    batch_depth: int = 0


class Prober(threading.Thread):
    """Queues the interactive probes, one every ``gap`` seconds, on the default queue."""

    def __init__(self, probes: list[Probe], gap: float) -> None:
        super().__init__(daemon=True)
        self.probes = probes
        self.gap = gap

    def run(self) -> None:
        with app.connection_for_read() as broker:
            channel = broker.default_channel
            for probe in self.probes:
                probe.batch_depth = queue_depth(channel, BATCH_QUEUE)
                probe.queued_at = timezone.now()
                app.signature("scoring.rescore_account", args=[probe.tenant_id, probe.account_id]).apply_async()
                time.sleep(self.gap)


def probes_for(tenants: list[Tenant], wanted: dict[str, Shape], count: int, seed: int) -> list[Probe]:
    """``count`` probes, each an account of a different small tenant (as far as there are)."""
    rng = random.Random(seed + 7)
    small = [tenant for tenant in tenants if wanted[tenant.slug].size == "small"] or tenants
    order = rng.sample(small, len(small))
    probes = []
    for k in range(count):
        tenant = order[k % len(order)]
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM accounts_account WHERE tenant_id = %s ORDER BY id OFFSET %s LIMIT 1",
                [tenant.pk, rng.randrange(20)],
            )
            probes.append(Probe(tenant.pk, cursor.fetchone()[0]))
    return probes


def probe_waits(probes: list[Probe]) -> list[tuple[Probe, float | None, float | None]]:
    """(probe, wait to start, time to done) in seconds, from the ScoreRun each probe wrote."""
    results = []
    for probe in probes:
        tenant = Tenant.objects.get(pk=probe.tenant_id)
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute(
                "SELECT created_at, finished_at FROM scoring_scorerun WHERE tenant_id = %s AND account_id = %s"
                " AND trigger = 'event' AND created_at >= %s ORDER BY created_at LIMIT 1",
                [tenant.pk, probe.account_id, probe.queued_at],
            )
            row = cursor.fetchone()
        if row is None:
            results.append((probe, None, None))
        else:
            started, finished = row
            done = (finished - probe.queued_at).total_seconds() if finished else None
            results.append((probe, (started - probe.queued_at).total_seconds(), done))
    return results


def wait_for_probes(probes: list[Probe], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(wait is not None for _probe, wait, _done in probe_waits(probes)):
            return
        time.sleep(0.5)


# --- the checks ------------------------------------------------------------------------------------------


RUN_COUNTS_SQL = """
SELECT 'score', count(*), count(*) FILTER (WHERE status = 'done')
FROM scoring_scorerun WHERE tenant_id = %(t)s AND trigger = 'schedule' AND created_at >= %(since)s
UNION ALL
SELECT kind, count(*), count(*) FILTER (WHERE status = 'done')
FROM risk_riskrun WHERE tenant_id = %(t)s AND trigger = 'schedule' AND created_at >= %(since)s GROUP BY kind
"""


def runs_per_tenant(tenants: list[Tenant], since: dt.datetime) -> dict[int, dict[str, tuple[int, int]]]:
    """Per tenant, the scheduled runs made since the night began, by kind: (runs, of them done)."""
    counts = {}
    for tenant in tenants:
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute(RUN_COUNTS_SQL, {"t": tenant.pk, "since": since})
            counts[tenant.pk] = {kind: (runs, done) for kind, runs, done in cursor.fetchall()}
    return counts


def ratio(figure: float, target: float) -> str:
    return f"{figure / target:.2f}x" if target else "-"


# --- main ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--replace", action="store_true", help="rebuild the bench's tenants")
    parser.add_argument("--night", type=dt.date.fromisoformat, default=None, help="the local night (default today)")
    parser.add_argument("--minute-seconds", type=float, default=0.2, help="real seconds per simulated minute")
    parser.add_argument("--probes", type=int, default=10, help="interactive tasks queued mid-night")
    parser.add_argument("--probe-gap", type=float, default=1.0, help="seconds between two probes")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the batch to drain")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the workers on the way out

    tenants = build(args.tenants, args.seed, args.replace)
    wanted = shapes(args.tenants, args.seed)
    sizes = Counter(wanted[t.slug].size for t in tenants)
    zones = Counter(t.time_zone for t in tenants)
    print(
        f"{len(tenants):,} tenants: {sizes['small']:,} small, {sizes['medium']:,} medium, {sizes['large']:,} large;"
        f" {', '.join(f'{zone} {n:,}' for zone, n in zones.most_common())}",
        flush=True,
    )
    night = plan(args.night or timezone.localdate(), [t.pk for t in tenants])
    forget_slots(night)
    scores_expected = sum(1 for task, _t, _s in night.expected if task == SCORE_TASK)
    print(
        f"night of {night.date}: {len(night.expected):,} jobs over {night.minutes:,} minutes"
        f" ({night.first:%Y-%m-%d %H:%M} to {night.last:%Y-%m-%d %H:%M} UTC), one minute every"
        f" {args.minute_seconds} s; batch queue {BATCH_QUEUE}, interactive queue {INTERACTIVE_QUEUE}",
        flush=True,
    )
    probes = probes_for(tenants, wanted, args.probes, args.seed)

    workers = [Worker("interactive", INTERACTIVE_QUEUE, 2), Worker("batch", BATCH_QUEUE, 1)]
    sampler = Sampler(workers)
    purge(INTERACTIVE_QUEUE, BATCH_QUEUE)
    try:
        started = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        print(f"workers ready in {time.monotonic() - started:.1f} s", flush=True)
        sampler.start()
        batch_log = BatchLog(workers[1].log)
        since = dt.datetime.now(dt.UTC)
        queued: list[tuple[str, int, str, str]] = []
        prober: Prober | None = None
        first_queued = None
        clock = time.monotonic()
        for k in range(night.minutes):
            minute = night.first + dt.timedelta(minutes=k)
            jobs = dispatch(minute, night.tenants)
            if jobs and first_queued is None:
                first_queued = time.time()
            queued += jobs
            if prober is None and sum(1 for job in queued if job[0] == SCORE_TASK) * 2 >= scores_expected:
                prober = Prober(probes, args.probe_gap)
                prober.start()
                print(f"probes start at {minute:%H:%M} UTC, {len(queued):,} jobs queued", flush=True)
            clock += args.minute_seconds
            time.sleep(max(0.0, clock - time.monotonic()))
        dispatched_at = time.time()
        print(
            f"dispatch done: {len(queued):,} jobs in {dispatched_at - (first_queued or dispatched_at):.1f} s",
            flush=True,
        )
        ids = {job[3]: job for job in queued}
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            batch_log.read()
            if all(task_id in batch_log.done or task_id in batch_log.failed for task_id in ids):
                break
            if workers[1].process.poll() is not None:
                raise RuntimeError(f"the batch worker exited; see {workers[1].log}")
            time.sleep(0.5)
        if prober is not None:
            prober.join()
            wait_for_probes(probes, timeout=60)
        sampler.halt.set()
        sampler.join()
    finally:
        for worker in workers:
            worker.stop()
        purge(INTERACTIVE_QUEUE, BATCH_QUEUE)
    return report(
        args, night, tenants, wanted, queued, batch_log, first_queued, dispatched_at, probes, since, workers, sampler
    )


def report(
    args: argparse.Namespace,
    night: Night,
    tenants: list[Tenant],
    wanted: dict[str, Shape],
    queued: list[tuple[str, int, str, str]],
    batch_log: BatchLog,
    first_queued: float | None,
    dispatched_at: float,
    probes: list[Probe],
    since: dt.datetime,
    workers: list[Worker],
    sampler: Sampler,
) -> int:
    ids = {job[3]: job for job in queued}
    ended = [batch_log.done[task_id][0] for task_id in ids if task_id in batch_log.done]
    first = first_queued or dispatched_at
    last = max(ended, default=dispatched_at)
    print()
    print(
        f"the night: {len(queued):,} batch tasks, first queued to last done {last - first:.1f} s"
        f" (dispatch {dispatched_at - first:.1f} s, the queue drained {max(0.0, last - dispatched_at):.1f} s after)"
    )
    # The batch work against each zone's real night: a batch worker keeps up when it is well under 1.
    zone_of = {t.pk: t.time_zone for t in tenants}
    size_of = {t.pk: wanted[t.slug].size for t in tenants}
    work: dict[str, float] = defaultdict(float)
    by_size: dict[str, float] = defaultdict(float)
    by_task: dict[str, float] = defaultdict(float)
    window: dict[str, list[dt.datetime]] = defaultdict(list)
    for task_id, (task, tenant_id, _slot, _id) in ids.items():
        runtime = batch_log.done.get(task_id, (0.0, 0.0))[1]
        work[zone_of[tenant_id]] += runtime
        by_size[size_of[tenant_id]] += runtime
        by_task[task] += runtime
    for (_task, tenant_id, _slot), at in night.expected.items():
        window[zone_of[tenant_id]].append(at)
    total_work = sum(work.values())
    print(
        f"  batch work (the tasks' run times summed): {total_work:.1f} s; against each time zone's real night"
        " (one batch worker keeps up when well under 1x):"
    )
    for zone, seconds in sorted(work.items(), key=lambda item: -item[1]):
        span = (max(window[zone]) - min(window[zone])).total_seconds() + 60
        tenants_in = sum(1 for t in tenants if t.time_zone == zone)
        print(
            f"    {zone:18} {tenants_in:5,} tenants  {seconds:8.1f} s of work   real window {span / 60:4.0f} min"
            f"   ratio {seconds / span:.3f}x"
        )
    sizes = Counter(size_of.values())
    print(
        "  per tenant: "
        + ", ".join(
            f"{size} {by_size[size] / sizes[size]:.2f} s" for size in ("small", "medium", "large") if sizes[size]
        )
    )
    print(
        "  per job: "
        + ", ".join(f"{task} {seconds:.1f} s" for task, seconds in sorted(by_task.items(), key=lambda item: -item[1]))
    )
    print(f"  deepest batch queue: {sampler.deepest:,} tasks")

    results = probe_waits(probes)
    waits = [wait for _probe, wait, _done in results if wait is not None]
    dones = [done for _probe, _wait, done in results if done is not None]
    depths = [probe.batch_depth for probe in probes if probe.queued_at]
    if waits:
        print(
            f"interactive tasks ({len(waits)} of {len(probes)} rescores of an account of a small tenant, queued while"
            f" {min(depths):,}-{max(depths):,} batch tasks waited):"
        )
        print(
            f"  longest wait {max(waits):.2f} s   target {WAIT_TARGET:.0f} s   ratio {ratio(max(waits), WAIT_TARGET)}"
        )
        print(
            f"  median wait  {statistics.median(waits):.2f} s; queued to done: median {statistics.median(dones):.2f} s"
        )
    for worker in workers:
        print(f"peak memory, {worker.name} worker (concurrency {worker.concurrency}): {worker.memory()}")

    counts = runs_per_tenant(tenants, since)
    dispatched = Counter((task, tenant, slot) for task, tenant, slot, _id in queued)
    failed = Counter(batch_log.failed.values())
    checks = {
        f"the dispatcher queued each of the night's {len(night.expected):,} jobs once": dispatched
        == Counter(night.expected.keys()),
        f"every batch task succeeded ({len(ids) - len(batch_log.failed):,} of {len(ids):,}"
        + (f"; failed: {dict(failed)}" if failed else "")
        + ")": all(task_id in batch_log.done for task_id in ids),
        **{
            f"every tenant exactly one scheduled {label} run, done": all(c.get(kind) == (1, 1) for c in counts.values())
            for kind, label in (("score", "score"), ("concentration", "concentration"), ("health", "health"))
        },
        f"every interactive task started within {WAIT_TARGET:.0f} s": len(waits) == len(probes)
        and max(waits, default=0) < WAIT_TARGET,
    }
    one_each = {"score": (1, 1), "concentration": (1, 1), "health": (1, 1)}
    wrong = [t.slug for t in tenants if {k: v for k, v in counts[t.pk].items() if k in one_each} != one_each]
    for name, ok in checks.items():
        print(f"{'OK  ' if ok else 'FAIL'}  {name}")
    if wrong:
        print(f"  tenants without exactly one of each run: {', '.join(wrong[:10])}{' ...' if len(wrong) > 10 else ''}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
