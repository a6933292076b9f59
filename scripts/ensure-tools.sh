# Sourced by scripts/test.sh and .ci/run (from the repository root): the Rust
# pieces the wasm build needs, installed when missing, so `npm test` works on
# a fresh clone too.
#
# - the wasm32-unknown-unknown target of the pinned toolchain
#   (rust-toolchain.toml; rustup does not add targets by itself here);
# - wasm-bindgen-cli at exactly the version core/Cargo.toml pins the
#   wasm-bindgen crate to (the CLI and the crate must agree).

ensure_wasm_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo "==> rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown || return 1
  fi
  local want have
  want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' core/Cargo.toml)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$want" ]; then
    echo "==> cargo install wasm-bindgen-cli --version $want (found: ${have:-none})"
    cargo install wasm-bindgen-cli --version "$want" || return 1
  fi
}
