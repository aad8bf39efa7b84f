"""Exhaustive verification of a rule set over its finite input space, on the bulk evaluator.

For every version (one date per interval between in-force dates) and every
track, every point of that track's input space (engine.tools.space) is
checked for: completeness, no conflict, the mindste indgrebs princip's
monotonicity, DOMAIN.md's legal invariants, and the consistency of the
output (no note cites a provision that does not cover the citizen, a "skal
tilbyde" note only beside the offer or its reason, no restriction that
escalates, every cited provision existing on the date).

How: the points of a version are columns (engine.bulk.FactTable), the blocks
that hold are one boolean matrix, and points with the same fired set form one
group. The decision is made once per group by the engine's own selection
(engine.select: `choose` and `select`), and each property becomes, per group,
a list of findings; a finding that also depends on the citizen (an age, a
personkreds) carries a vector over the fact columns. Counterexamples are
decided again one by one, as the engine decides, and come back as
ready-to-paste golden cases.

`verify_cores` (`rules verify --cores`) is the other proof: every point
evaluated by every core (durable-rules, the reference evaluator and the
bulk evaluator), the first disagreement reported as a golden case.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np
import yaml

from engine.bulk import FactTable, Groups, condition_vector, program_for
from engine.compile import CompiledVersion
from engine.decision import Decision, NoteCode
from engine.fields import FACT_FIELDS, GRADER
from engine.model import Scope
from engine.screening import parse_screening
from engine.select import Choice, _sorted_legal, select
from engine.tools.space import Axis, axes_for, fact_table, forget_tables, screening_for, space_size, tracks_of

MORE_NEED_FLAGS = ("ustabil", "behov_for_skaerming", "tidligere_forloeb_uden_effekt")


@dataclass
class Counterexample:
    prop: str
    message: str
    screening: dict[str, Any]
    summary: dict[str, Any]

    def as_case(self) -> dict[str, Any]:
        return {
            "navn": f"Modeksempel ({self.prop}): {self.message}"[:200],
            "beskrivelse": "Fundet af 'visitator rules verify'. 'forventet' viser det nuværende resultat; ret det til det korrekte.",
            "screening": self.screening,
            "forventet": self.summary,
        }


@dataclass
class TaskResult:
    version: str
    track: str
    points: int
    counterexamples: list[Counterexample] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def summary(decision: Decision) -> dict[str, Any]:
    """A decision as a golden case's `forventet` block."""
    spor = {}
    for t in decision.tracks:
        if t.chosen is not None:
            spor[t.spor] = {"kategori": t.chosen.kategori, "tilbud": t.chosen.id, "lovgrundlag": [r.short() for r in t.lovgrundlag]}
    frister = [{"type": d.type, "dato": d.dato.isoformat(), "lovgrundlag": d.citation.short()} for d in decision.deadlines]
    return {"spor": spor, "frister": frister}


def decide_point(compiled: CompiledVersion, body: dict[str, Any], day: date) -> tuple[dict[str, Any], Decision, list[int]]:
    """One screening decided as the engine decides it (validation, reference evaluator, full trace)."""
    screening = parse_screening(body)
    fact = screening.fact()
    fired = compiled.reference_fired(fact)
    d = select(compiled, fact, fired, day, day, tuple((r.stof, r.grad) for r in screening.rusmidler), "reference")
    return fact, d, fired


# --------------------------------------------------------------------------- the properties, per group

#: A finding of one group: (property, message, fact mask or None, only in this task's track or None).
#: The mask names a vector over the fact columns (FACT_MASKS, or "personkreds:<i>"): the finding
#: holds for the group's points where the mask is true.
Finding = tuple[str, str, Optional[str], Optional[str]]


def _code(name: str, value: str) -> int:
    return FACT_FIELDS[name].vaerdier.index(value)


FACT_MASKS: dict[str, Callable[[FactTable], np.ndarray]] = {
    "under_18": lambda t: t.columns["alder"] < 18,
    "ingen_stof": lambda t: t.columns["stof_grad"] == _code("stof_grad", "ingen"),
    "skadeligt_brug": lambda t: t.columns["hoejeste_grad"] >= _code("hoejeste_grad", "skadeligt"),
    "hjemloes_voksen": lambda t: t.columns["hjemloes"] & (t.columns["alder"] >= 18),
    "uden_for_101a": lambda t: t.columns["hjemloes"] | t.columns["andre_sociale_problemer"] | t.columns["dobbeltdiagnose"],
    "ikke_akut": lambda t: ~t.columns["akut_behov"],
    "uden_doegngrund": lambda t: ~(t.columns["ustabil"] | t.columns["behov_for_skaerming"] | t.columns["gravid"]),
}


