"""Signing in (pasting the token, or the first-start link `visitator serve` prints, which
redirects at once to a URL without the token) and out (ending the server-side session)."""
from __future__ import annotations

from typing import Any, Optional

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from engine.wording import count
from service.auth import actor_from_token
from service.web.common import HOME, csrf_refused, current_session, page_router, redirect, render, state

router = page_router()
UNKNOWN = "Adgangsnøglen er ukendt eller tilbagekaldt. Kontrollér, at du har indsat hele nøglen."


def safe_next(value: Any) -> str:
    """A same-site path to continue to after sign-in (never another host)."""
    text = str(value or "")
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text and len(text) < 500 else ""


def _login_page(request: Request, naeste: str, fejl: Optional[str] = None, status: int = 200) -> Response:
    s = state(request)
    cookie_holder = Response()
    nonce = s.sessions.login_nonce(cookie_holder)  # the double-submit value: as a cookie and in the form
    response = render(request, "log_ind.html", status, session=None, csrf="", naeste=naeste, fejl=fejl,
                      timer=count(max(1, s.settings.session_seconds // 3600), "time", "timer"), login_csrf=nonce)
    for value in cookie_holder.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    return response


def _sign_in(request: Request, token: str, naeste: str) -> Optional[Response]:
    """A redirect with a new session, or None when the token is unknown or revoked."""
    actor = actor_from_token(state(request).store, token) if token else None
    if actor is None or actor.kommune not in state(request).settings.kommuner:
        return None  # unknown, revoked, or of a municipality this installation does not serve
    response = redirect(naeste or HOME[actor.rolle])
    state(request).sessions.start(response, actor)
    return response


@router.get("/")
def forside(request: Request) -> Response:
    session = current_session(request)
    return redirect(HOME[session.actor.rolle] if session else "/log-ind")


@router.get("/log-ind")
def log_ind_side(request: Request) -> Response:
    """The sign-in form; with ?noegle=<token> (the first-start link) sign in and redirect without it."""
    naeste = safe_next(request.query_params.get("naeste"))
    token = request.query_params.get("noegle")
    if token is not None:
        signed = _sign_in(request, token.strip()[:400], naeste)
        if signed is not None:
            return signed
        return _login_page(request, naeste, UNKNOWN, 401)
    return _login_page(request, naeste)


@router.post("/log-ind")
async def log_ind(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_log_ind, request, form)


def _log_ind(request: Request, form: Any) -> Response:
    naeste = safe_next(form.get("naeste"))
    if not state(request).sessions.login_nonce_ok(request, str(form.get("csrf", ""))):
        return _login_page(request, naeste, "Formularen var udløbet. Indsæt adgangsnøglen igen.", 403)
    signed = _sign_in(request, str(form.get("token", "")).strip()[:400], naeste)
    return signed if signed is not None else _login_page(request, naeste, UNKNOWN, 401)


@router.post("/log-ud")
async def log_ud(request: Request) -> Response:
    """End the server-side session (a replayed cookie is refused afterwards); CSRF-checked."""
    form = await request.form()
    return await run_in_threadpool(_log_ud, request, form)


def _log_ud(request: Request, form: Any) -> Response:
    s = state(request)
    session = current_session(request)
    if session is not None and not s.sessions.csrf_ok(session, form.get("csrf")):
        return csrf_refused(request).response
    response = redirect("/log-ind")
    s.sessions.end(response, session)
    return response
