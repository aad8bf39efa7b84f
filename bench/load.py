"""Load test: N concurrent clients, M requests, against `visitator serve --workers 2`.

    python bench/load.py [--clients 32] [--requests 2000] [--workers 2] [--backend sqlite,postgresql] [--pg-url URL]

For each backend it starts `visitator serve --workers W` on a free loopback
port with a fresh database (SQLite in a temporary directory; PostgreSQL in a
fresh database at --pg-url's server, or in a throwaway cluster started with
Debian's initdb/pg_ctl when --pg-url is not given), sends M POST
/v1/vurderinger from N keep-alive clients, and prints decisions/s and
p50/p95/p99 latency. Afterwards it checks that every 201 has exactly one
record in the log, byte for byte, that the log holds nothing else, and that
`visitator log verify` passes. Exit 1 if any check fails.
"""
from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rawclient import RawConnection  # noqa: E402

def _bench_service():  # bench/service.py, loaded by path so it never shadows the `service` package
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_service", Path(__file__).resolve().parent / "service.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_bs = _bench_service()
screening, percentile, free_port = _bs.screening, _bs.percentile, _bs.free_port

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, env=env, cwd=REPO)


def throwaway_cluster(tmp: Path) -> tuple[str, callable]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not bins:
        raise SystemExit("PostgreSQL is not installed (apt-get install -y postgresql) and no --pg-url given")
    bindir = Path(bins[0]).parent
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="visitator-load-pg-"))  # its own 0700 directory, owned by postgres
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    subprocess.run([*as_pg, str(bindir / "initdb"), "-D", str(base / "data"), "-U", "postgres", "-A", "trust", "--no-sync"],
                   check=True, capture_output=True)
    subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(base / "data"), "-l", str(base / "log"), "-w", "-o",
                    f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200", "start"],
                   check=True, capture_output=True)

    def stop() -> None:
        subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(base / "data"), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


def fresh_pg_database(server_url: str) -> str:
    import psycopg

    name = "visitator_load_" + uuid.uuid4().hex[:8]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server_url)
    return parts._replace(path="/" + name).geturl()


async def drive(port: int, token: str, total: int, clients: int) -> tuple[float, list[float], list[tuple[int, bytes]]]:
    bodies = [json.dumps(screening(i)).encode() for i in range(total)]
    latencies: list[float] = []
    results: list[tuple[int, bytes]] = []
    counter = iter(range(total))
    conns = [await RawConnection(port, token).open() for _ in range(clients)]

    async def worker(conn: RawConnection) -> None:
        for i in counter:
            t0 = time.perf_counter()
            status, body = await conn.post("/v1/vurderinger", bodies[i])
            latencies.append(time.perf_counter() - t0)
            results.append((status, body))

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for c in conns:
        await c.close()
    return elapsed, latencies, results


def stored_log(db: str) -> list[tuple[str, str]]:
    if db.startswith("sqlite:///"):
        conn = sqlite3.connect(db[len("sqlite:///"):])
        rows = conn.execute("SELECT id, svar FROM vurderinger").fetchall()
        conn.close()
        return rows
    import psycopg

    with psycopg.connect(db) as conn:
        return conn.execute("SELECT id, svar FROM vurderinger").fetchall()


def run_backend(backend: str, db: str, env: dict, args: argparse.Namespace, tmp: Path) -> bool:
    token = cli("token", "create", "--role", "visitator", "--db", db, env=env).stdout.strip()
    port = free_port()
    log = open(tmp / f"server-{backend}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--db", db,
                             "--workers", str(args.workers), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=REPO)
    try:
        deadline = time.time() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                print(f"{backend}: the server did not start", file=sys.stderr)
                return False
            time.sleep(0.2)
        asyncio.run(drive(port, token, 40, 4))  # warm-up (both workers)
        elapsed, lat, results = asyncio.run(drive(port, token, args.requests, args.clients))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    created = [json.loads(body)["id"] for status, body in results if status == 201]
    bodies = {json.loads(body)["id"]: body.decode() for status, body in results if status == 201}
    non201 = len(results) - len(created)
    print(f"{backend:>10} {args.clients:>7} {args.requests:>8} {args.requests / elapsed:>11.0f} "
          f"{percentile(lat, 0.50) * 1000:>7.1f} {percentile(lat, 0.95) * 1000:>7.1f} {percentile(lat, 0.99) * 1000:>7.1f} {non201:>7}")
    rows = stored_log(db)
    counts: dict[str, int] = {}
    for id_, _ in rows:
        counts[id_] = counts.get(id_, 0) + 1
    stored = dict(rows)
    ok = non201 == 0
    missing = [i for i in created if counts.get(i) != 1 or stored.get(i) != bodies[i]]
    extra = len(rows) - len(created) - 40  # minus the warm-up
    verdict = cli("log", "verify", "--db", db, env=env)
    print(f"{'':>10} every 201 logged exactly once: {'yes' if not missing else f'NO ({len(missing)} missing/altered)'}; "
          f"records not answered 201: {extra}; {(verdict.stdout or verdict.stderr).strip()}")
    return ok and not missing and extra == 0 and verdict.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL server to create a fresh database on")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="visitator-load-"))
    env = dict(os.environ, VISITATOR_DATA=str(tmp), VISITATOR_HMAC_KEY=os.environ.get("VISITATOR_HMAC_KEY", "l" * 64))
    stop = None
    ok = True
    print(f"{os.cpu_count()} CPUs; visitator serve --workers {args.workers}")
    print(f"{'backend':>10} {'clients':>7} {'requests':>8} {'decisions/s':>11} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'non-201':>7}")
    try:
        for backend in args.backend.split(","):
            if backend == "sqlite":
                db = f"sqlite:///{tmp / 'load.db'}"
            else:
                server = args.pg_url
                if server is None:
                    server, stop = throwaway_cluster(tmp)
                db = fresh_pg_database(server)
            ok = run_backend(backend, db, env, args, tmp) and ok
    finally:
        if stop is not None:
            stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
