//! Phase 1, before anything is created: the task definition
//! (DescribeTaskDefinition; with `image`, RegisterTaskDefinition when its
//! content differs or the family is new) and whether it suits, the subnets
//! and security groups by tag (page after page), and a runner group given
//! by name. Once all are known, every runner is registered.

use crate::aws::ec2;
use crate::aws::ecs::{self, TaskDefinition};
use crate::aws::taskdef;
use crate::exchange::Call;
use crate::github;
use crate::protocol::Millis;
use crate::runner_image;
use crate::settings::{Lookup, Registration};

use super::{short_td, Op, Stage, Start};

impl Start {
    pub(super) fn begin(&mut self, now: Millis) {
        self.began = now;
        self.deadline = now + self.s.timeout_s * 1000;
        self.ex.give_up_at = Some(self.deadline);
        let what = if self.fleet() {
            format!(
                "{} runners {} ({}-1 … -{})",
                self.launches.len(),
                self.label,
                self.label,
                self.launches.len()
            )
        } else {
            format!("runner {}", self.label)
        };
        self.out.info(format!(
            "Launching {what} for {} on ECS cluster {} ({})",
            self.s.scope.display(),
            self.s.cluster,
            self.s.region
        ));
        // With `image`, the family's latest ACTIVE revision and its tags: is
        // it the content asked for?
        let describe = match &self.td_content {
            Some(_) => ecs::describe_task_definition_with_tags(&self.s.task_definition),
            None => ecs::describe_task_definition(&self.s.task_definition),
        };
        self.ex.submit(Call::ecs(
            Op::TaskDefinition,
            "DescribeTaskDefinition",
            describe,
        ));
        if !self.group_done {
            self.runner_groups(1);
        }
        match &self.s.subnets {
            Lookup::Tag { .. } => self.lookup(Op::Subnets, None),
            Lookup::Ids(ids) => {
                self.subnets = ids.clone();
                self.subnets_done = true;
            }
            Lookup::None => self.subnets_done = true,
        }
        match &self.s.security_groups {
            Lookup::Tag { .. } => self.lookup(Op::SecurityGroups, None),
            Lookup::Ids(ids) => {
                self.security_groups = ids.clone();
                self.security_groups_done = true;
            }
            Lookup::None => self.security_groups_done = true,
        }
    }

    pub(super) fn on_task_definition(&mut self, now: Millis, body: &str) {
        let Some(td) = ecs::parse_task_definition(body) else {
            return self.fail(now, "ECS DescribeTaskDefinition: unreadable answer".into());
        };
        if let Some((_, digest)) = &self.td_content {
            // Ours and unchanged: reuse it. Two jobs racing may both
            // register a revision; both are fine.
            match taskdef::spec_tag(body) {
                Some(tag) if &tag == digest => self.out.info(format!(
                    "Task definition {} is up to date (spec {})",
                    short_td(&td.arn),
                    &digest[..12]
                )),
                _ => {
                    self.out.info(format!(
                        "Task definition {} differs from the inputs: registering a new revision",
                        short_td(&td.arn)
                    ));
                    return self.register_task_definition();
                }
            }
        }
        self.use_task_definition(now, td, "DescribeTaskDefinition")
    }

    /// The task definition of `image` is registered: use it.
    pub(super) fn on_registered_task_definition(&mut self, now: Millis, body: &str) {
        match ecs::parse_task_definition(body) {
            Some(td) => {
                self.out.info(format!(
                    "Registered task definition {} for image {}",
                    short_td(&td.arn),
                    self.s
                        .task_spec
                        .as_ref()
                        .map(|t| t.image.as_str())
                        .unwrap_or("")
                ));
                self.use_task_definition(now, td, "RegisterTaskDefinition")
            }
            None => self.fail(now, "ECS RegisterTaskDefinition: unreadable answer".into()),
        }
    }

    pub(super) fn register_task_definition(&mut self) {
        let Some((content, digest)) = &self.td_content else {
            return;
        };
        let body = taskdef::register_body(content, digest);
        self.ex.submit(Call::ecs(
            Op::RegisterTaskDefinition,
            "RegisterTaskDefinition",
            body,
        ));
    }

