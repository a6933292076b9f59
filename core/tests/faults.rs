//! The fault matrix: record the calls of a clean start (and of a clean
//! stop), then for each call and each fault inject the fault once, and
//! permanently (every attempt of that call), and check the outcome: success
//! with exactly the intended task and runner, or a failure with nothing
//! left live and a message naming the failed call; never a duplicate task.
//!
//! The scripted world answers; this driver stands between the machine and
//! it. ECS's clientToken idempotency is modelled (a RunTask with a token
//! seen before gets the first task back), and a fault that loses the
//! answer of a request the service did process (a reset after the request
//! went through, a time-out) lets the world act on it first.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ecs_runner_core::protocol::{Event, HttpRequest, HttpResponse, Millis, Next};
use ecs_runner_core::start::Start;
use ecs_runner_core::stop::Stop;
use serde_json::json;
use support::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The connection is reset before the request reaches the service.
    Reset,
    /// The request went through; the answer is lost (reset on the way back).
    ResetAfter,
    Http500,
    Http503,
    /// ECS `ThrottlingException` (400).
    Throttled,
    /// EC2 `RequestLimitExceeded` (503).
    RequestLimitExceeded,
    GitHub502,
    /// A secondary rate limit: 403 with `retry-after: 1`.
    SecondaryLimit,
    /// No answer within the request time-out (the service acted on it).
    Timeout,
    /// A 200 whose body is cut short.
    Truncated,
    /// A 200 whose body is not what the API answers (an HTML page).
    Unreadable,
}

const ALL: &[Fault] = &[
    Fault::Reset,
    Fault::ResetAfter,
    Fault::Http500,
    Fault::Http503,
    Fault::Throttled,
    Fault::RequestLimitExceeded,
    Fault::GitHub502,
    Fault::SecondaryLimit,
    Fault::Timeout,
    Fault::Truncated,
    Fault::Unreadable,
];

impl Fault {
    /// Whether the fault is one `service` can give.
    fn fits(self, service: &str) -> bool {
        match self {
            Fault::Throttled => service == "ecs",
            Fault::RequestLimitExceeded => service == "ec2",
            Fault::GitHub502 | Fault::SecondaryLimit => service == "github",
            _ => true,
        }
    }
    /// The service acts on the request before the fault.
    fn processed(self) -> bool {
        matches!(
            self,
            Fault::ResetAfter | Fault::Timeout | Fault::Truncated | Fault::Unreadable
        )
    }
    fn answer(self, id: u32, real: Option<&HttpResponse>) -> (HttpResponse, Millis) {
        let mut r = HttpResponse {
            id,
            status: 200,
            headers: BTreeMap::new(),
            body: String::new(),
            error: None,
        };
        let mut latency = 100;
        match self {
            Fault::Reset | Fault::ResetAfter => {
                r.status = 0;
                r.error = Some("fetch failed: other side closed (UND_ERR_SOCKET)".into());
            }
            Fault::Http500 => {
                r.status = 500;
                r.body = "<html><body>Internal Server Error</body></html>".into();
            }
            Fault::Http503 => r.status = 503,
            Fault::Throttled => {
                r.status = 400;
                r.body = json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
                    .to_string();
            }
            Fault::RequestLimitExceeded => {
                r.status = 503;
                r.body = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>".into();
            }
            Fault::GitHub502 => {
                r.status = 502;
                r.body = "<html>Bad gateway</html>".into();
            }
            Fault::SecondaryLimit => {
                r.status = 403;
                r.headers.insert("retry-after".into(), "1".into());
                r.body = json!({"message": "You have exceeded a secondary rate limit"}).to_string();
            }
            Fault::Timeout => {
                r.status = 0;
                r.error = Some("timed out after 30000 ms".into());
                latency = 30_000;
            }
            Fault::Truncated => {
                let body = real
                    .map(|a| a.body.clone())
                    .unwrap_or_else(|| "{\"a\": 1}".into());
                r.body = body.chars().take(body.chars().count() / 2).collect();
                if r.body.is_empty() {
                    r.body = "{".into();
                }
            }
            Fault::Unreadable => r.body = "<html><body>Welcome to nginx!</body></html>".into(),
        }
        (r, latency)
    }
}

