"""The `visitator` command: a thin shell around the engine (and the service).

Exit codes: 0 success, 1 failed golden cases or checks, 2 bad input or a rule
set that cannot be used. Messages are Danish, one line per problem.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from engine import DateNotCovered, Engine, RulesInvalid, ScreeningInvalid, UnknownVersion, parse_screening
from engine.cases import CaseFileInvalid, coverage, legal_text, load_cases, run_cases
from engine.versions import FileSnapshotStore


def data_dir() -> Path:
    return Path(os.environ.get("VISITATOR_DATA") or Path.home() / ".local" / "share" / "visitator")


def default_cases_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "cases"


def _engine(args: argparse.Namespace, core: str = "durable") -> Engine:
    return Engine(args.rules, core=core, store=FileSnapshotStore(data_dir() / "regelsaet"))


def _fail(lines: Sequence[str], code: int = 2) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return code


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(line.rstrip() for line in out)


def print_recommendation(response: dict[str, Any]) -> None:
    rs = response["regelsaet"]
    print(f"Regelsæt: {rs['navn']} version {rs['version']} (sha256 {rs['sha256'][:16]}…)")
    print()
    rows = [
        [a["spor"], a["tilbud"]["navn"], a["tilbud"]["kategori"], str(a["tilbud"]["indgrebsniveau"]), "; ".join(legal_text(r) for r in a["lovgrundlag"]) or "(retningslinje)"]
        for a in response["anbefalinger"]
    ]
    if rows:
        print(_table(rows, ["Spor", "Anbefalet tilbud", "Kategori", "Niveau", "Lovgrundlag"]))
    else:
        print("Ingen anbefalinger.")
    if response["frister"]:
        print("\nFrister:")
        for d in response["frister"]:
            print(f"  {d['dato']}  {d['type']}  {legal_text(d['lovgrundlag'])}")
    if response["advarsler"]:
        print("\nAdvarsler:")
        for text in response["advarsler"]:
            print(f"  ! {text}")
    print("\nForklaring:")
    for line in response["forklaring"]["tekst"].splitlines():
        print(f"  {line}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    path = Path(args.screening)
    try:
        text = sys.stdin.read() if args.screening == "-" else path.read_text(encoding="utf-8")
    except OSError as error:
        return _fail([f"{args.screening}: kan ikke læses ({error.strerror})"])
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        return _fail([f"{args.screening}:{error.lineno}:{error.colno}: ugyldig JSON: {error.msg}"])
    try:
        screening = parse_screening(body)
    except ScreeningInvalid as error:
        return _fail([f"{p.felt}: {p.besked}" for p in error.problems])
    try:
        engine = _engine(args, core="reference" if args.reference else "durable")
        response = engine.evaluate(screening, sha256=args.sha)
    except RulesInvalid as error:
        return _fail([str(p) for p in error.problems])
    except DateNotCovered as error:
        return _fail([f"vurderingsdato: {error}"])
    except UnknownVersion as error:
        return _fail([f"--sha: {error}"])
    if args.json:
        json.dump(response, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print_recommendation(response)
    return 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    try:
        engine = _engine(args)
        cases = load_cases(Path(args.cases))
    except RulesInvalid as error:
        return _fail([str(p) for p in error.problems])
    except CaseFileInvalid as error:
        return _fail(str(error).splitlines())
    results = run_cases(engine, cases)
    rows = []
    for r in results:
        status = "ok" if r.passed else "FEJL"
        rows.append([status, r.case.placering, r.case.navn])
    print(_table(rows, ["Status", "Tilfælde", "Navn"]))
    failed = [r for r in results if not r.passed]
    for r in failed:
        print(f"\n{r.case.placering}: {r.case.navn}")
        for problem in r.problems:
            print(f"  - {problem}")
    if args.coverage:
        print_coverage(engine, results)
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def print_coverage(engine: Engine, results: list[Any]) -> None:
    rule_hits, offer_hits = coverage(results)
    print("\nDækning (antal tilfælde pr. regel og tilbud):")
    rows = []
    for rule in sorted(engine.book.rules, key=lambda r: (r.id, r.gyldig_fra)):
        if rule.afventer:
            continue
        rows.append(["regel", rule.id, rule.gyldig_fra.isoformat(), rule.placering, str(rule_hits.get((rule.id, rule.gyldig_fra.isoformat()), 0))])
    for offer in sorted(engine.book.offers, key=lambda o: (o.id, o.gyldig_fra)):
        rows.append(["tilbud", offer.id, offer.gyldig_fra.isoformat(), offer.placering, str(offer_hits.get((offer.id, offer.placering), 0))])
    print(_table(rows, ["Art", "Id", "Fra", "Kilde", "Tilfælde"]))
    never = [r for r in rows if r[4] == "0"]
    if never:
        print("\nAldrig afprøvet af et tilfælde:")
        for r in never:
            print(f"  {r[0]} {r[1]} ({r[2]}, {r[3]})")


def cmd_rules_versions(args: argparse.Namespace) -> int:
    try:
        engine = _engine(args)
    except RulesInvalid as error:
        return _fail([str(p) for p in error.problems])
    today = engine.today()
    rows = [[v.version, v.gyldig_til.isoformat() if v.gyldig_til else "", v.status(today), str(len(v.rules)), str(len(v.offers)), v.sha256[:16]] for v in engine.versions()]
    print(_table(rows, ["Version", "Gyldig til", "Status", "Regler", "Tilbud", "sha256"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visitator", description="Regelmotor for visitation efter mindste indgrebs princip.")
    sub = parser.add_subparsers(dest="command", required=True)

    evaluate = sub.add_parser("evaluate", help="vurder en screening (JSON-fil, eller - for standard input)")
    evaluate.add_argument("screening")
    evaluate.add_argument("--json", action="store_true", help="udskriv præcis API'ets svar")
    evaluate.add_argument("--rules", type=Path, default=None, help="mappen med regelfiler (standard: regler/)")
    evaluate.add_argument("--sha", default=None, help="vurder under en bestemt, gemt version af regelsættet")
    evaluate.add_argument("--reference", action="store_true", help="brug referenceevaluatoren i stedet for durable-rules")
    evaluate.set_defaults(func=cmd_evaluate)

    rules = sub.add_parser("rules", help="værktøjer til regelfilerne")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    test = rules_sub.add_parser("test", help="kør de gyldne tilfælde i cases/")
    test.add_argument("--cases", type=Path, default=default_cases_dir())
    test.add_argument("--rules", type=Path, default=None)
    test.add_argument("--coverage", action="store_true", help="vis hvor mange tilfælde der afprøver hver regel og hvert tilbud")
    test.set_defaults(func=cmd_rules_test)
    versions = rules_sub.add_parser("versions", help="vis regelsættets versioner")
    versions.add_argument("--rules", type=Path, default=None)
    versions.set_defaults(func=cmd_rules_versions)

    try:
        from service import commands  # the HTTP service's commands, when installed
    except ImportError:
        commands = None  # type: ignore[assignment]
    if commands is not None:
        commands.add_commands(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
