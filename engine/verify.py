"""Exhaustive verification of a rule set over its finite input space.

For every version (one date per interval between in-force dates) and every
track, every point of that track's input space (engine.space) is evaluated by
the reference evaluator and checked for: completeness, no conflict, the
mindste indgrebs princip's monotonicity, and DOMAIN.md's legal invariants.
Counterexamples come back as ready-to-paste golden cases.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from engine.fields import GRADER, facts_from_screening
from engine.select import Selection, select
from engine.space import axes_for, points, screening_for, space_size, tracks_of

MORE_NEED_FLAGS = ("ustabil", "behov_for_skaerming", "tidligere_forloeb_uden_effekt")


@dataclass
class Counterexample:
    prop: str
    message: str
    screening: dict[str, Any]
    selection_summary: dict[str, Any]

    def as_case(self) -> dict[str, Any]:
        return {
            "navn": f"Modeksempel ({self.prop}): {self.message}"[:200],
            "beskrivelse": "Fundet af 'visitator rules verify'. 'forventet' viser det nuværende resultat; ret det til det korrekte.",
            "screening": self.screening,
            "forventet": self.selection_summary,
        }


@dataclass
class TaskResult:
    version: str
    track: str
    points: int
    counterexamples: list[Counterexample] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _summary(sel: Selection) -> dict[str, Any]:
    spor = {}
    for t in sel.tracks:
        if t.valgt is not None:
            spor[t.spor] = {
                "kategori": t.valgt.kategori,
                "tilbud": t.valgt.id,
                "lovgrundlag": [r.short().replace(" § ", " § ") for r in t.lovgrundlag],
            }
    frister = [{"type": d.spec.type, "dato": d.dato.isoformat(), "lovgrundlag": d.spec.lovgrundlag.short()} for d in sel.deadlines]
    return {"spor": spor, "frister": frister}


def _refs(sel: Selection) -> list[Any]:
    refs = [r for t in sel.tracks if t.valgt for r in t.lovgrundlag]
    return refs + [d.spec.lovgrundlag for d in sel.deadlines]


def check_point(fact: dict[str, Any], day: date, sel: Selection, track: str) -> list[tuple[str, str]]:
    """The properties that one point must satisfy; returns (property, message) pairs."""
    problems: list[tuple[str, str]] = []
    tracks = {t.spor: t for t in sel.tracks}
    for t in sel.tracks:
        if t.valgt is None:
            problems.append(("fuldstaendighed", f"sporet {t.spor} har behovsniveau {t.behovsniveau}, men intet egnet tilbud"))
    if track == "behandling" and fact["hoejeste_grad"] in ("skadeligt", "afhaengighed") and "behandling" not in tracks:
        problems.append(("fuldstaendighed", "skadeligt brug eller afhængighed gav intet behandlingsspor"))
    if track == "bolig" and fact["hjemloes"] and fact["alder"] >= 18 and "bolig" not in tracks:
        problems.append(("fuldstaendighed", "en voksen i hjemløshed fik intet boligspor"))
    seen: dict[tuple[str, str, str], Any] = {}
    for d in sel.deadlines:
        key = (d.spec.type, d.spec.lovgrundlag.lov, d.spec.lovgrundlag.paragraf)
        if key in seen and (seen[key].spec.lovgrundlag.stk != d.spec.lovgrundlag.stk or seen[key].dato != d.dato):
            problems.append(("konflikt", f"to frister af typen {d.spec.type} efter {key[1]} § {key[2]} med forskelligt stk. eller dato"))
        seen[key] = d
    refs = _refs(sel)
    if fact["alder"] < 18 and day >= date(2024, 1, 1) and any(r.lov == "SEL" for r in refs):
        problems.append(("lov", "Serviceloven citeret for en under 18-årig efter 1. januar 2024"))
    if day < date(2015, 7, 1) and any(r.lov == "SEL" and r.paragraf == "101 a" for r in refs):
        problems.append(("lov", "SEL § 101 a citeret før 1. juli 2015"))
    if day < date(2023, 10, 1) and (any(r.paragraf == "85 a" for r in refs) or any(t.valgt and t.valgt.kategori.startswith("housing_first") for t in sel.tracks)):
        problems.append(("lov", "SEL § 85 a anvendt før 1. oktober 2023"))
    if day < date(2024, 9, 1) and any(r.lov == "SUL" and r.paragraf == "82 c" for r in refs):
        problems.append(("lov", "SUL § 82 c citeret før 1. september 2024"))
    if fact["stof_grad"] == "ingen" and any(r.lov == "SEL" and r.paragraf in ("101", "101 a") for r in refs):
        problems.append(("lov", "SEL § 101 citeret uden stofbrug (alkohol alene)"))
    for d in sel.deadlines:
        ref = d.spec.lovgrundlag
        if ref.lov == "SEL" and ref.paragraf == "101" and ref.stk in ("2", "4"):
            if (day >= date(2020, 1, 1)) != (ref.stk == "4"):
                problems.append(("lov", f"behandlingsgarantien citeret som SEL § 101, stk. {ref.stk} på {day.isoformat()}"))
    for t in sel.tracks:
        if t.valgt is None:
            continue
        if t.valgt.kategori == "forsorgshjem" and day >= date(2023, 10, 1) and not fact["akut_behov"]:
            problems.append(("lov", "forsorgshjem (SEL § 110) uden akut behov efter 1. oktober 2023"))
        if t.valgt.kategori in ("doegnbehandling", "doegn_kontrakt") and not (fact["ustabil"] or fact["behov_for_skaerming"] or fact["gravid"]):
            problems.append(("mindste_indgreb", "døgnbehandling uden registreret grund (ustabil, behov for skærmning eller graviditet)"))
        if t.valgt.kategori == "koordinerende_indsatsplan" and t.lovgrundlag:
            problems.append(("lov", "den koordinerende indsatsplan har fået et lovgrundlag, men er en retningslinje"))
    return problems


def _more_need(point: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for flag in MORE_NEED_FLAGS:
        if flag in point and point[flag] is False:
            out.append((f"{flag} sat", {**point, flag: True}))
    for axis in ("alkohol", "stof"):
        if axis in point and point[axis] != GRADER[-1]:
            out.append((f"{axis} grad op", {**point, axis: GRADER[GRADER.index(point[axis]) + 1]}))
    if "stof_opioid" in point:
        stof, opioid = point["stof_opioid"]
        if stof != GRADER[-1]:
            out.append(("stof grad op", {**point, "stof_opioid": (GRADER[GRADER.index(stof) + 1], opioid)}))
    return out


_worker_engine: Any = None


def _init_worker(rules_dir: Optional[str]) -> None:
    global _worker_engine
    from engine.visitation import Engine

    _worker_engine = Engine(Path(rules_dir) if rules_dir else None, core="reference")


def run_task(args: tuple[int, str, int]) -> TaskResult:
    version_index, track, limit = args
    engine = _worker_engine
    version = engine.versions()[version_index]
    compiled = engine.compiled(version)
    day = version.gyldig_fra
    axes = axes_for(version, track)
    result = TaskResult(version.version, track, 0)
    levels: dict[tuple, Optional[int]] = {}
    names = [a.name for a in axes]

    def add(prop: str, message: str, body: dict[str, Any], sel: Selection) -> None:
        result.counts[prop] = result.counts.get(prop, 0) + 1
        if len(result.counterexamples) < limit:
            result.counterexamples.append(Counterexample(prop, message, body, _summary(sel)))

    for point in points(axes):
        body = screening_for(point, day)
        fact = facts_from_screening(body)
        sel = select(compiled, fact, compiled.reference_fired(fact), day, day)
        result.points += 1
        for prop, message in check_point(fact, day, sel, track):
            add(prop, message, body, sel)
        if track == "behandling":
            t = next((t for t in sel.tracks if t.spor == "behandling"), None)
            levels[tuple(point[n] for n in names)] = t.valgt.niveau if t and t.valgt else None
    if track == "behandling":
        for point in points(axes):
            level = levels[tuple(point[n] for n in names)]
            if level is None:
                continue
            for change, more in _more_need(point):
                after = levels[tuple(more[n] for n in names)]
                if after is None or after < level:
                    body = screening_for(more, day)
                    fact = facts_from_screening(body)
                    sel = select(compiled, fact, compiled.reference_fired(fact), day, day)
                    add("monotoni", f"{change} gav et mindre indgribende behandlingstilbud ({level} -> {after})", body, sel)
    return result


@dataclass
class VerifyReport:
    points: int
    versions: int
    tasks: list[TaskResult]
    seconds: float
    workers: int

    @property
    def counterexamples(self) -> list[Counterexample]:
        return [c for t in self.tasks for c in t.counterexamples]

    @property
    def violations(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tasks:
            for k, v in t.counts.items():
                out[k] = out.get(k, 0) + v
        return out


def verify(
    engine: Any,
    workers: Optional[int] = None,
    limit: int = 5,
    progress: Optional[Callable[[int, int], None]] = None,
    only_versions: Optional[set[str]] = None,
    only_tracks: Optional[set[str]] = None,
) -> VerifyReport:
    """Check every point of every version's input space (or the chosen subset)."""
    versions = [(i, v) for i, v in enumerate(engine.versions()) if not v.afventer and (not only_versions or v.version in only_versions)]
    tasks = [(i, track, limit) for i, v in versions for track in tracks_of(v) if not only_tracks or track in only_tracks]
    # Largest first so the two workers finish together.
    tasks.sort(key=lambda t: -space_size(axes_for(engine.versions()[t[0]], t[1])))
    workers = workers or min(2, os.cpu_count() or 1)
    start = time.perf_counter()
    results: list[TaskResult] = []
    rules_dir = str(engine.rules_dir)
    if workers > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(rules_dir,)) as pool:
            for r in pool.imap_unordered(run_task, tasks):
                results.append(r)
                if progress:
                    progress(len(results), len(tasks))
    else:
        _init_worker(rules_dir)
        for task in tasks:
            results.append(run_task(task))
            if progress:
                progress(len(results), len(tasks))
    results.sort(key=lambda r: (r.version, r.track))
    return VerifyReport(sum(r.points for r in results), len(versions), results, time.perf_counter() - start, workers)


def counterexamples_yaml(report: VerifyReport) -> str:
    cases = [c.as_case() for c in report.counterexamples]
    return yaml.safe_dump({"tilfaelde": cases}, allow_unicode=True, sort_keys=False)


