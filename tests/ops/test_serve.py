"""The service as a real `visitator serve` (uvicorn) process on loopback: tokens from the
command line, a round trip, problem documents over HTTP, 2,000 requests from 64 clients,
and the refusals at start-up."""
from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time

import httpx
import pytest

from support.app import ROLES, copy_rules
from support.bodies import EXAMPLE, auth, example
from support.server import SERVER_KOMMUNE as KOMMUNE
from support.server import RawConnection, Server, clean_env, free_port, run_cli

pytestmark = pytest.mark.process
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("srv"))
    srv.tokens = {role: srv.token(role) for role in ROLES}
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.slow  # the module's server takes a few seconds to start
def test_token_create_prints_only_the_token_and_stores_only_its_hash(server):
    token = server.tokens["visitator"]
    assert token.startswith("vst_") and len(token) > 40 and "\n" not in token
    conn = sqlite3.connect(server.db[len("sqlite:///"):])
    stored = conn.execute("SELECT sha256, rolle, kommune FROM tokens").fetchall()
    conn.close()
    assert (hashlib.sha256(token.encode()).hexdigest(), "visitator", KOMMUNE) in stored
    assert all(token not in str(row) for row in stored)


@pytest.mark.slow  # the module's server takes a few seconds to start
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


@pytest.mark.slow  # the module's server takes a few seconds to start
def test_errors_over_http_are_problem_documents(server):
    t = server.tokens
    with httpx.Client(base_url=server.url, timeout=30) as c:
        cases = [
            (c.post("/v1/vurderinger", json=EXAMPLE), 401),
            (c.post("/v1/vurderinger", json=EXAMPLE, headers=auth(t["revisor"])), 403),
            (c.get("/v1/vurderinger", headers=auth(t["visitator"])), 403),
            (c.post("/v1/regelsaet/genindlaes", headers=auth(t["revisor"])), 403),
            (c.post("/v1/vurderinger", json=example(alder=-1), headers=auth(t["visitator"])), 422),
            (c.post("/v1/vurderinger", json=example(borger_reference="310299-9999"), headers=auth(t["visitator"])), 422),
            (c.post("/v1/vurderinger", content=b"x" * (1024 * 1024 + 1), headers=auth(t["visitator"])), 413),
            (c.post("/v1/vurderinger", content=b"{nope", headers=auth(t["visitator"])), 400),
            (c.get("/v1/intet"), 404),
            (c.put("/v1/regelsaet"), 405),
        ]
        for response, status in cases:
            assert response.status_code == status, response.text
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["status"] == status
            assert "311299" not in response.text
        assert c.get("/v1/regelsaet", headers=auth(t["redaktoer"])).status_code == 200
        assert c.get("/openapi.json").json()["paths"]["/v1/vurderinger"]["post"]


async def _load(port: int, token: str, total: int, concurrency: int) -> tuple[list[str], list[int]]:
    ids: list[str] = []
    statuses: list[int] = []
    numbers = iter(range(total))
    connections = await asyncio.gather(*(RawConnection(port, token).open() for _ in range(concurrency)))

    async def worker(conn) -> None:
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


@pytest.mark.slow
def test_load_2000_posts_64_concurrent_all_logged_and_chain_verifies(server):
    started = time.perf_counter()
    ids, statuses = asyncio.run(_load(server.port, server.tokens["visitator"], 2000, 64))
    elapsed = time.perf_counter() - started
    assert statuses.count(201) == 2000, {s: statuses.count(s) for s in set(statuses)}
    assert len(set(ids)) == 2000
    print(f"\n2000 POSTs, 64 concurrent: {elapsed:.1f}s, {2000 / elapsed:.0f}/s")
    with httpx.Client(base_url=server.url, timeout=120, headers=auth(server.tokens["revisor"])) as c:
        exported = [json.loads(line)["id"] for line in c.get("/v1/vurderinger/eksport").text.splitlines()]
        assert set(ids) <= set(exported) and len(exported) == len(set(exported))
        report = c.get("/v1/log/verifikation").json()
        assert report["intakt"] is True and report["foerste_fejl"] is None
        assert report["antal"] == len(exported) + len(ROLES)  # every decision, and the three token events
    result = server.cli("log", "verify", "--db", server.db)
    assert result.returncode == 0 and f"intakt: {report['antal']} poster" in result.stdout, result.stderr
    # Structured logs: every line is one JSON object, and no borger_reference in clear.
    text = server.stderr_text()
    lines = text.splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    assert "last-1" not in text and "sag-2026-0042" not in text
    assert sum(1 for line in lines if '"vurdering_oprettet"' in line) >= 2000