def _scopes(compiled: CompiledVersion) -> list[Scope]:
    return [s for s in compiled.version.items if isinstance(s, Scope)]


def _mask(name: str, table: FactTable, scopes: Sequence[Scope], memo: dict[str, np.ndarray]) -> np.ndarray:
    found = memo.get(name)
    if found is None:
        if name.startswith("personkreds:"):
            found = ~condition_vector(table, *scopes[int(name.split(":", 1)[1])].conditions)
        else:
            found = FACT_MASKS[name](table)
        memo[name] = found
    return found


def _legal_invariants(day: date, d: Decision, refs: Sequence[Any], cited: Sequence[Any]) -> list[Finding]:
    out: list[Finding] = []
    if day >= date(2024, 1, 1) and any(r.lov == "SEL" for r in cited):
        out.append(("lov", "Serviceloven citeret for en under 18-årig efter 1. januar 2024", "under_18", None))
    if day < date(2015, 7, 1) and any(r.lov == "SEL" and r.paragraf == "101 a" for r in cited):
        out.append(("lov", "SEL § 101 a citeret før 1. juli 2015", None, None))
    housing_first = any(t.chosen and t.chosen.kategori.startswith("housing_first") for t in d.tracks)
    if day < date(2023, 10, 1) and (any(r.paragraf == "85 a" for r in refs) or housing_first):
        out.append(("lov", "SEL § 85 a anvendt før 1. oktober 2023", None, None))
    if day < date(2024, 9, 1) and any(r.lov == "SUL" and r.paragraf == "82 c" for r in refs):
        out.append(("lov", "SUL § 82 c citeret før 1. september 2024", None, None))
    if any(r.lov == "SEL" and r.paragraf in ("101", "101 a") for r in refs):
        out.append(("lov", "SEL § 101 citeret uden stofbrug (alkohol alene)", "ingen_stof", None))
    if any(r.paragraf == "101 a" for r in cited):
        out.append(("lov", "SEL § 101 a citeret for en borger med andre sociale problemer, hjemløshed eller psykisk lidelse", "uden_for_101a", None))
    for x in d.deadlines:
        ref = x.citation
        if ref.lov == "SEL" and ref.paragraf == "101" and ref.stk in ("2", "4") and (day >= date(2020, 1, 1)) != (ref.stk == "4"):
            out.append(("lov", f"behandlingsgarantien citeret som SEL § 101, stk. {ref.stk} på {day.isoformat()}", None, None))
        if ref.lov == "SUL" and ref.paragraf == "142" and ref.stk == "6":
            medical = d.track("medicinsk")
            if medical is None or medical.chosen is None or medical.chosen.kategori != "substitution":
                out.append(("lov", "fristen i SUL § 142, stk. 6 givet uden behandling efter stk. 3 (substitution)", None, None))
    for t in d.tracks:
        if t.chosen is None:
            continue
        if t.chosen.kategori == "forsorgshjem" and day >= date(2023, 10, 1):
            out.append(("lov", "forsorgshjem (SEL § 110) uden akut behov efter 1. oktober 2023", "ikke_akut", None))
        if t.chosen.kategori in ("doegnbehandling", "doegn_kontrakt"):
            out.append(("mindste_indgreb", "døgnbehandling uden registreret grund (ustabil, behov for skærmning eller graviditet)",
                        "uden_doegngrund", None))
        if t.chosen.kategori == "koordinerende_indsatsplan" and t.lovgrundlag:
            out.append(("lov", "den koordinerende indsatsplan har fået et lovgrundlag, men er en retningslinje", None, None))
        if t.chosen.kategori == "afrusning":
            out.append(("forudsaetning", "afrusning valgt som tilbud i stedet for at blive lagt ved siden af behandlingen", None, None))
    return out


_MESSAGES: dict[tuple[Any, str], str] = {}


