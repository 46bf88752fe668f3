#!/usr/bin/env bash
# Set up a Debian 12 machine (as root) for this project. Idempotent and quick when nothing changed:
#   1. Debian packages, installed only if missing (one `apt-get update`, only if something is missing);
#   2. the virtualenv at .venv with `pip install -e ".[test]"`, skipped while the stamp
#      (hash of pyproject.toml + Python version) matches.
# Options: --with-x11 (or KARTU_WITH_X11=1) also installs xvfb & co. for real windows/screenshots
#          (not needed by the tests: they run Qt offscreen).
#          --force (or KARTU_FORCE_PIP=1) reinstalls the Python packages even if the stamp matches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

with_x11="${KARTU_WITH_X11:-0}"
force_pip="${KARTU_FORCE_PIP:-0}"
for arg in "$@"; do
    case "$arg" in
        --with-x11) with_x11=1 ;;
        --force) force_pip=1 ;;
        *) echo "setup: unknown option: $arg" >&2; exit 2 ;;
    esac
done

say() { echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

# Serialise concurrent runs (two engineers, or CI + a developer, on one machine).
exec 9>/tmp/kartu-setup.lock
flock 9

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

# ---------------------------------------------------------------- Debian packages
# pcscd + vsmartcard-vpcd: the PC/SC daemon and the virtual reader the tests talk to.
# libpcsclite-dev, gcc, libc6-dev: pyscard 2.3.1 has no Linux wheel, pip builds it.
# socat: a pty pair stands in for a serial receipt printer.
# libgl1 ... libdbus-1-3: what PySide6 (Qt offscreen platform) links against (found with ldd).
# ca-certificates: pip over https.
# cage: the Wayland kiosk compositor the kiosk's systemd unit runs (its unit is verified by the tests).
# softhsm2: a PKCS#11 token standing in for the server's HSM in the key-store tests.
# espeak-ng + alsa-utils: the kiosk's offline speech (Indonesian and English) and its WAV player (aplay).
# xwayland: Debian 12's cage will not start without it; libwayland-cursor0 + libwayland-egl1: what Qt's
#   wayland platform (the kiosk unit's QT_QPA_PLATFORM=wayland) links against (found with ldd).
# xvfb + libxcb-*: a bare X server for the kiosk-mode test (the window covers a screen with no WM).
packages=(
    pcscd vsmartcard-vpcd libpcsclite-dev gcc libc6-dev socat ca-certificates
    libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 cage
    softhsm2 espeak-ng alsa-utils
    xwayland libwayland-cursor0 libwayland-egl1 xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0
)
if [[ "$with_x11" == 1 ]]; then
    packages+=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0)
fi

# The interpreter: python3 on PATH (pyenv on the dev machines, Debian's 3.11 on a bare one).
if ! command -v python3 >/dev/null 2>&1; then
    packages+=(python3 python3-venv python3-dev)
else
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv)
    python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
        || packages+=(python3-dev)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    [[ "$(id -u)" == 0 ]] || die "missing Debian packages (${missing[*]}); run this script as root"
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "Debian packages present"
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 >= 3.11 needed, found $(python3 -V)"

# ---------------------------------------------------------------- virtualenv
VENV="$ROOT/.venv"
STAMP="$VENV/.kartu-setup-stamp"
want_ver="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

if [[ -x "$VENV/bin/python" ]]; then
    have_ver="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
    if [[ "$have_ver" != "$want_ver" ]]; then
        say "virtualenv is broken or for Python '${have_ver:-?}' (want $want_ver): recreating"
        rm -rf "$VENV"
    fi
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating virtualenv .venv ($(python3 -V))"
    python3 -m venv "$VENV"
fi

stamp="$( { sha256sum pyproject.toml; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1)"
if [[ "$force_pip" != 1 && -f "$STAMP" && "$(cat "$STAMP")" == "$stamp" && -x "$VENV/bin/kartu" ]]; then
    say "virtualenv up to date (pyproject.toml unchanged)"
else
    rm -f "$STAMP"
    say "upgrading pip"
    "$VENV/bin/python" -m pip install -q --progress-bar off --upgrade pip
    say "pip install -e \".[test]\" (pyscard builds from source: a few seconds)"
    "$VENV/bin/python" -m pip install -q --progress-bar off -e ".[test]"
    echo "$stamp" >"$STAMP"
    say "virtualenv ready"
fi
