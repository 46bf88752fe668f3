"""What every service call gets: the database session, settings, keys, the acting party and a clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from server_stub.errors import Forbidden
from server_stub.keys import KeyRing
from server_stub.settings import Settings

ADMIN = "admin"
REGISTRAR = "registrar"
CARD_OFFICER = "card_officer"
AGENCY_ADMIN = "agency_admin"
AUDITOR = "auditor"
CLERK_ROLES = (ADMIN, REGISTRAR, CARD_OFFICER, AGENCY_ADMIN, AUDITOR)
#: Roles whose tasks need the full NIK (UU 27/2022: show only what a task needs).
FULL_NIK_ROLES = frozenset({ADMIN, REGISTRAR})


@dataclass(frozen=True)
class Actor:
    kind: str  # "admin" | "clerk" | "terminal" | "system"
    name: str
    role: str = ""
    agency: str | None = None
    region: int | None = None  # terminals: their regency/city

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def sees_full_nik(self) -> bool:
        return self.kind != "terminal" and self.role in FULL_NIK_ROLES

    def require(self, *roles: str) -> None:
        if self.kind == "terminal" or (self.role != ADMIN and self.role not in roles):
            raise Forbidden(f"role {self.role or self.kind!r} may not do this")

    def require_terminal(self) -> None:
        if self.kind != "terminal":
            raise Forbidden("only an enrolled terminal may call this")


SYSTEM = Actor("system", "server", ADMIN)


def _now() -> int:
    return int(time.time())


@dataclass
class Ctx:
    session: Session
    settings: Settings
    keys: KeyRing
    actor: Actor = SYSTEM
    clock: Callable[[], int] = field(default=_now)

    def now(self) -> int:
        return self.clock()
