"""Redaction that the chain survives: the content of old decisions (and of their old afgørelser)
is removed together with the salt of its digests, their ids, dates, rule-set version and digests
stay, and a sletning event says who, when, why, how many and which seq range; plus a preview of
what would go, the list of sletning events, and the retention helper for a cron job."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import ColumnElement, Connection, Table, and_, func, or_, select, update

from service.log.append import Appender, utc_text
from service.log.backend import Database
from service.log.decisions import deletions as deletion_events
from service.log.schema import afgoerelser as AF
from service.log.schema import kaede
from service.log.schema import vurderinger as V
from service.log.store import Deletion, RedactionReport


def _due(kommune: str, cutoff: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    decisions = and_(V.c.kommune == kommune, V.c.oprettet < cutoff, V.c.slettet_af_seq.is_(None))
    afg = and_(AF.c.kommune == kommune, AF.c.oprettet < cutoff, AF.c.slettet_af_seq.is_(None),
               AF.c.vurdering_id.in_(select(V.c.id).where(V.c.kommune == kommune, V.c.oprettet < cutoff)))
    return decisions, afg


def _range(conn: Connection, table: Table, where: ColumnElement[bool]) -> tuple[int, Optional[int], Optional[int]]:
    count, low, high = conn.execute(select(func.count(), func.min(table.c.seq), func.max(table.c.seq)).where(where)).one()
    return int(count), low, high


def redact(db: Database, kommune: str, before: date, begrundelse: str, hvem: str, now: datetime) -> RedactionReport:
    """Remove the content of decisions logged before `before` (never on or after it)."""
    if not begrundelse.strip() or not hvem.strip():
        raise ValueError("angiv både en begrundelse og hvem der sletter")
    cutoff = before.isoformat()
    with db.write() as conn:
        chain = Appender(conn, db, kommune)  # locks the chain first: nothing is appended meanwhile
        decisions, afg = _due(kommune, cutoff)
        n_dec, lo_d, hi_d = _range(conn, V, decisions)
        n_afg, lo_a, hi_a = _range(conn, AF, afg)
        if n_dec + n_afg == 0:
            return RedactionReport(0, 0, None, None, None)
        first = min(s for s in (lo_d, lo_a) if s is not None)
        last = max(s for s in (hi_d, hi_a) if s is not None)
        meta = {"antal": n_dec, "antal_afgoerelser": n_afg, "seq_fra": int(first), "seq_til": int(last),
                "foer": cutoff, "begrundelse": begrundelse, "hvem": hvem}
        event, _ = chain.add("sletning", f"{kommune}:{first}-{last}", utc_text(now), meta, None)
        chain.close()
        conn.execute(update(V).where(decisions).values(screening=None, svar=None, salt=None, slettet_af_seq=event))
        conn.execute(update(AF).where(afg).values(begrundelse=None, salt=None, slettet_af_seq=event))
    return RedactionReport(n_dec, n_afg, int(first), int(last), event)


def preview(db: Database, kommune: str, before: date) -> RedactionReport:
    """What redact() would remove now (event_seq None): the same selection, read only."""
    decisions, afg = _due(kommune, before.isoformat())
    with db.read() as conn:
        n_dec, lo_d, hi_d = _range(conn, V, decisions)
        n_afg, lo_a, hi_a = _range(conn, AF, afg)
    if n_dec + n_afg == 0:
        return RedactionReport(0, 0, None, None, None)
    first = min(s for s in (lo_d, lo_a) if s is not None)
    last = max(s for s in (hi_d, hi_a) if s is not None)
    return RedactionReport(n_dec, n_afg, int(first), int(last), None)


def deletions(db: Database, kommune: str) -> list[Deletion]:
    """Every sletning event of the kommune's chain, oldest first (who, when, why, how many, which range)."""
    with db.read() as conn:
        seqs = [int(r[0]) for r in conn.execute(select(kaede.c.seq).where(kaede.c.kommune == kommune,
                                                                          kaede.c.art == "sletning").order_by(kaede.c.seq))]
        found = deletion_events(conn, kommune, seqs)
    return [found[s] for s in seqs if s in found]


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def due_for_redaction(db: Database, kommune: str, years_after_last_afgoerelse: int, today: date) -> date:
    """The `before` date for redact(): every decision logged before it, and its last afgørelse, is
    older than the retention period. A decision with a recent afgørelse holds the date back, so
    nothing still in use is removed (such records wait until that decision is due too)."""
    limit = _years_before(today, years_after_last_afgoerelse)
    text = limit.isoformat()
    with db.read() as conn:
        blocker = conn.execute(
            select(func.min(V.c.oprettet)).select_from(V.join(AF, and_(AF.c.kommune == V.c.kommune,
                                                                       AF.c.vurdering_id == V.c.id)))
            .where(V.c.kommune == kommune, V.c.oprettet < text, or_(AF.c.oprettet >= text, AF.c.dato >= text))
        ).scalar()
    if blocker:
        return min(limit, date.fromisoformat(str(blocker)[:10]))
    return limit
