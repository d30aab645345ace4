//! The site's data: one JSON document built from the artifacts (manifest, catalog, run
//! results) and the column lineage, holding every node the site lists (models, sources, seeds,
//! snapshots, tests) with its rendered description, columns, SQL, status and graph position,
//! and the edges between them. Descriptions are Markdown rendered to HTML here. Column edges
//! are stored upstream only (`up` on each column); the page derives downstream by reversing
//! them. What the page's selector filter matches on (fqn, config, test name, source name, the
//! tests' parents) is here too, with each distinct config stored once. Pure: values in, a
//! value out.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::layout;
use crate::sql::lineage::ProjectLineage;

/// The resource types the site lists, in the order its sidebar groups them.
pub const RESOURCE_TYPES: [&str; 5] = ["model", "source", "seed", "snapshot", "test"];

/// What the site is built from.
pub struct Artifacts<'a> {
    /// manifest.json, as [`read_manifest`] reads it.
    pub manifest: &'a Value,
    /// catalog.json.
    pub catalog: &'a Value,
    /// run_results.json of the last run, when there is one.
    pub run_results: Option<&'a Value>,
    /// Column lineage read from the compiled SQL (columns it does not list have none).
    pub lineage: &'a ProjectLineage,
}

/// A column being assembled: name, type, description (HTML), tests, upstream (node index,
/// column name), how it is computed, and whether all it reads was traced.
#[derive(Default)]
struct Column {
    name: String,
    data_type: Option<String>,
    description: String,
    tests: Vec<String>,
    upstream: Vec<(usize, String)>,
    transform: Option<String>,
    unresolved: bool,
}

/// The site's data document.
pub fn site_data(artifacts: &Artifacts) -> Value {
    let manifest = artifacts.manifest;
    let mut entries: Vec<&Value> = ["nodes", "sources"]
        .iter()
        .filter_map(|key| manifest.get(*key).and_then(Value::as_object))
        .flat_map(|map| map.values())
        .filter(|node| RESOURCE_TYPES.contains(&text(node, "resource_type")))
        .collect();
    entries.sort_by(|left, right| text(left, "unique_id").cmp(text(right, "unique_id")));
    let index: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(position, node)| (text(node, "unique_id"), position))
        .collect();
    let mut columns: Vec<Vec<Column>> = entries
        .iter()
        .map(|node| node_columns(node, artifacts.catalog))
        .collect();
    let mut node_tests: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    let mut attached: Vec<Option<usize>> = vec![None; entries.len()];
    for (position, node) in entries.iter().enumerate() {
        if text(node, "resource_type") != "test" {
            continue;
        }
        let target = node
            .get("attached_node")
            .and_then(Value::as_str)
            .or_else(|| parents(node).first().copied())
            .and_then(|id| index.get(id).copied());
        let Some(target) = target else { continue };
        attached[position] = Some(target);
        node_tests[target].push(position);
        if let Some(column) = node.get("column_name").and_then(Value::as_str) {
            let name = node
                .pointer("/test_metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_else(|| text(node, "name"));
            column_entry(&mut columns[target], column)
                .tests
                .push(name.to_string());
        }
    }
    for (node, lineage) in &artifacts.lineage.nodes {
        let Some(&position) = index.get(node.as_str()) else {
            continue;
        };
        for column in &lineage.columns {
            let mut refs = Vec::new();
            for upstream in &column.upstream {
                if let Some(&parent_position) = index.get(upstream.node.as_str()) {
                    column_entry(&mut columns[parent_position], &upstream.column);
                    refs.push((parent_position, upstream.column.clone()));
                }
            }
            let entry = column_entry(&mut columns[position], &column.name);
            entry.upstream = refs;
            entry.transform = serde_json::to_value(column.transform)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string));
            entry.unresolved = !column.resolved;
        }
    }
    let in_graph: Vec<bool> = entries
        .iter()
        .map(|node| text(node, "resource_type") != "test")
        .collect();
    let (edges, test_edges) = graph_edges(&entries, &index, &in_graph);
    let placements = layout::layered(entries.len(), &edges);
    let mut configs = Configs::default();
    let results = run_results(artifacts.run_results);
    let nodes: Vec<Value> = entries
        .iter()
        .enumerate()
        .map(|(position, node)| {
            let result = results.get(text(node, "unique_id"));
            let out = node_json(
                node,
                std::mem::take(&mut columns[position]),
                &node_tests[position],
                attached[position],
                in_graph[position].then_some(placements[position]),
                result,
                &mut configs,
            );
            Value::Object(out)
        })
        .collect();
    json!({
        "project": manifest.pointer("/metadata/project_name").cloned().unwrap_or(Value::Null),
        "generated_at": manifest.pointer("/metadata/generated_at").cloned().unwrap_or(Value::Null),
        "run_at": artifacts.run_results.and_then(|results| results.pointer("/metadata/generated_at")).cloned(),
        "overview": overview(manifest),
        "nodes": nodes,
        "edges": edges,
        "test_edges": test_edges,
        "configs": configs.list,
    })
}

