"""The clerks who may log in at this counter: id, name and a PIN kept only as a salted PBKDF2 hash.

:class:`ClerkDirectory` is the in-memory list the counter UI checks logins against; :func:`load_clerks`
and :func:`save_clerks` keep it in ``clerks.json`` in the terminal's data directory (written atomically,
mode 0600, via :func:`terminal.enrolment.write_secret`), managed with ``kartu clerk add|remove|list``.
The file is read as untrusted input: a malformed one is a :class:`ClerkFileError`, never a login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from terminal.enrolment import EnrolmentError, read_secret, write_secret

CLERKS_FILE = "clerks.json"
PBKDF2_ITERATIONS = 200_000
CLERK_ID = re.compile(r"[a-z0-9_.\-]{2,32}")
PIN = re.compile(r"[0-9]{4,8}")


class ClerkFileError(Exception):
    """The clerks file is missing, unsafe or malformed."""


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

    def __init__(self, iterations: int = PBKDF2_ITERATIONS) -> None:
        self.iterations = iterations
        self._clerks: dict[str, _Entry] = {}

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


def load_clerks(data_dir: Path) -> ClerkDirectory:
    """The counter's clerks (an empty list when the file does not exist yet)."""
    path = data_dir / CLERKS_FILE
    if not path.exists():
        return ClerkDirectory()
    try:
        raw = read_secret(path)
    except EnrolmentError as exc:
        raise ClerkFileError(str(exc)) from None
    return ClerkDirectory.from_json(raw)


def save_clerks(data_dir: Path, directory: ClerkDirectory) -> None:
    write_secret(data_dir / CLERKS_FILE, directory.to_json())
