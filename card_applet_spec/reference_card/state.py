"""The reference card's persistent state (its 'EEPROM') and atomic, tear-safe storage.

The state is an immutable value; a command that changes it builds a new value and commits it in one
step, as a JavaCard applet does inside JCSystem.beginTransaction/commitTransaction. ``FileStore``
writes a temporary file, fsyncs it and renames it over the old one, so a power loss ("tearing") at
any moment leaves the old state or the new state on disk, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import cbor2

from card_applet_spec import constants as c


class CardTorn(Exception):
    """Simulated loss of power in the middle of a command: the card's session is gone."""


class StateFileError(ValueError):
    """A card file cannot be read as card state."""


@dataclass(frozen=True)
class StoredGrant:
    body: bytes  # GrantBody encoding (28 bytes)
    kid: bytes
    signature: bytes  # issuer DER signature
    program: int
    kind: int
    unit: int
    grant_seq: int
    remaining: int
    valid_from: int
    valid_until: int


@dataclass(frozen=True)
class LogEntry:
    record: bytes  # TxRecord encoding (47 bytes)
    signature: bytes  # card DER signature


@dataclass(frozen=True)
class CardState:
    life_cycle: int = c.LifeCycle.PERSONALISATION
    serial: bytes = b""
    private_scalar: bytes = b""  # 32 bytes once generated; never leaves the card
    credential: bytes = b""
    personal_data: bytes = b""
    issuer_keys: tuple[tuple[bytes, bytes], ...] = ()  # (kid, SEC1 uncompressed point)
    pin_block: bytes = b""
    pin_tries: int = c.PIN_MAX_TRIES
    holder_ref: bytes = b""  # write-only DO DF28: checked by RESET RETRY COUNTER, never read out
    holder_tries: int = c.HOLDER_CHECK_MAX_TRIES
    tx_counter: int = 0
    status_seq: int = 0
    last_terminal_time: int = 0
    grants: tuple[StoredGrant, ...] = ()
    log: tuple[LogEntry, ...] = ()  # newest last, at most LOG_CAPACITY
    extra: dict[str, Any] = field(default_factory=dict)

    def grant_for(self, program: int) -> StoredGrant | None:
        for g in self.grants:
            if g.program == program:
                return g
        return None

    def with_grant(self, grant: StoredGrant) -> CardState:
        others = tuple(g for g in self.grants if g.program != grant.program)
        return replace(self, grants=tuple(sorted(others + (grant,), key=lambda g: g.program)))

    def with_log(self, entry: LogEntry) -> CardState:
        return replace(self, log=(self.log + (entry,))[-c.LOG_CAPACITY :])


def state_to_bytes(state: CardState) -> bytes:
    d: dict[str, Any] = {
        "v": 1,
        "life_cycle": state.life_cycle,
        "serial": state.serial,
        "private_scalar": state.private_scalar,
        "credential": state.credential,
        "personal_data": state.personal_data,
        "issuer_keys": [list(k) for k in state.issuer_keys],
        "pin_block": state.pin_block,
        "pin_tries": state.pin_tries,
        "holder_ref": state.holder_ref,
        "holder_tries": state.holder_tries,
        "tx_counter": state.tx_counter,
        "status_seq": state.status_seq,
        "last_terminal_time": state.last_terminal_time,
        "grants": [list(g.__dict__.values()) for g in state.grants],
        "log": [[e.record, e.signature] for e in state.log],
        "extra": state.extra,
    }
    return cbor2.dumps(d)


def state_from_bytes(raw: bytes) -> CardState:
    try:
        d = cbor2.loads(raw)
        if d.get("v") != 1:
            raise StateFileError("unknown card file version")
        return CardState(
            life_cycle=d["life_cycle"],
            serial=d["serial"],
            private_scalar=d["private_scalar"],
            credential=d["credential"],
            personal_data=d["personal_data"],
            issuer_keys=tuple((k[0], k[1]) for k in d["issuer_keys"]),
            pin_block=d["pin_block"],
            pin_tries=d["pin_tries"],
            holder_ref=d.get("holder_ref", b""),
            holder_tries=d.get("holder_tries", c.HOLDER_CHECK_MAX_TRIES),
            tx_counter=d["tx_counter"],
            status_seq=d["status_seq"],
            last_terminal_time=d["last_terminal_time"],
            grants=tuple(StoredGrant(*g) for g in d["grants"]),
            log=tuple(LogEntry(e[0], e[1]) for e in d["log"]),
            extra=dict(d.get("extra", {})),
        )
    except (cbor2.CBORDecodeError, KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise StateFileError(f"card file unreadable: {exc}") from exc


class Store(Protocol):
    def load(self) -> CardState | None: ...
    def save(self, state: CardState) -> None: ...


#: A fault hook gets the name of a point in the write ("write_begin", "write_half", "before_rename",
#: "after_rename") and may raise CardTorn to simulate the card leaving the field there.
FaultHook = Callable[[str], None]


class MemoryStore:
    """State kept in memory: atomic by construction (the value is swapped whole)."""

    def __init__(self, state: CardState | None = None, fault: FaultHook | None = None) -> None:
        self._state = state
        self.fault = fault

    def load(self) -> CardState | None:
        return self._state

    def save(self, state: CardState) -> None:
        if self.fault:
            self.fault("write_begin")
            self.fault("before_rename")
        self._state = state
        if self.fault:
            self.fault("after_rename")


class FileStore:
    """State in a file that survives process restarts; updates are atomic (write, fsync, rename)."""

    def __init__(self, path: str | os.PathLike[str], fault: FaultHook | None = None) -> None:
        self.path = Path(path)
        self.fault = fault

    def load(self) -> CardState | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return state_from_bytes(raw)

    def save(self, state: CardState) -> None:
        raw = state_to_bytes(state)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fault:
            self.fault("write_begin")
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                half = len(raw) // 2
                f.write(raw[:half])
                if self.fault:
                    f.flush()
                    self.fault("write_half")
                f.write(raw[half:])
                f.flush()
                os.fsync(f.fileno())
            if self.fault:
                self.fault("before_rename")
            os.replace(tmp, self.path)
        except CardTorn:
            raise  # a real power cut leaves the temporary file behind; load() never reads it
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)
        if self.fault:
            self.fault("after_rename")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
