#!/usr/bin/env bash
# The main job: set everything up, then benchmark stock vs accelerated LiteLLM on embedded defaults.
# Extra arguments go to `litellm-accel bench` (for example --quick, --json, --scenario tokens).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PYTHON="${PYTHON:-python3}"
export LITELLM_LOCAL_MODEL_COST_MAP=True
exec "$PYTHON" -m uv run --frozen litellm-accel bench "$@"
