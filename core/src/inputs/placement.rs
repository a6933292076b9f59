//! Where the tasks run: the task definition and cluster, the launch type
//! or capacity provider strategy and its fallback, the platform version,
//! subnets and security groups, the public IP and the container.

use std::collections::BTreeSet;

use super::parser::Parser;
use super::validators::{
    is_digits, is_ecs_name, is_ecs_name_char, is_family, is_family_revision, parse_ecs_arn,
    parse_uint, show, split_list,
};
use crate::settings::{CapacityProvider, Lookup, Placement};

/// `cluster` when neither the input nor `ECS_CLUSTER_NAME` is set: the cluster
/// ECS itself uses when a request names none.
pub const DEFAULT_CLUSTER: &str = "default";

/// The launch type when neither `launch-type` nor `capacity-provider-strategy`
/// is given.
pub const DEFAULT_LAUNCH_TYPE: &str = "FARGATE";

/// ECS: at most 20 capacity providers in one strategy.
pub const MAX_CAPACITY_PROVIDERS: usize = 20;

/// ECS awsvpcConfiguration: at most 16 subnets and 5 security groups.
pub const MAX_SUBNETS: usize = 16;

pub const MAX_SECURITY_GROUPS: usize = 5;

/// The inputs and variables behind one [`Lookup`] (subnets or security groups).
pub(super) struct LookupSpec {
    ids_input: &'static str,
    tag_input: &'static str,
    env: &'static str,
    prefix: &'static str,
    what: &'static str,
    max: usize,
}

pub(super) const SUBNETS: LookupSpec = LookupSpec {
    ids_input: "subnets",
    tag_input: "subnets-tag",
    env: "ECS_SUBNETS",
    prefix: "subnet-",
    what: "subnet",
    max: MAX_SUBNETS,
};

pub(super) const SECURITY_GROUPS: LookupSpec = LookupSpec {
    ids_input: "security-groups",
    tag_input: "security-groups-tag",
    env: "ECS_SECURITY_GROUPS",
    prefix: "sg-",
    what: "security group",
    max: MAX_SECURITY_GROUPS,
};

impl<'a> Parser<'a> {
    pub(super) fn task_definition(&mut self, name: &str, starting: bool) -> String {
        let raw = self.input("task-definition");
        if !raw.is_empty() && !self.input("image").is_empty() {
            self.report(
                "task-definition",
                "`task-definition` and `image` are both given; use your own task definition, \
                 or `image` and let the action register one (family = `name`)",
            );
        }
        if raw.is_empty() {
            // Only start mode runs a task; a `name` with a '.' is fine for
            // stop and reap. An invalid `name` is reported once, as `name`.
            let name_ok = name.chars().all(|c| is_ecs_name_char(c) || c == '.');
            if starting && name_ok && !is_family(name) {
                self.report(
                    "task-definition",
                    format!(
                        "not given, so it defaults to `name` {}, which is not a task \
                         definition family (letters, digits, '_' and '-'); set \
                         `task-definition`",
                        show(name)
                    ),
                );
            }
            return name.to_string();
        }
        let ok = match raw.strip_prefix("arn:") {
            Some(_) => parse_ecs_arn(raw)
                .and_then(|resource| resource.strip_prefix("task-definition/"))
                .is_some_and(is_family_revision),
            None => match raw.split_once(':') {
                Some(_) => is_family_revision(raw),
                None => is_family(raw),
            },
        };
        if !ok {
            self.report(
                "task-definition",
                format!(
                    "{} is not a task definition; use family, family:revision or \
                     arn:aws:ecs:REGION:ACCOUNT:task-definition/family:revision (family: 1 to \
                     255 letters, digits, '_' or '-'; revision: a positive integer)",
                    show(raw)
                ),
            );
        }
        raw.to_string()
    }

    pub(super) fn cluster(&mut self) -> String {
        let raw = self.input("cluster");
        let (value, origin) = if !raw.is_empty() {
            (raw, "")
        } else if let Some(env) = self.env("ECS_CLUSTER_NAME") {
            (env, " (from ECS_CLUSTER_NAME, as `cluster` is empty)")
        } else {
            return DEFAULT_CLUSTER.to_string();
        };
        let ok = if value.starts_with("arn:") {
            parse_ecs_arn(value)
                .and_then(|resource| resource.strip_prefix("cluster/"))
                .is_some_and(is_ecs_name)
        } else {
            is_ecs_name(value)
        };
        if !ok {
            self.report(
                "cluster",
                format!(
                    "{}{origin} is not a cluster; use a name (1 to 255 letters, digits, '_' \
                     or '-') or arn:aws:ecs:REGION:ACCOUNT:cluster/NAME",
                    show(value)
                ),
            );
        }
        value.to_string()
    }

