//! The names ecs-runner gives what it creates, so that a later step (stop,
//! reap) can find them again. docs/behaviour.md is the contract.

use crate::settings::Settings;

/// Tag keys ecs-runner puts on every task it starts.
pub const TAG_RUNNER_ID: &str = "ecs-runner:runner-id";
pub const TAG_REPOSITORY: &str = "ecs-runner:repository";
pub const TAG_CONTEXT: &str = "ecs-runner:context";
pub const TAG_RUN_ID: &str = "ecs-runner:run-id";
pub const TAG_RUN_ATTEMPT: &str = "ecs-runner:run-attempt";
pub const TAG_JOB: &str = "ecs-runner:job";

/// `{name}-{run_id}-{attempt}-{8 hex}`. The run id and attempt make the
/// runners of one workflow run recognisable by name (stop without inputs,
/// reap); the random part keeps matrix legs and several runners apart.
pub fn runner_id(s: &Settings, random_hex: &str) -> String {
    format!(
        "{}-{}-{}-{}",
        s.name,
        s.run.run_id,
        s.run.run_attempt,
        &random_hex[..8]
    )
}

/// The name of runner `index` (0-based) of a step that launches `count`
/// runners under the label `label` (a [`runner_id`]): the label itself for
/// a single runner (as before fleets), else `{label}-{index + 1}`.
pub fn runner_name(label: &str, index: usize, count: usize) -> String {
    if count <= 1 {
        label.to_string()
    } else {
        format!("{label}-{}", index + 1)
    }
}

/// Whether `name` is a runner of the step labelled `label`: the label
/// itself (a single runner) or `{label}-{N}`.
pub fn in_step(name: &str, label: &str) -> bool {
    name == label
        || name
            .strip_prefix(label)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The run id of a name [`runner_id`] or [`runner_name`] made, `{name}-{run
/// id}-{attempt}-{8 hex}` with an optional `-{N}`; None for a name of any
/// other shape.
pub fn run_id_in(runner: &str) -> Option<&str> {
    label_run_id(runner).or_else(|| {
        let (label, n) = runner.rsplit_once('-')?;
        let index = !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit());
        index.then(|| label_run_id(label)).flatten()
    })
}

fn label_run_id(runner_id: &str) -> Option<&str> {
    let mut parts = runner_id.rsplitn(4, '-');
    let (hex, attempt, run, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let shaped = hex.len() == 8
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && digits(attempt)
        && digits(run)
        && !name.is_empty();
    shaped.then_some(run)
}

/// The prefix every runner of this workflow run (any attempt) has.
pub fn run_prefix(s: &Settings) -> String {
    format!("{}-{}-", s.name, s.run.run_id)
}

/// `self-hosted`, `Linux`, arch (unless `default-labels: false`),
/// `ephemeral`, name, the user's labels, the
/// step's runner id, and the runner's own name when it differs (a fleet);
/// without duplicates (GitHub compares labels case-insensitively).
pub fn labels(s: &Settings, runner_id: &str, runner_name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Without the default labels a queued job elsewhere that asks only for
    // `self-hosted` (or the OS, the architecture) cannot take the runner.
    let fixed: &[&str] = if s.default_labels {
        &[
            "self-hosted",
            "Linux",
            s.run.arch.as_str(),
            "ephemeral",
            s.name.as_str(),
        ]
    } else {
        &[s.name.as_str()]
    };
    let all = fixed
        .iter()
        .map(|l| l.to_string())
        .chain(s.labels.iter().cloned())
        .chain([runner_id.to_string(), runner_name.to_string()]);
    for label in all {
        if !out.iter().any(|l| l.eq_ignore_ascii_case(&label)) {
            out.push(label);
        }
    }
    out
}

/// RunTask `startedBy`: at most 128 of `[A-Za-z0-9-/_]`, filterable in
/// ListTasks (ECS API reference, RunTask).
pub fn started_by(s: &Settings) -> String {
    let id: String = s
        .run
        .run_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("ecs-runner/{id}")
}

/// RunTask `clientToken`: at most 64 ASCII characters, idempotent per cluster
/// for 24 hours. Our own retries of one RunTask reuse it, so a request that
/// reached ECS but whose answer was lost never starts a second task. The
/// runner id's random part is in it because matrix legs share run id, attempt
/// and job, and must not be folded into one task.
///
/// `fallback`: the RunTask on `capacity-fallback` capacity asks for another
/// task with other parameters, so it needs a token of its own (reusing one
/// with other parameters is a `ConflictException`).
pub fn client_token(s: &Settings, runner_id: &str, index: usize, fallback: bool) -> String {
    let suffix = runner_id.rsplit('-').next().unwrap_or("");
    let head = format!(
        "ecsr-{}-{}-{}{}-{}",
        s.run.run_id,
        s.run.run_attempt,
        index,
        if fallback { "f" } else { "" },
        suffix
    );
    let job: String = s
        .run
        .job
        .chars()
        .map(|c| {
            if (c as u32) > 32 && (c as u32) < 127 {
                c
            } else {
                '_'
            }
        })
        .collect();
    let full = format!("{head}-{job}");
    if full.len() <= 64 {
        full
    } else {
        let t = format!("{head}-{:016x}", fnv1a(s.run.job.as_bytes()));
        t.chars().take(64).collect()
    }
}

/// Our tags plus the user's, for RunTask `tags`. The runner-id tag holds
/// the runner's own name (in a fleet, `{label}-{N}`: [`in_step`] finds the
/// step's tasks by it).
pub fn task_tags(
    s: &Settings,
    runner_name: &str,
    values: &crate::placeholders::Values,
) -> Vec<(String, String)> {
    let mut tags = vec![
        (TAG_RUNNER_ID.to_string(), runner_name.to_string()),
        (TAG_REPOSITORY.to_string(), s.run.repository.clone()),
        (TAG_CONTEXT.to_string(), s.scope.display()),
        (TAG_RUN_ID.to_string(), s.run.run_id.clone()),
        (TAG_RUN_ATTEMPT.to_string(), s.run.run_attempt.clone()),
        (TAG_JOB.to_string(), s.run.job.clone()),
    ];
    // ECS allows empty tag values (GITHUB_JOB may be unset outside Actions)
    // but not empty keys; ours never have one, the user's are checked in
    // inputs.rs.
    tags.extend(
        s.tags
            .iter()
            .map(|(k, v)| (k.clone(), crate::placeholders::expand(v, values))),
    );
    tags
}

/// FNV-1a, 64 bit: a stable short digest for over-long job names (not for
/// security).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
