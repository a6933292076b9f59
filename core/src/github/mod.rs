//! The GitHub wire format: REST calls for self-hosted runners
//! (docs.github.com, "REST API endpoints for self-hosted runners"), runner
//! groups and workflow runs, and what their errors mean.
//!
//! May use: `protocol` (the answer as the shell gives it) and `settings`
//! (the scope). Nothing here sends, waits or knows a machine.

use serde_json::{json, Value};

use crate::protocol::HttpResponse;
use crate::settings::Scope;

/// A runner as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runner {
    pub id: u64,
    pub name: String,
    /// `online` or `offline`.
    pub status: String,
    pub busy: bool,
    pub labels: Vec<String>,
}

pub fn jit_path(scope: &Scope) -> String {
    format!("{}/actions/runners/generate-jitconfig", scope.api_prefix())
}

pub fn jit_body(name: &str, group: u64, labels: &[String], work_folder: &str) -> Value {
    json!({ "name": name, "runner_group_id": group, "labels": labels, "work_folder": work_folder })
}

/// `201 {"runner": {"id", ...}, "encoded_jit_config"}`.
pub fn parse_jit(body: &str) -> Option<(u64, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let id = v.get("runner")?.get("id")?.as_u64()?;
    let config = v.get("encoded_jit_config")?.as_str()?.to_string();
    Some((id, config))
}

pub fn registration_token_path(scope: &Scope) -> String {
    format!("{}/actions/runners/registration-token", scope.api_prefix())
}

/// `201 {"token", "expires_at"}`.
pub fn parse_registration_token(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("token")?.as_str().map(String::from)
}

pub fn runners_by_name_path(scope: &Scope, name: &str) -> String {
    format!(
        "{}/actions/runners?name={}",
        scope.api_prefix(),
        crate::aws::ec2::form_encode(name)
    )
}

/// Runners per page when listing them all (GitHub's maximum).
const RUNNERS_PER_PAGE: u64 = 100;

pub fn runners_page_path(scope: &Scope, page: u32) -> String {
    format!(
        "{}/actions/runners?per_page={RUNNERS_PER_PAGE}&page={page}",
        scope.api_prefix()
    )
}

/// Whether runners follow page `page` (1-based) of a listing that had
/// `got` runners on it and says there are `total` in all.
pub fn more_pages(page: u32, got: usize, total: u64) -> bool {
    got > 0 && u64::from(page) * RUNNERS_PER_PAGE < total
}

/// `GET /orgs/{org}/actions/runner-groups` ("List self-hosted runner
/// groups for an organization"), a page of 100.
pub fn runner_groups_path(org: &str, page: u32) -> String {
    format!("/orgs/{org}/actions/runner-groups?per_page={RUNNERS_PER_PAGE}&page={page}")
}

/// `(id, name)` of each group, and `total_count`.
pub fn parse_runner_groups(body: &str) -> Option<(Vec<(u64, String)>, u64)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let groups: Vec<(u64, String)> = v
        .get("runner_groups")?
        .as_array()?
        .iter()
        .filter_map(|g| Some((g.get("id")?.as_u64()?, g.get("name")?.as_str()?.to_string())))
        .collect();
    let total = v
        .get("total_count")
        .and_then(Value::as_u64)
        .unwrap_or(groups.len() as u64);
    Some((groups, total))
}

pub fn runner_path(scope: &Scope, id: u64) -> String {
    format!("{}/actions/runners/{id}", scope.api_prefix())
}

fn parse_runner(r: &Value) -> Option<Runner> {
    Some(Runner {
        id: r.get("id")?.as_u64()?,
        name: r
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        status: r
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        busy: r.get("busy").and_then(Value::as_bool).unwrap_or(false),
        labels: r
            .get("labels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.get("name").and_then(Value::as_str).map(String::from))
            .collect(),
    })
}

pub fn parse_runner_one(body: &str) -> Option<Runner> {
    parse_runner(&serde_json::from_str(body).ok()?)
}

/// `{"total_count", "runners": [...]}`.
pub fn parse_runners(body: &str) -> Option<(Vec<Runner>, u64)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let runners: Vec<Runner> = v
        .get("runners")?
        .as_array()?
        .iter()
        .filter_map(parse_runner)
        .collect();
    let total = v
        .get("total_count")
        .and_then(Value::as_u64)
        .unwrap_or(runners.len() as u64);
    Some((runners, total))
}

/// `GET /repos/{owner}/{repo}/actions/runs/{run_id}` ("Get a workflow run").
pub fn workflow_run_path(owner: &str, repo: &str, run_id: &str) -> String {
    format!("/repos/{owner}/{repo}/actions/runs/{run_id}")
}

/// What reap needs of a workflow run: whether it is over, and when it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    /// `queued`, `in_progress`, `completed`, ...
    pub status: String,
    /// Seconds since the epoch (`run_started_at`, else `created_at`).
    pub started_at: Option<u64>,
}

