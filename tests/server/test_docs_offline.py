"""``/docs`` works on an offline machine: Swagger UI and its assets come from this server, no CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from server_stub.app import create_app
from server_stub.settings import Settings


def test_docs_and_their_assets_are_served_locally(tmp_path: object) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, admin_token="t" * 24))) as client:  # type: ignore[arg-type]
        page = client.get("/docs")
        assert page.status_code == 200 and "swagger-ui" in page.text
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
        assert urls and all(u.startswith("/") for u in urls), urls  # nothing from another host
        for url in urls:
            assert client.get(url).status_code == 200, url
        assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not offered
