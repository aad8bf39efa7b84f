"""The PostgreSQL backend: migrations, the service on PostgreSQL, and the tamper tests on both backends."""
from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date

import pytest

from service.cli import main as cli_main
from service.storage import RECORD_FIELDS, open_storage, record_hash
from test_pg_common import cluster, create_database
from test_service_common import auth, example

N = 8
BACKENDS = ["sqlite", "postgresql"]


def pg_client(url: str, monkeypatch, today: date = date(2026, 11, 23)):
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.auth import create_token
    from service.settings import Settings

    monkeypatch.setenv("VISITATOR_HMAC_KEY", "k" * 64)
    app = create_app(Settings(db_url=url, today=lambda: today))
    tokens = {role: create_token(app.state.storage, role) for role in ("visitator", "revisor", "redaktoer")}
    return TestClient(app), tokens, app


def test_migrations_from_an_empty_database_are_recorded_once():
    url = create_database()
    import psycopg

    from service.storage_pg import SCHEMA_VERSION, PostgresStorage

    first = PostgresStorage(url)
    second = PostgresStorage(url)  # a second process starting: nothing applied twice
    with psycopg.connect(url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert {"vurderinger", "kaede_hoved", "regelsaet_snapshots", "tokens", "schema_version"} <= tables
    first.close(), second.close()


def test_unreachable_postgresql_is_a_clear_start_error(capsys):
    """Also: the password in the URL is never printed."""
    code = cli_main(["log", "verify", "--db", "postgresql://postgres@127.0.0.1:1/nix"])
    err = capsys.readouterr().err
    assert code == 2 and "PostgreSQL-databasen postgresql://postgres@127.0.0.1:1/nix kan ikke åbnes" in err


def test_service_on_postgresql_logs_reads_lists_and_replays(monkeypatch):
    url = create_database()
    client, tokens, app = pg_client(url, monkeypatch)
    with client:
        ids = []
        for i in range(3):
            r = client.post("/v1/vurderinger", json=example(borger_reference=f"sag-{i}"), headers=auth(tokens["visitator"]))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        back = client.get(f"/v1/vurderinger/{ids[1]}", headers=auth(tokens["revisor"]))
        assert back.status_code == 200 and back.json()["id"] == ids[1]
        listing = client.get("/v1/vurderinger?kategori=ambulant&spor=behandling&borger_reference=sag-2",
                             headers=auth(tokens["revisor"])).json()
        assert listing["total"] == 1 and listing["vurderinger"][0]["id"] == ids[2]
        assert client.get("/v1/vurderinger?limit=2", headers=auth(tokens["revisor"])).json()["naeste_offset"] == 2
        export = client.get("/v1/vurderinger/eksport", headers=auth(tokens["revisor"])).text.splitlines()
        assert [json.loads(line)["id"] for line in export] == ids
        replay = client.post(f"/v1/vurderinger/{ids[0]}/genberegn", headers=auth(tokens["revisor"]))
        assert replay.status_code == 200 and replay.json()["identisk"] is True
        sha = client.get("/v1/regelsaet", headers=auth(tokens["revisor"])).json()["i_kraft_i_dag"]
        assert client.get(f"/v1/regelsaet/{sha}", headers=auth(tokens["revisor"])).json()["sha256"] == sha
        ver = client.get("/v1/log/verifikation", headers=auth(tokens["revisor"])).json()
        assert ver["intakt"] is True and ver["antal"] == 3 and ver["hoved"]["seq"] == 3
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/vurderinger", json=example(), headers=auth("vst_unknown")).status_code == 401
    app.state.storage.close()


# ---------------------------------------------------------------- tamper tests on both backends


class DB:
    """Direct access to one copy of the template log, on either backend."""

    def __init__(self, backend: str, location: str):
        self.backend, self.location = backend, location
        self.url = f"sqlite:///{location}" if backend == "sqlite" else location

    def _conn(self):
        if self.backend == "sqlite":
            return sqlite3.connect(self.location)
        import psycopg

        return psycopg.connect(self.location)

    def sql(self, *statements: tuple) -> None:
        conn = self._conn()
        for statement in statements:
            text = statement[0] if self.backend == "sqlite" else statement[0].replace("?", "%s")
            conn.execute(text, *statement[1:])
        conn.commit()
        conn.close()

    def row(self, seq: int) -> dict:
        conn = self._conn()
        cur = conn.execute("SELECT * FROM vurderinger WHERE seq = " + ("?" if self.backend == "sqlite" else "%s"), (seq,))
        names = [d[0] for d in cur.description]
        out = dict(zip(names, cur.fetchone()))
        conn.close()
        return out

    def insert(self, record: dict) -> None:
        cols = list(record)
        self.sql((f"INSERT INTO vurderinger ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", [record[c] for c in cols]))

    def forged(self, seq: int, after: dict) -> dict:
        record = dict(self.row(1), seq=seq, id=f"01FORGED{seq:018d}", forrige_hash=after["hash"])
        record.pop("hash")
        record["hash"] = record_hash({k: record[k] for k in RECORD_FIELDS})
        return record

    def verify(self):
        storage = open_storage(self.url)
        try:
            return storage.verify_chain()
        finally:
            storage.close()

    def cli(self, capsys) -> tuple[int, str]:
        code = cli_main(["log", "verify", "--db", self.url])
        captured = capsys.readouterr()
        return code, captured.out + captured.err


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """{backend: template} with N decisions logged through the API."""
    from _pytest.monkeypatch import MonkeyPatch

    from test_service_common import make_client

    out = {}
    tmp = tmp_path_factory.mktemp("tamper")
    client, tokens, app = make_client(tmp)
    with client:
        for i in range(N):
            assert client.post("/v1/vurderinger", json=example(borger_reference=f"sag-{i}", alder=20 + i),
                               headers=auth(tokens["visitator"])).status_code == 201
    app.state.storage.close()
    conn = sqlite3.connect(tmp / "v.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    out["sqlite"] = tmp / "v.db"
    mp = MonkeyPatch()
    try:
        url = create_database()
        client, tokens, app = pg_client(url, mp)
        with client:
            for i in range(N):
                assert client.post("/v1/vurderinger", json=example(borger_reference=f"sag-{i}", alder=20 + i),
                                   headers=auth(tokens["visitator"])).status_code == 201
        app.state.storage.close()
        out["postgresql"] = url.rsplit("/", 1)[1]
    finally:
        mp.undo()
    return out


@pytest.fixture(params=BACKENDS)
def db(request, templates, tmp_path) -> DB:
    if request.param == "sqlite":
        target = tmp_path / "v.db"
        shutil.copy(templates["sqlite"], target)
        return DB("sqlite", str(target))
    cluster()
    return DB("postgresql", create_database(template=templates["postgresql"]))


def test_intact_chain_verifies(db, capsys):
    report = db.verify()
    assert report.intakt and report.antal == N and report.hoved_seq == N
    code, out = db.cli(capsys)
    assert code == 0 and "intakt" in out


@pytest.mark.parametrize("column", ["svar", "screening", "oprettet", "regelsaet_sha256", "borger_reference_hmac"])
def test_altered_record_is_detected(db, capsys, column):
    value = db.row(4)[column]
    changed = value.replace("a", "b", 1) if "a" in value else value + "x"
    db.sql((f"UPDATE vurderinger SET {column} = ? WHERE seq = 4", (changed,)))
    report = db.verify()
    assert not report.intakt and (report.foerste_fejl.seq, report.foerste_fejl.art) == (4, "aendret")
    code, out = db.cli(capsys)
    assert code == 1 and "post 4" in out


def test_altered_and_rehashed_record_is_detected_at_the_break(db):
    r = db.row(4)
    svar = json.loads(r["svar"])
    svar["anbefalinger"] = []
    r["svar"] = json.dumps(svar, ensure_ascii=False)
    new_hash = record_hash({k: r[k] for k in RECORD_FIELDS})
    db.sql(("UPDATE vurderinger SET svar = ?, hash = ? WHERE seq = 4", (r["svar"], new_hash)))
    report = db.verify()
    assert not report.intakt and report.foerste_fejl.seq == 5 and "post 4" in report.foerste_fejl.besked


@pytest.mark.parametrize("seq", [1, 5, N])
def test_deleted_record_is_detected(db, capsys, seq):
    db.sql(("DELETE FROM vurderinger WHERE seq = ?", (seq,)))
    report = db.verify()
    assert not report.intakt and (report.foerste_fejl.seq, report.foerste_fejl.art) == (seq, "slettet")
    code, out = db.cli(capsys)
    assert code == 1 and "slettet" in out and f"post {seq}" in out


def test_inserted_record_at_the_end_is_detected_even_with_a_valid_hash(db, capsys):
    db.insert(db.forged(N + 1, db.row(N)))
    report = db.verify()
    assert not report.intakt and (report.foerste_fejl.seq, report.foerste_fejl.art) == (N + 1, "indsat")
    assert db.cli(capsys)[0] == 1


def test_inserted_record_in_the_middle_is_detected(db, capsys):
    for seq in range(N, 4, -1):
        db.sql(("UPDATE vurderinger SET seq = ? WHERE seq = ?", (seq + 1, seq)))
    db.insert(db.forged(5, db.row(4)))
    report = db.verify()
    assert not report.intakt and report.foerste_fejl.seq == 6 and report.foerste_fejl.art == "flyttet"
    code, out = db.cli(capsys)
    assert code == 1 and "post 6" in out


def test_reordered_rows_are_detected(db, capsys):
    db.sql(("UPDATE vurderinger SET seq = -1 WHERE seq = 3",), ("UPDATE vurderinger SET seq = 3 WHERE seq = 4",),
           ("UPDATE vurderinger SET seq = 4 WHERE seq = -1",))
    report = db.verify()
    assert not report.intakt and (report.foerste_fejl.seq, report.foerste_fejl.art) == (3, "flyttet")
    code, out = db.cli(capsys)
    assert code == 1 and "post 3" in out
