"""Request and response bodies at the HTTP edge (pydantic). Binary values travel as base64 text.

A service's frozen dataclass view that is already the wire shape (``CardView``, ``CitizenView``, ...) is
the response model itself (FastAPI serialises stdlib dataclasses through pydantic): an ``...Out`` model
here is only an envelope (a list, a token with the terminal) or a shape that differs from the view
(base64 for bytes, the NIK check, the sync answers built by the routes)."""

from __future__ import annotations

import binascii
import datetime as dt
import re
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from card_applet_spec.constants import REGIONS
from card_applet_spec.names import NAME_PATTERN
from server_stub.services.access import ClerkView, TerminalView
from server_stub.services.catalogue import InterestView, ItemView
from server_stub.services.context import CLERK_ROLES
from server_stub.services.enrolment_codes import CodeView
from server_stub.services.flags import FlagView
from server_stub.services.issuer import IssuerKeyView
from server_stub.services.programs import AgencyView, ProgramView
from server_stub.services.reference import AGENCIES, OCCUPATIONS
from server_stub.services.registry import CitizenView

NO_NUL = r"^[^\x00]*$"


def chars(max_length: int, min_length: int = 0) -> StringConstraints:
    """Length limits for free text without NUL: ``Annotated[str, chars(64, 1)]``."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)


def documented(**keywords: Any) -> Any:
    """JSON Schema keywords of a rule the service enforces itself, with its own typed error (an
    ``invalid_nik`` with the NIK's problem, an ``invalid_region``, ...): the schema says what is accepted,
    the service says why something is not. Overrides the ``pattern`` of :func:`chars`."""
    return Field(json_schema_extra=keywords)


def _spaced(digits_pattern: str) -> str:
    """A pattern over digits, with the spaces and dots the service ignores allowed around each digit."""
    sep = r"[ .]*"
    return "^" + sep + re.sub(r"(\[[^\]]*\]|\d)", lambda m: m.group(1) + sep, digits_pattern) + "$"


_REGION = "62(0[1-9]|1[0-3]|71)"  # the 14 regency/city codes of Kalimantan Tengah (REGIONS)
_DISTRICT = "(0[1-9]|[1-9][0-9])"
#: Birth date DDMMYY (women: day + 40), every date of some century: 29 February in years divisible by 4.
_BIRTH = (
    "((0[1-9]|1[0-9]|2[0-8]|4[1-9]|5[0-9]|6[0-8])(0[1-9]|1[0-2])[0-9][0-9]"
    "|(29|30|69|70)(0[13-9]|1[0-2])[0-9][0-9]"
    "|(31|71)(0[13578]|1[02])[0-9][0-9]"
    "|(29|69)02(0[048]|[2468][048]|[13579][26]))"
)
_NIK_SERIAL = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9][0-9]|[1-9][0-9][0-9][0-9])"
#: A NIK as province.nik.parse_nik accepts it (spaces and dots ignored).
NIK_PATTERN = _spaced(_REGION + _DISTRICT + _BIRTH + _NIK_SERIAL)
#: A family card (KK) number as registry.check_kk accepts it.
KK_PATTERN = _spaced(_REGION + _DISTRICT + "[0-9]" * 10)
#: Free text with something in it besides spaces (and no NUL).
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"

Serial = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
TerminalId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{8}$")]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
B64 = Annotated[str, StringConstraints(max_length=4096, pattern=NO_NUL)]
U32 = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
Time = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
Id = Annotated[int, Field(ge=0, le=(1 << 31) - 1)]
Region = Annotated[int, Field(ge=0, le=9999)]  # a filter: any number (none matches nothing)
#: A regency/city of Kalimantan Tengah, where one is registered (the service: ``invalid_region``).
RegionCode = Annotated[int, Field(ge=0, le=9999), documented(enum=sorted(REGIONS))]
ProgramId = Annotated[int, Field(ge=1, le=8)]
NikText = Annotated[str, chars(32, 1), documented(pattern=NIK_PATTERN)]
KkText = Annotated[str, chars(32, 1), documented(pattern=KK_PATTERN)]
Occupation = Annotated[str, chars(32, 1), documented(enum=list(OCCUPATIONS))]
#: An uncompressed SEC1 P-256 point (the service also checks that it is on the curve).
PublicKeyHex = Annotated[str, StringConstraints(pattern=r"^04[0-9a-fA-F]{128}$")]
TerminalIdIn = Annotated[str, chars(8, 1), documented(pattern=r"^[A-Z0-9]{8}$")]


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
    username: Annotated[str, chars(64, 1), documented(pattern=r"^[a-z0-9_.-]{3,64}$")]
    role: Annotated[str, chars(32, 1), documented(enum=list(CLERK_ROLES))]
    #: an agency_admin's agency, and only theirs
    agency: Annotated[str, chars(16), documented(enum=sorted(AGENCIES))] | None = None


class ClerkCreatedOut(Out):
    clerk: ClerkView
    token: str


class ClerksOut(Out):
    clerks: list[ClerkView]


class TerminalIn(Model):
    terminal_id: TerminalIdIn
    site: Annotated[str, chars(128, 1)]
    region: RegionCode
    public_key: PublicKeyHex
    pin_reset: bool = False


class EnrolmentOut(Out):
    terminal: TerminalView
    token: str
    certificate: str | None
    receipt_certificate: str


class TerminalsOut(Out):
    terminals: list[TerminalView]


class EnrolmentCodeIn(Model):
    terminal_id: TerminalIdIn
    site: Annotated[str, chars(128, 1)]
    region: RegionCode
    pin_reset: bool = False
    valid_hours: Annotated[int, Field(ge=1, le=168)] = 72


class EnrolmentCodesOut(Out):
    codes: list[CodeView]


class CodeEnrolIn(Model):
    code: Annotated[str, chars(64, 1)]
    public_key: PublicKeyHex


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
    kk_number: KkText
    address: Annotated[str, chars(200)]
    welfare_decile: Annotated[int, Field(ge=1, le=10)]


class KkIn(Model):
    kk_number: KkText


class CitizenIn(Model):
    nik: NikText
    #: NFC, no control, format (bidi, zero-width) or markup characters (card_applet_spec.names)
    name: Annotated[str, chars(100, 1), documented(pattern=NAME_PATTERN)]
    kk_number: KkText | None = None
    occupation: Occupation


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
    occupations: list[Occupation] | None = Field(default=None, max_length=20)
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
    region: RegionCode
    title: Annotated[str, chars(200, 1), documented(pattern=NOT_BLANK)]
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
