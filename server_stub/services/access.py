"""Terminal enrolment and clerk accounts (bearer tokens: ``server_stub.services.credentials``)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.constants import REGIONS
from card_applet_spec.credential import compressed_point
from card_applet_spec.records import ReceiptCertBody, TerminalCertBody
from card_applet_spec.tlv import tlv
from province.receipt_qr import ReceiptCert
from server_stub.errors import Conflict, EnrolmentCodeInvalid, Invalid, NotFound
from server_stub.models import Agency, Clerk, Terminal
from server_stub.repositories import access as repo
from server_stub.repositories import counters
from server_stub.repositories import enrolment_codes as codes
from server_stub.services import audit, lockout
from server_stub.services.context import (
    AGENCY_ADMIN,
    AUDITOR,
    CLERK_ROLES,
    REGISTRAR,
    Ctx,
)
from server_stub.services.credentials import TokenView, hash_token, issue, new_token, renew_after
from server_stub.services.issuer import current_issuer

TERMINAL_ID = re.compile(r"^[A-Z0-9]{8}$")
USERNAME = re.compile(r"^[a-z0-9_.-]{3,64}$")


@dataclass(frozen=True)
class TerminalView:
    terminal_id: str
    site: str
    region: int
    region_name: str
    public_key: str  # hex
    pin_reset: bool
    active: bool
    enrolled_at: int


@dataclass(frozen=True)
class Enrolment:
    terminal: TerminalView
    token: str
    certificate: bytes | None  # PIN-reset certificate (TLV 7F21), when asked for
    receipt_certificate: bytes  # the issuer-certified receipt key (province.receipt_qr.ReceiptCert)


def terminal_view(t: Terminal) -> TerminalView:
    return TerminalView(
        t.id, t.site, t.region, REGIONS[t.region], t.public_key.hex(), t.pin_reset, t.active, t.enrolled_at
    )


def check_point(public_key: bytes) -> bytes:
    if len(public_key) != 65 or public_key[0] != 0x04:
        raise Invalid("public key must be an uncompressed SEC1 P-256 point (65 bytes, 04...)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)
    except ValueError:
        raise Invalid("public key is not a point on P-256") from None
    return public_key


def check_terminal_fields(terminal_id: str, region: int) -> None:
    if not TERMINAL_ID.match(terminal_id):
        raise Invalid("terminal id is 8 characters A-Z/0-9, e.g. T6271001", code="invalid_terminal_id")
    if region not in REGIONS:
        raise Invalid(f"{region} is not a regency/city code of Kalimantan Tengah", code="invalid_region")


def enrol_terminal(
    ctx: Ctx, *, terminal_id: str, site: str, region: int, public_key: bytes, pin_reset: bool
) -> Enrolment:
    """An administrator enrols a terminal directly (its open enrolment codes are revoked)."""
    ctx.actor.require(REGISTRAR)
    check_terminal_fields(terminal_id, region)
    check_point(public_key)
    enrolment = _enrol(
        ctx,
        terminal_id=terminal_id,
        site=site,
        region=region,
        public_key=public_key,
        pin_reset=pin_reset,
        by=ctx.actor.label,
    )
    if codes.revoke_open(ctx.session, terminal_id, ctx.now(), ctx.actor.label):
        audit.record(ctx, "enrolment_code.revoke", terminal_id, reason="enrolled directly")
    return enrolment


# --- one-time enrolment codes --------------------------------------------------------------------

#: Crockford's base32: digits and capitals without I, L, O, U (nothing to confuse, nothing rude).
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16  # 16 x 5 = 80 bits from ``secrets``
_CODE_GROUP = 4
#: What people type for what they read: O for 0, I and L for 1; spaces and hyphens are layout.
_CODE_TYPING = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None, "-": None, "\t": None})
CODE_REFUSED = "terminal.enrol_code_refused"
#: The window over which refused attempts per client are counted in the audit log.
CODE_FAILURE_WINDOW_S = 3600


def new_enrolment_code() -> str:
    """``XXXX-XXXX-XXXX-XXXX``: 80 random bits in Crockford base32."""
    value = secrets.randbits(5 * CODE_LENGTH)
    digits = "".join(CODE_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH)))
    return "-".join(digits[i : i + _CODE_GROUP] for i in range(0, CODE_LENGTH, _CODE_GROUP))


def normalise_code(text: str) -> str | None:
    """The code's canonical form (16 characters of the alphabet), or None when it cannot be one."""
    canonical = text.upper().translate(_CODE_TYPING)
    if len(canonical) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in canonical):
        return None
    return canonical


