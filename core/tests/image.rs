//! Runners from an `image`: the task definition the action registers and
//! keeps, per-runner placeholders, and the runner's own log on failure;
//! against the scripted world.

mod support;

use ecs_runner_core::aws::taskdef;
use ecs_runner_core::reap::Reap;
use ecs_runner_core::settings::{Arch, Mode, Settings, TaskSpec};
use ecs_runner_core::start::Start;
use serde_json::{json, Value};
use support::*;

const DESCRIBE_TD: &str = "ecs:DescribeTaskDefinition";
const REGISTER: &str = "ecs:RegisterTaskDefinition";
const LOGS: &str = "logs:GetLogEvents";

fn spec() -> TaskSpec {
    TaskSpec {
        image: "ghcr.io/actions/actions-runner:latest".into(),
        cpu: 2048,
        memory: 4096,
        arch: Arch::X64,
        execution_role: Some("arn:aws:iam::123456789012:role/ecs-runner-execution".into()),
        task_role: Some("ecs-runner-task".into()),
        log_group: Some("/ecs-runner".into()),
        efs: Some(("fs-0123abcd".into(), "/cache".into())),
        efs_access_point: None,
        efs_iam: false,
        ephemeral_storage_gib: Some(40),
        command: vec!["/home/runner/run.sh".into()],
    }
}

fn image_settings() -> Settings {
    let mut s = settings();
    s.task_definition = "gh".into();
    s.task_spec = Some(spec());
    s
}

fn not_found() -> Reply {
    Reply::aws_error(
        400,
        "ClientException",
        "Unable to describe task definition.",
    )
}

fn run(s: Settings, w: &mut World) -> Outcome {
    drive(&mut Start::new(s, RANDOM), w)
}

#[test]
fn a_new_family_is_registered_and_that_revision_is_run() {
    let mut w = World::default();
    w.queue(DESCRIBE_TD, not_found());
    let o = run(image_settings(), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let describe = json_body(w.first(DESCRIBE_TD));
    assert_eq!(
        describe,
        json!({"taskDefinition": "gh", "include": ["TAGS"]})
    );
    let td = json_body(w.first(REGISTER));
    assert_eq!(td["family"], "gh");
    assert_eq!(td["networkMode"], "awsvpc");
    assert_eq!(td["requiresCompatibilities"], json!(["FARGATE"]));
    assert_eq!(
        (td["cpu"].clone(), td["memory"].clone()),
        (json!("2048"), json!("4096"))
    );
    assert_eq!(
        td["runtimePlatform"],
        json!({"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"})
    );
    assert_eq!(
        td["executionRoleArn"],
        "arn:aws:iam::123456789012:role/ecs-runner-execution"
    );
    assert_eq!(td["taskRoleArn"], "ecs-runner-task");
    assert_eq!(td["ephemeralStorage"], json!({"sizeInGiB": 40}));
    assert_eq!(
        td["volumes"][0]["efsVolumeConfiguration"]["fileSystemId"],
        "fs-0123abcd"
    );
    let c = &td["containerDefinitions"][0];
    assert_eq!(c["name"], "runner");
    assert_eq!(c["image"], "ghcr.io/actions/actions-runner:latest");
    assert_eq!(c["command"], json!(["/home/runner/run.sh"]));
    assert_eq!(c["essential"], true);
    assert_eq!(
        c["mountPoints"],
        json!([{"sourceVolume": "efs", "containerPath": "/cache"}])
    );
    assert_eq!(
        c["logConfiguration"],
        json!({"logDriver": "awslogs", "options": {"awslogs-group": "/ecs-runner", "awslogs-region": "us-west-2", "awslogs-stream-prefix": "ecs-runner"}})
    );
    let s = image_settings();
    let digest = taskdef::digest(&taskdef::content(&s, s.task_spec.as_ref().unwrap()));
    assert_eq!(
        td["tags"],
        json!([{"key": "ecs-runner:spec", "value": digest}])
    );
    let rt = json_body(w.first("ecs:RunTask"));
    assert_eq!(
        rt["taskDefinition"],
        "arn:aws:ecs:us-west-2:123456789012:task-definition/gh:1"
    );
    assert_eq!(rt["overrides"]["containerOverrides"][0]["name"], "runner");
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains("Task definition family gh does not exist yet: registering it"),
        "{logs}"
    );
    assert!(
        logs.contains(
            "Registered task definition gh:1 for image ghcr.io/actions/actions-runner:latest"
        ),
        "{logs}"
    );
    // Registered before anything else was created.
    let ops = w.ops();
    let register_at = ops.iter().position(|o| o == REGISTER).unwrap();
    assert!(
        ops[..register_at].iter().all(|o| !o.starts_with("github:")),
        "{ops:?}"
    );
}

