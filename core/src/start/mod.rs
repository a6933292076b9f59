//! The start machine: register `count` runners with GitHub, run each as its
//! own ECS task, wait until every task is RUNNING (and, if asked, every
//! runner online), and report where they run. All or nothing: when one
//! runner cannot be started, every runner and task of the step is removed
//! (see [`crate::cleanup`]) before the step fails.
//!
//! Calls go out concurrently wherever they do not depend on each other,
//! within the exchange's per-service bounds:
//! 1. DescribeTaskDefinition, DescribeSubnets and DescribeSecurityGroups
//!    (by tag, page after page) together. Everything that can fail without
//!    creating anything comes before GitHub registers a runner.
//! 2. For each runner: generate-jitconfig (or registration-token), then, as
//!    soon as that answers, its RunTask (one task each: every runner has its
//!    own credential). A RunTask that fails for lack of capacity, or a task
//!    that stops before RUNNING for lack of it, is tried again on
//!    `capacity-fallback`.
//! 3. DescribeTasks for every task not yet RUNNING, 100 per call: first
//!    about a second after a task's RunTask, then every second for its
//!    first 20 s and every 2 s after, so RUNNING is noticed about a second
//!    after ECS reports it.
//! 4. The IP of each RUNNING task: from its ENI, or through
//!    DescribeContainerInstances and DescribeInstances.
//! 5. With `wait-for-registration`, GitHub until every runner is online.
//!
//! May use: `cleanup` and `summary` beside it, the exchange, the wire
//! formats (`aws/`, `github/`), `settings`, `names`, `placeholders` and
//! `runner_image`. Not the top-level machine or another mode.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::aws::ec2;
use crate::aws::ecs::{self, Task, TaskDefinition};
use crate::aws::logs;
use crate::aws::taskdef;
use crate::cleanup::{Cleanup, Report, Undo, DESCRIBE_MAX};
use crate::exchange::outbox::Outbox;
use crate::exchange::{self, failure_message, Call, Exchange, Unfinished};
use crate::github;
use crate::names;
use crate::placeholders;
use crate::protocol::{Action, Event, HttpResponse, Millis, Next};
use crate::runner_image;
use crate::settings::{Lookup, Placement, Registration, Settings};
use crate::summary;

/// ECS may not list a task it just started for a short while (RunTask is
/// eventually consistent; ECS API reference, DescribeTasks).
const MISSING_GRACE_MS: u64 = 30_000;
/// First look at a new task after about a second; every second while it is
/// young, every two seconds after.
const FIRST_POLL_MS: u64 = 1_000;
const YOUNG_POLL_MS: u64 = 1_000;
const YOUNG_FOR_MS: u64 = 20_000;
const OLD_POLL_MS: u64 = 2_000;
/// DescribeTasks answers in a row that may be unreadable before the start
/// gives up.
const MAX_UNREADABLE_LOOKS: u32 = 5;
/// How often GitHub is asked whether the runners are online.
const ONLINE_POLL_MS: u64 = 2_000;
/// RunTask's `overrides` may hold at most 8192 characters (ECS API reference,
/// RunTask).
const MAX_OVERRIDES_CHARS: usize = runner_image::MAX_OVERRIDES_CHARS;
/// Up to this many runners, the log has a line per runner and task status
/// change; above, a tally per change (the details are debug lines).
const ITEMISED_UP_TO: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    TaskDefinition,
    Subnets,
    SecurityGroups,
    /// Registration of launch `i`.
    Jit(usize),
    RegistrationToken(usize),
    RunTask(usize),
    /// A look at these launches' tasks.
    DescribeTasks(Vec<usize>),
    ContainerInstances(usize),
    Instances(usize),
    /// Register the task definition of `image` (its content changed, or
    /// the family is new).
    RegisterTaskDefinition,
    /// The last lines of launch `i`'s runner log (a failed start).
    LogTail(usize),
    /// GitHub already has a runner of launch `i`'s name (409): an earlier
    /// attempt whose answer was lost registered it. Look it up, delete it,
    /// register again.
    Conflict(usize),
    ConflictDelete(usize),
    /// A page of the organization's runner groups (`runner-group` by name).
    RunnerGroups(u32),
    /// Whether launch `i`'s runner is online (a single runner).
    RunnerStatus(usize),
    /// A page of the runner listing (a fleet waiting to be online).
    RunnerList(u32),
    Undo(Undo),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Preparing,
    Launching,
    WaitOnline,
    CleaningUp,
    Finished,
}

/// One runner being launched: its GitHub registration and its ECS task.
struct Launch {
    /// Position in the fleet: part of the RunTask clientToken.
    index: usize,
    name: String,
    /// GitHub's id of the runner (JIT registration only).
    github_runner: Option<u64>,
    /// Name and value of the credential variables for the container.
    credential_env: Vec<(String, String)>,
    /// GitHub may know the runner (JIT: registered; token: the container may
    /// have registered it).
    runner_created: bool,
    task: Option<Task>,
    run_task_at: Millis,
    /// DescribeTasks has shown the task at least once.
    looked: bool,
    running_after_ms: Option<u64>,
    /// The IP is known (or known to be unknowable).
    located: bool,
    ip: String,
    online: bool,
    /// Started (or being started) on `capacity-fallback`.
    on_fallback: bool,
    /// Its runner's log is worth showing (its start failed after its task
    /// started), and what was found: the lines, or why there are none.
    wants_tail: bool,
    log_tail: Option<Vec<String>>,
    log_note: Option<String>,
    /// A 409 for its registration was resolved once already.
    conflict_resolved: bool,
    /// Its RunTask was sent again once after an unreadable answer.
    run_task_resent: bool,
}

impl Launch {
    fn task_id(&self) -> &str {
        self.task.as_ref().map(|t| t.id()).unwrap_or("")
    }

    fn task_arn(&self) -> String {
        self.task
            .as_ref()
            .map(|t| t.arn.clone())
            .unwrap_or_default()
    }

    /// Started, not yet RUNNING.
    fn pending(&self) -> bool {
        self.task.is_some() && self.running_after_ms.is_none()
    }
}

pub struct Start {
    s: Settings,
    out: Outbox,
    ex: Exchange<Op>,
    /// The step's runner id: the label every runner carries.
    label: String,
    launches: Vec<Launch>,
    began: Millis,
    deadline: Millis,
    stage: Stage,
    task_definition: Option<TaskDefinition>,
    container: String,
    /// The runner container's command instead of its own, when the runner
    /// needs another one (a registration token with the stock image).
    command: Option<Vec<String>>,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    /// The lookups by tag still reading pages.
    subnets_done: bool,
    security_groups_done: bool,
    /// The next look at the pending tasks, and DescribeTasks calls of the
    /// current look still unanswered.
    next_poll: Option<Millis>,
    describing: usize,
    /// The next look at GitHub for runners online.
    next_online_poll: Option<Millis>,
    /// Names seen online in the current listing of runners.
    online_seen: Vec<String>,
    cleanup: Option<Cleanup>,
    /// Why the start failed: one entry per runner (or for the step).
    failures: Vec<String>,
    /// With `image`: the task definition's content and its digest.
    td_content: Option<(Value, String)>,
    /// DescribeTasks answers in a row that could not be read.
    unreadable_looks: u32,
    /// `runner-group` by name: its id is known (or none was asked), and
    /// the names seen while looking.
    group_done: bool,
    groups_seen: Vec<String>,
}

