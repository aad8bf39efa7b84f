"""`visitator log slet`, `log opbevaring` and `log verify` as an operator (or cron) runs them, on SQLite
and PostgreSQL: what was removed is printed (how many, which seq range, the event), nothing on or after
the date is touched, --dry-run removes nothing, verify reports removed records with their event and
finds content removed without one, and a changed access-log entry."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.log import open_store
from support.logdata import afg, dec, sql
from support.pg import pg_url
from support.server import clean_env, run_cli

KOMMUNE = "herning"
RETENTION = """\
# Herning: hvor længe indholdet gemmes (kommunens eget grundlag)
kommuner:
  herning:
    aar_efter_sidste_afgoerelse: 5
    grundlag: "Herning Kommunes journalplan, beslutning af 1. marts 2026 (j.nr. 00.01.00-A00-1-26)"
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db(request, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'v.db'}" if request.param == "sqlite" else pg_url()
    store = open_store(url)
    try:
        old = [dec(1, oprettet="2018-03-01T10:00:00Z"), dec(2, oprettet="2019-06-01T10:00:00Z"), dec(3, oprettet="2019-12-31T23:59:59Z")]
        edge, new = dec(4, oprettet="2020-01-01T00:00:00Z"), dec(5, oprettet=f"{date.today().year}-01-01T00:00:00Z")
        store.append_decisions([*old, edge, new])
        store.append_afgoerelse(afg(1, old[0].id, oprettet="2018-04-01T00:00:00Z", dato="2018-04-01", udfald="afvist_af_borger",
                                    begrundelse="Personlige forhold"))
        store.record_access(KOMMUNE, "t-0000000000aa", "revisor", "GET /v1/vurderinger/{id}", [old[0].id])
    finally:
        store.close()
    return url


def cli(tmp_path: Path, *args: str):
    return run_cli("log", *args, env=clean_env(tmp_path))


def content(url: str, kommune: str = KOMMUNE) -> dict[int, bool]:
    """seq -> whether the decision still has its content."""
    return {int(seq): svar is not None for seq, svar in sql(url, "SELECT seq, svar FROM vurderinger WHERE kommune = :k ORDER BY seq",
                                                            k=kommune)}


def test_slet_removes_before_the_date_prints_what_and_verify_names_the_event(db, tmp_path):
    out = cli(tmp_path, "slet", "--db", db, "--foer", "2020-01-01", "--begrundelse", "Sagen er afsluttet og arkiveret", "--hvem", "dpo")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("herning: slettede indholdet af 3 vurderinger og 1 afgørelse fra før 2020-01-01 (post 1-6); "
                                  "sletningen er post 7 i kæden.")
    assert content(db) == {1: False, 2: False, 3: False, 4: True, 5: True}  # 2020-01-01T00:00:00Z is on the date: kept
    verified = cli(tmp_path, "verify", "--db", db, "--kommune", KOMMUNE)
    assert verified.returncode == 0, verified.stderr
    lines = verified.stdout.splitlines()
    assert lines[0].startswith("Beslutningsloggen for herning er intakt: 7 poster") and "indholdet af 4 poster er slettet efter reglerne" in lines[0]
    assert lines[1] == "  post 1-3: slettet efter reglerne af sletningen i post 7 " \
                       f"({sql(db, 'SELECT oprettet FROM kaede WHERE seq = 7')[0][0]}, dpo: Sagen er afsluttet og arkiveret)"
    assert lines[2].startswith("  post 6: slettet efter reglerne af sletningen i post 7")
    assert lines[3].startswith("Adgangsloggen for herning er intakt: 1 læsning")
    again = cli(tmp_path, "slet", "--db", db, "--foer", "2020-01-01", "--begrundelse", "Igen", "--hvem", "dpo")
    assert again.returncode == 0 and again.stdout.strip() == "herning: intet at slette fra før 2020-01-01."


