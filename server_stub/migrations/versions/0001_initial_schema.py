"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 21:12:05.698711
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "failure_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("card_serial", sa.String(length=16), nullable=True),
        sa.Column("program", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("clerk_id", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_failure_events")),
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_serial", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("other_record_id", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
    )
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flags_card_serial"), ["card_serial"], unique=False)
        batch_op.create_index(batch_op.f("ix_flags_resolved"), ["resolved"], unique=False)

    op.create_table(
        "households",
        sa.Column("kk_number", sa.String(length=16), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("welfare_decile", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kk_number", name=op.f("pk_households")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_households_region"), ["region"], unique=False)

    op.create_table(
        "issuer_keys",
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("point", sa.LargeBinary(length=65), nullable=False),
        sa.Column("issue_from", sa.BigInteger(), nullable=False),
        sa.Column("issue_until", sa.BigInteger(), nullable=True),
        sa.Column("verify_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_issuer_keys")),
        sa.UniqueConstraint("generation", name=op.f("uq_issuer_keys_generation")),
    )
    op.create_table(
        "redemptions",
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("card_serial", sa.String(length=16), nullable=False),
        sa.Column("tx_counter", sa.BigInteger(), nullable=False),
        sa.Column("tx_type", sa.Integer(), nullable=False),
        sa.Column("program", sa.Integer(), nullable=False),
        sa.Column("grant_seq", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("terminal_time", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=8), nullable=False),
        sa.Column("ledger_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("void_reason", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_redemptions")),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index("ix_redemptions_card_counter", ["card_serial", "tx_counter"], unique=False)
        batch_op.create_index(batch_op.f("ix_redemptions_ledger_id"), ["ledger_id"], unique=False)

    op.create_table(
        "status_deltas",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_status_deltas")),
    )
    op.create_table(
        "terminals",
        sa.Column("id", sa.String(length=8), nullable=False),
        sa.Column("site", sa.String(length=128), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=65), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("pin_reset", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("enrolled_at", sa.BigInteger(), nullable=False),
        sa.Column("enrolled_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminals")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_terminals_token_hash")),
    )
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_terminals_region"), ["region"], unique=False)

    op.create_table(
        "citizens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("district", sa.Integer(), nullable=False),
        sa.Column("kk_number", sa.String(length=16), nullable=True),
        sa.Column("occupation", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kk_number"], ["households.kk_number"], name=op.f("fk_citizens_kk_number_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizens")),
        sa.UniqueConstraint("nik", name=op.f("uq_citizens_nik")),
    )
    with op.batch_alter_table("citizens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizens_kk_number"), ["kk_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_citizens_region"), ["region"], unique=False)

    op.create_table(
        "clerks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=16), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["agency"], ["agencies.code"], name=op.f("fk_clerks_agency_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clerks")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_clerks_token_hash")),
        sa.UniqueConstraint("username", name=op.f("uq_clerks_username")),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agency_code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_programs_agency_code_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("code", name=op.f("uq_programs_code")),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("card_serial", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["status_deltas.seq"], name=op.f("fk_status_changes_seq_status_deltas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_changes")),
    )
    with op.batch_alter_table("status_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_changes_card_serial"), ["card_serial"], unique=False)
        batch_op.create_index(batch_op.f("ix_status_changes_seq"), ["seq"], unique=False)

    op.create_table(
        "voids",
        sa.Column("void_id", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("clerk_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["redemptions.record_id"], name=op.f("fk_voids_record_id_redemptions")
        ),
        sa.PrimaryKeyConstraint("void_id", name=op.f("pk_voids")),
    )
    with op.batch_alter_table("voids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voids_record_id"), ["record_id"], unique=False)

    op.create_table(
        "cards",
        sa.Column("serial", sa.String(length=16), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("card_key", sa.LargeBinary(length=33), nullable=True),
        sa.Column("credential", sa.LargeBinary(), nullable=True),
        sa.Column("issuer_kid", sa.String(length=16), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("status_seq", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("replaces", sa.String(length=16), nullable=True),
        sa.Column("replaced_by", sa.String(length=16), nullable=True),
        sa.Column("state_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"], name=op.f("fk_cards_citizen_id_citizens")),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_cards")),
        sa.UniqueConstraint("status_index", name=op.f("uq_cards_status_index")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cards_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_region"), ["region"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_state"), ["state"], unique=False)

    op.create_table(
        "catalogue_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_catalogue_items_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_items")),
    )
    with op.batch_alter_table("catalogue_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalogue_items_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalogue_items_region"), ["region"], unique=False)

    op.create_table(
        "eligibility",
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_eligibility_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_eligibility_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("citizen_id", "program_id", name=op.f("pk_eligibility")),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_serial", sa.String(length=16), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("grant_seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["card_serial"], ["cards.serial"], name=op.f("fk_grants_card_serial_cards")),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_grants_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint("card_serial", "program_id", "grant_seq", name="uq_grants_card_seq"),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_card_serial"), ["card_serial"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_delivered"), ["delivered"], unique=False)

    op.create_table(
        "interests",
        sa.Column("interest_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("card_serial", sa.String(length=16), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("registered_at", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_interests_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalogue_items.id"], name=op.f("fk_interests_item_id_catalogue_items")
        ),
        sa.PrimaryKeyConstraint("interest_id", name=op.f("pk_interests")),
    )
    with op.batch_alter_table("interests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interests_item_id"), ["item_id"], unique=False)

    op.create_table(
        "status_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_serial", sa.String(length=16), nullable=False),
        sa.Column("new_state", sa.Integer(), nullable=False),
        sa.Column("status_seq", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("acked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_serial"], ["cards.serial"], name=op.f("fk_status_commands_card_serial_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_commands")),
        sa.UniqueConstraint("card_serial", "status_seq", name="uq_status_commands_card_seq"),
    )
    with op.batch_alter_table("status_commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_commands_card_serial"), ["card_serial"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("status_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_commands_card_serial"))

    op.drop_table("status_commands")
    with op.batch_alter_table("interests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interests_item_id"))

    op.drop_table("interests")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_delivered"))
        batch_op.drop_index(batch_op.f("ix_grants_card_serial"))

    op.drop_table("grants")
    op.drop_table("eligibility")
    with op.batch_alter_table("catalogue_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalogue_items_region"))
        batch_op.drop_index(batch_op.f("ix_catalogue_items_kind"))

    op.drop_table("catalogue_items")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cards_state"))
        batch_op.drop_index(batch_op.f("ix_cards_region"))
        batch_op.drop_index(batch_op.f("ix_cards_citizen_id"))

    op.drop_table("cards")
    with op.batch_alter_table("voids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voids_record_id"))

    op.drop_table("voids")
    with op.batch_alter_table("status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_changes_seq"))
        batch_op.drop_index(batch_op.f("ix_status_changes_card_serial"))

    op.drop_table("status_changes")
    op.drop_table("programs")
    op.drop_table("clerks")
    with op.batch_alter_table("citizens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizens_region"))
        batch_op.drop_index(batch_op.f("ix_citizens_kk_number"))

    op.drop_table("citizens")
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_terminals_region"))

    op.drop_table("terminals")
    op.drop_table("status_deltas")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redemptions_ledger_id"))
        batch_op.drop_index("ix_redemptions_card_counter")

    op.drop_table("redemptions")
    op.drop_table("issuer_keys")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_region"))

    op.drop_table("households")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flags_resolved"))
        batch_op.drop_index(batch_op.f("ix_flags_card_serial"))

    op.drop_table("flags")
    op.drop_table("failure_events")
    op.drop_table("counters")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("agencies")
