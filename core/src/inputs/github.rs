//! GitHub: how the step authenticates (`token` or a GitHub App), where
//! runners register (`context`, `runner-group`, `registration`), their
//! labels, and the workflow run's own environment (`GITHUB_*`).

use std::collections::BTreeSet;

use super::parser::Parser;
use super::validators::{is_digits, is_ecs_name_char, parse_uint, show, split_list};
use crate::runner_image;
use crate::settings::{Registration, RunContext, Scope, DEFAULT_RUNNER_GROUP};

pub(super) const MISSING_TOKEN: &str = "no token given (set `token` or its alias `github-token`). \
The workflow's own GITHUB_TOKEN cannot create self-hosted runners: pass a personal \
access token (fine-grained: repository permission \"Administration: write\", or for an \
organization context the organization permission \"Self-hosted runners: write\"; \
classic: the `repo` scope, or `admin:org` for an organization) or a GitHub App \
installation token with those permissions, e.g. `token: ${{ secrets.RUNNER_ADMIN_TOKEN }}`";

/// GitHub accepts at most 100 labels per runner (generate-jitconfig).
pub const MAX_LABELS: usize = 100;

impl<'a> Parser<'a> {
    /// `app-id` with `app-private-key`: a GitHub App instead of a token.
    pub(super) fn app(&mut self) -> Option<(String, String)> {
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
    pub(super) fn no_token_with_app(&mut self, full: bool) -> String {
        if full && (!self.input("token").is_empty() || !self.input("github-token").is_empty()) {
            self.report(
                "token",
                "`token` and `app-id` are both given; authenticate with one: a token, or the GitHub App",
            );
        }
        String::new()
    }

    pub(super) fn token(&mut self) -> String {
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
    pub(super) fn arch(&mut self) -> String {
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

    pub(super) fn labels(&mut self, name: &str, arch: &str, count: usize) -> Vec<String> {
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

    pub(super) fn scope(&mut self) -> Option<Scope> {
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

    /// `runner-group`: an id, or an organization's group by name (looked
    /// up when starting); a repository has only the Default group, 1.
    pub(super) fn runner_group(&mut self, scope: Option<&Scope>) -> (u64, Option<String>) {
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

    pub(super) fn registration(&mut self) -> Registration {
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

    pub(super) fn run_context(&mut self, starting: bool, arch: String) -> RunContext {
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

pub(super) fn parse_scope(value: &str) -> Option<Scope> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::tests::*;

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

    #[test]
    fn label_length_limit() {
        // The runner's own limit (Validators.LabelsValidator), not 100.
        let long = "x".repeat(257);
        let p = only(&[("labels", &format!("ok {long}"))], &[]);
        assert_eq!(p.input, "labels");
        says(&p, &["longer than 256"]);
        assert_eq!(ok(&[("labels", &"x".repeat(256))], &[]).labels.len(), 1);
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
}
