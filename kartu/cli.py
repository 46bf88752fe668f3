"""``kartu``: one command, with subcommands for the kiosk, the counter, the terminal core and the server.

Exit codes: 0 ok / card VALID; 1 card INVALID or redemption refused; 2 verdict UNKNOWN; 3 a device or
data problem (no reader, no card, card pulled, no trust list); 64 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import typing
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_INVALID, EXIT_UNKNOWN, EXIT_DEVICE, EXIT_USAGE = 0, 1, 2, 3, 64


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("kartu", "khbs")) / "demo"


class _Parser(argparse.ArgumentParser):
    """argparse with the README's usage exit code (64, not argparse's 2)."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


#: Subcommands that hand their remaining arguments to another program's own parser.
_PASS_THROUGH = {"demo": "ui_args", "kiosk": "ui_args", "server": "server_args"}


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; the pass-through subcommands keep the options they do not know for the program they run."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        dest = _PASS_THROUGH.get(args.command)
        if dest is None:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        setattr(args, dest, [*extra, *getattr(args, dest)])
    return args


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kartu", description="Kartu Huma Betang Sejahtera terminal software")
    p.add_argument("--data-dir", type=Path, default=None, help="terminal data directory (default: per user)")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="this terminal's config file (or $KARTU_CONFIG): run as the enrolled terminal, not the demo",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: APDU traffic)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="the kiosk demo on embedded defaults (in-process cards, SQLite)")
    demo.add_argument("--headless", action="store_true", help="no window: read every demo card and print it")
    demo.add_argument("--reset", action="store_true", help="start again with new demo cards and ledger")
    demo.add_argument("ui_args", nargs=argparse.REMAINDER, help="passed to the kiosk app")

    # no help of its own: ``kartu kiosk --help`` shows the app's options (kiosk_ui.app.parse_args)
    kiosk = sub.add_parser("kiosk", help="run the kiosk / counter app", add_help=False)
    kiosk.add_argument("ui_args", nargs=argparse.REMAINDER)

    def card_source(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--reader", help="PC/SC reader name (see `kartu readers`)")
        g.add_argument("--demo-card", help="a demo card by name (siti, darto, maria, agus, rahmat, klon)")
        g.add_argument("--card-file", type=Path, help="a reference-card file")
        sp.add_argument("--json", action="store_true", help="machine-readable output")

    read = sub.add_parser("read", help="read and verify a card, print the verdict and entitlements")
    card_source(read)
    read.add_argument("--program", type=int, default=None, help="judge freshness for this program (1-8)")

    redeem = sub.add_parser("redeem", help="redeem at the counter (PIN from --pin or prompted)")
    card_source(redeem)
    redeem.add_argument("--program", type=int, required=True, help="program number 1-8")
    redeem.add_argument("--amount", default="0", help="amount (rupiah) or quantity (e.g. 2,5 for kg)")
    redeem.add_argument("--pin", default=None)
    redeem.add_argument("--clerk", default=None, help="the clerk's id (default: your login name)")
    redeem.add_argument(
        "--clerk-name", default=None, help="the clerk's name on the receipt (default: --clerk)"
    )

    ledger = sub.add_parser("ledger", help="show the redemption ledger")
    ledger.add_argument("--limit", type=int, default=20)
    ledger.add_argument("--failures", action="store_true", help="show recorded failures instead")
    ledger.add_argument("--json", action="store_true")

    verify = sub.add_parser("verify-receipt", help="verify a receipt's QR payload offline")
    verify.add_argument(
        "payload", nargs="?", help="the QR text (KHBS2:... base45); default: stdin (text, or the QR's bytes)"
    )
    verify.add_argument(
        "--trust-list",
        type=Path,
        help="a trust list saved from GET /v1/public/trust-list (default: this terminal's)",
    )
    verify.add_argument("--anchor", type=Path, help="the root public key (PEM) to check --trust-list with")
    verify.add_argument("--json", action="store_true")

    sync = sub.add_parser("sync", help="one sync round with the central server")
    sync.add_argument("--server", help="server base URL, e.g. http://127.0.0.1:8620 (demo world only)")
    sync.add_argument("--token", help="this terminal's API token (demo world only)")
    sync.add_argument("--json", action="store_true")

    sub.add_parser("readers", help="list PC/SC readers")
    from kartu.conformance_cmd import add_parser as add_conformance

    add_conformance(sub)
    sub.add_parser("doctor", help="check this enrolled terminal (with --config): what is wrong, what to do")
    clerk = sub.add_parser("clerk", help="the clerks who may log in at this counter (with --config)")
    clerk.add_argument("action", choices=("add", "remove", "list"))
    clerk.add_argument("clerk_id", nargs="?", help="e.g. rina")
    clerk.add_argument("name", nargs="?", help="the name receipts show, e.g. 'Rina Marlina'")
    clerk.add_argument("--pin", help="4-8 digits (default: asked twice, not echoed)")
    from kartu.enrol import add_parser as add_enrol

    add_enrol(sub)
    from kartu.keys_cli import add_parser as add_keys

    add_keys(sub)

    issue = sub.add_parser("issue", help="issuance station: personalise blank cards for registered citizens")
    where = issue.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--reader",
        action="append",
        help="PC/SC reader holding the blank card (batch: put each card in turn; repeat --reader to "
        "personalise on several readers at once)",
    )
    where.add_argument("--card-dir", type=Path, help="write reference-card files here (one per citizen)")
    issue.add_argument("--nik", help="the citizen's NIK (registered at the server)")
    issue.add_argument("--pin", help="initial PIN (default: prompted)")
    issue.add_argument("--batch", type=Path, help="CSV file with lines nik,pin: issue them all")
    issue.add_argument("--reissue", metavar="OLD_SERIAL", help="replace a lost/stolen card (old one revoked)")
    issue.add_argument("--reason", default="hilang / lost", help="reason recorded for a reissue")
    issue.add_argument("--database-url", default="", help="server database (default: its SQLite file)")
    issue.add_argument("--server-data-dir", type=Path, default=None, help="server data directory")
    issue.add_argument("--json", action="store_true")

    imp = sub.add_parser(
        "import-citizens", help="bulk import of citizens from a register extract (CSV), all or nothing"
    )
    imp.add_argument(
        "file", type=Path, help="CSV: nik,kk_number,name,birth_date,sex,address,welfare_decile,occupation"
    )
    imp.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    imp.add_argument("--database-url", default="", help="server database (default: its SQLite file)")
    imp.add_argument("--server-data-dir", type=Path, default=None, help="server data directory")
    imp.add_argument("--json", action="store_true")

    # no help of its own: --help (like every option) goes to the server's parser, which knows them
    server = sub.add_parser("server", help="run the central registration server", add_help=False)
    server.add_argument("server_args", nargs=argparse.REMAINDER)
    return p


