"""The decision log, bearer tokens and rule-set snapshots in one database.

Only SQLite (stdlib `sqlite3`, WAL mode) is implemented; everything the
service needs goes through the small `Storage` interface below so a
PostgreSQL backend can be added without touching the app.

The decision log is a hash chain. Each record stores its `seq`, the previous
record's hash and its own hash: sha256 over the canonical JSON (sorted keys,
no whitespace, UTF-8) of every stored column including `seq` and
`forrige_hash`. A one-row table `kaede_hoved` holds the newest seq and hash
and is updated in the same transaction, so removing or appending records
at the end is detected as well.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator, Optional, Protocol

GENESIS = "0" * 64
ROLES = ("visitator", "revisor", "redaktoer")


class StorageError(Exception):
    """The database URL or the database itself cannot be used."""


class StorageUnavailable(StorageError):
    """The database cannot be reached right now (connection lost, server restarting).

    The service answers 503; nothing was committed unless the commit itself was
    interrupted, in which case the record may exist but no 201 was sent."""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def record_hash(content: dict[str, Any]) -> str:
    """sha256 of a record's canonical content (which includes seq and forrige_hash)."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# Columns covered by the record hash, in table order (seq and hash handled apart).
RECORD_FIELDS = (
    "seq", "id", "oprettet", "regelsaet_navn", "regelsaet_version", "regelsaet_sha256",
    "borger_reference_hmac", "henvendelsesdato", "vurderingsdato", "kategorier", "spor",
    "screening", "svar", "forrige_hash",
)


@dataclass(frozen=True)
class NewRecord:
    """A decision about to be logged (seq and hashes are assigned by the store)."""

    id: str
    oprettet: str
    regelsaet_navn: str
    regelsaet_version: str
    regelsaet_sha256: str
    borger_reference_hmac: Optional[str]
    henvendelsesdato: str
    vurderingsdato: str
    kategorier: str  # " ambulant laegesamtale " (space-delimited, for filtering)
    spor: str
    screening: str  # canonical JSON text, without borger_reference
    svar: str  # the response JSON text exactly as sent


@dataclass(frozen=True)
class Filters:
    fra: Optional[date] = None
    til: Optional[date] = None
    version: Optional[str] = None
    kategori: Optional[str] = None
    spor: Optional[str] = None
    borger_reference_hmac: Optional[str] = None


@dataclass(frozen=True)
class ChainFinding:
    seq: Optional[int]
    art: str  # aendret, slettet, indsat, flyttet
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

    def to_api(self) -> dict[str, Any]:
        return {
            "intakt": self.intakt,
            "antal": self.antal,
            "hoved": {"seq": self.hoved_seq, "hash": self.hoved_hash},
            "foerste_fejl": self.foerste_fejl.to_api() if self.foerste_fejl else None,
        }


