//! `tmk compile`: render the selected nodes to target/compiled and write manifest.json. No
//! database is needed unless a selected model queries it while compiling (run_query,
//! statement, introspection) or `--defer` asks which relations the target has; then the
//! target is connected first. It must not build relations
//! or run tests. The compiled models' SQL is then checked (sqlparser's syntax errors, relations
//! named instead of ref()/source(), columns an upstream model does not return, with the columns
//! of seeds, contracts, DBML tables and sources' YAML; not the database's, so no connection is
//! needed): warnings, or errors with `--strict` (exit code 2).

use std::sync::Arc;

use super::defer::Deferral;
use super::session::{self, Session};
use crate::adapter::postgres::JinjaPostgres;
use crate::artifacts;
use crate::cli::CompileArgs;
use crate::compile::jinja::context::JinjaDatabase;
use crate::compile::known_columns::KnownColumns;
use crate::compile::{CompileEnvironment, Manifest};
use crate::console::Console;
use crate::error::Result;

/// Compile; returns the exit code (1 when a node failed to compile).
pub async fn run(args: &CompileArgs, console: &Console) -> Result<i32> {
    let mut session = session::load(&args.project, console)?;
    let selected = session::select(&session, &args.selection)?;
    let deferral = super::defer::read(&session.manifest, &args.defer, &args.selection, console)?;
    let known = super::known_columns(&session.manifest);
    let strict = args.checks.strict;
    let failed = compile_and_write(&mut session, &selected, deferral, known, console, strict).await?;
    if strict && !session.manifest.sql.problems.is_empty() {
        return Ok(2);
    }
    Ok(i32::from(failed))
}

/// Compile the `selected` nodes (connecting first when one of them queries the database while
/// compiling, or to defer; `known`: the columns known without their SQL), write
/// target/compiled and manifest.json, and show the errors, the problems found in the compiled
/// SQL (as errors when `strict`) and a summary line. Returns whether a node failed to compile.
pub async fn compile_and_write(
    session: &mut Session,
    selected: &[usize],
    deferral: Option<Deferral>,
    known: KnownColumns,
    console: &Console,
    strict: bool,
) -> Result<bool> {
    let needs_database = selected
        .iter()
        .any(|&index| session.manifest.nodes[index].needs_database);
    let postgres = if needs_database || deferral.is_some() {
        Some(super::connect(session, console, 2).await?)
    } else {
        None
    };
    if let (Some(deferral), Some(postgres)) = (deferral, &postgres) {
        super::defer::defer_unbuilt(&mut session.manifest, deferral, selected, postgres, console).await?;
    }
    let database: Option<Arc<dyn JinjaDatabase>> = postgres.map(|postgres| {
        Arc::new(JinjaPostgres::new(postgres, tokio::runtime::Handle::current())) as Arc<dyn JinjaDatabase>
    });
    let mut environment = CompileEnvironment::from_scratch(database);
    environment.known_columns = Arc::new(known);
    let manifest = &mut session.manifest;
    let errors = tokio::task::block_in_place(|| manifest.compile(selected, &environment));
    artifacts::write_compiled(&session.target_dir, &session.manifest)?;
    artifacts::write_manifest(&session.target_dir, &session.manifest, &[])?;
    for (_, error) in &errors {
        console.error(error);
    }
    show_sql_problems(&session.manifest, console, strict);
    let compiled = session
        .manifest
        .nodes
        .iter()
        .filter(|node| node.compiled_sql.is_some())
        .count();
    console.info(&format!(
        "Compiled {compiled} node{} into {}.",
        if compiled == 1 { "" } else { "s" },
        crate::error::display_path(&session.target_dir.join("compiled"), &session.project.root).display()
    ));
    Ok(!errors.is_empty())
}

/// Show the problems found in the compiled models' SQL: warnings, or errors when `strict`.
pub fn show_sql_problems(manifest: &Manifest, console: &Console, strict: bool) {
    for problem in &manifest.sql.problems {
        if strict {
            console.error(problem);
        } else {
            console.warn(problem);
        }
    }
}
