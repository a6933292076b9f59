// The types that cross the wasm boundary. They are written once, in Rust
// (core/src/wasm.rs), and reach TypeScript through the .d.ts that
// wasm-bindgen generates into build/wasm (scripts/build.sh wasm).
export type {
  Action,
  Config,
  Event,
  HttpRequest,
  HttpResponse,
  Level,
  Log,
  Next,
} from "../../build/wasm/ecs_runner_core";
