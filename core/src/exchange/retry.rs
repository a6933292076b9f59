//! When to try a failed call again, and after how long.
//!
//! AWS: the SDKs' standard retry mode (AWS SDKs and Tools reference guide,
//! "Retry behavior"): transient errors (transport failures, 5xx, the
//! transient codes) and throttling errors are retried with exponential
//! back-off and full jitter, `random(0, 1) × min(1 s × 2^(attempt-1), 20 s)`.
//! Not adopted from it: the retry quota (a token bucket that stops retries
//! after many failures). A fleet throttled as a whole would empty it and
//! fail every runner, where waiting out the throttle within the step's
//! `timeout` gets them all started.
//!
//! GitHub ("Rate limits for the REST API", "Best practices for using the
//! REST API"): a 403 or 429 with `retry-after` waits that many seconds; with
//! `x-ratelimit-remaining: 0` it waits until `x-ratelimit-reset` (epoch
//! seconds); a secondary rate limit without either waits at least a minute.
//! Such a wait holds back every GitHub call of the step, not only the one
//! that was told, since the limit is the token's. 5xx and transport errors
//! are retried like AWS's.
//!
//! The jitter's randomness is the shell's ([`crate::protocol::Config::random`]),
//! stretched by a small deterministic generator, so a test that gives the
//! same bytes sees the same delays.

use crate::aws::error as aws_error;
use crate::exchange::call::Service;
use crate::protocol::{HttpResponse, Millis};

/// Attempts per call, the first included, for transient errors.
pub const MAX_ATTEMPTS: u32 = 4;
/// Throttling says "not now", not "broken": more attempts, each further
/// apart, all within the step's deadline.
pub const MAX_THROTTLED_ATTEMPTS: u32 = 8;
/// Back-off: the cap of the exponential (standard mode's 20 s) and its base.
const BASE_MS: u64 = 1_000;
const MAX_BACKOFF_MS: u64 = 20_000;
/// A secondary rate limit that names no wait: "wait for at least one
/// minute before retrying" (GitHub docs).
const SECONDARY_LIMIT_WAIT_MS: u64 = 60_000;

/// What a failed answer calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Final: report it.
    Final,
    /// Broken for a moment: back off and retry.
    Transient,
    /// Too many requests (AWS throttling): back off longer and retry.
    Throttled,
    /// GitHub said when to come back: hold every GitHub call until `until`
    /// (`why` for the log).
    RateLimited { until: Millis, why: String },
}

/// Classify a non-2xx answer (or a transport failure, status 0) of `service`.
///
/// AWS: retried when there was no answer at all, 429, a 5xx other than 501
/// Not Implemented, or a code in [`aws_error::THROTTLING_CODES`] or
/// [`aws_error::TRANSIENT_CODES`] (EC2 throttles with 503
/// `RequestLimitExceeded`, ECS with 400 `ThrottlingException`).
///
/// A request that got no answer may still have been carried out: only retry
/// a non-idempotent call (RunTask) with the same `clientToken`.
pub fn verdict(service: Service, resp: &HttpResponse, now: Millis) -> Verdict {
    match service {
        Service::GitHub => github_verdict(resp, now),
        // STS answers as AWS does; the metadata endpoints with plain HTTP
        // statuses, which read the same way.
        Service::Ecs | Service::Ec2 | Service::Logs | Service::Plain => {
            if resp.status == 0 || (resp.status >= 500 && resp.status != 501) {
                // Some 5xx carry a throttling code (EC2's RequestLimitExceeded
                // comes as 503); those back off as throttles.
                let code = aws_error::parse(resp).code;
                if aws_error::THROTTLING_CODES.contains(&code.as_str()) {
                    return Verdict::Throttled;
                }
                return Verdict::Transient;
            }
            if resp.status == 429 {
                return Verdict::Throttled;
            }
            let code = aws_error::parse(resp).code;
            if aws_error::THROTTLING_CODES.contains(&code.as_str()) {
                Verdict::Throttled
            } else if aws_error::TRANSIENT_CODES.contains(&code.as_str()) {
                Verdict::Transient
            } else {
                Verdict::Final
            }
        }
    }
}

fn github_verdict(resp: &HttpResponse, now: Millis) -> Verdict {
    if resp.status == 0 || resp.status >= 500 {
        return Verdict::Transient;
    }
    if resp.status != 403 && resp.status != 429 {
        return Verdict::Final;
    }
    if let Some(secs) = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Verdict::RateLimited {
            until: now.saturating_add(secs.saturating_mul(1000)),
            why: format!("retry-after: {secs}"),
        };
    }
    if resp.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
        if let Some(reset) = resp
            .header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            // The reset is a whole second; a second more so the first try
            // after it is not early by the clocks' difference.
            let until = reset.saturating_mul(1000).saturating_add(1000).max(now);
            return Verdict::RateLimited {
                until,
                why: "x-ratelimit-remaining: 0".into(),
            };
        }
    }
    if resp.status == 429
        || resp
            .body
            .to_ascii_lowercase()
            .contains("secondary rate limit")
    {
        return Verdict::RateLimited {
            until: now.saturating_add(SECONDARY_LIMIT_WAIT_MS),
            why: "secondary rate limit".into(),
        };
    }
    // A plain 403: a permission problem, final.
    Verdict::Final
}

