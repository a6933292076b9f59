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

/// Temporary credentials of the chain, fetched again before they expire.
struct Refresh {
    s: Settings,
    random: String,
    expires_at: Millis,
    /// A fetch under way.
    provider: Option<Provider>,
    /// No new fetch before this (after a failed one).
    not_before: Millis,
    out: Outbox,
}

pub struct Machine {
    inner: Inner,
    refresh: Option<Refresh>,
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
            refresh: None,
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
                        if let Some(expires_at) = fetched.expires_at {
                            self.refresh = Some(Refresh {
                                s: s.clone(),
                                random: random.clone(),
                                expires_at,
                                provider: None,
                                not_before: 0,
                                out: Outbox::new(s.debug),
                            });
                        }
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
            _ => match self.refresh.as_mut() {
                Some(r) => step_refreshing(&mut self.inner, r, now, event),
                None => self.inner.step_inner(now, event),
            },
        };
        if let Some(mut first) = self.first_secrets.take() {
            first.retain(|s| !action.secrets.contains(s));
            first.append(&mut action.secrets);
            action.secrets = first;
        }
        action
    }
}

/// A step of the mode's machine while its temporary credentials are kept
/// fresh: the refresh's answers (ids from [`crate::creds::REFRESH_IDS`])
/// go to the provider, the rest to the machine; a refresh starts
/// [`crate::creds::REFRESH_AHEAD_MS`] before the credentials expire, its
/// requests go out with the machine's, and its credentials replace the old
/// ones in the machine when they arrive.
fn step_refreshing(inner: &mut Inner, r: &mut Refresh, now: Millis, event: Event) -> Action {
    use crate::creds::REFRESH_AHEAD_MS;
    let mut ours = Vec::new();
    let event = match event {
        Event::Responses { responses } => {
            let (mine, theirs): (Vec<_>, Vec<_>) =
                responses.into_iter().partition(|r| Provider::owns(r.id));
            ours = mine;
            if theirs.is_empty() {
                Event::Woke
            } else {
                Event::Responses { responses: theirs }
            }
        }
        Event::Cancel { signal } => {
            r.provider = None;
            Event::Cancel { signal }
        }
        other => other,
    };
    let mut progress = None;
    if let Some(p) = r.provider.as_mut() {
        progress = Some(if ours.is_empty() {
            p.on_wake(&r.s, &mut r.out, now)
        } else {
            p.on_responses(&r.s, &mut r.out, ours, now)
        });
    }
    // The refresh's requests and timer go out with the machine's.
    let mut extra = None;
    match progress {
        Some(Progress::Pending(next)) => extra = Some(next),
        Some(Progress::Ready(fetched)) => {
            r.provider = None;
            r.expires_at = fetched.expires_at.unwrap_or(Millis::MAX);
            r.out
                .info("Fetched fresh AWS credentials before the old ones expire");
            inner.set_credentials(fetched.credentials);
        }
        Some(Progress::Failed(why)) => {
            r.provider = None;
            r.not_before = now + 60_000;
            r.out.warning(format!(
                "Could not refresh the AWS credentials ({why}); trying again in a minute"
            ));
        }
        _ => {}
    }
    let mut action = inner.step_inner(now, event);
    let finished = !matches!(action.next, Next::Wait { .. });
    if !finished
        && r.provider.is_none()
        && now >= r.not_before
        && now.saturating_add(REFRESH_AHEAD_MS) >= r.expires_at
    {
        let mut p = Provider::refreshing(r.s.credential_source.clone(), &r.random);
        r.out.info(format!(
            "Refreshing the AWS credentials from {}",
            p.source().describe()
        ));
        match p.start(&r.s, &mut r.out, now) {
            Progress::Pending(next) => {
                r.provider = Some(p);
                extra = Some(next);
            }
            _ => r.not_before = now + 60_000,
        }
    }
    let said = r.out.action(Next::Wait {
        requests: Vec::new(),
        wake_ms: None,
    });
    let mut secrets = said.secrets;
    secrets.append(&mut action.secrets);
    action.secrets = secrets;
    let mut logs = said.logs;
    logs.append(&mut action.logs);
    action.logs = logs;
    if let (
        Next::Wait { requests, wake_ms },
        Some(Next::Wait {
            requests: more,
            wake_ms: their_wake,
        }),
    ) = (&mut action.next, extra.take())
    {
        requests.extend(more);
        *wake_ms = match (*wake_ms, their_wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    action
}

fn mode_machine(s: Settings, random: &str) -> Inner {
    match s.mode {
        Mode::Start => Inner::Start(Box::new(Start::new(s, random))),
        Mode::Stop => Inner::Stop(Box::new(Stop::new(s, random))),
        Mode::Reap => Inner::Reap(Box::new(Reap::new(s, random))),
    }
}

impl Inner {
    fn set_credentials(&mut self, c: crate::settings::AwsCredentials) {
        match self {
            Inner::Start(m) => m.set_credentials(c),
            Inner::Stop(m) => m.set_credentials(c),
            Inner::Reap(m) => m.set_credentials(c),
            Inner::Invalid(_) | Inner::Credentials(_) => {}
        }
    }

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
