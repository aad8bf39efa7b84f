"""Drafts of a municipality's rule layer, their files and history, and the published layers (issue 15).

Policy staff (role redaktoer) edit their municipality's layer in the web pages as a draft (kladde);
another redaktoer approves it, and the approved files become the municipality's published layer,
which every process loads instead of the shipped file (service.decisions.Engines).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _t(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _n(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=nullable, autoincrement=False)


def upgrade() -> None:
    op.create_table("kladder", _t("id"), _t("kommune"), _t("forfatter"), _t("status"), _t("note"), _t("gyldig_fra", True),
                    _t("fra_sha256"), _t("oprettet"), _t("opdateret"), _t("godkender", True), _t("daterede"),
                    sa.PrimaryKeyConstraint("id", name="pk_kladder"),
                    sa.CheckConstraint("status IN ('kladde', 'indsendt', 'godkendt', 'afvist', 'publiceret')",
                                       name="ck_kladder_status"))
    op.create_index("ix_kladder_kommune_opdateret", "kladder", ["kommune", "opdateret"])
    op.create_table("kladde_filer", _t("kladde_id"), _t("sti"), _t("indhold"),
                    sa.PrimaryKeyConstraint("kladde_id", "sti", name="pk_kladde_filer"))
    op.create_table("kladde_historik", _t("kladde_id"), _n("nr"), _t("token_id"), _t("tidspunkt"), _t("handling"),
                    _t("kommentar"), sa.PrimaryKeyConstraint("kladde_id", "nr", name="pk_kladde_historik"))
    op.create_table("publicerede_lag", _t("kommune"), _n("nr"), _t("kladde_id"), _t("sha256"), _t("filer"),
                    _t("gyldig_fra"), _t("publiceret"), _t("forfatter"), _t("godkender"), _t("note"), _t("aendrede"),
                    _n("kaede_seq", True), sa.PrimaryKeyConstraint("kommune", "nr", name="pk_publicerede_lag"))


def downgrade() -> None:
    for table in ("publicerede_lag", "kladde_historik", "kladde_filer", "kladder"):
        op.drop_table(table)
