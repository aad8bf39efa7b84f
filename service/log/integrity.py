"""Verifying a kommune's chain against its content, head row and signed checkpoints: the full walk
(batch reads, tuples, no JSON parsing per record), the incremental walk from the newest valid
checkpoint, signing the head, and checking an exported head."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable, Optional

from sqlalchemy import Connection, and_, delete, exists, insert, select

from service.log.append import read_head, utc_text
from service.log.backend import Database
from service.log.chain import Mistyped, Walker, afgoerelse_digest, decision_digest, entry_hash, head_signature, salted_sha256, signature_valid
from service.log.schema import afgoerelser as AF
from service.log.schema import anbefalinger as AN
from service.log.schema import kaede, kontrolpunkter
from service.log.schema import vurderinger as V
from service.log.store import ChainFinding, ChainReport, Progress, SignedHead

BATCH = 5000
_K = kaede.c
_ENTRY = (_K.seq, _K.art, _K.ref, _K.oprettet, _K.metadata, _K.indhold_sha256, _K.forrige_hash, _K.hash)
_DEC = (V.c.id, V.c.kommune, V.c.oprettet, V.c.token_id, V.c.regelsaet_navn, V.c.regelsaet_version,
        V.c.regelsaet_sha256, V.c.motorformat, V.c.borger_reference_hmac, V.c.henvendelsesdato, V.c.vurderingsdato,
        V.c.screening_sha256, V.c.svar_sha256, V.c.screening, V.c.svar, V.c.slettet_af_seq, V.c.salt)
_TEXTS = (13, 14)  # screening and svar: read as their (salted) digest where the database can compute it
_AFG = (AF.c.id, AF.c.kommune, AF.c.vurdering_id, AF.c.oprettet, AF.c.token_id, AF.c.udfald, AF.c.tilbud,
        AF.c.begrundelse_sha256, AF.c.dato, AF.c.begrundelse, AF.c.slettet_af_seq, AF.c.salt)
_D, _A = 8, 8 + len(_DEC)  # where the decision and afgørelse columns start in a joined row


def _entries(conn: Connection, db: Database, kommune: str, after: int, limit: int) -> list[Any]:
    joined = kaede.outerjoin(V, and_(V.c.kommune == _K.kommune, V.c.seq == _K.seq)) \
                  .outerjoin(AF, and_(AF.c.kommune == _K.kommune, AF.c.seq == _K.seq))
    dec = [db.text_digest(c, V.c.salt) if i in _TEXTS else c for i, c in enumerate(_DEC)]
    return list(conn.execute(select(*_ENTRY, *dec, *_AFG).select_from(joined)
                             .where(_K.kommune == kommune, _K.seq > after).order_by(_K.seq).limit(limit)))


def _recommendations(conn: Connection, kommune: str, after: int, last: int) -> dict[Any, list[tuple[Any, ...]]]:
    out: dict[Any, list[tuple[Any, ...]]] = {}
    for seq, spor, kategori, tilbud in conn.execute(
            select(AN.c.seq, AN.c.spor, AN.c.kategori, AN.c.tilbud_id)
            .where(AN.c.kommune == kommune, AN.c.seq > after, AN.c.seq <= last)):
        out.setdefault(seq, []).append((spor, kategori, tilbud))
    return out


class ContentCheck:
    """Checks the content row behind a chain entry; knows the sletning events (looked up once each)."""

    def __init__(self, conn: Connection, kommune: str, digests_in_sql: bool = False):
        self.conn, self.kommune = conn, kommune
        self.text_digest = (lambda salt, value: value) if digests_in_sql else salted_sha256
        self._events: dict[Any, Optional[dict[str, Any]]] = {}

    def event(self, seq: Any) -> Optional[dict[str, Any]]:
        if seq not in self._events:
            row = self.conn.execute(select(_K.art, _K.metadata).where(_K.kommune == self.kommune, _K.seq == seq)).first()
            data = None
            if row is not None and row[0] == "sletning" and isinstance(row[1], str):
                try:
                    data = json.loads(row[1])
                except ValueError:
                    data = None
            self._events[seq] = data if isinstance(data, dict) else None
        return self._events[seq]

    def lawful(self, seq: int, oprettet: Any, event_seq: Any) -> bool:
        """Content of record `seq` was removed by the sletning event `event_seq`, within its range and date."""
        if type(event_seq) is not int or event_seq <= seq:
            return False
        meta = self.event(event_seq)
        if meta is None:
            return False
        first, last, before = meta.get("seq_fra"), meta.get("seq_til"), meta.get("foer")
        return (isinstance(first, int) and isinstance(last, int) and first <= seq <= last
                and isinstance(before, str) and isinstance(oprettet, str) and oprettet < before)

    def check(self, row: Any, recs: Optional[list[tuple[Any, ...]]]) -> tuple[Optional[ChainFinding], Optional[int]]:
        seq, art = row[0], row[1]
        try:
            if art == "vurdering":
                return self._decision(seq, row, recs)
            if art == "afgoerelse":
                return self._afgoerelse(seq, row)
        except Mistyped:
            return ChainFinding(seq, "aendret", f"post {seq} er ændret: en celle har fået en anden type"), None
        if row[_D] is not None or row[_A] is not None or recs:
            return ChainFinding(seq, "indsat", f"post {seq} har indhold, som ikke hører til en vurdering"), None
        return None, None

    def _decision(self, seq: int, row: Any,
                  recs: Optional[list[tuple[Any, ...]]]) -> tuple[Optional[ChainFinding], Optional[int]]:
        d = row[_D:_A]
        if d[0] is None:
            return ChainFinding(seq, "slettet", f"post {seq} mangler: vurderingen er slettet fra tabellen"), None
        screening, svar, deleted_by, salt = d[13], d[14], d[15], d[16]
        digest = self.text_digest
        if (screening is not None and digest(salt, screening) != d[11]) or (svar is not None and digest(salt, svar) != d[12]):
            return ChainFinding(seq, "aendret", f"post {seq} er ændret: dens indhold passer ikke med dens hash"), None
        if decision_digest(*d[:13], sorted(recs or ())) != row[5]:  # type: ignore[call-arg]
            return ChainFinding(seq, "aendret", f"post {seq} er ændret: dens indhold passer ikke med dens hash"), None
        if screening is None or svar is None or deleted_by is not None:
            return self._removed(seq, d[2], deleted_by, screening is None and svar is None)
        return None, None

    def _afgoerelse(self, seq: int, row: Any) -> tuple[Optional[ChainFinding], Optional[int]]:
        a = row[_A:]
        if a[0] is None:
            return ChainFinding(seq, "slettet", f"post {seq} mangler: afgørelsen er slettet fra tabellen"), None
        begrundelse, sha = a[9], a[7]
        if begrundelse is not None and salted_sha256(a[11], begrundelse) != sha:
            return ChainFinding(seq, "aendret", f"post {seq} er ændret: dens indhold passer ikke med dens hash"), None
        if afgoerelse_digest(*a[:9]) != row[5]:
            return ChainFinding(seq, "aendret", f"post {seq} er ændret: dens indhold passer ikke med dens hash"), None
        if (begrundelse is None and sha is not None) or a[10] is not None:
            return self._removed(seq, a[3], a[10], begrundelse is None)
        return None, None

    def _removed(self, seq: int, oprettet: Any, event: Any, all_gone: bool) -> tuple[Optional[ChainFinding], Optional[int]]:
        if all_gone and self.lawful(seq, oprettet, event):
            return None, event
        return ChainFinding(seq, "aendret", f"indholdet af post {seq} er fjernet uden en sletningshændelse, "
                                            "der dækker den"), None


def _origin(conn: Connection, kommune: str) -> Callable[[str], Optional[int]]:
    def find(hash_: str) -> Optional[int]:
        row = conn.execute(select(_K.seq).where(_K.kommune == kommune, _K.hash == hash_).limit(1)).first()
        return int(row[0]) if row else None
    return find


def _walk(conn: Connection, db: Database, walker: Walker, after: int, progress: Optional[Progress]) -> None:
    check = ContentCheck(conn, walker.kommune, db.digests_in_sql)
    while True:
        rows = _entries(conn, db, walker.kommune, after, BATCH)
        if not rows:
            return
        last = rows[-1][0]
        recs = _recommendations(conn, walker.kommune, after, last) if type(last) is int else {}
        for row in rows:
            finding, deleted_by = check.check(row, recs.pop(row[0], None))
            if not walker.feed(row, finding, deleted_by):
                return
        if recs:
            seq = min(recs)
            walker.finding = ChainFinding(seq, "indsat", f"anbefalinger til post {seq} hører ikke til en vurdering")
            return
        if progress is not None:
            progress(walker.count)
        after = last


def _orphan(conn: Connection, kommune: str) -> Optional[ChainFinding]:
    """A content row with no chain entry of its kind at its seq (inserted beside the chain)."""
    for table, art in ((V, "vurdering"), (AF, "afgoerelse")):
        row = conn.execute(select(table.c.seq).where(table.c.kommune == kommune, ~exists(
            select(_K.seq).where(_K.kommune == table.c.kommune, _K.seq == table.c.seq, _K.art == art))).limit(1)).first()
        if row is not None:
            return ChainFinding(row[0], "indsat", f"en {art.replace('oe', 'ø')} med nr. {row[0]} er indsat uden om kæden")
    return None


def _checkpoints(conn: Connection, kommune: str, key: Optional[bytes],
                 limit: int = 1000) -> tuple[dict[int, str], Optional[ChainFinding]]:
    out: dict[int, str] = {}
    c = kontrolpunkter.c
    for seq, hash_, sig, oprettet in conn.execute(select(c.seq, c.hash, c.signatur, c.oprettet).where(
            c.kommune == kommune).order_by(c.seq.desc()).limit(limit)):
        if key is not None and not signature_valid(key, kommune, seq, hash_, oprettet, sig):
            return out, ChainFinding(seq, "aendret", f"kontrolpunktet for post {seq} har en ugyldig signatur")
        if type(seq) is int and isinstance(hash_, str):
            out[seq] = hash_
    return out, None


def verify_chain(db: Database, kommune: str, progress: Optional[Progress], key: Optional[bytes]) -> ChainReport:
    with db.read() as conn:
        head = read_head(conn, db, kommune, lock=False)
        checkpoints, bad = _checkpoints(conn, kommune, key)
        walker = Walker(kommune, _origin(conn, kommune), checkpoints=checkpoints)
        _walk(conn, db, walker, 0, progress)
        report = walker.finish(head)
        if report.intakt:
            finding = bad or _orphan(conn, kommune)
            if finding is not None:
                return ChainReport(False, report.antal, report.hoved_seq, report.hoved_hash, finding, report.slettede)
        return report


def _anchor(conn: Connection, kommune: str, key: bytes) -> tuple[Optional[tuple[int, str]], Optional[ChainFinding]]:
    """The newest checkpoint with a valid signature that still matches its entry, or the finding that it does not."""
    c = kontrolpunkter.c
    row = conn.execute(select(c.seq, c.hash, c.signatur, c.oprettet).where(c.kommune == kommune)
                       .order_by(c.seq.desc()).limit(1)).first()
    if row is None:
        return None, None
    seq, hash_, sig, oprettet = row
    if not signature_valid(key, kommune, seq, hash_, oprettet, sig):
        return None, ChainFinding(seq, "aendret", f"kontrolpunktet for post {seq} har en ugyldig signatur")
    entry = conn.execute(select(*_ENTRY).where(_K.kommune == kommune, _K.seq == seq)).first()
    if entry is None:
        return None, ChainFinding(seq, "slettet", f"post {seq} mangler: et signeret kontrolpunkt viser, at kæden "
                                                  f"havde {seq} poster (slettet i slutningen af loggen)")
    try:
        ok = entry[7] == hash_ and entry_hash(kommune, *entry[:7]) == hash_
    except Mistyped:
        ok = False
    if not ok:
        return None, ChainFinding(seq, "aendret", f"post {seq} passer ikke med et signeret kontrolpunkt")
    return (seq, hash_), None


def verify_since_checkpoint(db: Database, kommune: str, key: bytes) -> ChainReport:
    """Walk only what was appended after the newest valid checkpoint (the full walk when there is none)."""
    with db.read() as conn:
        head = read_head(conn, db, kommune, lock=False)
        anchor, finding = _anchor(conn, kommune, key)
        if finding is not None:
            return ChainReport(False, 0, head[0] if head else None, head[1] if head else None, finding)
        if anchor is None:
            walker = Walker(kommune, _origin(conn, kommune))
            _walk(conn, db, walker, 0, None)
        else:
            walker = Walker(kommune, _origin(conn, kommune), prev_seq=anchor[0], prev_hash=anchor[1], count=anchor[0])
            _walk(conn, db, walker, anchor[0], None)
        report = walker.finish(head)
    if anchor is not None:
        report = ChainReport(report.intakt, report.antal, report.hoved_seq, report.hoved_hash, report.foerste_fejl,
                             report.slettede, fra_kontrolpunkt=anchor[0])
    return report


def sign_head(db: Database, kommune: str, key: bytes, now: datetime) -> Optional[SignedHead]:
    """Store a checkpoint of the current head, signed with the log key (kept outside the database)."""
    with db.write() as conn:
        head = read_head(conn, db, kommune, lock=True)
        if head is None:
            return None
        oprettet = utc_text(now)
        signed = SignedHead(kommune, head[0], head[1], head_signature(key, kommune, head[0], head[1], oprettet), oprettet)
        c = kontrolpunkter.c
        conn.execute(delete(kontrolpunkter).where(c.kommune == kommune, c.seq == head[0]))
        conn.execute(insert(kontrolpunkter).values(kommune=kommune, seq=signed.seq, hash=signed.hash,
                                                   signatur=signed.signatur, oprettet=oprettet))
    return signed


def check_expected_head(db: Database, kommune: str, seq: int, hash_: str) -> Optional[ChainFinding]:
    """None when the exported head (seq, hash) is still part of the chain."""
    with db.read() as conn:
        row = conn.execute(select(_K.hash).where(_K.kommune == kommune, _K.seq == seq)).first()
        head = read_head(conn, db, kommune, lock=False)
    if row is None:
        have = head[0] if head else 0
        return ChainFinding(seq, "slettet", f"post {seq} fra det eksporterede hoved findes ikke længere "
                                            f"(kæden har nu {have} poster)")
    if row[0] != hash_:
        return ChainFinding(seq, "aendret", f"post {seq} har ikke længere den eksporterede hash: "
                                            "kæden er ændret eller bygget om")
    return None

