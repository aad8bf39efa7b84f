"""Impact analysis (`visitator rules diff`): which screenings change when the
rules change from A to B, grouped by kind of change, with examples and the
rules whose change caused it.

A side is either a rule set (e.g. the files of a git revision) or a date (the
version in force that day, from one rule set). The corpus (stored screenings,
golden cases or the generated input space) becomes one table of fact columns
(engine.bulk.FactTable) with the screenings' dates beside it. Per side, the
points are grouped by version and by the blocks that hold for them, and the
engine's own selection (`select`) decides once per group; what a decision
says that depends on the screening itself is computed over the columns: the
deadlines as date arithmetic on arrays (and a deadline that had run out
before the vurderingsdato as a note), and a note that quotes a failed
condition's value from groups refined by the values of those fields. Only
the decision (offers, legal bases, deadlines, warnings and notes) is compared.
The reports are rendered by Jinja2 templates (engine/tools/templates/).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import jinja2
import numpy as np

from engine.bulk import FactTable, program_for
from engine.compile import CompiledVersion
from engine.decision import Decision, NoteCode
from engine.screening import ScreeningInvalid, parse_screening
from engine.versions import RuleSetVersion, canonical_content
from engine.wording import dansk_dato, note_text

KINDS = ("tilbud", "lovgrundlag", "frist", "advarsler")
KIND_TEXT = {
    "tilbud": "anbefalet tilbud i et spor",
    "lovgrundlag": "lovgrundlag",
    "frist": "frister",
    "advarsler": "advarsler og oplysninger",
}


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a rules directory, optionally pinned to a date."""

    label: str
    rules_dir: Path
    pinned: Optional[date] = None
    rule_set: str = "misbrug"
    kommune: Optional[str] = None


def _kinds_of(item: Any) -> set[str]:
    """Which parts of a decision an item can change directly."""
    from engine.model import Offer, Precondition, Right, Scope

    if isinstance(item, (Offer, Precondition)):
        return {"tilbud", "lovgrundlag"}
    if isinstance(item, (Right, Scope)):
        return {"tilbud", "lovgrundlag", "frist", "advarsler"}
    kinds = set()
    if item.min_niveau is not None or item.udeluk_kategori or item.udeluk_tilbud:
        kinds.add("tilbud")
    if item.lovgrundlag:
        kinds.add("lovgrundlag")
    if item.frist is not None:
        kinds.add("frist")
    if item.advarsel or item.oplysning or item.skal_tilbyde:
        kinds.add("advarsler")
    return kinds


def _changed_items(a: RuleSetVersion, b: RuleSetVersion) -> dict[str, set[str]]:
    """Ids of rules and offers whose content differs between two versions
    (positions in the files do not count), with the kinds each can change."""

    def index(v: RuleSetVersion) -> dict[str, str]:
        content = canonical_content(v.navn, v.items, (), v.citations)
        out = {}
        for part in ("regler", "tilbud", "forudsaetninger", "rettigheder", "personkreds"):
            for item in content[part]:
                out[item["id"]] = json.dumps(item, sort_keys=True, ensure_ascii=False)
        return out

    ia, ib = index(a), index(b)
    items = {i.id: i for i in a.items}
    items.update({i.id: i for i in b.items})
    return {k: _kinds_of(items[k]) for k in set(ia) | set(ib) if ia.get(k) != ib.get(k)}


@dataclass
class Example:
    screening: dict[str, Any]
    before: Any
    after: Any


@dataclass
class Group:
    kind: str
    count: int = 0
    examples: list[Example] = field(default_factory=list)
    causes: dict[str, int] = field(default_factory=dict)


@dataclass
class DiffReport:
    a: str
    b: str
    corpus: str
    total: int
    changed: int
    skipped: int
    groups: dict[str, Group]
    seconds: float = 0.0


def _engine_for(side: Side) -> Any:
    from engine.visitation import Engine

    return Engine(side.rules_dir, rule_set=side.rule_set, kommune=side.kommune, core="reference")


# --------------------------------------------------------------------------- the corpus as columns


