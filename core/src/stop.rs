//! Stop mode: remove what a start launched. With `task-arn` and/or
//! `runner-id` it removes those (and the runner named by the task's tags);
//! with neither (the launch job was cancelled before it set its outputs) it
//! finds this workflow run's tasks by `startedBy` and tags, and this run's
//! runners by name. Idempotent: what is already gone is a success.

use crate::aws::ecs::{self, Task};
use crate::aws::logs;
use crate::cleanup::{Cleanup, Report, Undo, DESCRIBE_MAX};
use crate::exchange::outbox::Outbox;
use crate::exchange::{self, Call, Exchange};
use crate::protocol::{Action, Event, HttpResponse, Millis, Next};
use crate::settings::Settings;
use crate::summary;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Undo(Undo),
    /// The definition of crashed task `i` (for its log configuration),
    /// then its runner's last log lines.
    TaskDefinition(usize),
    LogTail(usize),
}

/// A task whose runner exited with an error before stop stopped it: its
/// last log lines are shown.
struct Crashed {
    task: Task,
    container: String,
    lines: Option<Vec<String>>,
    note: Option<String>,
}

pub struct Stop {
    s: Settings,
    out: Outbox,
    ex: Exchange<Op>,
    cleanup: Cleanup,
    /// Set when the cleanup is done: its report, and the crashed tasks
    /// whose logs are being read.
    report: Option<Report>,
    crashed: Vec<Crashed>,
}

impl Stop {
    /// `random`: the shell's random hex digits (retry jitter).
    pub fn new(s: Settings, random: &str) -> Self {
        let mut todo = Vec::new();
        for chunk in s.task_arns.chunks(DESCRIBE_MAX) {
            todo.push(Undo::CheckTasks(chunk.to_vec()));
        }
        if s.task_arns.is_empty() {
            todo.push(Undo::FindTasks {
                runner_id: s.runner_id.clone(),
                next_token: None,
            });
        }
        // The runner id names one runner or a fleet's label: list the
        // runners and take the step's ([`crate::names::in_step`]); with
        // neither input, every runner of this run.
        if s.runner_id.is_some() || s.task_arns.is_empty() {
            todo.push(Undo::ListRunners {
                page: 1,
                step: s.runner_id.clone(),
            });
        }
        let cleanup = Cleanup::new("stop requested", todo, true, false);
        Stop {
            out: Outbox::for_settings(&s),
            ex: Exchange::new(random),
            cleanup,
            report: None,
            crashed: Vec::new(),
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
            Event::Start => self.begin(),
            Event::Responses { responses } => {
                for (call, resp) in self.ex.receive(&mut self.out, responses, now) {
                    match call.tag.clone() {
                        Op::Undo(undo) => {
                            self.cleanup
                                .on_answer(&self.s, &mut self.out, undo, &call, &resp, now)
                        }
                        Op::TaskDefinition(i) => self.on_task_definition(i, &resp),
                        Op::LogTail(i) => self.on_log_tail(i, &resp),
                    }
                }
            }
            Event::Woke => {}
            Event::Cancel { signal } => {
                self.out
                    .warning(format!("Got {signal}; finishing the stop first"));
                let dropped = self
                    .ex
                    .abandon()
                    .into_iter()
                    .filter_map(|u| match u.call.tag {
                        Op::Undo(undo) => Some(undo),
                        _ => None, // logs are a nicety: not under a cancel
                    })
                    .collect();
                self.cleanup.on_cancel(dropped);
            }
        }
        self.cleanup
            .pump(&self.s, &mut self.out, &mut self.ex, now, &Op::Undo);
        if self.report.is_none() && self.cleanup.is_finished() && self.ex.is_idle() {
            let report = self.cleanup.take_report();
            if !self.cleanup.cancelled {
                self.read_crash_logs(&report);
            }
            self.report = Some(report);
        }
        let next = if self.report.is_some() && self.ex.is_idle() {
            let report = self.report.take().unwrap_or_default();
            self.finish(report)
        } else {
            let wake = self.cleanup.wake_at();
            exchange::wait(&mut self.ex, &self.s, &mut self.out, now, &[wake])
        };
        self.out.action(next)
    }

    /// Tasks whose runner ended without taking a job: look up where it
    /// logged. The stock image maps the listener's own failures (a bad JIT
    /// configuration, a deprecated version, a session conflict) to exit
    /// code 0 (actions/runner, run-helper.sh), so the exit code alone does
    /// not tell: a task that ended by itself (not by a StopTask: stop code
    /// other than UserInitiated) whose runner GitHub still had (an
    /// ephemeral runner that ran its job is removed by GitHub) ended
    /// without a job; so did one whose container exited with an error
    /// other than the SIGTERM or SIGKILL of a stop (143, 137).
    fn read_crash_logs(&mut self, report: &Report) {
        for t in report.tasks.iter().filter(|t| t.last_status == "STOPPED") {
            let errored = t.containers.iter().find(|c| {
                c.exit_code
                    .is_some_and(|code| code != 0 && code != 137 && code != 143)
            });
            let by_itself = !t.stop_code.is_empty() && t.stop_code != "UserInitiated";
            let still_registered = t
                .tag(crate::names::TAG_RUNNER_ID)
                .is_some_and(|name| report.deleted.iter().any(|d| d == name));
            let ended_without_job = by_itself && still_registered;
            let runner = t
                .containers
                .iter()
                .find(|c| self.s.container_name.as_ref() == Some(&c.name))
                .or_else(|| {
                    t.containers
                        .iter()
                        .find(|c| c.name == crate::aws::taskdef::CONTAINER)
                })
                .or(t.containers.first());
            let crashed = errored.or(runner.filter(|_| ended_without_job));
            let (Some(c), false) = (crashed, t.task_definition_arn.is_empty()) else {
                continue;
            };
            self.out.warning(format!(
                "Task {} ended by itself ({}) and its runner {}: its log follows where it can be read",
                t.id(),
                t.ending(),
                if still_registered {
                    "had not taken a job (GitHub still had it registered)"
                } else {
                    "exited with an error"
                }
            ));
            self.crashed.push(Crashed {
                task: t.clone(),
                container: c.name.clone(),
                lines: None,
                note: None,
            });
            let i = self.crashed.len() - 1;
            self.ex.submit(Call::ecs(
                Op::TaskDefinition(i),
                "DescribeTaskDefinition",
                ecs::describe_task_definition(&t.task_definition_arn),
            ));
        }
    }

