//! AWS credentials from every source of the chain, driven through the
//! top-level Machine (inputs and environment as the shell passes them)
//! against the scripted world.

mod support;

use ecs_runner_core::protocol::Config;
use ecs_runner_core::Machine;
use serde_json::json;
use support::*;

const FETCHED_KEY: &str = "ASIAFETCHEDKEY000001";
const FETCHED_SECRET: &str = "fetched/secret+key/value";
const FETCHED_SESSION: &str = "fetched-session-token-value";
const OIDC_REQUEST_TOKEN: &str = "oidc-request-token-value";
const OIDC_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.oidc-jwt-value";
const TOKEN_FILE_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eks-jwt-value";

fn config(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Config {
    let inputs: Vec<(&str, &str)> = [("token", TOKEN)]
        .into_iter()
        .chain(inputs.iter().copied())
        .collect();
    machine_config(&inputs, env)
}

fn sts_answer() -> Reply {
    Reply(200, format!("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{FETCHED_KEY}</AccessKeyId><SecretAccessKey>{FETCHED_SECRET}</SecretAccessKey><SessionToken>{FETCHED_SESSION}</SessionToken><Expiration>2026-12-01T10:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"))
}

fn json_credentials() -> Reply {
    Reply::ok(
        json!({"Code": "Success", "AccessKeyId": FETCHED_KEY, "SecretAccessKey": FETCHED_SECRET, "Token": FETCHED_SESSION, "Expiration": "2026-12-01T10:00:00Z"}),
    )
}

/// The start ran with the fetched credentials: every AWS request signed
/// with the fetched key and session token; no secret in any line; each
/// secret handed to the shell before it could be shown.
fn assert_started_with_fetched(o: &Outcome, w: &World) {
    assert!(o.done(), "{:?}", o.last);
    let aws: Vec<_> = w
        .requests
        .iter()
        .filter(|r| r.headers.contains_key("x-amz-date"))
        .collect();
    assert!(!aws.is_empty());
    for r in aws {
        assert!(
            r.headers["authorization"].contains(&format!("Credential={FETCHED_KEY}/")),
            "{}",
            r.headers["authorization"]
        );
        assert_eq!(r.headers["x-amz-security-token"], FETCHED_SESSION);
    }
    let secrets = o.secrets();
    for s in [FETCHED_SECRET, FETCHED_SESSION] {
        assert!(secrets.iter().any(|x| x == s), "{s} not masked");
    }
    for line in o.logs() {
        for s in [
            FETCHED_SECRET,
            FETCHED_SESSION,
            OIDC_REQUEST_TOKEN,
            OIDC_JWT,
            TOKEN_FILE_JWT,
        ] {
            assert!(!line.contains(s), "{s} in {line}");
        }
    }
}

fn no_keys() -> Vec<(&'static str, &'static str)> {
    vec![("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")]
}

#[test]
fn role_to_assume_uses_githubs_oidc_token_then_sts() {
    let mut w = World::default();
    let token_op =
        "http:GET https://token.actions.example/idtoken?api-version=2.0&audience=sts.amazonaws.com";
    w.queue(token_op, Reply::ok(json!({"count": 1, "value": OIDC_JWT})));
    w.queue("sts:AssumeRoleWithWebIdentity", sts_answer());
    let mut env = no_keys();
    env.extend([
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://token.actions.example/idtoken?api-version=2.0",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", OIDC_REQUEST_TOKEN),
    ]);
    let c = config(
        &[
            ("role-to-assume", "arn:aws:iam::123456789012:role/launcher"),
            ("role-duration-seconds", "1800"),
        ],
        &env,
    );
    let o = drive(&mut Machine::new(c), &mut w);
    assert_eq!(w.ops()[..2], [token_op, "sts:AssumeRoleWithWebIdentity"]);
    let oidc = w.first(token_op);
    assert_eq!(
        oidc.headers["authorization"],
        format!("Bearer {OIDC_REQUEST_TOKEN}")
    );
    let sts = w.first("sts:AssumeRoleWithWebIdentity");
    assert_eq!(sts.url, "http://127.0.0.1:5000/");
    assert!(!sts.headers.contains_key("authorization"), "unsigned");
    for part in [
        "Action=AssumeRoleWithWebIdentity",
        "Version=2011-06-15",
        "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Flauncher",
        "RoleSessionName=ecs-runner-987654",
        "DurationSeconds=1800",
    ] {
        assert!(sts.body.contains(part), "{part} in {}", sts.body);
    }
    assert!(sts
        .body
        .contains("WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.oidc-jwt-value"));
    let logs = o.visible_logs().join("\n");
    assert!(logs.contains("Getting AWS credentials from role arn:aws:iam::123456789012:role/launcher, assumed with GitHub's OIDC token"), "{logs}");
    let secrets = o.secrets();
    assert!(
        secrets.iter().any(|s| s == OIDC_REQUEST_TOKEN) && secrets.iter().any(|s| s == OIDC_JWT)
    );
    assert_started_with_fetched(&o, &w);
}

#[test]
fn an_oidc_token_refused_says_which_permission() {
    let mut w = World::default();
    w.queue(
        "http:GET https://token.actions.example/idtoken?audience=sts.amazonaws.com",
        Reply(403, json!({"message": "Not authorized"}).to_string()),
    );
    let mut env = no_keys();
    env.extend([
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://token.actions.example/idtoken",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", OIDC_REQUEST_TOKEN),
    ]);
    let c = config(
        &[("role-to-assume", "arn:aws:iam::123456789012:role/launcher")],
        &env,
    );
    let o = drive(&mut Machine::new(c), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("HTTP 403") && msg.contains("id-token: write"),
        "{msg}"
    );
    assert!(
        w.ops()
            .iter()
            .all(|o| !o.starts_with("ecs:") && !o.starts_with("github:")),
        "nothing else sent"
    );
}

#[test]
fn a_web_identity_token_file_is_read_then_exchanged_at_sts() {
    let mut w = World::default();
    w.queue(
        "file:/var/run/secrets/eks/token",
        Reply(200, format!("{TOKEN_FILE_JWT}\n")),
    );
    w.queue("sts:AssumeRoleWithWebIdentity", sts_answer());
    let mut env = no_keys();
    env.extend([
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/eks/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod"),
        ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5999"),
    ]);
    let o = drive(&mut Machine::new(config(&[], &env)), &mut w);
    let sts = w.first("sts:AssumeRoleWithWebIdentity");
    assert_eq!(sts.url, "http://127.0.0.1:5999/");
    assert!(
        sts.body
            .contains("WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.eks-jwt-value&")
            || sts.body.ends_with("eks-jwt-value"),
        "{}",
        sts.body
    );
    assert!(!sts.body.contains("DurationSeconds"), "the role's default");
    assert!(o.secrets().iter().any(|s| s == TOKEN_FILE_JWT));
    assert_started_with_fetched(&o, &w);
}

#[test]
fn sts_refusing_the_token_fails_before_anything_is_created() {
    let mut w = World::default();
    w.queue("file:/t", Reply(200, TOKEN_FILE_JWT.into()));
    w.queue(
        "sts:AssumeRoleWithWebIdentity",
        Reply(403, "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>".into()),
    );
    let mut env = no_keys();
    env.extend([
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod"),
    ]);
    let o = drive(&mut Machine::new(config(&[], &env)), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("AccessDenied") && msg.contains("sts:AssumeRoleWithWebIdentity"),
        "{msg}"
    );
    assert_eq!(w.ops(), ["file:/t", "sts:AssumeRoleWithWebIdentity"]);
}

#[test]
fn ecs_container_credentials_relative_and_full_uri() {
    let mut w = World::default();
    w.queue(
        "http:GET http://169.254.170.2/v2/credentials/abc",
        json_credentials(),
    );
    let mut env = no_keys();
    env.push((
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "/v2/credentials/abc",
    ));
    let o = drive(&mut Machine::new(config(&[], &env)), &mut w);
    assert!(!w
        .first("http:GET http://169.254.170.2/v2/credentials/abc")
        .headers
        .contains_key("authorization"));
    assert_started_with_fetched(&o, &w);

    // A full URI with its authorization token read from a file.
    let mut w = World::default();
    w.queue(
        "file:/var/run/auth",
        Reply(200, "container-auth-token\n".into()),
    );
    w.queue("http:GET http://127.0.0.1:9911/creds", json_credentials());
    let mut env = no_keys();
    env.extend([
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:9911/creds",
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/auth"),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "ignored-when-the-file-is-set",
        ),
    ]);
    let o = drive(&mut Machine::new(config(&[], &env)), &mut w);
    assert_eq!(
        w.first("http:GET http://127.0.0.1:9911/creds").headers["authorization"],
        "container-auth-token"
    );
    assert!(o.secrets().iter().any(|s| s == "container-auth-token"));
    assert_started_with_fetched(&o, &w);
}

