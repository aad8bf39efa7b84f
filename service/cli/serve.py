"""`visitator serve`: the HTTP service under uvicorn.

On a first start on loopback with no access token yet, a token for the local
user is created and a login link printed (as notebook servers do), so the
first command leads to a working page. A port already in use ends the command
with one line and no start-up log."""
from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from pathlib import Path

from service.cli.common import fail
from service.settings import DEFAULT_KOMMUNE, Settings, resolve_db, resolve_rules_dir


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _first_start(store: object, host: str, port: int, kommune: str) -> None:
    token, info = store.create_token("visitator", kommune, "første start på denne maskine")  # type: ignore[attr-defined]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print("Der var ingen adgangsnøgler endnu; der er oprettet en til dig (rolle visitator, kommune "
          f"{kommune}, id {info.id}).")
    print(f"Log ind her:  http://{shown}:{port}/log-ind?noegle={token}")
    print(f"Nøglen til API'et (vises kun denne ene gang): {token}", flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from engine import RulesInvalid
    from service import logs
    from service.log import StoreError, open_store

    db = resolve_db(args.db)
    rules, how = resolve_rules_dir(args.rules)
    kommuner = tuple(k for k in (args.kommune or os.environ.get("VISITATOR_KOMMUNER", DEFAULT_KOMMUNE)).split(",") if k)
    if not port_free(args.host, args.port):
        return fail([f"Porten {args.port} på {args.host} er optaget; vælg en anden med --port."])
    logs.setup(args.log_level.upper())
    try:
        store = open_store(db)
    except StoreError as error:
        return fail([f"--db: {error}"])
    first_start = store.count_tokens() == 0
    if first_start and not is_loopback(args.host):
        return fail([f"Nægter at lytte på {args.host}: der findes ingen adgangsnøgler. Opret en med "
                     f"'visitator token create --role visitator --kommune {kommuner[0]}', eller lyt på 127.0.0.1."])
    public_url = args.public_url or os.environ.get("VISITATOR_PUBLIC_URL")
    retention = args.opbevaring or os.environ.get("VISITATOR_OPBEVARING")
    if retention:
        from service.log.retention import RetentionInvalid, load_retention

        try:
            load_retention(Path(retention))
        except RetentionInvalid as error:
            return fail(["Opbevaringsfilen er ugyldig; tjenesten starter ikke:", *error.problems])
    settings = Settings(db_url=db, rules_dir=rules, kommuner=kommuner, public_url=public_url,
                        opbevaring=Path(retention) if retention else None)
    print(f"Regler: {rules} ({how}); database: {db.split('@')[-1] if '@' in db else db}", flush=True)
    workers = args.workers or (os.cpu_count() or 1)
    config = dict(host=args.host, port=args.port, log_config=logs.log_config(args.log_level.upper()), access_log=False,
                  timeout_graceful_shutdown=5)
    if workers > 1:
        # One engine per process (durable-rules is not thread-safe; scale with processes). Each
        # worker builds its app from the environment; validate the rules once here first.
        try:
            from service.decisions import Engines

            Engines(settings, store)
        except RulesInvalid as error:
            return fail(["Regelfilerne er ugyldige; tjenesten starter ikke:", *(str(p) for p in error.problems)])
        if first_start:  # only once the rules are known to load: the link must lead to a working page
            _first_start(store, args.host, args.port, kommuner[0])
        store.close()
        os.environ.update(VISITATOR_DB=db, VISITATOR_RULES=str(rules), VISITATOR_KOMMUNER=",".join(kommuner))
        if public_url:
            os.environ["VISITATOR_PUBLIC_URL"] = public_url
        if retention:
            os.environ["VISITATOR_OPBEVARING"] = str(retention)
        uvicorn.run("service.app:create_app", factory=True, workers=workers, **config)
        return 0
    from service.app import create_app

    try:
        app = create_app(settings, store=store)
    except RulesInvalid as error:
        return fail(["Regelfilerne er ugyldige; tjenesten starter ikke:", *(str(p) for p in error.problems)])
    except StoreError as error:
        return fail([str(error)])
    if first_start:
        _first_start(store, args.host, args.port, kommuner[0])
    uvicorn.run(app, **config)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="start HTTP-tjenesten (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", default=None, help="database-URL (standard: VISITATOR_DB, ellers sqlite:///visitator.db)")
    serve.add_argument("--rules", type=Path, default=None, help="mappen med regelfiler (standard: VISITATOR_RULES, ./regler, de installerede)")
    serve.add_argument("--kommune", default=None, help="kommunerne, tjenesten betjener, kommasepareret (standard: VISITATOR_KOMMUNER)")
    serve.add_argument("--workers", type=int, default=None, help="antal arbejdsprocesser (standard: antal CPU'er)")
    serve.add_argument("--public-url", default=None, help="tjenestens offentlige adresse (https://... giver Secure-cookies)")
    serve.add_argument("--opbevaring", default=None,
                       help="opbevaringsfilen (standard: VISITATOR_OPBEVARING); vises i borgerens indsigt, anvendes af 'log opbevaring'")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=cmd_serve)
