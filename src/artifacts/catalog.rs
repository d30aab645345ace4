//! `catalog.json`, schema v1: per node and source the relation's metadata (type, schema, name,
//! database, comment, owner), its columns (type, index, name, comment) and stats. Read from
//! PostgreSQL's catalog when the target answers; otherwise written from what the project
//! declares (columns with a `data_type`), so the docs site still shows types it knows. It must
//! not touch files or the database: it returns a JSON value that `artifacts` writes.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::adapter::postgres::CatalogRelation;
use crate::compile::Manifest;
use crate::compile::node::{Materialization, Node, Relation, ResourceType};

/// The catalog as JSON. `database` holds the relations PostgreSQL described (None when no
/// target was reachable: then declared columns are used).
pub fn catalog_json(manifest: &Manifest, database: Option<&HashMap<Relation, CatalogRelation>>) -> Value {
    let mut nodes = Map::new();
    let mut sources = Map::new();
    let mut entries: Vec<&Node> = manifest
        .nodes
        .iter()
        .filter(|node| {
            matches!(
                node.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot | ResourceType::Source
            ) && node.materialized != Materialization::Ephemeral
        })
        .collect();
    entries.sort_by(|left, right| left.unique_id.cmp(&right.unique_id));
    for node in entries {
        let Some(relation) = &node.relation else { continue };
        let entry = match database {
            Some(described) => match described.get(relation) {
                Some(found) => described_entry(node, relation, found),
                None => continue,
            },
            None if node.columns.is_empty() => continue,
            None => declared_entry(node, relation),
        };
        let map = if node.resource_type == ResourceType::Source {
            &mut sources
        } else {
            &mut nodes
        };
        map.insert(node.unique_id.clone(), entry);
    }
    json!({
        "metadata": super::metadata("catalog/v1.json"),
        "nodes": nodes,
        "sources": sources,
        "errors": null,
    })
}

/// An entry from PostgreSQL's catalog.
fn described_entry(node: &Node, relation: &Relation, found: &CatalogRelation) -> Value {
    let columns: Map<String, Value> = found
        .columns
        .iter()
        .enumerate()
        .map(|(index, (name, data_type, comment))| {
            (
                name.clone(),
                json!({"type": data_type, "index": index + 1, "name": name, "comment": comment}),
            )
        })
        .collect();
    entry(
        node,
        relation,
        &found.kind,
        found.comment.as_deref(),
        Some(&found.owner),
        columns,
    )
}

/// An entry from the columns the project declares (their `data_type`, when given).
fn declared_entry(node: &Node, relation: &Relation) -> Value {
    let columns: Map<String, Value> = node
        .columns
        .values()
        .enumerate()
        .map(|(index, column)| {
            (
                column.name.clone(),
                json!({"type": column.data_type, "index": index + 1, "name": column.name, "comment": null}),
            )
        })
        .collect();
    let kind = match node.materialized {
        Materialization::View => "VIEW",
        Materialization::MaterializedView => "MATERIALIZED VIEW",
        _ => "BASE TABLE",
    };
    entry(node, relation, kind, None, None, columns)
}

fn entry(
    node: &Node,
    relation: &Relation,
    kind: &str,
    comment: Option<&str>,
    owner: Option<&str>,
    columns: Map<String, Value>,
) -> Value {
    json!({
        "metadata": {
            "type": kind,
            "schema": relation.schema,
            "name": relation.identifier,
            "database": relation.database,
            "comment": comment,
            "owner": owner,
        },
        "columns": columns,
        "stats": {
            "has_stats": {
                "id": "has_stats",
                "label": "Has Stats?",
                "value": false,
                "include": false,
                "description": "Indicates whether there are statistics for this table",
            }
        },
        "unique_id": node.unique_id,
    })
}
