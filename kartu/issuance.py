"""The issuance station: personalise blank cards with a server-signed credential and grants.

``IssuanceStation(settings)`` works on the server's database and issuer keys (the station runs next to
the server or holds its own replica of the issuer key). Each card is: reserved in the database (serial,
status index; committed), personalised over a :class:`~terminal.card.connection.Connection` with
:func:`terminal.personalise.personalise`, then recorded as active with its card key, credential and
the grants written onto it (a reissue also revokes the old card there, in the same transaction).
A personalisation that fails marks the reservation ``failed`` and raises :class:`IssuanceError`.

A batch runs on several readers at once (:meth:`IssuanceStation.issue_parallel`): one thread per
:class:`ReaderSlot` takes the next citizen of a shared queue, waits for a blank card on its reader,
personalises it and waits for it to be taken off (:func:`pcsc_slot`). Each card is its own database
transactions, so the threads only share the queue, the outcomes and the progress callback.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from server_stub import db
from server_stub.errors import DomainError
from server_stub.keys import load_keys
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
    reader: str | None = None


@dataclass(frozen=True)
class BatchOutcome:
    nik_masked: str
    result: IssueResult | None
    error: IssuanceError | None
    reader: str | None = None


@dataclass(frozen=True)
class IssueRequest:
    """One citizen of a parallel batch: the reader is whichever is free."""

    nik: str
    pin: str


@dataclass(frozen=True)
class ReaderSlot:
    """One reader of a parallel batch. ``next_card()`` waits for the next blank card on it and opens a
    connection (raises if none comes: the reader leaves the batch); ``release()`` runs after each card
    (e.g. waits until the operator has taken it off, so the same card is not seen twice)."""

    name: str
    next_card: Callable[[], Connection]
    release: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class BatchFigures:
    """What a parallel batch did: cards, time, and cards per reader."""

    cards: int
    issued: int
    failed: int
    seconds: float
    per_reader: dict[str, int]

    @property
    def cards_per_hour(self) -> float:
        return self.issued * 3600 / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_per_card(self) -> float:
        return self.seconds / self.issued if self.issued else 0.0


def pcsc_slot(reader: str, *, timeout: float = 120.0) -> ReaderSlot:
    """A PC/SC reader as a batch slot: wait up to ``timeout`` s for each blank card, and after each
    card until it is taken off."""
    from drivers.pcsc import connect, wait_for_card

    def taken_off() -> None:
        wait_for_card(reader, present=False, timeout=None)

    return ReaderSlot(reader, lambda: connect(reader, timeout=timeout), taken_off)


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
        self.keys = load_keys(settings)  # the server's key store; demo keys only in demo mode
        self.actor = Actor("station", station, REGISTRAR)
        self.clock = clock
        self._rng = rng
        self._rng_lock = threading.Lock()
        with self.sessions() as session:
            ensure_reference_data(self._ctx(session))
            session.commit()

    def rng(self, n: int) -> bytes:
        """``n`` random bytes from the station's source (serialised: batch threads share it)."""
        with self._rng_lock:
            return self._rng(n)

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

    def issue_parallel(
        self,
        requests: Sequence[IssueRequest],
        readers: Sequence[ReaderSlot],
        progress: Callable[[BatchProgress], None] | None = None,
    ) -> tuple[list[BatchOutcome], BatchFigures]:
        """Issue ``requests`` on all ``readers`` at once (one thread each). One card failing does not
        stop the batch; a reader whose card does not come leaves the batch and its citizen goes back to
        the queue for the others (when no reader is left, the rest fail as ``no_reader``). Outcomes in
        the order of ``requests``; ``progress`` after every card (from the reader's thread, serialised).
        """
        from card_applet_spec.redaction import mask_nik

        started = time.perf_counter()
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(len(requests)):
            todo.put(index)
        outcomes: list[BatchOutcome | None] = [None] * len(requests)
        lock = threading.Lock()
        state = {"done": 0, "readers": len(readers), "in_hand": 0}

        def finish(index: int, outcome: BatchOutcome) -> None:
            with lock:
                outcomes[index] = outcome
                state["done"] += 1
                state["in_hand"] -= 1
                if progress is not None:
                    progress(
                        BatchProgress(
                            state["done"],
                            len(requests),
                            outcome.nik_masked,
                            outcome.result is not None,
                            outcome.result.serial if outcome.result else None,
                            str(outcome.error) if outcome.error else None,
                            outcome.reader,
                        )
                    )

        def take() -> int | None:
            """The next citizen; None when none is left nor can come back (another reader's)."""
            while True:
                with lock:
                    try:
                        index = todo.get_nowait()
                    except queue.Empty:
                        if state["in_hand"] == 0:
                            return None
                    else:
                        state["in_hand"] += 1
                        return index
                time.sleep(0.05)

        def work(slot: ReaderSlot) -> None:
            while (index := take()) is not None:
                request = requests[index]
                masked = mask_nik(request.nik) if len(request.nik) == 16 else "?"
                try:
                    connection = slot.next_card()
                except Exception as exc:  # no card came: this reader leaves, the citizen waits for another
                    with lock:
                        state["readers"] -= 1
                        last = state["readers"] == 0
                        if not last:
                            state["in_hand"] -= 1
                            todo.put(index)
                    if last:
                        error = IssuanceError("no_reader", f"no reader left (last: {slot.name}: {exc})")
                        finish(index, BatchOutcome(masked, None, error, slot.name))
                        while (rest := take()) is not None:
                            finish(rest, _no_reader(requests[rest], error))
                    return
                try:
                    try:
                        result = self.issue(connection, nik=request.nik, pin=request.pin)
                    finally:
                        connection.close()
                    outcome = BatchOutcome(masked, result, None, slot.name)
                except IssuanceError as err:
                    outcome = BatchOutcome(masked, None, err, slot.name)
                except Exception as exc:  # the reader or the card connection: reported, batch goes on
                    outcome = BatchOutcome(masked, None, IssuanceError("card_error", str(exc)), slot.name)
                finish(index, outcome)
                slot.release()

        threads = [
            threading.Thread(target=work, args=(slot,), name=f"issue-{slot.name}", daemon=True)
            for slot in readers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done = [o for o in outcomes if o is not None]
        per_reader: dict[str, int] = {slot.name: 0 for slot in readers}
        for o in done:
            if o.result is not None and o.reader is not None:
                per_reader[o.reader] += 1
        issued = sum(per_reader.values())
        figures = BatchFigures(
            len(done), issued, len(done) - issued, time.perf_counter() - started, per_reader
        )
        return done, figures


def _no_reader(request: IssueRequest, error: IssuanceError) -> BatchOutcome:
    from card_applet_spec.redaction import mask_nik

    masked = mask_nik(request.nik) if len(request.nik) == 16 else "?"
    return BatchOutcome(masked, None, error, None)
