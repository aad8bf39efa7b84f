"""Decisions, afgørelser, listing, streaming, statistics, tenancy and group commit on both backends."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from service.log import Filters, open_store
from support.logdata import afg, dec, sql


def test_append_get_and_afgoerelser(store):
    d = dec(1)
    seq, hash_ = store.append_decision(d)
    assert seq == 1 and len(hash_) == 64
    got = store.get_decision("herning", d.id)
    assert (got.svar, got.screening, got.seq, got.motorformat, got.slettet) == (d.svar, d.screening, 1, 2, None)
    assert got.anbefalinger == tuple(sorted(d.anbefalinger))
    store.append_afgoerelse(afg(1, d.id, udfald="fulgt"))
    store.append_afgoerelse(afg(2, d.id, udfald="afveget", tilbud={"behandling": "dag-1"}, begrundelse="Borgeren ønsker det"))
    later = store.afgoerelser("herning", d.id)
    assert [a.udfald for a in later] == ["fulgt", "afveget"] and later[1].tilbud == {"behandling": "dag-1"}
    assert [a.id for a in store.get_decision("herning", d.id).afgoerelser] == [a.id for a in later]
    assert store.verify_chain("herning").intakt and store.head("herning")[0] == 3


def test_afgoerelse_for_an_unknown_or_foreign_decision_is_refused_in_danish(store):
    store.append_decision(dec(1, "silkeborg"))
    with pytest.raises(ValueError, match="findes ikke"):
        store.append_afgoerelse(afg(1, "01VUKENDT"))
    with pytest.raises(ValueError, match="findes ikke"):
        store.append_afgoerelse(afg(1, dec(1, "silkeborg").id, kommune="herning"))
    assert store.head("herning") is None


def test_each_kommune_has_its_own_chain_and_sees_nothing_of_another(store):
    store.append_decisions([dec(i, "herning") for i in range(3)] + [dec(i, "silkeborg") for i in range(2)])
    assert store.head("herning")[0] == 3 and store.head("silkeborg")[0] == 2
    foreign = dec(0, "silkeborg").id
    assert store.get_decision("herning", foreign) is None
    assert store.afgoerelser("herning", foreign) == []
    assert store.list_decisions("herning", Filters(), 50, 0)[0] == 3
    assert [d.kommune for d in store.iter_decisions("silkeborg", Filters())] == ["silkeborg"] * 2
    assert store.verify_chain("herning").antal == 3 and store.verify_chain("silkeborg").antal == 2
    assert store.borger_index("herning", dec(0, "silkeborg").borger_reference_hmac).vurderinger[0].kommune == "herning"
    assert sorted(store.kommuner()) == ["herning", "silkeborg"]


def test_group_commit_of_50_records_is_one_transaction(store):
    commits = []
    event.listen(store.db.engine, "commit", lambda conn: commits.append(1))
    out = store.append_decisions([dec(i) for i in range(50)])
    assert len(commits) == 1
    assert [s for s, _ in out] == list(range(1, 51))
    assert store.verify_chain("herning").antal == 50


def test_a_failing_group_leaves_nothing_behind(store):
    store.append_decision(dec(0))
    with pytest.raises(IntegrityError):
        store.append_decisions([dec(1), dec(0)])  # the second repeats an id
    assert store.head("herning")[0] == 1 and store.list_decisions("herning", Filters(), 10, 0)[0] == 1
    assert store.verify_chain("herning").intakt


def test_listing_is_newest_first_with_filters_and_paging(store):
    records = [dec(i, oprettet=f"2026-0{1 + i // 10}-15T00:00:{i:02d}Z",
                   anbefalinger=(("behandling", "ambulant" if i % 2 else "dag", "x"),)) for i in range(30)]
    store.append_decisions(records)
    total, page = store.list_decisions("herning", Filters(), 5, 0)
    assert total == 30 and [d.id for d in page] == [r.id for r in records[::-1][:5]]
    assert store.list_decisions("herning", Filters(), 5, 5)[1][0].id == records[24].id
    assert store.list_decisions("herning", Filters(kategori="ambulant"), 100, 0)[0] == 15
    assert store.list_decisions("herning", Filters(spor="behandling", fra=date(2026, 2, 1), til=date(2026, 2, 28)), 100, 0)[0] == 10
    assert store.list_decisions("herning", Filters(borger_reference_hmac=records[0].borger_reference_hmac), 100, 0)[0] == 10
    assert store.list_decisions("herning", Filters(version="2026-01"), 1, 0)[0] == 30
    assert store.list_decisions("herning", Filters(version="a" * 64, token_id="t-nobody"), 1, 0)[0] == 0
    store.append_afgoerelse(afg(1, records[3].id, udfald="afveget", tilbud={"behandling": "y"}, begrundelse="b"))
    store.append_afgoerelse(afg(2, records[4].id, udfald="afveget", tilbud={"behandling": "y"}, begrundelse="b"))
    store.append_afgoerelse(afg(3, records[4].id, udfald="fulgt"))  # supersedes
    assert [d.id for d in store.list_decisions("herning", Filters(udfald="afveget"), 10, 0)[1]] == [records[3].id]


def test_iter_decisions_streams_in_seq_order_in_batches(store):
    store.append_decisions([dec(i) for i in range(23)])
    got = list(store.iter_decisions("herning", Filters(), batch=5))
    assert [d.seq for d in got] == list(range(1, 24))
    assert [d.seq for d in store.iter_decisions("herning", Filters(kategori="ambulant"), batch=4)] == list(range(1, 24))


def test_statistik_per_month_track_category_and_udfald(store):
    records = [dec(i, oprettet=f"2026-0{1 + i % 2}-10T00:00:00Z") for i in range(6)]
    store.append_decisions(records)
    store.append_afgoerelse(afg(1, records[0].id, udfald="afveget", tilbud={"behandling": "z"}, begrundelse="b"))
    store.append_afgoerelse(afg(2, records[2].id, udfald="fulgt"))
    stats = store.statistik("herning", date(2026, 1, 1), date(2026, 1, 31))
    assert ("2026-01", "behandling", "ambulant", 3) in stats.vurderinger
    assert all(m == "2026-01" for m, *_ in stats.vurderinger)
    assert set(stats.afgoerelser_spor) == {("2026-01", "behandling", "afveget", 1), ("2026-01", "behandling", "fulgt", 1),
                                           ("2026-01", "bolig", "afveget", 1), ("2026-01", "bolig", "fulgt", 1)}
    assert ("2026-01", "amb-1", "afveget", 1) in stats.afgoerelser_tilbud


def test_borger_index_has_decisions_afgoerelser_and_access(store):
    mine = [dec(i, borger_reference_hmac="c" * 64) for i in range(2)]
    store.append_decisions(mine + [dec(9)])
    store.append_afgoerelse(afg(1, mine[1].id))
    store.record_access("herning", "t-x", "revisor", "GET /v1/vurderinger/{id}", [mine[0].id])
    store.record_access("herning", "t-x", "revisor", "GET /v1/vurderinger", [dec(9).id])
    index = store.borger_index("herning", "c" * 64)
    assert [d.id for d in index.vurderinger] == [m.id for m in mine]
    assert index.vurderinger[1].afgoerelser[0].udfald == "fulgt"
    assert [a.vurdering_ids for a in index.adgange] == [(mine[0].id,)]
    assert store.borger_index("silkeborg", "c" * 64).vurderinger == ()


def test_active_rules_are_shared_between_stores(url):
    a, b = open_store(url), open_store(url)
    try:
        assert b.active_rules("herning") is None
        a.set_active_rules("*", "fp-1")
        assert b.active_rules("herning") == "fp-1"
        a.set_active_rules("herning", "fp-2")
        a.set_active_rules("herning", "fp-3")
        assert (b.active_rules("herning"), b.active_rules("silkeborg")) == ("fp-3", "fp-1")
    finally:
        a.close(), b.close()


def test_events_without_content_are_chained(store):
    seq, _ = store.append_event("herning", "regelsaet_publiceret", "sha", {"forfatter": "a", "godkender": "b"})
    assert seq == 1 and store.verify_chain("herning").intakt
    with pytest.raises(ValueError):
        store.append_event("herning", "vurdering", "x", {})
    rows = sql(store_url(store), "SELECT art, metadata FROM kaede")
    assert rows == [("regelsaet_publiceret", '{"forfatter":"a","godkender":"b"}')]


def store_url(store) -> str:
    return f"sqlite:///{store.path}" if store.backend == "sqlite" else store.db.engine.url.render_as_string(False)
