"""The per-point implementations of `rules verify`, `rules check` and `rules diff`, kept
only as test oracles.

They are the tools as they were before the bulk evaluator (engine.bulk): every point of
a space is turned into a screening (or a fact), evaluated by the reference evaluator and
decided with the full engine path, one by one. tests/tools/test_bulk.py runs them on
samples and requires the bulk tools to give the same counts, findings and reports.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from engine.compile import CompiledVersion, compile_version, predicate
from engine.decision import Decision, NoteCode
from engine.fields import GRADER, facts_from_screening
from engine.law import LawBook
from engine.model import Rule, RuleBook, Scope
from engine.problems import ADVARSEL, FEJL, Problem, sort_problems
from engine.screening import ScreeningInvalid, parse_screening
from engine.select import choose, select
from engine.tools.check import _problem
from engine.tools.diff import KINDS, DiffReport, Example, Group, Side, _changed_items
from engine.tools.space import GENERAL, axes_for, axes_for_fields, condition_fields, points, screening_for, tracks_of
from engine.tools.verify import Counterexample, TaskResult, summary
from engine.validate import load_rulebook
from engine.versions import DateNotCovered, RuleSetVersion, versions_of
from engine.wording import note_text

MORE_NEED_FLAGS = ("ustabil", "behov_for_skaerming", "tidligere_forloeb_uden_effekt")


def _scope_predicates(compiled: CompiledVersion) -> list[tuple[Scope, Callable[[dict[str, Any]], bool]]]:
    memo = compiled.memo.get("verify_scopes")
    if memo is None:
        memo = [(s, predicate(s.conditions)) for s in compiled.version.items if isinstance(s, Scope)]
        compiled.memo["verify_scopes"] = memo
    return memo


def _legal_invariants(fact: dict[str, Any], day: date, d: Decision) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    refs = d.lovgrundlag()
    if fact["alder"] < 18 and day >= date(2024, 1, 1) and any(r.lov == "SEL" for r in d.cited()):
        problems.append(("lov", "Serviceloven citeret for en under 18-årig efter 1. januar 2024"))
    if day < date(2015, 7, 1) and any(r.lov == "SEL" and r.paragraf == "101 a" for r in d.cited()):
        problems.append(("lov", "SEL § 101 a citeret før 1. juli 2015"))
    housing_first = any(t.chosen and t.chosen.kategori.startswith("housing_first") for t in d.tracks)
    if day < date(2023, 10, 1) and (any(r.paragraf == "85 a" for r in refs) or housing_first):
        problems.append(("lov", "SEL § 85 a anvendt før 1. oktober 2023"))
    if day < date(2024, 9, 1) and any(r.lov == "SUL" and r.paragraf == "82 c" for r in refs):
        problems.append(("lov", "SUL § 82 c citeret før 1. september 2024"))
    if fact["stof_grad"] == "ingen" and any(r.lov == "SEL" and r.paragraf in ("101", "101 a") for r in refs):
        problems.append(("lov", "SEL § 101 citeret uden stofbrug (alkohol alene)"))
    if (fact["hjemloes"] or fact["andre_sociale_problemer"] or fact["dobbeltdiagnose"]) and any(r.paragraf == "101 a" for r in d.cited()):
        problems.append(("lov", "SEL § 101 a citeret for en borger med andre sociale problemer, hjemløshed eller psykisk lidelse"))
    for x in d.deadlines:
        ref = x.citation
        if ref.lov == "SEL" and ref.paragraf == "101" and ref.stk in ("2", "4") and (day >= date(2020, 1, 1)) != (ref.stk == "4"):
            problems.append(("lov", f"behandlingsgarantien citeret som SEL § 101, stk. {ref.stk} på {day.isoformat()}"))
        if ref.lov == "SUL" and ref.paragraf == "142" and ref.stk == "6":
            medical = d.track("medicinsk")
            if medical is None or medical.chosen is None or medical.chosen.kategori != "substitution":
                problems.append(("lov", "fristen i SUL § 142, stk. 6 givet uden behandling efter stk. 3 (substitution)"))
    for t in d.tracks:
        if t.chosen is None:
            continue
        if t.chosen.kategori == "forsorgshjem" and day >= date(2023, 10, 1) and not fact["akut_behov"]:
            problems.append(("lov", "forsorgshjem (SEL § 110) uden akut behov efter 1. oktober 2023"))
        if t.chosen.kategori in ("doegnbehandling", "doegn_kontrakt") and not (fact["ustabil"] or fact["behov_for_skaerming"] or fact["gravid"]):
            problems.append(("mindste_indgreb", "døgnbehandling uden registreret grund (ustabil, behov for skærmning eller graviditet)"))
        if t.chosen.kategori == "koordinerende_indsatsplan" and t.lovgrundlag:
            problems.append(("lov", "den koordinerende indsatsplan har fået et lovgrundlag, men er en retningslinje"))
        if t.chosen.kategori == "afrusning":
            problems.append(("forudsaetning", "afrusning valgt som tilbud i stedet for at blive lagt ved siden af behandlingen"))
    return problems


def _consistency(fact: dict[str, Any], day: date, d: Decision, compiled: CompiledVersion, fired: set[int]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for ref in d.cited():
        if ref.bestemmelse is None or ref.bestemmelse not in compiled.version.citations:
            problems.append(("henvisning", f"{ref.short()} citeres, men findes ikke i versionen fra {compiled.version.version}"))
            continue
        for scope, holds in _scope_predicates(compiled):
            if scope.covers(ref.bestemmelse) and not holds(fact):
                problems.append(("konsistens", f"{ref.short()} citeres, men personkredsen '{scope.id}' omfatter ikke borgeren"))
    for note in d.notes:
        if note.kode is NoteCode.SKAL_TILBYDE:
            t = d.track(note.spor or "")
            if t is None or t.chosen is None or note.offer is None or t.chosen.id != note.offer.id:
                problems.append(("konsistens", "en 'skal tilbyde'-advarsel uden at tilbuddet anbefales"))
        if note.kode is NoteCode.SKAL_TILBYDE_IKKE_ANBEFALET and note.verdict is None:
            problems.append(("konsistens", "en 'skal tilbyde'-advarsel uden begrundelse for, at tilbuddet ikke anbefales"))
    choice = choose(compiled, fired)
    for spor, pick in choice.picks.items():
        law = choice.law_picks[spor]
        if law is None:
            continue
        if pick is None:
            t = d.track(spor)
            if t is None or t.no_alternative is None:
                problems.append(("begraensning", f"en begrænsning i sporet {spor} efterlod intet tilbud uden at sige 'ingen egnet alternativ'"))
        elif compiled.items[pick].niveau > compiled.items[law].niveau:  # type: ignore[union-attr]
            problems.append(("begraensning", f"en begrænsning gjorde anbefalingen i sporet {spor} mere indgribende"))
    for r in d.rights:
        if d.track(r.spor) is None:
            problems.append(("rettighed", f"borgerens ret '{r.navn}' gælder, men sporet {r.spor} er ikke med i anbefalingen"))
    return problems


def check_point(fact: dict[str, Any], day: date, d: Decision, track: str, compiled: CompiledVersion, fired: set[int]) -> list[tuple[str, str]]:
    """The properties that one point must satisfy; returns (property, message) pairs."""
    problems: list[tuple[str, str]] = []
    for t in d.tracks:
        if t.chosen is None and t.no_alternative is None:
            problems.append(("fuldstaendighed", f"sporet {t.spor} har behovsniveau {t.need}, men intet egnet tilbud"))
    if track == "behandling" and fact["hoejeste_grad"] in ("skadeligt", "afhaengighed") and d.track("behandling") is None:
        problems.append(("fuldstaendighed", "skadeligt brug eller afhængighed gav intet behandlingsspor"))
    if track == "bolig" and fact["hjemloes"] and fact["alder"] >= 18 and d.track("bolig") is None:
        problems.append(("fuldstaendighed", "en voksen i hjemløshed fik intet boligspor"))
    seen: dict[tuple[str, str, Optional[str]], Any] = {}
    for x in d.deadlines:
        key = (x.type, x.citation.lov, x.citation.paragraf)
        if key in seen and (seen[key].citation.stk != x.citation.stk or seen[key].dato != x.dato):
            problems.append(("konflikt", f"to frister af typen {x.type} efter {key[1]} § {key[2]} med forskelligt stk. eller dato"))
        seen[key] = x
    return problems + _legal_invariants(fact, day, d) + _consistency(fact, day, d, compiled, fired)


def _more_need(point: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for flag in MORE_NEED_FLAGS:
        if flag in point and point[flag] is False:
            out.append((f"{flag} sat", {**point, flag: True}))
    for axis in ("alkohol", "stof"):
        if axis in point and point[axis] != GRADER[-1]:
            out.append((f"{axis} grad op", {**point, axis: GRADER[GRADER.index(point[axis]) + 1]}))
    if "stof_opioid" in point:
        stof, opioid = point["stof_opioid"]
        if stof != GRADER[-1]:
            out.append(("stof grad op", {**point, "stof_opioid": (GRADER[GRADER.index(stof) + 1], opioid)}))
    return out


def _decide(compiled: CompiledVersion, body: dict[str, Any], day: date) -> tuple[dict[str, Any], Decision, set[int]]:
    screening = parse_screening(body)
    fact = screening.fact()
    fired = compiled.reference_fired(fact)
    d = select(compiled, fact, fired, day, day, tuple((r.stof, r.grad) for r in screening.rusmidler), "reference")
    return fact, d, set(fired)


def run_task(compiled: CompiledVersion, track: str, limit: int) -> TaskResult:
    """One version and track, point by point, exactly as verify worked before the bulk evaluator."""
    day = compiled.version.gyldig_fra
    version = compiled.version
    axes = axes_for(compiled, track)
    result = TaskResult(version.version, track, 0)
    levels: dict[tuple[Any, ...], Optional[int]] = {}
    names = [a.name for a in axes]

    def add(prop: str, message: str, body: dict[str, Any], d: Decision) -> None:
        result.counts[prop] = result.counts.get(prop, 0) + 1
        if len(result.counterexamples) < limit:
            result.counterexamples.append(Counterexample(prop, message, body, summary(d)))

    for point in points(axes):
        body = screening_for(point, day)
        fact, d, fired = _decide(compiled, body, day)
        result.points += 1
        for prop, message in check_point(fact, day, d, track, compiled, fired):
            add(prop, message, body, d)
        if track == "behandling":
            t = d.track("behandling")
            levels[tuple(point[n] for n in names)] = t.chosen.niveau if t and t.chosen else None
    if track == "behandling":
        for point in points(axes):
            level = levels[tuple(point[n] for n in names)]
            if level is None:
                continue
            for change, more in _more_need(point):
                after = levels[tuple(more[n] for n in names)]
                if after is None or after < level:
                    body = screening_for(more, day)
                    _, d, _ = _decide(compiled, body, day)
                    add("monotoni", f"{change} gav et mindre indgribende behandlingstilbud ({level} -> {after})", body, d)
    return result




# --------------------------------------------------------------------------- rules check, point by point


def _never_holds(book: RuleBook) -> list[Problem]:
    out = []
    all_conditions = [c for item in book.items() for c in item.conditions]
    for item in book.items():
        if not item.conditions:
            continue
        test = predicate(item.conditions)
        axes = axes_for_fields(condition_fields(item.conditions), all_conditions)
        if not any(test(facts_from_screening(screening_for(p, item.gyldig_fra))) for p in points(axes)):
            out.append(_problem(item.position, FEJL, f"betingelserne for '{item.id}' kan aldrig være opfyldt samtidig"))
    return out


def _overlaps(a: Any, b: Any) -> bool:
    a_end, b_end = a.gyldig_til or date.max, b.gyldig_til or date.max
    return bool(a.gyldig_fra <= b_end and b.gyldig_fra <= a_end)


def _kommune_widening(book: RuleBook) -> list[Problem]:
    out = []
    all_conditions = [c for item in book.items() for c in item.conditions]
    national = [o for o in book.offers if o.lag == "lov"]
    for rule in book.rules:
        if rule.lag == "kommune" and rule.min_niveau is not None:
            out.append(_problem(rule.position, FEJL, f"kommunereglen '{rule.id}' hæver behovsniveauet; et kommunelag må kun tilføje "
                                                     "tilbud og begrænse, ikke give mere indgribende anbefalinger"))
    for local in book.offers:
        if local.lag != "kommune":
            continue
        peers = [n for n in national if n.kategori == local.kategori and _overlaps(n, local)]
        if not peers:
            out.append(_problem(local.position, FEJL, f"kommunens tilbud '{local.id}' har kategorien '{local.kategori}', som lovlaget "
                                                      "ikke har i samme periode"))
            continue
        fields = set().union(*(condition_fields(o.conditions) for o in (local, *peers)))
        local_test = predicate(local.conditions)
        peer_tests = [(n, predicate(n.conditions)) for n in peers]
        for p in points(axes_for_fields(fields, all_conditions)):
            fact = facts_from_screening(screening_for(p, local.gyldig_fra))
            if local_test(fact) and not any(t(fact) and n.daekker_op_til >= local.daekker_op_til for n, t in peer_tests):
                shown = ", ".join(f"{k}={v}" for k, v in p.items())
                out.append(_problem(local.position, FEJL, f"kommunens tilbud '{local.id}' udvider, hvad loven tillader: det er egnet, "
                                                          f"hvor intet tilbud i lovlaget med kategorien '{local.kategori}' er det, fx {shown}"))
                break
    return out


def _reach_and_mask(book: RuleBook, law: LawBook) -> list[Problem]:
    """Exact: every point of every track's input space, all fields varied."""
    never_chosen: dict[int, list[str]] = defaultdict(list)
    instead: dict[int, Counter[str]] = defaultdict(Counter)
    masked: dict[int, list[str]] = defaultdict(list)
    idle: dict[int, list[str]] = defaultdict(list)
    by_id: dict[int, Any] = {}
    for version in versions_of(book, law):
        if version.afventer:
            continue
        compiled = compile_version(version)
        items = compiled.items
        for item in items:
            by_id[id(item)] = item
        for track in tracks_of(compiled):
            if track == GENERAL:
                continue
            picked: set[int] = set()
            setters: set[int] = set()
            applied: set[int] = set()
            fired_any: set[int] = set()
            for p in points(axes_for(compiled, track, everything=True)):
                fact = facts_from_screening(screening_for(p, version.gyldig_fra))
                fired = set(compiled.reference_fired(fact))
                choice = choose(compiled, fired)
                pick = choice.picks.get(track)
                level = choice.need.get(track)
                if pick is not None:
                    picked.add(pick)
                    for j in compiled.ladders[track]:
                        if j != pick and j in fired and j not in choice.excluded and items[j].daekker_op_til >= level:  # type: ignore[union-attr,operator]
                            instead[id(items[j])][items[pick].id] += 1
                recommended = {items[pick].kategori} if pick is not None else set()  # type: ignore[union-attr]
                recommended |= {items[i].kategori for i in choice.fired_preconditions if items[i].spor == track}  # type: ignore[union-attr]
                for i in choice.fired_rules:
                    rule: Rule = items[i]  # type: ignore[assignment]
                    if rule.spor != track:
                        continue
                    fired_any.add(i)
                    if rule.min_niveau is not None and rule.min_niveau == level:
                        setters.add(i)
                    categories = compiled.effective[i].categories
                    if (track in choice.need or recommended) and (not categories or recommended & set(categories)):
                        applied.add(i)
            for j in compiled.ladders[track]:
                if j not in picked:
                    never_chosen[id(items[j])].append(version.version)
            for i in fired_any:
                rule = items[i]  # type: ignore[assignment]
                if rule.min_niveau is not None and i not in setters and not (rule.lovgrundlag or rule.frist or rule.advarsel or rule.oplysning
                                                                            or rule.udeluk_kategori or rule.skal_tilbyde):
                    masked[id(rule)].append(version.version)
                if i not in applied:
                    idle[id(rule)].append(version.version)
    out = []
    for key, versions in never_chosen.items():
        offer = by_id[key]
        hint = f"; i stedet vælges: {', '.join(repr(k) for k, _ in instead[key].most_common(2))}" if instead[key] else ""
        out.append(_problem(offer.position, FEJL, f"tilbuddet '{offer.id}' kan ikke nås af nogen screening i version {_versions(versions)}{hint}"))
    for key, versions in masked.items():
        rule = by_id[key]
        out.append(_problem(rule.position, FEJL, f"reglen '{rule.id}' er maskeret i version {_versions(versions)}: når den gælder, "
                                                 "fastsætter en anden regel altid et højere behovsniveau"))
    for key, versions in idle.items():
        rule = by_id[key]
        wanted = " eller ".join(c for c in rule.ved_kategori) or "dens kategori"
        out.append(_problem(rule.position, ADVARSEL, f"reglen '{rule.id}' får aldrig virkning i version {_versions(versions)}: når den "
                                                     f"gælder, anbefales aldrig {wanted}"))
    return out


