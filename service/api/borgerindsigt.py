"""GET /v1/borgerindsigt: the citizen's right of access (GDPR art. 15) for one borger_reference.

The reference is hashed with the service's HMAC key and compared with the stored HMACs (it is never
stored or logged in clear; a CPR-like reference is refused with 422 and never echoed). The answer is
every decision, afgørelse and access record for that reference, including what was removed under the
retention rules and when - as JSON, or as a readable, printable Danish document (`Accept: text/html`
or `?format=html`; the same document the page /revision/borgerindsigt shows). The request itself is
recorded in the access log before anything is read, so the answer lists it too."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response
from typing_extensions import TypedDict

from engine.screening import looks_like_cpr
from engine.wording import SPOR_NAVN, dansk_dato, dansk_tid
from service.api.adgangslog import Adgang, access_row, formaal_tekst
from service.api.common import json_response, offer_names, problems, purpose, services
from service.api.journal import UDFALD_TEKST, citizen_facts
from service.api.vurderinger import AnbefalingKort, Sletning, deletion_body
from service.auth import REVISOR, ROLE_TEXT, Actor, require
from service.problems import ProblemException

router = APIRouter(tags=["revision"])
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
CSS = Path(__file__).resolve().parent.parent / "web" / "static" / "indsigt.css"
MAX_REFERENCE = 200


# --------------------------------------------------------------------------- JSON


class IndsigtAfgoerelse(TypedDict):
    id: str
    seq: int
    oprettet: str
    dato: str
    udfald: str
    tilbud: dict[str, str]
    begrundelse: Optional[str]
    slettet: Optional[Sletning]


class IndsigtVurdering(TypedDict):
    id: str
    seq: int
    oprettet: str
    henvendelsesdato: str
    vurderingsdato: str
    regelsaet: dict[str, str]
    anbefalinger: list[AnbefalingKort]
    screening: Optional[dict[str, Any]]
    svar: Optional[dict[str, Any]]
    slettet: Optional[Sletning]
    afgoerelser: list[IndsigtAfgoerelse]


class Opbevaring(TypedDict):
    aar_efter_sidste_afgoerelse: int
    grundlag: str


class Borgerindsigt(TypedDict):
    kommune: str
    udtrukket: str
    antal_vurderinger: int
    antal_afgoerelser: int
    antal_slettede: int
    antal_adgange: int
    opbevaring: Optional[Opbevaring]
    vurderinger: list[IndsigtVurdering]
    adgange: list[Adgang]


def reference_problem(reference: str) -> Optional[str]:
    """Why a borger_reference cannot be used (never repeating it), or None."""
    if not reference.strip():
        return "angiv sagsreferencen"
    if len(reference) > MAX_REFERENCE:
        return f"højst {MAX_REFERENCE} tegn"
    if looks_like_cpr(reference):
        return "ligner et CPR-nummer; brug en sagsreference uden personnummer"
    return None


def _loads(text: Optional[str]) -> Optional[dict[str, Any]]:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _retention(state: Any, kommune: str) -> Any:
    config = getattr(state, "opbevaring", None)
    return config.get(kommune) if config is not None else None


def citizen_json(state: Any, actor: Actor, index: Any, now: str) -> Borgerindsigt:
    decisions: list[IndsigtVurdering] = []
    for d in index.vurderinger:
        decisions.append({
            "id": d.id, "seq": d.seq, "oprettet": d.oprettet, "henvendelsesdato": d.henvendelsesdato, "vurderingsdato": d.vurderingsdato,
            "regelsaet": {"navn": d.regelsaet_navn, "version": d.regelsaet_version, "sha256": d.regelsaet_sha256},
            "anbefalinger": [{"spor": s, "tilbud": t, "kategori": k} for s, k, t in d.anbefalinger],
            "screening": _loads(d.screening), "svar": _loads(d.svar), "slettet": deletion_body(d.slettet),
            "afgoerelser": [{"id": a.id, "seq": a.seq, "oprettet": a.oprettet, "dato": a.dato, "udfald": a.udfald, "tilbud": dict(a.tilbud),
                             "begrundelse": a.begrundelse, "slettet": deletion_body(a.slettet)} for a in d.afgoerelser],
        })
    retention = _retention(state, actor.kommune)
    return {
        "kommune": actor.kommune, "udtrukket": now, "antal_vurderinger": len(decisions),
        "antal_afgoerelser": sum(len(d["afgoerelser"]) for d in decisions),
        "antal_slettede": sum(1 for d in index.vurderinger if d.slettet is not None),
        "antal_adgange": len(index.adgange),
        "opbevaring": {"aar_efter_sidste_afgoerelse": retention.aar, "grundlag": retention.grundlag} if retention else None,
        "vurderinger": decisions,
        "adgange": [access_row(e) for e in sorted(index.adgange, key=lambda e: e.seq, reverse=True)],
    }


# --------------------------------------------------------------------------- the readable document


@dataclass(frozen=True)
class DocAfgoerelse:
    dato: str
    udfald: str
    tilbud: tuple[str, ...]
    begrundelse: Optional[str]
    slettet: Optional[str]


@dataclass(frozen=True)
class DocVurdering:
    nr: int
    id: str
    gemt: str
    henvendelse: str
    vurderet: str
    regler: str
    anbefalinger: tuple[str, ...]
    fakta: Optional[str]
    forklaring: tuple[str, ...]
    afgoerelser: tuple[DocAfgoerelse, ...]
    slettet: Optional[str]


@dataclass(frozen=True)
class DocAdgang:
    tidspunkt: str
    rolle: str
    formaal: str
    vurderinger: tuple[int, ...]
    token_id: str


@dataclass(frozen=True)
class Dokument:
    """What the printable access document shows (service/web/templates/_borgerindsigt.html)."""

    kommune: str
    udtrukket: str
    reference: str
    vurderinger: tuple[DocVurdering, ...]
    adgange: tuple[DocAdgang, ...]
    antal_afgoerelser: int
    antal_slettede: int
    opbevaring: Optional[str]


def _date(text: str) -> str:
    try:
        return dansk_dato(date.fromisoformat(text[:10]))
    except ValueError:
        return text


def _removed_text(deletion: Any) -> str:
    why = f" Begrundelse: {deletion.begrundelse.rstrip('.')}." if deletion.begrundelse else ""
    return f"Indholdet blev slettet {dansk_tid(deletion.oprettet)} efter reglerne om opbevaring.{why}"


def _decision_text(state: Any, record: Any) -> tuple[Optional[str], tuple[str, ...]]:
    """The facts said to the citizen and the engine's explanation, from the stored response (if readable)."""
    if record.svar is None:
        return None, ()
    try:
        decision = state.decisions.decision(record)
    except (ValueError, KeyError, TypeError, AttributeError):
        decision = None
    if decision is None:
        return None, ()
    from engine.explain import narrative

    return citizen_facts(decision), tuple(line for line in narrative(decision).split("\n") if line.strip())


