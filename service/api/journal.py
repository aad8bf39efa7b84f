"""The decision into the case record: GET /v1/vurderinger/{id}/journalnotat (plain text) and /brev
(printable HTML, forvaltningsloven §§ 22-25), with the klagevejledning loaded as data beside the law
(regler/love/, file:line errors); the letter template is shared with the pages (service/web/templates)."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from engine.decision import Decision, TrackDecision
from engine.explain import situation
from engine.fields import FIELDS
from engine.law import LawBook, LegalRef
from engine.problems import Position, Problem
from engine.wording import SPOR_NAVN, count, dansk_dato, dansk_tid
from service.api.common import problems, purpose, services
from service.auth import REVISOR, VISITATOR, Actor, require
from service.problems import ProblemException

router = APIRouter(tags=["vurderinger"])
#: The complaint guidance, as data beside the law history in regler/love/.
KLAGE_FILE = "klagevejledning.yaml"
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
LETTER_CSS = Path(__file__).resolve().parent.parent / "web" / "static" / "brev.css"
UDFALD_TEKST = {"fulgt": "Anbefalingen er fulgt", "afveget": "Der er afveget fra anbefalingen",
                "afvist_af_borger": "Borgeren har afvist tilbuddet"}
CHECK_KLAGE = "Kontrollér klagevejledningen"

# --------------------------------------------------------------------------- klagevejledning as data


class KlagePost(BaseModel):
    """One provision's klagevejledning (see the comment at the top of the file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bestemmelse: str = Field(pattern=r"^(sel|sul|bl|tbl)(-[a-z0-9]+)*$", max_length=60)
    klageadgang: Literal["klage", "ingen_klage", "ukendt"]
    klageinstans: Optional[str] = Field(None, min_length=3)
    hvor: Optional[str] = Field(None, min_length=3)
    frist: Optional[str] = Field(None, min_length=3)
    tekst: Optional[str] = Field(None, min_length=10)
    kilde: str = Field(min_length=10)
    url: Optional[str] = None
    sikkerhed: Literal["verificeret", "delvist_verificeret", "uverificeret"]


class KlageFil(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    klagevejledninger: list[KlagePost]


def _entry_problems(post: KlagePost, law: LawBook) -> list[str]:
    out = []
    if law.get(post.bestemmelse) is None:
        out.append(f"bestemmelsen '{post.bestemmelse}' findes ikke i lovenes historik (regler/love/)")
    if post.klageadgang == "klage" and not (post.klageinstans and post.hvor and post.frist):
        out.append("en klageadgang skal angive 'klageinstans', 'hvor' og 'frist'")
    if post.klageadgang == "ingen_klage" and not post.tekst:
        out.append("angiv i 'tekst', at afgørelsen ikke kan indbringes for anden administrativ myndighed")
    return out


def load_klagevejledning(path: Path, shown: str, law: LawBook) -> tuple[dict[str, KlagePost], list[Problem]]:
    """The file's entries by provision id, and every problem found (with file:line)."""
    from engine.load import PosDict, load_yaml_file, position_of
    from engine.messages import message

    data, found = load_yaml_file(path, shown)
    if found or data is None:
        return {}, found or [Problem(Position(shown), "filen er tom")]
    start = data.start if isinstance(data, PosDict) else Position(shown)
    try:
        parsed = KlageFil.model_validate(data)
    except ValidationError as error:
        return {}, [Problem(position_of(data, tuple(e["loc"]), start), message(e)) for e in error.errors(include_url=False)]
    entries: dict[str, KlagePost] = {}
    for i, post in enumerate(parsed.klagevejledninger):
        where = position_of(data, ("klagevejledninger", i), start)
        if post.bestemmelse in entries:
            found.append(Problem(where, f"bestemmelsen '{post.bestemmelse}' står to gange"))
        found += [Problem(where, text) for text in _entry_problems(post, law)]
        entries[post.bestemmelse] = post
    return entries, found


def klagevejledning(state: Any, law: LawBook) -> dict[str, KlagePost]:
    """The klagevejledning for the rules in use, re-read when the file changes (500 naming file:line if broken)."""
    rules_dir = Path(state.engines.rules_dir)
    path = rules_dir / "love" / KLAGE_FILE
    if not path.is_file():
        return {}
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, id(law))
    cached = getattr(state, "klagevejledning", None)
    if cached is not None and cached[0] == key:
        return dict(cached[1])
    try:
        shown = path.relative_to(rules_dir.parent).as_posix()
    except ValueError:
        shown = path.as_posix()
    entries, found = load_klagevejledning(path, shown, law)
    if found:
        raise ProblemException(500, f"Klagevejledningen kan ikke læses: {found[0]}", slug="klagevejledning-ugyldig",
                               problemer=[str(p) for p in found])
    state.klagevejledning = (key, entries)
    return entries


