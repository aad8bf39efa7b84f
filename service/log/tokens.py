"""Bearer tokens (only their sha256 is stored; creation and revocation are chain events) and
server-side web sessions (only the sha256 of the session secret is stored). No caching here:
a revocation or a logout is effective at once in every process."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import Connection, func, insert, select, update

from service.log.append import Appender, utc_text
from service.log.backend import Database
from service.log.schema import sessioner as S
from service.log.schema import tokens as T
from service.log.store import ALL_KOMMUNER, ROLES, NotFound, TokenInfo

KOMMUNE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def secret_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_kommune(kommune: str) -> str:
    if not isinstance(kommune, str) or not KOMMUNE.fullmatch(kommune):
        raise ValueError(f"ugyldig kommune {kommune!r}: brug små bogstaver, tal og bindestreg (fx 'herning')")
    return kommune


def _info(row: Any) -> TokenInfo:
    return TokenInfo(row["id"], row["rolle"], row["kommune"], row["navn"], row["oprettet"], row["tilbagekaldt"])


def create_token(db: Database, rolle: str, kommune: str, navn: Optional[str], now: datetime) -> tuple[str, TokenInfo]:
    if rolle not in ROLES:
        raise ValueError(f"ukendt rolle '{rolle}'; tilladt: {', '.join(ROLES)}")
    check_kommune(kommune)
    text = "vst_" + secrets.token_urlsafe(32)
    info = TokenInfo("t-" + secrets.token_hex(6), rolle, kommune, navn, utc_text(now), None)
    with db.write() as conn:
        chain = Appender(conn, db, kommune)
        chain.add("token_oprettet", info.id, info.oprettet, {"rolle": rolle}, None)
        chain.close()
        conn.execute(insert(T).values(id=info.id, sha256=secret_sha256(text), rolle=rolle, kommune=kommune, navn=navn,
                                      oprettet=info.oprettet, tilbagekaldt=None))
    return text, info


def token_by_secret(db: Database, text: str) -> Optional[TokenInfo]:
    with db.read() as conn:
        row = conn.execute(select(T).where(T.c.sha256 == secret_sha256(text), T.c.tilbagekaldt.is_(None))).mappings().first()
    return _info(row) if row else None


def token_by_id(db: Database, token_id: str) -> Optional[TokenInfo]:
    """A token by its pseudonymous id (revoked ones too: the caller checks `tilbagekaldt`)."""
    with db.read() as conn:
        row = conn.execute(select(T).where(T.c.id == token_id)).mappings().first()
    return _info(row) if row else None


def revoke_token(db: Database, kommune: Optional[str], token_id: str, now: datetime) -> TokenInfo:
    """Revoke (and end its sessions); NotFound for an unknown token or one of another kommune."""
    with db.write() as conn:
        query = select(T).where(T.c.id == token_id)
        if kommune is not None:
            query = query.where(T.c.kommune == kommune)
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"adgangsnøglen {token_id} findes ikke")
        if row["tilbagekaldt"] is not None:
            return _info(row)
        when = utc_text(now)
        chain = Appender(conn, db, row["kommune"])
        chain.add("token_tilbagekaldt", token_id, when, {"rolle": row["rolle"]}, None)
        chain.close()
        conn.execute(update(T).where(T.c.id == token_id).values(tilbagekaldt=when))
        _end_sessions(conn, token_id, when)
        return _info(dict(row, tilbagekaldt=when))


def list_tokens(db: Database, kommune: Optional[str]) -> list[TokenInfo]:
    query = select(T).order_by(T.c.kommune, T.c.oprettet, T.c.id)
    if kommune is not None and kommune != ALL_KOMMUNER:
        query = query.where(T.c.kommune == kommune)
    with db.read() as conn:
        return [_info(r) for r in conn.execute(query).mappings()]


def count_tokens(db: Database) -> int:
    """Tokens that still work."""
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(T).where(T.c.tilbagekaldt.is_(None))).scalar_one())


# --------------------------------------------------------------------------- sessions


def create_session(db: Database, token_id: str, seconds: int, now: datetime) -> str:
    """A new session for a token; returns the session secret (only its sha256 is stored)."""
    secret = secrets.token_urlsafe(32)
    with db.write() as conn:
        if conn.execute(select(T.c.id).where(T.c.id == token_id, T.c.tilbagekaldt.is_(None))).first() is None:
            raise NotFound(f"adgangsnøglen {token_id} findes ikke eller er tilbagekaldt")
        conn.execute(insert(S).values(id=secret_sha256(secret), token_id=token_id, oprettet=utc_text(now),
                                      udloeber=utc_text(now + timedelta(seconds=seconds)), afsluttet=None))
    return secret


def session(db: Database, secret: str, now: datetime) -> Optional[tuple[str, datetime]]:
    """(token_id, expiry) of a live session: not ended, not expired, and its token not revoked."""
    with db.read() as conn:
        row = conn.execute(select(S.c.token_id, S.c.udloeber).select_from(S.join(T, T.c.id == S.c.token_id)).where(
            S.c.id == secret_sha256(secret), S.c.afsluttet.is_(None), S.c.udloeber > utc_text(now),
            T.c.tilbagekaldt.is_(None))).first()
    if row is None:
        return None
    expiry = datetime.strptime(row[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return str(row[0]), expiry


def end_session(db: Database, secret: str, now: datetime) -> None:
    with db.write() as conn:
        conn.execute(update(S).where(S.c.id == secret_sha256(secret), S.c.afsluttet.is_(None))
                     .values(afsluttet=utc_text(now)))


def _end_sessions(conn: Connection, token_id: str, when: str) -> int:
    result = conn.execute(update(S).where(S.c.token_id == token_id, S.c.afsluttet.is_(None)).values(afsluttet=when))
    return int(result.rowcount or 0)


def end_sessions_for_token(db: Database, token_id: str, now: datetime) -> int:
    with db.write() as conn:
        return _end_sessions(conn, token_id, utc_text(now))
