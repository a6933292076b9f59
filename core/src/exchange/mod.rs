//! The calls to AWS and GitHub: addressed, signed, sent concurrently within
//! per-service bounds, retried on transient failures ([`retry`]).
//!
//! This folder, bottom up: `call.rs` (a [`Call`] to make, to which
//! [`Service`]), `retry.rs` (when and how long to wait before trying
//! again), `sigv4.rs` (AWS Signature Version 4), `failure.rs` (a failed
//! call in the user's words: the one place that says what went wrong and
//! how to fix it), `outbox.rs` (the log lines and secrets a machine hands
//! the shell), and the [`Exchange`] itself (here, which uses them all).
//!
//! May use: the wire formats (`aws/`, `github/`), `settings` and
//! `protocol`. Never a mode, the top-level machine or a credential source:
//! what a call carries is the caller's; its files never name this one.

use std::collections::{BTreeMap, VecDeque};

use crate::aws::ec2;
use crate::github;
use crate::protocol::{HttpRequest, HttpResponse, Millis, Next};
use crate::settings::Settings;
use outbox::Outbox;
use retry::Jitter;

mod call;
pub mod failure;
pub mod outbox;
pub mod retry;
pub mod sigv4;

pub use call::{Call, Service};
pub use failure::failure_message;

pub const USER_AGENT: &str = concat!("ecs-runner/", env!("CARGO_PKG_VERSION"));
/// How long one HTTP request may take before the shell gives up on it.
const REQUEST_TIMEOUT_MS: u64 = 30_000;

/// A call's place in the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a free slot (or for a rate limit to pass).
    Queued,
    /// Sent as request `id`; its answer is owed.
    InFlight { id: u32 },
    /// Failed transiently; queued again at `until`.
    BackingOff { until: Millis },
}

#[derive(Debug)]
struct Entry<T> {
    call: Call<T>,
    state: State,
    /// Attempts sent so far.
    attempt: u32,
}

/// A call taken back before its final answer (on cancel, or when a failing
/// start drops what it has not sent): `sent` if any attempt went out, so
/// the service may have acted on it.
#[derive(Debug)]
pub struct Unfinished<T> {
    pub call: Call<T>,
    pub sent: bool,
}

/// How many requests may be in flight at once, per service. GitHub allows
/// 100 concurrent requests per token and asks integrators to keep well
/// below ("Best practices for using the REST API"); ECS and EC2 throttle per
/// account and region, shared with everything else in the account.
pub const MAX_IN_FLIGHT_GITHUB: usize = 10;
pub const MAX_IN_FLIGHT_ECS: usize = 20;
pub const MAX_IN_FLIGHT_EC2: usize = 10;
pub const MAX_IN_FLIGHT_LOGS: usize = 10;
/// GitHub's secondary limit on content-creating requests: "no more than 80
/// per minute" per token. Our POSTs (generate-jitconfig,
/// registration-token) keep to it in any 60 s window.
pub const GITHUB_POSTS_PER_MINUTE: usize = 80;
const MINUTE_MS: Millis = 60_000;

/// The calls of one machine: many at once, each retried on its own after a
/// transient failure (see [`retry`]), within per-service bounds. The
/// machine submits calls, then asks [`Exchange::transmit`] for the requests
/// that may go out now and [`Exchange::wake_at`] for when to look again;
/// [`Exchange::receive`] turns answers into final results. Each attempt is
/// built and signed afresh (the signature carries the time), so a retry
/// after a back-off is never rejected as stale.
#[derive(Debug)]
pub struct Exchange<T> {
    next_id: u32,
    entries: Vec<Entry<T>>,
    jitter: Jitter,
    /// No GitHub request before this (GitHub said so).
    github_hold_until: Millis,
    /// When the recent GitHub POSTs were sent, oldest first.
    github_posts: VecDeque<Millis>,
    /// Retries whose wait would end after this are not made: the failure is
    /// final (the step's deadline).
    pub give_up_at: Option<Millis>,
    /// Longest back-off (under cancellation the runner gives seconds).
    pub max_wait_ms: Option<u64>,
}

impl<T: Clone> Exchange<T> {
    /// `random`: the shell's random hex digits, for the jitter.
    pub fn new(random: &str) -> Self {
        Self::with_first_id(random, 1)
    }

    /// An exchange whose request ids start at `first`, apart from another
    /// exchange's requests in flight at the same time.
    pub fn with_first_id(random: &str, first: u32) -> Self {
        Exchange {
            next_id: first,
            entries: Vec::new(),
            jitter: Jitter::from_hex(random),
            github_hold_until: 0,
            github_posts: VecDeque::new(),
            give_up_at: None,
            max_wait_ms: None,
        }
    }

