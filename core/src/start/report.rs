//! The end: the outputs and job summary of a start that worked; or, for
//! one that failed (a runner that could not start, the timeout, a cancel),
//! the cleanup of everything it created (answers still in flight are
//! undone as they come), the failed runners' last log lines, and the
//! message.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::aws::ecs;
use crate::aws::logs;
use crate::cleanup::{Cleanup, Report, Undo};
use crate::exchange::{failure_message, Call, Unfinished};
use crate::github;
use crate::protocol::{HttpResponse, Millis, Next};
use crate::summary;

use super::{placement_words, Launch, Op, Stage, Start};

impl Start {
    pub(super) fn timed_out(&mut self, now: Millis) -> Next {
        let timeout = self.s.timeout_s;
        let msg = match self.stage {
            Stage::WaitOnline => {
                for l in self.launches.iter_mut().filter(|l| !l.online) {
                    l.wants_tail = true;
                }
                let late: Vec<&str> = self
                    .launches
                    .iter()
                    .filter(|l| !l.online)
                    .map(|l| l.name.as_str())
                    .collect();
                format!(
                    "The runner{} {} did not come online in GitHub within timeout ({timeout}s). The task runs, but the runner in it did not connect: check its logs, and that it can reach GitHub (NAT or public IP).",
                    if late.len() > 1 { "s" } else { "" },
                    late.join(", ")
                )
            }
            _ => {
                let late: Vec<String> = self
                    .launches
                    .iter()
                    .filter(|l| l.running_after_ms.is_none())
                    .map(|l| {
                        let status = l
                            .task
                            .as_ref()
                            .map(|t| t.last_status.as_str())
                            .filter(|s| !s.is_empty())
                            .unwrap_or(if l.task.is_some() { "unknown" } else { "not started" });
                        if self.fleet() {
                            format!("task {} of runner {} (last status {status})", or_dash(l.task_id()), l.name)
                        } else {
                            format!("Task {} was not RUNNING within timeout ({timeout}s); its last status was {status}", or_dash(l.task_id()))
                        }
                    })
                    .collect();
                if self.fleet() {
                    format!(
                        "{} of {} tasks were not RUNNING within timeout ({timeout}s): {}. Raise `timeout`, or check the cluster's capacity and the tasks' events in the ECS console.",
                        late.len(),
                        self.launches.len(),
                        late.join("; ")
                    )
                } else {
                    format!(
                        "{}. Raise `timeout`, or check the cluster's capacity and the task's events in the ECS console.",
                        late.join("; ")
                    )
                }
            }
        };
        self.fail(now, msg);
        self.advance(now)
    }

    /// Runner `i` cannot be started: the whole step fails. `find_task`: its
    /// RunTask may have started a task we did not hear of.
    pub(super) fn fail_runner(&mut self, now: Millis, i: usize, message: String, find_task: bool) {
        let message = if self.fleet() {
            format!("Runner {}: {message}", self.launches[i].name)
        } else {
            message
        };
        self.failures.push(message);
        if self.cleanup.is_none() {
            self.start_cleanup(now, find_task, false);
        } else if find_task {
            let undo = self.find_tasks();
            if let Some(c) = self.cleanup.as_mut() {
                c.add(undo);
            }
        }
    }

    /// The step cannot go on (not one runner's fault).
    pub(super) fn fail(&mut self, now: Millis, message: String) {
        self.failures.push(message);
        if self.cleanup.is_none() {
            self.start_cleanup(now, false, false);
        }
    }

