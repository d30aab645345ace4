//! The data-quality report: `target/dq_report.json` and a self-contained
//! `target/dq_report.html` (no server, no CDN) listing, per model, every check that ran with
//! its status, failure count, severity, its trend over the last runs (from
//! `tmk_meta.test_results`) and a sample of failing rows. It must not speak SQL: the command
//! hands it the history and the samples.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::adapter::postgres::TestHistoryEntry;
use crate::compile::Manifest;
use crate::compile::jinja::context::QueryTable;
use crate::compile::node::Node;
use crate::execute::NodeResult;
use crate::plan::StepAction;

/// What the report is built from besides the run's results.
pub struct DqInputs<'a> {
    /// Each test's results in earlier runs, newest first (this run's come from the results).
    pub history: &'a HashMap<String, Vec<TestHistoryEntry>>,
    /// Up to a few failing rows of each failing or warning test.
    pub samples: &'a HashMap<String, QueryTable>,
}

/// The report as JSON: models (by name) with their checks.
pub fn dq_report_json(manifest: &Manifest, results: &[NodeResult], inputs: &DqInputs) -> Value {
    let mut models: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for result in results.iter().filter(|result| result.action == StepAction::Test) {
        let node = &manifest.nodes[result.node];
        let owner =
            tested_node(manifest, node).map_or_else(|| "(no model)".to_string(), |owner| owner.name.clone());
        // Earlier runs (newest first in the history), oldest first, then this run.
        let mut trend: Vec<Value> = inputs
            .history
            .get(&node.unique_id)
            .into_iter()
            .flatten()
            .rev()
            .map(|entry| json!({"recorded_at": entry.recorded_at, "status": entry.status, "failures": entry.failures}))
            .collect();
        trend.push(json!({
            "recorded_at": super::format_time(&result.started_at),
            "status": result.status.as_str(),
            "failures": result.failures,
        }));
        let sample = inputs
            .samples
            .get(&node.unique_id)
            .map(|table| json!({"columns": table.column_names, "rows": table.rows}));
        models.entry(owner).or_default().push(json!({
            "unique_id": node.unique_id,
            "name": node.name,
            "test": node.test.as_ref().map_or("singular", |test| test.name.as_str()),
            "column": node.test.as_ref().and_then(|test| test.column_name.clone()),
            "severity": node.severity().to_lowercase(),
            "status": result.status.as_str(),
            "failures": result.failures,
            "message": result.message,
            "trend": trend,
            "sample": sample,
        }));
    }
    json!({
        "metadata": {
            "generated_at": super::format_time(&chrono::Utc::now()),
            "invocation_id": crate::invocation::id(),
        },
        "models": models
            .into_iter()
            .map(|(name, checks)| json!({"model": name, "checks": checks}))
            .collect::<Vec<_>>(),
    })
}

/// The model (or seed, snapshot, source) a test checks: the one it is attached to, else its
/// first parent.
fn tested_node<'m>(manifest: &'m Manifest, test: &Node) -> Option<&'m Node> {
    let attached = test.test.as_ref().and_then(|metadata| metadata.attached_node);
    attached
        .or_else(|| test.depends_on.first().copied())
        .map(|index| &manifest.nodes[index])
}

