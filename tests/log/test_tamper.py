"""Tamper detection on both backends: changed cells and digests, deleted, inserted and reordered
records, records cut off the end with the head row (caught by a signed checkpoint), a BLOB where
text belongs, and the incremental check from the newest checkpoint."""
from __future__ import annotations

import pytest

from service.log import open_store
from service.log.chain import entry_hash
from support.logdata import afg, dec, sql

N = 8
KEY = b"k" * 40


@pytest.fixture
def log(url):
    store = open_store(url)
    store.append_decisions([dec(i) for i in range(N - 1)])
    store.append_afgoerelse(afg(1, dec(2).id, udfald="afveget", tilbud={"behandling": "x"}, begrundelse="Begrundelse"))
    store.close()
    return url


def verify(url, key=None):
    store = open_store(url, readonly=True)
    try:
        return store.verify_chain("herning", key=key)
    finally:
        store.close()


def first(url, key=None):
    report = verify(url, key)
    assert not report.intakt, report
    return report.foerste_fejl.seq, report.foerste_fejl.art, report.foerste_fejl.besked


def test_intact(log):
    report = verify(log, KEY)
    assert report.intakt and report.antal == N and report.hoved_seq == N


@pytest.mark.parametrize("column", ["svar", "screening", "oprettet", "regelsaet_sha256", "borger_reference_hmac",
                                    "token_id", "henvendelsesdato"])
def test_a_changed_decision_cell_is_detected(log, column):
    sql(log, f"UPDATE vurderinger SET {column} = {column} || 'x' WHERE seq = 4")
    seq, art, besked = first(log)
    assert (seq, art) == (4, "aendret") and "post 4" in besked


@pytest.mark.parametrize("column", ["begrundelse", "udfald", "tilbud"])
def test_a_changed_afgoerelse_is_detected(log, column):
    value = "'fulgt'" if column == "udfald" else f"{column} || ' '"
    sql(log, f"UPDATE afgoerelser SET {column} = {value} WHERE seq = {N}")
    assert first(log)[:2] == (N, "aendret")


def test_a_changed_recommendation_is_detected(log):
    sql(log, "UPDATE anbefalinger SET kategori = 'doegn' WHERE seq = 3 AND spor = 'behandling'")
    assert first(log)[:2] == (3, "aendret")


def test_a_changed_digest_is_detected(log):
    sql(log, "UPDATE kaede SET indhold_sha256 = :d WHERE seq = 5", d="0" * 64)
    assert first(log)[:2] == (5, "aendret")


def test_a_changed_inner_digest_is_detected(log):
    sql(log, "UPDATE vurderinger SET svar_sha256 = :d WHERE seq = 6", d="0" * 64)
    assert first(log)[:2] == (6, "aendret")


def test_a_rehashed_entry_breaks_the_link_to_the_next(log):
    rows = sql(log, "SELECT seq, art, ref, oprettet, metadata, indhold_sha256, forrige_hash FROM kaede WHERE seq = 4")
    forged = entry_hash("herning", rows[0][0], rows[0][1], rows[0][2], rows[0][3], '{"x":1}', rows[0][5], rows[0][6])
    sql(log, "UPDATE kaede SET metadata = :m, hash = :h WHERE seq = 4", m='{"x":1}', h=forged)
    seq, art, besked = first(log)
    assert seq == 5 and "post 4" in besked


@pytest.mark.parametrize("seq", [1, 5])
def test_a_deleted_entry_is_detected(log, seq):
    sql(log, "DELETE FROM kaede WHERE seq = :s", s=seq)
    assert first(log)[:2] == (seq, "slettet")


def test_a_deleted_content_row_is_detected(log):
    sql(log, "DELETE FROM vurderinger WHERE seq = 3")
    assert first(log)[:2] == (3, "slettet")


def test_unlogged_content_removal_is_tampering(log):
    sql(log, "UPDATE vurderinger SET screening = NULL, svar = NULL WHERE seq = 2")
    seq, art, besked = first(log)
    assert (seq, art) == (2, "aendret") and "uden en sletningshændelse" in besked


def test_deleting_the_last_records_is_detected_by_the_head_row(log):
    sql(log, "DELETE FROM kaede WHERE seq >= 7")
    assert first(log)[:2] == (7, "slettet")


def test_deleting_the_last_records_and_the_head_row_is_detected_by_a_signed_checkpoint(log):
    store = open_store(log)
    store.sign_head("herning", KEY)
    store.close()
    sql(log, "DELETE FROM afgoerelser WHERE seq >= 6")
    sql(log, "DELETE FROM vurderinger WHERE seq >= 6")
    sql(log, "DELETE FROM kaede WHERE seq >= 6")
    head = sql(log, "SELECT hash FROM kaede WHERE seq = 5")[0][0]
    sql(log, "UPDATE kaede_hoved SET seq = 5, hash = :h", h=head)  # the head row rewritten to fit
    seq, art, besked = first(log, KEY)
    assert (seq, art) == (6, "slettet") and "kontrolpunkt" in besked
    store = open_store(log)
    try:
        report = store.verify_since_checkpoint("herning", KEY)
        assert not report.intakt and report.foerste_fejl.art == "slettet"
    finally:
        store.close()


