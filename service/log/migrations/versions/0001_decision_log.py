"""The decision log with tenancy, content digests, access log, sessions and signed checkpoints.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _t(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _seq(name: str = "seq", nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=nullable, autoincrement=False)


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def _chain_tables() -> None:
    op.create_table("kaede", _t("kommune"), _seq(), _t("art"), _t("ref"), _t("oprettet"), _t("metadata"),
                    _t("indhold_sha256", True), _t("forrige_hash"), _t("hash"),
                    sa.PrimaryKeyConstraint("kommune", "seq", name="pk_kaede"), sqlite_with_rowid=False)
    op.create_table("kaede_hoved", _t("kommune"), _seq(), _t("hash"),
                    sa.PrimaryKeyConstraint("kommune", name="pk_kaede_hoved"))
    op.create_table("kontrolpunkter", _t("kommune"), _seq(), _t("hash"), _t("signatur"), _t("oprettet"),
                    sa.PrimaryKeyConstraint("kommune", "seq", name="pk_kontrolpunkter"))


def _content_tables() -> None:
    op.create_table("vurderinger", _t("id"), _t("kommune"), _seq(), _t("oprettet"), _t("token_id", True),
                    _t("regelsaet_navn"), _t("regelsaet_version"), _t("regelsaet_sha256"),
                    sa.Column("motorformat", sa.Integer(), nullable=False), _t("borger_reference_hmac", True),
                    _t("henvendelsesdato"), _t("vurderingsdato"), _t("screening", True), _t("svar", True),
                    _t("screening_sha256"), _t("svar_sha256"), _seq("slettet_af_seq", True),
                    sa.PrimaryKeyConstraint("id", name="pk_vurderinger"),
                    sa.UniqueConstraint("kommune", "seq", name="uq_vurderinger_kommune_seq"))
    _index("vurderinger", "kommune", "oprettet", "seq")
    _index("vurderinger", "kommune", "borger_reference_hmac", "oprettet", "seq")
    _index("vurderinger", "kommune", "regelsaet_version", "oprettet", "seq")
    _index("vurderinger", "kommune", "regelsaet_sha256", "oprettet", "seq")
    _index("vurderinger", "kommune", "token_id", "oprettet", "seq")
    op.create_table("anbefalinger", _t("kommune"), _seq(), _t("vurdering_id"), _t("oprettet"), _t("spor"),
                    _t("kategori"), _t("tilbud_id"),
                    sa.PrimaryKeyConstraint("kommune", "seq", "spor", "kategori", "tilbud_id", name="pk_anbefalinger"))
    _index("anbefalinger", "kommune", "kategori", "oprettet", "seq")
    _index("anbefalinger", "kommune", "spor", "oprettet", "seq")
    _index("anbefalinger", "kommune", "oprettet")
    _index("anbefalinger", "vurdering_id")
    op.create_table("afgoerelser", _t("id"), _t("kommune"), _t("vurdering_id"), _seq(), _t("oprettet"),
                    _t("token_id", True), _t("udfald"), _t("tilbud"), _t("begrundelse", True),
                    _t("begrundelse_sha256", True), _t("dato"), _seq("slettet_af_seq", True),
                    sa.PrimaryKeyConstraint("id", name="pk_afgoerelser"),
                    sa.UniqueConstraint("kommune", "seq", name="uq_afgoerelser_kommune_seq"),
                    sa.CheckConstraint("udfald IN ('fulgt', 'afveget', 'afvist_af_borger')",
                                       name="ck_afgoerelser_udfald"))
    _index("afgoerelser", "kommune", "vurdering_id", "seq")
    _index("afgoerelser", "kommune", "udfald")


def _access_tables() -> None:
    op.create_table("tokens", _t("id"), _t("sha256"), _t("rolle"), _t("kommune"), _t("navn", True),
                    _t("oprettet"), _t("tilbagekaldt", True),
                    sa.PrimaryKeyConstraint("id", name="pk_tokens"),
                    sa.UniqueConstraint("sha256", name="uq_tokens_sha256"),
                    sa.CheckConstraint("rolle IN ('visitator', 'revisor', 'redaktoer')", name="ck_tokens_rolle"))
    _index("tokens", "kommune")
    op.create_table("sessioner", _t("id"), _t("token_id"), _t("oprettet"), _t("udloeber"), _t("afsluttet", True),
                    sa.PrimaryKeyConstraint("id", name="pk_sessioner"))
    _index("sessioner", "token_id")
    op.create_table("adgangslog", _t("kommune"), _seq(), _t("oprettet"), _t("token_id", True), _t("rolle"),
                    _t("formaal"), _t("vurdering_ids"), _t("forrige_hash"), _t("hash"),
                    sa.PrimaryKeyConstraint("kommune", "seq", name="pk_adgangslog"))
    _index("adgangslog", "kommune", "token_id", "seq")
    _index("adgangslog", "kommune", "oprettet")
    op.create_table("adgangslog_poster", _t("kommune"), _t("vurdering_id"), _seq(),
                    sa.PrimaryKeyConstraint("kommune", "vurdering_id", "seq", name="pk_adgangslog_poster"))
    op.create_table("adgangslog_hoved", _t("kommune"), _seq(), _t("hash"),
                    sa.PrimaryKeyConstraint("kommune", name="pk_adgangslog_hoved"))


def _rule_tables() -> None:
    op.create_table("regelsaet_snapshots", _t("sha256"), _t("indhold"), _t("gemt"),
                    sa.PrimaryKeyConstraint("sha256", name="pk_regelsaet_snapshots"))
    op.create_table("regelsaet_aliaser", _t("sha256"), _t("til_sha256"), _t("oprettet"),
                    sa.PrimaryKeyConstraint("sha256", name="pk_regelsaet_aliaser"))
    op.create_table("aktive_regler", _t("kommune"), _t("fingerprint"), _t("opdateret"),
                    sa.PrimaryKeyConstraint("kommune", name="pk_aktive_regler"))


def upgrade() -> None:
    _chain_tables()
    _content_tables()
    _access_tables()
    _rule_tables()


def downgrade() -> None:
    for table in ("aktive_regler", "regelsaet_aliaser", "regelsaet_snapshots", "adgangslog_hoved",
                  "adgangslog_poster", "adgangslog", "sessioner", "tokens", "afgoerelser", "anbefalinger",
                  "vurderinger", "kontrolpunkter", "kaede_hoved", "kaede"):
        op.drop_table(table)
