"""Recording fakes for driving :class:`terminal.counter_flow.CounterFlow` without Qt: the card link, the
worker (jobs run when drained, in order) and the view (the steps it was asked to show)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from terminal.card.connection import CardRemovedError, Connection
from terminal.card.session import KhbsSession
from terminal.counter_flow_types import Step
from terminal.readers import CardInserted


class CountingConnection:
    def __init__(self, inner: Connection) -> None:
        self.inner, self.apdus = inner, 0

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        self.apdus += 1
        return self.inner.send_and_receive(apdu)

    def close(self) -> None:
        self.inner.close()


class Link:
    """The card session of the card in the reader (as kiosk_ui.worker.CardLink, without Qt)."""

    def __init__(self) -> None:
        self.session: KhbsSession | None = None
        self.connection: CountingConnection | None = None

    def open(self, event: CardInserted) -> KhbsSession:
        self.connection = CountingConnection(event.connect())
        self.session = KhbsSession(self.connection)
        return self.session

    def current(self) -> KhbsSession:
        if self.session is None:
            raise CardRemovedError("no card in the reader")
        return self.session

    def close(self) -> None:
        self.session = None


class Queue:
    """The worker: jobs wait until :meth:`drain` runs them in order (as the worker thread would)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[[], Any], Callable[[Any], None], Callable[[BaseException], None]]] = []

    def submit(
        self, work: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[BaseException], None], /
    ) -> None:
        self.jobs.append((work, done, failed))

    def drain(self) -> None:
        while self.jobs:
            work, done, failed = self.jobs.pop(0)
            try:
                result = work()
            except Exception as exc:
                failed(exc)
            else:
                done(result)


@dataclass
class View:
    steps: list[Step] = field(default_factory=list)
    forgotten: int = 0
    status_reads: int = 0

    def show_step(self, step: Step) -> None:
        self.steps.append(step)

    def forget_holder(self) -> None:
        self.forgotten += 1

    def status_changed(self) -> None:
        self.status_reads += 1