    /// Stop launching: take back what was not sent, then remove everything
    /// created so far. Calls still in flight are answered into the cleanup
    /// ([`Start::after_failure`]).
    pub(super) fn start_cleanup(&mut self, _now: Millis, mut find_tasks: bool, cancelled: bool) {
        self.stage = Stage::CleaningUp;
        // Removals are retried even past the deadline that ended the start.
        self.ex.give_up_at = None;
        self.next_poll = None;
        self.next_online_poll = None;
        let dropped: Vec<Unfinished<Op>> = self.ex.drop_unsent(|op| !matches!(op, Op::Undo(_)));
        let mut todo = Vec::new();
        for u in dropped {
            match u.call.tag {
                // A retry that will not be made: the earlier attempt may
                // have worked.
                Op::Jit(i) if u.sent => self.launches[i].runner_created = true,
                Op::RunTask(_) if u.sent => find_tasks = true,
                _ => {}
            }
        }
        for l in &self.launches {
            if let Some(t) = l.task.as_ref().filter(|t| !t.is_stopping()) {
                todo.push(Undo::StopTask(t.arn.clone()));
            }
        }
        if find_tasks {
            todo.push(self.find_tasks());
        }
        for l in &self.launches {
            if l.runner_created {
                todo.push(match l.github_runner {
                    Some(id) => Undo::DeleteRunner {
                        id,
                        name: l.name.clone(),
                    },
                    None => Undo::FindRunner {
                        name: l.name.clone(),
                    },
                });
            }
        }
        let reason = self.failures.first().cloned().unwrap_or_default();
        self.cleanup = Some(Cleanup::new(&reason, todo, false, cancelled));
        self.fetch_log_tails();
    }

    /// An answer to a launch call that arrived after the start failed: undo
    /// what it created.
    pub(super) fn after_failure(&mut self, call: &Call<Op>, resp: &HttpResponse) {
        let ok = (200..300).contains(&resp.status);
        // A runner that failed on its own, too: its reason is named.
        if let Op::Jit(i) | Op::RegistrationToken(i) | Op::RunTask(i) = &call.tag {
            let why = if ok {
                ecs::parse_tasks(&resp.body)
                    .filter(|a| matches!(call.tag, Op::RunTask(_)) && a.tasks.is_empty())
                    .map(|a| {
                        let reasons: Vec<String> = a
                            .failures
                            .iter()
                            .map(|f| ecs::failure_advice(f, &self.s.cluster))
                            .collect();
                        format!("ECS RunTask started no task: {}.", reasons.join("; "))
                    })
            } else {
                Some(failure_message(call, resp, &self.s))
            };
            if let Some(why) = why {
                self.failures
                    .push(format!("Runner {}: {why}", self.launches[*i].name));
            }
        }
        let undo = match &call.tag {
            Op::Jit(i) => match github::parse_jit(&resp.body).filter(|_| ok) {
                Some((id, config)) => {
                    self.out.secret(&config);
                    let l = &mut self.launches[*i];
                    l.github_runner = Some(id);
                    l.runner_created = true;
                    Some(Undo::DeleteRunner {
                        id,
                        name: l.name.clone(),
                    })
                }
                // No answer: GitHub may have registered it all the same.
                None if resp.status == 0 => Some(Undo::FindRunner {
                    name: self.launches[*i].name.clone(),
                }),
                None => None,
            },
            Op::RegistrationToken(_) => {
                if let Some(token) = github::parse_registration_token(&resp.body) {
                    self.out.secret(&token);
                }
                None
            }
            Op::RunTask(i) => match ecs::parse_tasks(&resp.body).filter(|_| ok) {
                Some(answer) => {
                    let task = answer.tasks.into_iter().next();
                    let undo = task.as_ref().map(|t| Undo::StopTask(t.arn.clone()));
                    self.launches[*i].task = task;
                    undo
                }
                None if resp.status == 0 => Some(self.find_tasks()),
                None => None,
            },
            _ => None,
        };
        if let (Some(u), Some(c)) = (undo, self.cleanup.as_mut()) {
            c.add(u);
        }
    }