@dataclass
class Corpus:
    """The screenings to compare: fact columns, their dates, and a way back to each screening body."""

    table: FactTable
    henvendelsesdato: np.ndarray  # datetime64[D]
    vurderingsdato: Optional[np.ndarray]  # datetime64[D]; NaT where the screening has none (then: today)
    body: Callable[[int], dict[str, Any]]
    total: int
    skipped: int = 0


_Encoded = tuple[list[int], dict[str, np.ndarray], np.ndarray, np.ndarray]


def _encode(chunk: tuple[int, Sequence[Any], bool]) -> _Encoded:
    """One slice of the corpus through the validation boundary, as columns (the indices kept
    are those of valid screenings, counted from the slice's start)."""
    start, items, texts = chunk
    valid: list[int] = []
    facts: list[dict[str, Any]] = []
    henvendelse: list[date] = []
    vurdering: list[Any] = []
    for i, item in enumerate(items):
        try:
            screening = parse_screening(json.loads(item) if texts else item)
        except (ScreeningInvalid, ValueError):
            continue
        valid.append(start + i)
        facts.append(screening.fact())
        henvendelse.append(screening.henvendelsesdato)
        vurdering.append(np.datetime64("NaT") if screening.vurderingsdato is None else screening.vurderingsdato)
    return (valid, FactTable.from_facts(facts).columns, np.array(henvendelse, dtype="datetime64[D]"),
            np.array(vurdering, dtype="datetime64[D]"))


def _corpus(items: Sequence[Any], texts: bool, body: Callable[[int], dict[str, Any]]) -> Callable[[], Corpus]:
    """Start validating the corpus (in two forked processes when it is large) and return a
    function that waits for it, so the caller can do other work meanwhile."""
    size = len(items)
    chunk = 25_000
    chunks = [(i, items[i:i + chunk], texts) for i in range(0, size, chunk)]
    if len(chunks) > 1 and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() and (os.cpu_count() or 1) > 1:
        pool = multiprocessing.get_context("fork").Pool(min(2, os.cpu_count() or 1))
        pending = pool.map_async(_encode, chunks)

        def finish() -> Corpus:
            try:
                return _assemble(pending.get(), size, body)
            finally:
                pool.terminate()
                pool.join()

        return finish
    corpus = _assemble([_encode(c) for c in chunks] or [_encode((0, [], texts))], size, body)
    return lambda: corpus


def _assemble(parts: list[_Encoded], size: int, body: Callable[[int], dict[str, Any]]) -> Corpus:
    valid = [i for part in parts for i in part[0]]
    names = list(parts[0][1])
    table = FactTable({n: np.concatenate([np.asarray(part[1][n]) for part in parts]) for n in names}, len(valid))
    return Corpus(table, np.concatenate([part[2] for part in parts]), np.concatenate([part[3] for part in parts]),
                  lambda k: body(valid[k]), size, size - len(valid))


def corpus_of_bodies(bodies: Sequence[dict[str, Any]]) -> Corpus:
    """Screening bodies through the one validation boundary (parse_screening); invalid ones are
    skipped. Large corpora are validated in two processes forked from this one."""
    return _corpus(bodies, False, lambda i: bodies[i])()


def corpus_of_texts(texts: Sequence[str], wait: bool = True) -> Corpus | Callable[[], Corpus]:
    """As corpus_of_bodies, for screenings stored as JSON text (the decision log); a text is
    parsed in the validating process, and again only for the screenings shown as examples.
    With wait=False: a function that returns the corpus once it is ready."""
    finish = _corpus(texts, True, lambda i: json.loads(texts[i]))
    return finish() if wait else finish


