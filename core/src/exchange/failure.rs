//! A failed call, after its retries, in the user's words: what failed,
//! what AWS or GitHub said, and the likely fix. Every mode and the
//! credential sources say it through [`failure_message`]; nowhere else
//! turns a failed call into a sentence.
//!
//! May use: the wire formats' readings of an error answer
//! (`aws::error`, `github::says`), `settings` (what the call was about)
//! and the [`Call`] beside it.

use crate::aws::error::{self as aws_error, AwsError, THROTTLING_CODES, TRANSPORT_ERROR};
use crate::exchange::call::{Call, Service};
use crate::github;
use crate::protocol::HttpResponse;
use crate::settings::{Scope, Settings};

/// A failed call (after its retries) as one sentence: what failed, what
/// AWS or GitHub said, and the likely fix.
pub fn failure_message<T>(call: &Call<T>, resp: &HttpResponse, s: &Settings) -> String {
    match call.service {
        Service::GitHub => github_message_as(call.operation, &s.scope, resp, s.app.is_some()),
        Service::Ecs | Service::Ec2 | Service::Logs => aws_message(call, resp, s),
        Service::Plain => credentials_message(call.operation, &call.path, resp),
    }
}

fn aws_message<T>(call: &Call<T>, resp: &HttpResponse, s: &Settings) -> String {
    let service = call.service.name();
    // Name what the call was about, so "not found" says what was not found.
    let subject = match (call.service, call.operation) {
        (Service::Ecs, "DescribeTaskDefinition" | "DeregisterTaskDefinition") => {
            // The revision the call named (reap looks at several).
            let named = serde_json::from_str::<serde_json::Value>(&call.body)
                .ok()
                .and_then(|v| v.get("taskDefinition")?.as_str().map(String::from))
                .unwrap_or_else(|| s.task_definition.clone());
            format!(
                " (task definition '{}')",
                named.rsplit('/').next().unwrap_or(&named)
            )
        }
        (Service::Ecs, _) => format!(" (cluster '{}')", s.cluster),
        _ => String::new(),
    };
    let what = format!("{} {}{subject}", service.to_uppercase(), call.operation);
    if resp.status == 0 {
        return format!(
            "{what} failed: {} (is the endpoint {} reachable?)",
            resp.error.as_deref().unwrap_or("no answer"),
            match call.service {
                Service::Ecs => &s.endpoints.ecs,
                Service::Logs => &s.endpoints.logs,
                _ => &s.endpoints.ec2,
            }
        );
    }
    let err = aws_error::parse(resp);
    let mut m = format!(
        "{what} failed: {}: {}",
        err.code,
        err.message.trim_end_matches('.')
    );
    if let Some(a) = advice(service, call.operation, &err) {
        m.push_str(&format!(". Likely fix: {a}"));
    }
    m
}