# -- helpers ---------------------------------------------------------------------------------------


def _print(args: argparse.Namespace, human: str, data: dict[str, Any]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, sort_keys=True))
    else:
        print(human)


def _config_path(args: argparse.Namespace) -> Path | None:
    import os

    return args.config or (Path(os.environ["KARTU_CONFIG"]) if os.environ.get("KARTU_CONFIG") else None)


def _station(args: argparse.Namespace, *, printing: bool = False) -> Any:
    """The enrolled terminal of ``--config`` (None: the demo world). ``printing``: receipts go to the
    config's printer."""
    path = _config_path(args)
    if path is None:
        return None
    from terminal.config import load_config
    from terminal.station import open_station

    config = load_config(path)
    receipts = None
    if printing and config.printer is not None:
        from kartu.compose import receipt_printer
        from terminal.receipt import EntryReceiptSink

        receipts = EntryReceiptSink(receipt_printer(config.printer), {})
    return open_station(config, receipts=receipts)


def _world(args: argparse.Namespace) -> Any:
    from terminal.demo import DemoWorld

    world = DemoWorld(args.data_dir or default_data_dir())
    world.provision()
    return world


def _terminal(world: Any) -> Any:
    """The demo counter, printing receipts as text previews and ESC/POS files in the data directory."""
    from drivers.printer import file_printer
    from terminal.demo import DemoReceipts

    return world.terminal(DemoReceipts(world.receipts_dir, lambda path: file_printer(str(path))))


