//! Malformed answers (issue 9, requirement 5): record the calls of a clean
//! start (several kinds of start, a stop and a reap), then for each call
//! and each way an answer can be broken, break that one answer (and, for an
//! error status, every retry of it) and check what the machine does:
//!
//! - it never panics and never says "internal error";
//! - it fails with a message that names the call whose answer was broken,
//!   or succeeds where the broken answer was harmless;
//! - it leaves nothing behind: every task the world started is stopped (or
//!   is the one the step hands on in its outputs), every runner the world
//!   registered is deleted (or handed on); a stop or reap that succeeds
//!   removed what it removes with clean answers, or says why not.
//!
//! Broken answers: an HTML error page (status 500, and 200), an empty 200,
//! JSON of the wrong type at the top, a 5 MB body (garbage, and a valid
//! answer padded to 5 MB), the answer cut short, and for every field of the
//! real answer: the field removed, set to null, set to a value of the wrong
//! type (for XML answers: each element removed, or emptied). A broken 500
//! means the service did nothing; a broken 2xx means it did what was asked
//! (the answer was lost on the way back), so a RunTask whose answer is
//! unreadable has started a task all the same.
//!
//! The driver stands between the machine and the scripted world: the
//! world answers, the driver breaks the one answer. DescribeTasks lists only
//! the tasks the world started (as ECS does), so a task the machine thinks
//! it has but ECS never started is MISSING, not RUNNING.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use ecs_runner_core::exchange::retry::MAX_ATTEMPTS;
use ecs_runner_core::protocol::{Event, HttpRequest, HttpResponse, Millis, Next};
use ecs_runner_core::reap::Reap;
use ecs_runner_core::settings::{Arch, Lookup, Mode, Placement, Registration, Settings, TaskSpec};
use ecs_runner_core::start::Start;
use ecs_runner_core::stop::Stop;
use ecs_runner_core::Machine;
use serde_json::{json, Value};
use support::*;

const HTML: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";
const FIVE_MB: usize = 5 * 1024 * 1024;

// ---- how an answer is broken ----

/// A body transform: the real answer's body in, the broken one out (None:
/// the transform does not apply to this body).
type Mangle = Rc<dyn Fn(&str) -> Option<String>>;

#[derive(Clone)]
enum Break {
    /// The service does nothing; this call (every attempt) gets this answer.
    Instead(u16, Rc<String>),
    /// The service acts; its answer's body becomes this (status kept).
    Body(Rc<String>),
    /// The service acts; its answer's body is changed.
    Mangled(Mangle),
}

#[derive(Clone)]
struct Variant {
    what: String,
    brk: Break,
    /// Breaks the answer as a whole (not one field deep inside it).
    whole: bool,
}

fn fixed(what: &str, status: u16, body: String) -> Variant {
    Variant {
        what: what.into(),
        brk: Break::Instead(status, Rc::new(body)),
        whole: true,
    }
}

fn body(what: &str, body: String) -> Variant {
    Variant {
        what: what.into(),
        brk: Break::Body(Rc::new(body)),
        whole: true,
    }
}

fn mangled(what: String, f: impl Fn(&str) -> Option<String> + 'static) -> Variant {
    Variant {
        what,
        brk: Break::Mangled(Rc::new(f)),
        whole: true,
    }
}

