"""Operations: /healthz (process up), /readyz (rules loaded, database answers),
/metrics (Prometheus) and /v1/sundhed. None needs a token."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response
from typing_extensions import TypedDict

from engine import DateNotCovered
from service.api.common import json_response, problems, services
from service.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from service.problems import problem_response

router = APIRouter(tags=["drift"])
PUBLIC: dict[str, Any] = {"security": []}


class Healthz(TypedDict):
    status: str


class Readyz(TypedDict):
    status: str
    tjek: dict[str, str]


class Sundhed(TypedDict):
    status: str
    regelsaet: str


@router.get("/healthz", response_model=Healthz, openapi_extra=PUBLIC,
            summary="Kører processen? (kræver ingen nøgle; rører hverken regler eller database)")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz", response_model=Readyz, openapi_extra=PUBLIC,
            summary="Kan tjenesten tage imod vurderinger? Regler indlæst og database tilgængelig (kræver ingen nøgle)",
            responses=problems(503))
def readyz(request: Request) -> Response:
    state = services(request)
    checks: dict[str, str] = {}
    try:
        checks["regler"] = "ok" if all(e.versions() for e in state.engines.all().values()) else "ingen versioner indlæst"
    except Exception as error:  # pragma: no cover - defensive
        checks["regler"] = f"fejl: {type(error).__name__}"
    try:
        state.store.ping()
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"svarer ikke: {type(error).__name__}"
    if all(v == "ok" for v in checks.values()):
        return json_response({"status": "klar", "tjek": checks})
    return problem_response(503, "Tjenesten er ikke klar: " + "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"),
                            slug="ikke-klar", tjek=checks, headers={"Retry-After": "1"})


@router.get("/metrics", openapi_extra=PUBLIC, response_class=Response,
            summary="Prometheus-målinger (tekstformat; kræver ingen nøgle, skal ikke udstilles offentligt)",
            responses={200: {"description": "Prometheus text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    state = services(request)
    for kommune, engine in state.engines.all().items():
        try:
            current = engine.version_for(state.settings.today())
            state.metrics.set_rule_set(f"{engine.rule_set}/{kommune}", current.version, current.sha256)
        except DateNotCovered:
            state.metrics.set_rule_set(f"{engine.rule_set}/{kommune}", None, None)
    return Response(state.metrics.exposition(), media_type=METRICS_CONTENT_TYPE)


@router.get("/v1/sundhed", response_model=Sundhed, openapi_extra=PUBLIC, summary="Er tjenesten oppe? (kræver ingen nøgle)")
def sundhed(request: Request) -> Response:
    return json_response({"status": "ok", "regelsaet": "misbrug"})