/// Which requests a fault hits: the `nth` request of operation `op`, once
/// or that call with all its retries (the same request body, which the
/// machine sends again unchanged but for its signature).
#[derive(Debug, Clone)]
struct Injection {
    op: String,
    nth: usize,
    fault: Fault,
    permanent: bool,
}

struct Run {
    outcome: Outcome,
    /// Distinct tasks the service started (after clientToken dedupe).
    tasks: usize,
    faulted: usize,
}

/// Drive `m` against `world` with `inj` applied.
fn drive_faulty(m: &mut dyn Steps, world: &mut World, inj: Option<&Injection>) -> Run {
    let mut now = T0;
    let mut actions = Vec::new();
    let mut event = Event::Start;
    let mut in_flight: Vec<(Millis, HttpResponse)> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut target_body: Option<String> = None;
    let mut tokens: HashMap<String, HttpResponse> = HashMap::new();
    let mut faulted = 0;
    let mut once_done = false;
    for _ in 0..20_000 {
        let action = m.step(now, event);
        let next = action.next.clone();
        actions.push(action);
        let (requests, wake_ms) = match next {
            Next::Wait { requests, wake_ms } => (requests, wake_ms),
            last => {
                return Run {
                    outcome: Outcome { last, actions, now },
                    tasks: tokens.len(),
                    faulted,
                }
            }
        };
        for r in requests {
            let name = op(&r);
            let n = seen.entry(name.clone()).or_default();
            let index = *n;
            *n += 1;
            let hit = inj.filter(|i| i.op == name).is_some_and(|i| {
                let same_call = target_body.as_deref() == Some(stable(&r).as_str());
                if index == i.nth && target_body.is_none() {
                    target_body = Some(stable(&r));
                    true
                } else {
                    i.permanent && same_call
                }
            }) && !(inj.is_some_and(|i| !i.permanent) && once_done);
            let (resp, latency) = if hit {
                let i = inj.unwrap();
                once_done = true;
                faulted += 1;
                let real = i
                    .fault
                    .processed()
                    .then(|| answer_once(world, &mut tokens, &r));
                i.fault.answer(r.id, real.as_ref())
            } else {
                (answer_once(world, &mut tokens, &r), world.latency_of(&r))
            };
            in_flight.push((now + latency, resp));
        }
        event = next_event(&mut now, &mut in_flight, wake_ms);
    }
    panic!("did not finish");
}

/// A request without what changes between attempts (the signature's time).
fn stable(r: &HttpRequest) -> String {
    format!("{} {} {}", r.method, r.url, r.body)
}

