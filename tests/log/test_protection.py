"""Redaction the chain survives, the access log, tokens, sessions and snapshots, on both backends."""
from __future__ import annotations

import json
from datetime import date

import pytest

from service.log import NotFound, SnapshotTampered, open_store
from support.logdata import afg, dec, sql


def old_and_new(store):
    old = [dec(i, oprettet=f"2020-0{1 + i}-01T00:00:00Z") for i in range(3)]
    new = [dec(10 + i, oprettet="2026-03-01T00:00:00Z") for i in range(2)]
    store.append_decisions(old + new)
    store.append_afgoerelse(afg(1, old[0].id, oprettet="2020-06-01T00:00:00Z", dato="2020-06-01", udfald="afveget",
                                tilbud={"behandling": "x"}, begrundelse="Personlige forhold"))
    store.append_afgoerelse(afg(2, new[0].id, oprettet="2026-03-02T00:00:00Z", begrundelse="Ny"))
    return old, new


def test_redaction_keeps_the_chain_verifiable_and_names_the_event(store, url):
    old, new = old_and_new(store)
    report = store.redact("herning", date(2021, 1, 1), "Opbevaringsfristen er udløbet", "dpo@herning")
    assert (report.antal, report.antal_afgoerelser, report.seq_fra, report.seq_til) == (3, 1, 1, 6)
    gone = store.get_decision("herning", old[0].id)
    assert gone.screening is None and gone.svar is None and gone.slettet.event_seq == report.event_seq
    assert gone.slettet.hvem == "dpo@herning" and gone.regelsaet_version == "2026-01" and gone.anbefalinger
    assert gone.afgoerelser[0].begrundelse is None and gone.afgoerelser[0].udfald == "afveget"
    kept = store.get_decision("herning", new[0].id)
    assert kept.svar == new[0].svar and kept.afgoerelser[0].begrundelse == "Ny" and kept.slettet is None
    verified = store.verify_chain("herning")
    assert verified.intakt and verified.slettede == (((1, 3), report.event_seq), ((6, 6), report.event_seq))
    event = sql(url if url.startswith("sqlite") else url, "SELECT art, metadata FROM kaede WHERE seq = :s", s=report.event_seq)
    meta = json.loads(event[0][1])
    assert event[0][0] == "sletning" and meta["antal"] == 3 and meta["begrundelse"] == "Opbevaringsfristen er udløbet"
    again = store.redact("herning", date(2021, 1, 1), "igen", "dpo")
    assert again.antal == 0 and again.event_seq is None


def test_content_removed_beyond_the_event_is_tampering(store, url):
    old, new = old_and_new(store)
    store.redact("herning", date(2021, 1, 1), "frist", "dpo")
    event = store.head("herning")[0]
    sql(url, "UPDATE vurderinger SET screening = NULL, svar = NULL, slettet_af_seq = :e WHERE id = :i", e=event, i=new[1].id)
    report = store.verify_chain("herning")
    assert not report.intakt and report.foerste_fejl.art == "aendret" and "sletningshændelse" in report.foerste_fejl.besked


def test_retention_date_is_held_back_by_a_recent_afgoerelse(store):
    old, new = old_and_new(store)
    assert store.due_for_redaction("herning", 5, date(2026, 6, 1)) == date(2021, 6, 1)
    store.append_afgoerelse(afg(3, old[1].id, oprettet="2026-05-01T00:00:00Z"))
    assert store.due_for_redaction("herning", 5, date(2026, 6, 1)) == date(2020, 2, 1)


def test_the_access_log_grows_lists_and_detects_changes(store, url):
    store.append_decisions([dec(1), dec(2)])
    store.record_access("herning", "t-a", "revisor", "GET /v1/vurderinger/{id}", [dec(1).id])
    store.record_access("herning", "t-b", "visitator", "GET /v1/vurderinger", [dec(1).id, dec(2).id])
    store.record_access("silkeborg", "t-c", "revisor", "GET /v1/vurderinger", [])
    total, entries = store.access_log("herning", vurdering=dec(1).id)
    assert total == 2 and [e.token_id for e in entries] == ["t-b", "t-a"]
    assert store.access_log("herning", token="t-a")[0] == 1 and store.access_log("herning", fra=date(2000, 1, 1))[0] == 2
    assert store.access_log("herning", vurdering=dec(1).id, limit=1, offset=1)[1][0].token_id == "t-a"
    assert store.verify_access_log("herning").intakt and store.verify_access_log("herning").antal == 2
    sql(url, "UPDATE adgangslog SET formaal = 'x' WHERE kommune = 'herning' AND seq = 1")
    bad = store.verify_access_log("herning")
    assert not bad.intakt and (bad.foerste_fejl.seq, bad.foerste_fejl.art) == (1, "aendret")
    assert store.verify_access_log("silkeborg").intakt


