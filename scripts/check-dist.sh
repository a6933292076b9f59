#!/usr/bin/env bash
# Fails when dist/ is not what the sources build to: users run the committed
# dist/ straight from the repository, so a change to core/ or action/ without
# a rebuilt dist/ would not reach them (or dist/ was edited by hand).
#
# Rebuilds from scratch (build.sh deletes dist/ first) and compares with git:
# `git status --porcelain` also catches the binary .wasm and files added to
# or gone from dist/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/build.sh

changes="$(git status --porcelain --untracked-files=all -- dist/)"
if [ -n "$changes" ]; then
  echo "error: dist/ differs from what the sources build to:" >&2
  echo "$changes" >&2
  echo "Run \`npm run build\` and commit dist/." >&2
  exit 1
fi
echo "dist/ is up to date."
