"""`make bench`: every bench in one sitting, their figures written into docs/performance.md.

    .venv/bin/python bench/report.py [--scale large|small] [--only score,risk,...] [--dry-run]

Builds the bench tenants when they are missing (bench/generate.py: DESIGN section 9's large
tenant, a small one, a tenant for the worker chaos), then runs each bench below in turn,
against the development database that `make setup` starts, and replaces the part of
docs/performance.md between its two markers with: the machine (cores, memory, PostgreSQL),
the date, the commit, and each bench's own output, which prints every figure beside its
lower bound, its peer or its target and their ratio. A bench that fails is reported as
failed, with its last lines, and the others still run. Nothing in the README or docs is
copied by hand from a sitting: they link docs/performance.md.

``--scale small`` runs the same at a size that takes minutes rather than the better part of
an hour, to try the command; its page says so in its heading.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "performance.md"
BEGIN = "<!-- make bench: figures begin -->"
END = "<!-- make bench: figures end -->"

SIZES = {
    "large": {
        "accounts": 100_000,
        "orders": 5_000_000,
        "needs": 1_000_000,
        "centres": 300_000,
        "opportunities": 200_000,
        "small": (1_000, 50_000),
        "chaos": (5_000, 200_000),
    },
    "small": {
        "accounts": 10_000,
        "orders": 300_000,
        "needs": 100_000,
        "centres": 30_000,
        "opportunities": 20_000,
        "small": (1_000, 50_000),
        "chaos": (2_000, 50_000),
    },
}


@dataclass(frozen=True)
class Bench:
    name: str
    what: str
    command: list[str]


def benches(scale: str) -> list[Bench]:
    size = SIZES[scale]
    rows = "1000000" if scale == "large" else "100000"
    nightly_tenants = 1000 if scale == "large" else 50
    return [
        Bench("score", "Score runs against their lower bound", ["bench/score.py", "--slug=bench-large"]),
        Bench("risk", "Risk jobs against their lower bounds", ["bench/risk.py", "--slug=bench-large", "--keep"]),
        Bench("pages", "Pages, server time", ["bench/pages.py", "--slug=bench-large", f"--import-rows={rows}"]),
        Bench("service", "Service pages over the needs, server time", ["bench/service.py", "--slug=bench-large"]),
        Bench(
            "growth",
            "Growth: share of wallet and potential against their lower bound, and its pages",
            ["bench/growth.py", "--slug=bench-large"],
        ),
        Bench(
            "portfolio",
            "Portfolios of 500 people against their lower bound, and their pages",
            ["bench/portfolio.py", "--slug=bench-large"],
        ),
        Bench(
            "classify",
            "Classification of incoming needs in a batch (rules, then the text model)",
            ["bench/classify.py", "--needs=10000"],
        ),
        Bench("api", "The API under load, with CPU per request", ["bench/api.py", "--slug=bench-large"]),
        Bench("import", "Import of orders from CSV", ["bench/import_orders.py", f"--rows={rows}", "--rerun"]),
        Bench("rls", "The cost of the tenant context", ["bench/rls.py"]),
        Bench(
            "nightly",
            f"One night of the nightly cycle at {nightly_tenants:,} tenants, with the interactive tasks queued mid-night",
            ["bench/nightly.py", f"--tenants={nightly_tenants}"]
            + ([] if scale == "large" else ["--minute-seconds=0.1"]),
        ),
        Bench(
            "chaos",
            "Worker killed during runs: the results against an undisturbed run",
            ["bench/chaos_worker.py", "--slug=bench-chaos", "--kills=3"],
        ),
        Bench(
            "citus",
            "Plain PostgreSQL and a Citus cluster side by side",
            ["bench/citus.py", f"--accounts={size['accounts'] // 10}", f"--orders={size['orders'] // 10}"],
        ),
    ]


def tenants(scale: str) -> list[list[str]]:
    size = SIZES[scale]
    small_accounts, small_orders = size["small"]
    chaos_accounts, chaos_orders = size["chaos"]
    return [
        ["--slug=bench-large", f"--accounts={size['accounts']}", f"--orders={size['orders']}"]
        + [f"--needs={size['needs']}", f"--centres={size['centres']}", f"--opportunities={size['opportunities']}"]
        + ([] if scale == "large" else ["--invoices=30000", "--contacts=30000", "--interactions=20000"]),
        ["--slug=bench-small", f"--accounts={small_accounts}", f"--orders={small_orders}"]
        + ["--invoices=5000", "--contacts=3000", "--interactions=2000", "--needs=0", "--offerings=0", "--people=0"],
        ["--slug=bench-chaos", f"--accounts={chaos_accounts}", f"--orders={chaos_orders}"]
        + ["--invoices=20000", "--contacts=10000", "--interactions=10000", "--needs=0", "--offerings=0", "--people=0"],
    ]


def run(args: list[str]) -> tuple[int, str, float]:
    clock = time.monotonic()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    return done.returncode, (done.stdout + done.stderr).strip(), time.monotonic() - clock


def machine() -> list[str]:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    code, postgres, _ = run(["-c", _POSTGRES_VERSION])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return [
        f"- machine: {os.cpu_count()} cores, {memory} of memory, {platform.system()} {platform.release()}",
        f"- PostgreSQL: {postgres if code == 0 else 'unknown'}",
        f"- Python: {platform.python_version()}",
        f"- commit: {commit.stdout.strip() or '?'}{' with uncommitted changes' if dirty else ''}",
        f"- date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
    ]


_POSTGRES_VERSION = (
    "import os, sys; sys.path.insert(0, '.'); os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'kam.settings');"
    " import django; django.setup(); from django.db import connection;"
    " c = connection.cursor(); c.execute('SHOW server_version'); print(c.fetchone()[0])"
)


def write_page(section: str) -> None:
    text = PAGE.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    block = f"{BEGIN}\n{section.rstrip()}\n{END}"
    text = pattern.sub(lambda _match: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
    PAGE.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SIZES), default="large")
    parser.add_argument("--only", help="comma-separated bench names (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print the page's section instead of writing it")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None

    for tenant in tenants(args.scale):
        code, output, seconds = run(["bench/generate.py", *tenant])
        print(f"generate {tenant[0]}: {output.splitlines()[-1] if output else ''} ({seconds:.0f} s)", flush=True)
        if code:
            print(output, file=sys.stderr)
            return code
    heading = "Figures of the last `make bench`" + (
        " (`--scale small`: not the design's size)" if args.scale == "small" else ""
    )
    lines = [f"## {heading}", "", *machine(), ""]
    failed = 0
    for bench in benches(args.scale):
        if wanted is not None and bench.name not in wanted:
            continue
        print(f"{bench.name}: {' '.join(bench.command)} ...", flush=True)
        code, output, seconds = run(bench.command)
        failed += code != 0
        status = f"{seconds:.0f} s" + (f", FAILED (exit {code})" if code else "")
        lines += [f"### {bench.what}", "", f"`{' '.join(bench.command)}` ({status})", "", "```", output, "```", ""]
        print(f"{bench.name}: {status}", flush=True)
    section = "\n".join(lines)
    if args.dry_run:
        print(section)
    else:
        write_page(section)
        print(f"wrote {PAGE.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
