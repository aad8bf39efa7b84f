"""Golden cases: YAML files in `cases/` that state "this screening, on this date,
gives these tracks, categories, legal bases and deadlines".

Policy staff write them; `visitator rules test` and pytest run them through
the engine. A key that is left out is not checked; an empty list means
"none" (`frister: []` expects no deadline). This module reads cases and
compares them with the typed decision; it does not evaluate rules itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional

from engine.decision import Decision
from engine.explain import narrative
from engine.load import PosDict, PosList, load_yaml_file
from engine.problems import Position, Problem, ProblemsFound
from engine.screening import ScreeningInvalid
from engine.versions import DateNotCovered
from engine.wording import note_text

_LEGAL = re.compile(r"^(SEL|SUL|BL|TBL) § (\d+(?: [a-z])?)(?:, stk\. (\S+))?(?:, nr\. (\S+))?$")

_CASE_KEYS = {"navn", "beskrivelse", "screening", "forventet"}
_EXPECT_KEYS = {"spor", "frister", "advarsel_indeholder", "oplysning_indeholder", "ikke_advarsel_indeholder",
                "ikke_oplysning_indeholder", "regler", "ikke_regler", "version", "fejl", "forudsaetninger", "rettigheder",
                "ingen_alternativ", "fortaelling_indeholder", "fortaelling_ikke_indeholder"}
_TRACK_KEYS = {"kategori", "tilbud", "lovgrundlag"}


def parse_legal(text: str) -> tuple[str, str, Optional[str]]:
    """'SEL § 101, stk. 4' -> ('SEL', '101', '4')."""
    match = _LEGAL.match(str(text).strip())
    if not match:
        raise ValueError(f"lovhenvisning '{text}' skal skrives som fx 'SEL § 101, stk. 4' eller 'SUL § 142'")
    return match.group(1), match.group(2), match.group(3)


def legal_text(lov: str, paragraf: Optional[str], stk: Optional[str]) -> str:
    return f"{lov} § {paragraf}" + (f", stk. {stk}" if stk else "")


@dataclass
class GoldenCase:
    navn: str
    position: Position
    screening: dict[str, Any]
    forventet: dict[str, Any]
    beskrivelse: str = ""

    @property
    def placering(self) -> str:
        return f"{self.position.file}:{self.position.line}"


@dataclass
class CaseResult:
    case: GoldenCase
    problems: list[str] = field(default_factory=list)
    decision: Optional[Decision] = None

    @property
    def passed(self) -> bool:
        return not self.problems


def _plain(value: Any) -> Any:
    """YAML dates to ISO strings so a case screening looks like a JSON body."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


class CaseFileInvalid(ProblemsFound):
    pass


def _case_problems(raw: Any, where: Position) -> list[str]:
    if not isinstance(raw, dict):
        return ["et tilfælde skal være en blok med navn, screening og forventet"]
    unknown = set(raw) - _CASE_KEYS
    missing = {"navn", "screening", "forventet"} - set(raw)
    if unknown or missing:
        return [f"ukendt nøgle '{k}'" for k in sorted(unknown)] + [f"mangler '{k}'" for k in sorted(missing)]
    expect = raw["forventet"] or {}
    if not isinstance(expect, dict):
        return ["'forventet' skal være en blok"]
    bad = set(expect) - _EXPECT_KEYS
    for spor, track in (expect.get("spor") or {}).items():
        bad |= {f"spor.{spor}.{k}" for k in set(track or {}) - _TRACK_KEYS}
    if bad:
        return [f"ukendte nøgler under forventet: {', '.join(sorted(bad))} (gyldige: {', '.join(sorted(_EXPECT_KEYS))})"]
    return []


