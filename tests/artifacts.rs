//! Artifacts keep dbt's published shapes: the key structure of manifest.json and
//! run_results.json (for every resource type: the keys of a node, its config, a column, in
//! dbt's order, with the JSON type of each value) equals the one extracted from real dbt 1.11
//! artifacts of jaffle_shop (`expected/artifacts/shapes.json`, written by `extract_shapes.py`),
//! and the values tmk has the data for mean what dbt's mean.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::TestProject;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where tmk's type may differ from dbt's, and why (the key itself must be there, in order).
const KNOWN_TYPE_GAPS: &[(&str, &str, &str)] = &[(
    "manifest.test.node",
    "build_path",
    "tmk records no statements for tests, so it writes no target/run file for them",
)];

/// `args` dbt writes that tmk cannot: the command does not pass them to the artifacts.
const KNOWN_MISSING_ARGS: &[&str] = &["log_path", "profiles_dir"];

fn shapes() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jaffle_shop/expected/artifacts/shapes.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_json::from_str(&text).expect("shapes.json is JSON")
}

fn read_json(project: &TestProject, path: &str) -> Value {
    serde_json::from_str(&project.read(path)).unwrap_or_else(|error| panic!("{path} is not JSON: {error}"))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `["key: type", ..]` of an object, in order (as extract_shapes.py writes them).
fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| format!("{key}: {}", json_type(value)))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Compare dbt's `expected` keys with tmk's `actual`; differences go to `problems`.
fn compare(section: &str, expected: &Value, actual: &[String], problems: &mut Vec<String>) {
    let expected = strings(expected);
    let name = |entry: &String| entry.split(": ").next().unwrap_or_default().to_string();
    let expected_names: Vec<String> = expected.iter().map(name).collect();
    let actual_names: Vec<String> = actual.iter().map(name).collect();
    if expected_names != actual_names {
        problems.push(format!(
            "{section}: keys differ\n  dbt: {expected_names:?}\n  tmk: {actual_names:?}"
        ));
        return;
    }
    for (dbt, tmk) in expected.iter().zip(actual) {
        let allowed = KNOWN_TYPE_GAPS
            .iter()
            .any(|(gap_section, key, _)| *gap_section == section && name(dbt) == *key);
        if dbt != tmk && !allowed {
            problems.push(format!("{section}: dbt has `{dbt}`, tmk `{tmk}`"));
        }
    }
}

/// The node of `section` with this resource type and name.
fn find<'a>(manifest: &'a Value, section: &str, resource_type: &str, name: &str) -> &'a Value {
    manifest[section]
        .as_object()
        .and_then(|entries| {
            entries
                .values()
                .find(|node| node["resource_type"] == resource_type && node["name"] == name)
        })
        .unwrap_or_else(|| panic!("no {resource_type} named {name} in {section}"))
}

/// The keys of one part of a node, named as in shapes.json.
fn part_keys(node: &Value, part: &str) -> Vec<String> {
    match part {
        "node" => keys(node),
        "column" => node["columns"]
            .as_object()
            .and_then(|columns| columns.values().next())
            .map(keys)
            .unwrap_or_default(),
        "refs_item" => keys(&node["refs"][0]),
        nested => keys(&node[nested]),
    }
}

/// Compare every part of the shape of `kind` (node, config, column, ...) with `node`.
fn compare_node(kind: &str, expected: &Value, node: &Value, problems: &mut Vec<String>) {
    for (part, expected_keys) in expected.as_object().into_iter().flatten() {
        let section = format!("manifest.{kind}.{part}");
        compare(&section, expected_keys, &part_keys(node, part), problems);
    }
}

fn compare_manifest(shapes: &Value, manifest: &Value, problems: &mut Vec<String>) {
    let expected = &shapes["manifest"];
    compare(
        "manifest.top_level",
        &expected["top_level"],
        &keys(manifest),
        problems,
    );
    compare(
        "manifest.metadata",
        &expected["metadata"],
        &keys(&manifest["metadata"]),
        problems,
    );
    for (kind, sample) in shapes["samples"]["manifest"].as_object().into_iter().flatten() {
        let [section, resource_type, name] =
            [0, 1, 2].map(|index| sample[index].as_str().unwrap_or_default());
        let node = find(manifest, section, resource_type, name);
        compare_node(kind, &expected[kind], node, problems);
    }
}

