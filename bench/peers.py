"""Peer benchmark: ENGINE-BASELINE.md's decision on the same 10,000 records in every engine.

    python bench/peers.py [--n 10000] [--rounds 3] [--seconds 1.0]

The decision is bench/peers_table.py's 26 rows; visitator runs it as the rule set
bench/fixtures/peers/baseline/ (love/ is a link to regler/love). Engines, in one process:

  python          26 eval-compiled predicate lambdas and the aggregation loop (the floor)
  zen-engine      the JDM graph (3 decision tables: legal collect, level first with the most
                  intrusive rows first and a default row, flags collect) through
                  ZenEngine.evaluate with a static loader
  durable-rules   bare durable-rules on visitator's compiled rules (engine.evaluate.DurableCore,
                  its C core driven directly) plus the same aggregation
  visitator-bulk  the bulk evaluator (engine.bulk): the records as fact columns, the blocks
                  that hold as one matrix, `select` once per distinct fired set
  visitator       the service path: Engine.decide (validation, durable-rules and the reference
                  evaluator compared, selection, full trace)

First every engine's outputs are checked identical on all records (normalised as in
ENGINE-BASELINE: sorted legal bases, level name, sorted flags). Then each engine runs
the records in a loop (repeated until `--seconds` have passed), in `--rounds` rounds in
rotated order; medians are printed with the ratios and the targets (bulk >= 1.0x zen and
>= 0.3x the floor; service path >= 0.8x bare durable-rules). Prints `RESULT {json}`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after ROOT: bench/engine.py must not shadow the engine package

from peers_table import HOUSING, LEVELS, OTHER_DRUGS, SEVERITIES, SUBSTANCES, TABLE, Output, normalise, records  # noqa: E402

FIXTURE = ROOT / "bench" / "fixtures" / "peers"
DAY = date(2025, 1, 1)
LEGAL_LABEL = {"sul-141": "SUL 141", "sul-142": "SUL 142", "sel-101": "SEL 101", "bl-33-stofmisbrugsbehandling": "ung"}
BOLIG = {"egen_bolig": "egen_bolig", "midlertidig": "midlertidig", "hjemloes": "gade", "forsorgshjem": "forsorgshjem"}


# --------------------------------------------------------------------------- the floor


def python_engine() -> Callable[[dict[str, Any]], Output]:
    def test(conditions: dict[str, Any]) -> str:
        parts = []
        for field, value in conditions.items():
            if field == "age":
                parts.append(f"r['age'] {value[0]} {value[1]!r}")
            else:
                parts.append(f"r[{field!r}] in {tuple(value)!r}")
        return " and ".join(parts) or "True"

    rows = [(kind, eval(f"lambda r: {test(c)}"), out) for kind, _, c, out in TABLE]  # noqa: S307 - our own table

    def evaluate(r: dict[str, Any]) -> Output:
        legal, flags, level = [], [], 1
        for kind, predicate, out in rows:
            if predicate(r):
                if kind == "legal":
                    legal.append(out)
                elif kind == "level":
                    level = max(level, out)
                else:
                    flags.append(out)
        return normalise(legal, level, flags)

    return evaluate


# --------------------------------------------------------------------------- zen-engine


def _zen_cell(field: str, value: Any) -> str:
    if field == "age":
        return f"{value[0]} {value[1]}"
    if isinstance(value[0], bool):
        return "true" if value[0] else "false"
    return ", ".join(json.dumps(v) for v in value)


def jdm() -> dict[str, Any]:
    fields = ["substance", "severity", "dobbeltdiagnose", "housing", "age"]
    inputs = [{"id": f"i-{f}", "name": f, "field": f} for f in fields]

    def table(node_id: str, hit: str, rows: list[tuple[dict[str, Any], Any]], out_field: str, path: str = "") -> dict[str, Any]:
        content: dict[str, Any] = {"hitPolicy": hit, "inputs": inputs, "outputs": [{"id": "o", "name": out_field, "field": out_field}], "rules": []}
        if path:
            content["outputPath"] = path
        for k, (conditions, out) in enumerate(rows):
            rule = {"_id": f"{node_id}-{k}", "o": json.dumps(out)}
            rule.update({f"i-{f}": _zen_cell(f, conditions[f]) if f in conditions else "" for f in fields})
            content["rules"].append(rule)
        return {"id": node_id, "type": "decisionTableNode", "name": node_id, "position": {"x": 0, "y": 0}, "content": content}

    legal = [(c, out) for kind, _, c, out in TABLE if kind == "legal"]
    level = sorted(((c, out) for kind, _, c, out in TABLE if kind == "level"), key=lambda x: -x[1]) + [({}, 1)]
    flags = [(c, out) for kind, _, c, out in TABLE if kind == "flag"]
    nodes = [{"id": "in", "type": "inputNode", "name": "in", "position": {"x": 0, "y": 0}},
             table("legal", "collect", legal, "v", "legal"), table("level", "first", level, "level"), table("flags", "collect", flags, "v", "flags"),
             {"id": "out", "type": "outputNode", "name": "out", "position": {"x": 0, "y": 0}}]
    edges = [{"id": f"e-{a}-{b}", "sourceId": a, "targetId": b, "type": "edge"}
             for a, b in (("in", "legal"), ("in", "level"), ("in", "flags"), ("legal", "out"), ("level", "out"), ("flags", "out"))]
    return {"nodes": nodes, "edges": edges}


def zen_engine() -> Callable[[dict[str, Any]], Output]:
    import zen

    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"baseline": jdm()}}})

    def evaluate(r: dict[str, Any]) -> Output:
        result = engine.evaluate("baseline", r)["result"]
        return normalise([x["v"] for x in result["legal"]], result["level"], [x["v"] for x in result["flags"]])

    return evaluate


# --------------------------------------------------------------------------- visitator


def visitator_engine(core: str = "durable") -> Any:
    from engine import Engine

    return Engine(FIXTURE, rule_set="baseline", core=core, today=lambda: DAY)


def body(r: dict[str, Any]) -> dict[str, Any]:
    """A record as a screening (the service's request body)."""
    return {"henvendelsesdato": DAY.isoformat(), "vurderingsdato": DAY.isoformat(), "alder": r["age"],
            "rusmidler": [{"stof": r["substance"], "grad": r["severity"]}], "dobbeltdiagnose": r["dobbeltdiagnose"],
            "boligsituation": BOLIG[r["housing"]]}


def fact(r: dict[str, Any]) -> dict[str, Any]:
    """A record as the fact the rules read (what facts_from_screening makes of body(r))."""
    substance, severity = r["substance"], r["severity"]
    return {"alder": r["age"], "alkohol_grad": severity if substance == "alkohol" else "ingen",
            "stof_grad": severity if substance != "alkohol" else "ingen", "opioid_grad": severity if substance == "opioider" else "ingen",
            "hoejeste_grad": severity, "boligsituation": BOLIG[r["housing"]], "hjemloes": r["housing"] != "egen_bolig",
            "dobbeltdiagnose": r["dobbeltdiagnose"], "koen": "ukendt", "genstande_om_ugen": 0, "genstande_paa_en_dag": 0,
            **{name: False for name in _flags()}}


def _flags() -> tuple[str, ...]:
    from engine.fields import FLAG_FIELDS

    return FLAG_FIELDS


def from_decision(d: Any) -> Output:
    track = d.track("behandling")
    legal = [LEGAL_LABEL[r.bestemmelse] for r in track.lovgrundlag]
    flags = [n.tekst for n in d.notes if n.art == "oplysning"]
    return normalise(legal, track.chosen.niveau, flags)


def durable_engine(engine: Any) -> Callable[[dict[str, Any]], Output]:
    """Bare durable-rules on the compiled rules: which blocks hold, then the same aggregation as the floor."""
    from engine.evaluate import durable_core

    compiled = engine.compiled(engine.version_for(DAY))
    core = durable_core()
    items = compiled.items

    def evaluate(r: dict[str, Any]) -> Output:
        legal, flags, level = [], [], 1
        for i in core.fired(compiled, fact(r)):
            item = items[i]
            if item.kind != "regel":
                continue
            legal += [LEGAL_LABEL[p] for p in item.lovgrundlag]
            if item.min_niveau:
                level = max(level, item.min_niveau)
            if item.oplysning:
                flags.append(item.oplysning)
        return normalise(legal, level, flags)

    return evaluate


def service_engine(engine: Any) -> Callable[[dict[str, Any]], Output]:
    def evaluate(r: dict[str, Any]) -> Output:
        return from_decision(engine.decide(body(r)))

    return evaluate


def bulk_engine(engine: Any) -> Callable[[list[dict[str, Any]]], list[Output]]:
    """The whole list at once: the records as fact columns (numpy), the fired matrix, one
    decision per distinct fired set, broadcast back."""
    from engine.bulk import FactTable, program_for
    from engine.fields import FACT_FIELDS, GRADER

    compiled = engine.compiled(engine.version_for(DAY))
    program = program_for(compiled)
    codes = {"substance": {s: i for i, s in enumerate(SUBSTANCES)}, "severity": {s: i for i, s in enumerate(SEVERITIES)},
             "housing": {h: i for i, h in enumerate(HOUSING)}}
    grade = np.array([GRADER.index(s) for s in SEVERITIES], dtype=np.int8)
    bolig = np.array([FACT_FIELDS["boligsituation"].vaerdier.index(BOLIG[h]) for h in HOUSING], dtype=np.int8)
    is_alcohol = np.array([s == "alkohol" for s in SUBSTANCES])
    is_opioid = np.array([s == "opioider" for s in SUBSTANCES])
    none = np.int8(GRADER.index("ingen"))
    assert set(OTHER_DRUGS) < set(SUBSTANCES)

    def evaluate(batch: list[dict[str, Any]]) -> list[Output]:
        n = len(batch)
        substance = np.fromiter((codes["substance"][r["substance"]] for r in batch), dtype=np.int8, count=n)
        severity = grade[np.fromiter((codes["severity"][r["severity"]] for r in batch), dtype=np.int8, count=n)]
        housing = np.fromiter((codes["housing"][r["housing"]] for r in batch), dtype=np.int8, count=n)
        columns = {
            "alder": np.fromiter((r["age"] for r in batch), dtype=np.int32, count=n),
            "alkohol_grad": np.where(is_alcohol[substance], severity, none), "stof_grad": np.where(is_alcohol[substance], none, severity),
            "opioid_grad": np.where(is_opioid[substance], severity, none), "hoejeste_grad": severity, "boligsituation": bolig[housing],
            "hjemloes": housing != codes["housing"]["egen_bolig"],
            "dobbeltdiagnose": np.fromiter((r["dobbeltdiagnose"] for r in batch), dtype=np.bool_, count=n),
        }
        groups = program.groups(FactTable.from_columns(columns, n))
        outputs = [from_decision(d) for _, d in sorted(groups.decisions(DAY, DAY).items())]
        return [outputs[g] for g in groups.inverse.tolist()]

    return evaluate


# --------------------------------------------------------------------------- measuring


def _rate(fn: Callable[[Any], Any], data: list[dict[str, Any]], batch: bool, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while True:
        if batch:
            fn(data)
        else:
            for r in data:
                fn(r)
        done += len(data)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0, help="at least this long per engine and round")
    args = parser.parse_args()
    data = records(args.n)
    engine = visitator_engine()
    engines: dict[str, tuple[Callable[[Any], Any], bool]] = {
        "python": (python_engine(), False),
        "zen-engine": (zen_engine(), False),
        "durable-rules": (durable_engine(engine), False),
        "visitator-bulk": (bulk_engine(engine), True),
        "visitator": (service_engine(engine), False),
    }
    from engine.evaluate import settle_heap

    settle_heap()
    expected = [engines["python"][0](r) for r in data]
    for name, (fn, batch) in engines.items():
        got = fn(data) if batch else [fn(r) for r in data]
        wrong = sum(1 for a, b in zip(expected, got) if a != b)
        if wrong:
            print(f"{name}: {wrong} of {len(data)} outputs differ from the plain-Python floor, e.g. {next((a, b) for a, b in zip(expected, got) if a != b)}")
            return 1
    levels = {v: sum(1 for o in expected if o[1] == v) for v in LEVELS.values()}
    print(f"Identical outputs from all {len(engines)} engines on {len(data)} records; {len(set(expected))} distinct outputs; levels {levels}")
    results: dict[str, list[float]] = {k: [] for k in engines}
    order = list(engines)
    for r in range(args.rounds):
        rotated = order[r % len(order):] + order[:r % len(order)]
        if r % 2:
            rotated.reverse()
        for name in rotated:
            fn, batch = engines[name]
            results[name].append(_rate(fn, data, batch, args.seconds))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"python {platform.python_version()}, {os.cpu_count()} cpu, load {os.getloadavg()[0]:.2f}, {args.rounds} rounds, medians")
    print(f"{'engine':16} {'evals/s':>12} {'µs/eval':>9} {'x floor':>8} {'x zen':>7}")
    for name, rate in med.items():
        print(f"{name:16} {rate:12,.0f} {1e6 / rate:9.1f} {rate / med['python']:8.3f} {rate / med['zen-engine']:7.3f}")
    ratios = {"bulk/zen": med["visitator-bulk"] / med["zen-engine"], "bulk/floor": med["visitator-bulk"] / med["python"],
              "service/durable": med["visitator"] / med["durable-rules"]}
    targets = {"bulk/zen": 1.0, "bulk/floor": 0.3, "service/durable": 0.8}
    print()
    for k, v in ratios.items():
        print(f"{k:16} {v:8.3f}   target >= {targets[k]}  {'ok' if v >= targets[k] else 'NOT MET'}")
    print("RESULT " + json.dumps({"name": "peers", "evals_per_s": {k: round(v) for k, v in med.items()},
                                  "ratios": {k: round(v, 3) for k, v in ratios.items()}, "targets": targets}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