def test_a_forged_checkpoint_signature_is_detected(log):
    store = open_store(log)
    store.sign_head("herning", KEY)
    store.close()
    sql(log, "UPDATE kontrolpunkter SET signatur = :s", s="0" * 64)
    assert first(log, KEY)[1] == "aendret"


def test_an_inserted_record_at_the_end_is_detected_even_with_a_valid_hash(log):
    last = sql(log, "SELECT hash FROM kaede WHERE seq = :s", s=N)[0][0]
    h = entry_hash("herning", N + 1, "token_oprettet", "t-1", "2026-01-01T00:00:00Z", "{}", None, last)
    sql(log, "INSERT INTO kaede VALUES ('herning', :s, 'token_oprettet', 't-1', '2026-01-01T00:00:00Z', '{}', NULL, :p, :h)",
        s=N + 1, p=last, h=h)
    assert first(log)[:2] == (N + 1, "indsat")


def test_an_inserted_record_in_the_middle_is_detected(log):
    for seq in range(N, 4, -1):  # make room at seq 5, moving content along with the entries
        for table in ("kaede", "vurderinger", "anbefalinger", "afgoerelser"):
            sql(log, f"UPDATE {table} SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    prev = sql(log, "SELECT hash FROM kaede WHERE seq = 4")[0][0]
    h = entry_hash("herning", 5, "token_oprettet", "t-1", "2026-01-01T00:00:00Z", "{}", None, prev)
    sql(log, "INSERT INTO kaede VALUES ('herning', 5, 'token_oprettet', 't-1', '2026-01-01T00:00:00Z', '{}', NULL, :p, :h)",
        p=prev, h=h)
    assert first(log)[:2] == (6, "flyttet")


def test_a_content_row_inserted_beside_the_chain_is_detected(log):
    sql(log, "INSERT INTO vurderinger SELECT 'NYT', kommune, 99, oprettet, token_id, regelsaet_navn, regelsaet_version, "
             "regelsaet_sha256, motorformat, borger_reference_hmac, henvendelsesdato, vurderingsdato, screening, svar, "
             "screening_sha256, svar_sha256, slettet_af_seq, salt FROM vurderinger WHERE seq = 1")
    assert first(log)[:2] == (99, "indsat")


def test_reordered_records_are_detected(log):
    sql(log, "UPDATE kaede SET seq = -1 WHERE seq = 3")
    sql(log, "UPDATE kaede SET seq = 3 WHERE seq = 4")
    sql(log, "UPDATE kaede SET seq = 4 WHERE seq = -1")
    assert first(log)[:2] == (3, "flyttet")


def test_swapped_contents_are_detected(log):
    sql(log, "UPDATE vurderinger SET seq = -1 WHERE seq = 3")
    sql(log, "UPDATE vurderinger SET seq = 3 WHERE seq = 4")
    sql(log, "UPDATE vurderinger SET seq = 4 WHERE seq = -1")
    assert first(log)[0] == 3


def test_a_blob_where_text_belongs_is_a_changed_record_not_a_crash(log):
    if not log.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps the column type; only SQLite can store a BLOB in a TEXT column")
    sql(log, "UPDATE vurderinger SET svar = CAST(svar AS BLOB) WHERE seq = 4")
    seq, art, besked = first(log)
    assert (seq, art) == (4, "aendret") and "post 4 er ændret" in besked
    sql(log, "UPDATE kaede SET metadata = CAST(metadata AS BLOB) WHERE seq = 2")
    assert first(log)[:2] == (2, "aendret")


def test_the_incremental_check_starts_at_the_newest_checkpoint_and_signs_a_new_one(log):
    store = open_store(log)
    try:
        full = store.verify_since_checkpoint("herning", KEY)  # no checkpoint yet: the full walk
        assert full.intakt and full.fra_kontrolpunkt is None
        store.append_decision(dec(50))
        report = store.verify_since_checkpoint("herning", KEY)
        assert report.intakt and report.fra_kontrolpunkt == N and report.antal == N + 1
        assert store.verify_since_checkpoint("herning", KEY).fra_kontrolpunkt == N + 1
        store.append_decision(dec(51))
        sql(log, "UPDATE kaede SET metadata = '{}' WHERE seq = :s", s=N + 2)
        bad = store.verify_since_checkpoint("herning", KEY)
        assert not bad.intakt and bad.foerste_fejl.seq == N + 2
    finally:
        store.close()


def test_an_exported_head_is_checked_as_a_prefix(log):
    store = open_store(log)
    try:
        seq, hash_ = store.head("herning")
        store.append_decision(dec(60))
        assert store.check_expected_head("herning", seq, hash_) is None
        assert store.check_expected_head("herning", seq, "0" * 64).art == "aendret"
        assert store.check_expected_head("herning", seq + 5, hash_).art == "slettet"
    finally:
        store.close()


def test_appending_after_the_head_row_was_deleted_is_refused(log):
    sql(log, "DELETE FROM kaede_hoved")
    assert first(log)[1] == "mangler_hoved"
    store = open_store(log)
    try:
        with pytest.raises(Exception, match="hoved"):
            store.append_decision(dec(70))
    finally:
        store.close()