/// Where a value sits in a JSON document.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_words(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Every path of `v` (objects' keys and arrays' items, all depths).
fn json_paths(v: &Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                at.push(Seg::Key(k.clone()));
                out.push(at.clone());
                json_paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(Seg::Index(i));
                out.push(at.clone());
                json_paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// What to do to the value at a path.
#[derive(Clone, Copy, Debug)]
enum Edit {
    Remove,
    Null,
    WrongType,
}

/// The same value in a type it does not have.
fn wrong_type(v: &Value) -> Value {
    match v {
        Value::String(_) => json!(12345),
        Value::Number(_) => json!("12345"),
        Value::Bool(_) => json!("true"),
        Value::Array(_) => json!({"0": "x"}),
        Value::Object(_) => json!("{}"),
        Value::Null => json!([]),
    }
}

/// `v` with `edit` applied at `path`; false when the path is not there.
fn edit_at(v: &mut Value, path: &[Seg], edit: Edit) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = v;
    for seg in parents {
        let next = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k),
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match (last, cur, edit) {
        (Seg::Key(k), Value::Object(m), Edit::Remove) => m.remove(k).is_some(),
        (Seg::Index(i), Value::Array(a), Edit::Remove) if *i < a.len() => {
            a.remove(*i);
            true
        }
        (Seg::Key(k), Value::Object(m), e) => match m.get_mut(k) {
            Some(x) => {
                *x = if matches!(e, Edit::Null) {
                    Value::Null
                } else {
                    wrong_type(x)
                };
                true
            }
            None => false,
        },
        (Seg::Index(i), Value::Array(a), e) => match a.get_mut(*i) {
            Some(x) => {
                *x = if matches!(e, Edit::Null) {
                    Value::Null
                } else {
                    wrong_type(x)
                };
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// Byte ranges of every element of an XML document, with its name, in
/// document order (enough XML for the EC2 answers of the scripted world).
fn xml_elements(doc: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let bytes = doc.as_bytes();
    let mut i = 0;
    while let Some(off) = doc[i..].find('<') {
        let start = i + off;
        let Some(close) = doc[start..].find('>') else {
            break;
        };
        let end = start + close + 1;
        let tag = &doc[start + 1..end - 1];
        if tag.starts_with('?') || tag.starts_with('!') {
        } else if let Some(name) = tag.strip_prefix('/') {
            if let Some(pos) = stack.iter().rposition(|(n, _)| n == name.trim()) {
                let (n, s) = stack.remove(pos);
                stack.truncate(pos);
                out.push((n, s, end));
            }
        } else if bytes[end - 2] == b'/' {
            let name = tag
                .trim_end_matches('/')
                .split_whitespace()
                .next()
                .unwrap_or("");
            out.push((name.to_string(), start, end));
        } else {
            let name = tag.split_whitespace().next().unwrap_or("");
            stack.push((name.to_string(), start));
        }
        i = end;
    }
    out.sort_by_key(|(_, s, _)| *s);
    out
}

/// Every way to break the answer `clean` (the clean run's answer at this
/// position): the fixed bodies, then (with `fields`) the edits of each of
/// its fields. `big`: the size of the large bodies.
fn variants(clean: &HttpResponse, big: usize, fields: bool) -> Vec<Variant> {
    let size = if big >= 1024 * 1024 {
        format!("{} MB", big / (1024 * 1024))
    } else {
        format!("{} KB", big / 1024)
    };
    let mut v = vec![
        fixed("an HTML error page with status 500", 500, HTML.into()),
        body("an HTML page with status 2xx", HTML.into()),
        body("an empty 2xx body", String::new()),
        body("a JSON array instead of an object", "[]".into()),
        body("JSON null", "null".into()),
        body("a JSON string", "\"ok\"".into()),
        body(&format!("{size} of garbage"), "x".repeat(big)),
        mangled("the answer cut in half".into(), |b: &str| {
            (b.len() > 1).then(|| b.chars().take(b.chars().count() / 2).collect())
        }),
        mangled("the answer without its last character".into(), |b: &str| {
            let mut s = b.to_string();
            s.pop().map(|_| s)
        }),
    ];
    if let Ok(doc) = serde_json::from_str::<Value>(&clean.body) {
        v.push(mangled(
            format!("the answer padded to {size}"),
            move |b: &str| match serde_json::from_str::<Value>(b) {
                Ok(Value::Object(mut m)) => {
                    m.insert("zzPadding".into(), json!("p".repeat(big)));
                    Some(Value::Object(m).to_string())
                }
                _ => None,
            },
        ));
        let mut paths = Vec::new();
        if fields {
            json_paths(&doc, &mut Vec::new(), &mut paths);
        }
        for path in paths {
            for edit in [Edit::Remove, Edit::Null, Edit::WrongType] {
                let p = path.clone();
                let mut variant =
                    mangled(format!("{edit:?} {}", path_words(&path)), move |b: &str| {
                        let mut doc: Value = serde_json::from_str(b).ok()?;
                        edit_at(&mut doc, &p, edit).then(|| doc.to_string())
                    });
                variant.whole = path.len() == 1;
                v.push(variant);
            }
        }
    } else if clean.body.trim_start().starts_with('<') {
        v.push(mangled(
            format!("the answer padded to {size}"),
            move |b: &str| {
                let at = b.rfind("</")?;
                Some(format!(
                    "{}<padding>{}</padding>{}",
                    &b[..at],
                    "p".repeat(big),
                    &b[at..]
                ))
            },
        ));
        let elements = if fields {
            xml_elements(&clean.body)
        } else {
            Vec::new()
        };
        for (i, (name, start, end)) in elements.iter().cloned().enumerate() {
            // The root and its children: the document as a whole.
            let depth = elements
                .iter()
                .filter(|(_, s, e)| *s < start && *e >= end)
                .count();
            for empty in [false, true] {
                v.push(mangled(
                    format!(
                        "{} element {i} <{name}>",
                        if empty { "emptied" } else { "removed" }
                    ),
                    move |b: &str| {
                        let (n, s, e) = xml_elements(b).into_iter().nth(i)?;
                        let with = if empty {
                            format!("<{n}/>")
                        } else {
                            String::new()
                        };
                        Some(format!("{}{with}{}", &b[..s], &b[e..]))
                    },
                ));
                v.last_mut().expect("pushed").whole = depth <= 1;
            }
        }
    }
    v
}

// ---- the scenarios ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Start,
    /// A start whose clean run fails (the task stops before RUNNING).
    FailingStart,
    Stop,
    Reap,
}

struct Scenario {
    name: &'static str,
    kind: Kind,
    make: fn() -> (Box<dyn Steps>, World),
    /// Every field is broken at the first this many answers of each call
    /// (a poll's later answers have the same fields).
    field_answers: usize,
}

fn start_with(s: Settings, w: World) -> (Box<dyn Steps>, World) {
    (Box::new(Start::new(s, RANDOM)), w)
}

fn spec() -> TaskSpec {
    TaskSpec {
        image: "ghcr.io/actions/actions-runner:latest".into(),
        cpu: 1024,
        memory: 2048,
        arch: Arch::X64,
        execution_role: Some("arn:aws:iam::123456789012:role/ecs-runner-execution".into()),
        task_role: None,
        log_group: Some("/ecs-runner".into()),
        efs: None,
        efs_access_point: None,
        efs_iam: false,
        ephemeral_storage_gib: None,
        command: vec!["/home/runner/run.sh".into()],
    }
}

/// One runner by JIT config, subnets and security groups by tag, waiting
/// for the runner to be online.
fn jit_wait() -> (Box<dyn Steps>, World) {
    let mut s = settings();
    s.wait_for_registration = true;
    start_with(s, World::default())
}

/// A registration token instead of a JIT config; subnet ids given.
fn token() -> (Box<dyn Steps>, World) {
    let mut s = settings();
    s.registration = Registration::Token;
    s.subnets = Lookup::Ids(vec!["subnet-0aaa1111".into()]);
    start_with(s, World::default())
}

/// With `image`: the family is new, the action registers it.
fn image() -> (Box<dyn Steps>, World) {
    let mut s = settings();
    s.task_definition = "gh".into();
    s.task_spec = Some(spec());
    let mut w = World::default();
    w.queue(
        "ecs:DescribeTaskDefinition",
        Reply::aws_error(
            400,
            "ClientException",
            "Unable to describe task definition.",
        ),
    );
    start_with(s, w)
}

/// EC2 launch type, bridge network: the IP comes from the instance.
fn bridge() -> (Box<dyn Steps>, World) {
    let mut w = World::default();
    w.network_mode = "bridge";
    let mut running = task_json("RUNNING", "RUNNING");
    running["attachments"] = json!([]);
    running["containerInstanceArn"] =
        json!("arn:aws:ecs:us-west-2:123456789012:container-instance/runners/abc");
    let mut pending = running.clone();
    pending["lastStatus"] = json!("PENDING");
    w.statuses = vec![pending, running];
    w.queue(
        "ecs:DescribeContainerInstances",
        Reply::ok(json!({"containerInstances": [{"containerInstanceArn": "arn:aws:ecs:us-west-2:123456789012:container-instance/runners/abc", "ec2InstanceId": "i-0123456789abcdef0"}], "failures": []})),
    );
    w.queue(
        "ec2:DescribeInstances",
        Reply(200, "<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-0123456789abcdef0</instanceId><privateIpAddress>10.9.8.7</privateIpAddress></item></instancesSet></item></reservationSet></DescribeInstancesResponse>".into()),
    );
    let mut s = settings();
    s.placement = Placement::LaunchType("EC2".into());
    s.subnets = Lookup::None;
    s.security_groups = Lookup::None;
    start_with(s, w)
}

/// Two runners, waiting for both online (GitHub's runner list).
fn fleet_wait() -> (Box<dyn Steps>, World) {
    let mut s = fleet(2);
    s.wait_for_registration = true;
    start_with(s, World::default())
}

/// With `image`, the task stops before RUNNING: the start fails, shows the
/// runner's log and deletes the runner.
fn stopping() -> (Box<dyn Steps>, World) {
    let (m, mut w) = image();
    let mut stopped = task_json("STOPPED", "STOPPED");
    stopped["stopCode"] = json!("EssentialContainerExited");
    stopped["containers"] = json!([{"name": "runner", "exitCode": 1}]);
    w.statuses = vec![task_json("PENDING", "RUNNING"), stopped];
    w.queue(
        "logs:GetLogEvents",
        Reply::ok(json!({"events": [{"timestamp": 1, "message": "Error: bad config\n"}]})),
    );
    (m, w)
}

const RUNNER: &str = "gh-987654-1-0123abcd";

/// A task of this run, as DescribeTasks with tags shows it.
fn ours(arn: &str, status: &str, desired: &str) -> Value {
    let mut t = with_arn(task_json(status, desired), arn);
    t["tags"] = json!([
        {"key": "ecs-runner:runner-id", "value": RUNNER},
        {"key": "ecs-runner:repository", "value": "octo/app"},
        {"key": "ecs-runner:context", "value": "octo/app"},
        {"key": "ecs-runner:run-id", "value": "987654"}
    ]);
    t
}

/// Stop with the start's outputs: check the task, stop it, wait for it to
/// stop, delete its runner.
fn stop_named() -> (Box<dyn Steps>, World) {
    let mut s = settings();
    s.mode = Mode::Stop;
    s.task_arns = vec![TASK_ARN.into()];
    s.runner_id = Some(RUNNER.into());
    let mut w = World::default();
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours(TASK_ARN, "RUNNING", "RUNNING")], "failures": []})),
    );
    let mut stopped = ours(TASK_ARN, "STOPPED", "STOPPED");
    stopped["stopCode"] = json!("UserInitiated");
    stopped["containers"] = json!([{"name": "runner", "lastStatus": "STOPPED", "exitCode": 143}]);
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [stopped], "failures": []})),
    );
    w.queue(
        &format!("github:GET /repos/octo/app/actions/runners?name={RUNNER}"),
        runners_page(json!([runner_json(RUNNER, 42, "online", false)])),
    );
    w.queue(
        "github:GET /repos/octo/app/actions/runners?per_page=100&page=1",
        runners_page(json!([runner_json(RUNNER, 42, "online", false)])),
    );
    (Box::new(Stop::new(s, RANDOM)), w)
}

