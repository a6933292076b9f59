//! Phase 3: each runner's RunTask, its own credential in the container
//! overrides; no capacity, in the answer or (`watch.rs`) in the task's
//! stop, starts it again on `capacity-fallback`.

use serde_json::{json, Value};

use crate::aws::ecs;
use crate::exchange::Call;
use crate::names;
use crate::placeholders;
use crate::protocol::Millis;
use crate::runner_image;
use crate::settings::Placement;
use crate::summary;

use super::{capacity_text, placement_words, Op, Start};
use crate::runner_image::MAX_OVERRIDES_CHARS;

impl Start {
    pub(super) fn placement(&self, i: usize) -> &Placement {
        match (&self.s.capacity_fallback, self.launches[i].on_fallback) {
            (Some(p), true) => p,
            _ => &self.s.placement,
        }
    }

    /// Launch `i`'s values of the `env` and `tags` placeholders.
    pub(super) fn placeholder_values(&self, i: usize) -> placeholders::Values {
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

    pub(super) fn run_task_body(&self, i: usize) -> Value {
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

    pub(super) fn run_task(&mut self, now: Millis, i: usize) {
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
    pub(super) fn fall_back(&mut self, now: Millis, i: usize, why: &str) -> bool {
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

    pub(super) fn on_run_task(&mut self, now: Millis, i: usize, body: &str) {
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
}
