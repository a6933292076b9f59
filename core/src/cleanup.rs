//! Removing what ecs-runner launched: stop tasks, delete runners. Used by
//! the start machine to undo a failed or cancelled start, and by the stop
//! mode. Each removal that fails is reported (with the way to finish it by
//! hand) and the others still run: a half cleanup beats none.
//!
//! Safety: a task is only touched when its tags say ecs-runner started it for
//! this repository (and, when looking for a run's tasks, for this run); a
//! runner only when its name is one ecs-runner gave for this run.

use std::collections::VecDeque;

use crate::ecs::{self, Task};
use crate::exchange::{failure_message, Call, Exchange, Received};
use crate::github;
use crate::names;
use crate::outbox::Outbox;
use crate::protocol::{HttpResponse, Millis, Next};
use crate::settings::Settings;

/// How long stop mode waits for stopped tasks to reach STOPPED.
const WAIT_STOPPED_MS: u64 = 120_000;
const WAIT_POLL_MS: u64 = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    StopTask(String),
    /// A task named by the user: check it is ours, then stop it and remove
    /// its runner.
    CheckTask(String),
    /// Find this run's tasks (ListTasks by startedBy, then their tags) and
    /// stop them; with a runner id, only that runner's.
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
    /// Page through the runners and remove those whose name starts with
    /// this run's prefix.
    ListRunners {
        page: u32,
    },
    /// Poll until the tasks stopped so far are STOPPED, then say how they
    /// ended.
    WaitStopped,
}

/// What was removed and what could not be.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// ARNs of the tasks this cleanup stopped (StopTask succeeded), in order.
    pub stopped_tasks: Vec<String>,
    /// Names of the runners it deleted.
    pub deleted: Vec<String>,
    /// What else it found: already stopped or gone, busy, not ours...
    pub notes: Vec<String>,
    pub problems: Vec<String>,
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
        stopped
            .chain(deleted)
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

pub enum Step {
    Next(Next),
    Finished(Report),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Nothing,
    Retry,
    Poll,
}

pub struct Cleanup {
    todo: VecDeque<Undo>,
    doing: Option<Undo>,
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
    waited: bool,
    wait_until: Millis,
    wake: Wake,
}

impl Cleanup {
    /// `reason` goes into StopTask's reason (shown as stoppedReason).
    pub fn new(reason: &str, todo: Vec<Undo>, thorough: bool, cancelled: bool) -> Self {
        let queued_runners = todo
            .iter()
            .filter_map(|u| match u {
                Undo::FindRunner { name } | Undo::DeleteRunner { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        Cleanup {
            todo: todo.into(),
            doing: None,
            report: Report::default(),
            thorough,
            cancelled,
            reason: reason.to_string(),
            queued_runners,
            seen_tasks: Vec::new(),
            stopped_arns: Vec::new(),
            waited: false,
            wait_until: 0,
            wake: Wake::Nothing,
        }
    }

    /// Send the next call (or the one a cancel interrupted), or finish.
    pub fn resume<T: Clone + Copy>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        ex: &mut Exchange<T>,
        now: Millis,
        tag: T,
    ) -> Step {
        if self.doing.is_none() {
            self.doing = self.todo.pop_front();
        }
        if self.doing.is_none() && self.thorough && !self.waited && !self.stopped_arns.is_empty() {
            self.waited = true;
            self.wait_until = now + WAIT_STOPPED_MS;
            out.info(format!(
                "Waiting for {} task(s) to stop",
                self.stopped_arns.len()
            ));
            self.doing = Some(Undo::WaitStopped);
        }
        let Some(undo) = self.doing.clone() else {
            return Step::Finished(std::mem::take(&mut self.report));
        };
        let call = match &undo {
            Undo::StopTask(arn) => {
                out.info(format!("Stopping task {}", ecs::task_id(arn)));
                Call::ecs(
                    tag,
                    "StopTask",
                    ecs::stop_task(&s.cluster, arn, &stop_reason(s, &self.reason)),
                )
            }
            Undo::CheckTask(arn) => Call::ecs(
                tag,
                "DescribeTasks",
                ecs::describe_tasks(&s.cluster, std::slice::from_ref(arn), true),
            ),
            Undo::FindTasks { next_token, .. } => Call::ecs(
                tag,
                "ListTasks",
                ecs::list_tasks(
                    &s.cluster,
                    Some(&names::started_by(s)),
                    next_token.as_deref(),
                ),
            ),
            Undo::DescribeFound { arns, .. } => Call::ecs(
                tag,
                "DescribeTasks",
                ecs::describe_tasks(&s.cluster, arns, true),
            ),
            Undo::WaitStopped => Call::ecs(
                tag,
                "DescribeTasks",
                ecs::describe_tasks(&s.cluster, &self.stopped_arns, false),
            ),
            Undo::DeleteRunner { id, name } => {
                out.info(format!("Deleting runner {name} from GitHub"));
                Call::github(
                    tag,
                    "delete runner",
                    "DELETE",
                    github::runner_path(&s.scope, *id),
                    None,
                )
            }
            Undo::FindRunner { name } => Call::github(
                tag,
                "list runners",
                "GET",
                github::runners_by_name_path(&s.scope, name),
                None,
            ),
            Undo::ListRunners { page } => Call::github(
                tag,
                "list runners",
                "GET",
                github::runners_page_path(&s.scope, *page),
                None,
            ),
        };
        Step::Next(ex.send(s, out, call, now))
    }

    pub fn on_responses<T: Clone + Copy>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        ex: &mut Exchange<T>,
        now: Millis,
        tag: T,
        responses: Vec<HttpResponse>,
    ) -> Step {
        match ex.receive(out, responses) {
            Received::Stray => Step::Next(Next::Sleep { ms: 0 }),
            Received::Retry { after_ms } => {
                self.wake = Wake::Retry;
                Step::Next(Next::Sleep {
                    ms: if self.cancelled {
                        after_ms.min(1000)
                    } else {
                        after_ms
                    },
                })
            }
            Received::Answer(call, resp) => {
                if let Some(ms) = self.on_answer(s, out, &call, &resp, now) {
                    self.wake = Wake::Poll;
                    return Step::Next(Next::Sleep { ms });
                }
                self.doing = None;
                self.resume(s, out, ex, now, tag)
            }
        }
    }

    pub fn on_wake<T: Clone + Copy>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        ex: &mut Exchange<T>,
        now: Millis,
        tag: T,
    ) -> Step {
        match std::mem::replace(&mut self.wake, Wake::Nothing) {
            Wake::Retry => Step::Next(ex.resend(s, out, now)),
            _ => self.resume(s, out, ex, now, tag),
        }
    }

