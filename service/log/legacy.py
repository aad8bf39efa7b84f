"""Converting a database of the old code (one `vurderinger` table with a `hash` column, no
alembic_version) in place: verify its chain first, convert every record into the new tables under
one kommune (motorformat 1), and anchor the old head in a chain event art="migrering"."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterator, Optional

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import BigInteger, Column, Connection, Integer, MetaData, Table, Text, insert, inspect, select

from service.log.append import Appender
from service.log.backend import Database
from service.log.chain import GENESIS, canonical_json
from service.log.decisions import insert_decisions
from service.log.schema import regelsaet_snapshots, tokens
from service.log.store import NewDecision, StoreError
from service.log.tokens import check_kommune

RECORD_FIELDS = ("seq", "id", "oprettet", "regelsaet_navn", "regelsaet_version", "regelsaet_sha256",
                 "borger_reference_hmac", "henvendelsesdato", "vurderingsdato", "kategorier", "spor",
                 "screening", "svar", "forrige_hash")
PREFIX = "gammel_"
BATCH = 1000


def _tables(prefix: str) -> dict[str, Table]:
    meta = MetaData()
    return {
        "vurderinger": Table(prefix + "vurderinger", meta, Column("seq", BigInteger),
                             *(Column(c, Text) for c in RECORD_FIELDS[1:]), Column("hash", Text)),
        "kaede_hoved": Table(prefix + "kaede_hoved", meta, Column("id", Integer), Column("seq", BigInteger),
                             Column("hash", Text)),
        "tokens": Table(prefix + "tokens", meta, Column("sha256", Text), Column("rolle", Text), Column("navn", Text),
                        Column("oprettet", Text)),
        "regelsaet_snapshots": Table(prefix + "regelsaet_snapshots", meta, Column("sha256", Text),
                                     Column("indhold", Text), Column("gemt", Text)),
    }


def legacy_hash(row: dict[str, Any]) -> str:
    """The old code's record hash: sha256 of the canonical JSON of every column but `hash`."""
    return hashlib.sha256(canonical_json({k: row[k] for k in RECORD_FIELDS}).encode("utf-8")).hexdigest()


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    after: Optional[int] = None
    while True:
        query = select(table).order_by(table.c.seq).limit(BATCH)
        if after is not None:
            query = query.where(table.c.seq > after)
        batch = [dict(r) for r in conn.execute(query).mappings()]
        if not batch:
            return
        yield from batch
        after = batch[-1]["seq"]


def verify_legacy(conn: Connection, t: dict[str, Table]) -> tuple[int, str]:
    """The old chain's head (seq, hash) if it is intact; else StoreError naming the first break."""
    prev_seq, prev_hash = 0, GENESIS
    for row in _rows(conn, t["vurderinger"]):
        seq = row["seq"]
        if seq != prev_seq + 1:
            raise StoreError(f"post {prev_seq + 1} mangler")
        if not all(isinstance(row[k], str) for k in RECORD_FIELDS[1:] if row[k] is not None) or legacy_hash(row) != row["hash"]:
            raise StoreError(f"post {seq} er ændret")
        if row["forrige_hash"] != prev_hash:
            raise StoreError(f"kæden er brudt før post {seq}")
        prev_seq, prev_hash = seq, row["hash"]
    head = conn.execute(select(t["kaede_hoved"].c.seq, t["kaede_hoved"].c.hash)).first()
    if head is not None and head[0] == 0 and prev_seq == 0:
        head = None
    if (head is None and prev_seq) or (head is not None and (head[0], head[1]) != (prev_seq, prev_hash)):
        raise StoreError("kædens hoved passer ikke med den sidste post")
    return prev_seq, prev_hash


def _anbefalinger(svar: str) -> tuple[tuple[str, str, str], ...]:
    try:
        items = json.loads(svar).get("anbefalinger") or []
        return tuple((str(a["spor"]), str(a["tilbud"]["kategori"]), str(a["tilbud"]["id"])) for a in items)
    except (ValueError, AttributeError, KeyError, TypeError):
        return ()


def _decision(row: dict[str, Any], kommune: str) -> NewDecision:
    return NewDecision(
        id=row["id"], kommune=kommune, oprettet=row["oprettet"], token_id=None, regelsaet_navn=row["regelsaet_navn"],
        regelsaet_version=row["regelsaet_version"], regelsaet_sha256=row["regelsaet_sha256"], motorformat=1,
        borger_reference_hmac=row["borger_reference_hmac"], henvendelsesdato=row["henvendelsesdato"],
        vurderingsdato=row["vurderingsdato"], anbefalinger=_anbefalinger(row["svar"]), screening=row["screening"],
        svar=row["svar"])


def _copy_tokens_and_snapshots(conn: Connection, db: Database, t: dict[str, Table], kommune: str, now: str) -> None:
    import secrets

    for sha, indhold, gemt in conn.execute(select(t["regelsaet_snapshots"])).all():
        conn.execute(db.insert_or_ignore(regelsaet_snapshots).values(sha256=sha, indhold=indhold, gemt=gemt or now))
    chain = Appender(conn, db, kommune)
    for sha, rolle, navn, oprettet in conn.execute(select(t["tokens"]).order_by(t["tokens"].c.oprettet)).all():
        token_id = "t-" + secrets.token_hex(6)
        chain.add("token_oprettet", token_id, oprettet or now, {"rolle": rolle, "migreret": True}, None)
        conn.execute(insert(tokens).values(id=token_id, sha256=sha, rolle=rolle, kommune=kommune, navn=navn,
                                           oprettet=oprettet or now, tilbagekaldt=None))
    chain.close()


def convert(conn: Connection, db: Database, kommune: str, upgrade: Callable[[Connection], None]) -> None:
    """Verify, rename the old tables aside, create the new schema, convert, drop the old tables."""
    from datetime import datetime, timezone

    check_kommune(kommune)
    try:
        head = verify_legacy(conn, _tables(""))
    except StoreError as error:
        raise StoreError(f"{db.where}: den gamle log er brudt ({error}); den omdannes ikke. Undersøg den med den "
                         "udgave af visitator, der skrev den") from None
    ops = Operations(MigrationContext.configure(conn))
    present = set(inspect(conn).get_table_names())
    for name in _tables(""):
        if name in present:
            ops.rename_table(name, PREFIX + name)
    upgrade(conn)
    old = _tables(PREFIX)
    for name, table in old.items():
        if name not in present:
            table.create(conn)
    batch: list[NewDecision] = []
    for row in _rows(conn, old["vurderinger"]):
        batch.append(_decision(row, kommune))
        if len(batch) >= BATCH:
            insert_decisions(conn, db, batch)
            batch = []
    if batch:
        insert_decisions(conn, db, batch)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    chain = Appender(conn, db, kommune)
    chain.add("migrering", f"gammel-log:{head[0]}", now,
              {"gammelt_hoved": {"seq": head[0], "hash": head[1]}, "antal": head[0], "motorformat": 1}, None)
    chain.close()
    _copy_tokens_and_snapshots(conn, db, old, kommune, now)
    for table in old.values():
        ops.drop_table(table.name)
    if "schema_version" in present:
        ops.drop_table("schema_version")
