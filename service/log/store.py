"""What the service needs from the decision log: the `Store` protocol, its value types and errors.

Everything here is plain data (frozen dataclasses); the SQL implementation is in sql.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterator, Optional, Protocol

ROLES = ("visitator", "revisor", "redaktoer")
UDFALD = ("fulgt", "afveget", "afvist_af_borger")
ART = ("vurdering", "afgoerelse", "token_oprettet", "token_tilbagekaldt", "sletning", "migrering",
       "regelsaet_publiceret")
ALL_KOMMUNER = "*"


class StoreError(Exception):
    """The database URL or the database itself cannot be used (the CLI exits with code 2)."""


class StoreUnavailable(StoreError):
    """The database is not answering right now (the service answers 503; the next call reconnects)."""


class NotFound(StoreError):
    """No such row for that kommune (a row of another kommune is reported exactly like a missing one)."""


class SnapshotTampered(StoreError):
    """A stored rule-set snapshot no longer matches the sha256 it is stored under."""


# --------------------------------------------------------------------------- records in


@dataclass(frozen=True)
class NewDecision:
    """A decision about to be logged; seq and hashes are assigned by the store."""

    id: str
    kommune: str
    oprettet: str  # UTC "YYYY-MM-DDTHH:MM:SSZ"
    token_id: Optional[str]
    regelsaet_navn: str
    regelsaet_version: str
    regelsaet_sha256: str
    motorformat: int
    borger_reference_hmac: Optional[str]
    henvendelsesdato: str
    vurderingsdato: str
    anbefalinger: tuple[tuple[str, str, str], ...]  # (spor, kategori, tilbud_id)
    screening: str  # canonical JSON text, without borger_reference
    svar: str  # the response text exactly as sent


@dataclass(frozen=True)
class NewAfgoerelse:
    """The caseworker's own decision about a logged decision (a later one supersedes an earlier)."""

    id: str
    kommune: str
    vurdering_id: str
    oprettet: str
    token_id: Optional[str]
    udfald: str
    tilbud: dict[str, str]
    begrundelse: Optional[str]
    dato: str


# --------------------------------------------------------------------------- records out


@dataclass(frozen=True)
class Deletion:
    """The chain event (art=sletning) that removed a record's content: when, why, by whom, and
    (from the event's metadata) the cut-off date, how many records and which seq range."""

    event_seq: int
    oprettet: str
    begrundelse: str
    hvem: str
    foer: Optional[str] = None  # records logged before this date (YYYY-MM-DD) were due
    antal: int = 0  # decisions whose content was removed
    antal_afgoerelser: int = 0
    seq_fra: Optional[int] = None
    seq_til: Optional[int] = None


@dataclass(frozen=True)
class StoredAfgoerelse:
    id: str
    kommune: str
    vurdering_id: str
    seq: int
    oprettet: str
    token_id: Optional[str]
    udfald: str
    tilbud: dict[str, str]
    begrundelse: Optional[str]  # None also when removed by redaction (see slettet)
    dato: str
    slettet: Optional[Deletion] = None


@dataclass(frozen=True)
class StoredDecision:
    id: str
    kommune: str
    seq: int
    oprettet: str
    token_id: Optional[str]
    regelsaet_navn: str
    regelsaet_version: str
    regelsaet_sha256: str
    motorformat: int
    borger_reference_hmac: Optional[str]
    henvendelsesdato: str
    vurderingsdato: str
    anbefalinger: tuple[tuple[str, str, str], ...]
    screening: Optional[str]  # None when removed by redaction
    svar: Optional[str]
    slettet: Optional[Deletion] = None
    afgoerelser: tuple[StoredAfgoerelse, ...] = ()


@dataclass(frozen=True)
class Filters:
    fra: Optional[date] = None
    til: Optional[date] = None  # inclusive
    version: Optional[str] = None  # a version name, or a 64-hex sha256
    kategori: Optional[str] = None
    spor: Optional[str] = None
    borger_reference_hmac: Optional[str] = None
    token_id: Optional[str] = None
    udfald: Optional[str] = None  # of the newest afgørelse


@dataclass(frozen=True)
class TokenInfo:
    id: str
    rolle: str
    kommune: str
    navn: Optional[str]
    oprettet: str
    tilbagekaldt: Optional[str]


@dataclass(frozen=True)
class ChainFinding:
    seq: Optional[int]
    art: str  # aendret, slettet, indsat, flyttet, slettet_efter_reglerne (not an error), mangler_hoved
    besked: str

    def to_api(self) -> dict[str, Any]:
        return {"seq": self.seq, "art": self.art, "besked": self.besked}


@dataclass(frozen=True)
class ChainReport:
    intakt: bool
    antal: int
    hoved_seq: Optional[int]
    hoved_hash: Optional[str]
    foerste_fejl: Optional[ChainFinding]
    slettede: tuple[tuple[tuple[int, int], int], ...] = ()  # ((first seq, last seq), event seq)
    fra_kontrolpunkt: Optional[int] = None  # verify_since_checkpoint: the checkpoint it started from

    def to_api(self) -> dict[str, Any]:
        return {
            "intakt": self.intakt,
            "antal": self.antal,
            "hoved": {"seq": self.hoved_seq, "hash": self.hoved_hash},
            "foerste_fejl": self.foerste_fejl.to_api() if self.foerste_fejl else None,
            "slettede": [{"fra": a, "til": b, "haendelse": e} for (a, b), e in self.slettede],
        }


@dataclass(frozen=True)
class SignedHead:
    kommune: str
    seq: int
    hash: str
    signatur: str  # hex HMAC-SHA256 with the log key
    oprettet: str


