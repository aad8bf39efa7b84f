"""The four municipalities' layers, the shared RSU layer and how a layer includes it.

Each shipped layer loads, cites its own municipality's document on every block, never gives
what only the law may give, and passes `rules check` and `rules verify`; the golden cases pass
under the law layer alone and under every municipality (engine.tools.kommuner says which run
where). Includes (`inkluder`) are read by engine.validate with file:line errors.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from engine import Engine, RulesInvalid
from engine.api import from_api, to_api
from engine.explain import narrative
from engine.problems import FEJL
from engine.tools.cases import load_cases
from engine.tools.kommuner import LAW, layers_in, plan_cases, run_layer_cases
from engine.validate import load_rulebook, rule_files
from engine.versions import UnknownVersion, version_from_snapshot
from support.bodies import example
from support.layers import TEST_LAYERS, copy_with_test_layers, rules_with_test_layers
from support.paths import CASES, RULES, TODAY

KOMMUNER = ("herning", "silkeborg", "slagelse", "thisted")
#: The document each municipality's blocks must cite (its own policy, nobody else's).
DOKUMENT = {
    "herning": "Herning Kommunes strategi for udsatteområdet",
    "silkeborg": "Misbrugspolitik i Silkeborg Kommune",
    "slagelse": "Slagelse Kommune, Udvalget for Specialiserede Borgerindsatser: Politiske pejlemærker 2019",
    "thisted": "Forslag til implementeringsplan for Thisted Kommunes udsatte- og misbrugspolitik",
}


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    return {k: Engine(RULES, kommune=k, core="reference", today=lambda: TODAY) for k in KOMMUNER}


def test_the_shipped_rules_are_the_four_municipalities_and_no_invented_layer() -> None:
    assert layers_in(RULES) == sorted(KOMMUNER)
    assert not (RULES / "misbrug" / "kommune" / "eksempelkommune.yaml").exists()
    from service.settings import SHIPPED_KOMMUNER, Settings

    assert tuple(sorted(SHIPPED_KOMMUNER)) == tuple(sorted(KOMMUNER)) and Settings().kommuner == SHIPPED_KOMMUNER


def test_every_local_block_cites_its_own_municipalitys_document(engines: dict[str, Engine]) -> None:
    for kommune, engine in engines.items():
        local = [i for i in engine.book.items() if i.lag == "kommune"]
        assert local, kommune
        for item in local:
            assert item.kilde.dokument and item.kilde.dokument.startswith(DOKUMENT[kommune]), (kommune, item.id, item.kilde)
            assert item.kilde.bestemmelse is None, (kommune, item.id)  # local policy, not law
            assert item.position.file == f"regler/misbrug/kommune/{kommune}.yaml"
            # An undated or partly dated document says so in the block's own certainty.
            assert item.kilde.sikkerhed in ("uverificeret", "delvist_verificeret"), (kommune, item.id)


def test_a_layer_only_adds_offers_and_notes_never_law(engines: dict[str, Engine]) -> None:
    for kommune, engine in engines.items():
        assert not [r for r in engine.book.rights if r.lag == "kommune"] and not [s for s in engine.book.scopes if s.lag == "kommune"]
        for rule in (r for r in engine.book.rules if r.lag == "kommune"):
            assert not rule.lovgrundlag and rule.frist is None and rule.skal_tilbyde is None and rule.min_niveau is None, (kommune, rule.id)
        for offer in (o for o in engine.book.offers if o.lag == "kommune"):
            assert not offer.lovgrundlag, (kommune, offer.id)


def test_no_restriction_is_guessed_from_the_garbled_herning_text(engines: dict[str, Engine]) -> None:
    """Herning's 'ingen borgere under 5 ... på forsorgshjem' lost its digits in the source: no age
    limit is applied, the note says so, and a 22-year-old with acute need gets what the law gives."""
    herning = engines["herning"]
    restrictions = [r for r in herning.book.rules if r.lag == "kommune" and (r.udeluk_kategori or r.udeluk_tilbud)]
    assert restrictions == []
    note = next(r for r in herning.book.rules if r.id == "herning-forsorgshjem-unge")
    assert "kan ikke læses" in (note.oplysning or "") and note.kilde.sikkerhed == "uverificeret"
    assert not any(c.felt == "alder" and c.operator == "<" for c in note.conditions if hasattr(c, "felt"))
    young = herning.decide(example(henvendelsesdato="2025-10-06", vurderingsdato="2025-10-06", alder=22, boligsituation="gade",
                                   akut_behov=True, rusmidler=[{"stof": "cannabis", "grad": "afhaengighed"}]))
    bolig = next(t for t in young.tracks if t.spor == "bolig")
    assert bolig.chosen is not None and bolig.chosen.kategori == "forsorgshjem" and bolig.no_alternative is None


def test_dates_come_from_the_documents(engines: dict[str, Engine]) -> None:
    first = {k: min(i.gyldig_fra for i in e.book.items() if i.lag == "kommune") for k, e in engines.items()}
    assert first == {"herning": date(2007, 1, 1), "silkeborg": date(2007, 1, 1), "slagelse": date(2019, 1, 1), "thisted": date(2016, 4, 1)}


def test_rule_files_read_the_law_layer_and_one_municipality_never_a_shared_layer_directly() -> None:
    set_dir = RULES / "misbrug"
    law = rule_files(set_dir)
    assert law and all("/kommune/" not in p.as_posix() and "/faelles/" not in p.as_posix() for p in law)
    herning = rule_files(set_dir, "herning")
    assert set(herning) - set(law) == {set_dir / "kommune" / "herning.yaml"}


# --------------------------------------------------------------------------- the shared layer and includes


def test_a_municipality_includes_the_shared_layer_from_its_own_date() -> None:
    engine = Engine(rules_with_test_layers(), kommune="rsukommune", core="reference", today=lambda: TODAY)
    shared = [i for i in engine.book.items() if i.position.file.endswith("faelles/rsu.yaml")]
    assert {i.id for i in shared} == {"rsu-udgaaende-substitution", "rsu-behandling-i-naermiljoeet"}
    assert all(i.gyldig_fra == date(2020, 1, 1) and i.lag == "kommune" for i in shared)
    body = example(henvendelsesdato="2025-10-06", vurderingsdato="2025-10-06", alder=40, boligsituation="gade",
                   rusmidler=[{"stof": "opioider", "grad": "afhaengighed"}])
    texts = [n.tekst or "" for n in engine.decide(body).notes]
    assert any("substitutionsmedicin der, hvor udsatte borgere opholder sig" in t for t in texts)
    before = engine.decide(dict(body, henvendelsesdato="2019-12-02", vurderingsdato="2019-12-02"))
    assert not any(n.kilde is not None and n.kilde.id.startswith("rsu-") for n in before.notes)
    # ... and a municipality that does not include it never sees it.
    herning = Engine(RULES, kommune="herning", core="reference", today=lambda: TODAY)
    assert not any(i.id.startswith("rsu-") for i in herning.book.items())


def _layer(tmp_path: Path, text: str, name: str = "proevekommune") -> Path:
    rules = copy_with_test_layers(tmp_path / "regler")
    (rules / "misbrug" / "kommune" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return rules


HEAD = "regelsaet: misbrug\nlag: kommune\nkommune: Prøvekommune\nbeskrivelse: En kommune til afprøvning af inkluder.\n"


@pytest.mark.parametrize("text, line, words", [
    (HEAD + "inkluder: [rsx]\n", 5, ["ukendt fælles lag 'rsx'", "mente du 'rsu'"]),
    (HEAD + "inkluder: [rsu, rsu]\n", 5, ["inkluderet to gange"]),
    (HEAD + "inkluder: rsu\n", 5, ["skal være en liste"]),
    (HEAD + "inkluder:\n  - {lag: rsu, fra: snart}\n", 6, ["'fra' skal være en dato"]),
    (HEAD + "inkluder:\n  - {lag: rsu, til: 2020-01-01}\n", 6, ["et element i 'inkluder'"]),
])
def test_a_bad_include_is_refused_with_file_and_line(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    rules = _layer(tmp_path, text)
    with pytest.raises(RulesInvalid) as error:
        load_rulebook(rules / "misbrug", shown_root=tmp_path, kommune="proevekommune")
    found = [str(p) for p in error.value.problems]
    assert any(f"regler/misbrug/kommune/proevekommune.yaml:{line}:" in p and all(w in p for w in words) for p in found), found


def test_only_a_municipality_includes_and_a_shared_layer_includes_nothing(tmp_path: Path) -> None:
    rules = copy_with_test_layers(tmp_path / "regler")
    law_file = rules / "misbrug" / "lov" / "koordinering.yaml"
    law_file.write_text(law_file.read_text(encoding="utf-8").replace("lag: lov\n", "lag: lov\ninkluder: [rsu]\n", 1), encoding="utf-8")
    with pytest.raises(RulesInvalid) as error:
        load_rulebook(rules / "misbrug", shown_root=tmp_path)
    assert any("koordinering.yaml" in str(p) and "kun et kommunelag kan inkludere" in str(p) for p in error.value.problems)
    law_file.write_text(law_file.read_text(encoding="utf-8").replace("inkluder: [rsu]\n", ""), encoding="utf-8")
    shared = rules / "misbrug" / "faelles" / "rsu.yaml"
    shared.write_text(shared.read_text(encoding="utf-8").replace("lag: kommune\n", "lag: kommune\ninkluder: [rsu]\n", 1), encoding="utf-8")
    with pytest.raises(RulesInvalid) as error:
        load_rulebook(rules / "misbrug", shown_root=tmp_path, kommune="rsukommune")
    assert any("faelles/rsu.yaml" in str(p) and "kan ikke selv inkludere" in str(p) for p in error.value.problems)


@pytest.mark.slow
def test_an_included_block_that_widens_the_law_is_caught_per_municipality(tmp_path: Path) -> None:
    """rules check sees an included block as part of the municipality's layer."""
    from engine.tools.check import check

    rules = copy_with_test_layers(tmp_path / "regler")
    shared = rules / "misbrug" / "faelles" / "rsu.yaml"
    shared.write_text(shared.read_text(encoding="utf-8") + """
tilbud:
  - id: rsu-bostoette-alle
    navn: Bostøtte til alle
    kategori: forsorgshjem
    spor: bolig
    indgrebsniveau: 7
    beskrivelse: Et forkert blok, der gør forsorgshjem egnet uden hjemløshed.
    gyldig_fra: 2007-01-01
    kilde: {dokument: "Prøve: et forkert fælles lag"}
""", encoding="utf-8")
    findings = check(rules / "misbrug", shown_root=tmp_path, law_dir=rules / "love", kommune="rsukommune")
    assert any(f.level == FEJL and "faelles/rsu.yaml" in str(f.where) and "udvider, hvad loven tillader" in f.message for f in findings), \
        [str(f) for f in findings]


