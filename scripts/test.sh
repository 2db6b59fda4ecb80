#!/usr/bin/env bash
# The test command: set everything up, lint, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-redis
PYTHON="${PYTHON:-python3}"
export LITELLM_LOCAL_MODEL_COST_MAP=True
"$PYTHON" -m uv run --frozen ruff check .
"$PYTHON" -m uv run --frozen pytest "$@"