    /// A cancel arrived: the request in flight was dropped; send it again.
    pub fn on_cancel<T: Clone + Copy>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        ex: &mut Exchange<T>,
        now: Millis,
        tag: T,
    ) -> Step {
        self.cancelled = true;
        self.wake = Wake::Nothing;
        self.resume(s, out, ex, now, tag)
    }

    fn queue_runner(&mut self, name: &str) {
        if !name.is_empty() && !self.queued_runners.iter().any(|n| n == name) {
            self.queued_runners.push(name.to_string());
            self.todo.push_back(Undo::FindRunner {
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
            self.todo.push_front(Undo::StopTask(t.arn.clone()));
        }
        if self.thorough {
            if let Some(r) = t.tag(names::TAG_RUNNER_ID) {
                let r = r.to_string();
                self.queue_runner(&r);
            }
        }
    }

    /// Handle an answer; Some(ms) to poll again after a sleep.
    fn on_answer<T>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        call: &Call<T>,
        resp: &HttpResponse,
        now: Millis,
    ) -> Option<u64> {
        let ok = (200..300).contains(&resp.status);
        let undo = self.doing.clone()?;
        let failed = || failure_message(call, resp, s);
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
            Undo::CheckTask(arn) => match ecs::parse_tasks(&resp.body).filter(|_| ok) {
                Some(answer) => match answer.tasks.into_iter().find(|t| t.arn == arn || t.id() == arn) {
                    Some(t) => match t.tag(names::TAG_REPOSITORY) {
                        Some(repo) if repo == s.run.repository => self.take_task(&t),
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
                    },
                    None => self.report.notes.push(format!(
                        "task {} is not in cluster {} (already gone)",
                        ecs::task_id(&arn),
                        s.cluster
                    )),
                },
                None => self.report.problems.push(format!("could not look up task {}: {}", ecs::task_id(&arn), failed())),
            },
            Undo::FindTasks { runner_id, .. } => match ecs::parse_list_tasks(&resp.body).filter(|_| ok) {
                Some((arns, next)) => {
                    if let Some(token) = next {
                        self.todo.push_front(Undo::FindTasks { runner_id: runner_id.clone(), next_token: Some(token) });
                    }
                    // DescribeTasks takes at most 100 tasks per call.
                    for chunk in arns.chunks(100) {
                        self.todo.push_front(Undo::DescribeFound { arns: chunk.to_vec(), runner_id: runner_id.clone() });
                    }
                }
                None => self.report.problems.push(format!(
                    "could not list this run's tasks ({}); look for tasks started by {} in cluster {}",
                    failed(),
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
                                Some(r) => t.tag(names::TAG_RUNNER_ID) == Some(r.as_str()),
                                None => true,
                            };
                        if ours {
                            self.take_task(&t);
                        }
                    }
                }
                None => self.report.problems.push(format!("could not describe this run's tasks ({})", failed())),
            },
            Undo::WaitStopped => {
                let tasks = ecs::parse_tasks(&resp.body).filter(|_| ok).map(|a| a.tasks).unwrap_or_default();
                let all_stopped = !tasks.is_empty() && tasks.iter().all(|t| t.last_status == "STOPPED");
                if !all_stopped && now < self.wait_until {
                    return Some(WAIT_POLL_MS);
                }
                for arn in &self.stopped_arns {
                    let id = ecs::task_id(arn).to_string();
                    match tasks.iter().find(|t| &t.arn == arn) {
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
                            self.report.endings.push((id, format!("still {}", t.last_status)));
                        }
                        None => self.report.endings.push((id, "gone".into())),
                    }
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
                    Some(r) => self.todo.push_front(Undo::DeleteRunner { id: r.id, name }),
                    None => self.report.notes.push(format!("runner {name} is not registered (already removed)")),
                },
                None => self.report.problems.push(format!(
                    "could not look up runner {name}: {}",
                    failed()
                )),
            },
            Undo::ListRunners { page } => match github::parse_runners(&resp.body).filter(|_| ok) {
                Some((runners, total)) => {
                    let prefix = names::run_prefix(s);
                    for r in &runners {
                        if r.name.starts_with(&prefix) {
                            self.queue_runner(&r.name);
                        }
                    }
                    if github::more_pages(page, runners.len(), total) {
                        self.todo.push_front(Undo::ListRunners { page: page + 1 });
                    }
                }
                None => self.report.problems.push(format!(
                    "could not list runners: {}",
                    failed()
                )),
            },
        }
        None
    }
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