# --------------------------------------------------------------------------- the layer's fingerprint


def test_kommune_sha256_names_the_layer_and_comes_back_from_the_snapshot(engines: dict[str, Engine]) -> None:
    body = example(henvendelsesdato="2025-10-06", vurderingsdato="2025-10-06")
    shas = {}
    for kommune, engine in engines.items():
        decision = engine.decide(body)
        api = to_api(decision, narrative(decision))
        header = api["regelsaet"]
        assert header["kommune"] == engine.version_for(date(2025, 10, 6)).kommune and header["kommune"].endswith("Kommune")
        shas[kommune] = header["kommune_sha256"]
        assert from_api(json.loads(json.dumps(api))) == decision
        version = engine.version_for(date(2025, 10, 6))
        snapshot = json.loads(json.dumps(version.snapshot()))
        assert snapshot["kommune_sha256"] == header["kommune_sha256"] and "kommune_sha256" not in snapshot["indhold"]
        assert version_from_snapshot(snapshot).kommune_sha256 == header["kommune_sha256"]
        snapshot["kommune_sha256"] = "0" * 64
        with pytest.raises(UnknownVersion):
            version_from_snapshot(snapshot)
    assert len(set(shas.values())) == 4
    law = Engine(RULES, core="reference", today=lambda: TODAY).decide(body)
    assert "kommune_sha256" not in to_api(law, narrative(law))["regelsaet"] and law.version.kommune is None


