//! Removing what ecs-runner launched: stop tasks, delete runners. Used by
//! the start machine to undo a failed or cancelled start, and by the stop
//! mode. Each removal that fails is reported (with the way to finish it by
//! hand) and the others still run: a half cleanup beats none.
//!
//! Safety: a task is only touched when its tags say ecs-runner started it for
//! this repository (and, when looking for a run's tasks, for this run); a
//! runner only when its name is one ecs-runner gave for this run.

use std::collections::{BTreeMap, VecDeque};

use crate::aws::ecs::{self, Task};
use crate::exchange::outbox::Outbox;
use crate::exchange::{failure_message, Call, Exchange};
use crate::github;
use crate::names;
use crate::protocol::{HttpResponse, Millis, Next};
use crate::settings::Settings;

/// How long stop mode waits for stopped tasks to reach STOPPED.
const WAIT_STOPPED_MS: u64 = 120_000;
const WAIT_POLL_MS: u64 = 2_000;
/// DescribeTasks takes at most 100 tasks per call (ECS API reference).
pub const DESCRIBE_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    StopTask(String),
    /// Tasks named by the user (at most 100): check they are ours, then stop
    /// them and remove their runners.
    CheckTasks(Vec<String>),
    /// Find this run's tasks (ListTasks by startedBy, then their tags) and
    /// stop them; with a runner id, only that step's (its runner, or every
    /// runner of its fleet).
    FindTasks {
        runner_id: Option<String>,
        next_token: Option<String>,
    },
    /// DescribeTasks of what FindTasks listed.
    DescribeFound {
        arns: Vec<String>,
        runner_id: Option<String>,
    },
    DeleteRunner {
        id: u64,
        name: String,
    },
    /// Look the runner up by name, then delete it unless it is busy.
    FindRunner {
        name: String,
    },
    /// Page through the runners and remove this run's (names with its
    /// prefix) or, with `step`, that step's ([`names::in_step`]).
    ListRunners {
        page: u32,
        step: Option<String>,
    },
    /// DescribeTasks of stopped tasks not yet seen STOPPED (stop mode waits
    /// for them, to say how they ended).
    WaitStopped(Vec<String>),
    /// An old revision of a task definition ecs-runner registered:
    /// deregister it, then delete it.
    DeregisterTaskDefinition(String),
    DeleteTaskDefinition(String),
}

/// What was removed and what could not be.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// ARNs of the tasks this cleanup stopped (StopTask succeeded), in order.
    pub stopped_tasks: Vec<String>,
    /// Names of the runners it deleted.
    pub deleted: Vec<String>,
    /// Task definition revisions (`family:revision`) deregistered, and
    /// those then deleted too.
    pub deregistered: Vec<String>,
    pub deleted_definitions: Vec<String>,
    /// What else it found: already stopped or gone, busy, not ours...
    pub notes: Vec<String>,
    pub problems: Vec<String>,
    /// Every task of ours it looked at, as last seen (stop mode: after the
    /// wait for STOPPED).
    pub tasks: Vec<Task>,
    /// (task id, how it ended) for each task stopped or stopping (stop mode
    /// waits for that).
    pub endings: Vec<(String, String)>,
}

impl Report {
    /// Everything done, a sentence each: tasks stopped, runners deleted,
    /// then the notes.
    pub fn done(&self) -> Vec<String> {
        let stopped = self
            .stopped_tasks
            .iter()
            .map(|arn| format!("stopped task {}", ecs::task_id(arn)));
        let deleted = self
            .deleted
            .iter()
            .map(|name| format!("deleted runner {name} from GitHub"));
        let deregistered = self.deregistered.iter().map(|td| {
            if self.deleted_definitions.contains(td) {
                format!("deregistered and deleted task definition {td}")
            } else {
                format!("deregistered task definition {td}")
            }
        });
        stopped
            .chain(deleted)
            .chain(deregistered)
            .chain(self.notes.iter().cloned())
            .collect()
    }
}

