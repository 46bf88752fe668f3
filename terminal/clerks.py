"""The clerks who may log in at this counter: id, name and a PIN kept only as a salted PBKDF2 hash.

:class:`ClerkDirectory` is the in-memory list the counter UI checks logins against; :func:`load_clerks`
and :func:`save_clerks` keep it in ``clerks.json`` in the terminal's data directory (written atomically,
mode 0600, via :func:`terminal.enrolment.write_secret`), managed with ``kartu clerk add|remove|list``.
The file is read as untrusted input: a malformed one is a :class:`ClerkFileError`, never a login.

The counter logs clerks in with :meth:`ClerkDirectory.login`: wrong PINs of a clerk id cost an
increasing wait and, after :attr:`LockoutPolicy.lock_after` in a row, a lockout (:class:`LoginStatus`).
The counts are kept in ``clerk-attempts.json`` next to the clerks file (:class:`AttemptsFile`), so a
restart does not reset them; that file is untrusted too, and one that cannot be read or written refuses
every login (fail closed) until an administrator deletes it.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from terminal.enrolment import EnrolmentError, read_secret, write_secret

CLERKS_FILE = "clerks.json"
ATTEMPTS_FILE = "clerk-attempts.json"
PBKDF2_ITERATIONS = 200_000
CLERK_ID = re.compile(r"[a-z0-9_.\-]{2,32}")
PIN = re.compile(r"[0-9]{4,8}")
log = logging.getLogger(__name__)


class ClerkFileError(Exception):
    """The clerks file is missing, unsafe or malformed."""


class ClerkEvent(enum.StrEnum):
    """Clerk security events the terminal records with its failures (``KhbsTerminal.record_clerk_event``)."""

    LOCKED_OUT = "clerk_locked_out"  # too many wrong clerk PINs in a row: the id is locked for a while
    IDLE_LOGOUT = "clerk_idle_logout"  # nobody touched the counter for a while: the clerk was logged out


class LoginStatus(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # wrong id or PIN (``retry_in_s``: the wait before the next try of this id)
    WAIT = "wait"  # too soon after a wrong PIN: not checked, not counted
    LOCKED = "locked"  # too many wrong PINs in a row: not checked until ``retry_in_s`` has passed
    GUARD_FAILED = "guard_failed"  # the attempts file cannot be read or written: no login at all


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    clerk: Clerk | None = None
    retry_in_s: float = 0.0
    #: This attempt locked the id (record it).
    locked_now: bool = False


@dataclass(frozen=True)
class LockoutPolicy:
    """Wrong PINs in a row per clerk id: ``free_tries`` cost nothing, then the wait doubles from
    ``first_wait_s``; the ``lock_after``-th locks the id for ``lockout_s`` (and so does each one after
    it, until a right PIN)."""

    free_tries: int = 2
    first_wait_s: float = 5.0
    lock_after: int = 5
    lockout_s: float = 15 * 60.0

    def wait_after(self, failures: int) -> float:
        if failures >= self.lock_after:
            return self.lockout_s
        if failures <= self.free_tries:
            return 0.0
        return float(self.first_wait_s * 2 ** (failures - self.free_tries - 1))


@dataclass(frozen=True)
class Attempts:
    failures: int
    last: float  # wall-clock time of the last wrong PIN


class AttemptsError(Exception):
    """The attempts file cannot be trusted (unsafe, malformed) or written."""


class AttemptsStore(Protocol):
    def load(self) -> dict[str, Attempts]: ...

    def save(self, attempts: dict[str, Attempts]) -> None: ...


class MemoryAttempts:
    """Kept in memory (the demo counter, tests)."""

    def __init__(self) -> None:
        self.attempts: dict[str, Attempts] = {}

    def load(self) -> dict[str, Attempts]:
        return dict(self.attempts)

    def save(self, attempts: dict[str, Attempts]) -> None:
        self.attempts = dict(attempts)


#: The key unknown clerk ids share (never a valid id).
UNKNOWN_ID = ""
MAX_TRACKED = 1000


class AttemptsFile:
    """``clerk-attempts.json`` (0600, written atomically), read strictly: anything odd is an AttemptsError."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Attempts]:
        if not self.path.exists() and not self.path.is_symlink():
            return {}
        try:
            doc = json.loads(read_secret(self.path))
            if doc.get("version") != 1 or not isinstance(doc.get("attempts"), dict):
                raise ValueError("not a version 1 attempts file")
            if len(doc["attempts"]) > MAX_TRACKED:
                raise ValueError("too many entries")
            out = {}
            for key, e in doc["attempts"].items():
                failures, last = e["failures"], e["last"]
                if key != UNKNOWN_ID and not CLERK_ID.fullmatch(key):
                    raise ValueError(f"bad clerk id {key!r}")
                if type(failures) is not int or not 0 < failures <= 1_000_000:
                    raise ValueError(f"{key}: bad count")
                if type(last) not in (int, float) or not math.isfinite(last) or last < 0:
                    raise ValueError(f"{key}: bad time")
                out[key] = Attempts(failures, float(last))
        except (EnrolmentError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise AttemptsError(f"{self.path}: {exc}") from None
        return out

    def save(self, attempts: dict[str, Attempts]) -> None:
        doc = {k: {"failures": a.failures, "last": a.last} for k, a in sorted(attempts.items())}
        try:
            write_secret(self.path, json.dumps({"version": 1, "attempts": doc}).encode())
        except OSError as exc:
            raise AttemptsError(f"{self.path}: {exc}") from None


@dataclass(frozen=True)
class Clerk:
    clerk_id: str
    name: str


@dataclass(frozen=True)
class _Entry:
    name: str
    salt: bytes
    digest: bytes
    iterations: int


def _hash(clerk_id: str, pin: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", f"{clerk_id}:{pin}".encode(), salt, iterations)


class ClerkDirectory:
    """Clerks with salted PIN hashes. ``check`` costs the same whether or not the id exists."""

    def __init__(
        self,
        iterations: int = PBKDF2_ITERATIONS,
        *,
        attempts: AttemptsStore | None = None,
        policy: LockoutPolicy = LockoutPolicy(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.iterations = iterations
        self._clerks: dict[str, _Entry] = {}
        self.attempts: AttemptsStore = attempts if attempts is not None else MemoryAttempts()
        self.policy = policy
        self.clock = clock

    def add(self, clerk_id: str, name: str, pin: str) -> None:
        """Add or replace a clerk. Raises ValueError for an id, name or PIN this counter cannot use."""
        clerk_id = clerk_id.strip()
        if not CLERK_ID.fullmatch(clerk_id):
            raise ValueError("clerk id: 2-32 characters a-z 0-9 _ . -")
        if not name.strip() or len(name) > 64 or not name.isprintable():
            raise ValueError("clerk name: 1-64 printable characters")
        if not PIN.fullmatch(pin):
            raise ValueError("clerk PIN: 4 to 8 digits")
        salt = os.urandom(16)
        self._clerks[clerk_id] = _Entry(
            name.strip(), salt, _hash(clerk_id, pin, salt, self.iterations), self.iterations
        )

    def remove(self, clerk_id: str) -> bool:
        return self._clerks.pop(clerk_id.strip(), None) is not None

    def check(self, clerk_id: str, pin: str) -> Clerk | None:
        clerk_id = clerk_id.strip()
        entry = self._clerks.get(clerk_id)
        if entry is None:
            _hash(clerk_id, pin, b"\0" * 16, self.iterations)  # same cost whether or not the id exists
            return None
        ok = hmac.compare_digest(_hash(clerk_id, pin, entry.salt, entry.iterations), entry.digest)
        return Clerk(clerk_id, entry.name) if ok else None

    def login(self, clerk_id: str, pin: str) -> LoginResult:
        """:meth:`check`, throttled per clerk id (unknown ids share one count) and kept across restarts."""
        clerk_id = clerk_id.strip()
        key = clerk_id if clerk_id in self._clerks else UNKNOWN_ID
        now = self.clock()
        try:
            attempts = self.attempts.load()
        except AttemptsError as exc:
            log.error("clerk login refused: %s (an administrator must check and delete it)", exc)
            return LoginResult(LoginStatus.GUARD_FAILED)
        seen = attempts.get(key)
        if seen is not None:
            # a clock set back never shortens a wait: it counts from now again
            left = self.policy.wait_after(seen.failures) - max(0.0, now - seen.last)
            if left > 0:
                locked = seen.failures >= self.policy.lock_after
                return LoginResult(LoginStatus.LOCKED if locked else LoginStatus.WAIT, retry_in_s=left)
        clerk = self.check(clerk_id, pin)
        if clerk is not None:
            if seen is not None:
                attempts.pop(key)
                try:
                    self.attempts.save(attempts)
                except AttemptsError as exc:  # the count stays higher than it should: safe
                    log.error("clearing the wrong-PIN count of %s failed: %s", key, exc)
            return LoginResult(LoginStatus.OK, clerk)
        failures = (seen.failures if seen is not None else 0) + 1
        attempts[key] = Attempts(failures, now)
        try:
            self.attempts.save(attempts)
        except AttemptsError as exc:  # a wrong PIN that cannot be counted opens nothing more
            log.error("clerk login refused: %s", exc)
            return LoginResult(LoginStatus.GUARD_FAILED)
        locked = failures >= self.policy.lock_after
        return LoginResult(
            LoginStatus.LOCKED if locked else LoginStatus.WRONG,
            retry_in_s=self.policy.wait_after(failures),
            locked_now=locked,
        )

    def clerks(self) -> list[Clerk]:
        return [Clerk(i, e.name) for i, e in sorted(self._clerks.items())]

    def to_json(self) -> bytes:
        doc = {
            i: {
                "name": e.name,
                "salt": base64.b64encode(e.salt).decode(),
                "hash": base64.b64encode(e.digest).decode(),
                "iterations": e.iterations,
            }
            for i, e in sorted(self._clerks.items())
        }
        return json.dumps({"version": 1, "clerks": doc}, ensure_ascii=False, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> ClerkDirectory:
        """Parse a clerks file strictly. Raises :class:`ClerkFileError`."""
        directory = cls()
        try:
            doc = json.loads(raw)
            if doc.get("version") != 1 or not isinstance(doc.get("clerks"), dict):
                raise ValueError("not a version 1 clerks file")
            for clerk_id, e in doc["clerks"].items():
                if not CLERK_ID.fullmatch(clerk_id) or not isinstance(e, dict):
                    raise ValueError(f"bad clerk id {clerk_id!r}")
                name, iterations = e["name"], e["iterations"]
                salt = base64.b64decode(e["salt"], validate=True)
                digest = base64.b64decode(e["hash"], validate=True)
                if not isinstance(name, str) or not name.strip() or len(name) > 64:
                    raise ValueError(f"clerk {clerk_id}: bad name")
                if type(iterations) is not int or not 100_000 <= iterations <= 10_000_000:
                    raise ValueError(f"clerk {clerk_id}: bad iteration count")
                if len(salt) != 16 or len(digest) != 32:
                    raise ValueError(f"clerk {clerk_id}: bad salt or hash")
                directory._clerks[clerk_id] = _Entry(name, salt, digest, iterations)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise ClerkFileError(f"clerks file: {exc}") from None
        return directory


def load_clerks(data_dir: Path, *, clock: Callable[[], float] = time.time) -> ClerkDirectory:
    """The counter's clerks (an empty list when the file does not exist yet), their wrong-PIN counts
    kept in ``clerk-attempts.json`` beside it."""
    path = data_dir / CLERKS_FILE
    directory = ClerkDirectory()
    if path.exists():
        try:
            raw = read_secret(path)
        except EnrolmentError as exc:
            raise ClerkFileError(str(exc)) from None
        directory = ClerkDirectory.from_json(raw)
    directory.attempts = AttemptsFile(data_dir / ATTEMPTS_FILE)
    directory.clock = clock
    return directory


def save_clerks(data_dir: Path, directory: ClerkDirectory) -> None:
    write_secret(data_dir / CLERKS_FILE, directory.to_json())