/// Stop without outputs: find this run's tasks by startedBy and tags, and
/// its runners by name.
fn stop_unnamed() -> (Box<dyn Steps>, World) {
    let mut s = settings();
    s.mode = Mode::Stop;
    let mut w = World::default();
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": [TASK_ARN]})));
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours(TASK_ARN, "RUNNING", "RUNNING")], "failures": []})),
    );
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours(TASK_ARN, "STOPPED", "STOPPED")], "failures": []})),
    );
    w.queue(
        "github:GET /repos/octo/app/actions/runners?per_page=100&page=1",
        runners_page(json!([runner_json(RUNNER, 42, "offline", false)])),
    );
    w.queue(
        &format!("github:GET /repos/octo/app/actions/runners?name={RUNNER}"),
        runners_page(json!([runner_json(RUNNER, 42, "offline", false)])),
    );
    (Box::new(Stop::new(s, RANDOM)), w)
}

/// Reap: an old task and its runner, an orphan runner whose run is over.
fn reap() -> (Box<dyn Steps>, World) {
    let mut s = settings();
    s.mode = Mode::Reap;
    s.max_age_min = 60;
    let old = "arn:aws:ecs:us-west-2:123456789012:task/runners/old";
    let mut task = ours(old, "RUNNING", "RUNNING");
    task["tags"][0]["value"] = json!("gh-1-1-aaaaaaaa");
    task["createdAt"] = json!((T0 / 1000 - 120 * 60) as f64);
    let mut w = World::default();
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": [old]})));
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [task], "failures": []})),
    );
    w.queue(
        "github:GET /repos/octo/app/actions/runners?per_page=100&page=1",
        runners_page(json!([
            runner_json("gh-1-1-aaaaaaaa", 1, "online", false),
            runner_json("gh-5-1-eeeeeeee", 5, "offline", false)
        ])),
    );
    w.queue(
        "github:GET /repos/octo/app/actions/runs/5",
        Reply(
            200,
            json!({"id": 5, "status": "completed", "run_started_at": "2020-01-22T19:33:08Z"})
                .to_string(),
        ),
    );
    (Box::new(Reap::new(s, RANDOM)), w)
}