/// The end of a stop or reap: the outputs (`stopped_tasks` as ARNs,
/// `deleted_runners` as names: what was done, or for a dry run what would
/// be), then done, or failed naming what could not be removed.
pub fn conclude(
    what: &str,
    s: &Settings,
    stopped: &[String],
    deleted: &[String],
    problems: &[String],
    summary: String,
) -> Next {
    let mut outputs = std::collections::BTreeMap::new();
    outputs.insert("stopped_tasks".to_string(), stopped.join(","));
    outputs.insert("deleted_runners".to_string(), deleted.join(","));
    outputs.insert(
        "cluster".to_string(),
        crate::summary::cluster_name(&s.cluster).to_string(),
    );
    outputs.insert("region".to_string(), s.region.clone());
    if problems.is_empty() {
        Next::Done { outputs, summary }
    } else {
        Next::Failed {
            message: format!(
                "{what} could not remove everything: {}.",
                problems.join("; ")
            ),
            outputs,
            summary,
        }
    }
}

/// Removes what it is given, concurrently: every removal that does not
/// depend on another goes to the exchange at once (which bounds what is in
/// flight), and what an answer reveals (a listed task, a found runner) is
/// queued as it comes. The machine that owns the exchange hands the
/// answers to cleanup calls back through [`Cleanup::on_answer`].
pub struct Cleanup {
    todo: VecDeque<Undo>,
    /// Submitted, not yet answered.
    outstanding: usize,
    report: Report,
    /// Stop mode: also remove the runners of tasks found, and wait for
    /// stopped tasks to be STOPPED.
    thorough: bool,
    /// Under cancellation the Actions runner gives us seconds: retry quickly.
    pub cancelled: bool,
    reason: String,
    queued_runners: Vec<String>,
    seen_tasks: Vec<String>,
    stopped_arns: Vec<String>,
    /// The wait for STOPPED: until when, the next poll, and the last state
    /// seen of each task.
    waiting: Option<Waiting>,
}

struct Waiting {
    until: Millis,
    poll_at: Option<Millis>,
    seen: BTreeMap<String, Task>,
}

impl Cleanup {
    /// `reason` goes into StopTask's reason (shown as stoppedReason).
    pub fn new(reason: &str, todo: Vec<Undo>, thorough: bool, cancelled: bool) -> Self {
        let mut c = Cleanup {
            todo: VecDeque::new(),
            outstanding: 0,
            report: Report::default(),
            thorough,
            cancelled,
            reason: reason.to_string(),
            queued_runners: Vec::new(),
            seen_tasks: Vec::new(),
            stopped_arns: Vec::new(),
            waiting: None,
        };
        for undo in todo {
            c.add(undo);
        }
        c
    }

    /// One more thing to remove (a runner is removed once, however often
    /// it is added).
    pub fn add(&mut self, undo: Undo) {
        if let Undo::FindRunner { name } | Undo::DeleteRunner { name, .. } = &undo {
            if self.queued_runners.contains(name) {
                return;
            }
            self.queued_runners.push(name.clone());
        }
        self.todo.push_back(undo);
    }

