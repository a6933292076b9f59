//! Stop mode against the scripted world.

mod support;

use ecs_runner_core::settings::Mode;
use ecs_runner_core::stop::Stop;
use serde_json::{json, Value};
use support::*;

const RUNNER: &str = "gh-987654-1-0123abcd";
const BY_NAME: &str = "github:GET /repos/octo/app/actions/runners?name=gh-987654-1-0123abcd";
const DELETE: &str = "github:DELETE /repos/octo/app/actions/runners/42";
const LIST: &str = "github:GET /repos/octo/app/actions/runners?per_page=100&page=1";

fn ours(status: &str, desired: &str) -> Value {
    let mut t = task_json(status, desired);
    t["tags"] = json!([
        {"key": "ecs-runner:runner-id", "value": RUNNER},
        {"key": "ecs-runner:repository", "value": "octo/app"},
        {"key": "ecs-runner:run-id", "value": "987654"}
    ]);
    t
}

fn stop_settings(
    task: Option<&str>,
    runner_id: Option<&str>,
) -> ecs_runner_core::settings::Settings {
    let mut s = settings();
    s.mode = Mode::Stop;
    s.task_arns = task.into_iter().map(String::from).collect();
    s.runner_id = runner_id.map(String::from);
    s
}

fn run(s: ecs_runner_core::settings::Settings, w: &mut World) -> Outcome {
    let mut m = Stop::new(s, RANDOM);
    drive(&mut m, w)
}

#[test]
fn with_outputs_it_stops_the_task_waits_and_deletes_the_runner() {
    let mut w = World::default();
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours("RUNNING", "RUNNING")], "failures": []})),
    );
    // While stopping, then stopped with the runner's exit code.
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours("DEACTIVATING", "STOPPED")], "failures": []})),
    );
    let mut stopped = ours("STOPPED", "STOPPED");
    stopped["stopCode"] = json!("UserInitiated");
    stopped["containers"] = json!([{"name": "runner", "lastStatus": "STOPPED", "exitCode": 143}]);
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [stopped], "failures": []})),
    );
    w.queue(
        BY_NAME,
        runners_page(json!([runner_json(RUNNER, 42, "online", false)])),
    );
    let o = run(stop_settings(Some(TASK_ARN), Some(RUNNER)), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let stop = json_body(w.first("ecs:StopTask"));
    assert_eq!(stop["task"], TASK_ARN);
    let reason = stop["reason"].as_str().unwrap();
    assert!(
        reason.contains("octo/app") && reason.contains("987654"),
        "{reason}"
    );
    assert_eq!(
        w.count(DELETE),
        1,
        "the runner from the input and the task's tag is removed once"
    );
    assert_eq!(o.outputs()["stopped_tasks"], TASK_ARN);
    assert_outputs_declared(o.outputs());
    assert_eq!(o.outputs()["deleted_runners"], RUNNER);
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains("stopCode UserInitiated") && logs.contains("exited with code 143"),
        "{logs}"
    );
    assert!(o.summary().contains("stopped: stopCode UserInitiated"));
    assert!(
        o.summary()
            .contains(&format!("| runner | `{RUNNER}` | deleted from GitHub |")),
        "{}",
        o.summary()
    );
    assert!(
        !o.summary().contains("| note |"),
        "no note repeating the rows: {}",
        o.summary()
    );
}

