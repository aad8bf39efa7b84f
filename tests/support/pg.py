"""A throwaway PostgreSQL cluster on loopback for the tests and bench/log.py (no tests here).

initdb into a temporary directory, postgres on a free port (run as the postgres user when root),
stopped at exit. Without PostgreSQL binaries the tests skip locally and FAIL when CI is set
(`pg_url()` and the `pg_database` fixture say so)."""
from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import pytest

_cluster: dict[str, Any] = {}


class Missing(RuntimeError):
    """No PostgreSQL binaries on this machine."""


def pg_bin() -> Optional[Path]:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    result = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {result.stdout}{result.stderr}")


def cluster(fsync: bool = False) -> dict[str, Any]:
    """{'port', 'dir', 'bin', 'data', 'opts'} of the running cluster (started on first use)."""
    if _cluster:
        return _cluster
    bindir = pg_bin()
    if bindir is None:
        raise Missing("PostgreSQL er ikke installeret (apt-get install -y postgresql)")
    base = Path(tempfile.mkdtemp(prefix="visitator-log-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync={'on' if fsync else 'off'} -c max_connections=200"
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o", opts, "start"])
    _cluster.update(port=port, dir=base, bin=bindir, data=data, opts=opts)

    def stop() -> None:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)
    return _cluster


def admin_url(db: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{cluster()['port']}/{db}"


def create_database(template: Optional[str] = None) -> str:
    """A new empty database (or a copy of `template`, a database name); returns its URL."""
    import psycopg

    name = "v_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return admin_url(name)


def stop_cluster() -> None:
    """A fast stop: every connection is cut."""
    c = cluster()
    _run([str(c["bin"] / "pg_ctl"), "-D", str(c["data"]), "-m", "fast", "-w", "stop"])


def start_cluster() -> None:
    c = cluster()
    _run([str(c["bin"] / "pg_ctl"), "-D", str(c["data"]), "-l", str(c["dir"] / "log"), "-w", "-o", str(c["opts"]),
          "start"])


def restart_cluster(pause: float = 0.0) -> None:
    """A fast stop (every connection is cut) and a start, `pause` seconds apart."""
    stop_cluster()
    if pause:
        time.sleep(pause)
    start_cluster()


def pg_url() -> str:
    """A new empty database on the throwaway cluster; skips without PostgreSQL, FAILS when CI is set."""
    try:
        cluster()
    except Missing as error:
        if os.environ.get("CI"):
            pytest.fail(f"{error} og CI er sat", pytrace=False)
        pytest.skip(str(error))
    return create_database()


@pytest.fixture
def pg_database() -> str:
    """The URL of a new empty PostgreSQL database (see pg_url)."""
    return pg_url()
