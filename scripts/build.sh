#!/usr/bin/env bash
# Builds the action: the Rust core to wasm (build/wasm), then the TypeScript
# shell and the wasm into dist/, which is committed and run by users as is.
#
#   scripts/build.sh          everything (npm run build)
#   scripts/build.sh wasm     only build/wasm: the bindings and their .d.ts,
#                             which the shell's typecheck and tests need
#
# Reproducible: the same sources give the same bytes on any machine, so CI can
# rebuild dist/ and compare it with what is committed (scripts/check-dist.sh).
# That holds because the Rust toolchain (rust-toolchain.toml), wasm-bindgen
# (checked below), esbuild and the npm packages (package-lock.json) are
# pinned and no machine path reaches the output.
set -euo pipefail

stage="${1:-all}"
case "$stage" in all | wasm) ;; *) echo "usage: $0 [wasm]" >&2; exit 2 ;; esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

WASM_BINDGEN_VERSION=0.2.130 # must equal wasm-bindgen's pin in core/Cargo.toml
cargo_home="${CARGO_HOME:-$HOME/.cargo}"

# --- Rust core -> wasm -------------------------------------------------------
# Panic messages carry source paths; map the two machine-specific prefixes to
# fixed ones (the standard library's are already /rustc/<commit>/). The
# caller's RUSTFLAGS are replaced, not extended: they would change the bytes.
# Its own target dir: cargo rebuilds when RUSTFLAGS change, so sharing
# target/ with plain `cargo build --target wasm32-unknown-unknown` runs would
# rebuild everything each time one follows the other.
# Not stripped (the workspace profile strips): wasm-bindgen reads the
# target_features section to see that multi-value and reference types are on,
# and then emits simpler glue; it drops the debug info itself.
unset CARGO_ENCODED_RUSTFLAGS
export CARGO_PROFILE_RELEASE_STRIP=false
export RUSTFLAGS="--remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$root=/ecs-runner"
cargo build --quiet --locked -p ecs-runner-core --release \
  --target wasm32-unknown-unknown --target-dir target/action
wasm_in="target/action/wasm32-unknown-unknown/release/ecs_runner_core.wasm"

# --- JS bindings -------------------------------------------------------------
if ! command -v wasm-bindgen >/dev/null; then
  echo "error: wasm-bindgen not found; run: cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION" >&2
  exit 1
fi
found="$(wasm-bindgen --version | awk '{print $2}')"
if [ "$found" != "$WASM_BINDGEN_VERSION" ]; then
  # The CLI and the crate must agree exactly, or the glue does not match the
  # wasm's custom section.
  echo "error: wasm-bindgen $found found, $WASM_BINDGEN_VERSION needed; run: cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION" >&2
  exit 1
fi
rm -rf build/wasm
# --target nodejs: CommonJS glue that reads <name>_bg.wasm from its __dirname
# and instantiates it synchronously when first required. The name section
# (function names in wasm stack traces) would add 40% to the .wasm; a panic
# already reports its message and source location (core/src/wasm.rs).
wasm-bindgen --target nodejs --remove-name-section --out-dir build/wasm "$wasm_in"

# No wasm-opt. Measured on this core (binaryen 108, -Oz): 128,598 -> 117,757
# bytes (-8%), gzipped 47,953 -> 47,799 (what git stores and moves), and
# compiling either at start-up takes about a millisecond. Deterministic, but
# not worth an extra tool whose version (it comes from the OS, unpinned)
# dist/'s bytes would then depend on. Re-measure when the core grows.

[ "$stage" = wasm ] && exit 0

# --- Shell bundle -> dist/ ---------------------------------------------------
rm -rf dist
mkdir -p dist build/meta
# dist/index.js, with the wasm glue inside; the glue finds
# ecs_runner_core_bg.wasm next to it (__dirname).
node action/build/bundle.mjs dist build/meta/esbuild.json
cp build/wasm/ecs_runner_core_bg.wasm dist/
# Licenses of what the bundle and the wasm contain (esbuild's metafile lists
# the npm packages, cargo metadata the crates).
node action/build/licenses.mjs build/meta/esbuild.json >dist/licenses.txt
