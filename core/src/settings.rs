//! The validated settings every machine works from. `inputs/` builds them
//! from the raw inputs and environment, or reports every problem at once.
//!
//! Uses nothing else of the core: every part above may name these types.

/// What the step is asked to do (`mode` input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Start,
    Stop,
    Reap,
}

/// Where runners are registered (`context` input; default `GITHUB_REPOSITORY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Repo { owner: String, repo: String },
    Org { org: String },
}

impl Scope {
    /// The REST path prefix: `/repos/{owner}/{repo}` or `/orgs/{org}`.
    pub fn api_prefix(&self) -> String {
        match self {
            Scope::Repo { owner, repo } => format!("/repos/{owner}/{repo}"),
            Scope::Org { org } => format!("/orgs/{org}"),
        }
    }
    /// `owner/repo` or `org`, as the user wrote it.
    pub fn display(&self) -> String {
        match self {
            Scope::Repo { owner, repo } => format!("{owner}/{repo}"),
            Scope::Org { org } => org.clone(),
        }
    }
}

/// How the runner in the task gets its credential (`registration` input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// `generate-jitconfig`, passed as `ACTIONS_RUNNER_INPUT_JITCONFIG`.
    Jit,
    /// A registration token plus `RUNNER_*` variables, for custom images.
    Token,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityProvider {
    pub provider: String,
    pub weight: Option<u32>,
    pub base: Option<u32>,
}

/// `launch-type` or `capacity-provider-strategy` (never both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// `FARGATE`, `EC2` or `EXTERNAL`.
    LaunchType(String),
    CapacityProviders(Vec<CapacityProvider>),
}

/// Subnets or security groups: given by id, looked up by one tag, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    None,
    Ids(Vec<String>),
    Tag { key: String, value: String },
}

/// Where the credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (already in the
    /// settings).
    Environment,
    /// `role-to-assume`: GitHub's OIDC token, then STS.
    GitHubOidc {
        role_arn: String,
        session_name: String,
        duration_s: u32,
        audience: String,
        request_url: String,
        request_token: String,
    },
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN` (EKS), then STS.
    WebIdentityFile {
        role_arn: String,
        session_name: String,
        token_file: String,
    },
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (against 169.254.170.2) or
    /// `..._FULL_URI`, with the authorization token or its file.
    Container {
        url: String,
        token: Option<String>,
        token_file: Option<String>,
    },
    /// EC2 instance metadata, IMDSv2.
    Imds { endpoint: String },
}

impl Source {
    /// For the log line.
    pub fn describe(&self) -> String {
        match self {
            Source::Environment => "the environment (AWS_ACCESS_KEY_ID)".into(),
            Source::GitHubOidc { role_arn, .. } => {
                format!("role {role_arn}, assumed with GitHub's OIDC token")
            }
            Source::WebIdentityFile {
                role_arn,
                token_file,
                ..
            } => {
                format!("role {role_arn}, assumed with the web identity token in {token_file}")
            }
            Source::Container { url, .. } => format!("the ECS container credentials at {url}"),
            Source::Imds { endpoint } => {
                format!("the EC2 instance metadata at {endpoint} (IMDSv2)")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X64,
    Arm64,
}

impl Arch {
    /// The runner label GitHub uses (`RUNNER_ARCH`).
    pub fn label(self) -> &'static str {
        match self {
            Arch::X64 => "X64",
            Arch::Arm64 => "ARM64",
        }
    }
    /// `runtimePlatform.cpuArchitecture`.
    pub fn ecs(self) -> &'static str {
        match self {
            Arch::X64 => "X86_64",
            Arch::Arm64 => "ARM64",
        }
    }
}

/// What `image` and its companion inputs ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    pub image: String,
    pub cpu: u32,
    pub memory: u32,
    pub arch: Arch,
    /// ARN or role name (ECS fills in the account for a name).
    pub execution_role: Option<String>,
    pub task_role: Option<String>,
    pub log_group: Option<String>,
    /// EFS file system id and where it is mounted.
    pub efs: Option<(String, String)>,
    /// `efs-access-point`: mount through this access point (its POSIX user
    /// and root directory make the volume writable for the runner).
    pub efs_access_point: Option<String>,
    /// `efs-iam`: mount with the task role's IAM authorization.
    pub efs_iam: bool,
    pub ephemeral_storage_gib: Option<u32>,
    pub command: Vec<String>,
}

/// Base URLs, without a trailing slash, e.g. `https://ecs.us-west-2.amazonaws.com`
/// or `http://127.0.0.1:5000` from `AWS_ENDPOINT_URL(_ECS|_EC2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub ecs: String,
    pub ec2: String,
    /// CloudWatch Logs (`AWS_ENDPOINT_URL_LOGS`), for the runner's log tail.
    pub logs: String,
    /// STS (`AWS_ENDPOINT_URL_STS`), for AssumeRoleWithWebIdentity.
    pub sts: String,
}