impl Start {
    /// `random`: the shell's random hex digits: the first 8 make the
    /// step's runner id, all of them seed the retry jitter.
    pub fn new(s: Settings, random: &str) -> Self {
        let out = Outbox::for_settings(&s);
        let label = names::runner_id(&s, random);
        let count = s.count.max(1);
        let launches = (0..count)
            .map(|index| Launch {
                index,
                name: names::runner_name(&label, index, count),
                github_runner: None,
                credential_env: Vec::new(),
                runner_created: false,
                task: None,
                run_task_at: 0,
                looked: false,
                running_after_ms: None,
                located: false,
                ip: String::new(),
                online: false,
                on_fallback: false,
                wants_tail: false,
                log_tail: None,
                log_note: None,
                conflict_resolved: false,
                run_task_resent: false,
            })
            .collect();
        let td_content = s.task_spec.as_ref().map(|spec| {
            let content = taskdef::content(&s, spec);
            let digest = taskdef::digest(&content);
            (content, digest)
        });
        Start {
            out,
            td_content,
            unreadable_looks: 0,
            group_done: !group_lookup_needed(&s),
            groups_seen: Vec::new(),
            ex: Exchange::new(random),
            label,
            launches,
            began: 0,
            deadline: 0,
            stage: Stage::Preparing,
            task_definition: None,
            container: String::new(),
            command: None,
            subnets: Vec::new(),
            security_groups: Vec::new(),
            subnets_done: false,
            security_groups_done: false,
            next_poll: None,
            describing: 0,
            next_online_poll: None,
            online_seen: Vec::new(),
            cleanup: None,
            failures: Vec::new(),
            s,
        }
    }

    /// Fresh credentials (a refresh before the old ones expired): every
    /// request from now on is signed with them.
    pub fn set_credentials(&mut self, c: crate::settings::AwsCredentials) {
        self.out.secret(&c.secret_access_key);
        if let Some(t) = &c.session_token {
            self.out.secret(t);
        }
        self.s.credentials = c;
    }

    pub fn step(&mut self, now: Millis, event: Event) -> Action {
        match event {
            Event::Start => self.begin(now),
            Event::Responses { responses } => {
                for (call, resp) in self.ex.receive(&mut self.out, responses, now) {
                    self.on_answer(now, call, resp);
                }
            }
            Event::Woke => {}
            Event::Cancel { signal } => self.on_cancel(now, &signal),
        }
        let next = self.advance(now);
        self.out.action(next)
    }

    fn itemised(&self) -> bool {
        self.launches.len() <= ITEMISED_UP_TO
    }

    fn fleet(&self) -> bool {
        self.launches.len() > 1
    }

    fn begin(&mut self, now: Millis) {
        self.began = now;
        self.deadline = now + self.s.timeout_s * 1000;
        self.ex.give_up_at = Some(self.deadline);
        let what = if self.fleet() {
            format!(
                "{} runners {} ({}-1 … -{})",
                self.launches.len(),
                self.label,
                self.label,
                self.launches.len()
            )
        } else {
            format!("runner {}", self.label)
        };
        self.out.info(format!(
            "Launching {what} for {} on ECS cluster {} ({})",
            self.s.scope.display(),
            self.s.cluster,
            self.s.region
        ));
        // With `image`, the family's latest ACTIVE revision and its tags: is
        // it the content asked for?
        let describe = match &self.td_content {
            Some(_) => ecs::describe_task_definition_with_tags(&self.s.task_definition),
            None => ecs::describe_task_definition(&self.s.task_definition),
        };
        self.ex.submit(Call::ecs(
            Op::TaskDefinition,
            "DescribeTaskDefinition",
            describe,
        ));
        if !self.group_done {
            self.runner_groups(1);
        }
        match &self.s.subnets {
            Lookup::Tag { .. } => self.lookup(Op::Subnets, None),
            Lookup::Ids(ids) => {
                self.subnets = ids.clone();
                self.subnets_done = true;
            }
            Lookup::None => self.subnets_done = true,
        }
        match &self.s.security_groups {
            Lookup::Tag { .. } => self.lookup(Op::SecurityGroups, None),
            Lookup::Ids(ids) => {
                self.security_groups = ids.clone();
                self.security_groups_done = true;
            }
            Lookup::None => self.security_groups_done = true,
        }
    }

    /// What to do now that the event is handled: finish, or send what may
    /// go and wait for answers or the next timer.
    fn advance(&mut self, now: Millis) -> Next {
        if let Some(c) = self.cleanup.as_mut() {
            c.pump(&self.s, &mut self.out, &mut self.ex, now, &Op::Undo);
            if c.is_finished() && self.ex.is_idle() {
                return self.failed();
            }
            let wake = c.wake_at();
            return exchange::wait(&mut self.ex, &self.s, &mut self.out, now, &[wake]);
        }
        if self.stage == Stage::Finished {
            return self.finish();
        }
        if now >= self.deadline {
            return self.timed_out(now);
        }
        if self.stage == Stage::WaitOnline && self.next_poll.is_none() && self.describing == 0 {
            // While waiting for GitHub, keep an eye on the tasks too: a
            // runner that exits stops its task long before the timeout.
            self.next_poll = Some(now + OLD_POLL_MS);
        }
        if self.next_poll.is_some_and(|t| t <= now) && self.describing == 0 {
            self.describe_pending(now);
        }
        if self.next_online_poll.is_some_and(|t| t <= now) {
            self.next_online_poll = None;
            self.check_online();
        }
        let timers = [self.next_poll, self.next_online_poll, Some(self.deadline)];
        exchange::wait(&mut self.ex, &self.s, &mut self.out, now, &timers)
    }

    fn on_cancel(&mut self, now: Millis, signal: &str) {
        self.out.warning(format!(
            "Got {signal} (the run was cancelled): removing what this step created before exiting"
        ));
        // The shell dropped every request in flight: what they may have done
        // is found again (tasks by their tags, runners by name), and the
        // removals among them are sent again.
        let abandoned = self.ex.abandon();
        let mut undos = Vec::new();
        let mut find_tasks = false;
        for u in abandoned {
            match u.call.tag {
                Op::Undo(undo) => undos.push(undo),
                Op::Jit(i) if u.sent => self.launches[i].runner_created = true,
                Op::RunTask(_) if u.sent => find_tasks = true,
                _ => {}
            }
        }
        let what = self.stage_words();
        let find = self.find_tasks();
        let unheard: Vec<Undo> = self
            .launches
            .iter()
            .filter(|l| l.runner_created && l.github_runner.is_none())
            .map(|l| Undo::FindRunner {
                name: l.name.clone(),
            })
            .collect();
        match self.cleanup.as_mut() {
            Some(c) => {
                c.on_cancel(undos);
                if find_tasks {
                    c.add(find);
                }
                // Registrations the failing start was still waiting for.
                for u in unheard {
                    c.add(u);
                }
            }
            None => {
                self.failures
                    .push(format!("Cancelled ({signal}) while {what}."));
                self.start_cleanup(now, find_tasks, true);
            }
        }
    }

    fn find_tasks(&self) -> Undo {
        Undo::FindTasks {
            runner_id: Some(self.label.clone()),
            next_token: None,
        }
    }

    fn stage_words(&self) -> String {
        let runner = if self.fleet() { "runners" } else { "runner" };
        match self.stage {
            Stage::Preparing => format!("preparing the {runner}"),
            Stage::Launching if self.fleet() => "launching the runners".into(),
            Stage::Launching => "waiting for the task to be RUNNING".into(),
            Stage::WaitOnline => format!("waiting for the {runner} to come online"),
            Stage::CleaningUp => "cleaning up".into(),
            Stage::Finished => "finishing".into(),
        }
    }

