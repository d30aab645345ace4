//! What the compiled SQL of the models tells without a database: sqlparser's syntax errors,
//! column lineage across the project, relations named in SQL instead of through
//! ref()/source(), and columns read from an upstream node that does not return them. Each
//! model's SQL is parsed once, and lineage read, over the DAG level by level (a node after all
//! it reads), the models of one level in parallel; syntax trees are not kept (memory).
//! Problems come back as warnings with the model file's line and column (mapped through the Jinja template); the
//! command decides whether they stop it (`--strict`). Pure: columns known from seeds or the
//! database catalog are passed in (`known_columns`).

use std::collections::HashMap;

use rayon::prelude::*;

use super::Manifest;
use super::ephemeral;
use super::known_columns::{ColumnsOrigin, KnownColumns};
use super::node::{Materialization, Node, ResourceType};
use super::source_map;
use crate::error::{Error, ErrorKind, SourceLocation};
use crate::sql::lineage::{self, Analysis, Finding, NodeLineage, ProjectLineage, Upstream};
use crate::sql::parse::{Parsed, SyntaxError, parse};

/// The lineage of the compiled models and the problems found in their SQL.
#[derive(Debug, Default)]
pub struct SqlAnalysis {
    /// Column lineage: models read from their SQL; seeds, sources and snapshots whose columns
    /// are known (from `known` or a contract) as stored columns.
    pub lineage: ProjectLineage,
    /// Problems, as warnings, in node order.
    pub problems: Vec<Error>,
}

impl Manifest {
    /// Analyse every model compiled so far. `known`: columns from outside the SQL (seed
    /// headers, the database catalog).
    pub fn analyse_sql(&self, known: &KnownColumns) -> SqlAnalysis {
        let ids: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(index, node)| (node.unique_id.as_str(), index))
            .collect();
        let mut lineages: HashMap<usize, NodeLineage> = HashMap::new();
        let mut analyses: Vec<(usize, Analysis)> = Vec::new();
        let mut result = SqlAnalysis::default();
        let mut problems: Vec<(usize, Error)> = Vec::new();
        for level in self.levels() {
            // Each model is parsed once, here; its syntax tree is dropped with its level.
            let done: Vec<(usize, std::result::Result<Analysis, SyntaxError>)> = level
                .par_iter()
                .filter_map(|&index| {
                    let outcome = match parse(self.nodes[index].rendered_sql.as_deref()?) {
                        Parsed::Query(query) => {
                            let upstream = NodeUpstream {
                                manifest: self,
                                index,
                                ids: &ids,
                                lineages: &lineages,
                                known,
                            };
                            Ok(lineage::analyse(&query, &upstream))
                        }
                        Parsed::Failed(error) => Err(error),
                        Parsed::Other => return None,
                    };
                    Some((index, outcome))
                })
                .collect();
            for (index, outcome) in done {
                match outcome {
                    Ok(analysis) => {
                        lineages.insert(index, analysis.lineage.clone());
                        analyses.push((index, analysis));
                    }
                    Err(error) => {
                        let node = &self.nodes[index];
                        problems.push((index, self.syntax_problem(node, &error)));
                        result
                            .lineage
                            .nodes
                            .insert(node.unique_id.clone(), NodeLineage::default());
                    }
                }
            }
        }
        analyses.sort_by_key(|(index, _)| *index);
        for node in &self.nodes {
            let stored = matches!(
                node.resource_type,
                ResourceType::Seed | ResourceType::Source | ResourceType::Snapshot
            );
            if stored && let Some((columns, _)) = known.of(node) {
                result
                    .lineage
                    .nodes
                    .insert(node.unique_id.clone(), lineage::stored(&columns));
            }
        }
        for (index, analysis) in analyses {
            let node = &self.nodes[index];
            for finding in &analysis.findings {
                let problem = self.finding_problem(node, finding, &ids, &lineages, known);
                problems.push((index, problem));
            }
            result
                .lineage
                .nodes
                .insert(node.unique_id.clone(), analysis.lineage);
        }
        problems.sort_by_key(|(index, _)| *index);
        result.problems = problems.into_iter().map(|(_, problem)| problem).collect();
        result
    }

    /// The compiled models grouped so that each group only reads nodes of earlier groups.
    fn levels(&self) -> Vec<Vec<usize>> {
        let mut level = vec![0usize; self.nodes.len()];
        let mut levels: Vec<Vec<usize>> = Vec::new();
        for index in self.dag.topological_order() {
            let depth = self.nodes[index]
                .depends_on
                .iter()
                .map(|&parent| level[parent] + 1)
                .max()
                .unwrap_or(0);
            level[index] = depth;
            if self.nodes[index].rendered_sql.is_some() {
                if levels.len() <= depth {
                    levels.resize_with(depth + 1, Vec::new);
                }
                levels[depth].push(index);
            }
        }
        levels
    }

    /// Where in `node`'s file a position of its compiled SQL comes from.
    fn location(&self, node: &Node, line: usize, column: usize) -> SourceLocation {
        let rendered = node.rendered_sql.as_deref().unwrap_or_default();
        let (line, column) = source_map::locate(&node.raw_code, rendered, line, column);
        SourceLocation::new(&node.path, line, column).with_text(node.raw_code.clone())
    }

    fn syntax_problem(&self, node: &Node, error: &SyntaxError) -> Error {
        Error::new(
            ErrorKind::Compilation,
            format!("sqlparser cannot read model `{}`: {}", node.name, error.message),
        )
        .at(self.location(node, error.line, error.column))
        .detail(format!(
            "at line {}, column {} of the compiled SQL (target/compiled/{}/{})",
            error.line,
            error.column,
            self.project_name,
            node.sql_file_path()
        ))
        .hint(
            "sqlparser does not read every statement PostgreSQL accepts: if PostgreSQL runs it, \
             ignore this (the model has no column lineage); --strict makes it an error",
        )
    }

    fn finding_problem(
        &self,
        node: &Node,
        finding: &Finding,
        ids: &HashMap<&str, usize>,
        lineages: &HashMap<usize, NodeLineage>,
        known_columns: &KnownColumns,
    ) -> Error {
        match finding {
            Finding::UnknownRelation { name, at } => {
                let hint = self.relation_hint(name);
                Error::new(
                    ErrorKind::Compilation,
                    format!(
                        "model `{}` reads `{name}` directly instead of through ref() or source()",
                        node.name
                    ),
                )
                .at(self
                    .location(node, at.line, at.column)
                    .with_length(name.chars().count()))
                .hint(hint)
            }
            Finding::UnknownColumn {
                node: upstream,
                column,
                known,
                at,
            } => {
                let upstream_index = ids.get(upstream.as_str()).copied();
                let upstream_name =
                    upstream_index.map_or(upstream.as_str(), |index| self.nodes[index].name.as_str());
                // Where its columns are known from, unless from its own SQL.
                let origin = upstream_index
                    .and_then(|index| {
                        let candidate = &self.nodes[index];
                        let (_, origin) = columns_of(candidate, index, lineages, known_columns)?;
                        Some(format!(" (known from {})", origin?.describe(candidate)))
                    })
                    .unwrap_or_default();
                Error::new(
                    ErrorKind::Compilation,
                    format!(
                        "model `{}` reads column `{column}` of `{upstream_name}`, which `{upstream_name}` does not return",
                        node.name
                    ),
                )
                .at(self.location(node, at.line, at.column).with_length(column.chars().count()))
                .detail(format!("`{upstream_name}` returns: {}{origin}", known.join(", ")))
                .maybe_hint(crate::error::did_you_mean(column, known.iter().map(String::as_str)))
            }
        }
    }

    /// How to name relation `name` (as written) through Jinja.
    fn relation_hint(&self, name: &str) -> String {
        let identifier = name
            .rsplit('.')
            .next()
            .unwrap_or(name)
            .trim_matches('"')
            .to_lowercase();
        let known = self.nodes.iter().find(|node| {
            node.relation
                .as_ref()
                .is_some_and(|relation| relation.identifier.to_lowercase() == identifier)
        });
        match known {
            Some(node) if node.resource_type == ResourceType::Source => format!(
                "use {{{{ source('{}', '{}') }}}} so tmk knows the dependency",
                node.source_name.as_deref().unwrap_or_default(),
                node.name
            ),
            Some(node) => format!("use {{{{ ref('{}') }}}} so tmk knows the dependency", node.name),
            None => {
                "declare it as a source and use {{ source(...) }}, so tmk knows the dependency".to_string()
            }
        }
    }
}