def test_slet_without_hvem_names_the_os_user_and_dry_run_removes_nothing(db, tmp_path):
    import getpass

    dry = cli(tmp_path, "slet", "--db", db, "--foer", "2019-01-01", "--begrundelse", "Prøve", "--dry-run")
    assert dry.returncode == 0 and "ville slette indholdet af 1 vurdering og 1 afgørelse" in dry.stdout and "intet er slettet" in dry.stdout
    assert all(content(db).values())
    done = cli(tmp_path, "slet", "--db", db, "--foer", "2019-01-01", "--begrundelse", "Prøve")
    assert done.returncode == 0 and "post 1-6" in done.stdout
    meta = sql(db, "SELECT metadata FROM kaede WHERE art = 'sletning'")[0][0]
    assert f'"hvem":"{getpass.getuser()}"' in meta


@pytest.mark.parametrize("args, message", [
    (("--foer", "2099-01-01", "--begrundelse", "x"), "efter i dag"),
    (("--foer", "1. januar", "--begrundelse", "x"), "ÅÅÅÅ-MM-DD"),
    (("--foer", "2020-01-01", "--begrundelse", "  "), "--begrundelse"),
    (("--foer", "2020-01-01", "--begrundelse", "Borger 310287-4411 bad om det"), "CPR"),
    (("--foer", "2020-01-01", "--begrundelse", "ok", "--hvem", "3102874411"), "CPR"),
    (("--foer", "2020-01-01", "--begrundelse", "ok", "--kommune", "silkeborg"), None),
])
def test_slet_refuses_bad_input_and_changes_nothing(db, tmp_path, args, message):
    out = cli(tmp_path, "slet", "--db", db, *args)
    if message is None:  # a kommune without records: nothing to do, nothing done
        assert out.returncode == 0 and "intet at slette" in out.stdout
    else:
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
        assert "4411" not in out.stderr
    assert all(content(db).values()) and not sql(db, "SELECT seq FROM kaede WHERE art = 'sletning'")


def test_slet_needs_the_kommune_when_the_database_serves_several(db, tmp_path):
    store = open_store(db)
    store.append_decision(dec(1, kommune="silkeborg", oprettet="2018-01-01T00:00:00Z"))
    store.close()
    out = cli(tmp_path, "slet", "--db", db, "--foer", "2020-01-01", "--begrundelse", "Frist")
    assert out.returncode == 2 and "angiv --kommune" in out.stderr and "herning, silkeborg" in out.stderr
    assert cli(tmp_path, "slet", "--db", db, "--foer", "2020-01-01", "--begrundelse", "Frist", "--kommune", "silkeborg").returncode == 0
    assert all(content(db).values()) and content(db, "silkeborg") == {1: False}  # each kommune its own chain


def test_slet_on_a_mistyped_path_creates_nothing(tmp_path):
    missing = tmp_path / "findes-ikke.db"
    out = cli(tmp_path, "slet", "--db", f"sqlite:///{missing}", "--foer", "2020-01-01", "--begrundelse", "Frist")
    assert out.returncode == 2 and not missing.exists()


def test_opbevaring_dry_run_shows_without_removing_then_removes_and_is_idempotent(db, tmp_path):
    config = tmp_path / "opbevaring.yaml"
    config.write_text(RETENTION, encoding="utf-8")
    dry = cli(tmp_path, "opbevaring", "--db", db, "--config", str(config), "--dry-run", "--hvem", "cron")
    assert dry.returncode == 0, dry.stderr
    assert "prøvekørsel" in dry.stdout.splitlines()[0]
    line = next(x for x in dry.stdout.splitlines() if x.startswith("herning:"))
    cutoff = date.today().replace(year=date.today().year - 5).isoformat()
    assert f"ville slette indholdet af 4 vurderinger og 1 afgørelse fra før {cutoff} (post 1-6); intet er slettet" in line
    assert f"5 år efter sidste afgørelse ({config}:3:3)" in line
    assert all(content(db).values()) and not sql(db, "SELECT seq FROM kaede WHERE art = 'sletning'")
    run = run_cli("log", "opbevaring", "--db", db, "--hvem", "cron", env=clean_env(tmp_path, VISITATOR_OPBEVARING=str(config)))
    assert run.returncode == 0, run.stderr
    assert "herning: slettede indholdet af 4 vurderinger og 1 afgørelse" in run.stdout and "sletningen er post 7 i kæden" in run.stdout
    assert content(db) == {1: False, 2: False, 3: False, 4: False, 5: True}  # this year's decision is within the period
    meta = sql(db, "SELECT metadata FROM kaede WHERE seq = 7")[0][0]
    assert "Herning Kommunes journalplan" in meta and '"hvem":"cron"' in meta
    again = cli(tmp_path, "opbevaring", "--db", db, "--config", str(config))
    assert again.returncode == 0 and f"herning: intet at slette fra før {cutoff}" in again.stdout
    assert cli(tmp_path, "verify", "--db", db, "--kommune", KOMMUNE).returncode == 0


