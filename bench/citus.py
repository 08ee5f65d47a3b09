"""The same data on plain PostgreSQL and on a Citus cluster: results compared, benches side by side.

    .venv/bin/python bench/citus.py [--accounts 10000] [--orders 500000] [--repeat 3]

Starts a fresh cluster of this machine (kam/citus_cluster.py: a coordinator and two
workers; Citus is built once from its source), migrates it, and builds two tenants on the
coordinator with bench/generate.py and bench/risk.py while every table is still a plain
PostgreSQL table there. Then, on that plain database:

- bench/score.py and bench/risk.py (``--repeat`` runs each, after a warm-up);
- the fingerprints of a full score run and a full risk run of today (rows and an MD5 of
  every snapshot, assessment, alert and account's current figures, as bench/chaos_worker.py
  takes them), made in a transaction that is rolled back, so that both sides start alike.

Then ``manage.py citus_distribute`` moves the database onto the cluster, as an operator
would (docs/operations.md), and the same three run again against the coordinator as the
application role. Prints both outputs side by side and whether the fingerprints agree
(exit status 1 when they do not); stops the cluster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

SCORE_SLUG = "bench-citus"
RISK_SLUG = "bench-citus-risk"


def fingerprints(slug: str, now: dt.datetime) -> dict[str, list]:
    """A full score run and a full risk run of today, fingerprinted, then rolled back.

    Both sides run at the same moment ``now``: health counts a need's deadline only once it
    has passed, and the generated needs have deadlines every few minutes, so two runs some
    minutes apart would rightly differ.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")
    from unittest import mock

    import django

    django.setup()
    from django.db import transaction

    from bench.chaos_worker import fingerprint
    from kam.models import Tenant
    from kam.tenancy import tenant_context, tenant_today
    from risk import services as risk_services
    from risk.models import RunKind
    from scoring import services as scoring_services
    from scoring.models import RunTrigger

    tenant = Tenant.objects.get(slug=slug)
    as_of = tenant_today(tenant)
    with mock.patch("django.utils.timezone.now", return_value=now), tenant_context(tenant), transaction.atomic():
        score_run = scoring_services.score_run_create(tenant, trigger=RunTrigger.MANUAL, as_of=as_of)
        score_run = scoring_services.score_run_execute(tenant, run=score_run)
        risk_run = risk_services.risk_run_create(tenant, kind=RunKind.FULL, as_of=as_of)
        risk_run = risk_services.risk_run_execute(tenant, run=risk_run)
        result = {name: list(value) for name, value in fingerprint(tenant, as_of, score_run.pk).items()}
        transaction.set_rollback(True)
    if (score_run.status, risk_run.status) != ("done", "done"):
        raise SystemExit(f"runs did not finish: score {score_run.error}, risk {risk_run.error}")
    return result


def run(command: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run a command of this checkout; its output and how long it took."""
    clock = time.monotonic()
    done = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - clock
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"failed: {' '.join(command)}")
    return done.stdout, seconds


def side_by_side(plain: str, citus: str) -> str:
    """Line by line: a line both outputs share once, differing lines as a pair."""
    lines = []
    for left, right in zip(plain.splitlines(), citus.splitlines(), strict=False):
        if left == right:
            lines.append(f"  {left}")
        else:
            lines.append(f"  plain │ {left.strip()}")
            lines.append(f"  Citus │ {right.strip()}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fingerprint", metavar="SLUG", help=argparse.SUPPRESS)
    parser.add_argument("--now", type=dt.datetime.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fingerprint:
        print(json.dumps(fingerprints(args.fingerprint, args.now)))
        return 0

    from kam import citus_cluster

    python = sys.executable
    sizes = [
        f"--accounts={args.accounts}",
        f"--orders={args.orders}",
        f"--invoices={args.orders // 10}",
        f"--interactions={args.accounts * 2}",
    ]
    repeat = f"--repeat={args.repeat}"
    try:
        citus_cluster.ensure_installed()
    except citus_cluster.CitusUnavailable as exc:
        print(f"Citus skipped: {exc}")
        return 0
    clock = time.monotonic()
    with citus_cluster.running() as cluster:
        print(f"cluster started in {time.monotonic() - clock:.1f} s")
        env = {**os.environ, **cluster.environment()}
        run([python, "manage.py", "migrate", "--noinput", "--verbosity=0"], env)
        _, seconds = run(
            [python, "bench/generate.py", f"--slug={SCORE_SLUG}", *sizes, f"--contacts={args.accounts * 3}"], env
        )
        print(f"{SCORE_SLUG}: {args.accounts:,} accounts, {args.orders:,} orders generated in {seconds:.1f} s")
        now = dt.datetime.now(dt.UTC).isoformat()  # the moment both sides' fingerprints run at
        outputs: dict[str, dict[str, str]] = {}
        prints: dict[str, dict] = {}
        for side in ("plain", "Citus"):
            if side == "Citus":
                output, seconds = run([python, "manage.py", "citus_distribute"], env)
                print(f"citus_distribute moved the database onto the cluster in {seconds:.1f} s")
                # The shards are new tables: their statistics, as docs/operations.md says to do.
                run(
                    [
                        python,
                        "-c",
                        "import bench.generate as g; from kam.rls import tenant_tables as t; g.analyze(t())",
                    ],
                    env,
                )
            outputs[side] = {
                # The risk bench builds its tenant on the plain side and keeps it (--keep).
                "risk": run([python, "bench/risk.py", f"--slug={RISK_SLUG}", *sizes, repeat, "--keep"], env)[0],
                "score": run([python, "bench/score.py", f"--slug={SCORE_SLUG}", f"--small={SCORE_SLUG}", repeat], env)[
                    0
                ],
            }
            prints[side] = json.loads(
                run([python, "bench/citus.py", f"--fingerprint={SCORE_SLUG}", f"--now={now}"], env)[0]
            )
    for name in ("score", "risk"):
        print(f"\nbench/{name}.py, plain PostgreSQL and Citus (coordinator and two workers, same machine):")
        print(side_by_side(outputs["plain"][name], outputs["Citus"][name]))
    print("\nResults of a full score run and a full risk run (rows, MD5):")
    same = True
    for name, plain in prints["plain"].items():
        citus = prints["Citus"][name]
        same &= plain == citus
        print(f"  {name:<32} {plain[0]:>7,} rows  {'identical' if plain == citus else f'DIFFER: {plain} {citus}'}")
    print("identical on both" if same else "THE RESULTS DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
