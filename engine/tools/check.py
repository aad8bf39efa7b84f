"""Static checks of the rule files for policy staff (`visitator rules check`).

Reports, each with file:line: every schema problem (with suggestions), every
citation of a provision on a date it did not exist, duplicate ids and date
ranges that overlap or leave a hole, conditions that can never hold together,
offers that no screening can reach, rules that are masked or never take
effect, rules without a legal source or a Danish description, "skal tilbyde"
written as a plain note, rights that depend on facts their provision does not
name, and kommune rules or offers that widen what the law allows.
Reachability, masking and ties are exact: a pass over each version's input
space on the bulk evaluator (engine.bulk: the blocks that hold as one boolean
matrix, points grouped by their fired set) with the engine's own selection
(`choose`) once per group. A tie is two offers of the same level in one track
that both suit, cover and are not excluded for some citizen, neither honouring
more of the citizen's rights, with no `foretraekkes_frem_for` between them:
the id would decide, so it is an error.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from engine.bulk import FactTable, condition_vector, program_for
from engine.compile import compile_version
from engine.law import LawBook
from engine.model import AnyItem, Offer, Right, Rule, RuleBook
from engine.problems import ADVARSEL, FEJL, Position, Problem, sort_problems
from engine.select import ladder_ties
from engine.tools.space import GENERAL, Axis, axes_for, axes_for_fields, condition_fields, fact_table, forget_tables, tracks_of
from engine.validate import RulesInvalid, load_rulebook
from engine.versions import versions_of

# A few very common Danish words; a description with none of them is most
# likely not written in Danish.
_DANISH = re.compile(r"\b(og|er|til|for|skal|ikke|med|af|på|en|et|der|kan|i|ved|som|fra|har|når|efter|om|den|det)\b", re.I)
_MUST_OFFER = re.compile(r"\bskal\b[^.]*\btilbyde", re.I)
#: Fields that state the citizen's own request; a right may always depend on them.
REQUEST_FIELDS = {"oensker_anonymitet", "frit_valg"}


def _problem(where: Position, level: str, text: str) -> Problem:
    return Problem(where, text, level)  # type: ignore[arg-type]


def _holes(book: RuleBook) -> list[Problem]:
    out = []
    kinds = {"regel": "reglen", "tilbud": "tilbuddet", "forudsaetning": "forudsætningen", "rettighed": "rettigheden", "personkreds": "personkredsen"}
    by_id: dict[tuple[str, str], list[AnyItem]] = defaultdict(list)
    for item in book.items():
        if not item.afventer:
            by_id[(item.kind, item.id)].append(item)
    for (kind, _), same in by_id.items():
        same.sort(key=lambda i: i.gyldig_fra)
        for a, b in zip(same, same[1:]):
            if a.gyldig_til is not None and b.gyldig_fra > a.gyldig_til + timedelta(days=1):
                gap_from, gap_to = a.gyldig_til + timedelta(days=1), b.gyldig_fra - timedelta(days=1)
                out.append(_problem(b.position, FEJL, f"{kinds[kind]} '{b.id}' har et hul fra {gap_from.isoformat()} til "
                                                      f"{gap_to.isoformat()} mellem udgaven på {a.placering} og denne"))
    return out


def _texts(book: RuleBook) -> list[Problem]:
    out = []
    for item in book.items():
        if not _DANISH.search(item.beskrivelse):
            out.append(_problem(item.position, FEJL, f"beskrivelsen af '{item.id}' ser ikke ud til at være på dansk"))
        if not (item.kilde.dokument or item.kilde.bestemmelse):
            out.append(_problem(item.position, FEJL, f"'{item.id}' mangler en retskilde (bestemmelse eller dokument)"))
        if isinstance(item, Rule):
            for text in (item.advarsel, item.oplysning):
                if text and _MUST_OFFER.search(text):
                    out.append(_problem(item.position, FEJL, f"reglen '{item.id}' siger i en tekst, at noget skal tilbydes; brug "
                                                             "'skal_tilbyde' med tilbuddets id, så advarslen altid står sammen med "
                                                             "tilbuddet eller grunden til, at det ikke anbefales"))
    return out


def _rights(book: RuleBook) -> list[Problem]:
    """A right may depend only on the citizen's request and on who its provision covers."""
    out = []
    for right in book.rights:
        pid = right.kilde.bestemmelse or ""
        allowed = set(REQUEST_FIELDS)
        for scope in book.scopes:
            if scope.covers(pid):
                allowed |= condition_fields(scope.conditions)
        extra = condition_fields(right.conditions) - allowed
        if extra:
            out.append(_problem(right.position, FEJL, f"rettigheden '{right.id}' afhænger af {', '.join(sorted(extra))}, som hverken er "
                                                      f"borgerens ønske eller står i personkredsen for '{pid}'; en ret må ikke "
                                                      "kunne falde bort af uvedkommende forhold"))
    return out