def hash_code(canonical: str) -> str:
    return hashlib.sha256(b"khbs-enrolment-code:" + canonical.encode("ascii")).hexdigest()


def enrol_with_code(ctx: Ctx, *, code: str, public_key: bytes, client: str) -> Enrolment:
    """A terminal enrols itself with the one-time code an administrator issued (no bearer token: the
    code is the credential). The code is used once, atomically; unknown, used, revoked and expired codes
    get one and the same ``EnrolmentCodeInvalid``, and the refusal is audited per client (``client``:
    its address) so guessing shows in the log. The enrolment is audited as the code's issuer's."""
    check_point(public_key)
    lockout.check(ctx, (lockout.address_key(client),))
    canonical = normalise_code(code)
    claimed = codes.claim(ctx.session, hash_code(canonical), ctx.now()) if canonical else None
    if claimed is None:
        failures = audit.count(ctx, CODE_REFUSED, client, within_s=CODE_FAILURE_WINDOW_S) + 1
        audit.record_as(ctx, f"client:{client}", CODE_REFUSED, client, failures_last_hour=failures)
        # a code that is not one is a guess: it counts against the address like an unknown token
        lockout.failed(ctx, client=client, keys=[(lockout.Scope.ADDRESS, lockout.address_key(client))])
        ctx.session.flush()
        raise EnrolmentCodeInvalid("this enrolment code is not valid: ask the administrator for a new one")
    return _enrol(
        ctx,
        terminal_id=claimed.terminal_id,
        site=claimed.site,
        region=claimed.region,
        public_key=public_key,
        pin_reset=claimed.pin_reset,
        by=claimed.created_by,
        code_client=client,
    )


def _enrol(
    ctx: Ctx,
    *,
    terminal_id: str,
    site: str,
    region: int,
    public_key: bytes,
    pin_reset: bool,
    by: str,
    code_client: str | None = None,
) -> Enrolment:
    """Enrol (fields checked by the caller; ``by``: the actor label audited, ``code_client``: the address
    that presented an enrolment code): a token, the trust list's next version, a PIN-reset
    certificate when asked for. Enrolments serialise on the trust-list version's row lock, taken before
    the look for an existing terminal, so two enrolments of one id give one terminal and one 409."""
    counters.lock(ctx.session, counters.TRUST_VERSION)
    if repo.terminal(ctx.session, terminal_id) is not None:
        raise Conflict(f"terminal {terminal_id} is already enrolled", code="terminal_exists")
    token = new_token("khbs_t")
    t = Terminal(
        id=terminal_id,
        site=site,
        region=region,
        public_key=public_key,
        token_hash=hash_token(token),
        token_expires_at=ctx.now() + ctx.settings.terminal_token_ttl_s,
        pin_reset=pin_reset,
        active=True,
        enrolled_at=ctx.now(),
        enrolled_by=by,
    )
    ctx.session.add(t)
    counters.bump_trust(ctx.session, ctx.now())
    ctx.session.flush()
    certificate = None
    if pin_reset:
        signer = current_issuer(ctx)
        body = TerminalCertBody(
            terminal_id=terminal_id.encode("ascii"),
            roles=int(c.TerminalRole.PIN_RESET),
            valid_until=ctx.now() + ctx.settings.terminal_cert_days * 86400,
            public_key=public_key,
        )
        signed = signer.terminal_cert(body)
        certificate = tlv(
            c.TAG_TERMINAL_CERT,
            tlv(c.TAG_TERMINAL_CERT_BODY, signed.body)
            + tlv(c.TAG_KEY_ID, signed.kid)
            + tlv(c.TAG_SIGNATURE, signed.signature),
        )
    # every terminal signs its receipts with its enrolled key, certified for its id and a window
    now = ctx.now()
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)
    until = now + ctx.settings.terminal_cert_days * 86400
    receipt_body = ReceiptCertBody(terminal_id.encode("ascii"), now, until, compressed_point(point))
    signer = current_issuer(ctx)
    receipt_certificate = ReceiptCert.issue(receipt_body, signer.kid, signer.sign).encode()
    detail: dict[str, object] = {"site": site, "region": region, "pin_reset": pin_reset}
    if code_client is not None:
        detail |= {"via": "enrolment_code", "client": code_client}
    audit.record_as(ctx, by, "terminal.enrol", terminal_id, **detail)
    return Enrolment(terminal_view(t), token, certificate, receipt_certificate)


