//! `manifest.json`, schema v12: every node with its config, code, dependencies and columns,
//! sources, macros, docs, and the parent and child maps. Every object has the keys dbt 1.11
//! writes, in dbt's order, with values of the same JSON types; config keys a node does not set
//! get dbt's defaults. Where tmk lacks the data (macro dependencies, column tags, constraints)
//! the value is dbt's empty default. It must not write files or reach the database: it reads
//! project files only for checksums and docs, and returns bytes that `artifacts` writes.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::compile::Manifest;
use crate::compile::freshness::{FreshnessSpec, Threshold};
use crate::compile::node::{AUDIT_SCHEMA, Node, ResourceType, TestedRelation};
use crate::execute::NodeResult;

/// Path tmk gives its built-in macros (they are dbt's `macro.dbt.*`).
const BUILTIN_MACRO_PREFIX: &str = "<";
/// Seeds larger than this are identified by path, not content (dbt's MAXIMUM_SEED_SIZE).
const MAXIMUM_SEED_SIZE: usize = 1024 * 1024;

/// The manifest as compact JSON (as dbt writes it). Nodes are serialised one at a time, in
/// parallel chunks, straight into the output: the whole document never exists as a JSON tree.
pub fn manifest_bytes(manifest: &Manifest, results: &[NodeResult]) -> Vec<u8> {
    let context = Context::new(manifest, results);
    let (parent_map, child_map) = dependency_maps(manifest);
    let mut sorted: Vec<usize> = (0..manifest.nodes.len()).collect();
    sorted.sort_by(|&left, &right| {
        manifest.nodes[left]
            .unique_id
            .cmp(&manifest.nodes[right].unique_id)
    });
    let (sources, nodes): (Vec<usize>, Vec<usize>) = sorted
        .into_iter()
        .partition(|&index| manifest.nodes[index].resource_type == ResourceType::Source);
    let mut out = Vec::with_capacity(manifest.nodes.len() * 4096);
    out.extend_from_slice(b"{\"metadata\":");
    write_value(&mut out, &metadata_json(manifest));
    out.extend_from_slice(b",\"nodes\":");
    write_entries(&mut out, manifest, &nodes, |index| {
        node_json(&context, index, &manifest.nodes[index])
    });
    out.extend_from_slice(b",\"sources\":");
    write_entries(&mut out, manifest, &sources, |index| {
        source_json(&context, &manifest.nodes[index])
    });
    let rest = json!({
        "macros": macros_json(&context),
        "docs": docs_json(&context),
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "parent_map": parent_map,
        "child_map": child_map,
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
        "functions": {},
    });
    let mut tail = Vec::new();
    write_value(&mut tail, &rest);
    // `rest` is an object: splice its members after the nodes and sources.
    out.push(b',');
    out.extend_from_slice(&tail[1..]);
    out
}

/// Serialise a JSON value (infallible for `Value`).
fn write_value(out: &mut Vec<u8>, value: &Value) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// `{"unique_id": entry, ...}` for `indices` (sorted), entries built in parallel chunks.
fn write_entries(
    out: &mut Vec<u8>,
    manifest: &Manifest,
    indices: &[usize],
    entry: impl Fn(usize) -> Value + Sync,
) {
    use rayon::prelude::*;
    out.push(b'{');
    let mut first = true;
    for chunk in indices.chunks(256) {
        let parts: Vec<Vec<u8>> = chunk
            .par_iter()
            .map(|&index| {
                let mut part = Vec::with_capacity(4096);
                write_value(&mut part, &json!(manifest.nodes[index].unique_id));
                part.push(b':');
                write_value(&mut part, &entry(index));
                part
            })
            .collect();
        for part in parts {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&part);
        }
    }
    out.push(b'}');
}

/// Lookups shared by every entry of one manifest.
struct Context<'a> {
    manifest: &'a Manifest,
    /// Seconds since the epoch, for `created_at`.
    created_at: f64,
    /// Node → the generic tests attached to it.
    tests_of: BTreeMap<usize, Vec<usize>>,
    /// Macro name → unique id.
    macro_ids: BTreeMap<String, String>,
    /// (unique id, text) of the project's docs blocks, for `doc_blocks`.
    doc_texts: Vec<(String, String)>,
    /// Nodes that have a `target/run` file from this run.
    built: std::collections::HashSet<usize>,
    /// Node → SQL compiled just before it ran (nodes whose Jinja queries the database).
    compiled_late: std::collections::HashMap<usize, &'a str>,
}