def _session(args: argparse.Namespace, world: Any) -> AbstractContextManager[Any]:
    """A KhbsSession for the chosen card source (PC/SC reader, demo card or card file)."""
    from terminal.card.session import KhbsSession

    if args.reader:
        from drivers.pcsc import connect

        connection = connect(args.reader, timeout=10.0)
        return _closing(KhbsSession(connection))
    from card_applet_spec.reference_card import CardTorn, FileStore, ReferenceCard
    from terminal.card.connection import InProcessConnection

    if args.card_file:
        card = ReferenceCard(FileStore(args.card_file))
    elif world is None:  # an enrolled terminal has no demo cards
        raise _UsageError("give --reader (or --card-file): an enrolled terminal has no demo cards")
    else:
        card = world.card(args.demo_card or "siti")
    return nullcontext(KhbsSession(InProcessConnection(card, (CardTorn,))))


class _UsageError(Exception):
    """A command line that cannot work as given (exit 64, one line)."""


class _closing(AbstractContextManager[Any]):
    def __init__(self, session: Any) -> None:
        self.session = session

    def __enter__(self) -> Any:
        return self.session

    def __exit__(self, *exc: object) -> None:
        self.session.connection.close()


def _tap_dict(result: Any) -> dict[str, Any]:
    r = result.result
    return {
        "verdict": result.verdict.value,
        "reason": r.reason.value if r.reason else None,
        "detail": r.detail,
        "data_age_s": r.data_age_s,
        "holder": result.holder_name,
        "nik_masked": result.nik_masked,
        "card_serial": result.card_serial.hex() if result.card_serial else None,
        "entitlements": [
            {
                "program": int(e.program),
                "name": e.info.name_id,
                "status": e.status.value,
                "remaining": e.remaining,
                "remaining_text": e.remaining_text,
                "period_end": e.period_end.isoformat() if e.period_end else None,
            }
            for e in result.entitlements
        ],
    }


def _tap_text(result: Any) -> str:
    r = result.result
    lines = [
        f"Verdict: {result.verdict.value.upper()}" + (f" ({r.reason.value}: {r.detail})" if r.reason else "")
    ]
    if result.holder_name:
        lines.append(f"Holder:  {result.holder_name}   NIK {result.nik_masked}")
    if r.data_age_s is not None:
        lines.append(f"Revocation data age: {r.data_age_s / 3600:.1f} h")
    for e in result.entitlements:
        until = f" s/d {e.period_end:%d-%m-%Y}" if e.period_end else ""
        lines.append(
            f"  {int(e.program)}. {e.info.name_id:<38} {e.status.value:<14} {e.remaining_text}{until}"
        )
    return "\n".join(lines)


def _exit_for(verdict: Any) -> int:
    from terminal.verify import Verdict

    return {Verdict.VALID: EXIT_OK, Verdict.INVALID: EXIT_INVALID, Verdict.UNKNOWN: EXIT_UNKNOWN}[verdict]


# -- commands ----------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    import shutil

    from terminal.demo import DEMO_CARDS

    data_dir = args.data_dir or default_data_dir()
    if args.reset and data_dir.exists():
        shutil.rmtree(data_dir)
    args.data_dir = data_dir
    world = _world(args)
    import os

    display = any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    if not args.headless and not display:
        print("No display: reading the demo cards headless (for the window: xvfb-run -a kartu demo).\n")
        args.headless = True
    if not args.headless:
        from kartu.compose import run_kiosk

        return run_kiosk(["--demo", "--data-dir", str(data_dir), *args.ui_args], prog="kartu demo")
    terminal = world.terminal()
    from terminal.card.connection import InProcessConnection
    from terminal.card.session import KhbsSession

    for card in DEMO_CARDS:
        result = terminal.tap(KhbsSession(InProcessConnection(world.card(card.name))))
        print(f"== {card.label}")
        print(_tap_text(result))
        print()
    print(f"Demo data: {data_dir}")
    return EXIT_OK


