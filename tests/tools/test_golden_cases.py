"""The golden cases in cases/, run through the engine, plus what the cases must cover:
every rule, right, precondition and offer version exercised, the day before and the day
of every in-force date, and pending rules (bills not yet passed) never applied.

The law layer's cases (cases/*.yaml) run one by one under the law layer alone on the
two-core engine (durable-rules and the reference evaluator, compared on every decision).
Ported from the old suite's test_golden_cases.py. Pinned elsewhere, so not repeated here:
- every case under every municipality (cases/*.yaml and cases/<kommune>/*.yaml):
  tests/kommuner/test_layers.py `test_golden_cases_pass_under_the_law_layer_and_every_municipality`
  (slow), and on both cores, body for body: tests/engine/test_differential.py;
- every local block exercised by its municipality's own cases: tests/kommuner/test_layers.py
  `test_every_local_block_is_exercised_by_its_municipalitys_own_cases` (slow);
- the invented test layer's cases: tests/kommuner/test_layers.py
  `test_the_example_layer_cases_still_pass_under_the_test_layer`.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine import Engine
from engine.tools.cases import CaseResult, check_case, coverage
from engine.tools.kommuner import LAW, case_folder, layers_in
from engine.validate import load_rulebook
from engine.versions import in_force_dates
from support.cases import case_plan, golden_cases
from support.paths import CASES, RULES

CASE_LIST = golden_cases()
KOMMUNER = layers_in(RULES)
PLAN = case_plan()
LAW_CASES = PLAN.runs[LAW]


@pytest.fixture(scope="module")
def law_results(engine: Engine) -> list[CaseResult]:
    return [check_case(engine, case) for case in LAW_CASES]


@pytest.mark.parametrize("case", LAW_CASES, ids=[f"{c.placering} {c.navn}" for c in LAW_CASES])
def test_golden_case(engine: Engine, case: Any) -> None:
    result = check_case(engine, case)
    assert result.passed, "\n".join(result.problems)


def test_at_least_80_cases_and_each_runs_somewhere() -> None:
    assert len(LAW_CASES) >= 80
    assert not PLAN.problems, [str(p) for p in PLAN.problems]
    own = [c for c in CASE_LIST if case_folder(c, CASES) is not None]
    assert len(LAW_CASES) + len(own) == len(CASE_LIST)


def test_every_rule_and_offer_is_exercised(engine: Engine, law_results: list[CaseResult]) -> None:
    """Every version of every block of the law layer (as `visitator rules test --coverage` counts
    them): each rule applied and each right given by some case, each precondition added and each
    offer chosen."""
    rule_hits, offer_hits = coverage(law_results)
    applied = {(a.rule.id, a.rule.gyldig_fra) for r in law_results if r.decision for a in r.decision.rules if a.applied}
    book = engine.book
    never_rules = [f"{r.id} ({r.placering})" for r in book.rules if not r.afventer and (r.id, r.gyldig_fra) not in applied]
    never_rights = [f"{r.id} ({r.placering})" for r in book.rights if not r.afventer and (r.id, r.gyldig_fra.isoformat()) not in rule_hits]
    never_pre = [f"{p.id} ({p.placering})" for p in book.preconditions if not p.afventer
                 and (p.id, p.gyldig_fra.isoformat()) not in offer_hits]
    never_offers = [f"{o.id} ({o.placering})" for o in book.offers if not o.afventer and (o.id, str(o.position)) not in offer_hits]
    assert not never_rules, f"rules never applied by a golden case: {never_rules}"
    assert not never_rights, f"rights never given by a golden case: {never_rights}"
    assert not never_pre, f"preconditions never added by a golden case: {never_pre}"
    assert not never_offers, f"offers never chosen by a golden case: {never_offers}"


def _missing_days(cases: list[Any], book: Any, law: Any) -> list[str]:
    dates = {c.screening.get("vurderingsdato") for c in cases}
    return [probe.isoformat() for day in in_force_dates(book, law) for probe in (day - timedelta(days=1), day)
            if probe.isoformat() not in dates]


def test_day_before_and_day_of_every_in_force_date(engine: Engine) -> None:
    missing = _missing_days(LAW_CASES, engine.book, engine.law)
    assert not missing, f"no golden case on {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("kommune", KOMMUNER)
def test_day_before_and_day_of_every_in_force_date_under_a_municipality(kommune: str) -> None:
    """A municipality's own blocks add dates; the cases that run under it cover them too."""
    book, law = load_rulebook(RULES / "misbrug", shown_root=RULES.parent, kommune=kommune)
    missing = _missing_days(PLAN.runs[kommune], book, law)
    assert not missing, f"no golden case under {kommune} on {missing}"


def test_pending_rules_are_never_applied(engine: Engine, law_results: list[CaseResult]) -> None:
    pending = {str(i.position) for i in engine.book.items() if i.afventer}
    assert pending, "the pending 2026-07-01 rules must be in the rule set"
    for result in law_results:
        d = result.decision
        if d is None:
            continue
        used = [a.rule for a in d.rules] + [r.ref for r in d.rights] + [p.ref for p in d.preconditions]
        used += [n.kilde for n in d.notes if n.kilde is not None]
        assert not {str(r.position) for r in used} & pending, result.case.placering
    # ... and the cases do reach past the pending date, so this is not vacuous.
    first_pending = min(i.gyldig_fra for i in engine.book.items() if i.afventer).isoformat()
    assert any(r.decision and r.decision.vurderingsdato.isoformat() >= first_pending for r in law_results)

