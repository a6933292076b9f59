//! Reap mode, for a scheduled workflow: in one cluster, stop the tasks that
//! ecs-runner started for this `context` which are older than `max-age` and
//! whose runner is not busy, and delete the runners ecs-runner registered
//! there that are offline and older than `max-age` (or whose task is gone).
//! `dry-run` only lists what it would do.
//!
//! A runner's age is its task's age: GitHub does not say when a runner was
//! registered. A runner of ours with no live task in this cluster (its task
//! stopped or never started, or it runs in another cluster) is aged by the
//! workflow run named in the runner's name: deleted when offline, not busy,
//! and that run is completed, gone, or started at least `max-age` ago. When
//! the run cannot be read (an organization runner, or a token without
//! Actions: read) such a runner is kept, unless `max-age` is 0.

use crate::aws::ecs::{self, Task};
use crate::aws::taskdef;
use crate::cleanup::{Cleanup, Undo, DESCRIBE_MAX};
use crate::exchange::outbox::Outbox;
use crate::exchange::{self, failure_message, Call, Exchange};
use crate::github::{self, Runner, WorkflowRun};
use crate::names;
use crate::protocol::{Action, Event, HttpResponse, Millis, Next};
use crate::settings::Scope;
use crate::settings::Settings;
use crate::summary;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    ListTasks,
    DescribeTasks,
    ListRunners,
    WorkflowRun,
    /// The family's ACTIVE revisions, then each older one with its tags.
    ListTaskDefinitions,
    DescribeTaskDefinition,
    Remove(Undo),
}

/// What is known of the workflow run that registered an orphan runner.
#[derive(Debug, Clone)]
enum RunAge {
    Gone,
    Known(WorkflowRun),
    Unknown(String),
}

pub struct Reap {
    s: Settings,
    out: Outbox,
    ex: Exchange<Op>,
    listed: Vec<String>,
    described: usize,
    tasks: Vec<Task>,
    runners: Vec<Runner>,
    page: u32,
    /// Run ids still to look up, and what the lookups found.
    run_queue: Option<Vec<String>>,
    runs: std::collections::BTreeMap<String, RunAge>,
    /// (what, name, result) rows for the summary.
    rows: Vec<(String, String, String)>,
    cleanup: Option<Cleanup>,
    /// The family's ACTIVE revisions (ARNs), and the older ones that
    /// ecs-runner registered, each with its registration time (epoch s).
    revisions: Vec<String>,
    old_revisions: Vec<(String, Option<f64>)>,
    describing_revisions: usize,
    /// What reap could not look at (old revisions): the step fails with
    /// it, after doing the rest.
    problems: Vec<String>,
}

