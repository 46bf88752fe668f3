"""The API's wire shape as the OpenAPI schema states it stays what ``openapi_wire.json`` holds: every
path and method, its parameters, status codes, media types, and each body's field names, types,
required fields, enums and limits (``$ref`` resolved). Not compared: component names, titles and model
docstrings, which a client never sees on the wire (the routes may answer with a service's view or a
pydantic model, whichever says it best).

After a deliberate change to the API, regenerate the file and review its diff (and ``server_stub/API.md``):

    KHBS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/server/test_openapi_wire.py
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from server_stub.app import create_app
from server_stub.settings import Settings

GOLDEN = Path(__file__).parent / "openapi_wire.json"


def wire_shape(schema: dict[str, Any]) -> dict[str, Any]:
    """The paths of an OpenAPI document with every ``$ref`` resolved, without titles and without the
    descriptions of object schemas (a model's docstring)."""
    components = schema.get("components", {}).get("schemas", {})

    def walk(node: Any, resolving: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(n, resolving) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in resolving:  # a recursive model: name the cycle rather than recurse
                return {"$recursive": True}
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return walk({**components[name], **rest}, (*resolving, name))
        is_object = "properties" in node
        return {
            k: walk(v, resolving)
            for k, v in node.items()
            if k != "title" and not (k == "description" and is_object)
        }

    return {"paths": walk(schema["paths"], ())}


def _schema() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="khbs-openapi-wire-"))
    settings = Settings(data_dir=tmp, database_url="", admin_token="t", key_seed="openapi-wire")
    openapi: dict[str, Any] = create_app(settings, clock=lambda: 1773111600).openapi()
    return openapi


def test_openapi_wire_shape_unchanged() -> None:
    shape = wire_shape(_schema())
    if os.environ.get("KHBS_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(shape, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert shape == golden, "the API's wire shape changed (see this module's docstring)"