def _scope_message(ref: Any, scope: Scope) -> str:
    text = _MESSAGES.get((ref, scope.id))
    if text is None:
        text = _MESSAGES[(ref, scope.id)] = f"{ref.short()} citeres, men personkredsen '{scope.id}' omfatter ikke borgeren"
    return text


def _covering(scopes: Sequence[Scope], provision: str, memo: dict[str, list[tuple[int, Scope]]]) -> list[tuple[int, Scope]]:
    found = memo.get(provision)
    if found is None:
        found = memo[provision] = [(k, s) for k, s in enumerate(scopes) if s.covers(provision)]
    return found


def _consistency(compiled: CompiledVersion, d: Decision, choice: Choice, scopes: Sequence[Scope], cited: Sequence[Any],
                 memo: dict[str, list[tuple[int, Scope]]]) -> list[Finding]:
    out: list[Finding] = []
    for ref in cited:
        if ref.bestemmelse is None or ref.bestemmelse not in compiled.version.citations:
            out.append(("henvisning", f"{ref.short()} citeres, men findes ikke i versionen fra {compiled.version.version}", None, None))
            continue
        for k, scope in _covering(scopes, ref.bestemmelse, memo):
            out.append(("konsistens", _scope_message(ref, scope), f"personkreds:{k}", None))
    for note in d.notes:
        if note.kode is NoteCode.SKAL_TILBYDE:
            t = d.track(note.spor or "")
            if t is None or t.chosen is None or note.offer is None or t.chosen.id != note.offer.id:
                out.append(("konsistens", "en 'skal tilbyde'-advarsel uden at tilbuddet anbefales", None, None))
        if note.kode is NoteCode.SKAL_TILBYDE_IKKE_ANBEFALET and note.verdict is None:
            out.append(("konsistens", "en 'skal tilbyde'-advarsel uden begrundelse for, at tilbuddet ikke anbefales", None, None))
    for spor, pick in choice.picks.items():
        law = choice.law_picks[spor]
        if law is None:
            continue
        if pick is None:
            t = d.track(spor)
            if t is None or t.no_alternative is None:
                out.append(("begraensning", f"en begrænsning i sporet {spor} efterlod intet tilbud uden at sige 'ingen egnet alternativ'", None, None))
        elif compiled.items[pick].niveau > compiled.items[law].niveau:  # type: ignore[union-attr]
            out.append(("begraensning", f"en begrænsning gjorde anbefalingen i sporet {spor} mere indgribende", None, None))
    for r in d.rights:
        if d.track(r.spor) is None:
            out.append(("rettighed", f"borgerens ret '{r.navn}' gælder, men sporet {r.spor} er ikke med i anbefalingen", None, None))
    return out


