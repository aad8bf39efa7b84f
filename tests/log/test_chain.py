"""The pure hashing and walk functions (no database)."""
from __future__ import annotations

import pytest

from service.log.chain import GENESIS, Mistyped, Walker, decision_digest, entry_hash, text_sha256


def entry(seq: int, prev: str, art: str = "vurdering", ref: str = "x") -> tuple:
    fields = (seq, art, ref, "2026-01-01T00:00:00Z", "{}", "d" * 64, prev)
    return (*fields, entry_hash("herning", *fields))


def chain(n: int) -> list[tuple]:
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        e = entry(seq, prev, ref=f"r{seq}")
        out.append(e)
        prev = e[7]
    return out


def test_entry_hash_covers_every_field_and_is_length_prefixed():
    base = ("herning", 1, "vurdering", "ab", "c", "{}", None, GENESIS)
    digest = entry_hash(*base)
    for i, changed in enumerate(["silkeborg", 2, "afgoerelse", "abx", "cx", "{ }", "e" * 64, "1" * 64]):
        assert entry_hash(*base[:i], changed, *base[i + 1:]) != digest
    assert entry_hash("herning", 1, "vurdering", "a", "bc", "{}", None, GENESIS) != digest  # no ambiguity
    assert entry_hash("herning", 1, "vurdering", "ab", "c", "{}", "", GENESIS) != digest  # None != ""


def test_a_mistyped_cell_raises_mistyped_not_a_crash():
    with pytest.raises(Mistyped):
        entry_hash("herning", 1, "vurdering", b"ab", "c", "{}", None, GENESIS)
    with pytest.raises(Mistyped):
        text_sha256(b"{}")
    with pytest.raises(Mistyped):
        decision_digest("i", "k", "o", None, "n", "v", "s", "2", None, "h", "v", "a", "b", ())


def test_walker_accepts_an_intact_chain_and_its_head():
    entries = chain(5)
    w = Walker("herning", lambda h: None)
    assert all(w.feed(e) for e in entries)
    report = w.finish((5, entries[-1][7]))
    assert report.intakt and report.antal == 5


@pytest.mark.parametrize("case, seq, art", [("delete", 3, "slettet"), ("swap", 3, "flyttet"), ("edit", 3, "aendret")])
def test_walker_names_the_first_break(case, seq, art):
    entries = chain(5)
    if case == "delete":
        del entries[2]
    elif case == "swap":
        a, b = entries[2], entries[3]
        entries[2], entries[3] = (3, *b[1:]), (4, *a[1:])
    else:
        entries[2] = (3, "vurdering", "EDITED", *entries[2][3:])
    w = Walker("herning", lambda h: None)
    for e in entries:
        if not w.feed(e):
            break
    report = w.finish((5, entries[-1][7]))
    assert not report.intakt and (report.foerste_fejl.seq, report.foerste_fejl.art) == (seq, art)


def test_walker_uses_checkpoints_beyond_the_end():
    entries = chain(5)
    w = Walker("herning", lambda h: None, checkpoints={7: "f" * 64})
    for e in entries:
        w.feed(e)
    report = w.finish((5, entries[-1][7]))
    assert not report.intakt and report.foerste_fejl.art == "slettet" and "6-7" in report.foerste_fejl.besked
