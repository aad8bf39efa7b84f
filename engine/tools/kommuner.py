"""The municipalities side by side: which golden cases run under which layer, and a
comparison of two municipalities on the whole input space.

Golden cases (`cases/`):
- `cases/*.yaml` are the law layer's cases. They run under the law layer alone and
  under every municipality. Under a municipality a local offer of the same category
  and level stands in for the law's offer the case names (the ladder prefers it,
  regler/LAESMIG.md section 4), also in the texts that quote the offer's name.
- `cases/<kommune>/*.yaml` run only under that municipality. A case there with the same
  `navn` as a law case replaces the law case for that municipality (where a local
  restriction legitimately changes the law's outcome).
- A folder that names no municipality layer is a problem (file:line), not skipped.

Comparison (`visitator rules diff --kommune A --mod B`): every point of the input
space (engine.tools.space: each track's points on each date a version of A or B
starts) is evaluated under both municipalities with engine.tools.diff's `diff`
(one `Side` per municipality). The offer differences are grouped by track and by the
pair of offers, each with the citizens it concerns (the facts common to them),
examples in plain Danish and why: the local blocks of A and B involved, with their
source. Differences in notes are counted per local rule.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from engine.problems import Position, Problem
from engine.tools.cases import CaseResult, GoldenCase, check_case, compare

#: The key of the law layer alone in a case plan (no municipality layer).
LAW = "lov"
RULE_SET = "misbrug"


def layers_in(rules_dir: Path, rule_set: str = RULE_SET) -> list[str]:
    """The municipalities with a layer in a rule folder (file names without .yaml)."""
    folder = rules_dir / rule_set / "kommune"
    return sorted(p.stem for p in folder.glob("*.yaml") if p.is_file())


def layer_label(engine: Any) -> str:
    """'Herning Kommune (herning)' for an engine with a layer, else 'lovlaget alene'."""
    kommune = getattr(engine, "kommune", None)
    if not kommune:
        return "lovlaget alene"
    name = next((la.kommune for la in engine.book.layers if la.kommune), None)
    return f"{name} ({kommune})" if name else kommune


# --------------------------------------------------------------------------- golden cases per layer


def case_folder(case: GoldenCase, cases_dir: Path) -> Optional[str]:
    """The municipality a case belongs to: the folder under cases/ it stands in, or None (law)."""
    parts = Path(case.position.file).parts
    if parts and parts[0] == cases_dir.name:  # load_cases shows paths from the folder's parent
        parts = parts[1:]
    return parts[0] if len(parts) > 1 else None


@dataclass
class CasePlan:
    """Which cases run under which layer ({LAW or kommune: cases}); `law` holds the law cases."""

    runs: dict[str, list[GoldenCase]]
    law: set[int]
    problems: list[Problem] = field(default_factory=list)

    def is_law_case(self, case: GoldenCase) -> bool:
        return id(case) in self.law


def plan_cases(cases: list[GoldenCase], cases_dir: Path, targets: Iterable[str], known: Iterable[str]) -> CasePlan:
    """The cases each target (LAW or a municipality) runs. `known` are the municipalities with a
    layer; a case folder for any other name is a problem."""
    known_set = set(known)
    law_cases = [c for c in cases if case_folder(c, cases_dir) is None]
    own: dict[str, list[GoldenCase]] = {}
    problems: list[Problem] = []
    for case in cases:
        folder = case_folder(case, cases_dir)
        if folder is None:
            continue
        if folder not in known_set:
            problems.append(Problem(Position(case.position.file, case.position.line), f"mappen cases/{folder}/ svarer ikke til et "
                                    f"kommunelag (kendte: {', '.join(sorted(known_set)) or 'ingen'}); tilfældet køres ikke"))
            continue
        own.setdefault(folder, []).append(case)
    runs: dict[str, list[GoldenCase]] = {}
    for target in targets:
        if target == LAW:
            runs[target] = list(law_cases)
            continue
        local = own.get(target, [])
        replaced = {c.navn for c in local}
        runs[target] = [c for c in law_cases if c.navn not in replaced] + local
    return CasePlan(runs, {id(c) for c in law_cases}, problems)


def _offer_index(engine: Any) -> dict[str, Any]:
    return {o.id: o for o in engine.book.offers}


def _stand_in_expectation(engine: Any, case: GoldenCase, result: CaseResult) -> Optional[dict[str, Any]]:
    """A law case's expectation under a municipality: each named law offer replaced by the local
    offer of the same category and level chosen instead (also in texts quoting its name), and the
    version named by its start when only a local block's date split the law's version. None if
    nothing stands in."""
    decision = result.decision
    if decision is None or not getattr(engine, "kommune", None):
        return None
    offers = _offer_index(engine)
    expect = copy.deepcopy(case.forventet)
    renamed: dict[str, str] = {}
    for spor, want in (expect.get("spor") or {}).items():
        chosen = next((t.chosen for t in decision.tracks if t.spor == spor and t.chosen is not None), None)
        law_offer = offers.get((want or {}).get("tilbud", ""))
        if chosen is None or law_offer is None or chosen.id == law_offer.id:
            continue
        if chosen.lag == "kommune" and law_offer.lag == "lov" and (chosen.kategori, chosen.niveau) == (law_offer.kategori, law_offer.niveau):
            want["tilbud"] = chosen.id
            renamed[f"'{law_offer.navn}'"] = f"'{chosen.navn}'"
    changed = bool(renamed)
    version = str(expect.get("version", ""))
    if version and version != decision.version.version and _local_boundary(engine, version, decision.version.gyldig_fra):
        # The municipality's own dates split the law's version; the law's version is the same up to the local blocks.
        expect["version"] = decision.version.version
        changed = True
    if not changed:
        return None
    for key in ("advarsel_indeholder", "oplysning_indeholder", "fortaelling_indeholder"):
        texts = expect.get(key) or []
        for old, new in renamed.items():
            texts = [t.replace(old, new) for t in texts]
        if key in expect:
            expect[key] = texts
    return expect


def _local_boundary(engine: Any, expected: str, actual: date) -> bool:
    """True when a version starts on `actual` only because a local block starts or ends there, after
    the law's version `expected` started."""
    days = {i.gyldig_fra for i in engine.book.items() if i.lag == "kommune"}
    days |= {i.gyldig_til + timedelta(days=1) for i in engine.book.items() if i.lag == "kommune" and i.gyldig_til}
    try:
        return actual in days and date.fromisoformat(expected) < actual
    except ValueError:
        return False


