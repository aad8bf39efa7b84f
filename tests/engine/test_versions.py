"""Versions by date, fingerprints that name content (not file layout), and snapshots."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from engine import DateNotCovered, Engine, UnknownVersion
from engine.versions import MemorySnapshotStore, version_from_snapshot
from support.paths import FIXTURES, TODAY

SPROG = FIXTURES / "sprog"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "sprog"
    shutil.copytree(SPROG, target, symlinks=False)
    return target


def _shas(folder: Path) -> list[str]:
    return [v.sha256 for v in Engine(folder, core="reference", today=lambda: TODAY).versions()]


def test_fingerprints_ignore_comments_order_and_files(tmp_path):
    import yaml

    original = _shas(SPROG)
    moved = _copy(tmp_path)
    path = moved / "misbrug/lov/sprog.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    first, *others = data["regler"]
    data["regler"] = list(reversed(others))
    data["tilbud"] = list(reversed(data["tilbud"]))
    path.write_text("# en kommentar øverst\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=True), encoding="utf-8")
    flyttet = {"regelsaet": "misbrug", "lag": "lov", "beskrivelse": "En regel flyttet til sin egen fil.", "regler": [first]}
    (moved / "misbrug/lov/flyttet.yaml").write_text("# endnu en kommentar\n\n" + yaml.safe_dump(flyttet, allow_unicode=True), encoding="utf-8")
    assert _shas(moved) == original


def test_fingerprint_changes_with_content(tmp_path):
    changed = _copy(tmp_path)
    path = changed / "misbrug/lov/sprog.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Afgørelsen kan ikke påklages", "Afgørelsen kan aldrig påklages"), encoding="utf-8")
    before, after = _shas(SPROG), _shas(changed)
    assert before[:2] == after[:2]  # versions before § 101 a came into force do not contain the rule
    assert before[-1] != after[-1]


def test_pending_and_future_versions_are_told_apart():
    engine = Engine(FIXTURES / "sprog", core="reference", today=lambda: date(2015, 6, 1))
    statuses = {v.version: v.status(date(2015, 6, 1)) for v in engine.versions()}
    assert statuses["2015-07-01"] == "kommende"
    assert statuses["2007-01-01"] == "historisk"


def test_date_before_first_covered_date_is_refused():
    engine = Engine(FIXTURES / "sprog", core="reference", today=lambda: TODAY)
    with pytest.raises(DateNotCovered):
        engine.version_for(date(2006, 12, 31))


def test_a_snapshot_rebuilds_the_same_decisions_and_refuses_tampering():
    store = MemorySnapshotStore()
    engine = Engine(FIXTURES / "sprog", core="reference", today=lambda: TODAY, store=store)
    body = {"henvendelsesdato": "2020-03-01", "vurderingsdato": "2020-03-01", "alder": 40, "rusmidler": [{"stof": "opioider", "grad": "afhaengighed"}],
            "dobbeltdiagnose": False, "boligsituation": "gade", "abstinensrisiko": True}
    live = engine.decide(body)
    snapshot = json.loads(json.dumps(store.get(live.version.sha256)))
    rebuilt = version_from_snapshot(snapshot)
    other = Engine(FIXTURES / "sprog", core="reference", today=lambda: TODAY, store=MemorySnapshotStore())
    other._loaded = other._loaded.__class__(other.book, other.law, (), other._loaded.first)  # only the snapshot is known
    other.store.put(snapshot)
    assert other.decide(body, sha256=rebuilt.sha256) == live
    snapshot["indhold"]["tilbud"][0]["navn"] = "Noget andet"
    with pytest.raises(UnknownVersion, match="ændret"):
        version_from_snapshot(snapshot)
    with pytest.raises(UnknownVersion, match="ældre format"):
        version_from_snapshot({"format": 1, "sha256": "x", "indhold": {}})
