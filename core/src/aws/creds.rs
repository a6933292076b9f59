//! The answers of the AWS credential sources, and the one request of theirs
//! that has a body: STS AssumeRoleWithWebIdentity (AWS Query; an XML
//! answer), and the JSON that the ECS container credentials endpoint and
//! the EC2 instance metadata (IMDS) give. `machine/creds.rs` makes the
//! calls.
//!
//! References: STS API reference, AssumeRoleWithWebIdentity; AWS SDKs and
//! Tools reference guide, "Standardized credential providers".

use crate::aws::ec2::xml;
use crate::encoding::{form_encode, parse_rfc3339};
use crate::protocol::Millis;
/// The sources whose answers are read here, and what they give: settings.
pub use crate::settings::{AwsCredentials, Source};

/// The `Content-Type` of the STS request (AWS Query, form-encoded).
pub const STS_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Credentials and, for temporary ones, when they expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub credentials: AwsCredentials,
    /// Epoch milliseconds.
    pub expires_at: Option<Millis>,
}

/// The body of STS AssumeRoleWithWebIdentity (unsigned: the token is the
/// proof); `duration_s` when the role's session length is asked for.
pub fn assume_role_body(
    role_arn: &str,
    session_name: &str,
    token: &str,
    duration_s: Option<u32>,
) -> String {
    let mut body = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}&WebIdentityToken={}",
        form_encode(role_arn),
        form_encode(session_name),
        form_encode(token)
    );
    if let Some(d) = duration_s {
        body.push_str(&format!("&DurationSeconds={d}"));
    }
    body
}

/// `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>
/// <Credentials><AccessKeyId/><SecretAccessKey/><SessionToken/>
/// <Expiration/>`; errors come as `<ErrorResponse>` with a 4xx.
pub fn parse_sts(body: &str) -> Result<Fetched, String> {
    let doc = xml::parse(body).map_err(|e| format!("STS answered what is not XML ({e})"))?;
    let c = doc
        .find(&["AssumeRoleWithWebIdentityResult", "Credentials"])
        .ok_or("STS's answer has no Credentials")?;
    let get = |name: &str| c.child_text(name).map(str::to_string);
    Ok(Fetched {
        credentials: AwsCredentials {
            access_key_id: get("AccessKeyId").ok_or("STS's answer has no AccessKeyId")?,
            secret_access_key: get("SecretAccessKey")
                .ok_or("STS's answer has no SecretAccessKey")?,
            session_token: get("SessionToken"),
        },
        expires_at: get("Expiration")
            .and_then(|t| parse_rfc3339(&t))
            .map(|s| s * 1000),
    })
}

/// The container and IMDS answer:
/// `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`.
pub fn parse_json_credentials(body: &str) -> Result<Fetched, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|_| "the credentials answer is not JSON".to_string())?;
    let get = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Ok(Fetched {
        credentials: AwsCredentials {
            access_key_id: get("AccessKeyId").ok_or("the answer has no AccessKeyId")?,
            secret_access_key: get("SecretAccessKey").ok_or("the answer has no SecretAccessKey")?,
            session_token: get("Token"),
        },
        expires_at: get("Expiration")
            .and_then(|t| parse_rfc3339(&t))
            .map(|s| s * 1000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_and_json_credentials_are_read() {
        let sts = "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>sec/ret</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>2026-12-01T10:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
        let f = parse_sts(sts).unwrap();
        assert_eq!(f.credentials.access_key_id, "ASIAX");
        assert_eq!(f.credentials.session_token.as_deref(), Some("tok"));
        assert_eq!(f.expires_at, Some(1_796_119_200_000));
        assert!(parse_sts("<ErrorResponse/>").is_err());
        let j = parse_json_credentials(r#"{"Code":"Success","AccessKeyId":"ASIAY","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-01T10:00:00Z"}"#).unwrap();
        assert_eq!(j.credentials.secret_access_key, "s");
        assert!(parse_json_credentials("{}").is_err());
    }
}
