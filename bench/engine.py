"""Engine benchmark: evaluations per second and p50/p99 latency, single process.

    python bench/engine.py [--n 10000] [--rounds 3] [--seed 20261123] [--profile]

Measures on the shipped rules (the law layer), over N generated screenings spread
over every epoch since 2007:
  (a) bare durable-rules on the compiled rules: which blocks hold, nothing else
  (b) Engine.decide: validation, durable-rules and the reference evaluator compared,
      selection and the full trace (the typed Decision)
  (c) Engine.decide with the reference evaluator only
  (d) Engine.decide with durable-rules only (no comparison): b - d is the cost of the
      core comparison
  (e) Engine.decide with the bulk evaluator as a third core: e - b is its cost
  (f) Engine.evaluate: (b) plus the API body and the Danish narrative (what the service renders)
and prints b/a (target >= 0.8), the comparison's share of a decision (target well under
a quarter) and the bulk core's share (the engine runs it only if it adds <= ~25 %). Each
round runs the paths in a rotated order; the medians over rounds are reported. With
--profile, a cProfile of (b) is printed (where the time goes). Prints `RESULT {json}`.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import Engine, parse_screening  # noqa: E402
from engine.bulk import BulkCore  # noqa: E402
from engine.evaluate import ReferenceCore, durable_core, settle_heap  # noqa: E402
from engine.fields import BOLIGSITUATIONER, FLAG_FIELDS, GRADER, STOFFER, facts_from_screening  # noqa: E402

TODAY = date(2026, 11, 23)


def generate(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    start, span = date(2007, 1, 1), (date(2026, 11, 23) - date(2007, 1, 1)).days
    bodies = []
    for _ in range(n):
        henvendelse = start + timedelta(days=rng.randrange(span))
        substances = rng.sample(STOFFER, rng.choice([0, 1, 1, 1, 2, 2, 3]))
        body = {
            "henvendelsesdato": henvendelse.isoformat(),
            "vurderingsdato": (henvendelse + timedelta(days=rng.randrange(15))).isoformat(),
            "alder": rng.choice([rng.randrange(12, 18), rng.randrange(18, 25), rng.randrange(25, 80)]),
            "rusmidler": [{"stof": s, "grad": rng.choice(GRADER[1:])} for s in substances],
            "dobbeltdiagnose": rng.random() < 0.25,
            "boligsituation": rng.choice(BOLIGSITUATIONER),
        }
        for flag in FLAG_FIELDS:
            if rng.random() < 0.15:
                body[flag] = True
        bodies.append(body)
    return bodies


def measure(fn: Callable[[Any], Any], items: list) -> dict:
    latencies = []
    clock = time.perf_counter_ns
    begin = clock()
    for item in items:
        t0 = clock()
        fn(item)
        latencies.append(clock() - t0)
    total = (clock() - begin) / 1e9
    latencies.sort()
    return {"per_s": len(items) / total, "p50_us": latencies[len(latencies) // 2] / 1000, "p99_us": latencies[int(len(latencies) * 0.99)] / 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of (b)")
    args = parser.parse_args()

    today = lambda: TODAY  # noqa: E731
    both = Engine(core="durable", today=today)
    reference = Engine(core="reference", today=today)
    durable_only = Engine(cores=[durable_core()], today=today)
    with_bulk = Engine(cores=[durable_core(), ReferenceCore(), BulkCore()], today=today)
    screenings = [parse_screening(b, today=TODAY) for b in generate(args.n, args.seed)]
    core = durable_core()
    prepared = []
    for s in screenings:
        compiled = both.compiled(both.version_for(s.effective_date(TODAY)))
        prepared.append((compiled, facts_from_screening(s.model_dump())))

    settle_heap()  # as the service does after start-up

    # Sanity: every path agrees before anything is timed.
    ref_core, bulk_core = ReferenceCore(), BulkCore()
    for (compiled, fact), s in list(zip(prepared, screenings))[:500]:
        assert core.fired(compiled, fact) == ref_core.fired(compiled, fact) == bulk_core.fired(compiled, fact)
        assert both.decide(s).same_decision(reference.decide(s))

    runs: dict[str, tuple[str, Callable[[Any], Any], list]] = {
        "a": ("(a) bare durable-rules, compiled rules only", lambda p: core.fired(p[0], p[1]), prepared),
        "b": ("(b) Engine.decide: durable + reference compared", both.decide, screenings),
        "c": ("(c) Engine.decide: reference only", reference.decide, screenings),
        "d": ("(d) Engine.decide: durable only", durable_only.decide, screenings),
        "e": ("(e) Engine.decide: + bulk as a third core", with_bulk.decide, screenings),
        "f": ("(f) Engine.evaluate: (b) + API body + narrative", both.evaluate, screenings),
    }
    for _, fn, items in runs.values():  # warm-up
        for item in items[:500]:
            fn(item)
    results: dict[str, list[dict]] = {k: [] for k in runs}
    order = list(runs)
    for r in range(args.rounds):
        rotated = order[r % len(order):] + order[: r % len(order)]
        for key in rotated:
            _, fn, items = runs[key]
            results[key].append(measure(fn, items))

    def med(key: str, field: str) -> float:
        return statistics.median(x[field] for x in results[key])

    print(f"visitator engine benchmark: {args.n} screenings x {args.rounds} rounds, seed {args.seed}")
    print(f"python {platform.python_version()}, {os.cpu_count()} cpu, {platform.machine()}, single process, load {os.getloadavg()[0]:.2f}")
    print()
    print(f"{'path':52} {'evals/s':>10} {'µs/eval':>9} {'p50 µs':>9} {'p99 µs':>9}")
    for key, (label, _, _) in runs.items():
        print(f"{label:52} {med(key, 'per_s'):10.0f} {1e6 / med(key, 'per_s'):9.1f} {med(key, 'p50_us'):9.1f} {med(key, 'p99_us'):9.1f}")
    print()
    us = {k: 1e6 / med(k, "per_s") for k in runs}
    ba = med("b", "per_s") / med("a", "per_s")
    comparison = (us["b"] - us["d"]) / us["b"]
    bulk = (us["e"] - us["b"]) / us["b"]
    print(f"b/a = {ba:.3f}   (Engine.decide with both cores relative to bare durable-rules; target >= 0.8)")
    print(f"core comparison = {us['b'] - us['d']:.1f} µs = {comparison:.1%} of a decision   (b - d; target well under 25 %)")
    print(f"bulk as a third core = {us['e'] - us['b']:.1f} µs = {bulk:.1%} of a decision   (e - b; in the runtime list only if <= ~25 %)")
    print(f"c/a = {med('c', 'per_s') / med('a', 'per_s'):.3f}   (reference evaluator with full trace relative to bare durable-rules)")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for s in screenings[:3000]:
            both.decide(s)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(18)
        print("\nWhere (b) spends its time (cProfile, 3,000 decisions, by own time):")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    print("RESULT " + json.dumps({"name": "engine", "per_s": {k: round(med(k, "per_s")) for k in runs}, "b/a": round(ba, 3),
                                  "comparison_share": round(comparison, 3), "bulk_share": round(bulk, 3), "target_b/a": 0.8}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
