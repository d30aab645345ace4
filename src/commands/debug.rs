//! `tmk debug`: show the project, the profile (or the embedded default) and the target in
//! use, then test the connection and print the server's version. It must not build nodes or
//! write artifacts.

use super::session::{self, TargetOrigin};
use crate::cli::ProjectArgs;
use crate::console::Console;
use crate::error::Result;

/// Debug; returns the exit code (2 when the connection fails).
pub async fn run(args: &ProjectArgs, console: &Console) -> Result<i32> {
    let mut session = session::load(args, console)?;
    console.info(&format!(
        "project:  {} ({})",
        session.manifest.project_name,
        session.project.root.display()
    ));
    match &session.origin {
        TargetOrigin::Profile(path) => console.info(&format!(
            "profile:  {} from {}",
            session.target.profile_name,
            path.display()
        )),
        TargetOrigin::Embedded(root) => console.info(&format!(
            "profile:  none found; the embedded PostgreSQL under {}",
            root.display()
        )),
    }
    let postgres = super::connect(&mut session, console, 1).await?;
    let target = &session.target;
    console.info(&format!(
        "target:   {} (postgres, host {}, port {}, user {}, database {}, schema {}, threads {})",
        target.name, target.host, target.port, target.user, target.dbname, target.schema, target.threads
    ));
    let version = postgres.server_version().await?;
    console.info(&format!("server:   {version}"));
    console.info("Connection OK.");
    postgres.close().await;
    Ok(0)
}
