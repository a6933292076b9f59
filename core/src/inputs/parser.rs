//! What every concern of the inputs shares: the list of inputs, the
//! [`Parser`] that reads them (trimmed; an empty input is one not given)
//! and the problems it collects.

use std::fmt;

use crate::protocol::Config;

/// `image` and the inputs that go with it, in action.yaml's order: what the
/// task definition the action registers is made of (`task_spec.rs`).
/// `image` comes first.
pub const IMAGE_INPUTS: &[&str] = &[
    "image",
    "cpu",
    "memory",
    "architecture",
    "execution-role",
    "task-role",
    "log-group",
    "efs-id",
    "efs-path",
    "efs-access-point",
    "efs-iam",
    "ephemeral-storage",
    "command",
];

/// Every input of action.yaml, in its order. The shell reads each with
/// `core.getInput(name)` and passes them all in `Config::inputs`.
pub const INPUT_NAMES: &[&str] = &concat::<51>(&[
    &[
        "mode",
        "count",
        "name",
        "token",
        "github-token",
        "labels",
        "workdir",
        "context",
    ],
    IMAGE_INPUTS,
    &[
        "task-definition",
        "cluster",
        "launch-type",
        "capacity-provider-strategy",
        "capacity-fallback",
        "platform-version",
        "subnets",
        "subnets-tag",
        "security-groups",
        "security-groups-tag",
        "assign-public-ip",
        "container-name",
        "tags",
        "env",
        "runner-group",
        "registration",
        "timeout",
        "wait-for-registration",
        "debug",
        "task-arn",
        "runner-id",
        "max-age",
        "dry-run",
        "role-to-assume",
        "role-session-name",
        "role-duration-seconds",
        "audience",
        "default-labels",
        "app-id",
        "app-private-key",
    ],
]);

/// `parts` one after the other; `N` is their length in all (a wrong `N`
/// does not compile).
const fn concat<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(n == N, "N is not the number of inputs");
    out
}

/// One thing wrong with one input or environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The input's name as in action.yaml (`subnets`), or the environment
    /// variable's name (`AWS_REGION`) for values only the environment gives.
    pub input: String,
    /// What is wrong: the bad value (unless it may be secret) and what is
    /// allowed.
    pub message: String,
}

impl InputProblem {
    pub(super) fn new(input: &str, message: impl Into<String>) -> Self {
        InputProblem {
            input: input.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tell the user where to look: the `with:` block or the environment.
        let what = if INPUT_NAMES.contains(&self.input.as_str()) {
            "Input"
        } else {
            "Environment variable"
        };
        write!(f, "{what} '{}': {}", self.input, self.message)
    }
}

impl std::error::Error for InputProblem {}

/// Collects problems while reading one [`Config`].
pub(super) struct Parser<'a> {
    pub(super) config: &'a Config,
    pub(super) problems: Vec<InputProblem>,
}

impl<'a> Parser<'a> {
    /// The input, trimmed; empty when not given.
    pub(super) fn input(&self, name: &str) -> &'a str {
        debug_assert!(INPUT_NAMES.contains(&name), "unknown input {name}");
        self.config.inputs.get(name).map_or("", |v| v.trim())
    }

    /// The environment variable, trimmed; `None` when unset or empty.
    pub(super) fn env(&self, name: &str) -> Option<&'a str> {
        self.config
            .env
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn report(&mut self, input: &str, message: impl Into<String>) {
        self.problems.push(InputProblem::new(input, message));
    }
}

/// One message listing every problem, for the step's failure.
pub fn describe(problems: &[InputProblem]) -> String {
    let mut out = String::from("Invalid inputs; nothing was sent to AWS or GitHub:");
    for problem in problems {
        out.push_str("\n- ");
        out.push_str(&problem.to_string());
    }
    out
}
