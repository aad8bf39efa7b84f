"""/v1/log: verify the municipality's hash chain (with the records removed under the retention rules
and the events that removed them) and its access log, and export the signed head."""
from __future__ import annotations

import logging
from typing import Any, Optional

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from typing_extensions import TypedDict

from service import logs
from service.api.common import json_response, problems, services
from service.auth import REVISOR, Actor, require

router = APIRouter(tags=["revision"])
log = logging.getLogger(logs.LOGGER)


class Fund(TypedDict):
    seq: Optional[int]
    art: str
    besked: str


class SignedHoved(TypedDict):
    kommune: str
    seq: int
    hash: str
    signatur: str
    oprettet: str


class Slettede(TypedDict):
    """Records fra-til whose content was removed lawfully ("slettet efter reglerne") by the sletning
    event at seq `haendelse`: when, why, by whom, and the cut-off date it applied."""

    fra: int
    til: int
    haendelse: int
    tidspunkt: Optional[str]
    begrundelse: Optional[str]
    hvem: Optional[str]
    foer: Optional[str]
    besked: str


class Adgangslogkontrol(TypedDict):
    """The access log's own hash chain (who read what)."""

    intakt: bool
    antal: int
    hoved: dict[str, Any]
    foerste_fejl: Optional[Fund]


class LogVerifikation(TypedDict):
    intakt: bool
    antal: int
    hoved: dict[str, Any]
    foerste_fejl: Optional[Fund]
    slettede: list[Slettede]
    signeret_hoved: Optional[SignedHoved]
    adgangslog: Adgangslogkontrol


def _finding(first: Any) -> Optional[Fund]:
    return {"seq": first.seq, "art": first.art, "besked": first.besked} if first else None


def removed_ranges(report: Any, events: dict[int, Any]) -> list[Slettede]:
    """The report's lawfully removed ranges, each with its sletning event written out."""
    out: list[Slettede] = []
    for (first, last), event in report.slettede:
        d = events.get(event)
        span = f"post {first}" if first == last else f"post {first}-{last}"
        when = f" {d.oprettet}" if d is not None else ""
        out.append({"fra": first, "til": last, "haendelse": event, "tidspunkt": d.oprettet if d else None,
                    "begrundelse": d.begrundelse if d else None, "hvem": d.hvem if d else None, "foer": d.foer if d else None,
                    "besked": f"{span}: slettet efter reglerne af sletningen i post {event}{when}"})
    return out


def access_body(report: Any) -> Adgangslogkontrol:
    return {"intakt": report.intakt, "antal": report.antal, "hoved": {"seq": report.hoved_seq, "hash": report.hoved_hash},
            "foerste_fejl": _finding(report.foerste_fejl)}


def verification_body(report: Any, signed: Any, events: dict[int, Any], access: Any) -> LogVerifikation:
    return {
        "intakt": report.intakt, "antal": report.antal, "hoved": {"seq": report.hoved_seq, "hash": report.hoved_hash},
        "foerste_fejl": _finding(report.foerste_fejl),
        "slettede": removed_ranges(report, events),
        "signeret_hoved": ({"kommune": signed.kommune, "seq": signed.seq, "hash": signed.hash, "signatur": signed.signatur,
                            "oprettet": signed.oprettet} if signed is not None else None),
        "adgangslog": access_body(access),
    }


@router.get("/v1/log/verifikation", response_model=LogVerifikation,
            summary="Kontrollér hele hash-kæden og adgangsloggen for din kommune og få et signeret hoved til eksport (rolle: revisor)",
            responses=problems(401, 403, 500, 503))
def verifikation(request: Request, actor: Actor = Depends(require(REVISOR))) -> Response:
    state = services(request)
    report = state.store.verify_chain(actor.kommune)
    signed = state.store.sign_head(actor.kommune, state.log_key) if report.intakt and report.hoved_seq else None
    if not report.intakt:
        first = report.foerste_fejl
        log.error("beslutningsloggen er ikke intakt", extra={"haendelse": "log_ikke_intakt", "kommune": actor.kommune,
                                                             "seq": getattr(first, "seq", None), "art": getattr(first, "art", None)})
    access = state.store.verify_access_log(actor.kommune)
    if not access.intakt:
        first = access.foerste_fejl
        log.error("adgangsloggen er ikke intakt", extra={"haendelse": "adgangslog_ikke_intakt", "kommune": actor.kommune,
                                                         "seq": getattr(first, "seq", None), "art": getattr(first, "art", None)})
    events = {d.event_seq: d for d in state.store.deletions(actor.kommune)} if report.slettede else {}
    return json_response(verification_body(report, signed, events, access))
