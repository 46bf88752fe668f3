"""A real terminal's life through the command line, as an operator runs it, against ``kartu server``.

The server runs as its own process (SQLite under a temporary data dir). An administrator registers a
citizen and issues an enrolment code over HTTP; the issuance station personalises the citizen's card; the
operator runs ``kartu enrol`` with the root key from the "installation medium" and its fingerprint from
the "sheet"; then, with the card in the virtual reader (pcscd + vpcd): a check tap, a redemption, a sync
that uploads it, a revocation on the server, a sync that brings it, and the next tap INVALID(revoked).
No demo key is used anywhere on the terminal's side.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import FileStore, ReferenceCard
from drivers.pcsc import connect
from kartu.cli import main
from terminal.clerks import load_clerks
from terminal.config import load_config
from terminal.counter_flow import CounterFlow
from terminal.counter_flow_types import ResultKind, Step
from terminal.readers import CardInserted
from terminal.station import open_station
from tests.conftest import VPCD_READER
from tests.server.conftest import PG_URL, drop_pg_schema, reset_pg_schema
from tests.support.flow import Link, Queue, View

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "e2e-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NIK = "6271014708900002"
PIN = "246813"


class Server:
    """``kartu server`` as its own process, stopped and started again on the same port and database."""

    def __init__(self, data: Path, database_url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data, self.database_url = data, database_url
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = ["server", "--port", str(self.port), "--data-dir", str(self.data)]
        argv += ["--database-url", self.database_url] if self.database_url else []
        env = {**os.environ, "KHBS_ADMIN_TOKEN": ADMIN_TOKEN, "KHBS_DEMO": "1"}  # demo keys
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/kartu"), *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                assert self.proc.poll() is None, self.proc.communicate()[0].decode()[-3000:]
                assert time.monotonic() < deadline, "kartu server did not answer in 60 s"
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            out = self.proc.communicate(timeout=30)[0].decode()
            self.proc = None
            assert "Traceback" not in out, out[-3000:]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    url = ""
    if request.param == "postgresql":
        schema = f"khbs_lifecycle_{os.getpid()}"
        reset_pg_schema(schema).dispose()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    running = Server(tmp_path / "server", url)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        if url:
            drop_pg_schema(schema)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def kartu(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


@pytest.mark.pcsc
def test_enrol_redeem_sync_revoke(
    server: Server, tmp_path: Path, vpcd_slot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url
    http = httpx.Client(base_url=url, headers=ADMIN, timeout=30)
    # the registry: a household and a citizen (eligible for cash aid by the programme rules)
    ok(
        http.post(
            "/v1/admin/households",
            json={"kk_number": "6271010101230001", "address": "Jl. Tjilik Riwut", "welfare_decile": 2},
        ),
        201,
    )
    ok(
        http.post(
            "/v1/admin/citizens",
            json={"nik": NIK, "name": "Sari Dewi", "kk_number": "6271010101230001", "occupation": "farmer"},
        ),
        201,
    )
    # the issuance station personalises the card (a reference card file here)
    cards = tmp_path / "cards"
    os.environ["KHBS_ADMIN_TOKEN"] = ADMIN_TOKEN
    os.environ["KHBS_DEMO"] = "1"  # the station signs with the demo server's demo keys
    try:
        code, out = kartu(
            capsys,
            "issue",
            "--card-dir",
            str(cards),
            "--nik",
            NIK,
            "--pin",
            PIN,
            "--server-data-dir",
            str(server.data),
            *(["--database-url", server.database_url] if server.database_url else []),
        )
    finally:
        del os.environ["KHBS_ADMIN_TOKEN"]
        del os.environ["KHBS_DEMO"]
    assert code == 0, out
    card_file = cards / f"{NIK}.card"
    serial = ReferenceCard(FileStore(card_file)).state.serial.hex()

    # the installation medium and the enrolment sheet
    root = ok(http.get("/v1/admin/root-key"))
    usb = tmp_path / "usb" / "trust-anchor.pem"
    usb.parent.mkdir()
    usb.write_text(root["pem"])
    issued = ok(
        http.post(
            "/v1/admin/enrolment-codes",
            json={"terminal_id": "T6271042", "site": "Kantor Kelurahan Langkai", "region": 6271},
        ),
        201,
    )
    config, data = tmp_path / "etc" / "terminal.toml", tmp_path / "var" / "kartu"
    enrol = [
        "--config",
        str(config),
        "--data-dir",
        str(data),
        "enrol",
        "--server",
        url,
        "--code",
        issued["code"],
        "--anchor",
        str(usb),
        "--install-anchor",
        str(tmp_path / "etc" / "trust-anchor.pem"),
        "--mode",
        "counter",
    ]

    # a fingerprint that is not the sheet's: nothing is enrolled, nothing written, the code still good
    wrong = "0000 " * 15 + "0000"
    code, out = kartu(capsys, *enrol, "--fingerprint", wrong)
    assert code == 1 and "NOT the one on the sheet" in out and not config.exists() and not data.exists()

    code, out = kartu(capsys, *enrol, "--fingerprint", root["fingerprint"].lower())
    assert code == 0, out
    assert "ok     trust_list" in out and "ok     status_list" in out and "T6271042" in out
    cfg = load_config(config)
    assert (cfg.terminal_id, cfg.region, cfg.server_url, cfg.mode.value) == ("T6271042", 6271, url, "counter")
    for name in ("terminal-key.pem", "server-token", "receipt.cert"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    assert (tmp_path / "etc" / "trust-anchor.pem").read_text() == root["pem"]
    code, out = kartu(capsys, *enrol, "--fingerprint", root["fingerprint"])
    assert code == 1 and "exists" in out  # enrolled once
    code, out = kartu(capsys, *enrol, "--fingerprint", root["fingerprint"], "--force")
    assert code == 1 and "enrolment_code_invalid" in out  # the code was single use

    # kartu doctor: healthy (the printer is only a warning), then each broken part named with its exit code
    code, out = kartu(capsys, "--config", str(config), "doctor")
    assert code == 0 and "GAGAL" not in out and "no receipt printer configured" in out, out
    installed = tmp_path / "etc" / "trust-anchor.pem"
    installed.chmod(0o666)
    code, out = kartu(capsys, "--config", str(config), "doctor")
    assert code == 12 and "can be rewritten by others" in out and "chmod 444" in out, out
    installed.chmod(0o444)
    (data / "server-token").chmod(0o644)
    code, out = kartu(capsys, "--config", str(config), "doctor")
    assert code == 11 and "readable by others" in out, out
    (data / "server-token").chmod(0o600)
    code, out = kartu(capsys, "--config", str(tmp_path / "nowhere.toml"), "doctor")
    assert code == 10 and "kartu enrol" in out, out

    # the counter's clerks, then the app itself starts on this terminal's parts (PC/SC, its keys, its data)
    as_terminal = ["--config", str(config)]
    code, out = kartu(capsys, *as_terminal, "clerk", "add", "rina", "Rina Marlina", "--pin", "1357")
    assert code == 0, out
    code, out = kartu(capsys, *as_terminal, "clerk", "list")
    assert code == 0 and "rina\tRina Marlina" in out
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    shown = subprocess.run(
        [str(ROOT / ".venv/bin/kartu"), *as_terminal, "kiosk", "--first-paint-and-quit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0 and "FIRST_PAINT" in shown.stdout, shown.stderr[-3000:]

    # the card in the reader: a check tap, then a redemption, on this terminal's own data and keys
    vpcd_slot.insert(ReferenceCard(FileStore(card_file)))
    code, out = kartu(capsys, *as_terminal, "read", "--reader", VPCD_READER, "--json")
    assert code == 0 and json.loads(out)["verdict"] == "valid", out
    code, out = kartu(
        capsys,
        *as_terminal,
        "redeem",
        "--reader",
        VPCD_READER,
        "--program",
        "1",
        "--amount",
        "100000",
        "--pin",
        PIN,
        "--clerk",
        "rina",
        "--clerk-name",
        "Rina",
        "--json",
    )
    assert code == 0, out
    before = ok(http.get(f"/v1/admin/cards/{serial}"))
    code, out = kartu(capsys, *as_terminal, "sync")
    assert code == 0 and "ok     redemptions" in out, out
    after = ok(http.get(f"/v1/admin/cards/{serial}"))
    blt = next(e for e in after["entitlements"] if e["program"] == 1)
    assert (
        blt["remaining"]
        == next(e for e in before["entitlements"] if e["program"] == 1)["remaining"] - 100_000
    )

    # the counter app's own flow (the state machine its window drives) on this terminal's parts: the clerk
    # logs in, the card is read through pcscd, the holder's PIN is verified before the clerk confirms, and
    # the background sync uploads the redemption by itself, right after it
    station = open_station(cfg)
    loop = station.sync_loop()
    station.terminal.on_recorded = loop.sync_now
    link, worker, view = Link(), Queue(), View()
    flow = CounterFlow(station.terminal, load_clerks(data), link, worker, view, clock=time.monotonic)
    loop.start()
    try:
        flow.login("rina", "1357")
        flow.card_inserted(
            CardInserted(VPCD_READER, b"", lambda: connect(VPCD_READER, timeout=10.0), sequence=1)
        )
        worker.drain()
        assert flow.step is Step.HOLDER and flow.tap is not None, view.steps
        for action in (
            lambda: flow.choose(c.Program.BLT),
            lambda: flow.amount_chosen(25_000),
            lambda: flow.pin_entered(PIN),
        ):
            action()
            worker.drain()
        assert flow.step is Step.CONFIRM and flow.authorised is not None, view.steps
        flow.confirm()
        worker.drain()
        assert flow.result is ResultKind.REDEEMED, view.steps
        deadline = time.monotonic() + 60
        while station.terminal.ledger.pending_upload_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert station.terminal.ledger.pending_upload_count() == 0
    finally:
        loop.stop()
        if link.connection is not None:
            link.connection.close()
        station.close()
    counted = ok(http.get(f"/v1/admin/cards/{serial}"))
    blt = next(e for e in counted["entitlements"] if e["program"] == 1)
    assert (
        blt["remaining"] == next(e for e in after["entitlements"] if e["program"] == 1)["remaining"] - 25_000
    )

    # the server is down for a while: the terminal serves on, keeps what it owes, and hands it over later
    server.stop()
    code, out = kartu(
        capsys,
        *as_terminal,
        "redeem",
        "--reader",
        VPCD_READER,
        "--program",
        "1",
        "--amount",
        "50000",
        "--pin",
        PIN,
        "--clerk",
        "rina",
        "--json",
    )
    assert code == 0, out
    code, out = kartu(capsys, *as_terminal, "sync")
    assert code == 3 and "unreachable" in out, out
    code, out = kartu(capsys, *as_terminal, "ledger", "--json")
    assert [r["uploaded"] for r in json.loads(out)["rows"]] == [False, True, True]
    server.start()
    code, out = kartu(capsys, *as_terminal, "sync")
    assert code == 0 and "ok     redemptions" in out, out
    code, out = kartu(capsys, *as_terminal, "ledger", "--json")
    assert [r["uploaded"] for r in json.loads(out)["rows"]] == [True, True, True]
    later = ok(http.get(f"/v1/admin/cards/{serial}"))
    assert (
        next(e for e in later["entitlements"] if e["program"] == 1)["remaining"] == blt["remaining"] - 50_000
    )

    # the card is reported stolen: the revocation reaches the terminal at its next sync
    ok(http.post(f"/v1/admin/cards/{serial}/revoke", json={"reason": "dicuri / stolen"}))
    code, out = kartu(capsys, *as_terminal, "sync")
    assert code == 0, out
    code, out = kartu(capsys, *as_terminal, "read", "--reader", VPCD_READER, "--json")
    result = json.loads(out)
    # the issuer-signed terminate command came with the sync and was applied at this tap: the card
    # itself is now terminated (and the status list says revoked for any terminal that missed it)
    assert code == 1 and (result["verdict"], result["reason"]) == ("invalid", "card_terminated"), out
    assert ReferenceCard(FileStore(card_file)).state.life_cycle == c.LifeCycle.TERMINATED
