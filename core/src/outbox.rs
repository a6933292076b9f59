//! What a machine has to say before its next [`Next`]: log lines and the
//! secrets the shell must mask first.

use crate::protocol::{Action, Level, Log, Next};
use crate::settings::Settings;

#[derive(Debug, Default)]
pub struct Outbox {
    logs: Vec<Log>,
    /// Secrets not yet handed to the shell.
    new_secrets: Vec<String>,
    /// Every secret seen so far, for [`Outbox::redact`].
    secrets: Vec<String>,
    /// `debug: true`: request and response dumps become visible log lines.
    debug: bool,
}

impl Outbox {
    pub fn new(debug: bool) -> Self {
        Outbox {
            debug,
            ..Default::default()
        }
    }

    /// The outbox of a machine running with `s`: knows the credentials in
    /// it (token, AWS secret key and session token) as secrets from the
    /// start, so they are masked before the first line and redacted from
    /// every line after.
    pub fn for_settings(s: &Settings) -> Self {
        let mut out = Outbox::new(s.debug);
        out.secret(&s.token);
        out.secret(&s.credentials.secret_access_key);
        if let Some(t) = &s.credentials.session_token {
            out.secret(t);
        }
        out
    }

    fn push(&mut self, level: Level, message: impl Into<String>) {
        // Redacted when the action is packaged, so that a secret learnt
        // later in the same step (a JIT config read from the very answer
        // being logged) is redacted too.
        self.logs.push(Log {
            level,
            message: message.into(),
        });
    }

    pub fn info(&mut self, m: impl Into<String>) {
        self.push(Level::Info, m)
    }
    pub fn warning(&mut self, m: impl Into<String>) {
        self.push(Level::Warning, m)
    }
    /// A collapsed group: its title, then each line.
    pub fn group(&mut self, title: impl Into<String>, lines: &[String]) {
        self.push(Level::Group, title);
        for line in lines {
            self.push(Level::Info, line.clone());
        }
        self.push(Level::EndGroup, "");
    }
    /// Detail: shown with `debug: true`, else only under the runner's step
    /// debug logging.
    pub fn detail(&mut self, m: impl Into<String>) {
        let level = if self.debug {
            Level::Info
        } else {
            Level::Debug
        };
        self.push(level, m)
    }

    /// Remember a secret: masked by the shell before this action's logs, and
    /// redacted from every later line we write ourselves.
    pub fn secret(&mut self, value: &str) {
        // Masking a one- or two-character value would blank out ordinary text
        // all over the log; no real credential is that short.
        if value.len() < 3 || self.secrets.iter().any(|s| s == value) {
            return;
        }
        self.secrets.push(value.to_string());
        self.new_secrets.push(value.to_string());
    }

    /// The text with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first, so a secret that contains another is replaced whole.
        let mut secrets: Vec<&String> = self.secrets.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }

    /// Package what was said with what to do next.
    pub fn action(&mut self, next: Next) -> Action {
        let logs = std::mem::take(&mut self.logs)
            .into_iter()
            .map(|l| Log {
                level: l.level,
                message: self.redact(&l.message),
            })
            .collect();
        let next = match next {
            Next::Failed {
                message,
                outputs,
                summary,
            } => Next::Failed {
                message: self.redact(&message),
                outputs,
                summary: self.redact(&summary),
            },
            other => other,
        };
        Action {
            secrets: std::mem::take(&mut self.new_secrets),
            logs,
            next,
        }
    }
}
