"""Server-rendered Danish web pages for caseworkers, auditors and policy staff.

Plain Jinja2 templates, no JavaScript, no build step. Sign-in exchanges a
bearer token (pasted once) for a session cookie. The session is a signed
cookie (HMAC-SHA256 with a key derived from the service's persistent HMAC key,
so it survives restarts and works with several workers); it carries the role,
the token's sha256 (re-checked against the database on every request, so a
removed token ends the session), a per-session CSRF token and an expiry --
never the bearer token itself. Every POST checks the CSRF token.
"""
from __future__ import annotations

from service.web.routes import make_router

__all__ = ["make_router"]
