"""Impact-analysis benchmark: `visitator rules diff --db` over N stored screenings.

    python bench/diff.py [--n 100000] [--keep DIR]

Creates a decision log (the service's own schema, migrated by service.log.open_store)
holding N generated screenings (bench/engine.py's generator, seeded). Only the
`screening` column is read by the diff; the other columns hold placeholders and no
hash chain is built. Then runs the real command

    visitator rules diff --from 2023-09-30 --to 2023-10-01 --db sqlite:///...

(the homelessness reform: the bolig track changes for many screenings) in a fresh
process and prints its wall time, start-up included. Prints one line
`RESULT {json}` for bench/all.py.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "bench" / "engine.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def build_log(path: Path, n: int, seed: int = 7) -> None:
    """A decision log with n stored screenings (placeholders elsewhere)."""
    from service.log import open_store

    store = open_store(f"sqlite:///{path}")
    store.close()
    connection = sqlite3.connect(path)
    columns = [row[1] for row in connection.execute("PRAGMA table_info(vurderinger)")]
    placeholders = {"motorformat": 1, "slettet_af_seq": None, "token_id": None, "borger_reference_hmac": None, "salt": None}
    rows = []
    for seq, body in enumerate(_generator().generate(n, seed), start=1):  # type: ignore[attr-defined]
        values = {c: placeholders.get(c, "x") for c in columns}
        values.update(id=f"id{seq}", kommune="bench", seq=seq, screening=json.dumps(body, ensure_ascii=False),
                      henvendelsesdato=body["henvendelsesdato"], vurderingsdato=body["vurderingsdato"])
        rows.append(tuple(values[c] for c in columns))
    connection.executemany(f"INSERT INTO vurderinger ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})", rows)
    connection.commit()
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--keep", default=None, help="build the log in this folder and keep it")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="visitator-bench-diff-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "log.db"
    if not db.exists():
        build_log(db, args.n)
    command = [sys.executable, "-m", "service.cli", "rules", "diff", "--rules", str(ROOT / "regler"),
               "--from", "2023-09-30", "--to", "2023-10-01", "--db", f"sqlite:///{db}"]
    start = time.perf_counter()
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = out.stdout.splitlines()
    print(lines[1] if len(lines) > 1 else out.stderr)
    print(f"{args.n} stored screenings compared in {seconds:.2f} s wall time (one process, start-up included); target < 5 s")
    print("RESULT " + json.dumps({"name": "rules diff --db", "n": args.n, "seconds": round(seconds, 3), "target_s": 5.0,
                                  "ok": out.returncode == 0 and seconds < 5.0}))
    return out.returncode


if __name__ == "__main__":
    sys.exit(main())
