"""`visitator rules verify`: the exhaustive check finds real breaks and reports
them as golden cases; the shipped rules pass (checked in CI by the CLI test)."""
from __future__ import annotations

from pathlib import Path

import yaml

from conftest import TODAY
from engine import Engine
from engine.cases import GoldenCase, check_case
from engine.space import axes_for, space_size
from engine.verify import counterexamples_yaml, verify


def _edit(rules_dir: Path, path: str, old: str, new: str) -> None:
    target = rules_dir / path
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_rules_have_no_violations_in_the_latest_versions(ref_engine):
    report = verify(ref_engine, workers=1, only_versions={"2024-09-01", "2026-04-01"})
    assert report.points > 30_000
    assert report.violations == {}


def test_a_shelter_without_acute_need_is_found_and_reported_as_a_case(rules_copy):
    # Break the 2023 reform: drop 'akut_behov' from the § 110 offer and let
    # homelessness alone ask for a shelter.
    _edit(rules_copy, "misbrug/lov/bolig.yaml", "      - {felt: hjemloes, operator: \"=\", vaerdi: true}\n      - {felt: akut_behov, operator: \"=\", vaerdi: true}\n", "      - {felt: hjemloes, operator: \"=\", vaerdi: true}\n")
    _edit(rules_copy, "misbrug/lov/bolig.yaml", "      - {felt: hjemloes, operator: \"=\", vaerdi: true}\n      - {felt: akut_behov, operator: \"=\", vaerdi: true}\n    saa:\n      spor: bolig\n      mindst_indgrebsniveau: 7", "      - {felt: hjemloes, operator: \"=\", vaerdi: true}\n    saa:\n      spor: bolig\n      mindst_indgrebsniveau: 7")
    engine = Engine(rules_copy, core="reference", today=lambda: TODAY)
    report = verify(engine, workers=1, only_versions={"2024-09-01"}, only_tracks={"bolig"})
    assert report.violations.get("lov", 0) > 0
    cases = yaml.safe_load(counterexamples_yaml(report))["tilfaelde"]
    assert cases and "akut" in cases[0]["navn"]
    # The case is ready to paste: it runs and reproduces today's (wrong) result.
    case = GoldenCase(cases[0]["navn"], "modeksempel", 1, cases[0]["screening"], cases[0]["forventet"])
    assert check_case(engine, case).passed


def test_monotonicity_break_is_found(rules_copy):
    # A local offer that claims to cover døgn-level need but is only for
    # unstable citizens: adding 'ustabil' to someone in dagbehandling (level 4)
    # would then give this level-3 offer, i.e. a less intrusive one.
    _edit(rules_copy, "misbrug/kommune/eksempelkommune.yaml", "\nregler:\n", """
  - id: intensiv-ambulant-test
    navn: Intensiv ambulant behandling (test)
    kategori: ambulant
    spor: behandling
    indgrebsniveau: 3
    daekker_op_til_niveau: 6
    beskrivelse: Et bevidst forkert tilbud, der bryder mindste indgrebs princip.
    gyldig_fra: 2024-09-01
    kilde: {dokument: "test"}
    egnet_hvis:
      - {felt: ustabil, operator: "=", vaerdi: true}

regler:
""")
    engine = Engine(rules_copy, core="reference", today=lambda: TODAY)
    report = verify(engine, workers=1, only_versions={"2024-09-01"}, only_tracks={"behandling"})
    assert report.violations.get("monotoni", 0) > 0
    assert any("ustabil sat" in c.message for c in report.counterexamples)


def test_space_is_split_at_every_age_threshold(ref_engine):
    version = ref_engine.version_for(TODAY)
    ages = next(a for a in axes_for(version, "bolig") if a.name == "alder").values
    assert ages == (17, 18, 25)
    assert space_size(axes_for(version, "koordinering")) == 8
