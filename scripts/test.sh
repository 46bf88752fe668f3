#!/usr/bin/env bash
# The one test command: set up, start services, then ruff, ruff format, mypy, import-linter, pytest.
# Stops at the first failing step. Extra arguments go to pytest, e.g.
#   bash scripts/test.sh -k apdu -x
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.venv/bin"

# Qt must never look for a display in tests (without one it aborts the whole process).
export QT_QPA_PLATFORM=offscreen
export PYTHONDONTWRITEBYTECODE=1

start=$SECONDS

step() {
    local name="$1" t0=$SECONDS rc=0
    shift
    echo
    echo "==> $name"
    "$@" || rc=$?
    if ((rc != 0)); then
        echo
        echo "test: FAILED at step '$name' (exit $rc)" >&2
        exit "$rc"
    fi
    echo "    ok: $name ($((SECONDS - t0)) s)"
}

run_pytest() {
    local rc=0
    "$BIN/pytest" "$@" || rc=$?
    if ((rc == 5)); then
        echo "test: pytest collected no tests: counted as a failure" >&2
    fi
    return "$rc"
}

step "setup" bash "$ROOT/scripts/setup.sh"
step "services" bash "$ROOT/scripts/services.sh"
step "ruff check" "$BIN/ruff" check .
step "ruff format --check" "$BIN/ruff" format --check .
step "mypy" "$BIN/mypy"
step "import-linter" "$BIN/lint-imports"
step "pytest" run_pytest "$@"

echo
echo "test: all steps passed ($((SECONDS - start)) s)"
