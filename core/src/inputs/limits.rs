//! What the inputs make for each runner of this run, against the runner's
//! and ECS's limits: checked once everything else is valid.

use super::parser::InputProblem;
use super::validators::show;
use crate::aws::taskdef;
use crate::placeholders;
use crate::runner_image;
use crate::settings::{Registration, Settings};

/// What the inputs make for each runner, checked against the runner's and
/// ECS's limits once the run is known (its id, attempt, job and repository
/// are in the names and the placeholders' values): the runner names
/// (64 characters), the tags after their placeholders are expanded (values
/// up to 256), and RunTask's 8192-character overrides with room kept for
/// the credential GitHub has not handed out yet.
pub(super) fn per_runner_limits(s: &Settings) -> Vec<InputProblem> {
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

#[cfg(test)]
mod tests {
    use crate::inputs::tests::*;

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
}
