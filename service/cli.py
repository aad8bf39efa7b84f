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


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str):
        self.label = label
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_rules_verify(args: argparse.Namespace) -> int:
    from engine.verify import counterexamples_yaml, verify

    try:
        engine = Engine(args.rules, core="reference")
    except RulesInvalid as error:
        return _fail([str(p) for p in error.problems])
    report = verify(engine, workers=args.workers, limit=args.max_counterexamples, progress=Progress("verificerer"))
    rows = [[t.version, t.track, str(t.points), str(sum(t.counts.values()))] for t in report.tasks]
    print(_table(rows, ["Version", "Spor", "Punkter", "Brud"]))
    print(f"\n{report.points} punkter kontrolleret i {report.versions} versioner på {report.seconds:.1f} s med {report.workers} processer.")
    violations = report.violations
    if not violations:
        print("Ingen brud på fuldstændighed, konflikt, monotoni (mindste indgreb) eller de lovmæssige invarianter.")
        return 0
    print("Brud: " + ", ".join(f"{k}: {v}" for k, v in sorted(violations.items())))
    text = counterexamples_yaml(report)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Modeksempler som gyldne tilfælde er skrevet til {args.out}")
    else:
        print("\nModeksempler (klar til at sætte ind i cases/):\n")
        print(text)
    return 1


def cmd_rules_check(args: argparse.Namespace) -> int:
    from engine.check import FEJL, check
    from engine.visitation import DEFAULT_RULE_SET, default_rules_dir

    rules_dir = Path(args.rules) if args.rules else default_rules_dir()
    findings = check(rules_dir / DEFAULT_RULE_SET, shown_root=rules_dir.parent)
    for finding in findings:
        print(finding)
    errors = sum(1 for f in findings if f.niveau == FEJL)
    warnings = len(findings) - errors
    print(f"\n{errors} fejl, {warnings} advarsler")
    return 1 if errors else 0


def _git_side(label: str, rules_dir: Path):  # noqa: ANN202 - returns engine.diff.Side
    import subprocess
    import tempfile

    from engine.diff import Side

    try:
        top = subprocess.run(["git", "-C", str(rules_dir), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise ValueError(f"'{label}' er hverken en dato (ÅÅÅÅ-MM-DD) eller en git-revision: {rules_dir} er ikke i et git-arkiv") from None
    rel = rules_dir.resolve().relative_to(Path(top).resolve()).as_posix()
    target = Path(tempfile.mkdtemp(prefix="visitator-diff-"))
    archive = subprocess.run(["git", "-C", top, "archive", label, rel], capture_output=True)
    if archive.returncode != 0:
        raise ValueError(f"git-revisionen '{label}' findes ikke eller har ingen {rel}/: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return Side(f"git {label}", target / rel)


def _side(label: str, rules_dir: Path):  # noqa: ANN202
    import re
    from datetime import date as _date

    from engine.diff import Side

    if label in (".", "arbejdskopi"):
        return Side("filerne på disken", rules_dir)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", label):
        try:
            return Side(f"regler i kraft {label}", rules_dir, _date.fromisoformat(label))
        except ValueError:
            raise ValueError(f"'{label}' er ikke en gyldig dato") from None
    return _git_side(label, rules_dir)


def _db_screenings(url: str) -> list[dict[str, Any]]:
    import sqlite3

    if not url.startswith("sqlite:///"):
        raise ValueError("--db: kun sqlite:///sti understøttes her")
    path = Path(url[len("sqlite:///"):])
    if not path.exists():
        raise ValueError(f"--db: {path} findes ikke")
    # Read-only: an impact analysis never writes to the decision log.
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [json.loads(row[0]) for row in connection.execute("SELECT screening FROM vurderinger ORDER BY seq")]
    finally:
        connection.close()


def cmd_rules_diff(args: argparse.Namespace) -> int:
    from engine.diff import diff, html_report, markdown_report, space_corpus, terminal_table
    from engine.visitation import default_rules_dir

    rules_dir = Path(args.rules) if args.rules else default_rules_dir()
    try:
        side_a = _side(args.from_, rules_dir)
        side_b = _side(args.to, rules_dir)
        engine_b = Engine(side_b.rules_dir, core="reference")
        Engine(side_a.rules_dir, core="reference")
        if args.db:
            bodies, corpus = _db_screenings(args.db), f"beslutningsloggen {args.db}"
        elif args.space:
            days = [d for d in (side_a.pinned, side_b.pinned) if d] or [v.gyldig_fra for v in engine_b.versions() if not v.afventer]
            bodies, corpus = space_corpus(engine_b, days), "hele det genererede inputrum"
        else:
            cases = load_cases(Path(args.cases))
            bodies, corpus = [c.screening for c in cases if "fejl" not in c.forventet], f"de gyldne tilfælde i {args.cases}"
    except RulesInvalid as error:
        return _fail([str(p) for p in error.problems])
    except (ValueError, CaseFileInvalid) as error:
        return _fail([str(error)])
    report = diff(side_a, side_b, bodies, corpus, max_examples=args.examples, progress=Progress("sammenligner"))
    print(terminal_table(report))
    if args.report:
        out = Path(args.report)
        out.write_text(html_report(report) if out.suffix.lower() in (".html", ".htm") else markdown_report(report), encoding="utf-8")
        print(f"\nRapport skrevet til {out}")
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
    verify_cmd = rules_sub.add_parser("verify", help="gennemprøv hele inputrummet for alle versioner")
    verify_cmd.add_argument("--rules", type=Path, default=None)
    verify_cmd.add_argument("--workers", type=int, default=None, help="antal processer (standard: 2)")
    verify_cmd.add_argument("--max-counterexamples", type=int, default=5, help="højst så mange modeksempler pr. version og spor")
    verify_cmd.add_argument("--out", default=None, help="skriv modeksempler som gyldne tilfælde (YAML) til denne fil")
    verify_cmd.set_defaults(func=cmd_rules_verify)
    check_cmd = rules_sub.add_parser("check", help="statiske kontroller af regelfilerne (fil:linje for hvert fund)")
    check_cmd.add_argument("--rules", type=Path, default=None)
    check_cmd.set_defaults(func=cmd_rules_check)
    diff_cmd = rules_sub.add_parser("diff", help="konsekvensanalyse: hvilke screeninger ændrer resultat fra A til B")
    diff_cmd.add_argument("--from", dest="from_", required=True, help="en git-revision (fx HEAD, main~1) eller en dato ÅÅÅÅ-MM-DD")
    diff_cmd.add_argument("--to", default=".", help="en git-revision, en dato, eller . for filerne på disken (standard)")
    corpus = diff_cmd.add_mutually_exclusive_group()
    corpus.add_argument("--cases", nargs="?", const=str(default_cases_dir()), default=str(default_cases_dir()), help="de gyldne tilfælde (standard)")
    corpus.add_argument("--space", action="store_true", help="hele det genererede inputrum")
    corpus.add_argument("--db", default=None, help="screeningerne i en beslutningslog (sqlite:///sti; læses kun)")
    diff_cmd.add_argument("--report", default=None, help="skriv en rapport (.md eller .html)")
    diff_cmd.add_argument("--examples", type=int, default=3, help="antal eksempler pr. art af ændring")
    diff_cmd.add_argument("--rules", type=Path, default=None)
    diff_cmd.set_defaults(func=cmd_rules_diff)
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
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
