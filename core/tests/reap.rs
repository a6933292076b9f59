//! Reap mode against the scripted world.

mod support;

use ecs_runner_core::github::Runner;
use ecs_runner_core::reap::{is_ours, Reap};
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

fn world() -> World {
    let mut w = World::default();
    w.queue(
        "ecs:ListTasks",
        Reply::ok(json!({"taskArns": ["old", "young", "busy", "foreign", "untagged"]})),
    );
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
        runners_page(json!([
            runner_json("gh-1-1-aaaaaaaa", 1, "online", false),
            runner_json("gh-2-1-bbbbbbbb", 2, "offline", false),
            runner_json("gh-3-1-cccccccc", 3, "online", true),
            runner_json("gh-5-1-eeeeeeee", 5, "offline", false),
            runner_json("my-own-runner", 6, "offline", false),
            runner_json("gh-6-1-ffffffff", 7, "offline", true)
        ])),
    );
    for id in [1, 5] {
        w.queue(
            &format!("github:DELETE /repos/octo/app/actions/runners/{id}"),
            Reply(204, String::new()),
        );
    }
    // gh-5's task is gone; its run finished long ago.
    w.queue(RUN5, workflow_run("completed", 300));
    w
}

const RUN5: &str = "github:GET /repos/octo/app/actions/runs/5";

/// GitHub's "Get a workflow run" answer, started `minutes_ago`.
fn workflow_run(status: &str, minutes_ago: u64) -> Reply {
    let started = (T0 / 1000 - minutes_ago * 60) as i64;
    let at = aws_smithy_types::DateTime::from_secs(started)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    Reply(200, json!({"id": 5, "status": status, "conclusion": null, "run_started_at": at, "created_at": at}).to_string())
}

/// Only the orphan runner gh-5-1-eeeeeeee, whose task is gone.
fn orphan_world(run: Reply) -> World {
    let mut w = World::default();
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": []})));
    w.queue(
        PAGE1,
        runners_page(json!([runner_json("gh-5-1-eeeeeeee", 5, "offline", false)])),
    );
    w.queue(
        "github:DELETE /repos/octo/app/actions/runners/5",
        Reply(204, String::new()),
    );
    w.queue(RUN5, run);
    w
}

