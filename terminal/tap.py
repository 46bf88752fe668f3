"""The check tap: SELECT, read the credential, challenge the card — 3 APDUs, 1 card signature.

Returns the verdict and the holder's entitlements. Card refusals and malformed answers become
INVALID verdicts; a card pulled mid-tap raises CardConnectionError (there is nothing to judge).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from card_applet_spec import constants as c
from terminal.card.errors import (
    ApduError,
    ApplicationNotFoundError,
    MalformedResponseError,
    WrongStateError,
)
from terminal.card.session import AppInfo, KhbsSession, SignedAuth
from terminal.entitlements import Entitlement, entitlements
from terminal.verify import Reason, Result, Verdict, Verifier


@dataclass(frozen=True)
class TapResult:
    result: Result
    info: AppInfo | None = None
    auth: SignedAuth | None = None
    raw_credential: bytes | None = None
    entitlements: tuple[Entitlement, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict

    @property
    def holder_name(self) -> str:
        cred = self.result.credential
        return cred.claims.name if cred else ""

    @property
    def nik_masked(self) -> str:
        cred = self.result.credential
        return cred.claims.nik_masked if cred else ""

    @property
    def card_serial(self) -> bytes | None:
        cred = self.result.credential
        return cred.claims.card_serial if cred else None


def _invalid(reason: Reason, detail: str, info: AppInfo | None = None) -> TapResult:
    return TapResult(Result(Verdict.INVALID, reason, detail), info)


def check_tap(
    session: KhbsSession,
    verifier: Verifier,
    now: float,
    *,
    program: int | None = None,
    challenge: bytes | None = None,
) -> TapResult:
    """Read and verify the card in the reader. ``program`` selects the freshness budget."""
    challenge = challenge if challenge is not None else os.urandom(c.CHALLENGE_LEN)
    try:
        info = session.select()
    except ApplicationNotFoundError:
        return _invalid(Reason.NOT_KHBS_CARD, "not a Kartu Huma Betang card")
    except (ApduError, MalformedResponseError) as exc:
        return _invalid(Reason.MALFORMED, str(exc))
    if info.life_cycle == c.LifeCycle.TERMINATED:
        return _invalid(Reason.CARD_TERMINATED, "card terminated", info)
    if info.life_cycle == c.LifeCycle.PERSONALISATION:
        return _invalid(Reason.NOT_PERSONALISED, "card not personalised", info)
    try:
        raw = session.read_credential()
        auth = session.authenticate(challenge)
    except WrongStateError as exc:
        return _invalid(Reason.NOT_PERSONALISED, str(exc), info)
    except (ApduError, MalformedResponseError) as exc:
        return _invalid(Reason.MALFORMED, str(exc), info)
    # The FCI serial must be the credential's (SPEC §4.6 step 5): absent only before personalisation.
    result = verifier.card(raw, auth, now, program, fci_serial=info.serial or b"")
    if result.verdict is Verdict.INVALID and result.reason in (
        Reason.MALFORMED,
        Reason.NOT_GENUINE,
        Reason.BAD_ISSUER_SIGNATURE,
        Reason.UNKNOWN_ISSUER_KEY,
    ):
        # nothing on this card can be trusted: show no balances
        return TapResult(result, info, auth, raw)
    return TapResult(result, info, auth, raw, entitlements(auth.body, now))
