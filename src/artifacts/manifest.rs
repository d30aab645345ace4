//! `manifest.json`, schema v12: every node with its config, code, dependencies and columns,
//! sources, macros, docs, and the parent and child maps.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::compile::Manifest;
use crate::compile::node::{Node, ResourceType};

/// The manifest as JSON.
pub fn manifest_json(manifest: &Manifest) -> Value {
    let mut nodes = BTreeMap::new();
    let mut sources = BTreeMap::new();
    let mut parent_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut child_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (index, node) in manifest.nodes.iter().enumerate() {
        let mut parents: Vec<String> = node
            .depends_on
            .iter()
            .map(|&parent| manifest.nodes[parent].unique_id.clone())
            .collect();
        parents.sort();
        let mut children: Vec<String> = manifest
            .dag
            .children(index)
            .into_iter()
            .map(|child| manifest.nodes[child].unique_id.clone())
            .collect();
        children.sort();
        parent_map.insert(node.unique_id.clone(), parents);
        child_map.insert(node.unique_id.clone(), children);
        if node.resource_type == ResourceType::Source {
            sources.insert(node.unique_id.clone(), source_json(manifest, node));
        } else {
            nodes.insert(node.unique_id.clone(), node_json(manifest, node));
        }
    }
    let macros: BTreeMap<String, Value> = manifest
        .jinja
        .macros()
        .origins
        .iter()
        .map(|(name, path)| {
            let unique_id = format!("macro.{}.{name}", manifest.project_name);
            (
                unique_id.clone(),
                json!({
                    "name": name, "resource_type": "macro", "package_name": manifest.project_name,
                    "path": path, "original_file_path": path, "unique_id": unique_id,
                    "macro_sql": "", "depends_on": {"macros": []}, "description": "", "meta": {},
                    "docs": {"show": true, "node_color": null}, "patch_path": null, "arguments": [],
                    "created_at": 0.0, "supported_languages": null,
                }),
            )
        })
        .collect();
    let docs: BTreeMap<String, Value> = manifest
        .docs
        .iter()
        .map(|(name, text)| {
            let unique_id = format!("doc.{}.{name}", manifest.project_name);
            (unique_id.clone(), json!({"name": name, "resource_type": "doc", "package_name": manifest.project_name, "path": "", "original_file_path": "", "unique_id": unique_id, "block_contents": text}))
        })
        .collect();
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": super::DBT_VERSION,
            "generated_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "invocation_id": crate::invocation::id(),
            "invocation_started_at": crate::invocation::started_at(),
            "env": {},
            "project_name": manifest.project_name,
            "project_id": format!("{:x}", <md5::Md5 as md5::Digest>::digest(manifest.project_name.as_bytes())),
            "user_id": null,
            "send_anonymous_usage_stats": false,
            "adapter_type": "postgres",
        },
        "nodes": nodes,
        "sources": sources,
        "macros": macros,
        "docs": docs,
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
    })
}

fn columns_json(node: &Node) -> Value {
    let columns: serde_json::Map<String, Value> = node
        .columns
        .iter()
        .map(|(name, column)| {
            (
                name.clone(),
                json!({
                    "name": column.name, "description": column.description, "meta": column.meta,
                    "data_type": column.data_type, "constraints": [], "quote": null, "tags": [],
                    "granularity": null,
                }),
            )
        })
        .collect();
    Value::Object(columns)
}

