"""An ESC/POS receipt printer emulator for tests and benchmarks: serial (socat pty pair) or TCP.

It decodes what it receives into a structured log — printed text lines with their alignment, bold and
size, QR codes stored and printed (``GS ( k``), cuts, code-page selects, feeds — and answers the real-time
status queries ``DLE EOT n`` according to its mode (ready, paper near end, paper out, offline, cover
open, silent). It can be unplugged now or after N received bytes (serial: socat is stopped, which closes
the pty masters; TCP: the connection is reset and the listener closed).

Serial: ``socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B``; the emulator reads B, the driver opens
A (``SerialPrinterEmulator.port``) with pyserial. TCP: a loopback listener on an ephemeral port
(``TcpPrinterEmulator.address``).
"""

from __future__ import annotations

import contextlib
import enum
import os
import select
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: ESC t n → Python codec for the tables the tests use (others decode as latin-1 and are logged).
CODE_PAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858"}


class Mode(enum.StrEnum):
    READY = "ready"
    NEAR_END = "near_end"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"
    COVER_OPEN = "cover_open"
    SILENT = "silent"  # takes data, never answers a status query


#: Answers to DLE EOT 1 (printer), 2 (offline cause), 3 (error cause), 4 (paper roll sensor).
STATUS_ANSWERS: dict[Mode, dict[int, int]] = {
    Mode.READY: {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    Mode.NEAR_END: {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    Mode.PAPER_OUT: {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x72},
    Mode.OFFLINE: {1: 0x1A, 2: 0x52, 3: 0x12, 4: 0x12},
    Mode.COVER_OPEN: {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
}


@dataclass(frozen=True)
class PrintedLine:
    text: str
    align: str = "left"
    bold: bool = False
    width: int = 1
    height: int = 1


@dataclass
class Document:
    """Everything printed between two cuts."""

    lines: list[PrintedLine] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    cut: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class PrintLog:
    """What the printer received and did, in order."""

    events: list[tuple[str, object]] = field(default_factory=list)
    documents: list[Document] = field(default_factory=lambda: [Document()])
    qr_stored: list[str] = field(default_factory=list)
    code_pages: list[int] = field(default_factory=list)
    status_queries: list[int] = field(default_factory=list)
    unknown: list[bytes] = field(default_factory=list)
    data_bytes: int = 0  # everything except status queries

    @property
    def current(self) -> Document:
        return self.documents[-1]

    @property
    def finished(self) -> list[Document]:
        """Documents ended by a cut."""
        return [d for d in self.documents if d.cut is not None]

    @property
    def lines(self) -> list[PrintedLine]:
        return [line for d in self.documents for line in d.lines]

    @property
    def qr_codes(self) -> list[str]:
        return [q for d in self.documents for q in d.qr_codes]

    @property
    def cuts(self) -> list[str]:
        return [d.cut for d in self.documents if d.cut is not None]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class _NeedMore(Exception):
    """The buffer ends inside a command."""


class EscPosDecoder:
    """Incremental ESC/POS decoder (the subset receipts use, plus DLE EOT); unknown commands are logged."""

    def __init__(self, log: PrintLog, answer: Callable[[int], int | None]) -> None:
        self.log = log
        self.answer = answer
        self.buffer = bytearray()
        self._reset()

    def _reset(self) -> None:
        self.align = "left"
        self.bold = False
        self.width = 1
        self.height = 1
        self.code_page = 0
        self.line = bytearray()
        self.qr_data: str | None = None

    # -- output -------------------------------------------------------------------------------------
    def _flush_line(self) -> None:
        text = bytes(self.line).decode(CODE_PAGES.get(self.code_page, "latin-1"), errors="replace")
        self.log.current.lines.append(PrintedLine(text, self.align, self.bold, self.width, self.height))
        self.log.events.append(("line", text))
        self.line.clear()

    def feed(self, data: bytes) -> bytes:
        """Decode ``data``; return the status answers to send back."""
        self.buffer += data
        replies = bytearray()
        while self.buffer:
            is_query = self.buffer[0] == 0x10
            try:
                used, reply = self._one(self.buffer)
            except _NeedMore:
                break
            if not is_query:
                self.log.data_bytes += used
            del self.buffer[:used]
            if reply is not None:
                replies.append(reply)
        return bytes(replies)

    @staticmethod
    def _need(buf: bytearray, n: int) -> None:
        if len(buf) < n:
            raise _NeedMore

    def _one(self, b: bytearray) -> tuple[int, int | None]:
        first = b[0]
        if first == 0x10:  # DLE
            self._need(b, 3)
            if b[1] == 0x04:
                n = b[2]
                self.log.status_queries.append(n)
                self.log.events.append(("status_query", n))
                return 3, self.answer(n)
            self.log.unknown.append(bytes(b[:2]))
            return 2, None
        if first == 0x0A:
            self._flush_line()
            return 1, None
        if first == 0x0D:
            return 1, None
        if first == 0x1B:
            return self._esc(b), None
        if first == 0x1D:
            return self._gs(b), None
        if first >= 0x20 or first == 0x09:
            self.line.append(first)
            return 1, None
        self.log.unknown.append(bytes(b[:1]))
        return 1, None

    @staticmethod
    def _count(n: int) -> int:
        return n

    def _esc(self, b: bytearray) -> int:
        self._need(b, 2)
        cmd = b[1]
        if cmd == ord("@"):
            if self.line:
                self._flush_line()
            self._reset()
            self.log.events.append(("init", None))
            return self._count(2)
        if cmd == ord("2"):
            return self._count(2)
        self._need(b, 3)
        n = b[2]
        if cmd == ord("t"):
            self.code_page = n
            self.log.code_pages.append(n)
            self.log.events.append(("code_page", n))
        elif cmd == ord("a"):
            self.align = {0: "left", 1: "center", 2: "right"}[n % 48]
            self.log.events.append(("align", self.align))
        elif cmd == ord("E"):
            self.bold = bool(n & 1)
            self.log.events.append(("bold", self.bold))
        elif cmd == ord("!"):
            self.bold = bool(n & 0x08)
            self.height = 2 if n & 0x10 else 1
            self.width = 2 if n & 0x20 else 1
            self.log.events.append(("mode", n))
        elif cmd == ord("d"):
            if self.line:
                self._flush_line()
            self.log.events.append(("feed", n))
        elif cmd in (ord("-"), ord("M"), ord("3"), ord("G"), ord("{"), ord("V")):
            self.log.events.append(("esc", (chr(cmd), n)))
        else:
            self.log.unknown.append(bytes(b[:3]))
        return self._count(3)

    def _gs(self, b: bytearray) -> int:
        self._need(b, 2)
        cmd = b[1]
        if cmd == ord("!"):
            self._need(b, 3)
            self.width = (b[2] >> 4) + 1
            self.height = (b[2] & 0x0F) + 1
            self.log.events.append(("size", (self.width, self.height)))
            return self._count(3)
        if cmd == ord("V"):
            self._need(b, 3)
            m = b[2]
            length = 4 if m in (65, 66, 97, 98, 103, 104) else 3
            self._need(b, length)
            mode = "full" if m in (0, 48, 65, 97, 103) else "partial"
            if self.line:
                self._flush_line()
            self.log.current.cut = mode
            self.log.documents.append(Document())
            self.log.events.append(("cut", mode))
            return self._count(length)
        if cmd == ord("("):
            self._need(b, 5)
            length = 5 + b[3] + 256 * b[4]
            self._need(b, length)
            if b[2] == ord("k"):
                self._two_d(bytes(b[5:length]))
            else:
                self.log.unknown.append(bytes(b[:length]))
            return self._count(length)
        if cmd == ord("B"):
            self._need(b, 3)
            return self._count(3)
        self.log.unknown.append(bytes(b[:2]))
        return self._count(2)

    def _two_d(self, body: bytes) -> None:
        cn, fn = body[0], body[1]
        if cn != 49:  # not QR
            self.log.unknown.append(body)
            return
        if fn == 80:  # store: m = 48, then the data
            data = body[3:].decode("latin-1")
            self.qr_data = data
            self.log.qr_stored.append(data)
            self.log.events.append(("qr_store", data))
        elif fn == 81:  # print the stored symbol
            if self.line:
                self._flush_line()
            if self.qr_data is not None:
                self.log.current.qr_codes.append(self.qr_data)
                self.log.events.append(("qr_print", self.qr_data))
        else:  # 65 model, 67 module size, 69 error correction
            self.log.events.append(("qr_param", (fn, body[2:])))


class PrinterEmulator:
    """Transport-independent printer state: mode, log, decoder, unplug trigger."""

    def __init__(self) -> None:
        self.mode = Mode.READY
        self.log = PrintLog()
        self._decoder = EscPosDecoder(self.log, self._answer)
        self._cond = threading.Condition()
        self.received = 0
        self.unplug_at: int | None = None
        self.unplugged = False
        self.answered = 0
        self.paused = threading.Event()  # set: stop reading (a hung printer; the sender's writes block)

    def _answer(self, n: int) -> int | None:
        if self.mode is Mode.SILENT:
            return None
        self.answered += 1
        return STATUS_ANSWERS[self.mode].get(n, 0x12)

    def set_mode(self, mode: Mode) -> None:
        with self._cond:
            self.mode = mode

    def unplug_after(self, n_bytes: int) -> None:
        """Disconnect once ``n_bytes`` more bytes have arrived (cable pulled mid-print)."""
        with self._cond:
            self.unplug_at = self.received + n_bytes

    def _receive(self, data: bytes) -> tuple[bytes, bool]:
        """Decode data; returns (reply, unplug now)."""
        with self._cond:
            unplug = False
            if self.unplug_at is not None and self.received + len(data) >= self.unplug_at:
                data = data[: self.unplug_at - self.received]
                unplug = True
            self.received += len(data)
            reply = self._decoder.feed(data)
            self._cond.notify_all()
            return reply, unplug

    def wait_until(self, predicate: Callable[[PrintLog], bool], timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.log), timeout)

    def wait_for_cuts(self, count: int = 1, timeout: float = 5.0) -> bool:
        return self.wait_until(lambda log: len(log.cuts) >= count, timeout)

    def unplug(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> PrinterEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialPrinterEmulator(PrinterEmulator):
    """The printer on a socat pty pair: the driver opens :attr:`port`, the emulator reads the other end."""

    def __init__(self, directory: Path, *, name: str = "printer") -> None:
        super().__init__()
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat is not installed (apt-get install socat)")
        self.port = str(directory / f"{name}-tty")
        self._peer = str(directory / f"{name}-emulator")
        self._socat = subprocess.Popen(
            [socat, f"pty,raw,echo=0,link={self.port}", f"pty,raw,echo=0,link={self._peer}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.port) and os.path.exists(self._peer)):
            if time.monotonic() > deadline or self._socat.poll() is not None:
                self._stop_socat()
                raise RuntimeError("socat did not create the pty pair")
            time.sleep(0.005)
        self._fd: int | None = os.open(self._peer, os.O_RDWR | os.O_NOCTTY)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"printer-emulator-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            fd = self._fd
            if fd is None:
                return
            if self.paused.is_set():
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            reply, unplug = self._receive(data)
            if reply and not unplug:
                with contextlib.suppress(OSError):
                    os.write(fd, reply)
            if unplug:
                self.unplug()
                return

    def _stop_socat(self) -> None:
        if self._socat.poll() is None:
            self._socat.terminate()
            try:
                self._socat.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._socat.kill()
                self._socat.wait()

    def unplug(self) -> None:
        """Pull the cable: socat stops, both pty masters close, the driver's port gives I/O errors."""
        with self._cond:
            self.unplugged = True
            self._cond.notify_all()
        self._stop_socat()
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self.unplug()


class TcpPrinterEmulator(PrinterEmulator):
    """The printer as a raw TCP (port 9100 style) listener on loopback, ephemeral port by default."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self._listener: socket.socket | None = socket.create_server((host, port))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._client: socket.socket | None = None
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="printer-emulator-tcp", daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return self.address[0]

    @property
    def port(self) -> int:
        return self.address[1]

    def _run(self) -> None:
        while not self._stop.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                ready, _, _ = select.select([listener], [], [], 0.05)
                if not ready:
                    continue
                client, _ = listener.accept()
            except OSError:
                return
            self._client = client
            self.connections += 1
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        with client:
            while not self._stop.is_set() and self._client is client:
                if self.paused.is_set():
                    time.sleep(0.01)
                    continue
                try:
                    ready, _, _ = select.select([client], [], [], 0.05)
                    if not ready:
                        continue
                    data = client.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                reply, unplug = self._receive(data)
                if reply and not unplug:
                    with contextlib.suppress(OSError):
                        client.sendall(reply)
                if unplug:
                    self.unplug()
                    return

    def unplug(self) -> None:
        """Pull the cable: the connection is reset and the printer no longer accepts connections."""
        with self._cond:
            self.unplugged = True
            self._cond.notify_all()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()  # RST: the driver's next send or receive fails

    def close(self) -> None:
        self._stop.set()
        self.unplug()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)


def closed_port() -> int:
    """A loopback port nobody listens on (an offline network printer; never a made-up address)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