impl<'a> Context<'a> {
    fn new(manifest: &'a Manifest, results: &'a [NodeResult]) -> Context<'a> {
        let mut tests_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (index, node) in manifest.nodes.iter().enumerate() {
            if let Some(attached) = node.test.as_ref().and_then(|test| test.attached_node) {
                tests_of.entry(attached).or_default().push(index);
            }
        }
        let built = results
            .iter()
            .filter(|result| !result.statements.is_empty())
            .map(|result| result.node)
            .collect();
        let compiled_late = results
            .iter()
            .filter_map(|result| Some((result.node, result.compiled_sql.as_deref()?)))
            .collect();
        let started = crate::invocation::started_at_time();
        Context {
            manifest,
            created_at: started.timestamp_micros() as f64 / 1e6,
            tests_of,
            built,
            compiled_late,
            macro_ids: macro_ids(manifest),
            doc_texts: doc_texts(manifest),
        }
    }

    /// Unique ids of the docs blocks whose text the (rendered) description shows.
    fn doc_blocks(&self, description: &str) -> Vec<String> {
        let mut found: Vec<(usize, &String)> = self
            .doc_texts
            .iter()
            .filter_map(|(unique_id, text)| Some((description.find(text.as_str())?, unique_id)))
            .collect();
        found.sort();
        found
            .into_iter()
            .map(|(_, unique_id)| unique_id.clone())
            .collect()
    }

    /// The compiled SQL, from the compile pass or from just before the node ran.
    fn compiled_sql(&self, index: usize) -> Option<&str> {
        self.manifest.nodes[index]
            .compiled_sql
            .as_deref()
            .or_else(|| self.compiled_late.get(&index).copied())
    }
}

/// `parent_map` and `child_map`: one sorted entry per node and source.
fn dependency_maps(manifest: &Manifest) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let unique_ids = |indices: Vec<usize>| {
        let mut ids: Vec<String> = indices
            .into_iter()
            .map(|index| manifest.nodes[index].unique_id.clone())
            .collect();
        ids.sort();
        ids
    };
    let mut parent_map = BTreeMap::new();
    let mut child_map = BTreeMap::new();
    for (index, node) in manifest.nodes.iter().enumerate() {
        parent_map.insert(node.unique_id.clone(), unique_ids(node.depends_on.clone()));
        child_map.insert(node.unique_id.clone(), unique_ids(manifest.dag.children(index)));
    }
    (parent_map, child_map)
}

fn metadata_json(manifest: &Manifest) -> Value {
    let mut metadata = super::metadata("manifest/v12.json");
    if let Value::Object(map) = &mut metadata {
        let project_id = format!(
            "{:x}",
            <md5::Md5 as md5::Digest>::digest(manifest.project_name.as_bytes())
        );
        let started = crate::invocation::started_at_time();
        map.insert("project_name".into(), json!(manifest.project_name));
        map.insert("project_id".into(), json!(project_id));
        map.insert("user_id".into(), Value::Null);
        map.insert("send_anonymous_usage_stats".into(), json!(false));
        map.insert("adapter_type".into(), json!("postgres"));
        map.insert(
            "quoting".into(),
            json!({"database": true, "schema": true, "identifier": true, "column": null}),
        );
        map.insert(
            "run_started_at".into(),
            json!(started.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()),
        );
    }
    metadata
}

// ---------------------------------------------------------------------------------------------
// Nodes

/// A model, seed, snapshot, analysis or test.
fn node_json(context: &Context, index: usize, node: &Node) -> Value {
    let mut map = node_head(context, index, node);
    if node.resource_type == ResourceType::Seed {
        map.insert("root_path".into(), json!(context.manifest.root));
        map.insert("depends_on".into(), json!({"macros": []}));
        insert_defer_relation(node, &mut map);
        return Value::Object(map);
    }
    sql_node_body(context, index, node, &mut map);
    match node.resource_type {
        ResourceType::Model => model_tail(context, index, &mut map),
        ResourceType::Snapshot => insert_defer_relation(node, &mut map),
        ResourceType::Test if node.test.is_some() => generic_test_tail(context, node, &mut map),
        _ => {}
    }
    Value::Object(map)
}

