//! Phases 4 and 6: DescribeTasks for the tasks not yet RUNNING (the timing
//! is in `mod.rs`), until each is RUNNING or has stopped; then, with
//! `wait-for-registration`, GitHub until every runner is online, the tasks
//! still watched.

use std::collections::BTreeMap;

use crate::aws::ecs::{self, Task};
use crate::cleanup::DESCRIBE_MAX;
use crate::exchange::Call;
use crate::github;
use crate::names;
use crate::protocol::Millis;

use super::{
    capacity_text, Op, Stage, Start, FIRST_POLL_MS, MAX_UNREADABLE_LOOKS, MISSING_GRACE_MS,
    OLD_POLL_MS, ONLINE_POLL_MS, YOUNG_FOR_MS, YOUNG_POLL_MS,
};

impl Start {
    /// When to look at the pending tasks next: about a second after the
    /// newest one's RunTask if it was never looked at, else every second
    /// while any is young, every two seconds after.
    pub(super) fn schedule_poll(&mut self, now: Millis) {
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
    pub(super) fn watched(&self, i: usize) -> bool {
        let l = &self.launches[i];
        l.pending() || (self.stage == Stage::WaitOnline && l.task.is_some() && !l.online)
    }

    /// DescribeTasks of every watched task, 100 per call.
    pub(super) fn describe_pending(&mut self, _now: Millis) {
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

    pub(super) fn on_describe(&mut self, now: Millis, asked: &[usize], body: &str) {
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
    pub(super) fn tally(&mut self, now: Millis) {
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

    /// Ask GitHub about the runners not yet online: one runner by id (or
    /// name), a fleet by listing the runners.
    pub(super) fn check_online(&mut self) {
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

    pub(super) fn list_runners(&mut self, page: u32) {
        self.ex.submit(Call::github(
            Op::RunnerList(page),
            "list runners",
            "GET",
            github::runners_page_path(&self.s.scope, page),
            None,
        ));
    }

    pub(super) fn on_runner_status(&mut self, now: Millis, i: usize, body: &str) {
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

    pub(super) fn on_runner_list(&mut self, now: Millis, page: u32, body: &str) {
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

    pub(super) fn came_online(&mut self, now: Millis, i: usize) {
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
}

/// A task stopped before RUNNING because its capacity went away or never
/// came: a Spot interruption, or a stopped reason about capacity.
pub(super) fn stopped_for_capacity(t: &Task) -> bool {
    t.stop_code == "SpotInterruption"
        || capacity_text(&t.stopped_reason)
        || t.containers.iter().any(|c| capacity_text(&c.reason))
}
