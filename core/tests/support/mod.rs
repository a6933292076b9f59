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
        name: "gh".into(),
        token: TOKEN.into(),
        labels: vec!["linux".into(), "big".into()],
        workdir: "_workdir".into(),
        scope: Scope::Repo {
            owner: "octo".into(),
            repo: "app".into(),
        },
        task_definition: "gh-runner".into(),
        cluster: "runners".into(),
        placement: Placement::LaunchType("FARGATE".into()),
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
        registration: Registration::Jit,
        timeout_s: 600,
        wait_for_registration: false,
        debug: false,
        task_arn: None,
        runner_id: None,
        max_age_min: 60,
        dry_run: false,
        region: "us-west-2".into(),
        credentials: AwsCredentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: AWS_SECRET.into(),
            session_token: Some(SESSION.into()),
        },
        endpoints: Endpoints {
            ecs: "http://127.0.0.1:5000".into(),
            ec2: "http://127.0.0.1:5000".into(),
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
    if let Some(t) = r.headers.get("x-amz-target") {
        return format!("ecs:{}", t.rsplit('.').next().unwrap());
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

/// The scripted world. By default everything succeeds: the task is
/// PROVISIONING, then PENDING, then RUNNING.
pub struct World {
    /// Answers queued per operation (first used first); when empty, the
    /// default answer for the operation.
    pub queued: HashMap<String, VecDeque<Reply>>,
    /// lastStatus for successive DescribeTasks calls; the last one repeats.
    pub statuses: Vec<Value>,
    describe_calls: usize,
    pub containers: Vec<&'static str>,
    pub network_mode: &'static str,
    pub requests: Vec<HttpRequest>,
    pub runner_online_after: usize,
    runner_checks: usize,
}

impl Default for World {
    fn default() -> Self {
        World {
            queued: HashMap::new(),
            statuses: vec![
                task_json("PROVISIONING", "RUNNING"),
                task_json("PENDING", "RUNNING"),
                task_json("RUNNING", "RUNNING"),
            ],
            describe_calls: 0,
            containers: vec!["runner"],
            network_mode: "awsvpc",
            requests: Vec::new(),
            runner_online_after: 1,
            runner_checks: 0,
        }
    }
}

impl World {
    pub fn queue(&mut self, op: &str, r: Reply) -> &mut Self {
        self.queued.entry(op.to_string()).or_default().push_back(r);
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

    pub fn answer(&mut self, r: &HttpRequest) -> HttpResponse {
        self.requests.push(r.clone());
        let name = op(r);
        let reply = match self.queued.get_mut(&name).and_then(|q| q.pop_front()) {
            Some(reply) => reply,
            None => self.default_reply(&name),
        };
        HttpResponse {
            id: r.id,
            status: reply.0,
            headers: BTreeMap::new(),
            body: reply.1,
            error: if reply.0 == 0 {
                Some("connect ECONNREFUSED".into())
            } else {
                None
            },
        }
    }

    fn default_reply(&mut self, name: &str) -> Reply {
        match name {
            "ecs:DescribeTaskDefinition" => Reply::ok(json!({"taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/gh-runner:3",
                "networkMode": self.network_mode,
                "containerDefinitions": self.containers.iter().map(|c| json!({"name": c, "image": "ghcr.io/actions/actions-runner"})).collect::<Vec<_>>(),
            }})),
            "ec2:DescribeSubnets" => Reply(200, "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-0aaa1111</subnetId></item><item><subnetId>subnet-0bbb2222</subnetId></item></subnetSet></DescribeSubnetsResponse>".into()),
            "ec2:DescribeSecurityGroups" => Reply(200, "<DescribeSecurityGroupsResponse><securityGroupInfo><item><groupId>sg-0ccc3333</groupId></item></securityGroupInfo></DescribeSecurityGroupsResponse>".into()),
            "github:POST /repos/octo/app/actions/runners/generate-jitconfig" => Reply(201, json!({
                "runner": {"id": 42, "name": "x", "os": "Linux", "status": "offline", "busy": false, "labels": []},
                "encoded_jit_config": JIT}).to_string()),
            "github:POST /repos/octo/app/actions/runners/registration-token" => Reply(201, json!({"token": REG_TOKEN, "expires_at": "2026-11-23T08:00:00Z"}).to_string()),
            "ecs:RunTask" => Reply::ok(json!({"tasks": [task_json("PROVISIONING", "RUNNING")], "failures": []})),
            "ecs:DescribeTasks" => {
                let i = self.describe_calls.min(self.statuses.len() - 1);
                self.describe_calls += 1;
                Reply::ok(json!({"tasks": [self.statuses[i].clone()], "failures": []}))
            }
            "ecs:StopTask" => Reply::ok(json!({"task": task_json("RUNNING", "STOPPED")})),
            "github:GET /repos/octo/app/actions/runners/42" => {
                self.runner_checks += 1;
                let status = if self.runner_checks > self.runner_online_after { "online" } else { "offline" };
                Reply(200, json!({"id": 42, "name": "x", "status": status, "busy": false, "labels": []}).to_string())
            }
            "github:DELETE /repos/octo/app/actions/runners/42" => Reply(204, String::new()),
            other => panic!("the scripted world has no answer for {other}"),
        }
    }
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

/// Drive a machine against the world until it finishes. `cancel_when` may
/// answer a pending request or sleep with a cancel instead (checked before
/// each event is delivered, with the clock and the requests so far).
pub fn drive_with(
    m: &mut dyn Steps,
    world: &mut World,
    mut cancel_when: impl FnMut(Millis, &World) -> bool,
) -> Outcome {
    let mut now = T0;
    let mut actions = Vec::new();
    let mut event = Event::Start;
    let mut cancelled = false;
    for _ in 0..10_000 {
        let action = m.step(now, event);
        let next = action.next.clone();
        actions.push(action);
        match next {
            Next::Done { .. } | Next::Failed { .. } => {
                return Outcome {
                    last: next,
                    actions,
                    now,
                }
            }
            Next::Send { requests } => {
                assert!(!requests.is_empty(), "Send with no request");
                let responses: Vec<HttpResponse> =
                    requests.iter().map(|r| world.answer(r)).collect();
                // Each request takes 100 ms.
                now += 100;
                if !cancelled && cancel_when(now, world) {
                    cancelled = true;
                    event = Event::Cancel {
                        signal: "SIGINT".into(),
                    };
                } else {
                    event = Event::Responses { responses };
                }
            }
            Next::Sleep { ms } => {
                now += ms;
                if !cancelled && cancel_when(now, world) {
                    cancelled = true;
                    event = Event::Cancel {
                        signal: "SIGTERM".into(),
                    };
                } else {
                    event = Event::Woke;
                }
            }
        }
    }
    panic!("the machine did not finish in 10000 steps");
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