/// The keys every node has, `database` to `doc_blocks`.
fn node_head(context: &Context, index: usize, node: &Node) -> Map<String, Value> {
    let manifest = context.manifest;
    let relation = node.relation.as_ref();
    let config = &node.config;
    let build_path = context
        .built
        .contains(&index)
        .then(|| super::target_sql_path("run", manifest, node));
    let patch_path = match node.resource_type {
        ResourceType::Test => None,
        _ => node
            .patch_path
            .as_ref()
            .map(|path| format!("{}://{path}", node.package)),
    };
    let entries = [
        ("database", json!(node_database(manifest, node))),
        ("schema", json!(node_schema(manifest, node))),
        ("name", json!(node.name)),
        ("resource_type", json!(node.resource_type.as_str())),
        ("package_name", json!(node.package)),
        ("path", json!(node_path(node))),
        ("original_file_path", json!(node.path)),
        ("unique_id", json!(node.unique_id)),
        ("fqn", json!(node.fqn)),
        ("alias", json!(node_alias(node))),
        ("checksum", checksum_json(manifest, node)),
        ("config", config_json(node)),
        ("tags", json!(node.tags)),
        ("description", json!(node.description)),
        ("columns", columns_json(context, node)),
        ("meta", object_or_empty(config.get("meta"))),
        ("group", config.get("group").cloned().unwrap_or(Value::Null)),
        ("docs", merged(docs_default(), config.get("docs"))),
        ("patch_path", json!(patch_path)),
        ("build_path", json!(build_path)),
        ("unrendered_config", unrendered_config(node)),
        ("created_at", json!(context.created_at)),
        ("relation_name", json!(relation.map(|relation| relation.render()))),
        ("raw_code", json!(raw_code(node))),
        ("doc_blocks", json!(context.doc_blocks(&node.description))),
    ];
    entries
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

/// The keys of nodes that have SQL, `language` to `contract`.
fn sql_node_body(context: &Context, index: usize, node: &Node, map: &mut Map<String, Value>) {
    let manifest = context.manifest;
    let parents = || node.depends_on.iter().map(|&parent| &manifest.nodes[parent]);
    let refs: Vec<Value> = parents()
        .filter(|parent| parent.resource_type != ResourceType::Source)
        .map(|parent| json!({"name": parent.name, "package": null, "version": null}))
        .collect();
    let sources: Vec<Value> = parents()
        .filter_map(|parent| Some(json!([parent.source_name.as_ref()?, parent.name])))
        .collect();
    let nodes: Vec<&str> = parents().map(|parent| parent.unique_id.as_str()).collect();
    let compiled = context.compiled_sql(index);
    map.insert("language".into(), json!("sql"));
    map.insert("refs".into(), json!(refs));
    map.insert("sources".into(), json!(sources));
    map.insert("metrics".into(), json!([]));
    map.insert("functions".into(), json!([]));
    map.insert(
        "depends_on".into(),
        json!({"macros": node_macros(context, node), "nodes": nodes}),
    );
    map.insert(
        "compiled_path".into(),
        json!(compiled.map(|_| super::target_sql_path("compiled", manifest, node))),
    );
    // dbt leaves the compiled keys out of nodes it did not compile.
    if let Some(sql) = compiled {
        map.insert("compiled".into(), json!(true));
        map.insert("compiled_code".into(), json!(sql));
        map.insert("extra_ctes_injected".into(), json!(true));
        map.insert("extra_ctes".into(), json!([]));
    }
    map.insert("contract".into(), contract_json(node));
}

/// `{enforced, alias_types, checksum}` from the `contract` config.
fn contract_json(node: &Node) -> Value {
    let contract = node.config.get("contract");
    let flag = |key: &str, default: bool| {
        contract
            .and_then(|contract| contract.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    json!({"enforced": flag("enforced", false), "alias_types": flag("alias_types", true), "checksum": null})
}

fn model_tail(context: &Context, index: usize, map: &mut Map<String, Value>) {
    let node = &context.manifest.nodes[index];
    let access = node
        .config
        .get("access")
        .cloned()
        .unwrap_or_else(|| json!("protected"));
    map.insert("access".into(), access);
    map.insert("constraints".into(), json!([]));
    map.insert("version".into(), Value::Null);
    map.insert("latest_version".into(), Value::Null);
    map.insert("deprecation_date".into(), Value::Null);
    insert_defer_relation(node, map);
    map.insert("primary_key".into(), json!(primary_key(context, index)));
    map.insert("time_spine".into(), Value::Null);
}

/// dbt's `defer_relation`, written (as dbt does) only under `--defer`, for a node the earlier
/// run built: that node, which refs read when it is deferred.
fn insert_defer_relation(node: &Node, map: &mut Map<String, Value>) {
    if let Some(deferred) = &node.defer_relation {
        map.insert("defer_relation".into(), deferred.described.clone());
    }
}

fn generic_test_tail(context: &Context, node: &Node, map: &mut Map<String, Value>) {
    let Some(test) = &node.test else { return };
    let attached = test
        .attached_node
        .map(|attached| &context.manifest.nodes[attached]);
    let file_key_name = match &test.tested {
        TestedRelation::Source(source, _) => Some(format!("sources.{source}")),
        TestedRelation::Node(_) => {
            attached.map(|attached| format!("{}s.{}", attached.resource_type.as_str(), attached.name))
        }
    };
    let mut kwargs = test.kwargs.clone();
    if let Some(column) = &test.column_name {
        kwargs.insert("column_name".into(), json!(column));
    }
    kwargs.insert("model".into(), json!(model_kwarg(&test.tested)));
    map.insert("column_name".into(), json!(test.column_name));
    map.insert("file_key_name".into(), json!(file_key_name));
    map.insert(
        "attached_node".into(),
        json!(attached.map(|attached| &attached.unique_id)),
    );
    map.insert(
        "test_metadata".into(),
        json!({"name": test.name, "kwargs": kwargs, "namespace": test.namespace}),
    );
}

/// The `model` argument as dbt records it: `{{ get_where_subquery(ref('orders')) }}`.
fn model_kwarg(tested: &TestedRelation) -> String {
    let relation = match tested {
        TestedRelation::Node(name) => format!("ref('{name}')"),
        TestedRelation::Source(source, table) => format!("source('{source}', '{table}')"),
    };
    format!("{{{{ get_where_subquery({relation}) }}}}")
}

/// Columns with unique and not_null tests (dbt's `infer_primary_key`, without constraints);
/// else the columns with unique tests.
fn primary_key(context: &Context, model: usize) -> Vec<String> {
    let mut unique = Vec::new();
    let mut not_null = Vec::new();
    let tests = context.tests_of.get(&model).into_iter().flatten();
    for test in tests.filter_map(|&index| context.manifest.nodes[index].test.as_ref()) {
        let mut columns: Vec<String> = test.column_name.iter().cloned().collect();
        if let Some(Value::Array(combination)) = test.kwargs.get("combination_of_columns") {
            columns.extend(combination.iter().filter_map(Value::as_str).map(str::to_string));
        }
        match test.name.as_str() {
            "unique" | "unique_combination_of_columns" => unique.extend(columns),
            "not_null" => not_null.extend(columns),
            _ => {}
        }
    }
    let both: Vec<String> = not_null
        .into_iter()
        .filter(|column| unique.contains(column))
        .collect();
    let mut key = if both.is_empty() { unique } else { both };
    key.sort();
    key.dedup();
    key
}

/// Macros a node calls, where tmk knows them: a generic test's test macro.
fn node_macros(context: &Context, node: &Node) -> Vec<String> {
    let Some(test) = &node.test else { return Vec::new() };
    let name = format!("test_{}", test.name);
    context.macro_ids.get(&name).cloned().into_iter().collect()
}

fn node_database(manifest: &Manifest, node: &Node) -> String {
    match &node.relation {
        Some(relation) => relation.database.clone(),
        None => node
            .config
            .get("database")
            .and_then(Value::as_str)
            .unwrap_or(&manifest.target.database)
            .to_string(),
    }
}

/// The schema; for nodes without a relation (tests, ephemeral models) dbt's default
/// `generate_schema_name`: `<target schema>_<custom>`, tests' custom schema `dbt_test__audit`.
fn node_schema(manifest: &Manifest, node: &Node) -> String {
    if let Some(relation) = &node.relation {
        return relation.schema.clone();
    }
    let custom = node.config.get("schema").and_then(Value::as_str);
    let custom = match node.resource_type {
        ResourceType::Test => Some(custom.unwrap_or(AUDIT_SCHEMA)),
        _ => custom,
    };
    match custom {
        Some(custom) => format!("{}_{}", manifest.target.schema, custom.trim()),
        None => manifest.target.schema.clone(),
    }
}

fn node_alias(node: &Node) -> String {
    match &node.relation {
        Some(relation) => relation.identifier.clone(),
        None => node
            .config
            .get("alias")
            .and_then(Value::as_str)
            .unwrap_or(&node.name)
            .to_string(),
    }
}

/// The path inside the resource's directory; a generic test's is `<alias>.sql`, and dbt puts
/// analyses under `analysis/`.
fn node_path(node: &Node) -> String {
    if node.test.is_some() {
        return format!("{}.sql", hashed_test_alias(node).unwrap_or(&node.name));
    }
    let inside = node
        .path
        .split_once('/')
        .map_or(node.path.as_str(), |(_, rest)| rest);
    match node.resource_type {
        ResourceType::Analysis => format!("analysis/{inside}"),
        _ => inside.to_string(),
    }
}

/// The alias of a generic test whose long name was cut and hashed (`<prefix>_<md5>`): dbt
/// keeps the long name as `name` and sets this as `alias` config.
fn hashed_test_alias(node: &Node) -> Option<&str> {
    node.test.as_ref()?;
    node.config.get("alias").and_then(Value::as_str)
}

/// A generic test's code as dbt records it; other nodes' source text.
fn raw_code(node: &Node) -> String {
    let Some(test) = &node.test else {
        return node.raw_code.to_string();
    };
    let macro_name = match &test.namespace {
        Some(namespace) => format!("{namespace}.test_{}", test.name),
        None => format!("test_{}", test.name),
    };
    let mut code = format!("{{{{ {macro_name}(**_dbt_generic_test_kwargs) }}}}");
    if let Some(alias) = hashed_test_alias(node) {
        code.push_str(&format!("{{{{ config(alias=\"{alias}\") }}}}"));
    }
    code
}

// ---------------------------------------------------------------------------------------------
// Checksums

/// sha256 of the file text stripped of surrounding whitespace; generic tests have none; seeds
/// over 1 MiB are identified by their path.
fn checksum_json(manifest: &Manifest, node: &Node) -> Value {
    match node.resource_type {
        ResourceType::Test if node.test.is_some() => no_checksum(),
        ResourceType::Seed => seed_checksum(manifest, node),
        _ => sha256_checksum(&node.raw_code),
    }
}

fn sha256_checksum(text: &str) -> Value {
    json!({"name": "sha256", "checksum": format!("{:x}", Sha256::digest(text.trim().as_bytes()))})
}

fn no_checksum() -> Value {
    json!({"name": "none", "checksum": ""})
}

fn seed_checksum(manifest: &Manifest, node: &Node) -> Value {
    match crate::fs::read_bytes(&manifest.root.join(&node.path)) {
        Ok(bytes) if bytes.len() > MAXIMUM_SEED_SIZE => json!({"name": "path", "checksum": node.path}),
        Ok(bytes) => sha256_checksum(&String::from_utf8_lossy(&bytes)),
        Err(_) => no_checksum(),
    }
}

// ---------------------------------------------------------------------------------------------
// Configs

/// Keys every node config has, with dbt's defaults.
fn base_config_defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("enabled", json!(true)),
        ("alias", Value::Null),
        ("schema", Value::Null),
        ("database", Value::Null),
        ("tags", json!([])),
        ("meta", json!({})),
        ("group", Value::Null),
        ("static_analysis", Value::Null),
        ("materialized", json!("view")),
    ]
}

/// Keys of model, seed, snapshot and analysis configs after the base keys (dbt's NodeConfig).
fn build_config_defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("incremental_strategy", Value::Null),
        ("batch_size", Value::Null),
        ("lookback", json!(1)),
        ("begin", Value::Null),
        ("persist_docs", json!({})),
        ("post-hook", json!([])),
        ("pre-hook", json!([])),
        ("quoting", json!({})),
        ("column_types", json!({})),
        ("full_refresh", Value::Null),
        ("unique_key", Value::Null),
        ("on_schema_change", json!("ignore")),
        ("on_configuration_change", json!("apply")),
        ("grants", json!({})),
        ("packages", json!([])),
        ("docs", docs_default()),
        ("contract", json!({"enforced": false, "alias_types": true})),
        ("event_time", Value::Null),
        ("concurrent_batches", Value::Null),
    ]
}

