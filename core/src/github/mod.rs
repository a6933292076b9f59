//! The GitHub wire format: REST calls for self-hosted runners
//! (docs.github.com, "REST API endpoints for self-hosted runners"), runner
//! groups and workflow runs, and what an error answer says.
//!
//! This file: the runner endpoints; `app.rs`: a GitHub App's JWT and
//! installation token.
//!
//! May use: `settings` (the scope), `protocol` and `encoding`. Nothing
//! here sends, waits or knows a machine.

use serde_json::{json, Value};

use crate::encoding::{form_encode, parse_rfc3339};
use crate::settings::Scope;

pub mod app;

/// GitHub REST API version we were written against (docs.github.com,
/// "API Versions").
pub const API_VERSION: &str = "2022-11-28";
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
        form_encode(name)
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

/// GitHub's `message`, with validation `errors` when given.
pub fn says(body: &str) -> String {
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
