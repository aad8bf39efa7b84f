"""PostgreSQL backend for the Storage interface (psycopg 3).

The same tables as SQLite (decision log with the hash chain, the one-row chain
head, rule-set snapshots, tokens). Schema changes are numbered migrations in
MIGRATIONS, recorded in `schema_version` and applied at start-up under an
advisory lock, so several processes starting at once apply each one once.

Several service processes may append at once: every append takes the
transaction-scoped advisory lock APPEND_LOCK and then reads the chain head
`FOR UPDATE`, in the same transaction as the INSERT and the head update, so
the chain stays one unbroken sequence across processes.

A lost connection (server restarted, network cut) raises StorageUnavailable
(the service answers 503); the next call opens a new connection.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit

import psycopg

from service.storage import (
    GENESIS, RECORD_FIELDS, ROLES, ChainReport, Filters, NewRecord, SQLiteStorage, StorageError, StorageUnavailable,
    record_hash, walk_chain,
)

APPEND_LOCK = 0x76697369  # "visi": serialises appends to the chain across processes
MIGRATE_LOCK = 0x76697370

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE vurderinger (
    seq BIGINT PRIMARY KEY,
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
CREATE INDEX vurderinger_oprettet ON vurderinger (oprettet);
CREATE INDEX vurderinger_borger ON vurderinger (borger_reference_hmac);
CREATE INDEX vurderinger_version ON vurderinger (regelsaet_version);
CREATE TABLE kaede_hoved (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE regelsaet_snapshots (
    sha256 TEXT PRIMARY KEY,
    indhold TEXT NOT NULL,
    gemt TEXT NOT NULL DEFAULT (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
);
CREATE TABLE tokens (
    sha256 TEXT PRIMARY KEY,
    rolle TEXT NOT NULL CHECK (rolle IN ('visitator', 'revisor', 'redaktoer')),
    navn TEXT,
    oprettet TEXT NOT NULL DEFAULT (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
);
"""),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _row_dict(cur: psycopg.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {d.name: v for d, v in zip(cur.description, row)}


def _redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"  # never the password


class PostgresStorage:
    """One writer connection behind a lock, one reader connection per thread; reconnects after a lost connection."""

    def __init__(self, url: str, connect_timeout: int = 5):
        self.url = url.replace("postgres://", "postgresql://", 1)
        self.path_hint = None
        self.connect_timeout = connect_timeout
        self._write_lock = threading.Lock()
        self._writer: Optional[psycopg.Connection] = None
        self._local = threading.local()
        self._all: list[psycopg.Connection] = []
        self._all_lock = threading.Lock()
        try:
            self.migrate()
        except psycopg.Error as error:
            raise StorageError(f"PostgreSQL-databasen {_redact(self.url)} kan ikke åbnes ({str(error).strip()})") from None

    # ------------------------------------------------------------------ connections

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout,
                               application_name="visitator")
        with self._all_lock:
            self._all.append(conn)
        return conn

    @staticmethod
    def _usable(conn: Optional[psycopg.Connection]) -> bool:
        return conn is not None and not conn.closed and not conn.broken

    def _get_writer(self) -> psycopg.Connection:
        if not self._usable(self._writer):
            self._discard(self._writer)
            self._writer = self._connect()
        return self._writer  # type: ignore[return-value]

    def _reader(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if not self._usable(conn):
            self._discard(conn)
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _discard(self, conn: Optional[psycopg.Connection]) -> None:
        if conn is None:
            return
        try:
            conn.close()
        except Exception:
            pass
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)

    def _unavailable(self, error: Exception) -> StorageUnavailable:
        return StorageUnavailable(f"PostgreSQL svarer ikke ({type(error).__name__}: {str(error).strip()[:200]})")

    def _read(self, fn: Any) -> Any:
        """Run fn(conn) on this thread's reader; a lost connection becomes StorageUnavailable."""
        try:
            return fn(self._reader())
        except psycopg.OperationalError as error:
            self._discard(getattr(self._local, "conn", None))
            self._local.conn = None
            raise self._unavailable(error) from None

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = list(self._all), []
        for conn in conns:
            try:
                conn.close()
            except Exception:
                pass
        self._writer = None

    def ping(self) -> None:
        self._read(lambda c: c.execute("SELECT 1").fetchone())

    # ------------------------------------------------------------------ migrations

    def migrate(self) -> int:
        """Apply every migration not yet recorded in schema_version; returns the schema version."""
        with psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout) as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, anvendt TEXT NOT NULL)")
                done = {r[0] for r in conn.execute("SELECT version FROM schema_version")}
                for version, sql in MIGRATIONS:
                    if version in done:
                        continue
                    conn.execute(sql)
                    conn.execute("INSERT INTO schema_version (version, anvendt) VALUES (%s, %s)",
                                 (version, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))
                current = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StorageError(f"databasens skema er version {current}, men denne udgave kender kun op til {SCHEMA_VERSION}")
        return current

    # ------------------------------------------------------------------ decision log

    def append(self, record: NewRecord) -> tuple[int, str]:
        with self._write_lock:
            try:
                conn = self._get_writer()
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))
                    head = conn.execute("SELECT seq, hash FROM kaede_hoved WHERE id = 1 FOR UPDATE").fetchone()
                    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
                    content = dict(record.__dict__, seq=seq, forrige_hash=prev)
                    digest = record_hash(content)
                    columns = (*RECORD_FIELDS, "hash")
                    conn.execute(
                        f"INSERT INTO vurderinger ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                        [content[c] for c in RECORD_FIELDS] + [digest],
                    )
                    conn.execute(
                        "INSERT INTO kaede_hoved (id, seq, hash) VALUES (1, %s, %s) "
                        "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                        (seq, digest),
                    )
            except psycopg.OperationalError as error:
                self._discard(self._writer)
                self._writer = None
                raise self._unavailable(error) from None
            return seq, digest

    def get_record(self, id: str) -> Optional[dict[str, Any]]:
        def q(conn: psycopg.Connection) -> Optional[dict[str, Any]]:
            cur = conn.execute("SELECT * FROM vurderinger WHERE id = %s", (id,))
            row = cur.fetchone()
            return _row_dict(cur, row) if row else None
        return self._read(q)

    def list_records(self, filters: Filters, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        where, params = SQLiteStorage._where(filters, ph="%s", instr="strpos")

        def q(conn: psycopg.Connection) -> tuple[int, list[dict[str, Any]]]:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                total = conn.execute(f"SELECT count(*) FROM vurderinger{where}", params).fetchone()[0]
                cur = conn.execute(
                    "SELECT seq, id, oprettet, regelsaet_navn, regelsaet_version, regelsaet_sha256, henvendelsesdato, "
                    f"vurderingsdato, kategorier, spor, svar FROM vurderinger{where} ORDER BY seq LIMIT %s OFFSET %s",
                    [*params, limit, offset],
                )
                rows = [_row_dict(cur, r) for r in cur.fetchall()]
            return total, rows
        return self._read(q)

    def iter_records(self, filters: Filters, batch: int = 500) -> Iterator[dict[str, Any]]:
        where, params = SQLiteStorage._where(filters, ph="%s", instr="strpos")
        joiner = " AND " if where else " WHERE "
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)
        except psycopg.OperationalError as error:
            raise self._unavailable(error) from None
        try:
            last = 0
            while True:
                cur = conn.execute(f"SELECT * FROM vurderinger{where}{joiner}seq > %s ORDER BY seq LIMIT %s",
                                   [*params, last, batch])
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
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)
        except psycopg.OperationalError as error:
            raise self._unavailable(error) from None
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                head = conn.execute("SELECT seq, hash FROM kaede_hoved WHERE id = 1").fetchone()
                by_hash = {h: s for s, h in conn.execute("SELECT seq, hash FROM vurderinger")}
                with conn.cursor(name="kaede") as cur:  # server-side cursor: the log may be large
                    cur.execute(f"SELECT {', '.join(RECORD_FIELDS)}, hash FROM vurderinger ORDER BY seq")
                    names = [d.name for d in cur.description]
                    report = walk_chain(tuple(head) if head else None, by_hash,
                                        (dict(zip(names, row)) for row in cur))
        except psycopg.OperationalError as error:
            raise self._unavailable(error) from None
        finally:
            conn.close()
        return report

    # ------------------------------------------------------------------ snapshots

    def _write(self, sql: str, params: Any) -> None:
        with self._write_lock:
            try:
                self._get_writer().execute(sql, params)
            except psycopg.OperationalError as error:
                self._discard(self._writer)
                self._writer = None
                raise self._unavailable(error) from None

    def put_snapshot(self, sha256: str, text: str) -> None:
        self._write("INSERT INTO regelsaet_snapshots (sha256, indhold) VALUES (%s, %s) ON CONFLICT (sha256) DO NOTHING",
                    (sha256, text))

    def get_snapshot(self, sha256: str) -> Optional[str]:
        row = self._read(lambda c: c.execute("SELECT indhold FROM regelsaet_snapshots WHERE sha256 = %s", (sha256,)).fetchone())
        return row[0] if row else None

    def snapshot_ids(self) -> list[str]:
        return self._read(lambda c: [r[0] for r in c.execute("SELECT sha256 FROM regelsaet_snapshots ORDER BY sha256")])

    # ------------------------------------------------------------------ tokens

    def add_token(self, token_sha256: str, role: str, navn: Optional[str]) -> None:
        if role not in ROLES:
            raise StorageError(f"ukendt rolle '{role}'; tilladt: {', '.join(ROLES)}")
        self._write("INSERT INTO tokens (sha256, rolle, navn) VALUES (%s, %s, %s)", (token_sha256, role, navn))

    def token_role(self, token_sha256: str) -> Optional[str]:
        row = self._read(lambda c: c.execute("SELECT rolle FROM tokens WHERE sha256 = %s", (token_sha256,)).fetchone())
        return row[0] if row else None

    def count_tokens(self) -> int:
        return self._read(lambda c: c.execute("SELECT count(*) FROM tokens").fetchone()[0])
