//! Stop mode: remove what a start launched. With `task-arn` and/or
//! `runner-id` it removes those (and the runner named by the task's tags);
//! with neither (the launch job was cancelled before it set its outputs) it
//! finds this workflow run's tasks by `startedBy` and tags, and this run's
//! runners by name. Idempotent: what is already gone is a success.

use crate::cleanup::{Cleanup, Report, Undo, DESCRIBE_MAX};
use crate::exchange::{self, Exchange};
use crate::outbox::Outbox;
use crate::protocol::{Action, Event, Millis, Next};
use crate::settings::Settings;
use crate::summary;

pub struct Stop {
    s: Settings,
    out: Outbox,
    ex: Exchange<Undo>,
    cleanup: Cleanup,
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
            s,
        }
    }

    pub fn step(&mut self, now: Millis, event: Event) -> Action {
        match event {
            Event::Start => self.begin(),
            Event::Responses { responses } => {
                for (call, resp) in self.ex.receive(&mut self.out, responses, now) {
                    let undo = call.tag.clone();
                    self.cleanup
                        .on_answer(&self.s, &mut self.out, undo, &call, &resp, now);
                }
            }
            Event::Woke => {}
            Event::Cancel { signal } => {
                self.out
                    .warning(format!("Got {signal}; finishing the stop first"));
                let dropped = self.ex.abandon().into_iter().map(|u| u.call.tag).collect();
                self.cleanup.on_cancel(dropped);
            }
        }
        self.cleanup
            .pump(&self.s, &mut self.out, &mut self.ex, now, &|u| u);
        let next = if self.cleanup.is_finished() && self.ex.is_idle() {
            let report = self.cleanup.take_report();
            self.finish(report)
        } else {
            let wake = self.cleanup.wake_at();
            exchange::wait(&mut self.ex, &self.s, &mut self.out, now, &[wake])
        };
        self.out.action(next)
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
        let md = summary::list(&self.s, "ecs-runner stop", &rows);
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
