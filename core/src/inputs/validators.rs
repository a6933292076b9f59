//! The checks several concerns use: lists, whole numbers, ECS names and
//! ARNs, regions, booleans, URLs; and [`show`], how a user's value is quoted
//! in a message.

use super::parser::Parser;

/// Longest quoted value in a message, in characters.
pub const SHOWN_VALUE_MAX: usize = 80;

impl<'a> Parser<'a> {
    /// The values `core.getBooleanInput` accepts (YAML 1.2 core schema).
    pub(super) fn boolean(&mut self, input: &str) -> bool {
        let raw = self.input(input);
        match raw {
            "" | "false" | "False" | "FALSE" => false,
            "true" | "True" | "TRUE" => true,
            _ => {
                self.report(
                    input,
                    format!(
                        "{} is not a boolean; use true, True, TRUE, false, False or FALSE",
                        show(raw)
                    ),
                );
                false
            }
        }
    }

    /// The URL in `variable` (checked, without a trailing '/'), if set.
    pub(super) fn url_opt(&mut self, variable: &str) -> Option<String> {
        self.env(variable).map(|url| self.check_url(variable, url))
    }

    /// The URL from `variable`, or `default`; without a trailing '/'.
    pub(super) fn url(&mut self, variable: &str, default: &str) -> String {
        self.url_opt(variable)
            .unwrap_or_else(|| default.to_string())
    }

    pub(super) fn check_url(&mut self, variable: &str, url: &str) -> String {
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .map(|rest| rest.split('/').next().unwrap_or(""));
        let ok = host.is_some_and(|h| !h.is_empty())
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            self.report(
                variable,
                format!(
                    "{} is not a URL; expected http://HOST[:PORT] or https://HOST",
                    show(url)
                ),
            );
        }
        url.trim_end_matches('/').to_string()
    }
}

/// Items of a list input: separated by commas, spaces or newlines, empties
/// dropped (so `a, b`, `a b` and one per line all mean the same).
pub(super) fn split_list(raw: &str) -> Vec<&str> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .collect()
}

/// Quotes a user value for a message: cut to [`SHOWN_VALUE_MAX`] characters,
/// control characters escaped so a newline cannot forge a log line.
pub(super) fn show(value: &str) -> String {
    let mut out = String::from("'");
    for (i, c) in value.chars().enumerate() {
        if i == SHOWN_VALUE_MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

pub(super) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Digits only: `u64::from_str` would also take a leading '+'.
pub(super) fn parse_uint(s: &str) -> Option<u64> {
    if is_digits(s) {
        s.parse().ok()
    } else {
        None
    }
}

pub(super) fn is_ecs_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Cluster, container, capacity provider names and task definition families:
/// 1..=255 of `A-Za-z0-9_-` (ECS API reference).
pub(super) fn is_ecs_name(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.chars().all(is_ecs_name_char)
}

pub(super) fn is_family(s: &str) -> bool {
    is_ecs_name(s)
}

pub(super) fn is_family_revision(s: &str) -> bool {
    match s.split_once(':') {
        Some((family, revision)) => {
            is_family(family) && parse_uint(revision).is_some_and(|n| n > 0)
        }
        None => false,
    }
}

/// `us-west-2`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-2`: two letters,
/// one or more lower-case words, a number.
pub(super) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|n| is_digits(n) && n.len() <= 3)
}

/// The resource part of `arn:PARTITION:ecs:REGION:ACCOUNT:RESOURCE`, where
/// PARTITION is `aws` or `aws-...` and ACCOUNT is 12 digits.
pub(super) fn parse_ecs_arn(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return None;
    };
    let partition_ok = partition.strip_prefix("aws").is_some_and(|rest| {
        rest.is_empty()
            || (rest.starts_with('-') && rest.bytes().all(|b| b == b'-' || b.is_ascii_lowercase()))
    });
    (*prefix == "arn"
        && partition_ok
        && *service == "ecs"
        && is_region(region)
        && account.len() == 12
        && is_digits(account))
    .then_some(*resource)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::tests::*;
    use crate::settings::Lookup;

    #[test]
    fn lists_accept_commas_spaces_and_newlines() {
        let s = ok(
            &[
                ("labels", "gpu, large\nfast  ,,\n\n  arm"),
                (
                    "subnets",
                    "subnet-01234567,\nsubnet-89abcdef subnet-0123456789abcdef0",
                ),
            ],
            &[],
        );
        assert_eq!(s.labels, ["gpu", "large", "fast", "arm"]);
        assert_eq!(
            s.subnets,
            Lookup::Ids(vec![
                "subnet-01234567".into(),
                "subnet-89abcdef".into(),
                "subnet-0123456789abcdef0".into()
            ])
        );
    }

    #[test]
    fn shown_values_are_cut_and_escaped() {
        let long = "z".repeat(200);
        let p = only(&[("mode", &long)], &[]);
        assert!(p
            .message
            .contains(&format!("'{}…'", "z".repeat(SHOWN_VALUE_MAX))));
        assert_eq!(show("a\u{1b}[31m"), "'a\\u{1b}[31m'");
    }

    #[test]
    fn booleans_follow_get_boolean_input() {
        for input in ["wait-for-registration", "debug", "dry-run"] {
            for (raw, want) in [
                ("true", true),
                ("True", true),
                ("TRUE", true),
                ("False", false),
            ] {
                let s = ok(&[(input, raw)], &[]);
                let got = match input {
                    "debug" => s.debug,
                    "dry-run" => s.dry_run,
                    _ => s.wait_for_registration,
                };
                assert_eq!(got, want, "{input}={raw}");
            }
            for bad in ["yes", "no", "on", "1", "0", "tRue"] {
                let p = only(&[(input, bad)], &[]);
                assert_eq!(p.input, input);
                says(&p, &[&show(bad), "true, True, TRUE, false, False or FALSE"]);
            }
        }
    }
}