@pytest.mark.slow
def test_kommune_sha256_changes_with_the_layer_in_force_and_not_otherwise(tmp_path: Path) -> None:
    rules = copy_with_test_layers(tmp_path / "regler")
    before = Engine(rules, kommune="thisted", core="reference", today=lambda: TODAY).version_for(date(2025, 1, 1))
    layer = rules / "misbrug" / "kommune" / "thisted.yaml"
    layer.write_text(layer.read_text(encoding="utf-8").replace("har fokus på at mindske opholdstiden",
                                                               "har særligt fokus på at mindske opholdstiden"), encoding="utf-8")
    after = Engine(rules, kommune="thisted", core="reference", today=lambda: TODAY).version_for(date(2025, 1, 1))
    assert before.kommune_sha256 != after.kommune_sha256 and before.sha256 != after.sha256
    law = rules / "misbrug" / "lov" / "koordinering.yaml"
    law.write_text(law.read_text(encoding="utf-8").replace("ikke et lovkrav.", "ikke et lovkrav (retningslinje)."), encoding="utf-8")
    third = Engine(rules, kommune="thisted", core="reference", today=lambda: TODAY).version_for(date(2025, 1, 1))
    assert third.kommune_sha256 == after.kommune_sha256 and third.sha256 != after.sha256


