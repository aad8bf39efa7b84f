"""Load test: N concurrent clients, M requests, against `visitator serve --workers 2`, with the
tokens of several municipalities in parallel on one database.

    python bench/load.py [--clients 32] [--requests 2000] [--workers 2] [--backend sqlite,postgresql] [--pg-url URL]
                         [--kommune herning,silkeborg,slagelse,thisted]

For each backend it creates one visitator token per municipality in --kommune
(default: the four shipped municipalities), starts one `visitator serve
--workers W --kommune ...` serving all of them on a free loopback port with a
fresh database (SQLite in a temporary directory; PostgreSQL in a fresh database
at --pg-url's server, or in the tests' throwaway cluster (tests/support/pg.py,
fsync on) when --pg-url is not given), and sends M POST /v1/vurderinger from N
keep-alive clients, the clients spread evenly over the municipalities' tokens.
It prints decisions/s and p50/p95/p99 latency, and per municipality how many
decisions it made. Afterwards it checks that every 201 has exactly one record
in the log, byte for byte, stored under the token's municipality and naming
that municipality's layer, that the log holds nothing else, and that
`visitator log verify --kommune K` finds each municipality's chain intact.
Exit 1 if any check fails.
"""
from __future__ import annotations

import argparse
import asyncio
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


def throwaway_cluster() -> str:
    """The tests' throwaway cluster (tests/support/pg.py), with fsync on as in production; stopped at exit."""
    sys.path.append(str(REPO / "tests"))
    from support.pg import Missing, admin_url, cluster

    try:
        cluster(fsync=True)
    except Missing as error:
        raise SystemExit(f"{error}; or give --pg-url") from None
    return admin_url()


def fresh_pg_database(server_url: str) -> str:
    import psycopg

    name = "visitator_load_" + uuid.uuid4().hex[:8]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server_url)
    return parts._replace(path="/" + name).geturl()


async def drive(port: int, tokens: dict[str, str], total: int, clients: int) -> tuple[float, list[float], list[tuple[str, int, bytes]]]:
    """`clients` connections, spread round-robin over the municipalities' tokens; (seconds, latencies, (kommune, status, body))."""
    bodies = [json.dumps(screening(i)).encode() for i in range(total)]
    latencies: list[float] = []
    results: list[tuple[str, int, bytes]] = []
    counter = iter(range(total))
    kommuner = list(tokens)
    owners = [kommuner[c % len(kommuner)] for c in range(max(clients, len(kommuner)))]
    conns = [(k, await RawConnection(port, tokens[k]).open()) for k in owners]

    async def worker(kommune: str, conn: RawConnection) -> None:
        for i in counter:
            t0 = time.perf_counter()
            status, body = await conn.post("/v1/vurderinger", bodies[i])
            latencies.append(time.perf_counter() - t0)
            results.append((kommune, status, body))

    started = time.perf_counter()
    await asyncio.gather(*(worker(k, c) for k, c in conns))
    elapsed = time.perf_counter() - started
    for _, c in conns:
        await c.close()
    return elapsed, latencies, results


def stored_log(db: str) -> list[tuple[str, str, str]]:
    """(id, kommune, svar) of every decision in the log."""
    if db.startswith("sqlite:///"):
        conn = sqlite3.connect(db[len("sqlite:///"):])
        rows = conn.execute("SELECT id, kommune, svar FROM vurderinger").fetchall()
        conn.close()
        return rows
    import psycopg

    with psycopg.connect(db) as conn:
        return conn.execute("SELECT id, kommune, svar FROM vurderinger").fetchall()


def start_server(backend: str, db: str, env: dict, args: argparse.Namespace, tmp: Path) -> tuple[subprocess.Popen, int, object]:
    port = free_port()
    log = open(tmp / f"server-{backend}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--db", db, "--kommune", args.kommune,
                             "--workers", str(args.workers), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=REPO)
    deadline = time.time() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, port, log
        except httpx.HTTPError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.terminate()
            log.close()
            raise RuntimeError(f"{backend}: the server did not start (see {tmp / f'server-{backend}.log'})")
        time.sleep(0.2)


