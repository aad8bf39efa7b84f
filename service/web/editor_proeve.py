"""The rule editor's checks: validate a draft exactly as a reload would, run its golden cases, and
preview its impact (on the golden cases, the whole input space and the municipality's stored
decisions) as tables of who gains and who loses, with examples in plain Danish.

A draft is materialised into a temporary rule folder (the shipped law layer with the draft's files
over it, as service.decisions.Engines does for a published layer) and loaded with engine.validate
and compiled; the impact runs engine.tools.diff's public `diff` on the engines in this process.
"""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional

from engine import Engine, RulesInvalid
from engine.fields import BOLIG_LABELS, FIELDS, FLAG_FIELDS, GRAD_LABELS, STOF_KORT
from engine.problems import Position, Problem, ProblemsFound
from engine.versions import RuleSetVersion, canonical_content
from engine.wording import SPOR_NAVN, dansk_dato
from service.decisions import KOMMUNE_CASES, layer_path, materialise_rules

RULE_SET = "misbrug"


@dataclass
class Checked:
    """A draft validated as a reload would: every problem (rules and case files), and the versions."""

    problems: list[Problem]
    versions: tuple[RuleSetVersion, ...] = ()
    seconds: float = 0.0

    @property
    def valid(self) -> bool:
        return not self.problems


def _kommune_arg(rules: Path, kommune: str) -> Optional[str]:
    return kommune if (rules / "misbrug" / "kommune" / f"{kommune}.yaml").is_file() else None


def check_draft(shipped_rules: Path, files: dict[str, str], kommune: str) -> Checked:
    """engine.validate + compile on the draft's files beside the shipped law layer, and its case files read."""
    from engine.compile import compile_version
    from engine.tools.cases import CaseFileInvalid, load_cases
    from engine.visitation import load_rules

    start = time.perf_counter()
    problems: list[Problem] = []
    versions: tuple[RuleSetVersion, ...] = ()
    with tempfile.TemporaryDirectory(prefix="visitator-kladde-") as tmp:
        rules = materialise_rules(shipped_rules, files, Path(tmp))
        try:
            loaded = load_rules(rules, RULE_SET, _kommune_arg(rules, kommune))
            for version in loaded.versions:
                if not version.afventer:
                    compile_version(version)
            versions = loaded.versions
        except ProblemsFound as error:
            problems.extend(error.problems)
        own = Path(tmp) / KOMMUNE_CASES.format(kommune=kommune)
        if own.is_dir():
            try:
                load_cases(own)
            except CaseFileInvalid as error:
                problems.extend(Problem(Position("cases/" + p.where.file, p.where.line, p.where.column), p.message, p.level)
                                for p in error.problems)
    return Checked(problems, versions, time.perf_counter() - start)


# --------------------------------------------------------------------------- golden cases


@dataclass
class CaseRow:
    navn: str
    placering: str
    egen: bool  # the municipality's own case (cases/<kommune>/), else a shared one (cases/*.yaml)
    bestaaet: bool
    problemer: list[str]


@dataclass
class Trial:
    """Golden cases and the impact preview of a draft against the rules in force."""

    cases: list[CaseRow] = field(default_factory=list)
    case_note: Optional[str] = None
    previews: list["Preview"] = field(default_factory=list)
    day: Optional[date] = None
    seconds: float = 0.0


def draft_engine(shipped_rules: Path, files: dict[str, str], kommune: str, today: Any, tmp: Path) -> Engine:
    rules = materialise_rules(shipped_rules, files, tmp)
    return Engine(rules, kommune=_kommune_arg(rules, kommune), core="reference", today=today)


def run_cases(engine: Engine, cases_root: Path, kommune: str) -> tuple[list[CaseRow], Optional[str]]:
    """The municipality's own cases (must pass) and the shared ones (shown for information)."""
    from engine.tools.cases import CaseFileInvalid, check_case, load_cases

    rows: list[CaseRow] = []
    note = None
    own_dir = cases_root / kommune
    for folder, own in ((own_dir, True), (cases_root, False)):
        if not folder.is_dir():
            continue
        try:
            cases = load_cases(folder)
        except CaseFileInvalid as error:
            note = f"De gyldne tilfælde i {'kommunens mappe' if own else 'den fælles mappe'} kan ikke læses: {error.problems[0]}"
            continue
        for case in cases:
            shown = f"cases/{case.placering}" if own else case.placering
            if not own and shown.count("/") > 1:
                continue  # a municipality's own folder: run above (or another municipality's)
            result = check_case(engine, case)
            rows.append(CaseRow(case.navn, shown, own, result.passed, result.problems))
    return rows, note


# --------------------------------------------------------------------------- impact


@dataclass
class Change:
    """One kind of change in one track: from offer A to offer B, for how many, at which ages."""

    spor: str
    foer: str
    efter: str
    art: str  # faar (gains an offer), mister (loses it), skifter (another offer)
    antal: int = 0
    aldre: set[int] = field(default_factory=set)
    eksempler: list[str] = field(default_factory=list)
    alder_tekst: str = ""


