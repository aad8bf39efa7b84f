"""The service as a real `visitator serve` (uvicorn) process on loopback, including a load test."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import httpx
import pytest

from test_service_common import EXAMPLE, RawConnection, Server, auth, copy_rules, example, run_cli

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("srv"))
    srv.tokens = {role: srv.token(role) for role in ("visitator", "revisor", "redaktoer")}
    srv.start()
    yield srv
    srv.stop()


def test_token_create_prints_only_the_token_and_stores_only_its_hash(server):
    token = server.tokens["visitator"]
    assert token.startswith("vst_") and len(token) > 40 and "\n" not in token
    db = server.db[len("sqlite:///"):]
    conn = sqlite3.connect(db)
    stored = [r[0] for r in conn.execute("SELECT sha256 FROM tokens")]
    conn.close()
    import hashlib

    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert all(token not in s for s in stored)


def test_example_over_http_read_back_and_replay(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post("/v1/vurderinger", json=EXAMPLE, headers=auth(server.tokens["visitator"]))
        assert r.status_code == 201, r.text
        assert r.headers["location"] == f"/v1/vurderinger/{r.json()['id']}"
        back = c.get(r.headers["location"], headers=auth(server.tokens["revisor"]))
        assert back.content == r.content
        replay = c.post(r.headers["location"] + "/genberegn", headers=auth(server.tokens["revisor"]))
        assert replay.status_code == 200 and replay.json()["identisk"] is True
        body = dict(r.json())
        del body["id"], body["oprettet"]
        assert replay.json()["original"] == body


def test_errors_over_http_are_problem_documents(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        cases = [
            (c.post("/v1/vurderinger", json=EXAMPLE), 401),
            (c.post("/v1/vurderinger", json=EXAMPLE, headers=auth(server.tokens["revisor"])), 403),
            (c.get("/v1/vurderinger", headers=auth(server.tokens["visitator"])), 403),
            (c.post("/v1/regelsaet/genindlaes", headers=auth(server.tokens["revisor"])), 403),
            (c.post("/v1/vurderinger", json=example(alder=-1), headers=auth(server.tokens["visitator"])), 422),
            (c.post("/v1/vurderinger", json=example(borger_reference="311299-9999"), headers=auth(server.tokens["visitator"])), 422),
            (c.post("/v1/vurderinger", content=b"x" * (1024 * 1024 + 1), headers=auth(server.tokens["visitator"])), 413),
            (c.get("/v1/intet"), 404),
            (c.put("/v1/regelsaet"), 405),
        ]
        for response, status in cases:
            assert response.status_code == status, response.text
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["status"] == status
        assert c.get("/v1/regelsaet", headers=auth(server.tokens["redaktoer"])).status_code == 200
        assert c.get("/openapi.json").json()["paths"]["/v1/vurderinger"]["post"]


async def _load(port: int, token: str, total: int, concurrency: int) -> tuple[list[str], list[int]]:
    ids: list[str] = []
    statuses: list[int] = []
    numbers = iter(range(total))
    connections = await asyncio.gather(*(RawConnection(port, token).open() for _ in range(concurrency)))

    async def worker(conn: RawConnection) -> None:
        for i in numbers:
            body = example(borger_reference=f"last-{i % 50}", alder=18 + i % 60,
                           boligsituation=["egen_bolig", "gade", "hos_andre", "udskrives"][i % 4])
            status, content = await conn.post("/v1/vurderinger", json.dumps(body).encode())
            statuses.append(status)
            if status == 201:
                ids.append(json.loads(content)["id"])

    await asyncio.gather(*(worker(c) for c in connections))
    await asyncio.gather(*(c.close() for c in connections))
    return ids, statuses


def test_load_2000_posts_64_concurrent_all_logged_and_chain_verifies(server):
    started = time.perf_counter()
    ids, statuses = asyncio.run(_load(server.port, server.tokens["visitator"], 2000, 64))
    elapsed = time.perf_counter() - started
    assert statuses.count(201) == 2000, {s: statuses.count(s) for s in set(statuses)}
    assert len(set(ids)) == 2000
    print(f"\n2000 POSTs, 64 concurrent: {elapsed:.1f}s, {2000 / elapsed:.0f}/s")
    with httpx.Client(base_url=server.url, timeout=120, headers=auth(server.tokens["revisor"])) as c:
        exported = [json.loads(line)["id"] for line in c.get("/v1/vurderinger/eksport").text.splitlines()]
        assert set(ids) <= set(exported)
        report = c.get("/v1/log/verifikation").json()
        assert report["intakt"] is True and report["antal"] == len(exported)
    result = run_cli("log", "verify", "--db", server.db, env=server.env)
    assert result.returncode == 0, result.stderr
    # Structured logs: every line is one JSON object, and no borger_reference in clear.
    lines = server.stderr_text().splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    assert "last-1" not in server.stderr_text() and "sag-2026-0042" not in server.stderr_text()
    assert sum(1 for line in lines if '"vurdering_oprettet"' in line) >= 2000


def test_broken_rule_set_refuses_to_start(tmp_path):
    rules = copy_rules(tmp_path)
    target = rules / "misbrug" / "lov" / "behandling.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "\nregler:\n  - id: [uafsluttet\n", encoding="utf-8")
    srv = Server(tmp_path, rules_dir=rules)
    srv.start(wait=False)
    assert srv.proc.wait(timeout=60) == 2
    srv.stop()
    assert "behandling.yaml:" in srv.stderr_text()


def test_refuses_non_loopback_host_without_tokens(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "1", "--db", db, timeout=60)
    assert result.returncode == 2 and "ingen adgangsnøgler" in result.stderr


def test_unreachable_postgresql_is_a_clear_error(tmp_path):
    # Port 9 on loopback: nothing listens there, so the connection is refused.
    url = "postgresql://visitator@127.0.0.1:9/visitator"
    result = run_cli("serve", "--db", url, timeout=60)
    assert result.returncode == 2 and "PostgreSQL" in result.stderr
    result = run_cli("token", "create", "--role", "revisor", "--db", url, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
