//! The start machine: register `count` runners with GitHub, run each as its
//! own ECS task, wait until every task is RUNNING (and, if asked, every
//! runner online), and report where they run. All or nothing: when one
//! runner cannot be started, every runner and task of the step is removed
//! (see [`crate::cleanup`]) before the step fails.
//!
//! Calls go out concurrently wherever they do not depend on each other,
//! within the exchange's per-service bounds. The phases, each in its own
//! file, all working on the one [`Start`] defined here:
//! 1. `preflight.rs`: DescribeTaskDefinition (with `image`, and
//!    RegisterTaskDefinition when its content differs), DescribeSubnets and
//!    DescribeSecurityGroups (by tag, page after page) and a runner group
//!    given by name, together. Everything that can fail without creating
//!    anything comes before GitHub registers a runner.
//! 2. `register.rs`: for each runner, generate-jitconfig (or
//!    registration-token); a name GitHub already has is replaced.
//! 3. `launch.rs`: as soon as that answers, its RunTask (one task each:
//!    every runner has its own credential). A RunTask that fails for lack
//!    of capacity, or a task that stops before RUNNING for lack of it, is
//!    tried again on `capacity-fallback`.
//! 4. `watch.rs`: DescribeTasks for every task not yet RUNNING, 100 per
//!    call: first about a second after a task's RunTask, then every second
//!    for its first 20 s and every 2 s after, so RUNNING is noticed about a
//!    second after ECS reports it.
//! 5. `locate.rs`: the IP of each RUNNING task: from its ENI, or through
//!    DescribeContainerInstances and DescribeInstances.
//! 6. `watch.rs` again: with `wait-for-registration`, GitHub until every
//!    runner is online.
//! 7. `report.rs`: the outputs and the job summary; or, when the start
//!    fails (a runner that cannot start, the timeout, a cancel), the
//!    cleanup of what it created, the failed runners' last log lines and
//!    the message.
//!
//! Here: the state (`Start`, a `Launch` per runner, the `Op` each call is
//! for, the timing), the event loop (`step`, `advance`), a cancel, and
//! each answer handed to its phase.
//!
//! May use: `cleanup` and `summary` beside it, the exchange, the wire
//! formats (`aws/`, `github/`), `settings`, `names`, `placeholders` and
//! `runner_image`. Not the top-level machine or another mode.

use serde_json::Value;

use crate::aws::ecs::{Task, TaskDefinition};
use crate::aws::taskdef;
use crate::cleanup::{Cleanup, Undo};
use crate::exchange::outbox::Outbox;
use crate::exchange::{self, failure_message, Call, Exchange};
use crate::names;
use crate::protocol::{Action, Event, HttpResponse, Millis, Next};
use crate::settings::{Placement, Registration, Settings};

mod launch;
mod locate;
mod preflight;
mod register;
mod report;
mod watch;

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

    /// A line per runner in a small fleet; a debug line in a large one.
    fn say(&mut self, line: String) {
        if self.itemised() {
            self.out.info(line);
        } else {
            self.out.detail(line);
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

/// Whether the runner group must be looked up before registering: given by
/// name (for its id), or, with a registration token, given by an id other
/// than the default group's (config.sh takes the group's name).
fn group_lookup_needed(s: &Settings) -> bool {
    s.runner_group_name.is_some()
        || (s.registration == Registration::Token
            && s.runner_group != crate::settings::DEFAULT_RUNNER_GROUP
            && matches!(s.scope, crate::settings::Scope::Org { .. }))
}
