//! `image` and its companions: the task definition the action registers.

use super::parser::{Parser, IMAGE_INPUTS};
use super::placement::uses_fargate;
use super::validators::{parse_uint, show};
use crate::aws::taskdef;
use crate::settings::{Arch, Placement, TaskSpec};

impl<'a> Parser<'a> {
    /// `image` and its companions (the rest of [`IMAGE_INPUTS`]): the task
    /// definition the action registers. The companions without `image` are
    /// an error.
    pub(super) fn task_spec(
        &mut self,
        placement: Option<&Placement>,
        fallback: Option<&Placement>,
    ) -> Option<TaskSpec> {
        // Every image input but `image` itself.
        const COMPANIONS: &[&str] = IMAGE_INPUTS.split_at(1).1;
        let image = self.input("image");
        if image.is_empty() {
            for name in COMPANIONS {
                if !self.input(name).is_empty() {
                    self.report(
                        name,
                        "applies only with `image` (the task definition the action registers); \
                         with `task-definition` set it in your task definition",
                    );
                }
            }
            return None;
        }
        let before = self.problems.len();
        if image.chars().count() > 255 || image.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            self.report(
                "image",
                format!(
                    "{} is not an image reference; use e.g. ghcr.io/actions/actions-runner:latest \
                     (at most 255 characters, no spaces)",
                    show(image)
                ),
            );
        }
        let number = |p: &mut Self, name: &str, what: &str| -> Option<u32> {
            let raw = p.input(name);
            if raw.is_empty() {
                return None;
            }
            match parse_uint(raw).filter(|n| *n > 0 && *n <= u64::from(u32::MAX)) {
                Some(n) => Some(n as u32),
                None => {
                    p.report(name, format!("{} is not allowed; use {what}", show(raw)));
                    None
                }
            }
        };
        let cpu = number(
            self,
            "cpu",
            "CPU units as a whole number, e.g. 1024 (1 vCPU)",
        );
        let memory = number(self, "memory", "MiB as a whole number, e.g. 2048");
        let memory_given = !self.input("memory").is_empty();
        let cpu = cpu.unwrap_or(taskdef::DEFAULT_CPU);
        let memory = memory.unwrap_or(cpu.saturating_mul(2));
        let fargate = placement.is_some_and(uses_fargate) || fallback.is_some_and(uses_fargate);
        if fargate && !taskdef::fargate_size_ok(cpu, memory) {
            let input = if memory_given { "memory" } else { "cpu" };
            self.report(
                input,
                format!(
                    "cpu {cpu} with memory {memory} is not a Fargate task size; Fargate takes {}",
                    taskdef::fargate_sizes_words()
                ),
            );
        } else if !fargate && cpu < 128 {
            self.report(
                "cpu",
                format!("{cpu} is below ECS's minimum of 128 CPU units"),
            );
        }
        let raw_arch = self.input("architecture");
        let arch = match raw_arch.to_ascii_uppercase().as_str() {
            "" | "X64" | "X86_64" | "AMD64" => Arch::X64,
            "ARM64" | "AARCH64" => Arch::Arm64,
            _ => {
                self.report(
                    "architecture",
                    format!(
                        "{} is not an architecture; use X64 or ARM64",
                        show(raw_arch)
                    ),
                );
                Arch::X64
            }
        };
        let spot = |p: Option<&Placement>| matches!(p, Some(Placement::CapacityProviders(ps)) if ps.iter().any(|c| c.provider == "FARGATE_SPOT"));
        if arch == Arch::Arm64 && (spot(placement) || spot(fallback)) {
            self.report(
                "architecture",
                "ARM64 tasks cannot run on Fargate Spot (FARGATE_SPOT runs X86_64 only); use \
                 FARGATE, or X64 on FARGATE_SPOT",
            );
        }
        let role = |p: &mut Self, name: &str, env: &str| -> Option<String> {
            let (raw, origin) = match (p.input(name), p.env(env)) {
                ("", Some(v)) => (v, format!(" (from {env})")),
                ("", None) => return None,
                (v, _) => (v, String::new()),
            };
            let ok = if raw.starts_with("arn:") {
                raw.split(':').nth(2) == Some("iam") && raw.contains(":role/")
            } else {
                (1..=64).contains(&raw.chars().count())
                    && raw
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
            };
            if !ok {
                p.report(
                    name,
                    format!(
                        "{}{origin} is not a role; use a role ARN \
                         (arn:aws:iam::ACCOUNT:role/NAME) or a role name",
                        show(raw)
                    ),
                );
            }
            Some(raw.to_string())
        };
        let execution_role = role(self, "execution-role", "ECS_EXECUTION_ROLE");
        let task_role = role(self, "task-role", "ECS_TASK_ROLE");
        let log_group = match self.input("log-group") {
            "" => None,
            g => {
                let ok = (1..=512).contains(&g.chars().count())
                    && g.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c));
                if !ok {
                    self.report(
                        "log-group",
                        format!(
                            "{} is not a log group name; use 1 to 512 letters, digits or _ - / . #",
                            show(g)
                        ),
                    );
                }
                if execution_role.is_none() {
                    self.report(
                        "log-group",
                        "needs `execution-role` (or ECS_EXECUTION_ROLE): ECS writes the runner's \
                         logs to CloudWatch with the task execution role, which needs \
                         logs:CreateLogStream and logs:PutLogEvents (the managed policy \
                         AmazonECSTaskExecutionRolePolicy has them)",
                    );
                }
                Some(g.to_string())
            }
        };
        let efs_id = match (self.input("efs-id"), self.env("EFS_ID")) {
            ("", Some(v)) => Some(v),
            ("", None) => None,
            (v, _) => Some(v),
        };
        let efs = match efs_id {
            Some(id) => {
                let ok = id.strip_prefix("fs-").is_some_and(|h| {
                    matches!(h.len(), 8 | 17) && h.bytes().all(|b| b.is_ascii_hexdigit())
                });
                if !ok {
                    self.report(
                        "efs-id",
                        format!(
                            "{} is not an EFS file system id; use fs- and 8 or 17 hex digits",
                            show(id)
                        ),
                    );
                }
                let path = match self.input("efs-path") {
                    "" => taskdef::DEFAULT_EFS_PATH,
                    p => p,
                };
                if !path.starts_with('/')
                    || path.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    self.report(
                        "efs-path",
                        format!("{} is not an absolute path in the container", show(path)),
                    );
                }
                Some((id.to_string(), path.to_string()))
            }
            None => {
                for name in ["efs-path", "efs-access-point", "efs-iam"] {
                    if !self.input(name).is_empty() {
                        self.report(name, "applies only with `efs-id` (or EFS_ID)");
                    }
                }
                None
            }
        };
        // An access point makes the mount writable for the runner (uid
        // 1001) on a root-owned file system; ECS requires transit
        // encryption with it (ECS developer guide, "Amazon EFS volumes").
        let efs_access_point = match self.input("efs-access-point") {
            "" => None,
            ap => {
                let ok = ap.strip_prefix("fsap-").is_some_and(|h| {
                    (8..=40).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit())
                });
                if !ok {
                    self.report(
                        "efs-access-point",
                        format!(
                            "{} is not an EFS access point id; use fsap- and 17 hex digits, e.g. \
                             fsap-0123456789abcdef0",
                            show(ap)
                        ),
                    );
                }
                Some(ap.to_string())
            }
        };
        let efs_iam = efs.is_some() && !self.input("efs-iam").is_empty() && self.boolean("efs-iam");
        let external =
            |p: Option<&Placement>| matches!(p, Some(Placement::LaunchType(t)) if t == "EXTERNAL");
        let on_external = external(placement) || external(fallback);
        if on_external && efs.is_some() {
            self.report(
                "efs-id",
                "EFS volumes do not work on ECS Anywhere (launch type EXTERNAL); mount the \
                 file system on the external instance and use a task definition of your own \
                 with a host volume",
            );
        }
        if external(placement) && fallback.is_some_and(uses_fargate)
            || external(fallback) && placement.is_some_and(uses_fargate)
        {
            self.report(
                "capacity-fallback",
                "with `image` the action registers one task definition, and ECS Anywhere \
                 (EXTERNAL) tasks use the bridge network mode, which Fargate does not run: do not \
                 mix EXTERNAL with FARGATE",
            );
        }
        let ephemeral_storage_gib = match self.input("ephemeral-storage") {
            "" => None,
            raw => match parse_uint(raw).filter(|n| (21..=200).contains(n)) {
                Some(n) if fargate => Some(n as u32),
                Some(_) => {
                    self.report(
                        "ephemeral-storage",
                        "applies to Fargate tasks only; on EC2 the instance's disk is the limit",
                    );
                    None
                }
                None => {
                    self.report(
                        "ephemeral-storage",
                        format!("{} is not allowed; use whole GiB from 21 to 200", show(raw)),
                    );
                    None
                }
            },
        };
        let raw_command = self.input("command");
        let command: Vec<String> = if raw_command.is_empty() {
            vec![taskdef::DEFAULT_COMMAND.to_string()]
        } else if raw_command.starts_with('[') {
            match serde_json::from_str::<Vec<String>>(raw_command) {
                Ok(words) if !words.is_empty() => words,
                _ => {
                    self.report(
                        "command",
                        format!(
                            "{} is not a JSON array of strings; use e.g. [\"/home/runner/run.sh\"] \
                             or words separated by spaces",
                            show(raw_command)
                        ),
                    );
                    Vec::new()
                }
            }
        } else {
            raw_command.split_whitespace().map(String::from).collect()
        };
        (self.problems.len() == before).then(|| TaskSpec {
            image: image.to_string(),
            cpu,
            memory,
            arch,
            execution_role,
            task_role,
            log_group,
            efs,
            efs_access_point,
            efs_iam,
            ephemeral_storage_gib,
            command,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::tests::*;

    #[test]
    fn external_with_image_needs_no_subnets_and_no_efs_or_fargate() {
        let s = ok(
            &[
                ("image", "img"),
                ("launch-type", "EXTERNAL"),
                ("subnets", ""),
            ],
            &[],
        );
        assert_eq!(crate::aws::taskdef::network_mode(&s), "bridge");
        let p = only(
            &[
                ("image", "img"),
                ("launch-type", "EXTERNAL"),
                ("efs-id", "fs-0123abcd"),
            ],
            &[],
        );
        assert_eq!(p.input, "efs-id");
        says(&p, &["ECS Anywhere"]);
        let p = only(
            &[
                ("image", "img"),
                ("launch-type", "EXTERNAL"),
                ("capacity-fallback", "FARGATE"),
            ],
            &[],
        );
        assert_eq!(p.input, "capacity-fallback");
        says(&p, &["bridge", "FARGATE"]);
        let s = ok(&[("image", "img"), ("launch-type", "EC2")], &[]);
        assert_eq!(crate::aws::taskdef::network_mode(&s), "awsvpc");
    }

    #[test]
    fn efs_access_point_and_iam() {
        let s = ok(
            &[
                ("image", "img"),
                ("efs-id", "fs-0123abcd"),
                ("efs-access-point", "fsap-0123456789abcdef0"),
                ("efs-iam", "true"),
            ],
            &[],
        );
        let spec = s.task_spec.unwrap();
        assert_eq!(
            spec.efs_access_point.as_deref(),
            Some("fsap-0123456789abcdef0")
        );
        assert!(spec.efs_iam);
        let p = only(
            &[
                ("image", "img"),
                ("efs-id", "fs-0123abcd"),
                ("efs-access-point", "ap-1"),
            ],
            &[],
        );
        assert_eq!(p.input, "efs-access-point");
        says(&p, &["'ap-1'", "fsap-"]);
        for name in ["efs-access-point", "efs-iam"] {
            let value = if name == "efs-iam" {
                "true"
            } else {
                "fsap-0123456789abcdef0"
            };
            let p = only(&[("image", "img"), (name, value)], &[]);
            assert_eq!(p.input, name);
            says(&p, &["only with `efs-id`"]);
        }
    }

    #[test]
    fn image_and_its_companions_make_a_task_spec() {
        let s = ok(&[("image", "ghcr.io/actions/actions-runner:latest")], &[]);
        let spec = s.task_spec.expect("a spec");
        assert_eq!((spec.cpu, spec.memory, spec.arch), (1024, 2048, Arch::X64));
        assert_eq!(spec.command, ["/home/runner/run.sh"]);
        assert_eq!(
            (spec.execution_role, spec.log_group, spec.efs),
            (None, None, None)
        );
        assert_eq!(
            s.task_definition, "github-ecs-runner",
            "the family is `name`"
        );
        let s = ok(
            &[
                ("image", "img:1"),
                ("cpu", "2048"),
                ("memory", "8192"),
                ("architecture", "arm64"),
                ("execution-role", "ecs-runner-execution"),
                ("log-group", "/ecs-runner"),
                ("efs-path", "/cache"),
                ("ephemeral-storage", "50"),
                ("command", "[\"/bin/sh\", \"-c\", \"run.sh\"]"),
            ],
            &[
                ("ECS_TASK_ROLE", "arn:aws:iam::123456789012:role/task"),
                ("EFS_ID", "fs-0123abcd"),
            ],
        );
        let spec = s.task_spec.unwrap();
        assert_eq!(
            (spec.cpu, spec.memory, spec.arch),
            (2048, 8192, Arch::Arm64)
        );
        assert_eq!(
            spec.task_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/task")
        );
        assert_eq!(spec.efs, Some(("fs-0123abcd".into(), "/cache".into())));
        assert_eq!(spec.ephemeral_storage_gib, Some(50));
        assert_eq!(spec.command, ["/bin/sh", "-c", "run.sh"]);
        assert_eq!(s.run.arch, "ARM64", "the label follows the task");
        let words = ok(&[("image", "img"), ("command", "/bin/run  --once")], &[]);
        assert_eq!(words.task_spec.unwrap().command, ["/bin/run", "--once"]);
    }

    #[test]
    fn image_input_errors_name_the_input_and_what_is_allowed() {
        let p = only(&[("image", "img"), ("task-definition", "td")], &[]);
        says(&p, &["`task-definition` and `image`"]);
        let p = only(&[("image", "img"), ("memory", "1000")], &[]);
        assert_eq!(p.input, "memory");
        says(
            &p,
            &[
                "cpu 1024 with memory 1000",
                "cpu 1024: memory 2048 to 8192 in steps of 1024",
            ],
        );
        let p = only(&[("image", "img"), ("cpu", "300")], &[]);
        assert_eq!(p.input, "cpu");
        let p = only(&[("image", "img"), ("log-group", "/x")], &[]);
        assert_eq!(p.input, "log-group");
        says(&p, &["execution-role", "ECS_EXECUTION_ROLE"]);
        let p = only(
            &[
                ("image", "img"),
                ("architecture", "ARM64"),
                ("capacity-provider-strategy", "FARGATE_SPOT:1"),
            ],
            &[],
        );
        assert_eq!(p.input, "architecture");
        says(&p, &["Fargate Spot"]);
        let p = only(&[("image", "img"), ("architecture", "mips")], &[]);
        says(&p, &["'mips'", "X64 or ARM64"]);
        let p = only(&[("cpu", "1024")], &[]);
        assert_eq!(p.input, "cpu");
        says(&p, &["only with `image`"]);
        let p = only(
            &[("image", "img"), ("execution-role", "arn:aws:s3:::bucket")],
            &[],
        );
        assert_eq!(p.input, "execution-role");
        let p = only(&[("image", "img"), ("efs-id", "efs-1")], &[]);
        assert_eq!(p.input, "efs-id");
        let p = only(&[("image", "img"), ("efs-path", "/x")], &[]);
        says(&p, &["only with `efs-id`"]);
        let p = only(&[("image", "img"), ("ephemeral-storage", "10")], &[]);
        says(&p, &["'10'", "21 to 200"]);
        let p = only(
            &[
                ("image", "img"),
                ("ephemeral-storage", "30"),
                ("launch-type", "EC2"),
                ("subnets", ""),
            ],
            &[],
        );
        says(&p, &["Fargate tasks only"]);
        let p = only(&[("image", "img"), ("command", "[1]")], &[]);
        says(&p, &["JSON array of strings"]);
        let p = only(&[("image", "my image")], &[]);
        assert_eq!(p.input, "image");
    }
}
