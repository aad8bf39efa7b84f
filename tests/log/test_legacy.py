"""A database written by the old code (service/storage.py, storage_pg.py) is converted in place:
its chain is verified first, its records land under one kommune with motorformat 1, and a
migrering event anchors the old head."""
from __future__ import annotations

import hashlib
import json

import pytest

from service.log import Filters, StoreError, open_store
from support.logdata import sql

# The old code's schema, as it created it (SQLite; PostgreSQL used BIGINT seq and schema_version).
OLD_SCHEMA = [
    """CREATE TABLE vurderinger (seq {seq} PRIMARY KEY, id TEXT NOT NULL UNIQUE, oprettet TEXT NOT NULL,
       regelsaet_navn TEXT NOT NULL, regelsaet_version TEXT NOT NULL, regelsaet_sha256 TEXT NOT NULL,
       borger_reference_hmac TEXT, henvendelsesdato TEXT NOT NULL, vurderingsdato TEXT NOT NULL,
       kategorier TEXT NOT NULL, spor TEXT NOT NULL, screening TEXT NOT NULL, svar TEXT NOT NULL,
       forrige_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE INDEX vurderinger_oprettet ON vurderinger (oprettet)",
    "CREATE INDEX vurderinger_borger ON vurderinger (borger_reference_hmac)",
    "CREATE TABLE kaede_hoved (id INTEGER PRIMARY KEY CHECK (id = 1), seq {seq} NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE regelsaet_snapshots (sha256 TEXT PRIMARY KEY, indhold TEXT NOT NULL, gemt TEXT NOT NULL)",
    "CREATE TABLE tokens (sha256 TEXT PRIMARY KEY, rolle TEXT NOT NULL, navn TEXT, oprettet TEXT NOT NULL)",
]
FIELDS = ("seq", "id", "oprettet", "regelsaet_navn", "regelsaet_version", "regelsaet_sha256", "borger_reference_hmac",
          "henvendelsesdato", "vurderingsdato", "kategorier", "spor", "screening", "svar", "forrige_hash")


def old_hash(record: dict) -> str:
    text = json.dumps({k: record[k] for k in FIELDS}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_old(url: str, n: int = 5) -> tuple[int, str]:
    pg = url.startswith("postgresql")
    for statement in OLD_SCHEMA:
        sql(url, statement.format(seq="BIGINT" if pg else "INTEGER"))
    if pg:
        sql(url, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, anvendt TEXT NOT NULL)")
        sql(url, "INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00Z')")
    prev = "0" * 64
    for seq in range(1, n + 1):
        svar = json.dumps({"id": f"OLD{seq}", "anbefalinger": [
            {"spor": "behandling", "tilbud": {"id": "amb-1", "kategori": "ambulant"}}]}, ensure_ascii=False)
        record = {"seq": seq, "id": f"OLD{seq}", "oprettet": f"2025-0{seq}-01T00:00:00Z", "regelsaet_navn": "misbrug",
                  "regelsaet_version": "2025-01", "regelsaet_sha256": "e" * 64, "borger_reference_hmac": "f" * 64,
                  "henvendelsesdato": "2025-01-01", "vurderingsdato": "2025-01-02", "kategorier": " ambulant ",
                  "spor": " behandling ", "screening": '{"alder":40}', "svar": svar, "forrige_hash": prev}
        record["hash"] = old_hash(record)
        cols = list(record)
        sql(url, f"INSERT INTO vurderinger ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})", **record)
        prev = record["hash"]
    sql(url, "INSERT INTO kaede_hoved VALUES (1, :s, :h)", s=n, h=prev)
    sql(url, "INSERT INTO tokens VALUES (:s, 'revisor', 'gammel', '2025-01-01T00:00:00Z')", s="9" * 64)
    sql(url, "INSERT INTO regelsaet_snapshots VALUES (:s, '{}', '2025-01-01T00:00:00Z')", s="e" * 64)
    return n, prev


def test_a_legacy_database_is_converted_in_place(url):
    n, head = build_old(url)
    with pytest.raises(StoreError, match="gamle format"):
        open_store(url, readonly=True)
    store = open_store(url, legacy_kommune="herning")
    try:
        report = store.verify_chain("herning")
        assert report.intakt and report.antal == n + 2  # the records, the migrering event, the token
        old = store.get_decision("herning", "OLD3")
        assert old.motorformat == 1 and old.seq == 3 and old.anbefalinger == (("behandling", "ambulant", "amb-1"),)
        assert json.loads(old.svar)["id"] == "OLD3"
        assert store.list_decisions("herning", Filters(kategori="ambulant"), 10, 0)[0] == n
        event = sql(url, "SELECT art, metadata FROM kaede WHERE seq = :s", s=n + 1)[0]
        assert event[0] == "migrering" and json.loads(event[1])["gammelt_hoved"] == {"seq": n, "hash": head}
        tokens = store.list_tokens("herning")
        assert [(t.rolle, t.navn) for t in tokens] == [("revisor", "gammel")]
        tables = {r[0] for r in sql(url, "SELECT name FROM sqlite_master WHERE type = 'table'" if url.startswith("sqlite")
                                    else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert not {t for t in tables if t.startswith("gammel_")} and "schema_version" not in tables
    finally:
        store.close()
    open_store(url).close()  # a second start changes nothing
    assert sql(url, "SELECT count(*) FROM kaede")[0][0] == n + 2


def test_a_broken_legacy_chain_is_refused_and_left_as_it_was(url):
    build_old(url)
    sql(url, "UPDATE vurderinger SET svar = 'x' WHERE seq = 2")
    with pytest.raises(StoreError, match="gamle log er brudt.*post 2"):
        open_store(url)
    assert sql(url, "SELECT count(*) FROM vurderinger")[0][0] == 5  # untouched: the old tables are still there
