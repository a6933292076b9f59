//! The top-level machine: picks the start, stop or reap machine by mode.

use crate::protocol::{Action, Config, Event, Millis, Next};

pub struct Machine {
    config: Config,
}

impl Machine {
    /// Takes the inputs, environment and randomness. Never fails: bad input
    /// makes the first step answer `Next::Failed` without sending anything.
    pub fn new(config: Config) -> Self {
        Machine { config }
    }

    /// Feed one event and the current time; get what to do next.
    pub fn step(&mut self, _now: Millis, _event: Event) -> Action {
        let _ = &self.config;
        Action {
            secrets: vec![],
            logs: vec![],
            next: Next::Failed {
                message: "not implemented yet".into(),
                outputs: Default::default(),
                summary: String::new(),
            },
        }
    }
}
