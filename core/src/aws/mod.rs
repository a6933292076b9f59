//! The AWS wire formats: for each service the core calls, the request
//! bodies it sends and how it reads the answers.
//!
//! - `ecs.rs`: ECS (JSON 1.1): tasks, task definitions, container instances.
//! - `taskdef.rs`: the task definition the action registers from `image`.
//! - `ec2.rs`: EC2 (Query API, XML answers): subnets and security groups by
//!   tag, instance IPs; with the small XML reader every XML answer uses.
//! - `logs.rs`: CloudWatch Logs: the runner's last log lines.
//! - `creds.rs`: what the credential sources answer (STS, the ECS container
//!   endpoint, IMDS).
//! - `error.rs`: a failed AWS answer, as data.
//!
//! May use: `protocol` (the answer as the shell gives it) and `settings`.
//! Nothing here sends, waits or knows a machine: the exchange and the modes
//! above do.

pub mod creds;
pub mod ec2;
pub mod ecs;
pub mod error;
pub mod logs;
pub mod taskdef;
