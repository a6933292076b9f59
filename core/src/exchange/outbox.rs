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
        let message: String = message.into();
        // Text from AWS or GitHub (a stopped reason, a message) may hold a
        // newline followed by what reads as a workflow command: indent such
        // lines so the Actions runner shows them instead of acting on them.
        let message = if message.contains("::") {
            message
                .split('\n')
                .map(|l| {
                    if l.starts_with("::") {
                        format!("  {l}")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            message
        };
        self.logs.push(Log { level, message });
    }

    pub fn info(&mut self, m: impl Into<String>) {
        self.push(Level::Info, m)
    }
    pub fn warning(&mut self, m: impl Into<String>) {
        self.push(Level::Warning, m)
    }
    /// A collapsed group of lines that come from elsewhere (a runner's
    /// log): its title, then each line as text. The Actions runner would
    /// act on a line that looks like a workflow command (`::error::`,
    /// `::add-mask::`, `::endgroup::`), so the lines go between
    /// `::stop-commands::{token}` and `::{token}::`, with `token` random
    /// (docs.github.com, "Workflow commands": stopping and starting
    /// workflow commands).
    pub fn group(&mut self, title: impl Into<String>, lines: &[String], token: &str) {
        self.push(Level::Group, title);
        self.logs.push(Log {
            level: Level::Info,
            message: format!("::stop-commands::{token}"),
        });
        for line in lines {
            // Not `push`: these lines are text, shown as they are.
            self.logs.push(Log {
                level: Level::Info,
                message: line.clone(),
            });
        }
        self.logs.push(Log {
            level: Level::Info,
            message: format!("::{token}::"),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_reads_as_a_workflow_command_is_shown_not_obeyed() {
        let mut out = Outbox::new(false);
        out.info("Task x stopped: stoppedReason \"bye\n::error::injected\"");
        out.group(
            "log",
            &["::add-mask::x".to_string(), "::endgroup::".to_string()],
            "0123456789abcdef",
        );
        let a = out.action(Next::Wait {
            requests: Vec::new(),
            wake_ms: None,
        });
        assert_eq!(
            a.logs[0].message,
            "Task x stopped: stoppedReason \"bye\n  ::error::injected\""
        );
        let messages: Vec<&str> = a.logs[1..].iter().map(|l| l.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "log",
                "::stop-commands::0123456789abcdef",
                "::add-mask::x",
                "::endgroup::",
                "::0123456789abcdef::",
                ""
            ]
        );
        assert_eq!(a.logs[1].level, Level::Group);
        assert_eq!(a.logs[6].level, Level::EndGroup);
    }
}