    fn on_task_definition(&mut self, i: usize, resp: &HttpResponse) {
        let ok = (200..300).contains(&resp.status);
        let td = ecs::parse_task_definition(&resp.body).filter(|_| ok);
        let c = &mut self.crashed[i];
        if !ok {
            let err = crate::aws::error::parse(resp);
            c.note = Some(format!(
                "Task {}'s runner ended early, but its task definition could not be read to find its log ({}: {}); `ecs:DescribeTaskDefinition` lets the step show it.",
                c.task.id(),
                err.code,
                err.message.trim_end_matches('.')
            ));
            return;
        }
        let Some(logs) = td.as_ref().and_then(|td| td.logs_of(&c.container)) else {
            c.note = Some(format!(
                "Task {}'s runner ended early; its container {} does not log to CloudWatch, so its output cannot be shown here.",
                c.task.id(),
                c.container
            ));
            return;
        };
        let stream = logs::stream(logs, &c.container, c.task.id());
        self.ex.submit(Call::logs(
            Op::LogTail(i),
            "GetLogEvents",
            logs::get_log_events(&logs.group, &stream),
        ));
    }

    fn on_log_tail(&mut self, i: usize, resp: &HttpResponse) {
        let c = &mut self.crashed[i];
        if (200..300).contains(&resp.status) {
            match logs::parse_events(&resp.body) {
                Some(lines) if !lines.is_empty() => c.lines = Some(lines),
                _ => c.note = Some(format!("Task {}'s runner log has no lines.", c.task.id())),
            }
        } else {
            let err = crate::aws::error::parse(resp);
            c.note = Some(format!(
                "Task {}'s runner ended early, but its log cannot be shown ({}: {}); `logs:GetLogEvents` on its log group lets the step show it.",
                c.task.id(),
                err.code,
                err.message
            ));
        }
    }

    fn begin(&mut self) {
        let tasks = match self.s.task_arns.as_slice() {
            [] => None,
            [one] => Some(format!("task {one}")),
            many => Some(format!("{} tasks", many.len())),
        };
        let what = match (tasks, &self.s.runner_id) {
            (None, None) => format!(
                "this workflow run's tasks and runners (run {}; none were named)",
                self.s.run.run_id
            ),
            (Some(t), None) => t,
            (None, Some(r)) => format!("the runners of {r} and their tasks"),
            (Some(t), Some(r)) => format!("{t} and the runners of {r}"),
        };
        self.out.info(format!(
            "Stopping {what} in cluster {} for {}",
            self.s.cluster,
            self.s.scope.display()
        ));
    }

    fn finish(&mut self, report: Report) -> Next {
        let mut rows: Vec<(String, String, String)> = Vec::new();
        for (id, ending) in &report.endings {
            rows.push(("task".into(), id.clone(), format!("stopped: {ending}")));
        }
        for name in &report.deleted {
            rows.push(("runner".into(), name.clone(), "deleted from GitHub".into()));
        }
        for line in &report.notes {
            rows.push(("note".into(), String::new(), line.clone()));
        }
        for line in &report.problems {
            rows.push(("problem".into(), String::new(), line.clone()));
        }
        if rows.is_empty() {
            rows.push((
                "note".into(),
                String::new(),
                "nothing of this run was found: nothing to do".into(),
            ));
        }
        for line in report.done() {
            self.out.info(format!("Done: {line}"));
        }
        let mut md = summary::list(&self.s, "ecs-runner stop", &rows);
        for c in &self.crashed {
            if let Some(lines) = &c.lines {
                let title = format!(
                    "Task {} (runner {}): the last {} lines of its log",
                    c.task.id(),
                    c.task.tag(crate::names::TAG_RUNNER_ID).unwrap_or("?"),
                    lines.len()
                );
                let token = self.ex.token();
                self.out.group(title.clone(), lines, &token);
                md.push_str(&summary::details(&title, lines));
            }
            if let Some(note) = &c.note {
                self.out.info(note.clone());
                md.push_str(&format!("\n{note}\n"));
            }
        }
        if report.problems.is_empty() {
            self.out.info("Stop finished");
        }
        crate::cleanup::conclude(
            "Stop",
            &self.s,
            &report.stopped_tasks,
            &report.deleted,
            &report.problems,
            md,
        )
    }
}
