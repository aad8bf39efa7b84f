"""Malformed rule files are refused whole with file:line:column, what is wrong
and a suggestion; the rules already in service stay in service."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import Engine, RulesInvalid
from conftest import TODAY

BEHANDLING = Path("misbrug/lov/behandling.yaml")


def _messages(rules_dir: Path) -> list[str]:
    with pytest.raises(RulesInvalid) as caught:
        Engine(rules_dir, core="reference", today=lambda: TODAY)
    return [str(p) for p in caught.value.problems]


def _edit(rules_dir: Path, old: str, new: str, path: Path = BEHANDLING) -> int:
    target = rules_dir / path
    text = target.read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def test_misspelt_key_is_named_with_line_and_suggestion(rules_copy):
    line = _edit(rules_copy, "    beskrivelse: Risikabelt brug", "    beskrivlse: Risikabelt brug")
    messages = _messages(rules_copy)
    assert any(m.startswith(f"regler/misbrug/lov/behandling.yaml:{line}:") and "ukendt nøgle 'beskrivlse'" in m and "mente du 'beskrivelse'" in m for m in messages), messages


def test_misspelt_field_in_condition_gets_a_suggestion(rules_copy):
    line = _edit(rules_copy, "{felt: tidligere_forloeb_uden_effekt,", "{felt: tidligere_forloeb_uden_efekt,")
    messages = _messages(rules_copy)
    assert any(f"behandling.yaml:{line}:" in m and "ukendt felt 'tidligere_forloeb_uden_efekt'" in m and "mente du 'tidligere_forloeb_uden_effekt'" in m for m in messages), messages


def test_misspelt_value_gets_a_suggestion(rules_copy):
    line = _edit(rules_copy, "{felt: hoejeste_grad, operator: \"=\", vaerdi: risikabelt}", "{felt: hoejeste_grad, operator: \"=\", vaerdi: risikabel}")
    messages = _messages(rules_copy)
    assert any(f"behandling.yaml:{line}:" in m and "ugyldig værdi 'risikabel'" in m and "mente du 'risikabelt'" in m for m in messages), messages


def test_wrong_category_and_bad_date(rules_copy):
    _edit(rules_copy, "kategori: dagbehandling\n", "kategori: dagbehandlng\n")
    _edit(rules_copy, "gyldig_fra: 2015-07-01\n    kilde: {lov: SEL, paragraf: \"101 a\", lovnummer: \"L 132 (2014-15)\"}\n    alder_fra", "gyldig_fra: 2015-13-01\n    kilde: {lov: SEL, paragraf: \"101 a\", lovnummer: \"L 132 (2014-15)\"}\n    alder_fra")
    messages = _messages(rules_copy)
    assert any("'dagbehandlng'" in m and "mente du 'dagbehandling'" in m for m in messages), messages
    assert any("gyldig_fra" in m and "ÅÅÅÅ-MM-DD" in m for m in messages), messages


def test_yaml_syntax_error_and_duplicate_key(rules_copy):
    _edit(rules_copy, "regelsaet: misbrug\nlag: lov\n", "regelsaet: misbrug\nlag: lov\nlag: kommune\n", Path("misbrug/lov/frister.yaml"))
    _edit(rules_copy, "tilbud:\n", "tilbud: [\n", Path("misbrug/lov/medicinsk.yaml"))
    messages = _messages(rules_copy)
    assert any(m.startswith("regler/misbrug/lov/frister.yaml:5:") and "står to gange" in m for m in messages), messages
    assert any(m.startswith("regler/misbrug/lov/medicinsk.yaml:") and "YAML kan ikke læses" in m for m in messages), messages


def test_missing_legal_source_and_description(rules_copy):
    _edit(rules_copy, "    kilde: {dokument: \"Socialstyrelsen: Retningslinje for behandlingsforpligtelse (fire behandlingsformer)\"}\n    hvis:\n      - {felt: hoejeste_grad, operator: \"=\", vaerdi: risikabelt}", "    hvis:\n      - {felt: hoejeste_grad, operator: \"=\", vaerdi: risikabelt}")
    messages = _messages(rules_copy)
    assert any("mangler 'kilde'" in m for m in messages), messages


def test_overlapping_dates_for_one_rule_id(rules_copy):
    _edit(rules_copy, "gyldig_til: 2019-12-31\n    kilde: {lov: SEL, paragraf: \"101\", stk: \"2\"", "gyldig_til: 2020-06-30\n    kilde: {lov: SEL, paragraf: \"101\", stk: \"2\"", Path("misbrug/lov/frister.yaml"))
    messages = _messages(rules_copy)
    assert any("behandlingsgaranti-sel" in m and "overlappe" in m for m in messages), messages


def test_operator_that_does_not_fit_the_field(rules_copy):
    _edit(rules_copy, "{felt: gravid, operator: \"=\", vaerdi: true}", "{felt: gravid, operator: \">=\", vaerdi: true}")
    messages = _messages(rules_copy)
    assert any("'>='" in m and "gravid" in m for m in messages), messages


def test_kommune_layer_cannot_give_legal_basis(rules_copy):
    _edit(
        rules_copy,
        "      udeluk: {kategori: forsorgshjem}\n",
        "      udeluk: {kategori: forsorgshjem}\n      lovgrundlag:\n        - {lov: SEL, paragraf: \"110\"}\n",
        Path("misbrug/kommune/eksempelkommune.yaml"),
    )
    messages = _messages(rules_copy)
    assert any("kommunal regel kan ikke give lovgrundlag" in m for m in messages), messages


def test_one_broken_file_refuses_the_whole_set_and_reload_keeps_old_rules(rules_copy):
    live = Engine(rules_copy, core="reference", today=lambda: TODAY)
    before = live.versions()
    _edit(rules_copy, "    beskrivelse: Risikabelt brug", "    beskrivlse: Risikabelt brug")
    with pytest.raises(RulesInvalid):
        live.reload()
    assert live.versions() == before
    body = {"henvendelsesdato": "2026-11-02", "alder": 40, "rusmidler": [{"stof": "alkohol", "grad": "skadeligt"}], "dobbeltdiagnose": False, "boligsituation": "egen_bolig"}
    assert live.evaluate(body)["anbefalinger"]


def test_no_python_in_rule_files():
    from conftest import RULES

    for path in RULES.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        for marker in ("lambda", "import ", "__", "eval(", "!!python"):
            assert marker not in text, f"{path}: '{marker}'"


def test_every_rule_and_offer_has_a_source_and_a_danish_description(engine):
    for item in (*engine.book.rules, *engine.book.offers):
        assert item.kilde.danish(), item.placering
        assert len(item.beskrivelse) >= 10, item.placering
