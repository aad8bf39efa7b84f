"""Golden cases: YAML files in `cases/` that state "this screening, on this date,
gives these tracks, categories, legal bases and deadlines".

Policy staff write them; `visitator rules test` and pytest run them through the
engine. This module reads and checks cases; it does not evaluate rules itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional

from engine.load import PosDict, PosList, load_yaml_file
from engine.screening import ScreeningInvalid
from engine.versions import DateNotCovered

_LEGAL = re.compile(r"^(SEL|SUL|BL|TBL) § (\d+(?: [a-z])?)(?:, stk\. (\S+))?$")

_CASE_KEYS = {"navn", "beskrivelse", "screening", "forventet"}
_EXPECT_KEYS = {"spor", "frister", "advarsel_indeholder", "oplysning_indeholder", "regler", "ikke_regler", "version", "fejl"}
_TRACK_KEYS = {"kategori", "tilbud", "lovgrundlag"}


def parse_legal(text: str) -> tuple[str, str, Optional[str]]:
    """'SEL § 101, stk. 4' -> ('SEL', '101', '4')."""
    match = _LEGAL.match(str(text).strip())
    if not match:
        raise ValueError(f"lovhenvisning '{text}' skal skrives som fx 'SEL § 101, stk. 4' eller 'SUL § 142'")
    return match.group(1), match.group(2), match.group(3)


def legal_text(ref: dict[str, Any]) -> str:
    return f"{ref['lov']} § {ref['paragraf']}" + (f", stk. {ref['stk']}" if ref.get("stk") else "")


@dataclass
class GoldenCase:
    navn: str
    fil: str
    linje: int
    screening: dict[str, Any]
    forventet: dict[str, Any]
    beskrivelse: str = ""

    @property
    def placering(self) -> str:
        return f"{self.fil}:{self.linje}"


@dataclass
class CaseResult:
    case: GoldenCase
    problems: list[str] = field(default_factory=list)
    response: Optional[dict[str, Any]] = None

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


class CaseFileInvalid(Exception):
    pass


def load_cases(cases_dir: Path) -> list[GoldenCase]:
    cases: list[GoldenCase] = []
    problems: list[str] = []
    for path in sorted(cases_dir.rglob("*.yaml")):
        shown = path.relative_to(cases_dir.parent).as_posix() if cases_dir.parent in path.parents else path.as_posix()
        data, load_problems = load_yaml_file(path, shown)
        problems.extend(str(p) for p in load_problems)
        if load_problems:
            continue
        if not isinstance(data, PosDict) or not isinstance(data.get("tilfaelde"), PosList):
            problems.append(f"{shown}:1:1: filen skal have en liste 'tilfaelde'")
            continue
        items = data["tilfaelde"]
        for i, raw in enumerate(items):
            where = items.item_pos[i]
            if not isinstance(raw, dict):
                problems.append(f"{where}: et tilfælde skal være en blok med navn, screening og forventet")
                continue
            unknown = set(raw) - _CASE_KEYS
            missing = {"navn", "screening", "forventet"} - set(raw)
            if unknown or missing:
                problems.append(f"{where}: " + "; ".join([f"ukendt nøgle '{k}'" for k in sorted(unknown)] + [f"mangler '{k}'" for k in sorted(missing)]))
                continue
            expect = raw["forventet"] or {}
            bad = set(expect) - _EXPECT_KEYS
            for spor, track in (expect.get("spor") or {}).items():
                bad |= {f"spor.{spor}.{k}" for k in set(track or {}) - _TRACK_KEYS}
            if bad:
                problems.append(f"{where}: ukendte nøgler under forventet: {', '.join(sorted(bad))}")
                continue
            cases.append(GoldenCase(str(raw["navn"]), shown, where.line, _plain(dict(raw["screening"])), _plain(dict(expect)), str(raw.get("beskrivelse", ""))))
    if problems:
        raise CaseFileInvalid("\n".join(problems))
    return cases


def check_case(engine: Any, case: GoldenCase) -> CaseResult:
    result = CaseResult(case)
    expect = case.forventet
    try:
        response = engine.evaluate(case.screening)
    except ScreeningInvalid as error:
        fields = sorted({p.felt for p in error.problems})
        if expect.get("fejl") not in fields:
            result.problems.append(f"uventet valideringsfejl: {error}")
        return result
    except DateNotCovered as error:
        if expect.get("fejl") != "vurderingsdato":
            result.problems.append(f"uventet fejl: {error}")
        return result
    result.response = response
    if "fejl" in expect:
        result.problems.append(f"forventede en fejl i '{expect['fejl']}', men fik en anbefaling")
        return result
    got_tracks = {a["spor"]: a for a in response["anbefalinger"]}
    want_tracks = expect.get("spor") or {}
    if set(got_tracks) != set(want_tracks):
        result.problems.append(f"spor: forventet {sorted(want_tracks)}, fik {sorted(got_tracks)}")
    for spor, want in want_tracks.items():
        got = got_tracks.get(spor)
        if got is None:
            continue
        want = want or {}
        if "kategori" in want and got["tilbud"]["kategori"] != want["kategori"]:
            result.problems.append(f"{spor}: kategori forventet {want['kategori']}, fik {got['tilbud']['kategori']}")
        if "tilbud" in want and got["tilbud"]["id"] != want["tilbud"]:
            result.problems.append(f"{spor}: tilbud forventet {want['tilbud']}, fik {got['tilbud']['id']}")
        if "lovgrundlag" in want:
            want_legal = {parse_legal(x) for x in want["lovgrundlag"] or []}
            got_legal = {(r["lov"], r["paragraf"], r["stk"]) for r in got["lovgrundlag"]}
            if want_legal != got_legal:
                result.problems.append(
                    f"{spor}: lovgrundlag forventet [{', '.join(sorted(legal_text(dict(zip(('lov', 'paragraf', 'stk'), x))) for x in want_legal))}], "
                    f"fik [{', '.join(legal_text(r) for r in got['lovgrundlag'])}]"
                )
    want_deadlines = {(d["type"], str(d["dato"]), parse_legal(d["lovgrundlag"])) for d in expect.get("frister") or []}
    got_deadlines = {(d["type"], d["dato"], (d["lovgrundlag"]["lov"], d["lovgrundlag"]["paragraf"], d["lovgrundlag"]["stk"])) for d in response["frister"]}
    if want_deadlines != got_deadlines:
        show = lambda ds: ", ".join(f"{t} {d} {legal_text(dict(zip(('lov', 'paragraf', 'stk'), l)))}" for t, d, l in sorted(ds))  # noqa: E731
        result.problems.append(f"frister: forventet [{show(want_deadlines)}], fik [{show(got_deadlines)}]")
    for key, got_texts in (("advarsel_indeholder", response["advarsler"]), ("oplysning_indeholder", response["oplysninger"])):
        for text in expect.get(key) or []:
            if not any(text in t for t in got_texts):
                result.problems.append(f"{key}: ingen tekst indeholder '{text}'")
    applied = {r["id"] for r in response["forklaring"]["regler"] if r["anvendt"]}
    for rule_id in expect.get("regler") or []:
        if rule_id not in applied:
            result.problems.append(f"reglen '{rule_id}' blev ikke anvendt")
    for rule_id in expect.get("ikke_regler") or []:
        if rule_id in applied:
            result.problems.append(f"reglen '{rule_id}' blev anvendt, men skulle ikke")
    if "version" in expect and response["regelsaet"]["version"] != str(expect["version"]):
        result.problems.append(f"version forventet {expect['version']}, fik {response['regelsaet']['version']}")
    return result


def run_cases(engine: Any, cases: list[GoldenCase]) -> list[CaseResult]:
    return [check_case(engine, case) for case in cases]


def coverage(results: list[CaseResult]) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """How many cases applied each rule (id, gyldig_fra) and chose each offer."""
    rules: dict[tuple[str, str], int] = {}
    offers: dict[tuple[str, str], int] = {}
    for r in results:
        if r.response is None:
            continue
        for entry in r.response["forklaring"]["regler"]:
            key = (entry["id"], entry["gyldig_fra"])
            rules[key] = rules.get(key, 0) + 1
        for track in r.response["forklaring"]["spor"]:
            if track["valgt"]:
                chosen = next(t for t in track["tilbud"] if t["id"] == track["valgt"])
                key = (chosen["id"], chosen["kilde"])
                offers[key] = offers.get(key, 0) + 1
    return rules, offers
