"""The HTTP service: builds the FastAPI app from its parts and nothing more.

create_app(settings) opens the decision log, loads and validates the rule
files (raising RulesInvalid if they are broken, so the service never starts on
a bad rule set), and wires the API routers, the web pages, the middleware and
the error handlers. Routes live in service.api and service.web.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Optional

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from engine.screening import MAX_PROBLEMS, Screening, problems_from_validation_error
from service import logs
from service.afgoerelser import AfgoerelseService
from service.api import adgangslog, borgerindsigt, journal, ops, regelsaet, statistik, vurderinger
from service.api import log as log_api
from service.decisions import DecisionService, Engines
from service.metrics import Metrics
from service.middleware import ServiceMiddleware
from service.problems import ProblemException, from_exception, problem_response
from service.rules_sync import RulesSync
from service.sessions import Sessions
from service.settings import Settings

log = logging.getLogger(logs.LOGGER)


def _custom_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    screening = Screening.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in screening.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components["Screening"] = screening
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code[:1] in ("4", "5") and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
    spec["components"].setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    spec["security"] = [{"bearer": []}]
    app.openapi_schema = spec
    return spec


def _allowed_methods(app: FastAPI, scope: Any) -> list[str]:
    from starlette.routing import Match

    matching = [route for route in app.router.routes
                if getattr(route, "methods", None) and route.matches(dict(scope, type="http"))[0] != Match.NONE]
    literal = [route for route in matching if getattr(route, "path", None) == scope["path"]]
    template = literal[0].path if literal else (matching[0].path if matching else None)  # type: ignore[attr-defined]
    return sorted({m for route in matching if getattr(route, "path", None) == template for m in route.methods})  # type: ignore[attr-defined]


def _install_error_handlers(app: FastAPI) -> None:
    from service.log import StoreUnavailable

    @app.exception_handler(ProblemException)
    async def _problem(request: Request, exc: ProblemException) -> Response:
        return from_exception(exc)

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, exc: StoreUnavailable) -> Response:
        app.state.metrics.storage_errors.inc()
        log.error("databasen svarer ikke", extra={"haendelse": "database_utilgaengelig", "metode": request.method,
                                                  "sti": request.url.path, "grund": str(exc)})
        return problem_response(503, "Databasen svarer ikke lige nu; intet er gemt. Prøv igen om lidt.",
                                slug="database-utilgaengelig", headers={"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = {404: "Adressen findes ikke.", 405: f"Metoden {request.method} er ikke tilladt her."}.get(exc.status_code, str(exc.detail))
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = dict(headers or {}, Allow=", ".join(_allowed_methods(app, request.scope)))
        return problem_response(exc.status_code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        raw = exc.errors()
        errors = []
        for error in raw[:MAX_PROBLEMS]:
            loc = tuple(error.get("loc", ()))
            if loc and loc[0] in ("body", "query", "path", "header"):
                loc = loc[1:]
            errors.append(dict(error, loc=loc))
        fejl = [p.model_dump() for p in problems_from_validation_error(errors)]
        if len(raw) > MAX_PROBLEMS:
            fejl.append({"felt": "(hele forespørgslen)", "besked": f"og {len(raw) - MAX_PROBLEMS} problemer mere"})
        return problem_response(422, "Forespørgslen indeholder ugyldige oplysninger.", slug="valideringsfejl", fejl=fejl)


def _rules_in_force(request: Request) -> None:
    request.app.state.rules_sync.ensure_current()


def create_app(settings: Optional[Settings] = None, store: Optional[Any] = None) -> FastAPI:
    from service.log import keys, open_store
    from service.log.retention import load_retention

    settings = settings or Settings.from_env()
    store = store if store is not None else open_store(settings.db_url)
    metrics = Metrics()
    hmac_key = keys.hmac_key(getattr(store, "path", None))
    engines = Engines(settings, store)  # raises RulesInvalid: never start on a broken rule set
    rules_sync = RulesSync(engines, store)
    decisions = DecisionService(settings, store, engines, hmac_key, metrics)
    # Every route that evaluates depends on _rules_in_force below, so the DecisionService's own
    # before_evaluate hook stays empty here (one read per request, not two).
    app = FastAPI(
        title="Visitator", version="1",
        description="Visitation efter mindste indgrebs princip (SEL § 101, SUL §§ 141-142). Alle fejl er application/problem+json (RFC 9457).",
        # No /docs or /redoc: they load scripts from a CDN. /openapi.json describes everything.
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    state = app.state
    state.settings, state.store, state.metrics, state.engines, state.rules_sync = settings, store, metrics, engines, rules_sync
    state.decisions, state.hmac_key, state.log_key = decisions, hmac_key, keys.log_key(getattr(store, "path", None))
    state.afgoerelser = AfgoerelseService(store, decisions, engines, settings.today)
    state.sessions = Sessions(store, hmac_key, settings.session_seconds, settings.secure_cookies)
    # The retention file is only shown here (the citizen's access document); `visitator log opbevaring`
    # applies it. A broken file stops the start (RetentionInvalid, with file:line).
    state.opbevaring = load_retention(settings.opbevaring) if settings.opbevaring else None
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes, body_timeout=settings.body_timeout, metrics=metrics)
    app.openapi = lambda: _custom_openapi(app)  # type: ignore[method-assign]
    _install_error_handlers(app)
    # Every route that reads rules first takes in a reload another process has put in force (one
    # indexed read), so no page or listing shows rules other than those the decisions use. Not the
    # ops routes: /healthz touches neither rules nor database.
    in_force = [Depends(_rules_in_force)]
    app.include_router(ops.router)
    for router in (vurderinger.router, journal.router, statistik.router, log_api.router, adgangslog.router, borgerindsigt.router,
                   regelsaet.router):
        app.include_router(router, dependencies=in_force)
    from service.web import router as web_router

    app.include_router(web_router, dependencies=in_force)
    log.info("tjenesten er klar", extra={"haendelse": "opstart", "kommuner": list(settings.kommuner), "pid": os.getpid(),
                                         "regler": str(engines.rules_dir)})
    return app