// Distinct from support's secrets (and from each other) in every ten
// characters, so that a piece of one is not taken for a piece of another.
const FETCHED_KEY: &str = "ASIAFETCHEDKEY000001";
const FETCHED_SECRET: &str = "wJalFetchedKeyMaterial/0123+abcd";
const FETCHED_SESSION: &str = "FwoGZXIvFetchedSessionToken987654321";
const OIDC_REQUEST_TOKEN: &str = "Bearer0idcRequestCredential0123";
const OIDC_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9jdG8vYXBwIn0.sig";
const IMDS_TOKEN: &str = "AQAEAImdsSessionCredential4567==";
const IMDS: &str = "http://127.0.0.1:9922";

/// Every secret a run may see: the support world's and the credential
/// chain's.
const SECRETS: &[&str] = &[
    TOKEN,
    AWS_SECRET,
    SESSION,
    JIT,
    REG_TOKEN,
    FETCHED_SECRET,
    FETCHED_SESSION,
    OIDC_REQUEST_TOKEN,
    OIDC_JWT,
    IMDS_TOKEN,
];

/// The top-level Machine from inputs and environment as the shell passes
/// them, without AWS keys: the credentials come from the chain first.
fn machine(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Box<dyn Steps> {
    let inputs: Vec<(&str, &str)> = [("token", TOKEN)]
        .into_iter()
        .chain(inputs.iter().copied())
        .collect();
    Box::new(Machine::new(machine_config(&inputs, env)))
}

fn json_credentials() -> Reply {
    Reply::ok(
        json!({"Code": "Success", "AccessKeyId": FETCHED_KEY, "SecretAccessKey": FETCHED_SECRET, "Token": FETCHED_SESSION, "Expiration": "2026-12-01T10:00:00Z"}),
    )
}

/// role-to-assume: GitHub's OIDC token, then STS.
fn oidc() -> (Box<dyn Steps>, World) {
    let mut w = World::default();
    w.queue(
        "http:GET https://token.actions.example/idtoken?api-version=2.0&audience=sts.amazonaws.com",
        Reply::ok(json!({"count": 1, "value": OIDC_JWT})),
    );
    w.queue("sts:AssumeRoleWithWebIdentity", Reply(200, format!("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{FETCHED_KEY}</AccessKeyId><SecretAccessKey>{FETCHED_SECRET}</SecretAccessKey><SessionToken>{FETCHED_SESSION}</SessionToken><Expiration>2026-12-01T10:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")));
    let m = machine(
        &[("role-to-assume", "arn:aws:iam::123456789012:role/launcher")],
        &[
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "https://token.actions.example/idtoken?api-version=2.0",
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", OIDC_REQUEST_TOKEN),
        ],
    );
    (m, w)
}

/// The EC2 instance metadata: a token, the role, its credentials.
fn imds() -> (Box<dyn Steps>, World) {
    let mut w = World::default();
    w.queue(
        &format!("http:PUT {IMDS}/latest/api/token"),
        Reply(200, IMDS_TOKEN.into()),
    );
    w.queue(
        &format!("http:GET {IMDS}/latest/meta-data/iam/security-credentials/"),
        Reply(200, "runner-host-role\n".into()),
    );
    w.queue(
        &format!("http:GET {IMDS}/latest/meta-data/iam/security-credentials/runner-host-role"),
        json_credentials(),
    );
    (
        machine(&[], &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", IMDS)]),
        w,
    )
}

/// The ECS container credentials endpoint, with a token.
fn container() -> (Box<dyn Steps>, World) {
    let mut w = World::default();
    w.queue(
        "http:GET http://169.254.170.2/v2/credentials/abc",
        json_credentials(),
    );
    let m = machine(
        &[],
        &[
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/abc",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", OIDC_REQUEST_TOKEN),
        ],
    );
    (m, w)
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "start: jit, lookups by tag, wait for registration",
        kind: Kind::Start,
        make: jit_wait,
        field_answers: 2,
    },
    Scenario {
        name: "start: registration token",
        kind: Kind::Start,
        make: token,
        field_answers: 2,
    },
    Scenario {
        name: "start: image, new family",
        kind: Kind::Start,
        make: image,
        field_answers: 2,
    },
    Scenario {
        name: "start: EC2 bridge mode",
        kind: Kind::Start,
        make: bridge,
        field_answers: 2,
    },
    Scenario {
        name: "start: fleet of 2, wait for registration",
        kind: Kind::Start,
        make: fleet_wait,
        field_answers: 1,
    },
    Scenario {
        name: "start: task stops before RUNNING",
        kind: Kind::FailingStart,
        make: stopping,
        field_answers: 2,
    },
    Scenario {
        name: "stop: named task and runner",
        kind: Kind::Stop,
        make: stop_named,
        field_answers: 2,
    },
    Scenario {
        name: "stop: this run's tasks and runners",
        kind: Kind::Stop,
        make: stop_unnamed,
        field_answers: 2,
    },
    Scenario {
        name: "reap",
        kind: Kind::Reap,
        make: reap,
        field_answers: 2,
    },
    Scenario {
        name: "start: credentials from role-to-assume (OIDC, STS)",
        kind: Kind::Start,
        make: oidc,
        field_answers: 2,
    },
    Scenario {
        name: "start: credentials from the instance metadata",
        kind: Kind::Start,
        make: imds,
        field_answers: 2,
    },
    Scenario {
        name: "start: credentials from the container endpoint",
        kind: Kind::Start,
        make: container,
        field_answers: 2,
    },
];

// ---- the driver ----

/// One answer to break: the `nth` request of `op`.
struct Target {
    op: String,
    nth: usize,
    variant: Variant,
}

/// A run: how it ended, and every request with the answer delivered.
struct Run {
    outcome: Outcome,
    exchanges: Vec<(HttpRequest, HttpResponse)>,
    /// How many answers were broken (0: the break did not apply).
    broken: usize,
}

fn client_token(r: &HttpRequest) -> Option<String> {
    (op(r) == "ecs:RunTask")
        .then(|| json_body(r)["clientToken"].as_str().map(String::from))
        .flatten()
}

