"""The terminal's configuration file: the documented example reads, every mistake names its key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from terminal import config as cfg
from terminal.config import (
    ConfigError,
    Language,
    Mode,
    PrinterKind,
    PrinterSpec,
    load_config,
    parse_config,
    parse_printer_spec,
    write_config,
)

# the example in the module docstring: its indented block
EXAMPLE = textwrap.dedent(
    "\n".join(
        line
        for line in (cfg.__doc__ or "").split("Secrets are not")[0].splitlines()
        if line.startswith("    ") or not line.strip()
    )
)

GOOD = """
[terminal]
id = "T6271001"
site = "Kantor Kelurahan Langkai"
region = 6271
mode = "counter"

[server]
url = "https://khbs.example.go.id/"

[paths]
data_dir = "/var/lib/kartu"
trust_anchor = "/etc/kartu/trust-anchor.pem"
"""


def test_the_documented_example_reads() -> None:
    c = parse_config(EXAMPLE)
    assert (c.terminal_id, c.region, c.mode, c.language) == ("T6271001", 6271, Mode.COUNTER, Language.ID)
    assert c.printer == PrinterSpec(PrinterKind.TCP, "192.0.2.10", paper_mm=58)
    assert c.sync_interval_s == 300 and c.readers == ()
    assert c.data_dir == Path("/var/lib/kartu") and c.trust_anchor == Path("/etc/kartu/trust-anchor.pem")


def test_defaults_and_round_trip(tmp_path: Path) -> None:
    c = parse_config(GOOD)
    assert c.server_url == "https://khbs.example.go.id" and c.printer is None and c.language is Language.ID
    path = tmp_path / "etc" / "terminal.toml"
    write_config(c, path)
    again = load_config(path)
    assert again == c and again.source == path
    assert not list(path.parent.glob(".terminal-*"))  # no temporary file left behind


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('id = "T6271001"', 'id = "t62"'), "[terminal] id"),
        (('id = "T6271001"', "id = 6271001"), "[terminal] id"),
        (("region = 6271", "region = 6299"), "[terminal] region"),
        (("region = 6271", "region = true"), "[terminal] region"),
        (("region = 6271", 'region = "6271"'), "[terminal] region"),
        (('mode = "counter"', 'mode = "admin"'), "[terminal] mode"),
        (('site = "Kantor Kelurahan Langkai"', 'site = "  "'), "[terminal] site"),
        (('url = "https://khbs.example.go.id/"', 'url = "ftp://x"'), "[server] url"),
        (('url = "https://khbs.example.go.id/"', 'url = "khbs.example.go.id"'), "[server] url"),
        (('data_dir = "/var/lib/kartu"', 'data_dir = "var/lib"'), "[paths] data_dir"),
        (('data_dir = "/var/lib/kartu"', 'data_dir = "/var/../etc"'), "[paths] data_dir"),
        (
            ('trust_anchor = "/etc/kartu/trust-anchor.pem"', 'trust_anchor = "/var/lib/kartu/a.pem"'),
            "[paths] trust_anchor",
        ),
        (
            ('trust_anchor = "/etc/kartu/trust-anchor.pem"', 'trust_anchor = "/var/lib/kartu/x/a.pem"'),
            "[paths] trust_anchor",
        ),
        (('trust_anchor = "/etc/kartu/trust-anchor.pem"\n', ""), "[paths] trust_anchor"),
        (("[server]\n", "[server]\nsync_interval_s = 5\n"), "[server] sync_interval_s"),
        (("[server]\n", "[server]\ntoken = 'abc'\n"), "[server] token"),
        (("[server]\n", "[servers]\n"), "[servers]"),
        (("[paths]\n", "[devices]\nprinter = 'lpt1'\n[paths]\n"), "[devices] printer"),
        (("[paths]\n", "[devices]\nreaders = ['ok', 3]\n[paths]\n"), "[devices] readers"),
        (("[terminal]\n", "devices = 3\n[terminal]\n"), "[devices]"),
    ],
)
def test_each_mistake_names_its_key(change: tuple[str, str], key: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError) as err:
        parse_config(text, "/etc/kartu/terminal.toml")
    assert err.value.key == key, str(err.value)
    assert str(err.value).startswith(f"/etc/kartu/terminal.toml: {key}: ")
    assert "Traceback" not in str(err.value)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kartu enrol"):
        load_config(tmp_path / "missing.toml")
    for name, raw in {
        "binary.toml": b"\xff\xfe[terminal]",
        "broken.toml": b"[terminal\nid = ",
        "huge.toml": b"#" * (cfg.MAX_CONFIG_BYTES + 1),
    }.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(ConfigError) as err:
            load_config(tmp_path / name)
        assert err.value.path == str(tmp_path / name)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)  # a directory


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("serial:/dev/ttyUSB0", PrinterSpec(PrinterKind.SERIAL, "/dev/ttyUSB0")),
        ("serial:/dev/ttyS1:9600@58", PrinterSpec(PrinterKind.SERIAL, "/dev/ttyS1", 9600, paper_mm=58)),
        ("tcp:192.0.2.10", PrinterSpec(PrinterKind.TCP, "192.0.2.10")),
        ("tcp:printer.local:9101@80", PrinterSpec(PrinterKind.TCP, "printer.local", 9101)),
        ("usb:0416:5011", PrinterSpec(PrinterKind.USB, "", vendor=0x0416, product=0x5011)),
        ("file:/tmp/spool.bin@58", PrinterSpec(PrinterKind.FILE, "/tmp/spool.bin", paper_mm=58)),
    ],
)
def test_printer_specs_round_trip(text: str, spec: PrinterSpec) -> None:
    assert parse_printer_spec(text) == spec
    assert parse_printer_spec(str(spec)) == spec


@pytest.mark.parametrize(
    "text",
    [
        "",
        "lpt1",
        "tcp:",
        "tcp:host:0",
        "tcp:host:70000",
        "tcp:host:x",
        "usb:1",
        "usb:zz:11",
        "serial:/dev/x:-1",
        "file:/x@57",
        "tcp::9100",
    ],
)
def test_bad_printer_specs(text: str) -> None:
    with pytest.raises(ValueError):
        parse_printer_spec(text)
