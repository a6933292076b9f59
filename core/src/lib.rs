//! ecs-runner's core: sans-IO state machines that launch, stop and reap
//! ephemeral GitHub Actions runners on AWS ECS.
//!
//! The core never touches the network, the clock, the environment or a source
//! of randomness. A shell (the TypeScript action in `action/`) creates a
//! [`Machine`] from a [`protocol::Config`], then loops: it calls
//! [`Machine::step`] with an [`protocol::Event`] and the current time,
//! performs the [`protocol::Next`] it gets back, and reports the result as the
//! next event. See `protocol.rs` for the exact contract.

pub mod app;
pub mod aws_error;
pub mod cleanup;
pub mod creds;
pub mod ec2;
pub mod ecs;
pub mod exchange;
pub mod github;
pub mod inputs;
pub mod logs;
pub mod machine;
pub mod names;
pub mod outbox;
pub mod placeholders;
pub mod protocol;
pub mod reap;
pub mod retry;
pub mod runner_image;
pub mod settings;
pub mod sigv4;
pub mod start;
pub mod stop;
pub mod summary;
pub mod taskdef;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use machine::Machine;