/// A sentence naming the likely fix for `err`, returned by `operation` of
/// `service` (the SigV4 / IAM service prefix: `ecs`, `ec2`), or `None` when
/// there is nothing better to say than the error itself.
pub fn advice(service: &str, operation: &str, err: &AwsError) -> Option<String> {
    let message = err.message.to_ascii_lowercase();
    let mentions = |words: &[&str]| words.iter().any(|w| message.contains(w));
    let text = match err.code.as_str() {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            access_denied(service, operation, &err.message)
        }
        // aws-sigv4 and AWS both call a too-old signature "Signature expired"
        // (an InvalidSignatureException), which is the clock, not the keys.
        _ if mentions(&["signature expired"]) => CLOCK.into(),
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidAccessKeyId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "IncompleteSignatureException"
        | "MissingAuthenticationToken"
        | "MissingAuthenticationTokenException"
        | "AuthFailure" => "AWS did not accept the credentials: check that \
             aws-actions/configure-aws-credentials ran earlier in this job (or that \
             AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN belong \
             together), that AWS_REGION is a region the credentials are valid in, \
             and that the runner's clock is right."
            .into(),
        "ExpiredToken" | "ExpiredTokenException" => "The session credentials have \
             expired: run aws-actions/configure-aws-credentials again shortly before \
             this step, or give it a longer `role-duration-seconds` (the default is \
             one hour)."
            .into(),
        "RequestExpired" | "RequestTimeTooSkewed" => CLOCK.into(),
        "ClusterNotFoundException" => "The ECS cluster does not exist in this \
             account and region: check the `cluster` input (a name or ARN; the \
             default is `default`) and AWS_REGION."
            .into(),
        "ClientException" if mentions(&["task definition", "taskdefinition"]) => {
            "Check the `task-definition` input: it must name a task definition \
             (family, family:revision or ARN) registered in this account and region."
                .into()
        }
        "InvalidParameterException" if mentions(&["network configuration", "awsvpc"]) => {
            "The task definition uses the awsvpc network mode, which needs subnets: \
             set `subnets` or `subnets-tag` (and `security-groups` or \
             `security-groups-tag`)."
                .into()
        }
        "InvalidParameterException" if mentions(&["subnet"]) => "Check the `subnets` \
             / `subnets-tag` input: the subnets must exist in this region and be in \
             one VPC."
            .into(),
        "InvalidParameterException" if mentions(&["security group", "securitygroup"]) => {
            "Check the `security-groups` / `security-groups-tag` input: the groups \
             must be ids (sg-...) in the subnets' VPC."
                .into()
        }
        "InvalidParameterException" if mentions(&["launch type", "capacity provider"]) => {
            "Check `launch-type` / `capacity-provider-strategy` against the \
             task definition's compatibilities and the cluster's capacity providers."
                .into()
        }
        "InvalidSubnetID.NotFound" | "InvalidSubnetID.Malformed" | "InvalidSubnet" => {
            "A subnet does not exist in this region: check the `subnets` input and \
             AWS_REGION."
                .into()
        }
        "InvalidGroup.NotFound"
        | "InvalidGroupId.Malformed"
        | "InvalidSecurityGroupID.NotFound" => {
            "A security group does not exist in this region: check the \
             `security-groups` input (ids, sg-...) and AWS_REGION."
                .into()
        }
        "PlatformUnknownException" | "PlatformTaskDefinitionIncompatibilityException" => {
            "Check the `platform-version` input: it must be a Fargate platform \
             version (e.g. LATEST, 1.4.0) that supports this task definition."
                .into()
        }
        "ConflictException" => "ECS already started tasks with this clientToken but \
             different parameters: the inputs changed within one run attempt; re-run \
             the job."
            .into(),
        "UnknownOperationException" | "InvalidAction" => format!(
            "The endpoint does not know {operation}: check that \
             AWS_ENDPOINT_URL{} points to the {service} service, if set.",
            endpoint_suffix(service)
        ),
        "OptInRequired" => "The account is not subscribed to this service in this \
             region, or the region is not enabled: check AWS_REGION."
            .into(),
        code if code == TRANSPORT_ERROR => format!(
            "Could not reach the {service} endpoint: check the runner's network access \
             to AWS (proxy, VPC endpoints) and AWS_ENDPOINT_URL{} if set.",
            endpoint_suffix(service)
        ),
        code if THROTTLING_CODES.contains(&code) => {
            "AWS kept throttling the calls (a rate limit of the account and region): \
             start fewer runners at once or try again later."
                .into()
        }
        _ => return None,
    };
    Some(text)
}

const CLOCK: &str = "AWS refused the request's time stamp: the runner's clock is more \
     than 5 minutes off; fix its time (NTP).";

/// `_ECS` for `ecs`: the per-service endpoint variable (AWS SDKs and CLI,
/// "Service-specific endpoints").
fn endpoint_suffix(service: &str) -> String {
    format!("_{}", service.to_ascii_uppercase())
}