/// The world's answer, as ECS gives it: a RunTask with a clientToken seen
/// before gets the first answer again (ECS API reference, RunTask: the
/// token makes the request idempotent), and with `strict`, DescribeTasks
/// lists only the tasks the world started (others are MISSING failures).
fn real_answer(
    world: &mut World,
    tokens: &mut HashMap<String, HttpResponse>,
    r: &HttpRequest,
    strict: bool,
) -> HttpResponse {
    let token = client_token(r);
    if let Some(seen) = token.as_ref().and_then(|t| tokens.get(t)) {
        let mut again = seen.clone();
        again.id = r.id;
        return again;
    }
    // The instance metadata knows one role; any other path is a 404.
    let creds_path = format!("http:GET {IMDS}/latest/meta-data/iam/security-credentials/");
    let name = op(r);
    if name.starts_with(&creds_path) && !name.ends_with("/") && !name.ends_with("/runner-host-role")
    {
        return HttpResponse {
            id: r.id,
            status: 404,
            headers: BTreeMap::new(),
            body: "<?xml version=\"1.0\"?><html><body><h1>404 - Not Found</h1></body></html>"
                .into(),
            error: None,
        };
    }
    let mut a = world.answer(r);
    if let Some(t) = token.filter(|_| (200..300).contains(&a.status)) {
        tokens.insert(t, a.clone());
    }
    if strict && op(r) == "ecs:DescribeTasks" {
        a.body = only_started(world, &a.body);
    }
    a
}

/// `support::drive`, with the answer of `target` broken.
fn drive_broken(
    m: &mut dyn Steps,
    world: &mut World,
    target: Option<&Target>,
    strict: bool,
) -> Run {
    let mut now = T0;
    let mut actions = Vec::new();
    let mut event = Event::Start;
    let mut in_flight: Vec<(Millis, HttpResponse)> = Vec::new();
    let mut exchanges = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut tokens: HashMap<String, HttpResponse> = HashMap::new();
    let mut hit_body: Option<String> = None;
    let mut broken = 0;
    for _ in 0..100_000 {
        let action = m.step(now, event);
        let next = action.next.clone();
        actions.push(action);
        let (requests, wake_ms) = match next {
            Next::Wait { requests, wake_ms } => (requests, wake_ms),
            last => {
                return Run {
                    outcome: Outcome { last, actions, now },
                    exchanges,
                    broken,
                }
            }
        };
        for r in requests {
            let name = op(&r);
            let n = seen.entry(name.clone()).or_default();
            let index = *n;
            *n += 1;
            let hit = target.filter(|t| t.op == name).and_then(|t| {
                let first = index == t.nth && hit_body.is_none();
                // An error status is retried: each retry (the same body) is
                // broken too, up to the attempts a call gets.
                let retry = matches!(t.variant.brk, Break::Instead(..))
                    && hit_body.as_deref() == Some(r.body.as_str())
                    && broken < MAX_ATTEMPTS as usize;
                if first {
                    hit_body = Some(r.body.clone());
                }
                (first || retry).then_some(&t.variant.brk)
            });
            let resp = match hit {
                Some(Break::Instead(status, b)) => {
                    broken += 1;
                    HttpResponse {
                        id: r.id,
                        status: *status,
                        headers: BTreeMap::from([("content-type".into(), "text/html".into())]),
                        body: b.to_string(),
                        error: None,
                    }
                }
                Some(brk) => {
                    let mut real = real_answer(world, &mut tokens, &r, strict);
                    let new = match brk {
                        Break::Body(b) => Some(b.to_string()),
                        Break::Mangled(f) => f(&real.body),
                        Break::Instead(..) => None,
                    };
                    if let Some(b) = new.filter(|b| *b != real.body) {
                        broken += 1;
                        real.body = b;
                    }
                    real
                }
                None => real_answer(world, &mut tokens, &r, strict),
            };
            in_flight.push((now + world.latency_of(&r), resp.clone()));
            exchanges.push((r, resp));
        }
        event = next_event(&mut now, &mut in_flight, wake_ms);
    }
    panic!("the machine did not finish in 100000 steps");
}

/// A DescribeTasks answer with only the tasks the world started; the
/// others become MISSING failures.
fn only_started(world: &World, body: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    let started = world.started_tasks();
    let mut failures = Vec::new();
    if let Some(tasks) = v["tasks"].as_array_mut() {
        tasks.retain(|t| {
            let arn = t["taskArn"].as_str().unwrap_or("");
            let ok = started.iter().any(|s| s == arn);
            if !ok {
                failures.push(json!({"arn": arn, "reason": "MISSING"}));
            }
            ok
        });
    }
    if let Some(f) = v["failures"].as_array_mut() {
        f.extend(failures);
    }
    v.to_string()
}

// ---- the checks ----

/// Words a failure may use for the call `op`: its operation, the machine's
/// own name for a GitHub or credential call, or the input it serves.
fn call_names(op: &str) -> Vec<String> {
    let (kind, name) = op.split_once(':').unwrap_or(("", op));
    let names: &[&str] = match kind {
        "ec2" if name == "DescribeSubnets" => &["DescribeSubnets", "subnets-tag"],
        "ec2" if name == "DescribeSecurityGroups" => {
            &["DescribeSecurityGroups", "security-groups-tag"]
        }
        "ecs" | "ec2" | "logs" => &[name],
        "sts" => &["STS"],
        "http" | "file" => &["Could not get AWS credentials"],
        _ if name.ends_with("/generate-jitconfig") => &["generate-jitconfig"],
        _ if name.ends_with("/registration-token") => &["registration-token"],
        _ if name.starts_with("DELETE") => &["delete runner"],
        _ if name.contains("/actions/runs/") => &["get workflow run"],
        _ => &["get runner", "list runners"],
    };
    names.iter().map(|n| n.to_string()).collect()
}

/// Removal calls: when their answer is broken, what they remove may be
/// left behind, and the failure says so.
fn is_removal(op: &str) -> bool {
    op == "ecs:StopTask"
        || op.starts_with("github:DELETE")
        || op == "ecs:ListTasks"
        || op.contains("runners?name=")
}

fn stopped_ok(x: &[(HttpRequest, HttpResponse)]) -> Vec<String> {
    x.iter()
        .filter(|(r, a)| op(r) == "ecs:StopTask" && (200..300).contains(&a.status))
        .map(|(r, _)| json_body(r)["task"].as_str().unwrap_or("").to_string())
        .collect()
}

