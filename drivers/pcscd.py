"""Make sure a pcscd with the vpcd virtual readers answers: reuse a running one, or start ``pcscd -f``.

There is one pcscd per machine (its socket path is fixed), so a running one is always reused and only a
pcscd started here is stopped again. Used by tests/conftest.py and the benchmarks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from drivers.pcsc import list_readers
from drivers.vpcd import DEFAULT_READER
from terminal.card.connection import ReaderUnavailableError

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
INSTALL_HINT = "install the Debian packages pcscd and vsmartcard-vpcd (apt-get install pcscd vsmartcard-vpcd)"


class PcscdUnavailableError(RuntimeError):
    """No usable pcscd with the vpcd reader, and none could be started."""


@dataclass
class PcscdService:
    """The pcscd in use; ``process`` is set only when we started it (and so must stop it)."""

    readers: list[str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def stop(self) -> None:
        """Stop pcscd if we started it (SIGTERM, then SIGKILL after 5 s); otherwise do nothing."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _readers_or_none() -> list[str] | None:
    try:
        return list_readers()
    except ReaderUnavailableError:
        return None


def _wait_for_reader(
    reader: str, timeout: float, process: subprocess.Popen[bytes] | None
) -> list[str] | None:
    deadline = time.monotonic() + timeout
    while True:
        readers = _readers_or_none()
        if readers is not None and reader in readers:
            return readers
        if time.monotonic() >= deadline or (process is not None and process.poll() is not None):
            return None
        time.sleep(0.02)


def _pcscd_binary() -> str:
    found = shutil.which("pcscd") or ("/usr/sbin/pcscd" if os.access("/usr/sbin/pcscd", os.X_OK) else None)
    if found is None:
        raise PcscdUnavailableError(f"pcscd is not installed: {INSTALL_HINT}")
    if not VPCD_DRIVER.exists():
        raise PcscdUnavailableError(f"the vpcd reader driver {VPCD_DRIVER} is missing: {INSTALL_HINT}")
    return found


def ensure_pcscd(
    reader: str = DEFAULT_READER, timeout: float = 5.0, log_path: Path | None = None
) -> PcscdService:
    """Return a pcscd that lists ``reader``, starting ``pcscd -f`` if none runs. Raises PcscdUnavailableError.

    ``log_path`` receives the output of a pcscd started here (default: discarded).
    """
    readers = _readers_or_none()
    if readers is not None:
        readers = _wait_for_reader(reader, min(timeout, 1.0), None)  # it may still be loading readers
        if readers is None:
            raise PcscdUnavailableError(
                f"a pcscd is running but lists no reader {reader!r} (readers: {_readers_or_none()}); "
                f"only one pcscd can run per machine: stop it or give it the vpcd reader ({INSTALL_HINT})"
            )
        return PcscdService(readers)

    binary = _pcscd_binary()
    with open(log_path or os.devnull, "ab") as out:
        process = subprocess.Popen([binary, "-f"], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    service = PcscdService([], process)
    readers = _wait_for_reader(reader, timeout, process)
    if readers is None:
        code = process.poll()
        service.stop()
        where = f"; its log: {log_path}" if log_path else ""
        state = f"exited ({code})" if code is not None else f"did not list {reader!r} in {timeout} s"
        raise PcscdUnavailableError(f"started {binary} -f but it {state}{where}")
    service.readers = readers
    return service