/// AWS names the missing permission in the message: "User: arn:... is not
/// authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/x
/// because ...". Prefer it to our guess (a RunTask can fail on
/// `iam:PassRole`, not `ecs:RunTask`).
fn access_denied(service: &str, operation: &str, message: &str) -> String {
    let named = |after: &str| {
        message.find(after).map(|i| {
            message[i + after.len()..]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_end_matches(['.', ','])
                .to_string()
        })
    };
    let action = named("not authorized to perform: ")
        .filter(|a| a.contains(':'))
        .unwrap_or_else(|| format!("{service}:{operation}"));
    let mut text =
        format!("The credentials are not allowed to call {operation}: the role needs `{action}`");
    if let Some(resource) = named(" on resource: ").filter(|r| !r.is_empty()) {
        text.push_str(&format!(" on `{resource}`"));
    }
    if action == "ecs:RunTask" {
        text.push_str(
            ", and `iam:PassRole` on the task definition's task role and task execution role",
        );
    }
    if action == "iam:PassRole" && operation == "RegisterTaskDefinition" {
        text.push_str(
            " (the roles of `execution-role` and `task-role`: the launching role must be \
             allowed to pass each to ECS)",
        );
    }
    text.push('.');
    if message.contains("Encoded authorization failure message") {
        text.push_str(" `aws sts decode-authorization-message` explains the encoded message.");
    }
    text
}

/// A message for a failed GitHub call: what failed, what GitHub said, and
/// the likely fix.
pub fn github_message(operation: &str, scope: &Scope, resp: &HttpResponse) -> String {
    github_message_as(operation, scope, resp, false)
}

/// [`github_message`]; `app`: the token is a GitHub App's installation
/// token, so a missing permission is the App's.
pub fn github_message_as(operation: &str, scope: &Scope, resp: &HttpResponse, app: bool) -> String {
    if resp.status == 0 {
        return format!(
            "GitHub {operation} failed: {} (is GITHUB_API_URL right and reachable?)",
            resp.error.as_deref().unwrap_or("no answer")
        );
    }
    let said = github::says(&resp.body);
    let where_ = match scope {
        Scope::Repo { .. } => format!("repository {}", scope.display()),
        Scope::Org { .. } => format!("organization {}", scope.display()),
    };
    let permission = match scope {
        Scope::Repo { .. } => "a fine-grained token with \"Administration: write\" on the repository (classic token: repo scope)",
        Scope::Org { .. } => "a fine-grained token with \"Self-hosted runners: write\" on the organization (classic token: admin:org scope)",
    };
    let advice = match resp.status {
        401 => "the token is invalid, expired or revoked: renew the secret passed as `token`".to_string(),
        403 if resp.header("x-ratelimit-remaining") == Some("0") => {
            "the token's API rate limit is used up: wait for it to reset, or use a GitHub App token".to_string()
        }
        403 if app => {
            let needed = match scope {
                Scope::Repo { .. } => "the repository permission \"Administration: write\"",
                Scope::Org { .. } => "the organization permission \"Self-hosted runners: write\"",
            };
            format!("the GitHub App may not manage runners of {where_}: give it {needed} (App settings → Permissions) and accept the new permissions on its installation")
        }
        403 => format!("the token may not manage runners of {where_}: it needs {permission}, or a GitHub App installation token with that permission (the workflow's own GITHUB_TOKEN cannot)"),
        404 => format!("{where_} was not found, or the token cannot see it (GitHub answers 404 for what a token may not read): check `context` and that the token has {permission}"),
        409 => "a runner with this name already exists; ecs-runner names are unique per run, so an earlier attempt may still be registering".to_string(),
        422 => "GitHub rejected the request: check `runner-group` (an existing runner group id the repository may use) and `labels`".to_string(),
        s if s >= 500 => "GitHub had a server error; re-run the job".to_string(),
        _ => String::new(),
    };
    let mut m = format!(
        "GitHub {operation} for {where_} failed with HTTP {}",
        resp.status
    );
    if !said.is_empty() {
        m.push_str(&format!(": {said}"));
    }
    if !advice.is_empty() {
        m.push_str(&format!(". Likely fix: {advice}"));
    }
    m
}

/// A failed credential call in one sentence.
pub fn credentials_message(operation: &str, url: &str, resp: &HttpResponse) -> String {
    // The URL without its query (a request URL may carry a token).
    let shown = url.split('?').next().unwrap_or(url);
    if resp.status == 0 {
        return format!(
            "{operation} ({shown}) got no answer: {}",
            resp.error.as_deref().unwrap_or("no answer")
        );
    }
    let err = aws_error::parse(resp);
    // A body without an error code gets code `HTTP{status}`: said once.
    let code = if err.code.starts_with("HTTP") {
        String::new()
    } else {
        format!("{}: ", err.code)
    };
    format!(
        "{operation} ({shown}) failed with HTTP {}: {code}{}",
        resp.status,
        err.message.trim_end_matches('.')
    )
}

