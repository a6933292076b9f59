//! Reads and validates the raw inputs and environment into [`Settings`].
//!
//! [`parse`] checks every input and every environment variable it uses before
//! it answers, and reports all problems together: a user who fixes one typo
//! should not have to re-run the workflow to learn about the next one. Nothing
//! here talks to AWS or GitHub, so a bad configuration never leaves a
//! half-started runner behind.
//!
//! Rules the brief left open, decided here (and mirrored in `action.yaml`):
//! - Problems with an environment variable the action reads directly
//!   (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `GITHUB_API_URL`, ...) carry the
//!   variable's name and print as "Environment variable 'X': ...". Problems
//!   with a fallback (`ECS_CLUSTER_NAME`, `ECS_SUBNETS`,
//!   `ECS_SECURITY_GROUPS`, `GITHUB_REPOSITORY` for `context`) carry the
//!   input's name, and the message names the variable the value came from.
//! - Checks that depend on the mode (subnets for Fargate, `GITHUB_RUN_ID`,
//!   the task definition defaulted from `name`) run only in start mode, and
//!   are skipped when `mode` itself is invalid, so a typo in `mode` does not
//!   bury the one real problem under start-only noise.
//! - Values that may be secret (the token, AWS keys, `env` values) never
//!   appear in a message; every other bad value is quoted, cut to
//!   [`SHOWN_VALUE_MAX`] characters.
//! - Subnet and security group ids repeated in a list are kept once;
//!   repeated capacity providers, tag keys and `env` keys are errors (ECS
//!   rejects the first two, and for the last one value would silently win).
//!
//! May use: `settings` (what it builds), `placeholders`, `runner_image`
//! and the task definition's rules (`aws::taskdef`). Nothing here
//! sends anything or knows a machine.

use std::collections::BTreeSet;
use std::fmt;

use crate::aws::taskdef;
use crate::placeholders;
use crate::protocol::Config;
use crate::runner_image;
use crate::settings::{
    Arch, AwsCredentials, CapacityProvider, Endpoints, Lookup, Mode, Placement, Registration,
    RunContext, Scope, Settings, Source, TaskSpec, DEFAULT_RUNNER_GROUP,
};

/// Every input of action.yaml, in its order. The shell reads each with
/// `core.getInput(name)` and passes them all in `Config::inputs`.
pub const INPUT_NAMES: &[&str] = &[
    "mode",
    "count",
    "name",
    "token",
    "github-token",
    "labels",
    "workdir",
    "context",
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
];

/// `name` when not given (major0/gh-ecs-runner's default).
pub const DEFAULT_NAME: &str = "github-ecs-runner";
/// `workdir` when not given (major0/gh-ecs-runner's default).
pub const DEFAULT_WORKDIR: &str = "_workdir";
/// `cluster` when neither the input nor `ECS_CLUSTER_NAME` is set: the cluster
/// ECS itself uses when a request names none.
pub const DEFAULT_CLUSTER: &str = "default";
/// The launch type when neither `launch-type` nor `capacity-provider-strategy`
/// is given.
pub const DEFAULT_LAUNCH_TYPE: &str = "FARGATE";
/// `timeout` when not given, in seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 600;
/// Largest `timeout`: a day, longer than any job a hosted workflow may run.
pub const MAX_TIMEOUT_S: u64 = 86_400;
/// `max-age` when not given, in minutes.
pub const DEFAULT_MAX_AGE_MIN: u64 = 60;
/// What each environment variable the chain looks at means, for the error
/// when none gave anything.
pub const TRIED: &str = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (e.g. from \
aws-actions/configure-aws-credentials), `role-to-assume` (GitHub OIDC; the job needs \
`permissions: id-token: write`), AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (EKS), \
AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI (ECS), and the EC2 instance \
metadata (skipped: AWS_EC2_METADATA_DISABLED=true)";

/// Longest `name`: it prefixes the runner name, which also carries the run id,
/// attempt and a random part.
pub const MAX_NAME_LEN: usize = 32;
/// GitHub accepts at most 100 labels per runner (generate-jitconfig).
pub const MAX_LABELS: usize = 100;
/// ECS allows 50 tags per task and the action adds 6 `ecs-runner:` tags.
pub const MAX_USER_TAGS: usize = 44;
/// ECS: at most 20 capacity providers in one strategy.
pub const MAX_CAPACITY_PROVIDERS: usize = 20;
/// ECS awsvpcConfiguration: at most 16 subnets and 5 security groups.
pub const MAX_SUBNETS: usize = 16;
pub const MAX_SECURITY_GROUPS: usize = 5;
/// Largest `count`: DescribeTasks looks at 100 tasks per call, and a step
/// that waits for more runners than that is better split.
pub const MAX_COUNT: usize = 100;
/// Most tasks `task-arn` may name (a fleet's `task_arns`).
pub const MAX_TASK_ARNS: usize = 100;
/// Longest quoted value in a message, in characters.
pub const SHOWN_VALUE_MAX: usize = 80;

/// Container environment variables the action sets itself (behaviour.md,
/// "The runner container"); a user value would silently replace or clash
/// with the registration.
pub const RESERVED_ENV: &[&str] = &[
    "ACTIONS_RUNNER_INPUT_JITCONFIG",
    "RUNNER_TOKEN",
    "RUNNER_URL",
    "RUNNER_NAME",
    "RUNNER_LABELS",
    "RUNNER_WORKDIR",
    "RUNNER_GROUP",
];

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
    fn new(input: &str, message: impl Into<String>) -> Self {
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

/// One message listing every problem, for the step's failure.
pub fn describe(problems: &[InputProblem]) -> String {
    let mut out = String::from("Invalid inputs; nothing was sent to AWS or GitHub:");
    for problem in problems {
        out.push_str("\n- ");
        out.push_str(&problem.to_string());
    }
    out
}

/// Validates `config.inputs` (each input of [`INPUT_NAMES`]; a missing key is
/// the same as empty) and the parts of `config.env` the action uses.
///
/// Per input (empty = not given; defaults equal action.yaml's):
/// - `mode`: `start`, `stop` or `reap`, any case; default `start`.
/// - `name`: 1..=32 of `A-Za-z0-9._-`, starting with a letter or digit;
///   default `github-ecs-runner`.
/// - `token` / `github-token`: two names for one input; exactly one value is
///   required in every mode (both given with different values is an error).
///   It may not contain whitespace or control characters (it goes into an
///   HTTP header). Never quoted in a message.
/// - `labels`: a list (commas, spaces or newlines); each 1..=100 characters;
///   with the labels the action adds (`self-hosted`, `Linux`, the arch,
///   `ephemeral`, `name`, the runner id; duplicates counted once, any case)
///   at most 100 in all. Kept in the order given.
/// - `workdir`: default `_workdir`; no control characters (newlines).
/// - `context`: `owner/repo` or `org`; owner/org 1..=100 of `A-Za-z0-9_-`
///   starting with a letter or digit, repo 1..=100 of `A-Za-z0-9._-` and not
///   `.` or `..`. Default `GITHUB_REPOSITORY`.
/// - `task-definition`: `family`, `family:revision` or a task definition ARN
///   with a revision; family 1..=255 of `A-Za-z0-9_-`. Default `name` (start
///   mode reports a `name` that is not a valid family).
/// - `cluster`: a name (1..=255 of `A-Za-z0-9_-`) or a cluster ARN; else
///   `ECS_CLUSTER_NAME`, else `default`.
/// - `launch-type`: `FARGATE`, `EC2` or `EXTERNAL`, any case (stored upper
///   case). `capacity-provider-strategy`: a list of `provider[:weight[:base]]`,
///   weight 0..=1000, base 0..=100000, at most 20 entries, one base, no
///   provider twice. Not both; neither means launch type `FARGATE`.
/// - `platform-version`: `LATEST` (any case) or `N.N.N`.
/// - `subnets` (ids `subnet-` + 8 or 17 lower-case hex, at most 16) or
///   `subnets-tag` (`key:value`, split at the first `:`, both parts trimmed,
///   key 1..=127 and value 0..=255 characters), not both; neither falls back
///   to `ECS_SUBNETS` (ids). The same for `security-groups` (`sg-` ids, at
///   most 5), `security-groups-tag` and `ECS_SECURITY_GROUPS`. In start mode
///   with Fargate (launch type or a `FARGATE`/`FARGATE_SPOT` provider)
///   subnets are required.
/// - `assign-public-ip`: `ENABLED`, `DISABLED`, `true`, `false`, any case;
///   default `DISABLED`.
/// - `container-name`: 1..=255 of `A-Za-z0-9_-`.
/// - `tags`: a list of `key=value` (split at the first `=`); key 1..=128 and
///   value 0..=256 characters of letters, digits and `+-=._:/@`; key not
///   starting with `aws:` or `ecs-runner:` (any case); no key twice; at most
///   44.
/// - `env`: `KEY=VALUE` lines; each line trimmed, blank lines and `#` lines
///   skipped; the value is everything after the first `=`; KEY matches
///   `[A-Za-z_][A-Za-z0-9_]*`, is not one the action sets (`RESERVED_ENV`)
///   and not given twice. Values are never quoted in a message.
/// - `runner-group`: a positive integer; default 1.
/// - `registration`: `jit` or `token`, any case; default `jit`.
/// - `timeout`: whole seconds 1..=86400; default 600.
/// - `wait-for-registration`, `debug`, `dry-run`: `true|True|TRUE|false|False|FALSE`
///   (as `core.getBooleanInput`); default false. `RUNNER_DEBUG=1` turns
///   `debug` on too.
/// - `task-arn`: an ECS task ARN or a task id (1..=255 of `A-Za-z0-9-`).
/// - `runner-id`: 1..=64 of `A-Za-z0-9._-`.
/// - `max-age`: whole minutes, 0 or more; default 60.
///
/// Environment: region from `AWS_REGION`, else `AWS_DEFAULT_REGION`
/// (required, shaped like `us-west-2`); `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY` required, `AWS_SESSION_TOKEN` optional; endpoints
/// `AWS_ENDPOINT_URL_ECS` / `AWS_ENDPOINT_URL_EC2`, else `AWS_ENDPOINT_URL`,
/// else the regional AWS endpoint (`http(s)://` URLs, trailing `/` dropped);
/// `GITHUB_API_URL` and `GITHUB_SERVER_URL` likewise; `GITHUB_RUN_ID`
/// (required in start mode, 1..=20 of `A-Za-z0-9_-`), `GITHUB_RUN_ATTEMPT`
/// (a positive integer, default 1), `RUNNER_ARCH` (default `X64`, must be a
/// valid label). Empty variables count as unset; values are trimmed.
pub fn parse(config: &Config) -> Result<Settings, Vec<InputProblem>> {
    let mut p = Parser {
        config,
        problems: Vec::new(),
    };

    let mode = p.mode();
    // Start-only checks run only when the mode is known to be start.
    let starting = mode == Some(Mode::Start);

    let count = p.count();
    let name = p.name();
    // With an App (even half given, which `app` reports) no token is asked.
    let app_given = !p.input("app-id").is_empty() || !p.input("app-private-key").is_empty();
    let app = p.app();
    let token = if app_given {
        p.no_token_with_app(app.is_some())
    } else {
        p.token()
    };
    let arch = p.arch();
    let labels = p.labels(&name, &arch, count);
    let workdir = p.workdir();
    let scope = p.scope();
    let task_definition = p.task_definition(&name, starting);
    let cluster = p.cluster();
    let placement = p.placement();
    let capacity_fallback = p.capacity_fallback(placement.as_ref());
    let task_spec = p.task_spec(placement.as_ref(), capacity_fallback.as_ref());
    let fargate_reported = starting && placement.as_ref().is_some_and(uses_fargate);
    let platform_version = p.platform_version();
    let subnets = p.lookup(&SUBNETS);
    let security_groups = p.lookup(&SECURITY_GROUPS);
    // A bad `subnets` or `subnets-tag` is reported already: not "missing" too.
    let subnets_reported = p
        .problems
        .iter()
        .any(|x| x.input == "subnets" || x.input == "subnets-tag" || x.input == "ECS_SUBNETS");
    if starting
        && !subnets_reported
        && subnets == Lookup::None
        && placement.as_ref().is_some_and(uses_fargate)
    {
        p.report(
            "subnets",
            "Fargate tasks use the awsvpc network mode and need subnets: set `subnets` \
             (subnet ids) or `subnets-tag` (key:value to look them up by), or the \
             ECS_SUBNETS environment variable",
        );
    }
    if starting
        && !subnets_reported
        && subnets == Lookup::None
        && task_spec.is_some()
        && !fargate_reported
        && !placement.as_ref().is_some_and(taskdef::is_external)
    {
        p.report(
            "subnets",
            "the task definition the action registers for `image` uses the awsvpc network \
             mode and needs subnets: set `subnets` or `subnets-tag`, or ECS_SUBNETS",
        );
    }
    let assign_public_ip = p.assign_public_ip();
    let container_name = p.container_name();
    let tags = p.tags();
    let env = p.env_lines();
    let (runner_group, runner_group_name) = p.runner_group(scope.as_ref());
    let registration = p.registration();
    let timeout_s = p.timeout();
    let wait_for_registration = p.boolean("wait-for-registration");
    let debug = p.boolean("debug") || p.env("RUNNER_DEBUG") == Some("1");
    let default_labels = match p.input("default-labels") {
        "" => true,
        _ => p.boolean("default-labels"),
    };
    let task_arns = p.task_arns();
    let runner_id = p.runner_id();
    let max_age_min = p.max_age();
    let dry_run = p.boolean("dry-run");

    let region = p.region();
    let (credentials, credential_source) = p.credentials(&run_id_for_session(config));
    let endpoints = p.endpoints(&region);
    let github_api_url = p.url("GITHUB_API_URL", "https://api.github.com");
    // The runners' architecture label follows the task's when the action
    // registers it.
    let arch = match &task_spec {
        Some(spec) => spec.arch.label().to_string(),
        None => arch,
    };
    let run = p.run_context(starting, arch);

    if !p.problems.is_empty() {
        return Err(p.problems);
    }
    let settings = Settings {
        // Every `None` below has recorded a problem, so these defaults are
        // never used; they only spare an unwrap.
        mode: mode.unwrap_or(Mode::Start),
        count,
        name,
        token,
        app,
        labels,
        workdir,
        scope: scope.unwrap_or(Scope::Org { org: String::new() }),
        task_definition,
        cluster,
        placement: placement.unwrap_or(Placement::LaunchType(DEFAULT_LAUNCH_TYPE.into())),
        capacity_fallback,
        task_spec,
        platform_version,
        subnets,
        security_groups,
        assign_public_ip,
        container_name,
        tags,
        env,
        runner_group,
        runner_group_name,
        registration,
        timeout_s,
        wait_for_registration,
        debug,
        default_labels,
        task_arns,
        runner_id,
        max_age_min,
        dry_run,
        region,
        credentials,
        credential_source,
        endpoints,
        github_api_url,
        run,
    };
    let late = if starting {
        per_runner_limits(&settings)
    } else {
        Vec::new()
    };
    if !late.is_empty() {
        return Err(late);
    }
    Ok(settings)
}

/// What the inputs make for each runner, checked against the runner's and
/// ECS's limits once the run is known (its id, attempt, job and repository
/// are in the names and the placeholders' values): the runner names
/// (64 characters), the tags after their placeholders are expanded (values
/// up to 256), and RunTask's 8192-character overrides with room kept for
/// the credential GitHub has not handed out yet.
fn per_runner_limits(s: &Settings) -> Vec<InputProblem> {
    let mut problems = Vec::new();
    let longest = runner_image::longest_values(s);
    let name_chars = longest.runner_name.chars().count();
    if name_chars > runner_image::MAX_NAME_CHARS {
        let extra = name_chars - s.name.chars().count();
        problems.push(InputProblem::new(
            "name",
            format!(
                "{} makes runner names of {name_chars} characters in this run (e.g. {}), and \
                 GitHub's runner allows {}; use a name of at most {} characters",
                show(&s.name),
                longest.runner_name,
                runner_image::MAX_NAME_CHARS,
                runner_image::MAX_NAME_CHARS.saturating_sub(extra)
            ),
        ));
    }
    for (key, value) in &s.tags {
        let expanded = placeholders::expand(value, &longest);
        let chars = expanded.chars().count();
        if chars > 256 {
            problems.push(InputProblem::new(
                "tags",
                format!(
                    "tag {}: its value is {chars} characters once its placeholders are \
                     expanded in this run; ECS allows 256",
                    show(key)
                ),
            ));
        }
    }
    let (container, command) = match &s.task_spec {
        Some(spec) => {
            let stock = runner_image::is_stock_command(&[], &spec.command);
            let command = (s.registration == Registration::Token && stock)
                .then(|| runner_image::configure_then_run(s.default_labels));
            (taskdef::CONTAINER.to_string(), command)
        }
        // Checked again with the definition's container once it is read.
        None => (s.container_name.clone().unwrap_or_default(), None),
    };
    let reserved = runner_image::reserved_overrides_chars(s, &container, command.as_deref());
    if reserved > runner_image::MAX_OVERRIDES_CHARS {
        problems.push(InputProblem::new(
            "env",
            format!(
                "the runner container's overrides would reach {reserved} characters with the \
                 runner's credential (up to {} kept for it); ECS RunTask allows {}: shorten \
                 `env` (see the README's limits)",
                runner_image::CREDENTIAL_RESERVE_CHARS,
                runner_image::MAX_OVERRIDES_CHARS
            ),
        ));
    }
    problems
}

const MISSING_TOKEN: &str = "no token given (set `token` or its alias `github-token`). \
The workflow's own GITHUB_TOKEN cannot create self-hosted runners: pass a personal \
access token (fine-grained: repository permission \"Administration: write\", or for an \
organization context the organization permission \"Self-hosted runners: write\"; \
classic: the `repo` scope, or `admin:org` for an organization) or a GitHub App \
installation token with those permissions, e.g. `token: ${{ secrets.RUNNER_ADMIN_TOKEN }}`";

/// The inputs and variables behind one [`Lookup`] (subnets or security groups).
struct LookupSpec {
    ids_input: &'static str,
    tag_input: &'static str,
    env: &'static str,
    prefix: &'static str,
    what: &'static str,
    max: usize,
}

const SUBNETS: LookupSpec = LookupSpec {
    ids_input: "subnets",
    tag_input: "subnets-tag",
    env: "ECS_SUBNETS",
    prefix: "subnet-",
    what: "subnet",
    max: MAX_SUBNETS,
};

const SECURITY_GROUPS: LookupSpec = LookupSpec {
    ids_input: "security-groups",
    tag_input: "security-groups-tag",
    env: "ECS_SECURITY_GROUPS",
    prefix: "sg-",
    what: "security group",
    max: MAX_SECURITY_GROUPS,
};

/// Collects problems while reading one [`Config`].
struct Parser<'a> {
    config: &'a Config,
    problems: Vec<InputProblem>,
}

