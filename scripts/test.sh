#!/usr/bin/env bash
# The project's test command (README "Tests"): Rust unit tests, the shell's
# tests, then the end-to-end tests of dist/ against moto and a fake GitHub on
# 127.0.0.1. Sets up what it needs on a fresh clone (see tests/e2e/setup.sh).
# Runs every stage even after a failure, then exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/e2e/setup.sh
. scripts/ensure-tools.sh

failed=()
stage() {
  local name=$1
  shift
  echo
  echo "==> $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

ensure_node_modules || { echo "error: npm ci failed" >&2; exit 1; }
ensure_moto || { echo "error: could not install moto_server" >&2; exit 1; }
ensure_cfn_lint || { echo "error: could not install cfn-lint" >&2; exit 1; }
ensure_wasm_tools || { echo "error: could not install the wasm32 target or wasm-bindgen-cli" >&2; exit 1; }

stage "cargo test --workspace" cargo test --workspace

stage "npm run test:shell" npm run --silent test:shell

stage "docs (README tables and commands)" node --test tests/readme.test.mjs

stage "aws/ecs-runner.yaml (cfn-lint, the README's policy)" node --test tests/aws-template.test.mjs

if [ ! -f "${ECS_RUNNER_E2E_ROOT:-.}/dist/index.js" ]; then
  echo
  echo "warning: dist/index.js missing; building it (npm run build)" >&2
  stage "npm run build" npm run --silent build
fi

# Node 24 is the action's runtime (runs.using: node24). Test files run one at a
# time on small machines (default concurrency); each starts its own servers.
stage "e2e (node24 --test tests/e2e)" "$NODE24" --test --test-timeout=300000 'tests/e2e/*.test.mjs'

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "all tests passed"
