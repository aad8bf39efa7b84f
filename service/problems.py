"""RFC 9457 problem documents: every 4xx and 5xx body is application/problem+json."""
from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any, Optional, Sequence

from starlette.responses import Response

PROBLEM_TYPE = "application/problem+json"
BASE = "https://visitator.dk/problemer/"

TITLES = {
    400: "Forespørgslen kan ikke læses",
    401: "Manglende eller ugyldig adgangsnøgle",
    403: "Rollen giver ikke adgang",
    404: "Ikke fundet",
    405: "Metoden er ikke tilladt",
    410: "Indholdet er slettet efter reglerne om opbevaring",
    413: "Forespørgslen er for stor",
    415: "Ikke-understøttet medietype",
    422: "Ugyldige oplysninger",
    500: "Intern fejl",
    503: "Tjenesten er ikke klar",
}


class ProblemException(Exception):
    """Raise anywhere in a handler to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, slug: Optional[str] = None, title: Optional[str] = None,
                 fejl: Optional[Sequence[dict[str, str]]] = None, headers: Optional[dict[str, str]] = None, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title
        self.fejl = list(fejl) if fejl is not None else None
        self.headers = headers
        self.extra = extra


def problem_body(status: int, detail: str, *, slug: Optional[str] = None, title: Optional[str] = None,
                 fejl: Optional[Sequence[dict[str, str]]] = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": BASE + slug if slug else "about:blank",
        "title": title or TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if fejl is not None:
        body["fejl"] = list(fejl)
    body.update(extra)
    return body


def problem_response(status: int, detail: str, *, headers: Optional[dict[str, str]] = None, **kwargs: Any) -> Response:
    body = problem_body(status, detail, **kwargs)
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def from_exception(exc: ProblemException) -> Response:
    return problem_response(exc.status, exc.detail, slug=exc.slug, title=exc.title, fejl=exc.fejl, headers=exc.headers, **exc.extra)


def raw_problem_bytes(status: int, detail: str, **kwargs: Any) -> bytes:
    return json.dumps(problem_body(status, detail, **kwargs), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
