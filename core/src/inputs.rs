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

use std::collections::BTreeSet;
use std::fmt;

use crate::protocol::Config;
use crate::settings::{
    AwsCredentials, CapacityProvider, Endpoints, Lookup, Mode, Placement, Registration,
    RunContext, Scope, Settings,
};

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
/// `runner-group` when not given: GitHub's "Default" group, the only one a
/// repository has.
pub const DEFAULT_RUNNER_GROUP: u64 = 1;
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

    let name = p.name();
    let token = p.token();
    let arch = p.arch();
    let labels = p.labels(&name, &arch);
    let workdir = p.workdir();
    let scope = p.scope();
    let task_definition = p.task_definition(&name, starting);
    let cluster = p.cluster();
    let placement = p.placement();
    let platform_version = p.platform_version();
    let subnets = p.lookup(&SUBNETS);
    let security_groups = p.lookup(&SECURITY_GROUPS);
    if starting && subnets == Lookup::None && placement.as_ref().is_some_and(uses_fargate) {
        p.report(
            "subnets",
            "Fargate tasks use the awsvpc network mode and need subnets: set `subnets` \
             (subnet ids) or `subnets-tag` (key:value to look them up by), or the \
             ECS_SUBNETS environment variable",
        );
    }
    let assign_public_ip = p.assign_public_ip();
    let container_name = p.container_name();
    let tags = p.tags();
    let env = p.env_lines();
    let runner_group = p.runner_group();
    let registration = p.registration();
    let timeout_s = p.timeout();
    let wait_for_registration = p.boolean("wait-for-registration");
    let debug = p.boolean("debug") || p.env("RUNNER_DEBUG") == Some("1");
    let task_arn = p.task_arn();
    let runner_id = p.runner_id();
    let max_age_min = p.max_age();
    let dry_run = p.boolean("dry-run");

    let region = p.region();
    let credentials = p.credentials();
    let endpoints = p.endpoints(&region);
    let github_api_url = p.url("GITHUB_API_URL", "https://api.github.com");
    let run = p.run_context(starting, arch);

    if !p.problems.is_empty() {
        return Err(p.problems);
    }
    Ok(Settings {
        // Every `None` below has recorded a problem, so these defaults are
        // never used; they only spare an unwrap.
        mode: mode.unwrap_or(Mode::Start),
        name,
        token,
        labels,
        workdir,
        scope: scope.unwrap_or(Scope::Org { org: String::new() }),
        task_definition,
        cluster,
        placement: placement.unwrap_or(Placement::LaunchType(DEFAULT_LAUNCH_TYPE.into())),
        platform_version,
        subnets,
        security_groups,
        assign_public_ip,
        container_name,
        tags,
        env,
        runner_group,
        registration,
        timeout_s,
        wait_for_registration,
        debug,
        task_arn,
        runner_id,
        max_age_min,
        dry_run,
        region,
        credentials,
        endpoints,
        github_api_url,
        run,
    })
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
                self.report("mode", format!("{} is not a mode; use start, stop or reap", show(raw)));
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
                format!("{} cannot be a runner label; expected X64, ARM64 or ARM", show(arch)),
            );
        }
        arch.to_string()
    }

    fn labels(&mut self, name: &str, arch: &str) -> Vec<String> {
        let labels: Vec<String> = split_list(self.input("labels"))
            .into_iter()
            .map(str::to_string)
            .collect();
        for label in &labels {
            if label.chars().count() > 100 {
                self.report(
                    "labels",
                    format!("label {} is longer than 100 characters", show(label)),
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
        let total = distinct.len() + 1;
        if total > MAX_LABELS {
            self.report(
                "labels",
                format!(
                    "{} labels given; with the ones the action adds (self-hosted, Linux, \
                     {arch}, ephemeral, the name and the runner id) that makes {total}, \
                     and GitHub allows at most {MAX_LABELS}",
                    labels.len()
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
                format!("{} contains a newline or control character; give one path", show(raw)),
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

    fn capacity_providers(&mut self, raw: &str) -> Option<Vec<CapacityProvider>> {
        let before = self.problems.len();
        let mut providers = Vec::new();
        let mut seen = BTreeSet::new();
        for item in split_list(raw) {
            match parse_capacity_provider(item) {
                Some(provider) => {
                    if !seen.insert(provider.provider.clone()) {
                        self.report(
                            "capacity-provider-strategy",
                            format!(
                                "capacity provider {} is listed twice",
                                show(&provider.provider)
                            ),
                        );
                    }
                    providers.push(provider);
                }
                None => self.report(
                    "capacity-provider-strategy",
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
                "capacity-provider-strategy",
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
                "capacity-provider-strategy",
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
                    format!("{} is not allowed; use ENABLED, DISABLED, true or false", show(raw)),
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
            let allowed = |s: &str| s.chars().all(|c| c.is_alphanumeric() || "+-=._:/@".contains(c));
            if !(1..=128).contains(&key_len)
                || value.chars().count() > 256
                || !allowed(key)
                || !allowed(value)
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
            } else {
                vars.push((key.to_string(), value.to_string()));
            }
        }
        vars
    }

    fn runner_group(&mut self) -> u64 {
        let raw = self.input("runner-group");
        if raw.is_empty() {
            return DEFAULT_RUNNER_GROUP;
        }
        match parse_uint(raw).filter(|&n| n > 0) {
            Some(n) => n,
            None => {
                self.report(
                    "runner-group",
                    format!(
                        "{} is not a runner group id; use a positive integer (1 is the \
                         Default group)",
                        show(raw)
                    ),
                );
                DEFAULT_RUNNER_GROUP
            }
        }
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

    fn task_arn(&mut self) -> Option<String> {
        let raw = self.input("task-arn");
        if raw.is_empty() {
            return None;
        }
        let ok = if raw.starts_with("arn:") {
            // task/ID (old format) or task/CLUSTER/ID.
            parse_ecs_arn(raw)
                .and_then(|resource| resource.strip_prefix("task/"))
                .is_some_and(|rest| {
                    let parts: Vec<&str> = rest.split('/').collect();
                    parts.len() <= 2 && parts.iter().all(|p| is_ecs_name(p))
                })
        } else {
            is_task_id(raw)
        };
        if !ok {
            self.report(
                "task-arn",
                format!(
                    "{} is not a task; use a task ARN \
                     (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID) or a task id",
                    show(raw)
                ),
            );
        }
        Some(raw.to_string())
    }

    fn runner_id(&mut self) -> Option<String> {
        let raw = self.input("runner-id");
        if raw.is_empty() {
            return None;
        }
        let ok = (1..=64).contains(&raw.len())
            && raw.chars().all(|c| is_ecs_name_char(c) || c == '.');
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
                format!("{} is not an AWS region; expected e.g. us-west-2", show(region)),
            );
        }
        region.to_string()
    }

    fn credentials(&mut self) -> AwsCredentials {
        AwsCredentials {
            access_key_id: self.required_credential("AWS_ACCESS_KEY_ID"),
            secret_access_key: self.required_credential("AWS_SECRET_ACCESS_KEY"),
            session_token: self.env("AWS_SESSION_TOKEN").map(str::to_string),
        }
    }

    /// A credential variable; its value is never shown.
    fn required_credential(&mut self, variable: &str) -> String {
        match self.env(variable) {
            Some(value) => value.to_string(),
            None => {
                self.report(
                    variable,
                    "not set; the action needs AWS credentials in AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary ones), e.g. \
                     from aws-actions/configure-aws-credentials; it never asks an instance \
                     metadata endpoint",
                );
                String::new()
            }
        }
    }

    fn endpoints(&mut self, region: &str) -> Endpoints {
        // cn-* regions live under amazonaws.com.cn (behaviour.md).
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let shared = self.env("AWS_ENDPOINT_URL").map(|url| ("AWS_ENDPOINT_URL", url));
        let endpoint = |p: &mut Self, service: &str, variable: &str| -> String {
            let chosen = p.env(variable).map(|url| (variable, url)).or(shared);
            match chosen {
                Some((variable, url)) => p.check_url(variable, url),
                None => format!("https://{service}.{region}.{suffix}"),
            }
        };
        Endpoints {
            ecs: endpoint(self, "ecs", "AWS_ENDPOINT_URL_ECS"),
            ec2: endpoint(self, "ec2", "AWS_ENDPOINT_URL_EC2"),
        }
    }

    /// The URL from `variable`, or `default`; without a trailing '/'.
    fn url(&mut self, variable: &str, default: &str) -> String {
        match self.env(variable) {
            Some(url) => self.check_url(variable, url),
            None => default.to_string(),
        }
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
                format!("{} is not a URL; expected http://HOST[:PORT] or https://HOST", show(url)),
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
                format!("{} is not a run attempt; expected a positive integer", show(run_attempt)),
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
            && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
