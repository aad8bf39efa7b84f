"""service.log: the decision log (hash chain per kommune, content tables, access log, tokens,
sessions, rule-set snapshots) on SQLite or PostgreSQL through one SQLAlchemy schema and one
Alembic migration history.

Interface changes against notes/LOG-SPEC.md (additive unless noted):
- open_store(url, *, readonly=False, create=True, legacy_kommune="eksempelkommune", clock=None).
- Store.verify_chain(kommune, progress=None, key=None): with the log key, signed checkpoints are
  checked (an invalid signature is a finding); without it they still count as claims of the head.
- Store.sign_head returns None for a kommune without a chain; verify_since_checkpoint's report
  carries fra_kontrolpunkt (the checkpoint seq it started from) and antal = the whole chain.
- Store.revoke_token returns the TokenInfo and raises NotFound for an unknown token (or one of
  another kommune); revoking twice appends one event.
- Store.session(id) -> (token_id, udloeber as an aware UTC datetime); a revoked token's sessions end.
  Session ids and tokens are stored only as sha256.
- Store.access_log(...) -> (total, entries) newest first, like list_decisions.
- Store.statistik -> Statistik (three tuples of (maaned, ..., antal) rows); borger_index -> BorgerIndex.
- Store.redact -> RedactionReport; due_for_redaction -> the `before` date to pass to redact.
- Extra: Store.append_event(kommune, art, ref, metadata) for content-free events (issue 15's
  regelsaet_publiceret), Store.kommuner(), Store.snapshot_ids(), Store.path/backend.
- StoredDecision carries anbefalinger; StoredAfgoerelse carries slettet. Redaction removes a
  decision's screening and svar and an afgørelse's begrundelse (udfald, tilbud and the
  anbefalinger stay for statistics); the digests stay, so every hash still verifies.
- Extra tables/columns: vurderinger.screening_sha256/svar_sha256, afgoerelser.begrundelse_sha256,
  anbefalinger.kommune/seq/oprettet, adgangslog_poster (index of who read which decision) and
  adgangslog_hoved (the access chain's head row).
- Issue 17: Store.preview_redaction(kommune, before) -> what redact would remove (event_seq None);
  Store.deletions(kommune) -> every sletning event as Deletion (now with foer, antal, antal_afgoerelser,
  seq_fra, seq_til). Migration 0002 adds vurderinger.salt and afgoerelser.salt: content digests are
  sha256(salt + text) (chain.salted_sha256) and the salt is removed with the content, so a kept digest
  of a low-entropy screening can no longer be matched against guesses; records from before keep salt
  NULL and plain digests. service.log.retention reads the per-kommune retention file (opbevaring.yaml).
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Optional

from service.log.backend import Database
from service.log.keys import hmac_key, log_key
from service.log.migrate import prepare
from service.log.sql import SqlStore
from service.log.store import (
    ALL_KOMMUNER,
    ART,
    ROLES,
    UDFALD,
    AccessEntry,
    BorgerIndex,
    ChainFinding,
    ChainReport,
    Deletion,
    Filters,
    NewAfgoerelse,
    NewDecision,
    NotFound,
    RedactionReport,
    SignedHead,
    SnapshotTampered,
    Statistik,
    Store,
    StoredAfgoerelse,
    StoredDecision,
    StoreError,
    StoreUnavailable,
    TokenInfo,
)

__all__ = [
    "ALL_KOMMUNER", "ART", "ROLES", "UDFALD", "AccessEntry", "BorgerIndex", "ChainFinding", "ChainReport", "Deletion",
    "Filters", "NewAfgoerelse", "NewDecision", "NotFound", "RedactionReport", "SignedHead", "SnapshotTampered",
    "Statistik", "Store", "StoreError", "StoreUnavailable", "StoredAfgoerelse", "StoredDecision", "TokenInfo",
    "hmac_key", "log_key", "open_store",
]


def open_store(url: str, *, readonly: bool = False, create: bool = True, legacy_kommune: str = "eksempelkommune",
               clock: Optional[Callable[[], datetime]] = None) -> Store:
    """Open (and with create=True migrate) the log at sqlite:///path or postgresql://user@host:port/db.

    readonly=True never writes: a missing file, an empty database or one that needs migrating is
    refused with StoreError (the CLI's exit code 2); so is a database newer than this code."""
    db = Database(url, readonly=readonly, create=create and not readonly)
    try:
        prepare(db, create=create and not readonly, legacy_kommune=legacy_kommune)
    except StoreUnavailable as error:
        db.close()
        raise StoreError(f"{db.where}: databasen kan ikke åbnes ({error.args[0]})") from None
    except BaseException:
        db.close()
        raise
    return SqlStore(db, clock)