/// The run result of the node with this resource type and name.
fn find_result<'a>(results: &'a Value, manifest: &Value, resource_type: &str, name: &str) -> &'a Value {
    let section = if resource_type == "source" {
        "sources"
    } else {
        "nodes"
    };
    let unique_id = &find(manifest, section, resource_type, name)["unique_id"];
    results["results"]
        .as_array()
        .and_then(|all| all.iter().find(|result| &result["unique_id"] == unique_id))
        .unwrap_or_else(|| panic!("no result for {resource_type} {name}"))
}

fn compare_run_results(shapes: &Value, manifest: &Value, results: &Value, problems: &mut Vec<String>) {
    let expected = &shapes["run_results"];
    compare(
        "run_results.top_level",
        &expected["top_level"],
        &keys(results),
        problems,
    );
    compare(
        "run_results.metadata",
        &expected["metadata"],
        &keys(&results["metadata"]),
        problems,
    );
    for (kind, sample) in shapes["samples"]["run_results"].as_object().into_iter().flatten() {
        let [resource_type, name] = [0, 1].map(|index| sample[index].as_str().unwrap_or_default());
        let result = find_result(results, manifest, resource_type, name);
        let shape = &expected[kind];
        compare(
            &format!("run_results.{kind}.result"),
            &shape["result"],
            &keys(result),
            problems,
        );
        let adapter_response = keys(&result["adapter_response"]);
        compare(
            &format!("run_results.{kind}.adapter_response"),
            &shape["adapter_response"],
            &adapter_response,
            problems,
        );
        let timings: Vec<Value> = result["timing"].as_array().cloned().unwrap_or_default();
        let expected_timings = shape["timing"].as_array().cloned().unwrap_or_default();
        if timings.len() != expected_timings.len() {
            problems.push(format!(
                "run_results.{kind}.timing: {} entries, dbt has {}",
                timings.len(),
                expected_timings.len()
            ));
        }
        for (expected_timing, timing) in expected_timings.iter().zip(&timings) {
            compare(
                &format!("run_results.{kind}.timing"),
                expected_timing,
                &keys(timing),
                problems,
            );
        }
    }
    let missing: Vec<String> = strings(&expected["args"])
        .into_iter()
        .filter(|key| results["args"].get(key).is_none() && !KNOWN_MISSING_ARGS.contains(&key.as_str()))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("run_results.args: missing {missing:?}"));
    }
}

fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "artifacts differ from dbt's shapes:\n{}",
        problems.join("\n")
    );
}

fn sha256_of_stripped(project: &TestProject, path: &str) -> String {
    format!("{:x}", Sha256::digest(project.read(path).trim().as_bytes()))
}

#[test]
fn jaffle_shop_artifacts_have_dbts_shapes() {
    let project = TestProject::from_fixture("jaffle_shop", "artifacts_shape", "jaffle_shop");
    let run = project.tmk(&["build"]);
    assert_eq!(run.code, 0, "tmk build failed:\n{}\n{}", run.stdout, run.stderr);
    let manifest = read_json(&project, "target/manifest.json");
    let results = read_json(&project, "target/run_results.json");
    let shapes = shapes();
    let mut problems = Vec::new();
    compare_manifest(&shapes, &manifest, &mut problems);
    compare_run_results(&shapes, &manifest, &results, &mut problems);
    assert_no_problems(&problems);
    check_manifest_values(&project, &manifest);
    check_test_values(&project, &manifest);
    check_run_results_values(&results);
}

