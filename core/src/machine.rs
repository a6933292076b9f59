//! The top-level machine: validates the inputs, gets what the mode needs
//! first (AWS credentials from the chain, a GitHub App installation
//! token), runs the start, stop or reap machine the `mode` asks for, keeps
//! temporary AWS credentials fresh while it runs, and revokes the App's
//! token before it reports the end.
//!
//! What runs before the mode (and, for AWS credentials, again while it
//! runs) is in `machine/`: `creds.rs` (AWS credentials from their source)
//! and `app.rs` (a GitHub App's installation token). They use the exchange
//! and the wire formats below, never a mode.

use crate::aws::creds::Fetched;
use crate::exchange::outbox::Outbox;
use crate::inputs;
use crate::protocol::{Action, Config, Event, Millis, Next};
use crate::reap::Reap;
use crate::settings::{AwsCredentials, Mode, Settings, Source};
use crate::start::Start;
use crate::stop::Stop;
use app::App;
use creds::Provider;

pub mod app;
pub mod creds;

enum Inner {
    /// Bad input or environment: the first step fails, nothing is sent.
    Invalid(String),
    /// Getting AWS credentials, then a GitHub App installation token,
    /// before the mode's machine starts with them.
    Prelude(Box<Prelude>),
    Mode(Box<ModeMachine>),
    /// The mode's machine is done; the App's token is being revoked before
    /// its end (`then`) is reported.
    Revoking(Box<Revoking>),
}

// Boxed as a whole in `Inner::Mode`; one lives per process.
#[allow(clippy::large_enum_variant)]
enum ModeMachine {
    Start(Start),
    Stop(Stop),
    Reap(Reap),
}

impl ModeMachine {
    fn new(s: Settings, random: &str) -> Self {
        match s.mode {
            Mode::Start => ModeMachine::Start(Start::new(s, random)),
            Mode::Stop => ModeMachine::Stop(Stop::new(s, random)),
            Mode::Reap => ModeMachine::Reap(Reap::new(s, random)),
        }
    }
    fn step(&mut self, now: Millis, event: Event) -> Action {
        match self {
            ModeMachine::Start(m) => m.step(now, event),
            ModeMachine::Stop(m) => m.step(now, event),
            ModeMachine::Reap(m) => m.step(now, event),
        }
    }
    fn set_credentials(&mut self, c: AwsCredentials) {
        match self {
            ModeMachine::Start(m) => m.set_credentials(c),
            ModeMachine::Stop(m) => m.set_credentials(c),
            ModeMachine::Reap(m) => m.set_credentials(c),
        }
    }
}

/// What the mode's machine needs before it starts.
struct Prelude {
    s: Settings,
    random: String,
    out: Outbox,
    /// The AWS credential source (None: in the settings already).
    aws: Option<Provider>,
    /// The GitHub App, once the AWS credentials are there.
    app: Option<App>,
    expires_at: Option<Millis>,
}