def corpus_of_space(engine: Any, days: Iterable[date]) -> Corpus:
    """The generated input space (every track's points) on each of the given dates, built
    as columns from the axes; a screening body is made only for the points shown."""
    from engine.tools.space import axes_for, fact_table, screening_for, space_size, tracks_of

    parts: list[tuple[int, date, list[Any]]] = []  # (start, day, axes)
    tables: list[FactTable] = []
    start = 0
    for day in sorted(set(days)):
        compiled = engine.compiled(engine.version_for(day))
        for track in tracks_of(compiled):
            axes = axes_for(compiled, track)
            parts.append((start, day, axes))
            tables.append(fact_table(axes, day))
            start += space_size(axes)
    names = list(tables[0].columns) if tables else []
    table = FactTable({k: np.concatenate([np.asarray(t.columns[k]) for t in tables]) for k in names}, start)
    days_column = np.concatenate([np.full(t.size, np.datetime64(d, "D")) for t, (_, d, _) in zip(tables, parts)]) if tables \
        else np.array([], dtype="datetime64[D]")
    starts = np.array([p[0] for p in parts], dtype=np.int64)

    def body(k: int) -> dict[str, Any]:
        from engine.tools.verify import _point

        part = int(np.searchsorted(starts, k, side="right")) - 1
        first, day, axes = parts[part]
        return screening_for(_point(axes, k - first), day)

    return Corpus(table, days_column, days_column.copy(), body, start)


# --------------------------------------------------------------------------- one side


@dataclass
class _Static:
    """What a group's decision says that does not depend on the screening's dates."""

    tilbud: dict[str, Optional[str]]
    lovgrundlag: dict[str, list[str]]
    notes: tuple[str, ...]  # every note but the expired deadlines, sorted
    deadlines: tuple[tuple[str, int, bool, Any, str], ...]  # (type, days, from henvendelsesdato, citation, description), applied order
    fired: tuple[int, ...]
    chosen: tuple[str, ...]
    version: int

    def ids(self, items: Sequence[Any]) -> frozenset[str]:
        """The blocks that took part (for the causes): every block that held but an offer, and the
        offers chosen (`items`: the compiled version's blocks)."""
        return frozenset({items[i].id for i in self.fired if items[i].kind != "tilbud"} | set(self.chosen))


@dataclass
class _SideResult:
    group: np.ndarray  # point -> group (-1: the date is not covered; -2: decided alike on both sides)
    static: list[_Static]
    vurderingsdato: np.ndarray
    versions: list[RuleSetVersion]
    engine: Any

    def items(self, version: int) -> Sequence[Any]:
        return self.engine.compiled(self.versions[version]).items


def _static(compiled: CompiledVersion, d: Decision, fired: Sequence[int], version: int, index: dict[int, int]) -> _Static:
    deadlines = []
    for application in d.rules:
        if not application.applied:
            continue
        rule = compiled.items[index[id(application.rule)]]
        frist = getattr(rule, "frist", None)
        if frist is not None:
            deadlines.append((frist.type, frist.dage, frist.fra == "henvendelsesdato", compiled.version.citations[frist.lovgrundlag],
                              frist.beskrivelse))
    # Equal parts are made the same object (cheap to send back from a worker process).
    return _Static({t.spor: (t.chosen.id if t.chosen else None) for t in d.tracks},
                   {t.spor: sorted(_short_citation(r) for r in t.lovgrundlag) for t in d.tracks},
                   _same(tuple(sorted(_same(note_text(n)) for n in d.notes if n.kode is not NoteCode.FRIST_UDLOEBET))),
                   _same(tuple(deadlines)), tuple(fired), tuple(t.chosen.id for t in d.tracks if t.chosen), version)


_SHORT: dict[Any, str] = {}
_SAME: dict[Any, Any] = {}


def _same(value: Any) -> Any:
    """One object for equal values (notes and deadline lists recur across groups)."""
    if len(_SAME) > 100_000:
        _SAME.clear()
    return _SAME.setdefault(value, value)


def _short_citation(ref: Any) -> str:
    text = _SHORT.get(ref)
    if text is None:
        text = _SHORT[ref] = ref.short()
    return text


def _trace_fields(compiled: CompiledVersion, d: Decision) -> set[str]:
    """Fields whose values a note quotes (a 'skal tilbyde' note naming an unsuitable offer's failed conditions)."""
    from engine.tools.space import condition_fields

    out: set[str] = set()
    for note in d.notes:
        if note.kode is NoteCode.SKAL_TILBYDE_IKKE_ANBEFALET and note.verdict is not None:
            for j, item in enumerate(compiled.items):
                if item.kind == "tilbud" and item.id == note.verdict.offer.id:
                    out |= condition_fields(c for c, _ in compiled.effective[j].conditions)
    return out


