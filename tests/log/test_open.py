"""Opening the log: read-only never writes or creates, migrations (one history, applied once, under a
lock; newer databases refused), file modes 0600, the keys, and a lost PostgreSQL connection."""
from __future__ import annotations

import os
import stat
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from service.log import StoreError, StoreUnavailable, hmac_key, log_key, open_store
from service.log.migrate import head_revision
from service.log.schema import metadata
from support.logdata import dec, sql
from support.pg import pg_url


def test_readonly_on_a_mistyped_path_creates_nothing(tmp_path):
    target = tmp_path / "mistyped.db"
    with pytest.raises(StoreError, match="findes ikke"):
        open_store(f"sqlite:///{target}", readonly=True)
    with pytest.raises(StoreError, match="findes ikke"):
        open_store(f"sqlite:///{target}", create=False)
    assert list(tmp_path.iterdir()) == []


def test_readonly_on_a_file_without_tables_is_refused(tmp_path):
    target = tmp_path / "empty.db"
    target.write_bytes(b"")
    with pytest.raises(StoreError, match="ingen tabeller"):
        open_store(f"sqlite:///{target}", readonly=True)
    assert target.read_bytes() == b""


def test_readonly_never_writes(url):
    store = open_store(url)
    store.append_decision(dec(1))
    store.close()
    ro = open_store(url, readonly=True)
    try:
        assert ro.verify_chain("herning").intakt and ro.get_decision("herning", dec(1).id)
        with pytest.raises(StoreError):
            ro.append_decision(dec(2))
        report = ro.verify_since_checkpoint("herning", b"k" * 40)  # no checkpoint written when read-only
        assert report.intakt
    finally:
        ro.close()
    assert sql(url, "SELECT count(*) FROM kontrolpunkter")[0][0] == 0


@pytest.mark.pg
def test_readonly_on_an_empty_postgresql_database_is_refused():
    url = pg_url()
    with pytest.raises(StoreError, match="ingen tabeller"):
        open_store(url, readonly=True)
    assert sql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0] == 0


def test_the_migrated_schema_is_the_schema_definition(url):
    open_store(url).close()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() == head_revision()
    finally:
        engine.dispose()


def test_processes_starting_together_migrate_once(url):
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_store(url).close()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sql(url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_a_database_newer_than_the_code_is_refused(url):
    open_store(url).close()
    sql(url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="nyere end denne udgave"):
        open_store(url)
    with pytest.raises(StoreError, match="nyere"):
        open_store(url, readonly=True)


def test_a_foreign_database_is_refused(tmp_path):
    target = tmp_path / "other.db"
    sql(f"sqlite:///{target}", "CREATE TABLE something (x INTEGER)")
    with pytest.raises(StoreError, match="som ikke er visitators"):
        open_store(f"sqlite:///{target}")


def test_unknown_urls_are_refused_in_danish():
    with pytest.raises(StoreError, match="ukendt database-URL"):
        open_store("mysql://x/y")
    with pytest.raises(StoreError, match="mangler en sti"):
        open_store("sqlite:///")


def test_new_files_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("VISITATOR_HMAC_KEY", raising=False)
    monkeypatch.delenv("VISITATOR_LOG_KEY", raising=False)
    target = tmp_path / "sub" / "v.db"
    store = open_store(f"sqlite:///{target}")
    store.append_decision(dec(1))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    first = hmac_key(store.path)
    assert hmac_key(store.path) == first and log_key(store.path) != first
    for name in ("v.db.hmac-noegle", "v.db.log-noegle"):
        assert stat.S_IMODE(os.stat(target.parent / name).st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        if (target.parent / ("v.db" + suffix)).exists():
            assert stat.S_IMODE(os.stat(target.parent / ("v.db" + suffix)).st_mode) & 0o077 == 0
    store.close()
    assert log_key(target.parent / "none.db", create=False) is None


def test_keys_from_the_environment_and_postgresql_requires_them(monkeypatch):
    monkeypatch.setenv("VISITATOR_LOG_KEY", "L" * 40)
    assert log_key(None) == b"L" * 40
    monkeypatch.delenv("VISITATOR_LOG_KEY")
    with pytest.raises(StoreError, match="VISITATOR_LOG_KEY"):
        log_key(None)
    monkeypatch.setenv("VISITATOR_HMAC_KEY", "short")
    with pytest.raises(StoreError, match="for kort"):
        hmac_key(None)


@pytest.mark.pg
def test_an_unreachable_postgresql_is_a_clear_error_without_the_password():
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://postgres:hemmelig@127.0.0.1:1/nix")
    assert "kan ikke åbnes" in str(caught.value) and "hemmelig" not in str(caught.value)


@pytest.mark.pg
@pytest.mark.slow
def test_a_lost_connection_is_unavailable_then_reconnects():
    from support.pg import restart_cluster

    url = pg_url()
    store = open_store(url)
    try:
        store.append_decision(dec(1))
        restart_cluster()
        outcomes = []
        for i in range(2, 6):
            try:
                store.append_decision(dec(i))
                outcomes.append("ok")
            except StoreUnavailable:
                outcomes.append("503")
        assert outcomes[-1] == "ok"
        store.ping()
        report = store.verify_chain("herning")
        assert report.intakt and report.antal == 1 + outcomes.count("ok")
    finally:
        store.close()