impl<'a> Parser<'a> {
    /// The input, trimmed; empty when not given.
    fn input(&self, name: &str) -> &'a str {
        debug_assert!(INPUT_NAMES.contains(&name), "unknown input {name}");
        self.config.inputs.get(name).map_or("", |v| v.trim())
    }

    /// The environment variable, trimmed; `None` when unset or empty.
    fn env(&self, name: &str) -> Option<&'a str> {
        self.config
            .env
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn report(&mut self, input: &str, message: impl Into<String>) {
        self.problems.push(InputProblem::new(input, message));
    }

    fn mode(&mut self) -> Option<Mode> {
        let raw = self.input("mode");
        match raw.to_ascii_lowercase().as_str() {
            "" | "start" => Some(Mode::Start),
            "stop" => Some(Mode::Stop),
            "reap" => Some(Mode::Reap),
            _ => {
                self.report(
                    "mode",
                    format!("{} is not a mode; use start, stop or reap", show(raw)),
                );
                None
            }
        }
    }

    fn name(&mut self) -> String {
        let raw = self.input("name");
        if raw.is_empty() {
            return DEFAULT_NAME.to_string();
        }
        let starts_ok = raw.starts_with(|c: char| c.is_ascii_alphanumeric());
        let chars_ok = raw.chars().all(|c| is_ecs_name_char(c) || c == '.');
        if raw.len() > MAX_NAME_LEN || !starts_ok || !chars_ok {
            self.report(
                "name",
                format!(
                    "{} is not a valid name; use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' \
                     or '-', starting with a letter or digit",
                    show(raw)
                ),
            );
        }
        raw.to_string()
    }

    /// `app-id` with `app-private-key`: a GitHub App instead of a token.
    fn app(&mut self) -> Option<(String, String)> {
        let id = self.input("app-id");
        let key = self.input("app-private-key");
        match (id.is_empty(), key.is_empty()) {
            (true, true) => return None,
            (false, true) => {
                self.report("app-private-key", "is needed with `app-id`: the App's private key (PEM), e.g. `${{ secrets.RUNNER_APP_KEY }}`");
                return None;
            }
            (true, false) => {
                self.report(
                    "app-id",
                    "is needed with `app-private-key`: the App's numeric id (App settings → About)",
                );
                return None;
            }
            (false, false) => {}
        }
        if !is_digits(id) || id.len() > 20 {
            self.report(
                "app-id",
                format!("{} is not an App id; use the App's numeric id", show(id)),
            );
        }
        let pem = key.contains("-----BEGIN RSA PRIVATE KEY-----")
            || key.contains("-----BEGIN PRIVATE KEY-----");
        if !pem {
            self.report(
                "app-private-key",
                "is not a PEM private key (not shown): pass the .pem file GitHub generated for the App, \
                 which starts with -----BEGIN RSA PRIVATE KEY----- (PKCS#1) or -----BEGIN PRIVATE KEY----- (PKCS#8)",
            );
        }
        Some((id.to_string(), key.to_string()))
    }

    /// With a GitHub App (`full`: both its inputs given), `token` must not be
    /// given too; half an App is reported as that alone.
    fn no_token_with_app(&mut self, full: bool) -> String {
        if full && (!self.input("token").is_empty() || !self.input("github-token").is_empty()) {
            self.report(
                "token",
                "`token` and `app-id` are both given; authenticate with one: a token, or the GitHub App",
            );
        }
        String::new()
    }

    fn token(&mut self) -> String {
        let token = self.input("token");
        let alias = self.input("github-token");
        let (input, value) = match (token.is_empty(), alias.is_empty()) {
            (true, true) => {
                self.report("token", MISSING_TOKEN);
                return String::new();
            }
            (false, true) => ("token", token),
            (true, false) => ("github-token", alias),
            (false, false) => {
                if token != alias {
                    self.report(
                        "token",
                        "`token` and `github-token` are both given, with different values \
                         (not shown); they are two names for the same input, give only one",
                    );
                }
                ("token", token)
            }
        };
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.report(
                input,
                "the token (not shown) contains whitespace or control characters; \
                 pass the token alone, e.g. `${{ secrets.RUNNER_ADMIN_TOKEN }}`",
            );
        }
        value.to_string()
    }

    /// `RUNNER_ARCH` is read early: it is one of the labels counted below.
    fn arch(&mut self) -> String {
        let arch = self.env("RUNNER_ARCH").unwrap_or("X64");
        if arch.chars().count() > 100 || arch.chars().any(|c| c == ',' || c.is_whitespace()) {
            self.report(
                "RUNNER_ARCH",
                format!(
                    "{} cannot be a runner label; expected X64, ARM64 or ARM",
                    show(arch)
                ),
            );
        }
        arch.to_string()
    }

    fn count(&mut self) -> usize {
        let raw = self.input("count");
        if raw.is_empty() {
            return 1;
        }
        match parse_uint(raw) {
            Some(n) if (1..=MAX_COUNT as u64).contains(&n) => n as usize,
            _ => {
                self.report(
                    "count",
                    format!(
                        "{} is not allowed; use a whole number of runners from 1 to {MAX_COUNT}",
                        show(raw)
                    ),
                );
                1
            }
        }
    }

    fn labels(&mut self, name: &str, arch: &str, count: usize) -> Vec<String> {
        let labels: Vec<String> = split_list(self.input("labels"))
            .into_iter()
            .map(str::to_string)
            .collect();
        for label in &labels {
            if label.chars().count() > runner_image::MAX_LABEL_CHARS {
                self.report(
                    "labels",
                    format!(
                        "label {} is longer than {} characters (the runner's limit)",
                        show(label),
                        runner_image::MAX_LABEL_CHARS
                    ),
                );
            }
        }
        // GitHub counts labels after removing duplicates, and behaviour.md
        // drops case-insensitive duplicates; the runner id is unique.
        let distinct: BTreeSet<String> = ["self-hosted", "Linux", arch, "ephemeral", name]
            .into_iter()
            .chain(labels.iter().map(String::as_str))
            .map(str::to_ascii_lowercase)
            .collect();
        // A fleet's runners also carry their own names.
        let own = if count > 1 { 2 } else { 1 };
        let total = distinct.len() + own;
        if total > MAX_LABELS {
            self.report(
                "labels",
                format!(
                    "{} labels given; with the ones the action adds (self-hosted, Linux, \
                     {arch}, ephemeral, the name and the runner id{}) that makes {total}, \
                     and GitHub allows at most {MAX_LABELS}",
                    labels.len(),
                    if count > 1 {
                        ", and with count above 1 each runner's name"
                    } else {
                        ""
                    }
                ),
            );
        }
        labels
    }

    fn workdir(&mut self) -> String {
        let raw = self.input("workdir");
        if raw.is_empty() {
            return DEFAULT_WORKDIR.to_string();
        }
        if raw.chars().any(char::is_control) {
            self.report(
                "workdir",
                format!(
                    "{} contains a newline or control character; give one path",
                    show(raw)
                ),
            );
        }
        raw.to_string()
    }

    fn scope(&mut self) -> Option<Scope> {
        let raw = self.input("context");
        let (value, origin) = if !raw.is_empty() {
            (raw, "")
        } else if let Some(repo) = self.env("GITHUB_REPOSITORY") {
            (repo, " (from GITHUB_REPOSITORY, as `context` is empty)")
        } else {
            self.report(
                "context",
                "no context given and GITHUB_REPOSITORY is not set; set `context` to \
                 owner/repo (repository runners) or an organization name",
            );
            return None;
        };
        let scope = parse_scope(value);
        if scope.is_none() {
            self.report(
                "context",
                format!(
                    "{}{origin} is neither owner/repo nor an organization name; owner and \
                     organization use letters, digits, '_' and '-', the repository also '.'",
                    show(value)
                ),
            );
        }
        scope
    }

    fn task_definition(&mut self, name: &str, starting: bool) -> String {
        let raw = self.input("task-definition");
        if !raw.is_empty() && !self.input("image").is_empty() {
            self.report(
                "task-definition",
                "`task-definition` and `image` are both given; use your own task definition, \
                 or `image` and let the action register one (family = `name`)",
            );
        }
        if raw.is_empty() {
            // Only start mode runs a task; a `name` with a '.' is fine for
            // stop and reap. An invalid `name` is reported once, as `name`.
            let name_ok = name.chars().all(|c| is_ecs_name_char(c) || c == '.');
            if starting && name_ok && !is_family(name) {
                self.report(
                    "task-definition",
                    format!(
                        "not given, so it defaults to `name` {}, which is not a task \
                         definition family (letters, digits, '_' and '-'); set \
                         `task-definition`",
                        show(name)
                    ),
                );
            }
            return name.to_string();
        }
        let ok = match raw.strip_prefix("arn:") {
            Some(_) => parse_ecs_arn(raw)
                .and_then(|resource| resource.strip_prefix("task-definition/"))
                .is_some_and(is_family_revision),
            None => match raw.split_once(':') {
                Some(_) => is_family_revision(raw),
                None => is_family(raw),
            },
        };
        if !ok {
            self.report(
                "task-definition",
                format!(
                    "{} is not a task definition; use family, family:revision or \
                     arn:aws:ecs:REGION:ACCOUNT:task-definition/family:revision (family: 1 to \
                     255 letters, digits, '_' or '-'; revision: a positive integer)",
                    show(raw)
                ),
            );
        }
        raw.to_string()
    }

    fn cluster(&mut self) -> String {
        let raw = self.input("cluster");
        let (value, origin) = if !raw.is_empty() {
            (raw, "")
        } else if let Some(env) = self.env("ECS_CLUSTER_NAME") {
            (env, " (from ECS_CLUSTER_NAME, as `cluster` is empty)")
        } else {
            return DEFAULT_CLUSTER.to_string();
        };
        let ok = if value.starts_with("arn:") {
            parse_ecs_arn(value)
                .and_then(|resource| resource.strip_prefix("cluster/"))
                .is_some_and(is_ecs_name)
        } else {
            is_ecs_name(value)
        };
        if !ok {
            self.report(
                "cluster",
                format!(
                    "{}{origin} is not a cluster; use a name (1 to 255 letters, digits, '_' \
                     or '-') or arn:aws:ecs:REGION:ACCOUNT:cluster/NAME",
                    show(value)
                ),
            );
        }
        value.to_string()
    }

    fn placement(&mut self) -> Option<Placement> {
        let launch_type = self.input("launch-type");
        let strategy = self.input("capacity-provider-strategy");
        if !launch_type.is_empty() && !strategy.is_empty() {
            self.report(
                "launch-type",
                "`launch-type` and `capacity-provider-strategy` are both given; ECS takes one \
                 or the other (e.g. FARGATE_SPOT needs capacity-provider-strategy alone)",
            );
        }
        let launch = if launch_type.is_empty() {
            None
        } else {
            let upper = launch_type.to_ascii_uppercase();
            if matches!(upper.as_str(), "FARGATE" | "EC2" | "EXTERNAL") {
                Some(Placement::LaunchType(upper))
            } else {
                self.report(
                    "launch-type",
                    format!(
                        "{} is not a launch type; use FARGATE, EC2 or EXTERNAL (for \
                         FARGATE_SPOT use capacity-provider-strategy)",
                        show(launch_type)
                    ),
                );
                return None;
            }
        };
        let providers = if strategy.is_empty() {
            None
        } else {
            Some(self.capacity_providers(strategy)?)
        };
        Some(match (launch, providers) {
            (Some(launch), _) => launch,
            (None, Some(providers)) => Placement::CapacityProviders(providers),
            (None, None) => Placement::LaunchType(DEFAULT_LAUNCH_TYPE.to_string()),
        })
    }

    /// `image` and its companions (`cpu`, `memory`, `architecture`,
    /// `execution-role`, `task-role`, `log-group`, `efs-id`, `efs-path`,
    /// `ephemeral-storage`, `command`): the task definition the action
    /// registers. The companions without `image` are an error.
    fn task_spec(
        &mut self,
        placement: Option<&Placement>,
        fallback: Option<&Placement>,
    ) -> Option<TaskSpec> {
        const COMPANIONS: &[&str] = &[
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
        let image = self.input("image");
        if image.is_empty() {
            for name in COMPANIONS {
                if !self.input(name).is_empty() {
                    self.report(
                        name,
                        "applies only with `image` (the task definition the action registers); \
                         with `task-definition` set it in your task definition",
                    );
                }
            }
            return None;
        }
        let before = self.problems.len();
        if image.chars().count() > 255 || image.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            self.report(
                "image",
                format!(
                    "{} is not an image reference; use e.g. ghcr.io/actions/actions-runner:latest \
                     (at most 255 characters, no spaces)",
                    show(image)
                ),
            );
        }
        let number = |p: &mut Self, name: &str, what: &str| -> Option<u32> {
            let raw = p.input(name);
            if raw.is_empty() {
                return None;
            }
            match parse_uint(raw).filter(|n| *n > 0 && *n <= u64::from(u32::MAX)) {
                Some(n) => Some(n as u32),
                None => {
                    p.report(name, format!("{} is not allowed; use {what}", show(raw)));
                    None
                }
            }
        };
        let cpu = number(
            self,
            "cpu",
            "CPU units as a whole number, e.g. 1024 (1 vCPU)",
        );
        let memory = number(self, "memory", "MiB as a whole number, e.g. 2048");
        let memory_given = !self.input("memory").is_empty();
        let cpu = cpu.unwrap_or(taskdef::DEFAULT_CPU);
        let memory = memory.unwrap_or(cpu.saturating_mul(2));
        let fargate = placement.is_some_and(uses_fargate) || fallback.is_some_and(uses_fargate);
        if fargate && !taskdef::fargate_size_ok(cpu, memory) {
            let input = if memory_given { "memory" } else { "cpu" };
            self.report(
                input,
                format!(
                    "cpu {cpu} with memory {memory} is not a Fargate task size; Fargate takes {}",
                    taskdef::fargate_sizes_words()
                ),
            );
        } else if !fargate && cpu < 128 {
            self.report(
                "cpu",
                format!("{cpu} is below ECS's minimum of 128 CPU units"),
            );
        }
        let raw_arch = self.input("architecture");
        let arch = match raw_arch.to_ascii_uppercase().as_str() {
            "" | "X64" | "X86_64" | "AMD64" => Arch::X64,
            "ARM64" | "AARCH64" => Arch::Arm64,
            _ => {
                self.report(
                    "architecture",
                    format!(
                        "{} is not an architecture; use X64 or ARM64",
                        show(raw_arch)
                    ),
                );
                Arch::X64
            }
        };
        let spot = |p: Option<&Placement>| matches!(p, Some(Placement::CapacityProviders(ps)) if ps.iter().any(|c| c.provider == "FARGATE_SPOT"));
        if arch == Arch::Arm64 && (spot(placement) || spot(fallback)) {
            self.report(
                "architecture",
                "ARM64 tasks cannot run on Fargate Spot (FARGATE_SPOT runs X86_64 only); use \
                 FARGATE, or X64 on FARGATE_SPOT",
            );
        }
        let role = |p: &mut Self, name: &str, env: &str| -> Option<String> {
            let (raw, origin) = match (p.input(name), p.env(env)) {
                ("", Some(v)) => (v, format!(" (from {env})")),
                ("", None) => return None,
                (v, _) => (v, String::new()),
            };
            let ok = if raw.starts_with("arn:") {
                raw.split(':').nth(2) == Some("iam") && raw.contains(":role/")
            } else {
                (1..=64).contains(&raw.chars().count())
                    && raw
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
            };
            if !ok {
                p.report(
                    name,
                    format!(
                        "{}{origin} is not a role; use a role ARN \
                         (arn:aws:iam::ACCOUNT:role/NAME) or a role name",
                        show(raw)
                    ),
                );
            }
            Some(raw.to_string())
        };
        let execution_role = role(self, "execution-role", "ECS_EXECUTION_ROLE");
        let task_role = role(self, "task-role", "ECS_TASK_ROLE");
        let log_group = match self.input("log-group") {
            "" => None,
            g => {
                let ok = (1..=512).contains(&g.chars().count())
                    && g.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c));
                if !ok {
                    self.report(
                        "log-group",
                        format!(
                            "{} is not a log group name; use 1 to 512 letters, digits or _ - / . #",
                            show(g)
                        ),
                    );
                }
                if execution_role.is_none() {
                    self.report(
                        "log-group",
                        "needs `execution-role` (or ECS_EXECUTION_ROLE): ECS writes the runner's \
                         logs to CloudWatch with the task execution role, which needs \
                         logs:CreateLogStream and logs:PutLogEvents (the managed policy \
                         AmazonECSTaskExecutionRolePolicy has them)",
                    );
                }
                Some(g.to_string())
            }
        };
        let efs_id = match (self.input("efs-id"), self.env("EFS_ID")) {
            ("", Some(v)) => Some(v),
            ("", None) => None,
            (v, _) => Some(v),
        };
        let efs = match efs_id {
            Some(id) => {
                let ok = id.strip_prefix("fs-").is_some_and(|h| {
                    matches!(h.len(), 8 | 17) && h.bytes().all(|b| b.is_ascii_hexdigit())
                });
                if !ok {
                    self.report(
                        "efs-id",
                        format!(
                            "{} is not an EFS file system id; use fs- and 8 or 17 hex digits",
                            show(id)
                        ),
                    );
                }
                let path = match self.input("efs-path") {
                    "" => taskdef::DEFAULT_EFS_PATH,
                    p => p,
                };
                if !path.starts_with('/')
                    || path.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    self.report(
                        "efs-path",
                        format!("{} is not an absolute path in the container", show(path)),
                    );
                }
                Some((id.to_string(), path.to_string()))
            }
            None => {
                for name in ["efs-path", "efs-access-point", "efs-iam"] {
                    if !self.input(name).is_empty() {
                        self.report(name, "applies only with `efs-id` (or EFS_ID)");
                    }
                }
                None
            }
        };
        // An access point makes the mount writable for the runner (uid
        // 1001) on a root-owned file system; ECS requires transit
        // encryption with it (ECS developer guide, "Amazon EFS volumes").
        let efs_access_point = match self.input("efs-access-point") {
            "" => None,
            ap => {
                let ok = ap.strip_prefix("fsap-").is_some_and(|h| {
                    (8..=40).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit())
                });
                if !ok {
                    self.report(
                        "efs-access-point",
                        format!(
                            "{} is not an EFS access point id; use fsap- and 17 hex digits, e.g. \
                             fsap-0123456789abcdef0",
                            show(ap)
                        ),
                    );
                }
                Some(ap.to_string())
            }
        };
        let efs_iam = efs.is_some() && !self.input("efs-iam").is_empty() && self.boolean("efs-iam");
        let external =
            |p: Option<&Placement>| matches!(p, Some(Placement::LaunchType(t)) if t == "EXTERNAL");
        let on_external = external(placement) || external(fallback);
        if on_external && efs.is_some() {
            self.report(
                "efs-id",
                "EFS volumes do not work on ECS Anywhere (launch type EXTERNAL); mount the \
                 file system on the external instance and use a task definition of your own \
                 with a host volume",
            );
        }
        if external(placement) && fallback.is_some_and(uses_fargate)
            || external(fallback) && placement.is_some_and(uses_fargate)
        {
            self.report(
                "capacity-fallback",
                "with `image` the action registers one task definition, and ECS Anywhere \
                 (EXTERNAL) tasks use the bridge network mode, which Fargate does not run: do not \
                 mix EXTERNAL with FARGATE",
            );
        }
        let ephemeral_storage_gib = match self.input("ephemeral-storage") {
            "" => None,
            raw => match parse_uint(raw).filter(|n| (21..=200).contains(n)) {
                Some(n) if fargate => Some(n as u32),
                Some(_) => {
                    self.report(
                        "ephemeral-storage",
                        "applies to Fargate tasks only; on EC2 the instance's disk is the limit",
                    );
                    None
                }
                None => {
                    self.report(
                        "ephemeral-storage",
                        format!("{} is not allowed; use whole GiB from 21 to 200", show(raw)),
                    );
                    None
                }
            },
        };
        let raw_command = self.input("command");
        let command: Vec<String> = if raw_command.is_empty() {
            vec![taskdef::DEFAULT_COMMAND.to_string()]
        } else if raw_command.starts_with('[') {
            match serde_json::from_str::<Vec<String>>(raw_command) {
                Ok(words) if !words.is_empty() => words,
                _ => {
                    self.report(
                        "command",
                        format!(
                            "{} is not a JSON array of strings; use e.g. [\"/home/runner/run.sh\"] \
                             or words separated by spaces",
                            show(raw_command)
                        ),
                    );
                    Vec::new()
                }
            }
        } else {
            raw_command.split_whitespace().map(String::from).collect()
        };
        (self.problems.len() == before).then(|| TaskSpec {
            image: image.to_string(),
            cpu,
            memory,
            arch,
            execution_role,
            task_role,
            log_group,
            efs,
            efs_access_point,
            efs_iam,
            ephemeral_storage_gib,
            command,
        })
    }

    /// `capacity-fallback`: a launch type or a strategy, in the syntax of
    /// `launch-type` / `capacity-provider-strategy`, and not the placement
    /// itself.
    fn capacity_fallback(&mut self, placement: Option<&Placement>) -> Option<Placement> {
        let raw = self.input("capacity-fallback");
        if raw.is_empty() {
            return None;
        }
        let upper = raw.to_ascii_uppercase();
        let fallback = if matches!(upper.as_str(), "FARGATE" | "EC2" | "EXTERNAL") {
            Placement::LaunchType(upper)
        } else {
            let before = self.problems.len();
            let providers = self.capacity_providers_of("capacity-fallback", raw);
            if self.problems.len() > before {
                return None;
            }
            Placement::CapacityProviders(providers?)
        };
        if placement == Some(&fallback) {
            self.report(
                "capacity-fallback",
                format!(
                    "{} is the placement the runners start on already; name other capacity \
                     (e.g. FARGATE when capacity-provider-strategy is FARGATE_SPOT:1)",
                    show(raw)
                ),
            );
        }
        Some(fallback)
    }

    fn capacity_providers(&mut self, raw: &str) -> Option<Vec<CapacityProvider>> {
        self.capacity_providers_of("capacity-provider-strategy", raw)
    }

    /// A strategy list given in `input`.
    fn capacity_providers_of(&mut self, input: &str, raw: &str) -> Option<Vec<CapacityProvider>> {
        let before = self.problems.len();
        let mut providers = Vec::new();
        let mut seen = BTreeSet::new();
        for item in split_list(raw) {
            match parse_capacity_provider(item) {
                Some(provider) => {
                    if !seen.insert(provider.provider.clone()) {
                        self.report(
                            input,
                            format!(
                                "capacity provider {} is listed twice",
                                show(&provider.provider)
                            ),
                        );
                    }
                    providers.push(provider);
                }
                None => self.report(
                    input,
                    format!(
                        "{} is not a strategy entry; use provider, provider:weight or \
                         provider:weight:base (provider: 1 to 255 letters, digits, '_' or '-'; \
                         weight 0 to 1000; base 0 to 100000)",
                        show(item)
                    ),
                ),
            }
        }
        if providers.len() > MAX_CAPACITY_PROVIDERS {
            self.report(
                input,
                format!(
                    "{} capacity providers given; ECS allows at most {MAX_CAPACITY_PROVIDERS}",
                    providers.len()
                ),
            );
        }
        let with_base: Vec<&str> = providers
            .iter()
            .filter(|p| p.base.is_some())
            .map(|p| p.provider.as_str())
            .collect();
        if with_base.len() > 1 {
            self.report(
                input,
                format!(
                    "{} all have a base; ECS allows a base on only one capacity provider",
                    with_base.join(", ")
                ),
            );
        }
        (self.problems.len() == before).then_some(providers)
    }

    fn platform_version(&mut self) -> Option<String> {
        let raw = self.input("platform-version");
        if raw.is_empty() {
            return None;
        }
        if raw.eq_ignore_ascii_case("LATEST") {
            return Some("LATEST".to_string());
        }
        let parts: Vec<&str> = raw.split('.').collect();
        if parts.len() != 3 || !parts.iter().all(|p| is_digits(p)) {
            self.report(
                "platform-version",
                format!(
                    "{} is not a platform version; use LATEST or a version like 1.4.0",
                    show(raw)
                ),
            );
        }
        Some(raw.to_string())
    }

    fn lookup(&mut self, spec: &LookupSpec) -> Lookup {
        let ids = self.input(spec.ids_input);
        let tag = self.input(spec.tag_input);
        if !ids.is_empty() && !tag.is_empty() {
            self.report(
                spec.ids_input,
                format!(
                    "`{}` and `{}` are both given; give {} ids or one key:value tag to look \
                     them up by, not both",
                    spec.ids_input, spec.tag_input, spec.what
                ),
            );
        }
        if !ids.is_empty() {
            self.ids(spec, ids, "")
        } else if !tag.is_empty() {
            self.tag_filter(spec.tag_input, tag)
        } else if let Some(env) = self.env(spec.env) {
            let origin = format!(" (from {}, as `{}` is empty)", spec.env, spec.ids_input);
            self.ids(spec, env, &origin)
        } else {
            Lookup::None
        }
    }

    fn ids(&mut self, spec: &LookupSpec, raw: &str, origin: &str) -> Lookup {
        let mut ids: Vec<String> = Vec::new();
        for id in split_list(raw) {
            if !is_resource_id(id, spec.prefix) {
                self.report(
                    spec.ids_input,
                    format!(
                        "{}{origin} is not a {} id; expected {} followed by 8 or 17 \
                         lower-case hexadecimal digits, e.g. {}0123456789abcdef0",
                        show(id),
                        spec.what,
                        spec.prefix,
                        spec.prefix
                    ),
                );
            } else if !ids.iter().any(|seen| seen == id) {
                ids.push(id.to_string());
            }
        }
        if ids.len() > spec.max {
            self.report(
                spec.ids_input,
                format!(
                    "{} {} ids given{origin}; ECS allows at most {} per task",
                    ids.len(),
                    spec.what,
                    spec.max
                ),
            );
        }
        Lookup::Ids(ids)
    }

    fn tag_filter(&mut self, input: &str, raw: &str) -> Lookup {
        let parsed = raw
            .split_once(':')
            .map(|(key, value)| (key.trim(), value.trim()))
            .filter(|(key, value)| {
                (1..=127).contains(&key.chars().count()) && value.chars().count() <= 255
            });
        match parsed {
            Some((key, value)) => Lookup::Tag {
                key: key.to_string(),
                value: value.to_string(),
            },
            None => {
                self.report(
                    input,
                    format!(
                        "{} is not a tag; use key:value (split at the first ':', key 1 to 127 \
                         characters, value up to 255), e.g. Name:ci-runners",
                        show(raw)
                    ),
                );
                Lookup::None
            }
        }
    }

    fn assign_public_ip(&mut self) -> bool {
        let raw = self.input("assign-public-ip");
        match raw.to_ascii_lowercase().as_str() {
            "" | "disabled" | "false" => false,
            "enabled" | "true" => true,
            _ => {
                self.report(
                    "assign-public-ip",
                    format!(
                        "{} is not allowed; use ENABLED, DISABLED, true or false",
                        show(raw)
                    ),
                );
                false
            }
        }
    }

    fn container_name(&mut self) -> Option<String> {
        let raw = self.input("container-name");
        if raw.is_empty() {
            return None;
        }
        if !is_ecs_name(raw) {
            self.report(
                "container-name",
                format!(
                    "{} is not a container name; use 1 to 255 letters, digits, '_' or '-'",
                    show(raw)
                ),
            );
        }
        Some(raw.to_string())
    }

    fn tags(&mut self) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = Vec::new();
        for item in split_list(self.input("tags")) {
            let Some((key, value)) = item.split_once('=') else {
                self.report(
                    "tags",
                    format!("{} is not a tag; use key=value", show(item)),
                );
                continue;
            };
            let key_len = key.chars().count();
            let allowed = |s: &str| {
                s.chars()
                    .all(|c| c.is_alphanumeric() || "+-=._:/@".contains(c))
            };
            // Placeholders are expanded per runner; their values are
            // letters, digits and - _ . / only, so the rest must pass.
            if let Err(why) = placeholders::check(value) {
                self.report("tags", format!("tag {}: {why}", show(key)));
                continue;
            }
            let literal = placeholders::literal_text(value);
            if !(1..=128).contains(&key_len)
                || value.chars().count() > 256
                || !allowed(key)
                || !allowed(&literal)
            {
                self.report(
                    "tags",
                    format!(
                        "{} is not a valid tag; key 1 to 128 and value up to 256 letters, \
                         digits or + - = . _ : / @",
                        show(item)
                    ),
                );
                continue;
            }
            let lower = key.to_ascii_lowercase();
            if value.to_ascii_lowercase().starts_with("aws:") {
                self.report(
                    "tags",
                    format!(
                        "tag {}: the value {} starts with 'aws:', which AWS reserves for its own \
                         tags, in keys and values alike",
                        show(key),
                        show(value)
                    ),
                );
                continue;
            }
            if lower.starts_with("aws:") || lower.starts_with("ecs-runner:") {
                self.report(
                    "tags",
                    format!(
                        "tag key {} uses a reserved prefix; 'aws:' belongs to AWS and \
                         'ecs-runner:' to this action",
                        show(key)
                    ),
                );
                continue;
            }
            if tags.iter().any(|(seen, _)| seen == key) {
                self.report("tags", format!("tag key {} is given twice", show(key)));
                continue;
            }
            tags.push((key.to_string(), value.to_string()));
        }
        if tags.len() > MAX_USER_TAGS {
            self.report(
                "tags",
                format!(
                    "{} tags given; at most {MAX_USER_TAGS} (ECS allows 50 per task and the \
                     action adds 6)",
                    tags.len()
                ),
            );
        }
        tags
    }

    fn env_lines(&mut self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        for (index, line) in self.input("env").lines().enumerate() {
            let line = line.trim();
            let number = index + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The line may hold a secret: messages name the line and the key,
            // never the value.
            let Some((key, value)) = line.split_once('=') else {
                self.report(
                    "env",
                    format!(
                        "line {number} has no '=' (line not shown); each line must be \
                         KEY=VALUE"
                    ),
                );
                continue;
            };
            if !is_env_key(key) {
                self.report(
                    "env",
                    format!(
                        "line {number}: {} is not a variable name; use letters, digits and \
                         '_', not starting with a digit",
                        show(key)
                    ),
                );
            } else if key
                .to_ascii_uppercase()
                .starts_with(runner_image::INPUT_PREFIX)
            {
                self.report(
                    "env",
                    format!(
                        "line {number}: {key} would be read by the runner as one of its own \
                         arguments (it reads every {}* variable, in any case); the action sets \
                         those it needs",
                        runner_image::INPUT_PREFIX
                    ),
                );
            } else if RESERVED_ENV.contains(&key) {
                self.report(
                    "env",
                    format!(
                        "line {number}: {key} is set by the action itself to register the \
                         runner; the reserved names are {}",
                        RESERVED_ENV.join(", ")
                    ),
                );
            } else if vars.iter().any(|(seen, _)| seen == key) {
                self.report("env", format!("line {number}: {key} is given twice"));
            } else if let Err(why) = placeholders::check(value) {
                self.report("env", format!("line {number} ({key}): {why}"));
            } else {
                vars.push((key.to_string(), value.to_string()));
            }
        }
        vars
    }

    /// `runner-group`: an id, or an organization's group by name (looked
    /// up when starting); a repository has only the Default group, 1.
    fn runner_group(&mut self, scope: Option<&Scope>) -> (u64, Option<String>) {
        let raw = self.input("runner-group");
        if raw.is_empty() {
            return (DEFAULT_RUNNER_GROUP, None);
        }
        if let Some(n) = parse_uint(raw) {
            if n == 0 {
                self.report(
                    "runner-group",
                    format!(
                        "{} is not a runner group id; use a positive integer (1 is the Default \
                         group) or, for an organization, a group's name",
                        show(raw)
                    ),
                );
            }
            return (n.max(1), None);
        }
        if raw.eq_ignore_ascii_case("default") {
            return (DEFAULT_RUNNER_GROUP, None);
        }
        if raw.chars().count() > 100 || raw.chars().any(|c| c.is_control()) {
            self.report(
                "runner-group",
                format!("{} is not a runner group name", show(raw)),
            );
        }
        if let Some(Scope::Repo { .. }) = scope {
            self.report(
                "runner-group",
                format!(
                    "{} names a runner group, but runners of a repository all go to its Default \
                     group: use a positive integer id (1), or set `context` to the organization \
                     whose group it is",
                    show(raw)
                ),
            );
        }
        (DEFAULT_RUNNER_GROUP, Some(raw.to_string()))
    }

    fn registration(&mut self) -> Registration {
        let raw = self.input("registration");
        match raw.to_ascii_lowercase().as_str() {
            "" | "jit" => Registration::Jit,
            "token" => Registration::Token,
            _ => {
                self.report(
                    "registration",
                    format!("{} is not allowed; use jit or token", show(raw)),
                );
                Registration::Jit
            }
        }
    }

    fn timeout(&mut self) -> u64 {
        let raw = self.input("timeout");
        if raw.is_empty() {
            return DEFAULT_TIMEOUT_S;
        }
        match parse_uint(raw).filter(|n| (1..=MAX_TIMEOUT_S).contains(n)) {
            Some(n) => n,
            None => {
                self.report(
                    "timeout",
                    format!(
                        "{} is not allowed; use whole seconds from 1 to {MAX_TIMEOUT_S}",
                        show(raw)
                    ),
                );
                DEFAULT_TIMEOUT_S
            }
        }
    }

    /// The values `core.getBooleanInput` accepts (YAML 1.2 core schema).
    fn boolean(&mut self, input: &str) -> bool {
        let raw = self.input(input);
        match raw {
            "" | "false" | "False" | "FALSE" => false,
            "true" | "True" | "TRUE" => true,
            _ => {
                self.report(
                    input,
                    format!(
                        "{} is not a boolean; use true, True, TRUE, false, False or FALSE",
                        show(raw)
                    ),
                );
                false
            }
        }
    }

    /// `task-arn`: one task, a JSON array of them (the start step's
    /// `task_arns` output), or a list separated by commas, spaces or
    /// newlines; each an ECS task ARN or a task id; at most 100.
    fn task_arns(&mut self) -> Vec<String> {
        let raw = self.input("task-arn");
        if raw.is_empty() {
            return Vec::new();
        }
        let items: Vec<String> = if raw.starts_with('[') {
            match serde_json::from_str::<Vec<String>>(raw) {
                Ok(items) => items
                    .into_iter()
                    .map(|i| i.trim().to_string())
                    .filter(|i| !i.is_empty())
                    .collect(),
                Err(_) => {
                    self.report(
                        "task-arn",
                        format!(
                            "{} is not a JSON array of task ARNs; pass the start step's task_arns \
                             output as it is, or list the tasks separated by commas",
                            show(raw)
                        ),
                    );
                    return Vec::new();
                }
            }
        } else {
            split_list(raw).into_iter().map(str::to_string).collect()
        };
        for item in &items {
            if !is_task(item) {
                self.report(
                    "task-arn",
                    format!(
                        "{} is not a task; use a task ARN \
                         (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID) or a task id",
                        show(item)
                    ),
                );
            }
        }
        if items.len() > MAX_TASK_ARNS {
            self.report(
                "task-arn",
                format!("{} tasks given; at most {MAX_TASK_ARNS}", items.len()),
            );
        }
        let mut seen = BTreeSet::new();
        items
            .into_iter()
            .filter(|i| seen.insert(i.clone()))
            .collect()
    }

    fn runner_id(&mut self) -> Option<String> {
        let raw = self.input("runner-id");
        if raw.is_empty() {
            return None;
        }
        let ok =
            (1..=64).contains(&raw.len()) && raw.chars().all(|c| is_ecs_name_char(c) || c == '.');
        if !ok {
            self.report(
                "runner-id",
                format!(
                    "{} is not a runner id; use the start step's runner_id output \
                     (1 to 64 letters, digits, '.', '_' or '-')",
                    show(raw)
                ),
            );
        }
        Some(raw.to_string())
    }

    fn max_age(&mut self) -> u64 {
        let raw = self.input("max-age");
        if raw.is_empty() {
            return DEFAULT_MAX_AGE_MIN;
        }
        match parse_uint(raw) {
            Some(n) => n,
            None => {
                self.report(
                    "max-age",
                    format!("{} is not allowed; use whole minutes, 0 or more", show(raw)),
                );
                DEFAULT_MAX_AGE_MIN
            }
        }
    }

    fn region(&mut self) -> String {
        let (variable, region) = match (self.env("AWS_REGION"), self.env("AWS_DEFAULT_REGION")) {
            (Some(region), _) => ("AWS_REGION", region),
            (None, Some(region)) => ("AWS_DEFAULT_REGION", region),
            (None, None) => {
                self.report(
                    "AWS_REGION",
                    "no AWS region: neither AWS_REGION nor AWS_DEFAULT_REGION is set; run \
                     aws-actions/configure-aws-credentials with `aws-region` before this step",
                );
                return String::new();
            }
        };
        if !is_region(region) {
            self.report(
                variable,
                format!(
                    "{} is not an AWS region; expected e.g. us-west-2",
                    show(region)
                ),
            );
        }
        region.to_string()
    }

    /// The credential source, in the AWS SDKs' order (creds.rs):
    /// `role-to-assume` when given (it is explicit), else the environment
    /// keys, a web identity token file, the ECS container endpoint, IMDS.
    fn credentials(&mut self, run_id: &str) -> (AwsCredentials, Source) {
        let empty = AwsCredentials {
            access_key_id: String::new(),
            secret_access_key: String::new(),
            session_token: None,
        };
        let session = |p: &mut Self, input: &str, env: Option<&str>| -> String {
            let raw = match (p.input(input), env.and_then(|e| p.env(e))) {
                ("", Some(v)) => v,
                ("", None) => "",
                (v, _) => v,
            };
            if raw.is_empty() {
                return format!("ecs-runner-{run_id}").chars().take(64).collect();
            }
            let ok = (2..=64).contains(&raw.chars().count())
                && raw
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !ok {
                p.report(
                    input,
                    format!(
                        "{} is not a role session name; use 2 to 64 letters, digits or + = , . @ _ -",
                        show(raw)
                    ),
                );
            }
            raw.to_string()
        };
        let role = self.input("role-to-assume");
        for name in ["role-session-name", "role-duration-seconds", "audience"] {
            // A session name also names a web identity token file's session.
            let web_identity =
                name == "role-session-name" && self.env("AWS_WEB_IDENTITY_TOKEN_FILE").is_some();
            if role.is_empty() && !web_identity && !self.input(name).is_empty() {
                self.report(name, "applies only with `role-to-assume` (or, for the session name, AWS_WEB_IDENTITY_TOKEN_FILE)");
            }
        }
        if !role.is_empty() {
            if !is_role_arn(role) {
                self.report(
                    "role-to-assume",
                    format!(
                        "{} is not a role ARN; use arn:aws:iam::ACCOUNT:role/NAME",
                        show(role)
                    ),
                );
            }
            let duration_s = match self.input("role-duration-seconds") {
                "" => 3600,
                raw => match parse_uint(raw).filter(|n| (900..=43_200).contains(n)) {
                    Some(n) => n as u32,
                    None => {
                        self.report(
                            "role-duration-seconds",
                            format!("{} is not allowed; use 900 to 43200 seconds", show(raw)),
                        );
                        3600
                    }
                },
            };
            let audience = match self.input("audience") {
                "" => "sts.amazonaws.com".to_string(),
                a => a.to_string(),
            };
            let session_name = session(self, "role-session-name", None);
            let (url, token) = (
                self.env("ACTIONS_ID_TOKEN_REQUEST_URL").unwrap_or(""),
                self.env("ACTIONS_ID_TOKEN_REQUEST_TOKEN").unwrap_or(""),
            );
            if url.is_empty() || token.is_empty() {
                self.report(
                    "role-to-assume",
                    "needs GitHub's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL and \
                     ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: give the job \
                     `permissions: id-token: write` (and, from a fork's pull request, \
                     OIDC is not available)",
                );
            } else if !(url.starts_with("https://") || url.starts_with("http://")) {
                self.report("ACTIONS_ID_TOKEN_REQUEST_URL", "is not an http(s) URL");
            }
            return (
                empty,
                Source::GitHubOidc {
                    role_arn: role.to_string(),
                    session_name,
                    duration_s,
                    audience,
                    request_url: url.to_string(),
                    request_token: token.to_string(),
                },
            );
        }
        let key = self.env("AWS_ACCESS_KEY_ID");
        let secret = self.env("AWS_SECRET_ACCESS_KEY");
        if key.is_some() || secret.is_some() {
            return (
                AwsCredentials {
                    access_key_id: self.required_credential("AWS_ACCESS_KEY_ID"),
                    secret_access_key: self.required_credential("AWS_SECRET_ACCESS_KEY"),
                    session_token: self.env("AWS_SESSION_TOKEN").map(str::to_string),
                },
                Source::Environment,
            );
        }
        match (
            self.env("AWS_WEB_IDENTITY_TOKEN_FILE"),
            self.env("AWS_ROLE_ARN"),
        ) {
            (Some(file), Some(role_arn)) => {
                if !is_role_arn(role_arn) {
                    self.report(
                        "AWS_ROLE_ARN",
                        format!("{} is not a role ARN", show(role_arn)),
                    );
                }
                let session_name =
                    session(self, "role-session-name", Some("AWS_ROLE_SESSION_NAME"));
                return (
                    empty,
                    Source::WebIdentityFile {
                        role_arn: role_arn.to_string(),
                        session_name,
                        token_file: file.to_string(),
                    },
                );
            }
            (Some(_), None) => self.report(
                "AWS_ROLE_ARN",
                "not set, but AWS_WEB_IDENTITY_TOKEN_FILE is: the web identity provider needs both",
            ),
            (None, Some(_)) => self.report(
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "not set, but AWS_ROLE_ARN is: the web identity provider needs both",
            ),
            (None, None) => {}
        }
        let relative = self.env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        let full = self.env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        if relative.is_some() || full.is_some() {
            let url = match (relative, full) {
                // The ECS agent's endpoint (AWS SDKs, "Container credential
                // provider").
                (Some(r), _) => format!("http://169.254.170.2{r}"),
                (None, Some(f)) => {
                    if !container_url_allowed(f) {
                        self.report(
                            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                            format!(
                                "{} is not allowed: an https URL, or http to a loopback address \
                                 or the ECS/EKS link-local endpoints (169.254.170.2, 169.254.170.23)",
                                show(f)
                            ),
                        );
                    }
                    f.to_string()
                }
                (None, None) => unreachable!(),
            };
            let token_file = self
                .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
                .map(str::to_string);
            let token = self
                .env("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(str::to_string);
            return (
                empty,
                Source::Container {
                    url,
                    token: if token_file.is_some() { None } else { token },
                    token_file,
                },
            );
        }
        if self
            .env("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            self.report(
                "AWS_ACCESS_KEY_ID",
                format!("no AWS credentials found; tried {}", TRIED),
            );
            return (empty, Source::Environment);
        }
        let endpoint = self
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .map(|e| e.trim_end_matches('/').to_string())
            .unwrap_or_else(|| "http://169.254.169.254".to_string());
        (empty, Source::Imds { endpoint })
    }

    /// A credential variable; its value is never shown.
    fn required_credential(&mut self, variable: &str) -> String {
        match self.env(variable) {
            Some(value) => value.to_string(),
            None => {
                self.report(
                    variable,
                    "not set; AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together (plus \
                     AWS_SESSION_TOKEN for temporary ones), e.g. from \
                     aws-actions/configure-aws-credentials",
                );
                String::new()
            }
        }
    }

    fn endpoints(&mut self, region: &str) -> Endpoints {
        // Each variable is checked once, even when it serves both services.
        let shared = self.url_opt("AWS_ENDPOINT_URL");
        let ecs = self.url_opt("AWS_ENDPOINT_URL_ECS");
        let ec2 = self.url_opt("AWS_ENDPOINT_URL_EC2");
        let logs = self.url_opt("AWS_ENDPOINT_URL_LOGS");
        let sts = self.url_opt("AWS_ENDPOINT_URL_STS");
        // cn-* regions live under amazonaws.com.cn (behaviour.md).
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let regional = |service: &str| format!("https://{service}.{region}.{suffix}");
        Endpoints {
            ecs: ecs
                .or_else(|| shared.clone())
                .unwrap_or_else(|| regional("ecs")),
            ec2: ec2.or(shared.clone()).unwrap_or_else(|| regional("ec2")),
            logs: logs.or(shared.clone()).unwrap_or_else(|| regional("logs")),
            sts: sts.or(shared).unwrap_or_else(|| regional("sts")),
        }
    }

    /// The URL in `variable` (checked, without a trailing '/'), if set.
    fn url_opt(&mut self, variable: &str) -> Option<String> {
        self.env(variable).map(|url| self.check_url(variable, url))
    }

    /// The URL from `variable`, or `default`; without a trailing '/'.
    fn url(&mut self, variable: &str, default: &str) -> String {
        self.url_opt(variable)
            .unwrap_or_else(|| default.to_string())
    }

    fn check_url(&mut self, variable: &str, url: &str) -> String {
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .map(|rest| rest.split('/').next().unwrap_or(""));
        let ok = host.is_some_and(|h| !h.is_empty())
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            self.report(
                variable,
                format!(
                    "{} is not a URL; expected http://HOST[:PORT] or https://HOST",
                    show(url)
                ),
            );
        }
        url.trim_end_matches('/').to_string()
    }

    fn run_context(&mut self, starting: bool, arch: String) -> RunContext {
        let run_id = self.env("GITHUB_RUN_ID").unwrap_or("");
        if run_id.is_empty() {
            if starting {
                self.report(
                    "GITHUB_RUN_ID",
                    "not set; it names the runner and keeps a retried RunTask from \
                     starting a second task. The action must run inside GitHub Actions, \
                     or set GITHUB_RUN_ID yourself",
                );
            }
        } else if run_id.len() > 20 || !run_id.chars().all(is_ecs_name_char) {
            self.report(
                "GITHUB_RUN_ID",
                format!(
                    "{} is not a run id; expected the number GitHub Actions sets",
                    show(run_id)
                ),
            );
        }
        let run_attempt = self.env("GITHUB_RUN_ATTEMPT").unwrap_or("1");
        if run_attempt.len() > 10 || parse_uint(run_attempt).is_none_or(|n| n == 0) {
            self.report(
                "GITHUB_RUN_ATTEMPT",
                format!(
                    "{} is not a run attempt; expected a positive integer",
                    show(run_attempt)
                ),
            );
        }
        RunContext {
            repository: self.env("GITHUB_REPOSITORY").unwrap_or("").to_string(),
            run_id: run_id.to_string(),
            run_attempt: run_attempt.to_string(),
            job: self.env("GITHUB_JOB").unwrap_or("").to_string(),
            workflow: self.env("GITHUB_WORKFLOW").unwrap_or("").to_string(),
            server_url: self.url("GITHUB_SERVER_URL", "https://github.com"),
            arch,
        }
    }
}