    /// The last lines of each failed runner's own log, when its container
    /// logs to CloudWatch (the task definition's awslogs configuration):
    /// fetched while the cleanup runs.
    pub(super) fn fetch_log_tails(&mut self) {
        for i in 0..self.launches.len() {
            let l = &self.launches[i];
            let (Some(task), true) = (&l.task, l.wants_tail) else {
                continue;
            };
            let logs = self
                .task_definition
                .as_ref()
                .and_then(|td| td.logs_of(&self.container));
            let Some(logs) = logs else {
                self.launches[i].log_note = Some(format!(
                    "The runner container {} does not log to CloudWatch, so its output cannot be shown here: give it an awslogs log configuration (with `image`: set `log-group`).",
                    self.container
                ));
                continue;
            };
            if !logs.region.is_empty() && logs.region != self.s.region {
                self.launches[i].log_note = Some(format!(
                    "The runner logs to {} in {}, not {}: read it there (stream {}).",
                    logs.group,
                    logs.region,
                    self.s.region,
                    logs::stream(logs, &self.container, task.id())
                ));
                continue;
            }
            let stream = logs::stream(logs, &self.container, task.id());
            let body = logs::get_log_events(&logs.group, &stream);
            self.ex
                .submit(Call::logs(Op::LogTail(i), "GetLogEvents", body));
        }
    }

    /// A log tail came back: keep the lines, or one sentence on why there
    /// are none (never a second failure).
    pub(super) fn on_log_tail(&mut self, i: usize, resp: &HttpResponse) {
        let logs = self
            .task_definition
            .as_ref()
            .and_then(|td| td.logs_of(&self.container))
            .cloned()
            .unwrap_or_default();
        let stream = logs::stream(&logs, &self.container, self.launches[i].task_id());
        let region = self.s.region.clone();
        let l = &mut self.launches[i];
        if (200..300).contains(&resp.status) {
            match logs::parse_events(&resp.body) {
                Some(lines) if !lines.is_empty() => l.log_tail = Some(lines),
                _ => {
                    l.log_note = Some(format!(
                        "The runner's log stream {stream} in {} has no lines yet.",
                        logs.group
                    ))
                }
            }
            return;
        }
        let err = crate::aws::error::parse(resp);
        l.log_note = Some(match err.code.as_str() {
            "AccessDeniedException" | "AccessDenied" => format!(
                "The runner's log cannot be shown: the credentials may not call logs:GetLogEvents on log group {}. Allow `logs:GetLogEvents` on arn:aws:logs:{region}:*:log-group:{}:* to see the runner's output here.",
                logs.group, logs.group
            ),
            "ResourceNotFoundException" => format!(
                "The runner wrote no log: there is no stream {stream} in log group {} (the container may never have started).",
                logs.group
            ),
            _ => format!(
                "The runner's log could not be read ({}: {}).",
                err.code, err.message
            ),
        });
    }

    /// The step's outputs. `runner_id` is the label; the single-value
    /// outputs hold the first runner's values, the JSON ones every runner's.
    pub(super) fn outputs(&self) -> BTreeMap<String, String> {
        let first = &self.launches[0];
        let arn = first.task_arn();
        let id = first.task_id().to_string();
        let list = |f: &dyn Fn(&Launch) -> Value| {
            Value::Array(self.launches.iter().map(f).collect()).to_string()
        };
        let runners = list(&|l| {
            json!({
                "name": l.name,
                "github_runner_id": l.github_runner,
                "task_arn": l.task_arn(),
                "task_id": l.task_id(),
                "ipaddr": l.ip,
                "capacity": if l.on_fallback { "fallback" } else { "primary" },
            })
        });
        let mut o = BTreeMap::new();
        for (k, v) in [
            ("runner_id", self.label.clone()),
            ("id", self.label.clone()),
            ("runner_name", first.name.clone()),
            (
                "github_runner_id",
                first
                    .github_runner
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
            ),
            ("task_arn", arn.clone()),
            ("arn", arn.clone()),
            ("aws_task_arn", arn),
            ("task_id", id.clone()),
            ("aws_task_id", id),
            ("ipaddr", first.ip.clone()),
            ("runners", runners),
            ("task_arns", list(&|l| json!(l.task_arn()))),
            ("ipaddrs", list(&|l| json!(l.ip))),
            ("runner_names", list(&|l| json!(l.name))),
            (
                "cluster",
                summary::cluster_name(&self.s.cluster).to_string(),
            ),
            ("region", self.s.region.clone()),
        ] {
            o.insert(k.to_string(), v);
        }
        o
    }

