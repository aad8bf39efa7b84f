"""The bulk evaluator (engine.bulk) is the reference evaluator on whole columns (issue 14 point 1,
issue 10 point 2): over the entire input space of every shipped version the fact columns, the
fired matrix and the choice per point are identical to the per-point path; BulkCore agrees with
the reference on random screenings; verify, check and diff on the bulk evaluator give what the
per-point tools (tests/tools/oracle.py) gave; `verify --cores` finds a core that drops a rule.

The runtime engine does not run BulkCore by default (it adds more than a decision's time, see
bench/engine.py); this file is what proves it equal to the reference instead."""
from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from engine import Engine
from engine.bulk import BulkCore, FactTable, program_for
from engine.evaluate import ReferenceCore
from engine.fields import facts_from_screening
from engine.select import choose
from engine.tools.check import check
from engine.tools.diff import Side, corpus_of_space, diff, markdown_report
from engine.tools.space import axes_for, fact_table, points, screening_for, tracks_of
from engine.tools.verify import verify_cores, verify_version
from service.cli import main
from support.paths import RULES, TODAY
from support.strategies import screenings

sys.path.insert(0, str(Path(__file__).resolve().parent))
import oracle  # noqa: E402

LAYERS = [None] + sorted(p.stem for p in (RULES / "misbrug" / "kommune").glob("*.yaml"))


def _engine(kommune: Any = None, rules: Path = RULES) -> Engine:
    return Engine(rules, core="reference", kommune=kommune, today=lambda: TODAY)


def _same_as_reference(compiled: Any, track: str, every: int = 1) -> int:
    """Fact columns, fired matrix and choice of every `every`-th point of one track's space
    against the per-point path (screening_for -> facts_from_screening -> reference_fired -> choose)."""
    day = compiled.version.gyldig_fra
    axes = axes_for(compiled, track)
    table = fact_table(axes, day)
    chosen = np.arange(0, table.size, every)
    facts = [facts_from_screening(screening_for(p, day)) for k, p in enumerate(points(axes)) if k % every == 0]
    expected = FactTable.from_facts(facts)
    for name, column in expected.columns.items():
        assert np.array_equal(np.asarray(table.columns[name])[chosen], column), (compiled.key, track, name)
    groups = program_for(compiled).groups(table)
    fired = groups.fired_matrix()[chosen]
    choices = groups.choices()
    by_set: dict[tuple[int, ...], Any] = {}
    for k, fact in enumerate(facts):
        held = compiled.reference_fired(fact)
        assert np.flatnonzero(fired[k]).tolist() == held, (compiled.key, track, screening_for(_point(axes, int(chosen[k])), day))
        key = tuple(held)
        if key not in by_set:
            by_set[key] = choose(compiled, set(held))
        assert choices[int(groups.inverse[chosen[k]])] == by_set[key]
    return len(facts)


def _point(axes: Any, local: int) -> dict[str, Any]:
    from engine.tools.verify import _point as point

    return point(axes, local)


@pytest.mark.slow
@pytest.mark.parametrize("kommune", LAYERS)
def test_identical_to_the_reference_over_the_entire_space_of_every_version(kommune):
    engine = _engine(kommune)
    total = 0
    for version in engine.versions():
        if version.afventer:
            continue
        compiled = engine.compiled(version)
        for track in tracks_of(compiled):
            total += _same_as_reference(compiled, track)
    assert total > 100_000


def test_identical_to_the_reference_on_a_sample_of_the_newest_version():
    engine = _engine()
    compiled = engine.compiled(engine.versions()[-1] if not engine.versions()[-1].afventer else engine.version_for(TODAY))
    assert sum(_same_as_reference(compiled, track, every=7) for track in tracks_of(compiled)) > 1_000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(screenings())
def test_bulk_core_fires_what_the_reference_fires(ref_engine, body):
    screening = ref_engine.parse(body)
    compiled = ref_engine.compiled(ref_engine.version_for(screening.effective_date(TODAY)))
    fact = screening.fact()
    assert BulkCore().fired(compiled, fact) == compiled.reference_fired(fact)
    assert FactTable.from_facts([fact]).row(0) == fact