def check_log(db: str, env: dict, kommuner: list[str], results: list[tuple[str, int, bytes]], warmup: int) -> tuple[bool, list[str]]:
    """Every 201 logged exactly once, byte for byte, under its token's municipality; each chain intact."""
    answered = {json.loads(body)["id"]: (kommune, body.decode()) for kommune, status, body in results if status == 201}
    rows = stored_log(db)
    counts: dict[str, int] = {}
    for id_, _, _ in rows:
        counts[id_] = counts.get(id_, 0) + 1
    stored = {id_: (kommune, svar) for id_, kommune, svar in rows}
    wrong = [i for i, (kommune, body) in answered.items() if counts.get(i) != 1 or stored.get(i) != (kommune, body)]
    layer_named = all(json.loads(body)["regelsaet"].get("kommune") for _, body in answered.values())
    extra = len(rows) - len(answered) - warmup
    lines = [f"every 201 logged exactly once under its token's municipality: {'yes' if not wrong else f'NO ({len(wrong)} missing/altered)'}; "
             f"every answer names its municipality's layer: {'yes' if layer_named else 'NO'}; records not answered 201: {extra}"]
    ok = not wrong and layer_named and extra == 0
    for kommune in kommuner:
        verdict = cli("log", "verify", "--db", db, "--kommune", kommune, env=env)
        lines.append(f"{kommune}: " + (verdict.stdout or verdict.stderr).strip().replace("\n", " | "))
        ok = ok and verdict.returncode == 0
    return ok, lines


def run_backend(backend: str, db: str, env: dict, args: argparse.Namespace, tmp: Path) -> bool:
    kommuner = [k for k in args.kommune.split(",") if k]
    tokens = {}
    for kommune in kommuner:
        created = cli("token", "create", "--role", "visitator", "--kommune", kommune, "--db", db, env=env)
        if created.returncode != 0:
            print(f"{backend}: no token for {kommune}: {created.stderr.strip()}", file=sys.stderr)
            return False
        tokens[kommune] = created.stdout.strip()
    try:
        proc, port, log = start_server(backend, db, env, args, tmp)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return False
    warmup = 10 * len(kommuner)
    try:
        asyncio.run(drive(port, tokens, warmup, 2 * len(kommuner)))  # warm-up (both workers, every municipality)
        elapsed, lat, results = asyncio.run(drive(port, tokens, args.requests, args.clients))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()  # type: ignore[attr-defined]
    non201 = sum(1 for _, status, _ in results if status != 201)
    print(f"{backend:>10} {args.clients:>7} {args.requests:>8} {args.requests / elapsed:>11.0f} "
          f"{percentile(lat, 0.50) * 1000:>7.1f} {percentile(lat, 0.95) * 1000:>7.1f} {percentile(lat, 0.99) * 1000:>7.1f} {non201:>7}")
    per = {k: sum(1 for kk, status, _ in results if kk == k and status == 201) for k in kommuner}
    print(f"{'':>10} decisions per municipality: " + ", ".join(f"{k} {n}" for k, n in per.items()))
    ok, lines = check_log(db, env, kommuner, results, warmup)
    for line in lines:
        print(f"{'':>10} {line}")
    return ok and non201 == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL server to create a fresh database on")
    parser.add_argument("--kommune", default="herning,silkeborg,slagelse,thisted",
                        help="the municipalities served, comma-separated: one token each, the clients spread over them")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="visitator-load-"))
    # Only what this run sets (no VISITATOR_DB/VISITATOR_RULES from the caller's shell). PostgreSQL has no file to keep
    # the two keys beside, so they come from the environment (the caller's, or fixed ones for the run).
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITATOR_")}
    env.update(VISITATOR_DATA=str(tmp), VISITATOR_HMAC_KEY=os.environ.get("VISITATOR_HMAC_KEY", "h" * 64),
               VISITATOR_LOG_KEY=os.environ.get("VISITATOR_LOG_KEY", "l" * 64))
    ok = True
    print(f"{os.cpu_count()} CPUs; visitator serve --workers {args.workers}")
    print(f"{'backend':>10} {'clients':>7} {'requests':>8} {'decisions/s':>11} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'non-201':>7}")
    try:
        for backend in args.backend.split(","):
            if backend == "sqlite":
                db = f"sqlite:///{tmp / 'load.db'}"
            else:
                db = fresh_pg_database(args.pg_url or throwaway_cluster())
            ok = run_backend(backend, db, env, args, tmp) and ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
