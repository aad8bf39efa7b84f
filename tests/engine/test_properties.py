"""Laws of the domain, checked over all valid screenings and dates (hypothesis).

Each property runs twice: a quick pass in the inner loop (`pytest -m "not slow"`)
and a thorough pass marked slow. The reference core runs them (it is fast);
every decision of the two-core engine is compared at run time
(tests/engine/test_cores.py), and tests/engine/test_differential.py shows the
two cores give the same response body.

Ported from the old suite's test_properties.py. Pinned elsewhere, so not repeated here:
- a decision's typed form round-trips through the API body: test_cores.py
  `test_the_decision_round_trips_through_the_api_body`;
- the fingerprint ignores the order of blocks: test_versions.py
  `test_fingerprints_ignore_comments_order_and_files` (here: the decisions do too).
"""
from __future__ import annotations

import copy
import json
import random
import re
import shutil
from datetime import date
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Engine
from support.paths import RULES, TODAY
from support.strategies import screenings

#: Examples per property: the inner loop's quick pass, and the thorough pass (slow).
QUICK, THOROUGH = 30, 400
DEPTHS = [pytest.param(QUICK, id="quick"), pytest.param(THOROUGH, id="thorough", marks=pytest.mark.slow)]


def for_all(examples: int, check: Callable[..., None], *strategies: st.SearchStrategy[Any]) -> None:
    """Run `check` on `examples` drawn examples (hypothesis shrinks and reports a failing one)."""
    settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])(given(*strategies)(check))()