def test_the_engine_can_run_the_bulk_core_beside_the_others():
    engine = Engine(RULES, cores=[ReferenceCore(), BulkCore()], today=lambda: TODAY)
    d = engine.decide({"henvendelsesdato": "2026-11-02", "alder": 34, "rusmidler": [{"stof": "opioider", "grad": "afhaengighed"}],
                       "dobbeltdiagnose": False, "boligsituation": "gade"})
    assert d.cores == ("reference", "bulk") and d.track("behandling") is not None


# --------------------------------------------------------------------------- the tools against their per-point oracles


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    """The shipped rules with faults: a personkreds removed, døgnbehandling unsuitable when the citizen is
    unstable (monotonicity), a deadline counted from the vurderingsdato, a kommune offer that widens the law."""
    target = tmp_path_factory.mktemp("broken") / "regler"
    shutil.copytree(RULES, target, symlinks=False)
    path = target / "misbrug/lov/personkreds.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: personkreds-sel-101a-anonym")
    path.write_text(text[:start] + text[text.index("  - id:", start + 10):], encoding="utf-8")
    path = target / "misbrug/lov/behandling.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "    gyldig_til: 2024-08-31\n    kilde: {dokument: \"Ankestyrelsen: Visitation til døgnbehandling for stofmisbrug (2013)\""
    assert anchor in text
    line_end = text.index("\n", text.index(anchor) + len(anchor))
    text = text[:line_end + 1] + "    egnet_hvis:\n      - {felt: ustabil, operator: \"=\", vaerdi: false}\n" + text[line_end + 1:]
    path.write_text(text, encoding="utf-8")
    path = target / "misbrug/lov/frister.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("dage: 14, fra: henvendelsesdato, lovgrundlag: sel-101-behandlingsgaranti",
                                 "dage: 10, fra: vurderingsdato, lovgrundlag: sel-101-behandlingsgaranti"), encoding="utf-8")
    return target


def _verify_against_oracle(broken: Path, versions: tuple[str, ...], tracks: tuple[str, ...] = ()) -> int:
    engine = _engine(rules=broken)
    compared = 0
    for version in engine.versions():
        if version.afventer or version.version not in versions:
            continue
        compiled = engine.compiled(version)
        bulk = {r.track: r for r in verify_version(compiled, limit=5)}
        for track in tracks_of(compiled):
            if tracks and track not in tracks:
                continue
            old = oracle.run_task(compiled, track, 5)
            assert (bulk[track].points, bulk[track].counts) == (old.points, old.counts), (version.version, track)
            assert [(c.prop, c.message, c.screening, c.summary) for c in bulk[track].counterexamples] == \
                   [(c.prop, c.message, c.screening, c.summary) for c in old.counterexamples]
            compared += sum(old.counts.values())
    return compared


@pytest.mark.slow
def test_verify_counts_and_counterexamples_match_the_per_point_oracle(broken):
    assert _verify_against_oracle(broken, ("2007-01-01",), ("behandling", "bolig")) > 500  # the faults were found


@pytest.mark.slow
def test_verify_matches_the_per_point_oracle_on_three_versions(broken):
    assert _verify_against_oracle(broken, ("2007-01-01", "2015-07-01", "2024-09-01")) > 1_000


@pytest.mark.slow
def test_check_findings_match_the_per_point_oracle(broken):
    kommune = LAYERS[1] if len(LAYERS) > 1 else None
    args = dict(shown_root=broken.parent, law_dir=broken / "love", kommune=kommune)
    new = [p.with_level() for p in check(broken / "misbrug", **args)]
    old = [p.with_level() for p in oracle.check_oracle(broken / "misbrug", **args)]
    assert [f for f in new if "uafgjort" not in f and ("kan ikke nås" in f or "maskeret" in f or "aldrig" in f or "udvider" in f)] == old


