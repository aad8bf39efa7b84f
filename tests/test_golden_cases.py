"""The golden cases in cases/, run through the engine, plus the coverage the
cases must give: every rule and offer exercised, and the day before and the day
of every in-force date."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import CASES
from engine.cases import check_case, coverage, load_cases, run_cases
from engine.versions import in_force_dates

CASE_LIST = load_cases(CASES)


@pytest.mark.parametrize("case", CASE_LIST, ids=[f"{c.placering} {c.navn}" for c in CASE_LIST])
def test_golden_case(engine, case):
    result = check_case(engine, case)
    assert result.passed, "\n".join(result.problems)


def test_at_least_80_cases():
    assert len(CASE_LIST) >= 80


def test_every_rule_and_offer_is_exercised(engine):
    rule_hits, offer_hits = coverage(run_cases(engine, CASE_LIST))
    never_rules = [f"{r.id} ({r.placering})" for r in engine.book.rules if not r.afventer and (r.id, r.gyldig_fra.isoformat()) not in rule_hits]
    never_offers = [f"{o.id} ({o.placering})" for o in engine.book.offers if (o.id, o.placering) not in offer_hits]
    assert not never_rules, f"rules never fired by a golden case: {never_rules}"
    assert not never_offers, f"offers never chosen by a golden case: {never_offers}"


def test_day_before_and_day_of_every_in_force_date(engine):
    dates = {c.screening.get("vurderingsdato") for c in CASE_LIST}
    missing = []
    for day in in_force_dates(engine.book):
        for probe in (day - timedelta(days=1), day):
            if probe.isoformat() not in dates:
                missing.append(probe.isoformat())
    assert not missing, f"no golden case on {missing}"


def test_pending_rules_are_never_applied(engine):
    pending = {r.id for r in engine.book.rules if r.afventer}
    assert pending, "the pending 2026-07-01 rules must be in the rule set"
    for result in run_cases(engine, CASE_LIST):
        if result.response:
            fired = {r["id"] for r in result.response["forklaring"]["regler"]}
            assert not fired & pending