def _cited(d: Decision) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(d.lovgrundlag(), d.cited()), sorted as they are, with each sort key computed once per process."""
    refs = [ref for t in d.tracks if t.chosen for ref in t.lovgrundlag]
    refs += [ref for p in d.preconditions for ref in p.lovgrundlag]
    refs += [x.citation for x in d.deadlines]
    legal = _sorted_legal(refs)
    return legal, _sorted_legal([*legal, *(r.citation for r in d.rights), *(n.citation for n in d.notes if n.citation)])


def group_findings(compiled: CompiledVersion, day: date, d: Decision, choice: Choice, scopes: Sequence[Scope],
                   memo: Optional[dict[str, list[tuple[int, Scope]]]] = None) -> list[Finding]:
    """Every property of one fired set, in the order the checks are made."""
    out: list[Finding] = []
    for t in d.tracks:
        if t.chosen is None and t.no_alternative is None:
            out.append(("fuldstaendighed", f"sporet {t.spor} har behovsniveau {t.need}, men intet egnet tilbud", None, None))
    if d.track("behandling") is None:
        out.append(("fuldstaendighed", "skadeligt brug eller afhængighed gav intet behandlingsspor", "skadeligt_brug", "behandling"))
    if d.track("bolig") is None:
        out.append(("fuldstaendighed", "en voksen i hjemløshed fik intet boligspor", "hjemloes_voksen", "bolig"))
    seen: dict[tuple[str, str, Optional[str]], Any] = {}
    for x in d.deadlines:
        key = (x.type, x.citation.lov, x.citation.paragraf)
        if key in seen and (seen[key].citation.stk != x.citation.stk or seen[key].dato != x.dato):
            out.append(("konflikt", f"to frister af typen {x.type} efter {key[1]} § {key[2]} med forskelligt stk. eller dato", None, None))
        seen[key] = x
    refs, cited = _cited(d)
    return out + _legal_invariants(day, d, refs, cited) + _consistency(compiled, d, choice, scopes, cited, {} if memo is None else memo)


# --------------------------------------------------------------------------- one version


@dataclass
class _Task:
    track: str
    axes: list[Axis]
    start: int
    size: int


def _point(axes: Sequence[Axis], local: int) -> dict[str, Any]:
    shape = tuple(len(a.values) for a in axes)
    where = np.unravel_index(local, shape) if axes else ()
    return {a.name: a.values[int(k)] for a, k in zip(axes, where)}


def _more_need(axes: Sequence[Axis]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per change towards more need (in the order verify has always reported them): the
    change, the local points it applies to and the point each one moves to."""
    shape = tuple(len(a.values) for a in axes)
    size = space_size(list(axes))
    index = np.unravel_index(np.arange(size, dtype=np.int64), shape)
    strides = [int(np.prod(shape[k + 1:])) for k in range(len(shape))]
    names = [a.name for a in axes]
    out = []
    for flag in MORE_NEED_FLAGS:
        if flag in names:
            k = names.index(flag)
            where = np.flatnonzero(np.asarray(axes[k].values, dtype=object)[index[k]] == False)  # noqa: E712 - the value False
            out.append((f"{flag} sat", where, where + strides[k] * (axes[k].values.index(True) - np.asarray(index[k])[where])))
    for name in ("alkohol", "stof"):
        if name in names:
            k = names.index(name)
            levels = np.asarray([GRADER.index(v) for v in axes[k].values])[index[k]]
            where = np.flatnonzero(levels < len(GRADER) - 1)
            target = np.asarray([axes[k].values.index(GRADER[GRADER.index(v) + 1]) if v != GRADER[-1] else -1 for v in axes[k].values])
            out.append((f"{name} grad op", where, where + strides[k] * (target[index[k][where]] - index[k][where])))
    if "stof_opioid" in names:
        k = names.index("stof_opioid")
        pairs = list(axes[k].values)
        target = np.asarray([pairs.index((GRADER[GRADER.index(s) + 1], o)) if s != GRADER[-1] else -1 for s, o in pairs])
        where = np.flatnonzero(target[index[k]] >= 0)
        out.append(("stof grad op", where, where + strides[k] * (target[index[k][where]] - index[k][where])))
    return out


def verify_version(compiled: CompiledVersion, limit: int = 5, only_tracks: Optional[set[str]] = None) -> list[TaskResult]:
    """Every track of one version: one table of all their points, one decision per fired set."""
    day = compiled.version.gyldig_fra
    tasks: list[_Task] = []
    tables: list[FactTable] = []
    start = 0
    for track in tracks_of(compiled):
        if only_tracks and track not in only_tracks:
            continue
        axes = axes_for(compiled, track)
        table = fact_table(axes, day)
        tasks.append(_Task(track, axes, start, table.size))
        tables.append(table)
        start += table.size
    if not tasks:
        return []
    table = FactTable({k: np.concatenate([np.asarray(t.columns[k]) for t in tables]) for k in tables[0].columns}, start)
    groups = program_for(compiled).groups(table)
    choices = groups.choices()
    decisions = groups.decisions(day, day)
    scopes = _scopes(compiled)
    covering: dict[str, list[tuple[int, Scope]]] = {}
    per_group = [group_findings(compiled, day, decisions[g], choices[g], scopes, covering) for g in range(len(groups))]
    by_finding: dict[Finding, list[int]] = {}
    for g, findings in enumerate(per_group):
        for f in findings:
            by_finding.setdefault(f, []).append(g)
    memo: dict[str, np.ndarray] = {}
    hits: list[tuple[Finding, np.ndarray]] = []
    for finding, gs in by_finding.items():
        where = groups.points_of(gs)
        if finding[2] is not None:
            where &= _mask(finding[2], table, scopes, memo)
        hits.append((finding, where))
    results = []
    for task in tasks:
        result = TaskResult(compiled.version.version, task.track, task.size)
        found: list[tuple[int, int, Finding]] = []  # (local point, place in its group's list, finding)
        for finding, where in hits:
            if finding[3] is not None and finding[3] != task.track:
                continue
            local = np.flatnonzero(where[task.start:task.start + task.size])
            if len(local):
                result.counts[finding[0]] = result.counts.get(finding[0], 0) + len(local)
                for p in local[:limit]:
                    g = int(groups.inverse[task.start + p])
                    found.append((int(p), per_group[g].index(finding), finding))
        examples: list[tuple[str, str, int]] = [(f[0], f[1], p) for p, _, f in sorted(found)[:limit]]
        if task.track == "behandling":
            examples += _monotonicity(groups, decisions, task, result, limit)
        for prop, message, p in examples[:limit]:
            body = screening_for(_point(task.axes, p), day)
            _, d, _ = decide_point(compiled, body, day)
            result.counterexamples.append(Counterexample(prop, message, body, summary(d)))
        results.append(result)
    return results


