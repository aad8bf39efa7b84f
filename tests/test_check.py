"""`visitator rules check`: static findings with file:line on broken copies,
and none on the shipped rules."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.check import check


def _edit(rules_dir: Path, path: str, old: str, new: str, count: int = 1) -> None:
    target = rules_dir / path
    text = target.read_text(encoding="utf-8")
    assert text.count(old) >= count, old
    target.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.fixture(scope="module")
def broken_findings(tmp_path_factory) -> list[str]:
    import shutil

    from conftest import RULES

    root = tmp_path_factory.mktemp("broken")
    rules = root / "regler"
    shutil.copytree(RULES, rules)
    # A hole: the 2020 guarantee starts a day late.
    _edit(rules, "misbrug/lov/frister.yaml", "    gyldig_fra: 2020-01-01\n    kilde: {lov: SEL, paragraf: \"101\", stk: \"4\"", "    gyldig_fra: 2020-01-02\n    kilde: {lov: SEL, paragraf: \"101\", stk: \"4\"")
    # A contradiction: under 18 and at least 18 at once.
    _edit(rules, "misbrug/lov/advarsler.yaml", "      - {felt: alder, operator: \"<\", vaerdi: 18}\n      - {felt: stof_grad, operator: \">=\", vaerdi: skadeligt}\n      - {felt: foraeldresamtykke", "      - {felt: alder, operator: \"<\", vaerdi: 18}\n      - {felt: alder, operator: \">=\", vaerdi: 18}\n      - {felt: stof_grad, operator: \">=\", vaerdi: skadeligt}\n      - {felt: foraeldresamtykke")
    # The local ambulant offer for all ages again: the national one is never reached.
    _edit(rules, "misbrug/kommune/eksempelkommune.yaml", "    kilde: {dokument: \"Herning Kommune: udsattepolitik, afsnit 4 (Misbrugscenter Herning)\"}\n    alder_fra: 18\n", "    kilde: {dokument: \"Herning Kommune: udsattepolitik, afsnit 4 (Misbrugscenter Herning)\"}\n", count=1)
    # Widening: the local offer no longer respects the 2024 dobbeltdiagnose limit.
    _edit(rules, "misbrug/kommune/eksempelkommune.yaml", "    alder_fra: 18\n    egnet_hvis:\n      - {felt: dobbeltdiagnose, operator: \"=\", vaerdi: false}\n", "    alder_fra: 18\n")
    # A masked need rule and an English description.
    _edit(rules, "misbrug/lov/behandling.yaml", "\nregler:\n", """
regler:
  - id: behov-maskeret
    beskrivelse: Unstable citizens need day treatment first.
    gyldig_fra: 2007-01-01
    kilde: {dokument: "test"}
    hvis:
      - {felt: hoejeste_grad, operator: ">=", vaerdi: skadeligt}
      - {felt: ustabil, operator: "=", vaerdi: true}
    saa:
      spor: behandling
      mindst_indgrebsniveau: 4
""")
    return [str(f) for f in check(rules / "misbrug", shown_root=root)]


def _find(findings: list[str], *words: str) -> str:
    hits = [f for f in findings if all(w in f for w in words)]
    assert hits, f"no finding with {words}: {findings}"
    return hits[0]


def test_hole_in_date_ranges(broken_findings):
    assert _find(broken_findings, "behandlingsgaranti-sel", "hul fra 2020-01-01 til 2020-01-01").startswith("regler/misbrug/lov/frister.yaml:")


def test_contradictory_conditions(broken_findings):
    _find(broken_findings, "advarsler.yaml:", "ung-samtykke", "aldrig være opfyldt")


def test_unreachable_offer_names_what_is_chosen_instead(broken_findings):
    _find(broken_findings, "behandling.yaml:", "'ambulant' kan ikke nås", "misbrugscenter-ambulant")


def test_kommune_offer_that_widens_the_law(broken_findings):
    _find(broken_findings, "eksempelkommune.yaml:", "misbrugscenter-ambulant", "udvider")


def test_masked_rule_and_non_danish_description(broken_findings):
    _find(broken_findings, "behov-maskeret", "maskeret")
    _find(broken_findings, "behov-maskeret", "dansk")


def test_schema_errors_come_with_file_line_and_suggestion(rules_copy):
    _edit(rules_copy, "misbrug/lov/bolig.yaml", "    beskrivelse: Lavtærskeltilbud", "    beskrivlse: Lavtærskeltilbud")
    findings = [str(f) for f in check(rules_copy / "misbrug", shown_root=rules_copy.parent)]
    _find(findings, "regler/misbrug/lov/bolig.yaml:", "fejl", "mente du 'beskrivelse'")