fn deletes(w: &World) -> usize {
    w.ops()
        .iter()
        .filter(|o| o.starts_with("github:DELETE"))
        .count()
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
        .map(|r| {
            json_body(r)["task"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn reaps_old_idle_tasks_and_offline_orphans_only() {
    let mut w = world();
    let mut m = Reap::new(reap_settings(60, false), RANDOM);
    let o = drive(&mut m, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert!(json_body(w.first("ecs:ListTasks"))
        .get("startedBy")
        .is_none());
    assert_eq!(
        json_body(w.first("ecs:DescribeTasks"))["include"],
        json!(["TAGS"])
    );
    assert_eq!(
        stops(&w),
        ["old"],
        "young, busy, other repos and untagged tasks survive"
    );
    let deletes: Vec<String> = w
        .ops()
        .into_iter()
        .filter(|o| o.starts_with("github:DELETE"))
        .collect();
    assert_eq!(
        deletes,
        [
            "github:DELETE /repos/octo/app/actions/runners/1",
            "github:DELETE /repos/octo/app/actions/runners/5"
        ],
        "the old task's runner and the offline orphan; not the busy, young or foreign-named ones"
    );
    let summary = o.summary();
    assert!(
        summary.contains("| task | `old` | stop: 120 min old, runner not busy |"),
        "{summary}"
    );
    assert!(summary.contains("busy with a job"));
    assert_eq!(
        o.outputs()["stopped_tasks"],
        "arn:aws:ecs:us-west-2:1:task/runners/old"
    );
    assert_outputs_declared(o.outputs());
    assert_eq!(
        o.outputs()["deleted_runners"],
        "gh-1-1-aaaaaaaa,gh-5-1-eeeeeeee"
    );
    assert_eq!(
        w.count(RUN5),
        1,
        "the orphan is aged by its run, and only the orphan"
    );
    assert!(summary.contains("run 5 is completed"), "{summary}");
}

#[test]
fn an_orphan_of_a_young_run_is_kept_and_of_an_old_run_deleted() {
    let mut w = orphan_world(workflow_run("in_progress", 10));
    let o = drive(&mut Reap::new(reap_settings(60, false), RANDOM), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(
        deletes(&w),
        0,
        "its task may still be starting in another cluster"
    );
    assert!(
        o.summary()
            .contains("run 5 started 10 min ago (younger than max-age)"),
        "{}",
        o.summary()
    );

    let mut w = orphan_world(workflow_run("in_progress", 61));
    let o = drive(&mut Reap::new(reap_settings(60, false), RANDOM), &mut w);
    assert_eq!(deletes(&w), 1);
    assert!(
        o.summary().contains("run 5 started 61 min ago"),
        "{}",
        o.summary()
    );
}

#[test]
fn an_orphan_whose_run_is_gone_is_deleted() {
    let mut w = orphan_world(Reply(404, json!({"message": "Not Found"}).to_string()));
    let o = drive(&mut Reap::new(reap_settings(60, false), RANDOM), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(deletes(&w), 1);
}

#[test]
fn an_orphan_whose_run_cannot_be_read_is_kept_and_the_permission_named() {
    let mut w = orphan_world(Reply(
        403,
        json!({"message": "Resource not accessible by personal access token"}).to_string(),
    ));
    let o = drive(&mut Reap::new(reap_settings(60, false), RANDOM), &mut w);
    assert!(
        o.done(),
        "a reap that keeps what it cannot judge still succeeds: {:?}",
        o.last
    );
    assert_eq!(deletes(&w), 0);
    let logs = o.visible_logs().join("\n");
    assert!(logs.contains("Actions: read"), "{logs}");
    assert!(o.summary().contains("age unknown"), "{}", o.summary());
}

#[test]
fn organization_orphans_are_kept_unless_max_age_is_zero() {
    let org = |max| {
        let mut s = reap_settings(max, false);
        s.scope = ecs_runner_core::settings::Scope::Org { org: "octo".into() };
        s
    };
    let orgs_world = || {
        let mut w = World::default();
        w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": []})));
        w.queue(
            "github:GET /orgs/octo/actions/runners?per_page=100&page=1",
            runners_page(json!([runner_json("gh-5-1-eeeeeeee", 5, "offline", false)])),
        );
        w.queue(
            "github:DELETE /orgs/octo/actions/runners/5",
            Reply(204, String::new()),
        );
        w
    };
    let mut w = orgs_world();
    let o = drive(&mut Reap::new(org(60), RANDOM), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(deletes(&w), 0);
    assert!(!w.ops().iter().any(|o| o.contains("/actions/runs/")));
    let mut w = orgs_world();
    drive(&mut Reap::new(org(0), RANDOM), &mut w);
    assert_eq!(deletes(&w), 1);
}

#[test]
fn dry_run_lists_and_changes_nothing() {
    let mut w = world();
    let mut m = Reap::new(reap_settings(60, true), RANDOM);
    let o = drive(&mut m, &mut w);
    assert!(o.done());
    assert!(stops(&w).is_empty());
    assert!(!w.ops().iter().any(|o| o.starts_with("github:DELETE")));
    assert!(
        o.summary().contains("would stop: 120 min old"),
        "{}",
        o.summary()
    );
    assert!(o.summary().contains("would delete"));
    assert_eq!(
        o.outputs()["stopped_tasks"],
        "arn:aws:ecs:us-west-2:1:task/runners/old",
        "what it would stop"
    );
    assert_eq!(
        o.outputs()["deleted_runners"],
        "gh-1-1-aaaaaaaa,gh-5-1-eeeeeeee",
        "what it would delete"
    );
}

#[test]
fn max_age_zero_takes_every_idle_one() {
    let mut w = world();
    w.queue(
        "github:DELETE /repos/octo/app/actions/runners/2",
        Reply(204, String::new()),
    );
    let mut m = Reap::new(reap_settings(0, false), RANDOM);
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
    assert!(is_ours(&r(
        "github-ecs-runner-123-1-0a1b2c3d",
        &["ephemeral", "github-ecs-runner-123-1-0a1b2c3d"]
    )));
    // Without `ephemeral` too: `default-labels: false` registers only the
    // runner's own labels.
    assert!(is_ours(&r(
        "github-ecs-runner-123-1-0a1b2c3d",
        &["github-ecs-runner-123-1-0a1b2c3d"]
    )));
    assert!(
        !is_ours(&r("github-ecs-runner-123-1-0a1b2c3d", &["ephemeral"])),
        "not labelled with its own name"
    );
    assert!(
        !is_ours(&r("build-box-1-2", &["ephemeral", "build-box-1-2"])),
        "wrong shape"
    );
    assert!(!is_ours(&r(
        "x-12-1-nothex!!",
        &["ephemeral", "x-12-1-nothex!!"]
    )));
    assert!(
        !is_ours(&r("123-1-0a1b2c3d", &["ephemeral", "123-1-0a1b2c3d"])),
        "no name part"
    );
}

#[test]
fn the_run_id_is_read_back_from_the_runner_ids_start_makes() {
    let id = ecs_runner_core::names::runner_id(&settings(), RANDOM);
    assert_eq!(ecs_runner_core::names::run_id_in(&id), Some("987654"));
    assert_eq!(ecs_runner_core::names::run_id_in("gh-x-1-0123abcd"), None);
    assert_eq!(
        ecs_runner_core::names::run_id_in("gh-987654-1-0123abc"),
        None
    );
}

#[test]
fn fleet_runners_are_recognised_and_aged_like_single_ones() {
    use ecs_runner_core::names::{in_step, run_id_in, runner_name};
    let label = ecs_runner_core::names::runner_id(&settings(), RANDOM);
    let third = runner_name(&label, 2, 5);
    assert_eq!(third, format!("{label}-3"));
    assert_eq!(
        runner_name(&label, 0, 1),
        label,
        "a single runner is named by the label"
    );
    assert_eq!(run_id_in(&third), Some("987654"));
    assert_eq!(run_id_in(&format!("{label}-100")), Some("987654"));
    assert_eq!(
        run_id_in(&format!("{label}-1000")),
        None,
        "at most 100 runners"
    );
    assert_eq!(run_id_in(&format!("{label}-x")), None);
    assert!(in_step(&third, &label) && in_step(&label, &label));
    assert!(!in_step(&format!("{label}-"), &label));
    assert!(!in_step(&format!("{label}x-1"), &label));
    assert!(!in_step(&format!("{label}-1-2"), &label));

    // An orphan fleet runner whose run finished is deleted; a fleet runner
    // with a live old task goes with its task.
    let mut w = World::default();
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": ["old"]})));
    w.queue(
        "ecs:DescribeTasks",
        Reply::ok(
            json!({"tasks": [task("old", "gh-1-1-aaaaaaaa-2", 120, "octo/app")], "failures": []}),
        ),
    );
    w.queue(
        PAGE1,
        runners_page(json!([
            runner_json("gh-5-1-eeeeeeee-1", 5, "offline", false),
            runner_json("gh-1-1-aaaaaaaa-2", 1, "offline", false)
        ])),
    );
    w.queue(RUN5, workflow_run("completed", 300));
    let o = drive(&mut Reap::new(reap_settings(60, false), RANDOM), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(stops(&w), ["old"]);
    assert_eq!(
        w.count("github:DELETE /repos/octo/app/actions/runners/5"),
        1
    );
    assert_eq!(
        w.count("github:DELETE /repos/octo/app/actions/runners/1"),
        1
    );
    assert_eq!(w.count(RUN5), 1);
}
