//! What the runner inside the task reads, and the limits it and ECS put on
//! what we give it: the contract of the stock image
//! `ghcr.io/actions/actions-runner`, from the source of `actions/runner`
//! (REFERENCE.md, "The runner inside the task"):
//!
//! - `images/Dockerfile`: no ENTRYPOINT or CMD, `WORKDIR /home/runner`,
//!   bash installed. The task's command starts the runner.
//! - `src/Runner.Listener/CommandSettings.cs`: every argument of `config.sh`
//!   and `run.sh` can come from `ACTIONS_RUNNER_INPUT_<ARG>` (matched
//!   case-insensitively; flags read `true`).
//! - `run.sh` with `ACTIONS_RUNNER_INPUT_JITCONFIG` runs a just-in-time
//!   runner; without it and without a configuration it prints "Runner is
//!   not configured" and exits 0. A registration token therefore needs
//!   `config.sh` (unattended) before `run.sh`.
//! - `ConfigurationManager.cs`: `--runnergroup` is a group's NAME (an
//!   empty one means the default group); `--labels` are added to
//!   `self-hosted`, the OS and the architecture unless
//!   `--no-default-labels`.
//! - `Validators`: a runner's name is at most 64 characters, a label 256.
//!
//! Uses only `settings` and `placeholders`: nothing here sends anything.

use serde_json::{json, Value};

use crate::placeholders::{self, Values};
use crate::settings::Settings;

/// The stock image's runner, the default `command` with `image`.
pub const STOCK_COMMAND: &str = "/home/runner/run.sh";

/// The variable the runner reads a JIT configuration from.
pub const JIT_CONFIG_VAR: &str = "ACTIONS_RUNNER_INPUT_JITCONFIG";

/// The prefix of every variable the runner takes as an argument; the
/// runner matches it case-insensitively (CommandSettings.cs).
pub const INPUT_PREFIX: &str = "ACTIONS_RUNNER_INPUT_";

/// GitHub's runner refuses longer names (Validators.cs).
pub const MAX_NAME_CHARS: usize = 64;

/// GitHub's runner refuses longer labels (Validators.LabelsValidator).
pub const MAX_LABEL_CHARS: usize = 256;

/// RunTask's `overrides` hold at most 8192 characters, JSON punctuation
/// included (ECS API reference, RunTask).
pub const MAX_OVERRIDES_CHARS: usize = 8192;

/// Room kept in the overrides for the credential GitHub hands out, which is
/// only known after the runner is registered: a real `encoded_jit_config`
/// is base64 of a JSON map of three base64 files (`.runner`,
/// `.credentials`, `.credentials_rsaparams` with an RSA-2048 key), about
/// 3,000-4,500 characters; a registration token is 29. 5,000 covers the
/// JIT configuration with its variable's name and JSON quoting.
pub const CREDENTIAL_RESERVE_CHARS: usize = 5_000;

/// Configure with a registration token, then run: the command a task of the
/// stock image gets with `registration: token`. config.sh reads the
/// `ACTIONS_RUNNER_INPUT_*` variables [`token_env`] sets; they are removed
/// before run.sh so the job never sees the registration token.
pub const CONFIGURE_THEN_RUN: &str =
    "cd /home/runner && ./config.sh && unset ${!ACTIONS_RUNNER_INPUT_@} && exec ./run.sh";

/// The container command that configures, then runs, the stock runner.
/// Without the default labels config.sh needs `--no-default-labels` as an
/// argument: that flag's name has dashes (Constants.cs), so no
/// `ACTIONS_RUNNER_INPUT_*` variable a shell passes on can carry it.
pub fn configure_then_run(default_labels: bool) -> Vec<String> {
    let script = if default_labels {
        CONFIGURE_THEN_RUN.to_string()
    } else {
        CONFIGURE_THEN_RUN.replace("./config.sh ", "./config.sh --no-default-labels ")
    };
    vec!["/bin/bash".into(), "-c".into(), script]
}

/// Whether a container with this entry point and command starts the stock
/// image's runner as `run.sh` (its WORKDIR is /home/runner, so `./run.sh`
/// and `run.sh` are the same file).
pub fn is_stock_command(entry_point: &[String], command: &[String]) -> bool {
    entry_point.is_empty()
        && matches!(
            command,
            [c] if c == STOCK_COMMAND || c == "./run.sh" || c == "run.sh"
        )
}

/// The variables of a JIT runner.
pub fn jit_env(config: String) -> Vec<(String, String)> {
    vec![(JIT_CONFIG_VAR.into(), config)]
}

