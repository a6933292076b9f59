//! Property tests (issue 9, requirement 5): arbitrary text and arbitrary
//! JSON- and XML-shaped documents into every parser of AWS and GitHub
//! answers, arbitrary values for every input and variable into
//! `inputs::parse`, and arbitrary configurations into the whole `Machine`,
//! stepped with arbitrary answers. Nothing may panic; an input error names
//! only inputs and variables the action has, and shows no secret.
//!
//! Bounded for `cargo test`: 256 cases per property (proptest's default),
//! a few seconds in all. `PROPTEST_CASES=20000 cargo test --test fuzz`
//! runs longer. Failures are not persisted to files (the tree stays
//! clean): proptest prints the smallest failing input.

mod support;

use std::collections::BTreeMap;

use ecs_runner_core::aws::{creds, ec2, ecs, error as aws_error, logs, taskdef};
use ecs_runner_core::exchange::{self, failure, retry, Service};
use ecs_runner_core::inputs::{self, INPUT_NAMES};
use ecs_runner_core::protocol::{Config, Event, HttpResponse, Next};
use ecs_runner_core::settings::Scope;
use ecs_runner_core::{encoding, github, names, placeholders, Machine};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Map, Value};

/// proptest's configuration: its defaults (256 cases, or PROPTEST_CASES),
/// without regression files.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- what the documents are made of ----

/// Keys the parsers look for, and a few they do not.
const KEYS: &[&str] = &[
    "tasks",
    "failures",
    "taskArn",
    "taskDefinitionArn",
    "lastStatus",
    "desiredStatus",
    "stopCode",
    "stoppedReason",
    "createdAt",
    "containerInstanceArn",
    "attachments",
    "type",
    "details",
    "name",
    "value",
    "containers",
    "reason",
    "exitCode",
    "networkInterfaces",
    "privateIpv4Address",
    "tags",
    "key",
    "arn",
    "detail",
    "taskArns",
    "nextToken",
    "containerInstances",
    "ec2InstanceId",
    "taskDefinition",
    "containerDefinitions",
    "logConfiguration",
    "logDriver",
    "options",
    "awslogs-group",
    "awslogs-region",
    "awslogs-stream-prefix",
    "networkMode",
    "runtimePlatform",
    "cpuArchitecture",
    "registeredAt",
    "taskDefinitionArns",
    "runner",
    "id",
    "encoded_jit_config",
    "token",
    "expires_at",
    "runners",
    "total_count",
    "status",
    "busy",
    "labels",
    "run_started_at",
    "runner_groups",
    "events",
    "message",
    "timestamp",
    "errors",
    "__type",
    "code",
    "Message",
    "AccessKeyId",
    "SecretAccessKey",
    "Token",
    "Expiration",
    "environment",
    "x",
];

/// Strings the parsers compare with, and arbitrary ones.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "RUNNING", "PENDING", "PROVISIONING", "STOPPED", "DEACTIVATING", "STOPPING",
            "ElasticNetworkInterface", "privateIPv4Address", "awslogs", "awsvpc", "bridge",
            "ARM64", "X86_64", "online", "offline", "completed", "in_progress",
            "ecs-runner:spec", "ecs-runner:runner-id", "ecs-runner:repository",
            "ecs-runner:run-id", "ecs-runner:context", "CannotPullContainerError",
            "EssentialContainerExited", "SpotInterruption", "RESOURCE:MEMORY",
            "ClientException", "ThrottlingException", "ns#ServerException",
            "arn:aws:ecs:us-west-2:123456789012:task/runners/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "arn:aws:ecs:us-west-2:123456789012:task-definition/gh:3",
            "2026-11-23T09:15:00Z", "1970-01-01T00:00:00Z", "9999-99-99T99:99:99Z", "",
            "gh-987654-1-0123abcd", "\u{0}", "\u{1b}[31m", "é", "💥",
        ])
        .prop_map(String::from),
        2 => ".{0,40}",
        1 => "[a-f0-9:/.-]{0,80}",
    ]
}

