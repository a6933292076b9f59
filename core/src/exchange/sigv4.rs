//! AWS Signature Version 4 for the requests the core hands the shell.
//!
//! The signing itself is the `aws-sigv4` crate's (smithy-rs, the Rust SDK's own
//! signer); this file only adapts our [`HttpRequest`] to it and back. Time comes
//! in as [`Millis`]: `SystemTime::now()` panics on wasm32-unknown-unknown.
//!
//! The `Host` header is signed (SigV4 requires it) but never added to
//! `req.headers`: the signer derives it from the URL exactly as Node's fetch
//! does when it sends the request (host, plus the port unless it is the
//! scheme's default: RFC 9110 section 7.2), so both sides agree without us
//! sending a header fetch would refuse or overwrite anyway.

use std::error::Error as StdError;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign as sigv4_sign, SignableBody, SignableRequest, SigningError, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::protocol::{HttpRequest, Millis};
use crate::settings::AwsCredentials;

/// Headers the signer produces. They are dropped from the request before
/// signing, so signing a retried request again (with a new time) replaces them
/// instead of signing the old ones: aws-sigv4 requires that the request does
/// not carry `x-amz-date` or `x-amz-security-token` already
/// (`calculate_signing_headers` in aws-sigv4 1.6 `http_request/sign.rs`).
const SIGNER_HEADERS: [&str; 3] = ["authorization", "x-amz-date", "x-amz-security-token"];

/// Why a request could not be signed. The message carries the signer's whole
/// error chain: aws-sigv4's own top-level message is only "failed to create
/// canonical request", the useful part ("invalid header value") is in its
/// sources.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The URL does not parse, or has no host to sign (aws-sigv4 would panic
    /// on a URL without a host: `insert_host_header` expects one).
    #[error("cannot sign {method} {url}: {reason}")]
    InvalidUrl {
        method: String,
        url: String,
        reason: String,
    },
    /// The signer refused the request (e.g. a header value with a newline).
    #[error("cannot sign {method} {url}: {chain}")]
    Signer {
        method: String,
        url: String,
        /// The signer's error and each of its sources, joined by ": ".
        chain: String,
    },
}

impl SignError {
    /// A stable identifier for tests and for the shell's logs.
    pub fn code(&self) -> &'static str {
        match self {
            SignError::InvalidUrl { .. } => "sign_invalid_url",
            SignError::Signer { .. } => "sign_failed",
        }
    }
}

/// Signs `req` in place for `service` in `region` at time `now`: adds
/// `authorization`, `x-amz-date` and, with a session token,
/// `x-amz-security-token` (lower-case names) to `req.headers`. Every header
/// already in `req.headers` is signed except those aws-sigv4 excludes by
/// default (`user-agent`, `x-amzn-trace-id`, `transfer-encoding`), so the
/// shell must send exactly these headers, with these values, and this body.
///
/// Call it again to re-sign (e.g. before a retry): the previous signature
/// headers are replaced.
pub fn sign(
    req: &mut HttpRequest,
    creds: &AwsCredentials,
    region: &str,
    service: &str,
    now: Millis,
) -> Result<(), SignError> {
    req.headers
        .retain(|name, _| !SIGNER_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)));

    let invalid_url = |reason: String| SignError::InvalidUrl {
        method: req.method.clone(),
        url: req.url.clone(),
        reason,
    };
    let uri: http::Uri = req
        .url
        .parse()
        .map_err(|e: http::uri::InvalidUri| invalid_url(e.to_string()))?;
    if uri.host().is_none() {
        return Err(invalid_url("the URL has no host".into()));
    }

    let identity: Identity = Credentials::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        creds.session_token.clone(),
        None,
        "ecs-runner",
    )
    .into();
    let signer_error = |e: &dyn StdError| SignError::Signer {
        method: req.method.clone(),
        url: req.url.clone(),
        chain: error_chain(e),
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(UNIX_EPOCH + Duration::from_millis(now))
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| signer_error(&e))?
        .into();
    let signable = SignableRequest::new(
        &req.method,
        req.url.as_str(),
        req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body.as_bytes()),
    )
    .map_err(|e| signer_error(&e))?;
    // With the default `SignatureLocation::Headers` the instructions hold
    // headers only, never query parameters.
    let (instructions, _signature) = sigv4_sign(signable, &params)
        .map_err(|e: SigningError| signer_error(&e))?
        .into_parts();
    let (headers, _query) = instructions.into_parts();

    for header in headers {
        req.headers.insert(
            header.name().to_ascii_lowercase(),
            header.value().to_string(),
        );
    }
    Ok(())
}