def cmd_read(args: argparse.Namespace) -> int:
    station = _station(args)
    world: Any = None if station is not None else _world(args)
    terminal = station.terminal if station is not None else world.terminal()
    with _session(args, world) as session:
        result = terminal.tap(session, args.program)
    _print(args, _tap_text(result), _tap_dict(result))
    return _exit_for(result.verdict)


def cmd_redeem(args: argparse.Namespace) -> int:
    import getpass

    from province.programs import parse_amount
    from terminal.redeem import DebitInterrupted, DebitNotTrusted, RedemptionRefused

    station = _station(args, printing=True)
    world: Any = None if station is not None else _world(args)
    terminal = station.terminal if station is not None else _terminal(world)
    clerk = args.clerk or getpass.getuser()
    terminal.login(clerk, args.clerk_name or clerk)  # the receipt names the clerk who redeemed
    with _session(args, world) as session:
        tap, settled = terminal.tap_and_settle(session, args.program)
        if settled.recovered or settled.unresolved:  # an interrupted redemption was just completed
            ids = ", ".join(settled.recovered or settled.unresolved)
            _print(
                args,
                f"Ditolak / refused: previous_redemption_settled ({ids}); periksa struk / check the receipt",
                {
                    "result": "refused",
                    "reason": "previous_redemption_settled",
                    "detail": ids,
                    "tries_left": None,
                },
            )
            return EXIT_INVALID
        ent = next((e for e in tap.entitlements if int(e.program) == args.program), None)
        unit = ent.unit if ent and ent.unit else 1
        try:
            amount = parse_amount(unit, args.amount)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        pin = args.pin if args.pin is not None else getpass.getpass("PIN pemegang kartu / holder PIN: ")
        try:
            done = terminal.redeem(session, args.program, amount, pin)
        except RedemptionRefused as refused:
            _print(
                args,
                f"Ditolak / refused: {refused.reason.value} ({refused.detail})",
                {
                    "result": "refused",
                    "reason": refused.reason.value,
                    "detail": refused.detail,
                    "tries_left": refused.tries_left,
                },
            )
            return EXIT_INVALID
        except DebitNotTrusted as exc:  # a card-signed record that is not what was asked: no receipt
            _print(
                args,
                f"Ditolak / refused: {exc.reason.value} ({exc.detail}); diperiksa pusat / for audit",
                {"result": "not_trusted", "reason": exc.reason.value, "redemption_id": exc.redemption_id},
            )
            return EXIT_INVALID
        except DebitInterrupted as exc:
            _print(
                args,
                f"Belum selesai / not finished: {exc.detail}; tempelkan kartu lagi / tap the card again",
                {"result": "interrupted", "reason": exc.reason.value, "redemption_id": exc.redemption_id},
            )
            return EXIT_DEVICE
    e = done.entry
    _print(
        args,
        f"OK: {e.id} counter {e.tx_counter} amount {e.amount} left {e.balance_after}"
        + ("" if done.receipt_printed else f" (receipt not printed: {done.receipt_error})"),
        {
            "result": "committed",
            "id": e.id,
            "record_id": e.record_id,
            "tx_counter": e.tx_counter,
            "amount": e.amount,
            "balance_after": e.balance_after,
            "receipt_printed": done.receipt_printed,
        },
    )
    return EXIT_OK


