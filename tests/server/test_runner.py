"""``python -m server_stub``: uvicorn on 127.0.0.1 with a SQLite file under the data dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_runner_serves_on_sqlite(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "KHBS_DATA_DIR": str(tmp_path), "KHBS_ADMIN_TOKEN": "runner-token", "KHBS_DEMO": "1"}
    env.pop("KHBS_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("server did not come up") from None
                time.sleep(0.2)
        assert health == {"status": "ok", "backend": "sqlite"}
        me = httpx.get(
            f"http://127.0.0.1:{port}/v1/admin/me", headers={"Authorization": "Bearer runner-token"}
        )
        assert me.json()["role"] == "admin"
        assert (tmp_path / "khbs-server.sqlite3").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