/// Keys of test configs after the base keys.
fn test_config_defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("severity", json!("ERROR")),
        ("store_failures", Value::Null),
        ("store_failures_as", Value::Null),
        ("where", Value::Null),
        ("limit", Value::Null),
        ("fail_calc", json!("count(*)")),
        ("warn_if", json!("!= 0")),
        ("error_if", json!("!= 0")),
    ]
}

/// Keys of snapshot configs after the NodeConfig keys.
fn snapshot_config_defaults() -> Vec<(&'static str, Value)> {
    let meta_columns = json!({
        "dbt_valid_to": null, "dbt_valid_from": null, "dbt_scd_id": null,
        "dbt_updated_at": null, "dbt_is_deleted": null,
    });
    vec![
        ("strategy", Value::Null),
        ("target_schema", Value::Null),
        ("target_database", Value::Null),
        ("updated_at", Value::Null),
        ("check_cols", Value::Null),
        ("snapshot_meta_column_names", meta_columns),
        ("dbt_valid_to_current", Value::Null),
    ]
}

/// Every config key dbt writes for a resource type, in order, with its default.
fn config_defaults(resource_type: ResourceType) -> Vec<(&'static str, Value)> {
    let mut defaults = base_config_defaults();
    match resource_type {
        ResourceType::Test => {
            defaults.extend(test_config_defaults());
            return defaults;
        }
        ResourceType::Source => return source_config_defaults(),
        _ => defaults.extend(build_config_defaults()),
    }
    match resource_type {
        ResourceType::Model => defaults.extend([("access", json!("protected")), ("freshness", Value::Null)]),
        ResourceType::Seed => defaults.extend([("delimiter", json!(",")), ("quote_columns", Value::Null)]),
        ResourceType::Snapshot => defaults.extend(snapshot_config_defaults()),
        _ => {}
    }
    defaults
}