#[test]
fn an_unchanged_definition_is_reused_and_a_changed_one_registered_again() {
    let mut w = World::default();
    w.queue(DESCRIBE_TD, not_found());
    assert!(run(image_settings(), &mut w).done());
    // The second job finds revision 1 with the same spec tag.
    let o = run(image_settings(), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count(REGISTER), 1, "reused");
    assert!(o
        .visible_logs()
        .join("\n")
        .contains("Task definition gh:1 is up to date"));
    let runs = w.all("ecs:RunTask");
    assert_eq!(
        json_body(runs[1])["taskDefinition"],
        json_body(runs[0])["taskDefinition"]
    );

    // Other memory: other content, a new revision, run at once.
    let mut s = image_settings();
    s.task_spec.as_mut().unwrap().memory = 8192;
    let o = run(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count(REGISTER), 2);
    assert_eq!(json_body(w.all(REGISTER)[1])["memory"], "8192");
    assert!(o
        .visible_logs()
        .join("\n")
        .contains("gh:1 differs from the inputs: registering a new revision"));
    assert_eq!(
        json_body(w.all("ecs:RunTask")[2])["taskDefinition"],
        "arn:aws:ecs:us-west-2:123456789012:task-definition/gh:2"
    );
}

#[test]
fn a_definition_without_our_tag_or_of_a_racing_job_is_simply_registered_again() {
    // The family's latest revision was registered by hand (no tag), or by
    // another job racing with other inputs: register; never an error.
    let mut w = World::default();
    let o = run(image_settings(), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count(REGISTER), 1);
}

#[test]
fn a_refused_pass_role_names_the_permission_and_creates_nothing() {
    let mut w = World::default();
    w.queue(DESCRIBE_TD, not_found());
    w.queue(
        REGISTER,
        Reply::aws_error(400, "AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/launcher/ci is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/ecs-runner-execution"),
    );
    let o = run(image_settings(), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("`iam:PassRole`") && msg.contains("execution-role"),
        "{msg}"
    );
    assert!(
        w.ops().iter().all(|o| !o.starts_with("github:")),
        "nothing registered with GitHub"
    );
}

#[test]
fn placeholders_are_expanded_for_each_runner() {
    let mut s = fleet(2);
    s.env = vec![
        ("CACHE_DIR".into(), "/cache/{runner_name}".into()),
        ("BRACES".into(), "{{literal}} #{index} of {runner_id} in {repository} run {run_id}.{run_attempt} job {job}".into()),
    ];
    s.tags = vec![
        ("runner".into(), "{runner_name}".into()),
        ("team".into(), "ci".into()),
    ];
    let mut w = World::default();
    let o = run(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    let label = "gh-987654-1-0123abcd";
    let mut bodies: Vec<Value> = w.all("ecs:RunTask").iter().map(|r| json_body(r)).collect();
    bodies.sort_by_key(|b| b["clientToken"].as_str().unwrap().to_string());
    for (i, b) in bodies.iter().enumerate() {
        let name = format!("{label}-{}", i + 1);
        let env = &b["overrides"]["containerOverrides"][0]["environment"];
        let get = |k: &str| {
            env.as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == k)
                .unwrap()["value"]
                .clone()
        };
        assert_eq!(get("CACHE_DIR"), json!(format!("/cache/{name}")));
        assert_eq!(
            get("BRACES"),
            json!(format!(
                "{{literal}} #{} of {label} in octo/app run 987654.1 job launch",
                i + 1
            ))
        );
        let tags = b["tags"].as_array().unwrap();
        assert!(
            tags.contains(&json!({"key": "runner", "value": name})),
            "{tags:?}"
        );
        assert!(tags.contains(&json!({"key": "team", "value": "ci"})));
    }
}

