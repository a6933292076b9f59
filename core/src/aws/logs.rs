//! The runner's own last log lines, from CloudWatch Logs (CloudWatch Logs
//! API reference, GetLogEvents; JSON 1.1, target `Logs_20140328`), shown
//! when a start fails after its task was started.

use serde_json::{json, Value};

use crate::aws::ecs::AwsLogs;

/// How many lines of the runner's log a failure shows.
pub const TAIL_LINES: u32 = 50;

/// The awslogs stream of `container` in task `task_id`.
pub fn stream(logs: &AwsLogs, container: &str, task_id: &str) -> String {
    format!("{}/{container}/{task_id}", logs.prefix)
}

/// The last [`TAIL_LINES`] events of a stream.
pub fn get_log_events(group: &str, stream: &str) -> Value {
    json!({
        "logGroupName": group,
        "logStreamName": stream,
        "limit": TAIL_LINES,
        "startFromHead": false,
    })
}

/// The messages of a GetLogEvents answer, oldest first, each one line.
pub fn parse_events(body: &str) -> Option<Vec<String>> {
    let v: Value = serde_json::from_str(body).ok()?;
    Some(
        v.get("events")?
            .as_array()?
            .iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .map(|m| m.trim_end_matches(['\n', '\r']).to_string())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_and_events() {
        let l = AwsLogs {
            group: "/ecs-runner".into(),
            region: "us-west-2".into(),
            prefix: "ecs-runner".into(),
        };
        assert_eq!(stream(&l, "runner", "abc"), "ecs-runner/runner/abc");
        let body = r#"{"events":[{"timestamp":1,"message":"one\n"},{"timestamp":2,"message":"two"}],"nextForwardToken":"f"}"#;
        assert_eq!(parse_events(body).unwrap(), ["one", "two"]);
        assert_eq!(parse_events("{}"), None);
    }
}
