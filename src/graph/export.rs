//! The graph written for other tools (`tmk docs --format dot|mermaid|json`): nodes, each
//! optionally with columns, and edges between nodes or between columns. Plain data in, text
//! out, deterministic; it must not know where the graph came from.

use serde::Serialize;

/// A node of the written graph.
#[derive(Debug, Clone, Serialize)]
pub struct ExportNode {
    /// Stable id (a unique_id).
    pub unique_id: String,
    /// What people read.
    pub name: String,
    /// model, seed, snapshot, source...
    pub resource_type: String,
    /// Its columns (column graphs only).
    #[serde(skip)]
    pub columns: Vec<String>,
}

/// An edge: from an upstream (node, column) to a downstream one. Node graphs use column 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExportEdge {
    /// Upstream node index and column index.
    pub from: (usize, usize),
    /// Downstream node index and column index.
    pub to: (usize, usize),
}

/// Graphviz text; with `columns`, one cluster per node holding its columns.
pub fn dot(nodes: &[ExportNode], edges: &[ExportEdge], columns: bool) -> String {
    let mut out = String::from("digraph tmk {\n  rankdir=LR;\n");
    for (index, node) in nodes.iter().enumerate() {
        if columns {
            out.push_str(&format!(
                "  subgraph \"cluster_{index}\" {{\n    label={};\n",
                dot_string(&format!("{} ({})", node.name, node.resource_type))
            ));
            for (column_index, column) in node.columns.iter().enumerate() {
                out.push_str(&format!(
                    "    \"{index}.{column_index}\" [label={}];\n",
                    dot_string(column)
                ));
            }
            out.push_str("  }\n");
        } else {
            out.push_str(&format!(
                "  {} [label={}, shape={}];\n",
                dot_string(&node.unique_id),
                dot_string(&node.name),
                dot_shape(&node.resource_type)
            ));
        }
    }
    for edge in edges {
        if columns {
            out.push_str(&format!(
                "  \"{}.{}\" -> \"{}.{}\";\n",
                edge.from.0, edge.from.1, edge.to.0, edge.to.1
            ));
        } else {
            out.push_str(&format!(
                "  {} -> {};\n",
                dot_string(&nodes[edge.from.0].unique_id),
                dot_string(&nodes[edge.to.0].unique_id)
            ));
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart; with `columns`, one subgraph per node holding its columns.
pub fn mermaid(nodes: &[ExportNode], edges: &[ExportEdge], columns: bool) -> String {
    let mut out = String::from("flowchart LR\n");
    for (index, node) in nodes.iter().enumerate() {
        if columns {
            out.push_str(&format!(
                "  subgraph n{index}[\"{} ({})\"]\n",
                mermaid_text(&node.name),
                node.resource_type
            ));
            for (column_index, column) in node.columns.iter().enumerate() {
                out.push_str(&format!(
                    "    n{index}_{column_index}[\"{}\"]\n",
                    mermaid_text(column)
                ));
            }
            out.push_str("  end\n");
        } else {
            let (open, close) = match node.resource_type.as_str() {
                "source" | "seed" => ("[(", ")]"),
                "snapshot" => ("[[", "]]"),
                _ => ("[", "]"),
            };
            out.push_str(&format!(
                "  n{index}{open}\"{}\"{close}\n",
                mermaid_text(&node.name)
            ));
        }
    }
    for edge in edges {
        if columns {
            out.push_str(&format!(
                "  n{}_{} --> n{}_{}\n",
                edge.from.0, edge.from.1, edge.to.0, edge.to.1
            ));
        } else {
            out.push_str(&format!("  n{} --> n{}\n", edge.from.0, edge.to.0));
        }
    }
    out
}

/// The node graph as JSON: `{"nodes": [...], "edges": [{"from": id, "to": id}]}`.
pub fn json(nodes: &[ExportNode], edges: &[ExportEdge]) -> serde_json::Value {
    let edges: Vec<serde_json::Value> = edges
        .iter()
        .map(|edge| {
            serde_json::json!({
                "from": nodes[edge.from.0].unique_id,
                "to": nodes[edge.to.0].unique_id,
            })
        })
        .collect();
    serde_json::json!({ "nodes": nodes, "edges": edges })
}

fn dot_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dot_shape(resource_type: &str) -> &'static str {
    match resource_type {
        "source" | "seed" => "cylinder",
        "snapshot" => "box3d",
        _ => "box",
    }
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
}