/// `e` and each of its `source()`s, joined by ": ".
fn error_chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The credentials and time of the AWS SigV4 test suite
    /// (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html;
    /// also aws-sigv4's `aws-signing-test-suite/v4/*/context.json`):
    /// 2015-08-30T12:36:00Z, us-east-1, service "service".
    const SUITE_TIME: Millis = 1_440_938_160_000;

    fn suite_creds(token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(String::from),
        }
    }

    fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> HttpRequest {
        HttpRequest {
            id: 1,
            method: method.into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
            timeout_ms: 10_000,
        }
    }

    fn signed_suite<'a>(
        req: &'a mut HttpRequest,
        token: Option<&str>,
    ) -> &'a BTreeMap<String, String> {
        sign(req, &suite_creds(token), "us-east-1", "service", SUITE_TIME).unwrap();
        &req.headers
    }

    #[test]
    fn suite_time_is_the_suite_timestamp() {
        // Guards the constant the known-answer tests rely on.
        let mut req = request("GET", "https://example.amazonaws.com/", &[], "");
        assert_eq!(
            signed_suite(&mut req, None)["x-amz-date"],
            "20150830T123600Z"
        );
    }

    #[test]
    fn suite_get_vanilla() {
        // aws-sig-v4-test-suite/get-vanilla/get-vanilla.authz
        let mut req = request("GET", "https://example.amazonaws.com/", &[], "");
        let headers = signed_suite(&mut req, None);
        assert_eq!(
            headers["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // Host is signed from the URL, not added: fetch sets it itself.
        let names: Vec<&str> = headers.keys().map(String::as_str).collect();
        assert_eq!(names, ["authorization", "x-amz-date"]);
    }

    #[test]
    fn suite_get_vanilla_query_order_key_case() {
        // aws-sig-v4-test-suite/get-vanilla-query-order-key-case: the query is
        // sorted into the canonical request, the URL is left as it was.
        let url = "https://example.amazonaws.com/?Param2=value2&Param1=value1";
        let mut req = request("GET", url, &[], "");
        let auth = signed_suite(&mut req, None)["authorization"].clone();
        assert!(auth.ends_with(
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ));
        assert_eq!(req.url, url);
    }

    #[test]
    fn suite_post_x_www_form_urlencoded() {
        // aws-sig-v4-test-suite/post-x-www-form-urlencoded: the body and a
        // Content-Type header are signed, as for our EC2 Query requests.
        let mut req = request(
            "POST",
            "https://example.amazonaws.com/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "Param1=value1",
        );
        assert_eq!(
            signed_suite(&mut req, None)["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn suite_get_vanilla_with_session_token() {
        // aws-signing-test-suite/v4/get-vanilla-with-session-token (the CRT
        // suite shipped with aws-sigv4): the token is itself signed.
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
        let mut req = request("GET", "https://example.amazonaws.com/", &[], "");
        let headers = signed_suite(&mut req, Some(token));
        assert_eq!(
            headers["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date;x-amz-security-token, \
             Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
        );
        assert_eq!(headers["x-amz-security-token"], token);
    }

    fn ecs_request(url: &str) -> HttpRequest {
        request(
            "POST",
            url,
            &[
                ("content-type", "application/x-amz-json-1.1"),
                (
                    "x-amz-target",
                    "AmazonEC2ContainerServiceV20141113.DescribeClusters",
                ),
            ],
            r#"{"clusters":["default"]}"#,
        )
    }

    fn ecs_creds() -> AwsCredentials {
        AwsCredentials {
            access_key_id: "ASIAEXAMPLEEXAMPLE01".into(),
            secret_access_key: "secret/EXAMPLE+key".into(),
            session_token: Some("FwoGZXIvYXdzEXAMPLE//token=".into()),
        }
    }

    /// 2026-01-02T03:04:05.678Z
    const T: Millis = 1_767_323_045_678;

    #[test]
    fn ecs_json_post_with_session_token() {
        let mut req = ecs_request("https://ecs.eu-west-1.amazonaws.com/");
        sign(&mut req, &ecs_creds(), "eu-west-1", "ecs", T).unwrap();

        let names: Vec<&str> = req.headers.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "authorization",
                "content-type",
                "x-amz-date",
                "x-amz-security-token",
                "x-amz-target"
            ]
        );
        // Milliseconds are dropped: SigV4 dates have whole seconds.
        assert_eq!(req.headers["x-amz-date"], "20260102T030405Z");
        assert_eq!(
            req.headers["x-amz-security-token"],
            "FwoGZXIvYXdzEXAMPLE//token="
        );
        let auth = &req.headers["authorization"];
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE01/20260102/eu-west-1/ecs/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
                 Signature="
            ),
            "{auth}"
        );
        // The body is signed, untouched.
        assert_eq!(req.body, r#"{"clusters":["default"]}"#);
    }

    #[test]
    fn signing_is_deterministic_and_depends_on_time() {
        let sig = |now: Millis| {
            let mut req = ecs_request("https://ecs.eu-west-1.amazonaws.com/");
            sign(&mut req, &ecs_creds(), "eu-west-1", "ecs", now).unwrap();
            req.headers
        };
        assert_eq!(sig(T), sig(T));
        // Within the same second the signature cannot change (x-amz-date has
        // whole seconds); one second later it must.
        assert_eq!(sig(T)["authorization"], sig(T + 300)["authorization"]);
        assert_ne!(sig(T)["authorization"], sig(T + 1_000)["authorization"]);
        assert_ne!(sig(T)["x-amz-date"], sig(T + 1_000)["x-amz-date"]);
    }

    #[test]
    fn signature_depends_on_body_region_and_port() {
        let auth = |url: &str, region: &str, body: &str| {
            let mut req = ecs_request(url);
            req.body = body.into();
            sign(&mut req, &ecs_creds(), region, "ecs", T).unwrap();
            req.headers["authorization"].clone()
        };
        let base = auth("http://127.0.0.1:5000/", "us-east-1", "{}");
        assert_ne!(base, auth("http://127.0.0.1:5000/", "us-east-1", "{ }"));
        assert_ne!(base, auth("http://127.0.0.1:5000/", "us-west-2", "{}"));
        // A non-default port is part of the signed Host (fetch sends
        // "127.0.0.1:5000"), a default one is not (fetch sends "127.0.0.1").
        assert_ne!(base, auth("http://127.0.0.1:5001/", "us-east-1", "{}"));
        assert_eq!(
            auth("http://127.0.0.1/", "us-east-1", "{}"),
            auth("http://127.0.0.1:80/", "us-east-1", "{}")
        );
        // An endpoint without a path is signed as "/", the path fetch sends.
        assert_eq!(base, auth("http://127.0.0.1:5000", "us-east-1", "{}"));
    }

    #[test]
    fn resigning_replaces_the_previous_signature() {
        let mut once = ecs_request("https://ecs.eu-west-1.amazonaws.com/");
        sign(&mut once, &ecs_creds(), "eu-west-1", "ecs", T).unwrap();

        let mut twice = ecs_request("https://ecs.eu-west-1.amazonaws.com/");
        sign(&mut twice, &ecs_creds(), "eu-west-1", "ecs", T - 60_000).unwrap();
        sign(&mut twice, &ecs_creds(), "eu-west-1", "ecs", T).unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn without_session_token_no_token_header() {
        let mut req = ecs_request("https://ecs.eu-west-1.amazonaws.com/");
        let creds = AwsCredentials {
            session_token: None,
            ..ecs_creds()
        };
        sign(&mut req, &creds, "eu-west-1", "ecs", T).unwrap();
        assert!(!req.headers.contains_key("x-amz-security-token"));
        assert!(req.headers["authorization"]
            .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target,"));
    }

    #[test]
    fn url_without_host_is_an_error_not_a_panic() {
        let mut req = ecs_request("/relative");
        let err = sign(&mut req, &ecs_creds(), "eu-west-1", "ecs", T).unwrap_err();
        assert_eq!(err.code(), "sign_invalid_url");
        assert_eq!(
            err.to_string(),
            "cannot sign POST /relative: the URL has no host"
        );

        let mut req = ecs_request("http://exa mple.com/");
        let err = sign(&mut req, &ecs_creds(), "eu-west-1", "ecs", T).unwrap_err();
        assert_eq!(err.code(), "sign_invalid_url");
    }

    #[test]
    fn signer_errors_carry_their_sources() {
        // A newline cannot be in a header value; aws-sigv4 says only "failed
        // to create canonical request" at the top of its chain.
        let mut req = ecs_request("https://ecs.eu-west-1.amazonaws.com/");
        req.headers.insert("x-bad".into(), "a\nb".into());
        let err = sign(&mut req, &ecs_creds(), "eu-west-1", "ecs", T).unwrap_err();
        assert_eq!(err.code(), "sign_failed");
        let text = err.to_string();
        assert!(
            text.starts_with(
                "cannot sign POST https://ecs.eu-west-1.amazonaws.com/: \
                 failed to create canonical request: invalid header value"
            ),
            "{text}"
        );
    }
}
