//! AWS credentials from wherever the AWS SDKs would find them, each step
//! decided here and performed by the shell: environment keys, then
//! `role-to-assume` through GitHub's OIDC token, a web identity token file
//! (EKS), ECS container credentials, and EC2 instance metadata (IMDSv2).
//! `inputs/` picks the source from what the environment offers
//! ([`Source`]); [`Provider`] fetches the credentials before the mode's
//! machine starts. The answers are read in `aws/creds.rs`.
//!
//! References: AWS SDKs and Tools reference guide, "Standardized
//! credential providers" (container provider, IMDS provider, web identity);
//! STS API reference, AssumeRoleWithWebIdentity; GitHub docs, "About
//! security hardening with OpenID Connect" (ACTIONS_ID_TOKEN_REQUEST_URL).

use crate::aws::creds::{
    assume_role_body, parse_json_credentials, parse_sts, Fetched, STS_CONTENT_TYPE,
};
use crate::encoding::form_encode;
use crate::exchange::outbox::Outbox;
use crate::exchange::{failure_message, Call, Exchange};
use crate::protocol::{HttpResponse, Millis, Next};
use crate::settings::{Settings, Source};

/// Request ids of a refresh, far above the mode machine's.
pub const REFRESH_IDS: u32 = 1 << 30;
/// Temporary credentials are fetched again this long before they expire
/// (the AWS SDKs refresh 5 to 15 minutes ahead).
pub const REFRESH_AHEAD_MS: Millis = 10 * 60_000;

/// IMDS answers on the machine itself or not at all: a short wait.
const IMDS_TIMEOUT_MS: u64 = 1_000;
const IMDS_ATTEMPTS: u32 = 2;
/// IMDSv2 token lifetime asked for, in seconds.
const IMDS_TOKEN_TTL_S: &str = "21600";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    OidcToken,
    TokenFile,
    ContainerTokenFile,
    AssumeRole,
    Container,
    ImdsToken,
    ImdsRole,
    ImdsCredentials,
}

pub enum Progress {
    Pending(Next),
    Ready(Fetched),
    Failed(String),
}

/// Fetches credentials from one [`Source`].
pub struct Provider {
    source: Source,
    ex: Exchange<Op>,
    imds_token: String,
}

impl Provider {
    pub fn new(source: Source, random: &str) -> Self {
        Provider {
            source,
            ex: Exchange::new(random),
            imds_token: String::new(),
        }
    }

    /// A provider that fetches again while the mode's machine runs: its
    /// request ids start at [`REFRESH_IDS`], apart from the machine's.
    pub fn refreshing(source: Source, random: &str) -> Self {
        Provider {
            source,
            ex: Exchange::with_first_id(random, REFRESH_IDS),
            imds_token: String::new(),
        }
    }

