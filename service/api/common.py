"""What every API router shares: JSON responses, documented problem responses,
the service objects of the running app, and strict query parameters."""
from __future__ import annotations

import json
from typing import Any, Iterable, Optional

from fastapi import Request
from starlette.responses import Response

from service.params import IsoDate  # noqa: F401 - re-exported for the routers

#: The problem document, for the OpenAPI schema.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                   "fejl": {"type": "array", "items": {"type": "object", "properties": {"felt": {"type": "string"}, "besked": {"type": "string"}}}},
                   "fejl_id": {"type": "string"}},
}
_DESCRIPTIONS = {
    400: "Kroppen er ikke gyldig JSON", 401: "Manglende eller ukendt adgangsnøgle", 403: "Rollen giver ikke adgang",
    404: "Ikke fundet", 405: "Metoden er ikke tilladt", 408: "Kroppen kom ikke i tide", 409: "Konflikt",
    410: "Indholdet er slettet efter reglerne om opbevaring", 413: "Kroppen er over 1 MB", 422: "Valideringsfejl (med `fejl`)",
    500: "Uventet fejl (med `fejl_id`, som også står i serverens log)", 503: "Databasen svarer ikke; prøv igen",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"description": _DESCRIPTIONS[c], "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}} for c in codes}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_response(value: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Response:
    return Response(dumps(value).encode("utf-8"), status_code=status, media_type="application/json", headers=headers)


def purpose(request: Request) -> str:
    """What the access log records as a read's purpose: the method and the route that read, e.g.
    'GET /v1/vurderinger/{id}' or 'GET /vurdering/{id}' (the template, never the ids or the query)."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', None) or request.url.path}"


def services(request: Request) -> Any:
    """The running app's service objects (set by service.app.create_app)."""
    return request.app.state



def offer_names(engine: Any, sha256s: Iterable[str] = ()) -> dict[str, str]:
    """Offer id -> name over every version of the engine (and the given past versions)."""
    names: dict[str, str] = {}
    for version in engine.versions():
        names.update({o.id: o.navn for o in version.offers})
    for sha in set(sha256s) - {v.sha256 for v in engine.versions()}:
        try:
            names.update({o.id: o.navn for o in engine.version_by_sha(sha).offers})
        except Exception:  # an unknown old version: the category name is shown instead
            continue
    return names
