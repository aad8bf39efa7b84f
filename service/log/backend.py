"""Connections to SQLite or PostgreSQL and every difference between the two: durability pragmas,
file mode 0600, read-only opening, write serialisation (SQLite BEGIN IMMEDIATE; PostgreSQL
advisory locks) and the mapping of a lost connection to StoreUnavailable."""
from __future__ import annotations

import os
import sqlite3
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.pool import QueuePool

from service.log.store import StoreError, StoreUnavailable

#: Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)).
LOCK_CHAIN = 0x76697369
LOCK_ACCESS = 0x7669736A
LOCK_MIGRATE = 0x76697370


def redact_url(url: str) -> str:
    """A database URL without its password, for messages."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{user}{parts.hostname or ''}{port}{parts.path}"


def lock_key(name: str) -> int:
    """A stable signed 32-bit key for a kommune's advisory lock."""
    value = zlib.crc32(name.encode("utf-8"))
    return value - (1 << 32) if value >= (1 << 31) else value


class Database:
    """One SQLAlchemy engine plus the backend's rules for reading and writing."""

    def __init__(self, url: str, *, readonly: bool, create: bool):
        self.readonly = readonly
        self.path: Optional[Path] = None
        self._write_lock = threading.Lock()
        if url.startswith("sqlite:///"):
            self.backend = "sqlite"
            self.path = Path(url[len("sqlite:///"):])
            if not url[len("sqlite:///"):]:
                raise StoreError("sqlite-URL'en mangler en sti: brug sqlite:///sti/til/visitator.db")
            self.engine = _sqlite_engine(self.path, readonly=readonly, create=create)
            self.where = str(self.path)
        elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            self.backend = "postgresql"
            self.where = redact_url(url)
            self.engine = _postgres_engine(url, readonly=readonly)
        else:
            raise StoreError("ukendt database-URL; brug sqlite:///sti/til/visitator.db eller "
                             "postgresql://bruger@vært:port/database")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot on both backends)."""
        with self.unavailable_on_error():
            with self.engine.connect() as conn:
                if self.backend == "postgresql":
                    conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn

    @contextmanager
    def write(self, locks: Iterable[tuple[int, str]] = ()) -> Iterator[Connection]:
        """One write transaction; `locks` are (class, name) pairs serialising chain appends across processes."""
        if self.readonly:
            raise StoreError("databasen er åbnet skrivebeskyttet; intet kan skrives")
        with self.unavailable_on_error(), self._local_lock():
            with self.engine.connect() as conn:
                conn.execution_options(visitator_immediate=True)
                with conn.begin():
                    for cls, name in sorted(set(locks)):  # one order everywhere: no deadlocks
                        self.lock(conn, cls, name)
                    yield conn

    def lock(self, conn: Connection, cls: int, name: str) -> None:
        """A transaction-scoped lock across processes (PostgreSQL advisory lock; SQLite's
        BEGIN IMMEDIATE already holds the one write lock)."""
        if self.backend == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(cls, lock_key(name))))

    @contextmanager
    def _local_lock(self) -> Iterator[None]:
        if self.backend == "sqlite":  # one writer per process; BEGIN IMMEDIATE orders processes
            with self._write_lock:
                yield
        else:
            yield

    @contextmanager
    def unavailable_on_error(self) -> Iterator[None]:
        try:
            yield
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as error:
            raise StoreUnavailable(f"databasen svarer ikke ({_short(error)})") from None
        except sa_exc.DBAPIError as error:
            if error.connection_invalidated:
                raise StoreUnavailable(f"databasen svarer ikke ({_short(error)})") from None
            raise

    def text_digest(self, column: Any, salt: Any = None) -> Any:
        """What the verify walk reads for a long text: PostgreSQL hashes it in the server (hex sha256 of
        salt + text as chain.salted_sha256 does, NULL stays NULL) so the text never crosses the wire;
        SQLite hands over the text itself."""
        if self.backend == "postgresql":
            if salt is not None:
                column = func.coalesce(salt, "").op("||")(column)
            return func.encode(func.sha256(func.convert_to(column, "UTF8")), "hex")
        return column

    @property
    def digests_in_sql(self) -> bool:
        return self.backend == "postgresql"

    def insert_or_ignore(self, table: Table) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING (both dialects have it, each with its own construct)."""
        if self.backend == "postgresql":
            return pg_insert(table).on_conflict_do_nothing()
        return sqlite_insert(table).on_conflict_do_nothing()

    def close(self) -> None:
        self.engine.dispose()


def _short(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return f"{type(orig).__name__}: {str(orig).strip().splitlines()[0][:200] if str(orig).strip() else ''}"


# --------------------------------------------------------------------------- SQLite


def _sqlite_engine(path: Path, *, readonly: bool, create: bool) -> Engine:
    if readonly or not create:
        if not path.is_file():
            raise StoreError(f"{path}: databasen findes ikke")
    else:
        _create_private_file(path)
    if readonly:
        uri = path.resolve().as_uri() + "?mode=ro"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
    else:
        def connect() -> sqlite3.Connection:
            return sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=8, max_overflow=16)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi: sqlite3.Connection, _record: Any) -> None:
        dbapi.execute("PRAGMA busy_timeout=30000")
        if readonly:
            dbapi.execute("PRAGMA query_only=ON")
            return
        dbapi.execute("PRAGMA journal_mode=WAL")
        # FULL: a record answered with 201 survives a power cut, not just a crash.
        dbapi.execute("PRAGMA synchronous=FULL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("visitator_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _create_private_file(path: Path) -> None:
    """A new database file is created empty with mode 0600 before SQLite opens it."""
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as error:
        raise StoreError(f"{path}: databasen kan ikke oprettes ({error.strerror})") from None


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_engine(url: str, *, readonly: bool) -> Engine:
    scheme, rest = url.split("://", 1)
    engine = create_engine(f"postgresql+psycopg://{rest}", pool_pre_ping=True, pool_size=8, max_overflow=16,
                           connect_args={"connect_timeout": 5, "application_name": "visitator"})

    if readonly:
        @event.listens_for(engine, "connect")
        def _readonly(dbapi: Any, _record: Any) -> None:
            autocommit = dbapi.autocommit
            dbapi.autocommit = True
            dbapi.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi.autocommit = autocommit

    return engine
