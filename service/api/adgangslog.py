"""GET /v1/adgangslog: who read which decision, when, in which role and for what (the route that read).

Every read of a decision's content is appended to the municipality's access log, a hash chain of its
own that is never redacted (see DecisionService.stored and README "Databeskyttelse"). Revisors list it
per decision, per token and per period, newest first."""
from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response
from typing_extensions import TypedDict

from service.api.common import IsoDate, json_response, problems, services
from service.auth import REVISOR, Actor, require
from service.problems import ProblemException

router = APIRouter(tags=["revision"])
MAX_OFFSET = 10**9
ID_PATTERN = r"^[!-~]+$"  # printable ASCII without spaces: every id the log writes

#: The purpose of each route that reads a decision, in Danish (the access log stores the route).
FORMAAL_TEKST = {
    "GET /v1/vurderinger/{id}": "læste vurderingen (API)",
    "GET /v1/vurderinger": "så vurderingen i en liste (API)",
    "GET /v1/vurderinger/eksport": "eksporterede vurderingen (API)",
    "POST /v1/vurderinger/{id}/genberegn": "genberegnede vurderingen (API)",
    "POST /v1/vurderinger/{id}/afgoerelse": "registrerede en afgørelse (API)",
    "GET /v1/vurderinger/{id}/afgoerelser/{afgoerelse_id}": "læste en afgørelse (API)",
    "GET /v1/vurderinger/{id}/journalnotat": "hentede journalnotatet (API)",
    "GET /v1/vurderinger/{id}/brev": "hentede udkastet til afgørelsesbrev (API)",
    "GET /v1/borgerindsigt": "besvarede en anmodning om indsigt (API)",
    "GET /vurdering/{id}": "så vurderingen (side)",
    "POST /vurdering/{id}/afgoerelse": "registrerede en afgørelse (side)",
    "GET /vurdering/{id}/journalnotat": "så journalnotatet (side)",
    "GET /vurdering/{id}/journalnotat.txt": "hentede journalnotatet (side)",
    "GET /vurdering/{id}/brev": "så udkastet til afgørelsesbrev (side)",
    "GET /vurderinger/mine": "så vurderingen i listen Mine vurderinger (side)",
    "GET /revision": "så vurderingen i beslutningsloggen (side)",
    "GET /revision/eksport": "eksporterede vurderingen (side)",
    "GET /revision/{id}": "så vurderingen med fuldt spor (side)",
    "POST /revision/{id}/genberegn": "genberegnede vurderingen (side)",
    "POST /revision/borgerindsigt": "besvarede en anmodning om indsigt (side)",
    # purposes written by earlier code
    "laes_vurdering": "læste vurderingen (API)", "laes_afgoerelse": "læste en afgørelse (API)", "afgoerelse": "registrerede en afgørelse",
    "genberegning": "genberegnede vurderingen", "eksport": "eksporterede vurderingen (API)", "eksport_web": "eksporterede vurderingen (side)",
    "journalnotat": "hentede journalnotatet", "brev": "hentede udkastet til afgørelsesbrev", "web_vurdering": "så vurderingen (side)",
    "revision_beslutning": "så vurderingen med fuldt spor (side)",
}


def formaal_tekst(formaal: str) -> str:
    """A stored purpose in Danish (an unknown one as it is stored)."""
    return FORMAAL_TEKST.get(formaal, formaal)


class Adgang(TypedDict):
    seq: int
    tidspunkt: str
    token_id: Optional[str]
    rolle: str
    formaal: str
    formaal_tekst: str
    vurderinger: list[str]


class Adgangsliste(TypedDict):
    total: int
    limit: int
    offset: int
    naeste_offset: Optional[int]
    adgange: list[Adgang]


def access_row(entry: Any) -> Adgang:
    return {"seq": entry.seq, "tidspunkt": entry.oprettet, "token_id": entry.token_id, "rolle": entry.rolle, "formaal": entry.formaal,
            "formaal_tekst": formaal_tekst(entry.formaal), "vurderinger": list(entry.vurdering_ids)}


@router.get("/v1/adgangslog", response_model=Adgangsliste,
            summary="Hvem har læst hvilke vurderinger, nyeste først; pr. vurdering, nøgle og periode (rolle: revisor)",
            responses=problems(401, 403, 422, 500, 503))
def adgangslog(
    request: Request,
    vurdering: Optional[str] = Query(None, max_length=64, pattern=ID_PATTERN, description="Kun læsninger af denne vurdering (id)"),
    token: Optional[str] = Query(None, max_length=64, pattern=ID_PATTERN, description="Kun læsninger med denne adgangsnøgle (dens id, fx t-…)"),
    fra: Optional[IsoDate] = Query(None, description="Læst på eller efter denne dato (UTC)"),
    til: Optional[IsoDate] = Query(None, description="Læst på eller før denne dato (UTC)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    actor: Actor = Depends(require(REVISOR)),
) -> Response:
    if fra is not None and til is not None and til < fra:
        raise ProblemException(422, "Søgningen er ugyldig.", slug="valideringsfejl", fejl=[{"felt": "til", "besked": "ligger før 'fra'"}])
    total, entries = services(request).store.access_log(actor.kommune, vurdering=vurdering, token=token, fra=fra, til=til,
                                                        limit=limit, offset=offset)
    nxt = offset + len(entries) if offset + len(entries) < total else None
    body: Adgangsliste = {"total": total, "limit": limit, "offset": offset, "naeste_offset": nxt, "adgange": [access_row(e) for e in entries]}
    return json_response(body)
