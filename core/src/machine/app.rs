//! A GitHub App instead of a personal access token: a JWT signed RS256
//! (issued 60 s in the past, valid ten minutes), the App's installation on
//! the repository or organization of `context`, an installation token for
//! it, used for every GitHub call of the step, and revoked at the end.
//! (docs.github.com, "Authenticating as a GitHub App installation".)
//!
//! The signature itself is a request the shell performs with node:crypto
//! (`ecs-runner:sign-rs256`; bench/README.md says why), so the key never
//! leaves the process and the core needs no RSA code.

use serde_json::{json, Value};

use crate::exchange::outbox::Outbox;
use crate::exchange::{Call, Exchange};
use crate::protocol::{HttpResponse, Millis, Next};
use crate::settings::{Scope, Settings};

/// The pseudo-URL of the signing request: the shell signs `data` (the
/// request body's field) with `key` (PEM, PKCS#1 or PKCS#8), RSASSA-PKCS1-v1_5
/// with SHA-256, and answers 200 with the signature in base64url.
pub const SIGN_URL: &str = "ecs-runner:sign-rs256";
/// Request ids of this phase (the mode machine's start at 1 afterwards).
const IDS: u32 = 1 << 29;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Sign,
    Installation,
    AccessToken,
    Revoke,
}

pub enum Progress {
    Pending(Next),
    /// The installation token.
    Ready(String),
    Failed(String),
}

/// Gets an installation token (or revokes one).
pub struct App {
    app_id: String,
    key: String,
    ex: Exchange<Op>,
    jwt_head: String,
    jwt: String,
}

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

impl App {
    pub fn new(app_id: &str, key: &str, random: &str) -> Self {
        App {
            app_id: app_id.to_string(),
            key: key.to_string(),
            ex: Exchange::with_first_id(random, IDS),
            jwt_head: String::new(),
            jwt: String::new(),
        }
    }

    /// Sign a JWT, then find the installation and get a token.
    pub fn start(&mut self, s: &Settings, out: &mut Outbox, now: Millis) -> Progress {
        self.jwt_head = signing_input(&self.app_id, now);
        let body = json!({ "key": self.key, "data": self.jwt_head }).to_string();
        let mut sign = Call::plain(
            Op::Sign,
            "sign the GitHub App JWT",
            "POST",
            SIGN_URL.into(),
            Vec::new(),
            body,
        );
        // Done in the shell's process: a failure is the key's, not a
        // network's, and trying again gives the same.
        sign.attempts = Some(1);
        self.ex.submit(sign);
        self.wait(s, out, now)
    }

    /// Revoke the installation token (`DELETE /installation/token`).
    pub fn revoke(&mut self, s: &Settings, out: &mut Outbox, now: Millis, token: &str) -> Progress {
        self.ex.submit(Call::plain(
            Op::Revoke,
            "revoke the installation token",
            "DELETE",
            format!("{}/installation/token", s.github_api_url),
            github_headers(token),
            String::new(),
        ));
        self.wait(s, out, now)
    }

    fn wait(&mut self, s: &Settings, out: &mut Outbox, now: Millis) -> Progress {
        Progress::Pending(crate::exchange::wait(&mut self.ex, s, out, now, &[]))
    }

    pub fn on_wake(&mut self, s: &Settings, out: &mut Outbox, now: Millis) -> Progress {
        self.wait(s, out, now)
    }

