//! One file per subcommand; the only place that wires several stages together
//! (project → compile → graph → plan → execute → artifacts). `session` holds what they share.
//! Commands must not write SQL or print themselves: they go through `adapter` and `console`.

pub mod build;
pub mod clean;
pub mod compile;
pub mod ddl;
pub mod debug;
pub mod defer;
pub mod docs;
pub mod dq;
pub mod generate;
pub mod ls;
pub mod run_audit;
pub mod selectors;
pub mod session;
pub mod show;

use crate::adapter::postgres::Postgres;
use crate::compile::known_columns::KnownColumns;
use crate::console::Console;
use crate::error::{Error, ErrorKind, Result};
use session::{Session, TargetOrigin};

/// Columns known without reading SQL or connecting: each seed's CSV header (a seed that cannot
/// be read is left out; loading it reports why). Commands that read the database add its
/// columns (`KnownColumns::add_catalog`).
pub fn known_columns(manifest: &crate::compile::Manifest) -> KnownColumns {
    let seeds = manifest
        .nodes
        .iter()
        .filter(|node| node.resource_type == crate::compile::node::ResourceType::Seed)
        .filter_map(|node| {
            let table =
                crate::execute::read_seed_file(&manifest.root.join(&node.path), &node.path, &node.config)
                    .ok()?;
            Some((
                node.unique_id.clone(),
                table.columns.into_iter().map(|column| column.name).collect(),
            ))
        })
        .collect();
    KnownColumns {
        seeds,
        catalog: Default::default(),
    }
}

/// Connect to the session's target, starting the embedded PostgreSQL when it is the target.
pub async fn connect(session: &mut Session, console: &Console, connections: usize) -> Result<Postgres> {
    if let TargetOrigin::Embedded(root) = &session.origin {
        let root = root.clone();
        let cluster = tokio::task::spawn_blocking(move || crate::embedded_pg::ensure_running(&root))
            .await
            .map_err(|error| Error::new(ErrorKind::Embedded, error.to_string()))?
            .map_err(|error| {
                Error::new(ErrorKind::Embedded, error.message.clone()).maybe_hint(error.hint.clone())
            })?;
        session.target.port = cluster.port;
        session.target.user = cluster.user.clone();
        session.target.dbname = cluster.database.clone();
        let state = if cluster.created_now {
            "created and started"
        } else if cluster.started_now {
            "started"
        } else {
            "running"
        };
        console.info(&format!(
            "No profiles.yml found: using the embedded PostgreSQL at {}:{} ({state}, data in {}).",
            cluster.host,
            cluster.port,
            crate::error::display_path(&cluster.data_dir, &session.project.root).display()
        ));
    }
    Postgres::connect(&session.target, connections).await
}
