"""PostgreSQL with real `visitator serve` processes: two writers on one chain, and a restarted database."""
from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import psycopg

from test_pg_common import create_database, restart_cluster
from test_service_common import RawConnection, Server, example, run_cli

HMAC = "h" * 64


class PgServer(Server):
    def __init__(self, tmp_path, url: str, *extra: str):
        super().__init__(tmp_path, *extra)
        self.db = url
        self.env["VISITATOR_HMAC_KEY"] = HMAC
        self.stderr_path = tmp_path / f"server-{self.port}.stderr"


def _log(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return {r[0]: r[1] for r in conn.execute("SELECT id, svar FROM vurderinger")}


async def _stream(port: int, token: str, n: int, clients: int, out: list, offset: int = 0) -> None:
    async def one(c: int) -> None:
        conn = await RawConnection(port, token).open()
        try:
            for j in range(c, n, clients):
                out.append(await conn.post("/v1/vurderinger", json.dumps(example(borger_reference=f"p{offset}-{j}",
                                                                                  alder=18 + j % 50)).encode()))
        finally:
            await conn.close()

    await asyncio.gather(*(one(c) for c in range(clients)))


def test_two_processes_write_one_unbroken_chain(tmp_path):
    url = create_database()
    a = PgServer(tmp_path, url)
    token = a.token("visitator")
    b = PgServer(tmp_path, url)
    with a, b:
        results: list = []

        async def both() -> None:
            await asyncio.gather(_stream(a.port, token, 500, 8, results, 0), _stream(b.port, token, 500, 8, results, 1))

        asyncio.run(both())
    assert len(results) == 1000 and {s for s, _ in results} == {201}
    stored = _log(url)
    ids = [json.loads(body)["id"] for _, body in results]
    assert len(set(ids)) == 1000 and len(stored) == 1000
    for (_, body), id_ in zip(results, ids):
        assert stored[id_] == body.decode()
    with psycopg.connect(url) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM vurderinger ORDER BY seq")]
    assert seqs == list(range(1, 1001))
    verify = run_cli("log", "verify", "--db", url)
    assert verify.returncode == 0 and "1000 poster" in verify.stdout, verify.stderr


def test_postgresql_restart_mid_stream_gives_503_never_a_201_without_its_record(tmp_path):
    url = create_database()
    srv = PgServer(tmp_path, url)
    token = srv.token("visitator")
    answered: list[tuple[int, bytes]] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            i = 0
            while not stop.is_set():
                r = c.post("/v1/vurderinger", json=example(alder=18 + i % 50), headers={"Authorization": f"Bearer {token}"})
                answered.append((r.status_code, r.content, r.headers.get("content-type", "")))
                i += 1
                time.sleep(0.005)

    with srv:
        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        while len(answered) < 30:
            time.sleep(0.02)
        restart_cluster()  # every connection of the service is cut
        time.sleep(1.0)
        before = len(answered)
        deadline = time.time() + 30
        while time.time() < deadline and not any(s == 201 for s, _, _ in answered[before:]):
            time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        ready = httpx.get(srv.url + "/readyz", timeout=10)
        assert ready.status_code == 200  # recovered by itself
    statuses = {s for s, _, _ in answered}
    assert statuses <= {201, 503} and 503 in statuses, statuses
    assert any(s == 201 for s, _, _ in answered[before:]), "the service did not recover"
    for status, body, ctype in answered:
        if status == 503:
            assert ctype.startswith("application/problem+json") and json.loads(body)["status"] == 503
    stored = _log(url)
    created = [json.loads(body)["id"] for s, body, _ in answered if s == 201]
    for status, body, _ in answered:
        if status == 201:
            assert stored[json.loads(body)["id"]] == body.decode()
    assert len(set(created)) == len(created)
    assert run_cli("log", "verify", "--db", url).returncode == 0
