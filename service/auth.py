"""Who is asking: bearer tokens for the API, as FastAPI dependencies.

A token has one role and belongs to one municipality; only its sha256 is
stored. Every request looks the token up in the database (no cache), so a
revoked token stops working at once in every process. `require(...)` gives
the route an `Actor` or answers 401/403 as a problem document.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Optional

from fastapi import Request

from service.problems import ProblemException

VISITATOR, REVISOR, REDAKTOER = "visitator", "revisor", "redaktoer"
ROLES = (VISITATOR, REVISOR, REDAKTOER)
ROLE_TEXT = {VISITATOR: "visitator", REVISOR: "revisor", REDAKTOER: "redaktør"}


@dataclass(frozen=True)
class Actor:
    """The caller: a pseudonymous token id, its role and its municipality (never the token)."""

    token_id: str
    rolle: str
    kommune: str
    session_id: Optional[str] = None


def _bearer(request: Request) -> Optional[str]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def actor_from_token(store: object, token: str) -> Optional[Actor]:
    info = store.token_by_secret(token)  # type: ignore[attr-defined]
    if info is None:
        return None
    return Actor(info.id, info.rolle, info.kommune)


def require(*roles: str) -> Callable[[Request], Awaitable[Actor]]:
    """A FastAPI dependency: the caller, or 401/403 as problem documents."""
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Actor:
        token = _bearer(request)
        if token is None:
            raise ProblemException(401, "Angiv en adgangsnøgle i headeren 'Authorization: Bearer <nøgle>'.",
                                   slug="ikke-logget-ind", headers={"WWW-Authenticate": "Bearer"})
        actor = actor_from_token(request.app.state.store, token)
        if actor is None:
            raise ProblemException(401, "Adgangsnøglen er ukendt eller tilbagekaldt.", slug="ikke-logget-ind",
                                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        served = request.app.state.settings.kommuner
        if actor.kommune not in served:
            raise ProblemException(403, f"Adgangsnøglen hører til kommunen '{actor.kommune}', som denne installation ikke betjener "
                                        f"(den betjener {', '.join(served)}).", slug="kommune-ikke-betjent",
                                   title="Kommunen betjenes ikke af denne installation")
        if actor.rolle not in allowed:
            raise ProblemException(403, f"Rollen '{actor.rolle}' har ikke adgang; kræver {' eller '.join(sorted(allowed))}.",
                                   slug="ingen-adgang")
        request.state.role = actor.rolle
        request.state.actor = actor
        return actor

    dependency.__name__ = "rolle_" + "_".join(sorted(allowed))
    return dependency
