"""token expiry and rotation, failed-authentication counters and lockouts

Revision ID: 0003a
Revises: 0002
Create Date: 2026-12-05 10:00:00.000000

Tokens issued before this revision get ``token_expires_at`` = the upgrade time + the default lifetime
(terminals 90 days, clerks 30 days), so no terminal or clerk is locked out by the upgrade itself.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003a"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TERMINAL_TTL_S = 90 * 86_400
_CLERK_TTL_S = 30 * 86_400


def _token_columns(table: str, ttl_s: int) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_expires_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("previous_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("previous_token_until", sa.BigInteger(), nullable=True))
    op.execute(
        sa.text(f"UPDATE {table} SET token_expires_at = :until").bindparams(until=int(time.time()) + ttl_s)
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column("token_expires_at", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index(batch_op.f(f"ix_{table}_previous_token_hash"), ["previous_token_hash"])


def upgrade() -> None:
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttle")),
    )
    _token_columns("terminals", _TERMINAL_TTL_S)
    _token_columns("clerks", _CLERK_TTL_S)


def downgrade() -> None:
    for table in ("clerks", "terminals"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_previous_token_hash"))
            batch_op.drop_column("previous_token_until")
            batch_op.drop_column("previous_token_hash")
            batch_op.drop_column("token_expires_at")
    op.drop_table("auth_throttle")