fn node_json(manifest: &Manifest, node: &Node) -> Value {
    let relation = node.relation.as_ref();
    let depends_on: Vec<String> = node
        .depends_on
        .iter()
        .map(|&parent| manifest.nodes[parent].unique_id.clone())
        .collect();
    let refs: Vec<Value> = node
        .depends_on
        .iter()
        .map(|&parent| &manifest.nodes[parent])
        .filter(|parent| parent.resource_type != ResourceType::Source)
        .map(|parent| json!({"name": parent.name, "package": null, "version": null}))
        .collect();
    let sources: Vec<Value> = node
        .depends_on
        .iter()
        .map(|&parent| &manifest.nodes[parent])
        .filter_map(|parent| Some(json!([parent.source_name.as_ref()?, parent.name])))
        .collect();
    let path = match node.resource_type {
        ResourceType::Test if node.test.is_some() => format!("{}.sql", node.name),
        _ => node
            .path
            .split_once('/')
            .map_or(node.path.clone(), |(_, rest)| rest.to_string()),
    };
    let mut value = json!({
        "database": relation.map(|relation| relation.database.clone()).unwrap_or_else(|| manifest.target.database.clone()),
        "schema": relation.map(|relation| relation.schema.clone()).unwrap_or_else(|| manifest.target.schema.clone()),
        "name": node.name,
        "resource_type": node.resource_type.as_str(),
        "package_name": node.package,
        "path": path,
        "original_file_path": node.path,
        "unique_id": node.unique_id,
        "fqn": node.fqn,
        "alias": relation.map(|relation| relation.identifier.clone()).unwrap_or_else(|| node.name.clone()),
        "checksum": {"name": "sha256", "checksum": node.checksum},
        "config": node.config,
        "tags": node.tags,
        "description": node.description,
        "columns": columns_json(node),
        "meta": node.config.get("meta").cloned().unwrap_or(json!({})),
        "group": null,
        "docs": {"show": true, "node_color": null},
        "patch_path": node.patch_path.as_ref().map(|path| format!("{}://{path}", node.package)),
        "build_path": null,
        "unrendered_config": {},
        "created_at": crate::invocation::started_at_time().timestamp() as f64,
        "relation_name": relation.map(|relation| relation.render()),
        "raw_code": node.raw_code.as_ref(),
        "doc_blocks": [],
        "language": "sql",
        "refs": refs,
        "sources": sources,
        "metrics": [],
        "depends_on": {"macros": [], "nodes": depends_on},
        "compiled_path": node.compiled_sql.as_ref().map(|_| format!("target/{}", super::relative_sql_path("compiled", manifest, node))),
        "compiled": node.compiled_sql.is_some(),
        "compiled_code": node.compiled_sql,
        "extra_ctes_injected": node.compiled_sql.is_some(),
        "extra_ctes": [],
        "contract": {"enforced": false, "alias_types": true, "checksum": null},
        "access": "protected",
        "constraints": [],
        "version": null,
        "latest_version": null,
        "deprecation_date": null,
        "primary_key": [],
    });
    if let (Some(test), Value::Object(map)) = (&node.test, &mut value) {
        map.insert(
            "test_metadata".to_string(),
            json!({"name": test.name, "kwargs": test.kwargs, "namespace": test.namespace}),
        );
        map.insert("column_name".to_string(), json!(test.column_name));
        map.insert(
            "file_key_name".to_string(),
            json!(test.attached_node.map(|index| {
                let attached = &manifest.nodes[index];
                match &attached.source_name {
                    Some(source) => format!("sources.{source}"),
                    None => format!("models.{}", attached.name),
                }
            })),
        );
        map.insert(
            "attached_node".to_string(),
            json!(
                test.attached_node
                    .map(|index| manifest.nodes[index].unique_id.clone())
            ),
        );
    }
    value
}

fn source_json(manifest: &Manifest, node: &Node) -> Value {
    let relation = node.relation.as_ref();
    json!({
        "database": relation.map(|relation| relation.database.clone()),
        "schema": relation.map(|relation| relation.schema.clone()),
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
        "loaded_at_field": null,
        "freshness": {"warn_after": {"count": null, "period": null}, "error_after": {"count": null, "period": null}, "filter": null},
        "external": null,
        "description": node.description,
        "columns": columns_json(node),
        "meta": {},
        "source_meta": {},
        "tags": node.tags,
        "config": node.config,
        "patch_path": null,
        "unrendered_config": {},
        "relation_name": relation.map(|relation| relation.render()),
        "created_at": crate::invocation::started_at_time().timestamp() as f64,
        "unrendered_database": null,
        "unrendered_schema": null,
        "doc_blocks": [],
        "target": manifest.target.name,
    })
}
