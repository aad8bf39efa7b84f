"""Every benchmark in one go, and one table with the measured figures, the ratios and the targets.

    python bench/all.py [--quick] [--skip service,log]

Runs, each in its own process (so one's memory and allocator state cannot colour another's):
  bench/engine.py    the engine on the shipped rules: b/a, the core comparison's and the bulk core's share
  bench/peers.py     ENGINE-BASELINE's decision in python, zen-engine, durable-rules, the bulk evaluator
                     and the service path
  bench/tools.py     rules verify, check, diff --space (two dates; an edit against HEAD), verify --cores --udsnit
  bench/diff.py      rules diff --db over 100,000 stored screenings
  bench/service.py   the HTTP service (another team's benchmark; run as it is, when present)
  bench/log.py       the decision log (another team's benchmark; run as it is, when present)

A benchmark that prints `RESULT {json}` lines is tabulated from them; for the others the last
lines of their output are shown. Note the machine's load before quoting the figures: they are
only comparable on a quiet machine (`uptime`). `--quick` uses fewer records and rounds (for a
smoke run, not for figures).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def _run(script: str, args: list[str], timeout: int) -> tuple[list[dict[str, Any]], list[str], float, int]:
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        code, text = out.returncode, out.stdout + ("\n" + out.stderr if out.returncode else "")
    except subprocess.TimeoutExpired as error:
        code, text = -1, f"timed out after {timeout} s\n{error.stdout or ''}"
    seconds = time.perf_counter() - start
    results = [json.loads(line[7:]) for line in text.splitlines() if line.startswith("RESULT ")]
    tail = [line for line in text.splitlines() if line.strip() and not line.startswith("RESULT ")][-6:]
    return results, tail, seconds, code


def _row(rows: list[list[str]], what: str, measured: str, target: str, ok: Any) -> None:
    rows.append([what, measured, target, "" if ok is None else ("ok" if ok else "NOT MET")])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", default="", help="comma-separated: engine,peers,tools,diff,service,log")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    quick = args.quick
    load_before = os.getloadavg()
    plan = [
        ("engine", "engine.py", ["--n", "2000", "--rounds", "1"] if quick else ["--n", "10000", "--rounds", "3", "--profile"], 1800),
        ("peers", "peers.py", ["--rounds", "1", "--seconds", "0.3"] if quick else ["--rounds", "3"], 1800),
        ("tools", "tools.py", ["--rounds", "1"] if quick else ["--rounds", "3"], 1800),
        ("diff", "diff.py", ["--n", "20000"] if quick else [], 1800),
        ("service", "service.py", ["--requests", "200", "--workers", "2"] if quick else ["--workers", "2"], 3600),
        ("log", "log.py", ["--records", "20000", "--backend", "sqlite"] if quick else [], 7200),
    ]
    rows: list[list[str]] = []
    details: list[str] = []
    for name, script, extra, timeout in plan:
        if name in skip or not (BENCH / script).exists():
            continue
        print(f"running bench/{script} {' '.join(extra)} ...", file=sys.stderr, flush=True)
        results, tail, seconds, code = _run(script, extra, timeout)
        details.append(f"--- bench/{script} ({seconds:.0f} s, exit {code})\n" + "\n".join(tail))
        for r in results:
            if r.get("name") == "engine":
                per_s = r["per_s"]
                _row(rows, "engine: Engine.decide / bare durable-rules (b/a)", f"{r['b/a']:.3f} ({per_s['b']:,} vs {per_s['a']:,}/s)",
                     ">= 0.8", r["b/a"] >= 0.8)
                _row(rows, "engine: core comparison's share of a decision", f"{r['comparison_share']:.1%}", "well under 25 %",
                     r["comparison_share"] < 0.25)
                _row(rows, "engine: bulk as a third runtime core", f"+{r['bulk_share']:.0%}", "<= ~25 % to run by default", None)
            elif r.get("name") == "peers":
                rates, ratios = r["evals_per_s"], r["ratios"]
                _row(rows, "peers: bulk / zen-engine", f"{ratios['bulk/zen']:.2f} ({rates['visitator-bulk']:,} vs {rates['zen-engine']:,}/s)",
                     ">= 1.0", ratios["bulk/zen"] >= 1.0)
                _row(rows, "peers: bulk / plain-Python floor", f"{ratios['bulk/floor']:.2f} (floor {rates['python']:,}/s)", ">= 0.3",
                     ratios["bulk/floor"] >= 0.3)
                _row(rows, "peers: service path / bare durable-rules", f"{ratios['service/durable']:.3f} ({rates['visitator']:,} vs "
                     f"{rates['durable-rules']:,}/s)", ">= 0.8", ratios["service/durable"] >= 0.8)
            elif r.get("name") == "service":
                level = r["clients"]
                _row(rows, f"service, {level} client(s), {r['workers']} workers: decisions/s / constant-JSON ceiling",
                     f"{r['ratio']:.3f} ({r['per_s']:,.0f} vs {r['ceiling_per_s']:,.0f}/s)", ">= 0.25 at 64" if level == 64 else "",
                     r["ratio"] >= 0.25 if level == 64 else None)
                if level == 64:
                    _row(rows, "service, 64 clients: p99", f"{r['p99_ms']:.0f} ms", "< 100 ms", r["p99_ms"] < 100)
                if level == 1:
                    _row(rows, "service, 1 client: p50", f"{r['p50_ms']:.1f} ms", "< 2 ms", r["p50_ms"] < 2)
            elif "seconds" in r and "target_s" in r:
                _row(rows, r["name"], f"{r['seconds']:.2f} s", f"< {r['target_s']:.0f} s", r.get("ok"))
            else:
                _row(rows, f"{name}: {r.get('name', '')}", json.dumps({k: v for k, v in r.items() if k != 'name'})[:70], r.get("target", ""), r.get("ok"))
        if not results:
            _row(rows, f"{name} (bench/{script})", (tail[-1] if tail else f"exit {code}")[:90], "see below", None if code == 0 else False)
    load_after = os.getloadavg()
    widths = [max(len(r[i]) for r in rows + [["what", "measured", "target", ""]]) for i in range(4)]
    print(f"visitator benchmarks, {datetime.now().isoformat(timespec='minutes')}, {platform.node()}, python {platform.python_version()}, "
          f"{os.cpu_count()} cpu, load {load_before[0]:.2f} before / {load_after[0]:.2f} after")
    header = ["what", "measured", "target", ""]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print("\n" + "\n\n".join(details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