    pub(super) fn rows(&self, status: &str) -> Vec<summary::Row> {
        let fallback = self.s.capacity_fallback.as_ref().map(placement_words);
        self.launches
            .iter()
            .map(|l| summary::Row {
                runner: l.name.clone(),
                task_id: l.task_id().to_string(),
                ip: l.ip.clone(),
                status: match (&fallback, l.on_fallback) {
                    (Some(f), true) => format!("{status} (fallback: {f})"),
                    _ => status.to_string(),
                },
                secs_to_running: l.running_after_ms.map(|ms| ms.div_ceil(1000)),
            })
            .collect()
    }

    /// What a job writes to run on these runners: without the default
    /// labels there is no `self-hosted` to ask for.
    pub(super) fn runs_on(&self) -> String {
        if self.s.default_labels {
            format!("[self-hosted, {}]", self.label)
        } else {
            format!("[{}]", self.label)
        }
    }

    pub(super) fn finish(&mut self) -> Next {
        for l in &self.launches {
            let ip = if l.ip.is_empty() { "unknown" } else { &l.ip };
            if !self.fleet() {
                self.out.info(format!(
                    "Runner {} is up: task {}, IP {ip}. Use it with runs-on: {}",
                    l.name,
                    l.task_id(),
                    self.runs_on()
                ));
            } else if self.itemised() {
                self.out.info(format!(
                    "Runner {} is up: task {}, IP {ip}",
                    l.name,
                    l.task_id()
                ));
            }
        }
        if self.fleet() {
            self.out.info(format!(
                "{} runners are up. Use them with runs-on: {}",
                self.launches.len(),
                self.runs_on()
            ));
        }
        let on_fallback: Vec<&str> = self
            .launches
            .iter()
            .filter(|l| l.on_fallback)
            .map(|l| l.name.as_str())
            .collect();
        if let (false, Some(f)) = (on_fallback.is_empty(), &self.s.capacity_fallback) {
            self.out.info(format!(
                "On the fallback {}: {}",
                placement_words(f),
                on_fallback.join(", ")
            ));
        }
        let status = if self.s.wait_for_registration {
            "RUNNING, runner online"
        } else {
            "RUNNING"
        };
        Next::Done {
            outputs: self.outputs(),
            summary: summary::table(&self.s, &self.rows(status), None),
        }
    }

    /// The cleanup is over: fail with why, and what was and was not undone.
    pub(super) fn failed(&mut self) -> Next {
        self.stage = Stage::Finished;
        let report: Report = self
            .cleanup
            .as_mut()
            .map(Cleanup::take_report)
            .unwrap_or_default();
        let mut message = if self.failures.len() > 1 {
            format!(
                "{} of {} runners could not be started:\n- {}",
                self.failures.len(),
                self.launches.len(),
                self.failures.join("\n- ")
            )
        } else {
            self.failures.first().cloned().unwrap_or_default()
        };
        if self.fleet() && self.failures.len() == 1 {
            message.push_str(&format!(
                "\nAll or nothing: the other runners of {} were removed too.",
                self.label
            ));
        }
        let done = report.done();
        if !done.is_empty() {
            message.push_str(&format!("\nCleaned up: {}.", done.join("; ")));
        }
        if !report.problems.is_empty() {
            message.push_str(&format!("\nLeft behind: {}.", report.problems.join("; ")));
            for p in &report.problems {
                self.out.warning(format!("Cleanup: {p}"));
            }
        }
        let mut md = summary::table(&self.s, &self.rows("failed"), Some(&message));
        for l in &self.launches {
            if let Some(lines) = &l.log_tail {
                let title = format!(
                    "Runner {}: the last {} lines of its log (task {})",
                    l.name,
                    lines.len(),
                    l.task_id()
                );
                let token = self.ex.token();
                self.out.group(title.clone(), lines, &token);
                md.push_str(&summary::details(&title, lines));
            }
            if let Some(note) = &l.log_note {
                self.out.info(note.clone());
                md.push_str(&format!("\n{note}\n"));
            }
        }
        Next::Failed {
            summary: md,
            outputs: self.outputs(),
            message,
        }
    }
}

pub(super) fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "—"
    } else {
        s
    }
}