@pytest.mark.slow
@pytest.mark.parametrize("kommune", LAYERS[:2])
def test_diff_matches_the_per_point_oracle(broken, kommune):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_engine", Path(__file__).resolve().parents[2] / "bench" / "engine.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    bodies = bench.generate(600, 11)
    for i, body in enumerate(bodies):  # some assessed long after the henvendelse (expired deadlines), some invalid
        if i % 3 == 0:
            body["vurderingsdato"] = (date.fromisoformat(body["henvendelsesdato"]).toordinal() + 30 + i % 11)
            body["vurderingsdato"] = date.fromordinal(body["vurderingsdato"]).isoformat()
        if i % 97 == 0:
            body["alder"] = 300
    ea, eb = _engine(kommune), _engine(kommune, broken)
    pairs = [(Side("a", RULES, date(2019, 12, 31), kommune=kommune), Side("b", RULES, date(2020, 1, 1), kommune=kommune), (ea, ea)),
             (Side("a", RULES, kommune=kommune), Side("b", broken, kommune=kommune), (ea, eb))]
    for a, b, engines in pairs:
        new = diff(a, b, bodies, "korpus", max_examples=4, engines=engines)
        old = oracle.diff_oracle(a, b, bodies, "korpus", engines, max_examples=4)
        assert (new.total, new.changed, new.skipped) == (old.total, old.changed, old.skipped)
        for kind, group in new.groups.items():
            assert (group.count, group.causes) == (old.groups[kind].count, old.groups[kind].causes), kind
            assert [(e.screening, e.before, e.after) for e in group.examples] == \
                   [(e.screening, e.before, e.after) for e in old.groups[kind].examples], kind
        assert new.changed > 50


@pytest.mark.slow
def test_diff_over_the_space_reads_columns_and_names_the_causes():
    engine = _engine()
    report = diff(Side("a", RULES, date(2023, 9, 30)), Side("b", RULES, date(2023, 10, 1)),
                  corpus_of_space(engine, [date(2023, 9, 30), date(2023, 10, 1)]), "rummet", engines=(engine, engine))
    assert report.changed and "behov-bolig-hjemloes" in report.groups["tilbud"].causes
    text = markdown_report(report)
    assert text.startswith("# Konsekvensanalyse: a → b") and "| anbefalet tilbud i et spor |" in text and "```json" in text


# --------------------------------------------------------------------------- every core over the space


class OneRuleFewer(ReferenceCore):
    """A broken core: it loses the last rule that holds."""

    name = "defekt"

    def fired(self, compiled: Any, fact: dict[str, Any]) -> list[int]:
        held = compiled.reference_fired(fact)
        rules = [i for i in held if compiled.items[i].kind == "regel"]
        return [i for i in held if i != rules[-1]] if rules else held


def test_verify_cores_finds_a_core_that_drops_a_rule(ref_engine):
    report = verify_cores(ref_engine, [ReferenceCore(), OneRuleFewer()], udsnit=3)
    assert report.disagreement is not None and report.cores == ("reference", "defekt", "bulk")
    case = report.disagreement.as_case()
    assert "reference og defekt er uenige (mangler " in case["navn"] and case["screening"]["henvendelsesdato"]
    assert ReferenceCore().fired(ref_engine.compiled(ref_engine.version_for(date.fromisoformat(case["screening"]["vurderingsdato"]))),
                                 ref_engine.parse(case["screening"]).fact())  # a real screening that the engine accepts


@pytest.mark.slow
def test_rules_verify_cores_prints_the_disagreement_as_a_golden_case(monkeypatch, capsys):
    import service.cli.rules as rules_cli

    monkeypatch.setattr(rules_cli, "engine", lambda args, core="durable", announce=True: Engine(
        RULES, cores=[ReferenceCore(), OneRuleFewer()], today=lambda: TODAY))
    assert main(["rules", "verify", "--cores", "--udsnit", "2"]) == 1
    out = capsys.readouterr().out
    assert "Uenighed (version" in out and "tilfaelde:" in out and "Modeksempel (kerner)" in out and "forventet:" in out


@pytest.mark.slow
def test_every_core_agrees_on_a_stratified_sample_of_the_shipped_rules(engine):
    """CI's share of `rules verify --cores` (durable-rules over the whole space takes minutes:
    .ci/cores-full runs it as a scheduled job)."""
    report = verify_cores(engine, engine.cores, udsnit=40)
    assert report.disagreement is None, report.disagreement
    assert report.cores == ("durable", "reference", "bulk") and report.points > 1_000
