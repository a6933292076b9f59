//! Reads and validates the raw inputs and environment into [`Settings`].
//! (Validation being written; the list of names is final.)

/// Every input of action.yaml, in its order. The shell reads each with
/// `core.getInput(name)` and passes them all in `Config::inputs`.
pub const INPUT_NAMES: &[&str] = &[
    "mode",
    "name",
    "token",
    "github-token",
    "labels",
    "workdir",
    "context",
    "task-definition",
    "cluster",
    "launch-type",
    "capacity-provider-strategy",
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
];