def load_cases(cases_dir: Path) -> list[GoldenCase]:
    cases: list[GoldenCase] = []
    problems: list[Problem] = []
    for path in sorted(cases_dir.rglob("*.yaml")):
        shown = path.relative_to(cases_dir.parent).as_posix() if cases_dir.parent in path.parents else path.as_posix()
        data, load_problems = load_yaml_file(path, shown)
        problems.extend(load_problems)
        if load_problems:
            continue
        if not isinstance(data, PosDict) or not isinstance(data.get("tilfaelde"), PosList):
            problems.append(Problem(Position(shown, 1, 1), "filen skal have en liste 'tilfaelde'"))
            continue
        items = data["tilfaelde"]
        for i, raw in enumerate(items):
            where = items.item_pos[i]
            found = _case_problems(raw, where)
            if found:
                problems.extend(Problem(where, text) for text in found)
                continue
            cases.append(GoldenCase(str(raw["navn"]), where, _plain(dict(raw["screening"])), _plain(dict(raw["forventet"] or {})),
                                    str(raw.get("beskrivelse", ""))))
    if problems:
        raise CaseFileInvalid(problems)
    return cases


def _check_tracks(d: Decision, want_tracks: dict[str, Any], out: list[str]) -> None:
    got = {t.spor: t for t in d.tracks if t.chosen is not None}
    if set(got) != set(want_tracks):
        out.append(f"spor: forventet {sorted(want_tracks)}, fik {sorted(got)}")
    for spor, want in want_tracks.items():
        t = got.get(spor)
        if t is None or t.chosen is None:
            continue
        want = want or {}
        if "kategori" in want and t.chosen.kategori != want["kategori"]:
            out.append(f"{spor}: kategori forventet {want['kategori']}, fik {t.chosen.kategori}")
        if "tilbud" in want and t.chosen.id != want["tilbud"]:
            out.append(f"{spor}: tilbud forventet {want['tilbud']}, fik {t.chosen.id}")
        if "lovgrundlag" in want:
            want_legal = {parse_legal(x) for x in want["lovgrundlag"] or []}
            got_legal = {(r.lov, r.paragraf, r.stk) for r in t.lovgrundlag}
            if want_legal != got_legal:
                out.append(f"{spor}: lovgrundlag forventet [{', '.join(sorted(legal_text(*x) for x in want_legal))}], "
                           f"fik [{', '.join(r.short() for r in t.lovgrundlag)}]")


def _check_texts(d: Decision, expect: dict[str, Any], out: list[str]) -> None:
    advarsler = [note_text(n) for n in d.notes if n.art == "advarsel"]
    oplysninger = [note_text(n) for n in d.notes if n.art == "oplysning"]
    for key, texts, must in (("advarsel_indeholder", advarsler, True), ("oplysning_indeholder", oplysninger, True),
                             ("ikke_advarsel_indeholder", advarsler, False), ("ikke_oplysning_indeholder", oplysninger, False)):
        for text in expect.get(key) or []:
            found = any(text in t for t in texts)
            if must and not found:
                out.append(f"{key}: ingen tekst indeholder '{text}'")
            if not must and found:
                out.append(f"{key}: en tekst indeholder '{text}', men skulle ikke")
    if "fortaelling_indeholder" in expect or "fortaelling_ikke_indeholder" in expect:
        tekst = narrative(d)
        for text in expect.get("fortaelling_indeholder") or []:
            if text not in tekst:
                out.append(f"fortællingen nævner ikke '{text}'")
        for text in expect.get("fortaelling_ikke_indeholder") or []:
            if text in tekst:
                out.append(f"fortællingen nævner '{text}', men skulle ikke")