impl Reap {
    /// `random`: the shell's random hex digits (retry jitter).
    pub fn new(s: Settings, random: &str) -> Self {
        Reap {
            out: Outbox::for_settings(&s),
            ex: Exchange::new(random),
            listed: Vec::new(),
            described: 0,
            tasks: Vec::new(),
            runners: Vec::new(),
            page: 1,
            run_queue: None,
            runs: Default::default(),
            rows: Vec::new(),
            cleanup: None,
            revisions: Vec::new(),
            old_revisions: Vec::new(),
            describing_revisions: 0,
            problems: Vec::new(),
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
        let next = match event {
            Event::Start => self.begin(now),
            Event::Responses { responses } => {
                let mut next = None;
                for (call, resp) in self.ex.receive(&mut self.out, responses, now) {
                    match (call.tag.clone(), self.cleanup.as_mut()) {
                        (Op::Remove(undo), Some(c)) => {
                            c.on_answer(&self.s, &mut self.out, undo, &call, &resp, now)
                        }
                        (Op::Remove(_), None) => {}
                        _ => next = Some(self.on_answer(now, call, resp)),
                    }
                }
                next.unwrap_or_else(|| self.advance(now))
            }
            Event::Woke => self.advance(now),
            Event::Cancel { signal } => {
                let dropped: Vec<Undo> = self
                    .ex
                    .abandon()
                    .into_iter()
                    .filter_map(|u| match u.call.tag {
                        Op::Remove(undo) => Some(undo),
                        _ => None,
                    })
                    .collect();
                match self.cleanup.as_mut() {
                    Some(c) => {
                        self.out
                            .warning(format!("Got {signal}; finishing what was started"));
                        c.on_cancel(dropped);
                        self.advance(now)
                    }
                    None => Next::Failed {
                        message: format!("Cancelled ({signal}) before anything was removed."),
                        outputs: Default::default(),
                        summary: String::new(),
                    },
                }
            }
        };
        self.out.action(next)
    }

    /// Send what the exchange may send and wait; while removing, finish
    /// once the cleanup has.
    fn advance(&mut self, now: Millis) -> Next {
        if let Some(c) = self.cleanup.as_mut() {
            c.pump(&self.s, &mut self.out, &mut self.ex, now, &Op::Remove);
            if c.is_finished() && self.ex.is_idle() {
                return self.removed();
            }
            let wake = c.wake_at();
            return exchange::wait(&mut self.ex, &self.s, &mut self.out, now, &[wake]);
        }
        exchange::wait(&mut self.ex, &self.s, &mut self.out, now, &[])
    }

    fn send(&mut self, now: Millis, call: Call<Op>) -> Next {
        self.ex.submit(call);
        self.advance(now)
    }

    fn begin(&mut self, now: Millis) -> Next {
        self.out.info(format!(
            "Reaping ecs-runner tasks and runners of {} older than {} minutes in cluster {}{}",
            self.s.scope.display(),
            self.s.max_age_min,
            self.s.cluster,
            if self.s.dry_run {
                " (dry run: nothing is changed)"
            } else {
                ""
            }
        ));
        self.list_tasks(now, None)
    }

    fn list_tasks(&mut self, now: Millis, token: Option<&str>) -> Next {
        let call = Call::ecs(
            Op::ListTasks,
            "ListTasks",
            ecs::list_tasks(&self.s.cluster, None, token),
        );
        self.send(now, call)
    }

    fn on_answer(&mut self, now: Millis, call: Call<Op>, resp: HttpResponse) -> Next {
        if call.tag == Op::WorkflowRun {
            return self.on_workflow_run(now, &call, &resp);
        }
        if call.tag == Op::DescribeTaskDefinition {
            return self.on_revision(now, &call, &resp);
        }
        if call.tag == Op::ListTaskDefinitions && !(200..300).contains(&resp.status) {
            // Tidying old revisions is the last of reap's work: without it
            // the tasks and runners are still reaped.
            let why = failure_message(&call, &resp, &self.s);
            self.problems.push(format!(
                "could not list the old revisions of task definition family {} ({})",
                self.family(),
                why.trim_end_matches('.')
            ));
            return self.decide(now);
        }
        if !(200..300).contains(&resp.status) {
            let message = failure_message(&call, &resp, &self.s);
            return Next::Failed {
                message,
                outputs: Default::default(),
                summary: String::new(),
            };
        }
        match call.tag {
            Op::ListTasks => {
                let Some((arns, token)) = ecs::parse_list_tasks(&resp.body) else {
                    return self.unreadable("ECS ListTasks");
                };
                self.listed.extend(arns);
                match token {
                    Some(t) => self.list_tasks(now, Some(&t)),
                    None => self.describe_next(now),
                }
            }
            Op::DescribeTasks => {
                let Some(answer) = ecs::parse_tasks(&resp.body) else {
                    return self.unreadable("ECS DescribeTasks");
                };
                let scope = self.s.scope.display();
                self.tasks.extend(answer.tasks.into_iter().filter(|t| {
                    t.tag(names::TAG_RUNNER_ID).is_some()
                        && t.tag(names::TAG_CONTEXT) == Some(scope.as_str())
                }));
                self.describe_next(now)
            }
            Op::ListRunners => {
                let Some((runners, total)) = github::parse_runners(&resp.body) else {
                    return self.unreadable("GitHub list runners");
                };
                let more = github::more_pages(self.page, runners.len(), total);
                self.runners.extend(runners);
                if more {
                    self.page += 1;
                    self.list_runners(now)
                } else {
                    self.next_run(now)
                }
            }
            Op::ListTaskDefinitions => {
                let Some((arns, token)) = taskdef::parse_list(&resp.body) else {
                    return self.unreadable("ECS ListTaskDefinitions");
                };
                self.revisions.extend(arns);
                match token {
                    Some(t) => self.list_task_definitions(now, Some(&t)),
                    None => self.describe_revisions(now),
                }
            }
            Op::WorkflowRun | Op::DescribeTaskDefinition | Op::Remove(_) => self.advance(now),
        }
    }

    /// The ACTIVE revisions of the family, a page at a time.
    fn list_task_definitions(&mut self, now: Millis, token: Option<&str>) -> Next {
        let call = Call::ecs(
            Op::ListTaskDefinitions,
            "ListTaskDefinitions",
            taskdef::list_body(self.family(), token),
        );
        self.send(now, call)
    }

    /// The task definition family reap keeps tidy: `task-definition`'s, else
    /// `name` (the family the action registers with `image`).
    fn family(&self) -> &str {
        let td = self.s.task_definition.rsplit('/').next().unwrap_or("");
        td.split(':').next().unwrap_or(td)
    }

    /// Every revision but the latest, with its tags, all at once.
    fn describe_revisions(&mut self, now: Millis) -> Next {
        let family = self.family().to_string();
        let mut ours: Vec<(String, u64)> = self
            .revisions
            .iter()
            .filter_map(|a| taskdef::family_revision(a).map(|(f, r)| (f.to_string(), r, a)))
            .filter(|(f, _, _)| *f == family)
            .map(|(_, r, a)| (a.clone(), r))
            .collect();
        ours.sort_by_key(|(_, r)| *r);
        ours.pop(); // the latest stays, whatever its age
        for (arn, _) in ours {
            self.describing_revisions += 1;
            self.ex.submit(Call::ecs(
                Op::DescribeTaskDefinition,
                "DescribeTaskDefinition",
                ecs::describe_task_definition_with_tags(&arn),
            ));
        }
        if self.describing_revisions == 0 {
            return self.decide(now);
        }
        self.advance(now)
    }

    fn on_revision(&mut self, now: Millis, call: &Call<Op>, resp: &HttpResponse) -> Next {
        self.describing_revisions = self.describing_revisions.saturating_sub(1);
        if (200..300).contains(&resp.status) {
            // Only revisions ecs-runner registered carry the spec tag.
            if let (Some(td), Some(_)) = (
                ecs::parse_task_definition(&resp.body),
                taskdef::spec_tag(&resp.body),
            ) {
                self.old_revisions.push((td.arn, td.registered_at));
            }
        } else {
            let why = failure_message(call, resp, &self.s);
            let named = serde_json::from_str::<serde_json::Value>(&call.body)
                .ok()
                .and_then(|v| v.get("taskDefinition")?.as_str().map(String::from))
                .unwrap_or_default();
            let short = named.rsplit('/').next().unwrap_or("").to_string();
            self.rows.push((
                "task definition".into(),
                short.clone(),
                format!("kept: could not be read ({})", why.trim_end_matches('.')),
            ));
            self.problems.push(format!(
                "could not look at the old revision {short} ({}); it stays ACTIVE",
                why.trim_end_matches('.')
            ));
        }
        if self.describing_revisions == 0 {
            return self.decide(now);
        }
        self.advance(now)
    }

    fn unreadable(&self, what: &str) -> Next {
        Next::Failed {
            message: format!("{what}: unreadable answer"),
            outputs: Default::default(),
            summary: String::new(),
        }
    }

    /// DescribeTasks (with tags) 100 at a time, then the runners.
    fn describe_next(&mut self, now: Millis) -> Next {
        if self.described < self.listed.len() {
            let end = (self.described + DESCRIBE_MAX).min(self.listed.len());
            let chunk = self.listed[self.described..end].to_vec();
            self.described = end;
            let call = Call::ecs(
                Op::DescribeTasks,
                "DescribeTasks",
                ecs::describe_tasks(&self.s.cluster, &chunk, true),
            );
            return self.send(now, call);
        }
        self.list_runners(now)
    }

    fn list_runners(&mut self, now: Millis) -> Next {
        let call = Call::github(
            Op::ListRunners,
            "list runners",
            "GET",
            github::runners_page_path(&self.s.scope, self.page),
            None,
        );
        self.send(now, call)
    }

    /// An orphan: a runner of ours, offline and idle, with no live task in
    /// this cluster. Its age comes from its workflow run.
    fn is_orphan(&self, r: &Runner) -> bool {
        is_ours(r) && !r.busy && r.status != "online" && self.live_task_of(r).is_none()
    }

    /// The runner's task in this cluster, unless it is stopping or stopped.
    fn live_task_of(&self, r: &Runner) -> Option<&Task> {
        self.tasks
            .iter()
            .find(|t| t.tag(names::TAG_RUNNER_ID) == Some(r.name.as_str()) && !t.is_stopping())
    }

    /// Look up, one at a time, the workflow runs of the orphan runners.
    fn next_run(&mut self, now: Millis) -> Next {
        if self.run_queue.is_none() {
            let mut ids: Vec<String> = if self.s.max_age_min == 0 {
                Vec::new() // everything of ours is old enough
            } else {
                self.runners
                    .iter()
                    .filter(|r| self.is_orphan(r))
                    .filter_map(|r| names::run_id_in(&r.name).map(String::from))
                    .collect()
            };
            ids.sort();
            ids.dedup();
            ids.reverse(); // popped from the back: oldest first
            self.run_queue = Some(ids);
        }
        let Scope::Repo { owner, repo } = self.s.scope.clone() else {
            return self.list_task_definitions(now, None);
        };
        match self.run_queue.as_mut().and_then(Vec::pop) {
            Some(id) => {
                let path = github::workflow_run_path(&owner, &repo, &id);
                let call = Call::github(Op::WorkflowRun, "get workflow run", "GET", path, None);
                self.send(now, call)
            }
            None => self.list_task_definitions(now, None),
        }
    }

    fn on_workflow_run(&mut self, now: Millis, call: &Call<Op>, resp: &HttpResponse) -> Next {
        let id = call.path.rsplit('/').next().unwrap_or("").to_string();
        let age = match resp.status {
            200..=299 => match github::parse_workflow_run(&resp.body) {
                Some(run) => RunAge::Known(run),
                None => RunAge::Unknown("unreadable answer to GET workflow run".into()),
            },
            404 => RunAge::Gone,
            401 | 403 => RunAge::Unknown(format!(
                "GitHub answered HTTP {} to GET workflow run {id}; give the token \"Actions: read\" on {} (classic token: repo scope) so reap can age runners whose task is gone",
                resp.status,
                self.s.scope.display()
            )),
            _ => RunAge::Unknown(failure_message(call, resp, &self.s)),
        };
        if let RunAge::Unknown(why) = &age {
            self.out
                .warning(format!("Cannot tell the age of run {id}'s runners: {why}"));
        }
        self.runs.insert(id, age);
        self.next_run(now)
    }

    /// Whether an orphan runner is old enough to delete, and why.
    fn orphan_verdict(&self, r: &Runner, now: Millis) -> (bool, String) {
        let max = self.s.max_age_min;
        if max == 0 {
            return (true, "offline, no live task in this cluster".into());
        }
        let run = names::run_id_in(&r.name).unwrap_or_default().to_string();
        match self.runs.get(&run) {
            Some(RunAge::Gone) => (
                true,
                format!("offline, no live task, run {run} no longer exists"),
            ),
            Some(RunAge::Known(w)) if w.status == "completed" => (
                true,
                format!("offline, no live task, run {run} is completed"),
            ),
            Some(RunAge::Known(WorkflowRun {
                started_at: Some(t),
                ..
            })) => {
                let age = (now / 1000).saturating_sub(*t) / 60;
                if age >= max {
                    (
                        true,
                        format!("offline, no live task, run {run} started {age} min ago"),
                    )
                } else {
                    (false, format!("offline, no live task in this cluster, run {run} started {age} min ago (younger than max-age)"))
                }
            }
            Some(RunAge::Known(_)) => (
                false,
                format!("offline, no live task, run {run} has no start time"),
            ),
            Some(RunAge::Unknown(_)) => (
                false,
                format!("offline, no live task, age unknown (cannot read run {run})"),
            ),
            None => (
                false,
                "offline, no live task, age unknown (organization runner; max-age 0 removes it)"
                    .into(),
            ),
        }
    }

    fn age_min(&self, t: &Task, now: Millis) -> Option<u64> {
        t.created_at
            .map(|c| (now as f64 / 1000.0 - c).max(0.0) as u64 / 60)
    }

    fn decide(&mut self, now: Millis) -> Next {
        let max = self.s.max_age_min;
        let mut todo = Vec::new();
        let mut stopping: Vec<String> = Vec::new();
        for t in &self.tasks {
            if t.is_stopping() {
                continue;
            }
            let runner_name = t.tag(names::TAG_RUNNER_ID).unwrap_or("");
            let runner = self.runners.iter().find(|r| r.name == runner_name);
            let age = self.age_min(t, now);
            let age_words = age
                .map(|a| format!("{a} min old"))
                .unwrap_or_else(|| "age unknown".into());
            let (verdict, why) = match (age, runner) {
                (Some(a), _) if a < max => (false, format!("{age_words}, younger than max-age")),
                (None, _) if max > 0 => (false, "ECS gave no creation time".into()),
                (_, Some(r)) if r.busy => (
                    false,
                    format!("{age_words}, runner {} is busy with a job", r.name),
                ),
                _ => (true, format!("{age_words}, runner not busy")),
            };
            if verdict {
                todo.push(Undo::StopTask(t.arn.clone()));
                stopping.push(runner_name.to_string());
            }
            self.rows.push((
                "task".into(),
                t.id().to_string(),
                format!("{}: {why}", self.verb(verdict, "stop")),
            ));
        }
        for r in self.runners.iter().filter(|r| is_ours(r)) {
            let task = self.live_task_of(r);
            let (verdict, why) = if r.busy {
                (false, "busy with a job".to_string())
            } else if stopping.iter().any(|n| n == &r.name) {
                (true, "its task is being stopped".to_string())
            } else if r.status == "online" {
                (false, "online, waiting for a job".to_string())
            } else {
                match task {
                    Some(t) => match self.age_min(t, now) {
                        Some(a) if a >= max => (true, format!("offline, task {a} min old")),
                        Some(a) => (
                            false,
                            format!("offline, task {a} min old, younger than max-age"),
                        ),
                        None => (false, "offline, task age unknown".into()),
                    },
                    None => self.orphan_verdict(r, now),
                }
            };
            if verdict {
                todo.push(Undo::DeleteRunner {
                    id: r.id,
                    name: r.name.clone(),
                });
            }
            self.rows.push((
                "runner".into(),
                r.name.clone(),
                format!("{}: {why}", self.verb(verdict, "delete")),
            ));
        }
        self.old_revisions.sort_by(|a, b| a.0.cmp(&b.0));
        for (arn, registered) in &self.old_revisions {
            let age = registered.map(|r| (now as f64 / 1000.0 - r).max(0.0) as u64 / 60);
            let (verdict, why) = match age {
                Some(a) if a >= max => (true, format!("not the latest, registered {a} min ago")),
                Some(a) => (
                    false,
                    format!("not the latest, registered {a} min ago (younger than max-age)"),
                ),
                None if max == 0 => (true, "not the latest".to_string()),
                None => (false, "ECS gave no registration time".to_string()),
            };
            if verdict {
                todo.push(Undo::DeregisterTaskDefinition(arn.clone()));
            }
            self.rows.push((
                "task definition".into(),
                arn.rsplit('/').next().unwrap_or(arn).to_string(),
                format!("{}: {why}", self.verb(verdict, "deregister and delete")),
            ));
        }
        for p in &self.problems {
            self.rows.push(("problem".into(), String::new(), p.clone()));
        }
        if self.rows.is_empty() {
            self.rows.push((
                "note".into(),
                String::new(),
                "no ecs-runner task or runner found".into(),
            ));
        }
        if self.s.dry_run || todo.is_empty() {
            for (what, name, result) in &self.rows {
                self.out.info(format!("{what} {name}: {result}"));
            }
            let would_stop: Vec<String> = todo
                .iter()
                .filter_map(|u| {
                    if let Undo::StopTask(arn) = u {
                        Some(arn.clone())
                    } else {
                        None
                    }
                })
                .collect();
            let would_delete: Vec<String> = todo
                .iter()
                .filter_map(|u| {
                    if let Undo::DeleteRunner { name, .. } = u {
                        Some(name.clone())
                    } else {
                        None
                    }
                })
                .collect();
            let md = summary::list(&self.s, "ecs-runner reap", &self.rows);
            let problems = self.problems.clone();
            return crate::cleanup::conclude(
                "Reap",
                &self.s,
                &would_stop,
                &would_delete,
                &problems,
                md,
            );
        }
        let reason = format!("reaped: older than {max} minutes and its runner not busy");
        self.cleanup = Some(Cleanup::new(&reason, todo, false, false));
        self.advance(now)
    }

    fn verb(&self, yes: bool, verb: &str) -> String {
        match (yes, self.s.dry_run) {
            (false, _) => "kept".into(),
            (true, true) => format!("would {verb}"),
            (true, false) => verb.to_string(),
        }
    }

    fn removed(&mut self) -> Next {
        let report = match self.cleanup.as_mut() {
            Some(c) => c.take_report(),
            None => Default::default(),
        };
        for p in &report.problems {
            self.rows.push(("problem".into(), String::new(), p.clone()));
        }
        for d in report.done() {
            self.out.info(format!("Done: {d}"));
        }
        let md = summary::list(&self.s, "ecs-runner reap", &self.rows);
        let mut problems = self.problems.clone();
        problems.extend(report.problems);
        crate::cleanup::conclude(
            "Reap",
            &self.s,
            &report.stopped_tasks,
            &report.deleted,
            &problems,
            md,
        )
    }
}

/// A runner ecs-runner registered: labelled with its own name and named
/// `{name}-{run id}-{attempt}-{8 hex}[-N]` (docs/behaviour.md).
pub fn is_ours(r: &Runner) -> bool {
    let has = |l: &str| r.labels.iter().any(|x| x.eq_ignore_ascii_case(l));
    // `ephemeral` is not there with `default-labels: false`: the name's
    // shape and the runner's own name as a label are what ecs-runner gives.
    names::run_id_in(&r.name).is_some() && has(&r.name)
}
