"""The HTTP service: FastAPI around one Engine and the decision log.

create_app(settings) loads and validates the rule files (raising RulesInvalid
if they are broken, so the service never starts on a bad rule set), opens the
database and returns the ASGI app. Every durable-rules call is serialised by
the engine's process-wide lock, so the `def` endpoints may run in the thread
pool; scale with processes, not threads.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal, Optional

from pydantic import BeforeValidator

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response, StreamingResponse

from engine import DateNotCovered, Engine, RulesInvalid, ScreeningInvalid, UnknownVersion, parse_screening
from engine.evaluate import settle_heap
from engine.model import KATEGORI_SPOR, SPOR_ORDER
from engine.screening import Screening, problems_from_validation_error
from service import logs, schemas
from service.auth import require
from service.problems import ProblemException, from_exception, problem_response, raw_problem_bytes
from service.settings import Settings
from service.ops import CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics
from service.storage import (DBSnapshotStore, Filters, NewRecord, Storage, StorageUnavailable, canonical_json,
                             load_or_create_hmac_key, open_storage)

log = logging.getLogger(logs.LOGGER)

VISITATOR, REVISOR, REDAKTOER = "visitator", "revisor", "redaktoer"
Kategori = Literal[tuple(KATEGORI_SPOR)]  # type: ignore[valid-type]
Spor = Literal[tuple(SPOR_ORDER)]  # type: ignore[valid-type]
_CPR_LIKE = re.compile(r"(?<!\d)(\d{6}-?\d{4})(?!\d)")
DIFF_KEYS = ("regelsaet", "anbefalinger", "lovgrundlag", "frister", "advarsler", "oplysninger")


# --------------------------------------------------------------------------- ids and json

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ulid_lock = threading.Lock()
_ulid_last = [0, 0]


def new_ulid() -> str:
    """A ULID (26 chars, Crockford base32), monotonic within this process."""
    with _ulid_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _ulid_last[0]:
            ms = _ulid_last[0]
            rand = (_ulid_last[1] + 1) & ((1 << 80) - 1)
        else:
            rand = int.from_bytes(secrets.token_bytes(10), "big")
        _ulid_last[0], _ulid_last[1] = ms, rand
    value = (ms << 80) | rand
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_response(value: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Response:
    return Response(dumps(value).encode("utf-8"), status_code=status, media_type="application/json", headers=headers)


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """JSON-path style differences between two JSON values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[dict[str, Any]] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append({"sti": sub, "foer": None, "nu": new[key]})
            elif key not in new:
                out.append({"sti": sub, "foer": old[key], "nu": None})
            else:
                out.extend(diff(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            sub = f"{path}[{i}]"
            if i >= len(old):
                out.append({"sti": sub, "foer": None, "nu": new[i]})
            elif i >= len(new):
                out.append({"sti": sub, "foer": old[i], "nu": None})
            else:
                out.extend(diff(old[i], new[i], sub))
        return out
    if old != new or type(old) is not type(new):
        return [{"sti": path, "foer": old, "nu": new}]
    return []


def _iso_date_only(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("skal være en dato på formen ÅÅÅÅ-MM-DD")
    return value


# A query date must be written as a date (pydantic alone would read "0" as 1970-01-01).
IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


def _strict_types(data: Any) -> None:
    """Refuse JSON types the published schema does not allow but pydantic's lax mode would coerce
    (a date given as a number of seconds, a number given as a string, ...): 422 like any other field error."""
    from pydantic import ValidationError

    try:
        Screening.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as error:
        raise ScreeningInvalid(problems_from_validation_error(error)) from None


# --------------------------------------------------------------------------- middleware


class ServiceMiddleware:
    """Pure ASGI: body limit (413 before parsing), 500 problem guard, JSON access log."""

    def __init__(self, app: Any, max_body_bytes: int, metrics: Optional[Metrics] = None):
        self.app = app
        self.max_body = max_body_bytes
        self.metrics = metrics

    async def _send_problem(self, send: Any, status: int, detail: str, **kwargs: Any) -> None:
        body = raw_problem_bytes(status, detail, **kwargs)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 0, "sent": False}
        method, path = scope["method"], scope["path"]

        async def tracking_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["sent"] = True
            await send(message)

        try:
            receive_to_use = receive
            if method in ("POST", "PUT", "PATCH"):
                length = dict(scope["headers"]).get(b"content-length")
                too_big = False
                if length is not None and length.isdigit() and int(length) > self.max_body:
                    too_big = True
                else:
                    chunks: list[bytes] = []
                    size = 0
                    more = True
                    while more:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            return
                        chunk = message.get("body", b"")
                        size += len(chunk)
                        if size > self.max_body:
                            too_big = True
                            break
                        chunks.append(chunk)
                        more = message.get("more_body", False)
                    if not too_big:
                        body = b"".join(chunks)
                        delivered = [False]

                        async def replay() -> dict[str, Any]:
                            if not delivered[0]:
                                delivered[0] = True
                                return {"type": "http.request", "body": body, "more_body": False}
                            return await receive()

                        receive_to_use = replay
                if too_big:
                    await self._send_problem(tracking_send, 413, f"Forespørgslen må højst fylde {self.max_body} bytes.",
                                             slug="for-stor")
                    return
            await self.app(scope, receive_to_use, tracking_send)
        except Exception:
            fejl_id = str(uuid.uuid4())
            log.error("uventet fejl", exc_info=True, extra={"haendelse": "uventet_fejl", "fejl_id": fejl_id, "metode": method, "sti": path})
            if not state["sent"]:
                await self._send_problem(tracking_send, 500, f"Der opstod en uventet fejl. Oplys fejl-id {fejl_id} til driften.",
                                         slug="intern-fejl", fejl_id=fejl_id)
        finally:
            role = (scope.get("state") or {}).get("role")
            if self.metrics is not None:
                route = scope.get("route")
                template = getattr(route, "path", None) or "(ingen rute)"
                self.metrics.observe_request(template, method, state["status"] or 500, time.perf_counter() - started)
            log.info("forespørgsel", extra={"haendelse": "forespoergsel", "metode": method, "sti": path, "status": state["status"],
                                            "ms": round((time.perf_counter() - started) * 1000, 2), "rolle": role})


# --------------------------------------------------------------------------- the service


class Service:
    """The engine, the database and the HMAC key of one process."""

    def __init__(self, settings: Settings, storage: Optional[Storage] = None):
        self.settings = settings
        self.metrics = Metrics()
        self.storage: Storage = storage if storage is not None else open_storage(settings.db_url)
        self.hmac_key = load_or_create_hmac_key(self.storage)
        self.snapshots = DBSnapshotStore(self.storage)
        # Raises RulesInvalid: the service does not start on a broken rule set.
        self.engine = Engine(settings.rules_dir, core=settings.core, store=self.snapshots, today=settings.today)
        self._store_snapshots()
        settle_heap()
        self.engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="visitator-motor")
        self.writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="visitator-log")

    def _store_snapshots(self) -> None:
        for version in self.engine.versions():
            if not version.afventer:
                self.snapshots.put(version.snapshot())

    def reference_hmac(self, reference: str) -> str:
        return hmac.new(self.hmac_key, reference.encode("utf-8"), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ decisions

    def prepare(self, data: Any) -> NewRecord:
        """Validate and evaluate one screening; the record to log (its `svar` is the response text)."""
        screening = parse_screening(data)
        _strict_types(data)
        effective = screening.effective_date(self.settings.today())
        screening = screening.model_copy(update={"vurderingsdato": effective})
        try:
            result = self.engine.evaluate(screening)
        except DateNotCovered as error:
            raise ProblemException(422, "Vurderingsdatoen er ikke dækket af regelsættet.", slug="valideringsfejl",
                                   fejl=[{"felt": "vurderingsdato", "besked": str(error)}]) from None
        stored = screening.model_dump(mode="json", exclude={"borger_reference"})
        record_id = new_ulid()
        oprettet = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        header = result["regelsaet"]
        anbefalinger = result["anbefalinger"]
        return NewRecord(
            id=record_id, oprettet=oprettet, regelsaet_navn=header["navn"], regelsaet_version=header["version"],
            regelsaet_sha256=header["sha256"],
            borger_reference_hmac=self.reference_hmac(screening.borger_reference) if screening.borger_reference else None,
            henvendelsesdato=stored["henvendelsesdato"], vurderingsdato=stored["vurderingsdato"],
            kategorier=" " + " ".join(sorted({a["tilbud"]["kategori"] for a in anbefalinger})) + " ",
            spor=" " + " ".join(sorted({a["spor"] for a in anbefalinger})) + " ",
            screening=canonical_json(stored), svar=dumps({"id": record_id, "oprettet": oprettet, **result}),
        )

    def commit(self, record: NewRecord) -> int:
        """Append the record to the hash-chained log and commit it (before any 201 is sent)."""
        seq, _ = self.storage.append(record)
        log.info("vurdering gemt", extra={"haendelse": "vurdering_oprettet", "id": record.id, "seq": seq,
                                          "regelsaet_version": record.regelsaet_version, "regelsaet_sha256": record.regelsaet_sha256})
        return seq

    def decide(self, data: Any) -> tuple[str, str]:
        """Evaluate and log synchronously: (id, response text)."""
        record = self.prepare(data)
        self.commit(record)
        self.metrics.observe_decision(record.svar)
        return record.id, record.svar

    async def decide_async(self, data: Any) -> tuple[str, str]:
        """Evaluation on the one engine thread, then the commit on the one writer thread.

        Two dedicated threads instead of the shared pool: the engine is serialised
        anyway, and fewer threads contending for the GIL and the engine lock keeps
        latency flat under many concurrent clients, while a commit's fsync overlaps
        the next evaluation."""
        loop = asyncio.get_running_loop()
        record = await loop.run_in_executor(self.engine_thread, self.prepare, data)
        await loop.run_in_executor(self.writer_thread, self.commit, record)
        self.metrics.observe_decision(record.svar)
        return record.id, record.svar

    def record_or_404(self, id: str) -> dict[str, Any]:
        record = self.storage.get_record(id)
        if record is None:
            raise ProblemException(404, f"Der findes ingen vurdering med id '{id[:40]}'.", slug="ikke-fundet")
        return record

    def replay(self, id: str) -> dict[str, Any]:
        record = self.record_or_404(id)
        stored = json.loads(record["svar"])
        stored.pop("id", None)
        stored.pop("oprettet", None)
        screening = parse_screening(json.loads(record["screening"]))
        try:
            original = json.loads(dumps(self.engine.evaluate(screening, sha256=record["regelsaet_sha256"])))
        except (UnknownVersion, ValueError) as error:
            fejl_id = str(uuid.uuid4())
            log.error("genberegning umulig", extra={"haendelse": "genberegning_umulig", "fejl_id": fejl_id, "id": id,
                                                    "regelsaet_sha256": record["regelsaet_sha256"], "grund": str(error)})
            raise ProblemException(500, f"Den oprindelige version af regelsættet kan ikke genskabes: {error}",
                                   slug="genberegning-umulig", fejl_id=fejl_id) from None
        afvigelser = diff(stored, original)
        if afvigelser:
            fejl_id = str(uuid.uuid4())
            log.error("genberegning under den oprindelige version giver et andet resultat",
                      extra={"haendelse": "genberegning_afviger", "fejl_id": fejl_id, "id": id,
                             "regelsaet_sha256": record["regelsaet_sha256"], "stier": [a["sti"] for a in afvigelser][:50]})
            raise ProblemException(500, "Genberegning under den oprindelige version af regelsættet gav ikke det samme resultat.",
                                   slug="genberegning-afviger", fejl_id=fejl_id, id=id, identisk=False,
                                   forskelle_original=afvigelser)
        today_version = self.engine.version_for(self.settings.today())
        nu = json.loads(dumps(self.engine.evaluate(screening, sha256=today_version.sha256)))
        return {
            "id": id,
            "identisk": True,
            "original": original,
            "nu": nu,
            "regelsaet_original": original["regelsaet"],
            "regelsaet_nu": nu["regelsaet"],
            "samme_version": original["regelsaet"]["sha256"] == nu["regelsaet"]["sha256"],
            "forskelle": diff({k: original.get(k) for k in DIFF_KEYS}, {k: nu.get(k) for k in DIFF_KEYS}),
            "forskelle_original": [],
        }

    def filters(self, fra: Optional[date], til: Optional[date], version: Optional[str], kategori: Optional[str],
                spor: Optional[str], borger_reference: Optional[str]) -> Filters:
        if borger_reference is not None and _CPR_LIKE.search(borger_reference):
            raise ProblemException(422, "Søgningen er ugyldig.", slug="valideringsfejl",
                                   fejl=[{"felt": "borger_reference", "besked": "ligner et CPR-nummer; brug en sagsreference uden personnummer"}])
        return Filters(fra=fra, til=til, version=version, kategori=kategori, spor=spor,
                       borger_reference_hmac=self.reference_hmac(borger_reference) if borger_reference is not None else None)

    def versions_api(self) -> dict[str, Any]:
        today = self.settings.today()
        try:
            current: Optional[str] = self.engine.version_for(today).sha256
        except DateNotCovered:
            current = None
        return {"navn": self.engine.rule_set, "i_kraft_i_dag": current,
                "versioner": [v.summary(today) for v in self.engine.versions()]}


def _rules_problem(error: RulesInvalid, detail: str) -> ProblemException:
    return ProblemException(
        422, detail, slug="regelsaet-ugyldigt", title="Regelfilerne er ugyldige",
        fejl=[{"felt": str(p.position), "besked": p.message} for p in error.problems],
        problemer=[str(p) for p in error.problems],
    )


def _problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Kroppen er ikke gyldig JSON", 401: "Manglende eller ukendt adgangsnøgle", 403: "Rollen giver ikke adgang",
        404: "Ikke fundet", 405: "Metoden er ikke tilladt", 413: "Kroppen er over 1 MB", 422: "Valideringsfejl (med `fejl`)",
        500: "Uventet fejl (med `fejl_id`, som også står i serverens log)",
    }
    return {c: {"model": schemas.Problem, "description": descriptions[c]} for c in codes}


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