@pytest.mark.parametrize("tamper", ["delete_last", "drop_index_row"])
def test_access_log_deletions_are_detected(store, url, tamper):
    store.append_decisions([dec(1)])
    for _ in range(3):
        store.record_access("herning", "t-a", "revisor", "GET", [dec(1).id])
    if tamper == "delete_last":
        sql(url, "DELETE FROM adgangslog WHERE seq = 3")
    else:
        sql(url, "DELETE FROM adgangslog_poster WHERE seq = 2")
    assert not store.verify_access_log("herning").intakt


def test_tokens_are_chain_events_and_revocation_is_immediate_everywhere(url):
    a, b = open_store(url), open_store(url)
    try:
        secret, info = a.create_token("revisor", "herning", "Revisor 1")
        assert info.id.startswith("t-") and len(info.id) == 14 and secret not in repr(sql(url, "SELECT * FROM tokens"))
        assert b.token_by_secret(secret).id == info.id and b.count_tokens() == 1
        assert [t.id for t in b.list_tokens("herning")] == [info.id] and b.list_tokens("silkeborg") == []
        with pytest.raises(NotFound):
            b.revoke_token("silkeborg", info.id)  # another kommune's token: not found
        b.revoke_token("herning", info.id)
        assert a.token_by_secret(secret) is None and a.count_tokens() == 0
        arts = [r[0] for r in sql(url, "SELECT art FROM kaede WHERE kommune = 'herning' ORDER BY seq")]
        assert arts == ["token_oprettet", "token_tilbagekaldt"] and a.verify_chain("herning").intakt
        with pytest.raises(ValueError):
            a.create_token("admin", "herning", None)
        with pytest.raises(ValueError):
            a.create_token("revisor", "Herning Kommune", None)
    finally:
        a.close(), b.close()


def test_sessions_end_on_logout_expiry_and_revocation(url):
    now = [__import__("datetime").datetime(2026, 11, 23, 12, tzinfo=__import__("datetime").timezone.utc)]
    store = open_store(url, clock=lambda: now[0])
    try:
        _, info = store.create_token("visitator", "herning", None)
        sid = store.create_session(info.id, 3600)
        assert store.session(sid)[0] == info.id
        assert sql(url, "SELECT count(*) FROM sessioner WHERE id = :i", i=sid)[0][0] == 0  # only its sha256
        store.end_session(sid)
        assert store.session(sid) is None  # a replayed cookie after logout
        sid = store.create_session(info.id, 60)
        now[0] = now[0].replace(minute=2)
        assert store.session(sid) is None  # expired
        now[0] = now[0].replace(minute=0)
        sid = store.create_session(info.id, 60)
        assert store.end_sessions_for_token(info.id) == 2 and store.session(sid) is None
        sid = store.create_session(info.id, 60)
        store.revoke_token(None, info.id)
        assert store.session(sid) is None
        with pytest.raises(NotFound):
            store.create_session(info.id, 60)
    finally:
        store.close()


def snapshot_text(content):
    from engine.versions import sha256_of

    sha = sha256_of(content)
    return sha, json.dumps({"format": 2, "sha256": sha, "indhold": content}, ensure_ascii=False)


def test_snapshots_are_checked_against_their_address_on_every_read(store, url):
    sha, text = snapshot_text({"navn": "misbrug", "regler": [1, 2]})
    store.put_snapshot(sha, text)
    store.put_snapshot(sha, text)  # idempotent
    assert store.get_snapshot(sha) == text and store.snapshot_ids() == [sha] and store.get_snapshot("f" * 64) is None
    sql(url, "UPDATE regelsaet_snapshots SET indhold = :t", t=text.replace("[1,2]", "[1,3]").replace("[1, 2]", "[1, 3]"))
    with pytest.raises(SnapshotTampered, match="ændret"):
        store.get_snapshot(sha)
    with pytest.raises(ValueError):
        store.put_snapshot("0" * 64, text)
    other, _ = snapshot_text({"navn": "andet"})
    store.put_alias(other, sha)
    assert store.resolve(other) == sha and store.resolve(sha) == sha
