"""A terminal's configuration file (TOML): who it is, where its server and devices are, where its data lives.

    [terminal]
    id = "T6271001"                  # 8 characters A-Z 0-9, as enrolled on the server
    site = "Kantor Kelurahan Langkai"
    region = 6271                    # Kemendagri code of a regency/city of Kalimantan Tengah
    mode = "counter"                 # "kiosk" (citizens) or "counter" (clerks)
    language = "id"                  # "id" or "en"

    [server]
    url = "https://khbs.kalteng.go.id"
    sync_interval_s = 300            # 30 s … 1 day

    [devices]
    readers = []                     # PC/SC reader names to use (substrings); empty: every reader
    printer = "tcp:192.0.2.10@58"    # serial:DEV[:BAUD] · tcp:HOST[:PORT] · usb:VID:PID · file:PATH; "" none
    voice = "button"                 # kiosk speech: "off", "button" (Dengarkan) or "auto" (headphone jack)

    [paths]
    data_dir = "/var/lib/kartu"                      # terminal.db, the key, the token, receipts
    trust_anchor = "/etc/kartu/trust-anchor.pem"     # the province's root key: not in data_dir

Secrets are not in this file: the terminal's private key and server token are files in ``data_dir``
(mode 0600). The trust anchor is kept apart from the data it protects (installed read-only at enrolment).

Everything is checked when the file is read; :class:`ConfigError` names the file, the key and what is wrong
in words an operator can act on. The file is the operator's, but it is read as untrusted input all the same.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import tomli_w

from card_applet_spec.constants import REGIONS
from terminal.audio import VoiceMode

#: Where ``kartu`` looks for the configuration unless ``--config`` or ``$KARTU_CONFIG`` says otherwise.
DEFAULT_CONFIG_PATH = Path("/etc/kartu/terminal.toml")
MAX_CONFIG_BYTES = 64 * 1024
TERMINAL_ID = re.compile(r"[A-Z0-9]{8}")
MIN_SYNC_INTERVAL_S = 30
MAX_SYNC_INTERVAL_S = 86_400


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or says something this terminal cannot use."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path, self.key = str(path), key
        super().__init__(f"{path}: {key}: {message}" if key else f"{path}: {message}")


class Mode(StrEnum):
    KIOSK = "kiosk"
    COUNTER = "counter"


class Language(StrEnum):
    ID = "id"
    EN = "en"


class PrinterKind(StrEnum):
    SERIAL = "serial"
    TCP = "tcp"
    USB = "usb"
    FILE = "file"


@dataclass(frozen=True)
class PrinterSpec:
    """A receipt printer as written in the config or on the command line (``@58``: 58 mm paper)."""

    kind: PrinterKind
    target: str  # device path, host, or file path
    number: int | None = None  # baud rate (serial) or port (tcp)
    vendor: int | None = None  # usb
    product: int | None = None  # usb
    paper_mm: int = 80

    def __str__(self) -> str:
        if self.kind is PrinterKind.USB:
            text = f"usb:{self.vendor:04x}:{self.product:04x}"
        else:
            text = f"{self.kind}:{self.target}" + (f":{self.number}" if self.number is not None else "")
        return text + ("@58" if self.paper_mm == 58 else "")


PRINTER_FORMS = "serial:DEV[:BAUD], tcp:HOST[:PORT], usb:VID:PID (hex) or file:PATH, optionally @58 or @80"


def parse_printer_spec(spec: str) -> PrinterSpec:
    """Parse a printer spec without touching the device. Raises ValueError in plain words."""
    text, at, paper_text = spec.partition("@")
    paper = {"80": 80, "58": 58}.get(paper_text) if at else 80
    kind_text, _, rest = text.partition(":")
    if paper is None:
        raise ValueError(f"paper width {paper_text!r}: use @58 or @80")
    try:
        kind = PrinterKind(kind_text)
    except ValueError:
        raise ValueError(f"{spec!r}: use {PRINTER_FORMS}") from None
    if not rest:
        raise ValueError(f"{spec!r}: the device is missing ({PRINTER_FORMS})")
    if kind is PrinterKind.USB:
        vid, _, pid = rest.partition(":")
        if not (re.fullmatch(r"[0-9a-fA-F]{1,4}", vid) and re.fullmatch(r"[0-9a-fA-F]{1,4}", pid)):
            raise ValueError(f"{spec!r}: usb:VID:PID in hexadecimal, e.g. usb:0416:5011")
        return PrinterSpec(kind, "", vendor=int(vid, 16), product=int(pid, 16), paper_mm=paper)
    if kind is PrinterKind.FILE:
        return PrinterSpec(kind, rest, paper_mm=paper)
    target, _, number_text = rest.partition(":")
    limit = 65_536 if kind is PrinterKind.TCP else 4_000_001
    if not target or (number_text and not (number_text.isdigit() and 0 < int(number_text) < limit)):
        what = "port 1-65535" if kind is PrinterKind.TCP else "baud rate"
        raise ValueError(f"{spec!r}: {kind}:{'HOST' if kind is PrinterKind.TCP else 'DEV'}[:{what}]")
    return PrinterSpec(kind, target, int(number_text) if number_text else None, paper_mm=paper)


@dataclass(frozen=True)
class TerminalConfig:
    terminal_id: str
    site: str
    region: int
    server_url: str
    data_dir: Path
    trust_anchor: Path
    mode: Mode = Mode.KIOSK
    language: Language = Language.ID
    sync_interval_s: int = 300
    readers: tuple[str, ...] = ()
    printer: PrinterSpec | None = None
    voice: VoiceMode = VoiceMode.BUTTON
    source: Path | None = field(default=None, compare=False)  # the file it was read from

    def to_toml(self) -> str:
        doc: dict[str, Any] = {
            "terminal": {
                "id": self.terminal_id,
                "site": self.site,
                "region": self.region,
                "mode": str(self.mode),
                "language": str(self.language),
            },
            "server": {"url": self.server_url, "sync_interval_s": self.sync_interval_s},
            "devices": {
                "readers": list(self.readers),
                "printer": str(self.printer or ""),
                "voice": str(self.voice),
            },
            "paths": {"data_dir": str(self.data_dir), "trust_anchor": str(self.trust_anchor)},
        }
        return tomli_w.dumps(doc)


class _Reader:
    """Typed access to one parsed document, each error naming its ``[table] key``."""

    def __init__(self, path: Path, doc: dict[str, Any]) -> None:
        self.path, self.doc = path, doc

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.path, key, message)

    def table(self, name: str) -> dict[str, Any]:
        value = self.doc.get(name, {})
        if not isinstance(value, dict):
            raise self.error(f"[{name}]", "must be a table")
        return value

    def get(self, table: str, key: str, kind: type, default: Any = ...) -> Any:
        value = self.table(table).get(key, default)
        if value is ...:
            raise self.error(f"[{table}] {key}", "missing")
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise self.error(f"[{table}] {key}", f"must be {_KIND_WORDS.get(kind, kind.__name__)}")
        return value

    def unknown_keys(self, known: dict[str, set[str]]) -> None:
        for name, value in self.doc.items():
            if name not in known:
                raise self.error(f"[{name}]", f"unknown table (known: {', '.join(sorted(known))})")
            for key in value if isinstance(value, dict) else ():
                if key not in known[name]:
                    raise self.error(
                        f"[{name}] {key}", f"unknown key (known: {', '.join(sorted(known[name]))})"
                    )


E = TypeVar("E", bound=StrEnum)

_KIND_WORDS = {str: "text in quotes", int: "a whole number", list: "a list", bool: "true or false"}
_KNOWN = {
    "terminal": {"id", "site", "region", "mode", "language"},
    "server": {"url", "sync_interval_s"},
    "devices": {"readers", "printer", "voice"},
    "paths": {"data_dir", "trust_anchor"},
}


def parse_config(text: str, path: Path | str = "<config>") -> TerminalConfig:
    """Check a configuration document. Raises :class:`ConfigError`."""
    path = Path(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML ({exc})") from None
    r = _Reader(path, doc)
    r.unknown_keys(_KNOWN)
    terminal_id = r.get("terminal", "id", str)
    if not TERMINAL_ID.fullmatch(terminal_id):
        raise r.error("[terminal] id", f"{terminal_id!r}: 8 characters A-Z 0-9, as enrolled (e.g. T6271001)")
    site = r.get("terminal", "site", str).strip()
    if not site or len(site) > 200 or not site.isprintable():
        raise r.error("[terminal] site", "1 to 200 printable characters")
    region = r.get("terminal", "region", int)
    if region not in REGIONS:
        raise r.error("[terminal] region", f"{region} is not a regency/city code of Kalimantan Tengah")
    mode = _choice(r, "terminal", "mode", Mode, Mode.KIOSK)
    language = _choice(r, "terminal", "language", Language, Language.ID)
    url = r.get("server", "url", str)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise r.error("[server] url", f"{url!r}: an http(s) address such as https://khbs.kalteng.go.id")
    interval = r.get("server", "sync_interval_s", int, 300)
    if not MIN_SYNC_INTERVAL_S <= interval <= MAX_SYNC_INTERVAL_S:
        raise r.error("[server] sync_interval_s", f"{MIN_SYNC_INTERVAL_S} to {MAX_SYNC_INTERVAL_S} seconds")
    readers = r.get("devices", "readers", list, [])
    if not all(isinstance(x, str) and x.strip() for x in readers):
        raise r.error("[devices] readers", "a list of reader names in quotes, or [] for every reader")
    printer_text = r.get("devices", "printer", str, "")
    try:
        printer = parse_printer_spec(printer_text) if printer_text else None
    except ValueError as exc:
        raise r.error("[devices] printer", str(exc)) from None
    voice = _choice(r, "devices", "voice", VoiceMode, VoiceMode.BUTTON)
    data_dir = _absolute(r, "data_dir")
    anchor = _absolute(r, "trust_anchor")
    if anchor.parent == data_dir or data_dir in anchor.parents:
        raise r.error("[paths] trust_anchor", "must not be inside data_dir: the root of trust is kept apart")
    return TerminalConfig(
        terminal_id=terminal_id,
        site=site,
        region=region,
        server_url=url.rstrip("/"),
        data_dir=data_dir,
        trust_anchor=anchor,
        mode=mode,
        language=language,
        sync_interval_s=interval,
        readers=tuple(x.strip() for x in readers),
        printer=printer,
        voice=voice,
        source=path,
    )


def _choice(r: _Reader, table: str, key: str, enum: type[E], default: E) -> E:
    value = r.get(table, key, str, str(default))
    try:
        return enum(value)
    except ValueError:
        raise r.error(f"[{table}] {key}", f"{value!r}: one of {', '.join(e.value for e in enum)}") from None


def _absolute(r: _Reader, key: str) -> Path:
    value = r.get("paths", key, str)
    path = Path(value)
    if not path.is_absolute() or ".." in path.parts:
        raise r.error(f"[paths] {key}", f"{value!r}: an absolute path without '..'")
    return path


def load_config(path: Path | str) -> TerminalConfig:
    """Read and check the configuration file. Raises :class:`ConfigError`."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            path, "", "no configuration file: enrol this terminal first (kartu enrol)"
        ) from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(path, "", f"larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, "", "not UTF-8 text") from None
    return parse_config(text, path)


def write_config(config: TerminalConfig, path: Path | str) -> None:
    """Write the file atomically (a reader never sees half a file), readable by the kiosk user."""
    path = Path(path)
    text = config.to_toml()
    parse_config(text, path)  # what we write must read back
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".terminal-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