fn source_config_defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("enabled", json!(true)),
        ("event_time", Value::Null),
        ("freshness", freshness_default()),
        ("loaded_at_field", Value::Null),
        ("loaded_at_query", Value::Null),
        ("meta", json!({})),
        ("tags", json!([])),
        ("static_analysis", Value::Null),
    ]
}

/// The node's config with every key dbt writes: its own values (normalised to dbt's forms)
/// over dbt's defaults, then the keys dbt does not know, in the order they were set.
fn config_json(node: &Node) -> Value {
    Value::Object(config_with_defaults(node))
}

/// The node's config as manifest.json shows it (see `config_json`): what dbt's and the docs
/// site's `config.` selectors read.
pub fn config_with_defaults(node: &Node) -> Map<String, Value> {
    let mut config = Map::new();
    for (key, default) in config_defaults(node.resource_type) {
        let value = match config_value(node, key) {
            Some(value) => normalise_config(node, key, value, default),
            None => implied_config(node, key).unwrap_or(default),
        };
        config.insert(key.to_string(), value);
    }
    for (key, value) in &node.config {
        let key = canonical_hook_key(key);
        if !config.contains_key(key) {
            config.insert(key.to_string(), value.clone());
        }
    }
    config
}

fn canonical_hook_key(key: &str) -> &str {
    match key {
        "pre_hook" => "pre-hook",
        "post_hook" => "post-hook",
        other => other,
    }
}

/// A config value, whichever spelling (`pre-hook`, `pre_hook`) it was set under.
fn config_value<'a>(node: &'a Node, key: &str) -> Option<&'a Value> {
    node.config.get(key).or_else(|| match key {
        "pre-hook" => node.config.get("pre_hook"),
        "post-hook" => node.config.get("post_hook"),
        _ => None,
    })
}

/// Config values dbt derives when the node sets none.
fn implied_config(node: &Node, key: &str) -> Option<Value> {
    match (node.resource_type, key) {
        (_, "tags") => Some(json!(node.tags)),
        (ResourceType::Test, "schema") => Some(json!(AUDIT_SCHEMA)),
        (ResourceType::Test, "alias") => hashed_test_alias(node).map(Value::from),
        _ => None,
    }
}