#[test]
fn with_no_inputs_it_finds_this_runs_tasks_and_runners_and_leaves_others_alone() {
    let mut w = World::default();
    let mut other_run = ours("RUNNING", "RUNNING");
    other_run["taskArn"] = json!("arn:aws:ecs:us-west-2:1:task/runners/otherrun");
    other_run["tags"][2]["value"] = json!("111");
    let mut other_repo = ours("RUNNING", "RUNNING");
    other_repo["taskArn"] = json!("arn:aws:ecs:us-west-2:1:task/runners/otherrepo");
    other_repo["tags"][1]["value"] = json!("someone/else");
    w.queue(
        "ecs:ListTasks",
        Reply::ok(json!({"taskArns": [TASK_ARN, "a", "b"], "nextToken": "page2"})),
    );
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": ["c"]})));
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [], "failures": []})),
    );
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(
            json!({"tasks": [ours("RUNNING", "RUNNING"), other_run, other_repo], "failures": []}),
        ),
    );
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours("STOPPED", "STOPPED")], "failures": []})),
    );
    w.queue(
        "github:GET /repos/octo/app/actions/runners?per_page=100&page=1",
        runners_page(json!([
            runner_json(RUNNER, 42, "online", false),
            runner_json("gh-987654-2-aaaaaaaa", 43, "online", false),
            runner_json("gh-111-1-bbbbbbbb", 44, "online", false)
        ])),
    );
    w.queue(
        BY_NAME,
        runners_page(json!([runner_json(RUNNER, 42, "online", false)])),
    );
    w.queue(
        "github:GET /repos/octo/app/actions/runners?name=gh-987654-2-aaaaaaaa",
        runners_page(json!([runner_json(
            "gh-987654-2-aaaaaaaa",
            43,
            "online",
            false
        )])),
    );
    w.queue(
        "github:DELETE /repos/octo/app/actions/runners/43",
        Reply(204, String::new()),
    );
    let o = run(stop_settings(None, None), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let list = json_body(w.first("ecs:ListTasks"));
    assert_eq!(list["startedBy"], "ecs-runner/987654");
    let stops: Vec<Value> = w
        .requests
        .iter()
        .filter(|r| op(r) == "ecs:StopTask")
        .map(json_body)
        .collect();
    assert_eq!(stops.len(), 1, "{:?}", w.ops());
    assert_eq!(stops[0]["task"], TASK_ARN);
    assert_eq!(w.count(DELETE), 1);
    assert_eq!(
        w.count("github:DELETE /repos/octo/app/actions/runners/43"),
        1,
        "this run's second attempt is ours too"
    );
    assert_eq!(
        w.count("github:DELETE /repos/octo/app/actions/runners/44"),
        0,
        "another run's runner is left alone"
    );
}

#[test]
fn running_twice_is_safe_everything_already_gone_is_success() {
    let mut w = World::default();
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours("STOPPED", "STOPPED")], "failures": []})),
    );
    w.queue(BY_NAME, runners_page(json!([])));
    w.queue(LIST, runners_page(json!([])));
    let o = run(stop_settings(Some(TASK_ARN), Some(RUNNER)), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count("ecs:StopTask"), 0);
    assert_eq!(w.count(DELETE), 0);
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains("already stopped") && logs.contains("already removed"),
        "{logs}"
    );

    // A task ECS no longer knows is gone too.
    let mut w = World::default();
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]})),
    );
    w.queue(BY_NAME, runners_page(json!([])));
    assert!(run(stop_settings(Some(TASK_ARN), Some(RUNNER)), &mut w).done());
}

#[test]
fn a_busy_runner_is_not_deleted_and_that_is_said() {
    let mut w = World::default();
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": []})));
    w.queue(
        LIST,
        runners_page(json!([runner_json(RUNNER, 42, "online", true)])),
    );
    let o = run(stop_settings(None, Some(RUNNER)), &mut w);
    assert!(o.done());
    assert_eq!(w.count(DELETE), 0);
    assert!(o.visible_logs().iter().any(|l| l.contains("busy")));
}

#[test]
fn a_task_of_another_repository_is_refused() {
    let mut w = World::default();
    let mut t = ours("RUNNING", "RUNNING");
    t["tags"][1]["value"] = json!("someone/else");
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [t], "failures": []})),
    );
    let o = run(stop_settings(Some(TASK_ARN), None), &mut w);
    assert!(
        o.failure().contains("belongs to repository someone/else"),
        "{}",
        o.failure()
    );
    assert_eq!(w.count("ecs:StopTask"), 0);

    let mut w = World::default();
    let mut t = task_json("RUNNING", "RUNNING");
    t["tags"] = json!([]);
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [t], "failures": []})),
    );
    let o = run(stop_settings(Some(TASK_ARN), None), &mut w);
    assert!(
        o.failure().contains("not started by ecs-runner"),
        "{}",
        o.failure()
    );
    assert_eq!(w.count("ecs:StopTask"), 0);
}

#[test]
fn a_stop_that_is_denied_fails_with_the_command_to_finish_by_hand() {
    let mut w = World::default();
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ours("RUNNING", "RUNNING")], "failures": []})),
    );
    w.queue(
        "ecs:StopTask",
        Reply::aws_error(400, "AccessDeniedException", "no"),
    );
    w.queue(
        BY_NAME,
        runners_page(json!([runner_json(RUNNER, 42, "online", false)])),
    );
    let o = run(stop_settings(Some(TASK_ARN), None), &mut w);
    assert!(o.failure().contains("aws ecs stop-task"), "{}", o.failure());
    assert_eq!(w.count(DELETE), 1, "the runner is still removed");
}

