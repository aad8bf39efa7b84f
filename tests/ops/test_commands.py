"""The command line around the service (issue 13): `log verify` that is read-only and never
says "intakt" about nothing, the signed head and `--forvent-hoved`, `token revoke` in
another process, private files, the first-start login link, a port already in use, and
VISITATOR_DB / VISITATOR_RULES honoured by serve, token and log verify."""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from service.log import keys
from service.log.chain import head_signature
from support.app import KOMMUNE, copy_rules, make_app
from support.bodies import EXAMPLE, auth, example
from support.server import clean_env, run_cli


def files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def closed_app_db(tmp_path: Path, n: int = 3) -> tuple[str, list[dict]]:
    """A SQLite log with n decisions, written in-process and closed; (url, the decisions)."""
    svc = make_app(tmp_path)
    made = [svc.post(example(alder=20 + i)).json() for i in range(n)]
    svc.app.state.decisions.writer.stop()
    svc.store.close()
    return f"sqlite:///{tmp_path / 'v.db'}", made


def verify(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("log", "verify", *args, env=clean_env(tmp_path))


# --------------------------------------------------------------------------- log verify


@pytest.mark.parametrize("where", ["typo.db", "mangler/mappe/visitator.db"])
def test_log_verify_on_a_mistyped_path_exits_2_and_creates_nothing(tmp_path, where):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = verify("--db", f"sqlite:///{tmp_path / where}", tmp_path=tmp_path)
    assert result.returncode == 2 and "findes ikke" in result.stderr and "intakt" not in result.stdout
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_log_verify_refuses_a_file_without_the_logs_tables_and_leaves_it_as_it_was(tmp_path):
    (tmp_path / "tom.db").write_bytes(b"")
    other = sqlite3.connect(tmp_path / "andet.db")
    other.execute("CREATE TABLE noget (x)")
    other.commit()
    other.close()
    before = files(tmp_path)
    for name in ("tom.db", "andet.db"):
        result = verify("--db", f"sqlite:///{tmp_path / name}", tmp_path=tmp_path)
        assert result.returncode == 2 and result.stderr.strip() and "intakt" not in result.stdout, result
    assert files(tmp_path) == before


@pytest.mark.slow
def test_log_verify_never_says_intakt_about_nothing(tmp_path):
    url, _ = closed_app_db(tmp_path)
    assert verify("--db", url, tmp_path=tmp_path).returncode == 0
    mistyped = verify("--db", url, "--kommune", "eksempelkomune", tmp_path=tmp_path)
    assert mistyped.returncode == 2 and "intakt" not in mistyped.stdout and KOMMUNE in mistyped.stderr
    conn = sqlite3.connect(tmp_path / "v.db")
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'").fetchall():
        conn.execute(f"DELETE FROM {table}")  # every row of the log, as someone with the file could
    conn.commit()
    conn.close()
    emptied = verify("--db", url, tmp_path=tmp_path)
    assert emptied.returncode != 0 and "intakt" not in emptied.stdout, emptied


def test_log_verify_writes_nothing_to_the_database_it_checks(tmp_path):
    url, _ = closed_app_db(tmp_path)
    before = files(tmp_path)
    result = verify("--db", url, tmp_path=tmp_path)
    assert result.returncode == 0 and "er intakt: " in result.stdout, result.stderr
    after = files(tmp_path)
    assert after["v.db"] == before["v.db"]
    # SQLite may add its empty WAL companions beside a WAL database; nothing else appears.
    assert set(after) - set(before) <= {"v.db-wal", "v.db-shm"}
    for name in set(after) - set(before):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0


def test_the_signed_head_is_returned_by_the_api_and_checks_with_the_log_key(tmp_path):
    svc = make_app(tmp_path)
    for i in range(3):
        svc.post(example(alder=20 + i))
    body = svc.client.get("/v1/log/verifikation", headers=svc.headers("revisor")).json()
    signed = body["signeret_hoved"]
    assert body["intakt"] is True and signed is not None
    assert (signed["kommune"], signed["seq"], signed["hash"]) == (KOMMUNE, body["hoved"]["seq"], body["hoved"]["hash"])
    key = keys.log_key(tmp_path / "v.db", create=False)
    assert key is not None and (tmp_path / "v.db.log-noegle").read_text().strip() not in json.dumps(body)
    assert signed["signatur"] == head_signature(key, KOMMUNE, signed["seq"], signed["hash"], signed["oprettet"])
    assert signed["signatur"] != head_signature(b"x" * 64, KOMMUNE, signed["seq"], signed["hash"], signed["oprettet"])
    assert svc.client.get("/v1/log/verifikation", headers=svc.headers("visitator")).status_code == 403


@pytest.mark.slow
def test_forvent_hoved_detects_records_cut_off_the_end(tmp_path):
    svc = make_app(tmp_path)
    for i in range(5):
        svc.post(example(alder=20 + i))
    exported = svc.client.get("/v1/log/verifikation", headers=svc.headers("revisor")).json()["signeret_hoved"]
    svc.app.state.decisions.writer.stop()
    svc.store.close()
    url, head = f"sqlite:///{tmp_path / 'v.db'}", f"{exported['seq']}:{exported['hash']}"
    ok = verify("--db", url, "--forvent-hoved", head, tmp_path=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert verify("--db", url, "--forvent-hoved", "noget", tmp_path=tmp_path).returncode == 2

    # Cut the last two records off the end, with the head row and the checkpoints to match.
    cut = exported["seq"] - 2
    conn = sqlite3.connect(tmp_path / "v.db")
    (new_head,) = conn.execute("SELECT hash FROM kaede WHERE kommune = ? AND seq = ?", (KOMMUNE, cut)).fetchone()
    for table in ("kaede", "vurderinger", "anbefalinger"):
        conn.execute(f"DELETE FROM {table} WHERE kommune = ? AND seq > ?", (KOMMUNE, cut))
    conn.execute("UPDATE kaede_hoved SET seq = ?, hash = ? WHERE kommune = ?", (cut, new_head, KOMMUNE))
    conn.execute("DELETE FROM kontrolpunkter")
    conn.commit()
    conn.close()
    alone = verify("--db", url, tmp_path=tmp_path)
    assert alone.returncode == 0, "the cut is one the chain alone cannot see (what the exported head is for)"
    detected = verify("--db", url, "--forvent-hoved", head, tmp_path=tmp_path)
    assert detected.returncode == 1 and "IKKE intakt" in detected.stderr and f"post {exported['seq']}" in detected.stderr


# --------------------------------------------------------------------------- tokens, files and first start


@pytest.mark.process
@pytest.mark.slow
def test_token_revoke_is_effective_at_once_in_the_running_service(servers):
    srv = servers()
    srv.token("visitator")
    srv.start()
    token = srv.token("revisor", navn="kortvarig-adgang")
    assert httpx.get(srv.url + "/v1/regelsaet", headers=auth(token), timeout=30).status_code == 200
    listed = srv.cli("token", "list", "--db", srv.db)
    assert listed.returncode == 0 and token not in listed.stdout
    token_id = next(line.split()[0] for line in listed.stdout.splitlines() if "kortvarig-adgang" in line)
    revoked = srv.cli("token", "revoke", token_id, "--db", srv.db)
    assert revoked.returncode == 0, revoked.stderr
    r = httpx.get(srv.url + "/v1/regelsaet", headers=auth(token), timeout=30)  # no waiting, no cache
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    listed = srv.cli("token", "list", "--db", srv.db)
    row = next(line for line in listed.stdout.splitlines() if "kortvarig-adgang" in line)
    assert len(row.split()) > 5  # Tilbagekaldt is filled in
    assert srv.cli("token", "revoke", "t-findesikke", "--db", srv.db).returncode == 2


@pytest.mark.process
@pytest.mark.slow
def test_the_database_and_key_files_are_created_0600(servers, tmp_path):
    srv = servers()
    old = os.umask(0)  # even with a umask that would let everyone read
    try:
        token = srv.token("visitator")
        srv.start()
    finally:
        os.umask(old)
    assert httpx.post(srv.url + "/v1/vurderinger", json=EXAMPLE, headers=auth(token), timeout=30).status_code == 201
    made = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir() if p.name.startswith("server.db")}
    assert {"server.db", "server.db.hmac-noegle", "server.db.log-noegle"} <= set(made), made
    assert set(made.values()) == {0o600}, made


@pytest.mark.process
@pytest.mark.slow
def test_a_first_start_on_loopback_prints_a_login_link_that_works(servers):
    srv = servers()
    srv.start()
    out = srv.stdout_text()
    link = re.search(r"(http://127\.0\.0\.1:\d+/log-ind\?noegle=\S+)", out)
    assert link, out
    with httpx.Client(timeout=30) as browser:
        signed_in = browser.get(link.group(1))
        assert signed_in.status_code == 303 and "noegle" not in signed_in.headers["location"], signed_in.text[:500]
        page = browser.get(srv.url + signed_in.headers["location"])
        assert page.status_code == 200 and "log-ind" not in str(page.url)
    token = link.group(1).split("noegle=", 1)[1]  # the same key is printed for the API
    assert httpx.post(srv.url + "/v1/vurderinger", json=EXAMPLE, headers=auth(token), timeout=30).status_code == 201
    srv.stop()
    srv.start()  # one time only: a token exists now
    assert srv.stdout_text().count("noegle=") == 1


@pytest.mark.process
def test_a_port_already_in_use_exits_with_one_line_and_no_ready_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'v.db'}", env=clean_env(tmp_path))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and str(port) in lines[0], result
    assert "klar" not in (result.stdout + result.stderr).lower() and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- VISITATOR_DB and VISITATOR_RULES