fn normalise_config(node: &Node, key: &str, value: &Value, default: Value) -> Value {
    match key {
        "tags" => json!(node.tags),
        "pre-hook" | "post-hook" => hooks_json(value),
        "docs" | "contract" | "snapshot_meta_column_names" | "freshness" => merged(default, Some(value)),
        "materialized" if value == "none" => json!("view"),
        _ => value.clone(),
    }
}

/// Hooks as dbt stores them: `[{sql, transaction, index}]`.
fn hooks_json(value: &Value) -> Value {
    let hook = |item: &Value| match item {
        Value::Object(_) => merged(json!({"sql": "", "transaction": true, "index": null}), Some(item)),
        Value::String(sql) => json!({"sql": sql, "transaction": true, "index": null}),
        other => json!({"sql": other.to_string(), "transaction": true, "index": null}),
    };
    match value {
        Value::Array(items) => Value::Array(items.iter().map(hook).collect()),
        Value::Null => json!([]),
        single => json!([hook(single)]),
    }
}

/// The config as the project wrote it: the node's config without the keys tmk fills in itself
/// (`enabled: true`, empty `tags`, the materialization implied by the resource type, tests'
/// default severity).
fn unrendered_config(node: &Node) -> Value {
    let implied = match node.resource_type {
        ResourceType::Seed => Some("seed"),
        ResourceType::Test => Some("test"),
        ResourceType::Snapshot => Some("snapshot"),
        ResourceType::Analysis => Some("none"),
        _ => None,
    };
    let filled_in = |key: &str, value: &Value| match key {
        "enabled" => value == &json!(true),
        "tags" => value == &json!([]),
        "materialized" => implied.is_some_and(|implied| value == implied),
        "severity" => node.resource_type == ResourceType::Test && value == "ERROR",
        _ => false,
    };
    let mut unrendered: Map<String, Value> = match node.resource_type {
        ResourceType::Source => source_unrendered_defaults(),
        _ => Map::new(),
    };
    for (key, value) in &node.config {
        if !filled_in(key, value) {
            unrendered.insert(canonical_hook_key(key).to_string(), value.clone());
        }
    }
    if let Some(alias) = hashed_test_alias(node) {
        unrendered.insert("alias".into(), json!(alias));
    }
    Value::Object(unrendered)
}

fn source_unrendered_defaults() -> Map<String, Value> {
    let defaults = json!({"loaded_at_field": null, "loaded_at_query": null, "meta": {}, "tags": []});
    match defaults {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn docs_default() -> Value {
    json!({"show": true, "node_color": null})
}

/// A source's freshness as its YAML resolves it (source and table levels), as dbt writes it.
fn freshness_json(spec: &FreshnessSpec) -> Value {
    let threshold = |threshold: Option<Threshold>| match threshold {
        Some(threshold) => json!({"count": threshold.count, "period": threshold.period.as_str()}),
        None => json!({"count": null, "period": null}),
    };
    json!({
        "warn_after": threshold(spec.warn_after),
        "error_after": threshold(spec.error_after),
        "filter": spec.filter,
    })
}

fn freshness_default() -> Value {
    json!({
        "warn_after": {"count": null, "period": null},
        "error_after": {"count": null, "period": null},
        "filter": null,
    })
}

/// `value`'s keys over `default`'s (objects only; anything else replaces the default).
fn merged(default: Value, value: Option<&Value>) -> Value {
    match (default, value) {
        (Value::Object(mut base), Some(Value::Object(over))) => {
            for (key, value) in over {
                base.insert(key.clone(), value.clone());
            }
            Value::Object(base)
        }
        (default, None | Some(Value::Null)) => default,
        (_, Some(value)) => value.clone(),
    }
}

fn object_or_empty(value: Option<&Value>) -> Value {
    match value {
        Some(Value::Object(map)) => Value::Object(map.clone()),
        _ => json!({}),
    }
}

// ---------------------------------------------------------------------------------------------
// Columns and sources

fn columns_json(context: &Context, node: &Node) -> Value {
    let columns: Map<String, Value> = node
        .columns
        .iter()
        .map(|(name, column)| {
            let meta = object_or_empty(Some(&column.meta));
            let entry = json!({
                "name": column.name,
                "description": column.description,
                "meta": meta,
                "data_type": column.data_type,
                "constraints": [],
                "quote": null,
                "config": {"meta": meta, "tags": []},
                "tags": [],
                "granularity": null,
                "doc_blocks": context.doc_blocks(&column.description),
            });
            (name.clone(), entry)
        })
        .collect();
    Value::Object(columns)
}

fn source_json(context: &Context, node: &Node) -> Value {
    let relation = node.relation.as_ref();
    let config = config_json(node);
    let schema = relation.map(|relation| relation.schema.clone());
    // dbt records the schema as written; tmk knows only that a default schema is the source name.
    let unrendered_schema = schema
        .clone()
        .filter(|schema| Some(schema) != node.source_name.as_ref());
    json!({
        "database": relation.map(|relation| relation.database.clone()),
        "schema": schema,
        "name": node.name,
        "resource_type": "source",
        "package_name": node.package,
        "path": node.path,
        "original_file_path": node.path,
        "unique_id": node.unique_id,
        "fqn": node.fqn,
        "source_name": node.source_name,
        "source_description": "",
        "loader": "",
        "identifier": relation.map(|relation| relation.identifier.clone()),
        "quoting": {"database": null, "schema": null, "identifier": null, "column": null},
        "loaded_at_field": node.freshness.as_ref().map_or_else(|| config["loaded_at_field"].clone(), |spec| json!(spec.loaded_at_field)),
        "loaded_at_query": config["loaded_at_query"],
        "freshness": node.freshness.as_deref().map_or_else(|| config["freshness"].clone(), freshness_json),
        "external": null,
        "description": node.description,
        "columns": columns_json(context, node),
        "meta": config["meta"],
        "source_meta": {},
        "tags": node.tags,
        "config": config,
        "patch_path": null,
        "unrendered_config": unrendered_config(node),
        "relation_name": relation.map(|relation| relation.render()),
        "created_at": context.created_at,
        "unrendered_database": null,
        "unrendered_schema": unrendered_schema,
        "doc_blocks": context.doc_blocks(&node.description),
    })
}

// ---------------------------------------------------------------------------------------------
// Macros and docs

/// Macro name → unique id; tmk's built-in macros are dbt's (`macro.dbt.test_not_null`).
fn macro_ids(manifest: &Manifest) -> BTreeMap<String, String> {
    manifest
        .jinja
        .macros()
        .origins
        .iter()
        .map(|(name, path)| {
            (
                name.clone(),
                format!("macro.{}.{name}", macro_package(manifest, path)),
            )
        })
        .collect()
}

fn macro_package<'a>(manifest: &'a Manifest, path: &str) -> &'a str {
    if path.starts_with(BUILTIN_MACRO_PREFIX) {
        "dbt"
    } else {
        &manifest.project_name
    }
}