@dataclass
class Preview:
    korpus: str
    total: int
    changed: int
    skipped: int
    changes: list[Change]
    andre: list[tuple[str, int, list[str]]]  # (kind text, count, examples) for legal bases, deadlines, notes
    seconds: float


def person_text(body: dict[str, Any]) -> str:
    """A screening as a short description in plain Danish: 'En 23-årig, der lever på gaden, med skadeligt brug af cannabis'."""
    text = f"En {body.get('alder')}-årig"
    bolig = body.get("boligsituation")
    if bolig:
        text += f", der {BOLIG_LABELS.get(bolig, bolig)}"
    uses = [f"{GRAD_LABELS.get(str(r.get('grad')), str(r.get('grad'))).split(' (')[0]} af {STOF_KORT.get(str(r.get('stof')), str(r.get('stof')))}"
            for r in body.get("rusmidler") or [] if isinstance(r, dict)]
    if uses:
        text += ", med " + " og ".join(uses)
    if body.get("dobbeltdiagnose"):
        text += ", med dobbeltdiagnose"
    flags = [FIELDS[f].plain for f in FLAG_FIELDS if body.get(f) is True]
    if flags:
        text += " (" + ", ".join(flags) + ")"
    return text


def _age_text(ages: set[int], grid: list[int]) -> str:
    """Ages as bands: with the space's grid each representative stands for its band up to the next one."""
    if not ages:
        return ""
    if not grid:
        low, high = min(ages), max(ages)
        return f"{low} år" if low == high else f"{low}–{high} år"
    grid = sorted(set(grid))
    bands: list[list[int]] = []
    for a in sorted(ages):
        nxt = next((g for g in grid if g > a), None)
        top = (nxt - 1) if nxt is not None else 120
        if bands and bands[-1][1] + 1 >= a:
            bands[-1][1] = max(bands[-1][1], top)
        else:
            bands.append([a, top])
    parts = [(f"{lo} år og derover" if hi >= 120 else (f"{lo} år" if lo == hi else f"{lo}–{hi} år")) for lo, hi in bands]
    return ", ".join(parts)


def _offer_name(names: dict[str, str], offer_id: Optional[str]) -> str:
    if offer_id is None:
        return "intet tilbud"
    return names.get(offer_id, offer_id)


def summarise(report: Any, names: dict[str, str], grid: bool, max_examples: int = 3) -> Preview:
    """The diff report as who gains and who loses per track, with age bands and examples."""
    from engine.tools.diff import KIND_TEXT, KINDS

    changes: dict[tuple[str, Optional[str], Optional[str]], Change] = {}
    bodies_ages = []
    for ex in report.groups["tilbud"].examples:
        for spor in sorted(set(ex.before) | set(ex.after)):
            a, b = ex.before.get(spor), ex.after.get(spor)
            if a == b:
                continue
            key = (spor, a, b)
            if key not in changes:
                art = "faar" if a is None else ("mister" if b is None else "skifter")
                changes[key] = Change(SPOR_NAVN.get(spor, spor), _offer_name(names, a), _offer_name(names, b), art)
            c = changes[key]
            c.antal += 1
            if isinstance(ex.screening.get("alder"), int):
                c.aldre.add(ex.screening["alder"])
            if len(c.eksempler) < max_examples:
                c.eksempler.append(person_text(ex.screening))
            bodies_ages.append(ex.screening.get("alder"))
    ages_grid = sorted({a for a in report.grid if isinstance(a, int)}) if grid and hasattr(report, "grid") else []
    for c in changes.values():
        c.alder_tekst = _age_text(c.aldre, ages_grid)
    andre = []
    for kind in KINDS:
        if kind == "tilbud":
            continue
        g = report.groups[kind]
        if g.count:
            examples = [f"{person_text(ex.screening)}: før {_short(ex.before)}; nu {_short(ex.after)}" for ex in g.examples[:2]]
            andre.append((KIND_TEXT[kind], g.count, examples))
    order = {"faar": 0, "skifter": 1, "mister": 2}
    rows = sorted(changes.values(), key=lambda c: (order[c.art], c.spor, -c.antal))
    return Preview(report.corpus, report.total, report.changed, report.skipped, rows, andre, report.seconds)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{SPOR_NAVN.get(k, k)}: {_short(v)}" for k, v in value.items()) or "intet"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "ingen"
    return "intet" if value is None else str(value)