fn check_manifest_values(project: &TestProject, manifest: &Value) {
    let metadata = &manifest["metadata"];
    assert_eq!(
        metadata["quoting"],
        json!({"database": true, "schema": true, "identifier": true, "column": null})
    );
    assert!(
        metadata["run_started_at"]
            .as_str()
            .is_some_and(|time| time.ends_with("+00:00"))
    );
    assert_eq!(
        manifest["parent_map"]["model.jaffle_shop.orders"],
        json!(["model.jaffle_shop.stg_orders", "model.jaffle_shop.stg_payments"])
    );
    // Children per model and seed, as in dbt's manifest.
    for (unique_id, count) in [
        ("model.jaffle_shop.orders", 10),
        ("model.jaffle_shop.customers", 3),
        ("model.jaffle_shop.stg_payments", 5),
        ("model.jaffle_shop.stg_customers", 3),
        ("model.jaffle_shop.stg_orders", 5),
        ("seed.jaffle_shop.raw_payments", 1),
        ("seed.jaffle_shop.raw_customers", 1),
        ("seed.jaffle_shop.raw_orders", 1),
    ] {
        assert_eq!(
            manifest["child_map"][unique_id].as_array().map(Vec::len),
            Some(count),
            "{unique_id}"
        );
    }
    let orders = &manifest["nodes"]["model.jaffle_shop.orders"];
    assert_eq!(
        orders["relation_name"],
        format!("\"postgres\".\"{}\".\"orders\"", project.schema)
    );
    // dbt's checksums: sha256 of the file stripped of surrounding whitespace.
    let checksum = sha256_of_stripped(project, "models/orders.sql");
    assert_eq!(
        checksum,
        "27f8c79aad1cfd8411ab9c3d2ce8da1d787f7f05c58bbee1d247510dc426be0f"
    );
    assert_eq!(
        orders["checksum"],
        json!({"name": "sha256", "checksum": checksum})
    );
    let raw_orders = &manifest["nodes"]["seed.jaffle_shop.raw_orders"];
    assert_eq!(
        raw_orders["checksum"]["checksum"],
        "3332bef34f0179086f4162eb265a4a74f6aa66cfad548b37cf16a9d3a6eeee0a"
    );
    assert_eq!(orders["build_path"], "target/run/jaffle_shop/models/orders.sql");
    assert_eq!(
        orders["compiled_path"],
        "target/compiled/jaffle_shop/models/orders.sql"
    );
    assert_eq!(orders["unrendered_config"], json!({"materialized": "table"}));
    assert_eq!(orders["primary_key"], json!(["order_id"]));
    assert_eq!(orders["patch_path"], "jaffle_shop://models/schema.yml");
    let config = &orders["config"];
    assert_eq!(
        [
            &config["on_schema_change"],
            &config["on_configuration_change"],
            &config["lookback"]
        ],
        [&json!("ignore"), &json!("apply"), &json!(1)]
    );
    assert_eq!(
        orders["columns"]["status"]["doc_blocks"],
        json!(["doc.jaffle_shop.orders_status"])
    );
    assert_eq!(raw_orders["compiled_path"], Value::Null);
    assert_eq!(raw_orders["root_path"], json!(project.path()));
    let docs = &manifest["docs"];
    assert_eq!(docs.as_object().map(|docs| docs.len()), Some(3));
    assert_eq!(
        docs["doc.jaffle_shop.orders_status"]["original_file_path"],
        "models/docs.md"
    );
    assert_eq!(docs["doc.jaffle_shop.__overview__"]["path"], "overview.md");
    let macros = manifest["macros"].as_object().expect("macros");
    assert!(macros.contains_key("macro.dbt.test_not_null"));
}

fn check_test_values(project: &TestProject, manifest: &Value) {
    let test = find(
        manifest,
        "nodes",
        "test",
        "relationships_orders_customer_id__customer_id__ref_customers_",
    );
    assert_eq!(
        test["test_metadata"],
        json!({
            "name": "relationships",
            "kwargs": {
                "to": "ref('customers')",
                "field": "customer_id",
                "column_name": "customer_id",
                "model": "{{ get_where_subquery(ref('orders')) }}",
            },
            "namespace": null,
        })
    );
    assert_eq!(test["attached_node"], "model.jaffle_shop.orders");
    assert_eq!(test["file_key_name"], "models.orders");
    assert_eq!(test["schema"], format!("{}_dbt_test__audit", project.schema));
    assert_eq!(test["config"]["schema"], "dbt_test__audit");
    assert_eq!(
        test["raw_code"],
        "{{ test_relationships(**_dbt_generic_test_kwargs) }}"
    );
    assert_eq!(test["checksum"], json!({"name": "none", "checksum": ""}));
    assert_eq!(
        test["depends_on"]["nodes"],
        json!(["model.jaffle_shop.customers", "model.jaffle_shop.orders"])
    );
    assert_eq!(test["relation_name"], Value::Null);
}

