#!/usr/bin/env bash
# Start what the tests need, unless it is already up:
#   pcscd    - the PC/SC daemon (one per machine), with the vpcd virtual readers of /etc/reader.conf.d/vpcd;
#   postgres - PostgreSQL on 127.0.0.1:5432 with a database `test` (trust auth).
# Arguments: which services (default: both), e.g. `services.sh pcscd`.
# pcscd must come up (exit 1 otherwise); PostgreSQL only gets a loud warning: tests marked `postgres` then
# fail on their own.
# Needs the virtualenv (scripts/setup.sh) for the pcscd check, which goes through pyscard.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
PCSCD_LOG=/tmp/kartu-pcscd.log

say() { echo "services: $*"; }
warn() {
    echo "services: ############################################################" >&2
    echo "services: WARNING: $*" >&2
    echo "services: ############################################################" >&2
}

wanted=("$@")
((${#wanted[@]})) || wanted=(pcscd postgres)

# Serialise concurrent runs so that two of them never start two pcscd.
exec 9>/tmp/kartu-services.lock
flock 9

# ---------------------------------------------------------------- pcscd
# "Answers" = a PC/SC context can be established through the daemon's socket (a real round trip).
pcscd_answers() {
    timeout 5 "$PY" - <<'EOF' >/dev/null 2>&1
import sys
from smartcard.scard import SCARD_S_SUCCESS, SCARD_SCOPE_USER, SCardEstablishContext, SCardReleaseContext
rc, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
if rc != SCARD_S_SUCCESS:
    sys.exit(1)
SCardReleaseContext(ctx)
EOF
}

pcscd_readers() {
    timeout 5 "$PY" -c 'from smartcard.System import readers; print(", ".join(map(str, readers())) or "none")' \
        2>/dev/null || echo "?"
}

start_pcscd() {
    [[ -x "$PY" ]] || { echo "services: ERROR: no .venv: run scripts/setup.sh first" >&2; exit 1; }
    if pcscd_answers; then
        say "pcscd already running (readers: $(pcscd_readers))"
        return 0
    fi
    command -v pcscd >/dev/null || { echo "services: ERROR: pcscd not installed: run scripts/setup.sh" >&2; exit 1; }
    say "starting pcscd -f (log: $PCSCD_LOG)"
    # -f: stay in the foreground so that $! is its pid; setsid + nohup: outlive this script;
    # 9>&-: do not hand the lock to the daemon.
    setsid nohup pcscd -f >"$PCSCD_LOG" 2>&1 </dev/null 9>&- &
    local pid=$! i
    for ((i = 0; i < 50; i++)); do
        if pcscd_answers; then
            say "pcscd up, pid $pid (readers: $(pcscd_readers))"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "services: ERROR: pcscd exited; its log ($PCSCD_LOG):" >&2
            tail -n 20 "$PCSCD_LOG" >&2 || true
            exit 1
        fi
        sleep 0.1
    done
    echo "services: ERROR: pcscd (pid $pid) does not answer after 5 s; log: $PCSCD_LOG" >&2
    exit 1
}

# ---------------------------------------------------------------- PostgreSQL
pg_db_ok() { psql -h 127.0.0.1 -U postgres -d test -Atqc 'select 1' </dev/null >/dev/null 2>&1; }

start_postgres() {
    if ! command -v pg_isready >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
        warn "PostgreSQL is not installed: tests marked 'postgres' will fail"
        return 0
    fi
    if pg_isready -q -h 127.0.0.1; then
        say "PostgreSQL already accepting connections on 127.0.0.1:5432"
    else
        local ver
        ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
        if [[ -z "$ver" ]]; then
            warn "no PostgreSQL cluster in /etc/postgresql: tests marked 'postgres' will fail"
            return 0
        fi
        say "starting PostgreSQL $ver/main"
        if ! pg_ctlcluster --skip-systemctl-redirect "$ver" main start 9>&-; then
            warn "PostgreSQL $ver/main did not start: tests marked 'postgres' will fail"
            return 0
        fi
        local i
        for ((i = 0; i < 50; i++)); do
            pg_isready -q -h 127.0.0.1 && break
            sleep 0.2
        done
        if ! pg_isready -q -h 127.0.0.1; then
            warn "PostgreSQL started but 127.0.0.1:5432 does not accept connections: 'postgres' tests will fail"
            return 0
        fi
        say "PostgreSQL up"
    fi
    if ! pg_db_ok; then
        say "database 'test' not reachable as postgres@127.0.0.1: trying to create it"
        createdb -h 127.0.0.1 -U postgres test </dev/null 2>/dev/null \
            || runuser -u postgres -- createdb test </dev/null 2>/dev/null || true
        if ! pg_db_ok; then
            warn "cannot connect: psql -h 127.0.0.1 -U postgres -d test (needs the db and trust auth
services: in pg_hba.conf): tests marked 'postgres' will fail"
            return 0
        fi
        say "database 'test' created"
    fi
}

for s in "${wanted[@]}"; do
    case "$s" in
        pcscd) start_pcscd ;;
        postgres) start_postgres ;;
        *) echo "services: unknown service: $s (known: pcscd postgres)" >&2; exit 2 ;;
    esac
done
