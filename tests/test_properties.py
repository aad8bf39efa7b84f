"""Laws of the domain, checked over all valid screenings and dates (hypothesis).

The reference core runs most properties (it is fast); test_differential.py
shows durable-rules gives the same answers."""
from __future__ import annotations

import copy
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import screenings

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _legal_refs(response):
    refs = list(response["lovgrundlag"])
    for a in response["anbefalinger"]:
        refs += a["lovgrundlag"]
    refs += [d["lovgrundlag"] for d in response["frister"]]
    return refs


def _treatment_level(response):
    for a in response["anbefalinger"]:
        if a["spor"] == "behandling":
            return a["tilbud"]["indgrebsniveau"]
    return None


@SETTINGS
@given(screenings())
def test_every_valid_screening_gets_a_result(ref_engine, body):
    response = ref_engine.evaluate(body)
    assert response["regelsaet"]["navn"] == "misbrug"
    assert response["forklaring"]["tekst"]
    for a in response["anbefalinger"]:
        assert a["tilbud"]["id"] and a["begrundelse"]


@SETTINGS
@given(screenings())
def test_evaluation_is_deterministic(ref_engine, body):
    assert ref_engine.evaluate(body) == ref_engine.evaluate(copy.deepcopy(body))


@SETTINGS
@given(screenings())
def test_order_of_rules_in_a_file_changes_nothing(ref_engine, shuffled_engine, body):
    from conftest import without_positions

    assert without_positions(shuffled_engine.evaluate(body)) == without_positions(ref_engine.evaluate(body))


_MORE_NEED = ["ustabil", "behov_for_skaerming", "tidligere_forloeb_uden_effekt", "grad"]
_GRADE_UP = {"risikabelt": "skadeligt", "skadeligt": "afhaengighed", "afhaengighed": "afhaengighed"}


@SETTINGS
@given(screenings(), st.sampled_from(_MORE_NEED), st.integers(0, 3))
def test_more_need_never_gives_a_less_intrusive_treatment_offer(ref_engine, body, change, which):
    before = _treatment_level(ref_engine.evaluate(body))
    more = copy.deepcopy(body)
    if change == "grad":
        if more["rusmidler"]:
            item = more["rusmidler"][which % len(more["rusmidler"])]
            item["grad"] = _GRADE_UP[item["grad"]]
        else:
            more["rusmidler"] = [{"stof": "alkohol", "grad": "risikabelt"}]
    else:
        more[change] = True
    after = _treatment_level(ref_engine.evaluate(more))
    if before is not None:
        assert after is not None, f"{change} removed the treatment track"
        assert after >= before, f"{change}: {before} -> {after}"


@SETTINGS
@given(screenings(first=date(2024, 1, 1)).map(lambda b: {**b, "alder": b["alder"] % 18}))
def test_no_serviceloven_for_under_18_from_2024(ref_engine, body):
    response = ref_engine.evaluate(body)
    assert not [r for r in _legal_refs(response) if r["lov"] == "SEL"]


@SETTINGS
@given(screenings(last=date(2015, 6, 30)))
def test_no_101_a_before_july_2015(ref_engine, body):
    assert not [r for r in _legal_refs(ref_engine.evaluate(body)) if r["paragraf"] == "101 a"]


@SETTINGS
@given(screenings(last=date(2023, 9, 30)))
def test_no_85_a_before_october_2023(ref_engine, body):
    response = ref_engine.evaluate(body)
    assert not [r for r in _legal_refs(response) if r["paragraf"] == "85 a"]
    assert not [a for a in response["anbefalinger"] if a["tilbud"]["kategori"].startswith("housing_first")]


@SETTINGS
@given(screenings(last=date(2024, 8, 31)))
def test_no_82_c_before_september_2024(ref_engine, body):
    response = ref_engine.evaluate(body)
    assert not [r for r in _legal_refs(response) if r["lov"] == "SUL" and r["paragraf"] == "82 c"]


@SETTINGS
@given(screenings().map(lambda b: {**b, "rusmidler": [r for r in b["rusmidler"] if r["stof"] == "alkohol"]}))
def test_alcohol_alone_never_gives_sel_101(ref_engine, body):
    refs = _legal_refs(ref_engine.evaluate(body))
    assert not [r for r in refs if r["lov"] == "SEL" and r["paragraf"] in ("101", "101 a")]


@SETTINGS
@given(screenings(first=date(2023, 10, 1)))
def test_forsorgshjem_only_with_akut_behov_from_october_2023(ref_engine, body):
    response = ref_engine.evaluate(body)
    if any(a["tilbud"]["kategori"] == "forsorgshjem" for a in response["anbefalinger"]):
        assert body.get("akut_behov") is True


@SETTINGS
@given(screenings())
def test_doegn_needs_a_recorded_reason(ref_engine, body):
    response = ref_engine.evaluate(body)
    for a in response["anbefalinger"]:
        if a["tilbud"]["kategori"] in ("doegnbehandling", "doegn_kontrakt"):
            assert body.get("ustabil") or body.get("behov_for_skaerming") or body.get("gravid")


@SETTINGS
@given(screenings())
def test_koordinerende_indsatsplan_is_never_given_a_legal_basis(ref_engine, body):
    for a in ref_engine.evaluate(body)["anbefalinger"]:
        if a["tilbud"]["kategori"] == "koordinerende_indsatsplan":
            assert a["lovgrundlag"] == []


@SETTINGS
@given(screenings())
def test_every_less_intrusive_offer_has_a_reason(ref_engine, body):
    response = ref_engine.evaluate(body)
    for track in response["forklaring"]["spor"]:
        if track["valgt"] is None:
            continue
        chosen = next(t for t in track["tilbud"] if t["id"] == track["valgt"])
        for offer in track["tilbud"]:
            if offer["id"] != chosen["id"]:
                assert offer["grund"], offer
                listed = [f for f in response["forklaring"]["fravalgt"] if f["tilbud"] == offer["id"] and f["spor"] == track["spor"]]
                assert listed, f"{offer['id']} missing from fravalgt"
