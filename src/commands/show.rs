//! `tmk show`: compile the selected models and print the first rows their SQL returns, as
//! `dbt show` does (`--limit`, default 5). The model's relation is not read or changed: the
//! compiled query runs as it would to build the model from scratch. It must not build.

use std::sync::Arc;

use super::session;
use crate::adapter::postgres::JinjaPostgres;
use crate::cli::ShowArgs;
use crate::compile::CompileEnvironment;
use crate::compile::jinja::context::JinjaDatabase;
use crate::compile::node::ResourceType;
use crate::console::Console;
use crate::error::{Error, ErrorKind, Result};

/// Show the selected models' first rows; returns the exit code.
pub async fn run(args: &ShowArgs, console: &Console) -> Result<i32> {
    let mut session = session::load(&args.project, console)?;
    let selected: Vec<usize> = session::select(&session, &args.selection)?
        .into_iter()
        .filter(|&index| {
            matches!(
                session.manifest.nodes[index].resource_type,
                ResourceType::Model | ResourceType::Snapshot
            )
        })
        .collect();
    if selected.is_empty() {
        return Err(Error::new(ErrorKind::Usage, "`tmk show` selected no model")
            .hint("name one with --select, e.g. `tmk show -s fact_sales`"));
    }
    let deferral = super::defer::read(&session.manifest, &args.defer, &args.selection, console)?;
    let postgres = super::connect(&mut session, console, 2).await?;
    if let Some(deferral) = deferral {
        super::defer::defer_unbuilt(&mut session.manifest, deferral, &selected, &postgres, console).await?;
    }
    let database: Arc<dyn JinjaDatabase> = Arc::new(JinjaPostgres::new(
        postgres.clone(),
        tokio::runtime::Handle::current(),
    ));
    let environment = CompileEnvironment::from_scratch(Some(database));
    let manifest = &mut session.manifest;
    let errors = tokio::task::block_in_place(|| manifest.compile(&selected, &environment));
    if let Some((_, error)) = errors.into_iter().next() {
        return Err(error);
    }
    for index in selected {
        let node = &session.manifest.nodes[index];
        let Some(sql) = &node.compiled_sql else { continue };
        let table = postgres.preview(sql, args.limit).await?;
        console.table(&format!("Previewing node '{}':", node.name), &table);
    }
    Ok(0)
}
