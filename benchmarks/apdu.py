"""APDU round trip through the real stack: reference card → vpcd → pcscd → pyscard → PcscConnection.

    python -m benchmarks.apdu [--runs 2000]

Starts pcscd if none runs (and stops it again), inserts a reference card in "Virtual PCD 00 00", times
SELECT round trips and ends with one JSON line. ``pcsc_card_session`` and ``measure_rtt`` are reusable
for other measurements (taps, redeems) on the same setup.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from card_applet_spec import constants as c
from card_applet_spec.reference_card import ReferenceCard
from drivers.pcsc import PcscConnection, connect, wait_for_card
from drivers.pcscd import ensure_pcscd
from drivers.vpcd import DEFAULT_PORT, DEFAULT_READER, VirtualCard, VirtualCardSlot
from terminal.card.connection import Connection
from terminal.card.session import KhbsSession
from terminal.demo import DEMO_PIN, DemoWorld
from terminal.verify import Verdict

SELECT = bytes([0x00, c.INS_SELECT, 0x04, 0x00, len(c.AID)]) + c.AID + b"\x00"


@dataclass(frozen=True)
class RttStats:
    runs: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    max_ms: float


@contextmanager
def pcsc_card_session(
    card: VirtualCard | None = None, reader: str = DEFAULT_READER, port: int = DEFAULT_PORT
) -> Iterator[PcscConnection]:
    """pcscd (started if needed) + a card in the vpcd reader + a PcscConnection to it; all undone after."""
    service = ensure_pcscd(reader)
    try:
        if not wait_for_card(reader, present=False, timeout=3.0):
            raise RuntimeError(f"{reader!r} already holds a card")
        with VirtualCardSlot(card or ReferenceCard(), port=port):
            connection = connect(reader, timeout=5.0)
            try:
                yield connection
            finally:
                connection.close()
        wait_for_card(reader, present=False, timeout=3.0)
    finally:
        service.stop()


def measure_rtt(connection: Connection, apdu: bytes = SELECT, runs: int = 2000, warmup: int = 50) -> RttStats:
    """Time ``runs`` round trips of ``apdu`` (each must answer 9000) after ``warmup`` untimed ones."""
    for _ in range(warmup):
        connection.send_and_receive(apdu)
    times_ms: list[float] = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        _, sw = connection.send_and_receive(apdu)
        times_ms.append((time.perf_counter_ns() - start) / 1e6)
        if sw != 0x9000:
            raise RuntimeError(f"{apdu.hex()} answered {sw:04X}")
    times_ms.sort()
    return RttStats(
        runs=runs,
        p50_ms=statistics.median(times_ms),
        p95_ms=times_ms[min(runs - 1, round(0.95 * (runs - 1)))],
        mean_ms=statistics.fmean(times_ms),
        max_ms=times_ms[-1],
    )


class CountingConnection:
    """Counts APDUs, bytes both ways, and card signatures (INTERNAL AUTHENTICATE / DEBIT answers)."""

    SIGNING_INS = (c.INS_INTERNAL_AUTHENTICATE, c.INS_DEBIT)

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.apdus = self.bytes = self.signatures = 0

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.send_and_receive(apdu)
        self.apdus += 1
        self.bytes += len(apdu) + len(data) + 2
        if apdu[1] in self.SIGNING_INS and sw == 0x9000:
            self.signatures += 1
        return data, sw

    def close(self) -> None:
        self.inner.close()


def demo_card(data_dir: Path) -> tuple[ReferenceCard, DemoWorld]:
    world = DemoWorld(data_dir)
    world.provision()
    return world.card("siti"), world


def measure_flows(connection: PcscConnection, world: DemoWorld) -> dict[str, int]:
    """Count what a check tap and a whole redemption cost on the wire."""
    terminal = world.terminal()
    tap_conn = CountingConnection(connection)
    result = terminal.tap(KhbsSession(tap_conn))
    if result.verdict is not Verdict.VALID:
        raise RuntimeError(f"demo card not valid: {result.result}")
    redeem_conn = CountingConnection(connection)
    terminal.redeem(KhbsSession(redeem_conn), c.Program.BLT, 50_000, DEMO_PIN)
    credential = result.raw_credential or b""
    return {
        "check_tap_apdus": tap_conn.apdus,
        "check_tap_bytes": tap_conn.bytes,
        "check_tap_card_signatures": tap_conn.signatures,
        "redeem_apdus": redeem_conn.apdus,
        "redeem_card_signatures": redeem_conn.signatures,
        "credential_bytes": len(credential),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        card, world = demo_card(Path(tmp))
        with pcsc_card_session(card) as connection:
            rtt = measure_rtt(connection, runs=args.runs)
            flows = measure_flows(connection, world)
    print(f"SELECT round trip over pcscd + vpcd ({rtt.runs} runs):")
    print(f"  p50 {rtt.p50_ms:.3f} ms  p95 {rtt.p95_ms:.3f} ms", end="")
    print(f"  mean {rtt.mean_ms:.3f} ms  max {rtt.max_ms:.3f} ms")
    print(f"  {1000 / rtt.mean_ms:.0f} APDU/s")
    print(
        f"Check tap: {flows['check_tap_apdus']} APDUs, {flows['check_tap_bytes']} bytes both ways, "
        f"{flows['check_tap_card_signatures']} card signature(s)   (targets: <= 3 APDUs, 1 signature)"
    )
    print(
        f"Redemption: {flows['redeem_apdus']} APDUs, {flows['redeem_card_signatures']} card signatures"
        "   (targets: <= 5 APDUs, <= 2 signatures)"
    )
    print(f"Credential: {flows['credential_bytes']} bytes   (target: <= 256)")
    result = {
        "rtt_ms_p50": round(rtt.p50_ms, 4),
        "rtt_ms_p95": round(rtt.p95_ms, 4),
        "rtt_runs": rtt.runs,
        **flows,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
