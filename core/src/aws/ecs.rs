//! ECS request bodies and answers (ECS API reference, JSON 1.1 protocol).
//! Answers are read leniently: a field we do not need may be missing or of
//! a newer shape without breaking us.

use serde_json::{json, Value};

/// What DescribeTaskDefinition tells us.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskDefinition {
    pub arn: String,
    pub containers: Vec<String>,
    /// `awsvpc`, `bridge`, `host`, `none`; absent means `bridge` on EC2.
    pub network_mode: String,
    /// Each container's awslogs configuration, by container name.
    pub logs: Vec<(String, AwsLogs)>,
    /// `runtimePlatform.cpuArchitecture` (`X86_64`, `ARM64`), if set.
    pub cpu_architecture: String,
    /// Seconds since the epoch.
    pub registered_at: Option<f64>,
    /// Each container's `entryPoint` and `command` (empty when not set), by
    /// container name.
    pub commands: Vec<(String, Vec<String>, Vec<String>)>,
}

/// Where ECS sends a container's output (the awslogs log driver; ECS
/// developer guide, "Using the awslogs log driver"): stream
/// `{prefix}/{container}/{task id}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwsLogs {
    pub group: String,
    pub region: String,
    pub prefix: String,
}

impl TaskDefinition {
    /// The entry point and command of `container` (empty when not set).
    pub fn command_of(&self, container: &str) -> (&[String], &[String]) {
        self.commands
            .iter()
            .find(|(c, _, _)| c == container)
            .map(|(_, e, c)| (e.as_slice(), c.as_slice()))
            .unwrap_or((&[], &[]))
    }

    pub fn logs_of(&self, container: &str) -> Option<&AwsLogs> {
        self.logs
            .iter()
            .find(|(c, _)| c == container)
            .map(|(_, l)| l)
    }
}

/// DescribeTaskDefinition; with its tags for a definition the action keeps.
pub fn describe_task_definition(task_definition: &str) -> Value {
    json!({ "taskDefinition": task_definition })
}

pub fn describe_task_definition_with_tags(task_definition: &str) -> Value {
    json!({ "taskDefinition": task_definition, "include": ["TAGS"] })
}

/// A DescribeTaskDefinition or RegisterTaskDefinition answer.
pub fn parse_task_definition(body: &str) -> Option<TaskDefinition> {
    let v: Value = serde_json::from_str(body).ok()?;
    let td = v.get("taskDefinition")?;
    // A definition always has its containers and its ARN.
    let containers = td.get("containerDefinitions")?.as_array()?.clone();
    td.get("taskDefinitionArn")?
        .as_str()
        .filter(|a| !a.is_empty())?;
    let logs = containers
        .iter()
        .filter_map(|c| {
            let lc = c.get("logConfiguration")?;
            if lc.get("logDriver").and_then(Value::as_str) != Some("awslogs") {
                return None;
            }
            let o = lc.get("options")?;
            Some((
                str_of(c, "name"),
                AwsLogs {
                    group: str_of(o, "awslogs-group"),
                    region: str_of(o, "awslogs-region"),
                    prefix: str_of(o, "awslogs-stream-prefix"),
                },
            ))
        })
        .filter(|(_, l)| !l.group.is_empty())
        .collect();
    Some(TaskDefinition {
        arn: str_of(td, "taskDefinitionArn"),
        containers: containers.iter().map(|c| str_of(c, "name")).collect(),
        network_mode: td
            .get("networkMode")
            .and_then(Value::as_str)
            .unwrap_or("bridge")
            .to_string(),
        logs,
        cpu_architecture: td
            .get("runtimePlatform")
            .map(|r| str_of(r, "cpuArchitecture"))
            .unwrap_or_default(),
        registered_at: td.get("registeredAt").and_then(timestamp),
        commands: containers
            .iter()
            .map(|c| {
                (
                    str_of(c, "name"),
                    strings_of(c, "entryPoint"),
                    strings_of(c, "command"),
                )
            })
            .collect(),
    })
}