#[test]
fn imdsv2_token_then_role_then_credentials() {
    let mut w = World::default();
    let base = "http://127.0.0.1:9922";
    w.queue(
        &format!("http:PUT {base}/latest/api/token"),
        Reply(200, "imds-session-token".into()),
    );
    w.queue(
        &format!("http:GET {base}/latest/meta-data/iam/security-credentials/"),
        Reply(200, "runner-host-role\n".into()),
    );
    w.queue(
        &format!("http:GET {base}/latest/meta-data/iam/security-credentials/runner-host-role"),
        json_credentials(),
    );
    let mut env = no_keys();
    env.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT", base));
    let o = drive(&mut Machine::new(config(&[], &env)), &mut w);
    let put = w.first(&format!("http:PUT {base}/latest/api/token"));
    assert_eq!(put.headers["x-aws-ec2-metadata-token-ttl-seconds"], "21600");
    assert_eq!(put.timeout_ms, 1000, "a machine without IMDS fails fast");
    let get = w.first(&format!(
        "http:GET {base}/latest/meta-data/iam/security-credentials/runner-host-role"
    ));
    assert_eq!(
        get.headers["x-aws-ec2-metadata-token"],
        "imds-session-token"
    );
    assert!(o
        .visible_logs()
        .join("\n")
        .contains("the EC2 instance metadata at http://127.0.0.1:9922 (IMDSv2)"));
    assert_started_with_fetched(&o, &w);
}

