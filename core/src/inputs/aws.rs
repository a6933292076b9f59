//! AWS: the region, where the credentials come from (the AWS SDKs' order,
//! `role-to-assume` first), and the endpoints.

use super::parser::Parser;
use super::validators::{is_region, parse_uint, show};
use crate::protocol::Config;
use crate::settings::{AwsCredentials, Endpoints, Source};

/// What each environment variable the chain looks at means, for the error
/// when none gave anything.
pub const TRIED: &str = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (e.g. from \
aws-actions/configure-aws-credentials), `role-to-assume` (GitHub OIDC; the job needs \
`permissions: id-token: write`), AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (EKS), \
AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI (ECS), and the EC2 instance \
metadata (skipped: AWS_EC2_METADATA_DISABLED=true)";

impl<'a> Parser<'a> {
    pub(super) fn region(&mut self) -> String {
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
    pub(super) fn credentials(&mut self, run_id: &str) -> (AwsCredentials, Source) {
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
    pub(super) fn required_credential(&mut self, variable: &str) -> String {
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

    pub(super) fn endpoints(&mut self, region: &str) -> Endpoints {
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
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
pub(super) fn is_role_arn(s: &str) -> bool {
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
pub(super) fn container_url_allowed(url: &str) -> bool {
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
pub(super) fn run_id_for_session(config: &Config) -> String {
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

#[cfg(test)]
mod tests;