def _allowed_methods(app: FastAPI, scope: dict[str, Any]) -> list[str]:
    from starlette.routing import Match

    matching = [route for route in app.router.routes
                if getattr(route, "methods", None) and route.matches(dict(scope, type="http"))[0] != Match.NONE]
    literal = [route for route in matching if route.path == scope["path"]]  # /v1/regelsaet/valider, not /{sha256}
    template = literal[0].path if literal else (matching[0].path if matching else None)
    return sorted({m for route in matching if route.path == template for m in route.methods})


def create_app(settings: Optional[Settings] = None, storage: Optional[Storage] = None) -> FastAPI:
    settings = settings or Settings.from_env()
    service = Service(settings, storage)
    app = FastAPI(
        title="Visitator",
        version="1",
        description="Visitation efter mindste indgrebs princip (SEL § 101, SUL §§ 141-142). Alle fejl er application/problem+json (RFC 9457).",
    )
    app.state.service = service
    app.state.storage = service.storage
    app.state.engine = service.engine
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes, metrics=service.metrics)
    app.openapi = lambda: _custom_openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(ProblemException)
    async def _problem(request: Request, exc: ProblemException) -> Response:
        return from_exception(exc)

    @app.exception_handler(StorageUnavailable)
    async def _unavailable(request: Request, exc: StorageUnavailable) -> Response:
        service.metrics.storage_errors.inc()
        log.error("databasen svarer ikke", extra={"haendelse": "database_utilgaengelig", "metode": request.method,
                                                  "sti": request.url.path, "grund": str(exc)})
        return problem_response(503, "Databasen svarer ikke lige nu; intet er gemt. Prøv igen om lidt.",
                                slug="database-utilgaengelig", headers={"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = {404: "Adressen findes ikke.", 405: f"Metoden {request.method} er ikke tilladt her."}.get(
            exc.status_code, str(exc.detail))
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names only the first route's methods when several routes share a path.
            headers = dict(headers or {}, Allow=", ".join(_allowed_methods(app, request.scope)))
        return problem_response(exc.status_code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            if loc and loc[0] in ("body", "query", "path", "header"):
                loc = loc[1:]
            errors.append(dict(error, loc=loc))
        fejl = [p.model_dump() for p in problems_from_validation_error(errors)]
        return problem_response(422, "Forespørgslen indeholder ugyldige oplysninger.", slug="valideringsfejl", fejl=fejl)

    # ------------------------------------------------------------------ routes

    @app.get("/healthz", tags=["drift"], openapi_extra={"security": []}, response_model=schemas.Healthz,
             summary="Kører processen? (kræver ingen nøgle; rører hverken regler eller database)")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/readyz", tags=["drift"], openapi_extra={"security": []}, response_model=schemas.Readyz,
             summary="Kan tjenesten tage imod vurderinger? Regler indlæst og database tilgængelig (kræver ingen nøgle)",
             responses={503: {"model": schemas.Problem, "description": "Ikke klar (regler eller database)"}})
    def readyz() -> Response:
        checks: dict[str, str] = {}
        try:
            versions = service.engine.versions()
            checks["regler"] = "ok" if versions else "ingen versioner indlæst"
        except Exception as error:  # pragma: no cover - defensive
            checks["regler"] = f"fejl: {type(error).__name__}"
        try:
            service.storage.ping()
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"svarer ikke: {type(error).__name__}"
        if all(v == "ok" for v in checks.values()):
            return json_response({"status": "klar", "tjek": checks})
        return problem_response(503, "Tjenesten er ikke klar: " + "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"),
                                slug="ikke-klar", tjek=checks, headers={"Retry-After": "1"})

    @app.get("/metrics", tags=["drift"], openapi_extra={"security": []}, response_class=Response,
             summary="Prometheus-målinger (tekstformat; kræver ingen nøgle, skal ikke udstilles offentligt)",
             responses={200: {"description": "Prometheus text exposition format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def metrics() -> Response:
        try:
            current = service.engine.version_for(settings.today())
            service.metrics.set_rule_set(service.engine.rule_set, current.version, current.sha256)
        except DateNotCovered:
            service.metrics.set_rule_set(service.engine.rule_set, None, None)
        return Response(service.metrics.exposition(), media_type=METRICS_CONTENT_TYPE)

    @app.get("/v1/sundhed", response_model=schemas.Sundhed, tags=["drift"], openapi_extra={"security": []},
             summary="Er tjenesten oppe? (kræver ingen nøgle)")
    def sundhed() -> dict[str, Any]:
        return {"status": "ok", "regelsaet": service.engine.rule_set}

    @app.post(
        "/v1/vurderinger", status_code=201, tags=["vurderinger"], summary="Vurder en screening (rolle: visitator)",
        response_class=Response,
        responses={201: {"model": schemas.Vurdering, "description": "Vurderingen er gemt i loggen",
                         "headers": {"Location": {"description": "/v1/vurderinger/{id}", "schema": {"type": "string"}}}},
                   **_problem_responses(400, 401, 403, 413, 422, 500)},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Screening"}}}}},
    )
    async def opret_vurdering(request: Request, role: str = Depends(require(VISITATOR))) -> Response:
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            where = f" (linje {error.lineno}, kolonne {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
            raise ProblemException(400, "Kroppen er ikke gyldig JSON" + where + ".", slug="ugyldig-json",
                                   fejl=[{"felt": "(hele forespørgslen)", "besked": "ugyldig JSON" + where}]) from None
        try:
            record_id, text = await service.decide_async(data)
        except ScreeningInvalid as error:
            raise ProblemException(422, "Screeningen indeholder ugyldige oplysninger.", slug="valideringsfejl",
                                   fejl=[p.model_dump() for p in error.problems]) from None
        return Response(text.encode("utf-8"), status_code=201, media_type="application/json",
                        headers={"Location": f"/v1/vurderinger/{record_id}"})

    @app.get("/v1/vurderinger", response_model=schemas.VurderingListe, tags=["revision"],
             summary="Revisorens liste over vurderinger (rolle: revisor)", responses=_problem_responses(401, 403, 422, 500))
    def list_vurderinger(
        fra: Optional[IsoDate] = Query(None, description="Oprettet på eller efter denne dato (UTC)"),
        til: Optional[IsoDate] = Query(None, description="Oprettet på eller før denne dato (UTC)"),
        version: Optional[str] = Query(None, description="Regelsættets version (gyldig_fra) eller sha256"),
        kategori: Optional[Kategori] = Query(None, description="En anbefalet kategori"),
        spor: Optional[Spor] = Query(None, description="Et spor med en anbefaling"),
        borger_reference: Optional[str] = Query(None, description="Sagsreference (sammenlignes via dens nøglede hash)"),
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
        role: str = Depends(require(REVISOR)),
    ) -> Response:
        filters = service.filters(fra, til, version, kategori, spor, borger_reference)
        total, rows = service.storage.list_records(filters, limit, offset)
        items = []
        for row in rows:
            svar = json.loads(row["svar"])
            items.append({
                "seq": row["seq"], "id": row["id"], "oprettet": row["oprettet"], "regelsaet": svar["regelsaet"],
                "henvendelsesdato": row["henvendelsesdato"], "vurderingsdato": row["vurderingsdato"],
                "anbefalinger": [{"spor": a["spor"], "tilbud": a["tilbud"]["id"], "kategori": a["tilbud"]["kategori"]}
                                 for a in svar["anbefalinger"]],
                "href": f"/v1/vurderinger/{row['id']}",
            })
        nxt = offset + len(rows) if offset + len(rows) < total else None
        return json_response({"total": total, "limit": limit, "offset": offset, "naeste_offset": nxt, "vurderinger": items})

    @app.get("/v1/vurderinger/eksport", tags=["revision"], response_class=StreamingResponse,
             summary="Alle vurderinger som JSON lines (rolle: revisor)",
             responses={200: {"description": "Én JSON-post pr. linje", "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                        **_problem_responses(401, 403, 422, 500)})
    def eksport(
        fra: Optional[IsoDate] = Query(None), til: Optional[IsoDate] = Query(None), version: Optional[str] = Query(None),
        kategori: Optional[Kategori] = Query(None), spor: Optional[Spor] = Query(None),
        borger_reference: Optional[str] = Query(None), role: str = Depends(require(REVISOR)),
    ) -> StreamingResponse:
        filters = service.filters(fra, til, version, kategori, spor, borger_reference)
        service.storage.ping()  # a 503 now rather than a stream that breaks off after its headers

        def lines() -> Any:
            for r in service.storage.iter_records(filters):
                yield (dumps({
                    "seq": r["seq"], "id": r["id"], "oprettet": r["oprettet"],
                    "regelsaet": {"navn": r["regelsaet_navn"], "version": r["regelsaet_version"], "sha256": r["regelsaet_sha256"]},
                    "borger_reference_hmac": r["borger_reference_hmac"],
                    "screening": json.loads(r["screening"]), "svar": json.loads(r["svar"]),
                    "forrige_hash": r["forrige_hash"], "hash": r["hash"],
                }) + "\n").encode("utf-8")

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/v1/vurderinger/{id}", tags=["vurderinger"], response_class=Response,
             summary="Den gemte vurdering, præcis som den blev returneret (rolle: visitator, revisor)",
             responses={200: {"model": schemas.Vurdering, "description": "Byte for byte det oprindelige svar"},
                        **_problem_responses(401, 403, 404, 500)})
    def hent_vurdering(id: str, role: str = Depends(require(VISITATOR, REVISOR))) -> Response:
        record = service.record_or_404(id)
        return Response(record["svar"].encode("utf-8"), media_type="application/json")

    @app.post("/v1/vurderinger/{id}/genberegn", tags=["revision"], response_model=schemas.Genberegning,
              summary="Genberegn under den oprindelige og den gældende version (rolle: revisor)",
              responses=_problem_responses(401, 403, 404, 500))
    def genberegn(id: str, role: str = Depends(require(REVISOR))) -> Response:
        return json_response(service.replay(id))

    @app.get("/v1/log/verifikation", tags=["revision"], response_model=schemas.LogVerifikation,
             summary="Kontrollér hele hash-kæden i beslutningsloggen (rolle: revisor)",
             responses=_problem_responses(401, 403, 500))
    def verifikation(role: str = Depends(require(REVISOR))) -> Response:
        report = service.storage.verify_chain()
        if not report.intakt:
            log.error("beslutningsloggen er ikke intakt", extra={"haendelse": "log_ikke_intakt", **report.foerste_fejl.to_api()})  # type: ignore[union-attr]
        return json_response(report.to_api())

    @app.get("/v1/regelsaet", tags=["regelsaet"], response_model=schemas.RegelsaetListe,
             summary="Regelsættets versioner (alle roller)", responses=_problem_responses(401, 500))
    def regelsaet(role: str = Depends(require(VISITATOR, REVISOR, REDAKTOER))) -> Response:
        return json_response(service.versions_api())

    @app.get("/v1/regelsaet/{sha256}", tags=["regelsaet"], summary="Et gemt snapshot af en version (rolle: revisor, redaktoer)",
             responses={200: {"description": "Snapshot (indholdsadresseret JSON)", "content": {"application/json": {"schema": {"type": "object"}}}},
                        **_problem_responses(401, 403, 404, 500)})
    def snapshot(sha256: str, role: str = Depends(require(REVISOR, REDAKTOER))) -> Response:
        text = service.storage.get_snapshot(sha256)
        if text is None:
            raise ProblemException(404, "Der er ikke gemt en version med den sha256.", slug="ikke-fundet")
        return Response(text.encode("utf-8"), media_type="application/json")

    @app.post("/v1/regelsaet/valider", tags=["regelsaet"], response_model=schemas.RegelsaetValidering,
              summary="Validér regelfilerne på disken uden at tage dem i brug (rolle: redaktoer)",
              responses=_problem_responses(401, 403, 422, 500))
    def valider(role: str = Depends(require(REDAKTOER))) -> Response:
        try:
            versions = service.engine.check_files()
        except RulesInvalid as error:
            raise _rules_problem(error, "Regelfilerne på disken er ugyldige.") from None
        today = settings.today()
        return json_response({"gyldig": True, "genindlaest": False, "versioner": [v.summary(today) for v in versions]})

    @app.post("/v1/regelsaet/genindlaes", tags=["regelsaet"], response_model=schemas.RegelsaetValidering,
              summary="Validér regelfilerne og tag dem i brug (rolle: redaktoer); ved fejl beholdes de gamle regler",
              responses=_problem_responses(401, 403, 422, 500))
    def genindlaes(role: str = Depends(require(REDAKTOER))) -> Response:
        before = [v.sha256 for v in service.engine.versions()]
        try:
            versions = service.engine.reload()
        except RulesInvalid as error:
            log.warning("genindlæsning afvist", extra={"haendelse": "genindlaesning_afvist", "antal_problemer": len(error.problems)})
            raise _rules_problem(error, "Regelfilerne er ugyldige; de hidtidige regler er stadig i brug.") from None
        service._store_snapshots()
        log.info("regelsæt genindlæst", extra={"haendelse": "genindlaest", "foer": before, "efter": [v.sha256 for v in versions]})
        today = settings.today()
        return json_response({"gyldig": True, "genindlaest": True, "versioner": [v.summary(today) for v in versions]})

    from service.web import make_router

    app.include_router(make_router(service))

    log.info("tjenesten er klar", extra={"haendelse": "opstart", "regelsaet": service.engine.rule_set, "pid": os.getpid(),
                                         "versioner": len(service.engine.versions())})
    return app