#[test]
fn no_imds_fails_fast_naming_what_was_tried() {
    let mut w = World::default();
    let base = "http://127.0.0.1:9922";
    for _ in 0..2 {
        w.queue(
            &format!("http:PUT {base}/latest/api/token"),
            Reply::network(),
        );
    }
    let mut env = no_keys();
    env.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT", base));
    let o = drive(&mut Machine::new(config(&[], &env)), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("Could not get AWS credentials from the EC2 instance metadata"),
        "{msg}"
    );
    assert!(
        msg.contains("No other source") && msg.contains("role-to-assume"),
        "{msg}"
    );
    assert_eq!(
        w.count(&format!("http:PUT {base}/latest/api/token")),
        2,
        "two attempts, not more"
    );
    assert!(o.now - T0 < 5_000, "took {} ms", o.now - T0);
}

#[test]
fn environment_keys_win_over_every_other_source_but_role_to_assume() {
    let mut w = World::default();
    let c = config(
        &[],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod"),
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x"),
        ],
    );
    let o = drive(&mut Machine::new(c), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert!(w
        .ops()
        .iter()
        .all(|o| !o.starts_with("file:") && !o.starts_with("http:") && !o.starts_with("sts:")));
    assert!(
        w.first("ecs:DescribeTaskDefinition").headers["authorization"]
            .contains("Credential=AKIDENVIRONMENT/")
    );
}

fn rfc3339(ms: u64) -> String {
    aws_smithy_types::DateTime::from_secs((ms / 1000) as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

#[test]
fn temporary_credentials_are_fetched_again_before_they_expire() {
    let base = "http://127.0.0.1:9922";
    let token = format!("http:PUT {base}/latest/api/token");
    let role = format!("http:GET {base}/latest/meta-data/iam/security-credentials/");
    let creds =
        format!("http:GET {base}/latest/meta-data/iam/security-credentials/runner-host-role");
    let mut w = World::default();
    // The first credentials expire 12 minutes in; the second much later.
    for (key, expires) in [
        (FETCHED_KEY, T0 + 12 * 60_000),
        ("ASIASECONDKEY0000002", T0 + 6 * 3_600_000),
    ] {
        w.queue(&token, Reply(200, "imds-session-token".into()));
        w.queue(&role, Reply(200, "runner-host-role".into()));
        w.queue(
            &creds,
            Reply::ok(json!({"Code": "Success", "AccessKeyId": key, "SecretAccessKey": format!("{key}-secret"), "Token": format!("{key}-session"), "Expiration": rfc3339(expires)})),
        );
    }
    // The task takes 20 minutes to be RUNNING.
    w.statuses = vec![task_json("PENDING", "RUNNING")];
    let mut env = no_keys();
    env.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT", base));
    let mut m = Machine::new(config(&[("timeout", "1500")], &env));
    let o = drive_with(&mut m, &mut w, |_, _| false);
    assert!(
        o.failure().contains("not RUNNING within timeout"),
        "{}",
        o.failure()
    );
    assert_eq!(w.count(&creds), 2, "fetched twice");
    let refreshed_at = w.sent_at(&creds)[1];
    assert!(
        (T0 + 2 * 60_000..T0 + 3 * 60_000).contains(&refreshed_at),
        "refreshed {} s in",
        (refreshed_at - T0) / 1000
    );
    // Before: the first key; after: the second, never an expired one.
    for (r, (sent, _)) in w.requests.iter().zip(&w.times) {
        let Some(auth) = r
            .headers
            .get("authorization")
            .filter(|_| r.headers.contains_key("x-amz-date"))
        else {
            continue;
        };
        let key = if *sent <= refreshed_at + 100 {
            FETCHED_KEY
        } else {
            "ASIASECONDKEY0000002"
        };
        assert!(
            auth.contains(&format!("Credential={key}/")),
            "at {} s: {auth}",
            (sent - T0) / 1000
        );
        assert!(*sent < T0 + 12 * 60_000 || key != FETCHED_KEY);
    }
    let logs = o.visible_logs().join("\n");
    assert!(
        logs.contains("Refreshing the AWS credentials from the EC2 instance metadata"),
        "{logs}"
    );
    assert!(logs.contains("Fetched fresh AWS credentials"), "{logs}");
    let secrets = o.secrets();
    assert!(secrets.iter().any(|s| s == "ASIASECONDKEY0000002-secret"));
    for line in o.logs() {
        assert!(!line.contains("ASIASECONDKEY0000002-secret"), "{line}");
    }
}