def _versions(versions: Iterable[str]) -> str:
    v = sorted(set(versions))
    return ", ".join(v) if len(v) <= 3 else f"{v[0]} … {v[-1]} ({len(v)} versioner)"


def check_oracle(set_dir: Path, shown_root: Optional[Path] = None, law_dir: Optional[Path] = None,
                 kommune: Optional[str] = None) -> list[Problem]:
    """The exhaustive findings of `rules check` (never holds, kommune widening, reachability and
    masking), point by point as before the bulk evaluator. Ties are new and not here."""
    book, law = load_rulebook(set_dir, shown_root=shown_root, law_dir=law_dir, kommune=kommune)
    return sort_problems(_never_holds(book) + _kommune_widening(book) + _reach_and_mask(book, law))


# --------------------------------------------------------------------------- rules diff, screening by screening


def _outcome(engine: Any, screening: Any, pinned: Optional[date]) -> tuple[dict[str, Any], set[str], RuleSetVersion]:
    day = pinned or screening.effective_date(engine.today())
    version = engine.version_for(day)
    compiled = engine.compiled(version)
    fact = screening.fact()
    fired = compiled.reference_fired(fact)
    d = select(compiled, fact, fired, screening.henvendelsesdato, screening.effective_date(engine.today()))
    summary = {
        "tilbud": {t.spor: (t.chosen.id if t.chosen else None) for t in d.tracks},
        "lovgrundlag": {t.spor: sorted(r.short() for r in t.lovgrundlag) for t in d.tracks},
        "frist": sorted(f"{x.type} {x.dato.isoformat()} {x.citation.short()}" for x in d.deadlines),
        "advarsler": sorted(note_text(n) for n in d.notes),
    }
    # What took part: the rules that held and the offers actually chosen (an
    # offer that merely suited but was not chosen did not shape the result).
    ids = {compiled.items[i].id for i in fired if compiled.items[i].kind != "tilbud"}
    ids |= {t.chosen.id for t in d.tracks if t.chosen}
    return summary, ids, version


def _compare_chunk(args: tuple[Side, Side, list[dict[str, Any]], int], ea: Any, eb: Any) -> tuple[int, int, dict[str, Group]]:
    side_a, side_b, bodies, max_examples = args
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


def diff_oracle(side_a: Side, side_b: Side, bodies: list[dict[str, Any]], corpus: str, engines: tuple[Any, Any],
                max_examples: int = 3) -> DiffReport:
    """Every screening decided on both sides with the full engine path, as before the bulk evaluator."""
    changed, skipped, groups = _compare_chunk((side_a, side_b, bodies, max_examples), engines[0], engines[1])
    return DiffReport(side_a.label, side_b.label, corpus, len(bodies), changed, skipped, groups)
