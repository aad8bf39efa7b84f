"""A reload reaches every process (issue 13): after POST /v1/regelsaet/genindlaes with changed
rule files, every worker of `visitator serve --workers 2`, and every separate process on
the same database, answers with the new version - a decision never depends on which
process answers."""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from support.app import copy_rules
from support.bodies import EXAMPLE, auth
from support.pg import pg_url

pytestmark = [pytest.mark.process, pytest.mark.slow]

NEW_RULE = """\
regelsaet: misbrug
lag: lov
beskrivelse: En regel, som testen lægger til for at se, at genindlæsningen når alle processer.
regler:
  - id: test-genindlaesning-alle-processer
    beskrivelse: En testoplysning, som kun findes efter genindlæsningen.
    gyldig_fra: 2026-06-01
    kilde: {dokument: "Testens egen kilde", sikkerhed: verificeret}
    hvis:
      - {felt: alder, operator: ">=", vaerdi: 0}
    saa:
      oplysning: Testoplysning efter genindlæsning i alle processer.
"""
MARK = "Testoplysning efter genindlæsning i alle processer."


def post_fresh(url: str, token: str) -> dict:
    """One decision on a new connection (so the kernel may hand it to any worker)."""
    r = httpx.post(url + "/v1/vurderinger", json=EXAMPLE, headers={**auth(token), "Connection": "close"}, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


async def _posts_on_fresh_connections(url: str, token: str, n: int) -> list[dict]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as c:
        rs = await asyncio.gather(*(c.post(url + "/v1/vurderinger", json=EXAMPLE, headers=auth(token)) for _ in range(n)))
    assert {r.status_code for r in rs} == {201}, [r.text for r in rs if r.status_code != 201][:1]
    return [r.json() for r in rs]


def reload(url: str, token: str, rules) -> None:
    """Write the new rule file and reload through one process."""
    (rules / "misbrug" / "lov" / "zz_test_alle_processer.yaml").write_text(NEW_RULE, encoding="utf-8")
    r = httpx.post(url + "/v1/regelsaet/genindlaes", headers=auth(token), timeout=120)
    assert r.status_code == 200 and r.json()["genindlaest"] is True, r.text


def test_a_reload_reaches_both_workers_of_serve_workers_2(servers, tmp_path):
    rules = copy_rules(tmp_path)
    srv = servers(rules_dir=rules, workers=2)
    visitator, redaktoer = srv.token("visitator"), srv.token("redaktoer")
    srv.start()
    pids = {e["pid"] for e in srv.log_events() if e.get("haendelse") == "opstart"}
    deadline = time.time() + 60
    while len(pids) < 2 and time.time() < deadline:  # both workers are up
        time.sleep(0.2)
        pids = {e["pid"] for e in srv.log_events() if e.get("haendelse") == "opstart"}
    assert len(pids) == 2, srv.stderr_text()[-2000:]
    old = {d["regelsaet"]["sha256"] for d in asyncio.run(_posts_on_fresh_connections(srv.url, visitator, 16))}
    assert len(old) == 1
    reload(srv.url, redaktoer, rules)
    answers: list[dict] = []
    deadline = time.time() + 90
    # Until the worker that did not take the reload has answered (it says so in the log), every answer is new.
    while not any(e.get("haendelse") == "genindlaest_fra_anden_proces" for e in srv.log_events()):
        assert time.time() < deadline, "the other worker never answered"
        answers += asyncio.run(_posts_on_fresh_connections(srv.url, visitator, 8))
    answers += asyncio.run(_posts_on_fresh_connections(srv.url, visitator, 16))
    new = {d["regelsaet"]["sha256"] for d in answers}
    assert len(new) == 1 and not new & old  # one version, the new one, whichever worker answered
    assert all(MARK in json.dumps(d, ensure_ascii=False) for d in answers)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def test_a_reload_reaches_another_process_on_the_same_database(servers, tmp_path, backend):
    rules = copy_rules(tmp_path)
    db = pg_url() if backend == "postgresql" else None
    a = servers(rules_dir=rules, db=db)
    b = servers(rules_dir=rules, db=a.db)
    visitator, redaktoer, revisor = a.token("visitator"), a.token("redaktoer"), a.token("revisor")
    a.start()
    b.start()
    def listing(srv) -> dict:
        return httpx.get(srv.url + "/v1/regelsaet", headers=auth(revisor), timeout=60).json()

    old = post_fresh(b.url, visitator)["regelsaet"]["sha256"]
    assert post_fresh(a.url, visitator)["regelsaet"]["sha256"] == old
    listed_before = listing(b)
    reload(a.url, redaktoer, rules)  # through a; b hears of it only through the database
    # b's listing first, before b evaluates anything: it already shows the rules in force.
    listed_b, listed_a = listing(b), listing(a)
    assert listed_b == listed_a and listed_b["i_kraft_i_dag"] != listed_before["i_kraft_i_dag"]
    decisions = [post_fresh(srv.url, visitator) for srv in (b, a)]
    new = decisions[0]["regelsaet"]["sha256"]
    assert new != old and [d["regelsaet"]["sha256"] for d in decisions] == [new, new]
    assert all(MARK in json.dumps(d, ensure_ascii=False) for d in decisions)
