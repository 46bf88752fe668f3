"""The server's tables: SQLAlchemy 2 typed ORM. Schema changes go through Alembic (``migrations/``).

Times are Unix seconds (integers), the clock of the card records; ``month`` columns hold the WIB
(UTC+7) calendar month ``YYYY-MM`` of the event so the transparency figures group portably on SQLite
and PostgreSQL. Card serials are 16 lowercase hex digits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON}


class Counter(Base):
    """Named monotonic counters (status-list sequence, status index, trust-list version)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Agency(Base):
    __tablename__ = "agencies"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class ProgramRow(Base):
    __tablename__ = "programs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    kind: Mapped[int] = mapped_column(Integer)
    unit: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Household(Base):
    __tablename__ = "households"
    kk_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    region: Mapped[int] = mapped_column(Integer, index=True)
    address: Mapped[str] = mapped_column(String(200))
    welfare_decile: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    members: Mapped[list[Citizen]] = relationship(back_populates="household")


class Citizen(Base):
    __tablename__ = "citizens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    region: Mapped[int] = mapped_column(Integer, index=True)
    district: Mapped[int] = mapped_column(Integer)
    kk_number: Mapped[str | None] = mapped_column(ForeignKey("households.kk_number"), index=True)
    occupation: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    household: Mapped[Household | None] = relationship(back_populates="members")
    eligibility: Mapped[list[Eligibility]] = relationship(
        cascade="all, delete-orphan", order_by="Eligibility.program_id"
    )


class Eligibility(Base):
    __tablename__ = "eligibility"
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # "rules" | "manual"
    reason: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[int] = mapped_column(BigInteger)


class IssuerKey(Base):
    """An issuer signing key (public part; the private key is derived from the key seed / HSM)."""

    __tablename__ = "issuer_keys"
    kid: Mapped[str] = mapped_column(String(16), primary_key=True)  # hex of the 8-byte key id
    generation: Mapped[int] = mapped_column(Integer, unique=True)
    point: Mapped[bytes] = mapped_column(LargeBinary(65))
    #: New credentials are signed with it from ``issue_from`` up to ``issue_until`` (None: open).
    issue_from: Mapped[int] = mapped_column(BigInteger)
    issue_until: Mapped[int | None] = mapped_column(BigInteger)
    #: Credentials it signed verify up to ``verify_until`` (None: open).
    verify_until: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Card(Base):
    __tablename__ = "cards"
    serial: Mapped[str] = mapped_column(String(16), primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    status_index: Mapped[int] = mapped_column(Integer, unique=True)
    #: pending (reserved, personalisation running) | active | suspended | revoked | failed
    state: Mapped[str] = mapped_column(String(16), index=True)
    card_key: Mapped[bytes | None] = mapped_column(LargeBinary(33))
    credential: Mapped[bytes | None] = mapped_column(LargeBinary)
    issuer_kid: Mapped[str] = mapped_column(String(16))
    region: Mapped[int] = mapped_column(Integer, index=True)
    status_seq: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    month: Mapped[str] = mapped_column(String(7))
    replaces: Mapped[str | None] = mapped_column(String(16))
    replaced_by: Mapped[str | None] = mapped_column(String(16))
    state_reason: Mapped[str | None] = mapped_column(String(200))
    citizen: Mapped[Citizen] = relationship()


class Grant(Base):
    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("card_serial", "program_id", "grant_seq", name="uq_grants_card_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_serial: Mapped[str] = mapped_column(ForeignKey("cards.serial"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    grant_seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[int] = mapped_column(Integer)
    unit: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    month: Mapped[str] = mapped_column(String(7))  # WIB month of valid_from (transparency)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    kid: Mapped[str] = mapped_column(String(16))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    #: Loaded on the card (at issuance, or acknowledged by a terminal).
    delivered: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class StatusCommand(Base):
    """An issuer-signed StatusBody for a card (block / unblock / terminate) waiting for its next tap."""

    __tablename__ = "status_commands"
    __table_args__ = (UniqueConstraint("card_serial", "status_seq", name="uq_status_commands_card_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_serial: Mapped[str] = mapped_column(ForeignKey("cards.serial"), index=True)
    new_state: Mapped[int] = mapped_column(Integer)
    status_seq: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    kid: Mapped[str] = mapped_column(String(16))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    acked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)


class StatusDeltaRow(Base):
    """One step of the status list: ``seq`` (from ``seq - 1``), the list size after it, its time.
    A step may carry no change at all (the list grew, or a heartbeat refreshing the data's age)."""

    __tablename__ = "status_deltas"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    #: The signed delta (province.statuslist.build_delta), cached once built.
    signed: Mapped[bytes | None] = mapped_column(LargeBinary)


class StatusChange(Base):
    """A card's status-list value set by status step ``seq``."""

    __tablename__ = "status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(ForeignKey("status_deltas.seq"), index=True)
    status_index: Mapped[int] = mapped_column(Integer)
    card_serial: Mapped[str] = mapped_column(String(16), index=True)
    value: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[int] = mapped_column(BigInteger)


class Terminal(Base):
    __tablename__ = "terminals"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    site: Mapped[str] = mapped_column(String(128))
    region: Mapped[int] = mapped_column(Integer, index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(65))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    pin_reset: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    enrolled_at: Mapped[int] = mapped_column(BigInteger)
    enrolled_by: Mapped[str] = mapped_column(String(80))
    #: The token stops working at this time (a terminal renews it before: ``POST /v1/sync/token``).
    token_expires_at: Mapped[int] = mapped_column(BigInteger)
    #: The token a rotation replaced: accepted until ``previous_token_until`` or the new one's first use.
    previous_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_token_until: Mapped[int | None] = mapped_column(BigInteger)


class EnrolmentCode(Base):
    """A one-time enrolment code an administrator issued for one terminal id. Only the SHA-256 of the
    normalised code is kept; it is used (``used_at``) by one conditional UPDATE, so it works once."""

    __tablename__ = "enrolment_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    terminal_id: Mapped[str] = mapped_column(String(8), index=True)
    site: Mapped[str] = mapped_column(String(128))
    region: Mapped[int] = mapped_column(Integer)
    pin_reset: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_by: Mapped[str | None] = mapped_column(String(80))


class Clerk(Base):
    __tablename__ = "clerks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    agency: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    #: The token stops working at this time (renew: ``POST /v1/admin/me/token``).
    token_expires_at: Mapped[int] = mapped_column(BigInteger)
    previous_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_token_until: Mapped[int | None] = mapped_column(BigInteger)


class AuthThrottle(Base):
    """Failed-authentication counters and lockouts, shared by every server process (``key``:
    ``addr:<ip>``, ``tok:<token hash>``, or an audit budget ``audit:<bucket>``). ``failures`` counts
    within the window that began at ``window_start``; ``blocked`` counts refusals while locked."""

    __tablename__ = "auth_throttle"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[int] = mapped_column(BigInteger)
    blocked: Mapped[int] = mapped_column(Integer)
    lockouts: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CatalogueItem(Base):
    """A job opening, training course or teacher-housing offer in one regency/city."""

    __tablename__ = "catalogue_items"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # job | training | housing
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    region: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200))
    slots: Mapped[int] = mapped_column(Integer)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)