pub fn parse_workflow_run(body: &str) -> Option<WorkflowRun> {
    let v: Value = serde_json::from_str(body).ok()?;
    let time = |k: &str| v.get(k).and_then(Value::as_str).and_then(parse_rfc3339);
    Some(WorkflowRun {
        status: v.get("status")?.as_str()?.to_string(),
        started_at: time("run_started_at").or_else(|| time("created_at")),
    })
}

/// `2026-11-23T09:15:00Z` (GitHub's timestamps; fractions and offsets
/// accepted) to whole seconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let t = DateTime::from_str(text, Format::DateTimeWithOffset).ok()?;
    u64::try_from(t.secs()).ok()
}

/// A message for a failed GitHub call: what failed, what GitHub said, and
/// the likely fix.
pub fn error_message(operation: &str, scope: &Scope, resp: &HttpResponse) -> String {
    error_message_as(operation, scope, resp, false)
}

/// [`error_message`]; `app`: the token is a GitHub App's installation
/// token, so a missing permission is the App's.
pub fn error_message_as(operation: &str, scope: &Scope, resp: &HttpResponse, app: bool) -> String {
    if resp.status == 0 {
        return format!(
            "GitHub {operation} failed: {} (is GITHUB_API_URL right and reachable?)",
            resp.error.as_deref().unwrap_or("no answer")
        );
    }
    let said = github_says(&resp.body);
    let where_ = match scope {
        Scope::Repo { .. } => format!("repository {}", scope.display()),
        Scope::Org { .. } => format!("organization {}", scope.display()),
    };
    let permission = match scope {
        Scope::Repo { .. } => "a fine-grained token with \"Administration: write\" on the repository (classic token: repo scope)",
        Scope::Org { .. } => "a fine-grained token with \"Self-hosted runners: write\" on the organization (classic token: admin:org scope)",
    };
    let advice = match resp.status {
        401 => "the token is invalid, expired or revoked: renew the secret passed as `token`".to_string(),
        403 if resp.header("x-ratelimit-remaining") == Some("0") => {
            "the token's API rate limit is used up: wait for it to reset, or use a GitHub App token".to_string()
        }
        403 if app => {
            let needed = match scope {
                Scope::Repo { .. } => "the repository permission \"Administration: write\"",
                Scope::Org { .. } => "the organization permission \"Self-hosted runners: write\"",
            };
            format!("the GitHub App may not manage runners of {where_}: give it {needed} (App settings → Permissions) and accept the new permissions on its installation")
        }
        403 => format!("the token may not manage runners of {where_}: it needs {permission}, or a GitHub App installation token with that permission (the workflow's own GITHUB_TOKEN cannot)"),
        404 => format!("{where_} was not found, or the token cannot see it (GitHub answers 404 for what a token may not read): check `context` and that the token has {permission}"),
        409 => "a runner with this name already exists; ecs-runner names are unique per run, so an earlier attempt may still be registering".to_string(),
        422 => "GitHub rejected the request: check `runner-group` (an existing runner group id the repository may use) and `labels`".to_string(),
        s if s >= 500 => "GitHub had a server error; re-run the job".to_string(),
        _ => String::new(),
    };
    let mut m = format!(
        "GitHub {operation} for {where_} failed with HTTP {}",
        resp.status
    );
    if !said.is_empty() {
        m.push_str(&format!(": {said}"));
    }
    if !advice.is_empty() {
        m.push_str(&format!(". Likely fix: {advice}"));
    }
    m
}

/// GitHub's `message`, with validation `errors` when given.
fn github_says(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return body
            .chars()
            .take(200)
            .collect::<String>()
            .trim()
            .to_string();
    };
    let mut s = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(errors) = v.get("errors").and_then(Value::as_array) {
        let parts: Vec<String> = errors
            .iter()
            .map(|e| match e {
                Value::String(t) => t.clone(),
                other => other
                    .get("message")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .unwrap_or_else(|| other.to_string()),
            })
            .collect();
        if !parts.is_empty() {
            s.push_str(&format!(" ({})", parts.join("; ")));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_answers() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2020-01-22T19:33:08Z"), Some(1_579_721_588));
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:59.250Z"),
            Some(1_709_251_199)
        );
        assert_eq!(
            parse_rfc3339("2020-01-22T21:33:08+02:00"),
            Some(1_579_721_588)
        );
        assert_eq!(
            parse_rfc3339("2020-01-22T17:03:08-02:30"),
            Some(1_579_721_588)
        );
        assert_eq!(parse_rfc3339("2020-13-22T19:33:08Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn workflow_run_fields() {
        let run = parse_workflow_run(r#"{"id":30433642,"status":"completed","conclusion":"success","run_started_at":"2020-01-22T19:33:08Z","created_at":"2020-01-22T19:30:00Z"}"#).unwrap();
        assert_eq!(
            run,
            WorkflowRun {
                status: "completed".into(),
                started_at: Some(1_579_721_588)
            }
        );
        let run =
            parse_workflow_run(r#"{"status":"in_progress","created_at":"1970-01-01T00:01:00Z"}"#)
                .unwrap();
        assert_eq!(run.started_at, Some(60));
        assert_eq!(parse_workflow_run(r#"{"id":1}"#), None);
    }
}
