"""Stage 5, select: the least intrusive suitable offer per track, in plain Python.

Given which rules and offers hold (from either core), this decides the assessed
need per track (the highest `mindst_indgrebsniveau` among the rules that fired),
walks each track's offers from least to most intrusive and takes the first that
is suitable, not excluded and covers the need. Every other offer gets a verdict
with its exact reason. Deadlines, warnings and legal bases are collected here too.
"""
from __future__ import annotations

from functools import lru_cache
from datetime import date, timedelta
from typing import Any, NamedTuple, Optional

from engine.compile import CompiledVersion
from engine.model import SPOR_ORDER, DeadlineSpec, LegalRef, Offer, Rule
from engine.wording import condition_text

VALGT = "valgt"
IKKE_EGNET = "ikke_egnet"
UDELUKKET = "udelukket"
DAEKKER_IKKE = "daekker_ikke_behovet"
IKKE_NOEDVENDIGT = "ikke_noedvendigt"


class OfferVerdict(NamedTuple):
    index: int
    offer: Offer
    verdikt: str
    grund: str
    #: For an offer that is not suitable: the conditions that did not hold.
    failed: tuple[dict[str, Any], ...] = ()


class TrackDecision(NamedTuple):
    spor: str
    behovsniveau: int
    behov_fra: tuple[Rule, ...]
    valgt: Optional[Offer]
    verdicts: tuple[OfferVerdict, ...]
    lovgrundlag: tuple[LegalRef, ...]


class RuleApplication(NamedTuple):
    index: int
    rule: Rule
    anvendt: bool
    grund: Optional[str] = None


class Deadline(NamedTuple):
    spec: DeadlineSpec
    rule: Rule
    dato: date
    fra_dato: date


class Selection(NamedTuple):
    tracks: tuple[TrackDecision, ...]
    applied: tuple[RuleApplication, ...]
    deadlines: tuple[Deadline, ...]
    advarsler: tuple[str, ...]
    oplysninger: tuple[str, ...]


@lru_cache(maxsize=None)
def _legal_sort_key(ref: LegalRef) -> tuple[Any, ...]:
    digits = "".join(ch for ch in ref.paragraf if ch.isdigit())
    return (ref.lov, int(digits or 0), ref.paragraf, ref.stk or "")


def sort_legal(refs: list[LegalRef]) -> tuple[LegalRef, ...]:
    return tuple(sorted(set(refs), key=_legal_sort_key))


def _rule_ids(rules: tuple[Rule, ...]) -> str:
    return ", ".join(f"'{r.id}'" for r in rules)


class Choice(NamedTuple):
    """The decision itself, without any wording: the one place that applies the
    mindste indgrebs princip. `select` explains it; `rules check` and `rules
    verify` use it directly for bulk work."""

    fired_rules: list[int]  # rule indices that hold, in trace order
    need: dict[str, int]  # track -> assessed need level
    excluded: dict[int, Rule]  # offer index -> the rule that excluded it
    picks: dict[str, Optional[int]]  # track -> chosen offer index (None: nothing suits)


def choose(compiled: CompiledVersion, fired_set: set[int]) -> Choice:
    items = compiled.items
    fired_rules = [i for i in compiled.rule_order if i in fired_set]
    need: dict[str, int] = {}
    for i in fired_rules:
        rule = items[i]
        if rule.min_niveau is not None:  # type: ignore[union-attr]
            need[rule.spor] = max(need.get(rule.spor, 0), rule.min_niveau)  # type: ignore[union-attr,arg-type]
    excluded: dict[int, Rule] = {}
    for i in fired_rules:
        rule: Rule = items[i]  # type: ignore[assignment]
        if rule.spor in need and (rule.udeluk_kategori or rule.udeluk_tilbud):
            for j in compiled.ladders[rule.spor]:
                offer: Offer = items[j]  # type: ignore[assignment]
                if offer.kategori == rule.udeluk_kategori or offer.id == rule.udeluk_tilbud:
                    excluded.setdefault(j, rule)
    picks: dict[str, Optional[int]] = {}
    for spor, level in need.items():
        picks[spor] = next(
            (j for j in compiled.ladders[spor] if j in fired_set and j not in excluded and items[j].daekker_op_til >= level),  # type: ignore[union-attr]
            None,
        )
    return Choice(fired_rules, need, excluded, picks)


