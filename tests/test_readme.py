"""The README cannot drift: every command it shows runs here, as shown.

What "as shown" means, per kind of command (each rule below is the only liberty taken):

- fenced ``sh`` blocks: every line is run from the repository root on a machine without a display, with
  ``HOME`` and the XDG data dir pointed at a temporary directory (the demo keeps its data per user).
  ``bash scripts/test.sh`` is the command running this test and is the one line not run.
- windowed apps (``kartu kiosk``) run offscreen until their first paint, then
  quit (the hidden ``--first-paint-and-quit`` flag the kiosk benchmark uses);
- ``--printer tcp:192.0.2.10`` (a documentation address) points at the ESC/POS emulator on loopback;
- commands that write into the checkout (screenshots, translations) write into a temporary copy;
- the ``kartu`` table: every sub-command's ``--help`` works and lists every option the table shows, and
  the argument forms the issue tracker found broken (``--mode counter``, ``--lang en``, ``--demo N``)
  work (the server starts on a free loopback port and answers); the benchmark table: every benchmark
  is a module under ``benchmarks/``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.printer_emulator import TcpPrinterEmulator

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOC_PRINTER = "tcp:192.0.2.10"
#: The test command itself: running it from inside the test suite would recurse.
SELF = "bash scripts/test.sh"

pytestmark = pytest.mark.slow


def shell_commands() -> list[str]:
    """The command lines of the README's ``sh`` blocks (comments and continuation comments dropped)."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command:
                commands.append(command)
    return commands


def kartu_table() -> list[tuple[str, list[str]]]:
    """(sub-command, options shown) for each row of the ``kartu`` command table."""
    rows = []
    for cell in re.findall(r"^\| `kartu ([^`]+)` \|", README, flags=re.M):
        words = cell.replace("\\|", " ").split()
        rows.append((words[0], sorted(set(re.findall(r"--[a-z][a-z0-9-]*", cell)))))
    return rows


def benchmark_table() -> list[str]:
    section = README.split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")  # a machine without a display ...
    e = {k: v for k, v in os.environ.items() if k not in hidden}
    e.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"))
    return e


def offscreen(env: dict[str, str]) -> dict[str, str]:
    """... where the windowed apps draw offscreen."""
    return {**env, "QT_QPA_PLATFORM": "offscreen"}


def run(command: str, env: dict[str, str], cwd: Path = ROOT, timeout: float = 240) -> str:
    """Run ``command``; it must exit 0 without a traceback. Its standard output."""
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{command!r} exited {done.returncode}:\n{out[-3000:]}"
    assert "Traceback" not in out, f"{command!r} printed a traceback:\n{out[-3000:]}"
    return done.stdout


def as_run_here(command: str, tmp_path: Path, printer: TcpPrinterEmulator) -> tuple[str, Path]:
    """The command as this test runs it (see the module docstring), and its working directory."""
    words = shlex.split(command)
    if words[:2] == [".venv/bin/kartu", "kiosk"]:
        command = command + " --first-paint-and-quit"
        command = command.replace(DOC_PRINTER, f"tcp:{printer.host}:{printer.port}")
    if words[:3] == [".venv/bin/python", "-m", "kartu.screenshots"]:
        return f"{command} --out {tmp_path / 'shots'}", ROOT
    if words[:3] == [".venv/bin/python", "-m", "kiosk_ui.i18n"]:
        copy = tmp_path / "checkout"
        shutil.copytree(ROOT / "kiosk_ui", copy / "kiosk_ui", ignore=shutil.ignore_patterns("__pycache__"))
        (copy / ".venv").symlink_to(ROOT / ".venv")
        return command, copy
    return command, ROOT


def test_the_readme_shows_commands() -> None:
    commands = shell_commands()
    assert SELF in commands and "bash scripts/demo.sh" in commands
    assert any(c.startswith(".venv/bin/kartu kiosk") for c in commands)
    assert len(kartu_table()) >= 10 and len(benchmark_table()) >= 5


@pytest.mark.pcsc
@pytest.mark.parametrize("command", [c for c in shell_commands() if c != SELF])
def test_readme_shell_command(command: str, env: dict[str, str], tmp_path: Path) -> None:
    with TcpPrinterEmulator() as printer:
        here, cwd = as_run_here(command, tmp_path, printer)
        env["PYTHONPATH"] = str(cwd)
        out = run(here, offscreen(env) if "kiosk" in command else env, cwd)
    if "kartu.screenshots" in command:
        assert len(list((tmp_path / "shots").rglob("*.png"))) >= 70  # 1024x768/ and 1280x800/
    if "kiosk_ui.i18n" in command:  # the committed translations are up to date with the sources
        ts = "kiosk_ui/translations/khbs_en.ts"
        assert (cwd / ts).read_text() == (ROOT / ts).read_text(), "run: python -m kiosk_ui.i18n"
    if "benchmarks." in command:
        assert out.strip().splitlines()[-1].startswith("{")


@pytest.mark.parametrize(("sub", "options"), kartu_table())
def test_readme_kartu_command_and_its_options(sub: str, options: list[str], env: dict[str, str]) -> None:
    out = run(f".venv/bin/kartu {sub} --help", env)
    missing = [o for o in options if o not in out]
    if sub in ("demo", "kiosk"):  # options that belong to the kiosk app itself (passed through)
        app_help = run(".venv/bin/kartu kiosk --help", offscreen(env))
        missing = [o for o in missing if o not in app_help]
    assert not missing, f"kartu {sub} --help does not know {missing}"


@pytest.mark.parametrize(
    "argv",
    [
        ["kiosk", "--mode", "counter", "--first-paint-and-quit"],
        ["kiosk", "--lang", "en", "--first-paint-and-quit"],
        ["demo", "--mode", "counter", "--headless"],
    ],
)
def test_readme_pass_through_options_work(argv: list[str], env: dict[str, str]) -> None:
    run(shlex.join([".venv/bin/kartu", *argv]), offscreen(env) if argv[0] == "kiosk" else env)


def test_readme_kartu_server_demo_serves(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["server", "--demo", "3", "--port", str(port), "--data-dir", str(tmp_path / "server")]
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/kartu"), *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
                assert time.monotonic() < deadline, "kartu server --demo 3 did not answer in 60 s"
                time.sleep(0.2)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode()
    assert "Traceback" not in out and "demo data:" in out


def test_readme_usage_errors_exit_64(env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(ROOT / ".venv/bin/kartu"), "read", "--no-such-option"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 64 and "Traceback" not in done.stderr


@pytest.mark.parametrize("name", benchmark_table())
def test_readme_benchmarks_exist(name: str) -> None:
    assert (ROOT / "benchmarks" / f"{name}.py").is_file(), name
