"""Two ``kartu server`` processes on one PostgreSQL database, as behind a load balancer: a lockout one
of them imposes is enforced by the other, a clerk deactivated through one is refused by the other at
its next request, and a real server refuses an oversized body (declared or streamed) with 413 without
reading it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import PG_URL, drop_pg_schema, reset_pg_schema

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "two-process-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FAIL_LIMIT = 5

pytestmark = pytest.mark.postgres


class Server:
    def __init__(self, data: Path, database_url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        argv = ["server", "--port", str(self.port), "--data-dir", str(data), "--database-url", database_url]
        env = {**os.environ, "KHBS_ADMIN_TOKEN": ADMIN_TOKEN, "KHBS_AUTH_FAIL_LIMIT_ADDR": str(FAIL_LIMIT)}
        env["KHBS_DEMO"] = "1"  # demo keys: this test is about limits, not key custody
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/kartu"), *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                assert self.proc.poll() is None, self.proc.communicate()[0].decode()[-3000:]
                assert time.monotonic() < deadline, "kartu server did not answer in 60 s"
                time.sleep(0.2)

    def stop(self) -> str:
        self.proc.terminate()
        return self.proc.communicate(timeout=30)[0].decode()


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    schema = f"khbs_two_process_{os.getpid()}"
    reset_pg_schema(schema).dispose()
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    a = Server(tmp_path / "a", url)
    a.wait()  # the first one migrates; then the second starts on the same schema
    b = Server(tmp_path / "b", url)
    try:
        b.wait()
        yield a, b
    finally:
        outputs = [a.stop(), b.stop()]
        drop_pg_schema(schema)
        for out in outputs:
            assert "Traceback" not in out, out[-3000:]


def test_a_lockout_seen_by_one_process_is_enforced_by_the_other(two_servers: tuple[Server, Server]) -> None:
    a, b = two_servers
    for i in range(FAIL_LIMIT):
        r = httpx.get(f"{a.url}/v1/admin/me", headers={"Authorization": f"Bearer khbs_c_guess-{i:040d}"})
        assert r.status_code == 401
    r = httpx.get(f"{b.url}/v1/admin/me", headers=ADMIN)  # same address, the other process
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"
    assert int(r.headers["Retry-After"]) > 0


def test_deactivating_a_clerk_through_one_process_stops_it_in_the_other(
    two_servers: tuple[Server, Server],
) -> None:
    a, b = two_servers
    made = httpx.post(
        f"{a.url}/v1/admin/clerks", headers=ADMIN, json={"username": "regina", "role": "registrar"}
    )
    clerk = {"Authorization": f"Bearer {made.json()['token']}"}
    assert httpx.get(f"{b.url}/v1/admin/me", headers=clerk).status_code == 200
    assert httpx.post(f"{a.url}/v1/admin/clerks/regina/deactivate", headers=ADMIN).status_code == 200
    assert httpx.get(f"{b.url}/v1/admin/me", headers=clerk).status_code == 401


def _raw(url: str, request: bytes, body_chunks: int = 0) -> bytes:
    """Send ``request`` (head), then up to ``body_chunks`` chunks of 1 MB (chunked encoding) as long as
    the server takes them; the server's answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(request)
        chunk = b"%x\r\n" % (1 << 20) + b"x" * (1 << 20) + b"\r\n"
        try:
            for _ in range(body_chunks):
                s.sendall(chunk)
        except OSError:
            pass  # the server answered and closed while the body was still coming: as it should
        answer = b""
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                break
            if not data:
                break
            answer += data
    return answer


def test_a_real_server_refuses_oversized_bodies_unread(two_servers: tuple[Server, Server]) -> None:
    a, _ = two_servers
    head = b"POST /v1/enrol HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    declared = _raw(a.url, head + b"Content-Length: 52428800\r\n\r\n")  # 50 MB announced, none sent
    assert declared.startswith(b"HTTP/1.1 413") and b"body_too_large" in declared
    streamed = _raw(a.url, head + b"Transfer-Encoding: chunked\r\n\r\n", body_chunks=50)
    assert streamed.startswith(b"HTTP/1.1 413") and b"body_too_large" in streamed
