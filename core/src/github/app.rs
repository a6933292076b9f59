//! The GitHub App's wire format: the JWT it signs (the header and claims;
//! the RS256 signature is the shell's), where its installation is looked
//! up, its installation token made and revoked, and how the answers read.
//! (docs.github.com, "Generating a JSON Web Token (JWT) for a GitHub App",
//! "Authenticating as a GitHub App installation".) `machine/app.rs` makes
//! the calls.

use serde_json::{json, Value};

use crate::protocol::Millis;
use crate::settings::Scope;

/// `DELETE` this to revoke the installation token the request carries.
pub const REVOKE_PATH: &str = "/installation/token";

/// base64url without padding (RFC 7515, section 2).
pub fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The JWT's header and claims, encoded: what gets signed.
pub fn signing_input(app_id: &str, now: Millis) -> String {
    let iat = now / 1000 - 60;
    let header = base64url(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = json!({ "iat": iat, "exp": iat + 600, "iss": app_id }).to_string();
    format!("{header}.{}", base64url(claims.as_bytes()))
}

/// `/repos/{owner}/{repo}/installation` or `/orgs/{org}/installation`:
/// where the installation is looked up ("Get a repository installation for the authenticated app",
/// "Get an organization installation").
pub fn installation_path(scope: &Scope) -> String {
    format!("{}/installation", scope.api_prefix())
}

/// The headers of the App's own calls: `bearer` is the JWT, or the
/// installation token to revoke.
pub fn headers(bearer: &str) -> Vec<(String, String)> {
    vec![
        ("accept".into(), "application/vnd.github+json".into()),
        ("authorization".into(), format!("Bearer {bearer}")),
        ("x-github-api-version".into(), super::API_VERSION.into()),
    ]
}

/// GitHub's `message`, or the start of the body.
pub fn said(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(String::from))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// `POST` this (with the JWT) for an installation token.
pub fn access_tokens_path(installation_id: u64) -> String {
    format!("/app/installations/{installation_id}/access_tokens")
}

/// The installation's `id`.
pub fn parse_installation_id(body: &str) -> Option<u64> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("id")?.as_u64())
}

/// The installation token (`201 {"token", "expires_at", ...}`).
pub fn parse_token(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("token")?.as_str().map(String::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn the_jwt_is_issued_a_minute_ago_and_valid_ten_minutes() {
        let input = signing_input("12345", 1_790_000_000_500);
        let (head, claims) = input.split_once('.').unwrap();
        assert_eq!(head, "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9");
        let decoded = decode(claims);
        let v: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(v["iat"], 1_790_000_000 - 60);
        assert_eq!(v["exp"], 1_790_000_000 - 60 + 600);
        assert_eq!(v["iss"], "12345");
    }

    fn decode(s: &str) -> Vec<u8> {
        let a = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let vals: Vec<u32> = s
            .bytes()
            .map(|c| a.iter().position(|x| *x == c).unwrap() as u32)
            .collect();
        let mut out = Vec::new();
        for chunk in vals.chunks(4) {
            let mut n = 0u32;
            for (i, v) in chunk.iter().enumerate() {
                n |= v << (18 - 6 * i);
            }
            for i in 0..chunk.len() - 1 {
                out.push((n >> (16 - 8 * i)) as u8);
            }
        }
        out
    }
}