def citizen_document(state: Any, actor: Actor, index: Any, reference: str, now: str) -> Dokument:
    engine = state.engines.for_kommune(actor.kommune)
    names = offer_names(engine, {d.regelsaet_sha256 for d in index.vurderinger})
    seq_of = {d.id: d.seq for d in index.vurderinger}
    decisions = []
    for d in index.vurderinger:
        fakta, forklaring = _decision_text(state, d)
        afg = tuple(DocAfgoerelse(
            _date(a.dato), UDFALD_TEKST.get(a.udfald, a.udfald),
            tuple(f"{SPOR_NAVN.get(s, s)}: {names.get(t, t)}" for s, t in sorted(a.tilbud.items())),
            a.begrundelse, _removed_text(a.slettet) if a.slettet else None) for a in d.afgoerelser)
        decisions.append(DocVurdering(
            d.seq, d.id, dansk_tid(d.oprettet), _date(d.henvendelsesdato), _date(d.vurderingsdato),
            f"Regelsættets version fra {_date(d.regelsaet_version)}",
            tuple(f"{SPOR_NAVN.get(s, s)}: {names.get(t, t)}" for s, _, t in d.anbefalinger),
            fakta, forklaring, afg, _removed_text(d.slettet) if d.slettet else None))
    accesses = tuple(DocAdgang(dansk_tid(e.oprettet), ROLE_TEXT.get(e.rolle, e.rolle), formaal_tekst(e.formaal),
                               tuple(sorted(seq_of[i] for i in e.vurdering_ids if i in seq_of)), e.token_id or "–")
                     for e in sorted(index.adgange, key=lambda e: e.seq, reverse=True))
    retention = _retention(state, actor.kommune)
    versions = engine.versions()
    name = next((v.kommune for v in reversed(versions) if v.kommune), None) or actor.kommune.capitalize()
    return Dokument(name, dansk_tid(now), reference, tuple(decisions), accesses,
                    sum(len(d.afgoerelser) for d in decisions), sum(1 for d in decisions if d.slettet),
                    f"{retention.text()}. Grundlag: {retention.grundlag}" if retention else None)


def document_html(doc: Dokument) -> str:
    """The document as a whole HTML page with its stylesheet inlined (the API's answer)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from engine.wording import count

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.globals["antal"] = count
    return env.get_template("borgerindsigt_dokument.html").render(dok=doc, css=CSS.read_text(encoding="utf-8"))


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wants_html(request: Request, fmt: Optional[str]) -> bool:
    if fmt is not None:
        return fmt == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split("text/html")[0]


HTML_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@router.get("/v1/borgerindsigt", response_model=Borgerindsigt,
            summary="Alt, der er registreret om en sagsreference: vurderinger, afgørelser, sletninger og læsninger, som JSON eller "
                    "som læsbart dokument til udskrift (rolle: revisor)",
            responses={200: {"description": "Indsigten (JSON), eller dokumentet (HTML) ved Accept: text/html eller format=html",
                             "content": {"text/html": {"schema": {"type": "string"}}}},
                       **problems(401, 403, 422, 500, 503)})
def borgerindsigt(
    request: Request,
    borger_reference: str = Query(..., min_length=1, max_length=MAX_REFERENCE,
                                  description="Sagsreferencen (sammenlignes via dens nøglede hash; gemmes og logges aldrig)"),
    format: Optional[Literal["json", "html"]] = Query(None, description="json eller html (standard: efter Accept, ellers json)"),
    actor: Actor = Depends(require(REVISOR)),
) -> Response:
    problem = reference_problem(borger_reference)
    if problem is not None:
        raise ProblemException(422, "Sagsreferencen kan ikke bruges.", slug="valideringsfejl", fejl=[{"felt": "borger_reference", "besked": problem}])
    state = services(request)
    index = state.decisions.citizen(actor, borger_reference, purpose(request))
    now = utc_now()
    if wants_html(request, format):
        html = document_html(citizen_document(state, actor, index, borger_reference, now))
        return Response(html.encode("utf-8"), media_type="text/html; charset=utf-8", headers=HTML_HEADERS)
    return json_response(citizen_json(state, actor, index, now), headers={"Cache-Control": "no-store"})
