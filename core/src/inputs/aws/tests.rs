use super::*;
use crate::inputs::tests::*;

#[test]
fn region_from_aws_region_then_default_region() {
    assert_eq!(
        ok(&[], &[("AWS_DEFAULT_REGION", "eu-west-1")]).region,
        "us-west-2"
    );
    let s = ok(
        &[],
        &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "us-gov-west-1")],
    );
    assert_eq!(s.region, "us-gov-west-1");
    assert_eq!(s.endpoints.ecs, "https://ecs.us-gov-west-1.amazonaws.com");
    let s = ok(&[], &[("AWS_REGION", "cn-north-1")]);
    assert_eq!(s.endpoints.ec2, "https://ec2.cn-north-1.amazonaws.com.cn");
}

#[test]
fn region_problems() {
    let p = only(&[], &[("AWS_REGION", "")]);
    assert_eq!(p.input, "AWS_REGION");
    says(
        &p,
        &[
            "AWS_DEFAULT_REGION",
            "aws-actions/configure-aws-credentials",
            "aws-region",
        ],
    );
    for bad in ["us_west_2", "US-WEST-2", "uswest2", "us-west"] {
        let p = only(&[], &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", bad)]);
        assert_eq!(p.input, "AWS_DEFAULT_REGION");
        says(&p, &[&show(bad), "us-west-2"]);
    }
}

#[test]
fn credentials_are_required_and_never_shown() {
    // One key without the other names the missing one.
    let found = problems(
        &[],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", ""),
        ],
    );
    let inputs: Vec<&str> = found.iter().map(|p| p.input.as_str()).collect();
    assert_eq!(inputs, ["AWS_SECRET_ACCESS_KEY"]);
    says(&found[0], &["configure-aws-credentials"]);
    assert!(!found[0].to_string().contains("AKIDEXAMPLE"));
    // None anywhere, and IMDS switched off: what was tried.
    let found = problems(
        &[],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].to_string().split(':').next().unwrap(),
        "Environment variable 'AWS_ACCESS_KEY_ID'"
    );
    says(
        &found[0],
        &[
            "no AWS credentials found",
            "role-to-assume",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_EC2_METADATA_DISABLED=true",
        ],
    );
}

#[test]
fn the_credential_chain_follows_the_sdks_order() {
    use crate::settings::Source;
    let no_keys = [("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")];
    let with = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        no_keys
            .iter()
            .chain(extra.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    fn env(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
    assert_eq!(ok(&[], &[]).credential_source, Source::Environment);
    let oidc = [
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://token.actions.example/x?api-version=2.0",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req-token"),
    ];
    let s = ok(
        &[("role-to-assume", "arn:aws:iam::123456789012:role/launcher")],
        &oidc,
    );
    match s.credential_source {
        Source::GitHubOidc {
            role_arn,
            session_name,
            duration_s,
            audience,
            ..
        } => {
            assert_eq!(role_arn, "arn:aws:iam::123456789012:role/launcher");
            assert_eq!(
                (session_name.as_str(), duration_s, audience.as_str()),
                ("ecs-runner-9876543210", 3600, "sts.amazonaws.com")
            );
        }
        other => panic!("{other:?}"),
    }
    let p = only(
        &[("role-to-assume", "arn:aws:iam::123456789012:role/launcher")],
        &[],
    );
    assert_eq!(p.input, "role-to-assume");
    says(&p, &["permissions: id-token: write"]);
    let p = only(&[("role-to-assume", "launcher")], &oidc);
    says(&p, &["'launcher'", "role ARN"]);
    let p = only(
        &[
            ("role-to-assume", "arn:aws:iam::123456789012:role/x"),
            ("role-duration-seconds", "60"),
        ],
        &oidc,
    );
    says(&p, &["900 to 43200"]);
    let p = only(&[("audience", "x")], &[]);
    says(&p, &["only with `role-to-assume`"]);
    let e = with(&[
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod"),
        ("AWS_ROLE_SESSION_NAME", "pod-session"),
    ]);
    assert_eq!(
        ok(&[], &env(&e)).credential_source,
        Source::WebIdentityFile {
            role_arn: "arn:aws:iam::123456789012:role/pod".into(),
            session_name: "pod-session".into(),
            token_file: "/var/run/token".into()
        }
    );
    let e = with(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")]);
    assert_eq!(only(&[], &env(&e)).input, "AWS_ROLE_ARN");
    let e = with(&[(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "/v2/credentials/abc",
    )]);
    assert_eq!(
        ok(&[], &env(&e)).credential_source,
        Source::Container {
            url: "http://169.254.170.2/v2/credentials/abc".into(),
            token: None,
            token_file: None
        }
    );
    let e = with(&[
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:9911/creds",
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"),
    ]);
    assert_eq!(
        ok(&[], &env(&e)).credential_source,
        Source::Container {
            url: "http://127.0.0.1:9911/creds".into(),
            token: Some("tok".into()),
            token_file: None
        }
    );
    let e = with(&[(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://10.0.0.1/creds",
    )]);
    assert_eq!(
        only(&[], &env(&e)).input,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    );
    let e = with(&[(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "http://127.0.0.1:9922/",
    )]);
    assert_eq!(
        ok(&[], &env(&e)).credential_source,
        Source::Imds {
            endpoint: "http://127.0.0.1:9922".into()
        }
    );
    let e = with(&[]);
    assert_eq!(
        ok(&[], &env(&e)).credential_source,
        Source::Imds {
            endpoint: "http://169.254.169.254".into()
        }
    );
}

#[test]
fn endpoint_overrides() {
    let s = ok(&[], &[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/")]);
    assert_eq!(
        s.endpoints,
        Endpoints {
            ecs: "http://127.0.0.1:5000".into(),
            ec2: "http://127.0.0.1:5000".into(),
            logs: "http://127.0.0.1:5000".into(),
            sts: "http://127.0.0.1:5000".into()
        }
    );
    let s = ok(
        &[],
        &[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_ECS", "https://ecs.local//"),
        ],
    );
    assert_eq!(
        s.endpoints,
        Endpoints {
            ecs: "https://ecs.local".into(),
            ec2: "http://127.0.0.1:5000".into(),
            logs: "http://127.0.0.1:5000".into(),
            sts: "http://127.0.0.1:5000".into()
        }
    );
    let s = ok(&[], &[("AWS_ENDPOINT_URL_LOGS", "http://127.0.0.1:4999")]);
    assert_eq!(s.endpoints.logs, "http://127.0.0.1:4999");
    let s = ok(&[], &[("AWS_ENDPOINT_URL_EC2", "http://localhost:4566")]);
    assert_eq!(s.endpoints.ec2, "http://localhost:4566");
    assert_eq!(s.endpoints.ecs, "https://ecs.us-west-2.amazonaws.com");
    for (variable, bad) in [
        ("AWS_ENDPOINT_URL_ECS", "localhost:4566"),
        ("AWS_ENDPOINT_URL", "ftp://x"),
        ("GITHUB_API_URL", "https://"),
        ("GITHUB_SERVER_URL", "github.com"),
    ] {
        // Reported once even when the variable serves both services.
        let p = only(&[], &[(variable, bad)]);
        assert_eq!(p.input, variable);
        says(&p, &[&show(bad), "http://", "https://"]);
    }
}