def select(compiled: CompiledVersion, fact: dict[str, Any], fired: list[int], henvendelsesdato: date, vurderingsdato: date) -> Selection:
    items = compiled.items
    fired_set = set(fired)
    choice = choose(compiled, fired_set)
    fired_rules, need, excluded = choice.fired_rules, choice.need, choice.excluded
    by_track: dict[str, list[Rule]] = {}
    for i in fired_rules:
        by_track.setdefault(items[i].spor, []).append(items[i])  # type: ignore[arg-type,union-attr]

    chosen: dict[str, Offer] = {}
    tracks: list[TrackDecision] = []
    for spor in SPOR_ORDER:
        if spor not in need:
            continue
        level = need[spor]
        setters = tuple(r for r in by_track[spor] if r.min_niveau == level)
        need_text = f"behovsniveau {level} (fastsat af {_rule_ids(setters)})"  # type: ignore[arg-type]
        pick = choice.picks[spor]
        picked: Optional[Offer] = items[pick] if pick is not None else None  # type: ignore[assignment]
        if picked is not None:
            chosen[spor] = picked
        verdicts: list[OfferVerdict] = []
        seen_pick = False
        for j in compiled.ladders[spor]:
            offer = items[j]  # type: ignore[assignment]
            if j == pick:
                seen_pick = True
                verdicts.append(OfferVerdict(j, offer, VALGT, f"det mindst indgribende egnede tilbud, der dækker {need_text}"))  # type: ignore[arg-type]
                continue
            if seen_pick:
                verdicts.append(OfferVerdict(j, offer, IKKE_NOEDVENDIGT, _not_needed(picked, offer)))  # type: ignore[arg-type]
                continue
            reasons: list[str] = []
            failed: tuple[dict[str, Any], ...] = ()
            verdict = ""
            if j in excluded:
                by = excluded[j]
                reasons.append(f"udelukket af {by.lag}-reglen '{by.id}' ({by.placering}): {by.beskrivelse}")
                verdict = UDELUKKET
            if j not in fired_set:
                failed = tuple(r for r in compiled.condition_results[j](fact) if not r["opfyldt"])
                reasons.append("ikke egnet: " + "; ".join(condition_text(r) for r in failed))
                verdict = verdict or IKKE_EGNET
            if offer.daekker_op_til < level:  # type: ignore[union-attr]
                reasons.append(f"dækker ikke behovet: {need_text} er højere end tilbuddets niveau {offer.daekker_op_til}")  # type: ignore[union-attr]
                verdict = verdict or DAEKKER_IKKE
            verdicts.append(OfferVerdict(j, offer, verdict, "; ".join(reasons), failed))  # type: ignore[arg-type]
        tracks.append(TrackDecision(spor, level, setters, picked, tuple(verdicts), ()))  # type: ignore[arg-type]

    applied: list[RuleApplication] = []
    legal: dict[str, list[LegalRef]] = {t.spor: list(t.valgt.lovgrundlag) if t.valgt else [] for t in tracks}
    deadlines: list[Deadline] = []
    advarsler: list[str] = []
    oplysninger: list[str] = []
    for i in fired_rules:
        rule = items[i]  # type: ignore[assignment]
        why_not = _why_not_applied(rule, need, chosen)
        applied.append(RuleApplication(i, rule, why_not is None, why_not))
        if why_not is not None:
            continue
        if rule.lovgrundlag and rule.spor in legal:
            legal[rule.spor].extend(rule.lovgrundlag)
        if rule.frist is not None:
            start = henvendelsesdato if rule.frist.fra == "henvendelsesdato" else vurderingsdato
            deadlines.append(Deadline(rule.frist, rule, start + timedelta(days=rule.frist.dage), start))
        if rule.advarsel:
            advarsler.append(rule.advarsel)
        if rule.oplysning:
            oplysninger.append(rule.oplysning)

    seen: set[tuple[str, LegalRef]] = set()
    unique_deadlines = []
    for d in sorted(deadlines, key=lambda d: (d.dato, d.spec.type, _legal_sort_key(d.spec.lovgrundlag))):
        key = (d.spec.type, d.spec.lovgrundlag)
        if key not in seen:
            seen.add(key)
            unique_deadlines.append(d)
            if d.dato < vurderingsdato:
                advarsler.append(f"Fristen '{d.spec.type}' ({d.spec.lovgrundlag.short()}) udløb {d.dato.isoformat()}, før vurderingsdatoen.")
    final_tracks = tuple(
        TrackDecision(t.spor, t.behovsniveau, t.behov_fra, t.valgt, t.verdicts, sort_legal(legal[t.spor])) for t in tracks
    )
    for t in final_tracks:
        if t.valgt is None:
            advarsler.append(
                f"Intet tilbud i sporet '{t.spor}' opfylder behovsniveau {t.behovsniveau}; sagen kræver en individuel faglig vurdering."
            )
    return Selection(final_tracks, tuple(applied), tuple(unique_deadlines), tuple(dict.fromkeys(advarsler)), tuple(dict.fromkeys(oplysninger)))


def _why_not_applied(rule: Rule, need: dict[str, int], chosen: dict[str, Offer]) -> Optional[str]:
    if rule.spor is None:
        return None
    if rule.spor not in need:
        return _track_absent(rule.spor)
    if rule.ved_kategori:
        offer = chosen.get(rule.spor)
        if offer is None or offer.kategori not in rule.ved_kategori:
            return _category_mismatch(rule.ved_kategori, offer.kategori if offer else "intet")
    return None


# The reason texts below depend only on their arguments; they are built once.


@lru_cache(maxsize=None)
def _track_absent(spor: str) -> str:
    return f"sporet '{spor}' er ikke aktuelt for borgeren"


@lru_cache(maxsize=None)
def _category_mismatch(wanted: tuple[str, ...], got: str) -> str:
    return f"gælder kun når det anbefalede tilbud er {' eller '.join(wanted)} (anbefalet: {got})"


@lru_cache(maxsize=4096)
def _not_needed(picked: Offer, offer: Offer) -> str:
    if offer.niveau == picked.niveau:
        return f"ikke nødvendigt: '{picked.navn}' har samme indgrebsniveau ({picked.niveau}) og foretrækkes"
    return f"ikke nødvendigt: det mindre indgribende '{picked.navn}' (niveau {picked.niveau}) dækker behovet"
