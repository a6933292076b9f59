//! The start machine: register a runner with GitHub, run it as an ECS task,
//! wait until the task is RUNNING (and, if asked, the runner online), and
//! report where it runs. Any failure after something was created undoes it
//! (see [`crate::cleanup`]) before the step fails.
//!
//! Order of calls, one at a time:
//! DescribeTaskDefinition → (DescribeSubnets) → (DescribeSecurityGroups) →
//! generate-jitconfig | registration-token → RunTask → DescribeTasks… →
//! (DescribeContainerInstances → DescribeInstances) → (GET runner…).
//! Everything that can fail without creating anything comes before GitHub
//! registers the runner.
//!
//! The machine launches a list of runners ([`Launch`]): each is registered
//! and its task started in turn, then all tasks are polled together (one
//! DescribeTasks), their IPs found and, if asked, each runner waited for;
//! a failure undoes every one. The list has [`RUNNERS_PER_STEP`] entries.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::cleanup::{Cleanup, Report, Step, Undo};
use crate::ec2;
use crate::ecs::{self, Task, TaskDefinition};
use crate::exchange::{failure_message, Call, Exchange, Received};
use crate::github;
use crate::names;
use crate::outbox::Outbox;
use crate::protocol::{Action, Event, HttpResponse, Millis, Next};
use crate::settings::{Lookup, Placement, Registration, Settings};
use crate::summary;

/// ECS may not list a task it just started for a short while (RunTask is
/// eventually consistent; ECS API reference, DescribeTasks).
const MISSING_GRACE_MS: u64 = 30_000;
/// First look at a new task after about a second, then less often.
const FIRST_POLL_MS: u64 = 1_000;
const MAX_POLL_MS: u64 = 5_000;
/// RunTask's `overrides` may hold at most 8192 characters (ECS API reference,
/// RunTask).
const MAX_OVERRIDES_CHARS: usize = 8192;
/// How many runners one step launches. One for now: the inputs have no
/// count yet. Each needs 8 hex digits of the shell's randomness.
pub const RUNNERS_PER_STEP: usize = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    TaskDefinition,
    Subnets,
    SecurityGroups,
    Jit,
    RegistrationToken,
    RunTask,
    DescribeTasks,
    ContainerInstances,
    Instances,
    RunnerStatus,
    Undo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Nothing,
    Retry,
    Poll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Preparing,
    WaitRunning,
    WaitOnline,
    CleaningUp,
    Finished,
}

/// One runner being launched: its GitHub registration and its ECS task.
struct Launch {
    /// Position in the list: part of the RunTask clientToken.
    index: usize,
    runner_id: String,
    /// GitHub's id of the runner (JIT registration only).
    github_runner: Option<u64>,
    /// Name and value of the credential variables for the container.
    credential_env: Vec<(String, String)>,
    /// GitHub may know the runner (JIT: registered; token: the container may
    /// have registered it).
    runner_created: bool,
    task: Option<Task>,
    run_task_at: Millis,
    running_after_ms: Option<u64>,
    ip: String,
}

impl Launch {
    fn new(index: usize, runner_id: String) -> Self {
        Launch {
            index,
            runner_id,
            github_runner: None,
            credential_env: Vec::new(),
            runner_created: false,
            task: None,
            run_task_at: 0,
            running_after_ms: None,
            ip: String::new(),
        }
    }

    fn task_id(&self) -> &str {
        self.task.as_ref().map(|t| t.id()).unwrap_or("")
    }

    fn task_arn(&self) -> String {
        self.task
            .as_ref()
            .map(|t| t.arn.clone())
            .unwrap_or_default()
    }
}

pub struct Start {
    s: Settings,
    out: Outbox,
    ex: Exchange<Op>,
    launches: Vec<Launch>,
    /// The launch being registered, started, located or waited for.
    cur: usize,
    began: Millis,
    deadline: Millis,
    stage: Stage,
    wake: Wake,
    task_definition: Option<TaskDefinition>,
    container: String,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    /// The subnet lookup by tag has read its last page.
    subnets_done: bool,
    poll_ms: u64,
    cleanup: Option<Cleanup>,
    /// Why the start failed, while cleaning up.
    failure: String,
}