def _monotonicity(groups: Groups, decisions: dict[int, Decision], task: _Task, result: TaskResult, limit: int) -> list[tuple[str, str, int]]:
    """More need (a flag set, a grade up) must never give a less intrusive treatment offer."""
    level_of = []
    for g in range(len(groups)):
        t = decisions[g].track("behandling")
        level_of.append(t.chosen.niveau if t is not None and t.chosen is not None else -1)
    levels = np.asarray(level_of, dtype=np.int64)[groups.inverse[task.start:task.start + task.size]]
    found: list[tuple[int, int, str, int, int]] = []
    for order, (change, where, more) in enumerate(_more_need(task.axes)):
        before, after = levels[where], levels[more]
        bad = (before >= 0) & ((after < 0) | (after < before))
        if bad.any():
            result.counts["monotoni"] = result.counts.get("monotoni", 0) + int(bad.sum())
            for k in np.flatnonzero(bad)[:limit]:
                found.append((int(where[k]), order, change, int(before[k]), int(after[k])))
    return _monotonicity_points(task, found, limit)


def _monotonicity_points(task: _Task, found: list[tuple[int, int, str, int, int]], limit: int) -> list[tuple[str, str, int]]:
    moves = {change: dict(zip(where.tolist(), more.tolist())) for change, where, more in _more_need(task.axes)}
    out = []
    for p, _, change, before_level, after_level in sorted(found)[:limit]:
        shown = after_level if after_level >= 0 else None
        out.append(("monotoni", f"{change} gav et mindre indgribende behandlingstilbud ({before_level} -> {shown})", moves[change][p]))
    return out


# --------------------------------------------------------------------------- the whole rule set


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


def _versions(engine: Any, only_versions: Optional[set[str]]) -> list[Any]:
    return [v for v in engine.versions() if not v.afventer and (not only_versions or v.version in only_versions)]


#: What forked workers inherit: (engine, limit, only_tracks) of the running verify.
_inherited: Any = None


def _verify_inherited(index: int) -> list[TaskResult]:
    engine, limit, only_tracks = _inherited
    return verify_version(engine.compiled(engine.versions()[index]), limit, only_tracks)


def verify(
    engine: Any,
    workers: Optional[int] = None,
    limit: int = 5,
    progress: Optional[Callable[[int, int], None]] = None,
    only_versions: Optional[set[str]] = None,
    only_tracks: Optional[set[str]] = None,
) -> VerifyReport:
    """Check every point of every version's input space (or the chosen subset).

    The versions are shared between `workers` processes (default: up to 2), forked
    from this one so they start with its compiled rules; in a process with other
    threads running (a server), or with workers=1, everything runs here."""
    global _inherited
    start = time.perf_counter()
    versions = _versions(engine, only_versions)
    indices = sorted((engine.versions().index(v) for v in versions),
                     key=lambda i: -sum(space_size(axes_for(engine.compiled(engine.versions()[i]), t))
                                        for t in tracks_of(engine.compiled(engine.versions()[i]))))
    workers = min(workers or min(2, os.cpu_count() or 1), len(indices))
    results: list[TaskResult] = []
    if workers > 1 and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        _inherited = (engine, limit, only_tracks)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for n, found in enumerate(pool.imap_unordered(_verify_inherited, indices), 1):
                    results += found
                    if progress:
                        progress(n, len(indices))
        finally:
            _inherited = None
    else:
        workers = 1
        for n, index in enumerate(indices, 1):
            results += verify_version(engine.compiled(engine.versions()[index]), limit, only_tracks)
            if progress:
                progress(n, len(indices))
    forget_tables()
    results.sort(key=lambda r: (r.version, r.track))
    return VerifyReport(sum(r.points for r in results), len(versions), results, time.perf_counter() - start, workers)


