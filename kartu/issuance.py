"""The issuance station: personalise blank cards with a server-signed credential and grants.

``IssuanceStation(settings)`` works on the server's database and issuer keys (the station runs next to
the server or holds its own replica of the issuer key). Each card is: reserved in the database (serial,
status index; committed), personalised over a :class:`~terminal.card.connection.Connection` with
:func:`terminal.personalise.personalise`, then recorded as active with its card key, credential and
the grants written onto it (a reissue also revokes the old card there, in the same transaction).
A personalisation that fails marks the reservation ``failed`` and raises :class:`IssuanceError`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from server_stub import db
from server_stub.errors import DomainError
from server_stub.keys import KeyRing
from server_stub.services import cards
from server_stub.services.cards import CardView, IssuePlan
from server_stub.services.context import REGISTRAR, Actor, Ctx
from server_stub.services.reference import ensure_reference_data
from server_stub.settings import Settings
from terminal.card.connection import Connection
from terminal.card.session import KhbsSession
from terminal.personalise import personalise


class IssuanceError(Exception):
    """Issuing one card failed; ``code`` is stable (a DomainError's code, or ``card_error``)."""

    def __init__(self, code: str, message: str, serial: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.serial = serial


@dataclass(frozen=True)
class IssueResult:
    serial: str
    card: CardView
    replaced: str | None = None
    carried: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IssueJob:
    """One card of a batch: ``connect()`` opens the connection to the blank card (e.g. after the
    operator puts it on the reader)."""

    connect: Callable[[], Connection]
    nik: str
    pin: str


@dataclass(frozen=True)
class BatchProgress:
    done: int
    total: int
    nik_masked: str
    ok: bool
    serial: str | None
    error: str | None


@dataclass(frozen=True)
class BatchOutcome:
    nik_masked: str
    result: IssueResult | None
    error: IssuanceError | None


def _now() -> int:
    return int(time.time())


class IssuanceStation:
    def __init__(
        self,
        settings: Settings,
        *,
        sessions: sessionmaker[Session] | None = None,
        station: str = "issuance-station",
        clock: Callable[[], int] = _now,
        rng: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.settings = settings
        if sessions is None:
            engine = db.make_engine(settings)
            if settings.run_migrations:
                db.migrate(engine)
            sessions = db.session_factory(engine)
        self.sessions = sessions
        self.keys = KeyRing(settings.key_seed)
        self.actor = Actor("station", station, REGISTRAR)
        self.clock = clock
        self.rng = rng
        with self.sessions() as session:
            ensure_reference_data(self._ctx(session))
            session.commit()

    def _ctx(self, session: Session) -> Ctx:
        return Ctx(
            session=session, settings=self.settings, keys=self.keys, actor=self.actor, clock=self.clock
        )

    def _in_tx(self, fn: Callable[[Ctx], object]) -> object:
        with self.sessions() as session:
            try:
                out = fn(self._ctx(session))
                session.commit()
            except DomainError as err:
                session.rollback()
                raise IssuanceError(err.code, err.message) from err
            except BaseException:
                session.rollback()
                raise
        return out

    def issue(self, connection: Connection, *, nik: str, pin: str) -> IssueResult:
        """Issue a first card for a registered citizen."""
        plan = self._in_tx(lambda ctx: cards.plan_issue(ctx, nik=nik, rng=self.rng))
        assert isinstance(plan, IssuePlan)
        return self._personalise(connection, plan, pin, reason="")

    def reissue(self, connection: Connection, *, old_serial: str, pin: str, reason: str) -> IssueResult:
        """Replace a lost or stolen card: new serial, remaining entitlements carried over, old card
        revoked (status list + signed TERMINATE command)."""
        if not reason.strip():
            raise IssuanceError("reason_required", "a reissue needs a reason (lost, stolen, damaged...)")

        def plan_it(ctx: Ctx) -> IssuePlan:
            old = cards.load_card(ctx, old_serial)
            return cards.plan_issue(ctx, nik=old.citizen.nik, replaces=old.serial, rng=self.rng)

        plan = self._in_tx(plan_it)
        assert isinstance(plan, IssuePlan)
        return self._personalise(connection, plan, pin, reason=f"replaced: {reason.strip()}")

    def _personalise(self, connection: Connection, plan: IssuePlan, pin: str, reason: str) -> IssueResult:
        try:
            issued = personalise(
                KhbsSession(connection),
                serial=plan.serial,
                holder=plan.holder,
                pin=pin,
                issuer=self.keys.issuer(plan.issuer_generation),
                status_index=plan.status_index,
                issued_at=plan.issued_at,
                expires_at=plan.expires_at,
                extra_issuer_points=plan.extra_issuer_points,
                grants=plan.grants,
                holder_salt=self.rng(16),  # SPEC §4.4: stays on the card, in the PIN-protected DF26
            )
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            self._in_tx(lambda ctx: cards.fail_issue(ctx, plan.serial, message))
            raise IssuanceError("card_error", message, plan.serial.hex()) from exc
        view = self._in_tx(lambda ctx: cards.complete_issue(ctx, plan, issued, reason=reason))
        assert isinstance(view, CardView)
        return IssueResult(plan.serial.hex(), view, plan.replaces, dict(plan.carried))

    def issue_batch(
        self, jobs: Sequence[IssueJob], progress: Callable[[BatchProgress], None] | None = None
    ) -> list[BatchOutcome]:
        """Issue many cards; one failure does not stop the batch. ``progress`` after every card."""
        from card_applet_spec.redaction import mask_nik

        outcomes: list[BatchOutcome] = []
        for done, job in enumerate(jobs, start=1):
            masked = mask_nik(job.nik) if len(job.nik) == 16 else "?"
            try:
                connection = job.connect()
                try:
                    result = self.issue(connection, nik=job.nik, pin=job.pin)
                finally:
                    connection.close()
                outcomes.append(BatchOutcome(masked, result, None))
            except IssuanceError as err:
                outcomes.append(BatchOutcome(masked, None, err))
            except Exception as exc:  # the reader or the card connection: reported, batch goes on
                outcomes.append(BatchOutcome(masked, None, IssuanceError("card_error", str(exc))))
            last = outcomes[-1]
            if progress is not None:
                progress(
                    BatchProgress(
                        done,
                        len(jobs),
                        masked,
                        last.result is not None,
                        last.result.serial if last.result else None,
                        str(last.error) if last.error else None,
                    )
                )
        return outcomes
