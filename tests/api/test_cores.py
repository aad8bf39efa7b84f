"""A disagreement between the inference cores fails the request loudly (issue 10):
500 problem+json with an error id, the log line 'kerner_uenige' naming the version,
the differing parts and the error id (no screening content), a Prometheus counter,
and nothing stored."""
from __future__ import annotations

import logging
from typing import Any

from engine.evaluate import ReferenceCore
from support.app import make_app
from support.bodies import EXAMPLE


class OneRuleFewer(ReferenceCore):
    name = "defekt"

    def fired(self, compiled: Any, fact: dict[str, Any]) -> list[int]:
        held = compiled.reference_fired(fact)
        rules = [i for i in held if compiled.items[i].kind == "regel"]
        return [i for i in held if i != rules[-1]]


def test_a_disagreement_is_a_500_with_log_line_counter_and_no_record(tmp_path, caplog):
    svc = make_app(tmp_path)
    engine = svc.app.state.engines.for_kommune("eksempelkommune")
    engine.cores = (*engine.cores, OneRuleFewer())
    caplog.set_level(logging.INFO)
    r = svc.post(EXAMPLE)
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["fejl_id"] in problem["detail"] and problem["type"].endswith("kerner-uenige")
    [line] = [rec for rec in caplog.records if getattr(rec, "haendelse", "") == "kerner_uenige"]
    assert line.levelno == logging.ERROR and line.fejl_id == problem["fejl_id"]
    assert "#" in line.version and line.felter and line.kerner == ["durable", "defekt"]
    assert "sag-2026-0042" not in caplog.text and "afhaengighed" not in str(line.felter)
    assert svc.store.list_decisions("eksempelkommune", __import__("service.log").log.Filters(), 10, 0)[0] == 0
    metrics = svc.client.get("/metrics").text
    counted = [ln for ln in metrics.splitlines() if ln.startswith("visitator_kerner_uenige_total{")]
    assert counted and float(counted[0].rsplit(" ", 1)[1]) == 1.0
