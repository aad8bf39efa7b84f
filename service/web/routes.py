"""The web pages' routes (see service/web/__init__.py for the session design)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from engine import ScreeningInvalid
from engine.model import LOV_NAVN, KATEGORI_SPOR, SPOR_ORDER
from engine.wording import value_text
from service.auth import role_of
from service.problems import ProblemException
from service.storage import token_hash
from service.web import view

HERE = Path(__file__).resolve().parent
COOKIE = "visitator_session"
LOGIN_COOKIE = "visitator_login"
SESSION_SECONDS = 8 * 3600
HOME = {"visitator": "/visitation", "revisor": "/revision", "redaktoer": "/regler"}
ROLE_TEXT = {"visitator": "visitator", "revisor": "revisor", "redaktoer": "redaktør"}
PAGE_SIZE = 50


def _is_loopback(host: Optional[str]) -> bool:
    from service.commands import is_loopback

    if not host:
        return False
    try:
        return is_loopback(host.strip("[]"))
    except ValueError:
        return False


@dataclass(frozen=True)
class Session:
    role: str
    token_sha256: str
    csrf: str
    expires: int


class SessionCodec:
    """A session as a signed cookie value: base64(json).hex(hmac)."""

    def __init__(self, service_key: bytes):
        self.key = hmac.new(service_key, b"visitator-web-session-v1", hashlib.sha256).digest()

    def _sig(self, body: str) -> str:
        return hmac.new(self.key, body.encode("ascii"), hashlib.sha256).hexdigest()

    def dump(self, session: Session) -> str:
        payload = {"r": session.role, "h": session.token_sha256, "c": session.csrf, "e": session.expires}
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode("ascii").rstrip("=")
        return body + "." + self._sig(body)

    def load(self, value: Optional[str]) -> Optional[Session]:
        if not value or "." not in value or len(value) > 4096:
            return None
        body, _, sig = value.rpartition(".")
        try:
            if not hmac.compare_digest(sig, self._sig(body)):
                return None
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = Session(str(data["r"]), str(data["h"]), str(data["c"]), int(data["e"]))
        except (ValueError, KeyError, TypeError, UnicodeError):
            return None
        return session if session.expires > time.time() else None


def make_router(service: Any) -> APIRouter:
    """The web pages for one Service (engine, storage, HMAC key)."""
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(dansk_dato=view.dansk_dato_text, LOV_NAVN=LOV_NAVN, ROLE_TEXT=ROLE_TEXT)
    templates.env.filters["lov"] = view.legal_danish
    templates.env.filters["kilde"] = view.source_danish
    templates.env.filters["betingelse"] = view.condition_danish
    templates.env.filters["vaerdi"] = value_text
    codec = SessionCodec(service.hmac_key)
    impact_cache: dict[tuple[str, str], Any] = {}
    impact_lock = threading.Lock()
    css = (HERE / "static" / "web.css").read_bytes()

    # ------------------------------------------------------------------ helpers

    def secure(request: Request) -> bool:
        return not _is_loopback(request.url.hostname)

    def current(request: Request) -> Optional[Session]:
        session = codec.load(request.cookies.get(COOKIE))
        if session is None:
            return None
        if service.storage.token_role(session.token_sha256) != session.role:
            return None  # the token was removed or changed role
        request.state.role = session.role
        return session

    def render(request: Request, name: str, session: Optional[Session], status: int = 200, **context: Any) -> Response:
        context.update(request=request, session=session, csrf=session.csrf if session else "")
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        return response

    def guard(request: Request, *roles: str) -> Session | Response:
        session = current(request)
        if session is None:
            target = request.url.path + (("?" + request.url.query) if request.url.query else "")
            return RedirectResponse("/log-ind?" + urlencode({"naeste": target}), status_code=303)
        if session.role not in roles:
            return render(request, "fejl.html", session, 403, titel="Ingen adgang",
                          besked=f"Rollen {ROLE_TEXT[session.role]} har ikke adgang til denne side. "
                                 f"Den kræver {' eller '.join(ROLE_TEXT[r] for r in roles)}.")
        return session

    async def checked_form(request: Request, session: Session) -> Any:
        form = await request.form()
        if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            return None
        return form

    def csrf_failed(request: Request, session: Optional[Session]) -> Response:
        return render(request, "fejl.html", session, 403, titel="Formularen kunne ikke godkendes",
                      besked="Sikkerhedskoden i formularen passer ikke til din session. Gå tilbage, genindlæs siden og prøv igen.")

    def not_found(request: Request, session: Session, what: str) -> Response:
        return render(request, "fejl.html", session, 404, titel="Ikke fundet", besked=what)

    # ------------------------------------------------------------------ sign-in

    @router.get("/static/web.css")
    def stylesheet() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    @router.get("/")
    def forside(request: Request) -> Response:
        session = current(request)
        return RedirectResponse(HOME[session.role] if session else "/log-ind", status_code=303)

    def login_page(request: Request, naeste: str, fejl: Optional[str] = None, status: int = 200) -> Response:
        nonce = secrets.token_urlsafe(24)
        response = render(request, "log_ind.html", None, status, login_csrf=nonce, naeste=naeste, fejl=fejl)
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=900, httponly=True, samesite="strict", secure=secure(request), path="/log-ind")
        return response

    def safe_next(value: Any) -> str:
        text = str(value or "")
        return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else ""

    @router.get("/log-ind")
    def log_ind_side(request: Request, naeste: str = "") -> Response:
        return login_page(request, safe_next(naeste))

    @router.post("/log-ind")
    async def log_ind(request: Request) -> Response:
        form = await request.form()
        naeste = safe_next(form.get("naeste"))
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not hmac.compare_digest(str(form.get("csrf", "")), cookie):
            return login_page(request, naeste, "Formularen var udløbet. Indsæt adgangsnøglen igen.", 403)
        token = str(form.get("token", "")).strip()
        role = role_of(service.storage, token) if token else None
        if role is None:
            return login_page(request, naeste, "Adgangsnøglen er ukendt. Kontrollér, at du har indsat hele nøglen.", 401)
        session = Session(role, token_hash(token), secrets.token_urlsafe(32), int(time.time()) + SESSION_SECONDS)
        response = RedirectResponse(naeste or HOME[role], status_code=303)
        response.set_cookie(COOKIE, codec.dump(session), max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                            secure=secure(request), path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/log-ind")
        return response

    @router.post("/log-ud")
    async def log_ud(request: Request) -> Response:
        session = current(request)
        if session is not None and await checked_form(request, session) is None:
            return csrf_failed(request, session)
        response = RedirectResponse("/log-ind", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure(request))
        return response

    # ------------------------------------------------------------------ visitation

    @router.get("/visitation")
    def visitation_side(request: Request) -> Response:
        session = guard(request, "visitator")
        if isinstance(session, Response):
            return session
        state = view.FormState.empty(service.settings.today())
        return render(request, "visitation.html", session, form=state, valg=view.CHOICES, grupper=view.GROUPS)

    @router.post("/visitation")
    async def visitation(request: Request) -> Response:
        session = guard(request, "visitator")
        if isinstance(session, Response):
            return session
        form = await checked_form(request, session)
        if form is None:
            return csrf_failed(request, session)
        state = view.FormState.from_form(form)
        handling = str(form.get("handling", "vurder"))
        if handling == "tilfoej":
            state.rows.append(("", ""))
            state.focus = f"rusmidler-{len(state.rows) - 1}-stof"
        elif handling.startswith("fjern-"):
            try:
                del state.rows[int(handling[6:])]
            except (ValueError, IndexError):
                pass
        else:
            body, index_map = state.body()
            try:
                record_id, _ = await service.decide_async(body)
            except ScreeningInvalid as error:
                state.set_problems([(p.felt, p.besked) for p in error.problems], index_map)
            except ProblemException as error:
                if error.status != 422:
                    raise
                state.set_problems([(f["felt"], f["besked"]) for f in (error.fejl or [{"felt": "", "besked": error.detail}])], index_map)
            else:
                return RedirectResponse(f"/vurdering/{record_id}", status_code=303)
            return render(request, "visitation.html", session, 422, form=state, valg=view.CHOICES, grupper=view.GROUPS)
        return render(request, "visitation.html", session, form=state, valg=view.CHOICES, grupper=view.GROUPS)

    @router.get("/vurdering/{id}")
    def vurdering(request: Request, id: str, print: str = "") -> Response:
        session = guard(request, "visitator", "revisor")
        if isinstance(session, Response):
            return session
        record = service.storage.get_record(id)
        if record is None:
            return not_found(request, session, "Der findes ingen vurdering med det id.")
        result = view.Result(json.loads(record["svar"]))
        return render(request, "vurdering.html", session, r=result, udskrift=bool(print), id=id)

    # ------------------------------------------------------------------ revision

    @router.get("/revision")
    def revision(request: Request) -> Response:
        session = guard(request, "revisor")
        if isinstance(session, Response):
            return session
        q = request.query_params
        values = {k: q.get(k, "").strip() for k in ("fra", "til", "version", "kategori", "spor", "borger_reference")}
        try:
            offset = max(0, int(q.get("offset", "0") or 0))
        except ValueError:
            offset = 0
        problems: dict[str, str] = {}
        dates: dict[str, Optional[date]] = {}
        for key in ("fra", "til"):
            try:
                dates[key] = date.fromisoformat(values[key]) if values[key] else None
            except ValueError:
                problems[key] = "skal være en dato på formen ÅÅÅÅ-MM-DD"
        if values["kategori"] and values["kategori"] not in KATEGORI_SPOR:
            problems["kategori"] = "ukendt kategori"
        if values["spor"] and values["spor"] not in SPOR_ORDER:
            problems["spor"] = "ukendt spor"
        rows: list[dict[str, Any]] = []
        total = 0
        if not problems:
            try:
                filters = service.filters(dates.get("fra"), dates.get("til"), values["version"] or None, values["kategori"] or None,
                                          values["spor"] or None, values["borger_reference"] or None)
            except ProblemException as error:
                for f in error.fejl or []:
                    problems[f["felt"]] = f["besked"]
            else:
                total, records = service.storage.list_records(filters, PAGE_SIZE, offset)
                for record in records:
                    svar = json.loads(record["svar"])
                    rows.append({"seq": record["seq"], "id": record["id"], "oprettet": record["oprettet"],
                                 "version": svar["regelsaet"]["version"], "vurderingsdato": record["vurderingsdato"],
                                 "anbefalinger": [(view.SPOR_TEKST.get(a["spor"], a["spor"]), a["tilbud"]["navn"]) for a in svar["anbefalinger"]]})
        base = {k: v for k, v in values.items() if v}
        prev_link = "/revision?" + urlencode({**base, "offset": max(0, offset - PAGE_SIZE)}) if offset > 0 else None
        next_link = "/revision?" + urlencode({**base, "offset": offset + PAGE_SIZE}) if offset + len(rows) < total else None
        chain = service.storage.verify_chain().to_api()
        return render(request, "revision.html", session, 422 if problems else 200, v=values, problemer=problems, rows=rows,
                      total=total, offset=offset, forrige=prev_link, naeste=next_link, kaede=chain,
                      kategorier=sorted(KATEGORI_SPOR), spor=SPOR_ORDER, spor_tekst=view.SPOR_TEKST,
                      versioner=[v.version for v in service.engine.versions()])

    def decision_page(request: Request, session: Session, id: str, replay: Optional[dict[str, Any]] = None,
                      replay_error: Optional[ProblemException] = None) -> Response:
        record = service.storage.get_record(id)
        if record is None:
            return not_found(request, session, "Der findes ingen vurdering med det id.")
        result = view.Result(json.loads(record["svar"]))
        screening = json.loads(record["screening"])
        return render(request, "beslutning.html", session, r=result, id=id, record=record, screening=screening,
                      genberegning=replay, genberegning_fejl=replay_error, udskrift=False)

    @router.get("/revision/{id}")
    def beslutning(request: Request, id: str) -> Response:
        session = guard(request, "revisor")
        if isinstance(session, Response):
            return session
        return decision_page(request, session, id)

    @router.post("/revision/{id}/genberegn")
    async def genberegn(request: Request, id: str) -> Response:
        session = guard(request, "revisor")
        if isinstance(session, Response):
            return session
        if await checked_form(request, session) is None:
            return csrf_failed(request, session)
        if service.storage.get_record(id) is None:
            return not_found(request, session, "Der findes ingen vurdering med det id.")
        try:
            replay = await run_in_threadpool(service.replay, id)
        except ProblemException as error:
            return decision_page(request, session, id, replay_error=error)
        return decision_page(request, session, id, replay=replay)

    # ------------------------------------------------------------------ rule sets

    def versions_list() -> list[Any]:
        return list(service.engine.versions())

    @router.get("/regler")
    def regler(request: Request) -> Response:
        session = guard(request, "redaktoer", "revisor")
        if isinstance(session, Response):
            return session
        info = service.versions_api()
        return render(request, "regler.html", session, info=info)

    @router.get("/regler/konsekvens")
    def konsekvens(request: Request, fra: str = "", til: str = "") -> Response:
        session = guard(request, "redaktoer")
        if isinstance(session, Response):
            return session
        from engine.cases import load_cases
        from engine.diff import KIND_TEXT, KINDS, Side, diff
        from service.cli import default_cases_dir

        dates = [v.version for v in versions_list() if not v.afventer] + [v.version for v in versions_list() if v.afventer]
        problems: dict[str, str] = {}
        for key, value in (("fra", fra), ("til", til)):
            if value and value not in dates:
                problems[key] = "vælg en af versionernes datoer"
        report = None
        if fra and til and not problems:
            key = (fra, til, service.engine.rules_dir.as_posix(), tuple(v.sha256 for v in versions_list()))
            with impact_lock:
                report = impact_cache.get(key)  # type: ignore[arg-type]
                if report is None:
                    cases_dir = default_cases_dir()
                    bodies = [c.screening for c in load_cases(cases_dir) if "fejl" not in c.forventet]
                    rules_dir = service.engine.rules_dir
                    report = diff(Side(f"regler i kraft {fra}", rules_dir, date.fromisoformat(fra)),
                                  Side(f"regler i kraft {til}", rules_dir, date.fromisoformat(til)),
                                  bodies, "de gyldne tilfælde i cases/", workers=1)
                    impact_cache[key] = report  # type: ignore[index]
        return render(request, "konsekvens.html", session, 422 if problems else 200, datoer=dates, fra=fra, til=til,
                      problemer=problems, rapport=report, kinds=KINDS, kind_text=KIND_TEXT, kort=view.short_value)

    @router.get("/regler/{sha256}")
    def regelversion(request: Request, sha256: str) -> Response:
        session = guard(request, "redaktoer", "revisor")
        if isinstance(session, Response):
            return session
        version = next((v for v in versions_list() if v.sha256 == sha256), None)
        if version is None:
            return not_found(request, session, "Der er ingen version af regelsættet med den sha256.")
        return render(request, "regelversion.html", session, version=version,
                      version_status=version.status(service.settings.today()), spor_tekst=view.SPOR_TEKST)

    return router
