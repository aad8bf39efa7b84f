"""Engine benchmark: evaluations per second and p50/p99 latency, single process.

    python bench/engine.py [--n 10000] [--rounds 3] [--seed 20261123]

Measures on the shipped rules, over N generated screenings spread over every
epoch since 2007:
  (a) bare durable-rules on the compiled rules: which rules hold, nothing else
  (b) the full engine: durable-rules + selection + trace + Danish narrative
  (c) the reference evaluator (plain Python) + selection + trace + narrative
and prints the ratios b/a and c/a of the throughputs. Each round runs a, b, c
in a rotated order; the medians over rounds are reported.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import Engine, parse_screening  # noqa: E402
from engine.evaluate import ReferenceCore, durable_core, settle_heap  # noqa: E402
from engine.fields import BOLIGSITUATIONER, FLAG_FIELDS, GRADER, STOFFER, facts_from_screening  # noqa: E402


def generate(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    start, span = date(2007, 1, 1), (date(2027, 12, 31) - date(2007, 1, 1)).days
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


def measure(label: str, fn, items: list) -> dict:
    latencies = []
    clock = time.perf_counter_ns
    begin = clock()
    for item in items:
        t0 = clock()
        fn(item)
        latencies.append(clock() - t0)
    total = (clock() - begin) / 1e9
    latencies.sort()
    return {
        "label": label,
        "per_s": len(items) / total,
        "p50_us": latencies[len(latencies) // 2] / 1000,
        "p99_us": latencies[int(len(latencies) * 0.99)] / 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()

    durable = Engine(core="durable")
    reference = Engine(core="reference")
    screenings = [parse_screening(b) for b in generate(args.n, args.seed)]
    core = durable_core()
    prepared = []
    for s in screenings:
        compiled = durable._prepare(durable.version_for(s.effective_date(durable.today())))
        prepared.append((compiled, facts_from_screening(s.model_dump())))
    ref_core = ReferenceCore()

    # As the service does after start-up (engine.evaluate.settle_heap).
    settle_heap()

    # Sanity: the three paths agree on what holds before anything is timed.
    for (compiled, fact), s in list(zip(prepared, screenings))[:500]:
        assert core.fired(compiled, fact) == ref_core.fired(compiled, fact)

    runs = {
        "a": ("(a) bare durable-rules, compiled rules only", lambda p: core.fired(p[0], p[1]), prepared),
        "b": ("(b) full engine: durable + selection + trace", durable.evaluate, screenings),
        "c": ("(c) reference evaluator + selection + trace", reference.evaluate, screenings),
    }
    for key, (_, fn, items) in runs.items():  # warm-up
        for item in items[:500]:
            fn(item)
    results: dict[str, list[dict]] = {k: [] for k in runs}
    order = list(runs)
    for r in range(args.rounds):
        rotated = order[r % 3:] + order[: r % 3]
        for key in rotated:
            label, fn, items = runs[key]
            results[key].append(measure(label, fn, items))

    def med(key: str, field: str) -> float:
        return statistics.median(x[field] for x in results[key])

    print(f"visitator engine benchmark: {args.n} screenings x {args.rounds} rounds, seed {args.seed}")
    print(f"python {platform.python_version()}, {os.cpu_count()} cpu, {platform.machine()}, single process")
    print()
    print(f"{'path':48} {'evals/s':>10} {'p50 µs':>9} {'p99 µs':>9}")
    for key, (label, _, _) in runs.items():
        print(f"{label:48} {med(key, 'per_s'):10.0f} {med(key, 'p50_us'):9.1f} {med(key, 'p99_us'):9.1f}")
    print()
    a, b, c = med("a", "per_s"), med("b", "per_s"), med("c", "per_s")
    print(f"b/a = {b / a:.3f}   (full engine throughput relative to bare durable-rules)")
    print(f"c/a = {c / a:.3f}   (reference evaluator with full trace relative to bare durable-rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
