//! Fleets (`count` runners from one step) against the scripted world: the
//! calls go out concurrently within the bounds, all or nothing, capacity
//! fallback, back-off on throttling and GitHub's rate limits, cancel.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use ecs_runner_core::exchange::{GITHUB_POSTS_PER_MINUTE, MAX_IN_FLIGHT_ECS, MAX_IN_FLIGHT_GITHUB};
use ecs_runner_core::settings::{CapacityProvider, Placement};
use ecs_runner_core::start::Start;
use serde_json::{json, Value};
use support::*;

const JIT_OP: &str = "github:POST /repos/octo/app/actions/runners/generate-jitconfig";
const LABEL: &str = "gh-987654-1-0123abcd";

fn run(s: ecs_runner_core::settings::Settings, w: &mut World) -> Outcome {
    drive(&mut Start::new(s, RANDOM), w)
}

fn names(n: usize) -> Vec<String> {
    if n == 1 {
        return vec![LABEL.to_string()];
    }
    (1..=n).map(|i| format!("{LABEL}-{i}")).collect()
}

fn output_list(o: &Outcome, key: &str) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(&o.outputs()[key]).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// Nothing of the step is left: every task started was stopped, every
/// runner registered was deleted.
fn assert_nothing_left(w: &World) {
    let started: BTreeSet<String> = w.started_tasks().into_iter().collect();
    let stopped: BTreeSet<String> = w.stopped_tasks().into_iter().collect();
    assert_eq!(started, stopped, "tasks started but not stopped");
    let registered: BTreeSet<u64> = w.registered.iter().map(|(id, _)| *id).collect();
    let deleted: BTreeSet<u64> = w.deleted_runners().into_iter().collect();
    assert_eq!(registered, deleted, "runners registered but not deleted");
}

