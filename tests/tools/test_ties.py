"""No hidden rule between offers of the same level (issue 15 point 2): the choice is explicit
(`foretraekkes_frem_for`), `rules check` reports a tie the files leave to the id as an error
with both offers' file:line, and the field is validated, fingerprinted and kept in snapshots."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine import Engine, RulesInvalid
from engine.tools.check import check
from engine.versions import sha256_of, version_from_snapshot
from support.paths import FIXTURES, TODAY

BODY = {"henvendelsesdato": "2020-03-01", "vurderingsdato": "2020-03-01", "alder": 40,
        "rusmidler": [{"stof": "cannabis", "grad": "afhaengighed"}], "dobbeltdiagnose": False, "boligsituation": "egen_bolig"}

OFFER = """tilbud:
  - id: kommune-ambulant
    navn: Kommunens ambulante behandling
    kategori: ambulant
    spor: behandling
    indgrebsniveau: 3
    beskrivelse: Kommunens eget ambulante tilbud, på samme niveau som det nationale.
    gyldig_fra: 2007-01-01
    kilde: {dokument: "Testkommunens udsattepolitik"}
{extra}
"""


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    target = tmp_path / "regler"
    shutil.copytree(FIXTURES / "sprog", target)
    return target


def _with_offer(folder: Path, extra: str = "") -> Path:
    path = folder / "misbrug/kommune/testkommune.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("regler:\n", OFFER.replace("{extra}", extra) + "regler:\n", 1), encoding="utf-8")
    return path


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def _findings(folder: Path) -> list[str]:
    return [p.with_level() for p in check(folder / "misbrug", shown_root=folder.parent, law_dir=folder / "love", kommune="testkommune")]


def test_a_tie_left_to_the_id_is_an_error_naming_both_offers(rules):
    layer = _with_offer(rules)
    ties = [f for f in _findings(rules) if "uafgjort" in f]
    assert len(ties) == 1
    national = f"regler/misbrug/lov/sprog.yaml:{_line(rules / 'misbrug/lov/sprog.yaml', 'id: ambulant')}"
    local = f"regler/misbrug/kommune/testkommune.yaml:{_line(layer, 'id: kommune-ambulant')}"
    assert ": fejl: " in ties[0] and f"'ambulant' ({national})" in ties[0] and f"'kommune-ambulant' ({local})" in ties[0]
    assert "foretraekkes_frem_for" in ties[0]
    # Without a preference the id decides: the implicit "kommune before national" is gone.
    engine = Engine(rules, core="reference", kommune="testkommune", today=lambda: TODAY)
    assert engine.decide(BODY).track("behandling").chosen.id == "ambulant"


def test_foretraekkes_frem_for_decides_and_resolves_the_tie(rules):
    _with_offer(rules, "    foretraekkes_frem_for: [ambulant]")
    assert not [f for f in _findings(rules) if "uafgjort" in f]
    engine = Engine(rules, core="reference", kommune="testkommune", today=lambda: TODAY)
    track = engine.decide(BODY).track("behandling")
    assert track.chosen.id == "kommune-ambulant"
    ambulant = next(v for v in track.verdicts if v.offer.id == "ambulant")
    assert ambulant.verdikt.value == "ikke_noedvendigt" and ambulant.preferred.id == "kommune-ambulant"


@pytest.mark.parametrize(("extra", "message"), [
    ("    foretraekkes_frem_for: [ambulantt]", "foretrækkes frem for det ukendte tilbud 'ambulantt' (mente du 'ambulant'?)"),
    ("    foretraekkes_frem_for: [kommune-ambulant]", "kan ikke foretrækkes frem for sig selv"),
])
def test_validation_refuses_unknown_or_own_ids_with_file_and_line(rules, extra, message):
    layer = _with_offer(rules, extra)
    with pytest.raises(RulesInvalid) as caught:
        Engine(rules, core="reference", kommune="testkommune")
    text = str(caught.value)
    assert message in text and "testkommune.yaml:" in text
    assert f"testkommune.yaml:{_line(layer, 'id: kommune-ambulant')}" in text or "foretraekkes_frem_for" in text


def test_validation_refuses_a_circle(rules):
    _with_offer(rules, "    foretraekkes_frem_for: [ambulant]")
    path = rules / "misbrug/lov/sprog.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "    beskrivelse: Ambulant behandling, hvor borgeren bor hjemme og møder op til samtaler.\n"
    path.write_text(text.replace(anchor, anchor + "    foretraekkes_frem_for: [kommune-ambulant]\n", 1), encoding="utf-8")
    with pytest.raises(RulesInvalid) as caught:
        Engine(rules, core="reference", kommune="testkommune")
    assert "danner en cirkel" in str(caught.value) and "sprog.yaml:" in str(caught.value)


def test_the_preference_is_in_the_fingerprint_and_the_snapshot_only_when_given(rules):
    plain = Engine(rules, core="reference", kommune="testkommune")
    _with_offer(rules)
    without = Engine(rules, core="reference", kommune="testkommune")
    path = rules / "misbrug/kommune/testkommune.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    kilde: {dokument: \"Testkommunens udsattepolitik\"}\n\nregler", "    kilde: {dokument: \"Testkommunens udsattepolitik\"}\n"
        "    foretraekkes_frem_for: [ambulant]\n\nregler", 1), encoding="utf-8")
    preferring = Engine(rules, core="reference", kommune="testkommune")
    version = preferring.version_for(TODAY)
    assert version.sha256 != without.version_for(TODAY).sha256 != plain.version_for(TODAY).sha256
    snapshot = json.loads(json.dumps(version.snapshot()))
    assert snapshot["format"] == 3
    [offer] = [t for t in snapshot["indhold"]["tilbud"] if t["id"] == "kommune-ambulant"]
    assert offer["foretraekkes_frem_for"] == ["ambulant"]
    assert all("foretraekkes_frem_for" not in t for t in snapshot["indhold"]["tilbud"] if t["id"] != "kommune-ambulant")
    again = version_from_snapshot(snapshot)
    assert again.sha256 == version.sha256 and again.snapshot() == snapshot
    assert preferring.decide(BODY, sha256=version.sha256).track("behandling").chosen.id == "kommune-ambulant"


def test_a_format_2_snapshot_keeps_the_old_kommune_first_order(rules):
    """Decisions made before the tie-break was explicit replay as they were made."""
    _with_offer(rules)
    engine = Engine(rules, core="reference", kommune="testkommune", today=lambda: TODAY)
    version = engine.version_for(TODAY)
    content = dict(version.snapshot()["indhold"])
    assert content.pop("rangorden") == "foretraekkes_frem_for"  # only in format 3: a kommune and a national offer share a level
    old = dict(version.snapshot(), format=2, indhold=content, sha256=sha256_of(content))
    legacy = version_from_snapshot(old)
    assert legacy.sha256 != version.sha256 and legacy.snapshot() == old
    compiled = engine.compiled(legacy)
    ladder = [compiled.items[i].id for i in compiled.ladders["behandling"]]
    assert ladder.index("kommune-ambulant") < ladder.index("ambulant")
