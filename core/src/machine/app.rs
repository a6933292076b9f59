//! A GitHub App instead of a personal access token: a JWT signed RS256
//! (issued 60 s in the past, valid ten minutes), the App's installation on
//! the repository or organization of `context`, an installation token for
//! it, used for every GitHub call of the step, and revoked at the end.
//! (docs.github.com, "Authenticating as a GitHub App installation".)
//!
//! The signature itself is a request the shell performs with node:crypto
//! (`ecs-runner:sign-rs256`; bench/README.md says why), so the key never
//! leaves the process and the core needs no RSA code. The JWT, the paths
//! and the answers are `github/app.rs`'s.

use serde_json::json;

use crate::exchange::outbox::Outbox;
use crate::exchange::{failure, Call, Exchange};
use crate::github;
use crate::protocol::{HttpResponse, Millis, Next};
use crate::settings::Settings;

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
        self.jwt_head = github::app::signing_input(&self.app_id, now);
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
            format!("{}{}", s.github_api_url, github::app::REVOKE_PATH),
            github::app::headers(token),
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
                        format!(
                            "{}{}",
                            s.github_api_url,
                            github::app::installation_path(&s.scope)
                        ),
                        github::app::headers(&self.jwt),
                        String::new(),
                    ));
                }
                Op::Sign => return Progress::Failed(failure::app_sign_message(&resp)),
                Op::Installation if ok => {
                    let id = github::app::parse_installation_id(&resp.body);
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
                        format!(
                            "{}{}",
                            s.github_api_url,
                            github::app::access_tokens_path(id)
                        ),
                        github::app::headers(&self.jwt),
                        String::new(),
                    ));
                }
                Op::Installation => {
                    return Progress::Failed(failure::app_installation_message(
                        &self.app_id,
                        &s.scope,
                        &resp,
                    ))
                }
                Op::AccessToken if ok => {
                    let token = github::app::parse_token(&resp.body);
                    let Some(token) = token else {
                        return Progress::Failed(
                            "GitHub's installation token answer has no token".into(),
                        );
                    };
                    out.secret(&token);
                    return Progress::Ready(token);
                }
                Op::AccessToken => {
                    return Progress::Failed(failure::app_token_message(&self.app_id, &resp))
                }
                Op::Revoke if ok || resp.status == 401 => return Progress::Ready(String::new()),
                Op::Revoke => return Progress::Failed(failure::app_revoke_message(&resp)),
            }
        }
        self.wait(s, out, now)
    }
}