/// The shell could not sign the App's JWT with `app-private-key`.
pub fn app_sign_message(resp: &HttpResponse) -> String {
    format!(
        "Input 'app-private-key': the key (not shown) could not sign the GitHub App's JWT: {}. Pass the App's private key as the PEM file GitHub gave (PKCS#1 'BEGIN RSA PRIVATE KEY' or PKCS#8 'BEGIN PRIVATE KEY').",
        resp.error.as_deref().unwrap_or("no signature")
    )
}

/// The App's installation on `scope` could not be found.
pub fn app_installation_message(app_id: &str, scope: &Scope, resp: &HttpResponse) -> String {
    let permission = match scope {
        Scope::Repo { .. } => "the repository permission \"Administration: write\"",
        Scope::Org { .. } => "the organization permission \"Self-hosted runners: write\"",
    };
    match resp.status {
        401 => format!(
            "GitHub refused the App's JWT (HTTP 401: {}): check `app-id` ({}) and that `app-private-key` is a current private key of that App, and the runner's clock",
            github::app::said(&resp.body),
            app_id
        ),
        404 => format!(
            "The GitHub App {} is not installed on {}: install it there (Settings → GitHub Apps), with {permission}",
            app_id,
            scope.display()
        ),
        _ => format!(
            "GitHub could not find the App {}'s installation on {} (HTTP {}: {})",
            app_id,
            scope.display(),
            resp.status,
            github::app::said(&resp.body)
        ),
    }
}

/// GitHub gave the App no installation token.
pub fn app_token_message(app_id: &str, resp: &HttpResponse) -> String {
    format!(
        "GitHub did not give the App {} an installation token (HTTP {}): {}",
        app_id,
        resp.status,
        github::app::said(&resp.body)
    )
}

