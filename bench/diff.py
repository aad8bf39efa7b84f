"""Impact-analysis benchmark: `visitator rules diff --db` over N stored screenings.

    python bench/diff.py [--n 100000]

Builds a decision-log table of N generated screenings (the schema the service
creates; only the `screening` column is read by the diff, the other columns
hold placeholders and no hash chain is built), then runs the real command
`visitator rules diff --from 2023-09-30 --to 2023-10-01 --db ...` and prints
its wall time.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "bench" / "engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    from service.storage import open_storage

    db = Path(tempfile.mkdtemp()) / "log.db"
    storage = open_storage(f"sqlite:///{db}")
    storage.close()
    import sqlite3

    connection = sqlite3.connect(db)
    columns = [row[1] for row in connection.execute("PRAGMA table_info(vurderinger)")]
    rows = []
    for seq, body in enumerate(module.generate(args.n, 7), start=1):
        values = {c: "x" for c in columns}
        values.update(seq=seq, id=f"id{seq}", screening=json.dumps(body, ensure_ascii=False))
        rows.append(tuple(values[c] for c in columns))
    connection.executemany(f"INSERT INTO vurderinger ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})", rows)
    connection.commit()
    connection.close()
    command = [sys.executable, "-m", "service.cli", "rules", "diff", "--from", "2023-09-30", "--to", "2023-10-01", "--db", f"sqlite:///{db}"]
    start = time.perf_counter()
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(out.stdout.splitlines()[0] if out.stdout else out.stderr)
    print(f"{args.n} stored screenings compared in {seconds:.1f} s wall time (2 processes)")
    return out.returncode


if __name__ == "__main__":
    sys.exit(main())
