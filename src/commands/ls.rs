//! `tmk ls`: print the selected nodes sorted by unique id, one per line (dotted fqn by default,
//! or name, path, JSON). It must not connect to a database or write files.

use super::session;
use crate::cli::{ListArgs, ListOutput};
use crate::compile::node::{Node, ResourceType};
use crate::console::Console;
use crate::error::Result;

/// List; returns the exit code.
pub fn run(args: &ListArgs, console: &Console) -> Result<i32> {
    let session = session::load(&args.project, console)?;
    let mut selected = session::select(&session, &args.selection)?;
    // dbt lists nodes sorted by unique id.
    selected.sort_by(|&left, &right| {
        session.manifest.nodes[left]
            .unique_id
            .cmp(&session.manifest.nodes[right].unique_id)
    });
    for index in selected {
        let node = &session.manifest.nodes[index];
        if !args.resource_types.is_empty()
            && !args
                .resource_types
                .iter()
                .any(|kind| kind == node.resource_type.as_str())
        {
            continue;
        }
        console.info(&describe(node, args.output));
    }
    Ok(0)
}

fn describe(node: &Node, output: ListOutput) -> String {
    match output {
        // dbt prints a node's search name: a source table's is `source.table`.
        ListOutput::Name => node.search_name(),
        ListOutput::Path => node.path.clone(),
        ListOutput::Selector if node.resource_type == ResourceType::Source => {
            format!("source:{}", node.fqn.join("."))
        }
        ListOutput::Selector => node.fqn.join("."),
        ListOutput::Json => serde_json::json!({
            "name": node.name,
            "resource_type": node.resource_type.as_str(),
            "package_name": node.package,
            "original_file_path": node.path,
            "unique_id": node.unique_id,
            "alias": node.relation.as_ref().map(|relation| relation.identifier.clone()),
            "config": node.config,
            "tags": node.tags,
            "depends_on": node.depends_on.len(),
        })
        .to_string(),
    }
}