class _Tables:
    """Fact tables of small spaces, built once per set of axes and date."""

    def __init__(self) -> None:
        self.memo: dict[tuple[Any, ...], FactTable] = {}

    def get(self, axes: list[Axis], day: date) -> FactTable:
        key = (tuple((a.name, a.values) for a in axes), day)
        table = self.memo.get(key)
        if table is None:
            table = self.memo[key] = fact_table(axes, day)
        return table


def _point_text(axes: list[Axis], index: int, brief: bool = False) -> str:
    """A point of the space as `name=value, ...` (`brief`: without the flags that are not set
    and the substances not used)."""
    where = np.unravel_index(index, tuple(len(a.values) for a in axes))
    shown = [(a.name, a.values[int(k)]) for a, k in zip(axes, where)]
    if brief:
        shown = [(n, v) for n, v in shown if v is not False and v != "ingen" and v != ("ingen", "ingen")] or shown[:1]
    return ", ".join(f"{n}={v}" for n, v in shown)


def _never_holds(book: RuleBook, tables: _Tables) -> list[Problem]:
    out = []
    all_conditions = [c for item in book.items() for c in item.conditions]
    for item in book.items():
        if not item.conditions:
            continue
        axes = axes_for_fields(condition_fields(item.conditions), all_conditions)
        if not condition_vector(tables.get(axes, item.gyldig_fra), *item.conditions).any():
            out.append(_problem(item.position, FEJL, f"betingelserne for '{item.id}' kan aldrig være opfyldt samtidig"))
    return out


def _overlaps(a: Any, b: Any) -> bool:
    a_end, b_end = a.gyldig_til or date.max, b.gyldig_til or date.max
    return bool(a.gyldig_fra <= b_end and b.gyldig_fra <= a_end)


def _kommune_widening(book: RuleBook, tables: _Tables) -> list[Problem]:
    out = []
    all_conditions = [c for item in book.items() for c in item.conditions]
    national = [o for o in book.offers if o.lag == "lov"]
    for rule in book.rules:
        if rule.lag == "kommune" and rule.min_niveau is not None:
            out.append(_problem(rule.position, FEJL, f"kommunereglen '{rule.id}' hæver behovsniveauet; et kommunelag må kun tilføje "
                                                     "tilbud og begrænse, ikke give mere indgribende anbefalinger"))
    for local in book.offers:
        if local.lag != "kommune":
            continue
        peers = [n for n in national if n.kategori == local.kategori and _overlaps(n, local)]
        if not peers:
            out.append(_problem(local.position, FEJL, f"kommunens tilbud '{local.id}' har kategorien '{local.kategori}', som lovlaget "
                                                      "ikke har i samme periode"))
            continue
        fields = set().union(*(condition_fields(o.conditions) for o in (local, *peers)))
        axes = axes_for_fields(fields, all_conditions)
        table = tables.get(axes, local.gyldig_fra)
        covered = np.zeros(table.size, dtype=np.bool_)
        for n in peers:
            if n.daekker_op_til >= local.daekker_op_til:
                covered |= condition_vector(table, *n.conditions)
        wider = np.flatnonzero(condition_vector(table, *local.conditions) & ~covered)
        if len(wider):
            out.append(_problem(local.position, FEJL, f"kommunens tilbud '{local.id}' udvider, hvad loven tillader: det er egnet, "
                                                      f"hvor intet tilbud i lovlaget med kategorien '{local.kategori}' er det, "
                                                      f"fx {_point_text(axes, int(wider[0]))}"))
    return out


