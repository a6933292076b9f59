//! A failed AWS answer, as data: its error code, message and status, and
//! the codes that say trying again can help. What it means to the user is
//! `exchange/failure.rs`'s to say.
//!
//! The formats read (the caller has already decided the answer is a failure):
//! - JSON 1.0/1.1 (ECS): `{"__type": "ns#Code", "message": "..."}`, the code
//!   possibly also (or only) in the `x-amzn-errortype` header. As the Smithy
//!   AWS JSON protocols specify, the header wins, then `code`, then `__type`,
//!   and a code is cut at the first `:` (a trailing URL) and after the `#`
//!   (a namespace).
//! - EC2 Query: `<Response><Errors><Error><Code/><Message/></Error></Errors>
//!   <RequestID/></Response>` (EC2 API reference, "Error codes").
//! - AWS Query (STS, IAM):
//!   `<ErrorResponse><Error><Type/><Code/><Message/></Error></ErrorResponse>`;
//!   moto answers signature and IAM failures of every service (ECS included)
//!   as `<ErrorResponse><Errors><Error>...` with a 401/403 and no
//!   `x-amzn-errortype`; and the bare `<Error><Code/><Message/></Error>` of
//!   REST-XML services.
//! - Anything else (an empty body, an HTML page from a proxy or from moto's
//!   500s): code `HTTP{status}`, the start of the body as message.
//! - No answer at all (status 0, the shell's transport error): code
//!   [`TRANSPORT_ERROR`].

use std::fmt;

use serde::Serialize;

use crate::aws::ec2::xml;
use crate::protocol::HttpResponse;

/// The code of an [`AwsError`] for a request that got no HTTP answer.
pub const TRANSPORT_ERROR: &str = "TransportError";

/// Error codes that mean "too many requests": retry later. From the AWS SDKs'
/// standard retry mode (the throttling codes of smithy-rs `aws-runtime`
/// `retries::classifiers`, botocore's `retryhandler`), without
/// `LimitExceededException`, which for ECS is a quota, not a rate.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "EC2ThrottledException",
    "BandwidthLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// Error codes that mean "broken for a moment": the SDKs' transient codes
/// plus the 5xx-class codes of ECS (`ServerException`, ECS API reference,
/// "Common Errors") and EC2 (`InternalError`, `Unavailable`, EC2 API
/// reference, "Error codes").
///
/// Not retryable although it sounds so: `RequestExpired` /
/// `RequestTimeTooSkewed` (the clock is wrong, and the next request is signed
/// with the same clock).
pub const TRANSIENT_CODES: &[&str] = &[
    "ServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// How much of an unrecognised body goes into the message.
const BODY_EXCERPT_CHARS: usize = 300;

/// A failed AWS answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsError {
    /// The AWS error code without namespace, e.g. `ClusterNotFoundException`,
    /// `InvalidSubnetID.NotFound`; `HTTP{status}` when the answer names none;
    /// [`TRANSPORT_ERROR`] when there was no answer.
    pub code: String,
    /// AWS's message, or the transport error, or the start of the body;
    /// possibly empty.
    pub message: String,
    /// The HTTP status; 0 when there was no answer.
    pub status: u16,
}

impl fmt::Display for AwsError {
    /// `ClusterNotFoundException: Cluster not found. (HTTP 400)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if self.status != 0 {
            write!(f, " (HTTP {})", self.status)?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

/// Reads the error out of a failed answer. Never fails: what cannot be read
/// becomes `HTTP{status}` with the start of the body.
pub fn parse(resp: &HttpResponse) -> AwsError {
    if resp.status == 0 {
        return AwsError {
            code: TRANSPORT_ERROR.into(),
            message: resp.error.clone().unwrap_or_else(|| "no answer".into()),
            status: 0,
        };
    }
    let body = resp.body.trim();
    let (code, message) = if body.starts_with('{') {
        from_json(body)
    } else if body.starts_with('<') {
        from_xml(body)
    } else {
        (None, None)
    };
    let code = resp
        .header("x-amzn-errortype")
        .map(sanitize_code)
        .filter(|c| !c.is_empty())
        .or(code)
        .unwrap_or_else(|| format!("HTTP{}", resp.status));
    let message = message.unwrap_or_else(|| excerpt(body));
    AwsError {
        code,
        message,
        status: resp.status,
    }
}

fn from_json(body: &str) -> (Option<String>, Option<String>) {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) else {
        return (None, None);
    };
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| map.get(*k).and_then(|v| v.as_str()))
            .map(str::to_string)
    };
    let code = text(&["code", "Code", "__type"])
        .map(|c| sanitize_code(&c))
        .filter(|c| !c.is_empty());
    let message = text(&["message", "Message", "errorMessage"]);
    (code, message)
}