@dataclass
class _Placement:
    """Which version of a side decides each point, and the point's vurderingsdato there."""

    which: np.ndarray  # point -> index into versions (-1: the date is not covered)
    vurderingsdato: np.ndarray
    versions: list[RuleSetVersion]


def _place(engine: Any, side: Side, corpus: Corpus, today: date) -> _Placement:
    n = corpus.table.size
    vurdering = corpus.vurderingsdato if corpus.vurderingsdato is not None else np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    vurdering = np.where(np.isnat(vurdering), np.datetime64(today, "D"), vurdering)
    versions = [v for v in engine.versions() if not v.afventer]
    starts = np.array([v.gyldig_fra for v in versions], dtype="datetime64[D]")
    day = np.full(n, np.datetime64(side.pinned, "D")) if side.pinned else vurdering
    return _Placement(np.searchsorted(starts, day, side="right") - 1, vurdering, versions)


def _decide_side(engine: Any, placement: _Placement, corpus: Corpus, active: np.ndarray) -> tuple[np.ndarray, list[_Static]]:
    """Group the active points by version and fired set and decide each group once."""
    which, versions = placement.which, placement.versions
    group = np.full(corpus.table.size, -1, dtype=np.int64)
    static: list[_Static] = []
    for k in np.unique(which[active & (which >= 0)]).tolist():
        compiled = engine.compiled(versions[k])
        where = np.flatnonzero(active & (which == k))
        groups = program_for(compiled).groups(corpus.table.take(where))
        first_day = versions[k].gyldig_fra
        decisions = groups.decisions(first_day, first_day)
        refine = {g: f for g, d in decisions.items() if (f := _trace_fields(compiled, d))}
        if refine:
            # Split those groups by the quoted fields' values and decide them with the trace.
            before = groups.inverse
            groups = groups.refine(refine)
            traced = {g for g in range(len(groups)) if int(before[groups.first[g]]) in refine}
            decisions = groups.decisions(first_day, first_day, only=[g for g in range(len(groups)) if g not in traced])
            decisions.update(groups.decisions(first_day, first_day, trace=True, only=sorted(traced)))
        index = {id(ref): i for i, ref in enumerate(compiled.refs)}
        group[where] = len(static) + groups.inverse
        static += [_static(compiled, decisions[g], groups.fired[g], k, index) for g in range(len(groups))]
    return group, static


#: What a forked worker inherits: (engine, placement, corpus, active) of the side it decides.
_inherited: Any = None


def _decide_inherited(_: int) -> tuple[np.ndarray, list[_Static]]:
    return _decide_side(*_inherited)


def _content(version: RuleSetVersion) -> tuple[dict[tuple[str, str], str], str]:
    """A version's blocks as (kind, id) -> canonical content, and everything else it holds."""
    content = canonical_content(version.navn, version.items, version.layers, version.citations)
    blocks = {}
    for part, kind in (("regler", "regel"), ("tilbud", "tilbud"), ("forudsaetninger", "forudsaetning"), ("rettigheder", "rettighed"),
                       ("personkreds", "personkreds")):
        for item in content.pop(part):
            blocks[(kind, item["id"])] = json.dumps(item, sort_keys=True, ensure_ascii=False)
    return blocks, json.dumps(content, sort_keys=True, ensure_ascii=False)


