"""Who read what: an append-only access log with its own hash chain and head row per kommune,
listed per decision and per token, never redacted."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from service.log.append import utc_text
from service.log.backend import LOCK_ACCESS, Database
from service.log.chain import GENESIS, Walker, access_hash, canonical_json
from service.log.schema import adgangslog as L
from service.log.schema import adgangslog_hoved as H
from service.log.schema import adgangslog_poster as P
from service.log.store import AccessEntry, ChainFinding, ChainReport

BATCH = 5000
_ROW = (L.c.seq, L.c.oprettet, L.c.token_id, L.c.rolle, L.c.formaal, L.c.vurdering_ids, L.c.forrige_hash, L.c.hash)


def _head(conn: Connection, db: Database, kommune: str, lock: bool) -> Optional[tuple[int, str]]:
    query = select(H.c.seq, H.c.hash).where(H.c.kommune == kommune)
    if lock and db.backend == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return (int(row[0]), str(row[1])) if row else None


def record_access(db: Database, kommune: str, token_id: Optional[str], rolle: str, formaal: str,
                  vurdering_ids: list[str], now: datetime) -> tuple[int, str]:
    ids = sorted(set(vurdering_ids))
    ids_text = canonical_json(ids)
    oprettet = utc_text(now)
    with db.write([(LOCK_ACCESS, kommune)]) as conn:
        head = _head(conn, db, kommune, lock=True)
        seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
        digest = access_hash(kommune, seq, oprettet, token_id, rolle, formaal, ids_text, prev)
        conn.execute(insert(L).values(kommune=kommune, seq=seq, oprettet=oprettet, token_id=token_id, rolle=rolle,
                                      formaal=formaal, vurdering_ids=ids_text, forrige_hash=prev, hash=digest))
        if ids:
            conn.execute(insert(P), [{"kommune": kommune, "vurdering_id": i, "seq": seq} for i in ids])
        if head is None:
            conn.execute(insert(H).values(kommune=kommune, seq=seq, hash=digest))
        else:
            conn.execute(update(H).where(H.c.kommune == kommune).values(seq=seq, hash=digest))
    return seq, digest


def _entry(kommune: str, row: Any) -> AccessEntry:
    import json

    return AccessEntry(kommune, int(row[0]), row[1], row[2], row[3], row[4], tuple(json.loads(row[5])))


def access_log(db: Database, kommune: str, vurdering: Optional[str], token: Optional[str], fra: Optional[date],
               til: Optional[date], limit: int, offset: int) -> tuple[int, list[AccessEntry]]:
    """Newest first."""
    where: list[ColumnElement[bool]] = [L.c.kommune == kommune]
    if vurdering is not None:
        where.append(L.c.seq.in_(select(P.c.seq).where(P.c.kommune == kommune, P.c.vurdering_id == vurdering)))
    if token is not None:
        where.append(L.c.token_id == token)
    if fra is not None:
        where.append(L.c.oprettet >= fra.isoformat())
    if til is not None:
        where.append(L.c.oprettet < (til + timedelta(days=1)).isoformat())
    with db.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(L).where(*where)).scalar_one())
        rows = conn.execute(select(*_ROW).where(*where).order_by(L.c.seq.desc()).limit(limit).offset(offset)).all()
    return total, [_entry(kommune, r) for r in rows]


def entries_for(conn: Connection, kommune: str, vurdering_ids: list[str]) -> list[AccessEntry]:
    """Every access entry that read one of these decisions, oldest first."""
    if not vurdering_ids:
        return []
    rows = conn.execute(select(*_ROW).where(L.c.kommune == kommune, L.c.seq.in_(
        select(P.c.seq).where(P.c.kommune == kommune, P.c.vurdering_id.in_(vurdering_ids)))).order_by(L.c.seq)).all()
    return [_entry(kommune, r) for r in rows]


def _links(conn: Connection, kommune: str, after: int, last: int) -> dict[Any, list[str]]:
    out: dict[Any, list[str]] = {}
    for seq, vid in conn.execute(select(P.c.seq, P.c.vurdering_id).where(P.c.kommune == kommune, P.c.seq > after,
                                                                          P.c.seq <= last)):
        out.setdefault(seq, []).append(vid)
    return out


def verify_access_log(db: Database, kommune: str) -> ChainReport:
    """The access chain, its head row, and the per-decision index rows against each entry's list."""
    with db.read() as conn:
        head = _head(conn, db, kommune, lock=False)
        walker = Walker(kommune, lambda h: None, hasher=access_hash)
        after = 0
        while walker.finding is None:
            rows = conn.execute(select(*_ROW).where(L.c.kommune == kommune, L.c.seq > after)
                                .order_by(L.c.seq).limit(BATCH)).all()
            if not rows:
                break
            links = _links(conn, kommune, after, rows[-1][0]) if type(rows[-1][0]) is int else {}
            for row in rows:
                listed = links.pop(row[0], [])
                bad = None
                if canonical_json(sorted(listed)) != row[5] and isinstance(row[5], str):
                    bad = ChainFinding(row[0], "aendret", f"adgangslogpost {row[0]}: oversigten over læste "
                                                          "vurderinger passer ikke med posten")
                if not walker.feed(row, bad):
                    break
            after = rows[-1][0]
        return walker.finish(head)