EXTRA_RULE = """\
regelsaet: misbrug
lag: lov
beskrivelse: En regel, der kun findes i testens egen regelmappe.
regler:
  - id: test-visitator-rules
    beskrivelse: Viser, at tjenesten bruger mappen i VISITATOR_RULES.
    gyldig_fra: 2026-06-01
    kilde: {dokument: "Testens egen kilde", sikkerhed: verificeret}
    hvis:
      - {felt: alder, operator: ">=", vaerdi: 0}
    saa:
      oplysning: Reglerne kom fra VISITATOR_RULES.
"""


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_visitator_db_and_visitator_rules_are_honoured_by_serve_token_and_log_verify(servers, tmp_path, workers):
    rules = copy_rules(tmp_path)
    (rules / "misbrug" / "lov" / "zz_test_env.yaml").write_text(EXTRA_RULE, encoding="utf-8")
    db = tmp_path / "fra-miljoeet" / "env.db"
    db.parent.mkdir()
    work = tmp_path / "arbejdsmappe"  # no ./regler and no visitator.db here: the defaults would show
    work.mkdir()
    env = clean_env(tmp_path, VISITATOR_DB=f"sqlite:///{db}", VISITATOR_RULES=str(rules))
    created = run_cli("token", "create", "--role", "visitator", env=env, cwd=work)
    assert created.returncode == 0 and db.exists(), created.stderr
    token = created.stdout.strip()
    srv = servers(env=env, cwd=work, workers=workers)
    srv.with_db = False
    srv.start()
    out = srv.stdout_text()
    assert f"Regler: {rules} (VISITATOR_RULES)" in out and f"database: sqlite:///{db}" in out, out
    r = httpx.post(srv.url + "/v1/vurderinger", json=EXAMPLE, headers=auth(token), timeout=60)
    assert r.status_code == 201 and "Reglerne kom fra VISITATOR_RULES." in r.text
    srv.stop()
    verified = run_cli("log", "verify", env=env, cwd=work)
    assert verified.returncode == 0 and "intakt: 2 poster" in verified.stdout, verified
    assert not list(work.iterdir()), "a default database or key was made in the working folder"


def test_a_cell_of_the_wrong_type_is_a_changed_record_for_log_verify_and_the_api(tmp_path):
    """svar stored as a BLOB (issue 13) is reported as a changed record: no crash, no 500."""
    svc = make_app(tmp_path)
    made = [svc.post(example(alder=20 + i)).json() for i in range(3)]
    conn = sqlite3.connect(tmp_path / "v.db")
    conn.execute("UPDATE vurderinger SET svar = CAST(svar AS BLOB) WHERE id = ?", (made[1]["id"],))
    (seq,) = conn.execute("SELECT seq FROM vurderinger WHERE id = ?", (made[1]["id"],)).fetchone()
    conn.commit()
    conn.close()
    r = svc.client.get("/v1/log/verifikation", headers=svc.headers("revisor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["intakt"] is False and body["signeret_hoved"] is None
    assert body["foerste_fejl"]["seq"] == seq and body["foerste_fejl"]["art"] == "aendret"
    result = verify("--db", f"sqlite:///{tmp_path / 'v.db'}", tmp_path=tmp_path)
    assert result.returncode == 1 and f"post {seq}" in result.stderr and "ændret" in result.stderr, result
    assert "Traceback" not in result.stderr
