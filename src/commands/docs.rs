//! `tmk docs generate`, `tmk docs serve` and `tmk docs --format dot|mermaid|json [--columns]`.
//! Generate reads the relations' columns from PostgreSQL's catalog when the target answers (one
//! query; column lineage expands `*` over them), compiles every node, writes manifest.json and
//! catalog.json (from the declared columns when the database was not read, saying so), and
//! builds the site from those artifacts and the last run_results.json. Serve serves target/docs on
//! 127.0.0.1. `--format` writes the node graph or the column lineage to stdout for other tools.
//! It must not build relations or run tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::session::{self, Session, TargetOrigin};
use crate::adapter::postgres::CatalogRelation;
use crate::artifacts;
use crate::cli::{DocsArgs, DocsServeArgs, GraphFormat, ProjectArgs};
use crate::compile::CompileEnvironment;
use crate::compile::node::{Relation, ResourceType};
use crate::console::Console;
use crate::docs;
use crate::error::{Error, ErrorKind, Result, display_path};
use crate::graph::export::{self, ExportEdge, ExportNode};

/// Generate the artifacts and the site; returns the exit code (1 when a node failed to
/// compile: the site is written all the same, without that node's compiled SQL).
pub async fn generate(args: &ProjectArgs, console: &Console) -> Result<i32> {
    let mut session = session::load(args, console)?;
    let everything: Vec<usize> = (0..session.manifest.nodes.len()).collect();
    // The database's columns first: column lineage expands `*` over them.
    let described = describe(&mut session, console).await;
    let mut known = super::known_columns(&session.manifest);
    if let Ok(relations) = &described {
        known.add_catalog(
            &session.manifest,
            |relation| relations.get(relation).map(column_names),
            |_| false,
        );
    }
    let failed =
        super::compile::compile_and_write(&mut session, &everything, None, known, console, false).await?;
    let catalog = match &described {
        Ok(relations) => artifacts::catalog_json(&session.manifest, Some(relations)),
        Err(reason) => {
            console.info(&format!(
                "catalog.json holds the declared columns only: the database was not read ({reason})."
            ));
            artifacts::catalog_json(&session.manifest, None)
        }
    };
    artifacts::write_json(&session.target_dir, "catalog.json", &catalog)?;
    let manifest =
        read_artifact(&session, "manifest.json", docs::data::read_manifest)?.unwrap_or(Value::Null);
    let run_results = read_artifact(&session, "run_results.json", |bytes| {
        serde_json::from_slice(bytes)
    })
    .unwrap_or_else(|error| {
        console.warn(&error);
        None
    });
    let data = docs::data::site_data(&docs::data::Artifacts {
        manifest: &manifest,
        catalog: &catalog,
        run_results: run_results.as_ref(),
        lineage: &session.manifest.sql.lineage,
    });
    let site = session.target_dir.join("docs");
    docs::write_site(&site, &data)?;
    console.info(&format!(
        "Wrote the docs site to {} ({} nodes). Open it, or run `tmk docs serve`.",
        display_path(&site.join("index.html"), &session.project.root).display(),
        data["nodes"].as_array().map_or(0, Vec::len)
    ));
    Ok(i32::from(failed))
}

/// Every relation of the project's schemas as PostgreSQL's catalog describes it (one query),
/// or why the database was not read.
async fn describe(
    session: &mut Session,
    console: &Console,
) -> std::result::Result<HashMap<Relation, CatalogRelation>, String> {
    match &session.origin {
        TargetOrigin::Embedded(_) => {
            Err("no profiles.yml (the embedded PostgreSQL is not started for docs)".to_string())
        }
        TargetOrigin::Profile(_) => match super::connect(session, console, 1).await {
            Ok(postgres) => {
                let described = postgres.catalog(&session.manifest.schemas()).await;
                postgres.close().await;
                described.map_err(|error| error.one_line())
            }
            Err(error) => Err(error.one_line()),
        },
    }
}

/// A described relation's column names, in order.
fn column_names(relation: &CatalogRelation) -> Vec<String> {
    relation.columns.iter().map(|(name, _, _)| name.clone()).collect()
}

/// A JSON artifact of the target directory read with `parse`; None when the file does not exist.
fn read_artifact(
    session: &Session,
    name: &str,
    parse: impl Fn(&[u8]) -> serde_json::Result<Value>,
) -> Result<Option<Value>> {
    let path = session.target_dir.join(name);
    if !crate::fs::is_file(&path) {
        return Ok(None);
    }
    let bytes = crate::fs::read_bytes(&path)?;
    parse(&bytes).map(Some).map_err(|error| {
        Error::new(
            ErrorKind::Io,
            format!(
                "`{}` is not valid JSON: {error}",
                display_path(&path, &session.project.root).display()
            ),
        )
        .hint("it is left out of the docs site; a new `tmk build` writes it again")
    })
}

