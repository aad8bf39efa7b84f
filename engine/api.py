"""The decision as API.md's response body, and back.

`to_api(decision, tekst)` renders a typed Decision as the body clients read
(without `id` and `oprettet`, which the service adds); `from_api(body)`
rebuilds the typed Decision from a stored body, so a logged decision comes
back as the same object (`from_api(to_api(d)) == d`). The TypedDicts below
type the body for mypy and generate the OpenAPI schema; the structured parts
of `forklaring` carry every fact the typed decision has, and the texts are
rendered with engine.wording.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from typing_extensions import NotRequired, TypedDict

from engine.decision import (
    ConditionResult,
    Deadline,
    Decision,
    NotApplied,
    Note,
    NoteCode,
    OfferRef,
    OfferVerdict,
    PreconditionOutcome,
    RightOutcome,
    RuleApplication,
    RuleRef,
    TrackDecision,
    Verdict,
    VersionRef,
)
from engine.law import LegalRef
from engine.model import Source
from engine.problems import Position
from engine.wording import condition_text, not_applied_text, note_text, recommendation_reason, verdict_text


class Lovgrundlag(TypedDict):
    lov: str
    paragraf: Optional[str]
    stk: Optional[str]
    bestemmelse: NotRequired[Optional[str]]
    nr: NotRequired[str]
    kapitel: NotRequired[str]
    sikkerhed: NotRequired[str]


class RegelsaetHoved(TypedDict):
    navn: str
    version: str
    gyldig_fra: str
    sha256: str
    kommune: NotRequired[str]
    kommune_sha256: NotRequired[str]


class Tilbud(TypedDict):
    id: str
    navn: str
    kategori: str
    indgrebsniveau: int


class Rettighed(TypedDict):
    id: str
    navn: str
    indhold: str
    lovgrundlag: Lovgrundlag
    spor: str
    opfyldt: bool


class Anbefaling(TypedDict):
    spor: str
    tilbud: Tilbud
    lovgrundlag: list[Lovgrundlag]
    begrundelse: str
    rettigheder: NotRequired[list[Rettighed]]


class Forudsaetning(TypedDict):
    spor: str
    tilbud: Tilbud
    lovgrundlag: list[Lovgrundlag]
    begrundelse: str


class Frist(TypedDict):
    type: str
    dato: str
    lovgrundlag: Lovgrundlag
    beskrivelse: str
    regnet_fra: str
    regel: NotRequired[str]


class Betingelse(TypedDict):
    felt: str
    operator: str
    forventet: Any
    faktisk: Any
    opfyldt: bool
    dele: NotRequired[list["Betingelse"]]
    personkreds: NotRequired[str]


class Blok(TypedDict):
    """A rule, right or precondition as the trace names it."""

    id: str
    art: str
    lag: str
    kilde: str
    beskrivelse: str
    lovkilde: dict[str, Any]
    gyldig_fra: str
    spor: NotRequired[Optional[str]]
    navn: NotRequired[str]
    konklusion: NotRequired[dict[str, Any]]


class ForklaretRegel(Blok):
    betingelser: list[Betingelse]
    anvendt: bool
    ikke_anvendt_fordi: NotRequired[str]
    ikke_anvendt: NotRequired[dict[str, Any]]


class TilbudIForklaring(TypedDict):
    id: str
    navn: str
    kategori: str
    indgrebsniveau: int
    lag: str
    kilde: str


class Vurdering(TilbudIForklaring):
    verdikt: str
    grund: str
    betingelser: NotRequired[list[Betingelse]]
    udelukket_af: NotRequired[str]
    behovsniveau: int
    daekker_op_til: int
    foretrukket: NotRequired[str]


class SporForklaring(TypedDict):
    spor: str
    behovsniveau: int
    behov_fastsat_af: list[str]
    valgt: Optional[str]
    tilbud: list[Vurdering]
    lovgrundlag: list[Lovgrundlag]
    rettigheder: list[str]
    ingen_alternativ: NotRequired[str]


class Fravalgt(TypedDict):
    spor: str
    tilbud: str
    grund: str
    retning: str
    verdikt: str
    betingelser: NotRequired[list[Betingelse]]


class Notat(TypedDict):
    art: str
    kode: str
    tekst: str
    regel: NotRequired[str]
    regel_art: NotRequired[str]
    kildetekst: NotRequired[str]
    lovgrundlag: NotRequired[Lovgrundlag]
    spor: NotRequired[str]
    tilbud: NotRequired[TilbudIForklaring]
    andet_tilbud: NotRequired[TilbudIForklaring]
    vurdering: NotRequired[Vurdering]
    frist: NotRequired[int]
    behovsniveau: NotRequired[int]


class ForklaretRettighed(Blok):
    indhold: str
    lovgrundlag: Lovgrundlag
    opfyldt: bool


class ForklaretForudsaetning(Blok):
    tilbud: TilbudIForklaring
    lovgrundlag: list[Lovgrundlag]
    betingelser: list[Betingelse]


class Forklaring(TypedDict):
    regler: list[ForklaretRegel]
    fravalgt: list[Fravalgt]
    spor: list[SporForklaring]
    rettigheder: list[ForklaretRettighed]
    forudsaetninger: list[ForklaretForudsaetning]
    noter: list[Notat]
    fakta: dict[str, Any]
    rusmidler: list[dict[str, str]]
    datoer: dict[str, str]
    princip: NotRequired[Optional[str]]
    kerne: str
    kerner: list[str]
    tekst: str


class VurderingsSvar(TypedDict):
    """The response body of POST /v1/vurderinger (API.md, extended)."""

    id: NotRequired[str]
    oprettet: NotRequired[str]
    regelsaet: RegelsaetHoved
    anbefalinger: list[Anbefaling]
    lovgrundlag: list[Lovgrundlag]
    frister: list[Frist]
    advarsler: list[str]
    oplysninger: list[str]
    forudsaetninger: list[Forudsaetning]
    rettigheder: list[Rettighed]
    forklaring: Forklaring


# --------------------------------------------------------------------------- rendering


def legal(ref: LegalRef) -> Lovgrundlag:
    out: Lovgrundlag = {"lov": ref.lov, "paragraf": ref.paragraf, "stk": ref.stk, "bestemmelse": ref.bestemmelse}
    if ref.nr:
        out["nr"] = ref.nr
    if ref.kapitel:
        out["kapitel"] = ref.kapitel
    if ref.sikkerhed != "verificeret":
        out["sikkerhed"] = ref.sikkerhed
    return out


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def condition(c: ConditionResult) -> Betingelse:
    out: Betingelse = {"felt": c.felt, "operator": c.operator, "forventet": _plain(c.forventet), "faktisk": c.faktisk, "opfyldt": c.opfyldt}
    if c.dele:
        out["dele"] = [condition(p) for p in c.dele]
    if c.personkreds:
        out["personkreds"] = c.personkreds
    return out


def _offer(o: OfferRef) -> TilbudIForklaring:
    return {"id": o.id, "navn": o.navn, "kategori": o.kategori, "indgrebsniveau": o.niveau, "lag": o.lag, "kilde": str(o.position)}


def _block(r: RuleRef) -> Blok:
    out: Blok = {"id": r.id, "art": r.kind, "lag": r.lag, "kilde": str(r.position), "beskrivelse": r.beskrivelse,
                 "lovkilde": r.kilde.to_canonical(), "gyldig_fra": r.gyldig_fra.isoformat(), "spor": r.spor}
    if r.navn is not None:
        out["navn"] = r.navn
    if r.konklusion:
        out["konklusion"] = dict(r.konklusion)
    return out


def _verdict(v: OfferVerdict) -> Vurdering:
    out: Vurdering = {**_offer(v.offer), "verdikt": v.verdikt.value, "grund": verdict_text(v), "behovsniveau": v.need,
                      "daekker_op_til": v.daekker_op_til}
    if v.failed:
        out["betingelser"] = [condition(c) for c in v.failed]
    if v.excluded_by is not None:
        out["udelukket_af"] = v.excluded_by.id
    if v.preferred is not None:
        out["foretrukket"] = v.preferred.id
    return out


def _right(r: RightOutcome) -> Rettighed:
    return {"id": r.ref.id, "navn": r.navn, "indhold": r.indhold, "lovgrundlag": legal(r.citation), "spor": r.spor, "opfyldt": r.opfyldt}


def _note(n: Note, deadlines: tuple[Deadline, ...]) -> Notat:
    out: Notat = {"art": n.art, "kode": n.kode.value, "tekst": note_text(n)}
    if n.kilde is not None:
        out["regel"], out["regel_art"] = n.kilde.id, n.kilde.kind
    if n.tekst is not None:
        out["kildetekst"] = n.tekst
    if n.citation is not None:
        out["lovgrundlag"] = legal(n.citation)
    if n.spor is not None:
        out["spor"] = n.spor
    if n.offer is not None:
        out["tilbud"] = _offer(n.offer)
    if n.other is not None:
        out["andet_tilbud"] = _offer(n.other)
    if n.verdict is not None:
        out["vurdering"] = _verdict(n.verdict)
    if n.deadline is not None:
        out["frist"] = deadlines.index(n.deadline)
    if n.need:
        out["behovsniveau"] = n.need
    return out


def _rule(a: RuleApplication) -> ForklaretRegel:
    out: ForklaretRegel = {**_block(a.rule), "betingelser": [condition(c) for c in a.conditions], "anvendt": a.applied}
    if a.not_applied is not None:
        out["ikke_anvendt_fordi"] = not_applied_text(a) or ""
        out["ikke_anvendt"] = {"aarsag": a.not_applied.value, "kraever": list(a.wanted), "anbefalet": list(a.got)}
    return out


def _track(t: TrackDecision) -> SporForklaring:
    out: SporForklaring = {"spor": t.spor, "behovsniveau": t.need, "behov_fastsat_af": [r.id for r in t.need_set_by],
                           "valgt": t.chosen.id if t.chosen else None, "tilbud": [_verdict(v) for v in t.verdicts],
                           "lovgrundlag": [legal(r) for r in t.lovgrundlag], "rettigheder": [r.ref.id for r in t.rights]}
    if t.no_alternative is not None:
        out["ingen_alternativ"] = t.no_alternative.id
    return out


def _fravalgt(t: TrackDecision) -> list[Fravalgt]:
    out: list[Fravalgt] = []
    chosen_seen = False
    for v in t.verdicts:
        if v.verdikt is Verdict.VALGT:
            chosen_seen = True
            continue
        entry: Fravalgt = {"spor": t.spor, "tilbud": v.offer.id, "grund": verdict_text(v),
                           "retning": "mere_indgribende" if chosen_seen or v.verdikt is Verdict.FOR_INDGRIBENDE else "mindre_indgribende",
                           "verdikt": v.verdikt.value}
        if v.failed:
            entry["betingelser"] = [condition(c) for c in v.failed]
        out.append(entry)
    return out


def _tilbud(o: OfferRef) -> Tilbud:
    return {"id": o.id, "navn": o.navn, "kategori": o.kategori, "indgrebsniveau": o.niveau}


def to_api(decision: Decision, tekst: str) -> VurderingsSvar:
    """The response body (without id and oprettet)."""
    d = decision
    header: RegelsaetHoved = {"navn": d.version.navn, "version": d.version.version, "gyldig_fra": d.version.gyldig_fra.isoformat(),
                              "sha256": d.version.sha256}
    if d.version.kommune:
        header["kommune"] = d.version.kommune
    if d.version.kommune_sha256:
        header["kommune_sha256"] = d.version.kommune_sha256
    anbefalinger: list[Anbefaling] = []
    for t in d.tracks:
        if t.chosen is not None:
            entry: Anbefaling = {"spor": t.spor, "tilbud": _tilbud(t.chosen), "lovgrundlag": [legal(r) for r in t.lovgrundlag],
                                 "begrundelse": recommendation_reason(t.need, t.need_set_by, t.chosen.navn)}
            if t.rights:
                entry["rettigheder"] = [_right(r) for r in t.rights]
            anbefalinger.append(entry)
    forudsaetninger: list[Forudsaetning] = [
        {"spor": p.spor, "tilbud": _tilbud(p.offer), "lovgrundlag": [legal(r) for r in p.lovgrundlag],
         "begrundelse": f"{p.ref.beskrivelse.rstrip('.')}. Lægges ved siden af behandlingen, ikke i stedet for den."}
        for p in d.preconditions]
    fravalgt = [f for t in d.tracks for f in _fravalgt(t)]
    return {
        "regelsaet": header,
        "anbefalinger": anbefalinger,
        "lovgrundlag": [legal(r) for r in d.lovgrundlag()],
        "frister": [{"type": x.type, "dato": x.dato.isoformat(), "lovgrundlag": legal(x.citation), "beskrivelse": x.beskrivelse,
                     "regnet_fra": x.regnet_fra.isoformat(), "regel": x.rule.id} for x in d.deadlines],
        "advarsler": list(dict.fromkeys(note_text(n) for n in d.notes if n.art == "advarsel")),
        "oplysninger": list(dict.fromkeys(note_text(n) for n in d.notes if n.art == "oplysning")),
        "forudsaetninger": forudsaetninger,
        "rettigheder": [_right(r) for r in d.rights],
        "forklaring": {
            "regler": [_rule(a) for a in d.rules],
            "fravalgt": fravalgt,
            "spor": [_track(t) for t in d.tracks],
            "rettigheder": [{**_block(r.ref), "indhold": r.indhold, "lovgrundlag": legal(r.citation), "opfyldt": r.opfyldt}
                            for r in d.rights],
            "forudsaetninger": [{**_block(p.ref), "tilbud": _offer(p.offer), "lovgrundlag": [legal(r) for r in p.lovgrundlag],
                                 "betingelser": [condition(c) for c in p.conditions]} for p in d.preconditions],
            "noter": [_note(n, d.deadlines) for n in d.notes],
            "fakta": dict(d.fact),
            "rusmidler": [{"stof": s, "grad": g} for s, g in d.rusmidler],
            "datoer": {"henvendelsesdato": d.henvendelsesdato.isoformat(), "vurderingsdato": d.vurderingsdato.isoformat()},
            "princip": d.version.princip,
            "kerne": d.cores[0] if d.cores else "",
            "kerner": list(d.cores),
            "tekst": tekst,
        },
    }


# --------------------------------------------------------------------------- parsing back


def _tuple(value: Any) -> Any:
    return tuple(_tuple(v) for v in value) if isinstance(value, list) else value


def legal_back(d: dict[str, Any]) -> LegalRef:
    return LegalRef(d["lov"], d.get("paragraf"), d.get("stk"), d.get("nr"), d.get("kapitel"), d.get("bestemmelse"),
                    d.get("sikkerhed", "verificeret"))


def condition_back(d: dict[str, Any]) -> ConditionResult:
    return ConditionResult(d["felt"], d["operator"], _tuple(d["forventet"]), d["faktisk"], d["opfyldt"],
                           tuple(condition_back(p) for p in d.get("dele", ())), d.get("personkreds"))


def _offer_back(d: dict[str, Any]) -> OfferRef:
    return OfferRef(d["id"], d["navn"], d["kategori"], d["indgrebsniveau"], d["lag"], Position.parse(d["kilde"]))


def _block_back(d: dict[str, Any]) -> RuleRef:
    k = d["lovkilde"]
    return RuleRef(d["id"], d.get("art", "regel"), d["lag"], Position.parse(d["kilde"]), d["beskrivelse"],
                   Source(k.get("bestemmelse"), k.get("dokument"), k.get("url"), k.get("sikkerhed", "verificeret")),
                   date.fromisoformat(d["gyldig_fra"]), d.get("spor"), d.get("navn"), dict(d.get("konklusion") or {}))


class _Refs:
    def __init__(self, forklaring: dict[str, Any]):
        self.blocks: dict[tuple[str, str], RuleRef] = {}
        for section in ("regler", "rettigheder", "forudsaetninger"):
            for d in forklaring.get(section, []):
                ref = _block_back(d)
                self.blocks[(ref.kind, ref.id)] = ref
        self.offers: dict[tuple[str, str], OfferRef] = {}
        for t in forklaring.get("spor", []):
            for v in t["tilbud"]:
                self.offers[(t["spor"], v["id"])] = _offer_back(v)

    def rule(self, rule_id: str, kind: str = "regel") -> RuleRef:
        return self.blocks[(kind, rule_id)]


def _verdict_back(v: dict[str, Any], spor: str, refs: _Refs) -> OfferVerdict:
    return OfferVerdict(_offer_back(v), Verdict(v["verdikt"]), tuple(condition_back(c) for c in v.get("betingelser", ())),
                        refs.rule(v["udelukket_af"]) if "udelukket_af" in v else None, v["behovsniveau"], v["daekker_op_til"],
                        refs.offers[(spor, v["foretrukket"])] if "foretrukket" in v else None)


def _right_back(d: dict[str, Any], refs: _Refs) -> RightOutcome:
    return RightOutcome(refs.rule(d["id"], "rettighed"), d["navn"], d["indhold"], legal_back(d["lovgrundlag"]), d["spor"], d["opfyldt"])


def _note_back(n: dict[str, Any], refs: _Refs, deadlines: tuple[Deadline, ...]) -> Note:
    spor = n.get("spor")
    return Note(
        n["art"], NoteCode(n["kode"]), refs.rule(n["regel"], n.get("regel_art", "regel")) if "regel" in n else None,
        n.get("kildetekst"), legal_back(n["lovgrundlag"]) if "lovgrundlag" in n else None, spor,
        _offer_back(n["tilbud"]) if "tilbud" in n else None, _offer_back(n["andet_tilbud"]) if "andet_tilbud" in n else None,
        _verdict_back(n["vurdering"], spor or "", refs) if "vurdering" in n else None,
        deadlines[n["frist"]] if "frist" in n else None, n.get("behovsniveau", 0),
    )


def from_api(body: dict[str, Any]) -> Decision:
    """Rebuild the typed decision from a response body made by this engine."""
    f = body["forklaring"]
    refs = _Refs(f)
    h = body["regelsaet"]
    version = VersionRef(h["navn"], h["version"], date.fromisoformat(h["gyldig_fra"]), h["sha256"], h.get("kommune"), f.get("princip"),
                         h.get("kommune_sha256"))
    rights = tuple(_right_back(d, refs) for d in body.get("rettigheder", []))
    by_right = {r.ref.id: r for r in rights}
    tracks = []
    for t in f["spor"]:
        spor = t["spor"]
        tracks.append(TrackDecision(
            spor, t["behovsniveau"], tuple(refs.rule(i) for i in t["behov_fastsat_af"]),
            refs.offers[(spor, t["valgt"])] if t["valgt"] else None,
            tuple(_verdict_back(v, spor, refs) for v in t["tilbud"]), tuple(legal_back(x) for x in t["lovgrundlag"]),
            tuple(by_right[i] for i in t["rettigheder"]),
            refs.rule(t["ingen_alternativ"]) if "ingen_alternativ" in t else None))
    rules = tuple(RuleApplication(
        refs.rule(r["id"]), tuple(condition_back(c) for c in r["betingelser"]), r["anvendt"],
        NotApplied(r["ikke_anvendt"]["aarsag"]) if "ikke_anvendt" in r else None,
        tuple(r["ikke_anvendt"]["kraever"]) if "ikke_anvendt" in r else (),
        tuple(r["ikke_anvendt"]["anbefalet"]) if "ikke_anvendt" in r else ()) for r in f["regler"])
    deadlines = tuple(Deadline(x["type"], date.fromisoformat(x["dato"]), date.fromisoformat(x["regnet_fra"]), legal_back(x["lovgrundlag"]),
                               x["beskrivelse"], refs.rule(x["regel"])) for x in body["frister"])
    preconditions = tuple(PreconditionOutcome(
        refs.rule(p["id"], "forudsaetning"), _offer_back(p["tilbud"]), p["spor"], tuple(legal_back(x) for x in p["lovgrundlag"]),
        tuple(condition_back(c) for c in p["betingelser"])) for p in f["forudsaetninger"])
    return Decision(
        version, dict(f["fakta"]), tuple((r["stof"], r["grad"]) for r in f["rusmidler"]),
        date.fromisoformat(f["datoer"]["henvendelsesdato"]), date.fromisoformat(f["datoer"]["vurderingsdato"]),
        tuple(tracks), rules, deadlines, tuple(_note_back(n, refs, deadlines) for n in f["noter"]), preconditions, rights,
        tuple(f.get("kerner", [])),
    )


__all__ = ["VurderingsSvar", "to_api", "from_api", "legal", "condition", "condition_text"]