/// The report as one HTML page.
pub fn dq_report_html(report: &Value) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let models = report["models"].as_array().cloned().unwrap_or_default();
    for check in models
        .iter()
        .flat_map(|model| model["checks"].as_array().cloned().unwrap_or_default())
    {
        *counts
            .entry(check["status"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    let mut html = String::from(HEAD);
    let summary: Vec<String> = counts
        .iter()
        .map(|(status, count)| format!("<span class=\"badge {0}\">{0}</span> {count}", escape(status)))
        .collect();
    let _ = write!(
        html,
        "<h1>Data quality</h1><p class=\"meta\">generated {} &middot; {}</p>",
        escape(report["metadata"]["generated_at"].as_str().unwrap_or("")),
        summary.join(" &nbsp; ")
    );
    for model in &models {
        let _ = write!(
            html,
            "<h2>{}</h2><table><tr><th>check</th><th>column</th><th>severity</th><th>status</th><th>failures</th><th>trend (oldest → newest)</th><th>failing rows</th></tr>",
            escape(model["model"].as_str().unwrap_or(""))
        );
        for check in model["checks"].as_array().into_iter().flatten() {
            let status = check["status"].as_str().unwrap_or("?");
            let _ = write!(
                html,
                "<tr><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td><span class=\"badge {}\">{}</span></td><td class=\"number\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(check["unique_id"].as_str().unwrap_or("")),
                escape(check["name"].as_str().unwrap_or("")),
                escape(check["column"].as_str().unwrap_or("")),
                escape(check["severity"].as_str().unwrap_or("")),
                escape(status),
                escape(status),
                check["failures"]
                    .as_i64()
                    .map_or(String::new(), |failures| failures.to_string()),
                sparkline(&check["trend"]),
                sample_table(&check["sample"]),
            );
        }
        html.push_str("</table>");
    }
    html.push_str("</body></html>\n");
    html
}

/// An inline SVG of the failure counts of the last runs (a bar per run; red when it failed).
fn sparkline(trend: &Value) -> String {
    let entries = trend.as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        return String::new();
    }
    let highest = entries
        .iter()
        .filter_map(|entry| entry["failures"].as_i64())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut svg = format!(
        "<svg class=\"trend\" width=\"{}\" height=\"20\" role=\"img\"><title>{}</title>",
        entries.len() * 8,
        entries
            .iter()
            .map(|entry| entry["failures"]
                .as_i64()
                .map_or("-".to_string(), |failures| failures.to_string()))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    for (position, entry) in entries.iter().enumerate() {
        let failures = entry["failures"].as_i64().unwrap_or(0) as f64;
        let height = 2.0 + 16.0 * failures / highest;
        let class = escape(entry["status"].as_str().unwrap_or(""));
        let _ = write!(
            svg,
            "<rect class=\"{class}\" x=\"{}\" y=\"{:.1}\" width=\"6\" height=\"{height:.1}\"/>",
            position * 8,
            20.0 - height
        );
    }
    svg.push_str("</svg>");
    svg
}

fn sample_table(sample: &Value) -> String {
    let Some(columns) = sample["columns"].as_array() else {
        return String::new();
    };
    let rows = sample["rows"].as_array().cloned().unwrap_or_default();
    let mut html = format!(
        "<details><summary>{} row{}</summary><table class=\"sample\"><tr>",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    for column in columns {
        let _ = write!(html, "<th>{}</th>", escape(column.as_str().unwrap_or("")));
    }
    html.push_str("</tr>");
    for row in &rows {
        html.push_str("<tr>");
        for value in row.as_array().into_iter().flatten() {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Null => "null".to_string(),
                other => other.to_string(),
            };
            let _ = write!(html, "<td>{}</td>", escape(&text));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></details>");
    html
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const HEAD: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>tmk data quality</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
h1{margin-bottom:.2rem}h2{margin-top:2rem;font-size:1.1rem}
.meta{color:#666}
table{border-collapse:collapse;margin-top:.5rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.number{text-align:right}
.badge{border-radius:3px;padding:0 .4rem;color:#fff;background:#888}
.badge.pass{background:#2e7d32}.badge.warn{background:#ed6c02}.badge.fail,.badge.error{background:#c62828}
svg.trend rect{fill:#2e7d32}svg.trend rect.warn{fill:#ed6c02}svg.trend rect.fail,svg.trend rect.error{fill:#c62828}
table.sample{font-size:12px}
</style></head><body>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_values_and_draws_the_trend_and_sample() {
        let report = json!({
            "metadata": {"generated_at": "2026-11-21T10:00:00Z"},
            "models": [{"model": "orders", "checks": [{
                "unique_id": "test.x.not_null_orders_id", "name": "not_null_orders_id", "column": "id",
                "severity": "error", "status": "fail", "failures": 2,
                "trend": [{"status": "pass", "failures": 0}, {"status": "fail", "failures": 2}],
                "sample": {"columns": ["id", "note"], "rows": [[null, "<b>"]]}
            }]}]
        });
        let html = dq_report_html(&report);
        assert!(html.contains("<h2>orders</h2>"));
        assert!(html.contains("<span class=\"badge fail\">fail</span> 1"));
        assert!(html.contains("<title>0 → 2</title>"));
        assert!(html.contains("<td>null</td><td>&lt;b&gt;</td>"));
        assert!(!html.contains("<b>"));
    }
}
