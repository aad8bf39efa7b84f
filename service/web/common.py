"""What every page shares: templates, `render` with the security headers, and the session,
role and CSRF guards as FastAPI dependencies (route modules never touch cookies or signing)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Coroutine, Mapping, Optional
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from engine.wording import SPOR_NAVN, count, dansk_dato, dansk_tid
from service import logs
from service.auth import REDAKTOER, REVISOR, ROLE_TEXT, VISITATOR
from service.problems import ProblemException
from service.sessions import WebSession

HERE = Path(__file__).resolve().parent
HOME = {VISITATOR: "/visitation", REVISOR: "/revision", REDAKTOER: "/regler"}
#: No script, no inline style, no framing; forms post only to this site.
CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
SECURITY_HEADERS = {
    "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY", "Content-Security-Policy": CSP,
}
log = logging.getLogger(logs.LOGGER)


def _iso_dansk_dato(value: Any) -> str:
    """An ISO date text (or a date) as '16. november 2026'; anything else unchanged."""
    from datetime import date

    if isinstance(value, date):
        return dansk_dato(value)
    try:
        return dansk_dato(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}  # UTF-8, never \u00f8
templates.env.globals.update(dansk_dato=_iso_dansk_dato, dansk_tid=dansk_tid, antal=count, ROLE_TEXT=ROLE_TEXT, SPOR_NAVN=SPOR_NAVN)


class PageExit(Exception):
    """Raised by a guard to end the request with this response."""

    def __init__(self, response: Response):
        super().__init__("page exit")
        self.response = response


class PageRoute(APIRoute):
    """A page route: guard exits become their response, and problems (404, 410, 422
    from the services) become a Danish error page instead of problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            from service.log import StoreUnavailable

            try:
                return await handler(request)
            except PageExit as exit_:
                return exit_.response
            except ProblemException as problem:
                return error_page(request, problem.status, _problem_title(problem.status), problem.detail)
            except StoreUnavailable as error:
                request.app.state.metrics.storage_errors.inc()
                log.error("databasen svarer ikke", extra={"haendelse": "database_utilgaengelig", "sti": request.url.path, "grund": str(error)})
                response = error_page(request, 503, "Databasen svarer ikke", "Databasen svarer ikke lige nu; intet er gemt. Prøv igen om lidt.")
                response.headers["Retry-After"] = "1"
                return response

        return page_handler


def _problem_title(status: int) -> str:
    return {404: "Ikke fundet", 410: "Slettet efter reglerne", 409: "Kan ikke udføres", 403: "Ingen adgang"}.get(status, "Der opstod en fejl")


def page_router() -> APIRouter:
    return APIRouter(include_in_schema=False, route_class=PageRoute)


# --------------------------------------------------------------------------- rendering


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """A template as a response with the security headers; `session` and `csrf` come from the guard."""
    session: Optional[WebSession] = getattr(request.state, "web_session", None)
    context.setdefault("session", session)
    context.setdefault("csrf", session.csrf if session else "")
    context.setdefault("udskrift", False)
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status: int, titel: str, besked: str) -> Response:
    return render(request, "fejl.html", status, titel=titel, besked=besked)


def redirect(url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    return response


# --------------------------------------------------------------------------- guards (dependencies)


def current_session(request: Request) -> Optional[WebSession]:
    """The signed-in session, or None (the session lives server-side; see service.sessions)."""
    session: Optional[WebSession] = request.app.state.sessions.current(request)
    request.state.web_session = session
    return session


def _sign_in_first(request: Request) -> PageExit:
    target = request.url.path + (("?" + request.url.query) if request.url.query else "")
    return PageExit(redirect("/log-ind?" + urlencode({"naeste": target})))


def _wrong_role(request: Request, session: WebSession, roles: tuple[str, ...]) -> PageExit:
    needed = " eller ".join(ROLE_TEXT[r] for r in roles)
    return PageExit(error_page(request, 403, "Ingen adgang",
                               f"Rollen {ROLE_TEXT[session.actor.rolle]} har ikke adgang til denne side. Den kræver {needed}."))


def signed_in(*roles: str) -> Callable[[Request], WebSession]:
    """A dependency: the session of a user with one of `roles` (else sign-in or a 403 page)."""

    def dependency(request: Request) -> WebSession:
        session = current_session(request)
        if session is None:
            raise _sign_in_first(request)
        if session.actor.rolle not in roles:
            raise _wrong_role(request, session, roles)
        return session

    dependency.__name__ = "side_" + "_".join(roles)
    return dependency


@dataclass(frozen=True)
class Posted:
    """A submitted form whose CSRF token matched the session's."""

    session: WebSession
    form: FormData

    def get(self, name: str, default: str = "") -> str:
        return str(self.form.get(name, default) or default)[:4000]


def csrf_refused(request: Request) -> PageExit:
    return PageExit(error_page(request, 403, "Formularen kunne ikke godkendes",
                               "Sikkerhedskoden i formularen passer ikke til din session. Gå tilbage, genindlæs siden og prøv igen."))


def posted(*roles: str) -> Callable[[Request], Awaitable[Posted]]:
    """A dependency for every POST: the session (with one of `roles`) and its form, CSRF-checked."""
    guard = signed_in(*roles)

    async def dependency(request: Request) -> Posted:
        session = await run_in_threadpool(guard, request)  # a database read: off the event loop
        form = await request.form()
        if not request.app.state.sessions.csrf_ok(session, form.get("csrf")):
            raise csrf_refused(request)
        return Posted(session, form)

    dependency.__name__ = "formular_" + "_".join(roles)
    return dependency


def query_values(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """Query parameters as stripped text (pages validate them themselves and answer with a page)."""
    q: Mapping[str, str] = request.query_params
    return {k: str(q.get(k, "")).strip()[:200] for k in names}


def state(request: Request) -> Any:
    """The running app's service objects (set by service.app.create_app)."""
    return request.app.state