/// A task of runner `name` of this run.
fn fleet_task(n: usize, name: &str) -> Value {
    let mut t = with_arn(ours("RUNNING", "RUNNING"), &task_arn_n(n));
    t["tags"][0]["value"] = json!(name);
    t
}

#[test]
fn a_fleets_label_removes_every_runner_of_that_step_and_no_other() {
    let label = RUNNER;
    let mut w = World::default();
    let arns: Vec<String> = (0..3).map(task_arn_n).collect();
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": arns})));
    let mut other_step = fleet_task(3, "gh-987654-1-99999999-1");
    other_step["tags"][0]["value"] = json!("gh-987654-1-99999999-1");
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [
            fleet_task(0, &format!("{label}-1")),
            fleet_task(1, &format!("{label}-2")),
            fleet_task(2, &format!("{label}-3")),
            other_step,
        ], "failures": []})),
    );
    w.queue(
        LIST,
        runners_page(json!([
            runner_json(&format!("{label}-1"), 50, "online", false),
            runner_json(&format!("{label}-2"), 51, "online", false),
            runner_json(&format!("{label}-3"), 52, "offline", false),
            runner_json(&format!("{label}-x"), 53, "online", false),
            runner_json("gh-987654-1-99999999-1", 54, "online", false),
        ])),
    );
    let o = run(stop_settings(None, Some(label)), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let mut stopped: Vec<String> = w
        .all("ecs:StopTask")
        .iter()
        .map(|r| json_body(r)["task"].as_str().unwrap().to_string())
        .collect();
    stopped.sort();
    let mut want = arns.clone();
    want.sort();
    assert_eq!(
        stopped, want,
        "the step's three tasks, not the other step's"
    );
    for id in 50..=52 {
        assert_eq!(
            w.count(&format!(
                "github:DELETE /repos/octo/app/actions/runners/{id}"
            )),
            1,
            "runner {id}"
        );
    }
    for id in 53..=54 {
        assert_eq!(
            w.count(&format!(
                "github:DELETE /repos/octo/app/actions/runners/{id}"
            )),
            0,
            "runner {id}"
        );
    }
    assert_eq!(w.count(BY_NAME), 0);
    let deleted = &o.outputs()["deleted_runners"];
    assert_eq!(deleted.split(',').count(), 3, "{deleted}");
    // Stopped together: every StopTask went out in the same moment.
    let starts: Vec<u64> = w
        .requests
        .iter()
        .zip(&w.times)
        .filter(|(r, _)| op(r) == "ecs:StopTask")
        .map(|(_, t)| t.0)
        .collect();
    assert!(starts.windows(2).all(|p| p[0] == p[1]), "{starts:?}");
}

#[test]
fn a_list_of_task_arns_is_checked_in_one_call_and_each_stopped() {
    let mut w = World::default();
    let arns: Vec<String> = (0..3).map(task_arn_n).collect();
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [
            fleet_task(0, &format!("{RUNNER}-1")),
            fleet_task(1, &format!("{RUNNER}-2")),
        ], "failures": [{"arn": arns[2], "reason": "MISSING"}]})),
    );
    let o = run(
        {
            let mut s = stop_settings(None, None);
            s.task_arns = arns.clone();
            s
        },
        &mut w,
    );
    assert!(o.done(), "{:?}", o.last);
    let first = json_body(w.first("ecs:DescribeTasks"));
    assert_eq!(first["tasks"], json!(arns));
    assert_eq!(first["include"], json!(["TAGS"]));
    assert_eq!(w.count("ecs:StopTask"), 2);
    assert!(
        o.visible_logs().join("\n").contains("already gone"),
        "{:?}",
        o.visible_logs()
    );
    // Each task's runner, by name from its tag.
    assert_eq!(
        w.count(&format!(
            "github:GET /repos/octo/app/actions/runners?name={RUNNER}-1"
        )),
        1
    );
}