/// A JSON value shaped like the answers: objects with the keys above.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from(1.790_000_000_5e9)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        4 => prop::sample::select(KEYS).prop_map(String::from),
                        1 => ".{0,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kvs| Value::Object(kvs.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// The largest character boundary of `s` at or before `at`.
fn char_floor(s: &str, at: usize) -> usize {
    (0..=at.min(s.len()))
        .rev()
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(0)
}

/// An answer body: JSON-shaped, then maybe cut short or with a character
/// inserted, or any text at all.
fn json_body() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => json_value().prop_map(|v| v.to_string()),
        2 => (json_value(), any::<prop::sample::Index>()).prop_map(|(v, at)| {
            let s = v.to_string();
            let cut = at.index(s.len() + 1);
            s[..char_floor(&s, cut)].to_string()
        }),
        1 => (json_value(), any::<prop::sample::Index>(), any::<char>()).prop_map(|(v, at, c)| {
            let mut s = v.to_string();
            let chars: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
            s.insert(chars[at.index(chars.len())], c);
            s
        }),
        1 => any::<String>(),
    ]
}

/// Element names of the EC2, STS and error documents, and others.
const ELEMENTS: &[&str] = &[
    "DescribeSubnetsResponse",
    "DescribeSecurityGroupsResponse",
    "DescribeInstancesResponse",
    "subnetSet",
    "securityGroupInfo",
    "reservationSet",
    "instancesSet",
    "item",
    "subnetId",
    "groupId",
    "instanceId",
    "privateIpAddress",
    "nextToken",
    "Response",
    "Errors",
    "Error",
    "Code",
    "Message",
    "RequestID",
    "ErrorResponse",
    "Type",
    "AssumeRoleWithWebIdentityResponse",
    "AssumeRoleWithWebIdentityResult",
    "Credentials",
    "AccessKeyId",
    "SecretAccessKey",
    "SessionToken",
    "Expiration",
    "ec2:item",
    "x",
];

#[derive(Debug, Clone)]
enum Xml {
    Text(String),
    Element(String, Vec<(String, String)>, Vec<Xml>),
}

fn xml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        prop::sample::select(vec![
            "&amp;",
            "&lt;",
            "&#65;",
            "&#x1F4A5;",
            "&#0;",
            "&#xD800;",
            "&#99999999999;",
            "&bogus;",
            "<![CDATA[x]]>",
            "<!-- c -->",
            "<?pi x?>",
            "&",
            "<",
            "]]>",
        ])
        .prop_map(String::from),
    ]
}

fn xml_node() -> impl Strategy<Value = Xml> {
    let leaf = xml_text().prop_map(Xml::Text);
    leaf.prop_recursive(8, 48, 5, |inner| {
        (
            prop::sample::select(ELEMENTS),
            prop::collection::vec(("[a-z:]{1,6}", "[^\"]{0,6}"), 0..2),
            prop::collection::vec(inner, 0..5),
        )
            .prop_map(|(n, a, c)| Xml::Element(n.to_string(), a, c))
    })
}

fn render(x: &Xml, out: &mut String) {
    match x {
        Xml::Text(t) => out.push_str(t),
        Xml::Element(name, attrs, children) => {
            out.push('<');
            out.push_str(name);
            for (k, v) in attrs {
                out.push_str(&format!(" {k}=\"{v}\""));
            }
            if children.is_empty() {
                out.push_str("/>");
                return;
            }
            out.push('>');
            for c in children {
                render(c, out);
            }
            out.push_str(&format!("</{name}>"));
        }
    }
}