def test_a_broken_rule_set_refuses_to_start(tmp_path):
    rules = copy_rules(tmp_path)
    target = rules / "misbrug" / "lov" / "behandling.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "\nregler:\n  - id: [uafsluttet\n", encoding="utf-8")
    srv = Server(tmp_path, rules_dir=rules)
    srv.token("visitator")
    srv.start(wait=False)
    try:
        assert srv.proc.wait(timeout=120) == 2
    finally:
        srv.stop()
    assert "behandling.yaml:" in srv.stderr_text() and "Traceback" not in srv.stderr_text()


def nest_en_af(depth: int, indent: int = 6) -> str:
    """`depth` en_af blocks inside each other, as YAML list items under a rule's hvis."""
    pad, leaf = " " * indent, '{felt: alder, operator: ">", vaerdi: %d}'
    if depth == 0:
        return f"{pad}- {leaf % 1}\n{pad}- {leaf % 2}\n"
    return f"{pad}- en_af:\n" + nest_en_af(depth - 1, indent + 4) + f"{pad}- {leaf % (depth + 10)}\n"


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_first_start_on_rules_that_cannot_load_says_where_and_prints_no_login_link(servers, tmp_path, workers):
    """A nested en_af four levels deep (issue 13): a clear file:line, no traceback, and no login link
    to a service that never started; the link comes with the first start that works."""
    rules = copy_rules(tmp_path)
    target = rules / "misbrug" / "lov" / "koordinering.yaml"
    original = target.read_text(encoding="utf-8")
    target.write_text(original.replace("    hvis:\n", "    hvis:\n" + nest_en_af(4), 1), encoding="utf-8")
    srv = servers(rules_dir=rules, workers=workers)
    srv.start(wait=False)
    assert srv.proc.wait(timeout=120) == 2
    assert "koordinering.yaml:" in srv.stderr_text() and "en_af" in srv.stderr_text()
    assert "Traceback" not in srv.stderr_text() and "noegle=" not in srv.stdout_text()
    target.write_text(original, encoding="utf-8")
    srv.start()
    assert srv.stdout_text().count("noegle=") == 1


def test_refuses_a_non_loopback_host_without_tokens(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = run_cli("serve", "--host", "0.0.0.0", "--port", str(free_port()), "--db", db, env=clean_env(tmp_path))
    assert result.returncode == 2 and "ingen adgangsnøgler" in result.stderr
    assert "noegle=" not in result.stdout  # no login link for a host others can reach


def test_an_unreachable_postgresql_is_a_clear_error(tmp_path):
    url = "postgresql://visitator:hemmelig@127.0.0.1:9/visitator"  # nothing listens on port 9
    env = clean_env(tmp_path)
    result = run_cli("serve", "--port", str(free_port()), "--db", url, env=env)
    assert result.returncode == 2 and "postgresql://" in result.stderr and "kan ikke åbnes" in result.stderr
    assert "hemmelig" not in result.stderr and "Traceback" not in result.stderr
    result = run_cli("token", "create", "--role", "revisor", "--db", url, env=env)
    assert result.returncode == 2 and result.stdout == "" and "hemmelig" not in result.stderr
