//! All terminal output: one line per node as it finishes, the run summary, errors and warnings.
//! Colour only on a terminal and never with NO_COLOR; `--log-format json` prints one JSON object
//! per line instead. Libraries never print: they return data or call the `Reporter`. It must
//! not decide outcomes or exit codes: it only formats what it is handed.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use serde_json::json;

use crate::compile::Manifest;
use crate::compile::jinja::context::QueryTable;
use crate::error::Error;
use crate::execute::{NodeResult, Reporter, Status};
use crate::plan::StepAction;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

/// The terminal.
pub struct Console {
    format: LogFormat,
    color: bool,
    lock: Mutex<()>,
}

const WIDTH: usize = 64;

impl Console {
    /// A console writing `format`; colour when stdout is a terminal and NO_COLOR is unset.
    pub fn new(format: LogFormat) -> Console {
        let color = format == LogFormat::Text
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
        Console {
            format,
            color,
            lock: Mutex::new(()),
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn out(&self, line: &str) {
        let _guard = self.lock.lock();
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
    }

    fn event(&self, event: &str, mut fields: serde_json::Value) {
        if let serde_json::Value::Object(map) = &mut fields {
            map.insert("ts".to_string(), json!(chrono::Utc::now().to_rfc3339()));
            map.insert("event".to_string(), json!(event));
        }
        self.out(&fields.to_string());
    }

    /// A command's product (DDL, data) written to stdout as is, whatever the log format, so it
    /// can be piped.
    pub fn output(&self, text: &str) {
        let _guard = self.lock.lock();
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
    }

    /// An informational line.
    pub fn info(&self, message: &str) {
        match self.format {
            LogFormat::Text => self.out(message),
            LogFormat::Json => self.event("info", json!({"level": "info", "message": message})),
        }
    }

    /// A table of query results under a title, as `dbt show` prints it (numbers right-aligned),
    /// or one JSON event with the rows.
    pub fn table(&self, title: &str, table: &QueryTable) {
        match self.format {
            LogFormat::Text => self.out(&format!("{title}\n{}", render_table(table))),
            LogFormat::Json => self.event(
                "show",
                json!({"level": "info", "message": title, "columns": table.column_names, "rows": table.rows}),
            ),
        }
    }

    /// A warning (to stderr in text mode).
    pub fn warn(&self, warning: &Error) {
        match self.format {
            LogFormat::Text => {
                let _guard = self.lock.lock();
                let text = warning
                    .render(self.color)
                    .replacen(warning.kind.heading(), "warning", 1);
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
            LogFormat::Json => self.event("warning", json!({"level": "warn", "message": warning.one_line()})),
        }
    }

    /// An error that stops tmk (to stderr in text mode).
    pub fn error(&self, error: &Error) {
        match self.format {
            LogFormat::Text => {
                let _guard = self.lock.lock();
                let _ = writeln!(std::io::stderr().lock(), "{}", error.render(self.color));
            }
            LogFormat::Json => self.event(
                "error",
                json!({"level": "error", "message": error.message, "location": error.one_line(), "hint": error.hint, "details": error.details}),
            ),
        }
    }

    /// The summary after a run, then the details of every error and failure.
    pub fn summary(&self, manifest: &Manifest, results: &[NodeResult], elapsed: f64) {
        let count = |status: Status| results.iter().filter(|result| result.status == status).count();
        let pass = count(Status::Success) + count(Status::Pass);
        let (warn, error, skip, cancelled) = (
            count(Status::Warn),
            count(Status::Error) + count(Status::Fail),
            count(Status::Skipped),
            count(Status::Cancelled),
        );
        if self.format == LogFormat::Json {
            self.event("run_finished", json!({"level": "info", "pass": pass, "warn": warn, "error": error, "skip": skip, "cancelled": cancelled, "total": results.len(), "elapsed": elapsed}));
            return;
        }
        self.out("");
        self.out(&format!(
            "Finished running {} in {elapsed:.2}s.",
            describe_counts(manifest, results)
        ));
        for result in results
            .iter()
            .filter(|result| matches!(result.status, Status::Error | Status::Fail | Status::Warn))
        {
            let node = &manifest.nodes[result.node];
            let heading = match result.status {
                Status::Warn => self.paint("Warning", "33"),
                Status::Fail => self.paint("Failure", "31"),
                _ => self.paint("Error", "31"),
            };
            self.out("");
            let name = node.search_name();
            self.out(&format!(
                "{heading} in {} {name} ({})",
                node.resource_type.as_str(),
                node.path
            ));
            match &result.error {
                Some(error) => self.out(&error.render(self.color)),
                None => self.out(&format!("  {}", result.message)),
            }
        }
        self.out("");
        let cancelled = if cancelled > 0 {
            format!(" CANCELLED={cancelled}")
        } else {
            String::new()
        };
        let line = format!(
            "Done. PASS={pass} WARN={warn} ERROR={error} SKIP={skip}{cancelled} TOTAL={}",
            results.len()
        );
        let code = if error > 0 {
            "31"
        } else if warn > 0 {
            "33"
        } else {
            "32"
        };
        self.out(&self.paint(&line, code));
    }

    /// The last line of a run stopped by Ctrl-C (tmk then exits with code 130).
    pub fn cancelled(&self) {
        let message = "Cancelled by Ctrl-C: the running statements were cancelled and their transactions rolled back (their relations keep their previous state); the run is recorded as cancelled in tmk_meta.runs.";
        match self.format {
            LogFormat::Text => self.out(&self.paint(message, "33")),
            LogFormat::Json => self.event("run_cancelled", json!({"level": "warn", "message": message})),
        }
    }
}

/// "3 seeds, 5 models, 20 data tests".
fn describe_counts(manifest: &Manifest, results: &[NodeResult]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for result in results {
        let kind = match manifest.nodes[result.node].resource_type.as_str() {
            "test" => "data test",
            other => other,
        };
        match counts.iter_mut().find(|(name, _)| *name == kind) {
            Some((_, count)) => *count += 1,
            None => counts.push((kind, 1)),
        }
    }
    if counts.is_empty() {
        return "0 nodes".to_string();
    }
    counts
        .iter()
        .map(|(kind, count)| format!("{count} {kind}{}", if *count == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Reporter for Console {
    fn node_finished(&self, manifest: &Manifest, result: &NodeResult, position: usize, total: usize) {
        let node = &manifest.nodes[result.node];
        if self.format == LogFormat::Json {
            self.event(
                "node_finished",
                json!({
                    "level": if matches!(result.status, Status::Error | Status::Fail) { "error" } else { "info" },
                    "index": position, "total": total, "unique_id": node.unique_id,
                    "resource_type": node.resource_type.as_str(), "materialized": result.action.describe(),
                    "status": result.status.as_str(), "execution_time": result.execution_time,
                    "rows_affected": result.rows_affected, "failures": result.failures, "retries": result.retries,
                    "message": result.message,
                }),
            );
            return;
        }
        let (word, code) = match result.status {
            Status::Success => ("OK", "32"),
            Status::Pass => ("PASS", "32"),
            Status::Warn => ("WARN", "33"),
            Status::Fail => ("FAIL", "31"),
            Status::Error => ("ERROR", "31"),
            Status::Skipped => ("SKIP", "33"),
            Status::Cancelled => ("CANCEL", "33"),
        };
        let detail = match result.status {
            Status::Skipped | Status::Cancelled => word.to_string(),
            Status::Error => "ERROR".to_string(),
            _ if result.action == StepAction::Freshness => {
                result.message.split(';').next().unwrap_or_default().to_string()
            }
            Status::Fail | Status::Warn => format!("{word} {}", result.failures.unwrap_or(0)),
            _ if result.message.is_empty() => word.to_string(),
            _ => result.message.split(';').next().unwrap_or_default().to_string(),
        };
        let name = format!("{} {}", result.action.describe(), node.search_name());
        let dots = ".".repeat(WIDTH.saturating_sub(name.chars().count()).max(3));
        let width = total.to_string().len();
        let retried = match result.retries {
            0 => String::new(),
            1 => ", retried once".to_string(),
            retries => format!(", retried {retries} times"),
        };
        let line = format!(
            "{} {position:>width$} of {total} {} {name} {dots} [{} in {:.2}s{retried}]",
            chrono::Local::now().format("%H:%M:%S"),
            self.paint(&format!("{word:<5}"), code),
            detail,
            result.execution_time
        );
        self.out(&line);
    }

    fn run_cancelled(&self, running: usize) {
        let message = format!(
            "Ctrl-C: cancelling {running} running node{} and starting no more (press Ctrl-C again to quit at once)",
            if running == 1 { "" } else { "s" }
        );
        match self.format {
            LogFormat::Text => self.out(&self.paint(&message, "33")),
            LogFormat::Json => self.event(
                "run_cancelling",
                json!({"level": "warn", "message": message, "running": running}),
            ),
        }
    }
}

/// `| a | b |` rows under a `| - | - |` rule, each column as wide as its widest cell; numbers
/// (also numbers as text) are right-aligned, NULL is shown as `null`.
fn render_table(table: &QueryTable) -> String {
    let cell = |value: &serde_json::Value| match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect())
        .collect();
    let widths: Vec<usize> = table
        .column_names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            cells
                .iter()
                .map(|row| row[index].chars().count())
                .chain([name.chars().count(), 1])
                .max()
                .unwrap_or(1)
        })
        .collect();
    let is_number = |value: &serde_json::Value| match value {
        serde_json::Value::Number(_) => true,
        serde_json::Value::String(text) => text.parse::<f64>().is_ok(),
        _ => false,
    };
    let numeric: Vec<bool> = (0..widths.len())
        .map(|index| {
            table
                .rows
                .iter()
                .all(|row| is_number(&row[index]) || row[index].is_null())
                && table.rows.iter().any(|row| is_number(&row[index]))
        })
        .collect();
    let line = |values: Vec<String>| {
        let padded: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let width = widths[index];
                if numeric[index] {
                    format!("{value:>width$}")
                } else {
                    format!("{value:<width$}")
                }
            })
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let mut lines = vec![
        line(table.column_names.clone()),
        line(widths.iter().map(|width| "-".repeat(*width)).collect()),
    ];
    lines.extend(cells.into_iter().map(line));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_text_left_and_numbers_right() {
        let table = QueryTable {
            column_names: vec!["month".into(), "orders".into()],
            rows: vec![
                vec![json!("2024-01-01"), json!(7)],
                vec![json!("2024-02-01"), json!("123")],
            ],
            rows_affected: 0,
        };
        assert_eq!(
            render_table(&table),
            "| month      | orders |\n| ---------- | ------ |\n| 2024-01-01 |      7 |\n| 2024-02-01 |    123 |"
        );
    }
}