/// An XML-shaped body (a prolog or not, a root from the names above),
/// maybe cut short, or any text.
fn xml_body() -> impl Strategy<Value = String> {
    let doc = (
        any::<bool>(),
        prop::sample::select(ELEMENTS),
        prop::collection::vec(xml_node(), 0..4),
    )
        .prop_map(|(prolog, root, children)| {
            let mut s = if prolog {
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".to_string()
            } else {
                String::new()
            };
            render(&Xml::Element(root.to_string(), vec![], children), &mut s);
            s
        })
        .boxed();
    prop_oneof![
        4 => doc.clone(),
        1 => (prop::sample::select(ELEMENTS), doc.clone()).prop_map(|(n, d)| format!("</{n}>{d}")),
        2 => (doc, any::<prop::sample::Index>()).prop_map(|(s, at)| {
            let cut = at.index(s.len() + 1);
            s[..char_floor(&s, cut)].to_string()
        }),
        1 => "<{0,3}[a-zA-Z/!?<>&;#\\[\\] \"=-]{0,60}",
        1 => any::<String>(),
    ]
}

/// Any body: JSON-, XML-shaped or neither.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![json_body(), xml_body()]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(vec![0u16, 200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 501, 502, 503]),
        1 => any::<u16>(),
    ]
}

fn headers() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        prop_oneof![
            prop::sample::select(vec![
                "x-amzn-errortype",
                "X-Amzn-ErrorType",
                "retry-after",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
                "content-type",
            ])
            .prop_map(String::from),
            ".{0,10}",
        ],
        prop_oneof![
            text(),
            "[0-9]{0,25}",
            Just("0".to_string()),
            Just(u64::MAX.to_string()),
            Just("ThrottlingException:http://internal.amazon.com/".to_string()),
        ],
        0..4,
    )
}

fn response() -> impl Strategy<Value = HttpResponse> {
    (status(), headers(), body(), proptest::option::of(".{0,30}")).prop_map(
        |(status, headers, body, error)| HttpResponse {
            id: 1,
            status,
            headers,
            body,
            error,
        },
    )
}

// ---- the parsers ----

