"""The PC/SC reader supervisor: its state machine on a fake scard API, then for real with pcscd + vpcd.

The real tests run pcscd in a mount namespace of its own (a private tmpfs on /run/pcscd, ``unshare -m``)
with a private reader.conf.d (vpcd on ports 35991/35992, readers "KHBS Test PCD 00 00/01"). So they can
stop, restart and re-configure *their* pcscd freely — readers unplugged and plugged back, the service
restarted — without touching the machine's shared pcscd that other tests use (it keeps running, with
its socket, throughout). The supervisor under test runs in a child process entered into that namespace
(``nsenter``) and reports its events as JSON lines stamped with CLOCK_MONOTONIC, which is system-wide.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.reader_supervisor import PNP_NOTIFICATION, ReaderSupervisor, wait_until
from terminal.card.connection import Connection
from terminal.readers import (
    CardInserted,
    CardRemoved,
    DemoReaders,
    ReaderEvent,
    ReaderKind,
    ReadersChanged,
    SlotState,
    reader_kind,
)

ROOT = Path(__file__).resolve().parents[1]
RECOVERY_BUDGET_S = 5.0

# ---------------------------------------------------------------------------------------------------
# A fake scard API (hand-written, no mocks): readers, cards and a service that can go away.
# ---------------------------------------------------------------------------------------------------


class FakeScard:
    SCARD_S_SUCCESS = 0
    SCARD_SCOPE_USER = 0
    SCARD_E_TIMEOUT = 0x8010000A
    SCARD_E_CANCELLED = 0x80100002
    SCARD_E_NO_SERVICE = 0x8010001D
    SCARD_E_INVALID_HANDLE = 0x80100003
    SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
    SCARD_E_UNKNOWN_READER = 0x80100009
    SCARD_E_READER_UNAVAILABLE = 0x80100017
    SCARD_STATE_UNAWARE = 0x0
    SCARD_STATE_IGNORE = 0x1
    SCARD_STATE_CHANGED = 0x2
    SCARD_STATE_UNKNOWN = 0x4
    SCARD_STATE_UNAVAILABLE = 0x8
    SCARD_STATE_EMPTY = 0x10
    SCARD_STATE_PRESENT = 0x20
    SCARD_STATE_MUTE = 0x200
    error = RuntimeError

    def __init__(self, *, pnp: bool = True) -> None:
        self.cond = threading.Condition()
        self.up = True
        self.pnp = pnp
        self.generation = 0  # bumps on a service restart: older contexts die
        self.readers: dict[str, tuple[int, bytes]] = {}  # name -> (event counter, atr or b"")
        self.contexts: dict[int, int] = {}
        self.next_context = 100
        self.cancelled: set[int] = set()

    # -- controls --------------------------------------------------------------------------------------
    def _changed(self) -> None:
        self.cond.notify_all()

    def plug(self, name: str) -> None:
        with self.cond:
            self.readers[name] = (0, b"")
            self._changed()

    def unplug(self, name: str) -> None:
        with self.cond:
            self.readers.pop(name, None)
            self._changed()

    def insert(self, name: str, atr: bytes = bytes.fromhex("3B80800101")) -> None:
        with self.cond:
            counter, _ = self.readers[name]
            self.readers[name] = (counter + 1, atr)
            self._changed()

    def remove(self, name: str) -> None:
        with self.cond:
            counter, _ = self.readers[name]
            self.readers[name] = (counter + 1, b"")
            self._changed()

    def service(self, up: bool) -> None:
        with self.cond:
            self.up = up
            if not up:
                self.generation += 1
            self._changed()

    # -- the API -----------------------------------------------------------------------------------------
    def _alive(self, context: int) -> bool:
        return self.up and self.contexts.get(context) == self.generation

    def SCardEstablishContext(self, scope: int) -> tuple[int, int]:
        with self.cond:
            if not self.up:
                return self.SCARD_E_NO_SERVICE, 0
            self.next_context += 1
            self.contexts[self.next_context] = self.generation
            return 0, self.next_context

    def SCardReleaseContext(self, context: int) -> int:
        with self.cond:
            self.contexts.pop(context, None)
            return 0

    def SCardCancel(self, context: int) -> int:
        with self.cond:
            self.cancelled.add(context)
            self._changed()
            return 0

    def SCardListReaders(self, context: int, groups: list[str]) -> tuple[int, list[str]]:
        with self.cond:
            if not self._alive(context):
                return self.SCARD_E_INVALID_HANDLE, []
            if not self.readers:
                return self.SCARD_E_NO_READERS_AVAILABLE, []
            return 0, list(self.readers)

    def _state(self, name: str) -> tuple[int, bytes]:
        if name == PNP_NOTIFICATION:
            if not self.pnp:
                return self.SCARD_STATE_UNKNOWN, b""
            return len(self.readers) << 16, b""
        if name not in self.readers:
            return self.SCARD_STATE_UNKNOWN, b""
        counter, atr = self.readers[name]
        return (counter << 16) | (self.SCARD_STATE_PRESENT if atr else self.SCARD_STATE_EMPTY), atr

    def SCardGetStatusChange(
        self, context: int, timeout_ms: int, states: list[tuple[str, int]]
    ) -> tuple[int, list[tuple[str, int, list[int]]]]:
        deadline = time.monotonic() + timeout_ms / 1000
        with self.cond:
            while True:
                if context in self.cancelled:
                    self.cancelled.discard(context)
                    return self.SCARD_E_CANCELLED, []
                if not self._alive(context):
                    return self.SCARD_E_NO_SERVICE, []
                out, any_change = [], False
                for name, known in states:
                    current, atr = self._state(name)
                    changed = (current & ~self.SCARD_STATE_CHANGED) != (known & ~self.SCARD_STATE_CHANGED)
                    any_change |= changed
                    out.append((name, current | (self.SCARD_STATE_CHANGED if changed else 0), list(atr)))
                if any_change:
                    return 0, out
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self.SCARD_E_TIMEOUT, out
                self.cond.wait(remaining)


class Recorder:
    def __init__(self) -> None:
        self.events: list[ReaderEvent] = []
        self.lock = threading.Lock()

    def __call__(self, event: ReaderEvent) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]

    def wait(self, predicate: Callable[[Recorder], bool], timeout: float = 3.0) -> None:
        assert wait_until(lambda: predicate(self), timeout), self.events


@pytest.fixture
def fake() -> Iterator[tuple[FakeScard, ReaderSupervisor, Recorder]]:
    api = FakeScard()
    connected: list[str] = []

    def connect(reader: str) -> Connection:
        connected.append(reader)
        raise AssertionError("no card I/O in these tests")

    supervisor = ReaderSupervisor(api=api, connect=connect, wait_ms=200, retry_s=0.02)  # type: ignore[arg-type]
    recorder = Recorder()
    yield api, supervisor, recorder
    supervisor.stop()
    assert not supervisor.running


def test_insert_and_remove_on_two_readers(fake: tuple[FakeScard, ReaderSupervisor, Recorder]) -> None:
    api, supervisor, rec = fake
    api.plug("ACS ACR1252 Dual Reader PICC 00 00")
    api.plug("ACS ACR1252 Dual Reader SAM 00 01")
    supervisor.start(rec)
    rec.wait(lambda r: any(len(e.readers) == 2 for e in r.of(ReadersChanged)))
    kinds = {r.name: r.kind for r in supervisor.readers()}
    assert kinds["ACS ACR1252 Dual Reader PICC 00 00"] is ReaderKind.CONTACTLESS
    assert kinds["ACS ACR1252 Dual Reader SAM 00 01"] is ReaderKind.CONTACT
    api.insert("ACS ACR1252 Dual Reader PICC 00 00")
    api.insert("ACS ACR1252 Dual Reader SAM 00 01", atr=bytes.fromhex("3B8580014B48425301DD"))
    rec.wait(lambda r: len(r.of(CardInserted)) == 2)
    assert {e.reader for e in rec.of(CardInserted)} == set(kinds)
    api.remove("ACS ACR1252 Dual Reader PICC 00 00")
    rec.wait(lambda r: len(r.of(CardRemoved)) == 1)
    states = {r.name: r.state for r in supervisor.readers()}
    assert states == {
        "ACS ACR1252 Dual Reader PICC 00 00": SlotState.EMPTY,
        "ACS ACR1252 Dual Reader SAM 00 01": SlotState.CARD,
    }


def test_hotplug_through_pnp_notification(fake: tuple[FakeScard, ReaderSupervisor, Recorder]) -> None:
    api, supervisor, rec = fake
    supervisor.start(rec)  # no reader at all at first: "reader missing"
    rec.wait(lambda r: any(e.service_up and not e.readers for e in r.of(ReadersChanged)))
    api.plug("Generic USB Contactless 00 00")
    rec.wait(lambda r: any(e.readers for e in r.of(ReadersChanged)))
    api.insert("Generic USB Contactless 00 00")
    rec.wait(lambda r: len(r.of(CardInserted)) == 1)
    api.unplug("Generic USB Contactless 00 00")  # pulled with the card on it
    rec.wait(lambda r: len(r.of(CardRemoved)) == 1 and not r.of(ReadersChanged)[-1].readers)
    api.plug("Generic USB Contactless 00 00")
    rec.wait(lambda r: r.of(ReadersChanged)[-1].readers != ())
    assert supervisor.contexts_established == 1  # hot-plug needs no new context


def test_polls_the_list_without_pnp() -> None:
    api = FakeScard(pnp=False)
    supervisor = ReaderSupervisor(api=api, wait_ms=100, retry_s=0.02)  # type: ignore[arg-type]
    rec = Recorder()
    supervisor.start(rec)
    try:
        api.plug("Reader A")
        rec.wait(lambda r: any(e.readers for e in r.of(ReadersChanged)))
        api.insert("Reader A")
        rec.wait(lambda r: len(r.of(CardInserted)) == 1)
    finally:
        supervisor.stop()


def test_service_restart_reestablishes_the_context(
    fake: tuple[FakeScard, ReaderSupervisor, Recorder],
) -> None:
    api, supervisor, rec = fake
    api.plug("Reader A")
    api.insert("Reader A")
    supervisor.start(rec)
    rec.wait(lambda r: len(r.of(CardInserted)) == 1)
    api.service(False)
    rec.wait(lambda r: any(not e.service_up for e in r.of(ReadersChanged)) and len(r.of(CardRemoved)) == 1)
    assert not supervisor.service_up and supervisor.readers() == ()
    time.sleep(0.1)  # several failed attempts: reported once
    assert sum(not e.service_up for e in rec.of(ReadersChanged)) == 1
    api.service(True)
    rec.wait(lambda r: len(r.of(CardInserted)) == 2)  # the card still there is reported again
    assert supervisor.service_up and supervisor.contexts_established >= 2


def test_swapped_card_between_wakeups_is_a_removal_and_an_insertion(
    fake: tuple[FakeScard, ReaderSupervisor, Recorder],
) -> None:
    api, supervisor, rec = fake
    api.plug("Reader A")
    api.insert("Reader A")
    supervisor.start(rec)
    rec.wait(lambda r: len(r.of(CardInserted)) == 1)
    with api.cond:  # remove + insert while the supervisor is not looking: only the counter tells
        counter, atr = api.readers["Reader A"]
        api.readers["Reader A"] = (counter + 2, atr)
        api.cond.notify_all()
    rec.wait(lambda r: len(r.of(CardInserted)) == 2)
    kinds = [type(e).__name__ for e in rec.events if not isinstance(e, ReadersChanged)]
    assert kinds == ["CardInserted", "CardRemoved", "CardInserted"]
    assert [e.sequence for e in rec.of(CardInserted)] == [1, 2]


def test_a_failing_listener_does_not_stop_the_supervisor(
    fake: tuple[FakeScard, ReaderSupervisor, Recorder],
) -> None:
    api, supervisor, _rec = fake
    api.plug("Reader A")
    calls: list[ReaderEvent] = []

    def broken(event: ReaderEvent) -> None:
        calls.append(event)
        raise ValueError("listener bug")

    supervisor.start(broken)
    api.insert("Reader A")
    assert wait_until(lambda: any(isinstance(e, CardInserted) for e in calls), 3)
    api.remove("Reader A")
    assert wait_until(lambda: any(isinstance(e, CardRemoved) for e in calls), 3)


def test_reader_kind_from_names_and_atrs() -> None:
    assert reader_kind("ACS ACR122U PICC Interface 00 00") is ReaderKind.CONTACTLESS
    assert reader_kind("Identiv uTrust 3700 F CL Reader 00 00") is ReaderKind.CONTACTLESS
    assert reader_kind("Gemalto PC Twin Reader 00 00") is ReaderKind.UNKNOWN
    assert reader_kind("Gemalto PC Twin Reader 00 00", bytes.fromhex("3B80800101")) is ReaderKind.CONTACTLESS
    assert reader_kind("Alcor Micro AU9540 Smart Card Reader 00 00") is ReaderKind.CONTACT


def test_demo_readers_implement_the_same_port() -> None:
    from tests.support.world import make_card

    card, _issued = make_card()
    readers = DemoReaders(["Demo A", "Demo B"])
    rec = Recorder()
    readers.start(rec)
    try:
        readers.tap(card, "Demo B")
        rec.wait(lambda r: len(r.of(CardInserted)) == 1)
        inserted = rec.of(CardInserted)[0]
        connection = inserted.connect()
        from terminal.card.session import KhbsSession

        assert KhbsSession(connection).select().serial is not None
        readers.remove("Demo B")
        rec.wait(lambda r: len(r.of(CardRemoved)) == 1)
        from terminal.card.connection import CardRemovedError

        with pytest.raises(CardRemovedError):
            KhbsSession(connection).select()
        readers.unplug("Demo A")
        rec.wait(lambda r: [x.name for x in r.of(ReadersChanged)[-1].readers] == ["Demo B"])
    finally:
        readers.stop()


# ---------------------------------------------------------------------------------------------------
# The real thing: a private pcscd with the vpcd driver, in a mount namespace of its own.
# ---------------------------------------------------------------------------------------------------

PRIVATE_PORT = 35991
PRIVATE_NAME = "KHBS Test PCD"
PRIVATE_READERS = [f"{PRIVATE_NAME} 00 00", f"{PRIVATE_NAME} 00 01"]
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")


class PrivatePcscd:
    """A pcscd that only this test sees: private /run/pcscd (mount namespace), private readers."""

    def __init__(self, workdir: Path) -> None:
        for tool in ("unshare", "nsenter", "pcscd"):
            if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
                pytest.fail(f"{tool} is needed for the private pcscd", pytrace=False)
        if not VPCD_DRIVER.exists():
            pytest.fail("vsmartcard-vpcd is not installed", pytrace=False)
        self.workdir = workdir
        self.conf = workdir / "reader.conf.d"
        self.conf.mkdir()
        self.log = workdir / "pcscd.log"
        self.holder = subprocess.Popen(
            [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mkdir -p /run/pcscd && mount -t tmpfs tmpfs /run/pcscd && echo ready && exec sleep infinity",
            ],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        assert self.holder.stdout is not None
        if self.holder.stdout.readline().strip() != b"ready":
            self.holder.kill()
            pytest.fail("cannot make a private mount namespace (unshare -m)", pytrace=False)
        self.process: subprocess.Popen[bytes] | None = None

    def enter(self, argv: list[str]) -> list[str]:
        return ["nsenter", f"--mount=/proc/{self.holder.pid}/ns/mnt", f"--wd={ROOT}", *argv]

    def configure(self, with_readers: bool) -> None:
        entry = self.conf / "vpcd"
        if with_readers:
            entry.write_text(
                f'FRIENDLYNAME "{PRIVATE_NAME}"\nDEVICENAME /dev/null:{PRIVATE_PORT}\nLIBPATH {VPCD_DRIVER}\n'
            )
        else:
            entry.unlink(missing_ok=True)

    def start(self) -> float:
        assert self.process is None
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.enter([binary, "-f", "-c", str(self.conf)]),
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
            )
        return time.monotonic()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(5)

    def close(self) -> None:
        self.stop()
        self.holder.kill()
        self.holder.wait(5)


class Child:
    """The supervisor in a child process inside the private namespace; events arrive as JSON lines."""

    def __init__(self, pcscd: PrivatePcscd) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            pcscd.enter([sys.executable, "-m", "tests.test_reader_supervisor"]),
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.put(json.loads(raw))

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event within {timeout} s; seen: {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if predicate(line):
                return line

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the child stops its supervisor and exits
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _child_main() -> None:
    """Run a supervisor; print every event; SELECT each inserted card from a worker thread."""
    from terminal.card.session import KhbsSession

    out_lock = threading.Lock()

    def say(**fields: Any) -> None:
        with out_lock:
            print(json.dumps({"t": time.monotonic(), **fields}), flush=True)

    work: queue.Queue[CardInserted] = queue.Queue()

    def listener(event: ReaderEvent) -> None:
        if isinstance(event, CardInserted):
            say(event="inserted", reader=event.reader, atr=event.atr.hex(), seq=event.sequence)
            work.put(event)
        elif isinstance(event, CardRemoved):
            say(event="removed", reader=event.reader)
        else:
            say(event="readers", up=event.service_up, readers=[r.name for r in event.readers])

    def worker() -> None:
        while True:
            event = work.get()
            try:
                connection = event.connect()
                try:
                    info = KhbsSession(connection).select()
                finally:
                    connection.close()
                say(event="selected", reader=event.reader, serial=(info.serial or b"").hex())
            except Exception as exc:
                say(event="select_failed", reader=event.reader, error=str(exc))

    threading.Thread(target=worker, daemon=True).start()
    supervisor = ReaderSupervisor(wait_ms=1000, retry_s=0.1)
    supervisor.start(listener)
    sys.stdin.read()  # until the test closes our stdin
    supervisor.stop()
    say(event="stopped", contexts=supervisor.contexts_established)


@pytest.fixture
def private_pcscd(tmp_path: Path) -> Iterator[PrivatePcscd]:
    pcscd = PrivatePcscd(tmp_path)
    try:
        yield pcscd
    finally:
        pcscd.close()


def _insert(card: Any, port: int = PRIVATE_PORT, timeout: float = 5.0) -> Any:
    """Insert into the private vpcd slot, retrying while the (re)started pcscd opens its vpcd port."""
    from drivers.vpcd import VirtualCardSlot, VpcdUnavailableError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return VirtualCardSlot(card, port=port, connect_timeout=0.5)
        except VpcdUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.pcsc
def test_real_pcscd_insert_remove_and_restart(private_pcscd: PrivatePcscd) -> None:
    from tests.support.world import make_card

    card, issued = make_card()
    private_pcscd.configure(with_readers=True)
    private_pcscd.start()
    child = Child(private_pcscd)
    slot = None
    try:
        child.wait(lambda e: e["event"] == "readers" and e["readers"] == PRIVATE_READERS)
        slot = _insert(card)
        child.wait(lambda e: e["event"] == "inserted" and e["reader"] == PRIVATE_READERS[0])
        child.wait(lambda e: e["event"] == "selected" and e["serial"] == issued.serial.hex())
        slot.remove()
        child.wait(lambda e: e["event"] == "removed")
        slot.insert(card)
        child.wait(lambda e: e["event"] == "selected")

        # pcscd restarts with the card in the reader
        private_pcscd.stop()
        child.wait(lambda e: e["event"] == "readers" and not e["up"])
        slot.close()
        started = private_pcscd.start()
        back = child.wait(lambda e: e["event"] == "readers" and e["up"] and e["readers"] == PRIVATE_READERS)
        recovery = back["t"] - started
        assert recovery <= RECOVERY_BUDGET_S, f"readers back {recovery:.2f} s after pcscd started"
        slot = _insert(card)
        selected = child.wait(lambda e: e["event"] == "selected")
        assert selected["t"] - started <= RECOVERY_BUDGET_S + 1.0  # card I/O works on the new context
        print(f"\npcscd restart: readers back after {recovery * 1000:.0f} ms")
    finally:
        if slot is not None:
            slot.close()
        child.close()
    assert child.wait(lambda e: e["event"] == "stopped")["contexts"] >= 2


@pytest.mark.pcsc
def test_real_readers_unplugged_and_plugged_back(private_pcscd: PrivatePcscd) -> None:
    """No reader at first ("reader missing"), readers arrive, go away, come back: one app run."""
    from tests.support.world import make_card

    card, _ = make_card()
    private_pcscd.configure(with_readers=False)
    private_pcscd.start()
    child = Child(private_pcscd)
    slot = None
    try:
        child.wait(lambda e: e["event"] == "readers" and e["up"] and e["readers"] == [])
        private_pcscd.stop()  # vpcd readers are static in pcscd: plugging = a pcscd with them configured
        private_pcscd.configure(with_readers=True)
        started = private_pcscd.start()
        back = child.wait(lambda e: e["event"] == "readers" and e["readers"] == PRIVATE_READERS)
        assert back["t"] - started <= RECOVERY_BUDGET_S
        slot = _insert(card)
        child.wait(lambda e: e["event"] == "selected")
        private_pcscd.stop()
        private_pcscd.configure(with_readers=False)  # unplugged with the card on it
        private_pcscd.start()
        child.wait(lambda e: e["event"] == "removed")
        gone = child.wait(lambda e: e["event"] == "readers" and e["up"] and e["readers"] == [])
        assert gone["event"] == "readers"
    finally:
        if slot is not None:
            slot.close()
        child.close()


@pytest.mark.pcsc
def test_shared_pcscd_still_answers(pcscd: Any) -> None:
    """The private pcscd tests leave the machine's pcscd alone: it still lists its vpcd reader."""
    from drivers.pcsc import list_readers

    assert "Virtual PCD 00 00" in list_readers()


if __name__ == "__main__":
    _child_main()