fn deleted_ok(x: &[(HttpRequest, HttpResponse)]) -> Vec<u64> {
    x.iter()
        .filter(|(r, a)| r.method == "DELETE" && (200..300).contains(&a.status))
        .filter_map(|(r, _)| r.url.rsplit('/').next()?.parse().ok())
        .collect()
}

/// Everything the run said: every log line (debug ones too: step debug
/// logging shows them), the message and the summary.
fn all_text(o: &Outcome) -> String {
    let mut t = o.logs().join("\n");
    if let Next::Done { summary, .. } | Next::Failed { summary, .. } = &o.last {
        t.push('\n');
        t.push_str(summary);
    }
    if let Next::Failed { message, .. } = &o.last {
        t.push('\n');
        t.push_str(message);
    }
    t
}

/// A piece of `secret` a cut-short answer would still show: ten
/// characters after its first four, or after the `.` of a JWT (whose
/// header is public).
fn fragment(secret: &str) -> &str {
    let from = secret.find('.').map_or(4, |i| i + 1);
    &secret[from..(from + 10).min(secret.len())]
}

/// What is wrong with the run of `target` in scenario `sc` (empty: fine).
fn judge(sc: &Scenario, clean: &Run, target: &Target, run: &Run, world: &World) -> Vec<String> {
    let mut wrong = Vec::new();
    let o = &run.outcome;
    let text = all_text(o);
    if text.contains("internal error") {
        wrong.push("says \"internal error\"".to_string());
    }
    for s in SECRETS {
        if text.contains(s) {
            wrong.push(format!("shows the secret {s}"));
        } else if text.contains(fragment(s)) {
            wrong.push(format!("shows part of the secret {s} ({})", fragment(s)));
        }
    }
    let message = match &o.last {
        Next::Failed { message, .. } => message.clone(),
        _ => String::new(),
    };
    // A message quotes at most an excerpt of what it got.
    let longest = o
        .visible_logs()
        .into_iter()
        .chain([message.clone()])
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    if longest > 4000 {
        wrong.push(format!(
            "a message or visible log line of {longest} characters"
        ));
    }
    let stopped = stopped_ok(&run.exchanges);
    let deleted = deleted_ok(&run.exchanges);
    let names = call_names(&target.op);
    let named = names.iter().any(|n| message.contains(n.as_str()));
    match sc.kind {
        Kind::Start | Kind::FailingStart => {
            let (handed_tasks, handed_runners): (Vec<String>, Vec<u64>) = match &o.last {
                Next::Done { outputs, .. } => {
                    let runners: Value =
                        serde_json::from_str(&outputs["runners"]).unwrap_or(Value::Null);
                    let list = runners.as_array().cloned().unwrap_or_default();
                    (
                        list.iter()
                            .map(|r| r["task_arn"].as_str().unwrap_or("").to_string())
                            .collect(),
                        list.iter()
                            .filter_map(|r| r["github_runner_id"].as_u64())
                            .collect(),
                    )
                }
                _ => (Vec::new(), Vec::new()),
            };
            let started = world.started_tasks();
            if let Next::Done { .. } = &o.last {
                for t in &handed_tasks {
                    if !started.contains(t) {
                        wrong.push(format!(
                            "succeeded with task_arn {t:?}, which ECS never started"
                        ));
                    }
                }
            }
            // A removal whose own answer was broken may leave its thing
            // behind, if the failure says so.
            let excused = is_removal(&target.op) && message.contains("Left behind");
            // The failing start's task stops by itself.
            let ends_itself = sc.kind == Kind::FailingStart;
            for t in &started {
                if !handed_tasks.contains(t) && !stopped.contains(t) && !ends_itself && !excused {
                    wrong.push(format!(
                        "task {} left running",
                        ecs_runner_core::aws::ecs::task_id(t)
                    ));
                }
            }
            for (id, name) in &world.registered {
                if !handed_runners.contains(id) && !deleted.contains(id) && !excused {
                    wrong.push(format!("runner {name} (id {id}) left registered"));
                }
            }
            if let Next::Failed { .. } = &o.last {
                let as_clean = ends_itself && message.contains("stopped before it was RUNNING");
                if !named && !as_clean {
                    wrong.push(format!(
                        "fails without naming {}: {}",
                        names.join(" or "),
                        first_line(&message)
                    ));
                }
            }
        }
        Kind::Stop | Kind::Reap => {
            let clean_stopped = stopped_ok(&clean.exchanges);
            let clean_deleted = deleted_ok(&clean.exchanges);
            let extra_tasks: Vec<&String> = stopped
                .iter()
                .filter(|t| !clean_stopped.contains(t))
                .collect();
            let extra_runners: Vec<&u64> = deleted
                .iter()
                .filter(|r| !clean_deleted.contains(r))
                .collect();
            if !extra_tasks.is_empty() || !extra_runners.is_empty() {
                wrong.push(format!(
                    "removed what a clean run keeps: tasks {extra_tasks:?}, runners {extra_runners:?}"
                ));
            }
            match &o.last {
                Next::Done { .. } => {
                    let missing_tasks: Vec<&String> = clean_stopped
                        .iter()
                        .filter(|t| !stopped.contains(t))
                        .collect();
                    let missing_runners: Vec<&u64> = clean_deleted
                        .iter()
                        .filter(|r| !deleted.contains(r))
                        .collect();
                    // A field of a valid answer changed may make a task or
                    // runner not ours, or not old: keeping it is safe. An
                    // answer broken as a whole must not read as "none";
                    // but a workflow run that cannot be read keeps its
                    // runners (reap.rs: "such a runner is kept").
                    let run_unknown = target.op.contains("/actions/runs/");
                    if target.variant.whole
                        && !run_unknown
                        && (!missing_tasks.is_empty() || !missing_runners.is_empty())
                    {
                        wrong.push(format!(
                            "succeeded, read as \"nothing there\": did not remove tasks {missing_tasks:?} / runners {missing_runners:?}"
                        ));
                    }
                }
                Next::Failed { .. } => {
                    if !named && !message.contains("left alone") {
                        wrong.push(format!(
                            "fails without naming {}: {}",
                            names.join(" or "),
                            first_line(&message)
                        ));
                    }
                }
                Next::Wait { .. } => unreachable!(),
            }
        }
    }
    wrong
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    line.chars().take(300).collect()
}

