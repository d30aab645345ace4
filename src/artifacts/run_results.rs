//! `run_results.json`, schema v6: one result per executed node with status, timing, thread,
//! execution time, adapter response, message and failures, plus the run's elapsed time and args.
//! Values follow dbt-postgres: seeds report no compiled code or relation, views affect `-1`
//! rows, tests answer `SELECT 1` (their one summary row), skipped nodes have no timing. dbt's
//! schema has no cancelled status: nodes a Ctrl-C stopped are `error`s whose message says so.
//! It must not touch files: it returns a JSON value that `artifacts` writes.

use serde_json::{Map, Value, json};

use crate::compile::Manifest;
use crate::compile::node::ResourceType;
use crate::execute::{NodeResult, Status};

/// The run results as JSON; `args` are the command's arguments as dbt records them (see
/// [`args_json`] for the keys added and left out).
pub fn run_results_json(manifest: &Manifest, results: &[NodeResult], elapsed: f64, args: Value) -> Value {
    let entries: Vec<Value> = results
        .iter()
        .map(|result| result_json(manifest, result))
        .collect();
    json!({
        "metadata": super::metadata("run-results/v6.json"),
        "results": entries,
        "elapsed_time": elapsed,
        "args": args_json(args),
    })
}

fn result_json(manifest: &Manifest, result: &NodeResult) -> Value {
    let node = &manifest.nodes[result.node];
    let is_seed = node.resource_type == ResourceType::Seed;
    let compiled_code = result.compiled_sql.as_ref().or(node.compiled_sql.as_ref());
    // A test has a relation only when it stores its failures; dbt names it then.
    let relation_name = match node.resource_type {
        ResourceType::Seed => None,
        _ => node.relation.as_ref().map(|relation| relation.render()),
    };
    let status = match result.status {
        Status::Cancelled => Status::Error,
        status => status,
    };
    json!({
        "status": status.as_str(),
        "timing": timing_json(result),
        "thread_id": format!("Thread-{} (worker)", result.thread_id.max(1)),
        "execution_time": result.execution_time,
        "adapter_response": adapter_response(node.resource_type, result),
        "message": message(result),
        "failures": result.failures,
        "unique_id": node.unique_id,
        "compiled": if is_seed { Value::Null } else { json!(compiled_code.is_some()) },
        "compiled_code": if is_seed { None } else { compiled_code },
        "relation_name": relation_name,
        "batch_results": null,
    })
}

/// `compile` then `execute`; tmk compiles before the run starts, so `compile` is an instant at
/// the start. Skipped nodes have none.
fn timing_json(result: &NodeResult) -> Value {
    if result.status == Status::Skipped {
        return json!([]);
    }
    let started = super::format_time(&result.started_at);
    let completed = super::format_time(&result.completed_at);
    json!([
        {"name": "compile", "started_at": started, "completed_at": started},
        {"name": "execute", "started_at": started, "completed_at": completed},
    ])
}

/// dbt's message: none for passing tests and skipped nodes.
fn message(result: &NodeResult) -> Value {
    match result.status {
        Status::Pass | Status::Skipped => Value::Null,
        _ => json!(result.message),
    }
}

/// What the database answered, as dbt-postgres reports it: `_message` is the status line,
/// `code` its words without numbers, `rows_affected` the row count (-1 for DDL).
fn adapter_response(resource_type: ResourceType, result: &NodeResult) -> Value {
    match result.status {
        Status::Skipped | Status::Error | Status::Cancelled => json!({}),
        Status::Pass | Status::Fail | Status::Warn if resource_type == ResourceType::Test => {
            json!({"_message": "SELECT 1", "code": "SELECT", "rows_affected": 1})
        }
        _ => {
            let status_line = result.message.split(';').next().unwrap_or_default().trim();
            let code: Vec<&str> = status_line
                .split_whitespace()
                .filter(|word| !word.chars().all(|c| c.is_ascii_digit()))
                .collect();
            let rows = result
                .rows_affected
                .and_then(|rows| i64::try_from(rows).ok())
                .unwrap_or(-1);
            json!({"_message": status_line, "code": code.join(" "), "rows_affected": rows})
        }
    }
}