/// The world's answer, with ECS's clientToken idempotency: a RunTask whose
/// token was seen gets the first answer again and starts nothing.
fn answer_once(
    world: &mut World,
    tokens: &mut HashMap<String, HttpResponse>,
    r: &HttpRequest,
) -> HttpResponse {
    if op(r) == "ecs:RunTask" {
        let token = json_body(r)["clientToken"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if let Some(first) = tokens.get(&token) {
            let mut again = first.clone();
            again.id = r.id;
            world.requests.push(r.clone());
            world.responses.push(again.clone());
            return again;
        }
        let resp = world.answer(r);
        if resp.status == 200 {
            tokens.insert(token, resp.clone());
        }
        return resp;
    }
    world.answer(r)
}

/// The words a failure of `op` must carry.
fn names_the_call(op: &str, message: &str) -> bool {
    let words: &[&str] = match op {
        "ecs:DescribeTaskDefinition" => &["DescribeTaskDefinition"],
        "ec2:DescribeSubnets" => &["DescribeSubnets"],
        "ec2:DescribeSecurityGroups" => &["DescribeSecurityGroups"],
        "ecs:RunTask" => &["RunTask"],
        "ecs:DescribeTasks" => &["DescribeTasks"],
        "ecs:StopTask" => &["StopTask", "stop-task", "stop task"],
        o if o.contains("generate-jitconfig") => &["generate-jitconfig"],
        o if o.contains("runners?") => &["list runners", "look up runner"],
        o if o.starts_with("github:DELETE") => &["delete runner"],
        _ => &[],
    };
    words.iter().any(|w| message.contains(w))
}

/// Every (op, occurrence) of a clean run.
fn positions(w: &World) -> Vec<(String, usize)> {
    let mut count: HashMap<String, usize> = HashMap::new();
    w.ops()
        .into_iter()
        .map(|o| {
            let n = count.entry(o.clone()).or_default();
            *n += 1;
            (o, *n - 1)
        })
        .collect()
}

#[test]
fn a_start_survives_or_cleans_up_after_any_fault_at_any_call() {
    start_matrix(1);
}

#[test]
fn a_fleet_of_three_survives_or_cleans_up_after_any_fault_at_any_call() {
    start_matrix(3);
}

fn start_matrix(count: usize) {
    let mut clean = World::default();
    let o = drive(&mut Start::new(fleet(count), RANDOM), &mut clean);
    assert!(o.done());
    let mut cases = 0;
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for (op_name, nth) in positions(&clean) {
        for &fault in ALL.iter().filter(|f| f.fits(service_of(&op_name))) {
            for permanent in [false, true] {
                let inj = Injection {
                    op: op_name.clone(),
                    nth,
                    fault,
                    permanent,
                };
                let mut w = World::default();
                let run = drive_faulty(&mut Start::new(fleet(count), RANDOM), &mut w, Some(&inj));
                cases += 1;
                let case = format!("{inj:?}");
                assert!(run.faulted >= 1, "{case}: the fault was never injected");
                assert!(run.tasks <= count, "{case}: {} tasks started", run.tasks);
                let started: BTreeSet<String> = w.started_tasks().into_iter().collect();
                let stopped: BTreeSet<String> = w.stopped_tasks().into_iter().collect();
                let registered: BTreeSet<u64> = w.registered.iter().map(|(id, _)| *id).collect();
                let deleted: BTreeSet<u64> = w.deleted_runners().into_iter().collect();
                match &run.outcome.last {
                    Next::Done { outputs, .. } => {
                        *outcomes.entry("succeeded").or_default() += 1;
                        assert_eq!(started.len(), count, "{case}");
                        assert!(stopped.is_empty(), "{case}");
                        // One live runner (a registration whose answer was
                        // lost is replaced), and the task holds its config.
                        let live: Vec<&u64> = registered.difference(&deleted).collect();
                        assert_eq!(live.len(), count, "{case}: {registered:?} {deleted:?}");
                        let runners: Vec<serde_json::Value> =
                            serde_json::from_str(&outputs["runners"]).unwrap();
                        for r in &runners {
                            let id = r["github_runner_id"].as_u64().unwrap();
                            assert!(
                                live.contains(&&id),
                                "{case}: output names runner {id}, not a live one"
                            );
                            assert!(started.contains(r["task_arn"].as_str().unwrap()), "{case}");
                        }
                        // Each live runner's config went into a task.
                        let bodies: Vec<String> = w
                            .all("ecs:RunTask")
                            .iter()
                            .map(|r| r.body.clone())
                            .collect();
                        for id in &live {
                            assert!(
                                bodies
                                    .iter()
                                    .any(|b| b.contains(&format!("\"{}\"", jit_of(**id)))),
                                "{case}: no task has runner {id}'s config"
                            );
                        }
                    }
                    Next::Failed { message, .. } => {
                        *outcomes.entry("failed, cleaned up").or_default() += 1;
                        assert!(
                            started.is_subset(&stopped),
                            "{case}: left {started:?} {stopped:?}\n{message}"
                        );
                        assert!(
                            registered.is_subset(&deleted),
                            "{case}: left runners {registered:?}\n{message}"
                        );
                        assert!(
                            names_the_call(&op_name, message),
                            "{case}: the message does not name the call:\n{message}"
                        );
                        assert!(!message.contains("internal error"), "{case}: {message}");
                    }
                    other => panic!("{case}: {other:?}"),
                }
                assert_no_secret_in_logs(&run.outcome);
            }
        }
    }
    println!("start fault matrix (count {count}): {cases} cases {outcomes:?}");
    assert!(cases >= 100, "{cases}");
}

fn service_of(op: &str) -> &str {
    op.split(':').next().unwrap_or("")
}

fn stop_settings() -> ecs_runner_core::settings::Settings {
    let mut s = settings();
    s.mode = ecs_runner_core::settings::Mode::Stop;
    s.task_arns = vec![TASK_ARN.into()];
    s.runner_id = Some("gh-987654-1-0123abcd".into());
    s
}

/// A world where the step's task runs and its runner is registered.
fn launched() -> World {
    let mut w = World::default();
    let mut t = task_json("RUNNING", "RUNNING");
    t["tags"] = json!([
        {"key": "ecs-runner:runner-id", "value": "gh-987654-1-0123abcd"},
        {"key": "ecs-runner:repository", "value": "octo/app"},
        {"key": "ecs-runner:run-id", "value": "987654"}
    ]);
    let mut stopped = t.clone();
    stopped["lastStatus"] = json!("STOPPED");
    stopped["desiredStatus"] = json!("STOPPED");
    w.statuses = vec![t, stopped];
    w.registered.push((42, "gh-987654-1-0123abcd".into()));
    w
}

#[test]
fn a_stop_survives_or_says_what_is_left_after_any_fault_at_any_call() {
    let mut clean = launched();
    let o = drive(&mut Stop::new(stop_settings(), RANDOM), &mut clean);
    assert!(o.done(), "{:?}", o.last);
    let mut cases = 0;
    for (op_name, nth) in positions(&clean) {
        for &fault in ALL.iter().filter(|f| f.fits(service_of(&op_name))) {
            for permanent in [false, true] {
                let inj = Injection {
                    op: op_name.clone(),
                    nth,
                    fault,
                    permanent,
                };
                let mut w = launched();
                let run = drive_faulty(&mut Stop::new(stop_settings(), RANDOM), &mut w, Some(&inj));
                cases += 1;
                let case = format!("{inj:?}");
                // Stopped by this stop, or seen already stopped (the world's
                // task moves on a step with every look).
                let stopped = w.stopped_tasks().contains(&TASK_ARN.to_string())
                    || run
                        .outcome
                        .logs()
                        .iter()
                        .any(|l| l.contains("was already stopped"));
                let deleted = w.deleted_runners().contains(&42);
                match &run.outcome.last {
                    Next::Done { .. } => {
                        assert!(
                            stopped && deleted,
                            "{case}: done, but stopped {stopped} deleted {deleted}"
                        );
                    }
                    Next::Failed { message, .. } => {
                        assert!(names_the_call(&op_name, message), "{case}: {message}");
                        // What is left is named, with the way to remove it.
                        if !stopped {
                            assert!(
                                message.contains("aws ecs stop-task")
                                    || message.contains("look up task"),
                                "{case}: {message}"
                            );
                        }
                        if !deleted {
                            assert!(message.contains("runner"), "{case}: {message}");
                        }
                    }
                    other => panic!("{case}: {other:?}"),
                }
            }
        }
    }
    println!("stop fault matrix: {cases} cases");
    assert!(cases >= 60, "{cases}");
}
