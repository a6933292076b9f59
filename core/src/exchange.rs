//! One request at a time to AWS or GitHub, with retries of transient
//! failures. Each attempt is built and signed afresh (the signature carries
//! the time), so a retry after a back-off is never rejected as stale.

use std::collections::BTreeMap;

use crate::aws_error;
use crate::outbox::Outbox;
use crate::protocol::{HttpRequest, HttpResponse, Millis, Next};
use crate::settings::Settings;
use crate::sigv4;

pub const USER_AGENT: &str = concat!("ecs-runner/", env!("CARGO_PKG_VERSION"));
/// GitHub REST API version we were written against (docs.github.com,
/// "API Versions").
pub const GITHUB_API_VERSION: &str = "2022-11-28";
/// How long one HTTP request may take before the shell gives up on it.
const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Attempts per call, the first included.
const MAX_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ecs,
    Ec2,
    GitHub,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Ec2 => "ec2",
            Service::GitHub => "github",
        }
    }
}

/// A call to make, before it is addressed and signed.
#[derive(Debug, Clone)]
pub struct Call<T> {
    /// The machine's own name for what this call is for.
    pub tag: T,
    pub service: Service,
    /// `RunTask`, `DescribeSubnets`, or for GitHub e.g. `generate-jitconfig`:
    /// used in error messages and for the IAM action in advice.
    pub operation: &'static str,
    pub method: &'static str,
    /// For GitHub: the path and query after the API base URL. For AWS: empty.
    pub path: String,
    pub body: String,
}

impl<T> Call<T> {
    /// An ECS JSON 1.1 call (ECS API reference, "Making API requests").
    pub fn ecs(tag: T, operation: &'static str, body: serde_json::Value) -> Self {
        Call {
            tag,
            service: Service::Ecs,
            operation,
            method: "POST",
            path: String::new(),
            body: body.to_string(),
        }
    }
    /// An EC2 Query API call; `body` is the form-encoded parameters.
    pub fn ec2(tag: T, operation: &'static str, body: String) -> Self {
        Call {
            tag,
            service: Service::Ec2,
            operation,
            method: "POST",
            path: String::new(),
            body,
        }
    }
    pub fn github(
        tag: T,
        operation: &'static str,
        method: &'static str,
        path: String,
        body: Option<serde_json::Value>,
    ) -> Self {
        Call {
            tag,
            service: Service::GitHub,
            operation,
            method,
            path,
            body: body.map(|b| b.to_string()).unwrap_or_default(),
        }
    }
}

/// What came back for the call in flight.
#[derive(Debug)]
pub enum Received<T> {
    /// The final answer (success or a failure not worth retrying).
    Answer(Call<T>, HttpResponse),
    /// A transient failure: sleep this long, then call [`Exchange::resend`].
    Retry { after_ms: u64 },
    /// Nothing was in flight, or the answer was for another request.
    Stray,
}

#[derive(Debug)]
struct Pending<T> {
    call: Call<T>,
    id: u32,
    attempt: u32,
}

#[derive(Debug)]
pub struct Exchange<T> {
    next_id: u32,
    pending: Option<Pending<T>>,
}

impl<T: Clone> Default for Exchange<T> {
    fn default() -> Self {
        Exchange {
            next_id: 1,
            pending: None,
        }
    }
}

impl<T: Clone> Exchange<T> {
    /// Send a new call (forgetting any earlier one).
    pub fn send(&mut self, s: &Settings, out: &mut Outbox, call: Call<T>, now: Millis) -> Next {
        self.pending = Some(Pending {
            call,
            id: 0,
            attempt: 0,
        });
        self.resend(s, out, now)
    }

    /// Send the call in flight again, as its next attempt.
    pub fn resend(&mut self, s: &Settings, out: &mut Outbox, now: Millis) -> Next {
        let id = self.next_id;
        self.next_id += 1;
        let Some(p) = self.pending.as_mut() else {
            // A machine only resends after a Retry: nothing to do is a bug,
            // but sleeping briefly is safer than panicking inside wasm.
            return Next::Sleep { ms: 0 };
        };
        p.id = id;
        p.attempt += 1;
        let request = build(s, &p.call, id, now);
        out.detail(format!(
            "→ {} {} {}{}",
            request.method,
            request.url,
            debug_headers(&request.headers),
            if request.body.is_empty() {
                String::new()
            } else {
                format!("\n{}", scrub(&request.body))
            }
        ));
        Next::Send {
            requests: vec![request],
        }
    }

