"""durable-rules' known failure modes, contained (ANCHORS.md section 4)."""
from __future__ import annotations

import threading
from datetime import date

import pytest

from engine.evaluate import EngineFault, durable_core

BODY = {"henvendelsesdato": "2026-11-02", "vurderingsdato": "2026-11-03", "alder": 34, "rusmidler": [{"stof": "opioider", "grad": "afhaengighed"}], "dobbeltdiagnose": False, "boligsituation": "gade", "ustabil": True}


def test_more_than_1024_sequential_decisions(engine):
    # durable-rules keeps at most 1024 live sessions per ruleset; every
    # evaluation deletes its own, so thousands in a row must work.
    first = engine.evaluate(BODY)
    for _ in range(2500):
        assert engine.evaluate(BODY)["anbefalinger"] == first["anbefalinger"]


def test_concurrent_threads_get_the_same_answers(engine):
    bodies = [
        BODY,
        {**BODY, "rusmidler": [{"stof": "alkohol", "grad": "skadeligt"}], "boligsituation": "egen_bolig", "ustabil": False},
        {**BODY, "alder": 16, "vurderingsdato": "2024-02-01", "henvendelsesdato": "2024-01-20"},
        {**BODY, "dobbeltdiagnose": True, "vurderingsdato": "2025-02-01", "henvendelsesdato": "2025-01-20"},
    ]
    expected = [engine.evaluate(b) for b in bodies]
    errors: list[str] = []

    def worker(offset: int) -> None:
        for i in range(150):
            k = (i + offset) % len(bodies)
            try:
                if engine.evaluate(bodies[k]) != expected[k]:
                    errors.append(f"thread {offset}: wrong answer for body {k}")
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(f"thread {offset}: {error!r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]


def test_an_exception_inside_an_action_is_surfaced(engine, monkeypatch):
    # durable-rules stores an action's exception in the session state instead
    # of raising it; the core must turn that into an error, not a silent result.
    import engine.evaluate as ev
    from engine.compile import compile_version
    from engine.versions import RuleSetVersion

    def boom_action(self, index):  # noqa: ANN001
        def action(c):  # noqa: ANN001
            raise RuntimeError("boom")

        return action

    monkeypatch.setattr(ev.DurableCore, "_action_for", boom_action)
    v = engine.version_for(date(2026, 11, 3))
    renamed = RuleSetVersion(v.navn, v.gyldig_fra, v.gyldig_til, v.afventer, v.rules, v.offers, v.layers, "f" * 64)
    with pytest.raises(EngineFault, match="fejlede"):
        durable_core().prepare(compile_version(renamed))


def test_versions_are_registered_by_name_and_hash(engine):
    core = durable_core()
    keys = {v.key for v in engine.versions() if not v.afventer}
    assert keys <= core._registered
    assert all("#" in key and "@" in key for key in keys)
    # Registering the same compiled version again is a no-op, not an error.
    compiled = engine._prepare(engine.version_for(date(2026, 11, 3)))
    core.prepare(compiled)