/// A world whose task stops before RUNNING; the definition logs to
/// CloudWatch.
fn stopping_world() -> World {
    let mut w = World::default();
    w.queue(DESCRIBE_TD, not_found());
    let mut stopped = task_json("STOPPED", "STOPPED");
    stopped["stopCode"] = json!("EssentialContainerExited");
    stopped["containers"] = json!([{"name": "runner", "exitCode": 1}]);
    w.statuses = vec![task_json("PENDING", "RUNNING"), stopped];
    w
}

#[test]
fn a_task_that_stops_before_running_shows_the_runners_last_log_lines() {
    let mut w = stopping_world();
    w.queue(
        LOGS,
        Reply::ok(json!({"events": [
            {"timestamp": 1, "message": "√ Connected to GitHub"},
            {"timestamp": 2, "message": format!("Error: the JIT config {JIT} was used already\n")},
        ]})),
    );
    let o = run(image_settings(), &mut w);
    let msg = o.failure();
    assert!(msg.contains("stopped before it was RUNNING"), "{msg}");
    let get = json_body(w.first(LOGS));
    assert_eq!(
        get,
        json!({"logGroupName": "/ecs-runner", "logStreamName": "ecs-runner/runner/0f1e2d3c4b5a69788796a5b4c3d2e1f0", "limit": 50, "startFromHead": false})
    );
    assert_eq!(
        w.first(LOGS).headers["x-amz-target"],
        "Logs_20140328.GetLogEvents"
    );
    // A collapsed group in the log, with each line, secrets masked.
    let all: Vec<(String, String)> = o
        .actions
        .iter()
        .flat_map(|a| {
            a.logs
                .iter()
                .map(|l| (format!("{:?}", l.level), l.message.clone()))
        })
        .collect();
    let start = all
        .iter()
        .position(|(lvl, m)| lvl == "Group" && m.contains("the last 2 lines of its log"))
        .expect("a group");
    // The lines are text: workflow commands are off between the markers.
    let token = all[start + 1]
        .1
        .strip_prefix("::stop-commands::")
        .expect("commands stopped")
        .to_string();
    assert_eq!(token.len(), 16);
    assert_eq!(all[start + 2].1, "√ Connected to GitHub");
    assert!(all[start + 3].1.contains("was used already") && !all[start + 3].1.contains(JIT));
    assert_eq!(all[start + 4].1, format!("::{token}::"));
    assert_eq!(all[start + 5].0, "EndGroup");
    // And in the summary.
    let summary = o.summary();
    assert!(
        summary.contains("<details><summary>Runner gh-987654-1-0123abcd: the last 2 lines"),
        "{summary}"
    );
    assert!(
        summary.contains("√ Connected to GitHub") && !summary.contains(JIT),
        "{summary}"
    );
    assert_no_secret_in_logs(&o);
    assert_eq!(
        w.count("github:DELETE /repos/octo/app/actions/runners/42"),
        1
    );
}

#[test]
fn no_stream_or_no_permission_is_one_line_and_never_a_second_failure() {
    for (reply, says) in [
        (
            Reply::aws_error(
                400,
                "ResourceNotFoundException",
                "The specified log stream does not exist.",
            ),
            "The runner wrote no log: there is no stream ecs-runner/runner/",
        ),
        (
            Reply::aws_error(
                400,
                "AccessDeniedException",
                "not authorized to perform: logs:GetLogEvents",
            ),
            "Allow `logs:GetLogEvents` on arn:aws:logs:us-west-2:*:log-group:/ecs-runner:*",
        ),
        (Reply::ok(json!({"events": []})), "has no lines yet"),
    ] {
        let mut w = stopping_world();
        w.queue(LOGS, reply);
        let o = run(image_settings(), &mut w);
        assert!(
            o.failure().contains("stopped before it was RUNNING"),
            "{}",
            o.failure()
        );
        assert!(
            !o.failure().contains("GetLogEvents"),
            "the failure is the task's: {}",
            o.failure()
        );
        let logs = o.visible_logs().join("\n");
        assert_eq!(logs.matches(says).count(), 1, "{logs}");
        assert!(o.summary().contains(says));
        assert_eq!(w.count(LOGS), 1, "asked once, not retried");
    }
}

#[test]
fn a_definition_that_does_not_log_to_cloudwatch_says_how_to_make_it() {
    let mut w = World::default();
    let mut stopped = task_json("STOPPED", "STOPPED");
    stopped["stopCode"] = json!("TaskFailedToStart");
    w.statuses = vec![stopped];
    let o = run(settings(), &mut w);
    assert!(o.failure().contains("stopped before it was RUNNING"));
    assert_eq!(w.count(LOGS), 0);
    assert!(
        o.visible_logs()
            .join("\n")
            .contains("does not log to CloudWatch"),
        "{:?}",
        o.visible_logs()
    );
}

