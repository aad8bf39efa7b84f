"""/v1/vurderinger: evaluate a screening, read it back, record the caseworker's
decision (afgørelse), replay it, list and export decisions."""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any, Iterator, Literal, Optional

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse
from typing_extensions import TypedDict

from engine import ScreeningInvalid
from engine.api import VurderingsSvar
from engine.model import KATEGORI_SPOR, SPOR_ORDER
from engine.screening import looks_like_cpr
from service.afgoerelser import Afgoerelse, AfgoerelseIn, afgoerelse_api, parse_afgoerelse
from service.api.common import IsoDate, dumps, json_response, problems, purpose, services
from service.auth import REVISOR, VISITATOR, Actor, require
from service.problems import ProblemException

router = APIRouter(tags=["vurderinger"])
Kategori: Any = Literal[tuple(KATEGORI_SPOR)]
Spor: Any = Literal[tuple(SPOR_ORDER)]
MAX_OFFSET = 10**9


class AnbefalingKort(TypedDict):
    spor: str
    tilbud: str
    kategori: str


class Sletning(TypedDict):
    """The sletning event that removed a decision's content under the retention rules."""

    seq: int
    tidspunkt: str
    begrundelse: str
    foer: Optional[str]


class VurderingKort(TypedDict):
    seq: int
    id: str
    oprettet: str
    regelsaet: dict[str, str]
    henvendelsesdato: str
    vurderingsdato: str
    anbefalinger: list[AnbefalingKort]
    href: str
    slettet: Optional[Sletning]


class VurderingListe(TypedDict):
    total: int
    limit: int
    offset: int
    naeste_offset: Optional[int]
    vurderinger: list[VurderingKort]


class Forskel(TypedDict):
    sti: str
    hvad: str
    spor: Optional[str]
    foer: Optional[str]
    nu: Optional[str]
    tekst: str


class Genberegning(TypedDict):
    id: str
    identisk: bool
    original: dict[str, Any]
    nu: dict[str, Any]
    regelsaet_original: dict[str, Any]
    regelsaet_nu: dict[str, Any]
    samme_version: bool
    forskelle: list[Forskel]
    forskelle_original: list[Forskel]


def _filters(state: Any, actor: Actor, fra: Optional[date], til: Optional[date], version: Optional[str], kategori: Optional[str],
             spor: Optional[str], borger_reference: Optional[str]) -> Any:
    from service.log import Filters

    if borger_reference is not None and looks_like_cpr(borger_reference):
        raise ProblemException(422, "Søgningen er ugyldig.", slug="valideringsfejl",
                               fejl=[{"felt": "borger_reference", "besked": "ligner et CPR-nummer; brug en sagsreference uden personnummer"}])
    if fra is not None and til is not None and til < fra:
        raise ProblemException(422, "Søgningen er ugyldig.", slug="valideringsfejl", fejl=[{"felt": "til", "besked": "ligger før 'fra'"}])
    hmac_value = state.decisions.reference_hmac(borger_reference) if borger_reference is not None else None
    return Filters(fra=fra, til=til, version=version, kategori=kategori, spor=spor, borger_reference_hmac=hmac_value)


def listing_row(row: Any) -> VurderingKort:
    return {
        "seq": row.seq, "id": row.id, "oprettet": row.oprettet,
        "regelsaet": {"navn": row.regelsaet_navn, "version": row.regelsaet_version, "gyldig_fra": row.regelsaet_version,
                      "sha256": row.regelsaet_sha256},
        "henvendelsesdato": row.henvendelsesdato, "vurderingsdato": row.vurderingsdato,
        "anbefalinger": [{"spor": s, "tilbud": t, "kategori": k} for s, k, t in row.anbefalinger],
        "href": f"/v1/vurderinger/{row.id}",
        "slettet": deletion_body(row.slettet),
    }


def deletion_body(deletion: Any) -> Optional[Sletning]:
    if deletion is None:
        return None
    return {"seq": deletion.event_seq, "tidspunkt": deletion.oprettet, "begrundelse": deletion.begrundelse, "foer": deletion.foer}


def _read_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, bad UTF-8, an integer of 4,301+ digits, deep nesting
        where = f" (linje {error.lineno}, kolonne {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise ProblemException(400, "Kroppen er ikke gyldig JSON" + where + ".", slug="ugyldig-json",
                               fejl=[{"felt": "(hele forespørgslen)", "besked": "ugyldig JSON" + where}]) from None


