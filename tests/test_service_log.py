"""Tamper detection in the decision log: rows altered, deleted, inserted and swapped directly in SQLite."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from service.cli import main as cli_main
from service.storage import RECORD_FIELDS, record_hash, open_storage
from test_service_common import auth, example, make_client

N = 8


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A database with N logged decisions (made through the API)."""
    tmp = tmp_path_factory.mktemp("log")
    client, tokens, app = make_client(tmp)
    with client:
        for i in range(N):
            r = client.post("/v1/vurderinger", json=example(borger_reference=f"sag-{i}", alder=20 + i), headers=auth(tokens["visitator"]))
            assert r.status_code == 201
    app.state.storage.close()
    conn = sqlite3.connect(tmp / "v.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return tmp / "v.db"


@pytest.fixture
def db(template, tmp_path) -> Path:
    target = tmp_path / "v.db"
    shutil.copy(template, target)
    return target


def sql(db: Path, *statements: tuple) -> None:
    conn = sqlite3.connect(db)
    for statement in statements:
        conn.execute(*statement)
    conn.commit()
    conn.close()


def row(db: Path, seq: int) -> dict:
    conn = sqlite3.connect(db)
    cur = conn.execute("SELECT * FROM vurderinger WHERE seq = ?", (seq,))
    out = {d[0]: v for d, v in zip(cur.description, cur.fetchone())}
    conn.close()
    return out


def insert(db: Path, record: dict) -> None:
    cols = list(record)
    sql(db, (f"INSERT INTO vurderinger ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", [record[c] for c in cols]))


def forged(db: Path, seq: int, after: dict) -> dict:
    """A well-formed record chained after `after`, with a correctly computed hash."""
    record = dict(row(db, 1), seq=seq, id=f"01FORGED{seq:018d}", forrige_hash=after["hash"])
    record.pop("hash")
    record["hash"] = record_hash({k: record[k] for k in RECORD_FIELDS})
    return record


def verify(db: Path):
    storage = open_storage(f"sqlite:///{db}")
    try:
        return storage.verify_chain()
    finally:
        storage.close()


def cli_verify(db: Path, capsys) -> tuple[int, str]:
    code = cli_main(["log", "verify", "--db", f"sqlite:///{db}"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_intact_chain_verifies(db, capsys):
    report = verify(db)
    assert report.intakt and report.antal == N and report.hoved_seq == N
    code, out = cli_verify(db, capsys)
    assert code == 0 and "intakt" in out


def test_each_record_hash_covers_seq_and_previous_hash(db):
    first, second = row(db, 1), row(db, 2)
    assert first["forrige_hash"] == "0" * 64
    assert second["forrige_hash"] == first["hash"]
    content = {k: second[k] for k in RECORD_FIELDS}
    assert record_hash(content) == second["hash"]
    assert record_hash(dict(content, seq=3)) != second["hash"]
    assert record_hash(dict(content, forrige_hash="1" * 64)) != second["hash"]


@pytest.mark.parametrize("column", ["svar", "screening", "oprettet", "regelsaet_sha256", "borger_reference_hmac", "kategorier"])
def test_altered_record_is_detected(db, capsys, column):
    value = row(db, 4)[column]
    changed = value.replace("a", "b", 1) if "a" in value else value + "x"
    sql(db, (f"UPDATE vurderinger SET {column} = ? WHERE seq = 4", (changed,)))
    report = verify(db)
    assert not report.intakt
    assert (report.foerste_fejl.seq, report.foerste_fejl.art) == (4, "aendret")
    code, out = cli_verify(db, capsys)
    assert code == 1 and "post 4" in out


def test_altered_and_rehashed_record_is_detected_at_the_break(db):
    r = row(db, 4)
    svar = json.loads(r["svar"])
    svar["anbefalinger"] = []
    r["svar"] = json.dumps(svar, ensure_ascii=False)
    new_hash = record_hash({k: r[k] for k in RECORD_FIELDS})
    sql(db, ("UPDATE vurderinger SET svar = ?, hash = ? WHERE seq = 4", (r["svar"], new_hash)))
    report = verify(db)
    assert not report.intakt and report.foerste_fejl.seq == 5 and "post 4" in report.foerste_fejl.besked


@pytest.mark.parametrize("seq", [1, 5, N])
def test_deleted_record_is_detected(db, capsys, seq):
    sql(db, ("DELETE FROM vurderinger WHERE seq = ?", (seq,)))
    report = verify(db)
    assert not report.intakt
    assert (report.foerste_fejl.seq, report.foerste_fejl.art) == (seq, "slettet")
    code, out = cli_verify(db, capsys)
    assert code == 1 and "slettet" in out


def test_inserted_record_at_the_end_is_detected_even_with_a_valid_hash(db, capsys):
    insert(db, forged(db, N + 1, row(db, N)))
    report = verify(db)
    assert not report.intakt and (report.foerste_fejl.seq, report.foerste_fejl.art) == (N + 1, "indsat")
    assert cli_verify(db, capsys)[0] == 1


def test_inserted_record_in_the_middle_is_detected(db, capsys):
    conn = sqlite3.connect(db)
    for seq in range(N, 4, -1):  # make room at seq 5
        conn.execute("UPDATE vurderinger SET seq = ? WHERE seq = ?", (seq + 1, seq))
    conn.commit()
    conn.close()
    insert(db, forged(db, 5, row(db, 4)))
    report = verify(db)
    assert not report.intakt and report.foerste_fejl.seq == 6 and report.foerste_fejl.art == "flyttet"
    assert cli_verify(db, capsys)[0] == 1


def test_inserted_record_with_a_bogus_hash_is_detected(db):
    record = forged(db, N + 1, row(db, N))
    record["hash"] = "f" * 64
    insert(db, record)
    report = verify(db)
    assert not report.intakt and report.foerste_fejl.seq == N + 1


def test_swapped_rows_are_detected(db, capsys):
    sql(db, ("UPDATE vurderinger SET seq = -1 WHERE seq = 3",), ("UPDATE vurderinger SET seq = 3 WHERE seq = 4",),
        ("UPDATE vurderinger SET seq = 4 WHERE seq = -1",))
    report = verify(db)
    assert not report.intakt and (report.foerste_fejl.seq, report.foerste_fejl.art) == (3, "flyttet")
    code, out = cli_verify(db, capsys)
    assert code == 1 and "post 3" in out


def test_swapped_contents_are_detected(db):
    a, b = row(db, 3), row(db, 4)
    columns = [c for c in a if c != "seq"]
    sql(db, ("UPDATE vurderinger SET id = 'tmp' WHERE seq = 3",),
        (f"UPDATE vurderinger SET {', '.join(f'{c} = ?' for c in columns)} WHERE seq = 4", [a[c] for c in columns]),
        (f"UPDATE vurderinger SET {', '.join(f'{c} = ?' for c in columns)} WHERE seq = 3", [b[c] for c in columns]))
    report = verify(db)
    assert not report.intakt and report.foerste_fejl.seq == 3


def test_verification_endpoint(tmp_path):
    client, tokens, app = make_client(tmp_path)
    with client:
        for _ in range(3):
            client.post("/v1/vurderinger", json=example(), headers=auth(tokens["visitator"]))
        ok = client.get("/v1/log/verifikation", headers=auth(tokens["revisor"])).json()
        assert ok["intakt"] is True and ok["antal"] == 3 and ok["hoved"]["seq"] == 3 and ok["foerste_fejl"] is None
        sql(tmp_path / "v.db", ("DELETE FROM vurderinger WHERE seq = 2",))
        bad = client.get("/v1/log/verifikation", headers=auth(tokens["revisor"])).json()
        assert bad["intakt"] is False and bad["foerste_fejl"]["seq"] == 2 and bad["foerste_fejl"]["art"] == "slettet"
        # The service keeps appending; the break stays visible.
        assert client.post("/v1/vurderinger", json=example(), headers=auth(tokens["visitator"])).status_code == 201
        assert client.get("/v1/log/verifikation", headers=auth(tokens["revisor"])).json()["intakt"] is False
