"""The public trust list (``GET /v1/public/trust-list``) and the trust list's age, through HTTP on SQLite and
PostgreSQL: anyone can fetch it without a token, verify it against the root they trust and cache it (ETag,
304); the centre re-signs it daily, so a terminal that keeps syncing stays trusted, and one whose trust-list
download is blocked (status data still flowing) ages into UNKNOWN instead of trusting forever."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from card_applet_spec import constants as c
from card_applet_spec.issuer import key_from_seed
from province.trust import TYP_TRUST_LIST, TrustListError
from terminal.card.session import KhbsSession
from terminal.revocation import DAY_S
from terminal.truststore import TrustAnchor, load_trust_list_file
from terminal.verify import Reason, Verdict
from tests.server.conftest import KEY_SEED, Clock, World, bearer
from tests.server.helpers import PIN, CardUnderTest
from tests.server.test_terminal_sync import Terminal

PATH = "/v1/public/trust-list"
NIK = "6271014708900002"


def root_anchor(world: World) -> TrustAnchor:
    return TrustAnchor(world.station().keys.trust_root_key.public_key())


def test_served_to_anyone_signed_and_cacheable(world: World, tmp_path: Path) -> None:
    token = world.terminal("T6271001")
    response = world.client.get(PATH)  # no Authorization header at all
    assert response.status_code == 200
    assert response.headers["content-type"] == TYP_TRUST_LIST
    assert response.headers["cache-control"] == "public, max-age=3600"
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 34

    # the very bytes the terminals get, and a phone can check them against the root it trusts
    synced = world.client.get("/v1/sync/trust-list", headers=bearer(token)).json()
    assert response.content == base64.b64decode(synced["signed"])
    saved = tmp_path / "trust-list.cose"
    saved.write_bytes(response.content)
    trust_list = load_trust_list_file(saved, root_anchor(world))
    assert trust_list.terminal("T6271001") is not None and trust_list.issuers
    # public keys only: no private key of the centre appears in it (the demo store's seed-derived keys)
    for purpose in ("trust-root", "status-list", "issuer/1"):
        private = key_from_seed(f"{KEY_SEED}/{purpose}")
        assert private.private_numbers().private_value.to_bytes(32, "big") not in response.content
    # verified against another root: refused, typed
    other = TrustAnchor(world.station().keys.status_list_key.public_key())
    with pytest.raises(TrustListError):
        load_trust_list_file(saved, other)
    with pytest.raises(TrustListError, match="cannot read"):
        load_trust_list_file(tmp_path / "missing", root_anchor(world))


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [("{etag}", 304), ("W/{etag}", 304), ('"other", {etag}', 304), ("*", 304), ('"other"', 200), ("", 200)],
)
def test_if_none_match(world: World, if_none_match: str, status: int) -> None:
    etag = world.client.get(PATH).headers["etag"]
    response = world.client.get(PATH, headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == status
    assert response.headers["etag"] == etag and response.headers["cache-control"] == "public, max-age=3600"
    assert (response.content == b"") is (status == 304)


def test_a_change_or_a_day_makes_a_new_version(world: World, clock: Clock, tmp_path: Path) -> None:
    first = world.client.get(PATH)
    again = world.client.get(PATH)
    assert again.headers["etag"] == first.headers["etag"]  # same version, same bytes
    world.terminal("T6203001", region=6203)  # an enrolment changes what the list holds
    changed = world.client.get(PATH, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]

    def issued_at(response: httpx.Response) -> int:
        saved = tmp_path / "tl"
        saved.write_bytes(response.content)
        return load_trust_list_file(saved, root_anchor(world)).issued_at

    clock.advance(DAY_S - 1)
    assert world.client.get(PATH).content == changed.content  # younger than a day: as it was
    clock.advance(2)
    renewed = world.client.get(PATH)
    assert renewed.content != changed.content and issued_at(renewed) == clock.now  # re-signed, stamped now


class BlockTrustList:
    """A network that lets everything through except the trust-list download."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.blocked = 0

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        if path.endswith("/trust-list"):
            self.blocked += 1
            raise httpx.ConnectError("blocked")
        return self.inner.request(method, path, **kw)  # type: ignore[no-any-return]


def _issue(world: World) -> CardUnderTest:
    world.citizen(NIK, name="Sari Dewi", occupation="farmer", decile=2)
    card = CardUnderTest.blank()
    world.station().issue(card.connection, nik=NIK, pin=PIN)
    return card


def test_a_terminal_that_keeps_syncing_stays_trusted(world: World, clock: Clock, tmp_path: Path) -> None:
    term = Terminal(world, tmp_path, world.terminal("T6271001"))
    card = _issue(world)
    for _ in range(40):
        assert term.syncer.sync_once().success
        clock.advance(DAY_S)
    assert term.syncer.sync_once().success
    result, _ = term.service().tap(KhbsSession(card.session().connection))
    assert result.verdict is Verdict.VALID, result.result


def test_blocking_only_the_trust_list_keeps_nothing_trusted_forever(
    world: World, clock: Clock, tmp_path: Path
) -> None:
    term = Terminal(world, tmp_path, world.terminal("T6271001"))
    card = _issue(world)
    assert term.syncer.sync_once().success
    blocker = BlockTrustList(world.client)
    term.syncer.client.http = blocker  # type: ignore[assignment]

    def tap(program: int | None) -> Any:
        return term.service().tap(KhbsSession(card.session().connection), program)[0]

    clock.advance(4 * DAY_S)
    report = term.syncer.sync_once()
    assert set(report.failed) == {"trust_list"} and "status_list" in report.ok  # status data stays fresh
    blt = tap(c.Program.BLT)  # cash: the trust list may be 3 days old
    assert (blt.verdict, blt.result.reason) == (Verdict.UNKNOWN, Reason.TRUST_LIST_STALE)
    assert blt.result.detail == "trust list 4 days old, limit 3 days"
    assert tap(None).verdict is Verdict.VALID  # a check tap allows 30 days

    for _ in range(2 * 365 // 30):  # two years of monthly syncs (the terminal's token renews on the way)
        clock.advance(30 * DAY_S)
        assert set(term.syncer.sync_once().failed) == {"trust_list"}
    clock.advance(2 * 365 * DAY_S - (2 * 365 // 30) * 30 * DAY_S)
    assert set(term.syncer.sync_once().failed) == {"trust_list"}
    check = tap(None)
    assert (check.verdict, check.result.reason) == (Verdict.UNKNOWN, Reason.TRUST_LIST_STALE)
    assert check.result.detail.startswith("trust list 2 years old")
    assert blocker.blocked == 2 + 2 * 365 // 30  # every round asked, every round was refused

    term.syncer.client.http = world.client  # the block lifts: the next sync trusts again
    assert term.syncer.sync_once().success
    assert tap(c.Program.BLT).verdict is Verdict.VALID
