"""The one schema of the decision log, for SQLite and PostgreSQL alike (SQLAlchemy Core).

Migrations (migrations/versions/) create exactly this; tests/log compares a migrated database with it."""
from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, MetaData, PrimaryKeyConstraint, Table, Text, UniqueConstraint

from service.log.store import ROLES, UDFALD

# Explicit constraint names: the same on both backends, and never clashing with a legacy
# database's implicit PostgreSQL names (vurderinger_pkey, ...) during its conversion.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def _text(name: str, nullable: bool = False) -> Column[str]:
    return Column(name, Text, nullable=nullable)


# One chain per kommune: every logged fact is an entry; content lives in the tables below.
kaede = Table(
    "kaede", metadata,
    _text("kommune"), Column("seq", BigInteger, nullable=False, autoincrement=False),
    _text("art"), _text("ref"), _text("oprettet"), _text("metadata"),
    _text("indhold_sha256", nullable=True), _text("forrige_hash"), _text("hash"),
    PrimaryKeyConstraint("kommune", "seq"),
    sqlite_with_rowid=False,
)

kaede_hoved = Table(
    "kaede_hoved", metadata,
    _text("kommune"), Column("seq", BigInteger, nullable=False), _text("hash"),
    PrimaryKeyConstraint("kommune"),
)

kontrolpunkter = Table(
    "kontrolpunkter", metadata,
    _text("kommune"), Column("seq", BigInteger, nullable=False, autoincrement=False), _text("hash"),
    _text("signatur"), _text("oprettet"),
    PrimaryKeyConstraint("kommune", "seq"),
)

vurderinger = Table(
    "vurderinger", metadata,
    _text("id"), _text("kommune"), Column("seq", BigInteger, nullable=False), _text("oprettet"),
    _text("token_id", nullable=True), _text("regelsaet_navn"), _text("regelsaet_version"), _text("regelsaet_sha256"),
    Column("motorformat", Integer, nullable=False), _text("borger_reference_hmac", nullable=True),
    _text("henvendelsesdato"), _text("vurderingsdato"),
    _text("screening", nullable=True), _text("svar", nullable=True),
    _text("screening_sha256"), _text("svar_sha256"),  # kept after redaction: the digest still verifies
    Column("slettet_af_seq", BigInteger, nullable=True),
    # The random salt of the two digests (chain.salted_sha256), removed with the content: a kept digest of
    # a low-entropy screening can then no longer be matched against guesses. NULL for records written
    # before migration 0002 (plain sha256).
    _text("salt", nullable=True),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("kommune", "seq"),
)
Index(None, vurderinger.c.kommune, vurderinger.c.oprettet, vurderinger.c.seq)
# Equality filter, then the listing order (newest first): a page is one index range, no sort.
Index(None, vurderinger.c.kommune, vurderinger.c.borger_reference_hmac, vurderinger.c.oprettet, vurderinger.c.seq)
Index(None, vurderinger.c.kommune, vurderinger.c.regelsaet_version, vurderinger.c.oprettet, vurderinger.c.seq)
Index(None, vurderinger.c.kommune, vurderinger.c.regelsaet_sha256, vurderinger.c.oprettet, vurderinger.c.seq)
Index(None, vurderinger.c.kommune, vurderinger.c.token_id, vurderinger.c.oprettet, vurderinger.c.seq)

anbefalinger = Table(
    "anbefalinger", metadata,
    _text("kommune"), Column("seq", BigInteger, nullable=False), _text("vurdering_id"),
    _text("oprettet"),  # the decision's, repeated so filters and statistics are answered by one index
    _text("spor"), _text("kategori"), _text("tilbud_id"),
    PrimaryKeyConstraint("kommune", "seq", "spor", "kategori", "tilbud_id"),
)
Index(None, anbefalinger.c.kommune, anbefalinger.c.kategori, anbefalinger.c.oprettet, anbefalinger.c.seq)
Index(None, anbefalinger.c.kommune, anbefalinger.c.spor, anbefalinger.c.oprettet, anbefalinger.c.seq)
Index(None, anbefalinger.c.kommune, anbefalinger.c.oprettet)
Index(None, anbefalinger.c.vurdering_id)

