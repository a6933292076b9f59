//! Reap mode against the scripted world.

mod support;

use ecs_runner_core::reap::{is_ours, Reap};
use ecs_runner_core::github::Runner;
use ecs_runner_core::settings::Mode;
use serde_json::{json, Value};
use support::*;

const PAGE1: &str = "github:GET /repos/octo/app/actions/runners?per_page=100&page=1";

fn task(id: &str, runner: &str, minutes_old: u64, context: &str) -> Value {
    let mut t = task_json("RUNNING", "RUNNING");
    t["taskArn"] = json!(format!("arn:aws:ecs:us-west-2:1:task/runners/{id}"));
    t["createdAt"] = json!((T0 / 1000 - minutes_old * 60) as f64);
    t["tags"] = json!([
        {"key": "ecs-runner:runner-id", "value": runner},
        {"key": "ecs-runner:context", "value": context},
        {"key": "ecs-runner:repository", "value": "octo/app"}
    ]);
    t
}

fn runner(name: &str, id: u64, status: &str, busy: bool) -> Value {
    json!({"id": id, "name": name, "os": "Linux", "status": status, "busy": busy,
           "labels": [{"name": "self-hosted"}, {"name": "ephemeral"}, {"name": name}]})
}

fn world() -> World {
    let mut w = World::default();
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": ["old", "young", "busy", "foreign", "untagged"]})));
    let mut untagged = task_json("RUNNING", "RUNNING");
    untagged["taskArn"] = json!("arn:aws:ecs:us-west-2:1:task/runners/untagged");
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(json!({"tasks": [
            task("old", "gh-1-1-aaaaaaaa", 120, "octo/app"),
            task("young", "gh-2-1-bbbbbbbb", 5, "octo/app"),
            task("busy", "gh-3-1-cccccccc", 120, "octo/app"),
            task("foreign", "gh-4-1-dddddddd", 120, "other/repo"),
            untagged
        ], "failures": []})),
    );
    w.queue(
        PAGE1,
        Reply(200, json!({"total_count": 6, "runners": [
            runner("gh-1-1-aaaaaaaa", 1, "online", false),
            runner("gh-2-1-bbbbbbbb", 2, "offline", false),
            runner("gh-3-1-cccccccc", 3, "online", true),
            runner("gh-5-1-eeeeeeee", 5, "offline", false),
            runner("my-own-runner", 6, "offline", false),
            runner("gh-6-1-ffffffff", 7, "offline", true)
        ]}).to_string()),
    );
    for id in [1, 5] {
        w.queue(&format!("github:DELETE /repos/octo/app/actions/runners/{id}"), Reply(204, String::new()));
    }
    w
}

fn reap_settings(max_age: u64, dry_run: bool) -> ecs_runner_core::settings::Settings {
    let mut s = settings();
    s.mode = Mode::Reap;
    s.max_age_min = max_age;
    s.dry_run = dry_run;
    s
}

fn stops(w: &World) -> Vec<String> {
    w.requests
        .iter()
        .filter(|r| op(r) == "ecs:StopTask")
        .map(|r| json_body(r)["task"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect()
}

#[test]
fn reaps_old_idle_tasks_and_offline_orphans_only() {
    let mut w = world();
    let mut m = Reap::new(reap_settings(60, false));
    let o = drive(&mut m, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert!(json_body(w.first("ecs:ListTasks")).get("startedBy").is_none());
    assert_eq!(json_body(w.first("ecs:DescribeTasks"))["include"], json!(["TAGS"]));
    assert_eq!(stops(&w), ["old"], "young, busy, other repos and untagged tasks survive");
    let deletes: Vec<String> = w.ops().into_iter().filter(|o| o.starts_with("github:DELETE")).collect();
    assert_eq!(
        deletes,
        ["github:DELETE /repos/octo/app/actions/runners/1", "github:DELETE /repos/octo/app/actions/runners/5"],
        "the old task's runner and the offline orphan; not the busy, young or foreign-named ones"
    );
    let summary = o.summary();
    assert!(summary.contains("| task | `old` | stop: 120 min old, runner not busy |"), "{summary}");
    assert!(summary.contains("busy with a job"));
    assert_eq!(o.outputs()["stopped_tasks"], "old");
    assert_outputs_declared(o.outputs());
    assert_eq!(o.outputs()["deleted_runners"], "gh-1-1-aaaaaaaa,gh-5-1-eeeeeeee");
}

#[test]
fn dry_run_lists_and_changes_nothing() {
    let mut w = world();
    let mut m = Reap::new(reap_settings(60, true));
    let o = drive(&mut m, &mut w);
    assert!(o.done());
    assert!(stops(&w).is_empty());
    assert!(!w.ops().iter().any(|o| o.starts_with("github:DELETE")));
    assert!(o.summary().contains("would stop: 120 min old"), "{}", o.summary());
    assert!(o.summary().contains("would delete"));
}

#[test]
fn max_age_zero_takes_every_idle_one() {
    let mut w = world();
    w.queue("github:DELETE /repos/octo/app/actions/runners/2", Reply(204, String::new()));
    let mut m = Reap::new(reap_settings(0, false));
    let o = drive(&mut m, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(stops(&w), ["old", "young"]);
}

#[test]
fn recognises_runner_names_and_labels() {
    let r = |name: &str, labels: &[&str]| Runner {
        id: 1,
        name: name.into(),
        status: "offline".into(),
        busy: false,
        labels: labels.iter().map(|s| s.to_string()).collect(),
    };
    assert!(is_ours(&r("github-ecs-runner-123-1-0a1b2c3d", &["ephemeral", "github-ecs-runner-123-1-0a1b2c3d"])));
    assert!(!is_ours(&r("github-ecs-runner-123-1-0a1b2c3d", &["github-ecs-runner-123-1-0a1b2c3d"])), "not ephemeral");
    assert!(!is_ours(&r("build-box-1-2", &["ephemeral", "build-box-1-2"])), "wrong shape");
    assert!(!is_ours(&r("x-12-1-nothex!!", &["ephemeral", "x-12-1-nothex!!"])));
    assert!(!is_ours(&r("123-1-0a1b2c3d", &["ephemeral", "123-1-0a1b2c3d"])), "no name part");
}
