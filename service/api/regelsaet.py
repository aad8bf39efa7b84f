"""/v1/regelsaet: the rule set versions, their snapshots, and validating or
reloading the rule files."""
from __future__ import annotations

import logging
from datetime import date
from typing import Any, Optional

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from typing_extensions import TypedDict

from engine import DateNotCovered, RulesInvalid
from engine.versions import RuleSetVersion
from service import logs
from service.api.common import json_response, problems, services
from service.auth import REDAKTOER, REVISOR, VISITATOR, Actor, require
from service.decisions import rules_problem
from service.problems import ProblemException

router = APIRouter(tags=["regelsaet"])
log = logging.getLogger(logs.LOGGER)


class Regelsaetversion(TypedDict):
    navn: str
    version: str
    gyldig_fra: str
    gyldig_til: Optional[str]
    sha256: str
    status: str
    kommune: Optional[str]
    antal_regler: int
    antal_tilbud: int


class RegelsaetListe(TypedDict):
    navn: str
    kommune: str
    i_kraft_i_dag: Optional[str]
    versioner: list[Regelsaetversion]


class RegelsaetValidering(TypedDict):
    gyldig: bool
    genindlaest: bool
    versioner: list[Regelsaetversion]


def version_summary(v: RuleSetVersion, today: date) -> Regelsaetversion:
    return {"navn": v.navn, "version": v.version, "gyldig_fra": v.version, "gyldig_til": v.gyldig_til.isoformat() if v.gyldig_til else None,
            "sha256": v.sha256, "status": v.status(today), "kommune": v.kommune, "antal_regler": len(v.rules), "antal_tilbud": len(v.offers)}


def versions_listing(state: Any, actor: Actor) -> RegelsaetListe:
    engine = state.engines.for_kommune(actor.kommune)
    today = state.settings.today()
    try:
        current: Optional[str] = engine.version_for(today).sha256
    except DateNotCovered:
        current = None
    return {"navn": engine.rule_set, "kommune": actor.kommune, "i_kraft_i_dag": current,
            "versioner": [version_summary(v, today) for v in sorted(engine.versions(), key=lambda v: (v.gyldig_fra, v.afventer))]}


@router.get("/v1/regelsaet", response_model=RegelsaetListe, summary="Regelsættets versioner efter dato (alle roller)",
            responses=problems(401, 500))
def regelsaet(request: Request, actor: Actor = Depends(require(VISITATOR, REVISOR, REDAKTOER))) -> Response:
    return json_response(versions_listing(services(request), actor))


@router.get("/v1/regelsaet/{sha256}", summary="Et gemt snapshot af en version (rolle: revisor, redaktoer)",
            responses={200: {"description": "Snapshot (indholdsadresseret JSON; indholdet kontrolleres mod adressen ved hver læsning)",
                             "content": {"application/json": {"schema": {"type": "object"}}}}, **problems(401, 403, 404, 500)})
def snapshot(request: Request, sha256: str, actor: Actor = Depends(require(REVISOR, REDAKTOER))) -> Response:
    from service.log import SnapshotTampered

    state = services(request)
    known = {v.sha256 for v in state.engines.for_kommune(actor.kommune).versions()}
    text = None
    if len(sha256) == 64:
        try:
            text = state.store.get_snapshot(sha256)
        except SnapshotTampered as error:
            log.error("snapshot ændret", extra={"haendelse": "snapshot_aendret", "sha256": sha256})
            raise ProblemException(500, f"Snapshottet passer ikke længere med sin adresse: {error}", slug="snapshot-aendret") from None
    if text is None or (sha256 not in known and not state.store.snapshot_used_by(actor.kommune, sha256)):
        raise ProblemException(404, "Der er ikke gemt en version med den sha256.", slug="ikke-fundet")
    return Response(text.encode("utf-8"), media_type="application/json")


@router.post("/v1/regelsaet/valider", response_model=RegelsaetValidering,
             summary="Validér og oversæt regelfilerne på disken uden at tage dem i brug (rolle: redaktoer)",
             responses=problems(401, 403, 422, 500))
def valider(request: Request, actor: Actor = Depends(require(REDAKTOER))) -> Response:
    state = services(request)
    try:
        versions = state.engines.check_files()[actor.kommune]
    except RulesInvalid as error:
        raise rules_problem(error, "Regelfilerne på disken er ugyldige.") from None
    today = state.settings.today()
    body: RegelsaetValidering = {"gyldig": True, "genindlaest": False, "versioner": [version_summary(v, today) for v in versions]}
    return json_response(body)


@router.post("/v1/regelsaet/genindlaes", response_model=RegelsaetValidering,
             summary="Validér regelfilerne og tag dem i brug i alle processer (rolle: redaktoer); ved fejl beholdes de gamle regler",
             responses=problems(401, 403, 422, 500))
def genindlaes(request: Request, actor: Actor = Depends(require(REDAKTOER))) -> Response:
    state = services(request)
    before = [v.sha256 for v in state.engines.for_kommune(actor.kommune).versions()]
    try:
        all_versions = state.rules_sync.reload()
    except RulesInvalid as error:
        log.warning("genindlæsning afvist", extra={"haendelse": "genindlaesning_afvist", "antal_problemer": len(error.problems)})
        raise rules_problem(error, "Regelfilerne er ugyldige; de hidtidige regler er stadig i brug.") from None
    versions = all_versions[actor.kommune]
    log.info("regelsæt genindlæst", extra={"haendelse": "genindlaest", "foer": before, "efter": [v.sha256 for v in versions]})
    today = state.settings.today()
    body: RegelsaetValidering = {"gyldig": True, "genindlaest": True, "versioner": [version_summary(v, today) for v in versions]}
    return json_response(body)
