//! The wasm-bindgen boundary: converts between JavaScript values and the
//! [`crate::protocol`] types, and does nothing else.
//!
//! The shell (action/src) creates one [`WasmMachine`] from a `Config` and
//! calls `step` in a loop. Values cross as plain JavaScript objects whose
//! shapes are exactly the serde shapes of `protocol.rs`; the TypeScript types
//! below spell them out once so the shell is typechecked against them.

use serde::Serialize;
use serde_wasm_bindgen::Serializer;
use wasm_bindgen::prelude::*;

use crate::inputs::INPUT_NAMES;
use crate::protocol::{Config, Event, Millis};
use crate::Machine;

// Keep in step with protocol.rs: field names and enum tags are the serde
// names (snake_case), maps are plain objects (see SERIALIZER), u64 values are
// numbers (all of ours stay below 2^53: times in ms, ids, sizes).
#[wasm_bindgen(typescript_custom_section)]
const PROTOCOL_TYPES: &'static str = r#"
/** What the shell hands the core once, at the start. */
export interface Config {
  /** Every name of input_names(), as core.getInput returned it ("" when not given). */
  inputs: Record<string, string>;
  /** The process environment (strings only). */
  env: Record<string, string>;
  /** At least 16 random bytes from a cryptographic source, hex encoded. */
  random: string;
}

/**
 * What happened since the last Action: the start; answers that arrived (at
 * least one); the wake_ms of the last "wait" passed; a cancel (every request
 * in flight is then aborted and its answer never delivered).
 */
export type Event =
  | { type: "start" }
  | { type: "responses"; responses: HttpResponse[] }
  | { type: "woke" }
  | { type: "cancel"; signal: string };

export interface HttpRequest {
  id: number;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  timeout_ms: number;
}

/** A status and body, or a transport error with status 0. */
export interface HttpResponse {
  id: number;
  status: number;
  headers?: Record<string, string>;
  body?: string;
  error?: string;
}

/** "group" starts a collapsed group titled by the message; "endgroup" ends it. */
export type Level = "debug" | "info" | "notice" | "warning" | "error" | "group" | "endgroup";

export interface Log {
  level: Level;
  message: string;
}

/**
 * What the shell must do next. "wait": start `requests` (they join those in
 * flight), then wait for any answer, for wake_ms (when not null), or a
 * cancel; each wait replaces the previous wake_ms.
 */
export type Next =
  | { kind: "wait"; requests: HttpRequest[]; wake_ms: number | null }
  | { kind: "done"; outputs: Record<string, string>; summary: string }
  | { kind: "failed"; message: string; outputs: Record<string, string>; summary: string };

/** The core's answer to every event. */
export interface Action {
  /** Mask these before logging anything. */
  secrets: string[];
  logs: Log[];
  next: Next;
}
"#;

#[wasm_bindgen]
extern "C" {
    // Only give the generated .d.ts the types above; at run time these are
    // plain JsValues.
    #[wasm_bindgen(typescript_type = "Config")]
    pub type JsConfig;
    #[wasm_bindgen(typescript_type = "Event")]
    pub type JsEvent;
    #[wasm_bindgen(typescript_type = "Action")]
    pub type JsAction;
    #[wasm_bindgen(typescript_type = "string[]")]
    pub type JsStringArray;
}

/// Every Action goes out through this one serializer. Without
/// `serialize_maps_as_objects` a BTreeMap (outputs, headers) would become a
/// JS `Map`, which the shell would read as an object with no properties.
const SERIALIZER: Serializer = Serializer::new()
    .serialize_maps_as_objects(true)
    .serialize_missing_as_null(true);

/// Runs when the module is instantiated (wasm-bindgen exports it too;
/// calling it again changes nothing).
#[wasm_bindgen(start)]
pub fn install_panic_hook() {
    // The release profile aborts on panic, which JavaScript sees only as
    // "RuntimeError: unreachable". Throw the panic message instead so the
    // step's failure says what went wrong and where.
    std::panic::set_hook(Box::new(|info| {
        wasm_bindgen::throw_str(&format!("core panicked: {info}"))
    }));
}

/// The top-level [`Machine`], driven from JavaScript.
#[wasm_bindgen]
pub struct WasmMachine {
    machine: Machine,
}

#[wasm_bindgen]
impl WasmMachine {
    /// Throws an Error when `config` does not have the shape of `Config`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsConfig) -> Result<WasmMachine, JsError> {
        let config: Config = serde_wasm_bindgen::from_value(config.into())
            .map_err(|e| conversion_error("invalid Config", e))?;
        Ok(WasmMachine {
            machine: Machine::new(config),
        })
    }

    /// Feeds one event with the current time (`Date.now()`), returns what to
    /// do next. Throws an Error when `event` does not have the shape of
    /// `Event`.
    pub fn step(&mut self, now_ms: f64, event: JsEvent) -> Result<JsAction, JsError> {
        let event: Event = serde_wasm_bindgen::from_value(event.into())
            .map_err(|e| conversion_error("invalid Event", e))?;
        // `as` saturates: NaN and negative times become 0, fractions are cut.
        let action = self.machine.step(now_ms as Millis, event);
        Ok(to_js(&action)?.unchecked_into())
    }
}

/// The names of the action's inputs; the shell reads each with
/// `core.getInput` and passes them all in `Config.inputs`.
#[wasm_bindgen]
pub fn input_names() -> Result<JsStringArray, JsError> {
    Ok(to_js(INPUT_NAMES)?.unchecked_into())
}

/// The core's version (Cargo.toml), for logs.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&SERIALIZER)
        .map_err(|e| conversion_error("cannot convert the core's answer", e))
}

/// One JS Error for every conversion failure: what was being converted, then
/// serde's reason (e.g. "missing field `random`").
fn conversion_error(what: &str, error: serde_wasm_bindgen::Error) -> JsError {
    // serde-wasm-bindgen wraps its reason in a JS Error; its Display would
    // print "Error: ..." so take the bare message.
    let value = JsValue::from(error);
    let reason = match value.dyn_ref::<js_sys::Error>() {
        Some(e) => String::from(e.message()),
        None => format!("{value:?}"),
    };
    JsError::new(&format!("ecs-runner: {what}: {reason}"))
}
