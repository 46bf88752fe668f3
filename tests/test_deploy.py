"""The systemd units a province IT team installs: systemd accepts them, and the commands they run work."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTALL_DIR = "/opt/kartu"  # where the units expect the checkout with its .venv


def installed_here(unit: Path, tmp_path: Path) -> Path:
    """The unit as if this checkout were installed at /opt/kartu."""
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(INSTALL_DIR, str(ROOT)))
    return copy


def exec_start(unit: Path) -> list[str]:
    line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_there_are_units_for_the_kiosk_and_the_server() -> None:
    assert {u.name for u in UNITS} == {"kartu-kiosk.service", "kartu-server.service"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_verifies_the_unit(unit: Path, tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "systemd-analyze missing"
    done = subprocess.run(
        ["systemd-analyze", "verify", str(installed_here(unit, tmp_path))], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert unit.name not in done.stderr, done.stderr  # no warning about the unit itself


def test_the_kiosk_runs_full_screen_under_cage_as_the_enrolled_terminal() -> None:
    argv = exec_start(ROOT / "deploy" / "systemd" / "kartu-kiosk.service")
    assert argv[0] == "/usr/bin/cage" and "-s" not in argv[: argv.index("--")]  # no VT switching
    kartu = argv[argv.index("--") + 1 :]
    assert kartu[0] == f"{INSTALL_DIR}/.venv/bin/kartu"
    assert kartu[1:] == ["--config", "/etc/kartu/terminal.toml", "kiosk", "--fullscreen"]
    text = (ROOT / "deploy" / "systemd" / "kartu-kiosk.service").read_text()
    assert "Restart=always" in text and "ReadWritePaths=/var/lib/kartu" in text


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_the_unit_s_kartu_command_line_parses(unit: Path) -> None:
    argv = exec_start(unit)
    kartu = argv[argv.index("--") + 1 :] if "--" in argv else argv
    command = [str(ROOT / ".venv/bin/kartu"), *kartu[1:], "--help"]
    done = subprocess.run(command, capture_output=True, text=True, env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
