//! The step itself: `mode`, `count`, `name`, `workdir`, `timeout`; and
//! what stop and reap act on: `task-arn`, `runner-id`, `max-age`.

use std::collections::BTreeSet;

use super::parser::Parser;
use super::validators::{
    is_ecs_name, is_ecs_name_char, parse_ecs_arn, parse_uint, show, split_list,
};
use crate::settings::Mode;

/// `name` when not given (major0/gh-ecs-runner's default).
pub const DEFAULT_NAME: &str = "github-ecs-runner";

/// `workdir` when not given (major0/gh-ecs-runner's default).
pub const DEFAULT_WORKDIR: &str = "_workdir";

/// `timeout` when not given, in seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 600;

/// Largest `timeout`: a day, longer than any job a hosted workflow may run.
pub const MAX_TIMEOUT_S: u64 = 86_400;

/// `max-age` when not given, in minutes.
pub const DEFAULT_MAX_AGE_MIN: u64 = 60;

/// Longest `name`: it prefixes the runner name, which also carries the run id,
/// attempt and a random part.
pub const MAX_NAME_LEN: usize = 32;

/// Largest `count`: DescribeTasks looks at 100 tasks per call, and a step
/// that waits for more runners than that is better split.
pub const MAX_COUNT: usize = 100;

/// Most tasks `task-arn` may name (a fleet's `task_arns`).
pub const MAX_TASK_ARNS: usize = 100;

impl<'a> Parser<'a> {
    pub(super) fn mode(&mut self) -> Option<Mode> {
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

    pub(super) fn name(&mut self) -> String {
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

    pub(super) fn count(&mut self) -> usize {
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

    pub(super) fn workdir(&mut self) -> String {
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

    pub(super) fn timeout(&mut self) -> u64 {
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

    /// `task-arn`: one task, a JSON array of them (the start step's
    /// `task_arns` output), or a list separated by commas, spaces or
    /// newlines; each an ECS task ARN or a task id; at most 100.
    pub(super) fn task_arns(&mut self) -> Vec<String> {
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

    pub(super) fn runner_id(&mut self) -> Option<String> {
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

    pub(super) fn max_age(&mut self) -> u64 {
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
}

/// A task ARN (`task/ID`, old format, or `task/CLUSTER/ID`) or a task id.
pub(super) fn is_task(raw: &str) -> bool {
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

pub(super) fn is_task_id(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::tests::*;

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
}
