"""Static checks of the rule files for policy staff (`visitator rules check`).

Reports, each with file:line: every schema problem (with suggestions),
duplicate ids and date ranges that overlap or leave a hole, conditions that can
never hold together, offers that no screening can reach, rules that are
masked or never take effect, rules without a legal source or a Danish
description, and kommune rules or offers that widen what the law allows.
Reachability and masking are exact: a lean pass over each version's input
space (engine.space) using the same selection core as the engine.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable

from engine.compile import compile_version, predicate
from engine.fields import facts_from_screening
from engine.model import RuleBook
from engine.select import choose
from engine.space import GENERAL, axes_for, axes_for_fields, condition_fields, points, screening_for, tracks_of
from engine.validate import RulesInvalid, load_rulebook
from engine.versions import versions_of

FEJL = "fejl"
ADVARSEL = "advarsel"

# A few very common Danish words; a description with none of them is most
# likely not written in Danish.
_DANISH = re.compile(r"\b(og|er|til|for|skal|ikke|med|af|på|en|et|der|kan|i|ved|som|fra|har|når|efter|om|den|det)\b", re.I)


@dataclass(frozen=True)
class Finding:
    placering: str
    niveau: str
    besked: str

    def __str__(self) -> str:
        return f"{self.placering}: {self.niveau}: {self.besked}"


def _holes(book: RuleBook) -> list[Finding]:
    out = []
    for kind, items in (("reglen", book.rules), ("tilbuddet", book.offers)):
        by_id: dict[str, list[Any]] = defaultdict(list)
        for item in items:
            if not item.afventer:
                by_id[item.id].append(item)
        for same in by_id.values():
            same.sort(key=lambda i: i.gyldig_fra)
            for a, b in zip(same, same[1:]):
                if a.gyldig_til is not None and b.gyldig_fra > a.gyldig_til + timedelta(days=1):
                    gap_from, gap_to = a.gyldig_til + timedelta(days=1), b.gyldig_fra - timedelta(days=1)
                    out.append(Finding(b.placering, FEJL, f"{kind} '{b.id}' har et hul fra {gap_from.isoformat()} til {gap_to.isoformat()} mellem udgaven på {a.placering} og denne"))
    return out


def _descriptions(book: RuleBook) -> list[Finding]:
    out = []
    for item in (*book.rules, *book.offers):
        if not _DANISH.search(item.beskrivelse):
            out.append(Finding(item.placering, FEJL, f"beskrivelsen af '{item.id}' ser ikke ud til at være på dansk"))
        if not (item.kilde.dokument or (item.kilde.lov and item.kilde.paragraf)):
            out.append(Finding(item.placering, FEJL, f"'{item.id}' mangler en retskilde (lov og paragraf eller dokument)"))
    return out


def _never_holds(book: RuleBook) -> list[Finding]:
    out = []
    all_items = (*book.rules, *book.offers)
    for item in all_items:
        if not item.conditions:
            continue
        fields = condition_fields(item.conditions)
        test = predicate(item.conditions)
        axes = axes_for_fields(fields, all_items)
        if not any(test(facts_from_screening(screening_for(p, item.gyldig_fra))) for p in points(axes)):
            out.append(Finding(item.placering, FEJL, f"betingelserne for '{item.id}' kan aldrig være opfyldt samtidig"))
    return out


def _kommune_widening(book: RuleBook) -> list[Finding]:
    out = []
    all_items = (*book.rules, *book.offers)
    national = [o for o in book.offers if o.lag == "lov"]
    for rule in book.rules:
        if rule.lag == "kommune" and rule.min_niveau is not None:
            out.append(Finding(rule.placering, FEJL, f"kommunereglen '{rule.id}' hæver behovsniveauet; et kommunelag må kun tilføje tilbud og begrænse, ikke give mere indgribende anbefalinger"))
    for local in book.offers:
        if local.lag != "kommune":
            continue
        peers = [n for n in national if n.kategori == local.kategori and _overlaps(n, local)]
        if not peers:
            out.append(Finding(local.placering, FEJL, f"kommunens tilbud '{local.id}' har kategorien '{local.kategori}', som lovlaget ikke har i samme periode"))
            continue
        fields = set().union(*(condition_fields(o.conditions) for o in (local, *peers)))
        local_test = predicate(local.conditions)
        peer_tests = [(n, predicate(n.conditions)) for n in peers]
        axes = axes_for_fields(fields, all_items)
        for p in points(axes):
            fact = facts_from_screening(screening_for(p, local.gyldig_fra))
            if local_test(fact) and not any(t(fact) and n.daekker_op_til >= local.daekker_op_til for n, t in peer_tests):
                shown = ", ".join(f"{k}={v}" for k, v in p.items())
                out.append(Finding(local.placering, FEJL, f"kommunens tilbud '{local.id}' udvider, hvad loven tillader: det er egnet, hvor intet tilbud i lovlaget med kategorien '{local.kategori}' er det, fx {shown}"))
                break
    return out


def _overlaps(a: Any, b: Any) -> bool:
    a_end, b_end = a.gyldig_til or date.max, b.gyldig_til or date.max
    return a.gyldig_fra <= b_end and b.gyldig_fra <= a_end


def _reach_and_mask(book: RuleBook) -> list[Finding]:
    """Exact: every point of every track's input space, all fields varied."""
    never_chosen: dict[Any, list[str]] = defaultdict(list)
    instead: dict[Any, Counter] = defaultdict(Counter)
    masked: dict[Any, list[str]] = defaultdict(list)
    idle: dict[Any, list[str]] = defaultdict(list)
    for version in versions_of(book):
        if version.afventer:
            continue
        compiled = compile_version(version)
        items = compiled.items
        for track in tracks_of(version):
            if track == GENERAL:
                continue
            picked: set[int] = set()
            setters: set[int] = set()
            applied: set[int] = set()
            fired_any: set[int] = set()
            for p in points(axes_for(version, track, everything=True)):
                fact = facts_from_screening(screening_for(p, version.gyldig_fra))
                fired = set(compiled.reference_fired(fact))
                choice = choose(compiled, fired)
                pick = choice.picks.get(track)
                if pick is not None:
                    picked.add(pick)
                level = choice.need.get(track)
                if pick is not None:
                    # Offers that would have done but lost to an earlier one.
                    for j in compiled.ladders[track]:
                        if j != pick and j in fired and j not in choice.excluded and items[j].daekker_op_til >= level:
                            instead[id(items[j])][items[pick].id] += 1
                for i in choice.fired_rules:
                    rule = items[i]
                    if rule.spor != track:
                        continue
                    fired_any.add(i)
                    if rule.min_niveau is not None and rule.min_niveau == level:
                        setters.add(i)
                    if not rule.ved_kategori or (pick is not None and items[pick].kategori in rule.ved_kategori):
                        applied.add(i)
            for j in compiled.ladders[track]:
                if j not in picked:
                    never_chosen[id(items[j])].append(version.version)
            for i in fired_any:
                rule = items[i]
                if rule.min_niveau is not None and i not in setters and not (rule.lovgrundlag or rule.frist or rule.advarsel or rule.oplysning or rule.udeluk_kategori):
                    masked[id(rule)].append(version.version)
                if i not in applied:
                    idle[id(rule)].append(version.version)
    by_id = {id(i): i for i in (*book.rules, *book.offers)}
    out = []
    for key, versions in never_chosen.items():
        offer = by_id[key]
        hint = ""
        if instead[key]:
            hint = f"; i stedet vælges: {', '.join(repr(k) for k, _ in instead[key].most_common(2))}"
        out.append(Finding(offer.placering, FEJL, f"tilbuddet '{offer.id}' kan ikke nås af nogen screening i version {_versions(versions)}{hint}"))
    for key, versions in masked.items():
        rule = by_id[key]
        out.append(Finding(rule.placering, FEJL, f"reglen '{rule.id}' er maskeret i version {_versions(versions)}: når den gælder, fastsætter en anden regel altid et højere behovsniveau"))
    for key, versions in idle.items():
        rule = by_id[key]
        out.append(Finding(rule.placering, ADVARSEL, f"reglen '{rule.id}' får aldrig virkning i version {_versions(versions)}: når den gælder, anbefales aldrig {' eller '.join(rule.ved_kategori)}"))
    return out


def _versions(versions: Iterable[str]) -> str:
    v = sorted(set(versions))
    return ", ".join(v) if len(v) <= 3 else f"{v[0]} … {v[-1]} ({len(v)} versioner)"


def check(set_dir: Path, shown_root: Path | None = None) -> list[Finding]:
    """Every finding for one rule set directory, sorted by file and line."""
    try:
        book = load_rulebook(set_dir, shown_root=shown_root)
    except RulesInvalid as error:
        return [Finding(f"{p.position}", FEJL, p.message) for p in error.problems]
    findings = _holes(book) + _descriptions(book) + _never_holds(book) + _kommune_widening(book) + _reach_and_mask(book)

    def key(f: Finding) -> tuple[Any, ...]:
        file, _, line = f.placering.partition(":")
        return (file, int(line.split(":")[0]) if line.split(":")[0].isdigit() else 0, f.besked)

    return sorted(set(findings), key=key)