def counterexamples_yaml(report: VerifyReport) -> str:
    cases = [c.as_case() for c in report.counterexamples]
    return yaml.safe_dump({"tilfaelde": cases}, allow_unicode=True, sort_keys=False)


# --------------------------------------------------------------------------- every core over the space


@dataclass
class CoresReport:
    """`rules verify --cores`: how many points each core evaluated, and the first disagreement."""

    cores: tuple[str, ...]
    points: int
    versions: int
    seconds: float
    sample: Optional[int]
    disagreement: Optional[Counterexample] = None
    where: str = ""


def _sample(size: int, udsnit: Optional[int]) -> np.ndarray:
    """Every point, or `udsnit` points spread evenly over the stratum (first and last included)."""
    if udsnit is None or udsnit >= size:
        return np.arange(size, dtype=np.int64)
    return np.unique(np.linspace(0, size - 1, num=max(udsnit, 1)).round().astype(np.int64))


def verify_cores(engine: Any, cores: Iterable[Any], udsnit: Optional[int] = None,
                 progress: Optional[Callable[[int, int], None]] = None, only_versions: Optional[set[str]] = None) -> CoresReport:
    """Every point of every version's space (or `udsnit` points per version and track, spread
    evenly) evaluated by every given core and by the bulk evaluator; the fired blocks must be
    identical. Selection is one deterministic function of the fired blocks, so equal fired
    blocks mean equal decisions. Stops at the first disagreement."""
    start = time.perf_counter()
    cores = list(cores)
    names = tuple(c.name for c in cores) + ("bulk",)
    versions = _versions(engine, only_versions)
    plan = []
    for version in versions:
        compiled = engine.compiled(version)
        for track in tracks_of(compiled):
            axes = axes_for(compiled, track)
            plan.append((version, compiled, track, axes, _sample(space_size(axes), udsnit)))
    total = sum(len(p[4]) for p in plan)
    done = 0
    for version, compiled, track, axes, chosen in plan:
        day = version.gyldig_fra
        for core in cores:
            core.prepare(compiled)
        table = fact_table(axes, day)
        bulk = program_for(compiled).fired_matrix(table.take(chosen) if len(chosen) < table.size else table)
        for k, local in enumerate(chosen.tolist()):
            body = screening_for(_point(axes, local), day)
            fact = parse_screening(body).fact()
            answers = [list(core.fired(compiled, fact)) for core in cores] + [np.flatnonzero(bulk[k]).tolist()]
            if any(a != answers[0] for a in answers[1:]):
                done += k + 1
                return CoresReport(names, done, len(versions), time.perf_counter() - start, udsnit,
                                   _disagreement(compiled, body, day, names, answers), f"version {version.version}, spor {track}")
            if progress and (k + 1) % 2000 == 0:
                progress(done + k + 1, total)
        done += len(chosen)
        if progress:
            progress(done, total)
    return CoresReport(names, done, len(versions), time.perf_counter() - start, udsnit)


def _disagreement(compiled: CompiledVersion, body: dict[str, Any], day: date, names: Sequence[str], answers: Sequence[list[int]]) -> Counterexample:
    first = answers[0]
    parts = []
    for name, other in zip(names[1:], answers[1:]):
        if other == first:
            continue
        missing = [compiled.items[i].id for i in first if i not in other]
        extra = [compiled.items[i].id for i in other if i not in first]
        what = "; ".join(x for x in (f"mangler {', '.join(missing)}" if missing else "",
                                      f"har også {', '.join(extra)}" if extra else "") if x)
        parts.append(f"{names[0]} og {name} er uenige ({what})")
    _, d, _ = decide_point(compiled, body, day)
    return Counterexample("kerner", "; ".join(parts), body, summary(d))