    /// The task definition to run is known: check it suits, then go on.
    /// `from`: the call that gave it, for the message.
    pub(super) fn use_task_definition(&mut self, now: Millis, td: TaskDefinition, from: &str) {
        if td.containers.is_empty() {
            return self.fail(
                now,
                format!(
                    "ECS {from}: task definition {} has no container definitions",
                    td.arn
                ),
            );
        }
        // A definition of the user's that names its architecture: the
        // runners' label follows it.
        if self.td_content.is_none() {
            match td.cpu_architecture.as_str() {
                "ARM64" => self.s.run.arch = "ARM64".into(),
                "X86_64" => self.s.run.arch = "X64".into(),
                _ => {}
            }
        }
        let chosen = match &self.s.container_name {
            Some(name) if td.containers.iter().any(|c| c == name) => name.clone(),
            Some(name) => {
                return self.fail(now, format!(
                    "Input 'container-name': '{name}' is not a container of task definition {}; it has: {}.",
                    td.arn,
                    td.containers.join(", ")
                ))
            }
            None if td.containers.len() == 1 => td.containers[0].clone(),
            None => {
                return self.fail(now, format!(
                    "Task definition {} has {} containers ({}): set the input `container-name` to the one that runs the GitHub runner.",
                    td.arn,
                    td.containers.len(),
                    td.containers.join(", ")
                ))
            }
        };
        self.container = chosen;
        if self.s.registration == Registration::Token {
            let (entry_point, command) = td.command_of(&self.container);
            if runner_image::is_stock_command(entry_point, command) {
                // The stock image's run.sh only runs a configured runner.
                self.command = Some(runner_image::configure_then_run(self.s.default_labels));
                self.out.detail(format!(
                    "Container {} runs the stock runner: it is started with config.sh, then run.sh",
                    self.container
                ));
            } else {
                self.out.info(format!(
                    "Container {}'s command is not the stock /home/runner/run.sh: with registration: token it must configure the runner itself from RUNNER_URL, RUNNER_TOKEN, RUNNER_NAME, RUNNER_LABELS, RUNNER_WORKDIR and RUNNER_GROUP (or the ACTIONS_RUNNER_INPUT_* variables config.sh reads)",
                    self.container
                ));
            }
        }
        let reserved = runner_image::reserved_overrides_chars(
            &self.s,
            &self.container,
            self.command.as_deref(),
        );
        if reserved > runner_image::MAX_OVERRIDES_CHARS {
            return self.fail(now, format!(
                "Input 'env': the runner container's overrides would reach {reserved} characters with the runner's credential (up to {} kept for it); ECS RunTask allows {}. Shorten `env` (or the container's name).",
                runner_image::CREDENTIAL_RESERVE_CHARS,
                runner_image::MAX_OVERRIDES_CHARS
            ));
        }
        if td.network_mode == "awsvpc" && matches!(self.s.subnets, Lookup::None) {
            return self.fail(now, format!(
                "Task definition {} uses the awsvpc network mode, which needs subnets: set the input `subnets` or `subnets-tag` (or ECS_SUBNETS).",
                td.arn
            ));
        }
        if td.network_mode != "awsvpc" && !matches!(self.s.subnets, Lookup::None) {
            self.out.warning(format!(
                "Task definition {} uses the {} network mode: subnets and security groups do not apply and are ignored.",
                td.arn, td.network_mode
            ));
        }
        self.out.detail(format!(
            "Task definition {}: network mode {}, runner container {}",
            td.arn, td.network_mode, self.container
        ));
        self.task_definition = Some(td);
        self.prepared(now);
    }

    pub(super) fn awsvpc(&self) -> bool {
        self.task_definition
            .as_ref()
            .map(|t| t.network_mode == "awsvpc")
            .unwrap_or(false)
    }

    /// Ask for one page of the lookup by tag `op` (subnets or security
    /// groups); `token` is the page after the first.
    pub(super) fn lookup(&mut self, op: Op, token: Option<&str>) {
        let call = match (&op, &self.s.subnets, &self.s.security_groups) {
            (Op::Subnets, Lookup::Tag { key, value }, _) => Call::ec2(
                op,
                "DescribeSubnets",
                ec2::describe_subnets_by_tag(key, value, token),
            ),
            (Op::SecurityGroups, _, Lookup::Tag { key, value }) => Call::ec2(
                op,
                "DescribeSecurityGroups",
                ec2::describe_security_groups_by_tag(key, value, token),
            ),
            _ => return, // only tag lookups are asked for
        };
        self.ex.submit(call);
    }