    /// 16 hex digits from the shell's randomness (e.g. a stop-commands
    /// token).
    pub fn token(&mut self) -> String {
        format!(
            "{:016x}",
            (self.jitter.unit() * (1u64 << 53) as f64) as u64 ^ 0x5eed_0000_0000_0000
        )
    }

    /// Queue a call; it goes out with the next [`Exchange::transmit`] that
    /// has room for it.
    pub fn submit(&mut self, call: Call<T>) {
        self.entries.push(Entry {
            call,
            state: State::Queued,
            attempt: 0,
        });
    }

    /// Nothing queued, in flight or backing off.
    pub fn is_idle(&self) -> bool {
        self.entries.is_empty()
    }

    /// Requests in flight now, for `service`.
    pub fn in_flight(&self, service: Service) -> usize {
        self.entries
            .iter()
            .filter(|e| e.call.service == service && matches!(e.state, State::InFlight { .. }))
            .count()
    }

    /// The requests that may go out now: back-offs that are over, then
    /// queued calls in the order submitted, as far as each service's bound,
    /// GitHub's hold and its POST budget allow.
    pub fn transmit(&mut self, s: &Settings, out: &mut Outbox, now: Millis) -> Vec<HttpRequest> {
        for e in &mut self.entries {
            if let State::BackingOff { until } = e.state {
                if until <= now {
                    e.state = State::Queued;
                }
            }
        }
        while self
            .github_posts
            .front()
            .is_some_and(|t| *t + MINUTE_MS <= now)
        {
            self.github_posts.pop_front();
        }
        let mut room = [
            (
                Service::Ecs,
                MAX_IN_FLIGHT_ECS.saturating_sub(self.in_flight(Service::Ecs)),
            ),
            (
                Service::Ec2,
                MAX_IN_FLIGHT_EC2.saturating_sub(self.in_flight(Service::Ec2)),
            ),
            (
                Service::Logs,
                MAX_IN_FLIGHT_LOGS.saturating_sub(self.in_flight(Service::Logs)),
            ),
            (
                Service::Plain,
                MAX_IN_FLIGHT_LOGS.saturating_sub(self.in_flight(Service::Plain)),
            ),
            (
                Service::GitHub,
                if now < self.github_hold_until {
                    0
                } else {
                    MAX_IN_FLIGHT_GITHUB.saturating_sub(self.in_flight(Service::GitHub))
                },
            ),
        ];
        let mut requests = Vec::new();
        for i in 0..self.entries.len() {
            let e = &self.entries[i];
            if e.state != State::Queued {
                continue;
            }
            let service = e.call.service;
            let Some(slot) = room.iter_mut().find(|(s, _)| *s == service) else {
                continue; // every service has its row
            };
            if slot.1 == 0 {
                continue;
            }
            let post = service == Service::GitHub && e.call.method == "POST";
            if post && self.github_posts.len() >= GITHUB_POSTS_PER_MINUTE {
                continue;
            }
            slot.1 -= 1;
            if post {
                self.github_posts.push_back(now);
            }
            let id = self.next_id;
            self.next_id += 1;
            let e = &mut self.entries[i];
            e.state = State::InFlight { id };
            e.attempt += 1;
            let request = build(s, &e.call, id, now);
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
            requests.push(request);
        }
        requests
    }

    /// When a call held back (backing off, or waiting for GitHub's hold or
    /// POST budget) may go, if later than `now`: the machine must wake by
    /// then. Calls waiting only for a free slot wait for an answer instead.
    pub fn wake_at(&self, now: Millis) -> Option<Millis> {
        let mut at: Option<Millis> = None;
        let mut earliest = |t: Millis| {
            if t > now {
                at = Some(at.map_or(t, |a| a.min(t)))
            }
        };
        for e in &self.entries {
            match e.state {
                State::BackingOff { until } => earliest(until),
                State::Queued if e.call.service == Service::GitHub => {
                    earliest(self.github_hold_until);
                    if e.call.method == "POST" && self.github_posts.len() >= GITHUB_POSTS_PER_MINUTE
                    {
                        if let Some(t) = self.github_posts.front() {
                            earliest(t + MINUTE_MS);
                        }
                    }
                }
                _ => {}
            }
        }
        at
    }

