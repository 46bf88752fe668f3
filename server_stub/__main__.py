"""``python -m server_stub``: the registration server on 127.0.0.1:8620 (SQLite under the data dir).

Options: ``--host``, ``--port``, ``--database-url``, ``--data-dir``, ``--demo [N]`` (load demo data with
N citizens first). Environment: ``KHBS_*`` (see server_stub.settings).
"""

from __future__ import annotations

import argparse
import logging
import secrets
from pathlib import Path

import uvicorn

from server_stub.app import create_app
from server_stub.keystore import KeyStoreError
from server_stub.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server_stub", description=__doc__)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--database-url")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--demo", type=int, nargs="?", const=2000, default=None, metavar="CITIZENS")
    parser.add_argument("--seed", type=int, default=62)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    changes: dict[str, object] = {}
    if args.host:
        changes["host"] = args.host
    if args.port:
        changes["port"] = args.port
    if args.database_url:
        changes["database_url"] = args.database_url
    if args.data_dir:
        changes["data_dir"] = args.data_dir
    if args.demo is not None:
        changes["demo"] = True  # demo keys allowed (the server says so in its log)
    if not settings.admin_token:
        changes["admin_token"] = secrets.token_urlsafe(24)
    settings = settings.with_(**changes)
    if not Settings.from_env().admin_token:
        print(f"admin token (demo bootstrap): {settings.admin_token}", flush=True)
    if args.demo is not None:
        from server_stub.demo import load_demo

        summary = load_demo(settings, citizens=args.demo, seed=args.seed)
        print(f"demo data: {summary}", flush=True)
    try:
        app = create_app(settings)
    except KeyStoreError as exc:
        raise SystemExit(f"kartu server: {exc}") from exc
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