    /// Hand the exchange every removal that is ready, each tagged by
    /// `wrap`; with nothing else left, start (stop mode) or go on waiting
    /// for the stopped tasks.
    pub fn pump<T: Clone>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        ex: &mut Exchange<T>,
        now: Millis,
        wrap: &dyn Fn(Undo) -> T,
    ) {
        if self.cancelled {
            ex.max_wait_ms = Some(1_000);
        }
        while let Some(undo) = self.todo.pop_front() {
            self.submit(s, out, ex, undo, wrap);
        }
        if self.outstanding > 0 {
            return;
        }
        if self.waiting.is_none() && self.thorough && !self.stopped_arns.is_empty() {
            out.info(format!(
                "Waiting for {} task(s) to stop",
                self.stopped_arns.len()
            ));
            self.waiting = Some(Waiting {
                until: now + WAIT_STOPPED_MS,
                poll_at: Some(now),
                seen: BTreeMap::new(),
            });
        }
        let due = match &self.waiting {
            Some(w) => w.poll_at.is_some_and(|t| t <= now),
            None => false,
        };
        if due {
            let w = self.waiting.as_mut().expect("checked");
            w.poll_at = None;
            let left: Vec<String> = self
                .stopped_arns
                .iter()
                .filter(|a| w.seen.get(*a).is_none_or(|t| t.last_status != "STOPPED"))
                .cloned()
                .collect();
            for chunk in left.chunks(DESCRIBE_MAX) {
                self.submit(s, out, ex, Undo::WaitStopped(chunk.to_vec()), wrap);
            }
        }
    }

    fn submit<T: Clone>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        ex: &mut Exchange<T>,
        undo: Undo,
        wrap: &dyn Fn(Undo) -> T,
    ) {
        let call = match &undo {
            Undo::StopTask(arn) => {
                out.info(format!("Stopping task {}", ecs::task_id(arn)));
                Call::ecs(
                    (),
                    "StopTask",
                    ecs::stop_task(&s.cluster, arn, &stop_reason(s, &self.reason)),
                )
            }
            Undo::CheckTasks(arns) => Call::ecs(
                (),
                "DescribeTasks",
                ecs::describe_tasks(&s.cluster, arns, true),
            ),
            Undo::FindTasks { next_token, .. } => Call::ecs(
                (),
                "ListTasks",
                ecs::list_tasks(
                    &s.cluster,
                    Some(&names::started_by(s)),
                    next_token.as_deref(),
                ),
            ),
            Undo::DescribeFound { arns, .. } | Undo::WaitStopped(arns) => Call::ecs(
                (),
                "DescribeTasks",
                // With tags: they name the runner a stopped task ran (stop reads a
                // crashed runner's log by it).
                ecs::describe_tasks(&s.cluster, arns, true),
            ),
            Undo::DeleteRunner { id, name } => {
                out.info(format!("Deleting runner {name} from GitHub"));
                Call::github(
                    (),
                    "delete runner",
                    "DELETE",
                    github::runner_path(&s.scope, *id),
                    None,
                )
            }
            Undo::FindRunner { name } => Call::github(
                (),
                "list runners",
                "GET",
                github::runners_by_name_path(&s.scope, name),
                None,
            ),
            Undo::DeregisterTaskDefinition(arn) => {
                out.info(format!("Deregistering task definition {}", short_td(arn)));
                Call::ecs(
                    (),
                    "DeregisterTaskDefinition",
                    serde_json::json!({ "taskDefinition": arn }),
                )
            }
            Undo::DeleteTaskDefinition(arn) => Call::ecs(
                (),
                "DeleteTaskDefinitions",
                serde_json::json!({ "taskDefinitions": [arn] }),
            ),
            Undo::ListRunners { page, .. } => Call::github(
                (),
                "list runners",
                "GET",
                github::runners_page_path(&s.scope, *page),
                None,
            ),
        };
        self.outstanding += 1;
        ex.submit(call.retag(wrap(undo)));
    }

    /// When to call [`Cleanup::pump`] again (the next look at stopping
    /// tasks), if cleanup waits for a time rather than an answer.
    pub fn wake_at(&self) -> Option<Millis> {
        self.waiting.as_ref().and_then(|w| w.poll_at)
    }

    /// Nothing left to send or to wait for.
    pub fn is_finished(&self) -> bool {
        self.todo.is_empty()
            && self.outstanding == 0
            && match &self.waiting {
                Some(w) => w.poll_at.is_none(),
                None => !self.thorough || self.stopped_arns.is_empty(),
            }
    }

    /// The report, once [`Cleanup::is_finished`].
    pub fn take_report(&mut self) -> Report {
        std::mem::take(&mut self.report)
    }

    /// A cancel arrived: the shell dropped the requests in flight; these
    /// removals (the cleanup calls among them) go out again.
    pub fn on_cancel(&mut self, dropped: Vec<Undo>) {
        self.cancelled = true;
        for undo in dropped {
            self.outstanding = self.outstanding.saturating_sub(1);
            if let Undo::FindRunner { name } | Undo::DeleteRunner { name, .. } = &undo {
                self.queued_runners.retain(|n| n != name);
            }
            self.add(undo);
        }
    }

    fn queue_runner(&mut self, name: &str) {
        if !name.is_empty() {
            self.add(Undo::FindRunner {
                name: name.to_string(),
            });
        }
    }
    /// A runner GitHub will not delete because it is running a job.
    fn busy(&mut self, out: &mut Outbox, name: &str) {
        out.warning(format!("Runner {name} is busy with a job; not deleted (GitHub refuses to delete a busy runner; once its job ends the ephemeral runner removes itself, and `mode: reap` deletes it if it is left offline)"));
        self.report.notes.push(format!(
            "runner {name} is busy with a job and was not deleted"
        ));
    }

    /// Take in a found task of ours: stop it unless stopped, and (stop mode)
    /// remove its runner.
    fn take_task(&mut self, t: &Task) {
        if self.seen_tasks.iter().any(|a| a == &t.arn) {
            return;
        }
        self.seen_tasks.push(t.arn.clone());
        self.report.tasks.push(t.clone());
        if t.last_status == "STOPPED" {
            self.report
                .notes
                .push(format!("task {} was already stopped", t.id()));
        } else if t.desired_status == "STOPPED" {
            self.report
                .notes
                .push(format!("task {} was already stopping", t.id()));
            self.stopped_arns.push(t.arn.clone());
        } else {
            self.add(Undo::StopTask(t.arn.clone()));
        }
        if self.thorough {
            if let Some(r) = t.tag(names::TAG_RUNNER_ID) {
                let r = r.to_string();
                self.queue_runner(&r);
            }
        }
    }

    /// The final answer to the call made for `undo`.
    pub fn on_answer<T>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        undo: Undo,
        call: &Call<T>,
        resp: &HttpResponse,
        now: Millis,
    ) {
        self.outstanding = self.outstanding.saturating_sub(1);
        let ok = (200..300).contains(&resp.status);
        // Without its final period: these sentences go on.
        let failed = || {
            failure_message(call, resp, s)
                .trim_end_matches('.')
                .to_string()
        };
        match undo {
            Undo::StopTask(arn) => {
                let id = ecs::task_id(&arn).to_string();
                if ok {
                    self.report.stopped_tasks.push(arn.clone());
                    self.stopped_arns.push(arn);
                } else {
                    self.report.problems.push(format!(
                        "could not stop task {id} ({}); stop it with `aws ecs stop-task --cluster {} --task {arn}`",
                        failed(),
                        s.cluster
                    ));
                }
            }
            Undo::CheckTasks(arns) => match ecs::parse_tasks(&resp.body).filter(|_| ok) {
                Some(answer) => {
                    for arn in &arns {
                        let Some(t) = answer.tasks.iter().find(|t| &t.arn == arn || t.id() == arn) else {
                            self.report.notes.push(format!(
                                "task {} is not in cluster {} (already gone)",
                                ecs::task_id(arn),
                                s.cluster
                            ));
                            continue;
                        };
                        match t.tag(names::TAG_REPOSITORY) {
                            Some(repo) if repo == s.run.repository => self.take_task(t),
                            Some(repo) => self.report.problems.push(format!(
                                "task {} belongs to repository {repo}, not {}; left alone",
                                t.id(),
                                s.run.repository
                            )),
                            None => self.report.problems.push(format!(
                                "task {} was not started by ecs-runner (it has no {} tag); left alone",
                                t.id(),
                                names::TAG_REPOSITORY
                            )),
                        }
                    }
                }
                None => {
                    // Not known to be ours: not stopped; the command if it is.
                    for arn in &arns {
                        self.report.problems.push(format!(
                            "could not look up task {} ({}); if it is this run's, stop it with `aws ecs stop-task --cluster {} --task {arn}`",
                            ecs::task_id(arn),
                            failed(),
                            s.cluster
                        ));
                    }
                }
            },
            Undo::FindTasks { runner_id, .. } => match ecs::parse_list_tasks(&resp.body).filter(|_| ok) {
                Some((arns, next)) => {
                    if let Some(token) = next {
                        self.add(Undo::FindTasks { runner_id: runner_id.clone(), next_token: Some(token) });
                    }
                    for chunk in arns.chunks(DESCRIBE_MAX) {
                        self.add(Undo::DescribeFound { arns: chunk.to_vec(), runner_id: runner_id.clone() });
                    }
                }
                None => self.report.problems.push(format!(
                    "could not list this run's tasks ({}); find them with `aws ecs list-tasks --cluster {} --started-by {}` and stop each with `aws ecs stop-task --cluster {} --task ARN`",
                    failed(),
                    s.cluster,
                    names::started_by(s),
                    s.cluster
                )),
            },
            Undo::DescribeFound { runner_id, .. } => match ecs::parse_tasks(&resp.body).filter(|_| ok) {
                Some(answer) => {
                    for t in answer.tasks {
                        let ours = t.tag(names::TAG_REPOSITORY) == Some(s.run.repository.as_str())
                            && t.tag(names::TAG_RUN_ID) == Some(s.run.run_id.as_str())
                            && match &runner_id {
                                Some(r) => t.tag(names::TAG_RUNNER_ID).is_some_and(|n| names::in_step(n, r)),
                                None => true,
                            };
                        if ours {
                            self.take_task(&t);
                        }
                    }
                }
                None => self.report.problems.push(format!(
                    "could not describe this run's tasks ({}); find them with `aws ecs list-tasks --cluster {} --started-by {}` and stop each with `aws ecs stop-task --cluster {} --task ARN`",
                    failed(),
                    s.cluster,
                    names::started_by(s),
                    s.cluster
                )),
            },
            Undo::WaitStopped(_) => {
                let tasks = ecs::parse_tasks(&resp.body).filter(|_| ok).map(|a| a.tasks).unwrap_or_default();
                if let Some(w) = self.waiting.as_mut() {
                    for t in tasks {
                        w.seen.insert(t.arn.clone(), t);
                    }
                }
                if self.outstanding == 0 {
                    self.after_wait_round(out, now);
                }
            }
            Undo::DeregisterTaskDefinition(arn) => {
                if ok {
                    self.report.deregistered.push(short_td(&arn).to_string());
                    self.add(Undo::DeleteTaskDefinition(arn));
                } else {
                    self.report.problems.push(format!(
                        "could not deregister task definition {} ({}); deregister it with `aws ecs deregister-task-definition --task-definition {arn}`",
                        short_td(&arn),
                        failed()
                    ));
                }
            }
            Undo::DeleteTaskDefinition(arn) => {
                let failures = serde_json::from_str::<serde_json::Value>(&resp.body)
                    .ok()
                    .and_then(|v| v.get("failures")?.as_array().map(|f| !f.is_empty()))
                    .unwrap_or(false);
                if ok && !failures {
                    self.report.deleted_definitions.push(short_td(&arn).to_string());
                } else {
                    self.report.problems.push(format!(
                        "task definition {} is deregistered (INACTIVE) but was not deleted ({}); delete it with `aws ecs delete-task-definitions --task-definitions {arn}`",
                        short_td(&arn),
                        if ok { "ECS listed it under failures".to_string() } else { failed() }
                    ));
                }
            }
            Undo::DeleteRunner { id, name } => match resp.status {
                200..=299 => {
                    self.report.deleted.push(name);
                }
                404 => self.report.notes.push(format!("runner {name} was already gone from GitHub")),
                // GitHub refuses to delete a runner that is running a job.
                422 => {
                    self.busy(out, &name);
                }
                _ => self.report.problems.push(format!(
                    "could not delete runner {name} (GitHub id {id}): {}; delete it under Settings → Actions → Runners",
                    failed()
                )),
            },
            Undo::FindRunner { name } => match github::parse_runners(&resp.body).filter(|_| ok) {
                Some((runners, _)) => match runners.into_iter().find(|r| r.name == name) {
                    Some(r) if r.busy && self.thorough => {
                        self.busy(out, &name);
                    }
                    Some(r) => self.todo.push_back(Undo::DeleteRunner { id: r.id, name }),
                    None => self.report.notes.push(format!("runner {name} is not registered (already removed)")),
                },
                None => self.report.problems.push(format!(
                    "could not look up runner {name}: {}",
                    failed()
                )),
            },
            Undo::ListRunners { page, step } => match github::parse_runners(&resp.body).filter(|_| ok) {
                Some((runners, total)) => {
                    let prefix = names::run_prefix(s);
                    for r in &runners {
                        let wanted = match &step {
                            Some(label) => names::in_step(&r.name, label),
                            None => r.name.starts_with(&prefix),
                        };
                        if !wanted || self.queued_runners.contains(&r.name) {
                            continue;
                        }
                        self.queued_runners.push(r.name.clone());
                        if r.busy && self.thorough {
                            self.busy(out, &r.name);
                        } else {
                            self.todo.push_back(Undo::DeleteRunner { id: r.id, name: r.name.clone() });
                        }
                    }
                    if github::more_pages(page, runners.len(), total) {
                        self.add(Undo::ListRunners { page: page + 1, step });
                    } else if let Some(label) = &step {
                        let found = self.queued_runners.iter().any(|n| names::in_step(n, label));
                        if !found {
                            self.report.notes.push(format!("no runner of {label} is registered (already removed)"));
                        }
                    }
                }
                None => self.report.problems.push(format!(
                    "could not list runners: {}",
                    failed()
                )),
            },
        }
    }

    /// Every task of a round of looks at stopping tasks is answered: look
    /// again in a while, or say how each ended.
    fn after_wait_round(&mut self, out: &mut Outbox, now: Millis) {
        let Some(w) = self.waiting.as_mut() else {
            return;
        };
        let all_stopped = self
            .stopped_arns
            .iter()
            .all(|a| w.seen.get(a).is_some_and(|t| t.last_status == "STOPPED"));
        if !all_stopped && now < w.until {
            w.poll_at = Some(now + WAIT_POLL_MS);
            return;
        }
        for t in self.report.tasks.iter_mut() {
            if let Some(seen) = w.seen.get(&t.arn) {
                *t = seen.clone();
            }
        }
        for arn in &self.stopped_arns {
            let id = ecs::task_id(arn).to_string();
            match w.seen.get(arn) {
                Some(t) if t.last_status == "STOPPED" => {
                    let ending = t.ending();
                    out.info(format!("Task {id} stopped: {ending}"));
                    self.report.endings.push((id, ending));
                }
                Some(t) => {
                    out.warning(format!(
                        "Task {id} is still {} after {}s; ECS will finish stopping it",
                        t.last_status,
                        WAIT_STOPPED_MS / 1000
                    ));
                    self.report
                        .endings
                        .push((id, format!("still {}", t.last_status)));
                }
                None => self.report.endings.push((id, "gone".into())),
            }
        }
    }
}

/// `family:revision` of a task definition ARN.
fn short_td(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// StopTask's reason, shown as the task's stoppedReason: what happened and
/// which workflow run did it.
pub fn stop_reason(s: &Settings, why: &str) -> String {
    let first_line = why.lines().next().unwrap_or("");
    format!(
        "ecs-runner ({}/{}/actions/runs/{}): {}",
        s.run.server_url, s.run.repository, s.run.run_id, first_line
    )
}
