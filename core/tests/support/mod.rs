//! A scripted world for driving the machines natively: a fake ECS, EC2 and
//! GitHub that answer each request from a script, and a fake clock that
//! moves only when the machine sleeps.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};

use ecs_runner_core::protocol::{Action, Event, HttpRequest, HttpResponse, Level, Millis, Next};
use ecs_runner_core::settings::*;
use ecs_runner_core::start::Start;
use serde_json::{json, Value};

pub const T0: Millis = 1_790_000_000_000;
pub const RANDOM: &str = "0123abcd4567ef890123abcd4567ef89";
pub const TOKEN: &str = "ghp_pat_secret_value_1234";
pub const AWS_SECRET: &str = "aws/secret+key/value";
pub const SESSION: &str = "session-token-value-xyz";
pub const JIT: &str = "eyJKSVQtY29uZmlnLXNlY3JldCJ9";
pub const REG_TOKEN: &str = "AABBREGISTRATIONTOKEN";
pub const TASK_ARN: &str =
    "arn:aws:ecs:us-west-2:123456789012:task/runners/0f1e2d3c4b5a69788796a5b4c3d2e1f0";

pub fn settings() -> Settings {
    Settings {
        mode: Mode::Start,
        count: 1,
        name: "gh".into(),
        token: TOKEN.into(),
        app: None,
        labels: vec!["linux".into(), "big".into()],
        workdir: "_workdir".into(),
        scope: Scope::Repo {
            owner: "octo".into(),
            repo: "app".into(),
        },
        task_definition: "gh-runner".into(),
        cluster: "runners".into(),
        placement: Placement::LaunchType("FARGATE".into()),
        capacity_fallback: None,
        task_spec: None,
        platform_version: None,
        subnets: Lookup::Tag {
            key: "placement".into(),
            value: "ecs".into(),
        },
        security_groups: Lookup::Tag {
            key: "placement".into(),
            value: "ecs".into(),
        },
        assign_public_ip: false,
        container_name: None,
        tags: vec![("team".into(), "ci".into())],
        env: vec![("FOO".into(), "bar baz".into())],
        runner_group: 1,
        runner_group_name: None,
        default_labels: true,
        registration: Registration::Jit,
        timeout_s: 600,
        wait_for_registration: false,
        debug: false,
        task_arns: Vec::new(),
        runner_id: None,
        max_age_min: 60,
        dry_run: false,
        region: "us-west-2".into(),
        credential_source: ecs_runner_core::settings::Source::Environment,
        credentials: AwsCredentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: AWS_SECRET.into(),
            session_token: Some(SESSION.into()),
        },
        endpoints: Endpoints {
            ecs: "http://127.0.0.1:5000".into(),
            ec2: "http://127.0.0.1:5000".into(),
            logs: "http://127.0.0.1:5000".into(),
            sts: "http://127.0.0.1:5000".into(),
        },
        github_api_url: "http://127.0.0.1:6000".into(),
        run: RunContext {
            repository: "octo/app".into(),
            run_id: "987654".into(),
            run_attempt: "1".into(),
            job: "launch".into(),
            workflow: "ci".into(),
            server_url: "https://github.com".into(),
            arch: "X64".into(),
        },
    }
}

/// What the request is: `ecs:RunTask`, `ec2:DescribeSubnets`,
/// `github:POST /repos/octo/app/actions/runners/generate-jitconfig`.
pub fn op(r: &HttpRequest) -> String {
    if let Some(path) = r.url.strip_prefix("file://") {
        return format!("file:{path}");
    }
    if r.body.contains("Action=AssumeRoleWithWebIdentity") {
        return "sts:AssumeRoleWithWebIdentity".into();
    }
    // Not the scripted AWS or GitHub: a credential endpoint, by its URL.
    if !r.url.starts_with("http://127.0.0.1:5000") && !r.url.starts_with("http://127.0.0.1:6000") {
        return format!("http:{} {}", r.method, r.url);
    }
    if let Some(t) = r.headers.get("x-amz-target") {
        let service = if t.starts_with("Logs_") {
            "logs"
        } else {
            "ecs"
        };
        return format!("{service}:{}", t.rsplit('.').next().unwrap());
    }
    if let Some(a) = r.body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return format!("ec2:{a}");
    }
    let path = r.url.splitn(4, '/').nth(3).unwrap_or("");
    format!("github:{} /{}", r.method, path)
}

