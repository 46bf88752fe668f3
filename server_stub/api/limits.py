"""Request limits at the HTTP edge: a body cap per endpoint, enforced while the body streams in, and
the answers for the limits' refusals (413 ``body_too_large``, 429 ``too_many_attempts``).

The cap is checked twice: a declared ``Content-Length`` above it is refused before a byte of the body
is read; a body that arrives without one (chunked) is counted as it streams and refused as soon as it
passes the cap, so no request ever holds more than its cap (plus one chunk) in memory. A request
without an ``Authorization`` header to an endpoint that needs one gets the small anonymous cap (it
will be refused anyway; its body should cost nothing). Refusals are audited (``limits.body_too_large``,
within the audit budget per address).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from server_stub.errors import TooManyAttempts
from server_stub.services import audit
from server_stub.services.context import Ctx

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KiB = 1024
MiB = 1024 * KiB
#: (method, path) → the largest body accepted. An honest batch is well inside: 2000 records of a
#: terminal upload are about 0.7 MB (the terminal sends 500 at a time).
BODY_CAPS: dict[tuple[str, str], int] = {
    ("POST", "/v1/sync/redemptions"): 2 * MiB,
    ("POST", "/v1/sync/voids"): 2 * MiB,
    ("POST", "/v1/sync/failures"): 4 * MiB,
    ("POST", "/v1/sync/interests"): 4 * MiB,
    ("POST", "/v1/sync/pending/ack"): 64 * KiB,
    ("POST", "/v1/sync/token"): 1 * KiB,
    ("POST", "/v1/enrol"): 4 * KiB,
    ("POST", "/v1/receipts/verify"): 16 * KiB,
}
#: Everything else (the admin API's bodies are single records: the largest, a catalogue item, < 30 KB).
DEFAULT_CAP = 64 * KiB
#: A request without credentials to an endpoint that needs them.
ANONYMOUS_CAP = 4 * KiB
AUTHENTICATED_PREFIXES = ("/v1/sync/", "/v1/admin/")
#: Body refusals audited one by one per address and window (then counted: see services.audit).
BODY_REFUSALS_PER_ADDRESS = 20


def body_cap(method: str, path: str, *, credentials: bool) -> int:
    cap = BODY_CAPS.get((method, path.rstrip("/") or "/"), DEFAULT_CAP)
    if not credentials and path.startswith(AUTHENTICATED_PREFIXES):
        cap = min(cap, ANONYMOUS_CAP)
    return cap


class BodyTooLarge(Exception):
    """Raised inside the app's ``receive`` when the body passes its cap (the edge answers 413)."""


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _too_large_body(cap: int) -> bytes:
    message = f"the request body is larger than {cap} bytes"
    error = {"code": "body_too_large", "message": message, "limit": cap}
    return json.dumps({"error": error}).encode()


async def _send_too_large(send: Send, cap: int) -> None:
    body = _too_large_body(cap)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read: this connection ends here
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: the body cap of the endpoint, enforced before and while the body streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = str(scope["method"]), str(scope["path"])
        cap = body_cap(method, path, credentials=_header(scope, b"authorization") is not None)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _send_too_large(send, cap)
            await _audit(scope, cap, int(declared))
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    exceeded = True
                    raise BodyTooLarge(cap)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app makes of the aborted body: the answer is ours (below)
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _send_too_large(send, cap)
            await _audit(scope, cap, None)


async def _audit(scope: Scope, cap: int, declared: int | None) -> None:
    """``limits.body_too_large`` (within the address's audit budget), off the event loop."""
    app = scope.get("app")
    client = scope.get("client")
    address = str(client[0]) if client else "unknown"
    path = str(scope.get("path", ""))[:100]
    state = getattr(getattr(app, "state", None), "khbs", None)
    if state is None:
        return

    def write() -> None:
        with state.sessions() as session:
            ctx = Ctx(session=session, settings=state.settings, keys=state.keys, clock=state.clock)
            audit.record_refusal(
                ctx,
                f"client:{address}",
                "limits.body_too_large",
                f"{scope.get('method')} {path}",
                source=audit.Budget(f"audit:body:{address[:100]}", BODY_REFUSALS_PER_ADDRESS),
                limit=cap,
                declared=declared,
            )
            session.commit()

    try:
        await anyio.to_thread.run_sync(write)
    except Exception:  # the refusal stands without its audit entry
        log.exception("could not audit a refused body")


async def _too_many_attempts(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TooManyAttempts)
    body = {"error": {"code": exc.code, "message": exc.message, "retry_after": exc.retry_after}}
    return JSONResponse(body, 429, headers={"Retry-After": str(exc.retry_after)})


def install(app: FastAPI) -> None:
    """The body caps and the 429 answer (``Retry-After``) on ``app``."""
    app.add_middleware(BodyLimit)
    app.add_exception_handler(TooManyAttempts, _too_many_attempts)
