"""A throwaway PostgreSQL cluster on loopback for the PostgreSQL tests (no tests here).

Started once per test process (initdb + pg_ctl as the postgres user when run
as root), stopped at exit. Without PostgreSQL binaries the tests skip locally
and FAIL when CI is set."""
from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Optional

import pytest

from test_service_common import free_port

_cluster: dict[str, object] = {}


def pg_bin() -> Optional[Path]:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    result = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {result.stdout}{result.stderr}")


def cluster() -> dict[str, object]:
    """{'port', 'dir', 'bin'} of the running cluster (started on first use)."""
    if _cluster:
        return _cluster
    bindir = pg_bin()
    if bindir is None:
        message = "PostgreSQL er ikke installeret (apt-get install -y postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message + " og CI er sat", pytrace=False)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="visitator-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
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
    """A new empty database (or a copy of `template`); returns its URL."""
    import psycopg

    name = "v_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return admin_url(name)


def restart_cluster(pause: float = 0.5) -> None:
    """Stop (fast: every connection is cut) and start again; the server log keeps pg_ctl's pipes free."""
    import time

    stop_cluster()
    time.sleep(pause)
    start_cluster()


def stop_cluster() -> None:
    c = cluster()
    _run([str(c["bin"] / "pg_ctl"), "-D", str(c["data"]), "-m", "fast", "-w", "stop"])


def start_cluster() -> None:
    c = cluster()
    _run([str(c["bin"] / "pg_ctl"), "-D", str(c["data"]), "-l", str(c["dir"] / "log"), "-w", "-o", str(c["opts"]), "start"])
