"""`visitator log verify|slet|opbevaring`: check a municipality's hash chain and access log (read-only),
remove the content of old decisions under the retention rules, and apply the retention file from cron.

verify: exit 0 intact, 1 not intact (names the first altered, deleted, inserted or reordered record,
or the first changed access-log entry), 2 when the database cannot be used (a mistyped path is
refused; nothing is ever created or written) or holds no record for the kommune (never "intakt"
about nothing). Records whose content was removed by a sletning event are reported as "slettet
efter reglerne" with that event; content removed without one is a finding.

slet and opbevaring: exit 0 (also when nothing was due), 2 for bad input or an unusable database or
retention file. Both print what they removed (how many, which seq range, the event's seq) and never
touch a record logged on or after the cut-off date."""
from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date
from typing import Any, Optional

from engine.wording import count
from service.cli.common import fail
from service.settings import resolve_db

DB_HELP = "database-URL (standard: VISITATOR_DB, ellers sqlite:///visitator.db)"


def _span(first: Optional[int], last: Optional[int]) -> str:
    if first is None:
        return "ingen poster"
    return f"post {first}" if first == last else f"post {first}-{last}"


def _removed_lines(store: Any, kommune: str, report: Any) -> list[str]:
    """One line per range of records whose content was removed lawfully, naming the event."""
    if not report.slettede:
        return []
    events = {d.event_seq: d for d in store.deletions(kommune)}
    lines = []
    for (first, last), event in report.slettede:
        d = events.get(event)
        about = f" ({d.oprettet}, {d.hvem}: {d.begrundelse})" if d is not None else ""
        lines.append(f"  {_span(first, last)}: slettet efter reglerne af sletningen i post {event}{about}")
    return lines


def cmd_verify(args: argparse.Namespace) -> int:
    """One municipality's chain (--kommune), or every municipality with records, each on its own."""
    from service.log import StoreError, open_store

    try:
        store = open_store(resolve_db(args.db), readonly=True)
    except StoreError as error:
        return fail([str(error)])
    try:
        kommuner = [args.kommune] if args.kommune else list(store.kommuner())
        if args.forvent_hoved and len(kommuner) > 1:
            return fail([f"--forvent-hoved hører til én kommunes kæde; angiv --kommune (kommuner med poster: {', '.join(kommuner)})"])
        if not kommuner:
            # Never "intakt" about nothing: an empty log, or one emptied by someone.
            return fail(["Beslutningsloggen har ingen poster for nogen kommune; der er intet at kontrollere."])
        if not args.kommune:
            print(f"Kontrollerer {count(len(kommuner), 'kommunes kæde', 'kommuners kæder')} hver for sig: {', '.join(kommuner)}.")
        codes = [_verify_one(store, kommune, args.forvent_hoved) for kommune in kommuner]
    finally:
        store.close()
    return max(codes)


def _verify_one(store: Any, kommune: str, forvent_hoved: Optional[str]) -> int:
    report = store.verify_chain(kommune)
    finding = report.foerste_fejl
    if report.intakt and report.antal == 0 and not forvent_hoved:
        # Never "intakt" about nothing: a mistyped --kommune, or a log emptied by someone.
        known = ", ".join(store.kommuner()) or "ingen"
        return fail([f"Beslutningsloggen har ingen poster for {kommune}; der er intet at kontrollere "
                     f"(kommuner med poster: {known}). Et eksporteret hoved (--forvent-hoved) viser, om poster er slettet."])
    if report.intakt and forvent_hoved:
        seq, _, digest = forvent_hoved.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            return fail(["--forvent-hoved: skriv SEQ:HASH, fx 1234:9f2c…"])
        finding = store.check_expected_head(kommune, int(seq), digest)
    removed = _removed_lines(store, kommune, report) if report.intakt and finding is None else []
    access = store.verify_access_log(kommune)
    if not (report.intakt and finding is None):
        assert finding is not None
        print(f"Beslutningsloggen for {kommune} er IKKE intakt: {finding.besked} [{finding.art}, post {finding.seq}]", file=sys.stderr)
        return 1
    head = f"hoved: post {report.hoved_seq}, hash {report.hoved_hash}" if report.hoved_seq else "loggen er tom"
    gone = sum(last - first + 1 for (first, last), _ in report.slettede)
    extra = f"; indholdet af {count(gone, 'post', 'poster')} er slettet efter reglerne" if removed else ""
    print(f"Beslutningsloggen for {kommune} er intakt: {report.antal} poster ({head}){extra}.")
    for line in removed:
        print(line)
    if not access.intakt:
        first = access.foerste_fejl
        where = f" [{first.art}, post {first.seq}]" if first is not None else ""
        print(f"Adgangsloggen for {kommune} er IKKE intakt: {first.besked if first else 'ukendt fejl'}{where}", file=sys.stderr)
        return 1
    print(f"Adgangsloggen for {kommune} er intakt: {count(access.antal, 'læsning', 'læsninger')}"
          + (f" (hoved: post {access.hoved_seq}, hash {access.hoved_hash})." if access.hoved_seq else "."))
    return 0