pub fn json_body(r: &HttpRequest) -> Value {
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

/// One canned answer: status and body.
#[derive(Clone, Debug)]
pub struct Reply(pub u16, pub String);

impl Reply {
    pub fn ok(v: Value) -> Self {
        Reply(200, v.to_string())
    }
    pub fn aws_error(status: u16, code: &str, message: &str) -> Self {
        Reply(
            status,
            json!({"__type": code, "message": message}).to_string(),
        )
    }
    /// A transport failure (status 0).
    pub fn network() -> Self {
        Reply(0, String::new())
    }
}

pub fn task_json(status: &str, desired: &str) -> Value {
    json!({
        "taskArn": TASK_ARN,
        "lastStatus": status,
        "desiredStatus": desired,
        "containers": [{"name": "runner", "lastStatus": status}],
        "attachments": [{"type": "ElasticNetworkInterface", "status": "ATTACHED",
            "details": [{"name": "subnetId", "value": "subnet-0aaa1111"}, {"name": "privateIPv4Address", "value": "10.0.1.23"}]}],
    })
}

/// The ARN of the `n`-th task the world starts (0: [`TASK_ARN`]).
pub fn task_arn_n(n: usize) -> String {
    if n == 0 {
        TASK_ARN.to_string()
    } else {
        format!("arn:aws:ecs:us-west-2:123456789012:task/runners/{n:032x}")
    }
}

/// The service a request goes to: `ecs`, `ec2` or `github`.
pub fn service(r: &HttpRequest) -> &'static str {
    let o = op(r);
    if o.starts_with("ecs:") {
        "ecs"
    } else if o.starts_with("logs:") {
        "logs"
    } else if o.starts_with("ec2:") {
        "ec2"
    } else {
        "github"
    }
}

/// The scripted world. By default everything succeeds: each task is
/// PROVISIONING, then PENDING, then RUNNING (one step per DescribeTasks that
/// shows it), each runner registered gets its own id (42, 43, ...) and task.
pub struct World {
    /// Answers queued per operation (first used first); when empty, the
    /// default answer for the operation.
    pub queued: HashMap<String, VecDeque<Reply>>,
    /// Answers queued for a request whose body contains the key (checked
    /// before `queued`).
    pub queued_for: Vec<(String, String, VecDeque<Reply>)>,
    /// lastStatus for successive looks at a task; the last one repeats.
    pub statuses: Vec<Value>,
    /// The same for one task (by ARN), instead of `statuses`.
    pub per_task: HashMap<String, Vec<Value>>,
    /// How often DescribeTasks has shown each task.
    looks: HashMap<String, usize>,
    pub containers: Vec<&'static str>,
    /// The containers' `command` in the task definition (none when empty).
    pub command: Vec<&'static str>,
    pub network_mode: &'static str,
    pub requests: Vec<HttpRequest>,
    /// The answer to each request, in the same order.
    pub responses: Vec<HttpResponse>,
    /// When each request was sent and answered (fake clock).
    pub times: Vec<(Millis, Millis)>,
    pub runner_online_after: usize,
    runner_checks: usize,
    /// Runners registered by generate-jitconfig: (id, name).
    pub registered: Vec<(u64, String)>,
    tasks_started: usize,
    /// Task definition ARNs ListTaskDefinitions lists (RegisterTaskDefinition
    /// adds to them), and what was registered, with its tags.
    pub revisions: Vec<String>,
    pub registered_definitions: Vec<(Value, Value)>,
    /// The tags RunTask gave each task it started.
    task_tags: HashMap<String, Value>,
    /// Latency per operation (default 100 ms).
    pub latency: HashMap<String, Millis>,
    /// The most requests in flight at once, per service.
    pub max_in_flight: HashMap<&'static str, usize>,
    /// Extra response headers per operation, for the next answer.
    pub headers: HashMap<String, VecDeque<BTreeMap<String, String>>>,
}

