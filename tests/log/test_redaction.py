"""Redaction on both backends (issue 17): a log with redacted records verifies, content removed without
a sletning event is tampering, nothing on or after the date is touched, the preview removes nothing,
the kept digests no longer match the removed content, and records written before salts still verify."""
from __future__ import annotations

import hashlib
from datetime import date

import pytest

from service.log import open_store
from support.logdata import afg, dec, sql

BEFORE = date(2021, 1, 1)


def seeded(store):
    """Three decisions before 2021 (one a second before midnight), one exactly at it, one after."""
    old = [dec(1, oprettet="2020-03-01T10:00:00Z"), dec(2, oprettet="2020-07-01T10:00:00Z"), dec(3, oprettet="2020-12-31T23:59:59Z")]
    edge, new = dec(4, oprettet="2021-01-01T00:00:00Z"), dec(5, oprettet="2026-03-01T00:00:00Z")
    store.append_decisions([*old, edge, new])
    store.append_afgoerelse(afg(1, old[0].id, oprettet="2020-04-01T00:00:00Z", dato="2020-04-01", udfald="afvist_af_borger",
                                begrundelse="Borgeren ønsker ikke behandling nu"))
    store.append_afgoerelse(afg(2, old[1].id, oprettet="2021-02-01T00:00:00Z", dato="2021-02-01", udfald="afvist_af_borger",
                                begrundelse="Efter datoen: bliver"))
    store.append_afgoerelse(afg(3, edge.id, oprettet="2021-01-02T00:00:00Z", udfald="afvist_af_borger", begrundelse="Ny"))
    return old, edge, new


def test_a_redacted_log_verifies_and_reports_the_records_as_removed_by_their_event(store):
    old, edge, new = seeded(store)
    report = store.redact("herning", BEFORE, "Opbevaringsperioden er udløbet", "dpo@herning")
    assert (report.antal, report.antal_afgoerelser) == (3, 1)
    verified = store.verify_chain("herning")
    assert verified.intakt, verified.foerste_fejl
    removed = {seq for (first, last), event in verified.slettede for seq in range(first, last + 1) if event == report.event_seq}
    assert removed == {1, 2, 3, 6}  # three decisions and the afgørelse made before the date
    [event] = store.deletions("herning")
    assert (event.event_seq, event.hvem, event.foer, event.antal, event.antal_afgoerelser) == (report.event_seq, "dpo@herning", "2021-01-01", 3, 1)
    assert (event.seq_fra, event.seq_til) == (report.seq_fra, report.seq_til) == (1, 6)
    # what stays: ids, dates, rule set version, recommendations, udfald
    gone = store.get_decision("herning", old[0].id)
    assert gone.screening is None and gone.svar is None and gone.slettet.event_seq == report.event_seq
    assert gone.anbefalinger and gone.oprettet == old[0].oprettet and gone.regelsaet_sha256 == old[0].regelsaet_sha256
    assert gone.afgoerelser[0].udfald == "afvist_af_borger" and gone.afgoerelser[0].begrundelse is None
    assert gone.afgoerelser[0].slettet.event_seq == report.event_seq


def test_redaction_never_touches_records_on_or_after_the_date(store):
    old, edge, new = seeded(store)
    store.redact("herning", BEFORE, "frist", "dpo")
    assert store.get_decision("herning", old[2].id).svar is None  # 2020-12-31T23:59:59Z: before
    for kept in (edge, new):
        record = store.get_decision("herning", kept.id)
        assert (record.screening, record.svar, record.slettet) == (kept.screening, kept.svar, None)
    late = store.get_decision("herning", old[1].id).afgoerelser[0]  # the afgørelse of an old decision, made after the date
    assert late.begrundelse == "Efter datoen: bliver" and late.slettet is None
    assert store.get_decision("herning", edge.id).afgoerelser[0].begrundelse == "Ny"
    assert store.verify_chain("herning").intakt


def test_the_preview_shows_exactly_what_redaction_removes_and_removes_nothing(store):
    old, _, _ = seeded(store)
    preview = store.preview_redaction("herning", BEFORE)
    assert preview.event_seq is None and store.get_decision("herning", old[0].id).svar == old[0].svar
    assert store.deletions("herning") == [] and store.head("herning")[0] == 8
    done = store.redact("herning", BEFORE, "frist", "dpo")
    assert (preview.antal, preview.antal_afgoerelser, preview.seq_fra, preview.seq_til) == (done.antal, done.antal_afgoerelser,
                                                                                           done.seq_fra, done.seq_til)
    assert store.preview_redaction("herning", BEFORE).antal == 0