/// The installation token could not be revoked.
pub fn app_revoke_message(resp: &HttpResponse) -> String {
    format!(
        "could not revoke the installation token (HTTP {}); it expires within the hour",
        resp.status
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::aws::error::tests::err;

    #[test]
    fn advice_access_denied_names_the_action() {
        let a = advice("ecs", "RunTask", &err("AccessDeniedException", "", 400)).unwrap();
        assert_eq!(
            a,
            "The credentials are not allowed to call RunTask: the role needs \
             `ecs:RunTask`, and `iam:PassRole` on the task definition's task role and \
             task execution role."
        );
        let a = advice("ecs", "DescribeTasks", &err("AccessDenied", "", 403)).unwrap();
        assert_eq!(
            a,
            "The credentials are not allowed to call DescribeTasks: the role needs \
             `ecs:DescribeTasks`."
        );
    }

    #[test]
    fn advice_access_denied_prefers_the_action_aws_names() {
        // The message IAM puts in an AccessDeniedException.
        let e = err(
            "AccessDeniedException",
            "User: arn:aws:sts::111122223333:assumed-role/gha/run is not authorized to \
             perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/ecsTaskExecutionRole \
             because no identity-based policy allows the iam:PassRole action",
            400,
        );
        assert_eq!(
            advice("ecs", "RunTask", &e).unwrap(),
            "The credentials are not allowed to call RunTask: the role needs \
             `iam:PassRole` on `arn:aws:iam::111122223333:role/ecsTaskExecutionRole`."
        );
    }

    #[test]
    fn advice_ec2_unauthorized_operation() {
        let e = err(
            "UnauthorizedOperation",
            "You are not authorized to perform this operation. Encoded authorization \
             failure message: AbC123",
            403,
        );
        let a = advice("ec2", "DescribeSubnets", &e).unwrap();
        assert!(a.contains("`ec2:DescribeSubnets`"), "{a}");
        assert!(a.contains("aws sts decode-authorization-message"), "{a}");
    }

    #[test]
    fn advice_bad_credentials() {
        for code in [
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
            "AuthFailure",
        ] {
            let a = advice("ecs", "RunTask", &err(code, "", 400)).unwrap();
            assert!(
                a.contains("aws-actions/configure-aws-credentials"),
                "{code}"
            );
            assert!(a.contains("AWS_REGION"), "{code}");
            assert!(a.contains("clock"), "{code}");
        }
    }

    #[test]
    fn advice_expired_token() {
        for code in ["ExpiredToken", "ExpiredTokenException"] {
            let a = advice("ecs", "StopTask", &err(code, "", 400)).unwrap();
            assert!(a.contains("expired"), "{a}");
            assert!(a.contains("role-duration-seconds"), "{a}");
        }
    }

    #[test]
    fn advice_clock() {
        let a = advice("ec2", "DescribeSubnets", &err("RequestExpired", "", 400)).unwrap();
        assert!(a.contains("clock"), "{a}");
        // An expired signature is the clock, not the keys.
        let e = err(
            "InvalidSignatureException",
            "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z",
            400,
        );
        assert_eq!(advice("ecs", "RunTask", &e).unwrap(), CLOCK);
    }

    #[test]
    fn advice_cluster_not_found() {
        let a = advice(
            "ecs",
            "RunTask",
            &err("ClusterNotFoundException", "Cluster not found.", 400),
        )
        .unwrap();
        assert!(a.contains("`cluster`") && a.contains("AWS_REGION"), "{a}");
    }

    #[test]
    fn advice_task_definition() {
        let e = err(
            "ClientException",
            "Unable to describe task definition.",
            400,
        );
        assert!(advice("ecs", "RunTask", &e)
            .unwrap()
            .contains("`task-definition`"));
        let e = err("ClientException", "TaskDefinition is inactive", 400);
        assert!(advice("ecs", "RunTask", &e)
            .unwrap()
            .contains("`task-definition`"));
        // Other ClientExceptions: nothing better to say.
        let e = err("ClientException", "Tags can not be empty.", 400);
        assert_eq!(advice("ecs", "RunTask", &e), None);
    }

    #[test]
    fn advice_network_inputs() {
        let e = err(
            "InvalidParameterException",
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            400,
        );
        assert!(advice("ecs", "RunTask", &e).unwrap().contains("`subnets`"));
        let e = err(
            "InvalidSubnetID.NotFound",
            "The subnet ID 'subnet-1' does not exist",
            400,
        );
        assert!(advice("ecs", "RunTask", &e).unwrap().contains("`subnets`"));
        let e = err(
            "InvalidGroup.NotFound",
            "The security group 'sg-1' does not exist",
            400,
        );
        assert!(advice("ecs", "RunTask", &e)
            .unwrap()
            .contains("`security-groups`"));
        let e = err(
            "InvalidParameterException",
            "Security group sg-1 is invalid",
            400,
        );
        assert!(advice("ecs", "RunTask", &e)
            .unwrap()
            .contains("`security-groups`"));
    }

    #[test]
    fn advice_platform_and_endpoint_and_transport() {
        let e = err("PlatformUnknownException", "", 400);
        assert!(advice("ecs", "RunTask", &e)
            .unwrap()
            .contains("`platform-version`"));
        let e = err("UnknownOperationException", "", 400);
        assert!(advice("ecs", "RunTask", &e)
            .unwrap()
            .contains("AWS_ENDPOINT_URL_ECS"));
        let e = err(TRANSPORT_ERROR, "getaddrinfo ENOTFOUND", 0);
        let a = advice("ec2", "DescribeSubnets", &e).unwrap();
        assert!(
            a.contains("ec2 endpoint") && a.contains("AWS_ENDPOINT_URL_EC2"),
            "{a}"
        );
    }

    #[test]
    fn advice_throttling() {
        for code in ["ThrottlingException", "RequestLimitExceeded", "Throttling"] {
            let a = advice("ecs", "DescribeTasks", &err(code, "", 400)).unwrap();
            assert!(a.contains("throttling"), "{code}");
        }
    }

    #[test]
    fn no_advice_for_the_unknown() {
        assert_eq!(advice("ecs", "RunTask", &err("HTTP500", "", 500)), None);
        assert_eq!(
            advice("ecs", "RunTask", &err("ServerException", "", 500)),
            None
        );
    }
}
