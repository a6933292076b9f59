//! Undoing a failed or cancelled start: stop the task, delete the runner,
//! then fail the step with what went wrong and what was undone. Each undo
//! step that fails is reported (with the command to finish it by hand) and
//! the others still run: a half cleanup beats none.

use std::collections::{BTreeMap, VecDeque};

use crate::ecs;
use crate::exchange::{Call, Exchange, Received};
use crate::github;
use crate::names;
use crate::outbox::Outbox;
use crate::protocol::{HttpResponse, Millis, Next};
use crate::settings::Settings;
use crate::summary;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    StopTask(String),
    /// Find this run's tasks (by startedBy and tags) and stop them; with a
    /// runner id, only that runner's.
    FindTasks { runner_id: Option<String> },
    /// DescribeTasks of what FindTasks listed.
    DescribeFound { arns: Vec<String>, runner_id: Option<String> },
    DeleteRunner { id: u64, name: String },
    /// Token registration: the runner may have registered itself by now.
    FindRunner { name: String },
}

pub struct Cleanup {
    message: String,
    todo: VecDeque<Undo>,
    doing: Option<Undo>,
    done: Vec<String>,
    problems: Vec<String>,
    outputs: BTreeMap<String, String>,
    row: summary::Row,
    pub cancelled: bool,
}

impl Cleanup {
    pub fn new(
        message: String,
        todo: Vec<Undo>,
        outputs: BTreeMap<String, String>,
        row: summary::Row,
        cancelled: bool,
    ) -> Self {
        Cleanup {
            message,
            todo: todo.into(),
            doing: None,
            done: Vec::new(),
            problems: Vec::new(),
            outputs,
            row,
            cancelled,
        }
    }

