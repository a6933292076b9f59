//! The top-level machine: validates the inputs, then runs the start, stop or
//! reap machine the `mode` asks for.

use crate::inputs;
use crate::outbox::Outbox;
use crate::protocol::{Action, Config, Event, Millis, Next};
use crate::reap::Reap;
use crate::settings::Mode;
use crate::start::Start;
use crate::stop::Stop;

enum Inner {
    /// Bad input or environment: the first step fails, nothing is sent.
    Invalid(String),
    Start(Box<Start>),
    Stop(Box<Stop>),
    Reap(Box<Reap>),
}

pub struct Machine {
    inner: Inner,
    /// Secrets known from the configuration, handed out with the first action
    /// whatever happens next (even invalid input must not leak a token).
    first_secrets: Option<Vec<String>>,
}

impl Machine {
    /// Takes the inputs, environment and randomness. Never fails: bad input
    /// makes the first step answer `Next::Failed` without sending anything.
    pub fn new(config: Config) -> Self {
        let mut secrets = Vec::new();
        for key in ["token", "github-token"] {
            if let Some(v) = config.inputs.get(key) {
                secrets.push(v.clone());
            }
        }
        for key in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
            if let Some(v) = config.env.get(key) {
                secrets.push(v.clone());
            }
        }
        secrets.retain(|s| s.len() >= 3);
        let inner = match inputs::parse(&config) {
            Err(problems) => Inner::Invalid(inputs::describe(&problems)),
            Ok(_) if !random_ok(&config.random) => Inner::Invalid(
                "ecs-runner internal error: the shell passed no randomness (need at least 16 hex digits)".into(),
            ),
            Ok(s) => match s.mode {
                Mode::Start => Inner::Start(Box::new(Start::new(s, &config.random))),
                Mode::Stop => Inner::Stop(Box::new(Stop::new(s, &config.random))),
                Mode::Reap => Inner::Reap(Box::new(Reap::new(s, &config.random))),
            },
        };
        Machine {
            inner,
            first_secrets: Some(secrets),
        }
    }

    /// Feed one event and the current time; get what to do next.
    pub fn step(&mut self, now: Millis, event: Event) -> Action {
        let mut action = match &mut self.inner {
            Inner::Invalid(message) => {
                let mut out = Outbox::new(false);
                out.action(Next::Failed {
                    message: message.clone(),
                    outputs: Default::default(),
                    summary: String::new(),
                })
            }
            Inner::Start(m) => m.step(now, event),
            Inner::Stop(m) => m.step(now, event),
            Inner::Reap(m) => m.step(now, event),
        };
        if let Some(mut first) = self.first_secrets.take() {
            first.retain(|s| !action.secrets.contains(s));
            first.append(&mut action.secrets);
            action.secrets = first;
        }
        action
    }
}

fn random_ok(r: &str) -> bool {
    r.len() >= 16 && r.bytes().all(|b| b.is_ascii_hexdigit())
}