def klage_for(ref: LegalRef, entries: dict[str, KlagePost]) -> Optional[KlagePost]:
    """The entry for a cited provision: its own, else the nearest provision it is named under."""
    name = ref.bestemmelse or ""
    while name:
        if name in entries:
            return entries[name]
        name = name.rpartition("-")[0]
    return None


# --------------------------------------------------------------------------- the case


@dataclass(frozen=True)
class Case:
    """What a journal note and a letter are made from."""

    id: str
    oprettet: str
    decision: Decision
    afgoerelser: tuple[Any, ...]  # oldest first; the last is in force
    offer_names: dict[str, str]
    offer_basis: dict[str, tuple[LegalRef, ...]]  # offer id -> its legal basis in the decision's version
    law: Optional[LawBook] = None

    @property
    def afgoerelse(self) -> Optional[Any]:
        return self.afgoerelser[-1] if self.afgoerelser else None


def load_case(state: Any, actor: Actor, id: str, formaal: str) -> Case:
    """The stored decision with its afgørelser (404/410 as the API; 409 for a decision of an older engine)."""
    record = state.decisions.stored(actor, id, formaal)
    decision = state.decisions.decision(record)
    if decision is None:
        raise ProblemException(409, "Vurderingen er lavet af en tidligere udgave af motoren; se den gemte tekst i stedet.",
                               slug="gammelt-format")
    engine = state.engines.for_kommune(actor.kommune)
    names: dict[str, str] = {}
    basis: dict[str, tuple[LegalRef, ...]] = {}
    try:
        version = engine.version_by_sha(record.regelsaet_sha256)
    except Exception:  # an unknown old version: offers are named by id, their basis is left to the caseworker
        version = None
    if version is not None:
        for o in version.offers:
            names[o.id] = o.navn
            basis[o.id] = tuple(version.cite(p) for p in o.lovgrundlag if p in version.citations)
    for t in decision.tracks:
        names.update({v.offer.id: v.offer.navn for v in t.verdicts})
    afgoerelser = tuple(sorted(state.afgoerelser.list(actor, id), key=lambda a: a.seq))
    return Case(id, record.oprettet, decision, afgoerelser, names, basis, engine.law)


# --------------------------------------------------------------------------- journal note


def special_circumstances(fact: Any) -> tuple[str, ...]:
    """The yes/no facts that are set, by their labels, for use inside a sentence ('borgeren er gravid')."""
    return tuple(f.label[:1].lower() + f.label[1:] for name, f in FIELDS.items()
                 if f.input and f.type == "sandhed" and not f.paakraevet and fact.get(name) is True)


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=100, initial_indent=indent, subsequent_indent="  ") or [indent]


def _track_line(t: TrackDecision, deadlines: list[str]) -> str:
    if t.chosen is None:
        return f"{SPOR_NAVN[t.spor]}: intet egnet tilbud; sagen kræver en individuel faglig vurdering."
    basis = "; ".join(r.danish() for r in t.lovgrundlag) or "faglig retningslinje, ikke et lovkrav"
    frist = " Frist: " + "; ".join(deadlines) + "." if deadlines else " Ingen lovbestemt frist."
    return f"{SPOR_NAVN[t.spor]}: {t.chosen.navn}. Lovgrundlag: {basis}.{frist}"


def _afgoerelse_lines(case: Case) -> list[str]:
    a = case.afgoerelse
    if a is None:
        return _wrap("Afgørelse: ikke registreret endnu.")
    text = f"Afgørelse {dansk_dato(date.fromisoformat(a.dato))}: {UDFALD_TEKST.get(a.udfald, a.udfald)}."
    if a.tilbud:
        text += " I stedet: " + "; ".join(f"{SPOR_NAVN.get(s, s)}: {case.offer_names.get(o, o)}" for s, o in sorted(a.tilbud.items())) + "."
    if a.begrundelse:
        text += f" Begrundelse: {a.begrundelse.strip()}"
    return _wrap(text)