    fn on_answer(&mut self, now: Millis, call: Call<Op>, resp: HttpResponse) {
        if let Op::Undo(undo) = call.tag.clone() {
            if let Some(c) = self.cleanup.as_mut() {
                c.on_answer(&self.s, &mut self.out, undo, &call, &resp, now);
            }
            return;
        }
        if let Op::LogTail(i) = call.tag {
            return self.on_log_tail(i, &resp);
        }
        if self.cleanup.is_some() {
            return self.after_failure(&call, &resp);
        }
        let lookup = matches!(call.tag, Op::Subnets | Op::SecurityGroups);
        if lookup && self.stage != Stage::Preparing {
            return; // a bridge-mode task went on without it
        }
        if !(200..300).contains(&resp.status) {
            if call.tag == Op::TaskDefinition && self.td_content.is_some() && family_missing(&resp)
            {
                self.out.info(format!(
                    "Task definition family {} does not exist yet: registering it",
                    self.s.task_definition
                ));
                return self.register_task_definition();
            }
            let message = failure_message(&call, &resp, &self.s);
            return match call.tag {
                Op::Jit(i) | Op::RegistrationToken(i) | Op::RunTask(i) => {
                    if let (Op::RunTask(_), true) = (&call.tag, capacity_error(&resp)) {
                        if self.fall_back(now, i, &message) {
                            return;
                        }
                    }
                    if call.tag == Op::Jit(i)
                        && resp.status == 409
                        && !self.launches[i].conflict_resolved
                    {
                        return self.resolve_conflict(i);
                    }
                    if call.tag == Op::Jit(i) && resp.status == 0 {
                        // Sent, no answer: GitHub may have registered it.
                        self.launches[i].runner_created = true;
                    }
                    let find = matches!(call.tag, Op::RunTask(_)) && resp.status == 0;
                    self.fail_runner(now, i, message, find)
                }
                _ => self.fail(now, message),
            };
        }
        match call.tag {
            Op::TaskDefinition => self.on_task_definition(now, &resp.body),
            Op::RegisterTaskDefinition => self.on_registered_task_definition(now, &resp.body),
            Op::Subnets | Op::SecurityGroups => self.on_lookup_page(now, &call.tag, &resp.body),
            Op::Jit(i) => self.on_jit(now, i, &resp.body),
            Op::RegistrationToken(i) => self.on_registration_token(now, i, &resp.body),
            Op::RunTask(i) => self.on_run_task(now, i, &resp.body),
            Op::DescribeTasks(asked) => self.on_describe(now, &asked, &resp.body),
            Op::ContainerInstances(i) => self.on_container_instances(i, &resp.body),
            Op::Instances(i) => self.on_instances(i, &resp.body),
            Op::RunnerStatus(i) => self.on_runner_status(now, i, &resp.body),
            Op::RunnerList(page) => self.on_runner_list(now, page, &resp.body),
            Op::Conflict(i) => self.on_conflict(i, &resp.body),
            Op::ConflictDelete(i) => self.on_conflict_deleted(i),
            Op::RunnerGroups(page) => self.on_runner_groups(now, page, &resp.body),
            Op::Undo(_) | Op::LogTail(_) => {}
        }
    }

    /// An answer to a launch call that arrived after the start failed: undo
    /// what it created.
    fn after_failure(&mut self, call: &Call<Op>, resp: &HttpResponse) {
        let ok = (200..300).contains(&resp.status);
        // A runner that failed on its own, too: its reason is named.
        if let Op::Jit(i) | Op::RegistrationToken(i) | Op::RunTask(i) = &call.tag {
            let why = if ok {
                ecs::parse_tasks(&resp.body)
                    .filter(|a| matches!(call.tag, Op::RunTask(_)) && a.tasks.is_empty())
                    .map(|a| {
                        let reasons: Vec<String> = a
                            .failures
                            .iter()
                            .map(|f| ecs::failure_advice(f, &self.s.cluster))
                            .collect();
                        format!("ECS RunTask started no task: {}.", reasons.join("; "))
                    })
            } else {
                Some(failure_message(call, resp, &self.s))
            };
            if let Some(why) = why {
                self.failures
                    .push(format!("Runner {}: {why}", self.launches[*i].name));
            }
        }
        let undo = match &call.tag {
            Op::Jit(i) => match github::parse_jit(&resp.body).filter(|_| ok) {
                Some((id, config)) => {
                    self.out.secret(&config);
                    let l = &mut self.launches[*i];
                    l.github_runner = Some(id);
                    l.runner_created = true;
                    Some(Undo::DeleteRunner {
                        id,
                        name: l.name.clone(),
                    })
                }
                // No answer: GitHub may have registered it all the same.
                None if resp.status == 0 => Some(Undo::FindRunner {
                    name: self.launches[*i].name.clone(),
                }),
                None => None,
            },
            Op::RegistrationToken(_) => {
                if let Some(token) = github::parse_registration_token(&resp.body) {
                    self.out.secret(&token);
                }
                None
            }
            Op::RunTask(i) => match ecs::parse_tasks(&resp.body).filter(|_| ok) {
                Some(answer) => {
                    let task = answer.tasks.into_iter().next();
                    let undo = task.as_ref().map(|t| Undo::StopTask(t.arn.clone()));
                    self.launches[*i].task = task;
                    undo
                }
                None if resp.status == 0 => Some(self.find_tasks()),
                None => None,
            },
            _ => None,
        };
        if let (Some(u), Some(c)) = (undo, self.cleanup.as_mut()) {
            c.add(u);
        }
    }

    fn on_task_definition(&mut self, now: Millis, body: &str) {
        let Some(td) = ecs::parse_task_definition(body) else {
            return self.fail(now, "ECS DescribeTaskDefinition: unreadable answer".into());
        };
        if let Some((_, digest)) = &self.td_content {
            // Ours and unchanged: reuse it. Two jobs racing may both
            // register a revision; both are fine.
            match taskdef::spec_tag(body) {
                Some(tag) if &tag == digest => self.out.info(format!(
                    "Task definition {} is up to date (spec {})",
                    short_td(&td.arn),
                    &digest[..12]
                )),
                _ => {
                    self.out.info(format!(
                        "Task definition {} differs from the inputs: registering a new revision",
                        short_td(&td.arn)
                    ));
                    return self.register_task_definition();
                }
            }
        }
        self.use_task_definition(now, td, "DescribeTaskDefinition")
    }

    /// The task definition of `image` is registered: use it.
    fn on_registered_task_definition(&mut self, now: Millis, body: &str) {
        match ecs::parse_task_definition(body) {
            Some(td) => {
                self.out.info(format!(
                    "Registered task definition {} for image {}",
                    short_td(&td.arn),
                    self.s
                        .task_spec
                        .as_ref()
                        .map(|t| t.image.as_str())
                        .unwrap_or("")
                ));
                self.use_task_definition(now, td, "RegisterTaskDefinition")
            }
            None => self.fail(now, "ECS RegisterTaskDefinition: unreadable answer".into()),
        }
    }

    fn register_task_definition(&mut self) {
        let Some((content, digest)) = &self.td_content else {
            return;
        };
        let body = taskdef::register_body(content, digest);
        self.ex.submit(Call::ecs(
            Op::RegisterTaskDefinition,
            "RegisterTaskDefinition",
            body,
        ));
    }

    /// The task definition to run is known: check it suits, then go on.
    /// `from`: the call that gave it, for the message.
    fn use_task_definition(&mut self, now: Millis, td: TaskDefinition, from: &str) {
        if td.containers.is_empty() {
            return self.fail(
                now,
                format!(
                    "ECS {from}: task definition {} has no container definitions",
                    td.arn
                ),
            );
        }
        // A definition of the user's that names its architecture: the
        // runners' label follows it.
        if self.td_content.is_none() {
            match td.cpu_architecture.as_str() {
                "ARM64" => self.s.run.arch = "ARM64".into(),
                "X86_64" => self.s.run.arch = "X64".into(),
                _ => {}
            }
        }
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
        if self.s.registration == Registration::Token {
            let (entry_point, command) = td.command_of(&self.container);
            if runner_image::is_stock_command(entry_point, command) {
                // The stock image's run.sh only runs a configured runner.
                self.command = Some(runner_image::configure_then_run(self.s.default_labels));
                self.out.detail(format!(
                    "Container {} runs the stock runner: it is started with config.sh, then run.sh",
                    self.container
                ));
            } else {
                self.out.info(format!(
                    "Container {}'s command is not the stock /home/runner/run.sh: with registration: token it must configure the runner itself from RUNNER_URL, RUNNER_TOKEN, RUNNER_NAME, RUNNER_LABELS, RUNNER_WORKDIR and RUNNER_GROUP (or the ACTIONS_RUNNER_INPUT_* variables config.sh reads)",
                    self.container
                ));
            }
        }
        let reserved = runner_image::reserved_overrides_chars(
            &self.s,
            &self.container,
            self.command.as_deref(),
        );
        if reserved > runner_image::MAX_OVERRIDES_CHARS {
            return self.fail(now, format!(
                "Input 'env': the runner container's overrides would reach {reserved} characters with the runner's credential (up to {} kept for it); ECS RunTask allows {}. Shorten `env` (or the container's name).",
                runner_image::CREDENTIAL_RESERVE_CHARS,
                runner_image::MAX_OVERRIDES_CHARS
            ));
        }
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
        self.prepared(now);
    }

