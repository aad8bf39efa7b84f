"""Schema versions with Alembic, one history for SQLite and PostgreSQL: applied at open under a
lock (PostgreSQL advisory lock; SQLite BEGIN IMMEDIATE) so processes starting together apply each
migration once; a database newer than the code, or not ours, is refused with a Danish message."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, inspect

from service.log.backend import LOCK_MIGRATE, Database
from service.log.store import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def config(conn: Optional[Connection] = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(config()).get_current_head()
    assert head is not None
    return head


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(config()).get_revision(revision) is not None
    except CommandError:
        return False


def state(conn: Connection) -> tuple[str, Optional[str]]:
    """("current" | "behind" | "newer" | "empty" | "legacy" | "foreign", revision)."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    if "alembic_version" in tables:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision == head_revision():
            return "current", revision
        if revision is None or _known(revision):
            return "behind", revision
        return "newer", revision
    if "vurderinger" in tables and "hash" in {c["name"] for c in inspector.get_columns("vurderinger")}:
        return "legacy", None
    if not tables:
        return "empty", None
    return "foreign", None


def _refusal(db: Database, what: str, revision: Optional[str]) -> StoreError:
    where = db.where
    if what == "newer":
        return StoreError(f"{where}: databasen har skemaversion {revision}, som er nyere end denne udgave af visitator "
                          f"(kender op til {head_revision()}); opdatér visitator, før databasen bruges")
    if what == "empty":
        return StoreError(f"{where}: databasen har ingen tabeller (forkert sti eller database?)")
    if what == "foreign":
        return StoreError(f"{where}: databasen indeholder tabeller, som ikke er visitators")
    if what == "legacy":
        return StoreError(f"{where}: databasen er i det gamle format og skal omdannes; åbn den én gang skrivbart "
                          "(fx ved at starte tjenesten), så omdannes den")
    return StoreError(f"{where}: databasen har skemaversion {revision} og skal opdateres til {head_revision()}; "
                      "åbn den én gang skrivbart (fx ved at starte tjenesten)")


def upgrade(conn: Connection) -> None:
    """Run every pending migration on this connection, inside its transaction."""
    command.upgrade(config(conn), "head")


def prepare(db: Database, *, create: bool, legacy_kommune: str) -> None:
    """Bring the schema to the head revision (create=True), or refuse a database that is not there."""
    with db.read() as conn:
        what, revision = state(conn)
    if what == "current":
        return
    if what in ("newer", "foreign") or not create or db.readonly:
        raise _refusal(db, what, revision)
    with db.write([(LOCK_MIGRATE, "skema")]) as conn:
        what, revision = state(conn)  # another process may have done it meanwhile
        if what in ("newer", "foreign"):
            raise _refusal(db, what, revision)
        if what == "legacy":
            from service.log.legacy import convert

            convert(conn, db, legacy_kommune, upgrade)  # upgrade passed in: legacy never imports this module
        elif what != "current":
            upgrade(conn)
