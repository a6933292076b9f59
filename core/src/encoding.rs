//! The text encodings the wire formats share: form values (the AWS Query
//! APIs, STS, GitHub's query strings) and RFC 3339 time stamps (GitHub's,
//! STS's).
//!
//! Uses nothing else of the core.

/// Encodes a form value: the RFC 3986 unreserved characters
/// `A-Z a-z 0-9 - _ . ~` stay, a space becomes `+`, every other byte of the
/// UTF-8 text becomes `%XY` with upper-case hex. Byte for byte what botocore
/// (the AWS CLI) sends for Query APIs (Python `urlencode`, i.e. `quote_plus`).
///
/// Why `+` and not `%20`: AWS hashes the body exactly as sent, so both are
/// accepted there, but moto checks the signature against the body parsed
/// and re-encoded with `quote_plus`: a `%20` fails its check (401
/// AuthFailure), a `+` passes (checked with moto 5.2, auth checking on).
/// A literal `+` is `%2B`, so it is never read back as a space. GitHub's
/// `?name=` query reads the same encoding.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else if byte == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `2026-11-23T09:15:00Z` (GitHub's timestamps; fractions and offsets
/// accepted) to whole seconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let t = DateTime::from_str(text, Format::DateTimeWithOffset).ok()?;
    u64::try_from(t.secs()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_answers() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2020-01-22T19:33:08Z"), Some(1_579_721_588));
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:59.250Z"),
            Some(1_709_251_199)
        );
        assert_eq!(
            parse_rfc3339("2020-01-22T21:33:08+02:00"),
            Some(1_579_721_588)
        );
        assert_eq!(
            parse_rfc3339("2020-01-22T17:03:08-02:30"),
            Some(1_579_721_588)
        );
        assert_eq!(parse_rfc3339("2020-13-22T19:33:08Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
