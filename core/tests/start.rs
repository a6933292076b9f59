//! The start machine, driven natively against a scripted ECS/EC2/GitHub and
//! a fake clock.

mod support;

use ecs_runner_core::settings::{CapacityProvider, Lookup, Placement, Registration};
use ecs_runner_core::start::Start;
use serde_json::{json, Value};
use support::*;

const JIT_OP: &str = "github:POST /repos/octo/app/actions/runners/generate-jitconfig";
const DELETE_OP: &str = "github:DELETE /repos/octo/app/actions/runners/42";

fn env_of(run_task: &Value) -> Vec<(String, String)> {
    run_task["overrides"]["containerOverrides"][0]["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn tag(run_task: &Value, key: &str) -> Option<String> {
    run_task["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == key)
        .map(|t| t["value"].as_str().unwrap().to_string())
}

#[test]
fn happy_path_by_tags_registers_runs_and_reports() {
    let mut w = World::default();
    let o = start(settings(), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(
        w.ops()[..5],
        [
            "ecs:DescribeTaskDefinition",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            JIT_OP,
            "ecs:RunTask"
        ]
    );
    let runner = "gh-987654-1-0123abcd";
    let out = o.outputs();
    assert_outputs_declared(o.outputs());
    assert_eq!(out["runner_id"], runner);
    assert_eq!(out["id"], runner);
    assert_eq!(out["runner_name"], runner);
    assert_eq!(out["github_runner_id"], "42");
    assert_eq!(out["task_arn"], TASK_ARN);
    assert_eq!(out["arn"], TASK_ARN);
    assert_eq!(out["aws_task_arn"], TASK_ARN);
    assert_eq!(out["task_id"], "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    assert_eq!(out["aws_task_id"], "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    assert_eq!(out["ipaddr"], "10.0.1.23");
    assert_eq!(out["cluster"], "runners");
    assert_eq!(out["region"], "us-west-2");

    let jit = json_body(w.first(JIT_OP));
    assert_eq!(jit["name"], runner);
    assert_eq!(jit["runner_group_id"], 1);
    assert_eq!(jit["work_folder"], "_workdir");
    assert_eq!(
        jit["labels"],
        json!([
            "self-hosted",
            "Linux",
            "X64",
            "ephemeral",
            "gh",
            "big",
            runner
        ]),
        "the user's `linux` repeats `Linux` (GitHub labels ignore case) and is dropped"
    );
    let gh = w.first(JIT_OP);
    assert_eq!(gh.headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(gh.headers["accept"], "application/vnd.github+json");
    assert_eq!(gh.headers["x-github-api-version"], "2022-11-28");
    assert!(gh.headers["user-agent"].starts_with("ecs-runner/"));
    assert_eq!(
        gh.url,
        "http://127.0.0.1:6000/repos/octo/app/actions/runners/generate-jitconfig"
    );

    let rt = json_body(w.first("ecs:RunTask"));
    assert_eq!(rt["cluster"], "runners");
    assert_eq!(rt["taskDefinition"], "gh-runner");
    assert_eq!(rt["count"], 1);
    assert_eq!(rt["launchType"], "FARGATE");
    assert!(rt.get("capacityProviderStrategy").is_none());
    assert_eq!(rt["startedBy"], "ecs-runner/987654");
    assert_eq!(rt["clientToken"], "ecsr-987654-1-0-0123abcd-launch");
    let vpc = &rt["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(
        vpc["subnets"],
        json!(["subnet-0aaa1111", "subnet-0bbb2222"])
    );
    assert_eq!(vpc["securityGroups"], json!(["sg-0ccc3333"]));
    assert_eq!(vpc["assignPublicIp"], "DISABLED");
    assert_eq!(rt["overrides"]["containerOverrides"][0]["name"], "runner");
    let env = env_of(&rt);
    assert_eq!(
        env[0],
        (
            "ACTIONS_RUNNER_INPUT_JITCONFIG".to_string(),
            JIT.to_string()
        )
    );
    assert!(env.contains(&("FOO".to_string(), "bar baz".to_string())));
    assert!(
        !w.first("ecs:RunTask").body.contains(TOKEN),
        "the PAT must never reach the task"
    );
    assert_eq!(tag(&rt, "ecs-runner:runner-id").as_deref(), Some(runner));
    assert_eq!(
        tag(&rt, "ecs-runner:repository").as_deref(),
        Some("octo/app")
    );
    assert_eq!(tag(&rt, "ecs-runner:context").as_deref(), Some("octo/app"));
    assert_eq!(tag(&rt, "ecs-runner:run-id").as_deref(), Some("987654"));
    assert_eq!(tag(&rt, "ecs-runner:run-attempt").as_deref(), Some("1"));
    assert_eq!(tag(&rt, "ecs-runner:job").as_deref(), Some("launch"));
    assert_eq!(tag(&rt, "team").as_deref(), Some("ci"));

    // Secrets handed out, and never logged.
    let secrets = o.secrets();
    for s in [TOKEN, AWS_SECRET, SESSION, JIT] {
        assert!(secrets.iter().any(|x| x == s), "{s} not masked");
    }
    assert_no_secret_in_logs(&o);
    // Status changes logged with seconds since RunTask.
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains("Task 0f1e2d3c4b5a69788796a5b4c3d2e1f0: PROVISIONING ("),
        "{logs}"
    );
    assert!(logs.contains(": RUNNING ("), "{logs}");
    let summary = o.summary();
    assert!(summary.contains(runner));
    assert!(summary.contains("https://us-west-2.console.aws.amazon.com/ecs/v2/clusters/runners/tasks/0f1e2d3c4b5a69788796a5b4c3d2e1f0"));
    assert!(summary.contains("10.0.1.23"));
    assert!(summary.contains("| RUNNING |"));
    // No cleanup on success.
    assert_eq!(w.count("ecs:StopTask"), 0);
    assert_eq!(w.count(DELETE_OP), 0);
}

#[test]
fn the_first_look_comes_within_a_second_then_every_second_then_every_two() {
    let mut w = World::default();
    w.statuses = vec![task_json("PENDING", "RUNNING")];
    let mut s = settings();
    s.timeout_s = 60;
    let o = start(s, &mut w);
    assert!(
        o.failure().contains("not RUNNING within timeout"),
        "{}",
        o.failure()
    );
    let sent: Vec<u64> = w
        .requests
        .iter()
        .zip(&w.times)
        .filter(|(r, _)| op(r) == "ecs:DescribeTasks")
        .map(|(_, (at, _))| *at)
        .collect();
    let run_task_answered = w
        .requests
        .iter()
        .zip(&w.times)
        .find(|(r, _)| op(r) == "ecs:RunTask")
        .map(|(_, (_, done))| *done)
        .unwrap();
    assert!(
        sent[0] - run_task_answered <= 1000,
        "first look after {}ms",
        sent[0] - run_task_answered
    );
    // The gap between looks: the last answer's latency plus the interval.
    let gaps: Vec<u64> = sent.windows(2).map(|p| p[1] - p[0]).collect();
    let young = gaps.iter().take_while(|g| **g <= 1_100).count();
    assert!((15..=20).contains(&young), "{gaps:?}");
    assert!(
        gaps[young..].iter().all(|g| *g <= 2_100 && *g > 1_100),
        "{gaps:?}"
    );
    assert!(gaps.len() > 30, "{gaps:?}");
}

#[test]
fn ids_given_skip_the_ec2_lookups() {
    let mut w = World::default();
    let mut s = settings();
    s.subnets = Lookup::Ids(vec!["subnet-0123456789abcdef0".into()]);
    s.security_groups = Lookup::Ids(vec![
        "sg-0123456789abcdef0".into(),
        "sg-0fedcba9876543210".into(),
    ]);
    s.assign_public_ip = true;
    let o = start(s, &mut w);
    assert!(o.done());
    assert_eq!(
        w.count("ec2:DescribeSubnets") + w.count("ec2:DescribeSecurityGroups"),
        0
    );
    let vpc =
        json_body(w.first("ecs:RunTask"))["networkConfiguration"]["awsvpcConfiguration"].clone();
    assert_eq!(vpc["subnets"], json!(["subnet-0123456789abcdef0"]));
    assert_eq!(
        vpc["securityGroups"],
        json!(["sg-0123456789abcdef0", "sg-0fedcba9876543210"])
    );
    assert_eq!(vpc["assignPublicIp"], "ENABLED");
}

#[test]
fn capacity_providers_and_platform_version_go_into_run_task() {
    let mut w = World::default();
    let mut s = settings();
    s.placement = Placement::CapacityProviders(vec![
        CapacityProvider {
            provider: "FARGATE_SPOT".into(),
            weight: Some(3),
            base: None,
        },
        CapacityProvider {
            provider: "FARGATE".into(),
            weight: Some(1),
            base: Some(1),
        },
    ]);
    s.platform_version = Some("1.4.0".into());
    assert!(start(s, &mut w).done());
    let rt = json_body(w.first("ecs:RunTask"));
    assert!(rt.get("launchType").is_none());
    assert_eq!(
        rt["capacityProviderStrategy"],
        json!([{"capacityProvider": "FARGATE_SPOT", "weight": 3}, {"capacityProvider": "FARGATE", "weight": 1, "base": 1}])
    );
    assert_eq!(rt["platformVersion"], "1.4.0");
}

#[test]
fn several_containers_without_container_name_fail_listing_them_before_anything_is_created() {
    let mut w = World::default();
    w.containers = vec!["runner", "sidecar"];
    let o = start(settings(), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("container-name") && msg.contains("runner, sidecar"),
        "{msg}"
    );
    // Only the lookups that went out with it; nothing registered or started.
    assert_eq!(
        w.ops(),
        [
            "ecs:DescribeTaskDefinition",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups"
        ]
    );
}

#[test]
fn container_name_picks_the_container_and_an_unknown_one_is_an_error() {
    let mut w = World::default();
    w.containers = vec!["sidecar", "runner"];
    let mut s = settings();
    s.container_name = Some("runner".into());
    assert!(start(s.clone(), &mut w).done());
    assert_eq!(
        json_body(w.first("ecs:RunTask"))["overrides"]["containerOverrides"][0]["name"],
        "runner"
    );

    let mut w = World::default();
    s.container_name = Some("nope".into());
    let o = start(s, &mut w);
    assert!(
        o.failure().contains("Input 'container-name': 'nope'"),
        "{}",
        o.failure()
    );
    assert!(o.failure().contains("runner"));
    assert_eq!(w.count(JIT_OP), 0);
}

#[test]
fn a_subnet_tag_matching_nothing_names_the_tag_and_registers_nothing() {
    let mut w = World::default();
    w.queue(
        "ec2:DescribeSubnets",
        Reply(
            200,
            "<DescribeSubnetsResponse><subnetSet/></DescribeSubnetsResponse>".into(),
        ),
    );
    let o = start(settings(), &mut w);
    assert!(
        o.failure().contains("subnets-tag") && o.failure().contains("placement:ecs"),
        "{}",
        o.failure()
    );
    assert_eq!(w.count(JIT_OP), 0);
}

#[test]
fn subnets_by_tag_are_read_page_by_page() {
    let mut w = World::default();
    w.queue(
        "ec2:DescribeSubnets",
        Reply(200, "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-0aaa1111</subnetId></item></subnetSet><nextToken>page2</nextToken></DescribeSubnetsResponse>".into()),
    );
    w.queue(
        "ec2:DescribeSubnets",
        Reply(200, "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-0ccc3333</subnetId></item></subnetSet></DescribeSubnetsResponse>".into()),
    );
    let o = start(settings(), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let pages = w.all("ec2:DescribeSubnets");
    assert_eq!(pages.len(), 2);
    assert!(
        !pages[0].body.contains("NextToken") && pages[1].body.contains("NextToken=page2"),
        "{}",
        pages[1].body
    );
    let vpc =
        json_body(w.first("ecs:RunTask"))["networkConfiguration"]["awsvpcConfiguration"].clone();
    assert_eq!(
        vpc["subnets"],
        json!(["subnet-0aaa1111", "subnet-0ccc3333"])
    );
}

#[test]
fn a_security_group_tag_matching_nothing_is_an_error() {
    let mut w = World::default();
    w.queue(
        "ec2:DescribeSecurityGroups",
        Reply(
            200,
            "<DescribeSecurityGroupsResponse><securityGroupInfo/></DescribeSecurityGroupsResponse>"
                .into(),
        ),
    );
    let o = start(settings(), &mut w);
    assert!(
        o.failure().contains("security-groups-tag"),
        "{}",
        o.failure()
    );
    assert_eq!(w.count(JIT_OP), 0);
}

#[test]
fn run_task_failures_are_explained_and_the_runner_is_deleted() {
    let mut w = World::default();
    w.queue(
        "ecs:RunTask",
        Reply::ok(json!({"tasks": [], "failures": [{"arn": "arn:aws:ecs:us-west-2:1:container-instance/x", "reason": "RESOURCE:MEMORY"}]})),
    );
    let o = start(settings(), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("RESOURCE:MEMORY") && msg.contains("memory"),
        "{msg}"
    );
    assert!(msg.contains("deleted runner"), "{msg}");
    assert_eq!(w.count(DELETE_OP), 1);
    assert_eq!(w.count("ecs:StopTask"), 0);
}

#[test]
fn an_unknown_cluster_fails_with_advice_and_deletes_the_runner() {
    let mut w = World::default();
    w.queue(
        "ecs:RunTask",
        Reply::aws_error(400, "ClusterNotFoundException", "Cluster not found."),
    );
    let o = start(settings(), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("RunTask") && msg.contains("ClusterNotFoundException"),
        "{msg}"
    );
    assert_eq!(w.count(DELETE_OP), 1);
    assert_eq!(o.outputs()["runner_id"], "gh-987654-1-0123abcd");
    assert!(o.summary().contains("failed"));
}

#[test]
fn a_task_stopped_before_running_reports_why_and_deletes_the_runner() {
    let mut w = World::default();
    let mut stopped = task_json("STOPPED", "STOPPED");
    stopped["stopCode"] = json!("TaskFailedToStart");
    stopped["stoppedReason"] =
        json!("CannotPullContainerError: pull image manifest has been retried 5 time(s)");
    stopped["containers"] = json!([{"name": "runner", "lastStatus": "STOPPED", "exitCode": 1, "reason": "CannotPullContainerError: ref not found"}]);
    w.statuses = vec![task_json("PENDING", "RUNNING"), stopped];
    let o = start(settings(), &mut w);
    let msg = o.failure();
    assert!(msg.contains("stopped before it was RUNNING"), "{msg}");
    assert!(msg.contains("TaskFailedToStart"), "{msg}");
    assert!(
        msg.contains("CannotPullContainerError: pull image"),
        "{msg}"
    );
    assert!(msg.contains("container runner exited with code 1"), "{msg}");
    assert!(msg.contains("registry"), "advice missing: {msg}");
    assert_eq!(w.count(DELETE_OP), 1);
    assert_eq!(w.count("ecs:StopTask"), 0, "already stopped");
}

#[test]
fn timeout_stops_the_task_and_deletes_the_runner() {
    let mut w = World::default();
    w.statuses = vec![task_json("PENDING", "RUNNING")];
    let mut s = settings();
    s.timeout_s = 30;
    let o = start(s, &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("not RUNNING within timeout (30s)") && msg.contains("PENDING"),
        "{msg}"
    );
    assert!(
        msg.contains("stopped task") && msg.contains("deleted runner"),
        "{msg}"
    );
    let stop = json_body(w.first("ecs:StopTask"));
    assert_eq!(stop["task"], TASK_ARN);
    assert_eq!(stop["cluster"], "runners");
    assert!(stop["reason"]
        .as_str()
        .unwrap()
        .contains("https://github.com/octo/app/actions/runs/987654"));
    assert_eq!(w.count(DELETE_OP), 1);
    // It gave up at the deadline, not long after.
    assert!(o.now - T0 < 32_000 + 5_000, "finished at +{}ms", o.now - T0);
    assert!(o.now - T0 >= 30_000);
}

#[test]
fn missing_for_a_while_then_found_is_fine() {
    let mut w = World::default();
    let missing = json!({"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]});
    w.queue("ecs:DescribeTasks", Reply::ok(missing.clone()));
    w.queue("ecs:DescribeTasks", Reply::ok(missing));
    let o = start(settings(), &mut w);
    assert!(o.done(), "{:?}", o.last);
}

#[test]
fn missing_beyond_thirty_seconds_fails_and_cleans_up() {
    let mut w = World::default();
    let missing = json!({"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]});
    for _ in 0..40 {
        w.queue("ecs:DescribeTasks", Reply::ok(missing.clone()));
    }
    let o = start(settings(), &mut w);
    assert!(o.failure().contains("MISSING"), "{}", o.failure());
    assert!(o.now - T0 >= 30_000);
    assert_eq!(w.count(DELETE_OP), 1);
    assert_eq!(w.count("ecs:StopTask"), 1);
}

#[test]
fn transient_errors_are_retried_with_the_same_client_token() {
    let mut w = World::default();
    w.queue(
        "ecs:RunTask",
        Reply::aws_error(400, "ThrottlingException", "Rate exceeded"),
    );
    w.queue("ecs:RunTask", Reply::network());
    w.queue(
        "ecs:DescribeTasks",
        Reply::aws_error(500, "ServerException", "oops"),
    );
    let o = start(settings(), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let tokens: Vec<Value> = w
        .requests
        .iter()
        .filter(|r| op(r) == "ecs:RunTask")
        .map(|r| json_body(r)["clientToken"].clone())
        .collect();
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    // Each attempt is a new request.
    let ids: Vec<u32> = w
        .requests
        .iter()
        .filter(|r| op(r) == "ecs:RunTask")
        .map(|r| r.id)
        .collect();
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    assert!(o.visible_logs().iter().any(|l| l.contains("retrying")));
}

#[test]
fn retries_give_up_after_four_attempts() {
    let mut w = World::default();
    for _ in 0..4 {
        w.queue(JIT_OP, Reply(502, "bad gateway".into()));
    }
    let o = start(settings(), &mut w);
    assert!(o.failure().contains("HTTP 502"), "{}", o.failure());
    assert_eq!(w.count(JIT_OP), 4);
    assert_eq!(w.count("ecs:RunTask"), 0);
}

#[test]
fn github_permission_errors_say_which_permission() {
    let mut w = World::default();
    w.queue(
        JIT_OP,
        Reply(
            403,
            json!({"message": "Resource not accessible by integration"}).to_string(),
        ),
    );
    let o = start(settings(), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("HTTP 403") && msg.contains("Resource not accessible"),
        "{msg}"
    );
    assert!(
        msg.contains("Administration: write") && msg.contains("GITHUB_TOKEN"),
        "{msg}"
    );
    assert_eq!(w.count("ecs:RunTask"), 0);
    assert_eq!(w.count(DELETE_OP), 0, "nothing was registered");

    let mut w = World::default();
    w.queue(
        JIT_OP,
        Reply(401, json!({"message": "Bad credentials"}).to_string()),
    );
    assert!(start(settings(), &mut w)
        .failure()
        .contains("invalid, expired or revoked"));

    let mut w = World::default();
    w.queue(
        JIT_OP,
        Reply(404, json!({"message": "Not Found"}).to_string()),
    );
    assert!(start(settings(), &mut w)
        .failure()
        .contains("check `context`"));
}

#[test]
fn registration_token_mode_passes_runner_variables_and_never_the_pat() {
    let mut w = World::default();
    let mut s = settings();
    s.registration = Registration::Token;
    s.runner_group = 3;
    let o = start(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count(JIT_OP), 0);
    let env = env_of(&json_body(w.first("ecs:RunTask")));
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("RUNNER_TOKEN"), REG_TOKEN);
    assert_eq!(get("RUNNER_URL"), "https://github.com/octo/app");
    assert_eq!(get("RUNNER_NAME"), "gh-987654-1-0123abcd");
    assert_eq!(
        get("RUNNER_LABELS"),
        "self-hosted,Linux,X64,ephemeral,gh,big,gh-987654-1-0123abcd"
    );
    assert_eq!(get("RUNNER_WORKDIR"), "_workdir");
    assert_eq!(get("RUNNER_GROUP"), "3");
    assert!(!env
        .iter()
        .any(|(n, _)| n == "ACTIONS_RUNNER_INPUT_JITCONFIG"));
    assert!(!w.first("ecs:RunTask").body.contains(TOKEN));
    assert!(o.secrets().iter().any(|s| s == REG_TOKEN));
    assert_eq!(o.outputs()["github_runner_id"], "");
    assert_no_secret_in_logs(&o);
}

#[test]
fn token_mode_cleanup_finds_the_runner_by_name() {
    let mut w = World::default();
    let mut s = settings();
    s.registration = Registration::Token;
    s.timeout_s = 10;
    w.statuses = vec![task_json("PENDING", "RUNNING")];
    w.queue(
        "github:GET /repos/octo/app/actions/runners?name=gh-987654-1-0123abcd",
        Reply(200, json!({"total_count": 1, "runners": [{"id": 42, "name": "gh-987654-1-0123abcd", "status": "offline", "busy": false, "labels": []}]}).to_string()),
    );
    let o = start(s, &mut w);
    assert!(o.failure().contains("timeout"));
    assert_eq!(w.count(DELETE_OP), 1);
}

#[test]
fn wait_for_registration_polls_github_until_online() {
    let mut w = World::default();
    w.runner_online_after = 3;
    let mut s = settings();
    s.wait_for_registration = true;
    let o = start(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count("github:GET /repos/octo/app/actions/runners/42"), 4);
    assert!(o.visible_logs().iter().any(|l| l.contains("is online")));
}

#[test]
fn wait_for_registration_times_out_with_cleanup() {
    let mut w = World::default();
    w.runner_online_after = usize::MAX;
    let mut s = settings();
    s.wait_for_registration = true;
    s.timeout_s = 20;
    let o = start(s, &mut w);
    assert!(
        o.failure().contains("did not come online"),
        "{}",
        o.failure()
    );
    assert_eq!(w.count("ecs:StopTask"), 1);
    assert_eq!(w.count(DELETE_OP), 1);
}

#[test]
fn cancel_while_waiting_stops_the_task_and_deletes_the_runner() {
    let mut w = World::default();
    w.statuses = vec![task_json("PENDING", "RUNNING")];
    let mut m = Start::new(settings(), RANDOM);
    let o = drive_with(&mut m, &mut w, |now, _| now > T0 + 5_000);
    let msg = o.failure();
    assert!(
        msg.contains("Cancelled (SIGTERM)") || msg.contains("Cancelled (SIGINT)"),
        "{msg}"
    );
    assert!(
        msg.contains("stopped task") && msg.contains("deleted runner"),
        "{msg}"
    );
    assert_eq!(w.count("ecs:StopTask"), 1);
    assert_eq!(w.count(DELETE_OP), 1);
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains("the run was cancelled): removing what this step created"),
        "said at once: {logs}"
    );
    // Cleanup takes a few requests, not another wait.
    assert!(o.now - T0 < 10_000);
}

#[test]
fn cancel_while_run_task_is_unanswered_finds_the_task_by_its_tags() {
    let mut w = World::default();
    let mut ours = task_json("PROVISIONING", "RUNNING");
    ours["tags"] = json!([
        {"key": "ecs-runner:runner-id", "value": "gh-987654-1-0123abcd"},
        {"key": "ecs-runner:repository", "value": "octo/app"},
        {"key": "ecs-runner:run-id", "value": "987654"}
    ]);
    let mut other = task_json("RUNNING", "RUNNING");
    other["taskArn"] = json!("arn:aws:ecs:us-west-2:123456789012:task/runners/other");
    other["tags"] = json!([
        {"key": "ecs-runner:runner-id", "value": "gh-987654-1-ffffffff"},
        {"key": "ecs-runner:repository", "value": "octo/app"},
        {"key": "ecs-runner:run-id", "value": "987654"}
    ]);
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": [TASK_ARN, "arn:aws:ecs:us-west-2:123456789012:task/runners/other"]})));
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours, other], "failures": []})),
    );
    let mut m = Start::new(settings(), RANDOM);
    let o = drive_with(&mut m, &mut w, |_, w| {
        w.ops().last().map(|o| o == "ecs:RunTask").unwrap_or(false)
    });
    assert!(o.failure().contains("Cancelled"), "{}", o.failure());
    let list = json_body(w.first("ecs:ListTasks"));
    assert_eq!(list["startedBy"], "ecs-runner/987654");
    let describe = json_body(w.first("ecs:DescribeTasks"));
    assert_eq!(describe["include"], json!(["TAGS"]));
    let stops: Vec<Value> = w
        .requests
        .iter()
        .filter(|r| op(r) == "ecs:StopTask")
        .map(json_body)
        .collect();
    assert_eq!(stops.len(), 1, "only this runner's task is stopped");
    assert_eq!(stops[0]["task"], TASK_ARN);
    assert_eq!(w.count(DELETE_OP), 1);
}

#[test]
fn a_cleanup_that_fails_says_what_is_left_and_how_to_remove_it() {
    let mut w = World::default();
    w.statuses = vec![task_json("PENDING", "RUNNING")];
    w.queue(
        "ecs:StopTask",
        Reply::aws_error(
            400,
            "AccessDeniedException",
            "not authorized to perform ecs:StopTask",
        ),
    );
    let mut s = settings();
    s.timeout_s = 5;
    let o = start(s, &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("Left behind") && msg.contains("aws ecs stop-task --cluster runners --task"),
        "{msg}"
    );
    assert!(
        msg.contains("deleted runner"),
        "the runner is still deleted: {msg}"
    );
    assert!(o.visible_logs().iter().any(|l| l.starts_with("Cleanup:")));
}

#[test]
fn bridge_mode_tasks_get_the_instance_ip() {
    let mut w = World::default();
    w.network_mode = "bridge";
    let mut running = task_json("RUNNING", "RUNNING");
    running["attachments"] = json!([]);
    running["containerInstanceArn"] =
        json!("arn:aws:ecs:us-west-2:1:container-instance/runners/abc");
    w.statuses = vec![running];
    w.queue(
        "ecs:DescribeContainerInstances",
        Reply::ok(json!({"containerInstances": [{"ec2InstanceId": "i-0123456789abcdef0"}], "failures": []})),
    );
    w.queue(
        "ec2:DescribeInstances",
        Reply(200, "<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-0123456789abcdef0</instanceId><privateIpAddress>10.9.8.7</privateIpAddress></item></instancesSet></item></reservationSet></DescribeInstancesResponse>".into()),
    );
    let mut s = settings();
    s.placement = Placement::LaunchType("EC2".into());
    s.subnets = Lookup::None;
    s.security_groups = Lookup::None;
    let o = start(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(o.outputs()["ipaddr"], "10.9.8.7");
    assert!(json_body(w.first("ecs:RunTask"))
        .get("networkConfiguration")
        .is_none());
}

#[test]
fn awsvpc_without_subnets_is_an_error_before_registering() {
    let mut w = World::default();
    let mut s = settings();
    s.placement = Placement::LaunchType("EC2".into());
    s.subnets = Lookup::None;
    let o = start(s, &mut w);
    assert!(o.failure().contains("awsvpc") && o.failure().contains("subnets"));
    assert_eq!(w.count(JIT_OP), 0);
}

#[test]
fn debug_shows_requests_and_answers_with_secrets_redacted() {
    let mut w = World::default();
    let mut s = settings();
    s.debug = true;
    let o = start(s, &mut w);
    assert!(o.done());
    let logs = o.visible_logs().join("\n");
    assert!(logs.contains("→ POST http://127.0.0.1:5000/"), "{logs}");
    assert!(logs.contains("RunTask"));
    assert!(logs.contains("authorization: ***"));
    assert!(
        logs.contains("\"encoded_jit_config\":\"***\""),
        "JIT config must be redacted: {logs}"
    );
    assert_no_secret_in_logs(&o);
    // Without debug the dumps stay at debug level.
    let mut w = World::default();
    let o = start(settings(), &mut w);
    assert!(!o.visible_logs().join("\n").contains("→ POST"));
}

#[test]
fn overrides_too_large_for_the_credential_fail_naming_env_before_registering() {
    let mut w = World::default();
    let mut s = settings();
    // 3,400 characters of env: under 8192 alone, over it with the 5,000
    // kept for a real JIT configuration.
    s.env = (0..34)
        .map(|i| (format!("VAR_{i}"), "x".repeat(80)))
        .collect();
    let o = start(s, &mut w);
    assert!(
        o.failure().contains("Input 'env'") && o.failure().contains("8192"),
        "{}",
        o.failure()
    );
    assert_eq!(w.count(JIT_OP), 0, "nothing registered");
    assert_eq!(w.count("ecs:RunTask"), 0);
}

#[test]
fn a_jit_configuration_beyond_the_reserve_still_fails_before_run_task_and_deletes_the_runner() {
    let mut w = World::default();
    let huge = "J".repeat(8_200);
    w.queue(
        JIT_OP,
        Reply(
            201,
            json!({"runner": {"id": 42, "name": "gh-987654-1-0123abcd"}, "encoded_jit_config": huge}).to_string(),
        ),
    );
    let o = start(settings(), &mut w);
    assert!(o.failure().contains("8192"), "{}", o.failure());
    assert_eq!(w.count("ecs:RunTask"), 0);
    assert_eq!(w.count(DELETE_OP), 1);
}

/// The value of `key` in a RunTask's environment override.
fn env_value(run_task: &Value, key: &str) -> Option<String> {
    env_of(run_task)
        .into_iter()
        .find(|(n, _)| n == key)
        .map(|(_, v)| v)
}

#[test]
fn token_mode_with_the_stock_command_configures_then_runs() {
    let mut w = World::default();
    w.command = vec!["/home/runner/run.sh"];
    let mut s = settings();
    s.registration = Registration::Token;
    let o = start(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    let rt = json_body(w.first("ecs:RunTask"));
    let command = &rt["overrides"]["containerOverrides"][0]["command"];
    assert_eq!(command[0], "/bin/bash");
    let script = command[2].as_str().unwrap();
    assert!(
        script.contains("./config.sh && ") && script.ends_with("exec ./run.sh"),
        "{script}"
    );
    let get = |k: &str| env_value(&rt, k).unwrap_or_else(|| panic!("{k} missing"));
    assert_eq!(
        get("ACTIONS_RUNNER_INPUT_URL"),
        "https://github.com/octo/app"
    );
    assert_eq!(get("ACTIONS_RUNNER_INPUT_TOKEN"), REG_TOKEN);
    assert_eq!(get("ACTIONS_RUNNER_INPUT_NAME"), "gh-987654-1-0123abcd");
    // config.sh adds self-hosted, Linux and X64 itself (and "linux" is
    // the same label as "Linux" to GitHub).
    assert_eq!(
        get("ACTIONS_RUNNER_INPUT_LABELS"),
        "ephemeral,gh,big,gh-987654-1-0123abcd"
    );
    assert_eq!(get("ACTIONS_RUNNER_INPUT_WORK"), "_workdir");
    assert_eq!(get("ACTIONS_RUNNER_INPUT_EPHEMERAL"), "true");
    assert_eq!(get("ACTIONS_RUNNER_INPUT_UNATTENDED"), "true");
    // The default group: config.sh picks it when none is named.
    assert_eq!(env_value(&rt, "ACTIONS_RUNNER_INPUT_RUNNERGROUP"), None);
    assert_eq!(env_value(&rt, "ACTIONS_RUNNER_INPUT_NODEFAULTLABELS"), None);
    assert_no_secret_in_logs(&o);
}

#[test]
fn token_mode_without_default_labels_tells_config_sh() {
    let mut w = World::default();
    w.command = vec!["./run.sh"];
    let mut s = settings();
    s.registration = Registration::Token;
    s.default_labels = false;
    let o = start(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    let rt = json_body(w.first("ecs:RunTask"));
    // The flag's name has dashes (no-default-labels): no variable of a
    // shell carries it, so it goes to config.sh as an argument.
    let script = rt["overrides"]["containerOverrides"][0]["command"][2]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        script.contains("./config.sh --no-default-labels && "),
        "{script}"
    );
    assert_eq!(env_value(&rt, "ACTIONS_RUNNER_INPUT_NODEFAULTLABELS"), None);
    assert_eq!(
        env_value(&rt, "ACTIONS_RUNNER_INPUT_LABELS").as_deref(),
        Some("gh,linux,big,gh-987654-1-0123abcd")
    );
}

#[test]
fn token_mode_with_a_custom_command_keeps_it_and_says_what_it_must_do() {
    let mut w = World::default();
    w.command = vec!["/entrypoint.sh", "--token-from-env"];
    let mut s = settings();
    s.registration = Registration::Token;
    let o = start(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    let rt = json_body(w.first("ecs:RunTask"));
    assert!(rt["overrides"]["containerOverrides"][0]
        .get("command")
        .is_none());
    assert_eq!(env_value(&rt, "RUNNER_TOKEN").as_deref(), Some(REG_TOKEN));
    assert!(o
        .visible_logs()
        .join("\n")
        .contains("must configure the runner itself"));
}

#[test]
fn jit_mode_never_overrides_the_command() {
    let mut w = World::default();
    w.command = vec!["/home/runner/run.sh"];
    let o = start(settings(), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let rt = json_body(w.first("ecs:RunTask"));
    assert!(rt["overrides"]["containerOverrides"][0]
        .get("command")
        .is_none());
    assert!(env_value(&rt, "ACTIONS_RUNNER_INPUT_JITCONFIG").is_some());
}

#[test]
fn token_mode_in_an_organization_names_the_group_by_its_name() {
    use ecs_runner_core::settings::Scope;
    let groups = "github:GET /orgs/octo/actions/runner-groups?per_page=100&page=1";
    let mut w = World::default();
    w.command = vec!["/home/runner/run.sh"];
    w.queue(
        groups,
        Reply(
            200,
            json!({"total_count": 2, "runner_groups": [{"id": 1, "name": "Default"}, {"id": 5, "name": "ECS runners"}]}).to_string(),
        ),
    );
    w.queue(
        "github:POST /orgs/octo/actions/runners/registration-token",
        Reply(
            201,
            json!({"token": REG_TOKEN, "expires_at": "2026-11-23T08:00:00Z"}).to_string(),
        ),
    );
    let mut s = settings();
    s.scope = Scope::Org { org: "octo".into() };
    s.registration = Registration::Token;
    s.runner_group = 5;
    let o = start(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    let rt = json_body(w.first("ecs:RunTask"));
    assert_eq!(
        env_value(&rt, "ACTIONS_RUNNER_INPUT_RUNNERGROUP").as_deref(),
        Some("ECS runners")
    );
    assert_eq!(
        env_value(&rt, "ACTIONS_RUNNER_INPUT_URL").as_deref(),
        Some("https://github.com/octo")
    );
    let ops = w.ops();
    let at = |name: &str| ops.iter().position(|o| o == name).unwrap();
    assert!(at(groups) < at("github:POST /orgs/octo/actions/runners/registration-token"));
}

#[test]
fn cancel_while_github_registers_looks_the_runner_up_by_name() {
    let mut w = World::default();
    w.queue(
        "github:GET /repos/octo/app/actions/runners?name=gh-987654-1-0123abcd",
        Reply(200, json!({"total_count": 1, "runners": [{"id": 42, "name": "gh-987654-1-0123abcd", "status": "offline", "busy": false, "labels": []}]}).to_string()),
    );
    let mut m = Start::new(settings(), RANDOM);
    let o = drive_with(&mut m, &mut w, |_, w| {
        w.ops().last().map(|o| o == JIT_OP).unwrap_or(false)
    });
    assert!(o.failure().contains("Cancelled"), "{}", o.failure());
    assert_eq!(w.count(DELETE_OP), 1);
    assert_eq!(w.count("ecs:RunTask"), 0);
}

// ---- several runners per step (the machine works on a list; the inputs ask
// for one runner so far) ----

#[test]
fn without_default_labels_the_runner_carries_only_its_own() {
    let mut s = settings();
    s.default_labels = false;
    let mut w = World::default();
    let o = start(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    let jit = json_body(w.first(JIT_OP));
    assert_eq!(
        jit["labels"],
        json!(["gh", "linux", "big", "gh-987654-1-0123abcd"]),
        "no self-hosted, Linux, X64 or ephemeral"
    );
}

#[test]
fn a_runner_group_named_is_looked_up_in_the_organization() {
    use ecs_runner_core::settings::Scope;
    let org_jit = "github:POST /orgs/octo/actions/runners/generate-jitconfig";
    let groups =
        |page: u32| format!("github:GET /orgs/octo/actions/runner-groups?per_page=100&page={page}");
    let page = |groups: Value, total: u64| {
        Reply(
            200,
            json!({"total_count": total, "runner_groups": groups}).to_string(),
        )
    };
    let mut s = settings();
    s.scope = Scope::Org { org: "octo".into() };
    s.runner_group_name = Some("ecs runners".into());
    let mut w = World::default();
    let first: Vec<Value> = (1..=100)
        .map(|i| json!({"id": i, "name": format!("group {i}")}))
        .collect();
    w.queue(&groups(1), page(json!(first), 101));
    w.queue(
        &groups(2),
        page(json!([{"id": 7001, "name": "ECS Runners"}]), 101),
    );
    w.queue(
        org_jit,
        Reply(
            201,
            json!({"runner": {"id": 42, "name": "x"}, "encoded_jit_config": JIT}).to_string(),
        ),
    );
    w.queue(
        "github:DELETE /orgs/octo/actions/runners/42",
        Reply(204, String::new()),
    );
    let o = start(s.clone(), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(json_body(w.first(org_jit))["runner_group_id"], 7001);
    assert!(o
        .visible_logs()
        .join("\n")
        .contains("Runner group ECS Runners has id 7001"));
    // Looked up before anything is registered.
    let ops = w.ops();
    assert!(
        ops.iter().position(|o| o == &groups(2)).unwrap()
            < ops.iter().position(|o| o == org_jit).unwrap()
    );

    // A name the organization does not have: the groups it has, nothing
    // registered.
    let mut w = World::default();
    w.queue(
        &groups(1),
        page(
            json!([{"id": 1, "name": "Default"}, {"id": 2, "name": "gpu"}]),
            2,
        ),
    );
    s.runner_group_name = Some("nope".into());
    let o = start(s, &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("no runner group named 'nope'; it has: Default, gpu"),
        "{msg}"
    );
    assert_eq!(w.count(org_jit), 0);
}