def list_terminals(ctx: Ctx) -> list[TerminalView]:
    ctx.actor.require(REGISTRAR, AUDITOR)
    return [terminal_view(t) for t in repo.terminals(ctx.session)]


def deactivate_terminal(ctx: Ctx, terminal_id: str) -> TerminalView:
    ctx.actor.require()
    t = repo.terminal(ctx.session, terminal_id)
    if t is None:
        raise NotFound(f"no terminal {terminal_id}")
    if t.active:
        t.active = False  # every token of it stops at the next request (no cached authentication)
        t.previous_token_hash = t.previous_token_until = None
        counters.bump_trust(ctx.session, ctx.now())
        audit.record(ctx, "terminal.deactivate", terminal_id)
    ctx.session.flush()
    return terminal_view(t)


@dataclass(frozen=True)
class ClerkView:
    username: str
    role: str
    agency: str | None
    active: bool
    created_at: int


def create_clerk(ctx: Ctx, *, username: str, role: str, agency: str | None) -> tuple[ClerkView, str]:
    ctx.actor.require()
    if not USERNAME.match(username):
        raise Invalid("username: 3-64 characters a-z 0-9 _ . -", code="invalid_username")
    if role not in CLERK_ROLES:
        raise Invalid(f"role must be one of {', '.join(CLERK_ROLES)}", code="invalid_role")
    if role == AGENCY_ADMIN:
        if agency is None or ctx.session.get(Agency, agency) is None:
            raise Invalid("an agency_admin needs the code of an existing agency", code="invalid_agency")
    elif agency is not None:
        raise Invalid("only an agency_admin belongs to an agency", code="invalid_agency")
    if repo.clerk_by_username(ctx.session, username) is not None:
        raise Conflict(f"clerk {username} exists", code="clerk_exists")
    token = new_token("khbs_c")
    clerk = Clerk(
        username=username,
        role=role,
        agency=agency,
        token_hash=hash_token(token),
        token_expires_at=ctx.now() + ctx.settings.clerk_token_ttl_s,
        active=True,
        created_at=ctx.now(),
    )
    ctx.session.add(clerk)
    ctx.session.flush()
    audit.record(ctx, "clerk.create", username, role=role, agency=agency)
    return ClerkView(username, role, agency, True, clerk.created_at), token


def list_clerks(ctx: Ctx) -> list[ClerkView]:
    ctx.actor.require()
    return [ClerkView(k.username, k.role, k.agency, k.active, k.created_at) for k in repo.clerks(ctx.session)]


def _clerk(ctx: Ctx, username: str) -> Clerk:
    clerk = repo.clerk_by_username(ctx.session, username)
    if clerk is None:
        raise NotFound(f"no clerk {username}")
    return clerk


def deactivate_clerk(ctx: Ctx, username: str) -> ClerkView:
    """The clerk's tokens stop at its next request, in every server process (no cached authentication)."""
    ctx.actor.require()
    clerk = _clerk(ctx, username)
    if clerk.active:
        clerk.active = False
        clerk.previous_token_hash = clerk.previous_token_until = None
        audit.record(ctx, "clerk.deactivate", username)
    ctx.session.flush()
    return ClerkView(clerk.username, clerk.role, clerk.agency, clerk.active, clerk.created_at)


def reissue_clerk_token(ctx: Ctx, username: str) -> TokenView:
    """An administrator gives a clerk a new token (expired, lost or stolen): every old one stops now."""
    ctx.actor.require()
    clerk = _clerk(ctx, username)
    if not clerk.active:
        raise Conflict(f"clerk {username} is deactivated", code="clerk_inactive")
    ttl = ctx.settings.clerk_token_ttl_s
    token = issue(clerk, "khbs_c", now=ctx.now(), ttl_s=ttl, grace_s=0)
    audit.record(ctx, "clerk.token_reissue", username, expires_at=clerk.token_expires_at)
    ctx.session.flush()
    return TokenView(token, clerk.token_expires_at, renew_after(clerk.token_expires_at, ttl))