afgoerelser = Table(
    "afgoerelser", metadata,
    _text("id"), _text("kommune"), _text("vurdering_id"), Column("seq", BigInteger, nullable=False),
    _text("oprettet"), _text("token_id", nullable=True), _text("udfald"),
    _text("tilbud"),  # canonical JSON {spor: tilbud_id}
    _text("begrundelse", nullable=True), _text("begrundelse_sha256", nullable=True), _text("dato"),
    Column("slettet_af_seq", BigInteger, nullable=True),
    _text("salt", nullable=True),  # of begrundelse_sha256; removed with the begrundelse (see vurderinger.salt)
    PrimaryKeyConstraint("id"),
    UniqueConstraint("kommune", "seq"),
    CheckConstraint("udfald IN (" + ", ".join(f"'{u}'" for u in UDFALD) + ")", name="udfald"),
)
Index(None, afgoerelser.c.kommune, afgoerelser.c.vurdering_id, afgoerelser.c.seq)
Index(None, afgoerelser.c.kommune, afgoerelser.c.udfald)

tokens = Table(
    "tokens", metadata,
    _text("id"), _text("sha256"), _text("rolle"), _text("kommune"), _text("navn", nullable=True),
    _text("oprettet"), _text("tilbagekaldt", nullable=True),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("sha256"),
    CheckConstraint("rolle IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="rolle"),
)
Index(None, tokens.c.kommune)

sessioner = Table(
    "sessioner", metadata,
    _text("id"),  # sha256 of the session secret: the secret itself is never stored
    _text("token_id"), _text("oprettet"), _text("udloeber"), _text("afsluttet", nullable=True),
    PrimaryKeyConstraint("id"),
)
Index(None, sessioner.c.token_id)

regelsaet_snapshots = Table(
    "regelsaet_snapshots", metadata,
    _text("sha256"), _text("indhold"), _text("gemt"),
    PrimaryKeyConstraint("sha256"),
)

regelsaet_aliaser = Table(
    "regelsaet_aliaser", metadata,
    _text("sha256"), _text("til_sha256"), _text("oprettet"),
    PrimaryKeyConstraint("sha256"),
)

aktive_regler = Table(
    "aktive_regler", metadata,
    _text("kommune"), _text("fingerprint"), _text("opdateret"),
    PrimaryKeyConstraint("kommune"),
)

# Who read what: its own chain per kommune, with its own head row.
adgangslog = Table(
    "adgangslog", metadata,
    _text("kommune"), Column("seq", BigInteger, nullable=False, autoincrement=False), _text("oprettet"),
    _text("token_id", nullable=True), _text("rolle"), _text("formaal"), _text("vurdering_ids"),
    _text("forrige_hash"), _text("hash"),
    PrimaryKeyConstraint("kommune", "seq"),
)
Index(None, adgangslog.c.kommune, adgangslog.c.token_id, adgangslog.c.seq)
Index(None, adgangslog.c.kommune, adgangslog.c.oprettet)

adgangslog_poster = Table(  # one row per decision read: the index behind "who read this decision"
    "adgangslog_poster", metadata,
    _text("kommune"), _text("vurdering_id"), Column("seq", BigInteger, nullable=False, autoincrement=False),
    PrimaryKeyConstraint("kommune", "vurdering_id", "seq"),
)

adgangslog_hoved = Table(
    "adgangslog_hoved", metadata,
    _text("kommune"), Column("seq", BigInteger, nullable=False), _text("hash"),
    PrimaryKeyConstraint("kommune"),
)

#: The legacy (pre-Alembic) table that marks a database of the old code.
LEGACY_TABLES = ("vurderinger", "kaede_hoved", "tokens", "regelsaet_snapshots")