impl Start {
    pub fn new(s: Settings, random: &str) -> Self {
        Self::with_runners(s, random, RUNNERS_PER_STEP)
    }

    /// Launches `count` runners (at least one); `random` needs 8 hex digits
    /// for each (shorter: the last runners reuse the first digits).
    pub fn with_runners(s: Settings, random: &str, count: usize) -> Self {
        let out = Outbox::for_settings(&s);
        let launches = (0..count.max(1))
            .map(|i| {
                Launch::new(
                    i,
                    names::runner_id(&s, random.get(8 * i..8 * i + 8).unwrap_or(random)),
                )
            })
            .collect();
        Start {
            out,
            ex: Exchange::default(),
            launches,
            cur: 0,
            began: 0,
            deadline: 0,
            stage: Stage::Preparing,
            wake: Wake::Nothing,
            task_definition: None,
            container: String::new(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            subnets_done: false,
            poll_ms: FIRST_POLL_MS,
            cleanup: None,
            failure: String::new(),
            s,
        }
    }

    pub fn step(&mut self, now: Millis, event: Event) -> Action {
        let next = match event {
            Event::Start => self.begin(now),
            Event::Responses { responses } => self.on_responses(now, responses),
            Event::Woke => self.on_wake(now),
            Event::Cancel { signal } => self.on_cancel(now, &signal),
        };
        self.out.action(next)
    }

    /// The launch being worked on.
    fn l(&mut self) -> &mut Launch {
        &mut self.launches[self.cur]
    }

    fn runner_ids(&self) -> String {
        self.launches
            .iter()
            .map(|l| l.runner_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn begin(&mut self, now: Millis) -> Next {
        self.began = now;
        self.deadline = now + self.s.timeout_s * 1000;
        self.out.info(format!(
            "Launching runner {} for {} on ECS cluster {} ({})",
            self.runner_ids(),
            self.s.scope.display(),
            self.s.cluster,
            self.s.region
        ));
        let call = Call::ecs(
            Op::TaskDefinition,
            "DescribeTaskDefinition",
            ecs::describe_task_definition(&self.s.task_definition),
        );
        self.send(call, now)
    }

    fn send(&mut self, call: Call<Op>, now: Millis) -> Next {
        self.ex.send(&self.s, &mut self.out, call, now)
    }

    fn on_responses(&mut self, now: Millis, responses: Vec<HttpResponse>) -> Next {
        if let Some(c) = self.cleanup.as_mut() {
            let step = c.on_responses(
                &self.s,
                &mut self.out,
                &mut self.ex,
                now,
                Op::Undo,
                responses,
            );
            return self.cleaned(step);
        }
        match self.ex.receive(&mut self.out, responses) {
            Received::Stray => Next::Sleep { ms: 0 },
            Received::Retry { after_ms } => {
                self.wake = Wake::Retry;
                Next::Sleep { ms: after_ms }
            }
            Received::Answer(call, resp) => self.on_answer(now, call, resp),
        }
    }

    fn on_wake(&mut self, now: Millis) -> Next {
        if let Some(c) = self.cleanup.as_mut() {
            let step = c.on_wake(&self.s, &mut self.out, &mut self.ex, now, Op::Undo);
            return self.cleaned(step);
        }
        match std::mem::replace(&mut self.wake, Wake::Nothing) {
            Wake::Retry => self.ex.resend(&self.s, &mut self.out, now),
            Wake::Poll if self.stage == Stage::WaitRunning => self.describe_task(now),
            Wake::Poll if self.stage == Stage::WaitOnline => self.check_runner(now),
            _ => Next::Sleep { ms: 0 },
        }
    }

    fn on_cancel(&mut self, now: Millis, signal: &str) -> Next {
        let in_flight = self.ex.abandon();
        self.out.warning(format!(
            "Got {signal} (the run was cancelled): removing what this step created before exiting"
        ));
        if let Some(c) = self.cleanup.as_mut() {
            // Already undoing: carry on; the request the shell dropped is
            // sent again.
            let step = c.on_cancel(&self.s, &mut self.out, &mut self.ex, now, Op::Undo);
            return self.cleaned(step);
        }
        // A RunTask whose answer we did not get may have started a task:
        // find it by its tags.
        let unanswered = in_flight.map(|c| c.tag);
        if matches!(unanswered, Some(Op::Jit) | Some(Op::RegistrationToken)) {
            // GitHub may have registered the runner without us hearing of
            // it: look it up by name.
            self.l().runner_created = true;
        }
        let what = self.stage_words();
        self.fail_with(
            now,
            format!("Cancelled ({signal}) while {what}."),
            unanswered == Some(Op::RunTask),
            true,
        )
    }

    fn stage_words(&self) -> String {
        match self.stage {
            Stage::Preparing => "preparing the runner".into(),
            Stage::WaitRunning => "waiting for the task to be RUNNING".into(),
            Stage::WaitOnline => "waiting for the runner to come online".into(),
            Stage::CleaningUp => "cleaning up".into(),
            Stage::Finished => "finishing".into(),
        }
    }

    fn on_answer(&mut self, now: Millis, call: Call<Op>, resp: HttpResponse) -> Next {
        let ok = (200..300).contains(&resp.status);
        if !ok {
            let message = failure_message(&call, &resp, &self.s);
            return self.fail(now, message);
        }
        match call.tag {
            Op::TaskDefinition => self.on_task_definition(now, &resp.body),
            Op::Subnets | Op::SecurityGroups => self.on_lookup_page(now, call.tag, &resp.body),
            Op::Jit => match github::parse_jit(&resp.body) {
                Some((id, config)) => {
                    self.out.secret(&config);
                    let labels =
                        names::labels(&self.s, &self.launches[self.cur].runner_id).join(",");
                    let l = self.l();
                    l.github_runner = Some(id);
                    l.runner_created = true;
                    l.credential_env = vec![("ACTIONS_RUNNER_INPUT_JITCONFIG".into(), config)];
                    let name = l.runner_id.clone();
                    self.out.info(format!(
                        "Registered runner {name} with GitHub (id {id}, labels {labels})"
                    ));
                    self.run_task(now)
                }
                None => self.fail(
                    now,
                    "GitHub generate-jitconfig: answer without runner.id or encoded_jit_config"
                        .into(),
                ),
            },
            Op::RegistrationToken => match github::parse_registration_token(&resp.body) {
                Some(token) => {
                    self.out.secret(&token);
                    self.out
                        .info("Got a registration token from GitHub (valid one hour)");
                    let name = self.launches[self.cur].runner_id.clone();
                    let labels = names::labels(&self.s, &name);
                    let url = format!("{}/{}", self.s.run.server_url, self.s.scope.display());
                    let (workdir, group) =
                        (self.s.workdir.clone(), self.s.runner_group.to_string());
                    let l = self.l();
                    l.runner_created = true;
                    l.credential_env = vec![
                        ("RUNNER_TOKEN".into(), token),
                        ("RUNNER_URL".into(), url),
                        ("RUNNER_NAME".into(), name),
                        ("RUNNER_LABELS".into(), labels.join(",")),
                        ("RUNNER_WORKDIR".into(), workdir),
                        ("RUNNER_GROUP".into(), group),
                    ];
                    self.run_task(now)
                }
                None => self.fail(
                    now,
                    "GitHub registration-token: answer without token".into(),
                ),
            },
            Op::RunTask => self.on_run_task(now, &resp.body),
            Op::DescribeTasks => self.on_describe(now, &resp.body),
            Op::ContainerInstances => {
                let ids = ecs::parse_container_instances(&resp.body);
                if ids.is_empty() {
                    self.out.warning(
                        "The task's container instance has no EC2 instance id; ipaddr is empty.",
                    );
                    return self.next_ip(now);
                }
                let call = Call::ec2(
                    Op::Instances,
                    "DescribeInstances",
                    ec2::describe_instances(&ids),
                );
                self.send(call, now)
            }
            Op::Instances => {
                match ec2::parse_instance_private_ips(&resp.body) {
                    Ok(found) if !found.private_ips.is_empty() => {
                        self.l().ip = found.private_ips[0].1.clone()
                    }
                    _ => self
                        .out
                        .warning("DescribeInstances gave no private IP; ipaddr is empty."),
                }
                self.next_ip(now)
            }
            Op::RunnerStatus => self.on_runner_status(now, &resp.body),
            Op::Undo => Next::Sleep { ms: 0 },
        }
    }

    fn on_task_definition(&mut self, now: Millis, body: &str) -> Next {
        let Some(td) = ecs::parse_task_definition(body) else {
            return self.fail(now, "ECS DescribeTaskDefinition: unreadable answer".into());
        };
        let chosen = match &self.s.container_name {
            Some(name) if td.containers.iter().any(|c| c == name) => name.clone(),
            Some(name) => {
                return self.fail(now, format!(
                    "Input 'container-name': '{name}' is not a container of task definition {}; it has: {}.",
                    td.arn,
                    td.containers.join(", ")
                ))
            }
            None if td.containers.len() == 1 => td.containers[0].clone(),
            None => {
                return self.fail(now, format!(
                    "Task definition {} has {} containers ({}): set the input `container-name` to the one that runs the GitHub runner.",
                    td.arn,
                    td.containers.len(),
                    td.containers.join(", ")
                ))
            }
        };
        self.container = chosen;
        if td.network_mode == "awsvpc" && matches!(self.s.subnets, Lookup::None) {
            return self.fail(now, format!(
                "Task definition {} uses the awsvpc network mode, which needs subnets: set the input `subnets` or `subnets-tag` (or ECS_SUBNETS).",
                td.arn
            ));
        }
        if td.network_mode != "awsvpc" && !matches!(self.s.subnets, Lookup::None) {
            self.out.warning(format!(
                "Task definition {} uses the {} network mode: subnets and security groups do not apply and are ignored.",
                td.arn, td.network_mode
            ));
        }
        self.out.detail(format!(
            "Task definition {}: network mode {}, runner container {}",
            td.arn, td.network_mode, self.container
        ));
        self.task_definition = Some(td);
        if let Lookup::Ids(ids) = &self.s.subnets {
            self.subnets = ids.clone();
        }
        if let Lookup::Ids(ids) = &self.s.security_groups {
            self.security_groups = ids.clone();
        }
        self.next_lookup(now)
    }

    fn awsvpc(&self) -> bool {
        self.task_definition
            .as_ref()
            .map(|t| t.network_mode == "awsvpc")
            .unwrap_or(false)
    }

    /// Look up subnets, then security groups, by tag where asked.
    fn next_lookup(&mut self, now: Millis) -> Next {
        if self.awsvpc() {
            if matches!(self.s.subnets, Lookup::Tag { .. }) && !self.subnets_done {
                return self.lookup(now, Op::Subnets, None);
            }
            if matches!(self.s.security_groups, Lookup::Tag { .. }) {
                return self.lookup(now, Op::SecurityGroups, None);
            }
        }
        self.register(now)
    }

    /// Ask for one page of the lookup by tag `op` (subnets or security
    /// groups); `token` is the page after the first.
    fn lookup(&mut self, now: Millis, op: Op, token: Option<&str>) -> Next {
        let call = match (op, &self.s.subnets, &self.s.security_groups) {
            (Op::Subnets, Lookup::Tag { key, value }, _) => Call::ec2(
                op,
                "DescribeSubnets",
                ec2::describe_subnets_by_tag(key, value, token),
            ),
            (Op::SecurityGroups, _, Lookup::Tag { key, value }) => Call::ec2(
                op,
                "DescribeSecurityGroups",
                ec2::describe_security_groups_by_tag(key, value, token),
            ),
            _ => return self.register(now), // next_lookup only asks for tag lookups
        };
        self.send(call, now)
    }

    /// A page of subnets or security groups by tag: ask for the next page,
    /// or with all of them go on (none found is an error naming the tag).
    fn on_lookup_page(&mut self, now: Millis, op: Op, body: &str) -> Next {
        let subnets = op == Op::Subnets;
        let (operation, page) = if subnets {
            ("DescribeSubnets", ec2::parse_subnet_ids(body))
        } else {
            (
                "DescribeSecurityGroups",
                ec2::parse_security_group_ids(body),
            )
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => return self.fail(now, format!("EC2 {operation}: unreadable answer: {e}")),
        };
        let found = if subnets {
            &mut self.subnets
        } else {
            &mut self.security_groups
        };
        found.extend(page.ids);
        if let Some(token) = page.next_token {
            return self.lookup(now, op, Some(&token));
        }
        let (found, setting) = if subnets {
            (self.subnets.join(", "), &self.s.subnets)
        } else {
            (self.security_groups.join(", "), &self.s.security_groups)
        };
        let tag = tag_words(setting);
        if found.is_empty() {
            let message = if subnets {
                format!(
                    "Input 'subnets-tag': no subnet in {} has the tag {tag}. Tag the runner subnets, or give their ids in `subnets`.",
                    self.s.region
                )
            } else {
                format!(
                    "Input 'security-groups-tag': no security group in {} has the tag {tag}. Tag the group, or give its id in `security-groups`.",
                    self.s.region
                )
            };
            return self.fail(now, message);
        }
        let what = if subnets {
            "Subnets"
        } else {
            "Security groups"
        };
        self.out.info(format!("{what} with tag {tag}: {found}"));
        if subnets {
            self.subnets_done = true;
            self.next_lookup(now)
        } else {
            self.register(now)
        }
    }

    /// Register the runner of the current launch with GitHub.
    fn register(&mut self, now: Millis) -> Next {
        let name = self.launches[self.cur].runner_id.clone();
        let call = match self.s.registration {
            Registration::Jit => {
                let labels = names::labels(&self.s, &name);
                let body = github::jit_body(&name, self.s.runner_group, &labels, &self.s.workdir);
                Call::github(
                    Op::Jit,
                    "generate-jitconfig",
                    "POST",
                    github::jit_path(&self.s.scope),
                    Some(body),
                )
            }
            Registration::Token => Call::github(
                Op::RegistrationToken,
                "registration-token",
                "POST",
                github::registration_token_path(&self.s.scope),
                None,
            ),
        };
        self.send(call, now)
    }

    fn run_task_body(&self) -> Value {
        let s = &self.s;
        let l = &self.launches[self.cur];
        let environment: Vec<Value> = l
            .credential_env
            .iter()
            .chain(s.env.iter())
            .map(|(k, v)| json!({ "name": k, "value": v }))
            .collect();
        let mut body = json!({
            "cluster": s.cluster,
            "taskDefinition": s.task_definition,
            "count": 1,
            "startedBy": names::started_by(s),
            "clientToken": names::client_token(s, &l.runner_id, l.index),
            "overrides": { "containerOverrides": [ { "name": self.container, "environment": environment } ] },
            "tags": names::task_tags(s, &l.runner_id)
                .into_iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect::<Vec<_>>(),
        });
        match &s.placement {
            Placement::LaunchType(t) => body["launchType"] = json!(t),
            Placement::CapacityProviders(ps) => {
                body["capacityProviderStrategy"] = ps
                    .iter()
                    .map(|p| {
                        let mut e = json!({ "capacityProvider": p.provider });
                        if let Some(w) = p.weight {
                            e["weight"] = json!(w);
                        }
                        if let Some(b) = p.base {
                            e["base"] = json!(b);
                        }
                        e
                    })
                    .collect();
            }
        }
        if let Some(v) = &s.platform_version {
            body["platformVersion"] = json!(v);
        }
        if self.awsvpc() {
            let mut vpc = json!({
                "subnets": self.subnets,
                "assignPublicIp": if s.assign_public_ip { "ENABLED" } else { "DISABLED" },
            });
            if !self.security_groups.is_empty() {
                vpc["securityGroups"] = json!(self.security_groups);
            }
            body["networkConfiguration"] = json!({ "awsvpcConfiguration": vpc });
        }
        body
    }

    fn run_task(&mut self, now: Millis) -> Next {
        let body = self.run_task_body();
        let overrides = body["overrides"].to_string().chars().count();
        if overrides > MAX_OVERRIDES_CHARS {
            return self.fail(now, format!(
                "The container overrides would be {overrides} characters; ECS allows {MAX_OVERRIDES_CHARS}. Shorten the input `env`."
            ));
        }
        self.l().run_task_at = now;
        self.send(Call::ecs(Op::RunTask, "RunTask", body), now)
    }

    fn on_run_task(&mut self, now: Millis, body: &str) -> Next {
        let Some(answer) = ecs::parse_tasks(body) else {
            return self.fail(now, "ECS RunTask: unreadable answer".into());
        };
        let Some(task) = answer.tasks.into_iter().next() else {
            // HTTP 200 with nothing started: failures[] says why.
            let reasons: Vec<String> = answer
                .failures
                .iter()
                .map(|f| ecs::failure_advice(f, &self.s.cluster))
                .collect();
            let why = if reasons.is_empty() {
                "ECS gave no reason".to_string()
            } else {
                reasons.join("; ")
            };
            return self.fail(now, format!("ECS RunTask started no task: {why}."));
        };
        self.out.info(format!(
            "Started task {} ({})",
            task.id(),
            summary::console_url(&self.s, task.id())
        ));
        if !task.last_status.is_empty() {
            self.out
                .info(format!("Task {}: {} (0s)", task.id(), task.last_status));
        }
        self.l().task = Some(task);
        self.cur += 1;
        if self.cur < self.launches.len() {
            return self.register(now);
        }
        self.stage = Stage::WaitRunning;
        self.poll_later(now)
    }

    fn poll_later(&mut self, now: Millis) -> Next {
        let left = self.deadline.saturating_sub(now);
        let ms = self.poll_ms.min(left.max(1));
        self.poll_ms = (self.poll_ms * 3 / 2).min(MAX_POLL_MS);
        self.wake = Wake::Poll;
        Next::Sleep { ms }
    }

    fn describe_task(&mut self, now: Millis) -> Next {
        if now >= self.deadline {
            return self.timed_out(now);
        }
        // The tasks not RUNNING yet, all in one call (up to 100 per call).
        let arns: Vec<String> = self
            .launches
            .iter()
            .filter(|l| l.running_after_ms.is_none())
            .map(Launch::task_arn)
            .collect();
        let call = Call::ecs(
            Op::DescribeTasks,
            "DescribeTasks",
            ecs::describe_tasks(&self.s.cluster, &arns, false),
        );
        self.send(call, now)
    }

    fn timed_out(&mut self, now: Millis) -> Next {
        let msg = match self.stage {
            Stage::WaitOnline => format!(
                "The runner {} did not come online in GitHub within timeout ({}s). The task runs, but the runner in it did not connect: check its logs, and that it can reach GitHub (NAT or public IP).",
                self.launches[self.cur.min(self.launches.len() - 1)].runner_id, self.s.timeout_s
            ),
            _ => {
                let late = self.launches.iter().find(|l| l.running_after_ms.is_none()).unwrap_or(&self.launches[0]);
                format!(
                    "Task {} was not RUNNING within timeout ({}s); its last status was {}. Raise `timeout`, or check the cluster's capacity and the task's events in the ECS console.",
                    late.task_id(),
                    self.s.timeout_s,
                    late.task.as_ref().map(|t| t.last_status.as_str()).filter(|s| !s.is_empty()).unwrap_or("unknown")
                )
            }
        };
        self.fail(now, msg)
    }

    fn on_describe(&mut self, now: Millis, body: &str) -> Next {
        let Some(answer) = ecs::parse_tasks(body) else {
            return self.fail(now, "ECS DescribeTasks: unreadable answer".into());
        };
        let mut tasks = answer.tasks;
        for i in 0..self.launches.len() {
            if self.launches[i].running_after_ms.is_some() {
                continue;
            }
            let arn = self.launches[i].task_arn();
            let since = now.saturating_sub(self.launches[i].run_task_at);
            let secs = since / 1000;
            let Some(pos) = tasks.iter().position(|t| t.arn == arn) else {
                let missing = answer.failures.iter().any(|f| f.reason == "MISSING");
                if since < MISSING_GRACE_MS {
                    if missing {
                        self.out.detail(format!(
                            "Task {} not visible yet ({secs}s)",
                            ecs::task_id(&arn)
                        ));
                    }
                    continue;
                }
                return self.fail(
                    now,
                    format!(
                        "Task {} is MISSING: ECS did not list it {secs}s after starting it.",
                        ecs::task_id(&arn)
                    ),
                );
            };
            let task = tasks.swap_remove(pos);
            let previous = self.launches[i]
                .task
                .as_ref()
                .map(|t| t.last_status.clone())
                .unwrap_or_default();
            if task.last_status != previous {
                self.out.info(format!(
                    "Task {}: {} ({secs}s)",
                    task.id(),
                    task.last_status
                ));
            }
            let stopping = task.is_stopping();
            let status = task.last_status.clone();
            if stopping {
                let mut msg = format!(
                    "Task {} stopped before it was RUNNING (last status {status}): {}.",
                    task.id(),
                    task.ending()
                );
                if let Some(a) = ecs::stop_advice(&task) {
                    msg.push_str(&format!(" Likely fix: {a}."));
                }
                self.launches[i].task = Some(task);
                return self.fail(now, msg);
            }
            self.launches[i].task = Some(task);
            if status == "RUNNING" {
                self.launches[i].running_after_ms = Some(since);
            }
        }
        if self.launches.iter().all(|l| l.running_after_ms.is_some()) {
            self.cur = 0;
            return self.find_ip(now);
        }
        if now >= self.deadline {
            return self.timed_out(now);
        }
        self.poll_later(now)
    }

    /// The current launch's IP: from the task, else from its EC2 instance.
    fn find_ip(&mut self, now: Millis) -> Next {
        let task = self.launches[self.cur].task.as_ref().expect("running task");
        if let Some(ip) = task.private_ip() {
            let ip = ip.to_string();
            self.l().ip = ip;
            return self.next_ip(now);
        }
        if !task.container_instance_arn.is_empty() {
            let arns = vec![task.container_instance_arn.clone()];
            let call = Call::ecs(
                Op::ContainerInstances,
                "DescribeContainerInstances",
                ecs::describe_container_instances(&self.s.cluster, &arns),
            );
            return self.send(call, now);
        }
        self.out
            .warning("ECS reports no private IP for the task; ipaddr is empty.");
        self.next_ip(now)
    }

    fn next_ip(&mut self, now: Millis) -> Next {
        self.cur += 1;
        if self.cur < self.launches.len() {
            return self.find_ip(now);
        }
        self.running(now)
    }

    /// The task is RUNNING and its IP known: finish, or wait for GitHub.
    fn running(&mut self, now: Millis) -> Next {
        if self.s.wait_for_registration {
            self.stage = Stage::WaitOnline;
            self.poll_ms = FIRST_POLL_MS;
            self.cur = 0;
            self.out.info(format!(
                "Waiting for runner {} to come online in GitHub",
                self.runner_ids()
            ));
            return self.check_runner(now);
        }
        self.finish()
    }

    fn check_runner(&mut self, now: Millis) -> Next {
        if now >= self.deadline {
            return self.timed_out(now);
        }
        let l = &self.launches[self.cur];
        let path = match l.github_runner {
            Some(id) => github::runner_path(&self.s.scope, id),
            None => github::runners_by_name_path(&self.s.scope, &l.runner_id),
        };
        let call = Call::github(Op::RunnerStatus, "get runner", "GET", path, None);
        self.send(call, now)
    }

    fn on_runner_status(&mut self, now: Millis, body: &str) -> Next {
        let l = &self.launches[self.cur];
        let runner = match l.github_runner {
            Some(_) => github::parse_runner_one(body),
            None => github::parse_runners(body)
                .and_then(|(rs, _)| rs.into_iter().find(|r| r.name == l.runner_id)),
        };
        match runner {
            Some(r) if r.status == "online" => {
                let secs = now.saturating_sub(l.run_task_at) / 1000;
                self.out
                    .info(format!("Runner {} is online in GitHub ({secs}s)", r.name));
                let l = self.l();
                if l.github_runner.is_none() {
                    l.github_runner = Some(r.id);
                }
                self.cur += 1;
                if self.cur < self.launches.len() {
                    return self.check_runner(now);
                }
                self.finish()
            }
            _ => self.poll_later(now),
        }
    }

    /// The outputs; with several runners each value lists them in order,
    /// comma-separated.
    fn outputs(&self) -> BTreeMap<String, String> {
        let each = |f: &dyn Fn(&Launch) -> String| {
            self.launches.iter().map(f).collect::<Vec<_>>().join(",")
        };
        let runner = each(&|l| l.runner_id.clone());
        let arn = each(&|l| l.task_arn());
        let id = each(&|l| l.task_id().to_string());
        let gh = each(&|l| l.github_runner.map(|i| i.to_string()).unwrap_or_default());
        let mut o = BTreeMap::new();
        for (k, v) in [
            ("runner_id", runner.clone()),
            ("runner_name", runner.clone()),
            ("id", runner),
            ("github_runner_id", gh),
            ("task_arn", arn.clone()),
            ("arn", arn.clone()),
            ("aws_task_arn", arn),
            ("task_id", id.clone()),
            ("aws_task_id", id),
            ("ipaddr", each(&|l| l.ip.clone())),
            (
                "cluster",
                summary::cluster_name(&self.s.cluster).to_string(),
            ),
            ("region", self.s.region.clone()),
        ] {
            o.insert(k.to_string(), v);
        }
        o
    }

    fn rows(&self, status: &str) -> Vec<summary::Row> {
        self.launches
            .iter()
            .map(|l| summary::Row {
                runner: l.runner_id.clone(),
                task_id: l.task_id().to_string(),
                ip: l.ip.clone(),
                status: status.to_string(),
                secs_to_running: l.running_after_ms.map(|ms| ms.div_ceil(1000)),
            })
            .collect()
    }

    fn finish(&mut self) -> Next {
        self.stage = Stage::Finished;
        for l in &self.launches {
            self.out.info(format!(
                "Runner {} is up: task {}, IP {}. Use it with runs-on: [self-hosted, {}]",
                l.runner_id,
                l.task_id(),
                if l.ip.is_empty() { "unknown" } else { &l.ip },
                l.runner_id
            ));
        }
        let status = if self.s.wait_for_registration {
            "RUNNING, runner online"
        } else {
            "RUNNING"
        };
        Next::Done {
            outputs: self.outputs(),
            summary: summary::table(&self.s, &self.rows(status), None),
        }
    }

    fn fail(&mut self, now: Millis, message: String) -> Next {
        self.fail_with(now, message, false, false)
    }

    /// Undo what was created, then fail with `message` and what was undone.
    fn fail_with(
        &mut self,
        now: Millis,
        message: String,
        find_task: bool,
        cancelled: bool,
    ) -> Next {
        // `find_task`: the current launch's RunTask went unanswered.
        let unanswered = if find_task { Some(self.cur) } else { None };
        let mut todo = Vec::new();
        for (i, l) in self.launches.iter().enumerate() {
            match &l.task {
                Some(t) if !t.is_stopping() => todo.push(Undo::StopTask(t.arn.clone())),
                Some(_) => {}
                None if unanswered == Some(i) => todo.push(Undo::FindTasks {
                    runner_id: Some(l.runner_id.clone()),
                    next_token: None,
                }),
                None => {}
            }
        }
        for l in &self.launches {
            if l.runner_created {
                match l.github_runner {
                    Some(id) => todo.push(Undo::DeleteRunner {
                        id,
                        name: l.runner_id.clone(),
                    }),
                    None => todo.push(Undo::FindRunner {
                        name: l.runner_id.clone(),
                    }),
                }
            }
        }
        self.stage = Stage::CleaningUp;
        self.wake = Wake::Nothing;
        let mut cleanup = Cleanup::new(&message, todo, false, cancelled);
        self.failure = message;
        let step = cleanup.resume(&self.s, &mut self.out, &mut self.ex, now, Op::Undo);
        self.cleanup = Some(cleanup);
        self.cleaned(step)
    }

    /// Pass on what cleanup wants done, or fail with its report.
    fn cleaned(&mut self, step: Step) -> Next {
        let report: Report = match step {
            Step::Next(next) => return next,
            Step::Finished(report) => report,
        };
        self.stage = Stage::Finished;
        let mut message = self.failure.clone();
        let done = report.done();
        if !done.is_empty() {
            message.push_str(&format!("\nCleaned up: {}.", done.join("; ")));
        }
        if !report.problems.is_empty() {
            message.push_str(&format!("\nLeft behind: {}.", report.problems.join("; ")));
            for p in &report.problems {
                self.out.warning(format!("Cleanup: {p}"));
            }
        }
        Next::Failed {
            summary: summary::table(&self.s, &self.rows("failed"), Some(&message)),
            outputs: self.outputs(),
            message,
        }
    }
}

/// "tag `key:value`" for messages.
fn tag_words(l: &Lookup) -> String {
    match l {
        Lookup::Tag { key, value } => format!("`{key}:{value}`"),
        _ => String::new(),
    }
}
