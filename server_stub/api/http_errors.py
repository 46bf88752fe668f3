"""The answers to errors the router and FastAPI raise themselves (not the services), in the API's error
shape (``{"error": {"code", "message"}}``), as the OpenAPI document says:

- 405: with ``Allow`` listing every method the path serves (RFC 9110), across all the routes of the path
  (Starlette's own lists the methods of one route only);
- a body that cannot be read as JSON text (bytes that are not UTF-8: FastAPI raises a bare 400) is a
  ``validation`` error (422), as an invalid JSON document is.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

_CODES = {404: "not_found", 405: "method_not_allowed"}


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route of the app serves at the request's path."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _scope = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def answer(app: FastAPI, request: Request, err: HTTPException) -> JSONResponse:
    status, detail = err.status_code, str(err.detail)
    headers = dict(err.headers or {})
    if status == 400:  # FastAPI's "There was an error parsing the body"
        return JSONResponse(
            {"error": {"code": "validation", "message": f"body: {detail} (not UTF-8 JSON)"}}, 422
        )
    if status == 405:
        headers["Allow"] = ", ".join(allowed_methods(app, request))
    body = {"error": {"code": _CODES.get(status, "http_error"), "message": detail}}
    return JSONResponse(body, status, headers=headers or None)