# --------------------------------------------------------------------------- redaction


def _who(args: argparse.Namespace) -> str:
    if args.hvem:
        return str(args.hvem)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "ukendt bruger"


def _free_text_problem(name: str, text: str) -> Optional[str]:
    from engine.screening import looks_like_cpr

    if not text.strip():
        return f"{name}: skriv en tekst (den står i loggen for altid)"
    if len(text) > 1000:
        return f"{name}: højst 1.000 tegn"
    if looks_like_cpr(text):
        return f"{name}: ligner et CPR-nummer; teksten står i loggen for altid og må ikke indeholde personoplysninger"
    return None


def _kommune(store: Any, given: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(kommune, problem): --kommune, else the only kommune with a chain (a deletion is never a guess)."""
    if given:
        return given, None
    known = store.kommuner()
    if len(known) == 1:
        return known[0], None
    return None, f"angiv --kommune (kommuner med poster: {', '.join(known) or 'ingen'})"


def _report_line(kommune: str, report: Any, before: date, dry_run: bool) -> str:
    if report.antal + report.antal_afgoerelser == 0:
        return f"{kommune}: intet at slette fra før {before.isoformat()}."
    what = f"indholdet af {count(report.antal, 'vurdering', 'vurderinger')} og {count(report.antal_afgoerelser, 'afgørelse', 'afgørelser')} " \
           f"fra før {before.isoformat()} " \
           f"({_span(report.seq_fra, report.seq_til)})"
    if dry_run:
        return f"{kommune}: ville slette {what}; intet er slettet (--dry-run)."
    return f"{kommune}: slettede {what}; sletningen er post {report.event_seq} i kæden."


def cmd_slet(args: argparse.Namespace) -> int:
    from service.log import StoreError, open_store

    try:
        before = date.fromisoformat(args.foer)
    except ValueError:
        return fail([f"--foer: skriv en dato på formen ÅÅÅÅ-MM-DD (fik '{args.foer[:20]}')"])
    if before > date.today():
        return fail(["--foer: datoen ligger efter i dag; slet kun det, der er gemt før en dato, der er gået"])
    who = _who(args)
    problems = [p for p in (_free_text_problem("--begrundelse", args.begrundelse), _free_text_problem("--hvem", who)) if p]
    if problems:
        return fail(problems)
    try:
        store = open_store(resolve_db(args.db), create=False)
    except StoreError as error:
        return fail([str(error)])
    try:
        kommune, problem = _kommune(store, args.kommune)
        if problem or kommune is None:
            return fail([problem or "angiv --kommune"])
        if args.dry_run:
            report = store.preview_redaction(kommune, before)
        else:
            report = store.redact(kommune, before, args.begrundelse.strip(), who)
    except (StoreError, ValueError) as error:
        return fail([str(error)])
    finally:
        store.close()
    print(_report_line(kommune, report, before, args.dry_run))
    return 0


def cmd_opbevaring(args: argparse.Namespace) -> int:
    from service.log import StoreError, open_store
    from service.log.retention import ENV, RetentionInvalid, config_path, load_retention

    path = config_path(args.config)
    if path is None:
        return fail([f"angiv opbevaringsfilen med --config eller {ENV}; projektet fastsætter ingen opbevaringsperiode"])
    try:
        config = load_retention(path)
    except RetentionInvalid as error:
        return fail(["Opbevaringsfilen er ugyldig; intet er slettet:", *error.problems])
    who = _who(args)
    problem = _free_text_problem("--hvem", who)
    if problem:
        return fail([problem])
    today = date.today()
    try:
        store = open_store(resolve_db(args.db), create=False)
    except StoreError as error:
        return fail([str(error)])
    lines = [f"Opbevaring efter {path} ({today.isoformat()}{', prøvekørsel' if args.dry_run else ''}):"]
    try:
        kommuner = [args.kommune] if args.kommune else sorted(set(store.kommuner()) | set(config.kommuner))
        for kommune in kommuner:
            rule = config.get(kommune)
            if rule is None:
                lines.append(f"{kommune}: ingen opbevaringsregel i {path.name}; intet slettet.")
                continue
            before = store.due_for_redaction(kommune, rule.aar, today)
            if args.dry_run:
                report = store.preview_redaction(kommune, before)
            else:
                report = store.redact(kommune, before, rule.begrundelse(), who)
            lines.append(_report_line(kommune, report, before, args.dry_run) + f" Regel: {rule.text()} ({rule.where}).")
    except (StoreError, ValueError) as error:
        for line in lines:
            print(line)
        return fail([str(error)])
    finally:
        store.close()
    for line in lines:
        print(line)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    logp = sub.add_parser("log", help="beslutningsloggen")
    log_sub = logp.add_subparsers(dest="log_command", required=True)
    verify = log_sub.add_parser("verify", help="kontrollér en kommunes hash-kæde og adgangslog (exit 0 intakt, 1 ikke intakt, 2 ubrugelig database)")
    verify.add_argument("--db", default=None, help=DB_HELP)
    verify.add_argument("--kommune", default=None, help="kun denne kommunes kæde (standard: hver kommune med poster, hver for sig)")
    verify.add_argument("--forvent-hoved", default=None, metavar="SEQ:HASH", help="et tidligere eksporteret hoved, som loggen stadig skal indeholde")
    verify.set_defaults(func=cmd_verify)

    slet = log_sub.add_parser("slet", help="slet indholdet af vurderinger (og deres afgørelser) gemt før en dato; kæden kan stadig kontrolleres")
    slet.add_argument("--foer", required=True, metavar="DATO", help="slet det, der er gemt før denne dato (ÅÅÅÅ-MM-DD); aldrig noget fra datoen eller senere")
    slet.add_argument("--begrundelse", required=True, help="hvorfor (står i kædens sletningshændelse for altid; aldrig personoplysninger)")
    slet.add_argument("--kommune", default=None, help="kommunen (standard: den eneste med poster i databasen)")
    slet.add_argument("--hvem", default=None, help="hvem der sletter (standard: brugeren, kommandoen køres som)")
    slet.add_argument("--dry-run", action="store_true", help="vis, hvad der ville blive slettet, uden at slette")
    slet.add_argument("--db", default=None, help=DB_HELP)
    slet.set_defaults(func=cmd_slet)

    keep = log_sub.add_parser("opbevaring", help="anvend opbevaringsfilen: slet indholdet af det, hvis opbevaringsperiode er udløbet (til cron)")
    keep.add_argument("--config", default=None, metavar="FIL", help="opbevaringsfilen (standard: VISITATOR_OPBEVARING)")
    keep.add_argument("--dry-run", action="store_true", help="vis, hvad der ville blive slettet, uden at slette")
    keep.add_argument("--kommune", default=None, help="kun denne kommune (standard: alle i databasen og i filen)")
    keep.add_argument("--hvem", default=None, help="hvem der sletter (standard: brugeren, kommandoen køres som)")
    keep.add_argument("--db", default=None, help=DB_HELP)
    keep.set_defaults(func=cmd_opbevaring)
