//! (being written: the wasm-bindgen boundary)