    /// Take in answers; return the final ones (success, or a failure not
    /// worth retrying, or out of attempts or time), each with its call.
    /// Answers to requests this exchange no longer waits for are dropped.
    pub fn receive(
        &mut self,
        out: &mut Outbox,
        responses: Vec<HttpResponse>,
        now: Millis,
    ) -> Vec<(Call<T>, HttpResponse)> {
        let mut finals = Vec::new();
        for resp in responses {
            let Some(i) = self
                .entries
                .iter()
                .position(|e| e.state == State::InFlight { id: resp.id })
            else {
                continue;
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
            if !(200..300).contains(&resp.status) {
                if let Some(until) = self.retry_at(i, &resp, out, now) {
                    self.entries[i].state = State::BackingOff { until };
                    continue;
                }
            }
            let e = self.entries.remove(i);
            finals.push((e.call, resp));
        }
        finals
    }

    /// When to send entry `i` again after `resp`, or None when it is final.
    fn retry_at(
        &mut self,
        i: usize,
        resp: &HttpResponse,
        out: &mut Outbox,
        now: Millis,
    ) -> Option<Millis> {
        let verdict = retry::verdict(self.entries[i].call.service, resp, now);
        let e = &self.entries[i];
        if e.attempt >= retry::max_attempts(&verdict).min(e.call.attempts.unwrap_or(u32::MAX)) {
            return None;
        }
        let (service, operation, attempt) = (e.call.service, e.call.operation, e.attempt);
        let cap = |t: Millis| match self.max_wait_ms {
            Some(max) => t.min(now + max),
            None => t,
        };
        let until = match &verdict {
            retry::Verdict::Final => return None,
            retry::Verdict::Transient | retry::Verdict::Throttled => {
                cap(now + retry::backoff_ms(attempt, self.jitter.unit()))
            }
            retry::Verdict::RateLimited { until, why } => {
                let until = cap(*until);
                if until > self.github_hold_until {
                    if self.give_up_at.is_some_and(|g| until > g) {
                        out.warning(format!(
                            "GitHub asks to wait {}s before the next request ({why}), past this step's timeout",
                            until.saturating_sub(now).div_ceil(1000)
                        ));
                        return None;
                    }
                    out.warning(format!(
                        "GitHub rate limit ({why}): holding every GitHub request for {}s",
                        until.saturating_sub(now).div_ceil(1000)
                    ));
                    self.github_hold_until = until;
                }
                until
            }
        };
        if self.give_up_at.is_some_and(|g| until > g) {
            return None;
        }
        if !matches!(verdict, retry::Verdict::RateLimited { .. }) {
            out.info(format!(
                "{} {operation} {} ({}); retrying in {:.1}s",
                service.name(),
                if verdict == retry::Verdict::Throttled {
                    "was throttled"
                } else {
                    "failed"
                },
                short_reason(resp),
                until.saturating_sub(now) as f64 / 1000.0
            ));
        }
        Some(until)
    }

    /// Take back the calls matching `f` that were not sent, or are backing
    /// off (`sent` tells which): what a failing start will not do after all.
    pub fn drop_unsent(&mut self, f: impl Fn(&T) -> bool) -> Vec<Unfinished<T>> {
        let mut dropped = Vec::new();
        let mut i = 0;
        while i < self.entries.len() {
            let e = &self.entries[i];
            if !matches!(e.state, State::InFlight { .. }) && f(&e.call.tag) {
                let e = self.entries.remove(i);
                dropped.push(Unfinished {
                    sent: e.attempt > 0,
                    call: e.call,
                });
            } else {
                i += 1;
            }
        }
        dropped
    }

    /// Take back every call (on cancel: the shell dropped what was in
    /// flight and will not answer it).
    pub fn abandon(&mut self) -> Vec<Unfinished<T>> {
        std::mem::take(&mut self.entries)
            .into_iter()
            .map(|e| Unfinished {
                sent: e.attempt > 0,
                call: e.call,
            })
            .collect()
    }
}

/// The machine's answer to an event when it is not finished: send what may
/// go now, and wake at the earliest of the exchange's and the machine's own
/// times (`timers`).
pub fn wait<T: Clone>(
    ex: &mut Exchange<T>,
    s: &Settings,
    out: &mut Outbox,
    now: Millis,
    timers: &[Option<Millis>],
) -> Next {
    let requests = ex.transmit(s, out, now);
    let wake = timers
        .iter()
        .flatten()
        .copied()
        .chain(ex.wake_at(now))
        .min()
        .map(|t| t.saturating_sub(now));
    Next::Wait {
        requests,
        wake_ms: wake,
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
            headers.insert("content-type".into(), ec2::CONTENT_TYPE.into());
            format!("{}/", s.endpoints.ec2)
        }
        Service::Logs => {
            headers.insert("content-type".into(), "application/x-amz-json-1.1".into());
            headers.insert(
                "x-amz-target".into(),
                format!("Logs_20140328.{}", call.operation),
            );
            format!("{}/", s.endpoints.logs)
        }
        Service::GitHub => {
            headers.insert("accept".into(), "application/vnd.github+json".into());
            headers.insert("authorization".into(), format!("Bearer {}", s.token));
            headers.insert("x-github-api-version".into(), github::API_VERSION.into());
            if !call.body.is_empty() {
                headers.insert("content-type".into(), "application/json".into());
            }
            format!("{}{}", s.github_api_url, call.path)
        }
        Service::Plain => {
            for (k, v) in &call.headers {
                headers.insert(k.to_ascii_lowercase(), v.clone());
            }
            call.path.clone()
        }
    };
    let mut request = HttpRequest {
        id,
        method: call.method.to_string(),
        url,
        headers,
        body: call.body.clone(),
        timeout_ms: call.timeout_ms.unwrap_or(REQUEST_TIMEOUT_MS),
    };
    if !matches!(call.service, Service::GitHub | Service::Plain) {
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
                        (
                            "encoded_jit_config" | "token" | "key" | "SecretAccessKey" | "Token",
                            v @ serde_json::Value::String(_),
                        ) => {
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
        // Not JSON (or cut short): blank the same fields by their text, so
        // a truncated answer shows no credential either; and STS's XML.
        Err(_) => scrub_xml(&scrub_text(body)),
    }
}

/// The text of `<SecretAccessKey>` and `<SessionToken>` elements (STS),
/// blanked up to their end tag or the end of the text.
fn scrub_xml(body: &str) -> String {
    let mut out = body.to_string();
    for tag in ["SecretAccessKey", "SessionToken"] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut from = 0;
        while let Some(i) = out[from..].find(&open) {
            let start = from + i + open.len();
            let end = out[start..].find(&close).map_or(out.len(), |j| start + j);
            out.replace_range(start..end, "***");
            from = start + 3;
        }
    }
    out
}

