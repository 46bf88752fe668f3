"""The app factory: ``create_app(settings)`` wires the database, migrations, keys and the routers."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from server_stub import db
from server_stub.api import admin, enrol, http_errors, limits, public, sync
from server_stub.api import credentials as credentials_api
from server_stub.api import keys as keys_api
from server_stub.api.deps import AppState
from server_stub.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from server_stub.keys import load_keys
from server_stub.services.context import Ctx
from server_stub.services.reference import ensure_reference_data
from server_stub.settings import Settings

log = logging.getLogger(__name__)

STATUS = {NotFound: 404, Conflict: 409, Unauthorized: 401, Forbidden: 403}


def now() -> int:
    return int(time.time())


def _error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status, headers=headers)


def _domain_status(err: DomainError) -> int:
    for cls, status in STATUS.items():
        if isinstance(err, cls):
            return status
    return 422


def _json_safe(value: object) -> object:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return str(value)


def _json_safe_loc(error: Mapping[str, Any]) -> list[object]:
    """The ``loc`` of one pydantic error, JSON-safe."""
    return [_json_safe(p) for p in error.get("loc", ())]


SWAGGER_STATIC = "/static/swagger"


def _offline_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the vendored ``swagger-ui-bundle`` package, never from a CDN."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(SWAGGER_STATIC, StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_STATIC}/favicon-32x32.png",
        )


def create_app(
    settings: Settings | None = None,
    *,
    sessions: sessionmaker[Session] | None = None,
    clock: Callable[[], int] | None = None,
) -> FastAPI:
    """``sessions`` replaces the engine's session factory (tests join an outer transaction with it);
    ``clock`` (Unix seconds) replaces the wall clock."""
    settings = settings or Settings.from_env()
    keys = load_keys(settings)  # refuses demo keys outside demo mode, before anything else
    if not settings.admin_token:
        settings = settings.with_(admin_token=secrets.token_urlsafe(24))
        log.warning("no KHBS_ADMIN_TOKEN set: generated admin token %s", settings.admin_token)
    if sessions is None:
        engine = db.make_engine(settings)
        if settings.run_migrations:
            db.migrate(engine)
        sessions = db.session_factory(engine)
    with sessions() as session:
        ensure_reference_data(Ctx(session=session, settings=settings, keys=keys, clock=clock or now))
        session.commit()

    app = FastAPI(
        title="KHBS registration server",
        version="1",
        description="Central registration server of Kartu Huma Betang Sejahtera. See server_stub/API.md.",
        docs_url=None,  # served below from local files: the machines are offline, no CDN
        redoc_url=None,
    )
    _offline_docs(app)
    app.state.khbs = AppState(settings=settings, sessions=sessions, keys=keys, clock=clock or now)
    app.include_router(public.router)
    app.include_router(enrol.router)
    app.include_router(sync.router)
    app.include_router(admin.router)
    app.include_router(keys_api.router)
    app.include_router(credentials_api.router)
    limits.install(app)  # body caps per endpoint (413), lockouts (429)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, err: DomainError) -> JSONResponse:
        extra = {k: _json_safe(v) for k, v in err.extra.items()}
        return _error(_domain_status(err), err.code, err.message, **extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, err: RequestValidationError) -> JSONResponse:
        errors = err.errors()
        details = [
            {
                "loc": _json_safe_loc(e),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type")),
            }
            for e in errors
        ]
        if errors:
            loc, msg = _json_safe_loc(errors[0]), str(errors[0].get("msg", ""))
        else:
            loc, msg = [], "invalid request"
        where = ".".join(str(p) for p in loc[1:]) or "body"
        return _error(422, "validation", f"{where}: {msg}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return http_errors.answer(app, request, err)  # 405 with Allow; an unreadable body is a 422

    return app
