"""Versions by effective date, the content hash, snapshots and replay."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from conftest import TODAY
from engine import DateNotCovered, Engine, UnknownVersion
from engine.versions import FileSnapshotStore, MemorySnapshotStore, version_from_snapshot

DOMAIN_DATES = ["2007-01-01", "2015-01-01", "2015-07-01", "2017-01-01", "2020-01-01", "2022-03-07", "2023-10-01", "2024-01-01", "2024-09-01", "2026-04-01"]
BODY = {"henvendelsesdato": "2019-12-20", "vurderingsdato": "2019-12-31", "alder": 30, "rusmidler": [{"stof": "cannabis", "grad": "afhaengighed"}], "dobbeltdiagnose": False, "boligsituation": "egen_bolig"}


def test_every_epoch_in_domain_is_a_version(engine):
    versions = {v.version for v in engine.versions() if not v.afventer}
    assert set(DOMAIN_DATES) <= versions
    pending = [v for v in engine.versions() if v.afventer]
    assert [v.version for v in pending] == ["2026-07-01"]
    assert pending[0].status(TODAY) == "afventer"


def test_pending_version_is_never_chosen(engine):
    assert engine.version_for(date(2026, 7, 1)).version == "2026-04-01"
    assert engine.version_for(date(2030, 1, 1)).version == "2026-04-01"


def test_date_before_first_covered_date_is_refused(engine):
    with pytest.raises(DateNotCovered) as caught:
        engine.evaluate({**BODY, "henvendelsesdato": "2006-12-01", "vurderingsdato": "2006-12-31"})
    assert "2007-01-01" in str(caught.value)


def test_guarantee_paragraph_follows_the_vurderingsdato(engine):
    before = engine.evaluate(BODY)
    after = engine.evaluate({**BODY, "vurderingsdato": "2020-01-01"})
    pick = lambda r: [d["lovgrundlag"]["stk"] for d in r["frister"] if d["type"] == "behandlingsgaranti"]  # noqa: E731
    assert pick(before) == ["2"] and pick(after) == ["4"]
    assert before["frister"][0]["dato"] == after["frister"][0]["dato"] == "2020-01-03"


def test_sha_is_stable_and_changes_with_content(engine, rules_copy):
    again = Engine(rules_copy, core="reference", today=lambda: TODAY)
    assert [v.sha256 for v in again.versions()] == [v.sha256 for v in engine.versions()]
    target = rules_copy / "misbrug/lov/bolig.yaml"
    target.write_text(target.read_text(encoding="utf-8").replace("begrænset til 90 dage om året.", "begrænset til 90 dage pr. år."), encoding="utf-8")
    changed = Engine(rules_copy, core="reference", today=lambda: TODAY)
    old = {v.version: v.sha256 for v in engine.versions()}
    new = {v.version: v.sha256 for v in changed.versions()}
    assert new["2026-04-01"] != old["2026-04-01"]
    assert new["2024-09-01"] == old["2024-09-01"]


def test_snapshot_round_trip_and_tamper_check(engine):
    version = engine.version_for(date(2024, 9, 1))
    snapshot = json.loads(json.dumps(version.snapshot()))
    rebuilt = version_from_snapshot(snapshot)
    assert rebuilt.sha256 == version.sha256 and len(rebuilt.rules) == len(version.rules)
    snapshot["indhold"]["regler"][0]["beskrivelse"] += " (ændret)"
    with pytest.raises(ValueError, match="ændret"):
        version_from_snapshot(snapshot)


def test_past_decision_replays_exactly_after_the_files_change(rules_copy, tmp_path: Path):
    store = FileSnapshotStore(tmp_path / "snapshots")
    first = Engine(rules_copy, core="reference", store=store, today=lambda: TODAY)
    original = first.evaluate(BODY)
    sha = original["regelsaet"]["sha256"]
    assert store.get(sha) is not None
    target = rules_copy / "misbrug/lov/frister.yaml"
    target.write_text(target.read_text(encoding="utf-8").replace("dage: 14, fra: henvendelsesdato, lovgrundlag: {lov: SEL, paragraf: \"101\", stk: \"2\"}", "dage: 10, fra: henvendelsesdato, lovgrundlag: {lov: SEL, paragraf: \"101\", stk: \"2\"}"), encoding="utf-8")
    later = Engine(rules_copy, core="reference", store=FileSnapshotStore(tmp_path / "snapshots"), today=lambda: TODAY)
    assert later.evaluate(BODY)["frister"][0]["dato"] != original["frister"][0]["dato"]
    assert later.evaluate(BODY, sha256=sha) == original


def test_unknown_sha_is_refused(engine):
    with pytest.raises(UnknownVersion):
        engine.evaluate(BODY, sha256="0" * 64)


def test_memory_store_keeps_every_version_used():
    store = MemorySnapshotStore()
    live = Engine(core="reference", store=store, today=lambda: TODAY)
    live.evaluate(BODY)
    live.evaluate({**BODY, "vurderingsdato": "2020-01-01"})
    assert len(store.all_sha256()) == 2