#[test]
fn fleets_of_1_2_10_50_and_100_start_together_within_the_bounds() {
    let mut single_took = 0;
    for n in [1, 2, 10, 50, 100] {
        let mut w = World::default();
        let o = run(fleet(n), &mut w);
        assert!(o.done(), "count {n}: {:?}", o.last);
        assert_outputs_declared(o.outputs());
        assert_no_secret_in_logs(&o);
        // One registration and one RunTask (one task) per runner.
        assert_eq!(w.count(JIT_OP), n);
        let runs = w.all("ecs:RunTask");
        assert_eq!(runs.len(), n);
        let bodies: Vec<Value> = runs.iter().map(|r| json_body(r)).collect();
        assert!(bodies.iter().all(|b| b["count"] == 1));
        let tokens: BTreeSet<&str> = bodies
            .iter()
            .map(|b| b["clientToken"].as_str().unwrap())
            .collect();
        assert_eq!(tokens.len(), n, "each RunTask has its own clientToken");
        let jits: BTreeSet<&str> = bodies
            .iter()
            .map(|b| {
                b["overrides"]["containerOverrides"][0]["environment"][0]["value"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(jits.len(), n, "each task has its own JIT config");
        // Names, labels and tags.
        let registered: Vec<Value> = w.all(JIT_OP).iter().map(|r| json_body(r)).collect();
        let mut got: Vec<String> = registered
            .iter()
            .map(|b| b["name"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        let mut want = names(n);
        want.sort();
        assert_eq!(got, want);
        for b in &registered {
            let labels: Vec<&str> = b["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            assert!(labels.contains(&LABEL), "{labels:?}");
            assert!(labels.contains(&b["name"].as_str().unwrap()), "{labels:?}");
            assert!(labels.contains(&"self-hosted"));
        }
        // Outputs: the label, the first runner's values, JSON lists.
        let out = o.outputs();
        assert_eq!(out["runner_id"], LABEL);
        assert_eq!(out["id"], LABEL);
        assert_eq!(out["runner_name"], names(n)[0]);
        let runners = output_list(&o, "runners");
        assert_eq!(runners.len(), n);
        let arns = output_list(&o, "task_arns");
        assert_eq!(
            arns.iter()
                .map(|a| a.to_string())
                .collect::<BTreeSet<_>>()
                .len(),
            n
        );
        assert_eq!(out["task_arn"], arns[0].as_str().unwrap());
        assert_eq!(runners[0]["name"], names(n)[0]);
        assert_eq!(runners[0]["task_arn"], arns[0]);
        assert_eq!(
            runners[0]["github_runner_id"].to_string(),
            out["github_runner_id"]
        );
        assert_eq!(output_list(&o, "ipaddrs").len(), n);
        assert_eq!(
            output_list(&o, "runner_names"),
            names(n).iter().map(|n| json!(n)).collect::<Vec<_>>()
        );
        assert!(runners.iter().all(|r| r["capacity"] == "primary"));
        // Concurrency: never more than the bounds, and as much as allowed.
        assert!(
            w.max_in_flight["github"] <= MAX_IN_FLIGHT_GITHUB,
            "{:?}",
            w.max_in_flight
        );
        assert!(
            w.max_in_flight["ecs"] <= MAX_IN_FLIGHT_ECS,
            "{:?}",
            w.max_in_flight
        );
        assert_eq!(
            w.max_in_flight["github"],
            n.min(MAX_IN_FLIGHT_GITHUB),
            "registrations overlap"
        );
        // DescribeTasks looks at up to 100 tasks per call, so each look is
        // one call here.
        for r in w.all("ecs:DescribeTasks") {
            let asked = json_body(r)["tasks"].as_array().unwrap().len();
            assert!((1..=100).contains(&asked));
        }
        let first_look = json_body(w.first("ecs:DescribeTasks"));
        assert!(
            first_look["tasks"].as_array().unwrap().len() > n / 2,
            "batched: {first_look}"
        );
        // About as fast as one runner: every registration and RunTask in
        // flight together adds rounds of 100 ms, not a round per runner.
        // (Above 80, GitHub's content-creation limit makes the rest wait a
        // minute: the next test.)
        let took = o.now - T0;
        if n == 1 {
            single_took = took;
        }
        if n <= GITHUB_POSTS_PER_MINUTE {
            assert!(
                took <= single_took + 3_000,
                "count {n} took {took} ms, count 1 {single_took} ms"
            );
        }
        // Small fleets log a line per runner; large ones a tally.
        let logs = o.visible_logs().join("\n");
        if n > 1 && n <= 10 {
            assert!(
                logs.contains(&format!("Registered runner {LABEL}-2 ")),
                "{logs}"
            );
        }
        if n == 100 {
            assert!(
                !logs.contains(&format!("Registered runner {LABEL}-2 ")),
                "{logs}"
            );
            assert!(
                logs.contains("Registered 100 runners with GitHub"),
                "{logs}"
            );
            assert!(logs.contains("Tasks: 100 RUNNING"), "{logs}");
            assert!(logs.lines().count() < 40, "{} lines", logs.lines().count());
        }
        assert!(
            logs.contains(&format!("runs-on: [self-hosted, {LABEL}]")),
            "{logs}"
        );
    }
}

#[test]
fn over_80_registrations_wait_for_githubs_content_creation_limit() {
    let mut w = World::default();
    let o = run(fleet(100), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let posts = w.sent_at(JIT_OP);
    assert_eq!(posts.len(), 100);
    for (i, t) in posts.iter().enumerate() {
        let window = posts
            .iter()
            .filter(|u| **u >= *t && **u < t + 60_000)
            .count();
        assert!(
            window <= GITHUB_POSTS_PER_MINUTE,
            "{window} POSTs within a minute from #{i}"
        );
    }
    assert!(posts[GITHUB_POSTS_PER_MINUTE] >= posts[0] + 60_000);
}

#[test]
fn a_registration_that_fails_undoes_every_runner_and_task_of_the_step() {
    let mut w = World::default();
    w.queue_for(
        JIT_OP,
        &format!("\"{LABEL}-3\""),
        Reply(
            422,
            json!({"message": "Validation Failed: name already exists"}).to_string(),
        ),
    );
    let o = run(fleet(10), &mut w);
    let msg = o.failure();
    assert!(msg.contains(&format!("Runner {LABEL}-3:")), "{msg}");
    assert!(msg.contains("Validation Failed"), "{msg}");
    assert!(msg.contains("the other runners"), "{msg}");
    assert_nothing_left(&w);
    assert!(
        !w.registered.is_empty(),
        "the others were registered before the failure"
    );
    assert!(o.summary().contains("failed"));
}

#[test]
fn a_run_task_failure_for_one_runner_undoes_all() {
    let mut w = World::default();
    w.queue_for(
        "ecs:RunTask",
        &format!("\"{LABEL}-5\""),
        Reply::ok(json!({"tasks": [], "failures": [{"arn": "x", "reason": "ATTRIBUTE"}]})),
    );
    let o = run(fleet(8), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains(&format!("Runner {LABEL}-5: ECS RunTask started no task")),
        "{msg}"
    );
    assert!(msg.contains("ATTRIBUTE"), "{msg}");
    assert_nothing_left(&w);
    assert_eq!(w.registered.len(), 8);
}

#[test]
fn two_runners_failing_are_both_named() {
    let mut w = World::default();
    for i in [2, 4] {
        w.queue_for(
            "ecs:RunTask",
            &format!("\"{LABEL}-{i}\""),
            Reply::aws_error(400, "InvalidParameterException", &format!("bad {i}")),
        );
    }
    let o = run(fleet(4), &mut w);
    let msg = o.failure();
    assert!(
        msg.starts_with("2 of 4 runners could not be started"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("Runner {LABEL}-2:")) && msg.contains("bad 2"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("Runner {LABEL}-4:")) && msg.contains("bad 4"),
        "{msg}"
    );
    assert_nothing_left(&w);
}

#[test]
fn a_task_that_stops_before_running_undoes_all() {
    let mut w = World::default();
    let mut stopped = task_json("STOPPED", "STOPPED");
    stopped["stopCode"] = json!("TaskFailedToStart");
    stopped["stoppedReason"] = json!("CannotPullContainerError: pull access denied");
    w.per_task.insert(
        task_arn_n(1),
        vec![task_json("PENDING", "RUNNING"), stopped],
    );
    let o = run(fleet(3), &mut w);
    let msg = o.failure();
    assert!(msg.contains("stopped before it was RUNNING"), "{msg}");
    assert!(msg.contains("image could not be pulled"), "{msg}");
    // The stopped one needs no StopTask; the two others do.
    let stopped: BTreeSet<String> = w.stopped_tasks().into_iter().collect();
    let want: BTreeSet<String> = [task_arn_n(0), task_arn_n(2)].into_iter().collect();
    assert_eq!(stopped, want);
    let deleted: BTreeSet<u64> = w.deleted_runners().into_iter().collect();
    assert_eq!(deleted, [42, 43, 44].into_iter().collect());
}

#[test]
fn a_timeout_names_the_tasks_that_are_late_and_undoes_all() {
    let mut w = World::default();
    w.per_task
        .insert(task_arn_n(2), vec![task_json("PENDING", "RUNNING")]);
    let mut s = fleet(3);
    s.timeout_s = 30;
    let o = run(s, &mut w);
    let msg = o.failure();
    assert!(
        msg.starts_with("1 of 3 tasks were not RUNNING within timeout (30s)"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("runner {LABEL}-")) && msg.contains("PENDING"),
        "{msg}"
    );
    assert_nothing_left(&w);
    assert!(o.now - T0 >= 30_000 && o.now - T0 < 40_000);
}

#[test]
fn a_run_task_that_gets_no_answer_is_looked_for_by_tag() {
    let mut w = World::default();
    for _ in 0..4 {
        w.queue_for("ecs:RunTask", &format!("\"{LABEL}-2\""), Reply::network());
    }
    w.queue("ecs:ListTasks", Reply::ok(json!({"taskArns": []})));
    let o = run(fleet(2), &mut w);
    assert!(o.failure().contains("ECONNREFUSED"), "{}", o.failure());
    // It may have started a task whose answer was lost.
    let list = json_body(w.first("ecs:ListTasks"));
    assert_eq!(list["startedBy"], "ecs-runner/987654");
    assert_nothing_left(&w);
}

#[test]
fn no_capacity_falls_back_and_the_log_summary_and_outputs_say_which() {
    let mut w = World::default();
    w.queue_for(
        "ecs:RunTask",
        &format!("\"{LABEL}-2\""),
        Reply::ok(json!({"tasks": [], "failures": [{"arn": "x", "reason": "Capacity is unavailable at this time. Please try again later or in a different availability zone"}]})),
    );
    let mut s = fleet(3);
    s.placement = Placement::CapacityProviders(vec![CapacityProvider {
        provider: "FARGATE_SPOT".into(),
        weight: Some(1),
        base: None,
    }]);
    s.capacity_fallback = Some(Placement::LaunchType("FARGATE".into()));
    let o = run(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    let runs: Vec<Value> = w.all("ecs:RunTask").iter().map(|r| json_body(r)).collect();
    assert_eq!(runs.len(), 4);
    let retry: Vec<&Value> = runs
        .iter()
        .filter(|b| b["tags"][0]["value"] == format!("{LABEL}-2"))
        .collect();
    assert_eq!(retry.len(), 2);
    assert!(retry[0].get("launchType").is_none());
    assert_eq!(
        retry[0]["capacityProviderStrategy"][0]["capacityProvider"],
        "FARGATE_SPOT"
    );
    assert_eq!(retry[1]["launchType"], "FARGATE");
    assert!(retry[1].get("capacityProviderStrategy").is_none());
    assert_ne!(
        retry[0]["clientToken"], retry[1]["clientToken"],
        "another request, another token"
    );
    assert_eq!(
        retry[0]["overrides"], retry[1]["overrides"],
        "the unused credential goes with it"
    );
    let runners = output_list(&o, "runners");
    let capacity: Vec<&str> = runners
        .iter()
        .map(|r| r["capacity"].as_str().unwrap())
        .collect();
    assert_eq!(capacity, ["primary", "fallback", "primary"]);
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains(&format!("Runner {LABEL}-2: no capacity")),
        "{logs}"
    );
    assert!(
        logs.contains(&format!("On the fallback launch type FARGATE: {LABEL}-2")),
        "{logs}"
    );
    assert!(
        o.summary()
            .contains("RUNNING (fallback: launch type FARGATE)"),
        "{}",
        o.summary()
    );
}

#[test]
fn a_spot_task_stopped_before_running_falls_back() {
    let mut w = World::default();
    let mut reclaimed = task_json("STOPPED", "STOPPED");
    reclaimed["stopCode"] = json!("SpotInterruption");
    w.per_task.insert(task_arn_n(0), vec![reclaimed]);
    let mut s = fleet(1);
    s.capacity_fallback = Some(Placement::LaunchType("EC2".into()));
    let o = run(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.count("ecs:RunTask"), 2);
    assert_eq!(json_body(w.all("ecs:RunTask")[1])["launchType"], "EC2");
    assert_eq!(o.outputs()["task_arn"], task_arn_n(1));
    assert_eq!(
        w.count("ecs:StopTask"),
        0,
        "the reclaimed task is stopped already"
    );
}

#[test]
fn no_capacity_without_a_fallback_fails_and_a_failed_fallback_is_final() {
    let no_capacity =
        || Reply::ok(json!({"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:MEMORY"}]}));
    let mut w = World::default();
    w.queue("ecs:RunTask", no_capacity());
    let o = run(fleet(1), &mut w);
    assert!(o.failure().contains("RESOURCE:MEMORY"), "{}", o.failure());
    assert_eq!(w.count("ecs:RunTask"), 1);

    let mut w = World::default();
    w.queue("ecs:RunTask", no_capacity());
    w.queue("ecs:RunTask", no_capacity());
    let mut s = fleet(1);
    s.capacity_fallback = Some(Placement::LaunchType("EC2".into()));
    let o = run(s, &mut w);
    assert!(o.failure().contains("RESOURCE:MEMORY"), "{}", o.failure());
    assert_eq!(w.count("ecs:RunTask"), 2, "tried once on each capacity");
    assert_nothing_left(&w);
}

#[test]
fn throttling_backs_off_with_full_jitter_and_the_same_client_token() {
    let mut w = World::default();
    for _ in 0..5 {
        w.queue(
            "ecs:RunTask",
            Reply::aws_error(400, "ThrottlingException", "Rate exceeded"),
        );
    }
    let o = run(fleet(1), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let runs = w.all("ecs:RunTask");
    assert_eq!(runs.len(), 6);
    let tokens: BTreeSet<&str> = runs
        .iter()
        .map(|r| r.body.split("clientToken").nth(1).unwrap())
        .collect();
    assert_eq!(tokens.len(), 1, "one clientToken for every attempt");
    let sent = w.sent_at("ecs:RunTask");
    // Each wait is under its ceiling (1, 2, 4, 8, 16 s), at least 50 ms,
    // and the waits differ (jitter).
    let waits: Vec<u64> = sent.windows(2).map(|p| p[1] - p[0] - 100).collect();
    for (i, wait) in waits.iter().enumerate() {
        assert!(
            *wait >= 50 && *wait < 1000 << i,
            "wait {i}: {wait} ms of {waits:?}"
        );
    }
    assert!(waits.iter().collect::<BTreeSet<_>>().len() > 1, "{waits:?}");
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains("ecs RunTask was throttled (HTTP 400); retrying in"),
        "{logs}"
    );
}

#[test]
fn githubs_secondary_rate_limit_holds_every_github_call_for_the_time_it_says() {
    let mut w = World::default();
    w.queue_for(
        JIT_OP,
        &format!("\"{LABEL}-1\""),
        Reply(
            403,
            json!({"message": "You have exceeded a secondary rate limit"}).to_string(),
        ),
    );
    w.headers.insert(
        JIT_OP.into(),
        [BTreeMap::from([(
            "retry-after".to_string(),
            "7".to_string(),
        )])]
        .into(),
    );
    // The other registrations go out later than the first, so the limit
    // holds them: make the first answer fast.
    let o = run(fleet(12), &mut w);
    assert!(o.done(), "{:?}", o.last);
    let posts = w.sent_at(JIT_OP);
    assert_eq!(posts.len(), 13);
    // Ten went out at once; the first was answered with the limit after
    // 100 ms; the two that waited for a slot, and the retry, waited out the
    // seven seconds, although the other nine answers freed slots at once.
    let limited_at = posts[0] + 100;
    assert_eq!(
        posts.iter().filter(|t| **t == posts[0]).count(),
        10,
        "{posts:?}"
    );
    assert!(
        posts[10..].iter().all(|t| *t >= limited_at + 7_000),
        "{posts:?}"
    );
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains("GitHub rate limit (retry-after: 7): holding every GitHub request for 7s"),
        "{logs}"
    );
}

#[test]
fn a_rate_limit_reset_past_the_timeout_fails_at_once_and_cleans_up() {
    let mut w = World::default();
    w.queue_for(
        JIT_OP,
        &format!("\"{LABEL}-2\""),
        Reply(
            403,
            json!({"message": "API rate limit exceeded"}).to_string(),
        ),
    );
    let reset = (T0 / 1000 + 3_600).to_string();
    w.headers.insert(
        JIT_OP.into(),
        [
            BTreeMap::new(),
            BTreeMap::from([
                ("x-ratelimit-remaining".to_string(), "0".to_string()),
                ("x-ratelimit-reset".to_string(), reset),
            ]),
        ]
        .into(),
    );
    let o = run(fleet(2), &mut w);
    assert!(o.failure().contains("rate limit"), "{}", o.failure());
    assert!(
        o.now - T0 < 10_000,
        "it did not wait an hour: {} ms",
        o.now - T0
    );
    let logs = o.visible_logs().join("\n");
    assert!(logs.contains("past this step's timeout"), "{logs}");
    assert_nothing_left(&w);
}

#[test]
fn cancel_mid_launch_removes_everything_the_step_created() {
    let mut w = World::default();
    // Slow RunTasks: the cancel comes while some are in flight.
    w.latency.insert("ecs:RunTask".into(), 2_000);
    let o = drive_with(&mut Start::new(fleet(10), RANDOM), &mut w, |_, w| {
        w.count("ecs:RunTask") >= 10
    });
    let msg = o.failure();
    assert!(msg.contains("Cancelled"), "{msg}");
    // Every RunTask was in flight: the step's tasks are looked up by tag.
    let list = json_body(w.first("ecs:ListTasks"));
    assert_eq!(list["startedBy"], "ecs-runner/987654");
    // The world did start them all: each is found by its tags and stopped.
    assert_nothing_left(&w);
    assert_eq!(w.registered.len(), 10);
    assert_eq!(w.started_tasks().len(), 10);
    // The cleanup's calls go out together, not one by one.
    let deletes = w
        .requests
        .iter()
        .zip(&w.times)
        .filter(|(r, _)| r.method == "DELETE")
        .map(|(_, t)| t.0)
        .collect::<BTreeSet<_>>();
    assert!(deletes.len() <= 2, "{deletes:?}");
}

#[test]
fn cancel_while_registering_looks_each_unanswered_runner_up_by_name() {
    let mut w = World::default();
    w.latency.insert(JIT_OP.into(), 3_000);
    let o = drive_with(&mut Start::new(fleet(3), RANDOM), &mut w, |_, w| {
        w.count(JIT_OP) == 3
    });
    assert!(o.failure().contains("Cancelled"), "{}", o.failure());
    for name in names(3) {
        assert_eq!(
            w.count(&format!(
                "github:GET /repos/octo/app/actions/runners?name={name}"
            )),
            1,
            "{name}"
        );
    }
    // GitHub did register them (the world answered): all deleted.
    assert_nothing_left(&w);
    assert_eq!(w.count("ecs:RunTask"), 0);
}

#[test]
fn a_fleet_waits_for_every_runner_online_by_listing_the_runners() {
    let mut w = World::default();
    w.runner_online_after = 2;
    let mut s = fleet(3);
    s.wait_for_registration = true;
    let o = run(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    let lists = w.count("github:GET /repos/octo/app/actions/runners?per_page=100&page=1");
    assert_eq!(lists, 3, "listed until online");
    assert_eq!(w.count("github:GET /repos/octo/app/actions/runners/42"), 0);
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains(&format!("Runner {LABEL}-3 is online in GitHub")),
        "{logs}"
    );
}

#[test]
fn a_fleet_in_bridge_mode_finds_each_instance_ip() {
    let mut w = World::default();
    w.network_mode = "bridge";
    let mut t = task_json("RUNNING", "RUNNING");
    t["attachments"] = json!([]);
    t["containerInstanceArn"] = json!("arn:aws:ecs:us-west-2:1:container-instance/runners/ci1");
    w.statuses = vec![t];
    for _ in 0..2 {
        w.queue(
            "ecs:DescribeContainerInstances",
            Reply::ok(json!({"containerInstances": [{"ec2InstanceId": "i-0abc"}]})),
        );
        w.queue(
            "ec2:DescribeInstances",
            Reply(200, "<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-0abc</instanceId><privateIpAddress>10.1.2.3</privateIpAddress></item></instancesSet></item></reservationSet></DescribeInstancesResponse>".into()),
        );
    }
    let mut s = fleet(2);
    s.subnets = ecs_runner_core::settings::Lookup::None;
    s.security_groups = ecs_runner_core::settings::Lookup::None;
    s.placement = Placement::LaunchType("EC2".into());
    let o = run(s, &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(o.outputs()["ipaddrs"], r#"["10.1.2.3","10.1.2.3"]"#);
}