/// Uses every part of an answer the machines use, so that reading it
/// cannot panic later either.
fn use_tasks(a: &ecs::TasksAnswer) {
    for t in &a.tasks {
        let _ = (
            t.id(),
            t.private_ip(),
            t.is_stopping(),
            t.ending(),
            ecs::stop_advice(t),
        );
        let _ = t.tag("ecs-runner:runner-id");
    }
    for f in &a.failures {
        let _ = ecs::failure_advice(f, "runners");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ecs_parsers_never_panic(b in json_body()) {
        if let Some(a) = ecs::parse_tasks(&b) {
            use_tasks(&a);
        }
        if let Some(td) = ecs::parse_task_definition(&b) {
            let _ = td.logs_of("runner");
            for (c, l) in &td.logs {
                let _ = logs::stream(l, c, "abc");
            }
        }
        let _ = ecs::parse_list_tasks(&b);
        let _ = ecs::parse_container_instances(&b);
        let _ = taskdef::parse_list(&b);
        let _ = taskdef::spec_tag(&b);
        let _ = logs::parse_events(&b);
        let _ = creds::parse_json_credentials(&b);
        let _ = exchange::scrub(&b);
    }

    #[test]
    fn ec2_and_sts_parsers_never_panic(b in xml_body()) {
        let _ = ec2::parse_subnet_ids(&b).map(|p| (p.ids, p.next_token));
        let _ = ec2::parse_security_group_ids(&b);
        let _ = ec2::parse_instance_private_ips(&b);
        let _ = creds::parse_sts(&b);
        let _ = exchange::scrub(&b);
    }

    #[test]
    fn github_parsers_never_panic(b in json_body(), page in any::<u32>(), got in any::<usize>(), total in any::<u64>()) {
        let _ = github::parse_jit(&b);
        let _ = github::parse_runners(&b);
        let _ = github::parse_runner_one(&b);
        let _ = github::parse_registration_token(&b);
        let _ = github::parse_workflow_run(&b);
        let _ = github::parse_runner_groups(&b);
        let _ = github::more_pages(page, got, total);
    }

    #[test]
    fn every_parser_takes_any_text(b in any::<String>()) {
        if let Some(a) = ecs::parse_tasks(&b) {
            use_tasks(&a);
        }
        let _ = ecs::parse_task_definition(&b);
        let _ = ecs::parse_list_tasks(&b);
        let _ = ecs::parse_container_instances(&b);
        let _ = ec2::parse_subnet_ids(&b);
        let _ = ec2::parse_security_group_ids(&b);
        let _ = ec2::parse_instance_private_ips(&b);
        let _ = github::parse_jit(&b);
        let _ = github::parse_runners(&b);
        let _ = github::parse_runner_one(&b);
        let _ = github::parse_registration_token(&b);
        let _ = github::parse_workflow_run(&b);
        let _ = github::parse_runner_groups(&b);
        let _ = encoding::parse_rfc3339(&b);
        let _ = logs::parse_events(&b);
        let _ = taskdef::parse_list(&b);
        let _ = taskdef::spec_tag(&b);
        let _ = taskdef::family_revision(&b);
        let _ = creds::parse_sts(&b);
        let _ = creds::parse_json_credentials(&b);
        let _ = exchange::scrub(&b);
        let _ = names::run_id_in(&b);
        let _ = names::in_step(&b, "gh-987654-1-0123abcd");
        let _ = placeholders::check(&b);
        let _ = placeholders::literal_text(&b);
    }

    /// Any failed answer reads as an error with a code, and its message
    /// quotes at most an excerpt of the body.
    #[test]
    fn aws_errors_of_any_answer(resp in response(), now in support::T0 - 1_000_000_000_000..support::T0 + 1_000_000_000_000) {
        let err = aws_error::parse(&resp);
        prop_assert!(!err.code.is_empty());
        prop_assert!(err.message.chars().count() <= 1000, "{} characters", err.message.chars().count());
        let _ = err.to_string();
        let _ = ecs_runner_core::exchange::retry::verdict(Service::Ecs, &resp, now);
        for (service, op) in [("ecs", "RunTask"), ("ecs", "DescribeTaskDefinition"), ("ec2", "DescribeSubnets"), ("logs", "GetLogEvents")] {
            let _ = failure::advice(service, op, &err);
        }
        for s in [Service::Ecs, Service::Ec2, Service::Logs, Service::GitHub, Service::Plain] {
            let _ = retry::verdict(s, &resp, now);
        }
        let scope = Scope::Repo { owner: "octo".into(), repo: "app".into() };
        let m = failure::github_message("generate-jitconfig", &scope, &resp);
        prop_assert!(m.chars().count() <= 2000, "{} characters", m.chars().count());
        let _ = failure::credentials_message("container credentials", "http://169.254.170.2/x?y", &resp);
    }
}

// ---- inputs::parse ----

const SECRET_TOKEN: &str = "ghp_FuzzSecretTokenValue0123456789abcd";
const SECRET_KEY: &str = "wJalrFuzzSecretAccessKey/0123+abcdefGH";
const SECRET_SESSION: &str = "IQoJFuzzSessionTokenValue0123456789==";

/// The variables `inputs::parse` reads and may name in a problem.
const VARIABLES: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_ECS",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_ENDPOINT_URL_LOGS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_JOB",
    "GITHUB_WORKFLOW",
    "RUNNER_ARCH",
    "RUNNER_DEBUG",
    "ECS_CLUSTER_NAME",
    "ECS_SUBNETS",
    "ECS_SECURITY_GROUPS",
    "ECS_EXECUTION_ROLE",
    "ECS_TASK_ROLE",
    "EFS_ID",
];

