"""What the pages show, built from the typed Decision and the log's records with engine.wording:
never parsing Danish text back, and a deadline's track is its rule's track. Codes, ids and
file positions are kept apart as `Detail` values, shown only under "Detaljer"."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping, Optional

from engine.decision import ConditionResult, Deadline, Decision, OfferVerdict, RuleRef, TrackDecision, Verdict
from engine.explain import narrative, situation
from engine.fields import FIELDS
from engine.law import LawBook
from engine.wording import (
    KATEGORI_NAVN,
    LAG_NAVN,
    SPOR_NAVN,
    condition_text,
    count,
    dansk_dato,
    dansk_tid,
    fact_text,
    need_text,
    note_text,
    recommendation_reason,
    value_text,
    verdict_text,
)
from service.api.common import offer_names as _offer_names
from service.api.journal import special_circumstances

UDFALD_TEKST = {"fulgt": "Anbefalingen er fulgt", "afveget": "Der er afveget fra anbefalingen",
                "afvist_af_borger": "Borgeren har afvist tilbuddet"}
UDFALD_KORT = {"fulgt": "fulgt", "afveget": "afveget", "afvist_af_borger": "afvist af borgeren"}


@dataclass(frozen=True)
class Detail:
    """A technical fact for auditors: a label and a code-like value (shown under 'Detaljer')."""

    label: str
    value: str


@dataclass(frozen=True)
class ConditionView:
    text: str  # plain Danish
    technical: str  # with the field id, for auditors
    opfyldt: bool


@dataclass(frozen=True)
class RuleView:
    beskrivelse: str
    kilde: str  # the legal source written out
    lag: str
    conditions: tuple[ConditionView, ...]
    details: tuple[Detail, ...]
    anvendt: bool = True
    ikke_anvendt: str = ""


@dataclass(frozen=True)
class OfferView:
    navn: str
    grund: str
    details: tuple[Detail, ...]


@dataclass(frozen=True)
class DeadlineView:
    dato: str
    beskrivelse: str
    lovgrundlag: str
    regnet_fra: str


@dataclass(frozen=True)
class TrackView:
    spor: str
    navn: str
    tilbud: Optional[str]
    kategori: str
    lovgrundlag: tuple[str, ...]
    frister: tuple[DeadlineView, ...]
    behov: str
    begrundelse: str
    rettigheder: tuple[str, ...]
    fravalgt: tuple[OfferView, ...]
    regler: tuple[RuleView, ...]
    ingen_tilbud: str
    details: tuple[Detail, ...]


@dataclass(frozen=True)
class DecisionView:
    """One decision as the result page, the auditor's page and the print show it."""

    id: str
    oprettet: str
    regelsaet: str
    situation: str
    saerlige_forhold: tuple[str, ...]
    tracks: tuple[TrackView, ...]
    forudsaetninger: tuple[str, ...]
    andre_frister: tuple[DeadlineView, ...]
    advarsler: tuple[str, ...]
    oplysninger: tuple[str, ...]
    lovgrundlag: tuple[str, ...]
    fortaelling: tuple[str, ...]
    alle_regler: tuple[RuleView, ...]
    alle_fravalgt: tuple[tuple[str, OfferView], ...]
    fakta: tuple[Detail, ...]
    details: tuple[Detail, ...]


# --------------------------------------------------------------------------- pieces


def legal_source(ref: RuleRef, day: date, law: Optional[LawBook]) -> str:
    """A rule's source written out: the provision as cited on `day`, else the document."""
    provision = law.get(ref.kilde.bestemmelse) if (law and ref.kilde.bestemmelse) else None
    cited = provision.at(day) if provision else None
    if cited is not None:
        return cited.danish() + (f" ({provision.titel})" if provision else "")
    return ref.kilde.dokument or "faglig retningslinje"


def condition_view(c: ConditionResult) -> ConditionView:
    return ConditionView(condition_text(c), condition_text(c, technical=True), c.opfyldt)


def rule_view(a: Any, day: date, law: Optional[LawBook]) -> RuleView:
    """A RuleApplication for the trace (the conditions of its own block, then its provision's scope)."""
    from engine.wording import not_applied_text

    r = a.rule
    details = (Detail("Regel", r.id), Detail("Placering", str(r.position)), Detail("Lag", r.lag))
    return RuleView(r.beskrivelse, legal_source(r, day, law), LAG_NAVN.get(r.lag, r.lag),
                    tuple(condition_view(c) for c in a.conditions), details, a.applied, not_applied_text(a) or "")


def offer_view(v: OfferVerdict) -> OfferView:
    o = v.offer
    details = (Detail("Tilbud", o.id), Detail("Kategori", o.kategori), Detail("Indgrebsniveau", str(o.niveau)),
               Detail("Placering", str(o.position)), Detail("Vurdering", v.verdikt.value),
               Detail("Grund med feltnavne", verdict_text(v, technical=True)))
    return OfferView(o.navn, verdict_text(v), details)


