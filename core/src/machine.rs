//! The top-level machine: validates the inputs, then runs the start, stop or
//! reap machine the `mode` asks for.

use crate::creds::{Progress, Provider, Source};
use crate::inputs;
use crate::outbox::Outbox;
use crate::protocol::{Action, Config, Event, Millis, Next};
use crate::reap::Reap;
use crate::settings::{Mode, Settings};
use crate::start::Start;
use crate::stop::Stop;

enum Inner {
    /// Bad input or environment: the first step fails, nothing is sent.
    Invalid(String),
    /// Getting AWS credentials (role-to-assume, web identity, container,
    /// IMDS) before the mode's machine starts with them.
    Credentials(Box<Pending>),
    Start(Box<Start>),
    Stop(Box<Stop>),
    Reap(Box<Reap>),
}

/// The mode's machine, not yet built: its settings lack the credentials.
struct Pending {
    s: Settings,
    random: String,
    provider: Provider,
    out: Outbox,
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
            Ok(s) if s.credential_source != Source::Environment => {
                let provider = Provider::new(s.credential_source.clone(), &config.random);
                Inner::Credentials(Box::new(Pending {
                    out: Outbox::for_settings(&s),
                    s,
                    random: config.random.clone(),
                    provider,
                }))
            }
            Ok(s) => mode_machine(s, &config.random),
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
            Inner::Credentials(p) => {
                let progress = match event {
                    Event::Start => {
                        p.out.info(format!(
                            "Getting AWS credentials from {}",
                            p.provider.source().describe()
                        ));
                        p.provider.start(&p.s, &mut p.out, now)
                    }
                    Event::Responses { responses } => {
                        p.provider.on_responses(&p.s, &mut p.out, responses, now)
                    }
                    Event::Woke => p.provider.on_wake(&p.s, &mut p.out, now),
                    Event::Cancel { signal } => {
                        p.provider.abandon();
                        Progress::Failed(format!(
                            "Cancelled ({signal}) while getting AWS credentials; nothing was created."
                        ))
                    }
                };
                match progress {
                    Progress::Pending(next) => p.out.action(next),
                    Progress::Failed(message) => p.out.action(Next::Failed {
                        message,
                        outputs: Default::default(),
                        summary: String::new(),
                    }),
                    Progress::Ready(fetched) => {
                        // The mode starts now, with the credentials; what was
                        // said so far goes first, with every secret.
                        let mut s = p.s.clone();
                        s.credentials = fetched.credentials;
                        let random = p.random.clone();
                        let mut before = p.out.action(Next::Wait {
                            requests: Vec::new(),
                            wake_ms: None,
                        });
                        let mut mode = mode_machine(s, &random);
                        let mut action = mode.step_inner(now, Event::Start);
                        before.secrets.append(&mut action.secrets);
                        before.logs.append(&mut action.logs);
                        action.secrets = before.secrets;
                        action.logs = before.logs;
                        self.inner = mode;
                        action
                    }
                }
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

fn mode_machine(s: Settings, random: &str) -> Inner {
    match s.mode {
        Mode::Start => Inner::Start(Box::new(Start::new(s, random))),
        Mode::Stop => Inner::Stop(Box::new(Stop::new(s, random))),
        Mode::Reap => Inner::Reap(Box::new(Reap::new(s, random))),
    }
}

impl Inner {
    /// A step of a mode's machine (not of the credentials phase).
    fn step_inner(&mut self, now: Millis, event: Event) -> Action {
        match self {
            Inner::Start(m) => m.step(now, event),
            Inner::Stop(m) => m.step(now, event),
            Inner::Reap(m) => m.step(now, event),
            Inner::Invalid(_) | Inner::Credentials(_) => {
                let mut out = Outbox::new(false);
                out.action(Next::Failed {
                    message: "ecs-runner internal error: no mode to run".into(),
                    outputs: Default::default(),
                    summary: String::new(),
                })
            }
        }
    }
}

fn random_ok(r: &str) -> bool {
    r.len() >= 16 && r.bytes().all(|b| b.is_ascii_hexdigit())
}