    /// Send the next undo call (or the one a cancel interrupted), or finish.
    pub fn resume<T: Clone + Copy>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        ex: &mut Exchange<T>,
        now: Millis,
        tag: T,
    ) -> Next {
        if self.doing.is_none() {
            self.doing = self.todo.pop_front();
        }
        let Some(undo) = self.doing.clone() else {
            return self.finish(s, out);
        };
        let call = match &undo {
            Undo::StopTask(arn) => {
                out.info(format!("Stopping task {}", ecs::task_id(arn)));
                Call::ecs(tag, "StopTask", ecs::stop_task(&s.cluster, arn, &stop_reason(s, &self.message)))
            }
            Undo::FindTasks { .. } => Call::ecs(
                tag,
                "ListTasks",
                ecs::list_tasks(&s.cluster, Some(&names::started_by(s)), None),
            ),
            Undo::DescribeFound { arns, .. } => {
                Call::ecs(tag, "DescribeTasks", ecs::describe_tasks(&s.cluster, arns, true))
            }
            Undo::DeleteRunner { id, name } => {
                out.info(format!("Deleting runner {name} from GitHub"));
                Call::github(tag, "delete runner", "DELETE", github::runner_path(&s.scope, *id), None)
            }
            Undo::FindRunner { name } => Call::github(
                tag,
                "list runners",
                "GET",
                github::runners_by_name_path(&s.scope, name),
                None,
            ),
        };
        ex.send(s, out, call, now)
    }

    pub fn on_responses<T: Clone + Copy>(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        ex: &mut Exchange<T>,
        now: Millis,
        tag: T,
        responses: Vec<HttpResponse>,
    ) -> Next {
        match ex.receive(out, responses) {
            Received::Stray => Next::Sleep { ms: 0 },
            Received::Retry { after_ms } => {
                // Under cancellation the runner gives us seconds, not
                // minutes: retry once, quickly.
                Next::Sleep { ms: if self.cancelled { after_ms.min(1000) } else { after_ms } }
            }
            Received::Answer(call, resp) => {
                self.on_answer(s, &call, &resp);
                self.doing = None;
                self.resume(s, out, ex, now, tag)
            }
        }
    }

    fn on_answer<T>(&mut self, s: &Settings, call: &Call<T>, resp: &HttpResponse) {
        let ok = (200..300).contains(&resp.status);
        let Some(undo) = self.doing.clone() else { return };
        match undo {
            Undo::StopTask(arn) => {
                let id = ecs::task_id(&arn).to_string();
                if ok {
                    self.done.push(format!("stopped task {id}"));
                } else {
                    self.problems.push(format!(
                        "could not stop task {id} ({}); stop it with `aws ecs stop-task --cluster {} --task {arn}`",
                        crate::start::aws_message(call, resp, s),
                        s.cluster
                    ));
                }
            }
            Undo::FindTasks { runner_id } => match ecs::parse_list_tasks(&resp.body) {
                Some((arns, _)) if ok && !arns.is_empty() => {
                    // DescribeTasks takes at most 100 tasks per call.
                    for chunk in arns.chunks(100) {
                        self.todo.push_front(Undo::DescribeFound {
                            arns: chunk.to_vec(),
                            runner_id: runner_id.clone(),
                        });
                    }
                }
                Some(_) if ok => {}
                _ => self.problems.push(format!(
                    "could not list this run's tasks ({}); look for tasks started by {} in cluster {}",
                    crate::start::aws_message(call, resp, s),
                    names::started_by(s),
                    s.cluster
                )),
            },
            Undo::DescribeFound { runner_id, .. } => {
                let tasks = if ok { ecs::parse_tasks(&resp.body) } else { None };
                match tasks {
                    Some(answer) => {
                        for t in answer.tasks {
                            let ours = t.tag(names::TAG_REPOSITORY) == Some(s.run.repository.as_str())
                                && t.tag(names::TAG_RUN_ID) == Some(s.run.run_id.as_str())
                                && match &runner_id {
                                    Some(r) => t.tag(names::TAG_RUNNER_ID) == Some(r.as_str()),
                                    None => true,
                                };
                            if ours && t.last_status != "STOPPED" && t.desired_status != "STOPPED" {
                                self.todo.push_front(Undo::StopTask(t.arn.clone()));
                            }
                        }
                    }
                    None => self.problems.push(format!(
                        "could not describe this run's tasks ({})",
                        crate::start::aws_message(call, resp, s)
                    )),
                }
            }
            Undo::DeleteRunner { id, name } => match resp.status {
                200..=299 => self.done.push(format!("deleted runner {name} from GitHub")),
                404 => self.done.push(format!("runner {name} was already gone from GitHub")),
                _ => self.problems.push(format!(
                    "could not delete runner {name} (GitHub id {id}): {}; delete it under Settings → Actions → Runners",
                    github::error_message(call.operation, &s.scope, resp)
                )),
            },
            Undo::FindRunner { name } => match github::parse_runners(&resp.body) {
                Some((runners, _)) if ok => match runners.into_iter().find(|r| r.name == name) {
                    Some(r) => self.todo.push_front(Undo::DeleteRunner { id: r.id, name }),
                    None => self.done.push(format!("runner {name} never registered with GitHub")),
                },
                _ => self.problems.push(format!(
                    "could not look up runner {name}: {}",
                    github::error_message(call.operation, &s.scope, resp)
                )),
            },
        }
    }

    fn finish(&mut self, s: &Settings, out: &mut Outbox) -> Next {
        let mut message = self.message.clone();
        if !self.done.is_empty() {
            message.push_str(&format!("\nCleaned up: {}.", self.done.join("; ")));
        }
        if !self.problems.is_empty() {
            message.push_str(&format!("\nLeft behind: {}.", self.problems.join("; ")));
            for p in &self.problems {
                out.warning(format!("Cleanup: {p}"));
            }
        }
        Next::Failed {
            message: message.clone(),
            outputs: self.outputs.clone(),
            summary: summary::table(s, &[self.row.clone()], Some(&message)),
        }
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
