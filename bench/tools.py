"""The policy loop's waiting time: the real commands, each in a fresh process, start-up included.

    python bench/tools.py [--rounds 3]

  rules verify (law layer)      every point of every version of the law layer alone (`--kommune lov`)
  rules verify (every layer)    the same for the law layer and each of the four municipality layers
                                (what `rules verify` without --kommune does)
  rules check                   every municipality layer (each with the law layer)
  rules diff --space (dates)    the input space on 2023-09-30 and 2023-10-01 (the homelessness reform)
  rules diff --space (edit)     a policy edit against the last commit, over the whole input space of
                                every version: a scratch git repository with a copy of regler/ in which
                                the need level of unstable citizens is lowered (5 -> 4), so every
                                version changes
  rules verify --cores --udsnit 40   every core on 40 points per version and track (CI's share)

The median of `--rounds` runs is printed with the target (< 5 s each); prints `RESULT {json}`
per command. `rules diff --db` over 100,000 stored screenings is bench/diff.py.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _scratch_repo() -> Path:
    """A git repository with regler/ committed, then edited (not committed)."""
    folder = Path(tempfile.mkdtemp(prefix="visitator-bench-edit-"))
    shutil.copytree(ROOT / "regler", folder / "regler", symlinks=False)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    for command in (["git", "init", "-q"], ["git", "add", "regler"], ["git", "commit", "-q", "-m", "regler"]):
        subprocess.run(command, cwd=folder, check=True, env=env, capture_output=True)
    path = folder / "regler" / "misbrug" / "lov" / "behandling.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "  - id: behov-doegn-ustabil"
    start = text.index(anchor)
    level = text.index("mindst_indgrebsniveau: 5", start)
    path.write_text(text[:level] + "mindst_indgrebsniveau: 4" + text[level + len("mindst_indgrebsniveau: 5"):], encoding="utf-8")
    return folder


def _run(label: str, args: list[str], cwd: Path, rounds: int, ok_codes: tuple[int, ...] = (0,)) -> dict:
    times = []
    first_line = ""
    for _ in range(rounds):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=cwd, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        times.append(time.perf_counter() - start)
        if out.returncode not in ok_codes:
            raise SystemExit(f"{label}: exit {out.returncode}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        lines = [x for x in out.stdout.splitlines() if x.strip()]
        first_line = next((x for x in reversed(lines) if any(w in x for w in ("punkter", "fejl", "screeninger", "Kerner"))), "")
    seconds = statistics.median(times)
    print(f"{label:34} {seconds:7.2f} s  (min {min(times):.2f}, max {max(times):.2f}; target < 5 s)  {first_line[:110]}")
    return {"name": label, "seconds": round(seconds, 3), "min": round(min(times), 3), "target_s": 5.0, "ok": seconds < 5.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rules = str(ROOT / "regler")
    print(f"policy tools, {os.cpu_count()} cpu, load {os.getloadavg()[0]:.2f}, median of {args.rounds}")
    results = [
        _run("rules verify (law layer)", ["rules", "verify", "--rules", rules, "--kommune", "lov"], ROOT, args.rounds),
        _run("rules verify (every layer)", ["rules", "verify", "--rules", rules], ROOT, args.rounds),
        _run("rules check", ["rules", "check", "--rules", rules], ROOT, args.rounds),
        _run("rules diff --space (dates)", ["rules", "diff", "--rules", rules, "--from", "2023-09-30", "--to", "2023-10-01", "--space"],
             ROOT, args.rounds),
    ]
    scratch = _scratch_repo()
    try:
        results.append(_run("rules diff --space (edit vs HEAD)", ["rules", "diff", "--rules", "regler", "--from", "HEAD", "--space"],
                            scratch, args.rounds))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results.append(_run("rules verify --cores --udsnit 40", ["rules", "verify", "--rules", rules, "--cores", "--udsnit", "40"],
                        ROOT, 1))
    for r in results:
        print("RESULT " + json.dumps(r))
    return 0 if all(r["ok"] for r in results[:-1]) else 1


if __name__ == "__main__":
    sys.exit(main())