/// Items of a list input: separated by commas, spaces or newlines, empties
/// dropped (so `a, b`, `a b` and one per line all mean the same).
fn split_list(raw: &str) -> Vec<&str> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .collect()
}

/// Quotes a user value for a message: cut to [`SHOWN_VALUE_MAX`] characters,
/// control characters escaped so a newline cannot forge a log line.
fn show(value: &str) -> String {
    let mut out = String::from("'");
    for (i, c) in value.chars().enumerate() {
        if i == SHOWN_VALUE_MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Digits only: `u64::from_str` would also take a leading '+'.
fn parse_uint(s: &str) -> Option<u64> {
    if is_digits(s) {
        s.parse().ok()
    } else {
        None
    }
}

fn is_ecs_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Cluster, container, capacity provider names and task definition families:
/// 1..=255 of `A-Za-z0-9_-` (ECS API reference).
fn is_ecs_name(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.chars().all(is_ecs_name_char)
}

fn is_family(s: &str) -> bool {
    is_ecs_name(s)
}

fn is_family_revision(s: &str) -> bool {
    match s.split_once(':') {
        Some((family, revision)) => {
            is_family(family) && parse_uint(revision).is_some_and(|n| n > 0)
        }
        None => false,
    }
}

/// A task ARN (`task/ID`, old format, or `task/CLUSTER/ID`) or a task id.
fn is_task(raw: &str) -> bool {
    if raw.starts_with("arn:") {
        parse_ecs_arn(raw)
            .and_then(|resource| resource.strip_prefix("task/"))
            .is_some_and(|rest| {
                let parts: Vec<&str> = rest.split('/').collect();
                parts.len() <= 2 && parts.iter().all(|p| is_ecs_name(p))
            })
    } else {
        is_task_id(raw)
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|r| !r.is_empty() && !r.ends_with('/'))
}

/// The container credentials endpoint a full URI may name (AWS SDKs):
/// https anywhere; http only on loopback or the ECS/EKS endpoints.
fn container_url_allowed(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host),
    };
    host == "localhost"
        || host == "::1"
        || host.starts_with("127.")
        || host == "169.254.170.2"
        || host == "169.254.170.23"
        || host.eq_ignore_ascii_case("fd00:ec2::23")
}