/// A value that passes for `name`, so that the other inputs' checks run
/// too (with only arbitrary values, every case fails at the first few).
fn valid(name: &str) -> &'static str {
    match name {
        "mode" => "start",
        "count" => "2",
        "name" => "gh-runner",
        "token" => SECRET_TOKEN,
        "labels" => "gpu, large",
        "workdir" => "/tmp/work",
        "context" => "octo/app",
        "image" => "ghcr.io/actions/actions-runner:latest",
        "cpu" => "1024",
        "memory" => "2048",
        "architecture" => "ARM64",
        "execution-role" | "task-role" => "arn:aws:iam::123456789012:role/ecs",
        "log-group" => "/ecs-runner",
        "efs-id" => "fs-0123abcd",
        "efs-path" => "/cache",
        "ephemeral-storage" => "30",
        "command" => "[\"/home/runner/run.sh\"]",
        "task-definition" => "gh-runner:3",
        "cluster" => "runners",
        "launch-type" => "FARGATE",
        "capacity-provider-strategy" => "FARGATE_SPOT:1,FARGATE:1:1",
        "capacity-fallback" => "FARGATE",
        "platform-version" => "1.4.0",
        "subnets" => "subnet-0123456789abcdef0",
        "subnets-tag" | "security-groups-tag" => "Name:ci",
        "security-groups" => "sg-0123456789abcdef0",
        "assign-public-ip" => "ENABLED",
        "container-name" => "runner",
        "tags" => "team=ci,r={runner_name}",
        "env" => "FOO=bar\n# c\nX={index}",
        "runner-group" => "1",
        "registration" => "token",
        "timeout" => "300",
        "wait-for-registration" | "debug" | "dry-run" | "default-labels" => "true",
        "task-arn" => {
            "[\"arn:aws:ecs:us-west-2:123456789012:task/ci/0123456789abcdef0123456789abcdef\"]"
        }
        "runner-id" => "gh-runner-987654-1-0a1b2c3d",
        "max-age" => "30",
        "role-to-assume" | "AWS_ROLE_ARN" => "arn:aws:iam::123456789012:role/launcher",
        "role-session-name" | "AWS_ROLE_SESSION_NAME" => "ci-session",
        "role-duration-seconds" => "1800",
        "audience" => "sts.amazonaws.com",
        "AWS_REGION" | "AWS_DEFAULT_REGION" => "us-west-2",
        "AWS_ACCESS_KEY_ID" => "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY" => SECRET_KEY,
        "AWS_SESSION_TOKEN" => SECRET_SESSION,
        "AWS_ENDPOINT_URL"
        | "AWS_ENDPOINT_URL_ECS"
        | "AWS_ENDPOINT_URL_EC2"
        | "AWS_ENDPOINT_URL_LOGS"
        | "AWS_ENDPOINT_URL_STS" => "http://127.0.0.1:5000",
        "AWS_WEB_IDENTITY_TOKEN_FILE" | "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" => {
            "/var/run/token"
        }
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" => "/v2/credentials/abc",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI" => "http://127.0.0.1:51679/creds",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN" | "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => {
            "FuzzRequestTokenSecret0123456789"
        }
        "AWS_EC2_METADATA_DISABLED" => "true",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT" => "http://127.0.0.1:9922",
        "ACTIONS_ID_TOKEN_REQUEST_URL" => "https://token.actions.example/idtoken",
        "GITHUB_API_URL" => "https://api.github.com",
        "GITHUB_SERVER_URL" => "https://github.com",
        "GITHUB_REPOSITORY" => "octo/app",
        "GITHUB_RUN_ID" => "987654",
        "GITHUB_RUN_ATTEMPT" => "2",
        "GITHUB_JOB" => "build",
        "GITHUB_WORKFLOW" => "CI",
        "RUNNER_ARCH" => "X64",
        "RUNNER_DEBUG" => "1",
        "ECS_CLUSTER_NAME" => "runners",
        "ECS_SUBNETS" => "subnet-0123abcd",
        "ECS_SECURITY_GROUPS" => "sg-0123abcd",
        "ECS_EXECUTION_ROLE" | "ECS_TASK_ROLE" => "ecsTaskExecutionRole",
        "EFS_ID" => "fs-01234567",
        _ => "",
    }
}

