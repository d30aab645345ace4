//! `tmk ddl`: read DBML files as one schema and print its DDL for PostgreSQL or MySQL, or
//! `--diff OLD NEW`: the statements that migrate one version to the other; `--apply` runs them
//! instead of printing them: in one transaction on the profile's PostgreSQL target, or
//! statement by statement on a MySQL server (`--url`). It must not
//! parse DBML or write SQL itself: `dbml` does, and `adapter` runs it.

use super::session;
use crate::cli::{DdlArgs, DialectArg};
use crate::compile::extract::Connection;
use crate::console::Console;
use crate::dbml::{self, ddl::Dialect};
use crate::error::{Error, ErrorKind, Result};

/// Run `tmk ddl`; returns the exit code.
pub async fn run(args: &DdlArgs, console: &Console) -> Result<i32> {
    let dialect = match args.dialect {
        DialectArg::Postgres => Dialect::Postgres,
        DialectArg::Mysql => Dialect::Mysql,
    };
    let statements = match &args.diff {
        Some(paths) => {
            let [old, new] = paths.as_slice() else {
                return Err(Error::new(ErrorKind::Usage, "`--diff` takes two files: OLD NEW"));
            };
            let old = dbml::load(std::slice::from_ref(old))?;
            let new = dbml::load(std::slice::from_ref(new))?;
            dbml::diff::statements(&old, &new, dialect)
        }
        None => dbml::ddl::statements(&dbml::load(&args.files)?, dialect),
    };
    if !args.apply {
        console.output(&dbml::ddl::join(&statements));
        return Ok(0);
    }
    match dialect {
        Dialect::Postgres => {
            let mut session = session::load(&args.project, console)?;
            let postgres = super::connect(&mut session, console, 1).await?;
            let applied = postgres.execute_in_transaction(&statements.join("\n")).await;
            postgres.close().await;
            applied?;
            console.info(&format!(
                "Applied {} statement(s) to target `{}` (database `{}`).",
                statements.len(),
                session.target.name,
                session.target.dbname
            ));
            Ok(0)
        }
        Dialect::Mysql => {
            let url = args.url.as_deref().ok_or_else(|| {
                Error::new(
                    ErrorKind::Usage,
                    "`--apply --dialect mysql` needs `--url mysql://…`",
                )
                .hint("e.g. `--url mysql://root@127.0.0.1:3306`, or set TMK_MYSQL_URL")
            })?;
            let connection = Connection::parse(url.trim());
            let Some(Connection::MySql(url)) = &connection else {
                return Err(
                    Error::new(ErrorKind::Usage, "`--url` is not a mysql:// or mariadb:// URL")
                        .hint("e.g. `--url mysql://root@127.0.0.1:3306`"),
                );
            };
            let shown = Connection::MySql(url.clone()).describe();
            let applied = crate::adapter::mysql_ddl::run(url, &shown, &statements).await?;
            console.info(&format!("Applied {applied} statement(s) to {shown}."));
            Ok(0)
        }
    }
}