def test_opbevaring_leaves_a_kommune_without_a_rule_alone(db, tmp_path):
    config = tmp_path / "opbevaring.yaml"
    config.write_text(RETENTION.replace("herning:", "silkeborg:"), encoding="utf-8")
    out = cli(tmp_path, "opbevaring", "--db", db, "--config", str(config))
    assert out.returncode == 0 and "herning: ingen opbevaringsregel i opbevaring.yaml; intet slettet." in out.stdout
    assert "silkeborg: intet at slette" in out.stdout and all(content(db).values())


@pytest.mark.parametrize("text, where, message", [
    ("kommuner:\n  herning:\n    aar_efter_sidste_afgoerelse: fem\n    grundlag: Journalplanen fra 2026\n", ":3:", "helt tal"),
    ("kommuner:\n  herning:\n    aar_efter_sidste_afgoerelse: 0\n    grundlag: Journalplanen fra 2026\n", ":3:", "aar_efter_sidste_afgoerelse"),
    ("kommuner:\n  herning:\n    aar_efter_sidste_afgoerelse: 5\n", ":3:", "mangler 'grundlag'"),
    ("kommuner:\n  herning:\n    aar_efter_sidste_afgoerelse: 5\n    grundlag: Journalplan, borger 310287-4411\n", ":2:", "CPR"),
    ("kommuner:\n  Herning Kommune:\n    aar_efter_sidste_afgoerelse: 5\n    grundlag: Journalplanen fra 2026\n", ":2:", "ugyldig kommune"),
    ("kommuner: [herning\n", ":2:", "ikke lukket"),
])
def test_a_broken_retention_file_is_refused_with_file_and_line_and_nothing_is_removed(db, tmp_path, text, where, message):
    config = tmp_path / "opbevaring.yaml"
    config.write_text(text, encoding="utf-8")
    out = cli(tmp_path, "opbevaring", "--db", db, "--config", str(config))
    assert out.returncode == 2 and "intet er slettet" in out.stderr and f"{config}{where}" in out.stderr and message in out.stderr, out.stderr
    assert "4411" not in out.stderr and all(content(db).values())


def test_opbevaring_without_a_file_says_the_project_sets_no_period(tmp_path):
    out = cli(tmp_path, "opbevaring", "--db", f"sqlite:///{tmp_path / 'v.db'}")
    assert out.returncode == 2 and "VISITATOR_OPBEVARING" in out.stderr and "fastsætter ingen opbevaringsperiode" in out.stderr


def test_verify_finds_content_removed_without_an_event_and_a_changed_access_entry(db, tmp_path):
    sql(db, "UPDATE vurderinger SET screening = NULL, svar = NULL WHERE seq = 2")
    out = cli(tmp_path, "verify", "--db", db, "--kommune", KOMMUNE)
    assert out.returncode == 1 and "IKKE intakt" in out.stderr and "post 2" in out.stderr and "sletningshændelse" in out.stderr
    sql(db, "UPDATE vurderinger SET screening = :s, svar = :v WHERE seq = 2", s=dec(2).screening, v=dec(2).svar)
    assert cli(tmp_path, "verify", "--db", db, "--kommune", KOMMUNE).returncode == 0
    sql(db, "UPDATE adgangslog SET formaal = 'GET /v1/regelsaet' WHERE seq = 1")
    out = cli(tmp_path, "verify", "--db", db, "--kommune", KOMMUNE)
    assert out.returncode == 1 and out.stdout.startswith("Beslutningsloggen for herning er intakt")
    assert "Adgangsloggen for herning er IKKE intakt" in out.stderr and "post 1" in out.stderr