/// Inputs and variables whose values are secret.
const SECRET_NAMES: &[&str] = &[
    "token",
    "github-token",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// What a value may be: not given, valid, or anything (including
/// whitespace around, newlines, control characters, very long). A secret
/// is its valid value (marked "Fuzz"), maybe with a space, a newline or a
/// control character inside (an input error), or a line of `env`.
fn value_for(name: &'static str) -> BoxedStrategy<Option<String>> {
    let any_value = prop_oneof![
        5 => Just(None),
        3 => Just(Some(valid(name).to_string())),
        1 => Just(Some(String::new())),
        1 => text().prop_map(Some),
        1 => any::<String>().prop_map(Some),
        1 => "[ \t\n]{0,2}[A-Za-z0-9:/._,=@+-]{0,300}[ \t\n]{0,2}".prop_map(Some),
    ];
    if name == "env" {
        return prop_oneof![
            4 => any_value,
            1 => prop::sample::select(vec![
                "RUNNER_TOKEN=ghp_FuzzSecretInEnv0123456789",
                "ghp_FuzzSecretInEnv0123456789",
                "1X=ghp_FuzzSecretInEnv0123456789",
                "A=ghp_FuzzSecretInEnv0123456789\nA=ghp_FuzzSecretInEnv0123456789",
                "A={nope}ghp_FuzzSecretInEnv0123456789",
            ])
            .prop_map(|v| Some(v.to_string())),
        ]
        .boxed();
    }
    if !SECRET_NAMES.contains(&name) {
        return any_value.boxed();
    }
    let secret = match valid(name) {
        "" => "ghp_FuzzSecretAliasValue0123456789",
        v => v,
    };
    prop_oneof![
        4 => any_value,
        3 => (0..secret.len(), prop::sample::select(vec![" ", "\n", "\t", "\u{7}", "  "])).prop_map(
            move |(at, c)| {
                let at = char_floor(secret, at);
                Some(format!("{}{c}{}", &secret[..at], &secret[at..]))
            }
        ),
        1 => Just(Some(format!("  {secret}\n"))),
    ]
    .boxed()
}

/// Values for a list of names; the base (valid start) is applied first.
fn values(
    names: &'static [&'static str],
) -> impl Strategy<Value = Vec<(&'static str, Option<String>)>> {
    names
        .iter()
        .map(|n| value_for(n).prop_map(move |v| (*n, v)))
        .collect::<Vec<_>>()
}

/// The configuration of a valid start (token, subnets, region, keys, the
/// run), for the loopback endpoints.
fn base_config(random: String) -> Config {
    let mut c = Config {
        random,
        ..Default::default()
    };
    for (k, v) in [
        ("token", SECRET_TOKEN),
        ("subnets", "subnet-0123456789abcdef0"),
    ] {
        c.inputs.insert(k.to_string(), v.to_string());
    }
    for k in [
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "GITHUB_REPOSITORY",
        "GITHUB_RUN_ID",
        "GITHUB_JOB",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_ENDPOINT_URL",
    ] {
        c.env.insert(k.to_string(), valid(k).to_string());
    }
    c.env
        .insert("GITHUB_API_URL".into(), "http://127.0.0.1:6000".into());
    c
}

/// `changes` laid over `c`: a value set, or the input or variable removed.
fn apply(c: &mut Config, changes: Vec<(&'static str, Option<String>)>) {
    for (k, v) in changes {
        let map = if INPUT_NAMES.contains(&k) {
            &mut c.inputs
        } else {
            &mut c.env
        };
        match v {
            Some(v) => map.insert(k.to_string(), v),
            None => map.remove(k),
        };
    }
}

fn random() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(support::RANDOM.to_string()),
        1 => ".{0,40}",
    ]
}

