//! The inputs as a whole: action.yaml agrees with [`parse`], the defaults,
//! and how problems are reported; and the helpers every concern's tests use.

use super::validators::show;
use super::*;
use crate::settings::{AwsCredentials, Endpoints, Registration, RunContext};

pub(super) const TOKEN: &str = "ghp_S3cretTokenValue";

pub(super) const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

pub(super) const SUBNET: &str = "subnet-0123456789abcdef0";

/// A complete, valid start configuration; `inputs` and `env` are laid
/// over it (an empty value counts as "not given").
pub(super) fn config(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Config {
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

pub(super) fn ok(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Settings {
    parse(&config(inputs, env)).unwrap_or_else(|problems| panic!("{}", describe(&problems)))
}

pub(super) fn problems(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Vec<InputProblem> {
    match parse(&config(inputs, env)) {
        Ok(settings) => panic!("expected problems, got {settings:?}"),
        Err(problems) => problems,
    }
}

/// The one problem the configuration has; fails if there are more.
pub(super) fn only(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> InputProblem {
    let found = problems(inputs, env);
    assert_eq!(found.len(), 1, "{}", describe(&found));
    found.into_iter().next().unwrap()
}

/// Asserts the message contains every fragment (the value, what is allowed).
pub(super) fn says(problem: &InputProblem, fragments: &[&str]) {
    for fragment in fragments {
        assert!(
            problem.message.contains(fragment),
            "{problem} does not mention {fragment:?}"
        );
    }
}

/// `(input name, default)` for each input of action.yaml, in file order;
/// enough YAML for the file's own simple layout.
pub(super) fn yaml_inputs() -> Vec<(String, Option<String>)> {
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
fn runner_debug_turns_debug_on() {
    assert!(ok(&[], &[("RUNNER_DEBUG", "1")]).debug);
    assert!(!ok(&[], &[("RUNNER_DEBUG", "0")]).debug);
}

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
