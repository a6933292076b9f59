//! Per-runner placeholders in `env` and `tags` values: `{runner_name}`,
//! `{runner_id}` (the step's label), `{index}` (1-based), `{run_id}`,
//! `{run_attempt}`, `{job}`, `{repository}`. `{{` and `}}` are literal
//! braces. [`check`] runs on the inputs (an unknown placeholder is an input
//! error), [`expand`] when each runner's RunTask is built.

/// The placeholders, in the order the error message lists them.
pub const KNOWN: &[&str] = &[
    "runner_name",
    "runner_id",
    "index",
    "run_id",
    "run_attempt",
    "job",
    "repository",
];

/// One runner's values of the placeholders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub runner_name: String,
    pub runner_id: String,
    pub index: usize,
    pub run_id: String,
    pub run_attempt: String,
    pub job: String,
    pub repository: String,
}

impl Values {
    fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "runner_name" => self.runner_name.clone(),
            "runner_id" => self.runner_id.clone(),
            "index" => self.index.to_string(),
            "run_id" => self.run_id.clone(),
            "run_attempt" => self.run_attempt.clone(),
            "job" => self.job.clone(),
            "repository" => self.repository.clone(),
            _ => return None,
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Name(&'a str),
}

/// The template in pieces, or what is wrong with it.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        if at > 0 {
            out.push(Piece::Text(&rest[..at]));
        }
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push(Piece::Brace('{'));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push(Piece::Brace('}'));
            rest = after;
        } else if tail.starts_with('}') {
            return Err("a lone '}' (write }} for a literal brace)".into());
        } else {
            let Some(end) = tail.find('}') else {
                return Err("a '{' without its '}' (write {{ for a literal brace)".into());
            };
            let name = &tail[1..end];
            if !KNOWN.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{name}}}; the known ones are {}",
                    KNOWN
                        .iter()
                        .map(|k| format!("{{{k}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            out.push(Piece::Name(name));
            rest = &tail[end + 1..];
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Whether `template` is well formed: only known placeholders, braces
/// doubled where literal.
pub fn check(template: &str) -> Result<(), String> {
    pieces(template).map(|_| ())
}

/// The template with its placeholders removed and literal braces kept:
/// what must pass a value check that placeholders would fail (tag values
/// allow no braces, but the values put in for them never hold one).
pub fn literal_text(template: &str) -> String {
    match pieces(template) {
        Ok(ps) => ps
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.to_string(),
                Piece::Brace(c) => c.to_string(),
                Piece::Name(_) => String::new(),
            })
            .collect(),
        Err(_) => template.to_string(),
    }
}

/// The template for one runner. A template that [`check`] rejects comes
/// back as it is (inputs.rs has refused it before any start).
pub fn expand(template: &str, values: &Values) -> String {
    match pieces(template) {
        Ok(ps) => ps
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.to_string(),
                Piece::Brace(c) => c.to_string(),
                Piece::Name(n) => values.get(n).unwrap_or_default(),
            })
            .collect(),
        Err(_) => template.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values {
            runner_name: "gh-1-1-abcd0123-2".into(),
            runner_id: "gh-1-1-abcd0123".into(),
            index: 2,
            run_id: "1".into(),
            run_attempt: "1".into(),
            job: "build".into(),
            repository: "octo/app".into(),
        }
    }

    #[test]
    fn each_placeholder_is_expanded_and_doubled_braces_are_literal() {
        let v = values();
        assert_eq!(
            expand("/cache/{runner_name}", &v),
            "/cache/gh-1-1-abcd0123-2"
        );
        assert_eq!(
            expand(
                "{runner_id}#{index}@{run_id}.{run_attempt}:{job}/{repository}",
                &v
            ),
            "gh-1-1-abcd0123#2@1.1:build/octo/app"
        );
        assert_eq!(expand("{{literal}} {{{index}}}", &v), "{literal} {2}");
        assert_eq!(expand("plain", &v), "plain");
        assert_eq!(expand("", &v), "");
        assert_eq!(literal_text("x-{runner_name}-{{y}}"), "x--{y}");
    }

    #[test]
    fn unknown_or_unbalanced_placeholders_are_explained() {
        let e = check("{runner}").unwrap_err();
        assert!(e.contains("unknown placeholder {runner}"), "{e}");
        assert!(e.contains("{runner_name}, {runner_id}, {index}"), "{e}");
        assert!(check("{index").unwrap_err().contains("without its '}'"));
        assert!(check("a}b").unwrap_err().contains("lone '}'"));
        assert!(check("{}").unwrap_err().contains("unknown placeholder {}"));
        assert!(check("{{}}").is_ok());
    }
}