# --------------------------------------------------------------------------- golden cases per layer


@pytest.mark.slow
def test_golden_cases_pass_under_the_law_layer_and_every_municipality() -> None:
    cases = load_cases(CASES)
    plan = plan_cases(cases, CASES, [LAW, *KOMMUNER], KOMMUNER)
    assert not plan.problems
    assert all(len(plan.runs[k]) > len(plan.runs[LAW]) for k in KOMMUNER)  # each has its own cases on top
    failed = []
    for target in (LAW, *KOMMUNER):
        engine = Engine(RULES, kommune=None if target == LAW else target, core="reference", today=lambda: TODAY)
        failed += [f"{target}: {r.case.placering} {r.case.navn}: {r.problems}" for r in run_layer_cases(engine, plan.runs[target], plan)
                   if not r.passed]
    assert not failed, "\n".join(failed)


def test_a_municipalitys_case_replaces_the_law_case_of_the_same_name_there_only(tmp_path: Path) -> None:
    cases_dir = tmp_path / "cases"
    (cases_dir / "herning").mkdir(parents=True)
    case = ("tilfaelde:\n  - navn: Samme navn\n    screening: {henvendelsesdato: 2025-10-06, alder: 34, rusmidler: [{stof: cannabis, grad: "
            "afhaengighed}], dobbeltdiagnose: false, boligsituation: egen_bolig}\n    forventet:\n      spor:\n        behandling: "
            "{tilbud: %s}\n")
    (cases_dir / "lov.yaml").write_text(case % "ambulant", encoding="utf-8")
    (cases_dir / "herning" / "eget.yaml").write_text(case % "misbrugscenter-herning", encoding="utf-8")
    (cases_dir / "ukendt").mkdir()
    (cases_dir / "ukendt" / "x.yaml").write_text(case % "ambulant", encoding="utf-8")
    cases = load_cases(cases_dir)
    plan = plan_cases(cases, cases_dir, [LAW, "herning", "silkeborg"], KOMMUNER)
    assert [str(p.where) for p in plan.problems] == ["cases/ukendt/x.yaml:2"] and "svarer ikke til et kommunelag" in plan.problems[0].message
    assert [c.position.file for c in plan.runs["herning"]] == ["cases/herning/eget.yaml"]
    assert [c.position.file for c in plan.runs["silkeborg"]] == [c.position.file for c in plan.runs[LAW]] == ["cases/lov.yaml"]