    /// Whether the answer with this id is this provider's.
    pub fn owns(id: u32) -> bool {
        id >= REFRESH_IDS
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Send the first call.
    pub fn start(&mut self, s: &Settings, out: &mut Outbox, now: Millis) -> Progress {
        let call = match &self.source {
            Source::Environment => {
                return Progress::Ready(Fetched {
                    credentials: s.credentials.clone(),
                    expires_at: None,
                })
            }
            Source::GitHubOidc {
                request_url,
                request_token,
                audience,
                ..
            } => {
                out.secret(request_token);
                let sep = if request_url.contains('?') { '&' } else { '?' };
                Call::plain(
                    Op::OidcToken,
                    "GitHub OIDC token",
                    "GET",
                    format!("{request_url}{sep}audience={}", form_encode(audience)),
                    vec![
                        ("authorization".into(), format!("Bearer {request_token}")),
                        ("accept".into(), "application/json; api-version=2.0".into()),
                    ],
                    String::new(),
                )
            }
            Source::WebIdentityFile { token_file, .. } => file(Op::TokenFile, token_file),
            Source::Container {
                token_file: Some(f),
                ..
            } => file(Op::ContainerTokenFile, f),
            Source::Container { url, token, .. } => container(url, token.as_deref()),
            Source::Imds { endpoint } => {
                let mut c = Call::plain(
                    Op::ImdsToken,
                    "IMDSv2 token",
                    "PUT",
                    format!("{endpoint}/latest/api/token"),
                    vec![(
                        "x-aws-ec2-metadata-token-ttl-seconds".into(),
                        IMDS_TOKEN_TTL_S.into(),
                    )],
                    String::new(),
                );
                c.attempts = Some(IMDS_ATTEMPTS);
                c.timeout_ms = Some(IMDS_TIMEOUT_MS);
                c
            }
        };
        self.ex.submit(call);
        self.wait(s, out, now)
    }

    fn wait(&mut self, s: &Settings, out: &mut Outbox, now: Millis) -> Progress {
        Progress::Pending(crate::exchange::wait(&mut self.ex, s, out, now, &[]))
    }

    /// Time passed (a retry is due).
    pub fn on_wake(&mut self, s: &Settings, out: &mut Outbox, now: Millis) -> Progress {
        self.wait(s, out, now)
    }

    /// The shell dropped what was in flight: nothing to clean up.
    pub fn abandon(&mut self) {
        self.ex.abandon();
    }

    pub fn on_responses(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        responses: Vec<HttpResponse>,
        now: Millis,
    ) -> Progress {
        for (call, resp) in self.ex.receive(out, responses, now) {
            if !(200..300).contains(&resp.status) {
                let mut m = failure_message(&call, &resp, s);
                if call.tag == Op::OidcToken {
                    m.push_str(". Check that the job has `permissions: id-token: write`");
                }
                if matches!(self.source, Source::Imds { .. }) {
                    // The last source of the chain: none of the others is set.
                    m.push_str(". No other source of AWS credentials is set either: the action also looks for AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, `role-to-assume`, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, and AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI");
                }
                return Progress::Failed(format!(
                    "Could not get AWS credentials from {}: {m}",
                    self.source.describe()
                ));
            }
            match self.on_answer(s, out, &call.tag, &resp.body, now) {
                Ok(Some(done)) => return Progress::Ready(done),
                Ok(None) => {}
                Err(why) => {
                    return Progress::Failed(format!(
                        "Could not get AWS credentials from {}: {why}",
                        self.source.describe()
                    ))
                }
            }
        }
        self.wait(s, out, now)
    }

    fn on_answer(
        &mut self,
        s: &Settings,
        out: &mut Outbox,
        op: &Op,
        body: &str,
        now: Millis,
    ) -> Result<Option<Fetched>, String> {
        match op {
            Op::OidcToken => {
                let v: serde_json::Value = serde_json::from_str(body)
                    .map_err(|_| "GitHub's OIDC token answer is not JSON".to_string())?;
                let token = v
                    .get("value")
                    .and_then(|t| t.as_str())
                    .ok_or("GitHub's OIDC token answer has no `value`")?
                    .to_string();
                out.secret(&token);
                self.assume_role(s, &token);
            }
            Op::TokenFile => {
                let token = body.trim().to_string();
                if token.is_empty() {
                    return Err("the web identity token file is empty".into());
                }
                out.secret(&token);
                self.assume_role(s, &token);
            }
            Op::ContainerTokenFile => {
                let token = body.trim().to_string();
                out.secret(&token);
                if let Source::Container { url, .. } = &self.source {
                    let call = container(url, Some(&token));
                    self.ex.submit(call);
                }
            }
            Op::AssumeRole => {
                let fetched = parse_sts(body)?;
                register(out, &fetched);
                return Ok(Some(fetched));
            }
            Op::Container | Op::ImdsCredentials => {
                let fetched = parse_json_credentials(body)?;
                register(out, &fetched);
                return Ok(Some(fetched));
            }
            Op::ImdsToken => {
                self.imds_token = body.trim().to_string();
                out.secret(&self.imds_token);
                self.ex.submit(self.imds_get(Op::ImdsRole, "IMDS role", ""));
            }
            Op::ImdsRole => {
                let role = body.lines().next().unwrap_or("").trim().to_string();
                if role.is_empty() {
                    return Err("the instance has no IAM role (instance profile)".into());
                }
                // An IAM role name (IAM API reference, Role): not whatever
                // an endpoint that is not IMDS answered.
                let name_ok = role.len() <= 64
                    && role
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
                if !name_ok {
                    return Err(
                        "the instance metadata answered something that is not an IAM role name"
                            .into(),
                    );
                }
                self.ex
                    .submit(self.imds_get(Op::ImdsCredentials, "IMDS credentials", &role));
            }
        }
        let _ = now;
        Ok(None)
    }

    fn imds_get(&self, op: Op, operation: &'static str, role: &str) -> Call<Op> {
        let Source::Imds { endpoint } = &self.source else {
            unreachable!("only the IMDS source asks IMDS");
        };
        let mut c = Call::plain(
            op,
            operation,
            "GET",
            format!("{endpoint}/latest/meta-data/iam/security-credentials/{role}"),
            vec![("x-aws-ec2-metadata-token".into(), self.imds_token.clone())],
            String::new(),
        );
        c.attempts = Some(IMDS_ATTEMPTS);
        c.timeout_ms = Some(IMDS_TIMEOUT_MS);
        c
    }

    /// STS AssumeRoleWithWebIdentity (unsigned: the token is the proof).
    fn assume_role(&mut self, s: &Settings, token: &str) {
        let (role_arn, session_name, duration) = match &self.source {
            Source::GitHubOidc {
                role_arn,
                session_name,
                duration_s,
                ..
            } => (role_arn.clone(), session_name.clone(), Some(*duration_s)),
            Source::WebIdentityFile {
                role_arn,
                session_name,
                ..
            } => (role_arn.clone(), session_name.clone(), None),
            _ => return,
        };
        let body = assume_role_body(&role_arn, &session_name, token, duration);
        self.ex.submit(Call::plain(
            Op::AssumeRole,
            "STS AssumeRoleWithWebIdentity",
            "POST",
            format!("{}/", s.endpoints.sts),
            vec![("content-type".into(), STS_CONTENT_TYPE.into())],
            body,
        ));
    }
}

/// A `file://` read: the shell answers 200 with the file's contents, or
/// status 0 with the error.
fn file(op: Op, path: &str) -> Call<Op> {
    let mut c = Call::plain(
        op,
        "read file",
        "GET",
        format!("file://{path}"),
        Vec::new(),
        String::new(),
    );
    // A missing or unreadable file stays so: no retry.
    c.attempts = Some(1);
    c
}

fn container(url: &str, token: Option<&str>) -> Call<Op> {
    let headers = token
        .map(|t| vec![("authorization".to_string(), t.to_string())])
        .unwrap_or_default();
    Call::plain(
        Op::Container,
        "container credentials",
        "GET",
        url.to_string(),
        headers,
        String::new(),
    )
}

fn register(out: &mut Outbox, f: &Fetched) {
    out.secret(&f.credentials.secret_access_key);
    if let Some(t) = &f.credentials.session_token {
        out.secret(t);
    }
}