#[test]
fn a_runner_that_never_comes_online_or_exits_while_waited_for_shows_its_log() {
    // Never online: the timeout, then its log.
    let mut w = World::default();
    w.queue(DESCRIBE_TD, not_found());
    w.runner_online_after = usize::MAX;
    w.queue(
        LOGS,
        Reply::ok(
            json!({"events": [{"timestamp": 1, "message": "Http response code: Unauthorized"}]}),
        ),
    );
    let mut s = image_settings();
    s.wait_for_registration = true;
    s.timeout_s = 30;
    let o = run(s.clone(), &mut w);
    assert!(
        o.failure()
            .contains("did not come online in GitHub within timeout (30s)"),
        "{}",
        o.failure()
    );
    assert!(
        o.summary().contains("Http response code: Unauthorized"),
        "{}",
        o.summary()
    );

    // Exits while waited for: noticed by the task polls, long before the
    // timeout.
    let mut w = World::default();
    w.queue(DESCRIBE_TD, not_found());
    w.runner_online_after = usize::MAX;
    let mut exited = task_json("STOPPED", "STOPPED");
    exited["stopCode"] = json!("EssentialContainerExited");
    exited["containers"] = json!([{"name": "runner", "exitCode": 2}]);
    w.statuses = vec![
        task_json("RUNNING", "RUNNING"),
        task_json("RUNNING", "RUNNING"),
        exited,
    ];
    w.queue(
        LOGS,
        Reply::ok(json!({"events": [{"timestamp": 1, "message": "runner exited"}]})),
    );
    s.timeout_s = 600;
    let o = run(s, &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("stopped while waiting for the runner to come online")
            && msg.contains("exited with code 2"),
        "{msg}"
    );
    assert!(o.now - T0 < 30_000, "noticed after {} ms", o.now - T0);
    assert!(o.summary().contains("runner exited"));
    assert_eq!(w.count("ecs:StopTask"), 0, "already stopped");
    assert_eq!(
        w.count("github:DELETE /repos/octo/app/actions/runners/42"),
        1
    );
}

#[test]
fn a_users_arm64_definition_labels_the_runner_arm64() {
    let mut w = World::default();
    w.queue(
        DESCRIBE_TD,
        Reply::ok(json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/gh-runner:3",
            "networkMode": "awsvpc",
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "containerDefinitions": [{"name": "runner", "image": "x"}],
        }})),
    );
    let o = run(settings(), &mut w);
    assert!(o.done());
    let labels =
        json_body(w.first("github:POST /repos/octo/app/actions/runners/generate-jitconfig"))
            ["labels"]
            .clone();
    let labels: Vec<&str> = labels
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"ARM64") && !labels.contains(&"X64"),
        "{labels:?}"
    );
}

fn revision(n: u64, tagged: bool, minutes_old: u64) -> Reply {
    let mut answer = json!({"taskDefinition": {
        "taskDefinitionArn": format!("arn:aws:ecs:us-west-2:123456789012:task-definition/gh:{n}"),
        "registeredAt": (T0 / 1000 - minutes_old * 60) as f64,
        "containerDefinitions": [{"name": "runner", "image": "x"}],
    }});
    if tagged {
        answer["tags"] = json!([{"key": "ecs-runner:spec", "value": "abc"}]);
    }
    Reply::ok(answer)
}

fn reap_world() -> World {
    let mut w = World::default();
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": []})));
    w.queue(
        "github:GET /repos/octo/app/actions/runners?per_page=100&page=1",
        runners_page(json!([])),
    );
    w.revisions = (1..=4)
        .map(|n| format!("arn:aws:ecs:us-west-2:123456789012:task-definition/gh:{n}"))
        .chain(["arn:aws:ecs:us-west-2:123456789012:task-definition/gh-other:9".to_string()])
        .collect();
    // 1: ours and old; 2: registered by hand; 3: ours but young; 4: latest.
    w.queue_for(DESCRIBE_TD, "gh:1", revision(1, true, 300));
    w.queue_for(DESCRIBE_TD, "gh:2", revision(2, false, 300));
    w.queue_for(DESCRIBE_TD, "gh:3", revision(3, true, 10));
    w
}

