//! `tmk docs generate` and `tmk docs serve`. Generate compiles every node, writes
//! manifest.json, reads the relations' columns from PostgreSQL's catalog when the target
//! answers (else writes catalog.json from the declared columns, and says so), and builds the
//! site from those artifacts and the last run_results.json. Serve serves target/docs on
//! 127.0.0.1. It must not build relations or run tests.

use std::collections::BTreeSet;

use serde_json::Value;

use super::session::{self, Session, TargetOrigin};
use crate::artifacts;
use crate::cli::{DocsServeArgs, ProjectArgs};
use crate::console::Console;
use crate::docs;
use crate::error::{Error, ErrorKind, Result, display_path};

/// Generate the artifacts and the site; returns the exit code (1 when a node failed to
/// compile: the site is written all the same, without that node's compiled SQL).
pub async fn generate(args: &ProjectArgs, console: &Console) -> Result<i32> {
    let mut session = session::load(args, console)?;
    let everything: Vec<usize> = (0..session.manifest.nodes.len()).collect();
    let failed = super::compile::compile_and_write(&mut session, &everything, console).await?;
    let catalog = catalog(&mut session, console).await;
    artifacts::write_json(&session.target_dir, "catalog.json", &catalog)?;
    let manifest: Value = read_json(&session, "manifest.json")?.unwrap_or(Value::Null);
    let run_results = read_json(&session, "run_results.json").unwrap_or_else(|error| {
        console.warn(&error);
        None
    });
    let data = docs::data::site_data(&docs::data::Artifacts {
        manifest: &manifest,
        catalog: &catalog,
        run_results: run_results.as_ref(),
        lineage: &Default::default(),
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

/// catalog.json: from PostgreSQL's catalog when the target answers, else from the declared
/// columns (with one line saying why).
async fn catalog(session: &mut Session, console: &Console) -> Value {
    let described = match &session.origin {
        TargetOrigin::Embedded(_) => {
            Err("no profiles.yml (the embedded PostgreSQL is not started for docs)".to_string())
        }
        TargetOrigin::Profile(_) => match super::connect(session, console, 1).await {
            Ok(postgres) => {
                let schemas: BTreeSet<String> = session
                    .manifest
                    .nodes
                    .iter()
                    .filter_map(|node| Some(node.relation.as_ref()?.schema.clone()))
                    .collect();
                let schemas: Vec<String> = schemas.into_iter().collect();
                let described = postgres.catalog(&schemas).await;
                postgres.close().await;
                described.map_err(|error| error.one_line())
            }
            Err(error) => Err(error.one_line()),
        },
    };
    match described {
        Ok(relations) => artifacts::catalog_json(&session.manifest, Some(&relations)),
        Err(reason) => {
            console.info(&format!(
                "catalog.json holds the declared columns only: the database was not read ({reason})."
            ));
            artifacts::catalog_json(&session.manifest, None)
        }
    }
}

/// A JSON artifact of the target directory; None when the file does not exist.
fn read_json(session: &Session, name: &str) -> Result<Option<Value>> {
    let path = session.target_dir.join(name);
    if !crate::fs::is_file(&path) {
        return Ok(None);
    }
    let bytes = crate::fs::read_bytes(&path)?;
    serde_json::from_slice(&bytes).map(Some).map_err(|error| {
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