#[test]
fn a_task_whose_runner_had_crashed_shows_the_runners_last_log_lines() {
    let mut w = World::default();
    let mut crashed = ours("STOPPED", "STOPPED");
    crashed["taskDefinitionArn"] = json!("arn:aws:ecs:us-west-2:123456789012:task-definition/gh:4");
    crashed["stopCode"] = json!("EssentialContainerExited");
    crashed["containers"] = json!([{"name": "runner", "lastStatus": "STOPPED", "exitCode": 1}]);
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [crashed], "failures": []})),
    );
    w.queue(
        "ecs:DescribeTaskDefinition",
        Reply::ok(json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/gh:4",
            "containerDefinitions": [{"name": "runner", "image": "x", "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/runners", "awslogs-region": "us-west-2", "awslogs-stream-prefix": "ci"}}}]
        }})),
    );
    w.queue(
        "logs:GetLogEvents",
        Reply::ok(json!({"events": [{"timestamp": 1, "message": "Runner listener exited with error code 1"}]})),
    );
    let o = run(stop_settings(Some(TASK_ARN), None), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(
        json_body(w.first("ecs:DescribeTaskDefinition"))["taskDefinition"],
        "arn:aws:ecs:us-west-2:123456789012:task-definition/gh:4"
    );
    assert_eq!(
        json_body(w.first("logs:GetLogEvents"))["logStreamName"],
        "ci/runner/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    );
    assert!(o
        .logs()
        .iter()
        .any(|l| l == "Runner listener exited with error code 1"));
    assert!(o.summary().contains("<details><summary>Task 0f1e2d3c4b5a69788796a5b4c3d2e1f0 (runner gh-987654-1-0123abcd): the last 1 lines"), "{}", o.summary());

    // A task stop itself stopped (exit 143, SIGTERM): no log to show.
    let mut w = World::default();
    let mut stopped = ours("STOPPED", "STOPPED");
    stopped["containers"] = json!([{"name": "runner", "exitCode": 143}]);
    stopped["taskDefinitionArn"] = json!("arn:aws:ecs:us-west-2:123456789012:task-definition/gh:4");
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [stopped], "failures": []})),
    );
    let o = run(stop_settings(Some(TASK_ARN), None), &mut w);
    assert!(o.done());
    assert_eq!(
        w.count("logs:GetLogEvents") + w.count("ecs:DescribeTaskDefinition"),
        0
    );
}

/// A task whose runner container ended by itself with exit code 0, as the
/// stock image's run-helper.sh reports the listener's own failures.
fn ended_with_zero() -> Value {
    let mut t = ours("STOPPED", "STOPPED");
    t["taskDefinitionArn"] = json!("arn:aws:ecs:us-west-2:123456789012:task-definition/gh:4");
    t["stopCode"] = json!("EssentialContainerExited");
    t["stoppedReason"] = json!("Essential container in task exited");
    t["containers"] = json!([{"name": "runner", "lastStatus": "STOPPED", "exitCode": 0}]);
    t
}

fn logging_definition() -> Reply {
    Reply::ok(json!({"taskDefinition": {
        "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/gh:4",
        "containerDefinitions": [{"name": "runner", "image": "x", "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/runners", "awslogs-region": "us-west-2", "awslogs-stream-prefix": "ci"}}}]
    }}))
}

#[test]
fn a_runner_that_ended_with_exit_code_0_without_a_job_is_judged_by_github_and_its_log_shown() {
    let mut w = World::default();
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ended_with_zero()], "failures": []})),
    );
    // GitHub still has the runner: it never took its job.
    w.queue(
        BY_NAME,
        Reply(
            200,
            json!({"total_count": 1, "runners": [runner_json(RUNNER, 42, "offline", false)]})
                .to_string(),
        ),
    );
    w.queue("ecs:DescribeTaskDefinition", logging_definition());
    w.queue(
        "logs:GetLogEvents",
        Reply::ok(json!({"events": [{"timestamp": 1, "message": "An error occurred: Runner version v2.300.0 is deprecated and cannot receive messages."}]})),
    );
    let o = run(stop_settings(Some(TASK_ARN), Some(RUNNER)), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count(DELETE), 1);
    let logs = o.visible_logs().join("\n");
    assert!(logs.contains("had not taken a job"), "{logs}");
    assert!(
        logs.contains("is deprecated and cannot receive messages"),
        "{logs}"
    );
    assert!(o.summary().contains("the last 1 lines"), "{}", o.summary());
}

#[test]
fn a_runner_that_ran_its_job_and_ended_with_0_shows_no_log() {
    let mut w = World::default();
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [ended_with_zero()], "failures": []})),
    );
    // GitHub removed the ephemeral runner after its job.
    w.queue(
        BY_NAME,
        Reply(200, json!({"total_count": 0, "runners": []}).to_string()),
    );
    let o = run(stop_settings(Some(TASK_ARN), Some(RUNNER)), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(
        w.count("logs:GetLogEvents") + w.count("ecs:DescribeTaskDefinition"),
        0
    );
    assert!(!o.visible_logs().join("\n").contains("had not taken a job"));
}
