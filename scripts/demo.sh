#!/usr/bin/env bash
# Set up, then run the demo: `kartu demo` (terminal.cli:main) on embedded defaults. Extra arguments go to
# `kartu demo`, e.g. `bash scripts/demo.sh --help`.
# pcscd is started too (if not already running): the demo card sits in a vpcd virtual reader.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/services.sh" pcscd

if ! "$ROOT/.venv/bin/python" -c 'import terminal.cli' 2>/dev/null; then
    echo "demo: terminal.cli cannot be imported (not written yet?):" >&2
    "$ROOT/.venv/bin/python" -c 'import terminal.cli' >&2 || true
    exit 1
fi

echo "demo: kartu demo $*"
exec "$ROOT/.venv/bin/kartu" demo "$@"
