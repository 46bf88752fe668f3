"""Server settings: one frozen dataclass, read from ``KHBS_*`` environment variables by ``from_env``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8620
#: Demo-only key seed: production sets KHBS_KEY_SEED (or, later, an HSM) and a real admin token.
DEMO_KEY_SEED = "khbs-demo-issuer"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("kartu-huma-betang", appauthor=False)) / "server"


@dataclass(frozen=True)
class Settings:
    """Everything the server needs. ``database_url`` empty means a SQLite file under ``data_dir``."""

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""
    admin_token: str = ""
    key_seed: str = DEMO_KEY_SEED
    #: Demo mode: seed-derived keys and an online trust root are allowed. True for settings built in
    #: code (tests, the in-process demo world); ``from_env`` (a deployment) reads ``KHBS_DEMO``, default
    #: off, and ``kartu server --demo`` turns it on. Outside demo mode the server refuses demo keys.
    demo: bool = True
    #: Where the signing keys live (``server_stub.keystore``): ``file:DIR``, ``pkcs11:MODULE?token=L``
    #: or ``demo[:SEED]``; empty: the demo store derived from ``key_seed``.
    key_store: str = ""
    #: The offline trust root's public key (PEM). Set: the server never signs a trust list, it serves
    #: the lists the root signed at a ceremony (``kartu keys sign-trust-list``). Required outside demo.
    trust_root_public_key: Path | None = None
    #: Status-list and issuer key rotations announced with an offline root start at least this long
    #: after they are requested (time to sign and upload a trust list that carries the new key).
    key_rotation_lead_s: int = 7 * 86_400
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    #: Suspend a card automatically when ingest flags it as a clone (counter conflict / regression).
    auto_suspend_on_flag: bool = False
    #: Two records of one card at terminals in different regencies closer than this: "two places".
    two_places_window_s: int = 2 * 3600
    #: Terminal clocks may disagree this much before counter order vs. time order is suspicious.
    clock_tolerance_s: int = 15 * 60
    #: Validity of a card credential from issuance.
    credential_validity_days: int = 5 * 365
    #: Validity of the certificates a terminal gets at enrolment (receipt signing, PIN reset).
    terminal_cert_days: int = 365
    #: A terminal asking for status data older than this gets a fresh (empty) delta: the data's age.
    status_heartbeat_s: int = 3600
    #: The trust list is re-signed (next version, fresh ``issued_at``) when its newest version is older
    #: than this, so its age on a terminal says how long ago it last heard from the centre.
    trust_heartbeat_s: int = 86_400
    #: The status list grows in blocks of this many indices (one empty delta per block, not per card).
    status_growth_block: int = 1024
    status_list_id: str = "KHBS-62"
    #: Token lifetimes. A terminal renews its token once a third of it has passed (``POST
    #: /v1/sync/token``); a clerk renews with ``POST /v1/admin/me/token``.
    terminal_token_ttl_s: int = 90 * 86_400
    clerk_token_ttl_s: int = 30 * 86_400
    #: A token replaced by a rotation still works this long, or until the new one is first used.
    token_rotation_grace_s: int = 3600
    #: Failed authentication: ``auth_fail_limit_addr`` unknown tokens from one address within
    #: ``auth_fail_window_s`` lock the address for ``auth_lockout_addr_s``; ``auth_fail_limit_token``
    #: refusals of one token (from any address) lock the token for ``auth_lockout_token_s`` (429).
    auth_fail_limit_addr: int = 20
    auth_fail_limit_token: int = 10
    auth_fail_window_s: int = 600
    auth_lockout_addr_s: int = 900
    auth_lockout_token_s: int = 3600
    #: At most this many refusal entries (401/403) per minute go into the audit log; beyond, they are
    #: counted (``auth_throttle``) and one ``audit.suppressed`` entry says so.
    audit_refusals_per_min: int = 120
    run_migrations: bool = True
    echo_sql: bool = False

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'khbs-server.sqlite3'}"

    @property
    def backend(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        base = cls()

        def flag(name: str, default: bool) -> bool:
            value = e.get(name)
            return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}

        return cls(
            data_dir=Path(e["KHBS_DATA_DIR"]) if e.get("KHBS_DATA_DIR") else base.data_dir,
            database_url=e.get("KHBS_DATABASE_URL", ""),
            admin_token=e.get("KHBS_ADMIN_TOKEN", ""),
            key_seed=e.get("KHBS_KEY_SEED", DEMO_KEY_SEED),
            demo=flag("KHBS_DEMO", False),
            key_store=e.get("KHBS_KEY_STORE", ""),
            trust_root_public_key=(
                Path(e["KHBS_TRUST_ROOT_PUBLIC_KEY"]) if e.get("KHBS_TRUST_ROOT_PUBLIC_KEY") else None
            ),
            host=e.get("KHBS_HOST", DEFAULT_HOST),
            port=int(e.get("KHBS_PORT", DEFAULT_PORT)),
            auto_suspend_on_flag=flag("KHBS_AUTO_SUSPEND", False),
            two_places_window_s=int(e.get("KHBS_TWO_PLACES_WINDOW_S", base.two_places_window_s)),
            clock_tolerance_s=int(e.get("KHBS_CLOCK_TOLERANCE_S", base.clock_tolerance_s)),
            auth_fail_limit_addr=int(e.get("KHBS_AUTH_FAIL_LIMIT_ADDR", base.auth_fail_limit_addr)),
            auth_fail_limit_token=int(e.get("KHBS_AUTH_FAIL_LIMIT_TOKEN", base.auth_fail_limit_token)),
            auth_lockout_addr_s=int(e.get("KHBS_AUTH_LOCKOUT_ADDR_S", base.auth_lockout_addr_s)),
            auth_lockout_token_s=int(e.get("KHBS_AUTH_LOCKOUT_TOKEN_S", base.auth_lockout_token_s)),
        )
