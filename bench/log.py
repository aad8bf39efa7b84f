"""Benchmark of the decision log (issue 14 point 4): N generated records written straight into
the tables with valid chains, then `verify_chain` records/s, the incremental check, and the
latency of a filtered listing page, on SQLite and (when available) PostgreSQL.

    python bench/log.py                   # 1,000,000 records on both backends
    python bench/log.py --records 100000 --backend sqlite
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "tests"))  # support.pg: the throwaway PostgreSQL cluster

from sqlalchemy import insert  # noqa: E402

from service.log import Filters, NewDecision, open_store  # noqa: E402
from service.log.chain import GENESIS, canonical_json, entry_hash  # noqa: E402
from service.log.decisions import _decision_rows, digest_of_decision  # noqa: E402
from service.log.schema import anbefalinger, kaede, kaede_hoved, vurderinger  # noqa: E402

KOMMUNE = "herning"
TRACKS = (("behandling", ("ambulant", "dag", "doegn"), ("amb-1", "dag-1", "doegn-1")),
          ("bolig", ("housing_first", "botilbud"), ("hf-1", "bo-1")))
KEY = b"bench-log-key-" * 3


def records(n: int, svar_bytes: int) -> Iterator[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """(kaede row, vurderinger row, anbefalinger rows) for seq 1..n, chained."""
    prev = GENESIS
    pad = "x" * max(0, svar_bytes - 120)
    for seq in range(1, n + 1):
        month, day, second = 1 + (seq * 12 // (n + 1)), 1 + seq % 28, seq % 86400
        oprettet = f"2026-{month:02d}-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"
        recs = tuple((spor, kats[seq % len(kats)], offers[seq % len(offers)]) for spor, kats, offers in TRACKS)
        r = NewDecision(id=f"B{seq:012d}", kommune=KOMMUNE, oprettet=oprettet, token_id=f"t-{seq % 40:012x}",
                        regelsaet_navn="misbrug", regelsaet_version=f"2026-0{1 + seq % 3}", regelsaet_sha256="a" * 64,
                        motorformat=2, borger_reference_hmac=f"{seq % 200_000:064x}", henvendelsesdato="2026-01-01",
                        vurderingsdato="2026-01-02", anbefalinger=recs,
                        screening=f'{{"alder":{18 + seq % 60},"boligsituation":"egen_bolig","rusmidler":[]}}',
                        svar=f'{{"id":"B{seq:012d}","anbefalinger":[],"fyld":"{pad}"}}')
        row, rec_rows = _decision_rows(r, seq)
        digest = digest_of_decision(row, sorted(recs))
        meta = canonical_json({"regelsaet_sha256": r.regelsaet_sha256, "regelsaet_version": r.regelsaet_version,
                               "token_id": r.token_id, "motorformat": 2})
        h = entry_hash(KOMMUNE, seq, "vurdering", r.id, oprettet, meta, digest, prev)
        yield ({"kommune": KOMMUNE, "seq": seq, "art": "vurdering", "ref": r.id, "oprettet": oprettet, "metadata": meta,
                "indhold_sha256": digest, "forrige_hash": prev, "hash": h}, row, rec_rows)
        prev = h


def fill(store: Any, n: int, svar_bytes: int, batch: int = 20_000) -> float:
    started = time.perf_counter()
    rows: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    last: dict[str, Any] = {}

    def flush() -> None:
        with store.db.write() as conn:
            conn.execute(insert(kaede), rows[0])
            conn.execute(insert(vurderinger), rows[1])
            conn.execute(insert(anbefalinger), rows[2])
        for part in rows:
            part.clear()

    for entry, row, recs in records(n, svar_bytes):
        rows[0].append(entry)
        rows[1].append(row)
        rows[2].extend(recs)
        last = entry
        if len(rows[0]) >= batch:
            flush()
            print(f"  skrevet {entry['seq']:,} poster", end="\r", file=sys.stderr, flush=True)
    if rows[0]:
        flush()
    with store.db.write() as conn:
        conn.execute(insert(kaede_hoved).values(kommune=KOMMUNE, seq=last["seq"], hash=last["hash"]))
    if store.backend == "postgresql":
        with store.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with store.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def page_ms(store: Any, filters: Filters, runs: int = 7, offset: int = 0) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        store.list_decisions(KOMMUNE, filters, 50, offset)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench(url: str, n: int, svar_bytes: int) -> dict[str, Any]:
    store = open_store(url)
    try:
        fill_s = fill(store, n, svar_bytes)
        started = time.perf_counter()
        report = store.verify_chain(KOMMUNE)
        verify_s = time.perf_counter() - started
        assert report.intakt and report.antal == n, report
        store.sign_head(KOMMUNE, KEY)
        for i in range(100):
            store.append_decision(NewDecision(
                id=f"N{i:06d}", kommune=KOMMUNE, oprettet="2026-12-31T00:00:00Z", token_id=None, regelsaet_navn="misbrug",
                regelsaet_version="2026-01", regelsaet_sha256="a" * 64, motorformat=2, borger_reference_hmac=None,
                henvendelsesdato="2026-01-01", vurderingsdato="2026-01-02", anbefalinger=(("behandling", "dag", "dag-1"),),
                screening="{}", svar="{}"))
        started = time.perf_counter()
        inc = store.verify_since_checkpoint(KOMMUNE, KEY)
        inc_ms = (time.perf_counter() - started) * 1000
        assert inc.intakt and inc.fra_kontrolpunkt == n
        pages = {
            "ingen filtre": page_ms(store, Filters()),
            "kategori+periode": page_ms(store, Filters(kategori="dag", fra=date(2026, 3, 1), til=date(2026, 5, 31))),
            "borger": page_ms(store, Filters(borger_reference_hmac=f"{1234:064x}")),
            "version+token": page_ms(store, Filters(version="2026-02", token_id=f"t-{7:012x}")),
            "side 1000 (offset 50.000)": page_ms(store, Filters(), offset=50_000),
        }
        return {"fill_s": fill_s, "verify_per_s": n / verify_s, "verify_s": verify_s, "inc_ms": inc_ms, "pages": pages}
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--svar-bytes", type=int, default=1500, help="size of each stored response text")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="visitator-bench-log-") as tmp:
        if args.backend in ("sqlite", "both"):
            results["SQLite"] = bench(f"sqlite:///{tmp}/log.db", args.records, args.svar_bytes)
        if args.backend in ("postgresql", "both"):
            try:
                from support.pg import cluster, create_database

                cluster(fsync=True)
                results["PostgreSQL"] = bench(create_database(), args.records, args.svar_bytes)
            except Exception as error:  # noqa: BLE001 - the figures for SQLite still count
                print(f"PostgreSQL sprunget over: {error}", file=sys.stderr)
    print(f"\nlog-benchmark: {args.records:,} poster, svar {args.svar_bytes} byte, {os.cpu_count()} kerner")
    for name, r in results.items():
        print(f"\n{name}: skrevet på {r['fill_s']:.0f} s")
        print(f"  verify_chain            {r['verify_per_s']:>10,.0f} poster/s ({r['verify_s']:.1f} s; mål >= 50.000)")
        print(f"  verify_since_checkpoint {r['inc_ms']:>10.1f} ms (100 nye poster)")
        for label, ms in r["pages"].items():
            print(f"  side á 50, {label:<26} {ms:>7.1f} ms (mål < 100)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
