"""Impact analysis (`visitator rules diff`): which screenings change when the
rules change from A to B, grouped by kind of change, with examples and the
rules whose change caused it.

A side is either a rule set (e.g. the files of a git revision) or a date (the
version in force that day, from one rule set). Each screening of the corpus
is evaluated under both sides with the reference evaluator; only the decision
(offers, legal bases, deadlines, warnings and notes) is compared.
"""
from __future__ import annotations

import html
import json
import multiprocessing
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from engine.fields import facts_from_screening
from engine.screening import ScreeningInvalid, parse_screening
from engine.select import select
from engine.versions import DateNotCovered, RuleSetVersion, canonical_content

KINDS = ("tilbud", "lovgrundlag", "frist", "advarsler")
KIND_TEXT = {
    "tilbud": "anbefalet tilbud i et spor",
    "lovgrundlag": "lovgrundlag",
    "frist": "frister",
    "advarsler": "advarsler og oplysninger",
}


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a rules directory, optionally pinned to a date."""

    label: str
    rules_dir: Path
    pinned: Optional[date] = None


def _outcome(engine: Any, screening: Any, pinned: Optional[date]) -> tuple[dict[str, Any], set[str], RuleSetVersion]:
    day = pinned or screening.effective_date(engine.today())
    version = engine.version_for(day)
    compiled = engine.compiled(version)
    fact = facts_from_screening(screening.model_dump())
    fired = compiled.reference_fired(fact)
    sel = select(compiled, fact, fired, screening.henvendelsesdato, screening.effective_date(engine.today()))
    summary = {
        "tilbud": {t.spor: (t.valgt.id if t.valgt else None) for t in sel.tracks},
        "lovgrundlag": {t.spor: sorted(r.short() for r in t.lovgrundlag) for t in sel.tracks},
        "frist": sorted(f"{d.spec.type} {d.dato.isoformat()} {d.spec.lovgrundlag.short()}" for d in sel.deadlines),
        "advarsler": sorted(sel.advarsler + sel.oplysninger),
    }
    # What took part: the rules that held and the offers actually chosen (an
    # offer that merely suited but was not chosen did not shape the result).
    ids = {compiled.items[i].id for i in fired if compiled.items[i].kind == "regel"}
    ids |= {t.valgt.id for t in sel.tracks if t.valgt}
    return summary, ids, version


def _kinds_of(item: Any) -> set[str]:
    """Which parts of a decision an item can change directly."""
    from engine.model import Offer

    if isinstance(item, Offer):
        return {"tilbud", "lovgrundlag"}
    kinds = set()
    if item.min_niveau is not None or item.udeluk_kategori or item.udeluk_tilbud:
        kinds.add("tilbud")
    if item.lovgrundlag:
        kinds.add("lovgrundlag")
    if item.frist is not None:
        kinds.add("frist")
    if item.advarsel or item.oplysning:
        kinds.add("advarsler")
    return kinds


def _changed_items(a: RuleSetVersion, b: RuleSetVersion) -> dict[str, set[str]]:
    """Ids of rules and offers whose content differs between two versions
    (positions in the files do not count), with the kinds each can change."""

    def index(v: RuleSetVersion) -> dict[str, str]:
        content = canonical_content(v.navn, v.rules, v.offers, ())
        out = {}
        for part in ("regler", "tilbud"):
            for item in content[part]:
                item = {k: val for k, val in item.items() if k != "placering"}
                out[item["id"]] = json.dumps(item, sort_keys=True, ensure_ascii=False)
        return out

    ia, ib = index(a), index(b)
    items = {i.id: i for i in (*a.rules, *a.offers)}
    items.update({i.id: i for i in (*b.rules, *b.offers)})
    return {k: _kinds_of(items[k]) for k in set(ia) | set(ib) if ia.get(k) != ib.get(k)}


@dataclass
class Example:
    screening: dict[str, Any]
    before: Any
    after: Any


@dataclass
class Group:
    kind: str
    count: int = 0
    examples: list[Example] = field(default_factory=list)
    causes: dict[str, int] = field(default_factory=dict)


@dataclass
class DiffReport:
    a: str
    b: str
    corpus: str
    total: int
    changed: int
    skipped: int
    groups: dict[str, Group]
    seconds: float = 0.0


_engines: dict[str, Any] = {}


def _engine_for(side: Side) -> Any:
    from engine.visitation import Engine

    key = str(side.rules_dir)
    if key not in _engines:
        _engines[key] = Engine(side.rules_dir, core="reference")
    return _engines[key]


def _compare_chunk(args: tuple[Side, Side, list[dict[str, Any]], int]) -> tuple[int, int, dict[str, Group]]:
    side_a, side_b, bodies, max_examples = args
    ea, eb = _engine_for(side_a), _engine_for(side_b)
    groups: dict[str, Group] = {k: Group(k) for k in KINDS}
    changed = skipped = 0
    changed_cache: dict[tuple[str, str], dict[str, set[str]]] = {}
    for body in bodies:
        try:
            screening = parse_screening(body)
            before, fired_a, va = _outcome(ea, screening, side_a.pinned)
            after, fired_b, vb = _outcome(eb, screening, side_b.pinned)
        except (ScreeningInvalid, DateNotCovered):
            skipped += 1
            continue
        if before == after:
            continue
        changed += 1
        key = (va.sha256, vb.sha256)
        if key not in changed_cache:
            changed_cache[key] = _changed_items(va, vb)
        changed_items = changed_cache[key]
        involved = {c: changed_items[c] for c in (fired_a | fired_b) if c in changed_items}
        for kind in KINDS:
            if before[kind] != after[kind]:
                g = groups[kind]
                g.count += 1
                # Direct causes first; a changed offer or need level explains the rest.
                causes = [c for c, kinds in involved.items() if kind in kinds] or [c for c, kinds in involved.items() if "tilbud" in kinds]
                for c in causes:
                    g.causes[c] = g.causes.get(c, 0) + 1
                if len(g.examples) < max_examples:
                    g.examples.append(Example(body, before[kind], after[kind]))
    return changed, skipped, groups


def diff(
    side_a: Side,
    side_b: Side,
    bodies: list[dict[str, Any]],
    corpus: str,
    max_examples: int = 3,
    workers: Optional[int] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> DiffReport:
    import time

    start = time.perf_counter()
    workers = workers or (min(2, os.cpu_count() or 1) if len(bodies) > 5000 else 1)
    chunk = max(1, min(5000, len(bodies) // (workers * 4) or 1))
    chunks = [(side_a, side_b, bodies[i : i + chunk], max_examples) for i in range(0, len(bodies), chunk)]
    total_groups: dict[str, Group] = {k: Group(k) for k in KINDS}
    changed = skipped = 0
    done = 0

    def merge(result: tuple[int, int, dict[str, Group]], size: int) -> None:
        nonlocal changed, skipped, done
        c, s, groups = result
        changed += c
        skipped += s
        for k, g in groups.items():
            t = total_groups[k]
            t.count += g.count
            for cause, n in g.causes.items():
                t.causes[cause] = t.causes.get(cause, 0) + n
            t.examples.extend(g.examples[: max(0, max_examples - len(t.examples))])
        done += size
        if progress:
            progress(done, len(bodies))

    if workers > 1 and len(chunks) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            for result, args in zip(pool.imap(_compare_chunk, chunks), chunks):
                merge(result, len(args[2]))
    else:
        for args in chunks:
            merge(_compare_chunk(args), len(args[2]))
    return DiffReport(side_a.label, side_b.label, corpus, len(bodies), changed, skipped, total_groups, time.perf_counter() - start)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_short(v)}" for k, v in value.items()) or "(intet)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(intet)"
    return "(intet)" if value is None else str(value)


def terminal_table(report: DiffReport) -> str:
    lines = [
        f"Ændringer fra {report.a} til {report.b} på {report.corpus}: {report.changed} af {report.total} screeninger ændres"
        + (f" ({report.skipped} sprunget over: uden for regelsættets datoer eller ugyldige)" if report.skipped else "")
        + f" [{report.seconds:.1f} s]",
        "",
        f"{'Art':28} {'Screeninger':>11}  Årsag (regler, der har ændret sig)",
        f"{'-' * 28} {'-' * 11}  {'-' * 40}",
    ]
    for kind in KINDS:
        g = report.groups[kind]
        causes = ", ".join(f"{c} ({n})" for c, n in sorted(g.causes.items(), key=lambda x: -x[1])[:5]) or "-"
        lines.append(f"{KIND_TEXT[kind]:28} {g.count:>11}  {causes}")
    for kind in KINDS:
        g = report.groups[kind]
        if not g.examples:
            continue
        lines.append(f"\nEksempler – {KIND_TEXT[kind]}:")
        for ex in g.examples:
            lines.append(f"  {json.dumps(ex.screening, ensure_ascii=False)}")
            lines.append(f"    før:  {_short(ex.before)}")
            lines.append(f"    efter: {_short(ex.after)}")
    return "\n".join(lines)


def markdown_report(report: DiffReport) -> str:
    out = [
        f"# Konsekvensanalyse: {report.a} → {report.b}",
        "",
        f"Korpus: {report.corpus}. {report.changed} af {report.total} screeninger får et andet resultat"
        + (f"; {report.skipped} blev sprunget over" if report.skipped else "") + ".",
        "",
        "| Art af ændring | Screeninger | Regler, der har ændret sig og indgik |",
        "|---|---:|---|",
    ]
    for kind in KINDS:
        g = report.groups[kind]
        causes = ", ".join(f"`{c}` ({n})" for c, n in sorted(g.causes.items(), key=lambda x: -x[1])) or "–"
        out.append(f"| {KIND_TEXT[kind]} | {g.count} | {causes} |")
    for kind in KINDS:
        g = report.groups[kind]
        if not g.examples:
            continue
        out += ["", f"## Eksempler: {KIND_TEXT[kind]}", ""]
        for i, ex in enumerate(g.examples, 1):
            out += [f"### Eksempel {i}", "", "```json", json.dumps(ex.screening, ensure_ascii=False, indent=1), "```", "",
                    f"- Før: {_short(ex.before)}", f"- Efter: {_short(ex.after)}", ""]
    return "\n".join(out) + "\n"


def html_report(report: DiffReport) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(KIND_TEXT[k])}</td><td>{report.groups[k].count}</td><td>{e(', '.join(f'{c} ({n})' for c, n in sorted(report.groups[k].causes.items(), key=lambda x: -x[1])) or '–')}</td></tr>"
        for k in KINDS
    )
    examples = ""
    for k in KINDS:
        g = report.groups[k]
        if not g.examples:
            continue
        examples += f"<h2>Eksempler: {e(KIND_TEXT[k])}</h2>"
        for ex in g.examples:
            examples += (
                f"<pre>{e(json.dumps(ex.screening, ensure_ascii=False, indent=1))}</pre>"
                f"<p><strong>Før:</strong> {e(_short(ex.before))}<br><strong>Efter:</strong> {e(_short(ex.after))}</p>"
            )
    return (
        "<!doctype html><html lang=\"da\"><head><meta charset=\"utf-8\">"
        f"<title>Konsekvensanalyse {e(report.a)} → {e(report.b)}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #888;padding:.3rem .6rem;text-align:left}"
        "pre{background:#f4f4f4;padding:.5rem;overflow-x:auto}</style></head><body>"
        f"<h1>Konsekvensanalyse: {e(report.a)} → {e(report.b)}</h1>"
        f"<p>Korpus: {e(report.corpus)}. {report.changed} af {report.total} screeninger får et andet resultat.</p>"
        f"<table><thead><tr><th scope=\"col\">Art af ændring</th><th scope=\"col\">Screeninger</th><th scope=\"col\">Regler, der har ændret sig og indgik</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{examples}</body></html>\n"
    )


def space_corpus(engine: Any, days: Iterable[date]) -> list[dict[str, Any]]:
    """The generated input space (every track's points) on each of the given dates."""
    from engine.space import axes_for, points, screening_for, tracks_of

    bodies = []
    for day in sorted(set(days)):
        version = engine.version_for(day)
        for track in tracks_of(version):
            for p in points(axes_for(version, track)):
                bodies.append(screening_for(p, day))
    return bodies