def cmd_ledger(args: argparse.Namespace) -> int:
    station = _station(args)
    ledger = (station.terminal if station is not None else _world(args).terminal()).ledger
    if args.failures:
        rows = [
            {"id": f.id, "reason": f.reason, "detail": f.detail, "program": f.program, "at": f.created_at}
            for f in ledger.list_failures(args.limit)
        ]
        text = "\n".join(
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(r['at']))}  {r['reason']:<24} {r['detail']}"
            for r in rows
        )
    else:
        rows = [
            {
                "id": e.id,
                "state": e.state.value,
                "program": e.program,
                "amount": e.amount,
                "tx_counter": e.tx_counter,
                "card": e.card_serial.hex(),
                "receipt": e.receipt_state.value,
                "voided": e.voided,
                "uploaded": e.uploaded_at is not None,
                "at": e.created_at,
            }
            for e in ledger.entries(args.limit)
        ]
        text = "\n".join(
            f"{r['id'][:8]}  {r['state']:<10} card {r['card']} program {r['program']}"
            f" amount {r['amount']:>9} ctr {r['tx_counter']} receipt {r['receipt']}"
            + (" VOID" if r["voided"] else "")
            for r in rows
        )
    _print(args, text or "(empty)", {"rows": rows})
    return EXIT_OK


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    """SAH only for a counter receipt: the issuer's credential, the card's signature and the issuing
    terminal's certified signature all verify, each issuer key within its window (trust list)."""
    from province.receipt_qr import QrFailure, QrPayloadError, verify_qr_payload

    trust = _receipt_trust(args)
    if trust is None:
        print("error: no trust list on this terminal", file=sys.stderr)
        return EXIT_DEVICE
    payload: str | bytes = args.payload if args.payload else sys.stdin.buffer.read()
    try:
        ok = verify_qr_payload(payload, trust, time.time())
    except QrPayloadError as err:
        word = "DIBATALKAN / VOIDED" if err.reason is QrFailure.VOIDED else "TIDAK SAH / INVALID"
        _print(
            args,
            f"{word}: {err}",
            {"valid": False, "reason": err.reason.value, "detail": err.detail},
        )
        return EXIT_INVALID
    r = ok.record
    terminal_id = r.terminal_id.decode(errors="replace")
    _print(
        args,
        f"SAH / VALID: card {r.card_serial.hex()} counter {r.tx_counter} program {r.program}"
        f" amount {r.amount} terminal {terminal_id} (signed by the terminal)"
        f" holder {ok.credential.claims.nik_masked} ref {ok.reference}",
        {
            "valid": True,
            "card_serial": r.card_serial.hex(),
            "tx_counter": r.tx_counter,
            "program": r.program,
            "amount": r.amount,
            "balance_after": r.balance_after,
            "terminal_id": terminal_id,
            "terminal_time": r.terminal_time,
            "reference": ok.reference,
            "nik_masked": ok.credential.claims.nik_masked,
        },
    )
    return EXIT_OK


def _receipt_trust(args: argparse.Namespace) -> Any:
    """The trust list to check a receipt with: ``--trust-list`` (from the public endpoint) verified with
    ``--anchor`` (default: this terminal's installed root), else this terminal's own verified list."""
    if args.trust_list is None:
        return _world(args).trust.current()
    from terminal.truststore import ANCHOR_FILE_NAME, TrustAnchor, load_trust_list_file

    anchor = args.anchor or (args.data_dir or default_data_dir()) / ANCHOR_FILE_NAME
    return load_trust_list_file(args.trust_list, TrustAnchor.load(anchor))


def cmd_readers(args: argparse.Namespace) -> int:
    from drivers.pcsc import list_readers

    for name in list_readers():
        print(name)
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from terminal.catalogue import Catalogue
    from terminal.pending import PendingUpdates
    from terminal.sync import SyncClient, Syncer, SyncStateStore

    station = _station(args)
    if station is not None:  # the enrolled terminal: its server, its token (the kiosk's loop, once)
        report = station.syncer().sync_once()
        station.close()
        return _sync_report(args, report)
    if not (args.server and args.token):
        print("kartu sync: give --config (an enrolled terminal), or --server and --token", file=sys.stderr)
        return EXIT_USAGE
    world = _world(args)
    term = world.terminal()
    syncer = Syncer(
        SyncClient(args.server, args.token),
        trust=world.trust,
        revocation=world.revocation,
        ledger=term.ledger,
        catalogue=Catalogue(world.engine),
        pending=PendingUpdates(world.engine),
        state=SyncStateStore(world.engine),
    )
    return _sync_report(args, syncer.sync_once())