/// What a registration-token runner needs to register itself: the
/// arguments of `config.sh` as `ACTIONS_RUNNER_INPUT_*` (the stock image),
/// and the same as the `RUNNER_*` variables that custom images' entry
/// points read (behaviour.md, "The runner container").
///
/// `labels` are all of the runner's labels ([`crate::names::labels`]);
/// config.sh adds `self-hosted`, the OS and the architecture itself, so
/// those go to it only with `--no-default-labels`. `group` is the runner
/// group's name, None for the default group.
pub fn token_env(
    s: &Settings,
    name: &str,
    token: &str,
    labels: &[String],
    group: Option<&str>,
) -> Vec<(String, String)> {
    let url = format!("{}/{}", s.run.server_url, s.scope.display());
    let system = ["self-hosted", "Linux", s.run.arch.as_str()];
    let own: Vec<&str> = labels
        .iter()
        .map(String::as_str)
        .filter(|l| !s.default_labels || !system.iter().any(|x| x.eq_ignore_ascii_case(l)))
        .collect();
    let mut env: Vec<(String, String)> = vec![
        ("ACTIONS_RUNNER_INPUT_URL".into(), url.clone()),
        ("ACTIONS_RUNNER_INPUT_TOKEN".into(), token.into()),
        ("ACTIONS_RUNNER_INPUT_NAME".into(), name.into()),
        ("ACTIONS_RUNNER_INPUT_LABELS".into(), own.join(",")),
        ("ACTIONS_RUNNER_INPUT_WORK".into(), s.workdir.clone()),
        ("ACTIONS_RUNNER_INPUT_EPHEMERAL".into(), "true".into()),
        ("ACTIONS_RUNNER_INPUT_UNATTENDED".into(), "true".into()),
    ];
    if let Some(g) = group {
        env.push(("ACTIONS_RUNNER_INPUT_RUNNERGROUP".into(), g.into()));
    }
    env.extend([
        ("RUNNER_TOKEN".into(), token.into()),
        ("RUNNER_URL".into(), url),
        ("RUNNER_NAME".into(), name.into()),
        ("RUNNER_LABELS".into(), labels.join(",")),
        ("RUNNER_WORKDIR".into(), s.workdir.clone()),
        ("RUNNER_GROUP".into(), s.runner_group.to_string()),
    ]);
    env
}

/// RunTask's `overrides` for the runner container: its credential
/// variables, the user's `env` with the runner's placeholders expanded, and
/// a command when the runner needs another one.
pub fn overrides(
    container: &str,
    credential_env: &[(String, String)],
    env: &[(String, String)],
    values: &Values,
    command: Option<&[String]>,
) -> Value {
    let environment: Vec<Value> = credential_env
        .iter()
        .map(|(k, v)| json!({ "name": k, "value": v }))
        .chain(
            env.iter()
                .map(|(k, v)| json!({ "name": k, "value": placeholders::expand(v, values) })),
        )
        .collect();
    let mut o = json!({ "name": container, "environment": environment });
    if let Some(c) = command {
        o["command"] = json!(c);
    }
    json!({ "containerOverrides": [o] })
}

/// The size of [`overrides`] in characters, as ECS counts them.
pub fn overrides_chars(overrides: &Value) -> usize {
    overrides.to_string().chars().count()
}

/// The overrides' size for the longest runner of the step before GitHub is
/// asked for anything: the credential as [`CREDENTIAL_RESERVE_CHARS`]
/// (JIT) or as the token variables with a 200-character token, the `env`
/// with every placeholder at its longest value. `container` is the runner
/// container's name, as far as it is known.
pub fn reserved_overrides_chars(
    s: &Settings,
    container: &str,
    command: Option<&[String]>,
) -> usize {
    let values = longest_values(s);
    let name = values.runner_name.clone();
    let labels = crate::names::labels(s, &values.runner_id, &name);
    let (credential, reserve) = match s.registration {
        crate::settings::Registration::Jit => (Vec::new(), CREDENTIAL_RESERVE_CHARS),
        crate::settings::Registration::Token => {
            let group = s.runner_group_name.as_deref().unwrap_or("");
            // A group named by id is looked up; its name is at most 100.
            let group =
                if s.runner_group != crate::settings::DEFAULT_RUNNER_GROUP && group.is_empty() {
                    Some("g".repeat(100))
                } else {
                    (!group.is_empty()).then(|| group.to_string())
                };
            let token = "t".repeat(200);
            (token_env(s, &name, &token, &labels, group.as_deref()), 0)
        }
    };
    overrides_chars(&overrides(container, &credential, &s.env, &values, command)) + reserve
}

/// The placeholders' longest values in this step: the last runner of the
/// fleet (the longest name and index), with the run's own values.
pub fn longest_values(s: &Settings) -> Values {
    let label = crate::names::runner_id(s, "00000000");
    Values {
        runner_name: crate::names::runner_name(&label, s.count.saturating_sub(1), s.count),
        runner_id: label,
        index: s.count,
        run_id: s.run.run_id.clone(),
        run_attempt: s.run.run_attempt.clone(),
        job: s.run.job.clone(),
        repository: s.run.repository.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stock_command_in_its_spellings() {
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_stock_command(&[], &c(&["/home/runner/run.sh"])));
        assert!(is_stock_command(&[], &c(&["./run.sh"])));
        assert!(!is_stock_command(
            &c(&["/entrypoint.sh"]),
            &c(&["/home/runner/run.sh"])
        ));
        assert!(!is_stock_command(
            &[],
            &c(&["/home/runner/run.sh", "--once"])
        ));
        assert!(!is_stock_command(&[], &[]));
        assert!(!is_stock_command(
            &[],
            &c(&["/bin/sh", "-c", "/home/runner/run.sh"])
        ));
    }

    #[test]
    fn configure_then_run_configures_first_and_hides_the_token_from_run() {
        let script = CONFIGURE_THEN_RUN;
        let config = script.find("./config.sh").unwrap();
        let unset = script.find("unset ${!ACTIONS_RUNNER_INPUT_@}").unwrap();
        let run = script.find("exec ./run.sh").unwrap();
        assert!(config < unset && unset < run);
        // A failed configuration must not run the runner.
        assert!(script.contains("./config.sh && "));
        assert_eq!(configure_then_run(true)[0], "/bin/bash");
        assert_eq!(configure_then_run(true)[2], CONFIGURE_THEN_RUN);
        assert!(configure_then_run(false)[2]
            .starts_with("cd /home/runner && ./config.sh --no-default-labels && "));
    }
}
