"""`visitator rules ...` for several municipalities: golden cases and verification per
layer, shared layers in `rules check`, and `rules diff --kommune A --mod B`.

`add_kommune_commands(rules_sub)` hooks these into the `rules` subcommands that
service/cli/rules.py makes (one line at the end of its `add_commands`):
- `rules test` and `rules verify` without --kommune run the law layer alone and
  every municipality with a layer, and say which; with --kommune only that one
  (`--kommune lov`: the law layer alone). Which golden cases run where:
  engine.tools.kommuner (cases/*.yaml everywhere, cases/<kommune>/ only there).
  `rules verify` runs the original command once per layer, so its own options
  (--cores, --udsnit, --workers) keep working.
- `rules check` also checks each shared layer (regler/misbrug/faelles/) as a
  municipality that includes it would, so a shared layer no one includes yet is
  checked too.
- `rules diff --kommune A --mod B` compares two municipalities on the whole input
  space (engine.tools.kommuner); without --mod, diff is unchanged.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

from engine import RulesInvalid
from service.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Progress, data_dir, fail, rules_dir, table

Command = Callable[[argparse.Namespace], int]


def _targets(args: argparse.Namespace, folder: Path) -> tuple[list[str], Optional[str]]:
    """(layers to run, problem): --kommune alone, else the law layer and every municipality."""
    from engine.tools.kommuner import LAW, layers_in

    known = layers_in(folder)
    given = getattr(args, "kommune", None)
    if given:
        if given != LAW and given not in known:
            from engine.problems import suggest

            return [], (f"--kommune {given}: intet kommunelag med det navn i {folder / 'misbrug' / 'kommune'} "
                        f"(kendte: {', '.join(known) or 'ingen'}; '{LAW}' er lovlaget alene)" + suggest(given, known))
        return [given], None
    return [LAW, *known], None


def _engine(folder: Path, target: str, core: str) -> Any:
    from engine import Engine
    from engine.tools.kommuner import LAW
    from engine.versions import FileSnapshotStore

    return Engine(folder, kommune=None if target == LAW else target, core=core, store=FileSnapshotStore(data_dir() / "regelsaet"))


def _print_results(results: list[Any]) -> list[Any]:
    print(table([["ok" if r.passed else "FEJL", r.case.placering, r.case.navn] for r in results], ["Status", "Tilfælde", "Navn"]))
    failed = [r for r in results if not r.passed]
    for r in failed:
        print(f"\n{r.case.placering}: {r.case.navn}")
        for problem in r.problems:
            print(f"  - {problem}")
    return failed


def _print_coverage(eng: Any, results: list[Any]) -> None:
    from engine.tools.cases import coverage

    rule_hits, offer_hits = coverage(results)
    rows = [["regel", i.id, i.gyldig_fra.isoformat(), i.placering, str(rule_hits.get((i.id, i.gyldig_fra.isoformat()), 0))]
            for i in sorted((*eng.book.rules, *eng.book.rights), key=lambda r: (r.id, r.gyldig_fra)) if not i.afventer]
    rows += [["tilbud", o.id, o.gyldig_fra.isoformat(), o.placering, str(offer_hits.get((o.id, str(o.position)), 0))]
             for o in sorted(eng.book.offers, key=lambda o: (o.id, o.gyldig_fra))]
    print("\nDækning (antal tilfælde pr. regel og tilbud):")
    print(table(rows, ["Art", "Id", "Fra", "Kilde", "Tilfælde"]))


def cmd_test_kommuner(args: argparse.Namespace) -> int:
    """`rules test`: the golden cases under each layer (see engine.tools.kommuner for which run where)."""
    from engine.tools.cases import CaseFileInvalid, load_cases
    from engine.tools.kommuner import layer_label, layers_in, plan_cases, run_layer_cases

    folder = rules_dir(args)
    targets, problem = _targets(args, folder)
    if problem:
        return fail([problem])
    cases_dir = Path(args.cases)
    try:
        cases = load_cases(cases_dir)
    except CaseFileInvalid as error:
        return fail([str(p) for p in error.problems])
    plan = plan_cases(cases, cases_dir, targets, layers_in(folder))
    if plan.problems:
        return fail([str(p) for p in plan.problems])
    summary = []
    for target in targets:
        try:
            eng = _engine(folder, target, "durable")
        except RulesInvalid as error:
            return fail([str(p) for p in error.problems])
        label = layer_label(eng)
        print(f"\n== {label}: {len(plan.runs[target])} tilfælde")
        results = run_layer_cases(eng, plan.runs[target], plan)
        failed = _print_results(results)
        if getattr(args, "coverage", False):
            _print_coverage(eng, results)
        summary.append((label, len(results) - len(failed), len(failed)))
    print("\n" + table([[label, str(ok), str(bad)] for label, ok, bad in summary], ["Lag", "Bestået", "Fejlet"]))
    total_failed = sum(bad for _, _, bad in summary)
    print(f"\nKørt under: {', '.join(label for label, _, _ in summary)}")
    print(f"{sum(ok for _, ok, _ in summary)} bestået, {total_failed} fejlet")
    return EXIT_FAILED if total_failed else EXIT_OK


def _verify_each(original: Command) -> Command:
    """`rules verify`: the original command once per layer (its options, such as --cores, kept);
    with --out, one file per layer (`<navn>-<kommune>.yaml`)."""

    def cmd_verify_kommuner(args: argparse.Namespace) -> int:
        from engine.tools.kommuner import LAW

        folder = rules_dir(args, announce=False)
        targets, problem = _targets(args, folder)
        if problem:
            return fail([problem])
        codes: dict[str, int] = {}
        for target in targets:
            print(f"\n== {'lovlaget alene' if target == LAW else target}", flush=True)
            one = argparse.Namespace(**vars(args))
            one.kommune = None if target == LAW else target
            if getattr(args, "out", None) and len(targets) > 1:
                out = Path(args.out)
                one.out = str(out.with_name(f"{out.stem}-{target}{out.suffix}"))
            codes[target] = original(one)
        broken = [t for t, code in codes.items() if code != EXIT_OK]
        if broken:
            print(f"\nBrud eller fejl under: {', '.join(broken)}")
            return max(codes.values())
        print(f"\nIngen brud under {', '.join(targets)}: fuldstændighed, konflikt, monotoni (mindste indgreb), de lovmæssige "
              "invarianter og konsistensen holder.")
        return EXIT_OK

    cmd_verify_kommuner.kommuner = True  # type: ignore[attr-defined]
    return cmd_verify_kommuner


def check_shared_layers(folder: Path) -> list[Any]:
    """`rules check` findings for each shared layer, included by an otherwise empty municipality
    layer in a scratch copy of the folder (the positions name the real files)."""
    from engine.tools.check import check
    from engine.validate import FAELLES_DIR, shared_layers

    shared = shared_layers(folder / "misbrug")
    if not shared:
        return []
    findings: list[Any] = []
    scratch = Path(tempfile.mkdtemp(prefix="visitator-faelles-"))
    try:
        copy = scratch / folder.name
        shutil.copytree(folder, copy)
        for navn in shared:
            layer = copy / "misbrug" / "kommune" / f"_kontrol-{navn}.yaml"
            layer.write_text(f"regelsaet: misbrug\nlag: kommune\nkommune: Kontrol af det fælles lag {navn}\n"
                             f"beskrivelse: Midlertidigt lag, der kun inkluderer {FAELLES_DIR}/{navn}.yaml, så det kan kontrolleres.\n"
                             f"inkluder: [{navn}]\n", encoding="utf-8")
            findings += [f for f in check(copy / "misbrug", shown_root=scratch, law_dir=copy / "love", kommune=layer.stem)
                         if "_kontrol-" not in str(f.where)]
            layer.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return findings


def _check_with_shared(original: Command) -> Command:
    def cmd_check_kommuner(args: argparse.Namespace) -> int:
        code = original(args)
        if getattr(args, "kommune", None):
            return code
        from engine.problems import FEJL
        from engine.validate import shared_layers

        folder = rules_dir(args, announce=False)
        names = list(shared_layers(folder / "misbrug"))
        if not names:
            return code
        findings = check_shared_layers(folder)
        errors = sum(1 for f in findings if f.level == FEJL)
        print(f"\nFælles lag ({', '.join(names)}), kontrolleret som en kommune, der inkluderer dem, ville få dem:")
        for finding in findings:
            print(finding.with_level())
        print(f"{errors} fejl, {len(findings) - errors} advarsler")
        return EXIT_FAILED if errors else code

    return cmd_check_kommuner


def cmd_kommune_diff(args: argparse.Namespace) -> int:
    """`rules diff --kommune A --mod B`: who gets something else in A than in B, and why."""
    from engine.tools.kommuner import compare_kommuner, html_report, layers_in, markdown_report, terminal_text

    folder = rules_dir(args)
    a, b = getattr(args, "kommune", None), args.mod
    known = layers_in(folder)
    if not a:
        return fail(["angiv den første kommune med --kommune (fx --kommune herning --mod silkeborg)"])
    missing = [k for k in (a, b) if k not in known]
    if missing:
        return fail([f"intet kommunelag '{k}' i {folder / 'misbrug' / 'kommune'} (kendte: {', '.join(known) or 'ingen'})" for k in missing])
    if a == b:
        return fail(["--kommune og --mod er den samme kommune; vælg to forskellige"])
    try:
        comparison = compare_kommuner(folder, a, b, max_examples=args.examples, progress=Progress("sammenligner"))
    except RulesInvalid as error:
        return fail([str(p) for p in error.problems])
    print(terminal_text(comparison))
    if args.report:
        out = Path(args.report)
        out.write_text(html_report(comparison) if out.suffix.lower() in (".html", ".htm") else markdown_report(comparison), encoding="utf-8")
        print(f"\nRapport skrevet til {out}")
    return EXIT_OK


def add_kommune_diff(diff_parser: argparse.ArgumentParser) -> None:
    """`rules diff --kommune A --mod B`: adds --mod to the diff subcommand; --from is then not needed."""
    original: Command = diff_parser.get_default("func")
    if getattr(original, "kommune_diff", False):
        return
    diff_parser.add_argument("--mod", default=None, metavar="KOMMUNE",
                             help="sammenlign kommunen i --kommune med denne kommune på hele inputrummet (i stedet for --from/--to)")
    for action in diff_parser._actions:  # --from is required only when two rule sets (not two municipalities) are compared
        if action.dest == "from_":
            action.required = False

    def cmd_diff(args: argparse.Namespace) -> int:
        if args.mod:
            return cmd_kommune_diff(args)
        if not args.from_:
            return fail(["angiv --from (en git-revision eller en dato), eller --kommune A --mod B for at sammenligne to kommuner"],
                        EXIT_BAD_INPUT)
        return original(args)

    cmd_diff.kommune_diff = True  # type: ignore[attr-defined]
    diff_parser.set_defaults(func=cmd_diff)


def add_kommune_commands(rules_sub: argparse._SubParsersAction) -> None:
    """Hook the per-municipality behaviour into `rules verify`, `check` and `diff` (`rules test` is
    cmd_test_kommuner itself)
    (idempotent). Called once by service/cli/rules.py's `add_commands`."""
    commands = rules_sub.choices
    verify = commands.get("verify")
    if verify is not None and not getattr(verify.get_default("func"), "kommuner", False):
        verify.set_defaults(func=_verify_each(verify.get_default("func")))
    check = commands.get("check")
    if check is not None and not getattr(check.get_default("func"), "kommuner", False):
        wrapped = _check_with_shared(check.get_default("func"))
        wrapped.kommuner = True  # type: ignore[attr-defined]
        check.set_defaults(func=wrapped)
    if "diff" in commands:
        add_kommune_diff(commands["diff"])
