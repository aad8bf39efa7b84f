"""PostgreSQL with real `visitator serve` processes: two servers writing one chain, and a
database restarted in the middle of a stream (503s, never a 201 without its record, and
the service recovers by itself)."""
from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import psycopg
import pytest

from support.bodies import auth, example
from support.pg import restart_cluster
from support.server import SERVER_KOMMUNE as KOMMUNE
from support.server import RawConnection, stored_decisions

pytestmark = [pytest.mark.pg, pytest.mark.process, pytest.mark.slow]


def chain(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT seq, art FROM kaede WHERE kommune = %s ORDER BY seq", (KOMMUNE,))]


async def _stream(port: int, token: str, n: int, clients: int, out: list, offset: int = 0) -> None:
    async def one(c: int) -> None:
        conn = await RawConnection(port, token).open()
        try:
            for j in range(c, n, clients):
                body = example(borger_reference=f"p{offset}-{j}", alder=18 + j % 50)
                out.append(await conn.post("/v1/vurderinger", json.dumps(body).encode()))
        finally:
            await conn.close()

    await asyncio.gather(*(one(c) for c in range(clients)))


def test_two_processes_write_one_unbroken_chain(servers, pg_database):
    a = servers(db=pg_database)
    b = servers(db=pg_database)
    token = a.token("visitator")
    a.start()
    b.start()
    results: list = []

    async def both() -> None:
        await asyncio.gather(_stream(a.port, token, 500, 8, results, 0), _stream(b.port, token, 500, 8, results, 1))

    asyncio.run(both())
    a.stop()
    b.stop()
    assert len(results) == 1000 and {s for s, _ in results} == {201}
    stored = stored_decisions(pg_database)
    ids = [json.loads(body)["id"] for _, body in results]
    assert len(set(ids)) == 1000 and len(stored) == 1000
    for (_, body), id_ in zip(results, ids):
        assert stored[id_] == body.decode()
    entries = chain(pg_database)
    assert [seq for seq, _ in entries] == list(range(1, len(entries) + 1))  # no gap, no duplicate
    assert [art for _, art in entries].count("vurdering") == 1000
    verify = a.cli("log", "verify", "--db", pg_database)
    assert verify.returncode == 0 and f"{len(entries)} poster" in verify.stdout, verify.stderr


def test_postgresql_restart_mid_stream_gives_503_never_a_201_without_its_record(servers, pg_database):
    srv = servers(db=pg_database)
    token = srv.token("visitator")
    srv.start()
    answered: list[tuple[int, bytes, str]] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            i = 0
            while not stop.is_set():
                r = c.post("/v1/vurderinger", json=example(alder=18 + i % 50), headers=auth(token))
                answered.append((r.status_code, r.content, r.headers.get("content-type", "")))
                i += 1
                time.sleep(0.005)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        deadline = time.time() + 60
        while len(answered) < 30 and time.time() < deadline:
            time.sleep(0.02)
        restart_cluster(pause=0.5)  # every connection of the service is cut
        time.sleep(1.0)
        before = len(answered)
        deadline = time.time() + 30
        while time.time() < deadline and not any(s == 201 for s, _, _ in answered[before:]):
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert httpx.get(srv.url + "/readyz", timeout=10).status_code == 200  # recovered by itself
    srv.stop()
    statuses = {s for s, _, _ in answered}
    assert statuses <= {201, 503} and 503 in statuses, statuses
    assert any(s == 201 for s, _, _ in answered[before:]), "the service did not recover"
    for status, body, ctype in answered:
        if status == 503:
            assert ctype.startswith("application/problem+json") and json.loads(body)["status"] == 503
    stored = stored_decisions(pg_database)
    created = [json.loads(body)["id"] for s, body, _ in answered if s == 201]
    assert len(set(created)) == len(created)
    for status, body, _ in answered:
        if status == 201:
            assert stored[json.loads(body)["id"]] == body.decode()
    assert srv.cli("log", "verify", "--db", pg_database).returncode == 0