/// An edge between two of the site's nodes, by index: (parent, child).
type Edge = (usize, usize);

/// The graph's edges, (parent, child) between nodes it draws, and each test's parents as
/// (parent, test) edges: the graph does not draw tests, but selection walks through them
/// (`@m` reaches the other parents of m's relationships tests, as in dbt). Each sorted, once.
fn graph_edges(
    entries: &[&Value],
    index: &HashMap<&str, usize>,
    in_graph: &[bool],
) -> (Vec<Edge>, Vec<Edge>) {
    let mut edges: Vec<Edge> = Vec::new();
    let mut test_edges: Vec<Edge> = Vec::new();
    for (child, node) in entries.iter().enumerate() {
        for parent in parents(node) {
            let Some(&parent) = index.get(parent) else {
                continue;
            };
            if !in_graph[child] {
                test_edges.push((parent, child));
            } else if in_graph[parent] {
                edges.push((parent, child));
            }
        }
    }
    for list in [&mut edges, &mut test_edges] {
        list.sort_unstable();
        list.dedup();
    }
    (edges, test_edges)
}

/// The distinct configs of the site's nodes, each stored once: nodes refer to theirs by index
/// (`c`), so 5,000 models sharing three configs cost three configs.
#[derive(Default)]
struct Configs {
    list: Vec<Value>,
    seen: HashMap<String, usize>,
}

impl Configs {
    /// The index of `config`, a config as [`read_manifest`] keeps it (its selectable part),
    /// added when new.
    fn index(&mut self, config: Option<&Value>) -> usize {
        let key = config.map_or_else(|| "{}".to_string(), Value::to_string);
        if let Some(&known) = self.seen.get(&key) {
            return known;
        }
        self.list.push(config.cloned().unwrap_or_else(|| json!({})));
        self.seen.insert(key, self.list.len() - 1);
        self.list.len() - 1
    }
}

/// What `config.<key>:` can match: the config without nulls, empty lists and empty mappings,
/// and lists without their non-scalar items (a selector compares scalars only).
fn selectable_config(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Array(items) => {
            let scalars: Vec<Value> = items
                .iter()
                .filter(|item| !matches!(item, Value::Null | Value::Array(_) | Value::Object(_)))
                .cloned()
                .collect();
            (!scalars.is_empty()).then_some(Value::Array(scalars))
        }
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), selectable_config(value)?)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        scalar => Some(scalar.clone()),
    }
}

/// The parts of manifest.json the site uses, read from its bytes: the nodes' and sources'
/// fields below, the metadata and the docs blocks. Everything else (checksums, unrendered
/// configs, macros, the dependency maps) is skipped while parsing, which is most of a large
/// manifest's parse time. The result has the manifest's shape, with only those keys, and of
/// each config what a selector can match ([`selectable_config`]). Configs are a fifth of a
/// manifest and most nodes share theirs: each distinct config text is parsed once.
pub fn read_manifest(bytes: &[u8]) -> serde_json::Result<Value> {
    let view: ManifestView = serde_json::from_slice(bytes)?;
    let mut configs = HashMap::new();
    Ok(json!({
        "metadata": view.metadata,
        "nodes": node_group(view.nodes, &mut configs),
        "sources": node_group(view.sources, &mut configs),
        "docs": view.docs,
    }))
}

/// `nodes` or `sources` as a map from unique id to node.
fn node_group<'a>(
    nodes: Option<BTreeMap<String, NodeView<'a>>>,
    configs: &mut HashMap<&'a str, Value>,
) -> Value {
    Value::Object(
        nodes
            .unwrap_or_default()
            .into_iter()
            .map(|(unique_id, node)| (unique_id, node.into_value(configs)))
            .collect(),
    )
}

/// manifest.json, as far as the site reads it.
#[derive(serde::Deserialize)]
struct ManifestView<'a> {
    #[serde(default)]
    metadata: Value,
    #[serde(borrow)]
    nodes: Option<BTreeMap<String, NodeView<'a>>>,
    #[serde(borrow)]
    sources: Option<BTreeMap<String, NodeView<'a>>>,
    #[serde(default)]
    docs: Value,
}