    /// Forget the call in flight (on cancel).
    pub fn abandon(&mut self) -> Option<Call<T>> {
        self.pending.take().map(|p| p.call)
    }

    pub fn receive(&mut self, out: &mut Outbox, responses: Vec<HttpResponse>) -> Received<T> {
        let Some(p) = self.pending.as_ref() else {
            return Received::Stray;
        };
        let Some(resp) = responses.into_iter().find(|r| r.id == p.id) else {
            return Received::Stray;
        };
        out.detail(format!(
            "← {} {}{}",
            if resp.status == 0 {
                "error".to_string()
            } else {
                resp.status.to_string()
            },
            resp.error.as_deref().unwrap_or(""),
            if resp.body.is_empty() {
                String::new()
            } else {
                format!("\n{}", scrub(&resp.body))
            }
        ));
        let retry = if (200..300).contains(&resp.status) {
            None
        } else {
            retry_delay(p.call.service, &resp, p.attempt)
        };
        if let Some(after_ms) = retry {
            if p.attempt < MAX_ATTEMPTS {
                out.info(format!(
                    "{} {} failed ({}); retrying in {}s",
                    p.call.service.name(),
                    p.call.operation,
                    short_reason(&resp),
                    after_ms.div_ceil(1000)
                ));
                return Received::Retry { after_ms };
            }
        }
        let p = self.pending.take().expect("checked above");
        Received::Answer(p.call, resp)
    }
}

/// Address, sign and dress a call as an HTTP request.
fn build<T>(s: &Settings, call: &Call<T>, id: u32, now: Millis) -> HttpRequest {
    let mut headers = BTreeMap::new();
    headers.insert("user-agent".to_string(), USER_AGENT.to_string());
    let url = match call.service {
        Service::Ecs => {
            headers.insert("content-type".into(), "application/x-amz-json-1.1".into());
            headers.insert(
                "x-amz-target".into(),
                format!("AmazonEC2ContainerServiceV20141113.{}", call.operation),
            );
            format!("{}/", s.endpoints.ecs)
        }
        Service::Ec2 => {
            headers.insert("content-type".into(), crate::ec2::CONTENT_TYPE.into());
            format!("{}/", s.endpoints.ec2)
        }
        Service::GitHub => {
            headers.insert("accept".into(), "application/vnd.github+json".into());
            headers.insert("authorization".into(), format!("Bearer {}", s.token));
            headers.insert("x-github-api-version".into(), GITHUB_API_VERSION.into());
            if !call.body.is_empty() {
                headers.insert("content-type".into(), "application/json".into());
            }
            format!("{}{}", s.github_api_url, call.path)
        }
    };
    let mut request = HttpRequest {
        id,
        method: call.method.to_string(),
        url,
        headers,
        body: call.body.clone(),
        timeout_ms: REQUEST_TIMEOUT_MS,
    };
    if call.service != Service::GitHub {
        // Signing only fails for a malformed URL or header, which settings
        // validation rules out; if it ever happens, AWS answers 403 and the
        // error names the call.
        let _ = sigv4::sign(
            &mut request,
            &s.credentials,
            &s.region,
            call.service.name(),
            now,
        );
    }
    request
}

/// A failed call (after its retries) as one sentence: what failed, what
/// AWS or GitHub said, and the likely fix.
pub fn failure_message<T>(call: &Call<T>, resp: &HttpResponse, s: &Settings) -> String {
    match call.service {
        Service::GitHub => crate::github::error_message(call.operation, &s.scope, resp),
        Service::Ecs | Service::Ec2 => aws_message(call, resp, s),
    }
}