def test_a_law_case_accepts_a_local_offer_of_the_same_category_and_level_as_stand_in(engines: dict[str, Engine]) -> None:
    cases = [c for c in load_cases(CASES) if c.position.file == "cases/stoffer.yaml"][:3]
    plan = plan_cases(cases, CASES, ["herning"], KOMMUNER)
    results = run_layer_cases(engines["herning"], plan.runs["herning"], plan)
    assert all(r.passed for r in results) and any(t.chosen and t.chosen.id == "misbrugscenter-herning"
                                                  for r in results if r.decision for t in r.decision.tracks)
    # ... but not without the plan (a municipality's own case names its own offer).
    assert not all(r.passed for r in run_layer_cases(engines["herning"], plan.runs["herning"]))


def test_the_example_layer_cases_still_pass_under_the_test_layer() -> None:
    """The invented layer moved to tests/fixtures with its cases (a restriction never escalates)."""
    cases_dir = TEST_LAYERS / "cases"
    engine = Engine(rules_with_test_layers(), kommune="eksempelkommune", core="reference", today=lambda: TODAY)
    results = run_layer_cases(engine, load_cases(cases_dir))
    assert len(results) == 5 and all(r.passed for r in results), [(r.case.navn, r.problems) for r in results if not r.passed]


# --------------------------------------------------------------------------- check and verify per municipality


@pytest.mark.slow
@pytest.mark.parametrize("kommune", KOMMUNER)
def test_rules_check_proves_no_layer_widens_the_law(kommune: str) -> None:
    from engine.tools.check import check

    findings = check(RULES / "misbrug", shown_root=RULES.parent, law_dir=RULES / "love", kommune=kommune)
    assert not findings, "\n".join(str(f) for f in findings)


@pytest.mark.slow
def test_rules_check_checks_the_shared_layer_as_included() -> None:
    from service.cli.kommuner import check_shared_layers

    assert check_shared_layers(RULES) == []


@pytest.mark.slow
@pytest.mark.parametrize("kommune", (None, *KOMMUNER))
def test_rules_verify_finds_no_violation_under_any_layer(kommune: str) -> None:
    from engine.tools.verify import verify

    report = verify(Engine(RULES, kommune=kommune, core="reference", today=lambda: TODAY), workers=1, limit=3)
    assert not report.violations, report.violations


@pytest.mark.slow
def test_every_local_block_is_exercised_by_its_municipalitys_own_cases() -> None:
    """Each version of each local offer is chosen, and each local rule applied, by a case in cases/<kommune>/."""
    from engine.tools.cases import coverage

    cases = load_cases(CASES)
    plan = plan_cases(cases, CASES, KOMMUNER, KOMMUNER)
    for kommune in KOMMUNER:
        engine = Engine(RULES, kommune=kommune, core="reference", today=lambda: TODAY)
        own = [c for c in plan.runs[kommune] if c.position.file.startswith(f"cases/{kommune}/")]
        rule_hits, offer_hits = coverage(run_layer_cases(engine, own, plan))
        for item in (i for i in engine.book.items() if i.lag == "kommune"):
            hits = offer_hits.get((item.id, str(item.position)), 0) if item.kind == "tilbud" else \
                rule_hits.get((item.id, item.gyldig_fra.isoformat()), 0)
            assert hits, f"{kommune}: {item.kind} '{item.id}' ({item.placering}) is never exercised by cases/{kommune}/"
