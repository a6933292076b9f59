//! Stop mode: remove what a start launched. With `task-arn` and/or
//! `runner-id` it removes those (and the runner named by the task's tags);
//! with neither (the launch job was cancelled before it set its outputs) it
//! finds this workflow run's tasks by `startedBy` and tags, and this run's
//! runners by name. Idempotent: what is already gone is a success.

use crate::cleanup::{Cleanup, Report, Step, Undo};
use crate::exchange::Exchange;
use crate::outbox::Outbox;
use crate::protocol::{Action, Event, HttpResponse, Millis, Next};
use crate::settings::Settings;
use crate::summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remove;

pub struct Stop {
    s: Settings,
    out: Outbox,
    ex: Exchange<Remove>,
    cleanup: Cleanup,
}

impl Stop {
    pub fn new(s: Settings) -> Self {
        let mut todo = Vec::new();
        if let Some(arn) = &s.task_arn {
            todo.push(Undo::CheckTask(arn.clone()));
        } else {
            todo.push(Undo::FindTasks {
                runner_id: s.runner_id.clone(),
                next_token: None,
            });
        }
        if let Some(name) = &s.runner_id {
            todo.push(Undo::FindRunner { name: name.clone() });
        }
        if s.task_arn.is_none() && s.runner_id.is_none() {
            todo.push(Undo::ListRunners { page: 1 });
        }
        let cleanup = Cleanup::new("stop requested", todo, true, false);
        Stop {
            out: Outbox::for_settings(&s),
            ex: Exchange::default(),
            cleanup,
            s,
        }
    }

    pub fn step(&mut self, now: Millis, event: Event) -> Action {
        let step = match event {
            Event::Start => self.begin(now),
            Event::Responses { responses } => self.on_responses(now, responses),
            Event::Woke => self
                .cleanup
                .on_wake(&self.s, &mut self.out, &mut self.ex, now, Remove),
            Event::Cancel { signal } => {
                self.out
                    .warning(format!("Got {signal}; finishing the stop first"));
                self.ex.abandon();
                self.cleanup
                    .on_cancel(&self.s, &mut self.out, &mut self.ex, now, Remove)
            }
        };
        let next = match step {
            Step::Next(next) => next,
            Step::Finished(report) => self.finish(report),
        };
        self.out.action(next)
    }

    fn begin(&mut self, now: Millis) -> Step {
        let what = match (&self.s.task_arn, &self.s.runner_id) {
            (None, None) => format!(
                "this workflow run's tasks and runners (run {}; none were named)",
                self.s.run.run_id
            ),
            (Some(t), None) => format!("task {t}"),
            (None, Some(r)) => format!("runner {r} and its task"),
            (Some(t), Some(r)) => format!("task {t} and runner {r}"),
        };
        self.out.info(format!(
            "Stopping {what} in cluster {} for {}",
            self.s.cluster,
            self.s.scope.display()
        ));
        self.cleanup
            .resume(&self.s, &mut self.out, &mut self.ex, now, Remove)
    }

    fn on_responses(&mut self, now: Millis, responses: Vec<HttpResponse>) -> Step {
        self.cleanup
            .on_responses(&self.s, &mut self.out, &mut self.ex, now, Remove, responses)
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