def deadline_view(d: Deadline) -> DeadlineView:
    return DeadlineView(dansk_dato(d.dato), d.beskrivelse.rstrip("."), d.citation.danish(), dansk_dato(d.regnet_fra))


def _less_intrusive(t: TrackDecision) -> tuple[OfferView, ...]:
    """The offers below the chosen one and why they do not suffice (the caseworker's 'why not less?')."""
    out = []
    for v in t.verdicts:
        if v.verdikt is Verdict.VALGT:
            break
        if v.verdikt is not Verdict.IKKE_NOEDVENDIGT:
            out.append(offer_view(v))
    return tuple(out)


def track_view(d: Decision, t: TrackDecision, law: Optional[LawBook]) -> TrackView:
    chosen = t.chosen
    reasons = recommendation_reason(t.need, t.need_set_by, chosen.navn) if chosen is not None else need_text(t.need, t.need_set_by)
    ingen = ""
    if chosen is None:
        ingen = ("Ingen egnet alternativ; faglig vurdering." if t.no_alternative is not None
                 else f"Intet tilbud opfylder behovsniveau {t.need}; sagen kræver en individuel faglig vurdering.")
    details = [Detail("Spor", t.spor), Detail("Behovsniveau", str(t.need)),
               Detail("Behov fastsat af", ", ".join(r.id for r in t.need_set_by) or "–")]
    if chosen is not None:
        details += [Detail("Tilbud", chosen.id), Detail("Kategori", chosen.kategori), Detail("Placering", str(chosen.position))]
    rules = tuple(rule_view(a, d.vurderingsdato, law) for a in d.rules if a.applied and a.rule.spor == t.spor)
    return TrackView(
        t.spor, SPOR_NAVN.get(t.spor, t.spor), chosen.navn if chosen else None,
        f"{KATEGORI_NAVN.get(chosen.kategori, chosen.kategori)}, indgrebsniveau {chosen.niveau}" if chosen else "",
        tuple(r.danish() for r in t.lovgrundlag),
        tuple(deadline_view(x) for x in d.deadlines if x.rule.spor == t.spor),
        f"Behovsniveau {t.need}", reasons,
        tuple(f"{r.indhold.rstrip('.')} ({r.citation.danish()})" + ("" if r.opfyldt else " – kan ikke opfyldes med anbefalingen")
              for r in t.rights),
        _less_intrusive(t), rules, ingen, tuple(details))


def facts(fact: Mapping[str, Any]) -> tuple[Detail, ...]:
    """Every fact the rules saw: label, value name and the field id (for auditors)."""
    return tuple(Detail(f"{FIELDS[k].label} ({k})" if k in FIELDS else k, value_text(v, k)) for k, v in fact.items())


# --------------------------------------------------------------------------- the decision


def decision_view(d: Decision, id: str, oprettet: Optional[str], law: Optional[LawBook] = None) -> DecisionView:
    v = d.version
    present = {t.spor for t in d.tracks}
    rules = tuple(rule_view(a, d.vurderingsdato, law) for a in d.rules)
    all_rejected = tuple((SPOR_NAVN.get(t.spor, t.spor), offer_view(x)) for t in d.tracks for x in t.verdicts
                         if x.verdikt is not Verdict.VALGT)
    details = (Detail("Id", id), Detail("Regelsæt", f"{v.navn} {v.version}"), Detail("sha256", v.sha256),
               Detail("Kommunelag", v.kommune or "–"), Detail("Motorkerner", ", ".join(d.cores) or "–"))
    pre = tuple(f"{p.offer.navn} ({', '.join(r.danish() for r in p.lovgrundlag) or 'faglig retningslinje'}), fordi "
                + " og ".join(fact_text(c) for c in p.conditions if c.personkreds is None)
                + ". Gives før eller sammen med behandlingen, ikke i stedet for den." for p in d.preconditions)
    return DecisionView(
        id=id, oprettet=dansk_tid(oprettet) if oprettet else "",
        regelsaet=f"Regelsættets version fra {dansk_dato(v.gyldig_fra)}" + (f" med {v.kommune}s lokale regler" if v.kommune else ""),
        situation=situation(d), saerlige_forhold=special_circumstances(d.fact),
        tracks=tuple(track_view(d, t, law) for t in d.tracks), forudsaetninger=pre,
        andre_frister=tuple(deadline_view(x) for x in d.deadlines if x.rule.spor not in present),
        advarsler=tuple(dict.fromkeys(note_text(n) for n in d.notes if n.art == "advarsel")),
        oplysninger=tuple(dict.fromkeys(note_text(n) for n in d.notes if n.art == "oplysning")),
        lovgrundlag=tuple(r.danish() for r in d.lovgrundlag()),
        fortaelling=tuple(line for line in narrative(d).split("\n") if line.strip()),
        alle_regler=rules, alle_fravalgt=all_rejected, fakta=facts(d.fact), details=details)