class Storage(Protocol):
    """What the service needs from a database."""

    path_hint: Optional[Path]

    def append(self, record: NewRecord) -> tuple[int, str]: ...
    def get_record(self, id: str) -> Optional[dict[str, Any]]: ...
    def list_records(self, filters: Filters, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]: ...
    def iter_records(self, filters: Filters) -> Iterator[dict[str, Any]]: ...
    def verify_chain(self) -> ChainReport: ...
    def put_snapshot(self, sha256: str, text: str) -> None: ...
    def get_snapshot(self, sha256: str) -> Optional[str]: ...
    def snapshot_ids(self) -> list[str]: ...
    def add_token(self, token_sha256: str, role: str, navn: Optional[str]) -> None: ...
    def token_role(self, token_sha256: str) -> Optional[str]: ...
    def count_tokens(self) -> int: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS vurderinger (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    oprettet TEXT NOT NULL,
    regelsaet_navn TEXT NOT NULL,
    regelsaet_version TEXT NOT NULL,
    regelsaet_sha256 TEXT NOT NULL,
    borger_reference_hmac TEXT,
    henvendelsesdato TEXT NOT NULL,
    vurderingsdato TEXT NOT NULL,
    kategorier TEXT NOT NULL,
    spor TEXT NOT NULL,
    screening TEXT NOT NULL,
    svar TEXT NOT NULL,
    forrige_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vurderinger_oprettet ON vurderinger (oprettet);
CREATE INDEX IF NOT EXISTS vurderinger_borger ON vurderinger (borger_reference_hmac);
CREATE INDEX IF NOT EXISTS vurderinger_version ON vurderinger (regelsaet_version);
CREATE TABLE IF NOT EXISTS kaede_hoved (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS regelsaet_snapshots (
    sha256 TEXT PRIMARY KEY,
    indhold TEXT NOT NULL,
    gemt TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS tokens (
    sha256 TEXT PRIMARY KEY,
    rolle TEXT NOT NULL CHECK (rolle IN ('visitator', 'revisor', 'redaktoer')),
    navn TEXT,
    oprettet TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""


def open_storage(url: str) -> "Storage":
    """Open the database named by a URL: sqlite:///path or postgresql://user@host:port/db."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path:
            raise StorageError("sqlite-URL'en mangler en sti: brug sqlite:///sti/til/visitator.db")
        return SQLiteStorage(Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        from service.storage_pg import PostgresStorage

        return PostgresStorage(url)
    raise StorageError("ukendt database-URL; brug sqlite:///sti/til/visitator.db eller postgresql://bruger@vært:port/database")


def _row_dict(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cursor.description, row)}


def _original_seq(record: dict[str, Any], stored_hash: str, window: int = 1000) -> Optional[int]:
    """The seq a record had when it was hashed, if only its seq was changed (searched nearby)."""
    seq = record["seq"]
    for delta in range(1, window + 1):
        for candidate in (seq - delta, seq + delta):
            if candidate >= 1 and record_hash(dict(record, seq=candidate)) == stored_hash:
                return candidate
    return None


def walk_chain(head: Optional[tuple[int, str]], by_hash: dict[str, int], records: Iterator[dict[str, Any]]) -> ChainReport:
    """The chain check shared by every backend.

    head: the chain-head row (seq, hash) or None; by_hash: hash -> seq of every stored
    record (to say where a record out of place came from); records: every record in
    seq order with RECORD_FIELDS and hash."""
    if head is not None and head[0] == 0:  # an explicit empty head (PostgreSQL creates it up front)
        head = None if not by_hash else head
    count = 0
    prev_seq, prev_hash = 0, GENESIS
    finding: Optional[ChainFinding] = None
    for record in records:
        record = dict(record)
        count += 1
        seq = record["seq"]
        stored = record.pop("hash")
        if record_hash(record) != stored:
            origin = _original_seq(record, stored)
            if origin is not None:
                finding = ChainFinding(seq, "flyttet", f"post {seq} stod oprindeligt som nr. {origin}: poster er flyttet, slettet eller indsat")
            else:
                finding = ChainFinding(seq, "aendret", f"post {seq} er ændret: dens indhold passer ikke med dens hash")
            break
        if record["forrige_hash"] != prev_hash:
            if seq > prev_seq + 1:
                missing = f"{prev_seq + 1}" if seq == prev_seq + 2 else f"{prev_seq + 1}-{seq - 1}"
                finding = ChainFinding(prev_seq + 1, "slettet", f"post {missing} mangler (slettet) før post {seq}")
            else:
                origin = by_hash.get(record["forrige_hash"])
                if origin is not None:
                    finding = ChainFinding(seq, "flyttet", f"post {seq} fulgte oprindeligt efter post {origin}, ikke efter post {prev_seq}")
                else:
                    finding = ChainFinding(seq, "indsat", f"kæden er brudt mellem post {prev_seq} og {seq}: post {seq} er indsat, "
                                           f"eller post {prev_seq} er ændret og dens hash regnet om")
            break
        if seq != prev_seq + 1:
            finding = ChainFinding(prev_seq + 1, "slettet", f"post {prev_seq + 1}-{seq - 1} mangler (slettet)")
            break
        prev_seq, prev_hash = seq, stored
    if finding is None:
        if head is None and count:
            finding = ChainFinding(1, "indsat", "kædens hoved mangler, men der er poster")
        elif head is not None and head[0] > prev_seq:
            missing = f"{prev_seq + 1}" if head[0] == prev_seq + 1 else f"{prev_seq + 1}-{head[0]}"
            finding = ChainFinding(prev_seq + 1, "slettet", f"post {missing} mangler (slettet i slutningen af loggen)")
        elif head is not None and head[0] < prev_seq:
            finding = ChainFinding(head[0] + 1, "indsat", f"post {head[0] + 1}-{prev_seq} er tilføjet uden om tjenesten (kædens hoved er {head[0]})")
        elif head is not None and head[1] != prev_hash:
            finding = ChainFinding(prev_seq, "aendret", f"post {prev_seq} passer ikke med kædens hoved")
    if head is not None and head[0] == 0:
        head = None
    return ChainReport(finding is None, count, head[0] if head else None, head[1] if head else None, finding)


class SQLiteStorage:
    """SQLite in WAL mode; one write connection behind a lock, one read connection per thread."""

    def __init__(self, path: Path):
        self.path = path
        self.path_hint: Optional[Path] = path
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        try:
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise StorageError(f"{path}: databasen kan ikke åbnes ({error})") from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        # FULL: a record answered with 201 survives a power cut, not just a crash.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._conns_lock:
            self._all_conns.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._all_conns:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all_conns.clear()

    # ------------------------------------------------------------------ decision log

    def append(self, record: NewRecord) -> tuple[int, str]:
        """Append one record to the chain and commit; returns (seq, hash)."""
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                head = conn.execute("SELECT seq, hash FROM kaede_hoved WHERE id = 1").fetchone()
                seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
                content = dict(record.__dict__, seq=seq, forrige_hash=prev)
                digest = record_hash(content)
                columns = (*RECORD_FIELDS, "hash")
                conn.execute(
                    f"INSERT INTO vurderinger ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [content[c] for c in RECORD_FIELDS] + [digest],
                )
                conn.execute(
                    "INSERT INTO kaede_hoved (id, seq, hash) VALUES (1, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                    (seq, digest),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return seq, digest

    def get_record(self, id: str) -> Optional[dict[str, Any]]:
        cur = self._reader().execute("SELECT * FROM vurderinger WHERE id = ?", (id,))
        row = cur.fetchone()
        return _row_dict(cur, row) if row else None

    @staticmethod
    def _where(filters: Filters, ph: str = "?", instr: str = "instr") -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if filters.fra is not None:
            clauses.append("oprettet >= ?")
            params.append(filters.fra.isoformat())
        if filters.til is not None:
            clauses.append("oprettet < ?")
            params.append((filters.til + timedelta(days=1)).isoformat())
        if filters.version is not None:
            if len(filters.version) == 64:
                clauses.append("regelsaet_sha256 = ?")
            else:
                clauses.append("regelsaet_version = ?")
            params.append(filters.version)
        if filters.kategori is not None:
            clauses.append("instr(kategorier, ?) > 0")
            params.append(f" {filters.kategori} ")
        if filters.spor is not None:
            clauses.append("instr(spor, ?) > 0")
            params.append(f" {filters.spor} ")
        if filters.borger_reference_hmac is not None:
            clauses.append("borger_reference_hmac = ?")
            params.append(filters.borger_reference_hmac)
        clauses = [c.replace("?", ph).replace("instr(", instr + "(") for c in clauses]
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list_records(self, filters: Filters, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        where, params = self._where(filters)
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            total = conn.execute(f"SELECT count(*) FROM vurderinger{where}", params).fetchone()[0]
            cur = conn.execute(
                "SELECT seq, id, oprettet, regelsaet_navn, regelsaet_version, regelsaet_sha256, henvendelsesdato, "
                f"vurderingsdato, kategorier, spor, svar FROM vurderinger{where} ORDER BY seq LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
            rows = [_row_dict(cur, r) for r in cur.fetchall()]
        finally:
            conn.execute("COMMIT")
        return total, rows

    def iter_records(self, filters: Filters, batch: int = 500) -> Iterator[dict[str, Any]]:
        """Every matching record in seq order, read in batches on a private connection."""
        where, params = self._where(filters)
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            last = 0
            joiner = " AND " if where else " WHERE "
            while True:
                cur = conn.execute(
                    f"SELECT * FROM vurderinger{where}{joiner}seq > ? ORDER BY seq LIMIT ?", [*params, last, batch]
                )
                rows = cur.fetchall()
                if not rows:
                    return
                for row in rows:
                    record = _row_dict(cur, row)
                    last = record["seq"]
                    yield record
        finally:
            conn.close()

    def verify_chain(self) -> ChainReport:
        """Walk the whole chain; report the first altered, deleted, inserted or moved record."""
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        try:
            conn.execute("BEGIN")
            head = conn.execute("SELECT seq, hash FROM kaede_hoved WHERE id = 1").fetchone()
            by_hash = {h: s for s, h in conn.execute("SELECT seq, hash FROM vurderinger")}
            cur = conn.execute(f"SELECT {', '.join(RECORD_FIELDS)}, hash FROM vurderinger ORDER BY seq")
            report = walk_chain(head, by_hash, (_row_dict(cur, row) for row in cur))
            conn.execute("COMMIT")
        finally:
            conn.close()
        return report

    def ping(self) -> None:
        """Raise StorageUnavailable unless the database answers."""
        try:
            self._reader().execute("SELECT 1").fetchone()
        except sqlite3.Error as error:
            raise StorageUnavailable(f"databasen svarer ikke ({error})") from None

    # ------------------------------------------------------------------ snapshots

    def put_snapshot(self, sha256: str, text: str) -> None:
        with self._write_lock:
            self._writer.execute("INSERT OR IGNORE INTO regelsaet_snapshots (sha256, indhold) VALUES (?, ?)", (sha256, text))

    def get_snapshot(self, sha256: str) -> Optional[str]:
        row = self._reader().execute("SELECT indhold FROM regelsaet_snapshots WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    def snapshot_ids(self) -> list[str]:
        return [r[0] for r in self._reader().execute("SELECT sha256 FROM regelsaet_snapshots ORDER BY sha256")]

    # ------------------------------------------------------------------ tokens

    def add_token(self, token_sha256: str, role: str, navn: Optional[str]) -> None:
        if role not in ROLES:
            raise StorageError(f"ukendt rolle '{role}'; tilladt: {', '.join(ROLES)}")
        with self._write_lock:
            self._writer.execute("INSERT INTO tokens (sha256, rolle, navn) VALUES (?, ?, ?)", (token_sha256, role, navn))

    def token_role(self, token_sha256: str) -> Optional[str]:
        row = self._reader().execute("SELECT rolle FROM tokens WHERE sha256 = ?", (token_sha256,)).fetchone()
        return row[0] if row else None

    def count_tokens(self) -> int:
        return self._reader().execute("SELECT count(*) FROM tokens").fetchone()[0]


class DBSnapshotStore:
    """The engine's SnapshotStore protocol on top of the database (content-addressed).

    Snapshots never change once stored, so they are also kept in memory: the
    engine asks for one on every evaluation."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self._cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def put(self, snapshot: dict[str, Any]) -> None:
        sha = snapshot["sha256"]
        if sha in self._cache:
            return
        self.storage.put_snapshot(sha, canonical_json(snapshot))
        with self._lock:
            self._cache[sha] = snapshot

    def get(self, sha256: str) -> Optional[dict[str, Any]]:
        cached = self._cache.get(sha256)
        if cached is not None:
            return cached
        text = self.storage.get_snapshot(sha256)
        if text is None:
            return None
        snapshot = json.loads(text)
        with self._lock:
            self._cache[sha256] = snapshot
        return snapshot

    def all_sha256(self) -> list[str]:
        return self.storage.snapshot_ids()


def load_or_create_hmac_key(storage: Storage) -> bytes:
    """VISITATOR_HMAC_KEY, or a key generated once into a 0600 file next to the database."""
    env = os.environ.get("VISITATOR_HMAC_KEY")
    if env:
        return env.encode("utf-8")
    if storage.path_hint is None:
        raise StorageError("sæt VISITATOR_HMAC_KEY (databasen ligger ikke i en fil, som nøglen kan ligge ved siden af)")
    key_path = storage.path_hint.with_name(storage.path_hint.name + ".hmac-noegle")
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = key_path.read_text(encoding="ascii").strip()
        if len(text) < 32:
            raise StorageError(f"{key_path}: HMAC-nøglen er for kort eller tom") from None
        return text.encode("ascii")
    import secrets

    text = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    return text.encode("ascii")