/// The attempts a call gets for a verdict.
pub fn max_attempts(v: &Verdict) -> u32 {
    match v {
        Verdict::Final => 1,
        Verdict::Transient => MAX_ATTEMPTS,
        Verdict::Throttled | Verdict::RateLimited { .. } => MAX_THROTTLED_ATTEMPTS,
    }
}

/// Full-jitter exponential back-off before attempt `attempt + 1`
/// (`attempt` ≥ 1 is the one that failed); `unit` is uniform in [0, 1).
pub fn backoff_ms(attempt: u32, unit: f64) -> u64 {
    let ceiling = (BASE_MS << attempt.saturating_sub(1).min(5)).min(MAX_BACKOFF_MS);
    // At least 50 ms: a zero wait would be a retry storm in a tight loop.
    ((ceiling as f64 * unit) as u64).max(50)
}

/// A small deterministic generator (SplitMix64) seeded with the shell's
/// random bytes: only for jitter, never for names or secrets.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// Seeded from hex digits (what is not hex is skipped).
    pub fn from_hex(hex: &str) -> Self {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for (i, c) in hex.chars().filter_map(|c| c.to_digit(16)).enumerate() {
            seed ^= u64::from(c) << ((i * 4) % 64);
            seed = seed.rotate_left(5).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        }
        Jitter(seed)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::aws::error::tests::resp;

    #[test]
    fn aws_throttling_transient_and_final() {
        let throttle = resp(
            400,
            &[],
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        );
        assert_eq!(verdict(Service::Ecs, &throttle, 0), Verdict::Throttled);
        let ec2 = resp(503, &[], "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow</Message></Error></Errors></Response>");
        assert_eq!(verdict(Service::Ec2, &ec2, 0), Verdict::Throttled);
        let server = resp(500, &[], r#"{"__type":"ServerException","message":"x"}"#);
        assert_eq!(verdict(Service::Ecs, &server, 0), Verdict::Transient);
        assert_eq!(
            verdict(Service::Ecs, &resp(0, &[], ""), 0),
            Verdict::Transient
        );
        let denied = resp(
            400,
            &[],
            r#"{"__type":"AccessDeniedException","message":"no"}"#,
        );
        assert_eq!(verdict(Service::Ecs, &denied, 0), Verdict::Final);
        assert_eq!(
            verdict(Service::Ecs, &resp(501, &[], ""), 0),
            Verdict::Final
        );
    }

    #[test]
    fn github_rate_limit_answers_say_when_to_come_back() {
        let now = 1_000_000;
        assert_eq!(
            verdict(
                Service::GitHub,
                &resp(403, &[("Retry-After", "7")], ""),
                now
            ),
            Verdict::RateLimited {
                until: now + 7_000,
                why: "retry-after: 7".into()
            }
        );
        assert_eq!(
            verdict(
                Service::GitHub,
                &resp(
                    403,
                    &[
                        ("x-ratelimit-remaining", "0"),
                        ("x-ratelimit-reset", "1100")
                    ],
                    ""
                ),
                now
            ),
            Verdict::RateLimited {
                until: 1_101_000,
                why: "x-ratelimit-remaining: 0".into()
            }
        );
        let secondary = resp(
            403,
            &[],
            r#"{"message":"You have exceeded a secondary rate limit"}"#,
        );
        assert_eq!(
            verdict(Service::GitHub, &secondary, now),
            Verdict::RateLimited {
                until: now + 60_000,
                why: "secondary rate limit".into()
            }
        );
        assert_eq!(
            verdict(
                Service::GitHub,
                &resp(403, &[], r#"{"message":"Resource not accessible"}"#),
                now
            ),
            Verdict::Final
        );
        assert_eq!(
            verdict(Service::GitHub, &resp(404, &[], ""), now),
            Verdict::Final
        );
        assert_eq!(
            verdict(Service::GitHub, &resp(502, &[], ""), now),
            Verdict::Transient
        );
    }

    #[test]
    fn backoff_is_full_jitter_under_a_growing_cap() {
        assert_eq!(backoff_ms(1, 0.999_9), 999);
        assert_eq!(backoff_ms(2, 0.5), 1_000);
        assert_eq!(backoff_ms(3, 0.999_9), 3_999);
        assert_eq!(backoff_ms(9, 0.999_9), 19_998);
        assert_eq!(backoff_ms(1, 0.0), 50);
    }

    #[test]
    fn jitter_is_uniform_enough_and_follows_its_seed() {
        let mut a = Jitter::from_hex("0123abcd4567ef89");
        let mut b = Jitter::from_hex("0123abcd4567ef89");
        let mut c = Jitter::from_hex("ffffabcd4567ef89");
        let xs: Vec<f64> = (0..1000).map(|_| a.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / 1000.0;
        assert!((0.45..0.55).contains(&mean), "{mean}");
        assert_eq!(b.unit(), xs[0]);
        assert_ne!(c.unit(), xs[0]);
    }
}