/// One input or variable and a value for it.
fn change() -> impl Strategy<Value = (&'static str, Option<String>)> {
    let names: Vec<&'static str> = INPUT_NAMES.iter().chain(VARIABLES).copied().collect();
    prop::sample::select(names).prop_flat_map(|n| {
        let mode = prop::sample::select(vec!["stop", "reap", "Stop", "REAP"])
            .prop_map(|m| Some(m.to_string()));
        if n == "mode" {
            prop_oneof![value_for(n), mode]
                .prop_map(move |v| (n, v))
                .boxed()
        } else {
            value_for(n).prop_map(move |v| (n, v)).boxed()
        }
    })
}

/// A configuration: a valid start with up to four inputs or variables
/// changed (mostly), or every one of them drawn (valid, unset or
/// anything); and the randomness.
fn any_config() -> impl Strategy<Value = Config> {
    prop_oneof![
        3 => (random(), prop::collection::vec(change(), 0..5)).prop_map(|(r, changes)| {
            let mut c = base_config(r);
            apply(&mut c, changes);
            c
        }),
        1 => (random(), values(INPUT_NAMES), values(VARIABLES)).prop_map(|(r, inputs, env)| {
            let mut c = base_config(r);
            apply(&mut c, inputs.into_iter().filter(|(_, v)| v.is_some()).collect());
            apply(&mut c, env.into_iter().filter(|(_, v)| v.is_some()).collect());
            c
        }),
    ]
}