    /// A page of subnets or security groups by tag: ask for the next page,
    /// or with all of them go on (none found is an error naming the tag).
    pub(super) fn on_lookup_page(&mut self, now: Millis, op: &Op, body: &str) {
        let subnets = *op == Op::Subnets;
        let (operation, page) = if subnets {
            ("DescribeSubnets", ec2::parse_subnet_ids(body))
        } else {
            (
                "DescribeSecurityGroups",
                ec2::parse_security_group_ids(body),
            )
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => return self.fail(now, format!("EC2 {operation}: unreadable answer: {e}")),
        };
        let found = if subnets {
            &mut self.subnets
        } else {
            &mut self.security_groups
        };
        found.extend(page.ids);
        if let Some(token) = page.next_token {
            return self.lookup(op.clone(), Some(&token));
        }
        let (found, setting) = if subnets {
            (self.subnets.join(", "), &self.s.subnets)
        } else {
            (self.security_groups.join(", "), &self.s.security_groups)
        };
        let tag = tag_words(setting);
        if found.is_empty() {
            let message = if subnets {
                format!(
                    "Input 'subnets-tag': no subnet in {} has the tag {tag}. Tag the runner subnets, or give their ids in `subnets`.",
                    self.s.region
                )
            } else {
                format!(
                    "Input 'security-groups-tag': no security group in {} has the tag {tag}. Tag the group, or give its id in `security-groups`.",
                    self.s.region
                )
            };
            return self.fail(now, message);
        }
        let what = if subnets {
            "Subnets"
        } else {
            "Security groups"
        };
        self.out.info(format!("{what} with tag {tag}: {found}"));
        if subnets {
            self.subnets_done = true;
        } else {
            self.security_groups_done = true;
        }
        self.prepared(now);
    }

    /// Once the task definition and the network are known: register every
    /// runner (the exchange sends as many at once as GitHub's bound allows).
    pub(super) fn prepared(&mut self, _now: Millis) {
        let network_known = !self.awsvpc() || (self.subnets_done && self.security_groups_done);
        if self.stage != Stage::Preparing
            || self.task_definition.is_none()
            || !network_known
            || !self.group_done
        {
            return;
        }
        // A bridge-mode task needs no lookup: the ones still reading pages
        // finish unheeded.
        self.stage = Stage::Launching;
        for i in 0..self.launches.len() {
            self.register(i);
        }
    }

    pub(super) fn runner_groups(&mut self, page: u32) {
        let org = match &self.s.scope {
            crate::settings::Scope::Org { org } => org.clone(),
            // inputs.rs allows a group name only for an organization.
            crate::settings::Scope::Repo { owner, .. } => owner.clone(),
        };
        self.ex.submit(Call::github(
            Op::RunnerGroups(page),
            "list runner groups",
            "GET",
            github::runner_groups_path(&org, page),
            None,
        ));
    }

    /// A page of runner groups: the named one's id, the next page, or an
    /// error listing the groups there are.
    pub(super) fn on_runner_groups(&mut self, now: Millis, page: u32, body: &str) {
        let Some((groups, total)) = github::parse_runner_groups(body) else {
            return self.fail(now, "GitHub list runner groups: unreadable answer".into());
        };
        let wanted = self.s.runner_group_name.clone().unwrap_or_default();
        // Without a name, the group of id `runner_group` (config.sh takes
        // a group by its name: registration: token).
        let by_id = wanted.is_empty();
        let id_wanted = self.s.runner_group;
        if let Some((id, name)) = groups.iter().find(|(id, n)| {
            if by_id {
                *id == id_wanted
            } else {
                n.eq_ignore_ascii_case(&wanted)
            }
        }) {
            self.out.info(format!("Runner group {name} has id {id}"));
            self.s.runner_group = *id;
            self.s.runner_group_name = Some(name.clone());
            self.group_done = true;
            return self.prepared(now);
        }
        self.groups_seen
            .extend(groups.iter().map(|(_, n)| n.clone()));
        if github::more_pages(page, groups.len(), total) {
            return self.runner_groups(page + 1);
        }
        let seen = if self.groups_seen.is_empty() {
            "none".to_string()
        } else {
            self.groups_seen.join(", ")
        };
        let what = if by_id {
            format!("of id {id_wanted}")
        } else {
            format!("named '{wanted}'")
        };
        self.fail(
            now,
            format!(
                "Input 'runner-group': the organization {} has no runner group {what}; it has: {seen}.",
                self.s.scope.display()
            ),
        );
    }
}

/// "tag `key:value`" for messages.
pub(super) fn tag_words(l: &Lookup) -> String {
    match l {
        Lookup::Tag { key, value } => format!("`{key}:{value}`"),
        _ => String::new(),
    }
}
