"""Salted content digests: vurderinger.salt and afgoerelser.salt (issue 17).

A record's screening, svar and begrundelse are covered by the chain through their digests, which stay
after redaction. A plain sha256 of a low-entropy text (a screening is a handful of ages, substances and
yes/no facts; its dates stay in the row) can be found again by trying every plausible screening, so
redaction would not really remove it. From this revision each record's digests are salted with a random
value kept beside them and removed together with the content. Records written before keep salt NULL
and their plain digests (they verify as before).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    for table in ("vurderinger", "afgoerelser"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("salt", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in ("afgoerelser", "vurderinger"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("salt")
