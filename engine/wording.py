"""Danish words, made in one place from data: dates, values, conditions, reasons and notes.

The engine decides in types (engine.decision); this module turns those types
into the plain Danish a caseworker reads: field labels and value names from
the vocabulary, never field ids, category codes or file paths. Nothing here
decides anything, and nothing here is parsed back.

>>> dansk_dato(date(2026, 11, 16))
'16. november 2026'
>>> condition_text(ConditionResult("alder", ">=", 18, 16, False))
'alder skal være mindst 18 (er 16)'
>>> condition_text(ConditionResult("oensker_anonymitet", "=", True, False, False))
'kun når borgeren ønsker anonym rådgivning eller behandling (det er ikke oplyst)'
>>> count(1, "vurdering", "vurderinger"), count(3, "vurdering", "vurderinger")
('1 vurdering', '3 vurderinger')
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo

from engine.decision import ConditionResult, NotApplied, Note, NoteCode, OfferVerdict, RuleApplication, Verdict
from engine.fields import FIELDS
from engine.law import LegalRef

MAANEDER = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december")
KOEBENHAVN = ZoneInfo("Europe/Copenhagen")

SPOR_NAVN = {"behandling": "Behandling", "medicinsk": "Lægelig behandling", "bolig": "Bolig og støtte", "koordinering": "Koordinering"}
LAG_NAVN = {"lov": "lovgivning", "kommune": "kommunens politik"}
STATUS_NAVN = {"aktiv": "gældende", "historisk": "historisk", "kommende": "kommende (besluttet, ikke trådt i kraft)",
               "afventer": "afventer (lovforslag, ikke vedtaget)"}
KATEGORI_NAVN = {
    "anonym_raadgivning": "anonym rådgivning", "anonym_ambulant": "anonym ambulant behandling", "ambulant": "ambulant behandling",
    "dagbehandling": "dagbehandling", "doegnbehandling": "døgnbehandling", "doegn_kontrakt": "døgnbehandling med kontrakt",
    "integreret_dobbeltdiagnose": "regional integreret behandling", "laegesamtale": "lægesamtale", "substitution": "substitutionsbehandling",
    "afrusning": "afrusning", "koordinerende_indsatsplan": "koordinerende indsatsplan", "stoette_kontaktperson": "støtte- og kontaktperson",
    "samvaerstilbud": "samværstilbud", "bostoette": "bostøtte", "housing_first_cti": "Housing First (CTI)",
    "housing_first_icm": "Housing First (ICM)", "housing_first_act": "Housing First (ACT)", "midlertidigt_botilbud": "midlertidigt botilbud",
    "forsorgshjem": "forsorgshjem", "laengerevarende_botilbud": "længerevarende botilbud",
}

_OPERATOR_TEXT = {"=": "skal være", "!=": "må ikke være", ">": "skal være over", ">=": "skal være mindst",
                  "<": "skal være under", "<=": "må højst være", "i": "skal være en af", "ikke_i": "må ikke være en af"}


def dansk_dato(day: date) -> str:
    return f"{day.day}. {MAANEDER[day.month - 1]} {day.year}"


def dansk_tid(moment: datetime | str) -> str:
    """A UTC moment as Danish local time: '3. november 2026 kl. 10.14'."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(KOEBENHAVN)
    return f"{dansk_dato(local.date())} kl. {local.hour:02d}.{local.minute:02d}"


