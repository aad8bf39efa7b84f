"""`visitator serve`, `visitator token create` and `visitator log verify`."""
from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from service.settings import DEFAULT_DB
from service.storage import ROLES, StorageError, open_storage


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from engine import RulesInvalid
    from service import logs
    from service.app import create_app
    from service.settings import Settings

    logs.setup(args.log_level.upper())
    try:
        storage = open_storage(args.db)
    except StorageError as error:
        print(f"--db: {error}", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and storage.count_tokens() == 0:
        print(
            f"Nægter at lytte på {args.host}: der findes ingen adgangsnøgler. "
            f"Opret en med 'visitator token create --role visitator --db {args.db}', eller lyt på 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    try:
        app = create_app(Settings(db_url=args.db, rules_dir=args.rules), storage=storage)
    except RulesInvalid as error:
        print("Regelfilerne er ugyldige; tjenesten starter ikke:", file=sys.stderr)
        for problem in error.problems:
            print(str(problem), file=sys.stderr)
        return 2
    except StorageError as error:
        print(str(error), file=sys.stderr)
        return 2
    if storage.count_tokens() == 0:
        logs.event("ingen adgangsnøgler endnu: alle kald afvises med 401, til en nøgle er oprettet", 30, haendelse="ingen_noegler")
    config = dict(host=args.host, port=args.port, log_config=logs.log_config(args.log_level.upper()), access_log=False,
                  timeout_graceful_shutdown=5)
    if args.workers > 1:
        # One engine per process (durable-rules is not thread-safe; scale with processes).
        # The rule files were validated above; each worker builds its app from the environment.
        import os

        os.environ["VISITATOR_DB"] = args.db
        if args.rules is not None:
            os.environ["VISITATOR_RULES"] = str(args.rules)
        storage.close()
        uvicorn.run("service.app:create_app", factory=True, workers=args.workers, **config)
    else:
        uvicorn.run(app, **config)
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from service.auth import create_token

    try:
        storage = open_storage(args.db)
        token = create_token(storage, args.role, args.navn)
    except StorageError as error:
        print(str(error), file=sys.stderr)
        return 2
    finally:
        pass
    print(token)
    return 0


def cmd_log_verify(args: argparse.Namespace) -> int:
    try:
        storage = open_storage(args.db)
    except StorageError as error:
        print(str(error), file=sys.stderr)
        return 2
    report = storage.verify_chain()
    if report.intakt:
        head = f"hoved: post {report.hoved_seq}, hash {report.hoved_hash}" if report.hoved_seq else "loggen er tom"
        print(f"Beslutningsloggen er intakt: {report.antal} poster ({head}).")
        return 0
    finding = report.foerste_fejl
    assert finding is not None
    print(f"Beslutningsloggen er IKKE intakt: {finding.besked} [{finding.art}, post {finding.seq}]", file=sys.stderr)
    return 1


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="start HTTP-tjenesten (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", default=DEFAULT_DB, help=f"database-URL (standard: {DEFAULT_DB})")
    serve.add_argument("--rules", type=Path, default=None, help="mappen med regelfiler (standard: regler/)")
    serve.add_argument("--workers", type=int, default=1, help="antal arbejdsprocesser (hver med sin egen motor)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="adgangsnøgler til HTTP-tjenesten")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="opret en nøgle; udskriver kun nøglen (kun dens sha256 gemmes)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--db", default=DEFAULT_DB)
    create.add_argument("--navn", default=None, help="valgfri beskrivelse af, hvem nøglen er til")
    create.set_defaults(func=cmd_token_create)

    logp = sub.add_parser("log", help="beslutningsloggen")
    log_sub = logp.add_subparsers(dest="log_command", required=True)
    verify = log_sub.add_parser("verify", help="kontrollér hele hash-kæden (exit 0 intakt, 1 ikke intakt)")
    verify.add_argument("--db", default=DEFAULT_DB)
    verify.set_defaults(func=cmd_log_verify)
