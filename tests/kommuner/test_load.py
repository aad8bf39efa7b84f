"""One deployment serves the four municipalities at once: `visitator serve --workers 2` on one
PostgreSQL database, with the tokens of all four posting in parallel, ends with four intact chains,
every answer logged once under its own municipality. (bench/load.py is the same at full size.)"""
from __future__ import annotations

import asyncio
import json

import psycopg
import pytest

from support.bodies import example
from support.server import RawConnection

KOMMUNER = ("herning", "silkeborg", "slagelse", "thisted")
NAVNE = {"herning": "Herning Kommune", "silkeborg": "Silkeborg Kommune", "slagelse": "Slagelse Kommune", "thisted": "Thisted Kommune"}


async def _post_all(port: int, tokens: dict[str, str], per_kommune: int, clients_per_kommune: int) -> list[tuple[str, int, bytes]]:
    out: list[tuple[str, int, bytes]] = []

    async def client(kommune: str, c: int) -> None:
        conn = await RawConnection(port, tokens[kommune]).open()
        try:
            for j in range(c, per_kommune, clients_per_kommune):
                status, body = await conn.post("/v1/vurderinger", json.dumps(example(alder=18 + j % 60)).encode())
                out.append((kommune, status, body))
        finally:
            await conn.close()

    await asyncio.gather(*(client(k, c) for k in tokens for c in range(clients_per_kommune)))
    return out


@pytest.mark.pg
@pytest.mark.slow
@pytest.mark.process
def test_four_municipalities_in_parallel_on_one_postgresql_end_with_four_intact_chains(servers, pg_database) -> None:
    srv = servers(db=pg_database, workers=2)  # serves the four shipped municipalities by default
    tokens = {k: srv.token("visitator", kommune=k) for k in KOMMUNER}
    srv.start()
    results = asyncio.run(_post_all(srv.port, tokens, per_kommune=100, clients_per_kommune=4))
    srv.stop()
    assert len(results) == 400 and {status for _, status, _ in results} == {201}, {s for _, s, _ in results}
    answered = {json.loads(body)["id"]: (kommune, body.decode()) for kommune, _, body in results}
    assert all(json.loads(body)["regelsaet"]["kommune"] == NAVNE[k] for k, body in answered.values())
    with psycopg.connect(pg_database) as conn:
        rows = conn.execute("SELECT id, kommune, svar FROM vurderinger").fetchall()
    assert len(rows) == 400 and {r[0]: (r[1], r[2]) for r in rows} == answered  # once each, byte for byte, under its own municipality
    for kommune in KOMMUNER:
        verified = srv.cli("log", "verify", "--db", pg_database, "--kommune", kommune)
        assert verified.returncode == 0, verified.stderr
        assert f"Beslutningsloggen for {kommune} er intakt: 101 poster" in verified.stdout  # its token's creation and its 100 decisions
