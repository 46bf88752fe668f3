"""Request and response bodies at the HTTP edge (pydantic). Binary values travel as base64 text.

A service's frozen dataclass view that is already the wire shape (``CardView``, ``CitizenView``, ...) is
the response model itself (FastAPI serialises stdlib dataclasses through pydantic): an ``...Out`` model
here is only an envelope (a list, a token with the terminal) or a shape that differs from the view
(base64 for bytes, the NIK check, the sync answers built by the routes)."""

from __future__ import annotations

import binascii
import datetime as dt
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from server_stub.services.access import ClerkView, TerminalView
from server_stub.services.catalogue import InterestView, ItemView
from server_stub.services.enrolment_codes import CodeView
from server_stub.services.flags import FlagView
from server_stub.services.issuer import IssuerKeyView
from server_stub.services.programs import AgencyView, ProgramView
from server_stub.services.registry import CitizenView

NO_NUL = r"^[^\x00]*$"


def chars(max_length: int, min_length: int = 0) -> StringConstraints:
    """Length limits for free text without NUL: ``Annotated[str, chars(64, 1)]``."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)


Serial = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
TerminalId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{8}$")]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
B64 = Annotated[str, StringConstraints(max_length=4096, pattern=NO_NUL)]
U32 = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
Time = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
Id = Annotated[int, Field(ge=0, le=(1 << 31) - 1)]
Region = Annotated[int, Field(ge=0, le=9999)]
ProgramId = Annotated[int, Field(ge=1, le=8)]
NikText = Annotated[str, chars(32, 1)]


def b64decode(value: str) -> bytes | None:
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def b64(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(Out):
    code: str
    message: str


class ErrorOut(Out):
    error: ErrorBody


# --- sync ----------------------------------------------------------------------------------------


class SignedOut(Out):
    seq: int
    issued_at: int
    size: int
    signed: str = Field(description="base64 of the signed publication (COSE_Sign1)")


class TrustListOut(Out):
    version: int
    issued_at: int
    signed: str
    root_public_key: str = Field(description="hex SEC1 point of the trust-list root (pin it on the terminal)")


class DeltaOut(Out):
    seq: int
    signed: str


class DeltasOut(Out):
    since: int
    seq: int
    deltas: list[DeltaOut]


class PendingGrantOut(Out):
    id: int
    card_serial: str
    program: int
    grant_seq: int
    body: str
    kid: str
    signature: str


class PendingStatusOut(Out):
    id: int
    card_serial: str
    new_state: int
    status_seq: int
    body: str
    kid: str
    signature: str


class PendingOut(Out):
    grants: list[PendingGrantOut]
    status_commands: list[PendingStatusOut]


class AckIn(Model):
    grants: list[Id] = Field(default_factory=list, max_length=1000)
    status_commands: list[Id] = Field(default_factory=list, max_length=1000)


class AckOut(Out):
    grants: int
    status_commands: int


class ItemsOut(Out):
    items: list[ItemView]


# One record of an upload. A TypedDict, not a model: a batch has up to 2000 of them, and a model instance
# is three objects (itself, its __dict__, its fields-set) that live through the request and so end up in
# the GC's old generation, which every full collection walks; a dict of strings is one object the GC
# soon stops tracking. Validation and OpenAPI schema are the same; absent optional keys read as None /
# False (voided).
@with_config(ConfigDict(extra="forbid"))
class RecordItemIn(TypedDict):
    record_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    record: B64
    signature: B64
    card_serial: Serial
    terminal_id: TerminalId
    ledger_id: NotRequired[Annotated[str, chars(64)] | None]
    kind: NotRequired[Annotated[str, chars(32)] | None]
    voided: NotRequired[Annotated[bool, Field(json_schema_extra={"default": False})]]
    void_reason: NotRequired[Annotated[str, chars(256)] | None]


class RecordsIn(Model):
    records: list[RecordItemIn] = Field(max_length=2000)


class RecordResultOut(Out):
    record_id: str
    result: Literal["stored", "duplicate", "flagged", "rejected"]
    reason: str | None
    flags: list[str]


class RecordsOut(Out):
    results: list[RecordResultOut]
    stored: int
    duplicate: int
    flagged: int
    rejected: int


class VoidItemIn(Model):
    void_id: ClientId
    ledger_id: Annotated[str, chars(64, 1)]
    record_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = None
    reason: Annotated[str, chars(256, 1)]
    clerk_id: Annotated[str, chars(64)]
    created_at: Annotated[float, Field(ge=0, le=0xFFFFFFFF)]


class VoidsIn(Model):
    voids: list[VoidItemIn] = Field(max_length=2000)


class FailureItemIn(Model):
    event_id: ClientId
    occurred_at: Annotated[float, Field(ge=0, le=0xFFFFFFFF)]
    card_serial: Serial | None = None
    program: Annotated[int, Field(ge=0, le=255)] | None = None
    reason: Annotated[str, chars(64, 1)]
    detail: Annotated[str, chars(500)] | None = None
    clerk_id: Annotated[str, chars(64)] | None = None


class FailuresIn(Model):
    events: list[FailureItemIn] = Field(max_length=2000)


class InterestItemIn(Model):
    interest_id: ClientId
    item_id: Annotated[str, chars(32, 1)]
    card_serial: Serial
    registered_at: Time
    note: Annotated[str, chars(500)] | None = None


class InterestsIn(Model):
    interests: list[InterestItemIn] = Field(max_length=2000)


class ItemResultOut(Out):
    id: str
    result: Literal["stored", "duplicate", "rejected"]
    reason: str | None = None


class BatchOut(Out):
    results: list[ItemResultOut]
    stored: int
    duplicate: int
    rejected: int


# --- public --------------------------------------------------------------------------------------


class ReceiptIn(Model):
    payload: Annotated[str, chars(2000, 1)]


class HealthOut(Out):
    status: str
    backend: str


# --- admin ---------------------------------------------------------------------------------------


class MeOut(Out):
    actor: str
    role: str
    agency: str | None


class ClerkIn(Model):
    username: Annotated[str, chars(64, 1)]
    role: Annotated[str, chars(32, 1)]
    agency: Annotated[str, chars(16)] | None = None


class ClerkCreatedOut(Out):
    clerk: ClerkView
    token: str


class ClerksOut(Out):
    clerks: list[ClerkView]


class TerminalIn(Model):
    terminal_id: Annotated[str, chars(8, 1)]
    site: Annotated[str, chars(128, 1)]
    region: Region
    public_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{130}$")]
    pin_reset: bool = False


class EnrolmentOut(Out):
    terminal: TerminalView
    token: str
    certificate: str | None
    receipt_certificate: str


class TerminalsOut(Out):
    terminals: list[TerminalView]


class EnrolmentCodeIn(Model):
    terminal_id: Annotated[str, chars(8, 1)]
    site: Annotated[str, chars(128, 1)]
    region: Region
    pin_reset: bool = False
    valid_hours: Annotated[int, Field(ge=1, le=168)] = 72


class EnrolmentCodesOut(Out):
    codes: list[CodeView]


class CodeEnrolIn(Model):
    code: Annotated[str, chars(64, 1)]
    public_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{130}$")]


class CodeEnrolmentOut(EnrolmentOut):
    server_time: int
    trust_list_url: str


class NikIn(Model):
    nik: NikText


class NikOut(Out):
    valid: bool
    masked: str
    region: int
    region_name: str
    district: int
    sex: str
    birth_date: str


class HouseholdIn(Model):
    kk_number: Annotated[str, chars(32, 1)]
    address: Annotated[str, chars(200)]
    welfare_decile: Annotated[int, Field(ge=1, le=10)]


class KkIn(Model):
    kk_number: Annotated[str, chars(32, 1)]


class CitizenIn(Model):
    nik: NikText
    name: Annotated[str, chars(100, 1)]
    kk_number: Annotated[str, chars(32)] | None = None
    occupation: Annotated[str, chars(32, 1)]


class CitizensOut(Out):
    citizens: list[CitizenView]
    total: int


class EligibilityIn(Model):
    nik: NikText
    program: ProgramId
    eligible: bool
    reason: Annotated[str, chars(200, 1)]


class ProgramsOut(Out):
    programs: list[ProgramView]


class AgenciesOut(Out):
    agencies: list[AgencyView]


class Rules(Model):
    min_age: Annotated[int, Field(ge=0, le=150)] | None = None
    max_age: Annotated[int, Field(ge=0, le=150)] | None = None
    max_decile: Annotated[int, Field(ge=1, le=10)] | None = None
    occupations: list[Annotated[str, chars(32)]] | None = Field(default=None, max_length=20)
    sex: Literal["L", "P"] | None = None
    regions: list[Region] | None = Field(default=None, max_length=14)


class ProgramPatchIn(Model):
    amount: U32 | None = None
    period: Literal["monthly", "yearly", "once"] | None = None
    rules: Rules | None = None


class PeriodGrantsIn(Model):
    valid_from: U32
    valid_until: U32
    amount: U32 | None = None


class CreatedOut(Out):
    created: int


class ItemIn(Model):
    kind: Literal["job", "training", "housing"]
    region: Region
    title: Annotated[str, chars(200, 1)]
    organisation: Annotated[str, chars(200)]
    location: Annotated[str, chars(200)]
    slots: Annotated[int, Field(ge=0, le=1_000_000)]
    opens_on: dt.date
    closes_on: dt.date
    details: Annotated[str, chars(4000)] = ""


class InterestsOut(Out):
    interests: list[InterestView]


class ReasonIn(Model):
    reason: Annotated[str, chars(200, 1)]


class IssuerKeysOut(Out):
    keys: list[IssuerKeyView]


class RotateIn(Model):
    overlap_days: Annotated[int, Field(ge=0, le=3650)] = 30


class FlagsOut(Out):
    flags: list[FlagView]


class NoteIn(Model):
    note: Annotated[str, chars(500, 1)]


class AuditEntryOut(Out):
    id: int
    at: int
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


class AuditOut(Out):
    entries: list[AuditEntryOut]
