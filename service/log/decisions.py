"""Decisions and afgørelser: writing them as content rows plus chain entries, and reading,
listing, streaming and counting them (SQL aggregates) for one kommune at a time."""
from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import ColumnElement, Connection, and_, exists, func, insert, select
from sqlalchemy.orm import aliased

from service.log.append import Appender
from service.log.backend import Database
from service.log.chain import afgoerelse_digest, canonical_json, decision_digest, salted_sha256
from service.log.schema import afgoerelser as AF
from service.log.schema import anbefalinger as AN
from service.log.schema import kaede
from service.log.schema import vurderinger as V
from service.log.store import UDFALD, Deletion, Filters, NewAfgoerelse, NewDecision, Statistik, StoredAfgoerelse, StoredDecision

# --------------------------------------------------------------------------- writing


def new_salt() -> str:
    """A fresh random salt for one record's content digests (128 bits, hex; see chain.salted_sha256)."""
    return secrets.token_hex(16)


def _decision_rows(r: NewDecision, seq: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    recs = sorted(set(r.anbefalinger))
    salt = new_salt()
    row = {"id": r.id, "kommune": r.kommune, "seq": seq, "oprettet": r.oprettet, "token_id": r.token_id,
           "regelsaet_navn": r.regelsaet_navn, "regelsaet_version": r.regelsaet_version,
           "regelsaet_sha256": r.regelsaet_sha256, "motorformat": r.motorformat,
           "borger_reference_hmac": r.borger_reference_hmac, "henvendelsesdato": r.henvendelsesdato,
           "vurderingsdato": r.vurderingsdato, "screening": r.screening, "svar": r.svar,
           "screening_sha256": salted_sha256(salt, r.screening), "svar_sha256": salted_sha256(salt, r.svar),
           "slettet_af_seq": None, "salt": salt}
    recs_rows = [{"kommune": r.kommune, "seq": seq, "vurdering_id": r.id, "oprettet": r.oprettet, "spor": s,
                  "kategori": k, "tilbud_id": t} for s, k, t in recs]
    return row, recs_rows


def digest_of_decision(row: dict[str, Any], recs: Sequence[Sequence[object]]) -> str:
    return decision_digest(row["id"], row["kommune"], row["oprettet"], row["token_id"], row["regelsaet_navn"],
                           row["regelsaet_version"], row["regelsaet_sha256"], row["motorformat"],
                           row["borger_reference_hmac"], row["henvendelsesdato"], row["vurderingsdato"],
                           row["screening_sha256"], row["svar_sha256"], recs)


def insert_decisions(conn: Connection, db: Database, records: list[NewDecision]) -> list[tuple[int, str]]:
    """Content rows and one chain entry per record, every kommune's head moved once (one transaction)."""
    out: dict[int, tuple[int, str]] = {}
    by_kommune: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        by_kommune.setdefault(record.kommune, []).append(i)
    rows: list[dict[str, Any]] = []
    recs_rows: list[dict[str, Any]] = []
    for kommune in sorted(by_kommune):
        chain = Appender(conn, db, kommune)
        for i in by_kommune[kommune]:
            r = records[i]
            row, recs = _decision_rows(r, chain.seq + 1)
            digest = digest_of_decision(row, [(a["spor"], a["kategori"], a["tilbud_id"]) for a in recs])
            meta = {"regelsaet_sha256": r.regelsaet_sha256, "regelsaet_version": r.regelsaet_version,
                    "token_id": r.token_id, "motorformat": r.motorformat}
            out[i] = chain.add("vurdering", r.id, r.oprettet, meta, digest)
            rows.append(row)
            recs_rows.extend(recs)
        chain.close()
    conn.execute(insert(V), rows)
    if recs_rows:
        conn.execute(insert(AN), recs_rows)
    return [out[i] for i in range(len(records))]


def insert_afgoerelse(conn: Connection, db: Database, r: NewAfgoerelse) -> tuple[int, str]:
    if r.udfald not in UDFALD:
        raise ValueError(f"ukendt udfald '{r.udfald}'; tilladt: {', '.join(UDFALD)}")
    known = conn.execute(select(V.c.seq).where(V.c.kommune == r.kommune, V.c.id == r.vurdering_id)).first()
    if known is None:
        raise ValueError(f"vurderingen '{r.vurdering_id}' findes ikke")
    tilbud = canonical_json(dict(r.tilbud))
    salt = new_salt() if r.begrundelse is not None else None
    begrundelse_sha = salted_sha256(salt, r.begrundelse) if r.begrundelse is not None else None
    digest = afgoerelse_digest(r.id, r.kommune, r.vurdering_id, r.oprettet, r.token_id, r.udfald, tilbud,
                               begrundelse_sha, r.dato)
    chain = Appender(conn, db, r.kommune)
    seq, hash_ = chain.add("afgoerelse", r.id, r.oprettet,
                           {"vurdering_id": r.vurdering_id, "udfald": r.udfald, "token_id": r.token_id}, digest)
    chain.close()
    conn.execute(insert(AF).values(id=r.id, kommune=r.kommune, vurdering_id=r.vurdering_id, seq=seq,
                                   oprettet=r.oprettet, token_id=r.token_id, udfald=r.udfald, tilbud=tilbud,
                                   begrundelse=r.begrundelse, begrundelse_sha256=begrundelse_sha, dato=r.dato,
                                   slettet_af_seq=None, salt=salt))
    return seq, hash_


# --------------------------------------------------------------------------- reading


def _number(data: dict[str, Any], key: str) -> Optional[int]:
    value = data.get(key)
    return value if type(value) is int else None


def deletions(conn: Connection, kommune: str, event_seqs: Iterable[Optional[int]]) -> dict[int, Deletion]:
    """The sletning events by seq (their metadata says who, when and why)."""
    wanted = sorted({s for s in event_seqs if s is not None})
    if not wanted:
        return {}
    rows = conn.execute(select(kaede.c.seq, kaede.c.oprettet, kaede.c.metadata).where(
        kaede.c.kommune == kommune, kaede.c.art == "sletning", kaede.c.seq.in_(wanted)))
    out = {}
    for seq, oprettet, meta in rows:
        try:
            data = json.loads(meta)
        except (TypeError, ValueError):  # a changed event: verify_chain reports it; here it says what it can
            data = {}
        if not isinstance(data, dict):
            data = {}
        foer = data.get("foer")
        out[int(seq)] = Deletion(int(seq), oprettet, str(data.get("begrundelse", "")), str(data.get("hvem", "")),
                                 foer if isinstance(foer, str) else None, _number(data, "antal") or 0,
                                 _number(data, "antal_afgoerelser") or 0, _number(data, "seq_fra"), _number(data, "seq_til"))
    return out


def _afgoerelser_for(conn: Connection, kommune: str, ids: list[str]) -> dict[str, list[StoredAfgoerelse]]:
    if not ids:
        return {}
    rows = conn.execute(select(AF).where(AF.c.kommune == kommune, AF.c.vurdering_id.in_(ids)).order_by(AF.c.seq))
    rows_list = list(rows.mappings())
    gone = deletions(conn, kommune, (r["slettet_af_seq"] for r in rows_list))
    out: dict[str, list[StoredAfgoerelse]] = {}
    for r in rows_list:
        out.setdefault(r["vurdering_id"], []).append(StoredAfgoerelse(
            id=r["id"], kommune=r["kommune"], vurdering_id=r["vurdering_id"], seq=int(r["seq"]),
            oprettet=r["oprettet"], token_id=r["token_id"], udfald=r["udfald"], tilbud=json.loads(r["tilbud"]),
            begrundelse=r["begrundelse"], dato=r["dato"], slettet=gone.get(r["slettet_af_seq"] or -1)))
    return out


def hydrate(conn: Connection, kommune: str, rows: list[Any]) -> list[StoredDecision]:
    """StoredDecision objects for vurderinger rows, with their anbefalinger, afgørelser and deletion."""
    if not rows:
        return []
    seqs = [r["seq"] for r in rows]
    recs: dict[int, list[tuple[str, str, str]]] = {}
    for seq, spor, kategori, tilbud in conn.execute(
            select(AN.c.seq, AN.c.spor, AN.c.kategori, AN.c.tilbud_id)
            .where(AN.c.kommune == kommune, AN.c.seq.in_(seqs)).order_by(AN.c.seq, AN.c.spor, AN.c.kategori)):
        recs.setdefault(int(seq), []).append((spor, kategori, tilbud))
    afg = _afgoerelser_for(conn, kommune, [r["id"] for r in rows])
    gone = deletions(conn, kommune, (r["slettet_af_seq"] for r in rows))
    return [StoredDecision(
        id=r["id"], kommune=r["kommune"], seq=int(r["seq"]), oprettet=r["oprettet"], token_id=r["token_id"],
        regelsaet_navn=r["regelsaet_navn"], regelsaet_version=r["regelsaet_version"],
        regelsaet_sha256=r["regelsaet_sha256"], motorformat=int(r["motorformat"]),
        borger_reference_hmac=r["borger_reference_hmac"], henvendelsesdato=r["henvendelsesdato"],
        vurderingsdato=r["vurderingsdato"], anbefalinger=tuple(recs.get(int(r["seq"]), ())),
        screening=r["screening"], svar=r["svar"], slettet=gone.get(r["slettet_af_seq"] or -1),
        afgoerelser=tuple(afg.get(r["id"], ()))) for r in rows]


def get_decision(conn: Connection, kommune: str, id: str) -> Optional[StoredDecision]:
    row = conn.execute(select(V).where(V.c.kommune == kommune, V.c.id == id)).mappings().first()
    return hydrate(conn, kommune, [row])[0] if row else None


def afgoerelser(conn: Connection, kommune: str, vurdering_id: str) -> list[StoredAfgoerelse]:
    return _afgoerelser_for(conn, kommune, [vurdering_id]).get(vurdering_id, [])


def newest_afgoerelse_is(udfald: str) -> ColumnElement[bool]:
    """The decision's newest afgørelse has this udfald (a later afgørelse supersedes an earlier)."""
    later = aliased(AF)
    return exists(select(AF.c.seq).where(
        AF.c.kommune == V.c.kommune, AF.c.vurdering_id == V.c.id, AF.c.udfald == udfald,
        ~exists(select(later.c.seq).where(later.c.kommune == AF.c.kommune, later.c.vurdering_id == AF.c.vurdering_id,
                                          later.c.seq > AF.c.seq))))


def conditions(kommune: str, f: Filters) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = [V.c.kommune == kommune]
    if f.fra is not None:
        out.append(V.c.oprettet >= f.fra.isoformat())
    if f.til is not None:
        out.append(V.c.oprettet < (f.til + timedelta(days=1)).isoformat())
    if f.version is not None:
        out.append((V.c.regelsaet_sha256 if len(f.version) == 64 else V.c.regelsaet_version) == f.version)
    # The period is repeated inside the subquery (anbefalinger.oprettet is the decision's own), so the
    # (kommune, kategori|spor, oprettet, seq) index gives only the period's rows, not every match ever.
    period = [*([AN.c.oprettet >= f.fra.isoformat()] if f.fra is not None else []),
              *([AN.c.oprettet < (f.til + timedelta(days=1)).isoformat()] if f.til is not None else [])]
    for column, value in ((AN.c.kategori, f.kategori), (AN.c.spor, f.spor)):
        if value is not None:
            out.append(V.c.seq.in_(select(AN.c.seq).where(AN.c.kommune == kommune, column == value, *period)))
    if f.borger_reference_hmac is not None:
        out.append(V.c.borger_reference_hmac == f.borger_reference_hmac)
    if f.token_id is not None:
        out.append(V.c.token_id == f.token_id)
    if f.udfald is not None:
        out.append(newest_afgoerelse_is(f.udfald))
    return out


def list_decisions(conn: Connection, kommune: str, f: Filters, limit: int,
                   offset: int) -> tuple[int, list[StoredDecision]]:
    if f.kategori is not None or f.spor is not None:
        return _list_by_recommendation(conn, kommune, f, limit, offset)
    where = and_(*conditions(kommune, f))
    total = int(conn.execute(select(func.count()).select_from(V).where(where)).scalar_one())
    rows = list(conn.execute(select(V).where(where).order_by(V.c.oprettet.desc(), V.c.seq.desc())
                             .limit(limit).offset(offset)).mappings())
    return total, hydrate(conn, kommune, rows)


def _list_by_recommendation(conn: Connection, kommune: str, f: Filters, limit: int,
                            offset: int) -> tuple[int, list[StoredDecision]]:
    """A kategori or spor filter, driven from the anbefalinger index (kommune, kategori|spor, oprettet,
    seq): the count and the page read only that recommendation's rows in the period, newest first,
    instead of every decision of the period tested against every match."""
    column, value = (AN.c.kategori, f.kategori) if f.kategori is not None else (AN.c.spor, f.spor)
    rest = conditions(kommune, replace(f, kategori=None) if f.kategori is not None else replace(f, spor=None))
    period = [*([AN.c.oprettet >= f.fra.isoformat()] if f.fra is not None else []),
              *([AN.c.oprettet < (f.til + timedelta(days=1)).isoformat()] if f.til is not None else [])]
    others = replace(f, fra=None, til=None, kategori=None) if f.kategori is not None else replace(f, fra=None, til=None, spor=None)
    if others == Filters():  # the recommendation and the period alone: the index answers without the decisions table
        match = select(AN.c.seq, AN.c.oprettet).where(AN.c.kommune == kommune, column == value, *period).distinct()
    else:
        match = (select(AN.c.seq, AN.c.oprettet).select_from(AN.join(V, and_(V.c.kommune == AN.c.kommune, V.c.seq == AN.c.seq)))
                 .where(AN.c.kommune == kommune, column == value, *period, *rest).distinct())
    total = int(conn.execute(select(func.count()).select_from(match.subquery())).scalar_one())
    page = [int(seq) for seq, _ in conn.execute(match.order_by(AN.c.oprettet.desc(), AN.c.seq.desc()).limit(limit).offset(offset))]
    rows = list(conn.execute(select(V).where(V.c.kommune == kommune, V.c.seq.in_(page))
                             .order_by(V.c.oprettet.desc(), V.c.seq.desc())).mappings()) if page else []
    return total, hydrate(conn, kommune, rows)


def decisions_after(conn: Connection, kommune: str, f: Filters, after: int, batch: int) -> list[StoredDecision]:
    """One batch of the seq-ordered stream behind iter_decisions (keyset: seq > after)."""
    rows = list(conn.execute(select(V).where(and_(*conditions(kommune, f)), V.c.seq > after)
                             .order_by(V.c.seq).limit(batch)).mappings())
    return hydrate(conn, kommune, rows)


# --------------------------------------------------------------------------- statistics


def statistik(conn: Connection, kommune: str, fra: Optional[date], til: Optional[date]) -> Statistik:
    def period(column: Any) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if fra is not None:
            out.append(column >= fra.isoformat())
        if til is not None:
            out.append(column < (til + timedelta(days=1)).isoformat())
        return out

    month = func.substr(AN.c.oprettet, 1, 7).label("maaned")
    decisions = conn.execute(
        select(month, AN.c.spor, AN.c.kategori, func.count(func.distinct(AN.c.seq)))
        .where(AN.c.kommune == kommune, *period(AN.c.oprettet))
        .group_by(month, AN.c.spor, AN.c.kategori).order_by(month, AN.c.spor, AN.c.kategori)).all()
    later = aliased(AF)
    newest = ~exists(select(later.c.seq).where(later.c.kommune == AF.c.kommune,
                                               later.c.vurdering_id == AF.c.vurdering_id, later.c.seq > AF.c.seq))
    joined = AN.join(AF, and_(AF.c.kommune == AN.c.kommune, AF.c.vurdering_id == AN.c.vurdering_id))
    base = [AN.c.kommune == kommune, newest, *period(AN.c.oprettet)]
    by_track = conn.execute(select(month, AN.c.spor, AF.c.udfald, func.count()).select_from(joined).where(*base)
                            .group_by(month, AN.c.spor, AF.c.udfald).order_by(month, AN.c.spor, AF.c.udfald)).all()
    by_offer = conn.execute(select(month, AN.c.tilbud_id, AF.c.udfald, func.count()).select_from(joined).where(*base)
                            .group_by(month, AN.c.tilbud_id, AF.c.udfald)
                            .order_by(month, AN.c.tilbud_id, AF.c.udfald)).all()
    return Statistik(tuple((m, a, b, int(n)) for m, a, b, n in decisions),
                     tuple((m, a, b, int(n)) for m, a, b, n in by_track),
                     tuple((m, a, b, int(n)) for m, a, b, n in by_offer))
