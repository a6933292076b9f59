#!/usr/bin/env bash
# The README's "try it" command: runs the built action against a local AWS
# emulator (moto) and a fake GitHub, prints its outputs and job summary.
# Installs what is missing on a fresh clone (see tests/e2e/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/e2e/setup.sh
ensure_node_modules
ensure_moto
if [ ! -f "${ECS_RUNNER_E2E_ROOT:-.}/dist/index.js" ]; then
  echo "==> dist/index.js missing; building it (npm run build)"
  npm run --silent build
fi
exec "$NODE24" scripts/demo.mjs
