"""Differential testing: durable-rules and the plain-Python reference evaluator give the
same response body, on random screenings and on every golden case, under the law layer
and under every municipality.

The two-core engine (the `engine` fixture, durable-rules first) makes its decision from
durable-rules' answer and only compares the reference's; the reference engine
(`ref_engine`) runs the reference alone. So their bodies are the two cores' bodies.

Ported from the old suite's test_differential.py. Pinned elsewhere, so not repeated here:
- the same blocks hold in both cores: tests/engine/test_cores.py
  `test_durable_and_reference_fire_the_same_blocks` (hypothesis), and over the whole input
  space of every version: tests/tools/test_bulk.py (slow);
- a decision names the cores that agreed on it (the old `decision.core == "durable"`):
  tests/engine/test_cores.py `test_a_decision_names_the_cores_that_agreed`;
- a disagreement refuses to decide: tests/engine/test_cores.py
  `test_a_disagreement_refuses_to_decide_and_names_what_differs`.
"""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from engine import Engine
from engine.tools.kommuner import LAW, layers_in
from support.cases import case_plan
from support.paths import RULES, TODAY
from support.strategies import screenings

QUICK, THOROUGH = 30, 300
KOMMUNER = layers_in(RULES)


def without_cores(body: Any) -> dict[str, Any]:
    """The body without the names of the cores that computed it (the only part that may differ)."""
    out = dict(body)
    out["forklaring"] = {k: v for k, v in body["forklaring"].items() if k not in ("kerne", "kerner")}
    return out


def _durable_first(engine: Engine) -> Engine:
    assert engine.core_names == ("durable", "reference"), engine.core_names  # the body comes from durable-rules' answer
    return engine


def _same_body(durable: Engine, reference: Engine, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(screenings())
    def check(body: dict[str, Any]) -> None:
        assert without_cores(durable.evaluate(body)) == without_cores(reference.evaluate(body))

    check()


def _cases_agree(durable: Engine, reference: Engine, cases: list[Any]) -> None:
    compared = 0
    for case in cases:
        if "fejl" in case.forventet:
            continue
        assert without_cores(durable.evaluate(case.screening)) == without_cores(reference.evaluate(case.screening)), case.placering
        compared += 1
    assert compared


@pytest.mark.parametrize("examples", [pytest.param(QUICK, id="quick"), pytest.param(THOROUGH, id="thorough", marks=pytest.mark.slow)])
def test_durable_and_reference_give_the_same_body(engine: Engine, ref_engine: Engine, examples: int) -> None:
    assert ref_engine.core_names == ("reference",)
    _same_body(_durable_first(engine), ref_engine, examples)


def test_golden_cases_agree_in_both_cores(engine: Engine, ref_engine: Engine) -> None:
    _cases_agree(_durable_first(engine), ref_engine, case_plan().runs[LAW])


@pytest.mark.slow
@pytest.mark.parametrize("kommune", KOMMUNER)
def test_both_cores_agree_under_a_municipality(kommune: str) -> None:
    """Every case that runs under the municipality, and random screenings."""
    durable = _durable_first(Engine(RULES, kommune=kommune, today=lambda: TODAY))
    reference = Engine(RULES, kommune=kommune, core="reference", today=lambda: TODAY)
    _cases_agree(durable, reference, case_plan().runs[kommune])
    _same_body(durable, reference, 100)
