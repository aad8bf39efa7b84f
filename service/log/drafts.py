"""Drafts of a municipality's rule layer (kladder), their files and history, and the published layers.

A draft belongs to one kommune and is written by one token (the author). Its files are the
municipality's layer (`regler/misbrug/kommune/<kommune>.yaml`) and its golden cases
(`cases/<kommune>/*.yaml`), stored as text. Every step (created, saved, submitted, approved,
rejected, published) is a history row. Publishing stores the draft's files as the municipality's
newest published layer and appends `regelsaet_publiceret` to its hash chain, in one transaction.
This module knows nothing of HTTP or of the rule language: callers validate before they publish.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Optional

from sqlalchemy import BigInteger, CheckConstraint, Column, Connection, Index, PrimaryKeyConstraint, Table, Text, func, insert, select, update

from service.log.append import Appender, utc_text
from service.log.backend import Database
from service.log.schema import metadata
from service.log.store import NotFound, StoreError
from service.log.tokens import check_kommune

STATUSES = ("kladde", "indsendt", "godkendt", "afvist", "publiceret")
MAX_FILES = 40
MAX_FILE_CHARS = 512 * 1024


def _text(name: str, nullable: bool = False) -> Column[str]:
    return Column(name, Text, nullable=nullable)


kladder = Table(
    "kladder", metadata,
    _text("id"), _text("kommune"), _text("forfatter"),  # the author's token id
    _text("status"), _text("note"), _text("gyldig_fra", nullable=True),
    _text("fra_sha256"),  # the fingerprint of the layer in force the draft started from
    _text("oprettet"), _text("opdateret"),
    _text("godkender", nullable=True),  # the approver's (or rejecter's) token id
    _text("daterede"),  # JSON: the blocks this draft dates (new versions and new blocks), see service.web.editor_filer
    PrimaryKeyConstraint("id"),
    CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="status"),
)
Index(None, kladder.c.kommune, kladder.c.opdateret)

kladde_filer = Table(
    "kladde_filer", metadata,
    _text("kladde_id"), _text("sti"), _text("indhold"),
    PrimaryKeyConstraint("kladde_id", "sti"),
)

kladde_historik = Table(
    "kladde_historik", metadata,
    _text("kladde_id"), Column("nr", BigInteger, nullable=False, autoincrement=False),
    _text("token_id"), _text("tidspunkt"), _text("handling"), _text("kommentar"),
    PrimaryKeyConstraint("kladde_id", "nr"),
)

publicerede_lag = Table(
    "publicerede_lag", metadata,
    _text("kommune"), Column("nr", BigInteger, nullable=False, autoincrement=False),
    _text("kladde_id"), _text("sha256"), _text("filer"),  # canonical JSON {sti: indhold}
    _text("gyldig_fra"), _text("publiceret"), _text("forfatter"), _text("godkender"), _text("note"),
    _text("aendrede"),  # JSON list of the block ids whose content the publication changed
    Column("kaede_seq", BigInteger, nullable=True),
    PrimaryKeyConstraint("kommune", "nr"),
)


def files_sha256(files: dict[str, str]) -> str:
    """The fingerprint of a set of files: sha256 over their paths and contents in path order."""
    return hashlib.sha256(json.dumps(sorted(files.items()), ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class HistoryEntry:
    nr: int
    token_id: str
    tidspunkt: str
    handling: str  # oprettet, gemt, indsendt, godkendt, afvist, publiceret, genaabnet, uploadet
    kommentar: str


@dataclass(frozen=True)
class Draft:
    id: str
    kommune: str
    forfatter: str
    status: str
    note: str
    gyldig_fra: Optional[str]
    fra_sha256: str
    oprettet: str
    opdateret: str
    godkender: Optional[str]
    daterede: tuple[dict[str, Any], ...]
    files: dict[str, str]
    historik: tuple[HistoryEntry, ...] = ()


@dataclass(frozen=True)
class PublishedLayer:
    kommune: str
    nr: int
    kladde_id: str
    sha256: str
    files: dict[str, str]
    gyldig_fra: str
    publiceret: str
    forfatter: str
    godkender: str
    note: str
    aendrede: tuple[str, ...]
    kaede_seq: Optional[int]


def _check_files(files: dict[str, str]) -> None:
    if len(files) > MAX_FILES:
        raise StoreError(f"en kladde kan højst have {MAX_FILES} filer")
    for path, text in files.items():
        if not path or len(path) > 300 or ".." in path.split("/") or path.startswith("/"):
            raise StoreError(f"ugyldigt filnavn '{path[:80]}'")
        if len(text) > MAX_FILE_CHARS:
            raise StoreError(f"filen {path} er for stor (højst {MAX_FILE_CHARS // 1024} kB)")


def _new_id() -> str:
    return "k" + secrets.token_hex(8)


class DraftStore:
    """Drafts and published layers of every kommune in one database (always scoped by kommune)."""

    def __init__(self, db: Database, clock: Callable[[], datetime]):
        self.db = db
        self.clock = clock

    # ------------------------------------------------------------------ drafts

    def create(self, kommune: str, token_id: str, files: dict[str, str], fra_sha256: str, handling: str = "oprettet",
               kommentar: str = "") -> Draft:
        check_kommune(kommune)
        _check_files(files)
        now = utc_text(self.clock())
        draft_id = _new_id()
        with self.db.write() as conn:
            conn.execute(insert(kladder).values(id=draft_id, kommune=kommune, forfatter=token_id, status="kladde", note="",
                                                gyldig_fra=None, fra_sha256=fra_sha256, oprettet=now, opdateret=now,
                                                godkender=None, daterede="[]"))
            if files:
                conn.execute(insert(kladde_filer), [{"kladde_id": draft_id, "sti": p, "indhold": t} for p, t in sorted(files.items())])
            self._history(conn, draft_id, token_id, now, handling, kommentar)
        return self.get(kommune, draft_id)

    def get(self, kommune: str, draft_id: str) -> Draft:
        """The draft with its files and history; NotFound for a missing id or another kommune's."""
        with self.db.read() as conn:
            row = conn.execute(select(kladder).where(kladder.c.id == draft_id, kladder.c.kommune == kommune)).mappings().first()
            if row is None:
                raise NotFound(f"ingen kladde med id '{draft_id[:40]}'")
            files = {r[0]: r[1] for r in conn.execute(select(kladde_filer.c.sti, kladde_filer.c.indhold)
                                                       .where(kladde_filer.c.kladde_id == draft_id).order_by(kladde_filer.c.sti))}
            hist = tuple(HistoryEntry(int(r.nr), r.token_id, r.tidspunkt, r.handling, r.kommentar) for r in conn.execute(
                select(kladde_historik).where(kladde_historik.c.kladde_id == draft_id).order_by(kladde_historik.c.nr)).mappings())
        return _draft(row, files, hist)

    def list_drafts(self, kommune: str, limit: int = 200) -> list[Draft]:
        """The kommune's drafts, newest change first (without files)."""
        with self.db.read() as conn:
            rows = list(conn.execute(select(kladder).where(kladder.c.kommune == kommune)
                                     .order_by(kladder.c.opdateret.desc(), kladder.c.id).limit(limit)).mappings())
        return [_draft(r, {}, ()) for r in rows]

    def history_of_kommune(self, kommune: str, limit: int = 500) -> list[tuple[str, HistoryEntry]]:
        """Every history row of the kommune's drafts, newest first: (draft id, entry)."""
        with self.db.read() as conn:
            rows = conn.execute(select(kladde_historik).join(kladder, kladder.c.id == kladde_historik.c.kladde_id)
                                .where(kladder.c.kommune == kommune)
                                .order_by(kladde_historik.c.tidspunkt.desc(), kladde_historik.c.nr.desc()).limit(limit)).mappings()
            return [(r.kladde_id, HistoryEntry(int(r.nr), r.token_id, r.tidspunkt, r.handling, r.kommentar)) for r in rows]

    def save(self, kommune: str, draft_id: str, token_id: str, files: dict[str, str], *, daterede: Optional[list[dict[str, Any]]] = None,
             kommentar: str = "", handling: str = "gemt") -> Draft:
        """Replace the draft's files (only while it is a kladde)."""
        _check_files(files)
        now = utc_text(self.clock())
        with self.db.write() as conn:
            status = self._status(conn, kommune, draft_id)
            if status != "kladde":
                raise StoreError(f"kladden er {status} og kan ikke ændres")
            conn.execute(kladde_filer.delete().where(kladde_filer.c.kladde_id == draft_id))
            if files:
                conn.execute(insert(kladde_filer), [{"kladde_id": draft_id, "sti": p, "indhold": t} for p, t in sorted(files.items())])
            values: dict[str, Any] = {"opdateret": now}
            if daterede is not None:
                values["daterede"] = json.dumps(daterede, ensure_ascii=False, sort_keys=True)
            conn.execute(update(kladder).where(kladder.c.id == draft_id).values(**values))
            self._history(conn, draft_id, token_id, now, handling, kommentar)
        return self.get(kommune, draft_id)

    def set_note(self, kommune: str, draft_id: str, token_id: str, note: str, gyldig_fra: Optional[str]) -> Draft:
        now = utc_text(self.clock())
        with self.db.write() as conn:
            status = self._status(conn, kommune, draft_id)
            if status != "kladde":
                raise StoreError(f"kladden er {status} og kan ikke ændres")
            conn.execute(update(kladder).where(kladder.c.id == draft_id).values(note=note, gyldig_fra=gyldig_fra, opdateret=now))
            self._history(conn, draft_id, token_id, now, "note", note)
        return self.get(kommune, draft_id)

    def set_status(self, kommune: str, draft_id: str, token_id: str, status: str, kommentar: str = "",
                   expect: tuple[str, ...] = ()) -> Draft:
        """Move the draft to `status` (only from one of `expect`, when given): submit, reject, reopen."""
        if status not in STATUSES:
            raise ValueError(status)
        now = utc_text(self.clock())
        with self.db.write() as conn:
            current = self._status(conn, kommune, draft_id)
            if expect and current not in expect:
                raise StoreError(f"kladden er {current}")
            values: dict[str, Any] = {"status": status, "opdateret": now}
            if status == "afvist":
                values["godkender"] = token_id
            if status == "kladde":
                values["godkender"] = None
            conn.execute(update(kladder).where(kladder.c.id == draft_id).values(**values))
            handling = {"indsendt": "indsendt", "afvist": "afvist", "kladde": "genaabnet"}.get(status, status)
            self._history(conn, draft_id, token_id, now, handling, kommentar)
        return self.get(kommune, draft_id)

    # ------------------------------------------------------------------ publishing

    def publish(self, kommune: str, draft_id: str, approver: str, kommentar: str, gyldig_fra: str, files: dict[str, str],
                aendrede: list[str], metadata: dict[str, Any], expect_sha256: str) -> tuple[PublishedLayer, int]:
        """Approve and publish in one transaction: the files (already dated and validated by the caller)
        become the kommune's newest published layer, the draft is `publiceret`, and the chain gets
        `regelsaet_publiceret`. Refused (StoreError) when the draft is not submitted, when the approver is
        the author, or when the layer in force is no longer `expect_sha256` (another publication came first)."""
        _check_files(files)
        now = utc_text(self.clock())
        with self.db.write() as conn:
            row = conn.execute(select(kladder).where(kladder.c.id == draft_id, kladder.c.kommune == kommune)).mappings().first()
            if row is None:
                raise NotFound(f"ingen kladde med id '{draft_id[:40]}'")
            if row.status != "indsendt":
                raise StoreError(f"kladden er {row.status}, ikke indsendt")
            if row.forfatter == approver:
                raise StoreError("forfatteren kan ikke godkende sin egen kladde")
            newest = _newest(conn, kommune)
            in_force = newest.sha256 if newest is not None else None
            if in_force is not None and in_force != expect_sha256:
                raise StoreError("reglerne i kraft er ændret, siden kladden blev startet")
            nr = (newest.nr if newest is not None else 0) + 1
            sha = files_sha256(files)
            chain = Appender(conn, self.db, kommune)
            seq, _ = chain.add("regelsaet_publiceret", f"{kommune}:{nr}", now,
                               dict(metadata, kladde=draft_id, forfatter=row.forfatter, godkender=approver, note=row.note,
                                    kommentar=kommentar, gyldig_fra=gyldig_fra, ny_lag_sha256=sha), sha)
            chain.close()
            conn.execute(insert(publicerede_lag).values(
                kommune=kommune, nr=nr, kladde_id=draft_id, sha256=sha, filer=json.dumps(files, ensure_ascii=False, sort_keys=True),
                gyldig_fra=gyldig_fra, publiceret=now, forfatter=row.forfatter, godkender=approver, note=row.note,
                aendrede=json.dumps(sorted(set(aendrede)), ensure_ascii=False), kaede_seq=seq))
            conn.execute(kladde_filer.delete().where(kladde_filer.c.kladde_id == draft_id))
            conn.execute(insert(kladde_filer), [{"kladde_id": draft_id, "sti": p, "indhold": t} for p, t in sorted(files.items())])
            conn.execute(update(kladder).where(kladder.c.id == draft_id).values(status="publiceret", godkender=approver, opdateret=now,
                                                                                 gyldig_fra=gyldig_fra))
            self._history(conn, draft_id, approver, now, "godkendt", kommentar)
            self._history(conn, draft_id, approver, now, "publiceret", f"gyldig fra {gyldig_fra}")
        layer = self.published(kommune)
        assert layer is not None
        return layer, seq

    def published(self, kommune: str) -> Optional[PublishedLayer]:
        """The kommune's newest published layer (None when it uses the shipped file)."""
        with self.db.read() as conn:
            return _newest(conn, kommune)

    def published_all(self, kommune: str) -> list[PublishedLayer]:
        """Every publication of the kommune, newest first."""
        with self.db.read() as conn:
            rows = conn.execute(select(publicerede_lag).where(publicerede_lag.c.kommune == kommune)
                                .order_by(publicerede_lag.c.nr.desc())).mappings()
            return [_layer(r) for r in rows]

    # ------------------------------------------------------------------ helpers

    def _status(self, conn: Connection, kommune: str, draft_id: str) -> str:
        row = conn.execute(select(kladder.c.status).where(kladder.c.id == draft_id, kladder.c.kommune == kommune)).first()
        if row is None:
            raise NotFound(f"ingen kladde med id '{draft_id[:40]}'")
        return str(row[0])

    def _history(self, conn: Connection, draft_id: str, token_id: str, now: str, handling: str, kommentar: str) -> None:
        nr = conn.execute(select(func.max(kladde_historik.c.nr)).where(kladde_historik.c.kladde_id == draft_id)).scalar() or 0
        conn.execute(insert(kladde_historik).values(kladde_id=draft_id, nr=int(nr) + 1, token_id=token_id, tidspunkt=now,
                                                    handling=handling, kommentar=kommentar[:4000]))


def _draft(row: Any, files: dict[str, str], hist: tuple[HistoryEntry, ...]) -> Draft:
    return Draft(row.id, row.kommune, row.forfatter, row.status, row.note, row.gyldig_fra, row.fra_sha256, row.oprettet, row.opdateret,
                 row.godkender, tuple(json.loads(row.daterede or "[]")), files, hist)


def _layer(row: Any) -> PublishedLayer:
    return PublishedLayer(row.kommune, int(row.nr), row.kladde_id, row.sha256, json.loads(row.filer), row.gyldig_fra, row.publiceret,
                          row.forfatter, row.godkender, row.note, tuple(json.loads(row.aendrede or "[]")),
                          int(row.kaede_seq) if row.kaede_seq is not None else None)


def _newest(conn: Connection, kommune: str) -> Optional[PublishedLayer]:
    row = conn.execute(select(publicerede_lag).where(publicerede_lag.c.kommune == kommune)
                       .order_by(publicerede_lag.c.nr.desc()).limit(1)).mappings().first()
    return _layer(row) if row is not None else None
