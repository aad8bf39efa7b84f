"""`visitator evaluate`: one screening from a file or standard input, decided on
every core, shown as a table with the Danish explanation (or the API body).

The screening passes the same validation boundary as the API, so the CLI
refuses exactly what the API refuses."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine import CoresDisagree, DateNotCovered, RulesInvalid, ScreeningInvalid, UnknownVersion
from engine.api import to_api
from engine.decision import Decision
from engine.explain import narrative
from engine.wording import SPOR_NAVN, dansk_dato, note_text
from service.cli.common import add_rules_option, engine, fail, table


def print_recommendation(d: Decision) -> None:
    v = d.version
    print(f"Regelsæt: {v.navn} version {v.version}" + (f" ({v.kommune})" if v.kommune else "") + f", sha256 {v.sha256[:16]}…")
    if v.kommune:
        print(f"Kommunelag: {v.kommune}, sha256 {(v.kommune_sha256 or '')[:16]}…")
    else:
        print("Kommunelag: intet (lovlaget alene); angiv --kommune for en kommunes lokale regler, fx --kommune herning")
    print()
    rows = [[SPOR_NAVN[t.spor], t.chosen.navn if t.chosen else "ingen egnet alternativ; faglig vurdering",
             "; ".join(r.short() for r in t.lovgrundlag) or "(retningslinje)"] for t in d.tracks]
    print(table(rows, ["Spor", "Anbefalet tilbud", "Lovgrundlag"]) if rows else "Ingen anbefalinger.")
    if d.preconditions:
        print("\nVed siden af behandlingen:")
        for p in d.preconditions:
            print(f"  {p.offer.navn}  {'; '.join(r.short() for r in p.lovgrundlag)}")
    if d.deadlines:
        print("\nFrister:")
        for x in d.deadlines:
            print(f"  senest {dansk_dato(x.dato)}  {x.beskrivelse}  ({x.citation.short()})")
    warnings = [note_text(n) for n in d.notes if n.art == "advarsel"]
    if warnings:
        print("\nAdvarsler:")
        for text in warnings:
            print(f"  ! {text}")
    print("\nForklaring:")
    for line in narrative(d).splitlines():
        print(f"  {line}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.screening == "-" else Path(args.screening).read_text(encoding="utf-8")
    except OSError as error:
        return fail([f"{args.screening}: kan ikke læses ({error.strerror})"])
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        return fail([f"{args.screening}:{error.lineno}:{error.colno}: ugyldig JSON: {error.msg}"])
    try:
        eng = engine(args, core="reference" if args.reference else "durable", announce=not args.json)
        screening = eng.parse(body)
        decision = eng.decide(screening, sha256=args.sha)
    except ScreeningInvalid as error:
        return fail([f"{p.felt}: {p.besked}" for p in error.problems])
    except RulesInvalid as error:
        return fail([str(p) for p in error.problems])
    except DateNotCovered as error:
        return fail([f"vurderingsdato: {error}"])
    except UnknownVersion as error:
        return fail([f"--sha: {error}"])
    except CoresDisagree as error:
        return fail([f"motorens kerner er uenige ({', '.join(error.fields)}); intet resultat kan bruges"])
    if args.json:
        json.dump(to_api(decision, narrative(decision)), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print_recommendation(decision)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="vurder en screening (JSON-fil, eller - for standard input)")
    p.add_argument("screening")
    p.add_argument("--json", action="store_true", help="udskriv præcis API'ets svar (uden id og oprettet)")
    add_rules_option(p)
    p.add_argument("--sha", default=None, help="vurder under en bestemt, gemt version af regelsættet")
    p.add_argument("--reference", action="store_true", help="kun referenceevaluatoren (ellers sammenlignes durable-rules og reference)")
    p.set_defaults(func=cmd_evaluate)
