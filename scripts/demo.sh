#!/usr/bin/env bash
# Set up, then run the demo: `kartu demo` (kartu.cli:main) on embedded defaults — in-process reference cards
# with a demo panel, SQLite, receipts to files. Without a display it reads every demo card headless; for the
# window on a headless machine: `xvfb-run -a bash scripts/demo.sh` (setup.sh --with-x11 installs xvfb).
# Extra arguments go to `kartu demo`, e.g. `bash scripts/demo.sh --reset` or `--headless`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash "$ROOT/scripts/setup.sh"

echo "demo: kartu demo $*"
exec "$ROOT/.venv/bin/kartu" demo "$@"