def _preferred(offers: dict[str, Offer], a: str, b: str) -> bool:
    """Is offer a preferred over offer b, directly or through others (foretraekkes_frem_for)?"""
    seen, todo = {a}, [a]
    while todo:
        for nxt in offers[todo.pop()].foretraekkes_frem_for:
            if nxt == b:
                return True
            if nxt in offers and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


@dataclass
class _Reach:
    """What `_reach_and_mask` gathers over every version and track, keyed by id() of the block."""
    never_chosen: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    instead: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    masked: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    idle: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    ties: dict[tuple[int, int], list[tuple[str, str, str]]] = field(default_factory=lambda: defaultdict(list))  # (pick, other) -> (version, track, example)
    by_id: dict[int, Any] = field(default_factory=dict)


def _reach_and_mask(book: RuleBook, law: LawBook) -> list[Problem]:
    """Exact: every point of every track's input space, all fields varied; `choose` once per fired set."""
    reach = _Reach()
    for version in versions_of(book, law):
        if version.afventer:
            continue
        compiled = compile_version(version)
        for item in compiled.items:
            reach.by_id[id(item)] = item
        program = program_for(compiled)
        for track in tracks_of(compiled):
            if track != GENERAL:
                _reach_track(reach, version, compiled, program, track)
    return _reach_problems(reach)


def _reach_track(reach: _Reach, version: Any, compiled: Any, program: Any, track: str) -> None:
    items = compiled.items
    offers = {o.id: o for o in items if isinstance(o, Offer)}
    picked: set[int] = set()
    setters: set[int] = set()
    applied: set[int] = set()
    fired_any: set[int] = set()
    axes = axes_for(compiled, track, everything=True)
    # A track's choice reads only the blocks of that track (its rules, offers, preconditions
    # and rights), so the points are grouped by those alone.
    own = [i for i, item in enumerate(items) if getattr(item, "spor", None) == track]
    groups = program.groups(fact_table(axes, version.gyldig_fra), own)
    sizes = groups.sizes
    for g, choice in enumerate(groups.choices()):
        fired = set(groups.fired[g])
        pick = choice.picks.get(track)
        level = choice.need.get(track)
        if pick is not None:
            picked.add(pick)
            for j in compiled.ladders[track]:
                if j != pick and j in fired and j not in choice.excluded and items[j].daekker_op_til >= level:
                    reach.instead[id(items[j])][items[pick].id] += int(sizes[g])
            tied = ladder_ties(compiled, fired, choice).get(track, [])
            for other in tied[1:]:
                if not _preferred(offers, items[pick].id, items[other].id):
                    reach.ties[(id(items[pick]), id(items[other]))].append(
                        (version.version, track, _point_text(axes, int(groups.first[g]), brief=True)))
        recommended = {items[pick].kategori} if pick is not None else set()
        recommended |= {items[i].kategori for i in choice.fired_preconditions if items[i].spor == track}
        for i in choice.fired_rules:
            rule: Rule = items[i]
            if rule.spor != track:
                continue
            fired_any.add(i)
            if rule.min_niveau is not None and rule.min_niveau == level:
                setters.add(i)
            categories = compiled.effective[i].categories
            if (track in choice.need or recommended) and (not categories or recommended & set(categories)):
                applied.add(i)
    for j in compiled.ladders[track]:
        if j not in picked:
            reach.never_chosen[id(items[j])].append(version.version)
    for i in fired_any:
        rule = items[i]
        if rule.min_niveau is not None and i not in setters and not (rule.lovgrundlag or rule.frist or rule.advarsel or rule.oplysning
                                                                    or rule.udeluk_kategori or rule.skal_tilbyde):
            reach.masked[id(rule)].append(version.version)
        if i not in applied:
            reach.idle[id(rule)].append(version.version)


