//! ecs-runner's core: sans-IO state machines that launch, stop and reap
//! ephemeral GitHub Actions runners on AWS ECS.
//!
//! The core never touches the network, the clock, the environment or a source
//! of randomness. A shell (the TypeScript action in `action/`) creates a
//! [`Machine`] from a [`protocol::Config`], then loops: it calls
//! [`Machine::step`] with an [`protocol::Event`] and the current time,
//! performs the [`protocol::Next`] it gets back, and reports the result as the
//! next event. See `protocol.rs` for the exact contract.
//!
//! The parts, top down (each uses only what is below it):
//! - The boundary: `wasm.rs` (the JavaScript binding, wasm32 only) and
//!   `protocol.rs` (what crosses it: events, requests, answers, actions;
//!   every part may name these).
//! - `machine.rs`: the [`Machine`] the shell drives: checks the inputs,
//!   runs what the mode needs first (`machine/`: AWS credentials from
//!   their source, a GitHub App's installation token), then the mode.
//! - The modes: `start/`, `stop.rs`, `reap.rs`, with `cleanup.rs` (removing
//!   what a start launched) and `summary.rs` (the job summary).
//! - `inputs/`: the raw inputs and environment, checked, into `settings`;
//!   beside it `runner_image.rs` (the stock runner image's contract),
//!   `names.rs` (the names and tags ecs-runner gives) and
//!   `placeholders.rs` (`{runner_name}` and the like).
//! - `exchange/`: the calls: queued, addressed, signed, sent within
//!   per-service bounds, retried; a failed one said in the user's words
//!   (`exchange/failure.rs`); the [`exchange::outbox::Outbox`] of log lines
//!   and secrets.
//! - The wire formats, one folder per service: `aws/` (ECS, EC2, CloudWatch
//!   Logs, the credential sources' answers, AWS errors, the task definition
//!   the action registers) and `github/` (the runner endpoints, the App's
//!   JWT and tokens). They know no machine and send nothing.
//! - At the bottom, named by all: `settings.rs` (the validated settings)
//!   and `encoding.rs` (form values, RFC 3339 time stamps).

pub mod aws;
pub mod cleanup;
pub mod encoding;
pub mod exchange;
pub mod github;
pub mod inputs;
pub mod machine;
pub mod names;
pub mod placeholders;
pub mod protocol;
pub mod reap;
pub mod runner_image;
pub mod settings;
pub mod start;
pub mod stop;
pub mod summary;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use machine::Machine;