/// The size of the large bodies of the sweep: 64 KB, or MALFORMED_BIG_MB
/// megabytes (e.g. 5 for every call, locally: about a second a case in a
/// debug build).
fn big() -> usize {
    std::env::var("MALFORMED_BIG_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(64 * 1024, |mb| mb * 1024 * 1024)
}

/// A clean run of `sc`, and each of its calls: the op, its occurrence,
/// the answer.
fn clean_run(sc: &Scenario) -> (Run, Vec<(String, usize, HttpResponse)>) {
    let (mut m, mut w) = (sc.make)();
    let strict = matches!(sc.kind, Kind::Start | Kind::FailingStart);
    let clean = drive_broken(m.as_mut(), &mut w, None, strict);
    match (&clean.outcome.last, sc.kind) {
        (Next::Done { .. }, Kind::Start | Kind::Stop | Kind::Reap) => {}
        (Next::Failed { .. }, Kind::FailingStart) => {}
        (other, _) => panic!("{}: the clean run ended {other:?}", sc.name),
    }
    let mut positions = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (r, a) in &clean.exchanges {
        let name = op(r);
        let n = seen.entry(name.clone()).or_default();
        positions.push((name, *n, a.clone()));
        *n += 1;
    }
    (clean, positions)
}

/// Runs `variant` on call `pos` of `sc`; the problems, or None when the
/// break does not apply to the answer at run time.
fn one_case(
    sc: &Scenario,
    clean: &Run,
    pos: usize,
    (name, nth): (&str, usize),
    variant: Variant,
) -> Option<Vec<String>> {
    let strict = matches!(sc.kind, Kind::Start | Kind::FailingStart);
    let target = Target {
        op: name.to_string(),
        nth,
        variant,
    };
    let what = format!(
        "{} | call {pos} {name} (#{nth}) | {}",
        sc.name, target.variant.what
    );
    let (mut m, mut w) = (sc.make)();
    let run = catch_unwind(AssertUnwindSafe(|| {
        drive_broken(m.as_mut(), &mut w, Some(&target), strict)
    }));
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Some(vec![format!("{what}: PANIC {why}")]);
        }
    };
    if run.broken == 0 {
        return None;
    }
    Some(
        judge(sc, clean, &target, &run, &w)
            .into_iter()
            .map(|p| format!("{what}: {p}"))
            .collect(),
    )
}

/// Every broken answer at every call of `sc`: (cases, problems).
fn sweep(sc: &Scenario) -> (usize, Vec<String>) {
    let (clean, positions) = clean_run(sc);
    let mut cases = 0;
    let mut problems = Vec::new();
    for (pos, (name, nth, answer)) in positions.iter().enumerate() {
        for variant in variants(answer, big(), *nth < sc.field_answers) {
            if let Some(p) = one_case(sc, &clean, pos, (name, *nth), variant) {
                cases += 1;
                problems.extend(p);
            }
        }
    }
    (cases, problems)
}

