//! What crosses the boundary between the core and the shell that drives it.
//!
//! The shell owns sockets, timers, the clock, the environment and randomness.
//! It feeds the core an [`Event`] and gets back an [`Action`]: the secrets to
//! mask, the lines to log, and what to do next ([`Next`]). It performs that,
//! then feeds back the result as the next event, always with the current time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, as the shell's clock read them.
pub type Millis = u64;

/// One HTTP request the shell must perform exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Echoed back in the [`HttpResponse`] so answers can be matched.
    pub id: u32,
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// Give up on the request after this long and answer with `error`.
    pub timeout_ms: u64,
}

/// The answer to an [`HttpRequest`]: a status and body, or a transport error
/// (DNS, refused connection, time-out) with `status == 0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub id: u32,
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub error: Option<String>,
}

impl HttpResponse {
    /// The header's value; names compare without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What happened since the last [`Action`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The first event: begin.
    Start,
    /// Answers to requests in flight: every one that has arrived since the
    /// last event (at least one), in any order.
    Responses { responses: Vec<HttpResponse> },
    /// The `wake_ms` of the last `Next::Wait` has passed with no answer.
    Woke,
    /// The process was asked to stop (SIGINT, SIGTERM): clean up, quickly.
    /// May arrive instead of any other event. Every request in flight is
    /// aborted and its answer never delivered: the core sends again what it
    /// still needs.
    Cancel { signal: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Shown only when the step runs with debug logging (or `debug: true`).
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    /// Starts a collapsed group titled `message` (`core.startGroup`); the
    /// lines up to the next [`Level::EndGroup`] go in it.
    Group,
    #[serde(rename = "endgroup")]
    EndGroup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    pub level: Level,
    pub message: String,
}

/// What the shell must do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Next {
    /// Start these requests, concurrently; they join those still in flight
    /// from earlier actions (a request stays in flight until its answer is
    /// delivered). Then wait for the first of: an answer to any request in
    /// flight (send `Event::Responses` with every answer that has arrived),
    /// `wake_ms` passing, when given (send `Event::Woke`), or a cancel. Each
    /// `Wait` replaces the previous one's `wake_ms`. The core never asks to
    /// wait with nothing in flight and no `wake_ms`.
    Wait {
        requests: Vec<HttpRequest>,
        wake_ms: Option<u64>,
    },
    /// Finished: set these outputs, append the summary, exit 0.
    Done {
        outputs: BTreeMap<String, String>,
        summary: String,
    },
    /// Finished badly: set the outputs, append the summary, fail the step with
    /// `message`.
    Failed {
        message: String,
        outputs: BTreeMap<String, String>,
        summary: String,
    },
}

/// The core's answer to every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// Values the shell must mask (`core.setSecret`) before it logs anything.
    pub secrets: Vec<String>,
    pub logs: Vec<Log>,
    pub next: Next,
}

/// What the shell hands the core once, at the start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Every input named in [`crate::inputs::INPUT_NAMES`], as
    /// `core.getInput` returned it (trimmed, empty when not given).
    pub inputs: BTreeMap<String, String>,
    /// The process environment (the core picks what it needs: `GITHUB_*`,
    /// `AWS_*`, `ECS_*`, `RUNNER_*`).
    pub env: BTreeMap<String, String>,
    /// At least 16 random bytes, hex encoded, from a cryptographic source.
    pub random: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_cross_as_the_shell_names_them() {
        // wasm.rs's Level type and action/src/main.ts's LOG map use these.
        let names: Vec<String> = [
            Level::Debug,
            Level::Info,
            Level::Notice,
            Level::Warning,
            Level::Error,
            Level::Group,
            Level::EndGroup,
        ]
        .iter()
        .map(|l| serde_json::to_string(l).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"debug\"",
                "\"info\"",
                "\"notice\"",
                "\"warning\"",
                "\"error\"",
                "\"group\"",
                "\"endgroup\""
            ]
        );
        let wasm = include_str!("wasm.rs");
        assert!(wasm.contains(r#"export type Level = "debug" | "info" | "notice" | "warning" | "error" | "group" | "endgroup";"#));
    }
}