    fn awsvpc(&self) -> bool {
        self.task_definition
            .as_ref()
            .map(|t| t.network_mode == "awsvpc")
            .unwrap_or(false)
    }

    /// Ask for one page of the lookup by tag `op` (subnets or security
    /// groups); `token` is the page after the first.
    fn lookup(&mut self, op: Op, token: Option<&str>) {
        let call = match (&op, &self.s.subnets, &self.s.security_groups) {
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
            _ => return, // only tag lookups are asked for
        };
        self.ex.submit(call);
    }

    /// A page of subnets or security groups by tag: ask for the next page,
    /// or with all of them go on (none found is an error naming the tag).
    fn on_lookup_page(&mut self, now: Millis, op: &Op, body: &str) {
        let subnets = *op == Op::Subnets;
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
            return self.lookup(op.clone(), Some(&token));
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
        } else {
            self.security_groups_done = true;
        }
        self.prepared(now);
    }

    /// Once the task definition and the network are known: register every
    /// runner (the exchange sends as many at once as GitHub's bound allows).
    fn prepared(&mut self, _now: Millis) {
        let network_known = !self.awsvpc() || (self.subnets_done && self.security_groups_done);
        if self.stage != Stage::Preparing
            || self.task_definition.is_none()
            || !network_known
            || !self.group_done
        {
            return;
        }
        // A bridge-mode task needs no lookup: the ones still reading pages
        // finish unheeded.
        self.stage = Stage::Launching;
        for i in 0..self.launches.len() {
            self.register(i);
        }
    }

    fn runner_groups(&mut self, page: u32) {
        let org = match &self.s.scope {
            crate::settings::Scope::Org { org } => org.clone(),
            // inputs.rs allows a group name only for an organization.
            crate::settings::Scope::Repo { owner, .. } => owner.clone(),
        };
        self.ex.submit(Call::github(
            Op::RunnerGroups(page),
            "list runner groups",
            "GET",
            github::runner_groups_path(&org, page),
            None,
        ));
    }

    /// A page of runner groups: the named one's id, the next page, or an
    /// error listing the groups there are.
    fn on_runner_groups(&mut self, now: Millis, page: u32, body: &str) {
        let Some((groups, total)) = github::parse_runner_groups(body) else {
            return self.fail(now, "GitHub list runner groups: unreadable answer".into());
        };
        let wanted = self.s.runner_group_name.clone().unwrap_or_default();
        // Without a name, the group of id `runner_group` (config.sh takes
        // a group by its name: registration: token).
        let by_id = wanted.is_empty();
        let id_wanted = self.s.runner_group;
        if let Some((id, name)) = groups.iter().find(|(id, n)| {
            if by_id {
                *id == id_wanted
            } else {
                n.eq_ignore_ascii_case(&wanted)
            }
        }) {
            self.out.info(format!("Runner group {name} has id {id}"));
            self.s.runner_group = *id;
            self.s.runner_group_name = Some(name.clone());
            self.group_done = true;
            return self.prepared(now);
        }
        self.groups_seen
            .extend(groups.iter().map(|(_, n)| n.clone()));
        if github::more_pages(page, groups.len(), total) {
            return self.runner_groups(page + 1);
        }
        let seen = if self.groups_seen.is_empty() {
            "none".to_string()
        } else {
            self.groups_seen.join(", ")
        };
        let what = if by_id {
            format!("of id {id_wanted}")
        } else {
            format!("named '{wanted}'")
        };
        self.fail(
            now,
            format!(
                "Input 'runner-group': the organization {} has no runner group {what}; it has: {seen}.",
                self.s.scope.display()
            ),
        );
    }

    /// Register launch `i`'s runner with GitHub.
    fn register(&mut self, i: usize) {
        let name = self.launches[i].name.clone();
        let call = match self.s.registration {
            Registration::Jit => {
                let labels = names::labels(&self.s, &self.label, &name);
                let body = github::jit_body(&name, self.s.runner_group, &labels, &self.s.workdir);
                Call::github(
                    Op::Jit(i),
                    "generate-jitconfig",
                    "POST",
                    github::jit_path(&self.s.scope),
                    Some(body),
                )
            }
            Registration::Token => Call::github(
                Op::RegistrationToken(i),
                "registration-token",
                "POST",
                github::registration_token_path(&self.s.scope),
                None,
            ),
        };
        self.ex.submit(call);
    }

    fn on_jit(&mut self, now: Millis, i: usize, body: &str) {
        let Some((id, config)) = github::parse_jit(body) else {
            // GitHub did register it: replace it (look up, delete,
            // register again), or at least remove it.
            self.launches[i].runner_created = true;
            if !self.launches[i].conflict_resolved {
                self.out.warning(format!(
                    "GitHub's answer to generate-jitconfig for runner {} was unreadable",
                    self.launches[i].name
                ));
                return self.resolve_conflict(i);
            }
            let message =
                "GitHub generate-jitconfig: answer without runner.id or encoded_jit_config".into();
            return self.fail_runner(now, i, message, false);
        };
        self.out.secret(&config);
        let labels = names::labels(&self.s, &self.label, &self.launches[i].name).join(",");
        let l = &mut self.launches[i];
        l.github_runner = Some(id);
        l.runner_created = true;
        l.credential_env = runner_image::jit_env(config);
        let line = format!(
            "Registered runner {} with GitHub (id {id}, labels {labels})",
            l.name
        );
        self.say(line);
        self.tally_registered();
        self.run_task(now, i);
    }

    fn on_registration_token(&mut self, now: Millis, i: usize, body: &str) {
        let Some(token) = github::parse_registration_token(body) else {
            let message = "GitHub registration-token: answer without token".into();
            return self.fail_runner(now, i, message, false);
        };
        self.out.secret(&token);
        let name = self.launches[i].name.clone();
        self.say(format!(
            "Got a registration token from GitHub for runner {name} (valid one hour)"
        ));
        let labels = names::labels(&self.s, &self.label, &name);
        // config.sh takes the group by name; none is the default group.
        let group = self
            .s
            .runner_group_name
            .clone()
            .filter(|_| self.s.runner_group != crate::settings::DEFAULT_RUNNER_GROUP);
        let env = runner_image::token_env(&self.s, &name, &token, &labels, group.as_deref());
        let l = &mut self.launches[i];
        l.runner_created = true;
        l.credential_env = env;
        self.tally_registered();
        self.run_task(now, i);
    }

    /// Launch `i`'s name is taken at GitHub by an earlier attempt of ours:
    /// replace that registration (its JIT config was never seen, so no
    /// task can use it).
    fn resolve_conflict(&mut self, i: usize) {
        let l = &mut self.launches[i];
        l.conflict_resolved = true;
        // Until it is deleted, a failure must remove it too.
        l.runner_created = true;
        let name = l.name.clone();
        self.out.info(format!(
            "Runner {name} is already registered (an earlier attempt whose answer was lost): replacing it"
        ));
        self.ex.submit(Call::github(
            Op::Conflict(i),
            "look up runner",
            "GET",
            github::runners_by_name_path(&self.s.scope, &name),
            None,
        ));
    }

    /// The earlier registration of launch `i`'s name, looked up: delete it,
    /// or (gone meanwhile) register again.
    fn on_conflict(&mut self, i: usize, body: &str) {
        let name = self.launches[i].name.clone();
        let found =
            github::parse_runners(body).and_then(|(rs, _)| rs.into_iter().find(|r| r.name == name));
        match found {
            Some(r) => {
                self.launches[i].github_runner = Some(r.id);
                self.ex.submit(Call::github(
                    Op::ConflictDelete(i),
                    "delete runner",
                    "DELETE",
                    github::runner_path(&self.s.scope, r.id),
                    None,
                ));
            }
            None => self.register(i),
        }
    }

    /// The earlier registration is deleted: register again.
    fn on_conflict_deleted(&mut self, i: usize) {
        let l = &mut self.launches[i];
        l.github_runner = None;
        l.runner_created = false;
        self.register(i);
    }

    /// A line per runner in a small fleet; a debug line in a large one.
    fn say(&mut self, line: String) {
        if self.itemised() {
            self.out.info(line);
        } else {
            self.out.detail(line);
        }
    }

    /// In a large fleet, one line once every runner is registered.
    fn tally_registered(&mut self) {
        if !self.itemised() && self.launches.iter().all(|l| l.runner_created) {
            self.out.info(format!(
                "Registered {} runners with GitHub, each labelled {}",
                self.launches.len(),
                self.label
            ));
        }
    }

    fn placement(&self, i: usize) -> &Placement {
        match (&self.s.capacity_fallback, self.launches[i].on_fallback) {
            (Some(p), true) => p,
            _ => &self.s.placement,
        }
    }

    /// Launch `i`'s values of the `env` and `tags` placeholders.
    fn placeholder_values(&self, i: usize) -> placeholders::Values {
        placeholders::Values {
            runner_name: self.launches[i].name.clone(),
            runner_id: self.label.clone(),
            index: i + 1,
            run_id: self.s.run.run_id.clone(),
            run_attempt: self.s.run.run_attempt.clone(),
            job: self.s.run.job.clone(),
            repository: self.s.run.repository.clone(),
        }
    }

    fn run_task_body(&self, i: usize) -> Value {
        let s = &self.s;
        let l = &self.launches[i];
        let values = self.placeholder_values(i);
        let overrides = runner_image::overrides(
            &self.container,
            &l.credential_env,
            &s.env,
            &values,
            self.command.as_deref(),
        );
        let mut body = json!({
            "cluster": s.cluster,
            "taskDefinition": match (&self.td_content, &self.task_definition) {
                // The revision that was checked or registered, not whatever
                // is latest by the time RunTask arrives.
                (Some(_), Some(td)) => td.arn.clone(),
                _ => s.task_definition.clone(),
            },
            "count": 1,
            "startedBy": names::started_by(s),
            "clientToken": names::client_token(s, &self.label, l.index, l.on_fallback),
            "overrides": overrides,
            "tags": names::task_tags(s, &l.name, &values)
                .into_iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect::<Vec<_>>(),
        });
        match self.placement(i) {
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

    fn run_task(&mut self, now: Millis, i: usize) {
        let body = self.run_task_body(i);
        let overrides = runner_image::overrides_chars(&body["overrides"]);
        if overrides > MAX_OVERRIDES_CHARS {
            return self.fail(now, format!(
                "The container overrides would be {overrides} characters; ECS allows {MAX_OVERRIDES_CHARS}. Shorten the input `env`."
            ));
        }
        self.launches[i].run_task_at = now;
        self.ex.submit(Call::ecs(Op::RunTask(i), "RunTask", body));
    }

    /// Launch `i` found no capacity: start it again on `capacity-fallback`,
    /// if there is one and it is not already there. False: nothing to fall
    /// back to.
    fn fall_back(&mut self, now: Millis, i: usize, why: &str) -> bool {
        let Some(fallback) = &self.s.capacity_fallback else {
            return false;
        };
        if self.launches[i].on_fallback {
            return false;
        }
        let words = placement_words(fallback);
        let l = &mut self.launches[i];
        l.on_fallback = true;
        l.task = None;
        l.looked = false;
        self.out.warning(format!(
            "Runner {}: no capacity ({why}); starting it on the fallback {words}",
            l.name
        ));
        self.run_task(now, i);
        true
    }

    fn on_run_task(&mut self, now: Millis, i: usize, body: &str) {
        // Neither a task nor a reason is no answer ECS gives: read it as
        // unreadable, like a body that is not one.
        let answer =
            ecs::parse_tasks(body).filter(|a| !(a.tasks.is_empty() && a.failures.is_empty()));
        let Some(answer) = answer else {
            // The same request again: its clientToken makes ECS answer with
            // the task it may have started, not start another.
            if !self.launches[i].run_task_resent {
                self.launches[i].run_task_resent = true;
                self.out.warning(format!(
                    "ECS's answer to RunTask for runner {} was unreadable; asking again with the same clientToken",
                    self.launches[i].name
                ));
                let body = self.run_task_body(i);
                self.ex.submit(Call::ecs(Op::RunTask(i), "RunTask", body));
                return;
            }
            return self.fail_runner(now, i, "ECS RunTask: unreadable answer".into(), true);
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
            if answer.failures.iter().any(|f| capacity_text(&f.reason))
                && self.fall_back(now, i, &why)
            {
                return;
            }
            return self.fail_runner(
                now,
                i,
                format!("ECS RunTask started no task: {why}."),
                false,
            );
        };
        let url = summary::console_url(&self.s, task.id());
        let line = if self.fleet() {
            format!(
                "Started task {} for runner {} ({url})",
                task.id(),
                self.launches[i].name
            )
        } else {
            format!("Started task {} ({url})", task.id())
        };
        self.say(line);
        if !task.last_status.is_empty() {
            let line = if self.fleet() {
                format!(
                    "Task {} (runner {}): {} (0s)",
                    task.id(),
                    self.launches[i].name,
                    task.last_status
                )
            } else {
                format!("Task {}: {} (0s)", task.id(), task.last_status)
            };
            self.say(line);
        }
        self.launches[i].task = Some(task);
        if !self.itemised() && self.launches.iter().all(|l| l.task.is_some()) {
            self.out.info(format!(
                "Started {} tasks; waiting for them to be RUNNING",
                self.launches.len()
            ));
        }
        self.schedule_poll(now);
    }

    /// When to look at the pending tasks next: about a second after the
    /// newest one's RunTask if it was never looked at, else every second
    /// while any is young, every two seconds after.
    fn schedule_poll(&mut self, now: Millis) {
        let mut at: Option<Millis> = None;
        for l in self.launches.iter().filter(|l| l.pending()) {
            let t = if !l.looked {
                l.run_task_at + FIRST_POLL_MS
            } else if now.saturating_sub(l.run_task_at) < YOUNG_FOR_MS {
                now + YOUNG_POLL_MS
            } else {
                now + OLD_POLL_MS
            };
            at = Some(at.map_or(t, |a| a.min(t)));
        }
        let at = at.map(|t| t.max(now));
        // A look already planned earlier stays.
        self.next_poll = match (self.next_poll, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// A task to look at: not yet RUNNING, or (waiting for GitHub) its
    /// runner not yet online.
    fn watched(&self, i: usize) -> bool {
        let l = &self.launches[i];
        l.pending() || (self.stage == Stage::WaitOnline && l.task.is_some() && !l.online)
    }

    /// DescribeTasks of every watched task, 100 per call.
    fn describe_pending(&mut self, _now: Millis) {
        self.next_poll = None;
        let pending: Vec<usize> = (0..self.launches.len())
            .filter(|i| self.watched(*i))
            .collect();
        for chunk in pending.chunks(DESCRIBE_MAX) {
            let arns: Vec<String> = chunk.iter().map(|i| self.launches[*i].task_arn()).collect();
            self.describing += 1;
            self.ex.submit(Call::ecs(
                Op::DescribeTasks(chunk.to_vec()),
                "DescribeTasks",
                ecs::describe_tasks(&self.s.cluster, &arns, false),
            ));
        }
    }

    fn on_describe(&mut self, now: Millis, asked: &[usize], body: &str) {
        self.describing = self.describing.saturating_sub(1);
        let Some(answer) = ecs::parse_tasks(body) else {
            // Only a look: the next one may read; many in a row fail.
            self.unreadable_looks += 1;
            if self.unreadable_looks >= MAX_UNREADABLE_LOOKS {
                return self.fail(
                    now,
                    "ECS DescribeTasks: unreadable answers, five in a row".into(),
                );
            }
            self.out
                .detail("ECS DescribeTasks: unreadable answer; looking again");
            if self.describing == 0 {
                self.next_poll = Some(now + YOUNG_POLL_MS);
            }
            return;
        };
        self.unreadable_looks = 0;
        let mut changes = 0;
        let mut tasks = answer.tasks;
        for &i in asked {
            if self.cleanup.is_some() {
                return;
            }
            if !self.watched(i) {
                continue; // fell back to other capacity, or came online
            }
            self.launches[i].looked = true;
            let arn = self.launches[i].task_arn();
            let since = now.saturating_sub(self.launches[i].run_task_at);
            let secs = since / 1000;
            let Some(pos) = tasks.iter().position(|t| t.arn == arn) else {
                if since < MISSING_GRACE_MS {
                    self.out.detail(format!(
                        "Task {} not visible yet ({secs}s)",
                        ecs::task_id(&arn)
                    ));
                    continue;
                }
                let message = format!(
                    "Task {} is MISSING: ECS did not list it {secs}s after starting it.",
                    ecs::task_id(&arn)
                );
                return self.fail_runner(now, i, message, false);
            };
            let task = tasks.swap_remove(pos);
            let fleet = self.fleet();
            let l = &mut self.launches[i];
            let previous = l
                .task
                .as_ref()
                .map(|t| t.last_status.clone())
                .unwrap_or_default();
            if task.last_status != previous {
                changes += 1;
                let line = if fleet {
                    format!(
                        "Task {} (runner {}): {} ({secs}s)",
                        task.id(),
                        l.name,
                        task.last_status
                    )
                } else {
                    format!("Task {}: {} ({secs}s)", task.id(), task.last_status)
                };
                self.say(line);
            }
            if task.is_stopping() && self.launches[i].running_after_ms.is_some() {
                let msg = format!(
                    "Task {} of runner {} stopped while waiting for the runner to come online: {}.",
                    task.id(),
                    self.launches[i].name,
                    task.ending()
                );
                self.launches[i].task = Some(task);
                self.launches[i].wants_tail = true;
                return self.fail(now, msg);
            }
            if task.is_stopping() {
                let status = task.last_status.clone();
                let mut msg = format!(
                    "Task {} stopped before it was RUNNING (last status {status}): {}.",
                    task.id(),
                    task.ending()
                );
                if let Some(a) = ecs::stop_advice(&task) {
                    msg.push_str(&format!(" Likely fix: {a}."));
                }
                let short_of_capacity = stopped_for_capacity(&task);
                self.launches[i].task = Some(task);
                if short_of_capacity && self.fall_back(now, i, &msg) {
                    continue;
                }
                self.launches[i].wants_tail = true;
                return self.fail_runner(now, i, msg, false);
            }
            let running = task.last_status == "RUNNING";
            let l = &mut self.launches[i];
            l.task = Some(task);
            if running && l.running_after_ms.is_none() {
                l.running_after_ms = Some(since);
                self.locate(i);
            }
        }
        if changes > 0 && !self.itemised() {
            self.tally(now);
        }
        if self.describing == 0 {
            self.schedule_poll(now);
        }
    }

    /// A large fleet's task statuses in one line.
    fn tally(&mut self, now: Millis) {
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        for l in &self.launches {
            let status = l
                .task
                .as_ref()
                .map(|t| t.last_status.as_str())
                .filter(|s| !s.is_empty())
                .unwrap_or("not started");
            *by_status.entry(status).or_default() += 1;
        }
        let order = [
            "not started",
            "PROVISIONING",
            "PENDING",
            "ACTIVATING",
            "RUNNING",
        ];
        let mut parts: Vec<String> = order
            .iter()
            .filter_map(|s| by_status.remove(s).map(|n| format!("{n} {s}")))
            .collect();
        parts.extend(by_status.iter().map(|(s, n)| format!("{n} {s}")));
        self.out.info(format!(
            "Tasks: {} ({}s)",
            parts.join(", "),
            now.saturating_sub(self.began) / 1000
        ));
    }

    /// Launch `i`'s task is RUNNING: its IP, from the task, else from its
    /// EC2 instance.
    fn locate(&mut self, i: usize) {
        let task = self.launches[i].task.as_ref().expect("running task");
        if let Some(ip) = task.private_ip() {
            self.launches[i].ip = ip.to_string();
            return self.located(i);
        }
        if !task.container_instance_arn.is_empty() {
            let arns = vec![task.container_instance_arn.clone()];
            self.ex.submit(Call::ecs(
                Op::ContainerInstances(i),
                "DescribeContainerInstances",
                ecs::describe_container_instances(&self.s.cluster, &arns),
            ));
            return;
        }
        self.out.warning(format!(
            "ECS reports no private IP for task {}; its ipaddr is empty.",
            task.id()
        ));
        self.located(i)
    }

    /// Launch `i`'s container instance: its EC2 instance, for the IP.
    fn on_container_instances(&mut self, i: usize, body: &str) {
        let ids = ecs::parse_container_instances(body).unwrap_or_default();
        if ids.is_empty() {
            self.out.warning(format!(
                "The container instance of task {} has no EC2 instance id; its ipaddr is empty.",
                self.launches[i].task_id()
            ));
            return self.located(i);
        }
        self.ex.submit(Call::ec2(
            Op::Instances(i),
            "DescribeInstances",
            ec2::describe_instances(&ids),
        ));
    }

    /// Launch `i`'s EC2 instance: its private IP.
    fn on_instances(&mut self, i: usize, body: &str) {
        match ec2::parse_instance_private_ips(body) {
            Ok(found) if !found.private_ips.is_empty() => {
                self.launches[i].ip = found.private_ips[0].1.clone()
            }
            _ => self.out.warning(format!(
                "DescribeInstances gave no private IP for task {}; its ipaddr is empty.",
                self.launches[i].task_id()
            )),
        }
        self.located(i)
    }

    fn located(&mut self, i: usize) {
        self.launches[i].located = true;
        if !self.launches.iter().all(|l| l.located) {
            return;
        }
        if self.s.wait_for_registration {
            self.stage = Stage::WaitOnline;
            let what = if self.fleet() {
                format!("the {} runners of {}", self.launches.len(), self.label)
            } else {
                format!("runner {}", self.label)
            };
            self.out
                .info(format!("Waiting for {what} to come online in GitHub"));
            self.check_online();
        } else {
            self.stage = Stage::Finished;
        }
    }

    /// Ask GitHub about the runners not yet online: one runner by id (or
    /// name), a fleet by listing the runners.
    fn check_online(&mut self) {
        if self.fleet() {
            self.online_seen.clear();
            return self.list_runners(1);
        }
        let l = &self.launches[0];
        let path = match l.github_runner {
            Some(id) => github::runner_path(&self.s.scope, id),
            None => github::runners_by_name_path(&self.s.scope, &l.name),
        };
        self.ex.submit(Call::github(
            Op::RunnerStatus(0),
            "get runner",
            "GET",
            path,
            None,
        ));
    }

    fn list_runners(&mut self, page: u32) {
        self.ex.submit(Call::github(
            Op::RunnerList(page),
            "list runners",
            "GET",
            github::runners_page_path(&self.s.scope, page),
            None,
        ));
    }

    fn on_runner_status(&mut self, now: Millis, i: usize, body: &str) {
        let l = &self.launches[i];
        let runner = match l.github_runner {
            Some(_) => github::parse_runner_one(body),
            None => github::parse_runners(body)
                .and_then(|(rs, _)| rs.into_iter().find(|r| r.name == l.name)),
        };
        match runner {
            Some(r) if r.status == "online" => {
                let l = &mut self.launches[i];
                l.github_runner.get_or_insert(r.id);
                self.came_online(now, i);
            }
            _ => self.next_online_poll = Some(now + ONLINE_POLL_MS),
        }
    }

    fn on_runner_list(&mut self, now: Millis, page: u32, body: &str) {
        let Some((runners, total)) = github::parse_runners(body) else {
            return self.fail(now, "GitHub list runners: unreadable answer".into());
        };
        for r in &runners {
            if r.status == "online" && names::in_step(&r.name, &self.label) {
                self.online_seen.push(r.name.clone());
                if let Some(l) = self.launches.iter_mut().find(|l| l.name == r.name) {
                    l.github_runner.get_or_insert(r.id);
                }
            }
        }
        if github::more_pages(page, runners.len(), total) {
            return self.list_runners(page + 1);
        }
        for i in 0..self.launches.len() {
            if !self.launches[i].online && self.online_seen.contains(&self.launches[i].name) {
                self.came_online(now, i);
            }
        }
        if self.stage == Stage::WaitOnline {
            self.next_online_poll = Some(now + ONLINE_POLL_MS);
        }
    }

    fn came_online(&mut self, now: Millis, i: usize) {
        let l = &mut self.launches[i];
        l.online = true;
        let secs = now.saturating_sub(l.run_task_at) / 1000;
        let line = format!("Runner {} is online in GitHub ({secs}s)", l.name);
        self.say(line);
        if self.launches.iter().all(|l| l.online) {
            if !self.itemised() {
                self.out.info(format!(
                    "All {} runners are online in GitHub",
                    self.launches.len()
                ));
            }
            self.stage = Stage::Finished;
            self.next_online_poll = None;
        }
    }

    fn timed_out(&mut self, now: Millis) -> Next {
        let timeout = self.s.timeout_s;
        let msg = match self.stage {
            Stage::WaitOnline => {
                for l in self.launches.iter_mut().filter(|l| !l.online) {
                    l.wants_tail = true;
                }
                let late: Vec<&str> = self
                    .launches
                    .iter()
                    .filter(|l| !l.online)
                    .map(|l| l.name.as_str())
                    .collect();
                format!(
                    "The runner{} {} did not come online in GitHub within timeout ({timeout}s). The task runs, but the runner in it did not connect: check its logs, and that it can reach GitHub (NAT or public IP).",
                    if late.len() > 1 { "s" } else { "" },
                    late.join(", ")
                )
            }
            _ => {
                let late: Vec<String> = self
                    .launches
                    .iter()
                    .filter(|l| l.running_after_ms.is_none())
                    .map(|l| {
                        let status = l
                            .task
                            .as_ref()
                            .map(|t| t.last_status.as_str())
                            .filter(|s| !s.is_empty())
                            .unwrap_or(if l.task.is_some() { "unknown" } else { "not started" });
                        if self.fleet() {
                            format!("task {} of runner {} (last status {status})", or_dash(l.task_id()), l.name)
                        } else {
                            format!("Task {} was not RUNNING within timeout ({timeout}s); its last status was {status}", or_dash(l.task_id()))
                        }
                    })
                    .collect();
                if self.fleet() {
                    format!(
                        "{} of {} tasks were not RUNNING within timeout ({timeout}s): {}. Raise `timeout`, or check the cluster's capacity and the tasks' events in the ECS console.",
                        late.len(),
                        self.launches.len(),
                        late.join("; ")
                    )
                } else {
                    format!(
                        "{}. Raise `timeout`, or check the cluster's capacity and the task's events in the ECS console.",
                        late.join("; ")
                    )
                }
            }
        };
        self.fail(now, msg);
        self.advance(now)
    }

    /// Runner `i` cannot be started: the whole step fails. `find_task`: its
    /// RunTask may have started a task we did not hear of.
    fn fail_runner(&mut self, now: Millis, i: usize, message: String, find_task: bool) {
        let message = if self.fleet() {
            format!("Runner {}: {message}", self.launches[i].name)
        } else {
            message
        };
        self.failures.push(message);
        if self.cleanup.is_none() {
            self.start_cleanup(now, find_task, false);
        } else if find_task {
            let undo = self.find_tasks();
            if let Some(c) = self.cleanup.as_mut() {
                c.add(undo);
            }
        }
    }

    /// The step cannot go on (not one runner's fault).
    fn fail(&mut self, now: Millis, message: String) {
        self.failures.push(message);
        if self.cleanup.is_none() {
            self.start_cleanup(now, false, false);
        }
    }

    /// Stop launching: take back what was not sent, then remove everything
    /// created so far. Calls still in flight are answered into the cleanup
    /// ([`Start::after_failure`]).
    fn start_cleanup(&mut self, _now: Millis, mut find_tasks: bool, cancelled: bool) {
        self.stage = Stage::CleaningUp;
        // Removals are retried even past the deadline that ended the start.
        self.ex.give_up_at = None;
        self.next_poll = None;
        self.next_online_poll = None;
        let dropped: Vec<Unfinished<Op>> = self.ex.drop_unsent(|op| !matches!(op, Op::Undo(_)));
        let mut todo = Vec::new();
        for u in dropped {
            match u.call.tag {
                // A retry that will not be made: the earlier attempt may
                // have worked.
                Op::Jit(i) if u.sent => self.launches[i].runner_created = true,
                Op::RunTask(_) if u.sent => find_tasks = true,
                _ => {}
            }
        }
        for l in &self.launches {
            if let Some(t) = l.task.as_ref().filter(|t| !t.is_stopping()) {
                todo.push(Undo::StopTask(t.arn.clone()));
            }
        }
        if find_tasks {
            todo.push(self.find_tasks());
        }
        for l in &self.launches {
            if l.runner_created {
                todo.push(match l.github_runner {
                    Some(id) => Undo::DeleteRunner {
                        id,
                        name: l.name.clone(),
                    },
                    None => Undo::FindRunner {
                        name: l.name.clone(),
                    },
                });
            }
        }
        let reason = self.failures.first().cloned().unwrap_or_default();
        self.cleanup = Some(Cleanup::new(&reason, todo, false, cancelled));
        self.fetch_log_tails();
    }

    /// The last lines of each failed runner's own log, when its container
    /// logs to CloudWatch (the task definition's awslogs configuration):
    /// fetched while the cleanup runs.
    fn fetch_log_tails(&mut self) {
        for i in 0..self.launches.len() {
            let l = &self.launches[i];
            let (Some(task), true) = (&l.task, l.wants_tail) else {
                continue;
            };
            let logs = self
                .task_definition
                .as_ref()
                .and_then(|td| td.logs_of(&self.container));
            let Some(logs) = logs else {
                self.launches[i].log_note = Some(format!(
                    "The runner container {} does not log to CloudWatch, so its output cannot be shown here: give it an awslogs log configuration (with `image`: set `log-group`).",
                    self.container
                ));
                continue;
            };
            if !logs.region.is_empty() && logs.region != self.s.region {
                self.launches[i].log_note = Some(format!(
                    "The runner logs to {} in {}, not {}: read it there (stream {}).",
                    logs.group,
                    logs.region,
                    self.s.region,
                    logs::stream(logs, &self.container, task.id())
                ));
                continue;
            }
            let stream = logs::stream(logs, &self.container, task.id());
            let body = logs::get_log_events(&logs.group, &stream);
            self.ex
                .submit(Call::logs(Op::LogTail(i), "GetLogEvents", body));
        }
    }

    /// A log tail came back: keep the lines, or one sentence on why there
    /// are none (never a second failure).
    fn on_log_tail(&mut self, i: usize, resp: &HttpResponse) {
        let logs = self
            .task_definition
            .as_ref()
            .and_then(|td| td.logs_of(&self.container))
            .cloned()
            .unwrap_or_default();
        let stream = logs::stream(&logs, &self.container, self.launches[i].task_id());
        let region = self.s.region.clone();
        let l = &mut self.launches[i];
        if (200..300).contains(&resp.status) {
            match logs::parse_events(&resp.body) {
                Some(lines) if !lines.is_empty() => l.log_tail = Some(lines),
                _ => {
                    l.log_note = Some(format!(
                        "The runner's log stream {stream} in {} has no lines yet.",
                        logs.group
                    ))
                }
            }
            return;
        }
        let err = crate::aws::error::parse(resp);
        l.log_note = Some(match err.code.as_str() {
            "AccessDeniedException" | "AccessDenied" => format!(
                "The runner's log cannot be shown: the credentials may not call logs:GetLogEvents on log group {}. Allow `logs:GetLogEvents` on arn:aws:logs:{region}:*:log-group:{}:* to see the runner's output here.",
                logs.group, logs.group
            ),
            "ResourceNotFoundException" => format!(
                "The runner wrote no log: there is no stream {stream} in log group {} (the container may never have started).",
                logs.group
            ),
            _ => format!(
                "The runner's log could not be read ({}: {}).",
                err.code, err.message
            ),
        });
    }

    /// The step's outputs. `runner_id` is the label; the single-value
    /// outputs hold the first runner's values, the JSON ones every runner's.
    fn outputs(&self) -> BTreeMap<String, String> {
        let first = &self.launches[0];
        let arn = first.task_arn();
        let id = first.task_id().to_string();
        let list = |f: &dyn Fn(&Launch) -> Value| {
            Value::Array(self.launches.iter().map(f).collect()).to_string()
        };
        let runners = list(&|l| {
            json!({
                "name": l.name,
                "github_runner_id": l.github_runner,
                "task_arn": l.task_arn(),
                "task_id": l.task_id(),
                "ipaddr": l.ip,
                "capacity": if l.on_fallback { "fallback" } else { "primary" },
            })
        });
        let mut o = BTreeMap::new();
        for (k, v) in [
            ("runner_id", self.label.clone()),
            ("id", self.label.clone()),
            ("runner_name", first.name.clone()),
            (
                "github_runner_id",
                first
                    .github_runner
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
            ),
            ("task_arn", arn.clone()),
            ("arn", arn.clone()),
            ("aws_task_arn", arn),
            ("task_id", id.clone()),
            ("aws_task_id", id),
            ("ipaddr", first.ip.clone()),
            ("runners", runners),
            ("task_arns", list(&|l| json!(l.task_arn()))),
            ("ipaddrs", list(&|l| json!(l.ip))),
            ("runner_names", list(&|l| json!(l.name))),
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
        let fallback = self.s.capacity_fallback.as_ref().map(placement_words);
        self.launches
            .iter()
            .map(|l| summary::Row {
                runner: l.name.clone(),
                task_id: l.task_id().to_string(),
                ip: l.ip.clone(),
                status: match (&fallback, l.on_fallback) {
                    (Some(f), true) => format!("{status} (fallback: {f})"),
                    _ => status.to_string(),
                },
                secs_to_running: l.running_after_ms.map(|ms| ms.div_ceil(1000)),
            })
            .collect()
    }

    /// What a job writes to run on these runners: without the default
    /// labels there is no `self-hosted` to ask for.
    fn runs_on(&self) -> String {
        if self.s.default_labels {
            format!("[self-hosted, {}]", self.label)
        } else {
            format!("[{}]", self.label)
        }
    }

    fn finish(&mut self) -> Next {
        for l in &self.launches {
            let ip = if l.ip.is_empty() { "unknown" } else { &l.ip };
            if !self.fleet() {
                self.out.info(format!(
                    "Runner {} is up: task {}, IP {ip}. Use it with runs-on: {}",
                    l.name,
                    l.task_id(),
                    self.runs_on()
                ));
            } else if self.itemised() {
                self.out.info(format!(
                    "Runner {} is up: task {}, IP {ip}",
                    l.name,
                    l.task_id()
                ));
            }
        }
        if self.fleet() {
            self.out.info(format!(
                "{} runners are up. Use them with runs-on: {}",
                self.launches.len(),
                self.runs_on()
            ));
        }
        let on_fallback: Vec<&str> = self
            .launches
            .iter()
            .filter(|l| l.on_fallback)
            .map(|l| l.name.as_str())
            .collect();
        if let (false, Some(f)) = (on_fallback.is_empty(), &self.s.capacity_fallback) {
            self.out.info(format!(
                "On the fallback {}: {}",
                placement_words(f),
                on_fallback.join(", ")
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

    /// The cleanup is over: fail with why, and what was and was not undone.
    fn failed(&mut self) -> Next {
        self.stage = Stage::Finished;
        let report: Report = self
            .cleanup
            .as_mut()
            .map(Cleanup::take_report)
            .unwrap_or_default();
        let mut message = if self.failures.len() > 1 {
            format!(
                "{} of {} runners could not be started:\n- {}",
                self.failures.len(),
                self.launches.len(),
                self.failures.join("\n- ")
            )
        } else {
            self.failures.first().cloned().unwrap_or_default()
        };
        if self.fleet() && self.failures.len() == 1 {
            message.push_str(&format!(
                "\nAll or nothing: the other runners of {} were removed too.",
                self.label
            ));
        }
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
        let mut md = summary::table(&self.s, &self.rows("failed"), Some(&message));
        for l in &self.launches {
            if let Some(lines) = &l.log_tail {
                let title = format!(
                    "Runner {}: the last {} lines of its log (task {})",
                    l.name,
                    lines.len(),
                    l.task_id()
                );
                let token = self.ex.token();
                self.out.group(title.clone(), lines, &token);
                md.push_str(&summary::details(&title, lines));
            }
            if let Some(note) = &l.log_note {
                self.out.info(note.clone());
                md.push_str(&format!("\n{note}\n"));
            }
        }
        Next::Failed {
            summary: md,
            outputs: self.outputs(),
            message,
        }
    }
}

/// Whether a DescribeTaskDefinition failure says the family has no ACTIVE
/// revision (ECS answers ClientException "Unable to describe task
/// definition.").
fn family_missing(resp: &HttpResponse) -> bool {
    let err = crate::aws::error::parse(resp);
    err.code == "ClientException"
        && err
            .message
            .to_ascii_lowercase()
            .contains("unable to describe task definition")
}

/// `family:revision` of a task definition ARN.
fn short_td(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// "tag `key:value`" for messages.
fn tag_words(l: &Lookup) -> String {
    match l {
        Lookup::Tag { key, value } => format!("`{key}:{value}`"),
        _ => String::new(),
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "—"
    } else {
        s
    }
}

/// A placement as a user wrote it: `launch type FARGATE` or `capacity
/// provider strategy FARGATE:1`.
fn placement_words(p: &Placement) -> String {
    match p {
        Placement::LaunchType(t) => format!("launch type {t}"),
        Placement::CapacityProviders(ps) => {
            let entries: Vec<String> = ps
                .iter()
                .map(|p| {
                    let mut e = p.provider.clone();
                    if let Some(w) = p.weight {
                        e.push_str(&format!(":{w}"));
                        if let Some(b) = p.base {
                            e.push_str(&format!(":{b}"));
                        }
                    }
                    e
                })
                .collect();
            format!("capacity provider strategy {}", entries.join(","))
        }
    }
}

/// A RunTask failure reason (or message) that means "no capacity now"
/// (ECS developer guide, "API failure reasons"; Fargate's "Capacity is
/// unavailable at this time").
fn capacity_text(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.starts_with("resource:")
        || t == "agent"
        || t.contains("capacity is unavailable")
        || t.contains("insufficient capacity")
        || t.contains("no capacity")
}

/// A final RunTask error answer that is about capacity: a throttle or
/// server error whose message says so (Fargate answers a burst it cannot
/// place that way).
fn capacity_error(resp: &HttpResponse) -> bool {
    if resp.status == 0 {
        return false;
    }
    let err = crate::aws::error::parse(resp);
    let class = crate::aws::error::THROTTLING_CODES.contains(&err.code.as_str())
        || err.code == "ServerException";
    class && (capacity_text(&err.message) || err.message.to_ascii_lowercase().contains("capacity"))
}

/// A task stopped before RUNNING because its capacity went away or never
/// came: a Spot interruption, or a stopped reason about capacity.
fn stopped_for_capacity(t: &Task) -> bool {
    t.stop_code == "SpotInterruption"
        || capacity_text(&t.stopped_reason)
        || t.containers.iter().any(|c| capacity_text(&c.reason))
}

/// Whether the runner group must be looked up before registering: given by
/// name (for its id), or, with a registration token, given by an id other
/// than the default group's (config.sh takes the group's name).
fn group_lookup_needed(s: &Settings) -> bool {
    s.runner_group_name.is_some()
        || (s.registration == Registration::Token
            && s.runner_group != crate::settings::DEFAULT_RUNNER_GROUP
            && matches!(s.scope, crate::settings::Scope::Org { .. }))
}
