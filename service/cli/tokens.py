"""`visitator token create|list|revoke`: access tokens, one role and one municipality each.

Only a token's sha256 is stored; creation and revocation are events in the
municipality's hash chain, and a revoked token stops working at once in every
process."""
from __future__ import annotations

import argparse
import os
import re
import sys

from service.auth import ROLES
from service.cli.common import fail, table
from service.settings import SHIPPED_KOMMUNER, parse_kommuner, resolve_db

_KOMMUNE = re.compile(r"^[a-z0-9æøå][a-z0-9æøå-]*$")


def _kommune_problem(kommune: str) -> tuple[str, str]:
    """(error, warning) for a token's municipality: the name must be a layer's file name; one
    the configured deployment (VISITATOR_KOMMUNER, else the shipped four) does not serve is warned about."""
    from engine.problems import suggest

    if not _KOMMUNE.fullmatch(kommune):
        return f"--kommune: ugyldig kommune {kommune[:40]!r}: brug kommunelagets filnavn med små bogstaver (fx 'herning')", ""
    served = parse_kommuner(os.environ.get("VISITATOR_KOMMUNER"))
    if kommune in served:
        return "", ""
    return "", (f"advarsel: '{kommune}' er ikke blandt de kommuner, tjenesten betjener ({', '.join(served)}); en tjeneste, der ikke "
                "betjener kommunen, afviser nøglen" + suggest(kommune, served))


def _store(args: argparse.Namespace) -> object:
    from service.log import open_store

    return open_store(resolve_db(args.db))


def cmd_create(args: argparse.Namespace) -> int:
    from service.log import StoreError

    kommune = args.kommune or parse_kommuner(os.environ.get("VISITATOR_KOMMUNER"))[0]
    error_text, warning = _kommune_problem(kommune)
    if error_text:
        return fail([error_text])
    try:
        store = _store(args)
        token, info = store.create_token(args.role, kommune, args.navn)  # type: ignore[attr-defined]
    except StoreError as error:
        return fail([str(error)])
    print(token)
    # Only the token goes to standard output (scripts capture it); what it belongs to goes beside it.
    print(f"Nøglen har id {info.id}, rollen {args.role} og hører til kommunen {kommune}.", file=sys.stderr)
    if warning:
        print(warning, file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from service.log import StoreError

    try:
        tokens = _store(args).list_tokens(args.kommune)  # type: ignore[attr-defined]
    except StoreError as error:
        return fail([str(error)])
    rows = [[t.id, t.rolle, t.kommune, t.navn or "", t.oprettet, t.tilbagekaldt or ""] for t in tokens]
    print(table(rows, ["Id", "Rolle", "Kommune", "Navn", "Oprettet", "Tilbagekaldt"]) if rows else "Ingen adgangsnøgler.")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from service.log import NotFound, StoreError

    try:
        _store(args).revoke_token(args.kommune, args.id)  # type: ignore[attr-defined]
    except NotFound:
        return fail([f"der findes ingen aktiv adgangsnøgle med id {args.id}"])
    except StoreError as error:
        return fail([str(error)])
    print(f"Adgangsnøglen {args.id} er tilbagekaldt; den virker ikke længere i nogen proces.")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    token = sub.add_parser("token", help="adgangsnøgler til HTTP-tjenesten")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="opret en nøgle; udskriver kun nøglen (kun dens sha256 gemmes)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--kommune", default=None,
                        help="kommunen, nøglen hører til: kommunelagets filnavn, fx herning (standard: den første i VISITATOR_KOMMUNER, "
                             f"ellers {SHIPPED_KOMMUNER[0]})")
    create.add_argument("--navn", default=None, help="valgfri beskrivelse af, hvem nøglen er til (aldrig et CPR-nummer)")
    create.set_defaults(func=cmd_create)
    lst = token_sub.add_parser("list", help="vis nøglerne (id, rolle, kommune; aldrig selve nøglen)")
    lst.add_argument("--kommune", default=None, help="kun nøglerne for denne kommune")
    lst.set_defaults(func=cmd_list)
    revoke = token_sub.add_parser("revoke", help="tilbagekald en nøgle med virkning med det samme")
    revoke.add_argument("id")
    revoke.add_argument("--kommune", default=None, help="kun en nøgle for denne kommune (en anden kommunes nøgle findes ikke)")
    revoke.set_defaults(func=cmd_revoke)
    for p in (create, lst, revoke):
        p.add_argument("--db", default=None, help="database-URL (standard: VISITATOR_DB, ellers sqlite:///visitator.db)")