def compare(d: Decision, expect: dict[str, Any]) -> list[str]:
    """Every way the decision differs from the case's expectation (only the keys given)."""
    out: list[str] = []
    if "spor" in expect:
        _check_tracks(d, expect["spor"] or {}, out)
    if "frister" in expect:
        want = {(x["type"], str(x["dato"]), parse_legal(x["lovgrundlag"])) for x in expect["frister"] or []}
        got = {(x.type, x.dato.isoformat(), (x.citation.lov, x.citation.paragraf, x.citation.stk)) for x in d.deadlines}
        if want != got:
            def show(ds: set[Any]) -> str:
                return ", ".join(f"{t} {day} {legal_text(*ref)}" for t, day, ref in sorted(ds))
            out.append(f"frister: forventet [{show(want)}], fik [{show(got)}]")
    _check_texts(d, expect, out)
    applied = {a.rule.id for a in d.rules if a.applied}
    for rule_id in expect.get("regler") or []:
        if rule_id not in applied:
            out.append(f"reglen '{rule_id}' blev ikke anvendt")
    for rule_id in expect.get("ikke_regler") or []:
        if rule_id in applied:
            out.append(f"reglen '{rule_id}' blev anvendt, men skulle ikke")
    if "forudsaetninger" in expect:
        want_pre = sorted(expect["forudsaetninger"] or [])
        got_pre = sorted(p.offer.kategori for p in d.preconditions)
        if want_pre != got_pre:
            out.append(f"forudsætninger: forventet {want_pre}, fik {got_pre}")
    if "rettigheder" in expect:
        want_r = sorted(expect["rettigheder"] or [])
        got_r = sorted(r.ref.id + ("" if r.opfyldt else " (ikke opfyldt)") for r in d.rights)
        if want_r != got_r:
            out.append(f"rettigheder: forventet {want_r}, fik {got_r}")
    if "ingen_alternativ" in expect:
        want_na = sorted(expect["ingen_alternativ"] or [])
        got_na = sorted(t.spor for t in d.tracks if t.no_alternative is not None)
        if want_na != got_na:
            out.append(f"ingen egnet alternativ: forventet i {want_na}, fik i {got_na}")
    if "version" in expect and d.version.version != str(expect["version"]):
        out.append(f"version forventet {expect['version']}, fik {d.version.version}")
    return out


def check_case(engine: Any, case: GoldenCase) -> CaseResult:
    result = CaseResult(case)
    expect = case.forventet
    try:
        decision = engine.decide(case.screening)
    except ScreeningInvalid as error:
        fields = sorted({p.felt for p in error.problems})
        if expect.get("fejl") not in fields:
            result.problems.append(f"uventet valideringsfejl: {error}")
        return result
    except DateNotCovered as error:
        if expect.get("fejl") != "vurderingsdato":
            result.problems.append(f"uventet fejl: {error}")
        return result
    result.decision = decision
    if "fejl" in expect:
        result.problems.append(f"forventede en fejl i '{expect['fejl']}', men fik en anbefaling")
        return result
    result.problems.extend(compare(decision, expect))
    return result


def run_cases(engine: Any, cases: list[GoldenCase]) -> list[CaseResult]:
    return [check_case(engine, case) for case in cases]


def coverage(results: list[CaseResult]) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """How many cases applied each rule (id, gyldig_fra) and chose each offer or precondition (id, gyldig_fra)."""
    rules: dict[tuple[str, str], int] = {}
    offers: dict[tuple[str, str], int] = {}
    for r in results:
        if r.decision is None:
            continue
        for a in r.decision.rules:
            key = (a.rule.id, a.rule.gyldig_fra.isoformat())
            rules[key] = rules.get(key, 0) + 1
        for x in list(r.decision.rights):
            key = (x.ref.id, x.ref.gyldig_fra.isoformat())
            rules[key] = rules.get(key, 0) + 1
        for p in r.decision.preconditions:
            key = (p.ref.id, p.ref.gyldig_fra.isoformat())
            offers[key] = offers.get(key, 0) + 1
        for t in r.decision.tracks:
            for v in t.verdicts:
                if t.chosen is not None and v.offer.id == t.chosen.id:
                    key = (v.offer.id, str(v.offer.position))
                    offers[key] = offers.get(key, 0) + 1
    return rules, offers
