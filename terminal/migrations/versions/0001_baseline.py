"""baseline: the schema of the first release (also adopts a database made before migrations existed)

Revision ID: 0001
Revises:
Create Date: 2026-12-07 23:05:52.578929
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ensure_table(name: str, *elements: Any) -> None:
    """Create the table, or, in a database a release before migrations made, add the columns it lacks
    (nullable in this baseline's definition, so no row is rewritten)."""
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(name):
        op.create_table(name, *elements)
        return
    present = {c["name"] for c in inspector.get_columns(name)}
    missing = [e for e in elements if isinstance(e, sa.Column) and e.name not in present]
    for column in missing:
        if not column.nullable:
            raise RuntimeError(f"{name}.{column.name}: a required column is missing; cannot upgrade")
        with op.batch_alter_table(name) as batch:
            batch.add_column(column)


def _ensure_index(table: str, name: str, columns: list[str]) -> None:
    if name not in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns, unique=False)


def upgrade() -> None:
    _ensure_table(
        "trust_list",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", sa.Float(), nullable=False),
        sa.CheckConstraint("id = 1", name="trust_list_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    _ensure_table(
        "trust_root_chain",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    _ensure_table(
        "revocation_data",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("kind IN ('snapshot', 'delta')", name="revocation_data_kind"),
        sa.PrimaryKeyConstraint("seq"),
    )
    _ensure_table(
        "revocation_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("list_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.Float(), nullable=False),
        sa.CheckConstraint("id = 1", name="revocation_state_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    _ensure_table(
        "sync_steps",
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("last_attempt", sa.Float(), nullable=True),
        sa.Column("last_success", sa.Float(), nullable=True),
        sa.Column("last_error", sa.String(length=256), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("step"),
    )
    _ensure_table(
        "catalogue_items",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("deadline", sa.Integer(), nullable=True),
        sa.Column("places", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "item_id"),
    )
    _ensure_index("catalogue_items", "ix_catalogue_items_region", ["region"])

    _ensure_table(
        "catalogue_meta",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )
    _ensure_table(
        "interests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("card_serial", sa.LargeBinary(length=8), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _ensure_index("interests", "ix_interests_uploaded_at", ["uploaded_at"])

    _ensure_table(
        "failures",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=256), nullable=False),
        sa.Column("card_serial", sa.LargeBinary(length=8), nullable=True),
        sa.Column("program", sa.Integer(), nullable=True),
        sa.Column("clerk_id", sa.String(length=64), nullable=True),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("redemption_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _ensure_index("failures", "ix_failures_reason", ["reason"])
    _ensure_index("failures", "ix_failures_uploaded_at", ["uploaded_at"])

    _ensure_table(
        "redemptions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("card_serial", sa.LargeBinary(length=8), nullable=False),
        sa.Column("program", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("clerk_id", sa.String(length=64), nullable=False),
        sa.Column("clerk_name", sa.String(length=64), nullable=True),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("site", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=8), nullable=False),
        sa.Column("terminal_time", sa.Integer(), nullable=False),
        sa.Column("expected_counter", sa.Integer(), nullable=False),
        sa.Column("tx_type", sa.Integer(), nullable=False),
        sa.Column("grant_seq", sa.Integer(), nullable=False),
        sa.Column("expected_balance_after", sa.Integer(), nullable=False),
        sa.Column("credential", sa.LargeBinary(), nullable=False),
        sa.Column("holder_name", sa.String(length=64), nullable=False),
        sa.Column("nik_masked", sa.String(length=16), nullable=False),
        sa.Column("data_age_s", sa.Float(), nullable=True),
        sa.Column("tx_counter", sa.Integer(), nullable=True),
        sa.Column("balance_after", sa.Integer(), nullable=True),
        sa.Column("record", sa.LargeBinary(), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("record_id", sa.String(length=32), nullable=True),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("receipt_state", sa.String(length=16), nullable=False),
        sa.Column("receipt_error", sa.String(length=256), nullable=True),
        sa.Column("print_count", sa.Integer(), nullable=False),
        sa.Column("receipt_cert", sa.LargeBinary(), nullable=True),
        sa.Column("receipt_sig", sa.LargeBinary(), nullable=True),
        sa.Column("note", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce"),
        sa.UniqueConstraint("record_id"),
    )
    _ensure_index("redemptions", "ix_redemptions_card_serial", ["card_serial"])
    _ensure_index("redemptions", "ix_redemptions_state", ["state"])
    _ensure_index("redemptions", "ix_redemptions_uploaded_at", ["uploaded_at"])

    _ensure_table(
        "reprints",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("redemption_id", sa.String(length=32), nullable=False),
        sa.Column("copy_no", sa.Integer(), nullable=False),
        sa.Column("clerk_id", sa.String(length=64), nullable=False),
        sa.Column("clerk_name", sa.String(length=64), nullable=True),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("redemption_id", "copy_no"),
    )
    _ensure_index("reprints", "ix_reprints_redemption_id", ["redemption_id"])

    _ensure_table(
        "voids",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("redemption_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("clerk_id", sa.String(length=64), nullable=False),
        sa.Column("clerk_name", sa.String(length=64), nullable=True),
        sa.Column("cert", sa.LargeBinary(), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("redemption_id"),
    )
    _ensure_table(
        "pending_updates",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("card_serial", sa.LargeBinary(length=8), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("kid", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("applied_at", sa.Float(), nullable=True),
        sa.Column("result", sa.String(length=64), nullable=True),
        sa.Column("acked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "server_id"),
    )
    _ensure_index("pending_updates", "ix_pending_updates_card_serial", ["card_serial"])


def downgrade() -> None:
    with op.batch_alter_table("pending_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_updates_card_serial"))

    op.drop_table("pending_updates")
    op.drop_table("voids")
    with op.batch_alter_table("reprints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reprints_redemption_id"))

    op.drop_table("reprints")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redemptions_uploaded_at"))
        batch_op.drop_index(batch_op.f("ix_redemptions_state"))
        batch_op.drop_index(batch_op.f("ix_redemptions_card_serial"))

    op.drop_table("redemptions")
    with op.batch_alter_table("failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failures_uploaded_at"))
        batch_op.drop_index(batch_op.f("ix_failures_reason"))

    op.drop_table("failures")
    with op.batch_alter_table("interests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interests_uploaded_at"))

    op.drop_table("interests")
    op.drop_table("catalogue_meta")
    with op.batch_alter_table("catalogue_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalogue_items_region"))

    op.drop_table("catalogue_items")
    op.drop_table("sync_steps")
    op.drop_table("revocation_state")
    op.drop_table("revocation_data")
    op.drop_table("trust_root_chain")
    op.drop_table("trust_list")