fn reap(dry_run: bool) -> Settings {
    let mut s = settings();
    s.mode = Mode::Reap;
    s.task_definition = "gh".into();
    s.max_age_min = 60;
    s.dry_run = dry_run;
    s
}

#[test]
fn reap_deregisters_and_deletes_old_revisions_it_registered_and_keeps_the_rest() {
    let mut w = reap_world();
    let o = drive(&mut Reap::new(reap(false), RANDOM), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(
        json_body(w.first("ecs:ListTaskDefinitions")),
        json!({"familyPrefix": "gh", "status": "ACTIVE"})
    );
    let described: Vec<String> = w
        .all(DESCRIBE_TD)
        .iter()
        .map(|r| json_body(r)["taskDefinition"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        described.len(),
        3,
        "every revision but the latest (and not another family's): {described:?}"
    );
    let deregistered: Vec<Value> = w
        .all("ecs:DeregisterTaskDefinition")
        .iter()
        .map(|r| json_body(r))
        .collect();
    assert_eq!(
        deregistered,
        [json!({"taskDefinition": "arn:aws:ecs:us-west-2:123456789012:task-definition/gh:1"})]
    );
    assert_eq!(
        json_body(w.first("ecs:DeleteTaskDefinitions")),
        json!({"taskDefinitions": ["arn:aws:ecs:us-west-2:123456789012:task-definition/gh:1"]})
    );
    let summary = o.summary();
    assert!(summary.contains("| task definition | `gh:1` | deregister and delete: not the latest, registered 300 min ago |"), "{summary}");
    assert!(summary.contains("| task definition | `gh:3` | kept: not the latest, registered 10 min ago (younger than max-age) |"), "{summary}");
    assert!(
        !summary.contains("gh:2") && !summary.contains("gh:4"),
        "{summary}"
    );
    assert!(
        o.visible_logs()
            .join("\n")
            .contains("deregistered and deleted task definition gh:1"),
        "{:?}",
        o.visible_logs()
    );
}

#[test]
fn reap_dry_run_lists_the_old_revisions_and_changes_nothing() {
    let mut w = reap_world();
    let o = drive(&mut Reap::new(reap(true), RANDOM), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count("ecs:DeregisterTaskDefinition"), 0);
    assert_eq!(w.count("ecs:DeleteTaskDefinitions"), 0);
    assert!(
        o.summary()
            .contains("| task definition | `gh:1` | would deregister and delete:"),
        "{}",
        o.summary()
    );
}

#[test]
fn an_efs_access_point_and_iam_go_into_the_volume() {
    let mut s = image_settings();
    let mut spec = spec();
    spec.efs_access_point = Some("fsap-0123456789abcdef0".into());
    spec.efs_iam = true;
    s.task_spec = Some(spec.clone());
    let td = taskdef::content(&s, &spec);
    assert_eq!(
        td["volumes"][0]["efsVolumeConfiguration"],
        json!({
            "fileSystemId": "fs-0123abcd",
            "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"}
        })
    );
    // Without either, the volume is as before (the digest of existing
    // definitions does not change).
    let plain = taskdef::content(&image_settings(), &self::spec());
    assert!(plain["volumes"][0]["efsVolumeConfiguration"]
        .get("authorizationConfig")
        .is_none());
}

#[test]
fn on_ecs_anywhere_the_definition_is_bridge_mode_and_run_without_a_network_configuration() {
    use ecs_runner_core::settings::{Lookup, Placement};
    let mut s = image_settings();
    s.placement = Placement::LaunchType("EXTERNAL".into());
    s.subnets = Lookup::None;
    s.security_groups = Lookup::None;
    let mut spec = spec();
    spec.efs = None;
    spec.ephemeral_storage_gib = None;
    s.task_spec = Some(spec);
    let mut w = World::default();
    w.queue(DESCRIBE_TD, not_found());
    w.network_mode = "bridge";
    let _ = run(s, &mut w);
    let td = json_body(w.first(REGISTER));
    assert_eq!(td["networkMode"], "bridge");
    assert_eq!(td["requiresCompatibilities"], json!(["EXTERNAL"]));
    let rt = json_body(w.first("ecs:RunTask"));
    assert_eq!(rt["launchType"], "EXTERNAL");
    assert!(rt.get("networkConfiguration").is_none());
}
