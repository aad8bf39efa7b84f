"""`visitator rules ...`: the policy staff's tools on the rule folder - golden
cases, static checks, exhaustive verification, impact analysis and the list of
versions. Every command says on its first line which folder it used."""
from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from typing import Any, Optional

from engine import RulesInvalid
from engine.problems import FEJL
from engine.wording import STATUS_NAVN
from service.cli.common import Progress, add_rules_option, default_cases_dir, engine, fail, kommune_of, rules_dir, table
from service.cli.kommuner import cmd_test_kommuner


def cmd_versions(args: argparse.Namespace) -> int:
    try:
        eng = engine(args)
    except RulesInvalid as error:
        return fail([str(p) for p in error.problems])
    today = eng.today()
    rows = [[v.version, v.gyldig_til.isoformat() if v.gyldig_til else "", STATUS_NAVN[v.status(today)], str(len(v.rules)),
             str(len(v.offers)), v.sha256[:16]] for v in sorted(eng.versions(), key=lambda v: (v.gyldig_fra, v.afventer))]
    print(table(rows, ["Version", "Gyldig til", "Status", "Regler", "Tilbud", "sha256"]))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from engine.tools.verify import counterexamples_yaml, verify

    if args.udsnit is not None and not args.cores:
        return fail(["--udsnit bruges sammen med --cores"])
    if args.udsnit is not None and args.udsnit < 1:
        return fail(["--udsnit skal være et positivt antal punkter"])
    try:
        eng = engine(args, core="durable" if args.cores else "reference")
    except RulesInvalid as error:
        return fail([str(p) for p in error.problems])
    if args.cores:
        return _verify_cores(eng, args)
    report = verify(eng, workers=args.workers, limit=args.max_counterexamples, progress=Progress("verificerer"))
    print(table([[t.version, t.track, str(t.points), str(sum(t.counts.values()))] for t in report.tasks], ["Version", "Spor", "Punkter", "Brud"]))
    print(f"\n{report.points} punkter kontrolleret i {report.versions} versioner på {report.seconds:.1f} s med {report.workers} processer.")
    if not report.violations:
        print("Ingen brud på fuldstændighed, konflikt, monotoni (mindste indgreb), de lovmæssige invarianter eller konsistensen.")
        return 0
    print("Brud: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.violations.items())))
    text = counterexamples_yaml(report)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Modeksempler som gyldne tilfælde er skrevet til {args.out}")
    else:
        print("\nModeksempler (klar til at sætte ind i cases/):\n")
        print(text)
    return 1


def _verify_cores(eng: Any, args: argparse.Namespace) -> int:
    import yaml

    from engine.tools.verify import verify_cores

    report = verify_cores(eng, eng.cores, udsnit=args.udsnit, progress=Progress("sammenligner kernerne"))
    scope = f"{args.udsnit} punkter pr. version og spor" if args.udsnit else "hele inputrummet"
    print(f"Kerner: {', '.join(report.cores)}; {scope}: {report.points} punkter i {report.versions} versioner på {report.seconds:.1f} s.")
    if report.disagreement is None:
        print("Alle kerner er enige om, hvilke blokke der gælder, i hvert punkt (og dermed om hver afgørelse).")
        return 0
    print(f"Uenighed ({report.where}): {report.disagreement.message}")
    text = yaml.safe_dump({"tilfaelde": [report.disagreement.as_case()]}, allow_unicode=True, sort_keys=False)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Modeksemplet som gyldent tilfælde er skrevet til {args.out}")
    else:
        print("\nModeksempel (klar til at sætte ind i cases/):\n")
        print(text)
    return 1


def cmd_check(args: argparse.Namespace) -> int:
    from engine.tools.check import check_layers

    folder = rules_dir(args)
    layers = sorted(p.stem for p in (folder / "misbrug" / "kommune").glob("*.yaml"))
    kommuner: list[Optional[str]] = [args.kommune] if args.kommune else (list(layers) or [None])
    findings = check_layers(folder / "misbrug", kommuner, shown_root=folder.parent, law_dir=folder / "love", progress=Progress("kontrollerer"))
    seen = set()
    for finding in findings:
        if str(finding) not in seen:
            seen.add(str(finding))
            print(finding.with_level())
    errors = len({str(f) for f in findings if f.level == FEJL})
    print(f"\n{errors} fejl, {len(seen) - errors} advarsler")
    return 1 if errors else 0


def _git_side(label: str, folder: Path, kommune: Any) -> Any:
    from engine.tools.diff import Side

    try:
        top = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise ValueError(f"'{label}' er hverken en dato (ÅÅÅÅ-MM-DD) eller en git-revision: {folder} er ikke i et git-arkiv") from None
    rel = folder.resolve().relative_to(Path(top).resolve()).as_posix()
    target = Path(tempfile.mkdtemp(prefix="visitator-diff-"))
    archive = subprocess.run(["git", "-C", top, "archive", label, rel], capture_output=True)
    if archive.returncode != 0:
        raise ValueError(f"git-revisionen '{label}' findes ikke eller har ingen {rel}/: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return Side(f"git {label}", target / rel, kommune=kommune)


def _side(label: str, folder: Path, kommune: Any) -> Any:
    from engine.tools.diff import Side

    if label in (".", "arbejdskopi"):
        return Side("filerne på disken", folder, kommune=kommune)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", label):
        try:
            return Side(f"regler i kraft {label}", folder, date.fromisoformat(label), kommune=kommune)
        except ValueError:
            raise ValueError(f"'{label}' er ikke en gyldig dato") from None
    return _git_side(label, folder, kommune)


def _db_screenings(url: str) -> list[str]:
    """Every stored screening as its JSON text (content removed under the retention rules is
    skipped), read as one column: the diff needs nothing else of a record."""
    from service.log import StoreError, open_store

    try:
        store = open_store(url, readonly=True)
    except StoreError as error:
        raise ValueError(f"--db: {error}") from None
    try:
        db = getattr(store, "db", None)
        if db is None:  # another store: its own iteration
            from service.log import Filters

            return [r.screening for k in store.kommuner() for r in store.iter_decisions(k, Filters()) if r.screening]
        from sqlalchemy import select

        from service.log.schema import vurderinger as V

        with db.read() as conn:
            return list(conn.execute(select(V.c.screening).where(V.c.screening.is_not(None)).order_by(V.c.kommune, V.c.seq)).scalars())
    finally:
        store.close()


def cmd_diff(args: argparse.Namespace) -> int:
    from engine.tools.cases import CaseFileInvalid, load_cases
    from engine.tools.diff import corpus_of_space, corpus_of_texts, diff, html_report, markdown_report, terminal_table
    from engine.visitation import Engine

    folder = rules_dir(args)
    kommune = kommune_of(args, folder)
    bodies: Any
    try:
        side_a, side_b = _side(args.from_, folder, kommune), _side(args.to, folder, kommune)
        # The stored screenings are validated (in worker processes) while the rules load.
        pending = corpus_of_texts(_db_screenings(args.db), wait=False) if args.db else None
        engine_b = Engine(side_b.rules_dir, kommune=kommune, core="reference")
        engine_a = engine_b if side_a.rules_dir == side_b.rules_dir else Engine(side_a.rules_dir, kommune=kommune, core="reference")
        if pending is not None:
            bodies, corpus = pending(), f"beslutningsloggen {args.db}"  # type: ignore[operator]
        elif args.space:
            days = [d for d in (side_a.pinned, side_b.pinned) if d] or [v.gyldig_fra for v in engine_b.versions() if not v.afventer]
            bodies, corpus = corpus_of_space(engine_b, days), "hele det genererede inputrum"
        else:
            cases = load_cases(Path(args.cases))
            bodies, corpus = [c.screening for c in cases if "fejl" not in c.forventet], f"de gyldne tilfælde i {args.cases}"
    except (RulesInvalid, CaseFileInvalid) as error:
        return fail([str(p) for p in error.problems])
    except ValueError as error:
        return fail([str(error)])
    report = diff(side_a, side_b, bodies, corpus, max_examples=args.examples, progress=Progress("sammenligner"),
                  engines=(engine_a, engine_b))
    print(terminal_table(report))
    if args.report:
        out = Path(args.report)
        out.write_text(html_report(report) if out.suffix.lower() in (".html", ".htm") else markdown_report(report), encoding="utf-8")
        print(f"\nRapport skrevet til {out}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    rules = sub.add_parser("rules", help="værktøjer til regelfilerne")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    test = rules_sub.add_parser("test", help="kør de gyldne tilfælde")
    test.add_argument("--cases", type=Path, default=default_cases_dir())
    test.add_argument("--coverage", action="store_true", help="vis hvor mange tilfælde der afprøver hver regel og hvert tilbud")
    verify = rules_sub.add_parser("verify", help="gennemprøv hele inputrummet for alle versioner")
    verify.add_argument("--workers", type=int, default=None, help="antal processer (standard: 2)")
    verify.add_argument("--max-counterexamples", type=int, default=5, help="højst så mange modeksempler pr. version og spor")
    verify.add_argument("--out", default=None, help="skriv modeksempler som gyldne tilfælde (YAML) til denne fil")
    verify.add_argument("--cores", action="store_true",
                        help="lad hver kerne (durable-rules, referencen og bulk-evaluatoren) beregne hvert punkt; den første uenighed "
                             "skrives som et gyldent tilfælde")
    verify.add_argument("--udsnit", type=int, default=None, metavar="N",
                        help="med --cores: kun N punkter pr. version og spor, jævnt fordelt (hele rummet med durable-rules tager minutter)")
    check = rules_sub.add_parser("check", help="statiske kontroller af regelfilerne (fil:linje for hvert fund)")
    diff_cmd = rules_sub.add_parser("diff", help="konsekvensanalyse: hvilke screeninger ændrer resultat fra A til B")
    diff_cmd.add_argument("--from", dest="from_", required=True, help="en git-revision (fx HEAD, main~1) eller en dato ÅÅÅÅ-MM-DD")
    diff_cmd.add_argument("--to", default=".", help="en git-revision, en dato, eller . for filerne på disken (standard)")
    corpus = diff_cmd.add_mutually_exclusive_group()
    corpus.add_argument("--cases", nargs="?", const=str(default_cases_dir()), default=str(default_cases_dir()), help="de gyldne tilfælde (standard)")
    corpus.add_argument("--space", action="store_true", help="hele det genererede inputrum")
    corpus.add_argument("--db", default=None, help="screeningerne i en beslutningslog (database-URL; læses kun)")
    diff_cmd.add_argument("--report", default=None, help="skriv en rapport (.md eller .html)")
    diff_cmd.add_argument("--examples", type=int, default=3, help="antal eksempler pr. art af ændring")
    versions = rules_sub.add_parser("versions", help="vis regelsættets versioner efter dato")
    for parser, func in ((test, cmd_test_kommuner), (verify, cmd_verify), (check, cmd_check), (diff_cmd, cmd_diff), (versions, cmd_versions)):
        add_rules_option(parser)
        parser.set_defaults(func=func)
    from service.cli.kommuner import add_kommune_commands

    add_kommune_commands(rules_sub)