/// The string values of `"encoded_jit_config"`, `"token"` and `"value"` in
/// text that is not (whole) JSON, blanked up to their closing quote or the
/// end of the text.
fn scrub_text(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let first = body.find('"').unwrap_or(body.len());
    out.push_str(&body[..first]);
    let mut rest = &body[first..];
    'scan: while !rest.is_empty() {
        for key in [
            "\"encoded_jit_config\"",
            "\"token\"",
            "\"value\"",
            "\"SecretAccessKey\"",
            "\"Token\"",
            "\"SessionToken\"",
            "\"key\"",
        ] {
            if let Some(after_key) = rest.strip_prefix(key) {
                let after_colon = after_key.trim_start();
                if let Some(value) = after_colon.strip_prefix(':').map(str::trim_start) {
                    if let Some(inner) = value.strip_prefix('"') {
                        out.push_str(key);
                        out.push_str(":\"***");
                        // Skip to the closing quote (not an escaped one).
                        let mut escaped = false;
                        let mut end = inner.len();
                        for (i, c) in inner.char_indices() {
                            match c {
                                '\\' if !escaped => escaped = true,
                                '"' if !escaped => {
                                    end = i;
                                    break;
                                }
                                _ => escaped = false,
                            }
                        }
                        rest = &inner[end..];
                        continue 'scan;
                    }
                }
            }
        }
        // Not a key here: copy up to the next quote (one key check per
        // quote, not per character: answers may be megabytes).
        let skip = rest[1..].find('"').map_or(rest.len(), |i| i + 1);
        out.push_str(&rest[..skip]);
        rest = &rest[skip..];
    }
    out
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
        // Cut short: the fields are blanked by their text.
        let cut = scrub(r#"{"encoded_jit_config": "c2VjcmV0LXRva2Vu","runner":{"id":4"#);
        assert!(
            !cut.contains("c2VjcmV0") && cut.contains("\"runner\""),
            "{cut}"
        );
        let cut = scrub(
            r#"{"tasks":[{"environment":[{"name":"X","value":"s3cr\"et"},{"name":"Y","value":"abc"#,
        );
        assert!(
            !cut.contains("s3cr") && !cut.contains("abc") && cut.contains("\"X\""),
            "{cut}"
        );
        assert!(!scrub(r#"{"token":"AABBCC"#).contains("AABB"));
        let sts = scrub("<AssumeRoleWithWebIdentityResponse><Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey><SessionToken>t0k3n");
        assert!(
            !sts.contains("s3cr3t") && !sts.contains("t0k3n") && sts.contains("ASIA"),
            "{sts}"
        );
        let j = scrub(r#"{"AccessKeyId":"ASIA","SecretAccessKey":"s3cr3t","Token":"t0k"#);
        assert!(!j.contains("s3cr3t") && !j.contains("t0k"), "{j}");
    }
}