/// One node or source, as far as the site reads it.
#[derive(serde::Deserialize)]
struct NodeView<'a> {
    unique_id: Option<Value>,
    resource_type: Option<Value>,
    name: Option<Value>,
    package_name: Option<Value>,
    original_file_path: Option<Value>,
    source_name: Option<Value>,
    relation_name: Option<Value>,
    fqn: Option<Value>,
    tags: Option<Value>,
    description: Option<Value>,
    raw_code: Option<Value>,
    compiled_code: Option<Value>,
    columns: Option<Value>,
    depends_on: Option<DependsOnView>,
    #[serde(borrow)]
    config: Option<&'a RawValue>,
    attached_node: Option<Value>,
    column_name: Option<Value>,
    test_metadata: Option<TestMetadataView>,
}

#[derive(serde::Deserialize)]
struct DependsOnView {
    nodes: Option<Value>,
}

#[derive(serde::Deserialize)]
struct TestMetadataView {
    name: Option<Value>,
}

impl<'a> NodeView<'a> {
    /// The node's fields as a manifest node; `configs` holds the configs read so far, by text.
    fn into_value(self, configs: &mut HashMap<&'a str, Value>) -> Value {
        let config = self.config.map(|raw| {
            configs
                .entry(raw.get())
                .or_insert_with(|| {
                    serde_json::from_str(raw.get())
                        .ok()
                        .and_then(|config: Value| selectable_config(&config))
                        .unwrap_or_else(|| json!({}))
                })
                .clone()
        });
        let mut out = Map::new();
        let fields = [
            ("unique_id", self.unique_id),
            ("resource_type", self.resource_type),
            ("name", self.name),
            ("package_name", self.package_name),
            ("original_file_path", self.original_file_path),
            ("source_name", self.source_name),
            ("relation_name", self.relation_name),
            ("fqn", self.fqn),
            ("tags", self.tags),
            ("description", self.description),
            ("raw_code", self.raw_code),
            ("compiled_code", self.compiled_code),
            ("columns", self.columns),
            ("attached_node", self.attached_node),
            ("column_name", self.column_name),
            (
                "depends_on",
                self.depends_on
                    .map(|depends_on| json!({"nodes": depends_on.nodes})),
            ),
            ("config", config),
            (
                "test_metadata",
                self.test_metadata.map(|test| json!({"name": test.name})),
            ),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                out.insert(key.to_string(), value);
            }
        }
        Value::Object(out)
    }
}

/// A string field, or "".
fn text<'a>(node: &'a Value, key: &str) -> &'a str {
    node.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The unique ids a node depends on.