def legal_refs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every provision the response gives as a legal basis or a deadline's basis, and every
    provision it cites anywhere else (rights, preconditions, notes)."""
    refs = list(body["lovgrundlag"])
    for a in body["anbefalinger"]:
        refs += a["lovgrundlag"]
    refs += [d["lovgrundlag"] for d in body["frister"]]
    for p in body["forudsaetninger"]:
        refs += p["lovgrundlag"]
    refs += [r["lovgrundlag"] for r in body["rettigheder"]]
    refs += [n["lovgrundlag"] for n in body["forklaring"]["noter"] if "lovgrundlag" in n]
    return refs


def treatment_level(body: dict[str, Any]) -> int | None:
    for a in body["anbefalinger"]:
        if a["spor"] == "behandling":
            return int(a["tilbud"]["indgrebsniveau"])
    return None


# --------------------------------------------------------------------------- every screening gets a sound answer


@pytest.mark.parametrize("examples", DEPTHS)
def test_every_valid_screening_gets_a_result(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        response = ref_engine.evaluate(body)
        assert response["regelsaet"]["navn"] == "misbrug"
        assert response["forklaring"]["tekst"]
        for a in response["anbefalinger"]:
            assert a["tilbud"]["id"] and a["begrundelse"]

    for_all(examples, check, screenings())


@pytest.mark.parametrize("examples", DEPTHS)
def test_evaluation_is_deterministic(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        assert ref_engine.evaluate(body) == ref_engine.evaluate(copy.deepcopy(body))

    for_all(examples, check, screenings())


# --------------------------------------------------------------------------- the order of blocks in a file means nothing

#: The lists of blocks shuffled (the old suite shuffled `regler` and `tilbud`). The personkreds blocks
#: too: their order once decided the order of their conditions in the trace (compile now sorts them by id).
_BLOCK_LISTS = ("tilbud", "regler", "forudsaetninger", "rettigheder", "personkreds")


#: libyaml where PyYAML has it (ten times faster), else PyYAML's own.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@pytest.fixture(scope="module")
def shuffled_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The shipped rules with the blocks of every file (and the law history's provisions) in another order."""
    target = tmp_path_factory.mktemp("shuffled") / "regler"
    shutil.copytree(RULES, target)
    rng = random.Random(20261123)
    for path in sorted(target.rglob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        for key in (*_BLOCK_LISTS, "bestemmelser"):
            if isinstance(data.get(key), list):
                rng.shuffle(data[key])
        path.write_text(yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return Engine(target, core="reference", today=lambda: TODAY)


_POSITION = re.compile(r"regler/[\w/.-]+\.yaml:\d+(?::\d+)?")


def without_positions(response: dict[str, Any]) -> dict[str, Any]:
    """A response with file:line:column positions taken out: the only thing that may change
    when blocks in a rule file are reordered (the fingerprint names content, not layout)."""
    return json.loads(_POSITION.sub("POS", json.dumps(response, ensure_ascii=False)))


def test_the_shuffled_files_really_are_in_another_order(shuffled_engine: Engine, ref_engine: Engine) -> None:
    assert [i.position for i in shuffled_engine.book.rules] != [i.position for i in ref_engine.book.rules]
    assert [v.sha256 for v in shuffled_engine.versions()] == [v.sha256 for v in ref_engine.versions()]


@pytest.mark.parametrize("examples", DEPTHS)
def test_order_of_blocks_in_a_file_changes_nothing(ref_engine: Engine, shuffled_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        assert without_positions(shuffled_engine.evaluate(body)) == without_positions(ref_engine.evaluate(body))

    for_all(examples, check, screenings())


@pytest.fixture(scope="module")
def personkreds_swapped(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The shipped rules with two neighbouring personkreds blocks swapped, and nothing else changed."""
    rules = tmp_path_factory.mktemp("swapped") / "regler"
    shutil.copytree(RULES, rules)
    path = rules / "misbrug/lov/personkreds.yaml"
    text = path.read_text(encoding="utf-8")
    a, b = text.index("  - id: personkreds-sul-141\n"), text.index("  - id: personkreds-sul-141-l126\n")
    c = text.index("\n  - id: ", b) + 1
    path.write_text(text[:a] + text[b:c] + text[a:b] + text[c:], encoding="utf-8")
    return Engine(rules, core="reference", today=lambda: TODAY)


@pytest.mark.slow  # (with the one below: another rule folder to load)
def test_swapping_two_personkreds_blocks_keeps_every_fingerprint(personkreds_swapped: Engine, ref_engine: Engine) -> None:
    assert [v.sha256 for v in personkreds_swapped.versions()] == [v.sha256 for v in ref_engine.versions()]
    assert [s.id for s in personkreds_swapped.book.scopes] != [s.id for s in ref_engine.book.scopes]


#: The smallest screening found whose trace depended on the order of personkreds blocks.
ALCOHOL_2025 = {"henvendelsesdato": "2025-01-01", "vurderingsdato": "2025-01-01", "alder": 40,
                "rusmidler": [{"stof": "alkohol", "grad": "risikabelt"}], "dobbeltdiagnose": False, "boligsituation": "egen_bolig"}


@pytest.mark.slow
def test_order_of_personkreds_blocks_changes_nothing(personkreds_swapped: Engine, ref_engine: Engine) -> None:
    assert without_positions(personkreds_swapped.evaluate(ALCOHOL_2025)) == without_positions(ref_engine.evaluate(ALCOHOL_2025))


# --------------------------------------------------------------------------- least intrusive, never less for more need

_MORE_NEED = ["ustabil", "behov_for_skaerming", "tidligere_forloeb_uden_effekt", "grad"]
_GRADE_UP = {"risikabelt": "skadeligt", "skadeligt": "afhaengighed", "afhaengighed": "afhaengighed"}


@pytest.mark.parametrize("examples", DEPTHS)
def test_more_need_never_gives_a_less_intrusive_treatment_offer(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any], change: str, which: int) -> None:
        before = treatment_level(ref_engine.evaluate(body))
        more = copy.deepcopy(body)
        if change == "grad":
            if more["rusmidler"]:
                item = more["rusmidler"][which % len(more["rusmidler"])]
                item["grad"] = _GRADE_UP[item["grad"]]
            else:
                more["rusmidler"] = [{"stof": "alkohol", "grad": "risikabelt"}]
        else:
            more[change] = True
        after = treatment_level(ref_engine.evaluate(more))
        if before is not None:
            assert after is not None, f"{change} removed the treatment track"
            assert after >= before, f"{change}: {before} -> {after}"

    for_all(examples, check, screenings(), st.sampled_from(_MORE_NEED), st.integers(0, 3))


@pytest.mark.parametrize("examples", DEPTHS)
def test_every_less_intrusive_offer_has_a_reason(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
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

    for_all(examples, check, screenings())


# --------------------------------------------------------------------------- the law by date


@pytest.mark.parametrize("examples", DEPTHS)
def test_no_serviceloven_for_under_18_from_2024(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        assert not [r for r in legal_refs(ref_engine.evaluate(body)) if r["lov"] == "SEL"]

    for_all(examples, check, screenings(first=date(2024, 1, 1)).map(lambda b: {**b, "alder": b["alder"] % 18}))


@pytest.mark.parametrize("examples", DEPTHS)
def test_no_101_a_before_july_2015(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        assert not [r for r in legal_refs(ref_engine.evaluate(body)) if r["paragraf"] == "101 a"]

    for_all(examples, check, screenings(last=date(2015, 6, 30)))


@pytest.mark.parametrize("examples", DEPTHS)
def test_no_85_a_before_october_2023(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        response = ref_engine.evaluate(body)
        assert not [r for r in legal_refs(response) if r["paragraf"] == "85 a"]
        assert not [a for a in response["anbefalinger"] if a["tilbud"]["kategori"].startswith("housing_first")]

    for_all(examples, check, screenings(last=date(2023, 9, 30)))


@pytest.mark.parametrize("examples", DEPTHS)
def test_no_82_c_before_september_2024(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        assert not [r for r in legal_refs(ref_engine.evaluate(body)) if r["lov"] == "SUL" and r["paragraf"] == "82 c"]

    for_all(examples, check, screenings(last=date(2024, 8, 31)))


@pytest.mark.parametrize("examples", DEPTHS)
def test_alcohol_alone_never_gives_sel_101(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        refs = legal_refs(ref_engine.evaluate(body))
        assert not [r for r in refs if r["lov"] == "SEL" and r["paragraf"] in ("101", "101 a")]

    alcohol_only = screenings().map(lambda b: {**b, "rusmidler": [r for r in b["rusmidler"] if r["stof"] == "alkohol"]})
    for_all(examples, check, alcohol_only)


@pytest.mark.parametrize("examples", DEPTHS)
def test_forsorgshjem_only_with_akut_behov_from_october_2023(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        response = ref_engine.evaluate(body)
        if any(a["tilbud"]["kategori"] == "forsorgshjem" for a in response["anbefalinger"]):
            assert body.get("akut_behov") is True

    for_all(examples, check, screenings(first=date(2023, 10, 1)))


@pytest.mark.parametrize("examples", DEPTHS)
def test_doegn_needs_a_recorded_reason(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        for a in ref_engine.evaluate(body)["anbefalinger"]:
            if a["tilbud"]["kategori"] in ("doegnbehandling", "doegn_kontrakt"):
                assert body.get("ustabil") or body.get("behov_for_skaerming") or body.get("gravid")

    for_all(examples, check, screenings())


@pytest.mark.parametrize("examples", DEPTHS)
def test_koordinerende_indsatsplan_is_never_given_a_legal_basis(ref_engine: Engine, examples: int) -> None:
    def check(body: dict[str, Any]) -> None:
        for a in ref_engine.evaluate(body)["anbefalinger"]:
            if a["tilbud"]["kategori"] == "koordinerende_indsatsplan":
                assert a["lovgrundlag"] == []

    for_all(examples, check, screenings())


# --------------------------------------------------------------------------- pending rules (lovforslag) are never applied


@pytest.mark.parametrize("examples", DEPTHS)
def test_pending_blocks_are_never_applied(ref_engine: Engine, examples: int) -> None:
    """Nothing marked `status: afventer` (a bill not yet passed) takes part in a decision, on any date."""
    pending = {str(i.position) for i in ref_engine.book.items() if i.afventer}
    assert pending, "the shipped rules hold pending blocks (from 2026-07-01)"
    first_pending = min(i.gyldig_fra for i in ref_engine.book.items() if i.afventer)

    def check(body: dict[str, Any]) -> None:
        d = ref_engine.decide(body)
        assert not next(v for v in ref_engine.versions() if v.sha256 == d.version.sha256).afventer
        used = [a.rule for a in d.rules] + [r.ref for r in d.rights] + [p.ref for p in d.preconditions]
        used += [n.kilde for n in d.notes if n.kilde is not None]
        offers = [v.offer for t in d.tracks for v in t.verdicts] + [p.offer for p in d.preconditions]
        assert not {str(r.position) for r in used} & pending
        assert not {str(o.position) for o in offers} & pending

    for_all(examples, check, screenings(first=first_pending))
