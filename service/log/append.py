"""Appending to a kommune's hash chain inside a write transaction: read and lock the head
(advisory lock + FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), add entries, move the head."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import Connection, func, insert, select, update

from service.log.backend import LOCK_CHAIN, Database
from service.log.chain import GENESIS, canonical_json, entry_hash
from service.log.schema import kaede, kaede_hoved
from service.log.store import StoreError


def utc_text(moment: datetime) -> str:
    """UTC "YYYY-MM-DDTHH:MM:SSZ", the stored form of every time."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_head(conn: Connection, db: Database, kommune: str, *, lock: bool) -> Optional[tuple[int, str]]:
    query = select(kaede_hoved.c.seq, kaede_hoved.c.hash).where(kaede_hoved.c.kommune == kommune)
    if lock and db.backend == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return (int(row[0]), str(row[1])) if row else None


class Appender:
    """Entries for one kommune in one transaction; `close()` moves the head row (same transaction)."""

    def __init__(self, conn: Connection, db: Database, kommune: str):
        self.conn, self.kommune = conn, kommune
        db.lock(conn, LOCK_CHAIN, kommune)
        self.start = read_head(conn, db, kommune, lock=True)
        if self.start is None and conn.execute(select(func.max(kaede.c.seq)).where(kaede.c.kommune == kommune)).scalar():
            raise StoreError(f"kædens hoved for {kommune} mangler, men der er poster: loggen er ændret uden om "
                             "tjenesten; kør 'visitator log verify', intet er skrevet")
        self.seq, self.hash = self.start if self.start else (0, GENESIS)
        self.rows: list[dict[str, Any]] = []

    def add(self, art: str, ref: str, oprettet: str, metadata: dict[str, Any],
            indhold_sha256: Optional[str]) -> tuple[int, str]:
        seq = self.seq + 1
        meta = canonical_json(metadata)
        digest = entry_hash(self.kommune, seq, art, ref, oprettet, meta, indhold_sha256, self.hash)
        self.rows.append({"kommune": self.kommune, "seq": seq, "art": art, "ref": ref, "oprettet": oprettet,
                          "metadata": meta, "indhold_sha256": indhold_sha256, "forrige_hash": self.hash,
                          "hash": digest})
        self.seq, self.hash = seq, digest
        return seq, digest

    def close(self) -> None:
        if not self.rows:
            return
        self.conn.execute(insert(kaede), self.rows)
        self.rows = []
        values = {"seq": self.seq, "hash": self.hash}
        if self.start is None:
            self.conn.execute(insert(kaede_hoved).values(kommune=self.kommune, **values))
        else:
            self.conn.execute(update(kaede_hoved).where(kaede_hoved.c.kommune == self.kommune).values(**values))