/// `GITHUB_RUN_ID` for a default session name (checked elsewhere).
fn run_id_for_session(config: &Config) -> String {
    config
        .env
        .get("GITHUB_RUN_ID")
        .map(|r| {
            r.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect()
        })
        .unwrap_or_default()
}

fn is_task_id(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn is_env_key(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `subnet-`/`sg-` + 8 (older) or 17 (current) lower-case hex digits.
fn is_resource_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `us-west-2`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-2`: two letters,
/// one or more lower-case words, a number.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|n| is_digits(n) && n.len() <= 3)
}

/// The resource part of `arn:PARTITION:ecs:REGION:ACCOUNT:RESOURCE`, where
/// PARTITION is `aws` or `aws-...` and ACCOUNT is 12 digits.
fn parse_ecs_arn(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return None;
    };
    let partition_ok = partition.strip_prefix("aws").is_some_and(|rest| {
        rest.is_empty()
            || (rest.starts_with('-') && rest.bytes().all(|b| b == b'-' || b.is_ascii_lowercase()))
    });
    (*prefix == "arn"
        && partition_ok
        && *service == "ecs"
        && is_region(region)
        && account.len() == 12
        && is_digits(account))
    .then_some(*resource)
}

fn parse_scope(value: &str) -> Option<Scope> {
    let owner_ok = |s: &str| {
        (1..=100).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(is_ecs_name_char)
    };
    match value.split_once('/') {
        Some((owner, repo)) => {
            let repo_ok = (1..=100).contains(&repo.len())
                && repo != "."
                && repo != ".."
                && repo.chars().all(|c| is_ecs_name_char(c) || c == '.');
            (owner_ok(owner) && repo_ok).then(|| Scope::Repo {
                owner: owner.to_string(),
                repo: repo.to_string(),
            })
        }
        None => owner_ok(value).then(|| Scope::Org {
            org: value.to_string(),
        }),
    }
}

/// `provider`, `provider:weight` or `provider:weight:base`.
fn parse_capacity_provider(item: &str) -> Option<CapacityProvider> {
    let mut parts = item.split(':');
    let provider = parts.next().filter(|p| is_ecs_name(p))?;
    let weight = match parts.next() {
        None => None,
        Some(w) => Some(parse_uint(w).filter(|&w| w <= 1000)? as u32),
    };
    let base = match parts.next() {
        None => None,
        Some(b) => Some(parse_uint(b).filter(|&b| b <= 100_000)? as u32),
    };
    if parts.next().is_some() {
        return None;
    }
    Some(CapacityProvider {
        provider: provider.to_string(),
        weight,
        base,
    })
}

/// Whether the task runs on Fargate, where awsvpc (and so subnets) is
/// mandatory.
fn uses_fargate(placement: &Placement) -> bool {
    match placement {
        Placement::LaunchType(launch_type) => launch_type == "FARGATE",
        Placement::CapacityProviders(providers) => providers
            .iter()
            .any(|p| p.provider == "FARGATE" || p.provider == "FARGATE_SPOT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "ghp_S3cretTokenValue";
    const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUBNET: &str = "subnet-0123456789abcdef0";

    /// A complete, valid start configuration; `inputs` and `env` are laid
    /// over it (an empty value counts as "not given").
    fn config(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Config {
        let mut config = Config::default();
        for (k, v) in [("token", TOKEN), ("subnets", SUBNET)].iter().chain(inputs) {
            config.inputs.insert(k.to_string(), v.to_string());
        }
        let base = [
            ("AWS_REGION", "us-west-2"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("GITHUB_REPOSITORY", "octo-org/hello.world"),
            ("GITHUB_RUN_ID", "9876543210"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_JOB", "build"),
            ("GITHUB_WORKFLOW", "CI"),
            ("PATH", "/usr/bin"),
        ];
        for (k, v) in base.iter().chain(env) {
            config.env.insert(k.to_string(), v.to_string());
        }
        config
    }

    fn ok(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Settings {
        parse(&config(inputs, env)).unwrap_or_else(|problems| panic!("{}", describe(&problems)))
    }

    fn problems(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Vec<InputProblem> {
        match parse(&config(inputs, env)) {
            Ok(settings) => panic!("expected problems, got {settings:?}"),
            Err(problems) => problems,
        }
    }

    /// The one problem the configuration has; fails if there are more.
    fn only(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> InputProblem {
        let found = problems(inputs, env);
        assert_eq!(found.len(), 1, "{}", describe(&found));
        found.into_iter().next().unwrap()
    }

    /// Asserts the message contains every fragment (the value, what is allowed).
    fn says(problem: &InputProblem, fragments: &[&str]) {
        for fragment in fragments {
            assert!(
                problem.message.contains(fragment),
                "{problem} does not mention {fragment:?}"
            );
        }
    }

    // ---- action.yaml agrees with parse() ----

    /// `(input name, default)` for each input of action.yaml, in file order;
    /// enough YAML for the file's own simple layout.
    fn yaml_inputs() -> Vec<(String, Option<String>)> {
        let yaml = include_str!("../../../action.yaml");
        let mut section = "";
        let mut inputs: Vec<(String, Option<String>)> = Vec::new();
        for line in yaml.lines() {
            if !line.starts_with(' ') && line.ends_with(':') {
                section = line.trim_end_matches(':');
            } else if section == "inputs" {
                if let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
                    inputs.push((name.trim_end_matches(':').to_string(), None));
                } else if let Some(default) = line.strip_prefix("    default:") {
                    let value = default.trim().trim_matches('\'').trim_matches('"');
                    inputs.last_mut().unwrap().1 = Some(value.to_string());
                }
            }
        }
        inputs
    }

    #[test]
    fn action_yaml_declares_exactly_the_input_names_in_order() {
        let names: Vec<String> = yaml_inputs().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, INPUT_NAMES);
        let yaml = include_str!("../../../action.yaml");
        assert!(
            !yaml.contains("required: true"),
            "token has an alias, nothing is required"
        );
    }

    #[test]
    fn action_yaml_defaults_are_the_ones_parse_applies() {
        let defaults: Vec<(String, String)> = yaml_inputs()
            .into_iter()
            .filter_map(|(name, default)| default.map(|d| (name, d)))
            .collect();
        let names: Vec<&str> = defaults.iter().map(|(n, _)| n.as_str()).collect();
        // Inputs with an env fallback or an exclusivity rule must stay
        // without a default, or the action could not see "not given".
        assert_eq!(
            names,
            [
                "mode",
                "count",
                "name",
                "workdir",
                "assign-public-ip",
                "runner-group",
                "registration",
                "timeout",
                "wait-for-registration",
                "debug",
                "max-age",
                "dry-run",
                "default-labels"
            ]
        );
        let implicit = ok(&[], &[]);
        for (name, default) in &defaults {
            assert_eq!(ok(&[(name, default)], &[]), implicit, "default of {name}");
        }
    }

    #[test]
    fn action_yaml_outputs_and_runtime() {
        let yaml = include_str!("../../../action.yaml");
        let after = yaml
            .split("\noutputs:\n")
            .nth(1)
            .expect("an outputs section");
        let outputs = after.split("\nruns:\n").next().unwrap();
        let names: Vec<&str> = outputs
            .lines()
            .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
            .map(|l| l.trim_end_matches(':'))
            .collect();
        assert_eq!(
            names,
            [
                "runner_id",
                "runner_name",
                "github_runner_id",
                "task_arn",
                "task_id",
                "ipaddr",
                "runners",
                "task_arns",
                "ipaddrs",
                "runner_names",
                "cluster",
                "region",
                "id",
                "arn",
                "aws_task_arn",
                "aws_task_id",
                "stopped_tasks",
                "deleted_runners"
            ]
        );
        assert!(yaml.contains("\nruns:\n  using: node24\n  main: dist/index.js\n"));
    }

    // ---- defaults and fallbacks ----

    #[test]
    fn defaults_when_only_token_and_subnets_are_given() {
        let s = ok(&[], &[]);
        assert_eq!(s.mode, Mode::Start);
        assert_eq!(s.name, "github-ecs-runner");
        assert_eq!(s.token, TOKEN);
        assert!(s.labels.is_empty());
        assert_eq!(s.workdir, "_workdir");
        assert_eq!(
            s.scope,
            Scope::Repo {
                owner: "octo-org".into(),
                repo: "hello.world".into()
            }
        );
        assert_eq!(s.task_definition, "github-ecs-runner");
        assert_eq!(s.cluster, "default");
        assert_eq!(s.placement, Placement::LaunchType("FARGATE".into()));
        assert_eq!(s.platform_version, None);
        assert_eq!(s.subnets, Lookup::Ids(vec![SUBNET.into()]));
        assert_eq!(s.security_groups, Lookup::None);
        assert!(!s.assign_public_ip);
        assert_eq!(s.container_name, None);
        assert!(s.tags.is_empty() && s.env.is_empty());
        assert_eq!(s.runner_group, 1);
        assert_eq!(s.registration, Registration::Jit);
        assert_eq!(s.timeout_s, 600);
        assert!(!s.wait_for_registration && !s.debug && !s.dry_run);
        assert_eq!((s.task_arns.is_empty(), s.runner_id), (true, None));
        assert_eq!((s.count, s.capacity_fallback), (1, None));
        assert_eq!(s.max_age_min, 60);
        assert_eq!(s.region, "us-west-2");
        assert_eq!(
            s.credentials,
            AwsCredentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: SECRET_KEY.into(),
                session_token: None
            }
        );
        assert_eq!(
            s.endpoints,
            Endpoints {
                ecs: "https://ecs.us-west-2.amazonaws.com".into(),
                ec2: "https://ec2.us-west-2.amazonaws.com".into(),
                logs: "https://logs.us-west-2.amazonaws.com".into(),
                sts: "https://sts.us-west-2.amazonaws.com".into()
            }
        );
        assert_eq!(s.github_api_url, "https://api.github.com");
        assert_eq!(
            s.run,
            RunContext {
                repository: "octo-org/hello.world".into(),
                run_id: "9876543210".into(),
                run_attempt: "2".into(),
                job: "build".into(),
                workflow: "CI".into(),
                server_url: "https://github.com".into(),
                arch: "X64".into(),
            }
        );
    }

    #[test]
    fn missing_input_keys_count_as_empty() {
        let mut c = config(&[], &[]);
        c.inputs.retain(|k, _| k == "token" || k == "subnets");
        let s = parse(&c).unwrap();
        assert_eq!((s.mode, s.timeout_s), (Mode::Start, 600));
    }

    #[test]
    fn inputs_are_trimmed_and_case_insensitive_where_documented() {
        let s = ok(
            &[
                ("mode", " Stop "),
                ("launch-type", "ec2"),
                ("registration", "TOKEN"),
                ("assign-public-ip", "enabled"),
                ("platform-version", "latest"),
            ],
            &[],
        );
        assert_eq!(s.mode, Mode::Stop);
        assert_eq!(s.placement, Placement::LaunchType("EC2".into()));
        assert_eq!(s.registration, Registration::Token);
        assert!(s.assign_public_ip);
        assert_eq!(s.platform_version.as_deref(), Some("LATEST"));
    }

    #[test]
    fn run_context_defaults_and_environment_overrides() {
        let s = ok(
            &[],
            &[
                ("GITHUB_RUN_ATTEMPT", ""),
                ("RUNNER_ARCH", "ARM64"),
                ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
                ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
                ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLE"),
            ],
        );
        assert_eq!(s.run.run_attempt, "1");
        assert_eq!(s.run.arch, "ARM64");
        assert_eq!(s.run.server_url, "https://ghe.example.com");
        assert_eq!(s.github_api_url, "https://ghe.example.com/api/v3");
        assert_eq!(
            s.credentials.session_token.as_deref(),
            Some("FwoGZXIvYXdzEXAMPLE")
        );
    }

    // ---- mode ----

    #[test]
    fn mode_values_and_error() {
        assert_eq!(ok(&[("mode", "REAP")], &[]).mode, Mode::Reap);
        let p = only(&[("mode", "launch")], &[]);
        assert_eq!(p.input, "mode");
        says(&p, &["'launch'", "start", "stop", "reap"]);
    }

    #[test]
    fn an_invalid_mode_skips_start_only_checks() {
        // No subnets and no run id would be start-mode errors; with an
        // unknown mode only the mode itself is reported.
        let p = only(
            &[("mode", "stpo"), ("subnets", "")],
            &[("GITHUB_RUN_ID", "")],
        );
        assert_eq!(p.input, "mode");
    }

    // ---- name ----

    #[test]
    fn name_rules() {
        let longest = "a".repeat(32);
        assert_eq!(ok(&[("name", &longest)], &[]).name, longest);
        assert_eq!(
            ok(&[("name", "ci_runner-2")], &[]).task_definition,
            "ci_runner-2"
        );
        for bad in [
            "a".repeat(33),
            "-runner".into(),
            ".runner".into(),
            "my runner".into(),
        ] {
            let found = problems(&[("name", &bad)], &[]);
            let p = found
                .iter()
                .find(|p| p.input == "name")
                .expect("a name problem");
            says(p, &["1 to 32", "letters, digits, '.', '_' or '-'"]);
            assert!(p.message.contains(&show(&bad)));
        }
    }

    #[test]
    fn a_name_with_a_dot_needs_a_task_definition_only_to_start() {
        let p = only(&[("name", "runner.v2")], &[]);
        assert_eq!(p.input, "task-definition");
        says(&p, &["'runner.v2'", "family"]);
        assert_eq!(
            ok(&[("name", "runner.v2"), ("task-definition", "runner")], &[]).name,
            "runner.v2"
        );
        assert_eq!(
            ok(&[("name", "runner.v2"), ("mode", "stop")], &[]).name,
            "runner.v2"
        );
    }

    // ---- token ----

    #[test]
    fn token_alias_and_agreement() {
        let s = ok(&[("token", ""), ("github-token", "ghs_app")], &[]);
        assert_eq!(s.token, "ghs_app");
        assert_eq!(ok(&[("github-token", TOKEN)], &[]).token, TOKEN);
        let p = only(&[("github-token", "ghp_other")], &[]);
        assert_eq!(p.input, "token");
        says(&p, &["token", "github-token", "different"]);
        assert!(!p.message.contains(TOKEN) && !p.message.contains("ghp_other"));
    }

    #[test]
    fn missing_token_explains_what_is_needed_in_every_mode() {
        for mode in ["start", "stop", "reap"] {
            let p = only(&[("token", ""), ("mode", mode)], &[]);
            assert_eq!(p.input, "token");
            says(
                &p,
                &[
                    "GITHUB_TOKEN cannot",
                    "Administration: write",
                    "Self-hosted runners: write",
                    "GitHub App installation token",
                    "token: ${{ secrets.RUNNER_ADMIN_TOKEN }}",
                ],
            );
        }
    }

    #[test]
    fn token_with_whitespace_is_rejected_without_showing_it() {
        let p = only(&[("token", "ghp_abc def")], &[]);
        assert_eq!(p.input, "token");
        says(&p, &["whitespace"]);
        assert!(!p.message.contains("ghp_abc") && !p.message.contains("def"));
    }

    // ---- lists and labels ----

    #[test]
    fn lists_accept_commas_spaces_and_newlines() {
        let s = ok(
            &[
                ("labels", "gpu, large\nfast  ,,\n\n  arm"),
                (
                    "subnets",
                    "subnet-01234567,\nsubnet-89abcdef subnet-0123456789abcdef0",
                ),
            ],
            &[],
        );
        assert_eq!(s.labels, ["gpu", "large", "fast", "arm"]);
        assert_eq!(
            s.subnets,
            Lookup::Ids(vec![
                "subnet-01234567".into(),
                "subnet-89abcdef".into(),
                "subnet-0123456789abcdef0".into()
            ])
        );
    }

    #[test]
    fn label_length_limit() {
        // The runner's own limit (Validators.LabelsValidator), not 100.
        let long = "x".repeat(257);
        let p = only(&[("labels", &format!("ok {long}"))], &[]);
        assert_eq!(p.input, "labels");
        says(&p, &["longer than 256"]);
        assert_eq!(ok(&[("labels", &"x".repeat(256))], &[]).labels.len(), 1);
    }

    // ---- limits of the runner and ECS, per runner of this run ----

    #[test]
    fn runner_names_stay_within_the_runners_64_characters() {
        // A 20-digit run id and a 3-digit attempt: 32 + 1 + 20 + 1 + 3 + 1 +
        // 8 = 66 characters, over the runner's 64.
        let long_run = [
            ("GITHUB_RUN_ID", "12345678901234567890"),
            ("GITHUB_RUN_ATTEMPT", "100"),
        ];
        let name = "n".repeat(32);
        let p = only(&[("name", &name)], &long_run);
        assert_eq!(p.input, "name");
        says(&p, &["66 characters", "allows 64", "at most 30 characters"]);
        assert!(ok(&[("name", &"n".repeat(30))], &long_run).name.len() == 30);
        // A fleet's names are longer by -N.
        let p = only(&[("name", &"n".repeat(30)), ("count", "10")], &long_run);
        says(&p, &["67 characters", "-10"]);
        // Only a start makes runners.
        ok(&[("name", &name), ("mode", "stop")], &long_run);
    }

    #[test]
    fn tag_values_are_checked_after_their_placeholders_expand() {
        // 240 literal characters plus the repository (20) is over 256.
        let value = format!("{}{{repository}}", "v".repeat(240));
        let p = only(&[("tags", &format!("k={value}"))], &[]);
        assert_eq!(p.input, "tags");
        says(&p, &["'k'", "260 characters", "expanded", "256"]);
        let value = format!("{}{{repository}}", "v".repeat(236));
        assert_eq!(ok(&[("tags", &format!("k={value}"))], &[]).tags.len(), 1);
    }

    #[test]
    fn tag_values_may_not_start_with_aws() {
        for bad in ["team=aws:x", "team=AWS:prod", "team=Aws:"] {
            let p = only(&[("tags", bad)], &[]);
            assert_eq!(p.input, "tags");
            says(&p, &["'team'", "reserves"]);
        }
        assert_eq!(ok(&[("tags", "team=my-aws:x")], &[]).tags.len(), 1);
    }

    #[test]
    fn env_may_not_set_the_runners_arguments_in_any_case() {
        for key in [
            "actions_runner_input_jitconfig",
            "Actions_Runner_Input_Url",
            "ACTIONS_RUNNER_INPUT_TOKEN",
            "ACTIONS_RUNNER_INPUT_DISABLEUPDATE",
        ] {
            let p = only(&[("env", &format!("{key}=x"))], &[]);
            assert_eq!(p.input, "env");
            says(&p, &[key, "ACTIONS_RUNNER_INPUT_"]);
            assert!(!p.message.contains("=x"));
        }
        assert_eq!(
            ok(&[("env", "ACTIONS_RUNNER_HOOK_JOB_STARTED=/x")], &[])
                .env
                .len(),
            1
        );
    }

    #[test]
    fn env_must_leave_room_for_the_credential_in_the_overrides() {
        // 8192 - 5000 for the JIT configuration leaves about 3,100.
        let fits = format!("BIG={}", "x".repeat(2_900));
        assert_eq!(ok(&[("env", &fits)], &[]).env.len(), 1);
        let over = format!("BIG={}", "x".repeat(3_200));
        let p = only(&[("env", &over)], &[]);
        assert_eq!(p.input, "env");
        says(&p, &["8192", "5000", "shorten"]);
        // Placeholders count at their expanded length.
        let expands = format!("BIG={}{}", "x".repeat(2_900), "{repository}".repeat(20));
        says(&only(&[("env", &expands)], &[]), &["8192"]);
        // The same env fits once no JIT configuration must come with it.
        let stop = ok(&[("env", &over), ("mode", "stop")], &[]);
        assert_eq!(stop.env.len(), 1);
    }

    #[test]
    fn external_with_image_needs_no_subnets_and_no_efs_or_fargate() {
        let s = ok(
            &[
                ("image", "img"),
                ("launch-type", "EXTERNAL"),
                ("subnets", ""),
            ],
            &[],
        );
        assert_eq!(crate::aws::taskdef::network_mode(&s), "bridge");
        let p = only(
            &[
                ("image", "img"),
                ("launch-type", "EXTERNAL"),
                ("efs-id", "fs-0123abcd"),
            ],
            &[],
        );
        assert_eq!(p.input, "efs-id");
        says(&p, &["ECS Anywhere"]);
        let p = only(
            &[
                ("image", "img"),
                ("launch-type", "EXTERNAL"),
                ("capacity-fallback", "FARGATE"),
            ],
            &[],
        );
        assert_eq!(p.input, "capacity-fallback");
        says(&p, &["bridge", "FARGATE"]);
        let s = ok(&[("image", "img"), ("launch-type", "EC2")], &[]);
        assert_eq!(crate::aws::taskdef::network_mode(&s), "awsvpc");
    }

    #[test]
    fn efs_access_point_and_iam() {
        let s = ok(
            &[
                ("image", "img"),
                ("efs-id", "fs-0123abcd"),
                ("efs-access-point", "fsap-0123456789abcdef0"),
                ("efs-iam", "true"),
            ],
            &[],
        );
        let spec = s.task_spec.unwrap();
        assert_eq!(
            spec.efs_access_point.as_deref(),
            Some("fsap-0123456789abcdef0")
        );
        assert!(spec.efs_iam);
        let p = only(
            &[
                ("image", "img"),
                ("efs-id", "fs-0123abcd"),
                ("efs-access-point", "ap-1"),
            ],
            &[],
        );
        assert_eq!(p.input, "efs-access-point");
        says(&p, &["'ap-1'", "fsap-"]);
        for name in ["efs-access-point", "efs-iam"] {
            let value = if name == "efs-iam" {
                "true"
            } else {
                "fsap-0123456789abcdef0"
            };
            let p = only(&[("image", "img"), (name, value)], &[]);
            assert_eq!(p.input, name);
            says(&p, &["only with `efs-id`"]);
        }
    }

    #[test]
    fn label_count_includes_the_added_labels_once() {
        // 5 added labels + 94 + the runner id = 100.
        let many: Vec<String> = (0..94).map(|i| format!("l{i}")).collect();
        // Repeating added labels (any case) does not count twice.
        let with_repeats = format!(
            "{} LINUX self-hosted X64 ephemeral github-ecs-runner",
            many.join(",")
        );
        assert_eq!(ok(&[("labels", &with_repeats)], &[]).labels.len(), 99);
        let too_many = format!("{},one-more", many.join(","));
        let p = only(&[("labels", &too_many)], &[]);
        assert_eq!(p.input, "labels");
        says(&p, &["101", "at most 100"]);
    }

    // ---- workdir, context ----

    #[test]
    fn workdir_rejects_newlines() {
        assert_eq!(
            ok(&[("workdir", "/tmp/work dir")], &[]).workdir,
            "/tmp/work dir"
        );
        let p = only(&[("workdir", "a\nb")], &[]);
        assert_eq!(p.input, "workdir");
        says(&p, &["'a\\nb'", "newline"]);
    }

    #[test]
    fn context_forms() {
        assert_eq!(
            ok(&[("context", "my-org")], &[]).scope,
            Scope::Org {
                org: "my-org".into()
            }
        );
        assert_eq!(
            ok(&[("context", "me/repo_1.x")], &[("GITHUB_REPOSITORY", "")]).scope,
            Scope::Repo {
                owner: "me".into(),
                repo: "repo_1.x".into()
            }
        );
        for bad in ["a/b/c", "org.name", "me/..", "/repo", "-org", "me/"] {
            let p = only(&[("context", bad)], &[]);
            assert_eq!(p.input, "context");
            says(&p, &[&show(bad), "owner/repo", "organization"]);
        }
    }

    #[test]
    fn context_needs_an_input_or_github_repository() {
        let p = only(&[], &[("GITHUB_REPOSITORY", "")]);
        assert_eq!(p.input, "context");
        says(&p, &["GITHUB_REPOSITORY", "context"]);
        let p = only(&[], &[("GITHUB_REPOSITORY", "not a repo")]);
        assert_eq!(p.input, "context");
        says(&p, &["'not a repo'", "from GITHUB_REPOSITORY"]);
    }

    // ---- task definition, cluster ----

    #[test]
    fn task_definition_forms() {
        for good in [
            "runner",
            "runner:12",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/runner:3",
            "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task-definition/r_1:1",
        ] {
            assert_eq!(ok(&[("task-definition", good)], &[]).task_definition, good);
        }
        for bad in [
            "runner:0",
            "runner:latest",
            "run.ner",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/runner",
            "arn:aws:ec2:us-east-1:123456789012:task-definition/runner:1",
            "arn:aws:ecs:us-east-1:1234:task-definition/runner:1",
        ] {
            let p = only(&[("task-definition", bad)], &[]);
            assert_eq!(p.input, "task-definition");
            says(
                &p,
                &[
                    &show(bad),
                    "family:revision",
                    "task-definition/family:revision",
                ],
            );
        }
    }

    #[test]
    fn cluster_input_then_environment_then_default() {
        assert_eq!(
            ok(&[("cluster", "ci")], &[("ECS_CLUSTER_NAME", "env")]).cluster,
            "ci"
        );
        assert_eq!(
            ok(&[], &[("ECS_CLUSTER_NAME", "env-cluster")]).cluster,
            "env-cluster"
        );
        let arn = "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/ci";
        assert_eq!(ok(&[("cluster", arn)], &[]).cluster, arn);
        let p = only(&[], &[("ECS_CLUSTER_NAME", "bad name")]);
        assert_eq!(p.input, "cluster");
        says(&p, &["'bad name'", "ECS_CLUSTER_NAME", "1 to 255"]);
        let p = only(
            &[("cluster", "arn:aws:ecs:us-west-2:123456789012:service/x")],
            &[],
        );
        says(&p, &["cluster/NAME"]);
    }

    // ---- placement ----

    #[test]
    fn launch_type_values() {
        let p = only(&[("launch-type", "FARGATE_SPOT")], &[]);
        assert_eq!(p.input, "launch-type");
        says(
            &p,
            &[
                "'FARGATE_SPOT'",
                "FARGATE, EC2 or EXTERNAL",
                "capacity-provider-strategy",
            ],
        );
        let external = ok(&[("launch-type", "External")], &[]);
        assert_eq!(external.placement, Placement::LaunchType("EXTERNAL".into()));
    }

    #[test]
    fn capacity_provider_strategy_entries() {
        let s = ok(
            &[(
                "capacity-provider-strategy",
                "FARGATE_SPOT:3:1, FARGATE:1\nmine",
            )],
            &[],
        );
        assert_eq!(
            s.placement,
            Placement::CapacityProviders(vec![
                CapacityProvider {
                    provider: "FARGATE_SPOT".into(),
                    weight: Some(3),
                    base: Some(1)
                },
                CapacityProvider {
                    provider: "FARGATE".into(),
                    weight: Some(1),
                    base: None
                },
                CapacityProvider {
                    provider: "mine".into(),
                    weight: None,
                    base: None
                },
            ])
        );
        for bad in [
            "FARGATE:1001",
            "FARGATE:1:100001",
            "FARGATE:-1",
            "FARGATE:1:2:3",
            "FAR GATE:x",
            ":1",
        ] {
            let found = problems(&[("capacity-provider-strategy", bad)], &[]);
            let p = &found[0];
            assert_eq!(p.input, "capacity-provider-strategy");
            says(p, &["provider:weight:base", "0 to 1000", "0 to 100000"]);
        }
    }

    #[test]
    fn capacity_provider_strategy_limits() {
        let p = only(&[("capacity-provider-strategy", "A:1:1 B:1:2")], &[]);
        says(&p, &["A, B", "only one"]);
        let p = only(&[("capacity-provider-strategy", "A:1 A:2")], &[]);
        says(&p, &["'A'", "twice"]);
        let many: Vec<String> = (0..21).map(|i| format!("p{i}")).collect();
        let p = only(&[("capacity-provider-strategy", &many.join(","))], &[]);
        says(&p, &["21", "at most 20"]);
    }

    #[test]
    fn launch_type_and_strategy_are_exclusive() {
        let p = only(
            &[
                ("launch-type", "EC2"),
                ("capacity-provider-strategy", "FARGATE"),
            ],
            &[],
        );
        assert_eq!(p.input, "launch-type");
        says(&p, &["capacity-provider-strategy", "both"]);
    }

    #[test]
    fn platform_version_forms() {
        assert_eq!(
            ok(&[("platform-version", "1.4.0")], &[])
                .platform_version
                .as_deref(),
            Some("1.4.0")
        );
        for bad in ["1.4", "v1.4.0", "1.x.0"] {
            let p = only(&[("platform-version", bad)], &[]);
            says(&p, &[&show(bad), "LATEST", "1.4.0"]);
        }
    }

    // ---- subnets and security groups ----

    #[test]
    fn fargate_needs_subnets_to_start() {
        for inputs in [
            vec![("subnets", "")],
            vec![
                ("subnets", ""),
                ("capacity-provider-strategy", "EC2CP:1,FARGATE_SPOT:1"),
            ],
        ] {
            let p = only(&inputs, &[]);
            assert_eq!(p.input, "subnets");
            says(&p, &["awsvpc", "subnets-tag", "ECS_SUBNETS"]);
        }
        // EC2 tasks may use bridge or host networking; stop and reap run none.
        assert_eq!(
            ok(&[("subnets", ""), ("launch-type", "EC2")], &[]).subnets,
            Lookup::None
        );
        for mode in ["stop", "reap"] {
            let s = ok(&[("subnets", ""), ("mode", mode)], &[("GITHUB_RUN_ID", "")]);
            assert_eq!(s.subnets, Lookup::None);
        }
        assert_eq!(
            ok(
                &[("subnets", ""), ("capacity-provider-strategy", "mine")],
                &[]
            )
            .subnets,
            Lookup::None
        );
    }

    #[test]
    fn subnets_from_tag_or_environment() {
        let s = ok(
            &[("subnets", ""), ("subnets-tag", "Name: ci:runners ")],
            &[],
        );
        assert_eq!(
            s.subnets,
            Lookup::Tag {
                key: "Name".into(),
                value: "ci:runners".into()
            }
        );
        let s = ok(
            &[("subnets", "")],
            &[("ECS_SUBNETS", "subnet-01234567, subnet-89abcdef")],
        );
        assert_eq!(
            s.subnets,
            Lookup::Ids(vec!["subnet-01234567".into(), "subnet-89abcdef".into()])
        );
        // The input wins over the environment.
        let s = ok(&[], &[("ECS_SUBNETS", "subnet-01234567")]);
        assert_eq!(s.subnets, Lookup::Ids(vec![SUBNET.into()]));
        let p = only(&[("subnets", "")], &[("ECS_SUBNETS", "subnet-nothex1")]);
        assert_eq!(p.input, "subnets");
        says(&p, &["'subnet-nothex1'", "ECS_SUBNETS"]);
    }

    #[test]
    fn subnet_ids_and_tags_are_checked() {
        for bad in [
            "subnet-0123456",
            "subnet-0123456789",
            "subnet-0123456789abcdef01",
            "subnet-0123456789ABCDEF0",
            "sg-01234567",
            "0123456789abcdef0",
        ] {
            let p = only(&[("subnets", bad)], &[]);
            assert_eq!(p.input, "subnets");
            says(&p, &[&show(bad), "subnet-", "8 or 17"]);
        }
        let p = only(&[("subnets-tag", "Name:x")], &[]);
        assert_eq!(p.input, "subnets");
        says(&p, &["subnets-tag", "both"]);
        for bad in ["Name", ":value"] {
            let p = only(
                &[
                    ("subnets", ""),
                    ("subnets-tag", bad),
                    ("launch-type", "EC2"),
                ],
                &[],
            );
            assert_eq!(p.input, "subnets-tag");
            says(&p, &[&show(bad), "key:value"]);
        }
    }

    #[test]
    fn repeated_ids_are_kept_once_and_counts_are_limited() {
        let s = ok(&[("subnets", &format!("{SUBNET} {SUBNET}"))], &[]);
        assert_eq!(s.subnets, Lookup::Ids(vec![SUBNET.into()]));
        let seventeen: Vec<String> = (0..17).map(|i| format!("subnet-{i:08x}")).collect();
        let p = only(&[("subnets", &seventeen.join(","))], &[]);
        says(&p, &["17", "at most 16"]);
        let six: Vec<String> = (0..6).map(|i| format!("sg-{i:017x}")).collect();
        let p = only(&[("security-groups", &six.join(" "))], &[]);
        assert_eq!(p.input, "security-groups");
        says(&p, &["6", "at most 5"]);
    }

    #[test]
    fn security_groups_ids_tag_or_environment() {
        let s = ok(
            &[("security-groups", "sg-01234567 sg-0123456789abcdef0")],
            &[],
        );
        assert_eq!(
            s.security_groups,
            Lookup::Ids(vec!["sg-01234567".into(), "sg-0123456789abcdef0".into()])
        );
        let s = ok(&[("security-groups-tag", "role:runner")], &[]);
        assert_eq!(
            s.security_groups,
            Lookup::Tag {
                key: "role".into(),
                value: "runner".into()
            }
        );
        let s = ok(&[], &[("ECS_SECURITY_GROUPS", "sg-89abcdef")]);
        assert_eq!(s.security_groups, Lookup::Ids(vec!["sg-89abcdef".into()]));
        let p = only(&[("security-groups", "default")], &[]);
        says(&p, &["'default'", "security group id", "sg-"]);
        let p = only(
            &[
                ("security-groups", "sg-01234567"),
                ("security-groups-tag", "a:b"),
            ],
            &[],
        );
        assert_eq!(p.input, "security-groups");
    }

    // ---- the simple enumerations and numbers ----

    #[test]
    fn assign_public_ip_values() {
        for (raw, want) in [
            ("ENABLED", true),
            ("True", true),
            ("disabled", false),
            ("FALSE", false),
        ] {
            assert_eq!(
                ok(&[("assign-public-ip", raw)], &[]).assign_public_ip,
                want,
                "{raw}"
            );
        }
        let p = only(&[("assign-public-ip", "yes")], &[]);
        says(&p, &["'yes'", "ENABLED, DISABLED, true or false"]);
    }

    #[test]
    fn container_name_rules() {
        assert_eq!(
            ok(&[("container-name", "runner_1")], &[])
                .container_name
                .as_deref(),
            Some("runner_1")
        );
        let p = only(&[("container-name", "run ner")], &[]);
        says(&p, &["'run ner'", "1 to 255"]);
    }

    #[test]
    fn runner_group_registration_timeout_and_max_age() {
        let s = ok(
            &[
                ("runner-group", "7"),
                ("timeout", "86400"),
                ("max-age", "0"),
                ("mode", "reap"),
            ],
            &[],
        );
        assert_eq!((s.runner_group, s.timeout_s, s.max_age_min), (7, 86400, 0));
        let org = ok(
            &[("runner-group", "ECS runners"), ("context", "octo-org")],
            &[],
        );
        assert_eq!(org.runner_group_name.as_deref(), Some("ECS runners"));
        assert_eq!(ok(&[("runner-group", "default")], &[]).runner_group, 1);
        assert!(!ok(&[("default-labels", "false")], &[]).default_labels);
        assert!(ok(&[], &[]).default_labels);
        for (input, bad, allowed) in [
            ("runner-group", "0", "positive integer"),
            ("runner-group", "+3", "positive integer"),
            ("registration", "pat", "jit or token"),
            ("timeout", "0", "1 to 86400"),
            ("timeout", "86401", "1 to 86400"),
            ("timeout", "10m", "1 to 86400"),
            ("max-age", "-1", "0 or more"),
            ("max-age", "1.5", "0 or more"),
        ] {
            let p = only(&[(input, bad)], &[]);
            assert_eq!(p.input, input);
            says(&p, &[&show(bad), allowed]);
        }
    }

    #[test]
    fn booleans_follow_get_boolean_input() {
        for input in ["wait-for-registration", "debug", "dry-run"] {
            for (raw, want) in [
                ("true", true),
                ("True", true),
                ("TRUE", true),
                ("False", false),
            ] {
                let s = ok(&[(input, raw)], &[]);
                let got = match input {
                    "debug" => s.debug,
                    "dry-run" => s.dry_run,
                    _ => s.wait_for_registration,
                };
                assert_eq!(got, want, "{input}={raw}");
            }
            for bad in ["yes", "no", "on", "1", "0", "tRue"] {
                let p = only(&[(input, bad)], &[]);
                assert_eq!(p.input, input);
                says(&p, &[&show(bad), "true, True, TRUE, false, False or FALSE"]);
            }
        }
    }

    #[test]
    fn runner_debug_turns_debug_on() {
        assert!(ok(&[], &[("RUNNER_DEBUG", "1")]).debug);
        assert!(!ok(&[], &[("RUNNER_DEBUG", "0")]).debug);
    }

    // ---- tags and env ----

    #[test]
    fn tags_are_key_value_pairs() {
        let s = ok(&[("tags", "team=ci, cost=a=b\nempty= path=/x:y@z")], &[]);
        assert_eq!(
            s.tags,
            [
                ("team".to_string(), "ci".to_string()),
                ("cost".into(), "a=b".into()),
                ("empty".into(), "".into()),
                ("path".into(), "/x:y@z".into())
            ]
        );
    }

    #[test]
    fn tag_problems() {
        for (bad, fragment) in [
            ("team", "key=value"),
            ("=x", "key 1 to 128"),
            ("a*b=c", "key 1 to 128"),
            ("AWS:x=1", "reserved"),
            ("ecs-runner:run-id=1", "reserved"),
        ] {
            let p = only(&[("tags", bad)], &[]);
            assert_eq!(p.input, "tags");
            says(&p, &[fragment]);
            assert!(
                p.message.contains(&show(bad))
                    || p.message.contains(&show(bad.split('=').next().unwrap()))
            );
        }
        let p = only(&[("tags", &format!("{}=v", "k".repeat(129)))], &[]);
        says(&p, &["key 1 to 128"]);
        let p = only(&[("tags", &format!("k={}", "v".repeat(257)))], &[]);
        says(&p, &["value up to 256"]);
        let p = only(&[("tags", "a=1 a=2")], &[]);
        says(&p, &["'a'", "twice"]);
        let many: Vec<String> = (0..45).map(|i| format!("k{i}=v")).collect();
        let p = only(&[("tags", &many.join(","))], &[]);
        says(&p, &["45", "at most 44"]);
        let max: Vec<String> = (0..44).map(|i| format!("k{i}=v")).collect();
        assert_eq!(ok(&[("tags", &max.join(","))], &[]).tags.len(), 44);
    }

    #[test]
    fn env_lines_keep_spaces_commas_and_equals_in_values() {
        let s = ok(
            &[(
                "env",
                "# settings\nGREETING=hello, world\n\n  OPTS=--a=b --c\nEMPTY=\n_X1=1",
            )],
            &[],
        );
        assert_eq!(
            s.env,
            [
                ("GREETING".to_string(), "hello, world".to_string()),
                ("OPTS".into(), "--a=b --c".into()),
                ("EMPTY".into(), "".into()),
                ("_X1".into(), "1".into())
            ]
        );
    }

    #[test]
    fn env_problems_never_show_values() {
        let found = problems(
            &[(
                "env",
                "GOOD=1\nno-equals-s3cr3t\n1BAD=s3cr3t\nRUNNER_TOKEN=s3cr3t\nGOOD=s3cr3t",
            )],
            &[],
        );
        let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(found.len(), 4, "{messages:?}");
        assert!(found.iter().all(|p| p.input == "env"));
        says(&found[0], &["line 2", "KEY=VALUE"]);
        says(&found[1], &["line 3", "'1BAD'", "not a variable name"]);
        says(
            &found[2],
            &[
                "line 4",
                "RUNNER_TOKEN",
                "set by the action",
                "ACTIONS_RUNNER_INPUT_JITCONFIG",
            ],
        );
        says(&found[3], &["line 5", "GOOD", "twice"]);
        assert!(
            messages.iter().all(|m| !m.contains("s3cr3t")),
            "{messages:?}"
        );
    }

    #[test]
    fn every_reserved_env_name_is_refused() {
        for key in RESERVED_ENV {
            let p = only(&[("env", &format!("{key}=x"))], &[]);
            assert_eq!(p.input, "env");
        }
    }

    // ---- runners from an image ----

    #[test]
    fn image_and_its_companions_make_a_task_spec() {
        let s = ok(&[("image", "ghcr.io/actions/actions-runner:latest")], &[]);
        let spec = s.task_spec.expect("a spec");
        assert_eq!((spec.cpu, spec.memory, spec.arch), (1024, 2048, Arch::X64));
        assert_eq!(spec.command, ["/home/runner/run.sh"]);
        assert_eq!(
            (spec.execution_role, spec.log_group, spec.efs),
            (None, None, None)
        );
        assert_eq!(
            s.task_definition, "github-ecs-runner",
            "the family is `name`"
        );
        let s = ok(
            &[
                ("image", "img:1"),
                ("cpu", "2048"),
                ("memory", "8192"),
                ("architecture", "arm64"),
                ("execution-role", "ecs-runner-execution"),
                ("log-group", "/ecs-runner"),
                ("efs-path", "/cache"),
                ("ephemeral-storage", "50"),
                ("command", "[\"/bin/sh\", \"-c\", \"run.sh\"]"),
            ],
            &[
                ("ECS_TASK_ROLE", "arn:aws:iam::123456789012:role/task"),
                ("EFS_ID", "fs-0123abcd"),
            ],
        );
        let spec = s.task_spec.unwrap();
        assert_eq!(
            (spec.cpu, spec.memory, spec.arch),
            (2048, 8192, Arch::Arm64)
        );
        assert_eq!(
            spec.task_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/task")
        );
        assert_eq!(spec.efs, Some(("fs-0123abcd".into(), "/cache".into())));
        assert_eq!(spec.ephemeral_storage_gib, Some(50));
        assert_eq!(spec.command, ["/bin/sh", "-c", "run.sh"]);
        assert_eq!(s.run.arch, "ARM64", "the label follows the task");
        let words = ok(&[("image", "img"), ("command", "/bin/run  --once")], &[]);
        assert_eq!(words.task_spec.unwrap().command, ["/bin/run", "--once"]);
    }

    #[test]
    fn image_input_errors_name_the_input_and_what_is_allowed() {
        let p = only(&[("image", "img"), ("task-definition", "td")], &[]);
        says(&p, &["`task-definition` and `image`"]);
        let p = only(&[("image", "img"), ("memory", "1000")], &[]);
        assert_eq!(p.input, "memory");
        says(
            &p,
            &[
                "cpu 1024 with memory 1000",
                "cpu 1024: memory 2048 to 8192 in steps of 1024",
            ],
        );
        let p = only(&[("image", "img"), ("cpu", "300")], &[]);
        assert_eq!(p.input, "cpu");
        let p = only(&[("image", "img"), ("log-group", "/x")], &[]);
        assert_eq!(p.input, "log-group");
        says(&p, &["execution-role", "ECS_EXECUTION_ROLE"]);
        let p = only(
            &[
                ("image", "img"),
                ("architecture", "ARM64"),
                ("capacity-provider-strategy", "FARGATE_SPOT:1"),
            ],
            &[],
        );
        assert_eq!(p.input, "architecture");
        says(&p, &["Fargate Spot"]);
        let p = only(&[("image", "img"), ("architecture", "mips")], &[]);
        says(&p, &["'mips'", "X64 or ARM64"]);
        let p = only(&[("cpu", "1024")], &[]);
        assert_eq!(p.input, "cpu");
        says(&p, &["only with `image`"]);
        let p = only(
            &[("image", "img"), ("execution-role", "arn:aws:s3:::bucket")],
            &[],
        );
        assert_eq!(p.input, "execution-role");
        let p = only(&[("image", "img"), ("efs-id", "efs-1")], &[]);
        assert_eq!(p.input, "efs-id");
        let p = only(&[("image", "img"), ("efs-path", "/x")], &[]);
        says(&p, &["only with `efs-id`"]);
        let p = only(&[("image", "img"), ("ephemeral-storage", "10")], &[]);
        says(&p, &["'10'", "21 to 200"]);
        let p = only(
            &[
                ("image", "img"),
                ("ephemeral-storage", "30"),
                ("launch-type", "EC2"),
                ("subnets", ""),
            ],
            &[],
        );
        says(&p, &["Fargate tasks only"]);
        let p = only(&[("image", "img"), ("command", "[1]")], &[]);
        says(&p, &["JSON array of strings"]);
        let p = only(&[("image", "my image")], &[]);
        assert_eq!(p.input, "image");
    }

    #[test]
    fn placeholders_in_env_and_tags_are_checked() {
        let s = ok(
            &[
                ("env", "A=/c/{runner_name}"),
                ("tags", "r={runner_name},i={index}"),
            ],
            &[],
        );
        assert_eq!(s.env, [("A".to_string(), "/c/{runner_name}".to_string())]);
        assert_eq!(s.tags[1], ("i".to_string(), "{index}".to_string()));
        let p = only(&[("env", "A={nope}")], &[]);
        assert_eq!(p.input, "env");
        says(
            &p,
            &[
                "unknown placeholder {nope}",
                "{runner_name}, {runner_id}, {index}, {run_id}",
            ],
        );
        let p = only(&[("tags", "r={runner")], &[]);
        assert_eq!(p.input, "tags");
        says(&p, &["without its '}'"]);
    }

    // ---- fleets ----

    #[test]
    fn count_is_a_whole_number_from_1_to_100() {
        assert_eq!(ok(&[], &[]).count, 1);
        assert_eq!(ok(&[("count", "8")], &[]).count, 8);
        assert_eq!(ok(&[("count", "100")], &[]).count, 100);
        for bad in ["0", "101", "-1", "2.5", "many", "1e2"] {
            let p = only(&[("count", bad)], &[]);
            assert_eq!(p.input, "count");
            says(&p, &[&show(bad), "1 to 100"]);
        }
    }

    #[test]
    fn a_fleet_counts_each_runners_own_name_among_the_labels() {
        // self-hosted, Linux, X64, ephemeral, the name, the runner id: 6;
        // 94 user labels make 100, a fleet's own names one more.
        let labels: Vec<String> = (0..94).map(|i| format!("l{i}")).collect();
        let labels = labels.join(",");
        assert_eq!(ok(&[("labels", &labels)], &[]).labels.len(), 94);
        let p = only(&[("labels", &labels), ("count", "2")], &[]);
        assert_eq!(p.input, "labels");
        says(&p, &["101", "each runner's name"]);
    }

    #[test]
    fn capacity_fallback_is_a_launch_type_or_a_strategy_other_than_the_placement() {
        let s = ok(
            &[
                ("capacity-provider-strategy", "FARGATE_SPOT:1"),
                ("capacity-fallback", "fargate"),
            ],
            &[],
        );
        assert_eq!(
            s.capacity_fallback,
            Some(Placement::LaunchType("FARGATE".into()))
        );
        let s = ok(&[("capacity-fallback", "FARGATE_SPOT:2,FARGATE:1:1")], &[]);
        assert_eq!(
            s.capacity_fallback,
            Some(Placement::CapacityProviders(vec![
                CapacityProvider {
                    provider: "FARGATE_SPOT".into(),
                    weight: Some(2),
                    base: None
                },
                CapacityProvider {
                    provider: "FARGATE".into(),
                    weight: Some(1),
                    base: Some(1)
                },
            ]))
        );
        let p = only(&[("capacity-fallback", "FARGATE")], &[]);
        assert_eq!(p.input, "capacity-fallback");
        says(&p, &["'FARGATE'", "already"]);
        let p = only(&[("capacity-fallback", "spot:x")], &[]);
        assert_eq!(p.input, "capacity-fallback");
        says(&p, &["'spot:x'", "provider:weight"]);
    }

    #[test]
    fn task_arn_takes_a_json_array_or_a_list() {
        let a = "arn:aws:ecs:us-west-2:123456789012:task/ci/0123456789abcdef0123456789abcdef";
        let b = "arn:aws:ecs:us-west-2:123456789012:task/ci/ffff456789abcdef0123456789abcdef";
        let stop = |v: &str| ok(&[("mode", "stop"), ("task-arn", v)], &[]).task_arns;
        assert_eq!(stop(&format!("[\"{a}\",\"{b}\"]")), [a, b]);
        assert_eq!(
            stop(&format!("{a}, {b}\n{a}")),
            [a, b],
            "repeats are kept once"
        );
        assert_eq!(stop(&format!("{a}\n\n{b}\n")), [a, b]);
        let p = only(&[("mode", "stop"), ("task-arn", "[\"x\",")], &[]);
        assert_eq!(p.input, "task-arn");
        says(&p, &["JSON array", "task_arns"]);
        let p = only(
            &[
                ("mode", "stop"),
                ("task-arn", &format!("[\"{a}\",\"bad/one\"]")),
            ],
            &[],
        );
        says(&p, &["'bad/one'", "task ARN"]);
        let many: Vec<String> = (0..101).map(|i| format!("{i:032x}")).collect();
        let p = only(&[("mode", "stop"), ("task-arn", &many.join(","))], &[]);
        says(&p, &["101 tasks", "at most 100"]);
    }

    // ---- stop inputs ----

    #[test]
    fn task_arn_and_runner_id() {
        for good in [
            "arn:aws:ecs:us-west-2:123456789012:task/ci/0123456789abcdef0123456789abcdef",
            "arn:aws:ecs:us-west-2:123456789012:task/1dc5c17a-422b-4dc4-b493-371970c6c4d6",
            "0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(
                ok(&[("mode", "stop"), ("task-arn", good)], &[]).task_arns,
                [good]
            );
        }
        for bad in [
            "arn:aws:ecs:us-west-2:123456789012:cluster/ci",
            "task#id",
            "a/b",
        ] {
            let p = only(&[("mode", "stop"), ("task-arn", bad)], &[]);
            assert_eq!(p.input, "task-arn");
            says(&p, &[&show(bad), "task ARN", "task id"]);
        }
        let id = "github-ecs-runner-9876543210-2-0a1b2c3d";
        assert_eq!(
            ok(&[("mode", "stop"), ("runner-id", id)], &[])
                .runner_id
                .as_deref(),
            Some(id)
        );
        let p = only(&[("mode", "stop"), ("runner-id", &"r".repeat(65))], &[]);
        says(&p, &["1 to 64"]);
    }

    // ---- environment ----

    #[test]
    fn region_from_aws_region_then_default_region() {
        assert_eq!(
            ok(&[], &[("AWS_DEFAULT_REGION", "eu-west-1")]).region,
            "us-west-2"
        );
        let s = ok(
            &[],
            &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "us-gov-west-1")],
        );
        assert_eq!(s.region, "us-gov-west-1");
        assert_eq!(s.endpoints.ecs, "https://ecs.us-gov-west-1.amazonaws.com");
        let s = ok(&[], &[("AWS_REGION", "cn-north-1")]);
        assert_eq!(s.endpoints.ec2, "https://ec2.cn-north-1.amazonaws.com.cn");
    }

    #[test]
    fn region_problems() {
        let p = only(&[], &[("AWS_REGION", "")]);
        assert_eq!(p.input, "AWS_REGION");
        says(
            &p,
            &[
                "AWS_DEFAULT_REGION",
                "aws-actions/configure-aws-credentials",
                "aws-region",
            ],
        );
        for bad in ["us_west_2", "US-WEST-2", "uswest2", "us-west"] {
            let p = only(&[], &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", bad)]);
            assert_eq!(p.input, "AWS_DEFAULT_REGION");
            says(&p, &[&show(bad), "us-west-2"]);
        }
    }

    #[test]
    fn credentials_are_required_and_never_shown() {
        // One key without the other names the missing one.
        let found = problems(
            &[],
            &[
                ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", ""),
            ],
        );
        let inputs: Vec<&str> = found.iter().map(|p| p.input.as_str()).collect();
        assert_eq!(inputs, ["AWS_SECRET_ACCESS_KEY"]);
        says(&found[0], &["configure-aws-credentials"]);
        assert!(!found[0].to_string().contains("AKIDEXAMPLE"));
        // None anywhere, and IMDS switched off: what was tried.
        let found = problems(
            &[],
            &[
                ("AWS_ACCESS_KEY_ID", ""),
                ("AWS_SECRET_ACCESS_KEY", ""),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].to_string().split(':').next().unwrap(),
            "Environment variable 'AWS_ACCESS_KEY_ID'"
        );
        says(
            &found[0],
            &[
                "no AWS credentials found",
                "role-to-assume",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_EC2_METADATA_DISABLED=true",
            ],
        );
    }

    #[test]
    fn the_credential_chain_follows_the_sdks_order() {
        use crate::settings::Source;
        let no_keys = [("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")];
        let with = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
            no_keys
                .iter()
                .chain(extra.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        fn env(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
            pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
        }
        assert_eq!(ok(&[], &[]).credential_source, Source::Environment);
        let oidc = [
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "https://token.actions.example/x?api-version=2.0",
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req-token"),
        ];
        let s = ok(
            &[("role-to-assume", "arn:aws:iam::123456789012:role/launcher")],
            &oidc,
        );
        match s.credential_source {
            Source::GitHubOidc {
                role_arn,
                session_name,
                duration_s,
                audience,
                ..
            } => {
                assert_eq!(role_arn, "arn:aws:iam::123456789012:role/launcher");
                assert_eq!(
                    (session_name.as_str(), duration_s, audience.as_str()),
                    ("ecs-runner-9876543210", 3600, "sts.amazonaws.com")
                );
            }
            other => panic!("{other:?}"),
        }
        let p = only(
            &[("role-to-assume", "arn:aws:iam::123456789012:role/launcher")],
            &[],
        );
        assert_eq!(p.input, "role-to-assume");
        says(&p, &["permissions: id-token: write"]);
        let p = only(&[("role-to-assume", "launcher")], &oidc);
        says(&p, &["'launcher'", "role ARN"]);
        let p = only(
            &[
                ("role-to-assume", "arn:aws:iam::123456789012:role/x"),
                ("role-duration-seconds", "60"),
            ],
            &oidc,
        );
        says(&p, &["900 to 43200"]);
        let p = only(&[("audience", "x")], &[]);
        says(&p, &["only with `role-to-assume`"]);
        let e = with(&[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod"),
            ("AWS_ROLE_SESSION_NAME", "pod-session"),
        ]);
        assert_eq!(
            ok(&[], &env(&e)).credential_source,
            Source::WebIdentityFile {
                role_arn: "arn:aws:iam::123456789012:role/pod".into(),
                session_name: "pod-session".into(),
                token_file: "/var/run/token".into()
            }
        );
        let e = with(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")]);
        assert_eq!(only(&[], &env(&e)).input, "AWS_ROLE_ARN");
        let e = with(&[(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/abc",
        )]);
        assert_eq!(
            ok(&[], &env(&e)).credential_source,
            Source::Container {
                url: "http://169.254.170.2/v2/credentials/abc".into(),
                token: None,
                token_file: None
            }
        );
        let e = with(&[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:9911/creds",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"),
        ]);
        assert_eq!(
            ok(&[], &env(&e)).credential_source,
            Source::Container {
                url: "http://127.0.0.1:9911/creds".into(),
                token: Some("tok".into()),
                token_file: None
            }
        );
        let e = with(&[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://10.0.0.1/creds",
        )]);
        assert_eq!(
            only(&[], &env(&e)).input,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI"
        );
        let e = with(&[(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://127.0.0.1:9922/",
        )]);
        assert_eq!(
            ok(&[], &env(&e)).credential_source,
            Source::Imds {
                endpoint: "http://127.0.0.1:9922".into()
            }
        );
        let e = with(&[]);
        assert_eq!(
            ok(&[], &env(&e)).credential_source,
            Source::Imds {
                endpoint: "http://169.254.169.254".into()
            }
        );
    }

    #[test]
    fn endpoint_overrides() {
        let s = ok(&[], &[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/")]);
        assert_eq!(
            s.endpoints,
            Endpoints {
                ecs: "http://127.0.0.1:5000".into(),
                ec2: "http://127.0.0.1:5000".into(),
                logs: "http://127.0.0.1:5000".into(),
                sts: "http://127.0.0.1:5000".into()
            }
        );
        let s = ok(
            &[],
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                ("AWS_ENDPOINT_URL_ECS", "https://ecs.local//"),
            ],
        );
        assert_eq!(
            s.endpoints,
            Endpoints {
                ecs: "https://ecs.local".into(),
                ec2: "http://127.0.0.1:5000".into(),
                logs: "http://127.0.0.1:5000".into(),
                sts: "http://127.0.0.1:5000".into()
            }
        );
        let s = ok(&[], &[("AWS_ENDPOINT_URL_LOGS", "http://127.0.0.1:4999")]);
        assert_eq!(s.endpoints.logs, "http://127.0.0.1:4999");
        let s = ok(&[], &[("AWS_ENDPOINT_URL_EC2", "http://localhost:4566")]);
        assert_eq!(s.endpoints.ec2, "http://localhost:4566");
        assert_eq!(s.endpoints.ecs, "https://ecs.us-west-2.amazonaws.com");
        for (variable, bad) in [
            ("AWS_ENDPOINT_URL_ECS", "localhost:4566"),
            ("AWS_ENDPOINT_URL", "ftp://x"),
            ("GITHUB_API_URL", "https://"),
            ("GITHUB_SERVER_URL", "github.com"),
        ] {
            // Reported once even when the variable serves both services.
            let p = only(&[], &[(variable, bad)]);
            assert_eq!(p.input, variable);
            says(&p, &[&show(bad), "http://", "https://"]);
        }
    }

    #[test]
    fn run_id_is_required_only_to_start() {
        let p = only(&[], &[("GITHUB_RUN_ID", "")]);
        assert_eq!(p.input, "GITHUB_RUN_ID");
        says(&p, &["inside GitHub Actions", "set GITHUB_RUN_ID"]);
        assert_eq!(
            ok(&[("mode", "stop")], &[("GITHUB_RUN_ID", "")]).run.run_id,
            ""
        );
        let p = only(&[], &[("GITHUB_RUN_ID", "12 34")]);
        says(&p, &["'12 34'"]);
        let p = only(&[], &[("GITHUB_RUN_ATTEMPT", "0")]);
        assert_eq!(p.input, "GITHUB_RUN_ATTEMPT");
        let p = only(&[], &[("RUNNER_ARCH", "X 64")]);
        assert_eq!(p.input, "RUNNER_ARCH");
    }

    // ---- reporting ----

    #[test]
    fn every_problem_is_reported_together_in_input_order() {
        let found = problems(
            &[
                ("mode", "stop"),
                ("token", ""),
                ("name", "-bad"),
                ("cluster", "bad cluster"),
                ("subnets", "subnet-x"),
                ("timeout", "0"),
            ],
            &[("AWS_REGION", ""), ("AWS_SECRET_ACCESS_KEY", "")],
        );
        let inputs: Vec<&str> = found.iter().map(|p| p.input.as_str()).collect();
        assert_eq!(
            inputs,
            [
                "name",
                "token",
                "cluster",
                "subnets",
                "timeout",
                "AWS_REGION",
                "AWS_SECRET_ACCESS_KEY"
            ]
        );
    }

    #[test]
    fn describe_lists_every_problem() {
        let found = problems(&[("mode", "x"), ("timeout", "y")], &[("AWS_REGION", "")]);
        let text = describe(&found);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Invalid inputs; nothing was sent to AWS or GitHub:"
        );
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("- Input 'mode': 'x' is not a mode"));
        assert!(lines[2].starts_with("- Input 'timeout': 'y'"));
        assert!(lines[3].starts_with("- Environment variable 'AWS_REGION': "));
    }

    #[test]
    fn secrets_never_appear_in_any_message() {
        let other = "ghp_0therS3cret";
        let found = problems(
            &[
                ("github-token", other),
                (
                    "env",
                    &format!("RUNNER_TOKEN={TOKEN}\n{other}\nX={TOKEN}\nX={other}"),
                ),
            ],
            &[("AWS_ACCESS_KEY_ID", "")],
        );
        let inputs: Vec<&str> = found.iter().map(|p| p.input.as_str()).collect();
        assert_eq!(inputs, ["token", "env", "env", "env", "AWS_ACCESS_KEY_ID"]);
        let text = describe(&found);
        for secret in [TOKEN, other, SECRET_KEY] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn shown_values_are_cut_and_escaped() {
        let long = "z".repeat(200);
        let p = only(&[("mode", &long)], &[]);
        assert!(p
            .message
            .contains(&format!("'{}…'", "z".repeat(SHOWN_VALUE_MAX))));
        assert_eq!(show("a\u{1b}[31m"), "'a\\u{1b}[31m'");
    }
}
