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
//!   `validators::SHOWN_VALUE_MAX` characters.
//! - Subnet and security group ids repeated in a list are kept once;
//!   repeated capacity providers, tag keys and `env` keys are errors (ECS
//!   rejects the first two, and for the last one value would silently win).
//!
//! This folder: [`parse`] (here) reads the inputs concern by concern, each
//! in its own file, then checks what they make for each runner:
//! - `step.rs`: the step itself: `mode`, `count`, `name`, `workdir`,
//!   `timeout`; what stop and reap act on (`task-arn`, `runner-id`,
//!   `max-age`).
//! - `github.rs`: GitHub: the token or App, `context`, the labels, the
//!   runner group and registration, the workflow run's environment.
//! - `aws.rs`: AWS: the region, the credential source, the endpoints.
//! - `placement.rs`: where tasks run: task definition, cluster, launch type
//!   or capacity providers, the fallback, subnets and security groups.
//! - `task_spec.rs`: the task definition the action registers from `image`.
//! - `tags_env.rs`: the task's tags and the runner container's `env`.
//! - `limits.rs`: the runner's and ECS's limits, per runner of this run.
//! - Shared by all: `parser.rs` (the list of inputs, the `Parser` that
//!   reads them and collects each [`InputProblem`]) and `validators.rs`
//!   (lists, numbers, names, ARNs, URLs, quoting a value).
//!
//! May use: `settings` (what it builds), `placeholders`, `runner_image`
//! and the task definition's rules (`aws::taskdef`). Nothing here
//! sends anything or knows a machine.

use crate::aws::taskdef;
use crate::protocol::Config;
use crate::settings::{Lookup, Mode, Placement, Scope, Settings};

mod aws;
mod github;
mod limits;
mod parser;
mod placement;
mod step;
mod tags_env;
mod task_spec;
mod validators;

use aws::run_id_for_session;
use limits::per_runner_limits;
use parser::Parser;
pub use parser::{describe, InputProblem, INPUT_NAMES};
use placement::{uses_fargate, DEFAULT_LAUNCH_TYPE, SECURITY_GROUPS, SUBNETS};

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

#[cfg(test)]
mod tests;
