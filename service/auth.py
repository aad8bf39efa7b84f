"""Bearer tokens with one role each; only the token's sha256 is stored."""
from __future__ import annotations

import secrets
import time
from typing import Awaitable, Callable

from fastapi import Request

from service.problems import ProblemException
from service.storage import ROLES, Storage, token_hash

ALL_ROLES = ROLES


def new_token() -> str:
    return "vst_" + secrets.token_urlsafe(32)


def create_token(storage: Storage, role: str, navn: str | None = None) -> str:
    token = new_token()
    storage.add_token(token_hash(token), role, navn)
    return token


#: Known tokens are re-read from the database after CACHE_SECONDS.
CACHE_SECONDS = 30.0


def role_of(storage: Storage, token: str) -> str | None:
    digest = token_hash(token)
    _cache: dict[str, tuple[str, float]] = storage.__dict__.setdefault("_token_cache", {})
    hit = _cache.get(digest)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    role = storage.token_role(digest)
    if role is not None:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[digest] = (role, now + CACHE_SECONDS)
    return role


def require(*roles: str) -> Callable[[Request], Awaitable[str]]:
    """A FastAPI dependency: the caller's role, or 401/403 as problem documents.

    Async (runs on the event loop: one indexed SQLite lookup, then cached) so
    that authentication never waits for a thread-pool slot."""
    allowed = frozenset(roles)

    async def dependency(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ProblemException(401, "Angiv en adgangsnøgle i headeren 'Authorization: Bearer <nøgle>'.",
                                   slug="ikke-logget-ind", headers={"WWW-Authenticate": "Bearer"})
        role = role_of(request.app.state.storage, token)
        if role is None:
            raise ProblemException(401, "Adgangsnøglen er ukendt.", slug="ikke-logget-ind",
                                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if role not in allowed:
            raise ProblemException(403, f"Rollen '{role}' har ikke adgang; kræver {' eller '.join(sorted(allowed))}.",
                                   slug="ingen-adgang")
        request.state.role = role
        return role

    dependency.__name__ = "rolle_" + "_".join(sorted(allowed))
    return dependency
