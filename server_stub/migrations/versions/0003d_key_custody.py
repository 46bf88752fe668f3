"""key custody: status-list key generations, trust lists signed by the offline root

Revision ID: 0003d
Revises: 0002
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003d"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_keys",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("point", sa.LargeBinary(length=65), nullable=False),
        sa.Column("sign_from", sa.BigInteger(), nullable=False),
        sa.Column("sign_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("generation", name=op.f("pk_status_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_status_keys_kid")),
    )
    op.create_table(
        "signed_trust_lists",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_signed_trust_lists")),
    )
    with op.batch_alter_table("signed_trust_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signed_trust_lists_issued_at"), ["issued_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signed_trust_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signed_trust_lists_issued_at"))
    op.drop_table("signed_trust_lists")
    op.drop_table("status_keys")