fn macros_json(context: &Context) -> BTreeMap<String, Value> {
    let manifest = context.manifest;
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    let mut macros = BTreeMap::new();
    for (name, path) in &manifest.jinja.macros().origins {
        let package = macro_package(manifest, path);
        let text = files.entry(path.as_str()).or_insert_with(|| {
            if package == "dbt" {
                return String::new();
            }
            crate::fs::read_text(&manifest.root.join(path))
                .map(|text| text.to_string())
                .unwrap_or_default()
        });
        let unique_id = format!("macro.{package}.{name}");
        let entry = json!({
            "name": name,
            "resource_type": "macro",
            "package_name": package,
            "path": path,
            "original_file_path": path,
            "unique_id": unique_id,
            "macro_sql": macro_sql(text, name).unwrap_or_default(),
            "depends_on": {"macros": []},
            "description": "",
            "meta": {},
            "docs": docs_default(),
            "config": {"meta": {}, "docs": docs_default()},
            "patch_path": null,
            "arguments": [],
            "created_at": context.created_at,
            "supported_languages": null,
        });
        macros.insert(unique_id, entry);
    }
    macros
}

/// The `{% macro name(..) %}..{% endmacro %}` block (or `{% test %}` block) defining `name`.
fn macro_sql(text: &str, name: &str) -> Option<String> {
    let block = |keyword: &str, name: &str| {
        let start = find_tag(text, 0, keyword, Some(name))?;
        let end_tag = find_tag(text, start, &format!("end{keyword}"), None)?;
        let end = end_tag + text[end_tag..].find("%}")? + 2;
        Some(text[start..end].to_string())
    };
    block("macro", name).or_else(|| block("test", name.strip_prefix("test_")?))
}

/// Position of the first `{% keyword name` tag at or after `from` (any name when `None`).
fn find_tag(text: &str, from: usize, keyword: &str, name: Option<&str>) -> Option<usize> {
    let mut position = from;
    while let Some(offset) = text[position..].find("{%") {
        let start = position + offset;
        let inner = text[start + 2..].trim_start_matches('-').trim_start();
        let matches = inner.strip_prefix(keyword).is_some_and(|rest| match name {
            None => rest.starts_with(|c: char| c.is_whitespace() || c == '-' || c == '%'),
            Some(name) => rest.trim_start().strip_prefix(name).is_some_and(|after| {
                rest.starts_with(char::is_whitespace) && after.starts_with(['(', ' ', '%', '-'])
            }),
        });
        if matches {
            return Some(start);
        }
        position = start + 2;
    }
    None
}

/// (unique id, text) of the project's docs blocks.
fn doc_texts(manifest: &Manifest) -> Vec<(String, String)> {
    manifest
        .docs
        .iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(name, text)| {
            (
                format!("doc.{}.{name}", manifest.project_name),
                text.trim().to_string(),
            )
        })
        .collect()
}

fn docs_json(context: &Context) -> BTreeMap<String, Value> {
    let manifest = context.manifest;
    let files = docs_files(manifest);
    let mut docs: BTreeMap<String, Value> = manifest
        .docs
        .iter()
        .map(|(name, text)| {
            let original = files.get(name).cloned().unwrap_or_default();
            let entry = doc_json(&manifest.project_name, name, &original, text);
            (format!("doc.{}.{name}", manifest.project_name), entry)
        })
        .collect();
    let overview = doc_json("dbt", "__overview__", "docs/overview.md", DBT_OVERVIEW);
    docs.insert("doc.dbt.__overview__".into(), overview);
    docs
}

