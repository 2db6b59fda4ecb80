#!/usr/bin/env bash
# Install everything the project needs on a machine with Python >= 3.10 and pip:
# uv (when missing), the locked workspace (.venv), and redis-server for the tests (when asked).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
    echo "setup: installing uv with pip" >&2
    "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
fi
# --compile-bytecode: litellm is large and this environment may set PYTHONDONTWRITEBYTECODE, in which
# case every process would compile it from source again (about twice the import time).
"$PYTHON" -m uv sync --locked --all-packages --compile-bytecode --quiet

if [[ "${1:-}" == "--with-redis" ]] && ! command -v redis-server >/dev/null 2>&1; then
    echo "setup: installing redis-server (the tests start their own on a free loopback port)" >&2
    SUDO=""
    if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
    # The Debian package starts a system service on port 6379; the tests do not use it.
    $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
