"""`rules check` and `rules verify` catch a citation on a date the provision did
not exist, and a note that contradicts the decision (issue 9), with file:line."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import Engine, RulesInvalid
from engine.tools.check import check
from engine.tools.verify import verify
from service.cli import main
from support.paths import FIXTURES, TODAY

SPROG = FIXTURES / "sprog"


@pytest.fixture()
def sprog(tmp_path: Path) -> Path:
    target = tmp_path / "regler"
    shutil.copytree(SPROG, target)
    return target


def _edit(folder: Path, old: str, new: str) -> None:
    path = folder / "misbrug/lov/sprog.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _findings(folder: Path) -> list[str]:
    return [p.with_level() for p in check(folder / "misbrug", shown_root=folder.parent, law_dir=folder / "love")]


def test_the_fixture_is_clean():
    assert [f for f in _findings(SPROG) if ": fejl:" in f] == []


def test_check_refuses_a_citation_before_the_provision_existed(sprog):
    _edit(sprog, "  - id: klage-101a\n    beskrivelse: Afgørelser efter § 101 a kan ikke påklages.\n    gyldig_fra: 2015-07-01",
          "  - id: klage-101a\n    beskrivelse: Afgørelser efter § 101 a kan ikke påklages.\n    gyldig_fra: 2012-01-01")
    found = [f for f in _findings(sprog) if "klage-101a" in f]
    assert found and "regler/misbrug/lov/sprog.yaml:" in found[0] and "findes først fra 2015-07-01" in found[0]


def test_verify_refuses_the_same_files_with_file_and_line(sprog, capsys):
    _edit(sprog, "  - id: klage-101a\n    beskrivelse: Afgørelser efter § 101 a kan ikke påklages.\n    gyldig_fra: 2015-07-01",
          "  - id: klage-101a\n    beskrivelse: Afgørelser efter § 101 a kan ikke påklages.\n    gyldig_fra: 2012-01-01")
    assert main(["rules", "verify", "--rules", str(sprog), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "sprog.yaml:" in err and "findes først fra 2015-07-01" in err


def test_check_refuses_a_must_offer_written_as_a_plain_note(sprog):
    _edit(sprog, 'saa: {spor: behandling, oplysning: "Afgørelsen kan ikke påklages til anden administrativ myndighed."}',
          'saa: {spor: behandling, advarsel: "Kommunen skal tilbyde anonym behandling til alle."}')
    assert any("klage-101a" in f and "skal_tilbyde" in f for f in _findings(sprog))


def test_check_refuses_a_right_that_unrelated_facts_could_remove(sprog):
    wish = '    hvis:\n      - {felt: oensker_anonymitet, operator: "=", vaerdi: true}\n'
    _edit(sprog, wish + "    indhold:", wish + '      - {felt: hjemloes, operator: "=", vaerdi: false}\n    indhold:')
    assert any("anonym-alkohol" in f and "hjemloes" in f for f in _findings(sprog))


def test_verify_catches_a_note_citing_a_provision_that_does_not_cover_the_citizen(sprog):
    # Without its personkreds, the note on § 101 a reaches homeless citizens: verify's legal
    # invariant (independent of the rule files) names it.
    path = sprog / "misbrug/lov/sprog.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: personkreds-101a")
    end = text.index("  - id: personkreds-141")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    broken = verify(Engine(sprog, core="reference", today=lambda: TODAY), workers=1, limit=500,
                    only_versions={"2020-01-01"}, only_tracks={"behandling"})
    intact = verify(Engine(SPROG, core="reference", today=lambda: TODAY), workers=1, limit=500,
                    only_versions={"2020-01-01"}, only_tracks={"behandling"})

    def on_101a(report):  # noqa: ANN001, ANN202
        return [c for c in report.counterexamples if "101 a" in c.message and "hjemløshed" in c.message]

    assert on_101a(broken) and not on_101a(intact)


def test_loading_refuses_a_provision_name_that_does_not_exist(sprog):
    _edit(sprog, "lovgrundlag: [sel-101a-anonym]\n    egnet_hvis", "lovgrundlag: [sel-101a-anonymt]\n    egnet_hvis")
    with pytest.raises(RulesInvalid) as caught:
        Engine(sprog, core="reference")
    assert "mente du 'sel-101a-anonym'" in str(caught.value)