/// Facts about the workflow run, from the `GITHUB_*` / `RUNNER_*` environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunContext {
    /// `GITHUB_REPOSITORY`, `owner/repo`.
    pub repository: String,
    pub run_id: String,
    pub run_attempt: String,
    pub job: String,
    pub workflow: String,
    /// `GITHUB_SERVER_URL`, default `https://github.com`.
    pub server_url: String,
    /// Runner architecture label: `X64`, `ARM64`, `ARM` (from `RUNNER_ARCH`,
    /// default `X64`).
    pub arch: String,
}

/// `runner-group` when not given: GitHub's "Default" group, the only one a
/// repository has.
pub const DEFAULT_RUNNER_GROUP: u64 = 1;

/// Everything the machines need, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub mode: Mode,
    /// `count`: how many runners a start launches (1..=100).
    pub count: usize,
    /// `name`: runner name prefix and default task definition.
    pub name: String,
    /// `token` or `github-token` (secret); with a GitHub App, the
    /// installation token once it is known.
    pub token: String,
    /// `app-id` and `app-private-key`: authenticate as a GitHub App.
    pub app: Option<(String, String)>,
    /// Extra labels from `labels`, in order, without empties.
    pub labels: Vec<String>,
    pub workdir: String,
    pub scope: Scope,
    pub task_definition: String,
    pub cluster: String,
    pub placement: Placement,
    /// `capacity-fallback`: where runners go that `placement` has no
    /// capacity for.
    pub capacity_fallback: Option<Placement>,
    /// `image` and its companions: the task definition the action registers
    /// (family `task_definition`, which is `name`); None with a
    /// `task-definition` of the user's.
    pub task_spec: Option<TaskSpec>,
    pub platform_version: Option<String>,
    pub subnets: Lookup,
    pub security_groups: Lookup,
    pub assign_public_ip: bool,
    pub container_name: Option<String>,
    /// `tags`: `key=value` pairs for the task.
    pub tags: Vec<(String, String)>,
    /// `env`: `KEY=VALUE` pairs for the runner container.
    pub env: Vec<(String, String)>,
    pub runner_group: u64,
    /// `runner-group` given by name (an organization's group): looked up
    /// with GitHub before registering.
    pub runner_group_name: Option<String>,
    pub registration: Registration,
    /// `timeout`: seconds until the task is RUNNING (and, with
    /// `wait-for-registration`, the runner online).
    pub timeout_s: u64,
    pub wait_for_registration: bool,
    pub debug: bool,
    /// `default-labels`: register with `self-hosted`, `Linux` and the
    /// architecture (true, the default) or only with the runner's own.
    pub default_labels: bool,
    /// Stop mode: `task-arn` (ARNs or ids, at most 100; may be empty) and
    /// `runner-id` (a runner, or a fleet's label).
    pub task_arns: Vec<String>,
    pub runner_id: Option<String>,
    /// Reap mode: `max-age` in minutes and `dry-run`.
    pub max_age_min: u64,
    pub dry_run: bool,
    pub region: String,
    /// The AWS credentials: from the environment at once, else filled in
    /// from `credential_source` before the mode's machine starts.
    pub credentials: AwsCredentials,
    pub credential_source: Source,
    pub endpoints: Endpoints,
    /// `GITHUB_API_URL` without trailing slash, default `https://api.github.com`.
    pub github_api_url: String,
    pub run: RunContext,
}
