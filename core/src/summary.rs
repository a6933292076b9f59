//! The job summary: one Markdown table row per runner.

use crate::settings::Settings;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    pub runner: String,
    pub task_id: String,
    pub ip: String,
    pub status: String,
    pub secs_to_running: Option<u64>,
}

/// The cluster's name, also when `cluster` is given as an ARN.
pub fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit('/').next().unwrap_or(cluster)
}

/// The ECS console page of a task.
pub fn console_url(s: &Settings, task_id: &str) -> String {
    let domain = if s.region.starts_with("cn-") {
        "console.amazonaws.cn"
    } else {
        "console.aws.amazon.com"
    };
    format!(
        "https://{region}.{domain}/ecs/v2/clusters/{cluster}/tasks/{task_id}/configuration?region={region}",
        region = s.region,
        cluster = cluster_name(&s.cluster)
    )
}

/// Markdown: a heading, the table, and the failure (if any) below it.
pub fn table(s: &Settings, rows: &[Row], failure: Option<&str>) -> String {
    let mut md = String::from("### ecs-runner\n\n");
    md.push_str("| Runner | Task | IP | Status | Seconds to RUNNING |\n");
    md.push_str("|---|---|---|---|---|\n");
    for r in rows {
        let task = if r.task_id.is_empty() {
            "—".to_string()
        } else {
            format!("[{}]({})", r.task_id, console_url(s, &r.task_id))
        };
        md.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            r.runner,
            task,
            if r.ip.is_empty() { "—" } else { &r.ip },
            cell(&r.status),
            r.secs_to_running
                .map(|x| x.to_string())
                .unwrap_or_else(|| "—".into())
        ));
    }
    md.push_str(&format!(
        "\nCluster `{}` in `{}`, runners registered for `{}`.\n",
        cluster_name(&s.cluster),
        s.region,
        s.scope.display()
    ));
    if let Some(f) = failure {
        md.push_str("\n**Failed:**\n\n```\n");
        md.push_str(f);
        md.push_str("\n```\n");
    }
    md
}

/// A table cell: no pipes or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for stop and reap: a heading and a table of (what, name,
/// result) rows.
pub fn list(s: &Settings, heading: &str, rows: &[(String, String, String)]) -> String {
    let mut md = format!("### {heading}\n\n| What | Name | Result |\n|---|---|---|\n");
    for (what, name, result) in rows {
        let name = if name.is_empty() {
            "—".to_string()
        } else {
            format!("`{}`", cell(name))
        };
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(what),
            name,
            cell(result)
        ));
    }
    md.push_str(&format!(
        "\nCluster `{}` in `{}`, runners of `{}`.\n",
        cluster_name(&s.cluster),
        s.region,
        s.scope.display()
    ));
    md
}

/// A collapsed block of lines (a runner's log) for the summary.
pub fn details(title: &str, lines: &[String]) -> String {
    let mut md = format!("\n<details><summary>{}</summary>\n\n```\n", cell(title));
    for line in lines {
        // A fence inside the log would end the block early.
        md.push_str(&line.replace("```", "` ` `"));
        md.push('\n');
    }
    md.push_str("```\n\n</details>\n");
    md
}