impl Default for World {
    fn default() -> Self {
        World {
            queued: HashMap::new(),
            queued_for: Vec::new(),
            statuses: vec![
                task_json("PROVISIONING", "RUNNING"),
                task_json("PENDING", "RUNNING"),
                task_json("RUNNING", "RUNNING"),
            ],
            per_task: HashMap::new(),
            looks: HashMap::new(),
            containers: vec!["runner"],
            command: Vec::new(),
            network_mode: "awsvpc",
            requests: Vec::new(),
            responses: Vec::new(),
            times: Vec::new(),
            runner_online_after: 1,
            runner_checks: 0,
            registered: Vec::new(),
            tasks_started: 0,
            task_tags: HashMap::new(),
            revisions: Vec::new(),
            registered_definitions: Vec::new(),
            latency: HashMap::new(),
            max_in_flight: HashMap::new(),
            headers: HashMap::new(),
        }
    }
}

impl World {
    pub fn queue(&mut self, op: &str, r: Reply) -> &mut Self {
        self.queued.entry(op.to_string()).or_default().push_back(r);
        self
    }

    /// Queue an answer for the next `op` request whose body contains `key`.
    pub fn queue_for(&mut self, op: &str, key: &str, r: Reply) -> &mut Self {
        match self
            .queued_for
            .iter_mut()
            .find(|(o, k, _)| o == op && k == key)
        {
            Some((_, _, q)) => q.push_back(r),
            None => self
                .queued_for
                .push((op.to_string(), key.to_string(), VecDeque::from([r]))),
        }
        self
    }

    pub fn ops(&self) -> Vec<String> {
        self.requests.iter().map(op).collect()
    }

    pub fn count(&self, op_name: &str) -> usize {
        self.ops().iter().filter(|o| o.as_str() == op_name).count()
    }

    pub fn first(&self, op_name: &str) -> &HttpRequest {
        self.requests
            .iter()
            .find(|r| op(r) == op_name)
            .unwrap_or_else(|| panic!("no {op_name} in {:?}", self.ops()))
    }

    pub fn all(&self, op_name: &str) -> Vec<&HttpRequest> {
        self.requests.iter().filter(|r| op(r) == op_name).collect()
    }

    pub fn latency_of(&self, r: &HttpRequest) -> Millis {
        self.latency.get(&op(r)).copied().unwrap_or(100)
    }

    pub fn answer(&mut self, r: &HttpRequest) -> HttpResponse {
        self.requests.push(r.clone());
        let name = op(r);
        let targeted = self
            .queued_for
            .iter_mut()
            .find(|(o, k, q)| *o == name && r.body.contains(k.as_str()) && !q.is_empty())
            .and_then(|(_, _, q)| q.pop_front());
        let reply =
            match targeted.or_else(|| self.queued.get_mut(&name).and_then(|q| q.pop_front())) {
                Some(reply) => reply,
                None => self.default_reply(&name, r),
            };
        let resp = HttpResponse {
            id: r.id,
            status: reply.0,
            headers: self
                .headers
                .get_mut(&name)
                .and_then(|q| q.pop_front())
                .unwrap_or_default(),
            body: reply.1,
            error: if reply.0 == 0 {
                Some("connect ECONNREFUSED".into())
            } else {
                None
            },
        };
        self.responses.push(resp.clone());
        resp
    }

    /// The ARNs of the tasks RunTask started.
    pub fn started_tasks(&self) -> Vec<String> {
        self.requests
            .iter()
            .zip(&self.responses)
            .filter(|(r, a)| op(r) == "ecs:RunTask" && a.status == 200)
            .filter_map(|(_, a)| {
                let v: Value = serde_json::from_str(&a.body).ok()?;
                v["tasks"][0]["taskArn"].as_str().map(String::from)
            })
            .collect()
    }