def run_layer_cases(engine: Any, cases: list[GoldenCase], plan: Optional[CasePlan] = None) -> list[CaseResult]:
    """Run cases under one engine; law cases (per `plan`) accept a local stand-in offer."""
    out = []
    for case in cases:
        result = check_case(engine, case)
        if plan is not None and plan.is_law_case(case) and result.problems:
            expect = _stand_in_expectation(engine, case, result)
            if expect is not None and result.decision is not None:
                result.problems = compare(result.decision, expect)
        out.append(result)
    return out


# --------------------------------------------------------------------------- comparing two municipalities


@dataclass(frozen=True)
class BlockInfo:
    """A local block that takes part in a difference, with its source."""

    kommune: str
    id: str
    art: str
    placering: str
    kilde: str
    sikkerhed: str
    tekst: str
    rolle: str = ""  # what the block does, in words


@dataclass
class OfferDifference:
    """One track where the two municipalities recommend different offers for the same citizens."""

    spor: str
    a: Optional[tuple[str, str]]  # (id, name) or None: nothing recommended
    b: Optional[tuple[str, str]]
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    citizens: list[str] = field(default_factory=list)  # the facts all of them share, in Danish
    why: list[BlockInfo] = field(default_factory=list)
    example_texts: list[str] = field(default_factory=list)


@dataclass
class NoteDifference:
    kommune: str
    rule: BlockInfo
    count: int = 0