fn report(what: &str, cases: usize, problems: &[String], began: std::time::Instant) {
    println!(
        "malformed answers, {what}: {cases} cases, {} problems, {:.2}s",
        problems.len(),
        began.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} problems in {cases} broken answers of {what}:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn check(name: &str) {
    let began = std::time::Instant::now();
    let sc = SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .expect("a scenario");
    let (cases, problems) = sweep(sc);
    report(sc.name, cases, &problems, began);
}

#[test]
fn start_jit_lookups_and_wait() {
    check("start: jit, lookups by tag, wait for registration");
}

#[test]
fn start_registration_token() {
    check("start: registration token");
}

#[test]
fn start_image() {
    check("start: image, new family");
}

#[test]
fn start_bridge_mode() {
    check("start: EC2 bridge mode");
}

#[test]
fn start_fleet_wait() {
    check("start: fleet of 2, wait for registration");
}

#[test]
fn start_that_fails() {
    check("start: task stops before RUNNING");
}

#[test]
fn start_with_oidc_credentials() {
    check("start: credentials from role-to-assume (OIDC, STS)");
}

#[test]
fn start_with_instance_metadata_credentials() {
    check("start: credentials from the instance metadata");
}

#[test]
fn start_with_container_credentials() {
    check("start: credentials from the container endpoint");
}

#[test]
fn stop_with_outputs() {
    check("stop: named task and runner");
}

#[test]
fn stop_without_outputs() {
    check("stop: this run's tasks and runners");
}

#[test]
fn reap_sweep() {
    check("reap");
}

/// 5 MB answers at one call of each kind of parser: garbage to ECS
/// (DescribeTasks), EC2 (DescribeSubnets, XML), GitHub
/// (generate-jitconfig) and a credential endpoint, and a valid
/// DescribeTasks answer padded to 5 MB. The sweeps above use 64 KB at
/// every call: a 5 MB answer costs the machine about a second in a debug
/// build (MALFORMED_BIG_MB=5 runs them at 5 MB everywhere).
#[test]
fn five_megabyte_answers() {
    let began = std::time::Instant::now();
    let jit = "start: jit, lookups by tag, wait for registration";
    let picks: &[(&str, &str, &str)] = &[
        (jit, "ecs:DescribeTasks", "5 MB of garbage"),
        (jit, "ecs:DescribeTasks", "the answer padded to 5 MB"),
        (jit, "ec2:DescribeSubnets", "5 MB of garbage"),
        (
            jit,
            "github:POST /repos/octo/app/actions/runners/generate-jitconfig",
            "5 MB of garbage",
        ),
        (
            "start: credentials from the container endpoint",
            "http:GET http://169.254.170.2/v2/credentials/abc",
            "5 MB of garbage",
        ),
    ];
    let mut cases = 0;
    let mut problems = Vec::new();
    for (scenario, call, what) in picks {
        let sc = SCENARIOS
            .iter()
            .find(|s| s.name == *scenario)
            .expect("a scenario");
        let (clean, positions) = clean_run(sc);
        let pos = positions
            .iter()
            .position(|(n, _, _)| n == call)
            .unwrap_or_else(|| panic!("no {call} in {}", sc.name));
        let (name, nth, answer) = &positions[pos];
        let variant = variants(answer, FIVE_MB, false)
            .into_iter()
            .find(|v| v.what == *what)
            .expect("a variant");
        if let Some(p) = one_case(sc, &clean, pos, (name, *nth), variant) {
            cases += 1;
            problems.extend(p);
        }
    }
    assert_eq!(cases, picks.len(), "every 5 MB answer was delivered");
    report("5 MB answers", cases, &problems, began);
}

// ---- the bugs the sweeps found, one case each ----

/// Runs one named variant at the first `call` of scenario `name`; its
/// problems.
fn the_case(name: &str, call: &str, what: &str) -> Vec<String> {
    let sc = SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .expect("a scenario");
    let (clean, positions) = clean_run(sc);
    let pos = positions
        .iter()
        .position(|(n, _, _)| n == call)
        .unwrap_or_else(|| panic!("no {call} in {name}"));
    let (op_name, nth, answer) = &positions[pos];
    let variant = variants(answer, 1024, true)
        .into_iter()
        .find(|v| v.what == what)
        .unwrap_or_else(|| panic!("no variant {what}"));
    one_case(sc, &clean, pos, (op_name, *nth), variant).expect("the break applies")
}

fn assert_fine(problems: Vec<String>) {
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// RunTask answered 200 with `{"tasks":[{...}]}` whose task has no
/// `taskArn`, or with JSON that is not a RunTask answer (`null`): ECS
/// started the task, the machine cannot know which. It must not go on
/// with a task ARN of "" (30 s later "Task  is MISSING", then StopTask of
/// "") nor read it as "started no task": either is a task left running.
#[test]
fn a_run_task_answer_without_a_task_arn_leaves_no_task_running() {
    let jit = "start: jit, lookups by tag, wait for registration";
    assert_fine(
        ["Remove tasks.0.taskArn", "JSON null", "Remove tasks"]
            .iter()
            .flat_map(|what| the_case(jit, "ecs:RunTask", what))
            .collect(),
    );
}

/// A credentials answer that cannot be used (no AccessKeyId; cut short)
/// still holds the secret key and session token: the debug dump of the
/// answer (`← 200 {...}`, an info line with `debug: true`) must not show
/// them.
#[test]
fn an_unusable_credentials_answer_does_not_show_its_secrets() {
    let mut problems = the_case(
        "start: credentials from the container endpoint",
        "http:GET http://169.254.170.2/v2/credentials/abc",
        "Remove AccessKeyId",
    );
    problems.extend(the_case(
        "start: credentials from role-to-assume (OIDC, STS)",
        "sts:AssumeRoleWithWebIdentity",
        "the answer without its last character",
    ));
    assert_fine(problems);
}

/// Stop without outputs: a ListTasks or DescribeTasks answer of the wrong
/// shape (`null`, `{}`) is not "no tasks": stop must fail naming the call,
/// not succeed with this run's task still running.
#[test]
fn stop_does_not_read_a_wrong_shaped_answer_as_no_tasks() {
    let stop = "stop: this run's tasks and runners";
    let mut problems = the_case(stop, "ecs:ListTasks", "JSON null");
    problems.extend(the_case(stop, "ecs:ListTasks", "Remove taskArns"));
    problems.extend(the_case(stop, "ecs:DescribeTasks", "Remove tasks"));
    assert_fine(problems);
}

/// A task of ours in DescribeTasks without its `taskArn`: no StopTask with
/// `"task": ""`.
#[test]
fn a_described_task_without_an_arn_is_not_stopped_as_the_empty_arn() {
    assert_fine(the_case(
        "stop: this run's tasks and runners",
        "ecs:DescribeTasks",
        "Remove tasks.0.taskArn",
    ));
}

/// DescribeTaskDefinition answered without `containerDefinitions`: the
/// failure names the call, not "has 0 containers (): set the input
/// `container-name`" (which cannot help).
#[test]
fn a_task_definition_answer_without_containers_names_the_call() {
    assert_fine(the_case(
        "start: jit, lookups by tag, wait for registration",
        "ecs:DescribeTaskDefinition",
        "Remove taskDefinition.containerDefinitions",
    ));
}

/// The instance metadata's role answer is a role name: an HTML page (or
/// 64 KB of anything) is not put into the next URL and from there into a
/// 64 KB failure message.
#[test]
fn an_instance_metadata_role_that_is_not_a_role_name_is_not_used() {
    let sc = "start: credentials from the instance metadata";
    let call = "http:GET http://127.0.0.1:9922/latest/meta-data/iam/security-credentials/";
    let problems: Vec<String> = ["64 KB of garbage", "an HTML page with status 2xx"]
        .iter()
        .flat_map(|what| {
            let sc = SCENARIOS.iter().find(|s| s.name == sc).expect("a scenario");
            let (clean, positions) = clean_run(sc);
            let pos = positions
                .iter()
                .position(|(n, _, _)| n == call)
                .expect("the call");
            let (op_name, nth, answer) = &positions[pos];
            let variant = variants(answer, 64 * 1024, false)
                .into_iter()
                .find(|v| v.what == *what)
                .expect("a variant");
            let target = Target {
                op: op_name.clone(),
                nth: *nth,
                variant,
            };
            let (mut m, mut w) = (sc.make)();
            let run = drive_broken(m.as_mut(), &mut w, Some(&target), true);
            let mut found: Vec<String> = run
                .exchanges
                .iter()
                .filter(|(r, _)| r.url.contains('<') || r.url.len() > 2048)
                .map(|(r, _)| format!("{what}: a request to {}", first_line(&r.url)))
                .collect();
            found.extend(judge(sc, &clean, &target, &run, &w));
            found
        })
        .collect();
    assert_fine(problems);
}
