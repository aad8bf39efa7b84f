"""Differential testing: durable-rules and the plain-Python reference evaluator
must agree on which rules hold and on the whole response, for every screening."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from engine import parse_screening
from engine.fields import facts_from_screening
from strategies import screenings


def _without_core(response):
    response = dict(response)
    response["forklaring"] = {k: v for k, v in response["forklaring"].items() if k != "kerne"}
    return response


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(screenings())
def test_durable_and_reference_agree(engine, ref_engine, body):
    assert _without_core(engine.evaluate(body)) == _without_core(ref_engine.evaluate(body))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(screenings())
def test_same_rules_hold_in_both_cores(engine, ref_engine, body):
    screening = parse_screening(body)
    decision = engine.decide(screening)
    compiled = decision.compiled
    fact = facts_from_screening(screening.model_dump())
    durable = engine._core.fired(compiled, fact)
    assert durable == compiled.reference_fired(fact)
    assert decision.core == "durable"


def test_golden_cases_agree_in_both_cores(engine, ref_engine):
    from conftest import CASES
    from engine.cases import load_cases

    for case in load_cases(CASES):
        if "fejl" in case.forventet:
            continue
        assert _without_core(engine.evaluate(case.screening)) == _without_core(ref_engine.evaluate(case.screening)), case.placering
