"""Verification of a tapped card: a typed, three-state verdict (VALID, INVALID(reason), UNKNOWN(reason)).

Checks, in order: the credential parses and has a known schema; the issuer key (by kid) is in the
trust list and was allowed to issue at the credential's ``iat`` and still verifies now; the issuer
signature; that the card is genuine (its signature over *this* terminal's fresh challenge, with the key
bound in the credential — a credential copied to another card, or a replayed answer, fails); expiry;
the card's life-cycle state; revocation status; and finally whether the revocation data is fresh
enough for the purpose. Never a silent VALID on stale or unreadable data.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import Credential, CredentialError, decode_credential
from province.statuslist import CardStatus
from province.trust import SignedDataError
from terminal.ages import age_in_words
from terminal.card.session import SignedAuth, SignedTx
from terminal.revocation import RevocationError, StatusStoreError

CLOCK_SKEW_S = 300


class Verdict(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"


class Reason(enum.Enum):
    # INVALID
    NOT_KHBS_CARD = "not_khbs_card"
    MALFORMED = "malformed"
    UNSUPPORTED_SCHEMA = "unsupported_schema"
    UNKNOWN_ISSUER_KEY = "unknown_issuer_key"
    ISSUER_KEY_NOT_VALID = "issuer_key_not_valid"
    BAD_ISSUER_SIGNATURE = "bad_issuer_signature"
    NOT_GENUINE = "not_genuine"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    CARD_BLOCKED = "card_blocked"
    CARD_TERMINATED = "card_terminated"
    NOT_PERSONALISED = "not_personalised"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    # UNKNOWN
    NO_TRUST_LIST = "no_trust_list"
    NO_REVOCATION_DATA = "no_revocation_data"
    REVOCATION_DATA_STALE = "revocation_data_stale"
    STATUS_INDEX_OUT_OF_RANGE = "status_index_out_of_range"
    CLOCK_WRONG = "clock_wrong"  # the terminal's clock is behind data the server issued
    TRUST_LIST_STALE = "trust_list_stale"  # the trust list is older than the purpose allows
    TRUST_DATA_UNVERIFIED = "trust_data_unverified"  # stored trust list / root does not verify
    STATUS_DATA_UNVERIFIED = "status_data_unverified"  # stored status data does not verify


class IssuerKeyLike(Protocol):
    @property
    def public_key(self) -> ec.EllipticCurvePublicKey: ...
    @property
    def issue_from(self) -> int: ...
    @property
    def issue_until(self) -> int: ...
    @property
    def verify_until(self) -> int: ...


@dataclass(frozen=True)
class IssuerKey:
    public_key: ec.EllipticCurvePublicKey
    issue_from: int
    issue_until: int
    verify_until: int


class IssuerKeys(Protocol):
    """Issuer keys from a verified trust list — ``province.trust.TrustList`` is one."""

    @property
    def issued_at(self) -> int: ...  # when the root signed the list (its age bounds VALID)

    def issuer(self, kid: bytes) -> IssuerKeyLike | None: ...


class TrustSource(Protocol):
    """Port: the terminal's current trust list, read at every tap (``terminal.truststore.TrustStore``;
    raises ``SignedDataError`` when the stored list does not verify with the installed root)."""

    def current(self) -> IssuerKeys | None: ...


@dataclass(frozen=True)
class FixedTrust:
    """A trust source that never changes (tests, tools)."""

    issuers: IssuerKeys | None

    def current(self) -> IssuerKeys | None:
        return self.issuers


class StatusSource(Protocol):
    """Port: the revocation cache."""

    def refresh(self) -> None: ...  # pick up what a sync in another process stored

    def status(self, index: int) -> int: ...  # 0 valid, 1 revoked, 2 suspended

    def age(self, now: float) -> float | None: ...  # seconds since issued; None: no data

    def covers(self, index: int) -> bool: ...


class Freshness(Protocol):
    """Port: how old revocation data may be for a purpose (a program, or None for a plain check tap)."""

    def max_age_s(self, program: int | None) -> float: ...

    def trust_list_max_age_s(self, program: int | None) -> float: ...


STATUS_REVOKED = CardStatus.REVOKED
STATUS_SUSPENDED = CardStatus.SUSPENDED


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    reason: Reason | None = None
    detail: str = ""
    credential: Credential | None = None
    data_age_s: float | None = None
    genuine: bool = False  # issuer signature and the card's own signature both verified

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID


def _invalid(reason: Reason, detail: str, cred: Credential | None = None) -> Result:
    return Result(Verdict.INVALID, reason, detail, cred)


def verify_der(point_or_key: bytes | ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key = (
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point_or_key)
            if isinstance(point_or_key, bytes)
            else point_or_key
        )
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


class Verifier:
    def __init__(
        self, trust: TrustSource | None, statuses: StatusSource | None, freshness: Freshness
    ) -> None:
        self.trust = trust
        self.statuses = statuses
        self.freshness = freshness

    def _signed_credential(self, raw: bytes) -> tuple[Result, IssuerKeyLike | None, IssuerKeys | None]:
        """Decode the credential and check the issuer's signature (not yet its dates or key window)."""
        try:
            cred = decode_credential(raw)
        except CredentialError as exc:
            return _invalid(Reason.MALFORMED, str(exc)), None, None
        if cred.claims.schema != c.CREDENTIAL_SCHEMA_VERSION:
            return _invalid(Reason.UNSUPPORTED_SCHEMA, f"schema {cred.claims.schema}", cred), None, None
        try:
            issuers = self.trust.current() if self.trust is not None else None
        except SignedDataError as exc:  # planted or damaged trust data: no answer, never VALID
            detail = f"trust list does not verify: {exc}"
            return Result(Verdict.UNKNOWN, Reason.TRUST_DATA_UNVERIFIED, detail, cred), None, None
        if issuers is None:
            detail = "no trust list on this terminal"
            return Result(Verdict.UNKNOWN, Reason.NO_TRUST_LIST, detail, cred), None, None
        key = issuers.issuer(cred.kid)
        if key is None:
            detail = f"issuer key {cred.kid.hex()} not trusted"
            return _invalid(Reason.UNKNOWN_ISSUER_KEY, detail, cred), None, issuers
        if not cred.verify(key.public_key):
            return (
                _invalid(Reason.BAD_ISSUER_SIGNATURE, "issuer signature does not verify", cred),
                None,
                issuers,
            )
        return Result(Verdict.VALID, credential=cred), key, issuers

    def card(
        self,
        raw_credential: bytes,
        auth: SignedAuth,
        now: float,
        program: int | None = None,
        *,
        fci_serial: bytes | None = None,
    ) -> Result:
        """Full verdict for a tap.

        Order: credential and issuer signature; the card genuine (its signature over this terminal's
        challenge with the credential's key) — from here the card and its log can be trusted, even
        when it turns out expired or revoked; then key window, expiry, life cycle, revocation and the
        freshness of the revocation data.
        """
        signed, key, issuers = self._signed_credential(raw_credential)
        cred = signed.credential
        if signed.verdict is Verdict.INVALID or cred is None:
            return signed
        if fci_serial is not None and fci_serial != cred.claims.card_serial:  # SPEC §4.6 step 5
            return _invalid(Reason.NOT_GENUINE, "FCI serial differs from the credential", cred)
        if auth.body.card_serial != cred.claims.card_serial:
            return _invalid(Reason.NOT_GENUINE, "card serial differs from the credential", cred)
        if not verify_der(cred.claims.card_key, auth.signature, auth.signed_message()):
            return _invalid(Reason.NOT_GENUINE, "card authentication failed", cred)
        if key is None or issuers is None:  # no trust list: the card answered for its key, issuer unknown
            return signed
        judged = self._judge(cred, key, auth, now, program)
        return replace(self._trust_list_fresh(judged, issuers, now, program), genuine=True)

    def _trust_list_fresh(
        self, result: Result, issuers: IssuerKeys, now: float, program: int | None
    ) -> Result:
        """A VALID verdict also needs the trust list (read once for this tap) young enough for the
        purpose (INVALID stands)."""
        if result.verdict is not Verdict.VALID:
            return result
        age = now - issuers.issued_at
        if age < -CLOCK_SKEW_S:
            detail = f"terminal clock {age_in_words(-age, 'en')} behind the trust list"
            return replace(result, verdict=Verdict.UNKNOWN, reason=Reason.CLOCK_WRONG, detail=detail)
        limit = self.freshness.trust_list_max_age_s(program)
        if age > limit:
            detail = f"trust list {age_in_words(age, 'en')} old, limit {age_in_words(limit, 'en')}"
            return Result(Verdict.UNKNOWN, Reason.TRUST_LIST_STALE, detail, result.credential, age)
        return result

    def _judge(
        self, cred: Credential, key: IssuerKeyLike, auth: SignedAuth, now: float, program: int | None
    ) -> Result:
        claims = cred.claims
        if not key.issue_from <= claims.issued_at <= key.issue_until or now > key.verify_until:
            return _invalid(Reason.ISSUER_KEY_NOT_VALID, "issuer key not valid for this credential", cred)
        if now > claims.expires_at:
            return _invalid(Reason.EXPIRED, "card expired", cred)
        if now + CLOCK_SKEW_S < claims.issued_at:
            return _invalid(Reason.NOT_YET_VALID, "card issued in the future", cred)
        if auth.body.life_cycle == c.LifeCycle.BLOCKED:
            return _invalid(Reason.CARD_BLOCKED, "card blocked", cred)
        if auth.body.life_cycle != c.LifeCycle.OPERATIONAL:
            return _invalid(Reason.NOT_PERSONALISED, f"card state {auth.body.life_cycle:#04x}", cred)
        return self.revocation(cred, now, program)

    def revocation(self, cred: Credential, now: float, program: int | None) -> Result:
        if self.statuses is None:
            return Result(Verdict.UNKNOWN, Reason.NO_REVOCATION_DATA, "no revocation data", cred)
        index = cred.claims.status_index
        try:
            self.statuses.refresh()
            age = self.statuses.age(now)
            if age is None:
                return Result(Verdict.UNKNOWN, Reason.NO_REVOCATION_DATA, "no revocation data", cred)
            if not self.statuses.covers(index):
                return Result(Verdict.UNKNOWN, Reason.STATUS_INDEX_OUT_OF_RANGE, f"index {index}", cred, age)
            status = self.statuses.status(index)
        except StatusStoreError as exc:  # planted or damaged status data: no answer, never VALID
            detail = f"revocation data does not verify: {exc}"
            return Result(Verdict.UNKNOWN, Reason.STATUS_DATA_UNVERIFIED, detail, cred)
        except RevocationError as exc:  # a damaged store: no answer, never a crash
            return Result(
                Verdict.UNKNOWN, Reason.NO_REVOCATION_DATA, f"revocation data unreadable: {exc}", cred
            )
        # A revocation seen in old data still stands: only VALID needs fresh data.
        if status == STATUS_REVOKED:
            return Result(Verdict.INVALID, Reason.REVOKED, "card revoked", cred, age)
        if status == STATUS_SUSPENDED:
            return Result(Verdict.INVALID, Reason.SUSPENDED, "card suspended", cred, age)
        if status != CardStatus.VALID:
            return Result(Verdict.UNKNOWN, Reason.NO_REVOCATION_DATA, f"unknown status {status}", cred, age)
        if age < -CLOCK_SKEW_S:
            detail = f"terminal clock {-age / 3600:.1f} h behind the revocation data"
            return Result(Verdict.UNKNOWN, Reason.CLOCK_WRONG, detail, cred, age)
        limit = self.freshness.max_age_s(program)
        if age > limit:
            return Result(
                Verdict.UNKNOWN,
                Reason.REVOCATION_DATA_STALE,
                f"revocation data {age_in_words(age, 'en')} old, limit {age_in_words(limit, 'en')}",
                cred,
                age,
            )
        return Result(Verdict.VALID, None, "", cred, age)


def verify_tx(cred: Credential, tx: SignedTx) -> bool:
    """A transaction record is the card's when its signature verifies under the credential's card key."""
    return tx.record.card_serial == cred.claims.card_serial and verify_der(
        cred.claims.card_key, tx.signature, tx.signed_message()
    )