struct Revoking {
    app: App,
    s: Settings,
    out: Outbox,
    /// The mode's end, reported once the token is revoked.
    then: Next,
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

struct AppToken {
    token: String,
    app_id: String,
    key: String,
    s: Settings,
}

pub struct Machine {
    inner: Inner,
    refresh: Option<Refresh>,
    /// The App's installation token in use, revoked at the end.
    app_token: Option<AppToken>,
    /// The shell's random digits (the jitter of later phases).
    random: String,
    /// Secrets known from the configuration, handed out with the first action
    /// whatever happens next (even invalid input must not leak a token).
    first_secrets: Option<Vec<String>>,
}

impl Machine {
    /// Takes the inputs, environment and randomness. Never fails: bad input
    /// makes the first step answer `Next::Failed` without sending anything.
    pub fn new(config: Config) -> Self {
        let mut secrets = Vec::new();
        for key in ["token", "github-token", "app-private-key"] {
            if let Some(v) = config.inputs.get(key) {
                secrets.push(v.clone());
                // A PEM's lines are masked one by one too, but for its
                // BEGIN/END lines, which are no secret.
                if key == "app-private-key" {
                    secrets.extend(
                        v.lines()
                            .map(str::trim)
                            .filter(|l| !l.starts_with("-----") && l.len() >= 8)
                            .map(String::from),
                    );
                }
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
            Ok(s) if s.credential_source != Source::Environment || s.app.is_some() => {
                let aws = (s.credential_source != Source::Environment)
                    .then(|| Provider::new(s.credential_source.clone(), &config.random));
                Inner::Prelude(Box::new(Prelude {
                    out: Outbox::for_settings(&s),
                    s,
                    random: config.random.clone(),
                    aws,
                    app: None,
                    expires_at: None,
                }))
            }
            Ok(s) => Inner::Mode(Box::new(ModeMachine::new(s, &config.random))),
        };
        Machine {
            inner,
            refresh: None,
            app_token: None,
            random: config.random.clone(),
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
            Inner::Prelude(_) => self.step_prelude(now, event),
            Inner::Mode(m) => {
                let action = match self.refresh.as_mut() {
                    Some(r) => step_refreshing(m, r, now, event),
                    None => m.step(now, event),
                };
                self.after_mode(now, action)
            }
            Inner::Revoking(r) => {
                let progress = match event {
                    Event::Responses { responses } => {
                        r.app.on_responses(&r.s, &mut r.out, responses, now)
                    }
                    Event::Woke => r.app.on_wake(&r.s, &mut r.out, now),
                    // The token expires within the hour anyway.
                    Event::Cancel { .. } | Event::Start => app::Progress::Ready(String::new()),
                };
                match progress {
                    app::Progress::Pending(next) => r.out.action(next),
                    app::Progress::Ready(_) => {
                        r.out.detail("Revoked the GitHub App installation token");
                        r.out.action(r.then.clone())
                    }
                    app::Progress::Failed(why) => {
                        r.out.warning(format!("GitHub App: {why}"));
                        r.out.action(r.then.clone())
                    }
                }
            }
        };
        if let Some(mut first) = self.first_secrets.take() {
            first.retain(|s| !action.secrets.contains(s));
            first.append(&mut action.secrets);
            action.secrets = first;
        }
        action
    }

    /// The AWS credentials, then the App's token; then the mode's machine
    /// starts with them, and what was said so far goes first.
    fn step_prelude(&mut self, now: Millis, event: Event) -> Action {
        let Inner::Prelude(p) = &mut self.inner else {
            unreachable!("called in the prelude only");
        };
        let got = if let Some(provider) = p.aws.as_mut() {
            let progress = match event {
                Event::Start => {
                    p.out.info(format!(
                        "Getting AWS credentials from {}",
                        provider.source().describe()
                    ));
                    provider.start(&p.s, &mut p.out, now)
                }
                Event::Responses { responses } => {
                    provider.on_responses(&p.s, &mut p.out, responses, now)
                }
                Event::Woke => provider.on_wake(&p.s, &mut p.out, now),
                Event::Cancel { signal } => {
                    provider.abandon();
                    creds::Progress::Failed(format!(
                        "Cancelled ({signal}) while getting AWS credentials; nothing was created."
                    ))
                }
            };
            match progress {
                creds::Progress::Pending(next) => Got::Pending(next),
                creds::Progress::Failed(m) => Got::Failed(m),
                creds::Progress::Ready(f) => Got::Aws(f),
            }
        } else {
            let app = p.app.as_mut();
            let progress = match (app, event) {
                (None, _) => app::Progress::Ready(String::new()),
                (Some(a), Event::Start) => a.start(&p.s, &mut p.out, now),
                (Some(a), Event::Responses { responses }) => {
                    a.on_responses(&p.s, &mut p.out, responses, now)
                }
                (Some(a), Event::Woke) => a.on_wake(&p.s, &mut p.out, now),
                (Some(_), Event::Cancel { signal }) => app::Progress::Failed(format!(
                    "Cancelled ({signal}) while getting the GitHub App's token; nothing was created."
                )),
            };
            match progress {
                app::Progress::Pending(next) => Got::Pending(next),
                app::Progress::Failed(m) => Got::Failed(m),
                app::Progress::Ready(t) => Got::Token(t),
            }
        };
        let got = match got {
            Got::Aws(fetched) => {
                p.s.credentials = fetched.credentials;
                p.expires_at = fetched.expires_at;
                p.aws = None;
                match p.s.app.clone() {
                    Some((app_id, key)) => start_app(p, &app_id, &key, now),
                    None => Got::Token(String::new()),
                }
            }
            // No AWS phase: the App's starts with the step.
            Got::Token(_) if p.app.is_none() && p.s.app.is_some() => {
                let (app_id, key) = p.s.app.clone().unwrap_or_default();
                start_app(p, &app_id, &key, now)
            }
            other => other,
        };
        match got {
            Got::Pending(next) => p.out.action(next),
            Got::Failed(message) => p.out.action(Next::Failed {
                message,
                outputs: Default::default(),
                summary: String::new(),
            }),
            Got::Aws(_) => unreachable!("handled above"),
            Got::Token(token) => {
                let mut s = p.s.clone();
                if let (false, Some((app_id, key))) = (token.is_empty(), s.app.clone()) {
                    s.token = token.clone();
                    self.app_token = Some(AppToken {
                        token,
                        app_id,
                        key,
                        s: s.clone(),
                    });
                }
                let random = p.random.clone();
                if let Some(expires_at) = p.expires_at {
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
                let mut mode = ModeMachine::new(s, &random);
                let mut action = mode.step(now, Event::Start);
                before.secrets.append(&mut action.secrets);
                before.logs.append(&mut action.logs);
                action.secrets = before.secrets;
                action.logs = before.logs;
                self.inner = Inner::Mode(Box::new(mode));
                self.after_mode(now, action)
            }
        }
    }

    /// The mode's machine finished while an App token is in use: revoke it
    /// first, then report the end.
    fn after_mode(&mut self, now: Millis, mut action: Action) -> Action {
        if matches!(action.next, Next::Wait { .. }) {
            return action;
        }
        let Some(AppToken {
            token,
            app_id,
            key,
            s,
        }) = self.app_token.take()
        else {
            return action;
        };
        let mut revoker = App::new(&app_id, &key, &self.random);
        let mut out = Outbox::for_settings(&s);
        let progress = revoker.revoke(&s, &mut out, now, &token);
        let app::Progress::Pending(next) = progress else {
            return action;
        };
        let then = std::mem::replace(&mut action.next, next);
        self.inner = Inner::Revoking(Box::new(Revoking {
            app: revoker,
            s,
            out,
            then,
        }));
        action
    }
}

/// Where the prelude stands after an event.
enum Got {
    Pending(Next),
    Failed(String),
    Aws(Fetched),
    /// The App's installation token (empty: no App).
    Token(String),
}

/// Start the GitHub App's phase: sign a JWT, find the installation.
fn start_app(p: &mut Prelude, app_id: &str, key: &str, now: Millis) -> Got {
    p.out.info(format!(
        "Authenticating to GitHub as the GitHub App {app_id}"
    ));
    let mut a = App::new(app_id, key, &p.random);
    let progress = a.start(&p.s, &mut p.out, now);
    p.app = Some(a);
    match progress {
        app::Progress::Pending(next) => Got::Pending(next),
        app::Progress::Failed(m) => Got::Failed(m),
        app::Progress::Ready(t) => Got::Token(t),
    }
}

/// A step of the mode's machine while its temporary credentials are kept
/// fresh: the refresh's answers (ids from [`creds::REFRESH_IDS`]) go to the
/// provider, the rest to the machine; a refresh starts
/// [`creds::REFRESH_AHEAD_MS`] before the credentials expire, its requests
/// go out with the machine's, and its credentials replace the old ones in
/// the machine when they arrive.
fn step_refreshing(m: &mut ModeMachine, r: &mut Refresh, now: Millis, event: Event) -> Action {
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
        Some(creds::Progress::Pending(next)) => extra = Some(next),
        Some(creds::Progress::Ready(fetched)) => {
            r.provider = None;
            r.expires_at = fetched.expires_at.unwrap_or(Millis::MAX);
            r.out
                .info("Fetched fresh AWS credentials before the old ones expire");
            m.set_credentials(fetched.credentials);
        }
        Some(creds::Progress::Failed(why)) => {
            r.provider = None;
            r.not_before = now + 60_000;
            r.out.warning(format!(
                "Could not refresh the AWS credentials ({why}); trying again in a minute"
            ));
        }
        None => {}
    }
    let mut action = m.step(now, event);
    let finished = !matches!(action.next, Next::Wait { .. });
    if !finished
        && r.provider.is_none()
        && now >= r.not_before
        && now.saturating_add(creds::REFRESH_AHEAD_MS) >= r.expires_at
    {
        let mut p = Provider::refreshing(r.s.credential_source.clone(), &r.random);
        r.out.info(format!(
            "Refreshing the AWS credentials from {}",
            p.source().describe()
        ));
        match p.start(&r.s, &mut r.out, now) {
            creds::Progress::Pending(next) => {
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

fn random_ok(r: &str) -> bool {
    r.len() >= 16 && r.bytes().all(|b| b.is_ascii_hexdigit())
}