def _touched(ea: Any, eb: Any, pa: _Placement, pb: _Placement, corpus: Corpus, points: np.ndarray) -> np.ndarray:
    """Which of the points a change between their two versions can touch at all (conservative).

    Selection reads the blocks that hold, the offers of the tracks that are active, the rendered
    citations and the personkreds behind every block's effective conditions. So when two
    versions differ only in some blocks, other than personkreds, and hold the same citations,
    a point is untouched - decided alike on both sides - when none of the changed blocks holds
    for it on either side and no block of a changed offer's track holds for it on either side
    (then no changed offer's track is active). The rest is decided on both sides."""
    touched = np.zeros(corpus.table.size, dtype=np.bool_)
    pairs = np.unique(np.stack([pa.which[points], pb.which[points]], axis=1), axis=0) if len(points) else np.zeros((0, 2), dtype=np.int64)
    for xa, xb in pairs.tolist():
        where = points[(pa.which[points] == xa) & (pb.which[points] == xb)]
        (blocks_a, rest_a), (blocks_b, rest_b) = _content(pa.versions[xa]), _content(pb.versions[xb])
        changed = {key for key in set(blocks_a) | set(blocks_b) if blocks_a.get(key) != blocks_b.get(key)}
        if rest_a != rest_b or any(kind == "personkreds" for kind, _ in changed):
            touched[where] = True
            continue
        tracks = {t for kind, block_id in changed if kind == "tilbud" for t in _tracks_of(block_id, pa.versions[xa], pb.versions[xb])}
        subtable = corpus.table.take(where)
        hit = np.zeros(len(where), dtype=np.bool_)
        for engine, version in ((ea, pa.versions[xa]), (eb, pb.versions[xb])):
            compiled = engine.compiled(version)
            watched = [i for i, item in enumerate(compiled.items) if (item.kind, item.id) in changed or getattr(item, "spor", None) in tracks]
            if watched:
                hit |= program_for(compiled).fired_matrix(subtable, watched)[:, watched].any(axis=1)
        touched[where] = hit
    return touched


def _tracks_of(offer_id: str, *versions: RuleSetVersion) -> set[str]:
    return {o.spor for v in versions for o in v.offers if o.id == offer_id}


def _sides(ea: Any, eb: Any, side_a: Side, side_b: Side, corpus: Corpus) -> tuple[_SideResult, _SideResult]:
    """Both sides decided; points a change cannot touch (the same version content on both
    sides, or only blocks changed that play no part for them, see _touched; and the same
    dates) are left out. Side B is decided in a forked process while this one decides side
    A (not in a process with other threads running)."""
    global _inherited
    pa, pb = _place(ea, side_a, corpus, ea.today()), _place(eb, side_b, corpus, eb.today())
    sha_a = np.array([v.sha256 for v in pa.versions] + [""], dtype=object)[pa.which]
    sha_b = np.array([v.sha256 for v in pb.versions] + ["-"], dtype=object)[pb.which]
    covered = (pa.which >= 0) & (pb.which >= 0)
    active = covered & ~((sha_a == sha_b) & (pa.vurderingsdato == pb.vurderingsdato))
    same_dates = active & (pa.vurderingsdato == pb.vurderingsdato)
    active &= ~same_dates | _touched(ea, eb, pa, pb, corpus, np.flatnonzero(same_dates))
    parallel = active.sum() > 5_000 and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() \
        and (os.cpu_count() or 1) > 1
    if parallel:
        _inherited = (eb, pb, corpus, active)
        try:
            with multiprocessing.get_context("fork").Pool(1) as pool:
                pending = pool.apply_async(_decide_inherited, (0,))
                decided_a = _decide_side(ea, pa, corpus, active)
                try:
                    decided_b = pending.get()
                except Exception:  # the worker failed: decide side B here
                    decided_b = _decide_side(eb, pb, corpus, active)
        finally:
            _inherited = None
    else:
        decided_a, decided_b = _decide_side(ea, pa, corpus, active), _decide_side(eb, pb, corpus, active)
    results = []
    for engine, placement, (group, static) in ((ea, pa, decided_a), (eb, pb, decided_b)):
        group = np.where(covered & ~active, -2, group)  # -2: covered, the same on both sides
        results.append(_SideResult(group, static, placement.vurderingsdato, placement.versions, engine))
    return results[0], results[1]


# --------------------------------------------------------------------------- dated parts