fn aws_message<T>(call: &Call<T>, resp: &HttpResponse, s: &Settings) -> String {
    let service = call.service.name();
    // Name what the call was about, so "not found" says what was not found.
    let subject = match (call.service, call.operation) {
        (Service::Ecs, "DescribeTaskDefinition") => {
            format!(" (task definition '{}')", s.task_definition)
        }
        (Service::Ecs, _) => format!(" (cluster '{}')", s.cluster),
        _ => String::new(),
    };
    let what = format!("{} {}{subject}", service.to_uppercase(), call.operation);
    if resp.status == 0 {
        return format!(
            "{what} failed: {} (is the endpoint {} reachable?)",
            resp.error.as_deref().unwrap_or("no answer"),
            if call.service == Service::Ecs {
                &s.endpoints.ecs
            } else {
                &s.endpoints.ec2
            }
        );
    }
    let err = aws_error::parse(resp);
    let mut m = format!(
        "{what} failed: {}: {}",
        err.code,
        err.message.trim_end_matches('.')
    );
    if let Some(a) = aws_error::advice(service, call.operation, &err) {
        m.push_str(&format!(". Likely fix: {a}"));
    }
    m
}

/// How long to wait before retrying, or None when the failure is final.
fn retry_delay(service: Service, resp: &HttpResponse, attempt: u32) -> Option<u64> {
    let transient = match service {
        Service::GitHub => {
            resp.status == 0
                || resp.status == 429
                || resp.status >= 500
                // Secondary rate limits answer 403 with retry-after or an
                // exhausted x-ratelimit-remaining (docs.github.com, "Rate
                // limits for the REST API").
                || (resp.status == 403
                    && (resp.header("retry-after").is_some()
                        || resp.header("x-ratelimit-remaining") == Some("0")))
        }
        Service::Ecs | Service::Ec2 => aws_error::is_retryable(resp),
    };
    if !transient {
        return None;
    }
    let backoff = 1000u64 << (attempt.saturating_sub(1).min(4));
    let asked = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000).min(60_000));
    Some(asked.unwrap_or(backoff).max(backoff.min(1000)))
}

fn short_reason(resp: &HttpResponse) -> String {
    match &resp.error {
        Some(e) => e.clone(),
        None => format!("HTTP {}", resp.status),
    }
}

/// A JSON body for a debug dump, without the credentials it may carry that
/// this process does not know as secrets: a task's container environment
/// (DescribeTasks in stop and reap mode shows the JIT config another job put
/// there), and GitHub's runner credentials. Other bodies are left as they are.
pub fn scrub(body: &str) -> String {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    match (key.as_str(), value) {
                        ("environment", serde_json::Value::Array(vars)) => {
                            for var in vars.iter_mut() {
                                if let Some(v) = var.get_mut("value") {
                                    *v = serde_json::Value::from("***");
                                }
                            }
                        }
                        ("encoded_jit_config" | "token", v @ serde_json::Value::String(_)) => {
                            *v = serde_json::Value::from("***");
                        }
                        (_, v) => walk(v),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut v) => {
            walk(&mut v);
            v.to_string()
        }
        Err(_) => body.to_string(),
    }
}

/// Headers for a debug dump, without credentials.
fn debug_headers(h: &BTreeMap<String, String>) -> String {
    let shown: Vec<String> = h
        .iter()
        .map(|(k, v)| match k.as_str() {
            "authorization" | "x-amz-security-token" => format!("{k}: ***"),
            _ => format!("{k}: {v}"),
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

#[cfg(test)]
mod scrub_tests {
    use super::scrub;

    #[test]
    fn container_environment_and_runner_credentials_are_hidden() {
        let body = r#"{"tasks":[{"overrides":{"containerOverrides":[{"name":"runner","environment":[{"name":"ACTIONS_RUNNER_INPUT_JITCONFIG","value":"eyJzZWNyZXQ"},{"name":"FOO","value":"bar"}]}]},"lastStatus":"RUNNING"}]}"#;
        let out = scrub(body);
        assert!(
            !out.contains("eyJzZWNyZXQ") && !out.contains("bar"),
            "{out}"
        );
        assert!(
            out.contains("ACTIONS_RUNNER_INPUT_JITCONFIG") && out.contains("RUNNING"),
            "{out}"
        );
        let gh = scrub(r#"{"runner":{"id":1},"encoded_jit_config":"c2VjcmV0"}"#);
        assert!(!gh.contains("c2VjcmV0"), "{gh}");
        assert!(!scrub(r#"{"token":"AABB","expires_at":"x"}"#).contains("AABB"));
        assert_eq!(scrub("<xml>not json</xml>"), "<xml>not json</xml>");
    }
}