def _sync_report(args: argparse.Namespace, report: Any) -> int:
    text = "\n".join(
        [f"ok     {k}: {v}" for k, v in report.ok.items()]
        + [f"FAILED {k}: {v}" for k, v in report.failed.items()]
    )
    _print(args, text, {"ok": report.ok, "failed": report.failed})
    return EXIT_OK if report.success else EXIT_DEVICE


def cmd_kiosk(args: argparse.Namespace) -> int:
    from kartu.compose import run_kiosk

    config = _config_path(args)
    extra = ["--data-dir", str(args.data_dir)] if args.data_dir and config is None else []
    return run_kiosk([*extra, *args.ui_args], config_path=config)


def _progress_bar(p: Any) -> None:
    width = 30
    filled = width * p.done // max(p.total, 1)
    state = f"ok {p.serial}" if p.ok else f"GAGAL / FAILED: {p.error}"
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} {p.nik_masked} {state}",
        file=sys.stderr,
        end="\n" if p.done == p.total or not p.ok else "",
        flush=True,
    )


def cmd_issue(args: argparse.Namespace) -> int:
    import csv
    import getpass

    from kartu.issuance import IssuanceError, IssuanceStation, IssueJob
    from server_stub.settings import Settings

    settings = Settings.from_env()
    if args.database_url:
        settings = settings.with_(database_url=args.database_url)
    if args.server_data_dir:
        settings = settings.with_(data_dir=args.server_data_dir)
    station = IssuanceStation(settings)

    def connector(nik: str) -> Any:
        if args.reader:
            from drivers.pcsc import connect

            return lambda: connect(args.reader[0], timeout=120.0)  # the operator puts the next card on
        from card_applet_spec.reference_card import CardTorn, FileStore, ReferenceCard
        from terminal.card.connection import InProcessConnection

        args.card_dir.mkdir(parents=True, exist_ok=True)
        return lambda: InProcessConnection(
            ReferenceCard(FileStore(args.card_dir / f"{nik}.card")), (CardTorn,)
        )

    if args.batch and args.reader:
        from kartu.bulk import issue_on_readers

        return issue_on_readers(args, station, _print)
    if args.batch:
        with args.batch.open(newline="") as f:
            rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
        jobs = [IssueJob(connector(nik.strip()), nik.strip(), pin.strip()) for nik, pin, *_ in rows]
        outcomes = station.issue_batch(jobs, progress=_progress_bar)
        failed = [o for o in outcomes if o.error]
        _print(
            args,
            f"{len(outcomes) - len(failed)} issued, {len(failed)} failed",
            {
                "issued": [o.result.serial for o in outcomes if o.result],
                "failed": [{"nik_masked": o.nik_masked, "error": str(o.error)} for o in failed],
            },
        )
        return EXIT_OK if not failed else EXIT_INVALID
    if not args.nik and not args.reissue:
        print("error: --nik, --reissue or --batch is needed", file=sys.stderr)
        return EXIT_USAGE
    if args.reader and len(args.reader) > 1:
        raise _UsageError("one card: give one --reader (several are for --batch)")
    pin = args.pin or getpass.getpass("PIN awal / initial PIN: ")
    connection = connector(args.nik or args.reissue)()
    try:
        if args.reissue:
            result = station.reissue(connection, old_serial=args.reissue, pin=pin, reason=args.reason)
        else:
            result = station.issue(connection, nik=args.nik, pin=pin)
    except IssuanceError as err:
        _print(args, f"GAGAL / FAILED: {err.code}: {err}", {"result": "failed", "code": err.code})
        return EXIT_INVALID
    finally:
        connection.close()
    _print(
        args,
        f"Kartu {result.serial} siap / card ready"
        + (f" (replaces {result.replaced})" if result.replaced else ""),
        {"result": "issued", "serial": result.serial, "replaced": result.replaced},
    )
    return EXIT_OK