    pub fn on_responses(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        responses: Vec<HttpResponse>,
        now: Millis,
    ) -> Progress {
        for (call, resp) in self.ex.receive(out, responses, now) {
            let ok = (200..300).contains(&resp.status);
            match call.tag {
                Op::Sign if ok => {
                    let signature = resp.body.trim();
                    // The signature alone, with the signed text in the debug
                    // dump of the request, would make the JWT again.
                    out.secret(signature);
                    self.jwt = format!("{}.{signature}", self.jwt_head);
                    out.secret(&self.jwt);
                    self.ex.submit(Call::plain(
                        Op::Installation,
                        "find the GitHub App's installation",
                        "GET",
                        format!("{}{}/installation", s.github_api_url, installation_prefix(&s.scope)),
                        github_headers(&self.jwt),
                        String::new(),
                    ));
                }
                Op::Sign => {
                    return Progress::Failed(format!(
                        "Input 'app-private-key': the key (not shown) could not sign the GitHub App's JWT: {}. Pass the App's private key as the PEM file GitHub gave (PKCS#1 'BEGIN RSA PRIVATE KEY' or PKCS#8 'BEGIN PRIVATE KEY').",
                        resp.error.as_deref().unwrap_or("no signature")
                    ))
                }
                Op::Installation if ok => {
                    let id = serde_json::from_str::<Value>(&resp.body)
                        .ok()
                        .and_then(|v| v.get("id")?.as_u64());
                    let Some(id) = id else {
                        return Progress::Failed("GitHub's installation answer has no id".into());
                    };
                    out.info(format!(
                        "GitHub App {} is installed on {} (installation {id})",
                        self.app_id,
                        s.scope.display()
                    ));
                    self.ex.submit(Call::plain(
                        Op::AccessToken,
                        "create an installation token",
                        "POST",
                        format!("{}/app/installations/{id}/access_tokens", s.github_api_url),
                        github_headers(&self.jwt),
                        String::new(),
                    ));
                }
                Op::Installation => return Progress::Failed(self.installation_error(s, &resp)),
                Op::AccessToken if ok => {
                    let token = serde_json::from_str::<Value>(&resp.body)
                        .ok()
                        .and_then(|v| v.get("token")?.as_str().map(String::from));
                    let Some(token) = token else {
                        return Progress::Failed("GitHub's installation token answer has no token".into());
                    };
                    out.secret(&token);
                    return Progress::Ready(token);
                }
                Op::AccessToken => {
                    return Progress::Failed(format!(
                        "GitHub did not give the App {} an installation token (HTTP {}): {}",
                        self.app_id,
                        resp.status,
                        said(&resp.body)
                    ))
                }
                Op::Revoke if ok || resp.status == 401 => return Progress::Ready(String::new()),
                Op::Revoke => {
                    return Progress::Failed(format!(
                        "could not revoke the installation token (HTTP {}); it expires within the hour",
                        resp.status
                    ))
                }
            }
        }
        self.wait(s, out, now)
    }

    fn installation_error(&self, s: &Settings, resp: &HttpResponse) -> String {
        let permission = match s.scope {
            Scope::Repo { .. } => "the repository permission \"Administration: write\"",
            Scope::Org { .. } => "the organization permission \"Self-hosted runners: write\"",
        };
        match resp.status {
            401 => format!(
                "GitHub refused the App's JWT (HTTP 401: {}): check `app-id` ({}) and that `app-private-key` is a current private key of that App, and the runner's clock",
                said(&resp.body),
                self.app_id
            ),
            404 => format!(
                "The GitHub App {} is not installed on {}: install it there (Settings → GitHub Apps), with {permission}",
                self.app_id,
                s.scope.display()
            ),
            _ => format!(
                "GitHub could not find the App {}'s installation on {} (HTTP {}: {})",
                self.app_id,
                s.scope.display(),
                resp.status,
                said(&resp.body)
            ),
        }
    }
}

/// `/repos/{owner}/{repo}` or `/orgs/{org}`: where the installation is
/// looked up ("Get a repository installation for the authenticated app",
/// "Get an organization installation").
fn installation_prefix(scope: &Scope) -> String {
    scope.api_prefix()
}

fn github_headers(bearer: &str) -> Vec<(String, String)> {
    vec![
        ("accept".into(), "application/vnd.github+json".into()),
        ("authorization".into(), format!("Bearer {bearer}")),
        (
            "x-github-api-version".into(),
            crate::exchange::GITHUB_API_VERSION.into(),
        ),
    ]
}

fn said(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(String::from))
        .unwrap_or_else(|| body.chars().take(200).collect())
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
