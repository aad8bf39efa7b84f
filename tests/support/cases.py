"""The golden cases of cases/, read once per test process (reading them takes a third of a
second), and the plan of which layer runs which (engine.tools.kommuner)."""
from __future__ import annotations

from functools import lru_cache

from engine.tools.cases import GoldenCase, load_cases
from engine.tools.kommuner import LAW, CasePlan, layers_in, plan_cases
from support.paths import CASES, RULES


@lru_cache(maxsize=1)
def golden_cases() -> tuple[GoldenCase, ...]:
    return tuple(load_cases(CASES))


@lru_cache(maxsize=1)
def case_plan() -> CasePlan:
    """The cases each target runs: LAW (the law layer alone) and every municipality of regler/."""
    kommuner = layers_in(RULES)
    return plan_cases(list(golden_cases()), CASES, [LAW, *kommuner], kommuner)
