"""Batch issuance on several readers at once (kartu.issuance.IssuanceStation.issue_parallel), with
in-process reference cards: one thread per reader, every citizen issued once, a reader whose card does
not come leaves the batch and its citizen goes to another, figures per reader."""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from card_applet_spec import constants as c
from card_applet_spec.reference_card import ReferenceCard
from kartu.issuance import BatchProgress, IssuanceStation, IssueRequest, ReaderSlot
from server_stub.keys import KeyRing
from server_stub.models import Card
from server_stub.services import bulk_import
from server_stub.services.context import REGISTRAR, Actor, Ctx
from terminal.card.connection import Connection, InProcessConnection
from tests.server.conftest import T0, server_settings
from tests.server.helpers import PIN

HEADER = "nik,kk_number,name,birth_date,sex,address,welfare_decile,occupation"
#: Six adults of one household (decile 3), NIK serials 1-6.
NIKS = [f"62710112058000{i:02d}" for i in range(1, 7)]


def station_with_citizens(tmp_path: Path) -> IssuanceStation:
    """A station on its own SQLite file (the threads need a real database, not the test's one
    connection), with the six citizens imported."""
    seq = itertools.count(1)
    station = IssuanceStation(
        server_settings(tmp_path), clock=lambda: T0, rng=lambda n: next(seq).to_bytes(n, "big")
    )
    rows = [
        f"{nik},6271010101200001,Warga {nik[-2:]},1980-05-12,L,Jl. Kahayan No. 1,3,farmer" for nik in NIKS
    ]
    with station.sessions() as session:
        ctx = Ctx(session=session, settings=station.settings, keys=KeyRing(station.settings.key_seed),
                  actor=Actor("station", "test", REGISTRAR), clock=lambda: T0)  # fmt: skip
        assert bulk_import.import_citizens(ctx, io.BytesIO("\n".join([HEADER, *rows]).encode())).committed
        session.commit()
    return station


def in_process_slot(name: str, cards: list[ReferenceCard], start: threading.Barrier | None) -> ReaderSlot:
    """A reader that gets a new blank reference card each time (waiting at ``start`` the first time, so
    every reader has taken a citizen before any personalises)."""
    first = [True]

    def next_card() -> Connection:
        if first[0] and start is not None:
            first[0] = False
            start.wait(timeout=10)
        counter = itertools.count(1)
        seed = 1000 * (len(cards) + 1) + ord(name[-1])
        card = ReferenceCard(rng=lambda n: (seed * 1_000_003 + next(counter)).to_bytes(n, "big"))
        cards.append(card)
        return InProcessConnection(card)

    return ReaderSlot(name, next_card)


def test_two_readers_issue_every_citizen_once(tmp_path: Path) -> None:
    station = station_with_citizens(tmp_path)
    start = threading.Barrier(2)
    cards_a: list[ReferenceCard] = []
    cards_b: list[ReferenceCard] = []
    seen: list[BatchProgress] = []
    outcomes, figures = station.issue_parallel(
        [IssueRequest(nik, PIN) for nik in NIKS],
        [in_process_slot("reader A", cards_a, start), in_process_slot("reader B", cards_b, start)],
        seen.append,
    )
    assert [o.error for o in outcomes] == [None] * 6
    assert [o.nik_masked[-4:] for o in outcomes] == [nik[-4:] for nik in NIKS]  # in request order
    assert (figures.cards, figures.issued, figures.failed) == (6, 6, 0)
    assert figures.per_reader["reader A"] >= 1 and figures.per_reader["reader B"] >= 1
    assert sum(figures.per_reader.values()) == 6 == len(cards_a) + len(cards_b)
    assert [p.done for p in seen] == [1, 2, 3, 4, 5, 6] and {p.reader for p in seen} == {
        "reader A",
        "reader B",
    }
    assert all(card.state.life_cycle == c.LifeCycle.OPERATIONAL for card in cards_a + cards_b)
    with station.sessions() as session:
        states = session.scalars(select(Card.state)).all()
        assert sorted(states) == ["active"] * 6
        assert len({o.result.serial for o in outcomes if o.result}) == 6


def test_a_reader_without_cards_leaves_and_the_others_finish(tmp_path: Path) -> None:
    station = station_with_citizens(tmp_path)
    cards: list[ReferenceCard] = []

    def no_card() -> Connection:
        raise TimeoutError("no card on the reader")

    broken = ReaderSlot("broken", no_card)
    outcomes, figures = station.issue_parallel(
        [IssueRequest(nik, PIN) for nik in NIKS[:3]], [broken, in_process_slot("good", cards, None)]
    )
    assert [o.error for o in outcomes] == [None] * 3
    assert figures.per_reader == {"broken": 0, "good": 3}
    # no reader at all that works: every citizen is reported, none silently dropped
    outcomes, figures = station.issue_parallel([IssueRequest(nik, PIN) for nik in NIKS[3:]], [broken])
    assert [o.error.code for o in outcomes if o.error] == ["no_reader"] * 3
    assert (figures.issued, figures.failed) == (0, 3)


def test_a_failing_card_does_not_stop_the_batch(tmp_path: Path) -> None:
    station = station_with_citizens(tmp_path)
    cards: list[ReferenceCard] = []
    requests = [IssueRequest(NIKS[0], PIN), IssueRequest("6271019999990001", PIN), IssueRequest(NIKS[1], PIN)]
    release: Callable[[], None] = lambda: None  # noqa: E731
    slot = in_process_slot("one", cards, None)
    outcomes, figures = station.issue_parallel(requests, [ReaderSlot("one", slot.next_card, release)])
    assert [o.error is None for o in outcomes] == [True, False, True]
    assert (figures.issued, figures.failed) == (2, 1)