    pub(super) fn placement(&mut self) -> Option<Placement> {
        let launch_type = self.input("launch-type");
        let strategy = self.input("capacity-provider-strategy");
        if !launch_type.is_empty() && !strategy.is_empty() {
            self.report(
                "launch-type",
                "`launch-type` and `capacity-provider-strategy` are both given; ECS takes one \
                 or the other (e.g. FARGATE_SPOT needs capacity-provider-strategy alone)",
            );
        }
        let launch = if launch_type.is_empty() {
            None
        } else {
            let upper = launch_type.to_ascii_uppercase();
            if matches!(upper.as_str(), "FARGATE" | "EC2" | "EXTERNAL") {
                Some(Placement::LaunchType(upper))
            } else {
                self.report(
                    "launch-type",
                    format!(
                        "{} is not a launch type; use FARGATE, EC2 or EXTERNAL (for \
                         FARGATE_SPOT use capacity-provider-strategy)",
                        show(launch_type)
                    ),
                );
                return None;
            }
        };
        let providers = if strategy.is_empty() {
            None
        } else {
            Some(self.capacity_providers(strategy)?)
        };
        Some(match (launch, providers) {
            (Some(launch), _) => launch,
            (None, Some(providers)) => Placement::CapacityProviders(providers),
            (None, None) => Placement::LaunchType(DEFAULT_LAUNCH_TYPE.to_string()),
        })
    }

    /// `capacity-fallback`: a launch type or a strategy, in the syntax of
    /// `launch-type` / `capacity-provider-strategy`, and not the placement
    /// itself.
    pub(super) fn capacity_fallback(&mut self, placement: Option<&Placement>) -> Option<Placement> {
        let raw = self.input("capacity-fallback");
        if raw.is_empty() {
            return None;
        }
        let upper = raw.to_ascii_uppercase();
        let fallback = if matches!(upper.as_str(), "FARGATE" | "EC2" | "EXTERNAL") {
            Placement::LaunchType(upper)
        } else {
            let before = self.problems.len();
            let providers = self.capacity_providers_of("capacity-fallback", raw);
            if self.problems.len() > before {
                return None;
            }
            Placement::CapacityProviders(providers?)
        };
        if placement == Some(&fallback) {
            self.report(
                "capacity-fallback",
                format!(
                    "{} is the placement the runners start on already; name other capacity \
                     (e.g. FARGATE when capacity-provider-strategy is FARGATE_SPOT:1)",
                    show(raw)
                ),
            );
        }
        Some(fallback)
    }

    pub(super) fn capacity_providers(&mut self, raw: &str) -> Option<Vec<CapacityProvider>> {
        self.capacity_providers_of("capacity-provider-strategy", raw)
    }

    /// A strategy list given in `input`.
    pub(super) fn capacity_providers_of(
        &mut self,
        input: &str,
        raw: &str,
    ) -> Option<Vec<CapacityProvider>> {
        let before = self.problems.len();
        let mut providers = Vec::new();
        let mut seen = BTreeSet::new();
        for item in split_list(raw) {
            match parse_capacity_provider(item) {
                Some(provider) => {
                    if !seen.insert(provider.provider.clone()) {
                        self.report(
                            input,
                            format!(
                                "capacity provider {} is listed twice",
                                show(&provider.provider)
                            ),
                        );
                    }
                    providers.push(provider);
                }
                None => self.report(
                    input,
                    format!(
                        "{} is not a strategy entry; use provider, provider:weight or \
                         provider:weight:base (provider: 1 to 255 letters, digits, '_' or '-'; \
                         weight 0 to 1000; base 0 to 100000)",
                        show(item)
                    ),
                ),
            }
        }
        if providers.len() > MAX_CAPACITY_PROVIDERS {
            self.report(
                input,
                format!(
                    "{} capacity providers given; ECS allows at most {MAX_CAPACITY_PROVIDERS}",
                    providers.len()
                ),
            );
        }
        let with_base: Vec<&str> = providers
            .iter()
            .filter(|p| p.base.is_some())
            .map(|p| p.provider.as_str())
            .collect();
        if with_base.len() > 1 {
            self.report(
                input,
                format!(
                    "{} all have a base; ECS allows a base on only one capacity provider",
                    with_base.join(", ")
                ),
            );
        }
        (self.problems.len() == before).then_some(providers)
    }

    pub(super) fn platform_version(&mut self) -> Option<String> {
        let raw = self.input("platform-version");
        if raw.is_empty() {
            return None;
        }
        if raw.eq_ignore_ascii_case("LATEST") {
            return Some("LATEST".to_string());
        }
        let parts: Vec<&str> = raw.split('.').collect();
        if parts.len() != 3 || !parts.iter().all(|p| is_digits(p)) {
            self.report(
                "platform-version",
                format!(
                    "{} is not a platform version; use LATEST or a version like 1.4.0",
                    show(raw)
                ),
            );
        }
        Some(raw.to_string())
    }

