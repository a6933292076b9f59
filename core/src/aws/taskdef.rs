//! The task definition the action registers and keeps when it runs the
//! runners from an `image`: its content, a digest of that content (kept in
//! the `ecs-runner:spec` tag, so an unchanged definition is reused), and
//! Fargate's CPU and memory table.
//!
//! ECS API reference, RegisterTaskDefinition; ECS developer guide, "Amazon
//! ECS task definition parameters for Fargate" (task size).

use serde_json::{json, Value};

use crate::settings::{Placement, Settings, TaskSpec};

/// The tag that carries the digest of the definition's content.
pub const TAG_SPEC: &str = "ecs-runner:spec";
/// The runner container's name in a definition the action registers.
pub const CONTAINER: &str = "runner";
/// The awslogs stream prefix: streams are `ecs-runner/runner/{task id}`.
pub const LOG_STREAM_PREFIX: &str = "ecs-runner";
/// The stock image's runner, which reads `ACTIONS_RUNNER_INPUT_JITCONFIG`.
pub const DEFAULT_COMMAND: &str = "/home/runner/run.sh";
pub const DEFAULT_CPU: u32 = 1024;
pub const DEFAULT_EFS_PATH: &str = "/mnt/efs";

/// Fargate's task sizes: (cpu, lowest memory, highest memory, step), MiB.
pub const FARGATE_SIZES: &[(u32, u32, u32, u32)] = &[
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Whether Fargate runs a task of this size. 256 CPU takes 512, 1024 or
/// 2048 MiB (not 1536).
pub fn fargate_size_ok(cpu: u32, memory: u32) -> bool {
    if cpu == 256 {
        return matches!(memory, 512 | 1024 | 2048);
    }
    FARGATE_SIZES.iter().any(|&(c, lo, hi, step)| {
        c == cpu && (lo..=hi).contains(&memory) && (memory - lo).is_multiple_of(step)
    })
}

/// Fargate's table in words, for the error.
pub fn fargate_sizes_words() -> String {
    FARGATE_SIZES
        .iter()
        .map(|&(c, lo, hi, step)| {
            if c == 256 {
                "cpu 256: memory 512, 1024 or 2048".to_string()
            } else {
                format!("cpu {c}: memory {lo} to {hi} in steps of {step}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether `p` places tasks on ECS Anywhere (launch type EXTERNAL), which
/// has no awsvpc network mode (ECS developer guide, "External instances").
pub fn is_external(p: &Placement) -> bool {
    matches!(p, Placement::LaunchType(t) if t == "EXTERNAL")
}

/// `bridge` where a definition must run on ECS Anywhere, else `awsvpc`
/// (Fargate's only mode, and on EC2 a task's own network interface).
pub fn network_mode(s: &Settings) -> &'static str {
    if std::iter::once(&s.placement)
        .chain(s.capacity_fallback.iter())
        .any(is_external)
    {
        "bridge"
    } else {
        "awsvpc"
    }
}

/// The launch types a placement (and its fallback) needs the definition to
/// be compatible with.
fn compatibilities(s: &Settings) -> Vec<&'static str> {
    let mut out = Vec::new();
    for p in std::iter::once(&s.placement).chain(s.capacity_fallback.iter()) {
        let kind = match p {
            Placement::LaunchType(t) if t == "EC2" => "EC2",
            Placement::LaunchType(t) if t == "EXTERNAL" => "EXTERNAL",
            Placement::LaunchType(_) => "FARGATE",
            Placement::CapacityProviders(ps) => {
                if ps.iter().all(|p| p.provider.starts_with("FARGATE")) {
                    "FARGATE"
                } else {
                    "EC2"
                }
            }
        };
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    out
}

/// The RegisterTaskDefinition body, without tags: the content the digest
/// is taken of.
pub fn content(s: &Settings, spec: &TaskSpec) -> Value {
    let mut container = json!({
        "name": CONTAINER,
        "image": spec.image,
        "essential": true,
        "command": spec.command,
        // A soft limit equal to the task's memory: no limit of its own, and
        // what container definitions need where a task size is not enough
        // (EC2 without task-level memory, and the emulator).
        "memoryReservation": spec.memory,
    });
    if let Some(group) = &spec.log_group {
        container["logConfiguration"] = json!({
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": group,
                "awslogs-region": s.region,
                "awslogs-stream-prefix": LOG_STREAM_PREFIX,
            }
        });
    }
    let mut body = json!({
        "family": s.task_definition,
        "networkMode": network_mode(s),
        "requiresCompatibilities": compatibilities(s),
        "cpu": spec.cpu.to_string(),
        "memory": spec.memory.to_string(),
        "runtimePlatform": { "cpuArchitecture": spec.arch.ecs(), "operatingSystemFamily": "LINUX" },
    });
    if let Some((id, path)) = &spec.efs {
        let mut efs = json!({ "fileSystemId": id, "transitEncryption": "ENABLED" });
        if spec.efs_access_point.is_some() || spec.efs_iam {
            let mut auth = json!({ "iam": if spec.efs_iam { "ENABLED" } else { "DISABLED" } });
            if let Some(ap) = &spec.efs_access_point {
                auth["accessPointId"] = json!(ap);
            }
            efs["authorizationConfig"] = auth;
        }
        body["volumes"] = json!([{ "name": "efs", "efsVolumeConfiguration": efs }]);
        container["mountPoints"] = json!([{ "sourceVolume": "efs", "containerPath": path }]);
    }
    if let Some(r) = &spec.execution_role {
        body["executionRoleArn"] = json!(r);
    }
    if let Some(r) = &spec.task_role {
        body["taskRoleArn"] = json!(r);
    }
    if let Some(g) = spec.ephemeral_storage_gib {
        body["ephemeralStorage"] = json!({ "sizeInGiB": g });
    }
    body["containerDefinitions"] = json!([container]);
    body
}

/// The digest of the content: FNV-1a 64 of its JSON, twice with different
/// offsets for 128 bits (a change detector, not a security measure).
pub fn digest(content: &Value) -> String {
    let text = content.to_string();
    let fnv = |offset: u64| {
        text.bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf29ce484222325),
        fnv(0x84222325cbf29ce4)
    )
}

/// The RegisterTaskDefinition request: the content and its digest tag.
pub fn register_body(content: &Value, digest: &str) -> Value {
    let mut body = content.clone();
    body["tags"] = json!([
        { "key": TAG_SPEC, "value": digest },
    ]);
    body
}

/// The `ecs-runner:spec` tag of a DescribeTaskDefinition answer (with
/// `include: ["TAGS"]`).
pub fn spec_tag(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("tags")?
        .as_array()?
        .iter()
        .find(|t| t.get("key").and_then(Value::as_str) == Some(TAG_SPEC))
        .and_then(|t| t.get("value")?.as_str().map(String::from))
}

/// ListTaskDefinitions of one family (ACTIVE revisions).
pub fn list_body(family: &str, next_token: Option<&str>) -> Value {
    let mut body = json!({ "familyPrefix": family, "status": "ACTIVE" });
    if let Some(t) = next_token {
        body["nextToken"] = json!(t);
    }
    body
}

/// `(arns, nextToken)` of a ListTaskDefinitions answer.
pub fn parse_list(body: &str) -> Option<(Vec<String>, Option<String>)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let arns = v
        .get("taskDefinitionArns")?
        .as_array()?
        .iter()
        .filter_map(|a| a.as_str().map(String::from))
        .collect();
    let next = v
        .get("nextToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(String::from);
    Some((arns, next))
}

/// `family` and revision of a task definition ARN
/// (`arn:...:task-definition/family:3`).
pub fn family_revision(arn: &str) -> Option<(&str, u64)> {
    let last = arn.rsplit('/').next()?;
    let (family, rev) = last.rsplit_once(':')?;
    Some((family, rev.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_sizes_follow_the_table() {
        for (cpu, memory) in [
            (256, 512),
            (256, 2048),
            (512, 1024),
            (512, 4096),
            (1024, 2048),
            (1024, 8192),
            (2048, 16384),
            (4096, 30720),
            (8192, 20480),
            (16384, 122880),
        ] {
            assert!(fargate_size_ok(cpu, memory), "{cpu}/{memory}");
        }
        for (cpu, memory) in [
            (256, 1536),
            (256, 4096),
            (512, 512),
            (1024, 1024),
            (1024, 2500),
            (8192, 18432),
            (300, 1024),
            (16384, 36864),
        ] {
            assert!(!fargate_size_ok(cpu, memory), "{cpu}/{memory}");
        }
        let words = fargate_sizes_words();
        assert!(
            words.contains("cpu 1024: memory 2048 to 8192 in steps of 1024"),
            "{words}"
        );
    }

    #[test]
    fn a_revision_is_read_from_its_arn() {
        assert_eq!(
            family_revision("arn:aws:ecs:us-west-2:1:task-definition/gh-runner:12"),
            Some(("gh-runner", 12))
        );
        assert_eq!(family_revision("gh-runner"), None);
    }

    #[test]
    fn the_digest_changes_with_the_content_and_only_then() {
        let a = json!({"family": "x", "cpu": "1024"});
        let b = json!({"family": "x", "cpu": "2048"});
        assert_eq!(digest(&a), digest(&a.clone()));
        assert_ne!(digest(&a), digest(&b));
        assert_eq!(digest(&a).len(), 32);
        let tagged = register_body(&a, &digest(&a));
        let answer = json!({"taskDefinition": {}, "tags": tagged["tags"]}).to_string();
        assert_eq!(spec_tag(&answer), Some(digest(&a)));
    }
}