/// The columns of node `index` (`node`): from its SQL's lineage when it knows them all (origin
/// None), else as known without its SQL.
fn columns_of(
    node: &Node,
    index: usize,
    lineages: &HashMap<usize, NodeLineage>,
    known: &KnownColumns,
) -> Option<(Vec<String>, Option<ColumnsOrigin>)> {
    match lineages.get(&index) {
        Some(lineage) if lineage.complete => Some((
            lineage.columns.iter().map(|column| column.name.clone()).collect(),
            None,
        )),
        _ => known.of(node).map(|(columns, origin)| (columns, Some(origin))),
    }
}

/// What one model may read: its ref()/source() parents, ephemeral parents as CTEs, itself.
struct NodeUpstream<'a> {
    manifest: &'a Manifest,
    index: usize,
    ids: &'a HashMap<&'a str, usize>,
    lineages: &'a HashMap<usize, NodeLineage>,
    known: &'a KnownColumns,
}

impl Upstream for NodeUpstream<'_> {
    fn relation(&self, name: &[String]) -> Option<String> {
        let node = &self.manifest.nodes[self.index];
        let candidates = node.depends_on.iter().chain(std::iter::once(&self.index));
        for &candidate in candidates {
            // A parent's relation is the one its ref renders; the node's own is `this`.
            let relation = if candidate == self.index {
                self.manifest.nodes[candidate].relation.as_ref()
            } else {
                self.manifest.nodes[candidate].read_relation()
            };
            let candidate = &self.manifest.nodes[candidate];
            let parts = match relation {
                _ if candidate.materialized == Materialization::Ephemeral => {
                    vec![ephemeral::cte_name(&candidate.name)]
                }
                Some(relation) => vec![
                    relation.database.clone(),
                    relation.schema.clone(),
                    relation.identifier.clone(),
                ],
                None => continue,
            };
            if name.len() <= parts.len() && parts[parts.len() - name.len()..] == *name {
                return Some(candidate.unique_id.clone());
            }
        }
        None
    }

    fn columns(&self, unique_id: &str) -> Option<Vec<String>> {
        let index = *self.ids.get(unique_id)?;
        columns_of(&self.manifest.nodes[index], index, self.lineages, self.known).map(|(columns, _)| columns)
    }
}