fn from_xml(body: &str) -> (Option<String>, Option<String>) {
    let Ok(root) = xml::parse(body) else {
        return (None, None);
    };
    // EC2 wraps the error in `Errors`, AWS Query does not, moto's auth
    // failures do both: `<ErrorResponse><Errors><Error>` (moto 5.2,
    // `moto/iam/access_control.py` errors, checked against moto_server).
    let error = match root.name.as_str() {
        "Response" | "ErrorResponse" => root
            .find(&["Errors", "Error"])
            .or_else(|| root.child("Error")),
        "Error" => Some(&root),
        _ => None,
    };
    let Some(error) = error else {
        return (None, None);
    };
    (
        error.child_text("Code").map(str::to_string),
        error.child_text("Message").map(str::to_string),
    )
}

/// `aws.ecs#ClusterNotFoundException:http://internal...` ->
/// `ClusterNotFoundException`. A header repeated and joined with `,` keeps
/// its first value.
fn sanitize_code(raw: &str) -> String {
    let code = raw.split([':', ',']).next().unwrap_or("");
    let code = code.rsplit('#').next().unwrap_or(code);
    code.trim().to_string()
}

/// The body with whitespace runs collapsed, cut to [`BODY_EXCERPT_CHARS`].
fn excerpt(body: &str) -> String {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(BODY_EXCERPT_CHARS) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::exchange::failure::advice;
    use crate::exchange::retry::{verdict, Verdict};
    use crate::exchange::Service;

    /// What the exchange would retry (retry.rs classifies AWS answers).
    fn retryable(r: &HttpResponse) -> bool {
        verdict(Service::Ecs, r, 0) != Verdict::Final
    }

    use std::collections::BTreeMap;

    use super::*;

    /// An answer for tests (retry's and failure's tests use it too).
    pub(crate) fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            id: 7,
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            body: body.into(),
            error: None,
        }
    }

    pub(crate) fn err(code: &str, message: &str, status: u16) -> AwsError {
        AwsError {
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    #[test]
    fn json_with_namespace_prefix() {
        // ECS as documented: `__type` may carry a `namespace#`.
        let r = resp(
            400,
            &[("Content-Type", "application/x-amz-json-1.1")],
            r#"{"__type":"com.amazonaws.ecs#ClusterNotFoundException","message":"Cluster not found."}"#,
        );
        assert_eq!(
            parse(&r),
            err("ClusterNotFoundException", "Cluster not found.", 400)
        );
        assert!(!retryable(&r));
    }

    #[test]
    fn json_with_url_suffix_and_capital_message() {
        // Coral services append `:url`; moto's EC2-backed errors inside ECS
        // calls carry only `Message`.
        let r = resp(
            400,
            &[],
            r#"{"__type":"InvalidSubnetID.NotFound:http://internal.amazon.com/coral/com.amazon.coral.validate/","Message":"The subnet ID 'subnet-bogus' does not exist"}"#,
        );
        assert_eq!(
            parse(&r),
            err(
                "InvalidSubnetID.NotFound",
                "The subnet ID 'subnet-bogus' does not exist",
                400
            )
        );
    }

    #[test]
    fn errortype_header_wins_and_works_alone() {
        // Smithy awsJson: the header is read first; any-case name.
        let r = resp(
            400,
            &[("X-Amzn-ErrorType", "ThrottlingException:http://internal/")],
            r#"{"__type":"SomethingElse","message":"Rate exceeded"}"#,
        );
        assert_eq!(parse(&r), err("ThrottlingException", "Rate exceeded", 400));
        assert!(retryable(&r));

        let r = resp(403, &[("x-amzn-errortype", "AccessDeniedException")], "");
        assert_eq!(parse(&r), err("AccessDeniedException", "", 403));
    }

    #[test]
    fn json_code_field() {
        let r = resp(
            400,
            &[],
            r#"{"code":"aws#ValidationException","errorMessage":"bad"}"#,
        );
        assert_eq!(parse(&r), err("ValidationException", "bad", 400));
    }

    #[test]
    fn ec2_xml() {
        // EC2 API reference, "Error codes": the error response structure.
        let r = resp(
            400,
            &[("Content-Type", "text/xml;charset=UTF-8")],
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidSubnetID.NotFound</Code><Message>The subnet ID &apos;subnet-1&apos; does not exist</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"#,
        );
        assert_eq!(
            parse(&r),
            err(
                "InvalidSubnetID.NotFound",
                "The subnet ID 'subnet-1' does not exist",
                400
            )
        );
    }

    #[test]
    fn ec2_throttling_is_retryable_by_code() {
        let r = resp(
            503,
            &[],
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
             <Message>Request limit exceeded.</Message></Error></Errors></Response>",
        );
        assert_eq!(parse(&r).code, "RequestLimitExceeded");
        assert!(retryable(&r));
        // Also when a proxy turned it into a 400.
        let r = HttpResponse { status: 400, ..r };
        assert!(retryable(&r));
    }

    #[test]
    fn query_error_response_xml() {
        // STS/IAM (AWS Query protocol), also what moto sends for some ECS
        // auth failures.
        let r = resp(
            403,
            &[],
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>InvalidClientTokenId</Code>
    <Message>The security token included in the request is invalid.</Message>
  </Error>
  <RequestId>a1b2c3</RequestId>
</ErrorResponse>"#,
        );
        assert_eq!(
            parse(&r),
            err(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                403
            )
        );
        assert!(!retryable(&r));
    }

    #[test]
    fn moto_auth_failure_xml() {
        // Exactly what moto_server 5.2 answered to a signed ECS RunTask its
        // IAM policy does not allow (Content-Type text/html, no errortype).
        let r = resp(
            403,
            &[("Content-Type", "text/html; charset=utf-8")],
            r#"<?xml version="1.0" encoding="utf-8"?>
<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:RunTask</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"#,
        );
        let e = parse(&r);
        assert_eq!(
            e,
            err(
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:RunTask",
                403
            )
        );
        assert!(advice("ecs", "RunTask", &e)
            .unwrap()
            .contains("`ecs:RunTask`, and `iam:PassRole`"));
    }

    #[test]
    fn bare_error_xml() {
        let r = resp(
            403,
            &[],
            "<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>",
        );
        assert_eq!(parse(&r), err("SignatureDoesNotMatch", "no", 403));
    }

    #[test]
    fn empty_or_unknown_bodies() {
        assert_eq!(parse(&resp(404, &[], "")), err("HTTP404", "", 404));
        assert_eq!(parse(&resp(400, &[], "{}")), err("HTTP400", "{}", 400));
        assert_eq!(
            parse(&resp(400, &[], "<html><body>Bad</body></html>")),
            err("HTTP400", "<html><body>Bad</body></html>", 400)
        );
        // moto's 500 page is HTML that is not XML.
        let html = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n";
        let r = resp(500, &[], html);
        assert_eq!(
            parse(&r),
            err(
                "HTTP500",
                "<!doctype html> <html lang=en> <title>500 Internal Server Error</title>",
                500
            )
        );
        assert!(retryable(&r));
        // A long body is cut.
        let long = "x".repeat(1000);
        let message = parse(&resp(502, &[], &long)).message;
        assert_eq!(message.len(), BODY_EXCERPT_CHARS + 3);
        assert!(message.ends_with("..."));
    }

    #[test]
    fn transport_error() {
        let r = HttpResponse {
            error: Some("connect ECONNREFUSED 127.0.0.1:5000".into()),
            ..resp(0, &[], "")
        };
        let e = parse(&r);
        assert_eq!(
            e,
            err(TRANSPORT_ERROR, "connect ECONNREFUSED 127.0.0.1:5000", 0)
        );
        assert_eq!(
            e.to_string(),
            "TransportError: connect ECONNREFUSED 127.0.0.1:5000"
        );
        assert!(retryable(&r));
    }

    #[test]
    fn retryable_statuses() {
        for (status, retry) in [
            (400, false),
            (403, false),
            (404, false),
            (429, true),
            (500, true),
            (501, false),
            (502, true),
            (503, true),
            (504, true),
        ] {
            assert_eq!(retryable(&resp(status, &[], "")), retry, "{status}");
        }
    }

    #[test]
    fn retryable_codes_and_not() {
        let json = |code: &str| resp(400, &[], &format!(r#"{{"__type":"{code}"}}"#));
        for code in [
            "ThrottlingException",
            "Throttling",
            "RequestLimitExceeded",
            "TooManyRequestsException",
            "ServerException",
            "ServiceUnavailable",
            "InternalError",
            "InternalFailure",
            "RequestTimeout",
        ] {
            assert!(retryable(&json(code)), "{code}");
        }
        for code in [
            "RequestExpired",
            "ClientException",
            "InvalidParameterException",
            "AccessDeniedException",
            "ExpiredTokenException",
            "LimitExceededException",
        ] {
            assert!(!retryable(&json(code)), "{code}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(
            err("ClusterNotFoundException", "Cluster not found.", 400).to_string(),
            "ClusterNotFoundException: Cluster not found. (HTTP 400)"
        );
        assert_eq!(err("HTTP404", "", 404).to_string(), "HTTP404 (HTTP 404)");
    }
}