def count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def value_text(value: Any, felt: Optional[str] = None) -> str:
    """A value as a caseworker reads it (value names from the vocabulary, ja/nej)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v, felt) for v in value)
    if felt in FIELDS:
        return FIELDS[felt].value_label(value)
    if isinstance(value, bool):
        return "ja" if value else "nej"
    return str(value)


def condition_text(result: ConditionResult, technical: bool = False) -> str:
    """One condition as a sentence fragment. `technical` keeps field ids (for auditors)."""
    if result.operator == "en_af":
        parts = "; ".join(condition_text(p, technical) for p in result.dele)
        return f"mindst én af disse skal gælde: {parts}"
    spec = FIELDS.get(result.felt)
    if technical or spec is None:
        return f"{result.felt} {_OPERATOR_TEXT[result.operator]} {value_text(result.forventet)} (er {value_text(result.faktisk)})"
    if spec.type == "sandhed" and result.operator in ("=", "!=") and isinstance(result.forventet, bool):
        wanted = result.forventet if result.operator == "=" else not result.forventet
        subject = spec.label[0].lower() + spec.label[1:]
        if not subject.startswith("borgeren"):
            subject = f"der er {subject}" if spec.navn != "hjemloes" else "borgeren er uden egen bolig"
        if wanted:
            return f"kun når {subject} (det er ikke oplyst)"
        return f"ikke når {subject} (det er oplyst)"
    return f"{spec.plain} {_OPERATOR_TEXT[result.operator]} {value_text(result.forventet, result.felt)} (er {value_text(result.faktisk, result.felt)})"


def fact_text(result: ConditionResult) -> str:
    """A condition that holds, said as a fact about the citizen: 'der er risiko for abstinenser'.

    >>> fact_text(ConditionResult("abstinensrisiko", "=", True, True, True))
    'der er risiko for abstinenser, der kræver afrusning eller abstinensbehandling'
    >>> fact_text(ConditionResult("alder", ">=", 18, 34, True))
    'alder er 34'
    """
    if result.operator == "en_af":
        return " eller ".join(fact_text(p) for p in result.dele if p.opfyldt)
    spec = FIELDS.get(result.felt)
    if spec is None:
        return f"{result.felt} er {value_text(result.faktisk)}"
    if spec.type == "sandhed" and isinstance(result.faktisk, bool):
        subject = spec.label[0].lower() + spec.label[1:]
        if spec.navn == "hjemloes":
            subject = "borgeren er uden egen bolig"
        elif not subject.startswith("borgeren"):
            subject = f"der er {subject}"
        return subject if result.faktisk else f"det er ikke tilfældet, at {subject}"
    return f"{spec.plain} er {value_text(result.faktisk, result.felt)}"


def verdict_text(v: OfferVerdict, technical: bool = False) -> str:
    """Why an offer was or was not chosen, in plain Danish."""
    if v.verdikt is Verdict.VALGT:
        return f"det mindst indgribende egnede tilbud, der dækker behovsniveau {v.need}"
    if v.verdikt is Verdict.IKKE_NOEDVENDIGT:
        p = v.preferred
        if p is not None and p.niveau == v.offer.niveau:
            return f"ikke nødvendigt: '{p.navn}' har samme indgrebsniveau og foretrækkes"
        return f"ikke nødvendigt: det mindre indgribende '{p.navn if p else '?'}' dækker behovet"
    if v.verdikt is Verdict.FOR_INDGRIBENDE:
        p = v.preferred
        return (f"mere indgribende end nødvendigt: uden kommunens begrænsning var '{p.navn if p else '?'}' valgt; "
                "en begrænsning må ikke føre til et mere indgribende tilbud")
    reasons = []
    if v.excluded_by is not None:
        reasons.append(f"udelukket efter {LAG_NAVN.get(v.excluded_by.lag, v.excluded_by.lag)}: {v.excluded_by.beskrivelse.rstrip('.')}")
    if v.failed:
        reasons.append("passer ikke, fordi " + "; ".join(condition_text(r, technical) for r in v.failed))
    if v.daekker_op_til < v.need:
        reasons.append(f"dækker ikke behovet (behovsniveau {v.need}, tilbuddet dækker op til niveau {v.daekker_op_til})")
    return "; ".join(reasons)


def not_applied_text(a: RuleApplication) -> Optional[str]:
    if a.not_applied is NotApplied.SPOR_IKKE_AKTUELT:
        return f"sporet {SPOR_NAVN.get(a.rule.spor or '', a.rule.spor)} er ikke aktuelt for borgeren"
    if a.not_applied is NotApplied.KATEGORI_IKKE_ANBEFALET:
        wanted = " eller ".join(KATEGORI_NAVN.get(c, c) for c in a.wanted) or "(ingen)"
        got = ", ".join(KATEGORI_NAVN.get(c, c) for c in a.got) or "intet"
        return f"gælder kun, når der anbefales {wanted} (anbefalet: {got})"
    return None


def _with_citation(text: str, citation: Optional[LegalRef]) -> str:
    """'Tekst (Serviceloven § 101, stk. 6).' - the citation rendered for the decision date.

    >>> _with_citation("Fristen kan fraviges.", LegalRef("SEL", "101", "6"))
    'Fristen kan fraviges (Serviceloven § 101, stk. 6).'
    """
    text = text.strip().rstrip(".")
    if citation is None:
        return text + "."
    return f"{text} ({citation.danish()})."


def note_text(note: Note) -> str:
    """A note as the caseworker reads it."""
    code = note.kode
    if code is NoteCode.REGEL:
        return _with_citation(note.tekst or "", note.citation)
    if code is NoteCode.SKAL_TILBYDE:
        return _with_citation(note.tekst or "", note.citation)
    if code is NoteCode.SKAL_TILBYDE_IKKE_ANBEFALET:
        offer = note.offer.navn if note.offer else "tilbuddet"
        why = verdict_text(note.verdict) if note.verdict else "tilbuddet findes ikke i den gældende version af reglerne"
        return _with_citation(f"{(note.tekst or '').rstrip('.')}. '{offer}' anbefales dog ikke her: {why}.", note.citation)
    if code is NoteCode.FRIST_UDLOEBET and note.deadline is not None:
        d = note.deadline
        return f"Fristen '{d.beskrivelse}' ({d.citation.danish()}) udløb {dansk_dato(d.dato)}, før vurderingsdatoen."
    if code is NoteCode.INGEN_TILBUD:
        return (f"Intet tilbud i sporet {SPOR_NAVN.get(note.spor or '', note.spor)} opfylder behovsniveau {note.need}; "
                "sagen kræver en individuel faglig vurdering.")
    if code is NoteCode.INGEN_ALTERNATIV:
        blocked = f"'{note.offer.navn}'" if note.offer else "det tilbud, loven giver"
        why = note.kilde.beskrivelse.rstrip(".") if note.kilde else "en begrænsning"
        return (f"{SPOR_NAVN.get(note.spor or '', note.spor)}: {blocked} er udelukket ({why}), og der findes intet egnet "
                "alternativ, der ikke er mere indgribende. Ingen egnet alternativ; faglig vurdering.")
    if code is NoteCode.RET_IKKE_OPFYLDT:
        right = (note.kilde.navn or "") if note.kilde else ""
        offer = f"det anbefalede tilbud '{note.offer.navn}'" if note.offer else "anbefalingen, fordi intet tilbud er valgt"
        return _with_citation(f"Borgeren har ret til {right[:1].lower() + right[1:]}: {(note.tekst or '').rstrip('.')}. "
                              f"Retten kan ikke opfyldes med {offer}; den må ikke opgives uden borgerens samtykke. Faglig vurdering",
                              note.citation)
    if code is NoteCode.RET_KONFLIKT:
        right = (note.kilde.navn or "") if note.kilde else ""
        other = f"'{note.offer.navn}'" if note.offer else "anbefalingen"
        return _with_citation(f"Borgerens ret til {right[:1].lower() + right[1:]} er i konflikt med {other} i sporet "
                              f"{SPOR_NAVN.get(note.spor or '', note.spor)}: {(note.tekst or '').rstrip('.')}", note.citation)
    return note.tekst or ""


def need_text(level: int, setters: tuple[Any, ...]) -> str:
    reasons = "; ".join(r.beskrivelse.rstrip(".") for r in setters)
    return f"Behovsniveau {level}: {reasons}." if reasons else f"Behovsniveau {level}."


def recommendation_reason(level: int, setters: tuple[Any, ...], offer_name: str) -> str:
    """Why this offer: the need and what set it, then the least-intrusive sentence (API body and pages)."""
    return need_text(level, setters) + f" '{offer_name}' er det mindst indgribende egnede tilbud, der dækker behovet."