def cmd_import_citizens(args: argparse.Namespace) -> int:
    from kartu.bulk import import_citizens

    return import_citizens(args, _print)


def cmd_server(args: argparse.Namespace) -> int:
    from server_stub.__main__ import main as server_main

    try:
        server_main(args.server_args)
    except SystemExit as exc:  # its argparse: help (0) or a usage error (2, the README says 64)
        return EXIT_USAGE if exc.code == 2 else int(exc.code or 0)
    return EXIT_OK


def cmd_clerk(args: argparse.Namespace) -> int:
    import getpass

    from terminal.clerks import load_clerks, save_clerks
    from terminal.config import load_config

    path = _config_path(args)
    if path is None:
        raise _UsageError("give --config: clerks belong to an enrolled terminal")
    data_dir = load_config(path).data_dir
    clerks = load_clerks(data_dir)
    if args.action == "list":
        for c in clerks.clerks():
            print(f"{c.clerk_id}\t{c.name}")
        return EXIT_OK
    if not args.clerk_id:
        raise _UsageError(f"clerk {args.action}: give the clerk's id")
    if args.action == "remove":
        if not clerks.remove(args.clerk_id):
            print(f"kartu clerk: no clerk {args.clerk_id!r}", file=sys.stderr)
            return EXIT_INVALID
    else:
        if not args.name:
            raise _UsageError("clerk add: give the clerk's id and name")
        pin = args.pin
        if pin is None:
            pin = getpass.getpass("PIN petugas / clerk PIN: ")
            if getpass.getpass("Ulangi / again: ") != pin:
                print("kartu clerk: the two PINs differ", file=sys.stderr)
                return EXIT_INVALID
        try:
            clerks.add(args.clerk_id, args.name, pin)
        except ValueError as exc:
            raise _UsageError(str(exc)) from None
    save_clerks(data_dir, clerks)
    print(f"ok: {args.action} {args.clerk_id}")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from kartu.doctor import report, run_checks
    from terminal.config import DEFAULT_CONFIG_PATH

    text, code = report(run_checks(_config_path(args) or DEFAULT_CONFIG_PATH))
    print(text)
    return code


def cmd_conformance(args: argparse.Namespace) -> int:
    from kartu.conformance_cmd import cmd_conformance as conformance

    return conformance(args)


def cmd_keys(args: argparse.Namespace) -> int:
    from kartu.keys_cli import cmd_keys as keys

    return keys(args)


def cmd_enrol(args: argparse.Namespace) -> int:
    from kartu.enrol import cmd_enrol as enrol

    return enrol(args, _config_path(args))


COMMANDS = {
    "keys": cmd_keys,
    "enrol": cmd_enrol,
    "clerk": cmd_clerk,
    "doctor": cmd_doctor,
    "demo": cmd_demo,
    "kiosk": cmd_kiosk,
    "read": cmd_read,
    "redeem": cmd_redeem,
    "ledger": cmd_ledger,
    "verify-receipt": cmd_verify_receipt,
    "sync": cmd_sync,
    "readers": cmd_readers,
    "server": cmd_server,
    "issue": cmd_issue,
    "import-citizens": cmd_import_citizens,
    "conformance": cmd_conformance,
}


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    args = _parse(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)])
    from terminal.card.connection import CardConnectionError
    from terminal.card.errors import CardSessionError

    try:
        return COMMANDS[args.command](args)
    except CardConnectionError as exc:
        print(f"error: card or reader: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    except CardSessionError as exc:  # the card answered outside its contract (recorded by the core)
        print(f"error: card: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    except _UsageError as exc:
        print(f"kartu {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback: one line, exit 3, the detail in the debug log
        logging.getLogger("kartu").debug("%s failed", args.command, exc_info=True)
        print(f"error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_DEVICE


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("…" if len(text) > 200 else "")