/// The pieces of the secrets in `c` that no message may show: each
/// secret value the strategies made (they hold "Fuzz", so no ordinary
/// text is taken for one), and each part of it between whitespace, at
/// least 8 characters long.
fn secrets_of(c: &Config) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let values = SECRET_NAMES
        .iter()
        .filter_map(|k| c.inputs.get(*k).or_else(|| c.env.get(*k)))
        .chain(c.inputs.get("env"));
    for v in values.filter(|v| v.contains("Fuzz")) {
        for part in
            v.split(|ch: char| ch.is_whitespace() || ch.is_control() || ch == '=' || ch == '}')
        {
            if part.chars().count() >= 8 && part.contains("Fuzz") {
                out.push(part.to_string());
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    /// Every problem names an input of action.yaml or a variable the action
    /// reads; the message lists each problem on its own line and shows no
    /// secret.
    #[test]
    fn input_problems_name_only_known_inputs_and_variables(c in any_config()) {
        let Err(problems) = inputs::parse(&c) else {
            return Ok(());
        };
        prop_assert!(!problems.is_empty());
        for p in &problems {
            prop_assert!(
                INPUT_NAMES.contains(&p.input.as_str()) || VARIABLES.contains(&p.input.as_str()),
                "unknown name {:?} in {p}",
                p.input
            );
            prop_assert!(!p.message.is_empty());
        }
        let text = inputs::describe(&problems);
        prop_assert_eq!(text.lines().filter(|l| l.starts_with("- ")).count(), problems.len(), "{}", text);
        for secret in secrets_of(&c) {
            prop_assert!(!text.contains(&secret), "a secret in: {}", text);
        }
    }

    /// The whole machine, from any configuration: its first step, then up
    /// to 12 more, each answering every request with the next of 12 answers
    /// (then HTTP 500), or waking it. Nothing panics, nothing says "internal error" (but for no
    /// randomness, which is the shell's bug), no log line shows a secret.
    #[test]
    fn the_machine_takes_any_configuration_and_any_answers(
        c in any_config(),
        answers in prop::collection::vec(response(), 12),
    ) {
        let random_ok = c.random.len() >= 16 && c.random.bytes().all(|b| b.is_ascii_hexdigit());
        let secrets = secrets_of(&c);
        let mut m = Machine::new(c);
        let mut now = support::T0;
        let mut event = Event::Start;
        let mut answers = answers.into_iter();
        for _ in 0..13 {
            let action = m.step(now, event);
            for l in &action.logs {
                for s in &secrets {
                    prop_assert!(!l.message.contains(s.as_str()), "a secret in: {}", l.message);
                }
                prop_assert!(!l.message.contains("internal error"), "{}", l.message);
            }
            let requests = match action.next {
                Next::Wait { requests, wake_ms } => {
                    prop_assert!(!requests.is_empty() || wake_ms.is_some(), "waits for nothing");
                    now += wake_ms.unwrap_or(100).min(60_000);
                    requests
                }
                Next::Failed { message, .. } => {
                    prop_assert!(
                        !message.contains("internal error") || !random_ok,
                        "{}",
                        message
                    );
                    for s in &secrets {
                        prop_assert!(!message.contains(s.as_str()), "a secret in: {}", message);
                    }
                    break;
                }
                Next::Done { .. } => break,
            };
            event = if requests.is_empty() {
                Event::Woke
            } else {
                Event::Responses {
                    responses: requests
                        .iter()
                        .map(|r| {
                            let mut a = answers.next().unwrap_or_else(|| HttpResponse {
                                id: 0,
                                status: 500,
                                headers: BTreeMap::new(),
                                body: String::new(),
                                error: None,
                            });
                            a.id = r.id;
                            a
                        })
                        .collect(),
                }
            };
        }
    }
}

// ---- what the properties found, one case each ----

/// A document that starts with an end tag (`</a>`: a proxy's page cut at
/// the front, or any answer beginning so) is not well-formed XML: an
/// error, not a panic ("an end tag closes an open element" in
/// ec2::xml::Reader::element). Every AWS error answer whose body starts
/// with '<' goes through this reader (aws_error::parse), ECS's too; in the
/// wasm build (panic = "abort") the step dies and cleans nothing up.
#[test]
fn an_xml_answer_that_starts_with_an_end_tag_is_an_error() {
    assert!(ec2::parse_subnet_ids("</a>").is_err());
    assert!(creds::parse_sts("</AssumeRoleWithWebIdentityResponse>").is_err());
    let err = aws_error::parse(&HttpResponse {
        id: 1,
        status: 502,
        headers: BTreeMap::new(),
        body: "</html>".into(),
        error: None,
    });
    assert_eq!(err.code, "HTTP502");
}

/// GitHub's `retry-after` is read as whole seconds; one too large for
/// milliseconds since the epoch holds the calls as long as it can, and
/// does not overflow (a panic in a debug build, a wrap to "now" in
/// release: no wait at all).
#[test]
fn a_huge_retry_after_does_not_overflow() {
    let resp = HttpResponse {
        id: 1,
        status: 403,
        headers: BTreeMap::from([("retry-after".to_string(), u64::MAX.to_string())]),
        body: String::new(),
        error: None,
    };
    match retry::verdict(Service::GitHub, &resp, support::T0) {
        retry::Verdict::RateLimited { until, .. } => assert!(until >= support::T0),
        other => panic!("{other:?}"),
    }
}

/// action.yaml and the README: `role-session-name` applies "with
/// role-to-assume (or AWS_WEB_IDENTITY_TOKEN_FILE)"; inputs::parse
/// refuses it without `role-to-assume` ("applies only with
/// `role-to-assume`") before the web identity source that would use it.
#[test]
fn role_session_name_applies_with_a_web_identity_token_file() {
    let mut c = base_config(support::RANDOM.into());
    c.env.remove("AWS_ACCESS_KEY_ID");
    c.env.remove("AWS_SECRET_ACCESS_KEY");
    c.env.remove("AWS_SESSION_TOKEN");
    c.env.insert(
        "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
        "/var/run/secrets/eks/token".into(),
    );
    c.env.insert(
        "AWS_ROLE_ARN".into(),
        "arn:aws:iam::123456789012:role/launcher".into(),
    );
    c.inputs
        .insert("role-session-name".into(), "ci-session".into());
    match inputs::parse(&c) {
        Ok(s) => assert!(
            matches!(&s.credential_source, creds::Source::WebIdentityFile { session_name, .. } if session_name == "ci-session"),
            "{:?}",
            s.credential_source
        ),
        Err(problems) => panic!("{}", inputs::describe(&problems)),
    }
}