@dataclass
class KommuneComparison:
    a: str
    b: str
    a_name: str
    b_name: str
    corpus: str
    total: int
    changed: int
    offer_changed: int
    offers: list[OfferDifference]
    notes: list[NoteDifference]
    local_blocks: dict[str, list[BlockInfo]]
    days: list[date]
    seconds: float = 0.0
    diff_report: Any = None


def _engine(rules_dir: Path, kommune: Optional[str], rule_set: str) -> Any:
    from engine.visitation import Engine

    return Engine(rules_dir, rule_set=rule_set, kommune=kommune, core="reference")


def space_bodies(engines: Iterable[Any], days: Iterable[date]) -> list[dict[str, Any]]:
    """Every point of every track on each day, with the axes of every engine's version
    (a local condition adds its own bands), once each."""
    from engine.tools.space import axes_for, points, screening_for, tracks_of

    seen: set[str] = set()
    bodies = []
    for day in sorted(set(days)):
        for engine in engines:
            compiled = engine.compiled(engine.version_for(day))
            for track in tracks_of(compiled):
                for p in points(axes_for(compiled, track)):
                    body = screening_for(p, day)
                    key = json.dumps(body, sort_keys=True, default=str)
                    if key not in seen:
                        seen.add(key)
                        bodies.append(body)
    return bodies


def _block_info(kommune: str, item: Any) -> BlockInfo:
    k = item.kilde
    source = k.dokument or k.bestemmelse or "(ingen kilde)"
    text = getattr(item, "navn", "") or getattr(item, "oplysning", None) or getattr(item, "advarsel", None) or item.beskrivelse
    art, rolle = item.kind, item.kind
    if item.kind == "tilbud":
        rolle = (f"et lokalt tilbud i kategorien {item.kategori} på trin {item.niveau}, som vælges frem for lovlagets tilbud "
                 "på samme trin, når begge er egnede")
    elif item.kind == "regel" and (item.udeluk_kategori or item.udeluk_tilbud):
        art = "begrænsning"
        rolle = f"en lokal begrænsning, der udelukker {item.udeluk_kategori or item.udeluk_tilbud}"
    elif item.kind == "regel":
        art = "oplysning" if item.oplysning else "advarsel" if item.advarsel else "regel"
        rolle = f"en lokal {art}"
    return BlockInfo(kommune, item.id, art, item.placering, source, k.sikkerhed, text, rolle)


def _named(engine: Any) -> str:
    """The municipality as its layer names it ('Herning Kommune'), else its file name."""
    return next((la.kommune for la in engine.book.layers if la.kommune), None) or engine.kommune or "lovlaget"


def _local_blocks(engine: Any) -> list[BlockInfo]:
    seen: dict[str, Any] = {}
    for item in engine.book.items():
        if item.lag == "kommune":
            seen.setdefault(f"{item.kind}:{item.id}", item)
    return [_block_info(_named(engine), item) for item in seen.values()]


def _age_text(ages: set[int], bands: list[int]) -> Optional[str]:
    """The ages of a group in words, from the band representatives the input space uses
    (each point's age stands for its band, up to the next representative)."""
    if not ages or set(bands) <= ages:
        return None
    idx = sorted(bands.index(a) for a in ages if a in bands)
    if idx != list(range(idx[0], idx[-1] + 1)):
        return "alder " + ", ".join(str(bands[i]) for i in idx) + " år (aldersbånd)"
    lower = bands[idx[0]]
    upper = bands[idx[-1] + 1] - 1 if idx[-1] + 1 < len(bands) else None
    if upper is None:
        return f"alder mindst {lower} år"
    if idx[0] == 0:
        return f"alder under {upper + 1} år"
    return f"alder {lower}-{upper} år"


