"""Benchmark `visitator serve` on loopback with the decision log on.

    python bench/service.py [--requests 1000] [--concurrency 1,8,64] [--workers 1] [--url URL --token TOKEN]

Without --url it starts `visitator serve --workers N` (default 1: one process, one
engine, the figure per process) on a free loopback port with a fresh SQLite
database in a temporary directory, creates a visitator token for
herning, and stops the server afterwards. For each concurrency level it sends POST
/v1/vurderinger (varied screenings) from that many concurrent clients over
keep-alive connections and prints decisions/s and p50/p99 latency; every
answer must be 201. Then it checks the hash chain of the log.

The ceiling row: bench/ceiling_app.py, a FastAPI app answering the same POST with a
constant body of the size of a real decision, started with the same uvicorn and the same
number of workers, measured the same way in the same run. Each level prints a
`RESULT {json}` line for bench/all.py.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rawclient import RawConnection  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BOLIG = ["egen_bolig", "hos_andre", "midlertidig", "forsorgshjem", "gade", "udskrives"]
STOFFER = ["alkohol", "cannabis", "opioider", "centralstimulerende", "benzodiazepiner"]
GRADER = ["risikabelt", "skadeligt", "afhaengighed"]


def screening(i: int) -> dict:
    return {
        "borger_reference": f"bench-{i}",
        "henvendelsesdato": "2026-11-02",
        "vurderingsdato": "2026-11-03",
        "alder": 16 + i % 60,
        "rusmidler": [{"stof": STOFFER[i % 5], "grad": GRADER[i % 3]}],
        "dobbeltdiagnose": i % 7 == 0,
        "boligsituation": BOLIG[i % 6],
        "foraeldresamtykke": True,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def run_level(url: str, token: str, total: int, concurrency: int) -> tuple[float, list[float], dict[int, int]]:
    parsed = urlsplit(url)
    bodies = [json.dumps(screening(i)).encode() for i in range(total)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total))
    connections = [RawConnection(parsed.port or 80, token, parsed.hostname or "127.0.0.1") for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))

    async def worker(conn: RawConnection) -> None:
        for i in counter:
            t0 = time.perf_counter()
            status, _ = await conn.post("/v1/vurderinger", bodies[i])
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(c.close() for c in connections))
    return elapsed, latencies, statuses


def measure(url: str, token: str, total: int, level: int, label: str) -> tuple[dict, int]:
    elapsed, latencies, statuses = asyncio.run(run_level(url, token, total, level))
    bad = sum(n for s, n in statuses.items() if s != 201)
    figures = {"per_s": total / elapsed, "p50_ms": statistics.median(latencies) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000}
    print(f"{level:>8} {figures['per_s']:>12.0f} {figures['p50_ms']:>8.1f} {figures['p99_ms']:>8.1f} {bad:>8}  {label}")
    return figures, bad


async def one_body(url: str, token: str) -> bytes:
    parsed = urlsplit(url)
    conn = await RawConnection(parsed.port or 80, token, parsed.hostname or "127.0.0.1").open()
    try:
        status, body = await conn.post("/v1/vurderinger", json.dumps(screening(7)).encode())
        assert status == 201, status
        return body
    finally:
        await conn.close()


def wait_ready(url: str, proc: subprocess.Popen, seconds: float) -> bool:
    """True once GET /readyz answers 200; False if the process ends or time runs out first."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def run_ceiling(body: bytes, workers: int, total: int, levels: list[int], tmp: Path, env: dict) -> dict[int, dict]:
    """The same measurement against bench/ceiling_app.py (constant body of `body`'s size)."""
    (tmp / "ceiling.json").write_bytes(body)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "ceiling_app:app", "--app-dir", str(Path(__file__).resolve().parent),
                             "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**env, "CEILING_BODY": str(tmp / "ceiling.json")})
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_ready(url, proc, 30):
            print("the ceiling app did not start", file=sys.stderr)
            return {}
        asyncio.run(run_level(url, "-", 50, 4))
        return {level: measure(url, "-", total, level, f"ceiling: constant {len(body):,}-byte JSON, same uvicorn")[0] for level in levels}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, env: dict) -> str:
    out = subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return out.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per concurrency level")
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--url", default=None, help="an already running service (else one is started)")
    parser.add_argument("--token", default=None, help="visitator token for --url")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of the started server (default 1)")
    parser.add_argument("--kommune", default="herning", help="the municipality of the started server's token")
    parser.add_argument("--no-ceiling", action="store_true", help="leave out the constant-JSON ceiling")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]

    proc = None
    tmp = tempfile.TemporaryDirectory(prefix="visitator-bench-")
    # Only what this run sets: no VISITATOR_DB/VISITATOR_RULES etc. from the caller's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITATOR_")}
    env["VISITATOR_DATA"] = tmp.name
    db = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    try:
        if args.url:
            url, token = args.url, args.token
        else:
            token = cli("token", "create", "--role", "visitator", "--kommune", args.kommune, "--db", db, env=env)
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            log = open(Path(tmp.name) / "server.log", "wb")
            proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--db", db, "--kommune", args.kommune,
                                     "--workers", str(args.workers), "--log-level", "warning"],
                                    stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=REPO)
            if not wait_ready(url, proc, 60):
                print("the server did not start", file=sys.stderr)
                return 2
        workers = "" if args.url else f" --workers {args.workers}"
        print(f"visitator serve{workers} on {url}, decision log on (SQLite WAL, synchronous=FULL); "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {args.requests} requests per level")
        print(f"{'clients':>8} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'non-201':>8}")
        asyncio.run(run_level(url, token, 50, 4))  # warm-up
        failed = 0
        measured = {}
        for level in levels:
            measured[level], bad = measure(url, token, args.requests, level, "service")
            failed += bad
        if not args.url and not args.no_ceiling:
            body = asyncio.run(one_body(url, token))
            ceiling = run_ceiling(body, args.workers, args.requests, levels, Path(tmp.name), env)
            for level in levels:
                if level in ceiling:
                    row = {"name": "service", "clients": level, "workers": args.workers, **measured[level],
                           "ceiling_per_s": ceiling[level]["per_s"], "ceiling_p99_ms": ceiling[level]["p99_ms"],
                           "ratio": measured[level]["per_s"] / ceiling[level]["per_s"], "body_bytes": len(body)}
                    print(f"RESULT {json.dumps(row)}")
        if not args.url:
            verdict = subprocess.run([sys.executable, "-m", "service.cli", "log", "verify", "--db", db, "--kommune", args.kommune],
                                     capture_output=True, text=True, env=env, cwd=REPO)
            print((verdict.stdout or verdict.stderr).strip())
            failed += verdict.returncode
        return 1 if failed else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