def _kept(deadlines: Sequence[tuple[str, int, bool, Any, str]], henvendelse: np.ndarray, vurdering: np.ndarray
          ) -> dict[tuple[str, Any], np.ndarray]:
    """The deadlines a decision keeps, one per type and provision (the earliest), with
    their dates per point: date arithmetic on the date columns."""
    out: dict[tuple[str, Any], np.ndarray] = {}
    for kind, days, from_henvendelse, citation, _ in deadlines:
        dates = (henvendelse if from_henvendelse else vurdering) + np.timedelta64(days, "D")
        key = (kind, citation)
        out[key] = np.minimum(out[key], dates) if key in out else dates
    return out


def _frist_strings(static: _Static, henvendelse: date, vurdering: date) -> tuple[list[str], list[str]]:
    """One point's deadlines as the summary writes them, and the notes on expired ones."""
    kept: dict[tuple[str, Any], tuple[date, int, tuple[str, int, bool, Any, str]]] = {}
    for order, spec in enumerate(static.deadlines):
        kind, days, from_henvendelse, citation, _ = spec
        day = (henvendelse if from_henvendelse else vurdering) + timedelta(days=days)
        key = (kind, citation)
        if key not in kept or day < kept[key][0]:
            kept[key] = (day, order, spec)
    frister = sorted(f"{kind} {day.isoformat()} {citation.short()}" for (kind, citation), (day, _, _) in kept.items())
    expired = [f"Fristen '{spec[4]}' ({spec[3].danish()}) udløb {dansk_dato(day)}, før vurderingsdatoen."
               for day, _, spec in kept.values() if day < vurdering]
    return frister, expired


def _outcome(static: _Static, henvendelse: date, vurdering: date) -> dict[str, Any]:
    """One point's summary on one side (for the examples)."""
    frister, expired = _frist_strings(static, henvendelse, vurdering)
    return {"tilbud": static.tilbud, "lovgrundlag": static.lovgrundlag, "frist": frister, "advarsler": sorted([*static.notes, *expired])}


def _any_expired(static: _Static, henvendelse: np.ndarray, vurdering: np.ndarray) -> np.ndarray:
    out = np.zeros(len(henvendelse), dtype=np.bool_)
    for _, days, from_henvendelse, _, _ in static.deadlines:
        out |= ((henvendelse if from_henvendelse else vurdering) + np.timedelta64(days, "D")) < vurdering
    return out