# --------------------------------------------------------------------------- afgørelser and listings


@dataclass(frozen=True)
class AfgoerelseView:
    udfald: str
    udfald_tekst: str
    dato: str
    oprettet: str
    begrundelse: Optional[str]
    tilbud: tuple[str, ...]  # "Behandling: Dagbehandling"
    gaeldende: bool
    details: tuple[Detail, ...]


def afgoerelse_views(records: Iterable[Any], offer_names: Mapping[str, str]) -> tuple[AfgoerelseView, ...]:
    """The caseworker's afgørelser, newest first; the newest is the one in force."""
    items = sorted(records, key=lambda a: a.seq, reverse=True)
    out = []
    for i, a in enumerate(items):
        tilbud = tuple(f"{SPOR_NAVN.get(s, s)}: {offer_names.get(o, o)}" for s, o in sorted(a.tilbud.items()))
        details = (Detail("Afgørelsens id", a.id), Detail("Post i loggen", str(a.seq)), Detail("Oprettet af nøgle", a.token_id or "–"),
                   *(Detail(f"Tilbud ({s})", o) for s, o in sorted(a.tilbud.items())))
        out.append(AfgoerelseView(a.udfald, UDFALD_TEKST.get(a.udfald, a.udfald), dansk_dato(date.fromisoformat(a.dato)),
                                  dansk_tid(a.oprettet), a.begrundelse, tilbud, i == 0, details))
    return tuple(out)


@dataclass(frozen=True)
class RowView:
    seq: int
    id: str
    oprettet: str
    vurderingsdato: str
    version: str
    anbefalinger: tuple[str, ...]
    afgoerelse: str
    slettet: bool


def row_view(row: Any, offer_names: Mapping[str, str]) -> RowView:
    """One decision in a listing: the recommendations by name, and the afgørelse in force."""
    newest = max(row.afgoerelser, key=lambda a: a.seq) if getattr(row, "afgoerelser", ()) else None
    return RowView(row.seq, row.id, dansk_tid(row.oprettet), dansk_dato(date.fromisoformat(row.vurderingsdato)),
                   dansk_dato(date.fromisoformat(row.regelsaet_version)) if _is_iso(row.regelsaet_version) else row.regelsaet_version,
                   tuple(f"{SPOR_NAVN.get(s, s)}: {offer_names.get(t, KATEGORI_NAVN.get(k, k))}" for s, k, t in row.anbefalinger),
                   UDFALD_KORT.get(newest.udfald, newest.udfald) if newest else "ingen endnu", row.slettet is not None)


def _is_iso(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def offer_names(engine: Any, sha256s: Iterable[str] = ()) -> dict[str, str]:
    """Offer id -> name over every version of the engine (and the given past versions); shared with the API."""
    return _offer_names(engine, sha256s)


def screening_rows(screening: Mapping[str, Any]) -> tuple[Detail, ...]:
    """The stored screening as (label, value name) rows; substances by their names."""
    from engine.fields import GRAD_LABELS, STOF_LABELS

    out = []
    order = {name: i for i, name in enumerate(FIELDS)}
    for name, value in sorted(screening.items(), key=lambda kv: order.get(kv[0], len(order))):
        label = FIELDS[name].label if name in FIELDS else name
        if name == "rusmidler":
            shown = ", ".join(f"{STOF_LABELS.get(r['stof'], r['stof'])} ({GRAD_LABELS.get(r['grad'], r['grad'])})" for r in value) or "ingen"
        elif value is None:
            shown = "ikke oplyst"
        elif name in ("henvendelsesdato", "vurderingsdato") and _is_iso(str(value)):
            shown = dansk_dato(date.fromisoformat(str(value)))
        else:
            shown = value_text(value, name)
        out.append(Detail(label, shown))
    return tuple(out)


def total_text(n: int) -> str:
    return count(n, "vurdering", "vurderinger")


@dataclass(frozen=True)
class ReplayView:
    """A replay: identical under the original version, and what today's rules would change, in words."""

    identisk: bool
    samme_version: bool
    original: str
    nu: str
    forskelle: tuple[str, ...]


def replay_view(replay: Any) -> ReplayView:
    def version_text(d: Decision) -> str:
        return f"version fra {dansk_dato(d.version.gyldig_fra)}"

    return ReplayView(replay.identisk, replay.samme_version, version_text(replay.original), version_text(replay.nu),
                      tuple(d.tekst for d in replay.forskelle))
