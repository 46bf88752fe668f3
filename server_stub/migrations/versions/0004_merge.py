"""merge the auth-limits and key-custody branches

Revision ID: 0004
Revises: 0003a, 0003d
Create Date: 2026-12-08 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | Sequence[str] | None = ("0003a", "0003d")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