    pub(super) fn lookup(&mut self, spec: &LookupSpec) -> Lookup {
        let ids = self.input(spec.ids_input);
        let tag = self.input(spec.tag_input);
        if !ids.is_empty() && !tag.is_empty() {
            self.report(
                spec.ids_input,
                format!(
                    "`{}` and `{}` are both given; give {} ids or one key:value tag to look \
                     them up by, not both",
                    spec.ids_input, spec.tag_input, spec.what
                ),
            );
        }
        if !ids.is_empty() {
            self.ids(spec, ids, "")
        } else if !tag.is_empty() {
            self.tag_filter(spec.tag_input, tag)
        } else if let Some(env) = self.env(spec.env) {
            let origin = format!(" (from {}, as `{}` is empty)", spec.env, spec.ids_input);
            self.ids(spec, env, &origin)
        } else {
            Lookup::None
        }
    }

    pub(super) fn ids(&mut self, spec: &LookupSpec, raw: &str, origin: &str) -> Lookup {
        let mut ids: Vec<String> = Vec::new();
        for id in split_list(raw) {
            if !is_resource_id(id, spec.prefix) {
                self.report(
                    spec.ids_input,
                    format!(
                        "{}{origin} is not a {} id; expected {} followed by 8 or 17 \
                         lower-case hexadecimal digits, e.g. {}0123456789abcdef0",
                        show(id),
                        spec.what,
                        spec.prefix,
                        spec.prefix
                    ),
                );
            } else if !ids.iter().any(|seen| seen == id) {
                ids.push(id.to_string());
            }
        }
        if ids.len() > spec.max {
            self.report(
                spec.ids_input,
                format!(
                    "{} {} ids given{origin}; ECS allows at most {} per task",
                    ids.len(),
                    spec.what,
                    spec.max
                ),
            );
        }
        Lookup::Ids(ids)
    }

    pub(super) fn tag_filter(&mut self, input: &str, raw: &str) -> Lookup {
        let parsed = raw
            .split_once(':')
            .map(|(key, value)| (key.trim(), value.trim()))
            .filter(|(key, value)| {
                (1..=127).contains(&key.chars().count()) && value.chars().count() <= 255
            });
        match parsed {
            Some((key, value)) => Lookup::Tag {
                key: key.to_string(),
                value: value.to_string(),
            },
            None => {
                self.report(
                    input,
                    format!(
                        "{} is not a tag; use key:value (split at the first ':', key 1 to 127 \
                         characters, value up to 255), e.g. Name:ci-runners",
                        show(raw)
                    ),
                );
                Lookup::None
            }
        }
    }

    pub(super) fn assign_public_ip(&mut self) -> bool {
        let raw = self.input("assign-public-ip");
        match raw.to_ascii_lowercase().as_str() {
            "" | "disabled" | "false" => false,
            "enabled" | "true" => true,
            _ => {
                self.report(
                    "assign-public-ip",
                    format!(
                        "{} is not allowed; use ENABLED, DISABLED, true or false",
                        show(raw)
                    ),
                );
                false
            }
        }
    }

    pub(super) fn container_name(&mut self) -> Option<String> {
        let raw = self.input("container-name");
        if raw.is_empty() {
            return None;
        }
        if !is_ecs_name(raw) {
            self.report(
                "container-name",
                format!(
                    "{} is not a container name; use 1 to 255 letters, digits, '_' or '-'",
                    show(raw)
                ),
            );
        }
        Some(raw.to_string())
    }
}

/// `provider`, `provider:weight` or `provider:weight:base`.
pub(super) fn parse_capacity_provider(item: &str) -> Option<CapacityProvider> {
    let mut parts = item.split(':');
    let provider = parts.next().filter(|p| is_ecs_name(p))?;
    let weight = match parts.next() {
        None => None,
        Some(w) => Some(parse_uint(w).filter(|&w| w <= 1000)? as u32),
    };
    let base = match parts.next() {
        None => None,
        Some(b) => Some(parse_uint(b).filter(|&b| b <= 100_000)? as u32),
    };
    if parts.next().is_some() {
        return None;
    }
    Some(CapacityProvider {
        provider: provider.to_string(),
        weight,
        base,
    })
}

/// Whether the task runs on Fargate, where awsvpc (and so subnets) is
/// mandatory.
pub(super) fn uses_fargate(placement: &Placement) -> bool {
    match placement {
        Placement::LaunchType(launch_type) => launch_type == "FARGATE",
        Placement::CapacityProviders(providers) => providers
            .iter()
            .any(|p| p.provider == "FARGATE" || p.provider == "FARGATE_SPOT"),
    }
}

/// `subnet-`/`sg-` + 8 (older) or 17 (current) lower-case hex digits.
pub(super) fn is_resource_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests;
