"""Web sessions for the pages: a signed cookie naming a server-side session, and CSRF.

Signing is itsdangerous' (a well-kept library, rather than hand-rolled HMAC);
the cookie holds only the session id and a per-session CSRF token, never the
bearer token. The session itself lives in the database, so logging out ends
it everywhere and a replayed cookie is refused; a revoked token ends all its
sessions. The cookie's Secure flag comes from configuration (the public URL),
never from the Host header.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Optional

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from service.auth import Actor

COOKIE = "visitator_session"
LOGIN_COOKIE = "visitator_login"


@dataclass(frozen=True)
class WebSession:
    actor: Actor
    csrf: str


class Sessions:
    def __init__(self, store: Any, secret: bytes, seconds: int, secure: bool):
        self.store = store
        self.seconds = seconds
        self.secure = secure
        key = hmac.new(secret, b"visitator-web-session-v2", hashlib.sha256).hexdigest()
        self._signer = URLSafeTimedSerializer(key, salt="session")
        self._login_signer = URLSafeTimedSerializer(key, salt="log-ind")

    # ------------------------------------------------------------------ sign-in form

    def login_nonce(self, response: Response) -> str:
        """A one-time value for the sign-in form, also set as a short-lived cookie (double submit)."""
        nonce = secrets.token_urlsafe(24)
        response.set_cookie(LOGIN_COOKIE, self._login_signer.dumps(nonce), max_age=900, httponly=True, samesite="strict",
                            secure=self.secure, path="/log-ind")
        return nonce

    def login_nonce_ok(self, request: Request, submitted: str) -> bool:
        try:
            expected = self._login_signer.loads(request.cookies.get(LOGIN_COOKIE, ""), max_age=900)
        except BadSignature:
            return False
        return isinstance(expected, str) and hmac.compare_digest(expected, submitted)

    # ------------------------------------------------------------------ sessions

    def start(self, response: Response, actor: Actor) -> None:
        session_id = self.store.create_session(actor.token_id, self.seconds)
        csrf = secrets.token_urlsafe(32)
        response.set_cookie(COOKIE, self._signer.dumps({"s": session_id, "c": csrf}), max_age=self.seconds, httponly=True,
                            samesite="strict", secure=self.secure, path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/log-ind")

    def current(self, request: Request) -> Optional[WebSession]:
        raw = request.cookies.get(COOKIE)
        if not raw or len(raw) > 4096:
            return None
        try:
            data = self._signer.loads(raw, max_age=self.seconds)
            session_id, csrf = str(data["s"]), str(data["c"])
        except (BadSignature, KeyError, TypeError):
            return None
        row = self.store.session(session_id)
        if row is None:
            return None  # logged out, expired, or never existed
        info = self.store.token_by_id(row[0])
        if info is None or info.tilbagekaldt:
            return None
        actor = Actor(info.id, info.rolle, info.kommune, session_id)
        request.state.role = actor.rolle
        request.state.actor = actor
        return WebSession(actor, csrf)

    def end(self, response: Response, session: Optional[WebSession]) -> None:
        if session is not None and session.actor.session_id:
            self.store.end_session(session.actor.session_id)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=self.secure)

    @staticmethod
    def csrf_ok(session: WebSession, submitted: Any) -> bool:
        return hmac.compare_digest(str(submitted or ""), session.csrf)