def _frist_differs(a: _Static, b: _Static, henvendelse: np.ndarray, va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    """Per point: do the two sides' deadline lists differ (as multisets of type, date, provision)?"""
    labelled = []
    for static, vurdering in ((a, va), (b, vb)):
        by_label: dict[tuple[str, str], list[np.ndarray]] = {}
        for (kind, citation), dates in _kept(static.deadlines, henvendelse, vurdering).items():
            by_label.setdefault((kind, citation.short()), []).append(dates)
        labelled.append(by_label)
    la, lb = labelled
    if {k: len(v) for k, v in la.items()} != {k: len(v) for k, v in lb.items()}:
        return np.ones(len(henvendelse), dtype=np.bool_)
    out = np.zeros(len(henvendelse), dtype=np.bool_)
    for label, found in la.items():
        xa, xb = np.sort(np.stack(found), axis=0), np.sort(np.stack(lb[label]), axis=0)
        out |= (xa != xb).any(axis=0)
    return out


# --------------------------------------------------------------------------- the comparison


class _Interned:
    """Equal values get equal integers (so the two sides compare as integer arrays)."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.values: list[Any] = []

    def __call__(self, value: Any) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


def _ids(sides: Sequence[_SideResult]) -> dict[str, list[np.ndarray]]:
    tilbud, lov, notes, deadlines = _Interned(), _Interned(), _Interned(), _Interned()
    out: dict[str, list[np.ndarray]] = {"tilbud": [], "lovgrundlag": [], "noter": [], "frister": []}
    for side in sides:
        out["tilbud"].append(np.array([tilbud(tuple(sorted(s.tilbud.items(), key=str))) for s in side.static] or [0], dtype=np.int64))
        out["lovgrundlag"].append(np.array([lov(tuple(sorted((k, tuple(v)) for k, v in s.lovgrundlag.items()))) for s in side.static] or [0],
                                           dtype=np.int64))
        out["noter"].append(np.array([notes(tuple(s.notes)) for s in side.static] or [0], dtype=np.int64))
        out["frister"].append(np.array([deadlines(s.deadlines) for s in side.static] or [0], dtype=np.int64))
    return out


def diff(
    side_a: Side,
    side_b: Side,
    bodies: Sequence[dict[str, Any]] | Corpus,
    corpus: str,
    max_examples: int = 3,
    workers: Optional[int] = None,
    progress: Optional[Callable[[int, int], None]] = None,
    engines: Optional[tuple[Any, Any]] = None,
) -> DiffReport:
    """Compare the corpus (screening bodies, or a Corpus such as corpus_of_space) under side A
    and side B. `engines` (the caller's current engines, e.g. the service's after a reload)
    are used when given; otherwise each side's engine is built from its folder. `workers` is
    accepted for compatibility: the comparison runs in this process."""
    start = time.perf_counter()
    ea, eb = engines if engines is not None else (_engine_for(side_a), _engine_for(side_b))
    data = bodies if isinstance(bodies, Corpus) else corpus_of_bodies(bodies)
    if progress:
        progress(0, data.total)
    ra, rb = _sides(ea, eb, side_a, side_b, data)
    if progress:
        progress(data.total * 9 // 10, data.total)
    skipped = data.skipped + int(((ra.group == -1) | (rb.group == -1)).sum())
    points = np.flatnonzero((ra.group >= 0) & (rb.group >= 0))
    ga, gb = ra.group[points], rb.group[points]
    henvendelse, va, vb = data.henvendelsesdato[points], ra.vurderingsdato[points], rb.vurderingsdato[points]
    ids = _ids((ra, rb))
    differs = {"tilbud": ids["tilbud"][0][ga] != ids["tilbud"][1][gb],
               "lovgrundlag": ids["lovgrundlag"][0][ga] != ids["lovgrundlag"][1][gb],
               "frist": np.zeros(len(points), dtype=np.bool_),
               "advarsler": ids["noter"][0][ga] != ids["noter"][1][gb]}
    # Deadlines: equal specifications on equal dates give equal deadlines and equal notes on
    # expired ones; the rest is date arithmetic per pair of specifications.
    da, db = ids["frister"][0][ga], ids["frister"][1][gb]
    dated = np.flatnonzero((da != db) | (va != vb))
    if len(dated):
        keys, inverse = np.unique(np.stack([da[dated], db[dated]], axis=1), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for k in range(len(keys)):
            where = dated[inverse == k]
            a, b = ra.static[int(ga[where[0]])], rb.static[int(gb[where[0]])]
            differs["frist"][where] = _frist_differs(a, b, henvendelse[where], va[where], vb[where])
            expired = _any_expired(a, henvendelse[where], va[where]) | _any_expired(b, henvendelse[where], vb[where])
            for p in where[expired].tolist():  # rare: said one by one
                h = henvendelse[p].astype(object)
                before = _outcome(ra.static[int(ga[p])], h, va[p].astype(object))["advarsler"]
                differs["advarsler"][p] = before != _outcome(rb.static[int(gb[p])], h, vb[p].astype(object))["advarsler"]
    changed = differs["tilbud"] | differs["lovgrundlag"] | differs["frist"] | differs["advarsler"]
    groups = {k: Group(k, int(differs[k].sum())) for k in KINDS}
    _causes(ra, rb, ga, gb, differs, changed, groups)
    for kind in KINDS:
        for p in np.flatnonzero(differs[kind])[:max_examples].tolist():
            h = henvendelse[p].astype(object)
            before = _outcome(ra.static[int(ga[p])], h, va[p].astype(object))
            after = _outcome(rb.static[int(gb[p])], h, vb[p].astype(object))
            groups[kind].examples.append(Example(data.body(int(points[p])), before[kind], after[kind]))
    if progress:
        progress(data.total, data.total)
    from engine.tools.space import forget_tables

    forget_tables()
    return DiffReport(side_a.label, side_b.label, corpus, data.total, int(changed.sum()), skipped, groups, time.perf_counter() - start)


def _involved(side: _SideResult, groups: np.ndarray, names: list[str]) -> np.ndarray:
    """points x names: did the named block take part in the point's decision?"""
    used, inverse = np.unique(groups, return_inverse=True)
    ids = (side.static[g].ids(side.items(side.static[g].version)) for g in used.tolist())
    table = np.array([[c in found for c in names] for found in ids], dtype=np.bool_).reshape(len(used), len(names))
    out: np.ndarray = table[inverse.reshape(-1)]
    return out


def _causes(ra: _SideResult, rb: _SideResult, ga: np.ndarray, gb: np.ndarray, differs: dict[str, np.ndarray], changed: np.ndarray,
            groups: dict[str, Group]) -> None:
    """Per kind of change, how many changed screenings each changed rule or offer took part in
    (the direct causes of that kind, else those that change the offer)."""
    version_a = np.array([s.version for s in ra.static] or [0], dtype=np.int64)[ga]
    version_b = np.array([s.version for s in rb.static] or [0], dtype=np.int64)[gb]
    for xa, xb in np.unique(np.stack([version_a[changed], version_b[changed]], axis=1), axis=0).tolist():
        items = _changed_items(ra.versions[xa], rb.versions[xb])
        if not items:
            continue
        names = sorted(items)
        where = np.flatnonzero(changed & (version_a == xa) & (version_b == xb))
        involved = _involved(ra, ga[where], names) | _involved(rb, gb[where], names)
        offer_kind = np.array(["tilbud" in items[c] for c in names])
        for kind in KINDS:
            rows = differs[kind][where]
            if not rows.any():
                continue
            direct = involved[rows] & np.array([kind in items[c] for c in names])
            use = np.where(direct.any(axis=1)[:, None], direct, involved[rows] & offer_kind)
            for c, n in zip(names, use.sum(axis=0).tolist()):
                if n:
                    groups[kind].causes[c] = groups[kind].causes.get(c, 0) + n


# --------------------------------------------------------------------------- reports


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_short(v)}" for k, v in value.items()) or "(intet)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(intet)"
    return "(intet)" if value is None else str(value)