/// Serve the site until the process is stopped.
pub fn serve(args: &DocsServeArgs, console: &Console) -> Result<i32> {
    let project = crate::project::load(&args.project.project_dir)?;
    let site = session::target_dir(&project, &args.project).join("docs");
    if !crate::fs::is_file(&site.join("index.html")) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "no docs site in `{}`",
                display_path(&site, &project.root).display()
            ),
        )
        .hint("run `tmk docs generate` first"));
    }
    docs::serve::serve(&site, args.port, |url| {
        console.info(&format!("Serving the docs site at {url} (Ctrl-C stops it)."));
    })?;
    Ok(0)
}

/// `tmk docs --format`: compile every model (no database; models whose Jinja queries one are
/// left out), and write the node graph or the column lineage to stdout. Problems found in the
/// SQL are warnings on stderr. Returns the exit code.
pub fn graph(args: &DocsArgs, console: &Console) -> Result<i32> {
    let Some(format) = args.format else {
        return Err(Error::new(
            ErrorKind::Usage,
            "`tmk docs` needs a subcommand (`generate`, `serve`) or `--format`",
        )
        .hint("tmk docs --format dot|mermaid|json [--columns]"));
    };
    let mut session = session::load(&args.project, console)?;
    let mut environment = CompileEnvironment::from_scratch(None);
    environment.defer_database_nodes = true;
    environment.known_columns = Arc::new(super::known_columns(&session.manifest));
    let manifest = &mut session.manifest;
    let models: Vec<usize> = (0..manifest.nodes.len())
        .filter(|&index| manifest.nodes[index].resource_type == ResourceType::Model)
        .collect();
    for (_, error) in manifest.compile(&models, &environment) {
        console.warn(&error);
    }
    let analysis = &manifest.sql;
    for problem in &analysis.problems {
        console.warn(problem);
    }
    let graph_nodes: Vec<usize> = (0..manifest.nodes.len())
        .filter(|&index| {
            !matches!(
                manifest.nodes[index].resource_type,
                ResourceType::Test | ResourceType::Analysis
            )
        })
        .collect();
    let position: HashMap<&str, usize> = graph_nodes
        .iter()
        .enumerate()
        .map(|(position, &index)| (manifest.nodes[index].unique_id.as_str(), position))
        .collect();
    let mut nodes: Vec<ExportNode> = graph_nodes
        .iter()
        .map(|&index| {
            let node = &manifest.nodes[index];
            ExportNode {
                unique_id: node.unique_id.clone(),
                name: node.name.clone(),
                resource_type: node.resource_type.as_str().to_string(),
                columns: Vec::new(),
            }
        })
        .collect();
    let mut edges = Vec::new();
    if args.columns {
        if format == GraphFormat::Json {
            let text = serde_json::to_string_pretty(&analysis.lineage)
                .map_err(|error| Error::new(ErrorKind::Io, error.to_string()))?;
            console.output(&format!("{text}\n"));
            return Ok(0);
        }
        for node in &mut nodes {
            if let Some(lineage) = analysis.lineage.nodes.get(&node.unique_id) {
                node.columns = lineage.columns.iter().map(|column| column.name.clone()).collect();
            }
        }
        let mut column_index: BTreeMap<(usize, String), usize> = nodes
            .iter()
            .enumerate()
            .flat_map(|(node, export)| {
                export
                    .columns
                    .iter()
                    .enumerate()
                    .map(move |(column, name)| ((node, name.clone()), column))
            })
            .collect();
        for (unique_id, lineage) in &analysis.lineage.nodes {
            let Some(&to) = position.get(unique_id.as_str()) else {
                continue;
            };
            for (to_column, column) in lineage.columns.iter().enumerate() {
                for upstream in &column.upstream {
                    let Some(&from) = position.get(upstream.node.as_str()) else {
                        continue;
                    };
                    // A column of a node whose columns are otherwise unknown is added to it.
                    let from_column = *column_index
                        .entry((from, upstream.column.clone()))
                        .or_insert_with(|| {
                            nodes[from].columns.push(upstream.column.clone());
                            nodes[from].columns.len() - 1
                        });
                    edges.push(ExportEdge {
                        from: (from, from_column),
                        to: (to, to_column),
                    });
                }
            }
        }
    } else {
        for (to, &index) in graph_nodes.iter().enumerate() {
            for &parent in &manifest.nodes[index].depends_on {
                if let Some(&from) = position.get(manifest.nodes[parent].unique_id.as_str()) {
                    edges.push(ExportEdge {
                        from: (from, 0),
                        to: (to, 0),
                    });
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    let text = match format {
        GraphFormat::Dot => export::dot(&nodes, &edges, args.columns),
        GraphFormat::Mermaid => export::mermaid(&nodes, &edges, args.columns),
        GraphFormat::Json => serde_json::to_string_pretty(&export::json(&nodes, &edges))
            .map(|text| text + "\n")
            .map_err(|error| Error::new(ErrorKind::Io, error.to_string()))?,
    };
    console.output(&text);
    Ok(0)
}