def journal_text(case: Case) -> str:
    """A short note for the case record that fits one screen (about 25 lines of at most 100 characters)."""
    d = case.decision
    lines = ["Journalnotat: visitation til rusmiddelbehandling", ""]
    lines += _wrap(f"Vurderet {dansk_dato(d.vurderingsdato)} (henvendelse {dansk_dato(d.henvendelsesdato)}); "
                   f"gemt {dansk_tid(case.oprettet)}. Regler fra {dansk_dato(d.version.gyldig_fra)}"
                   + (f", {d.version.kommune}." if d.version.kommune else "."))
    lines += _wrap("Oplysninger: " + situation(d))
    special = special_circumstances(d.fact)
    if special:
        lines += _wrap("Særlige forhold: " + "; ".join(special) + ".")
    lines += ["", "Anbefaling (mindste indgrebs princip):"]
    for t in d.tracks:
        deadlines = [f"senest {dansk_dato(x.dato)} ({x.citation.danish()})" for x in d.deadlines if x.rule.spor == t.spor]
        lines += _wrap(_track_line(t, deadlines), "- ")
    if not d.tracks:
        lines += _wrap("Ingen regel giver anledning til et tilbud ud fra de oplysninger, der er angivet.", "- ")
    for p in d.preconditions:
        lines += _wrap(f"Før eller sammen med behandlingen: {p.offer.navn} ({', '.join(r.danish() for r in p.lovgrundlag)}).", "- ")
    warnings = len({n.kode.value + (n.tekst or "") for n in d.notes if n.art == "advarsel"})
    if warnings:
        lines += _wrap(f"Vær opmærksom: vurderingen har {count(warnings, 'advarsel', 'advarsler')}; se den fulde vurdering.")
    lines += [""] + _afgoerelse_lines(case) + ["", f"Vurderingens id: {case.id}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- decision letter


@dataclass(frozen=True)
class LetterTrack:
    spor: str
    tilbud: str
    lovgrundlag: tuple[str, ...]
    anbefalet: bool  # the recommended (least intrusive) offer, not one the caseworker chose instead
    frister: tuple[str, ...]


@dataclass(frozen=True)
class Klage:
    tekst: str
    bestemmelser: tuple[str, ...]
    kontroller: bool  # no verified source: the caseworker must check and fill in


@dataclass(frozen=True)
class Letter:
    kommune: str
    dato: str
    udfald: Optional[str]
    afvist: bool
    tracks: tuple[LetterTrack, ...]
    situation: str
    begrundelse: Optional[str]
    forudsaetninger: tuple[str, ...]
    klage: tuple[Klage, ...]
    noter: tuple[str, ...] = field(default=())  # to the caseworker, shown on screen only


def _deadline_sentences(d: Decision, spor: str) -> tuple[str, ...]:
    """'Tilbuddet skal være sat i gang senest <dato> (<bestemmelser>).', one sentence per date."""
    by_day: dict[date, list[str]] = {}
    for x in d.deadlines:
        if x.rule.spor == spor:
            by_day.setdefault(x.dato, []).append(x.citation.danish())
    return tuple(f"Tilbuddet skal være sat i gang senest {dansk_dato(day)} ({'; '.join(dict.fromkeys(refs))})."
                 for day, refs in sorted(by_day.items()))


def _given(case: Case, spor: str, offer_id: str) -> tuple[LetterTrack, tuple[LegalRef, ...]]:
    """An offer the caseworker chose instead of the recommendation, with its basis in the rule set (if any)."""
    refs = case.offer_basis.get(offer_id, ())
    return LetterTrack(SPOR_NAVN.get(spor, spor), case.offer_names.get(offer_id, offer_id), tuple(r.danish() for r in refs), False, ()), refs


def _letter_tracks(case: Case) -> tuple[tuple[LetterTrack, ...], list[LegalRef]]:
    d, a = case.decision, case.afgoerelse
    given = dict(a.tilbud) if a is not None and a.udfald == "afveget" else {}
    out, cited = [], []
    for t in d.tracks:
        if t.spor in given:
            track, refs = _given(case, t.spor, given[t.spor])
        elif t.chosen is not None:
            refs = t.lovgrundlag
            track = LetterTrack(SPOR_NAVN[t.spor], t.chosen.navn, tuple(r.danish() for r in refs), True, _deadline_sentences(d, t.spor))
        else:
            continue
        out.append(track)
        cited += list(refs)
    for spor, offer_id in sorted(given.items()):
        if d.track(spor) is None:
            track, refs = _given(case, spor, offer_id)
            out.append(track)
            cited += list(refs)
    return tuple(out), cited


def _klage(cited: list[LegalRef], entries: dict[str, KlagePost]) -> tuple[Klage, ...]:
    """One paragraph per klagevejledning; provisions without a verified one are named for the caseworker to check."""
    known: dict[str, list[str]] = {}
    unknown: list[str] = []
    for ref in dict.fromkeys(cited):
        post = klage_for(ref, entries)
        if post is None or post.sikkerhed != "verificeret" or post.klageadgang == "ukendt":
            unknown.append(ref.danish())
            continue
        text = post.tekst if post.klageadgang == "ingen_klage" else (
            f"Du kan klage over afgørelsen til {post.klageinstans}. Klagen sendes {post.hvor}. Fristen er {post.frist}.")
        known.setdefault(text or "", []).append(ref.danish())
    out = [Klage(text, tuple(refs), False) for text, refs in known.items()]
    if unknown:
        which = "denne bestemmelse" if len(unknown) == 1 else "disse bestemmelser"
        out.append(Klage(f"{CHECK_KLAGE}: projektet har ingen verificeret klagevejledning for {which}. "
                         "Indsæt den gældende klagevejledning, før brevet sendes.", tuple(unknown), True))
    return tuple(out)


def citizen_facts(d: Decision) -> str:
    """The main facts, said to the citizen (from the data, with the vocabulary's value names)."""
    from engine.fields import GRAD_LABELS, STOF_KORT

    text = f"Du er {d.fact['alder']} år"
    uses = [f"{STOF_KORT.get(s, s)}: {GRAD_LABELS.get(g, g)}" for s, g in d.rusmidler]
    text += (" og har oplyst brug af " + "; ".join(uses) + ".") if uses else " og har ikke oplyst brug af rusmidler."
    text += f" Boligsituation: {FIELDS['boligsituation'].value_label(d.fact['boligsituation'])}."
    if d.fact.get("dobbeltdiagnose"):
        text += " Der er oplyst psykisk lidelse (eller mistanke herom) samtidig med rusmiddelproblemet."
    special = special_circumstances(d.fact)
    if special:
        text += " Desuden er oplyst: " + "; ".join(special) + "."
    return text


def letter(case: Case, entries: dict[str, KlagePost], today: date) -> Letter:
    """The draft letter to the citizen about the afgørelse in force (or, if none is recorded, the recommendation)."""
    d, a = case.decision, case.afgoerelse
    tracks, cited = _letter_tracks(case)
    notes = []
    if a is None:
        notes.append("Der er ikke registreret en afgørelse endnu; udkastet bygger på anbefalingen.")
    if any(not t.lovgrundlag for t in tracks):
        notes.append("Mindst ét tilbud har intet lovgrundlag i regelsættet; skriv lovgrundlaget ind, før brevet sendes.")
    kommune = d.version.kommune or "Kommunen"
    day = date.fromisoformat(a.dato) if a is not None else today
    return Letter(kommune, dansk_dato(day), a.udfald if a else None, bool(a and a.udfald == "afvist_af_borger"), tracks,
                  citizen_facts(d),
                  a.begrundelse if a is not None else None,
                  tuple(f"{p.offer.navn} ({', '.join(r.danish() for r in p.lovgrundlag)})" for p in d.preconditions),
                  _klage(cited, entries), tuple(notes))


def letter_html(the_letter: Letter, standalone: bool) -> str:
    """The letter as a whole HTML document with its print stylesheet inlined (the API's answer)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    css = LETTER_CSS.read_text(encoding="utf-8") if standalone else ""
    return env.get_template("brev_dokument.html").render(brev=the_letter, css=css)


# --------------------------------------------------------------------------- routes


@router.get("/v1/vurderinger/{id}/journalnotat", summary="Kort journalnotat som ren tekst til sagssystemet (rolle: visitator, revisor)",
            response_class=Response,
            responses={200: {"description": "Journalnotatet", "content": {"text/plain": {"schema": {"type": "string"}}}},
                       **problems(401, 403, 404, 409, 410, 500, 503)})
def journalnotat(request: Request, id: str, actor: Actor = Depends(require(VISITATOR, REVISOR))) -> Response:
    case = load_case(services(request), actor, id, purpose(request))
    return Response(journal_text(case).encode("utf-8"), media_type="text/plain; charset=utf-8")


@router.get("/v1/vurderinger/{id}/brev", summary="Udkast til afgørelsesbrev som HTML til udskrift (rolle: visitator, revisor)",
            response_class=Response,
            responses={200: {"description": "Brevet (forvaltningsloven §§ 22-25)", "content": {"text/html": {"schema": {"type": "string"}}}},
                       **problems(401, 403, 404, 409, 410, 500, 503)})
def brev(request: Request, id: str, actor: Actor = Depends(require(VISITATOR, REVISOR))) -> Response:
    state = services(request)
    case = load_case(state, actor, id, purpose(request))
    entries = klagevejledning(state, case.law or LawBook({}))
    html = letter_html(letter(case, entries, state.settings.today()), standalone=True)
    return Response(html.encode("utf-8"), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                             "Cache-Control": "no-store"})
