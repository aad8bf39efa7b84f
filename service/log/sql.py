"""The Store on SQLAlchemy: one class that binds the concept modules (decisions, integrity,
redaction, access, tokens, rules) to one Database and one clock."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from sqlalchemy import select

from service.log import access, decisions, integrity, redaction, rules, tokens
from service.log.append import Appender, read_head, utc_text
from service.log.backend import Database
from service.log.drafts import DraftStore
from service.log.schema import kaede
from service.log.schema import vurderinger as V
from service.log.store import (
    ART,
    AccessEntry,
    BorgerIndex,
    ChainFinding,
    ChainReport,
    Deletion,
    Filters,
    NewAfgoerelse,
    NewDecision,
    Progress,
    RedactionReport,
    SignedHead,
    Statistik,
    StoredAfgoerelse,
    StoredDecision,
    TokenInfo,
)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SqlStore:
    """The decision log in one SQLite file or PostgreSQL database (see store.Store for the contract)."""

    def __init__(self, db: Database, clock: Optional[Callable[[], datetime]] = None):
        self.db = db
        self.clock = clock or _utc_now
        self.backend = db.backend
        self.path: Optional[Path] = db.path
        self.readonly = db.readonly
        #: Drafts of the municipalities' rule layers and the published layers (issue 15).
        self.drafts = DraftStore(db, self.clock)

    # ------------------------------------------------------------------ decisions

    def append_decisions(self, records: list[NewDecision]) -> list[tuple[int, str]]:
        """Group commit: every record its own chain entry, all in one transaction (one fsync)."""
        if not records:
            return []
        for r in records:
            tokens.check_kommune(r.kommune)
        with self.db.write() as conn:
            return decisions.insert_decisions(conn, self.db, records)

    def append_decision(self, record: NewDecision) -> tuple[int, str]:
        return self.append_decisions([record])[0]

    def get_decision(self, kommune: str, id: str) -> Optional[StoredDecision]:
        with self.db.read() as conn:
            return decisions.get_decision(conn, kommune, id)

    def list_decisions(self, kommune: str, filters: Filters, limit: int,
                       offset: int) -> tuple[int, list[StoredDecision]]:
        with self.db.read() as conn:
            return decisions.list_decisions(conn, kommune, filters, limit, offset)

    def iter_decisions(self, kommune: str, filters: Filters, batch: int = 500) -> Iterator[StoredDecision]:
        """Seq order, one short read transaction per batch: memory stays flat and writers are not held up."""
        after = 0
        while True:
            with self.db.read() as conn:
                rows = decisions.decisions_after(conn, kommune, filters, after, batch)
            if not rows:
                return
            yield from rows
            after = rows[-1].seq

    def append_afgoerelse(self, record: NewAfgoerelse) -> tuple[int, str]:
        with self.db.write() as conn:
            return decisions.insert_afgoerelse(conn, self.db, record)

    def afgoerelser(self, kommune: str, vurdering_id: str) -> list[StoredAfgoerelse]:
        with self.db.read() as conn:
            return decisions.afgoerelser(conn, kommune, vurdering_id)

    def statistik(self, kommune: str, fra: Optional[date], til: Optional[date]) -> Statistik:
        with self.db.read() as conn:
            return decisions.statistik(conn, kommune, fra, til)

    def borger_index(self, kommune: str, hmac: str) -> BorgerIndex:
        with self.db.read() as conn:
            rows = list(conn.execute(select(V).where(V.c.kommune == kommune, V.c.borger_reference_hmac == hmac)
                                     .order_by(V.c.seq)).mappings())
            found = decisions.hydrate(conn, kommune, rows)
            seen = access.entries_for(conn, kommune, [d.id for d in found])
        return BorgerIndex(tuple(found), tuple(seen))

    # ------------------------------------------------------------------ tokens and sessions

    def create_token(self, rolle: str, kommune: str, navn: Optional[str] = None) -> tuple[str, TokenInfo]:
        return tokens.create_token(self.db, rolle, kommune, navn, self.clock())

    def token_by_secret(self, token_text: str) -> Optional[TokenInfo]:
        return tokens.token_by_secret(self.db, token_text)

    def token_by_id(self, token_id: str) -> Optional[TokenInfo]:
        return tokens.token_by_id(self.db, token_id)

    def revoke_token(self, kommune: Optional[str], token_id: str) -> TokenInfo:
        return tokens.revoke_token(self.db, kommune, token_id, self.clock())

    def list_tokens(self, kommune: Optional[str] = None) -> list[TokenInfo]:
        return tokens.list_tokens(self.db, kommune)

    def count_tokens(self) -> int:
        return tokens.count_tokens(self.db)

    def create_session(self, token_id: str, seconds: int) -> str:
        return tokens.create_session(self.db, token_id, seconds, self.clock())

    def session(self, session_id: str) -> Optional[tuple[str, datetime]]:
        return tokens.session(self.db, session_id, self.clock())

    def end_session(self, session_id: str) -> None:
        tokens.end_session(self.db, session_id, self.clock())

    def end_sessions_for_token(self, token_id: str) -> int:
        return tokens.end_sessions_for_token(self.db, token_id, self.clock())

    # ------------------------------------------------------------------ rule sets

    def put_snapshot(self, sha256: str, text: str) -> None:
        rules.put_snapshot(self.db, sha256, text, self.clock())

    def get_snapshot(self, sha256: str) -> Optional[str]:
        return rules.get_snapshot(self.db, sha256)

    def snapshot_used_by(self, kommune: str, sha256: str) -> bool:
        return rules.snapshot_used_by(self.db, kommune, sha256)

    def snapshot_ids(self) -> list[str]:
        return rules.snapshot_ids(self.db)

    def put_alias(self, old: str, new: str) -> None:
        rules.put_alias(self.db, old, new, self.clock())

    def resolve(self, sha256: str) -> str:
        return rules.resolve(self.db, sha256)

    def set_active_rules(self, kommune: str, fingerprint: str) -> None:
        rules.set_active_rules(self.db, kommune, fingerprint, self.clock())

    def active_rules(self, kommune: str) -> Optional[str]:
        return rules.active_rules(self.db, kommune)

    def append_event(self, kommune: str, art: str, ref: str, metadata: dict[str, Any]) -> tuple[int, str]:
        """A chain event without content (e.g. art=regelsaet_publiceret with author/approver/note/shas)."""
        if art not in ART or art in ("vurdering", "afgoerelse"):
            raise ValueError(f"ukendt hændelse '{art}'")
        tokens.check_kommune(kommune)
        with self.db.write() as conn:
            chain = Appender(conn, self.db, kommune)
            out = chain.add(art, ref, utc_text(self.clock()), metadata, None)
            chain.close()
        return out

    # ------------------------------------------------------------------ the chain

    def head(self, kommune: str) -> Optional[tuple[int, str]]:
        with self.db.read() as conn:
            return read_head(conn, self.db, kommune, lock=False)

    def kommuner(self) -> list[str]:
        """Every kommune with a chain."""
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(select(kaede.c.kommune).distinct().order_by(kaede.c.kommune))]

    def verify_chain(self, kommune: str, progress: Optional[Progress] = None,
                     key: Optional[bytes] = None) -> ChainReport:
        """The full walk. With the log key, checkpoints count only with a valid signature."""
        return integrity.verify_chain(self.db, kommune, progress, key)

    def verify_since_checkpoint(self, kommune: str, key: bytes) -> ChainReport:
        report = integrity.verify_since_checkpoint(self.db, kommune, key)
        if report.intakt and report.hoved_seq is not None and not self.readonly:
            integrity.sign_head(self.db, kommune, key, self.clock())
        return report

    def sign_head(self, kommune: str, key: bytes) -> Optional[SignedHead]:
        return integrity.sign_head(self.db, kommune, key, self.clock())

    def check_expected_head(self, kommune: str, seq: int, hash: str) -> Optional[ChainFinding]:
        return integrity.check_expected_head(self.db, kommune, seq, hash)

    # ------------------------------------------------------------------ data protection

    def redact(self, kommune: str, before: date, begrundelse: str, hvem: str) -> RedactionReport:
        return redaction.redact(self.db, kommune, before, begrundelse, hvem, self.clock())

    def preview_redaction(self, kommune: str, before: date) -> RedactionReport:
        return redaction.preview(self.db, kommune, before)

    def deletions(self, kommune: str) -> list[Deletion]:
        return redaction.deletions(self.db, kommune)

    def due_for_redaction(self, kommune: str, years_after_last_afgoerelse: int, today: date) -> date:
        return redaction.due_for_redaction(self.db, kommune, years_after_last_afgoerelse, today)

    def record_access(self, kommune: str, token_id: Optional[str], rolle: str, formaal: str,
                      vurdering_ids: list[str]) -> tuple[int, str]:
        return access.record_access(self.db, kommune, token_id, rolle, formaal, vurdering_ids, self.clock())

    def access_log(self, kommune: str, vurdering: Optional[str] = None, token: Optional[str] = None,
                   fra: Optional[date] = None, til: Optional[date] = None, limit: int = 100,
                   offset: int = 0) -> tuple[int, list[AccessEntry]]:
        return access.access_log(self.db, kommune, vurdering, token, fra, til, limit, offset)

    def verify_access_log(self, kommune: str) -> ChainReport:
        return access.verify_access_log(self.db, kommune)

    # ------------------------------------------------------------------ operations

    def ping(self) -> None:
        with self.db.read() as conn:
            conn.execute(select(1)).scalar()

    def close(self) -> None:
        self.db.close()