@router.post(
    "/v1/vurderinger", status_code=201, summary="Vurder en screening (rolle: visitator)", response_class=Response,
    responses={201: {"model": VurderingsSvar, "description": "Vurderingen er gemt i loggen",
                     "headers": {"Location": {"description": "/v1/vurderinger/{id}", "schema": {"type": "string"}}}},
               **problems(400, 401, 403, 408, 413, 422, 500, 503)},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Screening"}}}}},
)
async def opret_vurdering(request: Request, actor: Actor = Depends(require(VISITATOR))) -> Response:
    data = _read_json(await request.body())
    try:
        prepared = await services(request).decisions.decide(actor, data)
    except ScreeningInvalid as error:
        raise ProblemException(422, "Screeningen indeholder ugyldige oplysninger.", slug="valideringsfejl",
                               fejl=[p.model_dump() for p in error.problems]) from None
    return Response(prepared.record.svar.encode("utf-8"), status_code=201, media_type="application/json",
                    headers={"Location": f"/v1/vurderinger/{prepared.record.id}"})


@router.get("/v1/vurderinger", response_model=VurderingListe, tags=["revision"], summary="Liste over vurderinger, nyeste først (rolle: revisor)",
            responses=problems(401, 403, 422, 500, 503))
def list_vurderinger(
    request: Request,
    fra: Optional[IsoDate] = Query(None, description="Oprettet på eller efter denne dato (UTC)"),
    til: Optional[IsoDate] = Query(None, description="Oprettet på eller før denne dato (UTC)"),
    version: Optional[str] = Query(None, max_length=64, description="Regelsættets version (gyldig_fra) eller sha256"),
    kategori: Optional[Kategori] = Query(None, description="En anbefalet kategori"),
    spor: Optional[Spor] = Query(None, description="Et spor med en anbefaling"),
    borger_reference: Optional[str] = Query(None, max_length=200, description="Sagsreference (sammenlignes via dens nøglede hash)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    actor: Actor = Depends(require(REVISOR)),
) -> Response:
    state = services(request)
    filters = _filters(state, actor, fra, til, version, kategori, spor, borger_reference)
    total, rows = state.store.list_decisions(actor.kommune, filters, limit, offset)
    state.decisions.listed(actor, rows, purpose(request))  # each row says what was recommended for a citizen
    nxt = offset + len(rows) if offset + len(rows) < total else None
    body: VurderingListe = {"total": total, "limit": limit, "offset": offset, "naeste_offset": nxt,
                            "vurderinger": [listing_row(r) for r in rows]}
    return json_response(body)


EXPORT_BATCH = 200


def export_lines(state: Any, actor: Actor, filters: Any, fmt: str, formaal: str) -> Iterator[bytes]:
    """Every matching decision as NDJSON lines or CSV rows. Each batch of decisions is written to the
    access log before its lines are sent, so nothing leaves without its record (a client that stops
    reading leaves at most one batch recorded but unsent). A failure half way ends the body with a
    line that says so (never a silently cut 200)."""
    writer_buffer = io.StringIO()
    writer = csv.writer(writer_buffer)
    if fmt == "csv":
        writer.writerow(["seq", "id", "oprettet", "regelsaet_version", "regelsaet_sha256", "henvendelsesdato", "vurderingsdato", "anbefalinger"])
        yield writer_buffer.getvalue().encode("utf-8")
    batch: list[Any] = []

    def lines(records: list[Any]) -> Iterator[bytes]:
        state.store.record_access(actor.kommune, actor.token_id, actor.rolle, formaal, [r.id for r in records])
        for r in records:
            if fmt == "csv":
                writer_buffer.seek(0)
                writer_buffer.truncate()
                writer.writerow([r.seq, r.id, r.oprettet, r.regelsaet_version, r.regelsaet_sha256, r.henvendelsesdato, r.vurderingsdato,
                                 "; ".join(f"{s}: {t}" for s, _, t in r.anbefalinger)])
                yield writer_buffer.getvalue().encode("utf-8")
            else:
                yield (dumps({"seq": r.seq, "id": r.id, "oprettet": r.oprettet,
                              "regelsaet": {"navn": r.regelsaet_navn, "version": r.regelsaet_version, "sha256": r.regelsaet_sha256},
                              "borger_reference_hmac": r.borger_reference_hmac,
                              "screening": json.loads(r.screening) if r.screening else None,
                              "svar": json.loads(r.svar) if r.svar else None, "slettet": r.slettet is not None,
                              "sletning": deletion_body(r.slettet)}) + "\n").encode("utf-8")

    try:
        for r in state.store.iter_decisions(actor.kommune, filters):
            batch.append(r)
            if len(batch) >= EXPORT_BATCH:
                yield from lines(batch)
                batch = []
        if batch:
            yield from lines(batch)
    except Exception:
        yield ("\n# EKSPORTEN BLEV AFBRUDT: filen er ufuldstændig\n" if fmt == "csv" else
               dumps({"fejl": "eksporten blev afbrudt; filen er ufuldstændig"}) + "\n").encode("utf-8")
        raise


@router.get("/v1/vurderinger/eksport", tags=["revision"], response_class=StreamingResponse,
            summary="Alle vurderinger som JSON lines (standard) eller CSV (rolle: revisor)",
            responses={200: {"description": "Én post pr. linje", "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                                                               "text/csv": {"schema": {"type": "string"}}}},
                       **problems(401, 403, 422, 500, 503)})
def eksport(
    request: Request,
    fra: Optional[IsoDate] = Query(None), til: Optional[IsoDate] = Query(None), version: Optional[str] = Query(None, max_length=64),
    kategori: Optional[Kategori] = Query(None), spor: Optional[Spor] = Query(None),
    borger_reference: Optional[str] = Query(None, max_length=200),
    format: Literal["ndjson", "csv"] = Query("ndjson", description="ndjson (JSON lines) eller csv"),
    actor: Actor = Depends(require(REVISOR)),
) -> StreamingResponse:
    state = services(request)
    filters = _filters(state, actor, fra, til, version, kategori, spor, borger_reference)
    state.store.ping()  # a 503 now rather than a stream that breaks off after its headers
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(export_lines(state, actor, filters, format, purpose(request)), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="vurderinger.{"csv" if format == "csv" else "ndjson"}"'})


def _with_afgoerelser(svar: str, afgoerelser: list[Afgoerelse]) -> bytes:
    """The stored bytes exactly, with the caseworker's afgørelser appended as one more field."""
    if not afgoerelser:
        return svar.encode("utf-8")
    return (svar.rstrip()[:-1] + ',"afgoerelser":' + dumps(afgoerelser) + "}").encode("utf-8")


@router.get("/v1/vurderinger/{id}", summary="Den gemte vurdering, præcis som den blev returneret, med sagsbehandlerens afgørelser "
            "(rolle: visitator, revisor)", response_class=Response,
            responses={200: {"model": VurderingsSvar, "description": "Byte for byte det oprindelige svar (plus 'afgoerelser', når der er nogen)"},
                       **problems(401, 403, 404, 410, 500, 503)})
def hent_vurdering(request: Request, id: str, actor: Actor = Depends(require(VISITATOR, REVISOR))) -> Response:
    state = services(request)
    record = state.decisions.stored(actor, id, purpose(request))
    return Response(_with_afgoerelser(record.svar, [afgoerelse_api(a) for a in state.afgoerelser.list(actor, id)]), media_type="application/json")


@router.post("/v1/vurderinger/{id}/afgoerelse", status_code=201, response_model=Afgoerelse,
             summary="Registrér sagsbehandlerens afgørelse for en vurdering (rolle: visitator)",
             responses={201: {"description": "Afgørelsen er føjet til loggen",
                              "headers": {"Location": {"description": "/v1/vurderinger/{id}/afgoerelser/{afgoerelse_id}", "schema": {"type": "string"}}}},
                        **problems(400, 401, 403, 404, 410, 422, 500, 503)})
async def afgoerelse(request: Request, id: str, body: AfgoerelseIn, actor: Actor = Depends(require(VISITATOR))) -> Response:
    state = services(request)
    saved = state.afgoerelser.record(actor, id, parse_afgoerelse(body), purpose(request))
    return json_response(afgoerelse_api(saved), 201, headers={"Location": f"/v1/vurderinger/{id}/afgoerelser/{saved.id}"})


@router.get("/v1/vurderinger/{id}/afgoerelser/{afgoerelse_id}", response_model=Afgoerelse, summary="Én afgørelse (rolle: visitator, revisor)",
            responses=problems(401, 403, 404, 410, 500, 503))
def hent_afgoerelse(request: Request, id: str, afgoerelse_id: str, actor: Actor = Depends(require(VISITATOR, REVISOR))) -> Response:
    state = services(request)
    state.decisions.stored(actor, id, purpose(request))
    found = next((a for a in state.afgoerelser.list(actor, id) if a.id == afgoerelse_id), None)
    if found is None:
        raise ProblemException(404, "Der findes ingen afgørelse med det id.", slug="ikke-fundet")
    return json_response(afgoerelse_api(found))


@router.post("/v1/vurderinger/{id}/genberegn", tags=["revision"], response_model=Genberegning,
             summary="Genberegn under den oprindelige og den gældende version (rolle: revisor)", responses=problems(401, 403, 404, 409, 410, 500, 503))
def genberegn(request: Request, id: str, actor: Actor = Depends(require(REVISOR))) -> Response:
    replay = services(request).decisions.replay(actor, id, purpose(request))
    body: Genberegning = {
        "id": id, "identisk": replay.identisk, "original": replay.original_body, "nu": replay.nu_body,
        "regelsaet_original": replay.original_body["regelsaet"], "regelsaet_nu": replay.nu_body["regelsaet"],
        "samme_version": replay.samme_version, "forskelle": [d.to_api() for d in replay.forskelle],
        "forskelle_original": [],
    }
    return json_response(body)