/// A list of strings; anything else is empty.
fn strings_of(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A task as DescribeTasks or RunTask shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Task {
    pub arn: String,
    pub task_definition_arn: String,
    pub last_status: String,
    pub desired_status: String,
    pub stop_code: String,
    pub stopped_reason: String,
    /// Seconds since the epoch (ECS timestamps are fractional seconds).
    pub created_at: Option<f64>,
    pub container_instance_arn: String,
    pub eni_ip: String,
    pub containers: Vec<Container>,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Container {
    pub name: String,
    pub reason: String,
    pub exit_code: Option<i64>,
    pub ip: String,
}

impl Task {
    /// The last part of the ARN: the task id the console and CLI show.
    pub fn id(&self) -> &str {
        task_id(&self.arn)
    }
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// The private IP: the ENI attachment's `privateIPv4Address` (awsvpc),
    /// else a container's `networkInterfaces[].privateIpv4Address`.
    pub fn private_ip(&self) -> Option<&str> {
        if !self.eni_ip.is_empty() {
            return Some(&self.eni_ip);
        }
        self.containers
            .iter()
            .map(|c| c.ip.as_str())
            .find(|ip| !ip.is_empty())
    }
    /// Past RUNNING or on its way out: it will not (or no longer) run.
    pub fn is_stopping(&self) -> bool {
        self.desired_status == "STOPPED"
            || matches!(
                self.last_status.as_str(),
                "DEACTIVATING" | "STOPPING" | "DEPROVISIONING" | "STOPPED"
            )
    }
    /// How the task ended, in one line: stop code, reason, each container.
    pub fn ending(&self) -> String {
        let mut parts = Vec::new();
        if !self.stop_code.is_empty() {
            parts.push(format!("stopCode {}", self.stop_code));
        }
        if !self.stopped_reason.is_empty() {
            parts.push(format!("stoppedReason \"{}\"", self.stopped_reason));
        }
        for c in &self.containers {
            let mut d = format!("container {}", c.name);
            if let Some(code) = c.exit_code {
                d.push_str(&format!(" exited with code {code}"));
            }
            if !c.reason.is_empty() {
                d.push_str(&format!(": {}", c.reason));
            }
            if c.exit_code.is_some() || !c.reason.is_empty() {
                parts.push(d);
            }
        }
        if parts.is_empty() {
            "ECS gave no reason".to_string()
        } else {
            parts.join("; ")
        }
    }
}

pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// One entry of RunTask's or DescribeTasks' `failures[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Failure {
    pub arn: String,
    pub reason: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TasksAnswer {
    pub tasks: Vec<Task>,
    pub failures: Vec<Failure>,
}

/// RunTask's or DescribeTasks' answer. None when it is not one: no list of
/// tasks, or a task without its ARN (a wrong-shaped answer must read as
/// unreadable, not as "no task"; ECS always sends both lists).
pub fn parse_tasks(body: &str) -> Option<TasksAnswer> {
    let v: Value = serde_json::from_str(body).ok()?;
    let tasks: Vec<Task> = v.get("tasks")?.as_array()?.iter().map(parse_task).collect();
    if tasks.iter().any(|t| t.arn.is_empty()) {
        return None;
    }
    let failures = v
        .get("failures")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .map(|f| Failure {
                    arn: str_of(f, "arn"),
                    reason: str_of(f, "reason"),
                    detail: str_of(f, "detail"),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(TasksAnswer { tasks, failures })
}

fn parse_task(t: &Value) -> Task {
    // ENI attachment details: [{name: "privateIPv4Address", value}] (capital
    // "IPv4"; ECS API reference, Attachment / KeyValuePair).
    let eni_ip = t
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("ElasticNetworkInterface"))
        .flat_map(|a| {
            a.get("details")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .find(|d| d.get("name").and_then(Value::as_str) == Some("privateIPv4Address"))
        .map(|d| str_of(&d, "value"))
        .unwrap_or_default();
    let containers = t
        .get("containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| Container {
                    name: str_of(c, "name"),
                    reason: str_of(c, "reason"),
                    exit_code: c.get("exitCode").and_then(Value::as_i64),
                    ip: c
                        .get("networkInterfaces")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|n| str_of(n, "privateIpv4Address"))
                        .find(|ip| !ip.is_empty())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let tags = t
        .get("tags")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .map(|x| (str_of(x, "key"), str_of(x, "value")))
                .collect()
        })
        .unwrap_or_default();
    Task {
        arn: str_of(t, "taskArn"),
        task_definition_arn: str_of(t, "taskDefinitionArn"),
        last_status: str_of(t, "lastStatus"),
        desired_status: str_of(t, "desiredStatus"),
        stop_code: str_of(t, "stopCode"),
        stopped_reason: str_of(t, "stoppedReason"),
        created_at: t.get("createdAt").and_then(timestamp),
        container_instance_arn: str_of(t, "containerInstanceArn"),
        eni_ip,
        containers,
        tags,
    }
}

/// ECS sends epoch seconds as a number; some emulators send ISO strings,
/// which we do not need to read.
fn timestamp(v: &Value) -> Option<f64> {
    v.as_f64()
}

pub fn describe_tasks(cluster: &str, arns: &[String], with_tags: bool) -> Value {
    let mut body = json!({ "cluster": cluster, "tasks": arns });
    if with_tags {
        body["include"] = json!(["TAGS"]);
    }
    body
}

pub fn stop_task(cluster: &str, task: &str, reason: &str) -> Value {
    // `reason` shows as stoppedReason; ECS caps it at 255 characters.
    let reason: String = reason.chars().take(255).collect();
    json!({ "cluster": cluster, "task": task, "reason": reason })
}

pub fn list_tasks(cluster: &str, started_by: Option<&str>, next_token: Option<&str>) -> Value {
    let mut body = json!({ "cluster": cluster, "maxResults": 100 });
    if let Some(s) = started_by {
        body["startedBy"] = json!(s);
    }
    if let Some(t) = next_token {
        body["nextToken"] = json!(t);
    }
    body
}

/// ListTasks: the task ARNs and the token for the next page.
/// `(taskArns, nextToken)`; None when the answer has no list of ARNs (a
/// wrong-shaped answer must not read as "no tasks").
pub fn parse_list_tasks(body: &str) -> Option<(Vec<String>, Option<String>)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let arns = v
        .get("taskArns")?
        .as_array()?
        .iter()
        .map(|a| a.as_str().filter(|a| !a.is_empty()).map(String::from))
        .collect::<Option<Vec<String>>>()?;
    let next = v
        .get("nextToken")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from);
    Some((arns, next))
}

pub fn describe_container_instances(cluster: &str, arns: &[String]) -> Value {
    json!({ "cluster": cluster, "containerInstances": arns })
}

/// The EC2 instance ids behind container instances.
/// The EC2 instance ids; None when the answer has no list of container
/// instances.
pub fn parse_container_instances(body: &str) -> Option<Vec<String>> {
    let v = serde_json::from_str::<Value>(body).ok()?;
    Some(
        v.get("containerInstances")?
            .as_array()?
            .iter()
            .map(|c| str_of(c, "ec2InstanceId"))
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// A sentence for one RunTask failure that says what to do (ECS developer
/// guide, "API failure reasons").
pub fn failure_advice(f: &Failure, cluster: &str) -> String {
    let what = match f.reason.as_str() {
        "RESOURCE:CPU" | "RESOURCE:MEMORY" => format!(
            "no container instance in cluster '{cluster}' has enough {} free for the task: add instances, use a capacity provider with managed scaling, lower the task's cpu/memory, or use FARGATE",
            if f.reason.ends_with("CPU") { "CPU" } else { "memory" }
        ),
        "RESOURCE:PORTS" => "the task's host ports are taken on every container instance: use dynamic host ports (hostPort 0) or the awsvpc network mode".to_string(),
        "RESOURCE:ENI" => "no container instance has a free network interface for an awsvpc task: enable ENI trunking, use larger instances, or use FARGATE".to_string(),
        "RESOURCE:GPU" => "no container instance has the GPUs the task asks for".to_string(),
        "AGENT" => "the ECS agent on the chosen container instance is disconnected: check the instance and its agent".to_string(),
        "ATTRIBUTE" => "no container instance has the attributes the task definition requires (placement constraints or requiresAttributes)".to_string(),
        "MISSING" => "the container instance or task could not be found".to_string(),
        "INACTIVE" => "the container instance is inactive (deregistered or draining)".to_string(),
        _ => "ECS could not place the task".to_string(),
    };
    let mut s = format!("{} ({}", what, f.reason);
    if !f.detail.is_empty() {
        s.push_str(&format!(": {}", f.detail));
    }
    s.push(')');
    s
}

/// A hint for a task that stopped, from the reasons ECS gave (ECS developer
/// guide, "Stopped task error codes").
pub fn stop_advice(t: &Task) -> Option<&'static str> {
    let text = std::iter::once(t.stopped_reason.as_str())
        .chain(t.containers.iter().map(|c| c.reason.as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    if text.contains("CannotPullContainerError") {
        Some("the image could not be pulled: check the image name, that the task can reach the registry (a NAT gateway, assign-public-ip: ENABLED in a public subnet, or VPC endpoints), and for a private registry that the task has an execution role allowed to pull from it (ECR: AmazonECSTaskExecutionRolePolicy; other registries: repositoryCredentials in the task definition)")
    } else if text.contains("ResourceInitializationError") {
        Some("the task could not be set up: usually the execution role lacks permissions or the subnet has no route to ECR, Secrets Manager or CloudWatch Logs")
    } else if text.contains("CannotStartContainerError") {
        Some("the container could not start: check its command and entry point")
    } else if text.contains("OutOfMemory") {
        Some("the container ran out of memory: raise the task's memory")
    } else if t.stop_code == "EssentialContainerExited" {
        Some("the runner process exited: read the container's logs (an expired or already used JIT config, or a wrong command, are common causes)")
    } else if t.stop_code == "SpotInterruption" {
        Some("the Fargate Spot capacity was reclaimed: retry, or add FARGATE to capacity-provider-strategy")
    } else {
        None
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}