def _changed_tracks(a: RuleSetVersion, b: RuleSetVersion) -> Optional[set[str]]:
    """The tracks whose blocks differ between two versions (None: a change that touches every track)."""

    def index(v: RuleSetVersion) -> dict[str, str]:
        content = canonical_content(v.navn, v.items, (), v.citations)
        return {f"{part}:{item['id']}": json.dumps(item, sort_keys=True, ensure_ascii=False)
                for part in ("regler", "tilbud", "forudsaetninger", "rettigheder", "personkreds") for item in content[part]}

    ia, ib = index(a), index(b)
    items = {f"{i.kind}:{i.id}": i for i in a.items}
    items.update({f"{i.kind}:{i.id}": i for i in b.items})
    by_part = {"regler": "regel", "tilbud": "tilbud", "forudsaetninger": "forudsaetning", "rettigheder": "rettighed", "personkreds": "personkreds"}
    tracks: set[str] = set()
    for key in set(ia) | set(ib):
        if ia.get(key) == ib.get(key):
            continue
        part, item_id = key.split(":", 1)
        item = items.get(f"{by_part[part]}:{item_id}")
        spor = getattr(item, "spor", None)
        if not spor:
            return None
        tracks.add(spor)
    return tracks


def space_bodies(engines: tuple[Engine, Engine], day: date) -> tuple[list[dict[str, Any]], list[int]]:
    """The input space on `day` for the tracks the change touches (under both sides' thresholds)."""
    from engine.tools.space import axes_for, points, screening_for, tracks_of

    versions = [e.version_for(day) for e in engines]
    tracks = _changed_tracks(versions[0], versions[1])
    seen: set[str] = set()
    bodies: list[dict[str, Any]] = []
    for engine, version in zip(engines, versions):
        compiled = engine.compiled(version)
        for track in tracks_of(compiled):
            if tracks is not None and track not in tracks and track != "generelt":
                continue
            for p in points(axes_for(compiled, track)):
                body = screening_for(p, day)
                key = json.dumps(body, sort_keys=True, default=str)
                if key not in seen:
                    seen.add(key)
                    bodies.append(body)
    ages = sorted({b["alder"] for b in bodies if isinstance(b.get("alder"), int)})
    return bodies, ages


def preview(now: Engine, draft: Engine, draft_rules: Path, kommune: Optional[str], day: date,
            corpora: list[tuple[str, list[dict[str, Any]], bool]]) -> list[Preview]:
    """Each corpus under the rules in force and under the draft, both on `day`."""
    from engine.tools.diff import Side, diff

    names = {o.id: o.navn for e in (now, draft) for v in e.versions() for o in v.offers}
    out = []
    for label, bodies, grid in corpora:
        a = Side("reglerne i kraft", now.rules_dir, day, kommune=now.kommune)
        b = Side("kladden", draft_rules, day, kommune=draft.kommune)
        report = diff(a, b, bodies, label, max_examples=max(3, len(bodies)), workers=1, engines=(now, draft))
        if grid:
            report.grid = sorted({x["alder"] for x in bodies if isinstance(x.get("alder"), int)})  # type: ignore[attr-defined]
        out.append(summarise(report, names, grid))
    return out


def stored_bodies(store: Any, kommune: str, limit: int = 5000) -> list[dict[str, Any]]:
    """The municipality's newest stored screenings (content removed under the retention rules is skipped)."""
    from service.log import Filters

    _, records = store.list_decisions(kommune, Filters(), limit, 0)
    out = []
    for r in records:
        if r.screening:
            try:
                out.append(json.loads(r.screening))
            except ValueError:
                continue
    return out


def trial(shipped_rules: Path, files: dict[str, str], kommune: str, now: Engine, store: Any, day: date, today: Any) -> Trial:
    """Golden cases and the three previews of a valid draft."""
    start = time.perf_counter()
    result = Trial(day=day)
    with tempfile.TemporaryDirectory(prefix="visitator-afproevning-") as tmp:
        draft = draft_engine(shipped_rules, files, kommune, today, Path(tmp))
        result.cases, result.case_note = run_cases(draft, Path(tmp) / "cases", kommune)
        from engine.tools.cases import load_cases

        case_bodies: list[dict[str, Any]] = []
        for folder in (Path(tmp) / "cases", Path(tmp) / "cases" / kommune):
            try:
                case_bodies = [c.screening for c in load_cases(folder) if "fejl" not in c.forventet]
                break
            except (RulesInvalid, ProblemsFound):
                continue
        space, _ = space_bodies((now, draft), day)
        corpora = [("de gyldne tilfælde", case_bodies, False), ("hele inputrummet", space, True),
                   ("kommunens gemte vurderinger", stored_bodies(store, kommune), False)]
        result.previews = preview(now, draft, draft.rules_dir, kommune, day, corpora)
    result.seconds = time.perf_counter() - start
    return result


def draft_paths(kommune: str) -> tuple[str, str]:
    """(the layer file's path, the golden cases' folder) inside a draft."""
    return layer_path(kommune), KOMMUNE_CASES.format(kommune=kommune)


def day_text(day: Optional[date]) -> str:
    return dansk_dato(day) if day else ""