class Interest(Base):
    __tablename__ = "interests"
    interest_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("catalogue_items.id"), index=True)
    card_serial: Mapped[str] = mapped_column(String(16))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    terminal_id: Mapped[str] = mapped_column(String(8))
    registered_at: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(500))


class Redemption(Base):
    """A card-signed transaction record, verified and stored once (``record_id`` = sha256(record)[:32])."""

    __tablename__ = "redemptions"
    __table_args__ = (Index("ix_redemptions_card_counter", "card_serial", "tx_counter"),)
    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    card_serial: Mapped[str] = mapped_column(String(16))
    tx_counter: Mapped[int] = mapped_column(BigInteger)
    tx_type: Mapped[int] = mapped_column(Integer)
    program: Mapped[int] = mapped_column(Integer)
    grant_seq: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    terminal_id: Mapped[str] = mapped_column(String(8))
    terminal_time: Mapped[int] = mapped_column(BigInteger)
    record: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(8))
    ledger_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    received_at: Mapped[int] = mapped_column(BigInteger)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    void_reason: Mapped[str | None] = mapped_column(String(256))


class Void(Base):
    __tablename__ = "voids"
    void_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("redemptions.record_id"), index=True)
    reason: Mapped[str] = mapped_column(String(256))
    clerk_id: Mapped[str] = mapped_column(String(64))
    terminal_id: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[int] = mapped_column(BigInteger)


class Flag(Base):
    """A suspicion raised by ingest (clone, replay, card in two places) for review."""

    __tablename__ = "flags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_serial: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(32))
    other_record_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[int] = mapped_column(BigInteger)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution_note: Mapped[str | None] = mapped_column(String(500))


class FailureEvent(Base):
    __tablename__ = "failure_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(8))
    card_serial: Mapped[str | None] = mapped_column(String(16))
    program: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))
    clerk_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[int] = mapped_column(BigInteger)
    region: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    received_at: Mapped[int] = mapped_column(BigInteger)


class StatusKeyRow(Base):
    """A status-list signing key (public part; the private key is in the key store as ``status-N``).
    It signs status data issued (signed ``issued_at``) from ``sign_from`` up to ``sign_until``."""

    __tablename__ = "status_keys"
    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kid: Mapped[str] = mapped_column(String(16), unique=True)
    point: Mapped[bytes] = mapped_column(LargeBinary(65))
    sign_from: Mapped[int] = mapped_column(BigInteger)
    sign_until: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


class SignedTrustList(Base):
    """A trust list signed by the offline root at a ceremony and uploaded by an administrator; served
    from its ``issued_at`` on (the newest ``seq`` already issued wins)."""

    __tablename__ = "signed_trust_lists"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    issued_at: Mapped[int] = mapped_column(BigInteger, index=True)
    signed: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(80))
