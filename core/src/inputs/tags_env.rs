//! The task's `tags` and the runner container's `env`, with their
//! per-runner placeholders.

use super::parser::Parser;
use super::validators::{show, split_list};
use crate::placeholders;
use crate::runner_image;

/// ECS allows 50 tags per task and the action adds 6 `ecs-runner:` tags.
pub const MAX_USER_TAGS: usize = 44;

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

impl<'a> Parser<'a> {
    pub(super) fn tags(&mut self) -> Vec<(String, String)> {
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

    pub(super) fn env_lines(&mut self) -> Vec<(String, String)> {
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
}

pub(super) fn is_env_key(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::tests::*;

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
}