def terminal_table(report: DiffReport) -> str:
    lines = [
        f"Ændringer fra {report.a} til {report.b} på {report.corpus}: {report.changed} af {report.total} screeninger ændres"
        + (f" ({report.skipped} sprunget over: uden for regelsættets datoer eller ugyldige)" if report.skipped else "")
        + f" [{report.seconds:.1f} s]",
        "",
        f"{'Art':28} {'Screeninger':>11}  Årsag (regler, der har ændret sig)",
        f"{'-' * 28} {'-' * 11}  {'-' * 40}",
    ]
    for kind in KINDS:
        g = report.groups[kind]
        causes = ", ".join(f"{c} ({n})" for c, n in sorted(g.causes.items(), key=lambda x: -x[1])[:5]) or "-"
        lines.append(f"{KIND_TEXT[kind]:28} {g.count:>11}  {causes}")
    for kind in KINDS:
        g = report.groups[kind]
        if not g.examples:
            continue
        lines.append(f"\nEksempler – {KIND_TEXT[kind]}:")
        for ex in g.examples:
            lines.append(f"  {json.dumps(ex.screening, ensure_ascii=False)}")
            lines.append(f"    før:  {_short(ex.before)}")
            lines.append(f"    efter: {_short(ex.after)}")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("engine.tools", "templates"), autoescape=jinja2.select_autoescape(["html.j2"]),
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["short"] = _short
    env.filters["pretty_json"] = lambda value: json.dumps(value, ensure_ascii=False, indent=1)
    return env


def _context(report: DiffReport) -> dict[str, Any]:
    rows = [{"kind": k, "text": KIND_TEXT[k], "count": report.groups[k].count,
             "causes": sorted(report.groups[k].causes.items(), key=lambda x: -x[1]), "examples": report.groups[k].examples}
            for k in KINDS]
    return {"report": report, "rows": rows}


def markdown_report(report: DiffReport) -> str:
    return _templates().get_template("diff.md.j2").render(**_context(report))


def html_report(report: DiffReport) -> str:
    return _templates().get_template("diff.html.j2").render(**_context(report))