    /// The ARNs StopTask was asked to stop.
    pub fn stopped_tasks(&self) -> Vec<String> {
        self.all("ecs:StopTask")
            .iter()
            .map(|r| json_body(r)["task"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// The runner ids GitHub was asked to delete.
    pub fn deleted_runners(&self) -> Vec<u64> {
        self.requests
            .iter()
            .filter(|r| r.method == "DELETE")
            .filter_map(|r| r.url.rsplit('/').next()?.parse().ok())
            .collect()
    }

    /// Send times of the requests of `op_name`.
    pub fn sent_at(&self, op_name: &str) -> Vec<Millis> {
        self.requests
            .iter()
            .zip(&self.times)
            .filter(|(r, _)| op(r) == op_name)
            .map(|(_, t)| t.0)
            .collect()
    }

    fn default_reply(&mut self, name: &str, r: &HttpRequest) -> Reply {
        let runners = "github:GET /repos/octo/app/actions/runners/";
        let deletes = "github:DELETE /repos/octo/app/actions/runners/";
        match name {
            "ecs:DescribeTaskDefinition" if !self.registered_definitions.is_empty() => {
                let (td, tags) = self.registered_definitions.last().unwrap().clone();
                Reply::ok(json!({"taskDefinition": td, "tags": tags}))
            }
            "ecs:DescribeTaskDefinition" => Reply::ok(json!({"taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/gh-runner:3",
                "networkMode": self.network_mode,
                "containerDefinitions": self.containers.iter().map(|c| {
                    let mut d = json!({"name": c, "image": "ghcr.io/actions/actions-runner"});
                    if !self.command.is_empty() {
                        d["command"] = json!(self.command);
                    }
                    d
                }).collect::<Vec<_>>(),
            }})),
            "ec2:DescribeSubnets" => Reply(200, "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-0aaa1111</subnetId></item><item><subnetId>subnet-0bbb2222</subnetId></item></subnetSet></DescribeSubnetsResponse>".into()),
            "ec2:DescribeSecurityGroups" => Reply(200, "<DescribeSecurityGroupsResponse><securityGroupInfo><item><groupId>sg-0ccc3333</groupId></item></securityGroupInfo></DescribeSecurityGroupsResponse>".into()),
            "github:POST /repos/octo/app/actions/runners/generate-jitconfig" => {
                let name = json_body(r)["name"].as_str().unwrap_or("x").to_string();
                let live: Vec<u64> = self.deleted_runners();
                if self.registered.iter().any(|(id, n)| *n == name && !live.contains(id)) {
                    return Reply(409, json!({"message": format!("Already exists - A runner with the name {name} already exists.")}).to_string());
                }
                let id = 42 + self.registered.len() as u64;
                self.registered.push((id, name.clone()));
                Reply(201, json!({
                    "runner": {"id": id, "name": name, "os": "Linux", "status": "offline", "busy": false, "labels": []},
                    "encoded_jit_config": jit_of(id)}).to_string())
            }
            "github:POST /repos/octo/app/actions/runners/registration-token" => Reply(201, json!({"token": REG_TOKEN, "expires_at": "2026-11-23T08:00:00Z"}).to_string()),
            "ecs:RunTask" => {
                let arn = task_arn_n(self.tasks_started);
                self.tasks_started += 1;
                self.task_tags.insert(arn.clone(), json_body(r)["tags"].clone());
                Reply::ok(json!({"tasks": [with_arn(task_json("PROVISIONING", "RUNNING"), &arn)], "failures": []}))
            }
            "ecs:DescribeTasks" => {
                let asked: Vec<String> = json_body(r)["tasks"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
                    .unwrap_or_default();
                let mut tasks = Vec::new();
                for arn in asked {
                    let n = self.looks.entry(arn.clone()).or_default();
                    let statuses = self.per_task.get(&arn).unwrap_or(&self.statuses);
                    let i = (*n).min(statuses.len() - 1);
                    *n += 1;
                    let mut t = with_arn(statuses[i].clone(), &arn);
                    if json_body(r)["include"] == json!(["TAGS"]) {
                        if let Some(tags) = self.task_tags.get(&arn) {
                            t["tags"] = tags.clone();
                        }
                    }
                    tasks.push(t);
                }
                Reply::ok(json!({"tasks": tasks, "failures": []}))
            }
            "ecs:ListTaskDefinitions" => Reply::ok(json!({"taskDefinitionArns": self.revisions.clone()})),
            "ecs:RegisterTaskDefinition" => {
                let mut td = json_body(r);
                let family = td["family"].as_str().unwrap_or("x").to_string();
                let revision = self.revisions.len() + 1;
                let arn = format!("arn:aws:ecs:us-west-2:123456789012:task-definition/{family}:{revision}");
                self.revisions.push(arn.clone());
                let tags = td["tags"].take();
                td["taskDefinitionArn"] = json!(arn);
                td["revision"] = json!(revision);
                td["registeredAt"] = json!((T0 / 1000) as f64);
                self.registered_definitions.push((td.clone(), tags.clone()));
                Reply::ok(json!({"taskDefinition": td, "tags": tags}))
            }
            "ecs:DeregisterTaskDefinition" => Reply::ok(json!({"taskDefinition": {"taskDefinitionArn": json_body(r)["taskDefinition"], "status": "INACTIVE"}})),
            "ecs:DeleteTaskDefinitions" => Reply::ok(json!({"taskDefinitions": [], "failures": []})),
            "logs:GetLogEvents" => Reply::ok(json!({"events": []})),
            "ecs:ListTasks" => {
                let arns: Vec<String> = (0..self.tasks_started).map(task_arn_n).collect();
                Reply::ok(json!({"taskArns": arns}))
            }
            "ecs:StopTask" => {
                let arn = json_body(r)["task"].as_str().unwrap_or(TASK_ARN).to_string();
                Reply::ok(json!({"task": with_arn(task_json("RUNNING", "STOPPED"), &arn)}))
            }
            "github:GET /repos/octo/app/actions/runners?per_page=100&page=1" => {
                self.runner_checks += 1;
                let status = if self.runner_checks > self.runner_online_after { "online" } else { "offline" };
                let gone = self.deleted_runners();
                let list: Vec<Value> = self.registered.iter().filter(|(id, _)| !gone.contains(id)).map(|(id, n)| runner_json(n, *id, status, false)).collect();
                runners_page(json!(list))
            }
            other if other.starts_with(runners) && other[runners.len()..].bytes().all(|b| b.is_ascii_digit()) => {
                let id: u64 = other[runners.len()..].parse().unwrap();
                self.runner_checks += 1;
                let status = if self.runner_checks > self.runner_online_after { "online" } else { "offline" };
                Reply(200, json!({"id": id, "name": "x", "status": status, "busy": false, "labels": []}).to_string())
            }
            other if other.starts_with(deletes) => Reply(204, String::new()),
            other if other.starts_with("github:GET /repos/octo/app/actions/runners?name=") => {
                let name = other.rsplit('=').next().unwrap_or("");
                let gone = self.deleted_runners();
                let list: Vec<Value> = self.registered.iter().filter(|(id, n)| n == name && !gone.contains(id)).map(|(id, n)| runner_json(n, *id, "offline", false)).collect();
                runners_page(json!(list))
            }
            other => panic!("the scripted world has no answer for {other}"),
        }
    }
}

/// The JIT config the world hands out for runner `id` (42: [`JIT`]).
pub fn jit_of(id: u64) -> String {
    if id == 42 {
        JIT.to_string()
    } else {
        format!("{JIT}{id}")
    }
}

pub fn with_arn(mut t: Value, arn: &str) -> Value {
    t["taskArn"] = json!(arn);
    t
}

/// What a run produced.
pub struct Outcome {
    pub last: Next,
    pub actions: Vec<Action>,
    /// The clock when the machine finished.
    pub now: Millis,
}

impl Outcome {
    pub fn logs(&self) -> Vec<String> {
        self.actions
            .iter()
            .flat_map(|a| a.logs.iter().map(|l| l.message.clone()))
            .collect()
    }
    pub fn visible_logs(&self) -> Vec<String> {
        self.actions
            .iter()
            .flat_map(|a| {
                a.logs
                    .iter()
                    .filter(|l| l.level != Level::Debug)
                    .map(|l| l.message.clone())
            })
            .collect()
    }
    pub fn secrets(&self) -> Vec<String> {
        self.actions
            .iter()
            .flat_map(|a| a.secrets.clone())
            .collect()
    }
    pub fn outputs(&self) -> &BTreeMap<String, String> {
        match &self.last {
            Next::Done { outputs, .. } | Next::Failed { outputs, .. } => outputs,
            other => panic!("not finished: {other:?}"),
        }
    }
    pub fn failure(&self) -> &str {
        match &self.last {
            Next::Failed { message, .. } => message,
            other => panic!("expected a failure, got {other:?}"),
        }
    }
    pub fn summary(&self) -> &str {
        match &self.last {
            Next::Done { summary, .. } | Next::Failed { summary, .. } => summary,
            other => panic!("not finished: {other:?}"),
        }
    }
    pub fn done(&self) -> bool {
        matches!(self.last, Next::Done { .. })
    }
}

/// Anything that steps like a machine.
pub trait Steps {
    fn step(&mut self, now: Millis, event: Event) -> Action;
}
impl Steps for Start {
    fn step(&mut self, now: Millis, event: Event) -> Action {
        Start::step(self, now, event)
    }
}
impl Steps for ecs_runner_core::stop::Stop {
    fn step(&mut self, now: Millis, event: Event) -> Action {
        ecs_runner_core::stop::Stop::step(self, now, event)
    }
}
impl Steps for ecs_runner_core::reap::Reap {
    fn step(&mut self, now: Millis, event: Event) -> Action {
        ecs_runner_core::reap::Reap::step(self, now, event)
    }
}
impl Steps for ecs_runner_core::Machine {
    fn step(&mut self, now: Millis, event: Event) -> Action {
        ecs_runner_core::Machine::step(self, now, event)
    }
}

/// Drive a machine against the world until it finishes, as the shell
/// does: requests run concurrently (each answered after its latency), the
/// clock jumps to the next answer or the machine's wake time. `cancel_when`
/// may turn the next event into a cancel instead (checked before each event
/// is delivered, with the clock and the requests so far); the requests in
/// flight are then dropped unanswered.
pub fn drive_with(
    m: &mut dyn Steps,
    world: &mut World,
    mut cancel_when: impl FnMut(Millis, &World) -> bool,
) -> Outcome {
    let mut now = T0;
    let mut actions = Vec::new();
    let mut event = Event::Start;
    let mut cancelled = false;
    // (answered at, service, answer)
    let mut in_flight: Vec<(Millis, &'static str, HttpResponse)> = Vec::new();
    for _ in 0..100_000 {
        let action = m.step(now, event);
        let next = action.next.clone();
        actions.push(action);
        let (requests, wake_ms) = match next {
            Next::Done { .. } | Next::Failed { .. } => {
                return Outcome {
                    last: next,
                    actions,
                    now,
                }
            }
            Next::Wait { requests, wake_ms } => (requests, wake_ms),
        };
        for r in &requests {
            let at = now + world.latency_of(r);
            let resp = world.answer(r);
            world.times.push((now, at));
            in_flight.push((at, service(r), resp));
        }
        for svc in ["ecs", "ec2", "github"] {
            let n = in_flight.iter().filter(|(_, s, _)| *s == svc).count();
            let most = world.max_in_flight.entry(svc).or_default();
            *most = (*most).max(n);
        }
        let answer_at = in_flight.iter().map(|(t, _, _)| *t).min();
        let wake_at = wake_ms.map(|w| now + w);
        let at = match (answer_at, wake_at) {
            (Some(a), Some(w)) => a.min(w),
            (a, w) => a.or(w).expect("the machine waits for nothing"),
        };
        now = now.max(at);
        if !cancelled && cancel_when(now, world) {
            cancelled = true;
            in_flight.clear();
            event = Event::Cancel {
                signal: if requests.is_empty() {
                    "SIGTERM"
                } else {
                    "SIGINT"
                }
                .into(),
            };
            continue;
        }
        if answer_at.is_some_and(|a| a <= now) {
            let (due, rest): (Vec<_>, Vec<_>) =
                in_flight.into_iter().partition(|(t, _, _)| *t <= now);
            in_flight = rest;
            event = Event::Responses {
                responses: due.into_iter().map(|(_, _, r)| r).collect(),
            };
        } else {
            event = Event::Woke;
        }
    }
    panic!("the machine did not finish in 100000 steps");
}

pub fn drive(m: &mut dyn Steps, world: &mut World) -> Outcome {
    drive_with(m, world, |_, _| false)
}

pub fn start(s: Settings, world: &mut World) -> Outcome {
    let mut m = Start::new(s, RANDOM);
    drive(&mut m, world)
}

/// Every secret this test world hands out or takes in.
pub const ALL_SECRETS: &[&str] = &[TOKEN, AWS_SECRET, SESSION, JIT, REG_TOKEN];

/// A fleet of `n` runners with the default settings.
pub fn fleet(n: usize) -> Settings {
    let mut s = settings();
    s.count = n;
    s
}

/// No log line may hold a secret, and each secret that appeared in an
/// exchange must have been handed to the shell to mask no later than the
/// first log line that could show it.
pub fn assert_no_secret_in_logs(o: &Outcome) {
    for line in o.logs() {
        for s in ALL_SECRETS {
            assert!(!line.contains(s), "secret {s} in log line: {line}");
        }
    }
}

/// Every output a machine sets must be declared in action.yaml, or the
/// runner drops it silently for `steps.<id>.outputs`.
pub fn assert_outputs_declared(outputs: &BTreeMap<String, String>) {
    let yaml = include_str!("../../../action.yaml");
    let section = yaml.split("\noutputs:\n").nth(1).expect("outputs section");
    let section = section.split("\nruns:\n").next().unwrap();
    let declared: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
        .map(|l| l.trim_end_matches(':'))
        .collect();
    for key in outputs.keys() {
        assert!(
            declared.contains(&key.as_str()),
            "output {key} is not declared in action.yaml ({declared:?})"
        );
    }
}

/// A runner as GitHub lists it, labelled the way ecs-runner registers one
/// (`ephemeral` and its own name).
pub fn runner_json(name: &str, id: u64, status: &str, busy: bool) -> Value {
    json!({"id": id, "name": name, "os": "Linux", "status": status, "busy": busy,
           "labels": [{"name": "self-hosted"}, {"name": "ephemeral"}, {"name": name}]})
}

/// GitHub's answer to a runner listing holding all of `runners`.
pub fn runners_page(runners: Value) -> Reply {
    let n = runners.as_array().expect("a list of runners").len();
    Reply(
        200,
        json!({"total_count": n, "runners": runners}).to_string(),
    )
}

/// The next event for a driver with `in_flight` answers (each due at its
/// time) and the machine's `wake_ms`: the clock moves to the earlier of
/// the two; the answers due by then, else a wake.
pub fn next_event(
    now: &mut Millis,
    in_flight: &mut Vec<(Millis, HttpResponse)>,
    wake_ms: Option<u64>,
) -> Event {
    let answer_at = in_flight.iter().map(|(t, _)| *t).min();
    let at = match (answer_at, wake_ms.map(|w| *now + w)) {
        (Some(a), Some(w)) => a.min(w),
        (a, w) => a.or(w).expect("the machine waits for nothing"),
    };
    *now = (*now).max(at);
    if answer_at.is_some_and(|a| a <= *now) {
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(in_flight)
            .into_iter()
            .partition(|(t, _)| *t <= *now);
        *in_flight = rest;
        Event::Responses {
            responses: due.into_iter().map(|(_, r)| r).collect(),
        }
    } else {
        Event::Woke
    }
}

/// The top-level Machine's configuration as the shell passes it (inputs
/// trimmed, as core.getInput gives them): a start of `gh-runner` in
/// cluster `runners` against the scripted world's endpoints, with `inputs`
/// and `env` laid over it (later values win). No token and no AWS keys:
/// each test says how it authenticates.
pub fn machine_config(
    inputs: &[(&str, &str)],
    env: &[(&str, &str)],
) -> ecs_runner_core::protocol::Config {
    let mut config = ecs_runner_core::protocol::Config {
        random: RANDOM.into(),
        ..Default::default()
    };
    let base_inputs = [
        ("cluster", "runners"),
        ("task-definition", "gh-runner"),
        ("subnets", "subnet-0aaa1111"),
        ("name", "gh"),
    ];
    for (k, v) in base_inputs.iter().chain(inputs) {
        config.inputs.insert(k.to_string(), v.trim().to_string());
    }
    let base_env = [
        ("GITHUB_REPOSITORY", "octo/app"),
        ("GITHUB_RUN_ID", "987654"),
        ("GITHUB_RUN_ATTEMPT", "1"),
        ("GITHUB_JOB", "launch"),
        ("AWS_REGION", "us-west-2"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("GITHUB_API_URL", "http://127.0.0.1:6000"),
    ];
    for (k, v) in base_env.iter().chain(env) {
        config.env.insert(k.to_string(), v.to_string());
    }
    config
}
