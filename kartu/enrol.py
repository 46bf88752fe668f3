"""``kartu enrol``: make this PC a terminal of the province, once.

    kartu enrol --server https://khbs.example.go.id --code ABCD-EFGH-JKMN-PQRS \\
        --anchor /media/usb/trust-anchor.pem [--fingerprint '3F2A 9C01 ...'] \\
        [--config /etc/kartu/terminal.toml] [--data-dir /var/lib/kartu] \\
        [--install-anchor /etc/kartu/trust-anchor.pem] [--mode counter] [--printer SPEC] [--reader NAME]

1. The province's root key comes from the installation medium (``--anchor``), never from the server: its
   fingerprint is shown and must be confirmed — typed with ``--fingerprint`` or answered at the prompt —
   against the one on the enrolment sheet.
2. A new P-256 key pair; its public key goes to the server with the one-time code, which answers with the
   terminal's id, site, region, token and certificates.
3. Everything is checked before anything is written; then the key, token and certificates (0600, data
   dir), the anchor (outside the data dir) and the config file.
4. A first sync: the trust list must verify under the confirmed root, then status data, pending updates
   and the catalogue arrive. If the server's trust list is not signed by that root, enrolment says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from province.keys import fingerprint, same_fingerprint
from province.receipt_qr import QrPayloadError, ReceiptCert
from terminal.config import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    Language,
    Mode,
    TerminalConfig,
    parse_config,
    parse_printer_spec,
    write_config,
)
from terminal.enrolment import (
    EnrolmentError,
    TerminalSecrets,
    new_terminal_key,
    request_enrolment,
    save_secrets,
)
from terminal.sync import SyncClient, SyncError
from terminal.truststore import TrustAnchor, TrustAnchorError

EXIT_OK, EXIT_INVALID, EXIT_DEVICE, EXIT_USAGE = 0, 1, 3, 64
DEFAULT_DATA_DIR = Path("/var/lib/kartu")
DEFAULT_ANCHOR = Path("/etc/kartu/trust-anchor.pem")


def add_parser(sub: Any) -> None:
    """Add ``enrol`` to kartu's subcommands (``sub``: the ``add_subparsers`` action)."""
    p = sub.add_parser("enrol", help="enrol this PC as a terminal (one-time code from the administrator)")
    p.add_argument("--server", required=True, help="the province's server, e.g. https://khbs.example.go.id")
    p.add_argument("--code", required=True, help="the one-time enrolment code (XXXX-XXXX-XXXX-XXXX)")
    p.add_argument(
        "--anchor", type=Path, required=True, help="the root key (PEM) from the installation medium"
    )
    p.add_argument("--fingerprint", help="the root key's fingerprint as printed on the enrolment sheet")
    p.add_argument("--install-anchor", type=Path, default=DEFAULT_ANCHOR, help=f"default {DEFAULT_ANCHOR}")
    p.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.KIOSK.value)
    p.add_argument("--language", choices=[x.value for x in Language], default=Language.ID.value)
    p.add_argument("--printer", default="", help="receipt printer spec (as kartu kiosk --printer)")
    p.add_argument("--reader", action="append", default=[], help="PC/SC reader name to use (repeatable)")
    p.add_argument("--sync-interval", type=int, default=300, help="seconds between syncs (default 300)")
    p.add_argument("--force", action="store_true", help="enrol again over an existing configuration")


def _confirm_root(anchor: TrustAnchor, typed: str | None) -> bool:
    shown = fingerprint(anchor.public_key)
    print(f"Sidik jari kunci induk / root key fingerprint:\n  {shown}")
    if typed is not None:
        return same_fingerprint(typed, anchor.public_key)
    if not sys.stdin.isatty():
        raise EnrolmentError("confirm the root key: give --fingerprint as printed on the enrolment sheet")
    answer = input("Sama dengan lembar pendaftaran? / Same as on the enrolment sheet? Type YES: ")
    return answer.strip().upper() == "YES"


def cmd_enrol(args: argparse.Namespace, config_path: Path | None) -> int:
    config_path = config_path or DEFAULT_CONFIG_PATH
    data_dir: Path = (args.data_dir or DEFAULT_DATA_DIR).resolve()
    if config_path.exists() and not args.force:
        print(f"kartu enrol: {config_path} exists: this terminal is enrolled (--force to enrol again)")
        return EXIT_INVALID
    try:
        printer = parse_printer_spec(args.printer) if args.printer else None
    except ValueError as exc:
        print(f"kartu enrol: printer {exc}")
        return EXIT_USAGE
    try:
        anchor = TrustAnchor.load(args.anchor)
        if not _confirm_root(anchor, args.fingerprint):
            print("kartu enrol: the root key is NOT the one on the sheet: stop; ask the province's IT team")
            return EXIT_INVALID
        key = new_terminal_key()
        client = SyncClient(args.server, None)
        try:
            enrolled = request_enrolment(client.post, args.code, key)
        finally:
            client.close()
        receipt_cert = ReceiptCert.decode(enrolled.receipt_certificate)
        if receipt_cert.body.terminal_id != enrolled.terminal_id.encode():
            raise EnrolmentError("the server's receipt certificate names another terminal")
        config = TerminalConfig(
            terminal_id=enrolled.terminal_id,
            site=enrolled.site,
            region=enrolled.region,
            server_url=args.server,
            data_dir=data_dir,
            trust_anchor=args.install_anchor.resolve(),
            mode=Mode(args.mode),
            language=Language(args.language),
            sync_interval_s=args.sync_interval,
            readers=tuple(args.reader),
            printer=printer,
        )
        config = parse_config(config.to_toml(), config_path)  # every rule, before anything is written
    except SyncError as exc:
        print(f"kartu enrol: {exc}")
        return EXIT_INVALID if exc.code == "enrolment_code_invalid" else EXIT_DEVICE
    except (EnrolmentError, TrustAnchorError, ConfigError, QrPayloadError) as exc:
        print(f"kartu enrol: {exc}")
        return EXIT_DEVICE
    secrets = TerminalSecrets(key, enrolled.token, enrolled.receipt_certificate, enrolled.certificate)
    save_secrets(data_dir, secrets)
    anchor.install(config.trust_anchor)
    write_config(config, config_path)
    print(f"Terdaftar / enrolled: {config.terminal_id} · {config.site} · {config.region}")
    return first_sync(config)


def first_sync(config: TerminalConfig) -> int:
    from terminal.station import open_station

    station = open_station(config)
    try:
        report = station.syncer().sync_once()
    finally:
        station.close()
    for name, result in report.ok.items():
        print(f"ok     {name}: {result}")
    for name, result in report.failed.items():
        print(f"FAILED {name}: {result}")
    if "trust_list" in report.failed:
        print("The server's trust list does not verify under the confirmed root key: do not use this.")
    return EXIT_OK if report.success else EXIT_DEVICE