fn doc_json(package: &str, name: &str, original_file_path: &str, text: &str) -> Value {
    let path = original_file_path
        .split_once('/')
        .map_or(original_file_path, |(_, rest)| rest);
    json!({
        "name": name,
        "resource_type": "doc",
        "package_name": package,
        "path": path,
        "original_file_path": original_file_path,
        "unique_id": format!("doc.{package}.{name}"),
        "block_contents": text,
    })
}

/// Docs block name → the `.md` file defining it, found in the directories holding the
/// project's nodes (dbt's default docs-paths are those directories).
fn docs_files(manifest: &Manifest) -> BTreeMap<String, String> {
    let mut directories: Vec<&str> = manifest
        .nodes
        .iter()
        .filter_map(|node| node.path.split_once('/').map(|(directory, _)| directory))
        .collect();
    directories.sort_unstable();
    directories.dedup();
    let mut files = BTreeMap::new();
    for directory in directories {
        let found = crate::fs::files_with_extensions(&manifest.root.join(directory), &["md"]);
        for path in found.unwrap_or_default() {
            let Ok(text) = crate::fs::read_text(&path) else {
                continue;
            };
            let relative = path.strip_prefix(&manifest.root).unwrap_or(&path);
            let relative = relative.to_string_lossy().replace('\\', "/");
            for name in docs_block_names(&text) {
                files.entry(name).or_insert_with(|| relative.clone());
            }
        }
    }
    files
}

/// Names of the `{% docs name %}` blocks of a file.
fn docs_block_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut position = 0;
    while let Some(start) = find_tag(text, position, "docs", None) {
        let inner = text[start + 2..].trim_start_matches('-').trim_start();
        let name: String = inner["docs".len()..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            names.push(name);
        }
        position = start + 2;
    }
    names
}

/// dbt's own `__overview__` docs block, which docs viewers show when a project has none.
const DBT_OVERVIEW: &str = r#"### Welcome!

Welcome to the auto-generated documentation for your dbt project!

### Navigation

You can use the `Project` and `Database` navigation tabs on the left side of the window to explore the models
in your project.

#### Project Tab
The `Project` tab mirrors the directory structure of your dbt project. In this tab, you can see all of the
models defined in your dbt project, as well as models imported from dbt packages.

#### Database Tab
The `Database` tab also exposes your models, but in a format that looks more like a database explorer. This view
shows relations (tables and views) grouped into database schemas. Note that ephemeral models are _not_ shown
in this interface, as they do not exist in the database.

### Graph Exploration
You can click the blue icon on the bottom-right corner of the page to view the lineage graph of your models.

On model pages, you'll see the immediate parents and children of the model you're exploring. By clicking the `Expand`
button at the top-right of this lineage pane, you'll be able to see all of the models that are used to build,
or are built from, the model you're exploring.

Once expanded, you'll be able to use the `--select` and `--exclude` model selection syntax to filter the
models in the graph. For more information on model selection, check out the [dbt docs](https://docs.getdbt.com/docs/model-selection-syntax).

Note that you can also right-click on models to interactively filter and explore the graph.

---

### More information

- [What is dbt](https://docs.getdbt.com/docs/introduction)?
- Read the [dbt viewpoint](https://docs.getdbt.com/docs/viewpoint)
- [Installation](https://docs.getdbt.com/docs/installation)
- Join the [dbt Community](https://www.getdbt.com/community/) for questions and discussion"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_argument_is_recorded_as_dbt_writes_it() {
        assert_eq!(
            model_kwarg(&TestedRelation::Source("raw".into(), "t".into())),
            "{{ get_where_subquery(source('raw', 't')) }}"
        );
        assert_eq!(
            model_kwarg(&TestedRelation::Node("orders".into())),
            "{{ get_where_subquery(ref('orders')) }}"
        );
    }

    #[test]
    fn finds_macro_and_docs_blocks() {
        let text = "{% macro a(x) %}{{ x }}{% endmacro %}\n{%- test b(model) -%}\nselect 1\n{%- endtest %}";
        assert_eq!(
            macro_sql(text, "a").as_deref(),
            Some("{% macro a(x) %}{{ x }}{% endmacro %}")
        );
        assert_eq!(
            macro_sql(text, "test_b").as_deref(),
            Some("{%- test b(model) -%}\nselect 1\n{%- endtest %}")
        );
        assert_eq!(macro_sql(text, "ab"), None);
        assert_eq!(
            docs_block_names("{% docs one %}x{% enddocs %}\n{%- docs two -%}y{% enddocs %}"),
            vec!["one", "two"]
        );
    }

    #[test]
    fn hooks_take_dbts_form() {
        assert_eq!(
            hooks_json(&json!(["select 1"])),
            json!([{"sql": "select 1", "transaction": true, "index": null}])
        );
        assert_eq!(
            hooks_json(&json!("x")),
            json!([{"sql": "x", "transaction": true, "index": null}])
        );
    }
}
