//! A GitHub App instead of a token: the JWT the shell signs, the
//! installation, its token used for every GitHub call, revoked at the end.

mod support;

use ecs_runner_core::protocol::Config;
use ecs_runner_core::Machine;
use serde_json::{json, Value};
use support::*;

const KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeymaterialline1xx\nsecretkeymaterialline2yyyyyyyyyyyy\n-----END RSA PRIVATE KEY-----\n";
const SIGN: &str = "http:POST ecs-runner:sign-rs256";
const INSTALLATION: &str = "github:GET /repos/octo/app/installation";
const ACCESS_TOKEN: &str = "github:POST /app/installations/77/access_tokens";
const REVOKE: &str = "github:DELETE /installation/token";
const APP_TOKEN: &str = "ghs_installationtoken0123456789";

fn config(inputs: &[(&str, &str)]) -> Config {
    let app: Vec<(&str, &str)> = [("app-id", "123456"), ("app-private-key", KEY)]
        .into_iter()
        .chain(inputs.iter().copied())
        .collect();
    machine_config(
        &app,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ],
    )
}

fn app_world() -> World {
    let mut w = World::default();
    w.queue(SIGN, Reply(200, "c2lnbmF0dXJl".into()));
    w.queue(
        INSTALLATION,
        Reply(200, json!({"id": 77, "app_id": 123456}).to_string()),
    );
    w.queue(
        ACCESS_TOKEN,
        Reply(
            201,
            json!({"token": APP_TOKEN, "expires_at": "2026-12-01T10:00:00Z"}).to_string(),
        ),
    );
    w.queue(REVOKE, Reply(204, String::new()));
    w
}

#[test]
fn the_app_signs_a_jwt_finds_its_installation_and_its_token_is_used_and_revoked() {
    let mut w = app_world();
    let o = drive(&mut Machine::new(config(&[])), &mut w);
    assert!(o.done(), "{:?}", o.last);
    assert_eq!(w.ops()[..3], [SIGN, INSTALLATION, ACCESS_TOKEN]);
    // The shell signs header.claims with the key.
    let sign: Value = json_body(w.first(SIGN));
    assert_eq!(
        sign["key"],
        KEY.trim(),
        "the input as core.getInput gives it"
    );
    let data = sign["data"].as_str().unwrap();
    assert!(
        data.starts_with("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."),
        "{data}"
    );
    let jwt = format!("{data}.c2lnbmF0dXJl");
    assert_eq!(
        w.first(INSTALLATION).headers["authorization"],
        format!("Bearer {jwt}")
    );
    assert_eq!(
        w.first(ACCESS_TOKEN).headers["authorization"],
        format!("Bearer {jwt}")
    );
    // Every GitHub call of the start uses the installation token.
    let jit = w.first("github:POST /repos/octo/app/actions/runners/generate-jitconfig");
    assert_eq!(jit.headers["authorization"], format!("Bearer {APP_TOKEN}"));
    // Revoked last, after everything else.
    assert_eq!(w.ops().last().unwrap(), REVOKE);
    assert_eq!(
        w.first(REVOKE).headers["authorization"],
        format!("Bearer {APP_TOKEN}")
    );
    // Secrets: the key's lines, the JWT and the token are masked, never shown.
    let secrets = o.secrets();
    for s in [
        KEY,
        "secretkeymaterialline2yyyyyyyyyyyy",
        APP_TOKEN,
        jwt.as_str(),
    ] {
        let s = s.trim();
        assert!(secrets.iter().any(|x| x == s), "{s} not masked");
    }
    for line in o.logs() {
        assert!(
            !line.contains("secretkeymaterial") && !line.contains(APP_TOKEN),
            "{line}"
        );
    }
    assert!(o
        .visible_logs()
        .join("\n")
        .contains("GitHub App 123456 is installed on octo/app (installation 77)"));
    assert_eq!(o.outputs()["runner_id"], "gh-987654-1-0123abcd");
}

#[test]
fn a_missing_installation_names_what_to_install_with_which_permission() {
    let mut w = World::default();
    w.queue(SIGN, Reply(200, "sig".into()));
    w.queue(
        INSTALLATION,
        Reply(404, json!({"message": "Not Found"}).to_string()),
    );
    let o = drive(&mut Machine::new(config(&[])), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("not installed on octo/app") && msg.contains("Administration: write"),
        "{msg}"
    );
    assert_eq!(w.ops(), [SIGN, INSTALLATION], "nothing else was sent");
}

#[test]
fn a_key_the_shell_cannot_sign_with_is_an_input_error_without_the_key() {
    let mut w = World::default();
    w.queue(SIGN, Reply::network());
    let o = drive(&mut Machine::new(config(&[])), &mut w);
    let msg = o.failure();
    assert!(
        msg.contains("Input 'app-private-key'") && !msg.contains("secretkeymaterial"),
        "{msg}"
    );
}

#[test]
fn a_failed_start_still_revokes_the_token_and_says_why_it_failed() {
    let mut w = app_world();
    w.queue(
        "ecs:RunTask",
        Reply::aws_error(400, "InvalidParameterException", "bad"),
    );
    let o = drive(&mut Machine::new(config(&[])), &mut w);
    assert!(
        o.failure().contains("InvalidParameterException"),
        "{}",
        o.failure()
    );
    assert_eq!(w.count(REVOKE), 1);
    assert_eq!(w.ops().last().unwrap(), REVOKE);
}

#[test]
fn app_inputs_are_checked() {
    for (inputs, input, says) in [
        (vec![("app-id", "abc")], "app-id", "numeric id"),
        (
            vec![("app-private-key", "not a pem")],
            "app-private-key",
            "PEM",
        ),
        (
            vec![("app-private-key", "")],
            "app-private-key",
            "needed with `app-id`",
        ),
        (vec![("token", TOKEN)], "token", "both given"),
    ] {
        let o = drive(&mut Machine::new(config(&inputs)), &mut World::default());
        let msg = o.failure();
        assert!(
            msg.contains(&format!("Input '{input}'")) && msg.contains(says),
            "{msg}"
        );
        assert!(
            !msg.contains("secretkeymaterial") && !msg.contains("not a pem"),
            "{msg}"
        );
    }
}