fn check_run_results_values(results: &Value) {
    let all = results["results"].as_array().expect("results");
    assert_eq!(all.len(), 28);
    assert_eq!(results["args"]["which"], "build");
    for result in all {
        let unique_id = result["unique_id"].as_str().unwrap_or_default();
        assert!(
            result["thread_id"]
                .as_str()
                .is_some_and(|thread| thread.starts_with("Thread-") && thread.ends_with(" (worker)")),
            "{result}"
        );
        if unique_id.starts_with("test.") {
            assert_eq!(result["status"], "pass", "{unique_id}");
            assert_eq!(result["message"], Value::Null, "{unique_id}");
            assert_eq!(result["failures"], 0, "{unique_id}");
            assert_eq!(
                result["adapter_response"],
                json!({"_message": "SELECT 1", "code": "SELECT", "rows_affected": 1})
            );
        } else {
            assert_eq!(result["status"], "success", "{unique_id}");
        }
    }
    for (seed, rows) in [("raw_customers", 100), ("raw_orders", 99), ("raw_payments", 113)] {
        let unique_id = format!("seed.jaffle_shop.{seed}");
        let result = all
            .iter()
            .find(|result| result["unique_id"] == unique_id.as_str())
            .expect("seed result");
        let message = format!("INSERT {rows}");
        assert_eq!(
            result["adapter_response"],
            json!({"_message": message, "code": "INSERT", "rows_affected": rows})
        );
        assert_eq!(result["message"], message);
        assert_eq!(
            [
                &result["compiled"],
                &result["compiled_code"],
                &result["relation_name"]
            ],
            [&Value::Null; 3]
        );
    }
    let view = all
        .iter()
        .find(|result| result["unique_id"] == "model.jaffle_shop.stg_customers")
        .expect("view result");
    assert_eq!(
        view["adapter_response"],
        json!({"_message": "CREATE VIEW", "code": "CREATE VIEW", "rows_affected": -1})
    );
}

/// Sources (jaffle_shop has none): the shape recorded from dbt on a one-source project.
#[test]
fn source_artifacts_have_dbts_shape() {
    let schema_yml = "version: 2\nsources:\n  - name: raw\n    schema: SCHEMA\n    tables:\n      - name: raw_orders\n        columns:\n          - name: id\n            data_tests: [not_null]\n";
    let project = TestProject::new(
        "artifacts_source",
        &[("models/m.sql", "select * from {{ source('raw', 'raw_orders') }}")],
    );
    project.write("models/src.yml", &schema_yml.replace("SCHEMA", &project.schema));
    let run = project.tmk(&["compile"]);
    assert_eq!(run.code, 0, "tmk compile failed:\n{}\n{}", run.stdout, run.stderr);
    let manifest = read_json(&project, "target/manifest.json");
    let shapes = shapes();
    let source = find(&manifest, "sources", "source", "raw_orders");
    let mut problems = Vec::new();
    compare_node("source", &shapes["manifest"]["source"], source, &mut problems);
    assert_no_problems(&problems);
    assert_eq!(source["unrendered_schema"], project.schema);
    assert_eq!(
        source["relation_name"],
        format!("\"postgres\".\"{}\".\"raw_orders\"", project.schema)
    );
    let test = find(&manifest, "nodes", "test", "source_not_null_raw_raw_orders_id");
    assert_eq!(test["attached_node"], Value::Null);
    assert_eq!(test["file_key_name"], "sources.raw");
    assert_eq!(
        test["test_metadata"]["kwargs"]["model"],
        "{{ get_where_subquery(source('raw', 'raw_orders')) }}"
    );
    assert_eq!(
        manifest["nodes"]["model.demo.m"]["sources"],
        json!([["raw", "raw_orders"]])
    );
}
