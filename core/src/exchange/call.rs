//! A call to make, before the exchange addresses and signs it, and the
//! service it goes to.
//!
//! Uses nothing else of the core.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ecs,
    Ec2,
    Logs,
    GitHub,
    /// A request to a full URL with the call's own headers, unsigned: the
    /// credential sources (GitHub's OIDC token, STS
    /// AssumeRoleWithWebIdentity, container credentials, IMDS) and
    /// `file://` reads.
    Plain,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Ec2 => "ec2",
            Service::Logs => "logs",
            Service::Plain => "credentials",
            Service::GitHub => "github",
        }
    }
}

/// A call to make, before it is addressed and signed.
#[derive(Debug, Clone)]
pub struct Call<T> {
    /// The machine's own name for what this call is for.
    pub tag: T,
    pub service: Service,
    /// `RunTask`, `DescribeSubnets`, or for GitHub e.g. `generate-jitconfig`:
    /// used in error messages and for the IAM action in advice.
    pub operation: &'static str,
    pub method: &'static str,
    /// For GitHub: the path and query after the API base URL. For AWS:
    /// empty. For [`Service::Plain`]: the whole URL.
    pub path: String,
    pub body: String,
    /// [`Service::Plain`]: the request's headers.
    pub headers: Vec<(String, String)>,
    /// At most this many attempts, whatever the failure (IMDS: fail fast).
    pub attempts: Option<u32>,
    /// The request's time-out, when not the default.
    pub timeout_ms: Option<u64>,
}

impl<T> Call<T> {
    /// The same call under another tag.
    pub fn retag<U>(self, tag: U) -> Call<U> {
        Call {
            tag,
            service: self.service,
            operation: self.operation,
            method: self.method,
            path: self.path,
            body: self.body,
            headers: self.headers,
            attempts: self.attempts,
            timeout_ms: self.timeout_ms,
        }
    }

    /// An ECS JSON 1.1 call (ECS API reference, "Making API requests").
    pub fn ecs(tag: T, operation: &'static str, body: serde_json::Value) -> Self {
        Call {
            tag,
            service: Service::Ecs,
            operation,
            method: "POST",
            path: String::new(),
            body: body.to_string(),
            headers: Vec::new(),
            attempts: None,
            timeout_ms: None,
        }
    }
    /// A CloudWatch Logs JSON 1.1 call.
    pub fn logs(tag: T, operation: &'static str, body: serde_json::Value) -> Self {
        Call {
            tag,
            service: Service::Logs,
            operation,
            method: "POST",
            path: String::new(),
            body: body.to_string(),
            headers: Vec::new(),
            attempts: None,
            timeout_ms: None,
        }
    }
    /// An EC2 Query API call; `body` is the form-encoded parameters.
    pub fn ec2(tag: T, operation: &'static str, body: String) -> Self {
        Call {
            tag,
            service: Service::Ec2,
            operation,
            method: "POST",
            path: String::new(),
            body,
            headers: Vec::new(),
            attempts: None,
            timeout_ms: None,
        }
    }
    pub fn github(
        tag: T,
        operation: &'static str,
        method: &'static str,
        path: String,
        body: Option<serde_json::Value>,
    ) -> Self {
        Call {
            tag,
            service: Service::GitHub,
            operation,
            method,
            path,
            body: body.map(|b| b.to_string()).unwrap_or_default(),
            headers: Vec::new(),
            attempts: None,
            timeout_ms: None,
        }
    }

    /// A request to `url` as it is: `method`, `headers`, `body`, unsigned.
    pub fn plain(
        tag: T,
        operation: &'static str,
        method: &'static str,
        url: String,
        headers: Vec<(String, String)>,
        body: String,
    ) -> Self {
        Call {
            tag,
            service: Service::Plain,
            operation,
            method,
            path: url,
            body,
            headers,
            attempts: None,
            timeout_ms: None,
        }
    }
}