def _citizens(group: list[dict[str, Any]], corpus_values: dict[str, set[str]]) -> list[str]:
    """The facts every screening of a group shares that not every screening of the corpus has."""
    from engine.fields import FIELDS

    values: dict[str, set[str]] = {}
    for body in group:
        for key, value in _flat(body).items():
            values.setdefault(key, set()).add(value)
    bands = sorted(int(a) for a in corpus_values.get("alder", set()))
    age = _age_text({int(a) for a in values.get("alder", set())}, bands)
    out = [age] if age else []
    for key, vals in sorted(values.items()):
        if key in ("alder", "henvendelsesdato", "vurderingsdato") or len(vals) != 1 or corpus_values.get(key, set()) == vals:
            continue
        (value,) = vals
        if key.startswith("rusmiddel:"):
            out.append(f"{key.split(':', 1)[1]}: {value}")
            continue
        spec = FIELDS.get(key)
        label = spec.label if spec is not None else key
        shown = spec.value_label(value) if spec is not None and value not in ("ja", "nej") else value
        out.append(f"{label}: {shown}")
    return out


def _spread(bodies: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Up to n examples spread over a group (first, last and between), not n neighbours."""
    if len(bodies) <= n:
        return list(bodies)
    step = (len(bodies) - 1) / max(1, n - 1)
    return [bodies[round(i * step)] for i in range(n)]


def _flat(body: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in body.items():
        if key == "rusmidler":
            for r in value or []:
                out[f"rusmiddel:{r['stof']}"] = r["grad"]
            out["rusmidler"] = ",".join(sorted(r["stof"] for r in value or [])) or "ingen"
        elif isinstance(value, bool):
            out[key] = "ja" if value else "nej"
        else:
            out[key] = str(value)
    return out


def _corpus_values(bodies: list[dict[str, Any]]) -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for body in bodies:
        for key, value in _flat(body).items():
            values.setdefault(key, set()).add(value)
    return values


def _example_text(ea: Any, eb: Any, body: dict[str, Any], spor: str, a_name: str, b_name: str) -> tuple[str, list[Any], list[Any]]:
    """One example in plain Danish, and the local blocks of each side that took part in the track."""
    from engine.explain import situation
    from engine.wording import SPOR_NAVN, dansk_dato

    da, db = ea.decide(body), eb.decide(body)

    def pick(d: Any) -> str:
        t = next((t for t in d.tracks if t.spor == spor), None)
        if t is None or t.chosen is None:
            return "intet tilbud" if t is None or t.no_alternative is None else "ingen egnet alternativ; faglig vurdering"
        return f"'{t.chosen.navn}'"

    def chosen(d: Any) -> Any:
        t = next((t for t in d.tracks if t.spor == spor), None)
        return t.chosen if t is not None else None

    def involved(engine: Any, d: Any, other: Any) -> list[Any]:
        """The local offer chosen, and a local restriction that excluded what the other side got."""
        items = {f"{i.kind}:{i.id}": i for i in engine.book.items() if i.lag == "kommune" and i.in_force(d.vurderingsdato)}
        out = []
        mine = chosen(d)
        if mine is not None and mine.lag == "kommune":
            out.append(items.get(f"tilbud:{mine.id}"))
        for a in d.rules:
            rule = items.get(f"regel:{a.rule.id}")
            if not a.applied or rule is None or rule.spor != spor or not (rule.udeluk_kategori or rule.udeluk_tilbud):
                continue
            if other is None or rule.udeluk_kategori == other.kategori or rule.udeluk_tilbud == other.id:
                out.append(rule)
        return [i for i in out if i is not None]

    text = (f"{situation(da)} Vurderet {dansk_dato(da.vurderingsdato)}. {SPOR_NAVN[spor]}: i {a_name} {pick(da)}, "
            f"i {b_name} {pick(db)}.")
    return text, involved(ea, da, chosen(db)), involved(eb, db, chosen(da))


def _offer_name(engine: Any, offer_id: Optional[str]) -> Optional[tuple[str, str]]:
    if offer_id is None:
        return None
    offer = next((o for o in engine.book.offers if o.id == offer_id), None)
    return (offer_id, offer.navn if offer is not None else offer_id)


def _group_offers(report: Any, ea: Any, eb: Any, corpus_values: dict[str, set[str]], names: tuple[str, str],
                  max_examples: int) -> list[OfferDifference]:
    groups: dict[tuple[str, Optional[str], Optional[str]], OfferDifference] = {}
    members: dict[tuple[str, Optional[str], Optional[str]], list[dict[str, Any]]] = {}
    for ex in report.groups["tilbud"].examples:
        before, after = ex.before or {}, ex.after or {}
        for spor in sorted(set(before) | set(after)):
            oa, ob = before.get(spor), after.get(spor)
            if oa == ob:
                continue
            key = (spor, oa, ob)
            if key not in groups:
                groups[key] = OfferDifference(spor, _offer_name(ea, oa), _offer_name(eb, ob))
                members[key] = []
            groups[key].count += 1
            members[key].append(ex.screening)
    for key, group in groups.items():
        bodies = members[key]
        group.examples = _spread(bodies, max_examples)
        group.citizens = _citizens(bodies, corpus_values)
        why: dict[str, BlockInfo] = {}
        for body in group.examples:
            text, local_a, local_b = _example_text(ea, eb, body, group.spor, *names)
            group.example_texts.append(text)
            for kommune, items in ((_named(ea), local_a), (_named(eb), local_b)):
                for item in items:
                    why.setdefault(f"{kommune}:{item.kind}:{item.id}", _block_info(kommune, item))
        group.why = list(why.values())
    return sorted(groups.values(), key=lambda g: (-g.count, g.spor))


def _group_notes(report: Any, ea: Any, eb: Any) -> list[NoteDifference]:
    """How many screenings get each local note in one municipality and not in the other."""
    texts: dict[str, tuple[str, Any]] = {}
    for engine in (ea, eb):
        for item in engine.book.rules:
            if item.lag == "kommune" and (item.oplysning or item.advarsel):
                texts[item.oplysning or item.advarsel] = (_named(engine), item)
    counts: dict[tuple[str, str], NoteDifference] = {}
    for ex in report.groups["advarsler"].examples:
        only = set(ex.before or []) ^ set(ex.after or [])
        for note in only:
            hit = next(((k, item) for text, (k, item) in texts.items() if note.startswith(text.rstrip("."))), None)
            if hit is None:
                continue
            kommune, item = hit
            key = (kommune, item.id)
            if key not in counts:
                counts[key] = NoteDifference(kommune, _block_info(kommune, item))
            counts[key].count += 1
    return sorted(counts.values(), key=lambda n: (-n.count, n.kommune, n.rule.id))


def compare_kommuner(rules_dir: Path, a: str, b: str, *, days: Optional[Iterable[date]] = None, rule_set: str = RULE_SET,
                     max_examples: int = 3, workers: Optional[int] = None,
                     progress: Optional[Callable[[int, int], None]] = None) -> KommuneComparison:
    """Which citizens get a different offer (and different notes) in municipality A than in B, and why."""
    import time

    from engine.tools.diff import Side, diff

    start = time.perf_counter()
    ea, eb = _engine(rules_dir, a, rule_set), _engine(rules_dir, b, rule_set)
    if days is None:
        days = {v.gyldig_fra for e in (ea, eb) for v in e.versions() if not v.afventer}
    day_list = sorted(set(days))
    bodies = space_bodies((ea, eb), day_list)
    names = (layer_label(ea), layer_label(eb))
    from engine.wording import count

    corpus = f"hele inputrummet på {count(len(day_list), 'dato', 'datoer')} (hver dato, hvor en version af {a} eller {b} træder i kraft)"
    sides = (Side(names[0], rules_dir, None, rule_set, a), Side(names[1], rules_dir, None, rule_set, b))
    # Every differing screening comes back as an example, so the offer differences can be grouped by
    # pair of offers. The diff runs in a thread of its own: engine.tools.diff forks a process for
    # side B when called alone in a single-threaded process, and its per-group results (which hold
    # compiled versions) cannot be sent back between processes (MaybeEncodingError, 2026-12-01).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kommuner-diff") as pool:
        report = pool.submit(diff, *sides, bodies, corpus, max_examples=max(1, len(bodies)), workers=workers, progress=progress,
                             engines=(ea, eb)).result()
    short = (_named(ea), _named(eb))
    offers = _group_offers(report, ea, eb, _corpus_values(bodies), short, max_examples)
    notes = _group_notes(report, ea, eb)
    return KommuneComparison(a, b, short[0], short[1], corpus, report.total, report.changed, report.groups["tilbud"].count,
                             offers, notes, {short[0]: _local_blocks(ea), short[1]: _local_blocks(eb)}, day_list,
                             time.perf_counter() - start, report)


# --------------------------------------------------------------------------- reports

_SPOR = {"behandling": "Behandling", "medicinsk": "Medicinsk behandling", "bolig": "Bolig og støtte", "koordinering": "Koordinering"}


def _offer_text(o: Optional[tuple[str, str]]) -> str:
    return "intet tilbud" if o is None else f"'{o[1]}' ({o[0]})"


def terminal_text(c: KommuneComparison) -> str:
    lines = [f"{c.a_name} sammenlignet med {c.b_name} på {c.corpus}: {c.total} screeninger, {c.changed} får et andet resultat, "
             f"{c.offer_changed} et andet tilbud [{c.seconds:.1f} s]", ""]
    if not c.offers:
        lines.append("Ingen borger får et andet tilbud; forskellene er kun i oplysninger og advarsler.")
    for g in c.offers:
        lines.append(f"{_SPOR.get(g.spor, g.spor)}: {g.count} screeninger får {_offer_text(g.a)} i {c.a_name}, men "
                     f"{_offer_text(g.b)} i {c.b_name}.")
        if g.citizens:
            lines.append("  Det gælder borgere med: " + "; ".join(g.citizens) + ".")
        for block in g.why:
            lines.append(f"  Hvorfor: {block.kommune} har {block.rolle}: '{block.id}' ({block.placering}; kilde: {block.kilde}).")
        for text in g.example_texts:
            lines.append(f"  Eksempel: {text}")
    if c.notes:
        lines += ["", "Oplysninger og advarsler, der kun gives i den ene kommune:"]
        for n in c.notes:
            lines.append(f"  {n.count:>7}  {n.kommune}: '{n.rule.id}' ({n.rule.placering}): {n.rule.tekst}")
    return "\n".join(lines)


_MARKDOWN = """# {{ c.a_name }} og {{ c.b_name }}: hvem får noget andet?

Korpus: {{ c.corpus }}. {{ c.total }} screeninger; {{ c.changed }} får et andet resultat, og {{ c.offer_changed }} får et
andet tilbud i mindst ét spor. Kørt på {{ "%.1f"|format(c.seconds) }} s.

## Forskelle i tilbud
{% if not c.offers %}
Ingen borger får et andet tilbud; kommunerne adskiller sig kun i oplysninger og advarsler.
{% endif %}{% for g in c.offers %}
### {{ spor[g.spor] }}: {{ offer(g.a) }} i {{ c.a_name }}, {{ offer(g.b) }} i {{ c.b_name }} ({{ g.count }} screeninger)
{% if g.citizens %}
Det gælder borgere med: {{ g.citizens|join("; ") }}.
{% endif %}
Hvorfor:
{% for w in g.why %}- {{ w.kommune }} har {{ w.rolle }}: `{{ w.id }}` ({{ w.placering }}), kilde: {{ w.kilde }} (sikkerhed: {{ w.sikkerhed }}).
{% else %}- Ingen lokal blok tog del; forskellen kommer af lovlaget på datoen.
{% endfor %}
Eksempler:
{% for t in g.example_texts %}- {{ t }}
{% endfor %}{% endfor %}
## Oplysninger og advarsler, der kun gives i den ene kommune
{% if not c.notes %}
Ingen.
{% endif %}{% for n in c.notes %}- {{ n.count }} screeninger, {{ n.kommune }}: `{{ n.rule.id }}` ({{ n.rule.placering }}): {{ n.rule.tekst }}
{% endfor %}
## Kommunernes lokale blokke
{% for kommune, blocks in c.local_blocks.items() %}
### {{ kommune }}
{% for b in blocks %}- {{ b.art }} `{{ b.id }}` ({{ b.placering }}), kilde: {{ b.kilde }} (sikkerhed: {{ b.sikkerhed }})
{% else %}- Ingen lokale blokke.
{% endfor %}{% endfor %}"""

_HTML = """<!doctype html><html lang="da"><head><meta charset="utf-8">
<title>{{ c.a_name }} og {{ c.b_name }}: hvem får noget andet?</title>
<style>body{font-family:sans-serif;max-width:62rem;margin:2rem auto;line-height:1.45;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #888;padding:.3rem .6rem;text-align:left;vertical-align:top}
code{background:#f4f4f4;padding:0 .2rem}</style></head><body>
<h1>{{ c.a_name }} og {{ c.b_name }}: hvem får noget andet?</h1>
<p>Korpus: {{ c.corpus }}. {{ c.total }} screeninger; {{ c.changed }} får et andet resultat, og {{ c.offer_changed }} får et andet
tilbud i mindst ét spor.</p>
<h2>Forskelle i tilbud</h2>
{% if not c.offers %}<p>Ingen borger får et andet tilbud; kommunerne adskiller sig kun i oplysninger og advarsler.</p>{% endif %}
{% for g in c.offers %}<section>
<h3>{{ spor[g.spor] }}: {{ offer(g.a) }} i {{ c.a_name }}, {{ offer(g.b) }} i {{ c.b_name }} ({{ g.count }} screeninger)</h3>
{% if g.citizens %}<p>Det gælder borgere med: {{ g.citizens|join("; ") }}.</p>{% endif %}
<p>Hvorfor:</p><ul>{% for w in g.why %}<li>{{ w.kommune }} har {{ w.rolle }}: <code>{{ w.id }}</code> ({{ w.placering }}), kilde: {{ w.kilde }}
(sikkerhed: {{ w.sikkerhed }})</li>{% else %}<li>Ingen lokal blok tog del.</li>{% endfor %}</ul>
<p>Eksempler:</p><ul>{% for t in g.example_texts %}<li>{{ t }}</li>{% endfor %}</ul>
</section>{% endfor %}
<h2>Oplysninger og advarsler, der kun gives i den ene kommune</h2>
<table><thead><tr><th scope="col">Screeninger</th><th scope="col">Kommune</th><th scope="col">Regel</th><th scope="col">Tekst</th></tr></thead><tbody>
{% for n in c.notes %}<tr><td>{{ n.count }}</td><td>{{ n.kommune }}</td><td><code>{{ n.rule.id }}</code><br>{{ n.rule.placering }}</td>
<td>{{ n.rule.tekst }}</td></tr>{% else %}<tr><td colspan="4">Ingen.</td></tr>{% endfor %}</tbody></table>
<h2>Kommunernes lokale blokke</h2>
{% for kommune, blocks in c.local_blocks.items() %}<h3>{{ kommune }}</h3><ul>
{% for b in blocks %}<li>{{ b.art }} <code>{{ b.id }}</code> ({{ b.placering }}), kilde: {{ b.kilde }} (sikkerhed: {{ b.sikkerhed }})</li>
{% else %}<li>Ingen lokale blokke.</li>{% endfor %}</ul>{% endfor %}
</body></html>
"""


def _render(template: str, c: KommuneComparison, autoescape: bool) -> str:
    from jinja2 import Environment

    env = Environment(autoescape=autoescape, trim_blocks=False, keep_trailing_newline=True)
    return env.from_string(template).render(c=c, spor=_SPOR, offer=_offer_text)


def markdown_report(c: KommuneComparison) -> str:
    return _render(_MARKDOWN, c, autoescape=False)


def html_report(c: KommuneComparison) -> str:
    return _render(_HTML, c, autoescape=True)