@dataclass(frozen=True)
class AccessEntry:
    kommune: str
    seq: int
    oprettet: str
    token_id: Optional[str]
    rolle: str
    formaal: str
    vurdering_ids: tuple[str, ...]


@dataclass(frozen=True)
class RedactionReport:
    antal: int  # decisions whose content was removed
    antal_afgoerelser: int
    seq_fra: Optional[int]
    seq_til: Optional[int]
    event_seq: Optional[int]  # None when nothing was due, and always for preview_redaction


@dataclass(frozen=True)
class Statistik:
    """Per month ("YYYY-MM", by the decision's oprettet): counts computed in SQL."""

    vurderinger: tuple[tuple[str, str, str, int], ...]  # (maaned, spor, kategori, antal)
    afgoerelser_spor: tuple[tuple[str, str, str, int], ...]  # (maaned, spor, udfald, antal); newest afgørelse only
    afgoerelser_tilbud: tuple[tuple[str, str, str, int], ...]  # (maaned, recommended tilbud_id, udfald, antal)


@dataclass(frozen=True)
class BorgerIndex:
    """Everything recorded about one citizen (found via the borger_reference HMAC)."""

    vurderinger: tuple[StoredDecision, ...]
    adgange: tuple[AccessEntry, ...] = field(default=())


Progress = Callable[[int], None]


class Store(Protocol):
    """The decision log of one database (SQLite file or PostgreSQL), scoped by kommune."""

    path: Optional[Any]  # the SQLite file (pathlib.Path), None on PostgreSQL
    backend: str  # "sqlite" or "postgresql"
    drafts: Any  # service.log.drafts.DraftStore: rule-layer drafts and published layers (issue 15)

    # decisions
    def append_decisions(self, records: list[NewDecision]) -> list[tuple[int, str]]: ...
    def append_decision(self, record: NewDecision) -> tuple[int, str]: ...
    def get_decision(self, kommune: str, id: str) -> Optional[StoredDecision]: ...
    def list_decisions(self, kommune: str, filters: Filters, limit: int, offset: int) -> tuple[int, list[StoredDecision]]: ...
    def iter_decisions(self, kommune: str, filters: Filters) -> Iterator[StoredDecision]: ...
    def append_afgoerelse(self, record: NewAfgoerelse) -> tuple[int, str]: ...
    def afgoerelser(self, kommune: str, vurdering_id: str) -> list[StoredAfgoerelse]: ...
    def statistik(self, kommune: str, fra: Optional[date], til: Optional[date]) -> Statistik: ...
    def borger_index(self, kommune: str, hmac: str) -> BorgerIndex: ...
    # tokens and sessions
    def create_token(self, rolle: str, kommune: str, navn: Optional[str]) -> tuple[str, TokenInfo]: ...
    def token_by_secret(self, token_text: str) -> Optional[TokenInfo]: ...
    def token_by_id(self, token_id: str) -> Optional[TokenInfo]: ...
    def revoke_token(self, kommune: Optional[str], token_id: str) -> TokenInfo: ...
    def list_tokens(self, kommune: Optional[str] = None) -> list[TokenInfo]: ...
    def count_tokens(self) -> int: ...
    def create_session(self, token_id: str, seconds: int) -> str: ...
    def session(self, session_id: str) -> Optional[tuple[str, datetime]]: ...
    def end_session(self, session_id: str) -> None: ...
    def end_sessions_for_token(self, token_id: str) -> int: ...
    # rule sets
    def put_snapshot(self, sha256: str, text: str) -> None: ...
    def get_snapshot(self, sha256: str) -> Optional[str]: ...
    def snapshot_ids(self) -> list[str]: ...
    def snapshot_used_by(self, kommune: str, sha256: str) -> bool: ...
    def put_alias(self, old: str, new: str) -> None: ...
    def resolve(self, sha256: str) -> str: ...
    def set_active_rules(self, kommune: str, fingerprint: str) -> None: ...
    def active_rules(self, kommune: str) -> Optional[str]: ...
    def append_event(self, kommune: str, art: str, ref: str, metadata: dict[str, Any]) -> tuple[int, str]: ...
    # the chain
    def head(self, kommune: str) -> Optional[tuple[int, str]]: ...
    def kommuner(self) -> list[str]: ...
    def verify_chain(self, kommune: str, progress: Optional[Progress] = None, key: Optional[bytes] = None) -> ChainReport: ...
    def verify_since_checkpoint(self, kommune: str, key: bytes) -> ChainReport: ...
    def sign_head(self, kommune: str, key: bytes) -> Optional[SignedHead]: ...
    def check_expected_head(self, kommune: str, seq: int, hash: str) -> Optional[ChainFinding]: ...
    # data protection
    def redact(self, kommune: str, before: date, begrundelse: str, hvem: str) -> RedactionReport: ...
    def preview_redaction(self, kommune: str, before: date) -> RedactionReport: ...
    def deletions(self, kommune: str) -> list[Deletion]: ...
    def due_for_redaction(self, kommune: str, years_after_last_afgoerelse: int, today: date) -> date: ...
    def record_access(self, kommune: str, token_id: Optional[str], rolle: str, formaal: str,
                      vurdering_ids: list[str]) -> tuple[int, str]: ...
    def access_log(self, kommune: str, vurdering: Optional[str] = None, token: Optional[str] = None,
                   fra: Optional[date] = None, til: Optional[date] = None, limit: int = 100,
                   offset: int = 0) -> tuple[int, list[AccessEntry]]: ...
    def verify_access_log(self, kommune: str) -> ChainReport: ...
    # operations
    def ping(self) -> None: ...
    def close(self) -> None: ...