def test_no_kept_digest_matches_the_removed_content(store, url):
    """A screening has little entropy (its dates stay in the row): a plain sha256 of it could be found
    again by trying screenings. The digests are salted and the salt goes with the content."""
    old, _, _ = seeded(store)
    plain = hashlib.sha256(old[0].screening.encode()).hexdigest()
    [(digest, salt)] = sql(url, "SELECT screening_sha256, salt FROM vurderinger WHERE id = :i", i=old[0].id)
    assert digest != plain and len(salt) == 32
    store.redact("herning", BEFORE, "frist", "dpo")
    rows = sql(url, "SELECT screening, svar, salt, screening_sha256, svar_sha256 FROM vurderinger WHERE id = :i", i=old[0].id)
    assert rows[0][:3] == (None, None, None) and rows[0][3] == digest  # the digest stays (the chain covers it), unsalted no more
    [(begrundelse, afg_salt, afg_digest)] = sql(url, "SELECT begrundelse, salt, begrundelse_sha256 FROM afgoerelser WHERE vurdering_id = :i",
                                                i=old[0].id)
    assert (begrundelse, afg_salt) == (None, None)
    assert afg_digest != hashlib.sha256("Borgeren ønsker ikke behandling nu".encode()).hexdigest()


@pytest.mark.parametrize("how", ["decision_without_event", "afgoerelse_without_event", "pointing_at_another_event", "after_the_events_date"])
def test_content_removed_without_a_covering_sletning_event_is_tampering(store, url, how):
    old, edge, new = seeded(store)
    if how == "decision_without_event":
        sql(url, "UPDATE vurderinger SET screening = NULL, svar = NULL, salt = NULL WHERE id = :i", i=old[1].id)
        seq = 2
    elif how == "afgoerelse_without_event":
        sql(url, "UPDATE afgoerelser SET begrundelse = NULL, salt = NULL WHERE vurdering_id = :i", i=old[0].id)
        seq = 6
    else:
        report = store.redact("herning", BEFORE, "frist", "dpo")
        target, seq = (old[2].id, 3) if how == "pointing_at_another_event" else (new.id, 5)
        if how == "pointing_at_another_event":
            sql(url, "UPDATE vurderinger SET screening = NULL, svar = NULL, slettet_af_seq = 1 WHERE id = :i", i=edge.id)
            seq = 4
        else:
            sql(url, "UPDATE vurderinger SET screening = NULL, svar = NULL, slettet_af_seq = :e WHERE id = :i", e=report.event_seq, i=target)
    report = store.verify_chain("herning")
    assert not report.intakt and report.foerste_fejl.seq == seq and report.foerste_fejl.art == "aendret"
    assert "sletningshændelse" in report.foerste_fejl.besked


def test_a_changed_sletning_event_is_detected(store, url):
    seeded(store)
    event = store.redact("herning", BEFORE, "frist", "dpo").event_seq
    sql(url, "UPDATE kaede SET metadata = replace(metadata, :a, :b) WHERE seq = :s", a='"seq_til":6', b='"seq_til":8', s=event)
    assert not store.verify_chain("herning").intakt


def test_the_access_log_is_never_touched_by_redaction(store):
    old, _, _ = seeded(store)
    store.record_access("herning", "t-a", "revisor", "GET /v1/vurderinger/{id}", [old[0].id])
    store.redact("herning", BEFORE, "frist", "dpo")
    total, entries = store.access_log("herning", vurdering=old[0].id)
    assert total == 1 and entries[0].vurdering_ids == (old[0].id,) and store.verify_access_log("herning").intakt
    assert store.borger_index("herning", old[0].borger_reference_hmac).adgange[0].seq == entries[0].seq


def test_records_from_before_salted_digests_still_verify_and_redact(url, monkeypatch):
    """A database of schema 0001 with records (plain sha256 digests) is migrated to 0002 and keeps verifying."""
    import service.log.decisions as decisions

    with monkeypatch.context() as m:
        m.setattr(decisions, "new_salt", lambda: None)  # what the code before 0002 wrote
        store = open_store(url)
        seeded(store)
        store.close()
    for table in ("vurderinger", "afgoerelser"):
        sql(url, f"ALTER TABLE {table} DROP COLUMN salt")
    for table in ("kladde_historik", "kladde_filer", "publicerede_lag", "kladder"):  # what 0003 added
        sql(url, f"DROP TABLE {table}")
    sql(url, "UPDATE alembic_version SET version_num = '0001'")
    store = open_store(url)  # migrates to the head
    try:
        assert sql(url, "SELECT version_num FROM alembic_version")[0][0] != "0001"
        assert sql(url, "SELECT count(*) FROM vurderinger WHERE salt IS NULL")[0][0] == 5
        assert store.verify_chain("herning").intakt
        store.append_decision(dec(9, oprettet="2026-05-01T00:00:00Z"))  # a new record gets a salt
        assert sql(url, "SELECT salt FROM vurderinger WHERE seq = 9")[0][0] is not None
        store.redact("herning", BEFORE, "frist", "dpo")
        report = store.verify_chain("herning")
        assert report.intakt and report.slettede
    finally:
        store.close()