fn parents(node: &Value) -> Vec<&str> {
    node.pointer("/depends_on/nodes")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The node's columns: the catalog's (in the relation's order, with their types), then those
/// only declared in YAML; descriptions and declared types from the manifest.
fn node_columns(node: &Value, catalog: &Value) -> Vec<Column> {
    let unique_id = text(node, "unique_id");
    let group = if text(node, "resource_type") == "source" {
        "sources"
    } else {
        "nodes"
    };
    let mut columns: Vec<Column> = Vec::new();
    if let Some(described) = catalog
        .get(group)
        .and_then(|group| group.get(unique_id))
        .and_then(|entry| entry.get("columns"))
        .and_then(Value::as_object)
    {
        let mut ordered: Vec<&Value> = described.values().collect();
        ordered.sort_by_key(|column| column.get("index").and_then(Value::as_u64).unwrap_or(0));
        for column in ordered {
            columns.push(Column {
                name: text(column, "name").to_string(),
                data_type: column.get("type").and_then(Value::as_str).map(str::to_string),
                description: column
                    .get("comment")
                    .and_then(Value::as_str)
                    .map(markdown)
                    .unwrap_or_default(),
                ..Column::default()
            });
        }
    }
    if let Some(declared) = node.get("columns").and_then(Value::as_object) {
        for (name, column) in declared {
            let entry = column_entry(&mut columns, name);
            let description = text(column, "description");
            if !description.is_empty() {
                entry.description = markdown(description);
            }
            if entry.data_type.is_none() {
                entry.data_type = column
                    .get("data_type")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
        }
    }
    columns
}

/// The column named `name` (case-insensitively, as PostgreSQL folds unquoted names), added
/// at the end when missing.
fn column_entry<'a>(columns: &'a mut Vec<Column>, name: &str) -> &'a mut Column {
    let found = columns
        .iter()
        .position(|column| column.name.eq_ignore_ascii_case(name));
    let position = found.unwrap_or_else(|| {
        columns.push(Column {
            name: name.to_string(),
            ..Column::default()
        });
        columns.len() - 1
    });
    &mut columns[position]
}

/// Status, execution time and message of each node in the last run.
fn run_results(run_results: Option<&Value>) -> HashMap<&str, &Value> {
    run_results
        .and_then(|results| results.get("results"))
        .and_then(Value::as_array)
        .map(|results| {
            results
                .iter()
                .map(|result| (text(result, "unique_id"), result))
                .collect()
        })
        .unwrap_or_default()
}

/// One node for the page. Keys are short: the document holds thousands of them.
fn node_json(
    node: &Value,
    columns: Vec<Column>,
    tests: &[usize],
    attached: Option<usize>,
    placement: Option<layout::Placement>,
    result: Option<&&Value>,
    configs: &mut Configs,
) -> Map<String, Value> {
    let resource_type = text(node, "resource_type");
    let mut out = Map::new();
    let name = if resource_type == "source" {
        let source_name = text(node, "source_name");
        out.insert("sn".into(), json!(source_name));
        format!("{source_name}.{}", text(node, "name"))
    } else {
        text(node, "name").to_string()
    };
    let materialized = match resource_type {
        "source" | "test" => resource_type,
        _ => node
            .pointer("/config/materialized")
            .and_then(Value::as_str)
            .unwrap_or(resource_type),
    };
    let columns: Vec<Value> = columns
        .into_iter()
        .map(|column| {
            let mut entry = Map::new();
            entry.insert("n".into(), json!(column.name));
            if let Some(data_type) = column.data_type {
                entry.insert("ty".into(), json!(data_type));
            }
            if !column.description.is_empty() {
                entry.insert("d".into(), json!(column.description));
            }
            if !column.tests.is_empty() {
                entry.insert("tests".into(), json!(column.tests));
            }
            if !column.upstream.is_empty() {
                entry.insert("up".into(), json!(column.upstream));
            }
            if let Some(transform) = column.transform {
                entry.insert("tr".into(), json!(transform));
            }
            if column.unresolved {
                entry.insert("unresolved".into(), json!(true));
            }
            Value::Object(entry)
        })
        .collect();
    out.insert("id".into(), json!(text(node, "unique_id")));
    out.insert("n".into(), json!(name));
    out.insert("t".into(), json!(resource_type));
    out.insert("pkg".into(), json!(text(node, "package_name")));
    out.insert("f".into(), json!(text(node, "original_file_path")));
    out.insert("m".into(), json!(materialized));
    out.insert(
        "rel".into(),
        node.get("relation_name").cloned().unwrap_or(Value::Null),
    );
    out.insert(
        "tags".into(),
        node.get("tags").cloned().unwrap_or_else(|| json!([])),
    );
    out.insert("d".into(), json!(markdown(text(node, "description"))));
    out.insert("cols".into(), Value::Array(columns));
    out.insert("raw".into(), json!(text(node, "raw_code")));
    out.insert(
        "sql".into(),
        node.get("compiled_code").cloned().unwrap_or(Value::Null),
    );
    out.insert("tests".into(), json!(tests));
    if let Some(attached) = attached {
        out.insert("on".into(), json!(attached));
    }
    if let Some(placement) = placement {
        out.insert("L".into(), json!(placement.layer));
        out.insert("o".into(), json!(placement.order));
    }
    // What the selector filter reads beyond what the page shows: the fqn, the config (an index
    // into `configs`) and a generic test's test name (a source's source name is above).
    out.insert(
        "fqn".into(),
        node.get("fqn").cloned().unwrap_or_else(|| json!([])),
    );
    out.insert("c".into(), json!(configs.index(node.get("config"))));
    if let Some(test_name) = node
        .pointer("/test_metadata/name")
        .filter(|name| name.is_string())
    {
        out.insert("tn".into(), test_name.clone());
    }
    if let Some(result) = result {
        out.insert("st".into(), result.get("status").cloned().unwrap_or(Value::Null));
        out.insert(
            "dt".into(),
            result.get("execution_time").cloned().unwrap_or(Value::Null),
        );
        let message = text(result, "message");
        if !message.is_empty() {
            out.insert("msg".into(), json!(message));
        }
    }
    out
}

/// The project's `__overview__` docs block, rendered; None when the project has none.
fn overview(manifest: &Value) -> Option<String> {
    let project = manifest.pointer("/metadata/project_name")?.as_str()?;
    let block = manifest.get("docs")?.get(format!("doc.{project}.__overview__"))?;
    Some(markdown(text(block, "block_contents")))
}

/// Markdown (CommonMark with tables and strikethrough) to HTML.
pub fn markdown(source: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    if source.trim().is_empty() {
        return String::new();
    }
    let parser = Parser::new_ext(source, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(source.len() * 2);
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Value {
        json!({
            "metadata": {"project_name": "shop", "generated_at": "2026-01-01T00:00:00Z"},
            "nodes": {
                "model.shop.orders": {
                    "unique_id": "model.shop.orders", "resource_type": "model", "name": "orders",
                    "package_name": "shop", "original_file_path": "models/orders.sql", "fqn": ["shop", "orders"],
                    "config": {"materialized": "table", "meta": {"owner": "ann", "team": null}, "grants": {},
                               "post-hook": [], "tags": ["finance", null]},
                    "tags": ["finance"],
                    "description": "All **orders**.", "raw_code": "select 1", "compiled_code": "select 1",
                    "columns": {"order_id": {"name": "order_id", "description": "The key.", "data_type": null}},
                    "depends_on": {"nodes": ["source.shop.raw.orders"]}
                },
                "test.shop.unique_orders_order_id.abc": {
                    "unique_id": "test.shop.unique_orders_order_id.abc", "resource_type": "test",
                    "name": "unique_orders_order_id", "attached_node": "model.shop.orders",
                    "column_name": "order_id", "test_metadata": {"name": "unique"},
                    "config": {"enabled": true, "where": null},
                    "depends_on": {"nodes": ["model.shop.orders"]}
                }
            },
            "sources": {
                "source.shop.raw.orders": {
                    "unique_id": "source.shop.raw.orders", "resource_type": "source", "name": "orders",
                    "source_name": "raw", "description": "", "columns": {}, "config": {"enabled": true, "meta": {}}
                }
            },
            "docs": {"doc.shop.__overview__": {"block_contents": "# Shop"}}
        })
    }

    #[test]
    fn the_site_data_joins_manifest_catalog_results_and_lineage() {
        let catalog = json!({"nodes": {"model.shop.orders": {"columns": {
            "amount": {"name": "amount", "type": "numeric", "index": 2},
            "order_id": {"name": "order_id", "type": "integer", "index": 1}
        }}}, "sources": {}});
        let results = json!({"results": [{"unique_id": "model.shop.orders", "status": "success", "execution_time": 0.5, "message": "SELECT 3"}]});
        let lineage: ProjectLineage = serde_json::from_value(json!({"nodes": {
            "model.shop.orders": {"complete": true, "columns": [
                {"name": "order_id", "upstream": [{"node": "source.shop.raw.orders", "column": "id"}], "resolved": true, "transform": "identity"},
                {"name": "amount", "upstream": [], "resolved": false, "transform": "expression"}
            ]}
        }}))
        .expect("lineage");
        let manifest = read_manifest(&serde_json::to_vec(&manifest()).expect("JSON")).expect("a manifest");
        let data = site_data(&Artifacts {
            manifest: &manifest,
            catalog: &catalog,
            run_results: Some(&results),
            lineage: &lineage,
        });
        insta::assert_yaml_snapshot!(data);
    }

    #[test]
    fn the_manifest_is_read_without_the_parts_the_site_does_not_use() {
        let mut full = manifest();
        full["macros"] = json!({"macro.dbt.x": {"macro_sql": "..."}});
        full["nodes"]["model.shop.orders"]["checksum"] = json!({"name": "sha256"});
        let bytes = serde_json::to_vec(&full).expect("JSON");
        let read = read_manifest(&bytes).expect("a manifest");
        let mut expected = manifest();
        for group in ["nodes", "sources"] {
            for node in expected[group]
                .as_object_mut()
                .into_iter()
                .flat_map(|nodes| nodes.values_mut())
            {
                node["config"] = selectable_config(&node["config"]).unwrap_or_else(|| json!({}));
            }
        }
        assert_eq!(read["nodes"], expected["nodes"]);
        assert_eq!(read["sources"], expected["sources"]);
        assert_eq!(
            read["nodes"]["model.shop.orders"]["config"],
            json!({"materialized": "table", "meta": {"owner": "ann"}, "tags": ["finance"]})
        );
        assert_eq!(read["docs"], expected["docs"]);
        assert!(read.get("macros").is_none());
    }

    #[test]
    fn markdown_renders_to_html() {
        assert_eq!(
            markdown("All **orders**."),
            "<p>All <strong>orders</strong>.</p>\n"
        );
        assert_eq!(markdown("  "), "");
    }
}