/// Flags dbt leaves out of `args` while they are false.
const DEFAULT_FALSE_ARGS: &[&str] = &[
    "debug",
    "full_refresh",
    "fail_fast",
    "warn_error",
    "store_failures",
];

/// The command's arguments the way dbt records them: every resolved flag dbt writes, with
/// the command's own values over dbt's defaults; null values and false `DEFAULT_FALSE_ARGS`
/// are left out, as dbt does. `profiles_dir` and `log_path` are written only when given.
fn args_json(args: Value) -> Value {
    let mut recorded: Map<String, Value> = dbt_default_args();
    recorded.insert("invocation_command".into(), json!(invocation_command()));
    if let Value::Object(given) = args {
        for (key, value) in given {
            recorded.insert(key, value);
        }
    }
    let default_false =
        |key: &String, value: &Value| DEFAULT_FALSE_ARGS.contains(&key.as_str()) && value == &json!(false);
    recorded.retain(|key, value| !value.is_null() && !default_false(key, value));
    recorded.sort_keys();
    Value::Object(recorded)
}

/// `tmk <arguments>`, as dbt records `dbt <arguments>`.
fn invocation_command() -> String {
    std::iter::once("tmk".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The flags dbt 1.11 writes for every command, with its defaults (tmk has no partial parsing).
fn dbt_default_args() -> Map<String, Value> {
    let defaults = json!({
        "cache_selected_only": false, "defer": false, "empty": false, "exclude": [],
        "exclude_resource_types": [], "export_saved_queries": false, "favor_state": false,
        "include_saved_query": false, "indirect_selection": "eager", "introspect": true,
        "log_file_max_bytes": 10485760, "log_format": "default", "log_format_file": "debug",
        "log_level": "info", "log_level_file": "debug", "macro_debugging": false,
        "partial_parse": false, "partial_parse_file_diff": true, "populate_cache": true,
        "print": true, "printer_width": 80, "quiet": false,
        "require_all_warnings_handled_by_warn_error": false,
        "require_batched_execution_for_custom_microbatch_strategy": false,
        "require_explicit_package_overrides_for_builtin_materializations": true,
        "require_generic_test_arguments_property": true,
        "require_nested_cumulative_type_params": false,
        "require_ref_searches_node_package_before_root": false,
        "require_resource_names_without_spaces": true,
        "require_unique_project_resource_names": false,
        "require_yaml_configuration_for_mf_time_spines": false,
        "resource_types": [], "select": [], "send_anonymous_usage_stats": false, "show": false,
        "show_all_deprecations": false, "show_resource_report": false,
        "skip_nodes_if_on_run_start_fails": false, "source_freshness_run_project_hooks": true,
        "sqlparse": {"MAX_GROUPING_DEPTH": null, "MAX_GROUPING_TOKENS": null},
        "state_modified_compare_more_unrendered_values": false,
        "state_modified_compare_vars": false, "static_parser": true, "strict_mode": false,
        "upload_to_artifacts_ingest_api": false, "use_colors": true, "use_colors_file": true,
        "use_fast_test_edges": false, "validate_macro_args": false, "vars": {},
        "version_check": true, "warn_error_options": {"error": [], "warn": [], "silence": []},
        "write_json": true,
    });
    match defaults {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_drop_nulls_and_false_default_flags() {
        let args =
            args_json(json!({"which": "build", "full_refresh": false, "fail_fast": true, "target": null}));
        assert_eq!(args["which"], "build");
        assert_eq!(args["fail_fast"], true);
        assert!(args.get("full_refresh").is_none());
        assert!(args.get("target").is_none());
        assert_eq!(args["indirect_selection"], "eager");
    }
}
