"""Rule sets in the database: content-addressed snapshots checked against their address on every
read, aliases between same-content addresses, and the rule set in force per kommune (so every
process sees a reload)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select, update

from service.log.append import utc_text
from service.log.backend import Database
from service.log.schema import aktive_regler as R
from service.log.schema import regelsaet_aliaser as A
from service.log.schema import regelsaet_snapshots as SN
from service.log.store import ALL_KOMMUNER, SnapshotTampered


def _content_sha256(content: Any) -> str:
    from engine.versions import sha256_of  # the engine's own canonical fingerprint

    return sha256_of(content)


def snapshot_problem(sha256: str, text: str) -> Optional[str]:
    """Why a snapshot text does not belong at this address (None when it does)."""
    try:
        snapshot = json.loads(text)
    except (TypeError, ValueError):
        return "indholdet er ikke gyldig JSON"
    if not isinstance(snapshot, dict) or "indhold" not in snapshot:
        return "indholdet er ikke et regelsæt-snapshot"
    actual = _content_sha256(snapshot["indhold"])
    if actual != sha256:
        return f"indholdet har sha256 {actual[:12]}"
    if snapshot.get("sha256") != sha256:
        return "snapshottet angiver en anden sha256"
    return None


def put_snapshot(db: Database, sha256: str, text: str, now: datetime) -> None:
    problem = snapshot_problem(sha256, text)
    if problem is not None:
        raise ValueError(f"regelsæt-snapshot {sha256[:12]} kan ikke gemmes: {problem}")
    with db.write() as conn:
        conn.execute(db.insert_or_ignore(SN).values(sha256=sha256, indhold=text, gemt=utc_text(now)))


def get_snapshot(db: Database, sha256: str) -> Optional[str]:
    with db.read() as conn:
        row = conn.execute(select(SN.c.indhold).where(SN.c.sha256 == sha256)).first()
    if row is None:
        return None
    text = row[0]
    problem = snapshot_problem(sha256, text) if isinstance(text, str) else "indholdet er ikke tekst"
    if problem is not None:
        raise SnapshotTampered(f"regelsæt-snapshot {sha256[:12]} er ændret: {problem}")
    return str(text)


def snapshot_used_by(db: Database, kommune: str, sha256: str) -> bool:
    """Has the municipality logged a decision under this version (so its auditors may read it)?"""
    from service.log.schema import vurderinger as V

    with db.read() as conn:
        row = conn.execute(select(V.c.id).where(V.c.kommune == kommune, V.c.regelsaet_sha256 == sha256).limit(1)).first()
    return row is not None


def snapshot_ids(db: Database) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute(select(SN.c.sha256).order_by(SN.c.sha256))]


def put_alias(db: Database, old: str, new: str, now: datetime) -> None:
    if old == new:
        return
    with db.write() as conn:
        conn.execute(db.insert_or_ignore(A).values(sha256=old, til_sha256=new, oprettet=utc_text(now)))
        conn.execute(update(A).where(A.c.sha256 == old).values(til_sha256=new, oprettet=utc_text(now)))


def resolve(db: Database, sha256: str, hops: int = 16) -> str:
    """Follow aliases to the address whose snapshot is kept (cycles and long chains stop after `hops`)."""
    seen = {sha256}
    with db.read() as conn:
        for _ in range(hops):
            row = conn.execute(select(A.c.til_sha256).where(A.c.sha256 == sha256)).first()
            if row is None or row[0] in seen:
                return sha256
            sha256 = row[0]
            seen.add(sha256)
    return sha256


def set_active_rules(db: Database, kommune: str, fingerprint: str, now: datetime) -> None:
    with db.write() as conn:
        values = {"fingerprint": fingerprint, "opdateret": utc_text(now)}
        conn.execute(db.insert_or_ignore(R).values(kommune=kommune, **values))
        conn.execute(update(R).where(R.c.kommune == kommune).values(**values))


def active_rules(db: Database, kommune: str) -> Optional[str]:
    """The fingerprint in force for this kommune, else the one set for every kommune ('*')."""
    with db.read() as conn:
        rows = dict(conn.execute(select(R.c.kommune, R.c.fingerprint).where(R.c.kommune.in_([kommune, ALL_KOMMUNER]))).all())
    return rows.get(kommune, rows.get(ALL_KOMMUNER))