def _reach_problems(reach: _Reach) -> list[Problem]:
    out = []
    by_id = reach.by_id
    for key, versions in reach.never_chosen.items():
        offer = by_id[key]
        instead = reach.instead[key]
        hint = f"; i stedet vælges: {', '.join(repr(k) for k, _ in instead.most_common(2))}" if instead else ""
        out.append(_problem(offer.position, FEJL, f"tilbuddet '{offer.id}' kan ikke nås af nogen screening i version {_versions(versions)}{hint}"))
    for key, versions in reach.masked.items():
        rule = by_id[key]
        out.append(_problem(rule.position, FEJL, f"reglen '{rule.id}' er maskeret i version {_versions(versions)}: når den gælder, "
                                                 "fastsætter en anden regel altid et højere behovsniveau"))
    for key, versions in reach.idle.items():
        rule = by_id[key]
        wanted = " eller ".join(c for c in rule.ved_kategori) or "dens kategori"
        out.append(_problem(rule.position, ADVARSEL, f"reglen '{rule.id}' får aldrig virkning i version {_versions(versions)}: når den "
                                                     f"gælder, anbefales aldrig {wanted}"))
    for (a, b), where in reach.ties.items():
        first, other = by_id[a], by_id[b]
        example = where[0]
        out.append(_problem(first.position, FEJL,
                            f"uafgjort mellem tilbuddene '{first.id}' ({first.placering}) og '{other.id}' ({other.placering}) i sporet "
                            f"{example[1]}, version {_versions(v for v, _, _ in where)}: begge har indgrebsniveau {first.niveau}, er egnede, "
                            f"dækker behovet og er ikke udelukket, og ingen af dem opfylder flere af borgerens rettigheder (fx {example[2]}); "
                            f"nu vælges '{first.id}' kun, fordi id'et kommer først. Angiv 'foretraekkes_frem_for' på det tilbud, "
                            "der skal vælges"))
    return out


def _versions(versions: Iterable[str]) -> str:
    v = sorted(set(versions))
    return ", ".join(v) if len(v) <= 3 else f"{v[0]} … {v[-1]} ({len(v)} versioner)"


def check(set_dir: Path, shown_root: Optional[Path] = None, law_dir: Optional[Path] = None,
          kommune: Optional[str] = None) -> list[Problem]:
    """Every finding for one rule set directory (law layer plus one kommune layer), sorted by file and line."""
    try:
        book, law = load_rulebook(set_dir, shown_root=shown_root, law_dir=law_dir, kommune=kommune)
    except RulesInvalid as error:
        return list(error.problems)
    tables = _Tables()
    try:
        findings = (_holes(book) + _texts(book) + _rights(book) + _never_holds(book, tables) + _kommune_widening(book, tables)
                    + _reach_and_mask(book, law))
    finally:
        forget_tables()
    return sort_problems(findings)


def _check_one(args: tuple[Path, Optional[Path], Optional[Path], Optional[str]]) -> list[Problem]:
    set_dir, shown_root, law_dir, kommune = args
    return check(set_dir, shown_root=shown_root, law_dir=law_dir, kommune=kommune)


def check_layers(set_dir: Path, kommuner: Sequence[Optional[str]], shown_root: Optional[Path] = None, law_dir: Optional[Path] = None,
                 workers: Optional[int] = None, progress: Optional[Callable[[int, int], None]] = None) -> list[Problem]:
    """`check` for each municipality's layer (with the law layer), the layers shared between up
    to two processes forked from this one (in a process with other threads, all run here)."""
    tasks = [(set_dir, shown_root, law_dir, k) for k in kommuner]
    workers = min(workers or min(2, os.cpu_count() or 1), len(tasks))
    found: list[list[Problem]] = []
    if workers > 1 and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for result in pool.imap(_check_one, tasks, chunksize=1):
                found.append(result)
                if progress:
                    progress(len(found), len(tasks))
    else:
        for task in tasks:
            found.append(_check_one(task))
            if progress:
                progress(len(found), len(tasks))
    return [p for f in found for p in f]


__all__ = ["check", "check_layers", "FEJL", "ADVARSEL", "Right", "Offer"]
