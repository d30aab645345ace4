//! `tmk ddl`: read DBML files as one schema and print its DDL for PostgreSQL or MySQL, or
//! `--diff OLD NEW`: the statements that migrate one version to the other; `--apply` runs them
//! in one transaction on the profile's PostgreSQL target instead of printing them. It must not
//! parse DBML or write SQL itself: `dbml` does, and `adapter` runs it.

use super::session;
use crate::cli::{DdlArgs, DialectArg};
use crate::console::Console;
use crate::dbml::{self, ddl::Dialect};
use crate::error::{Error, ErrorKind, Result};

/// Run `tmk ddl`; returns the exit code.
pub async fn run(args: &DdlArgs, console: &Console) -> Result<i32> {
    let dialect = match args.dialect {
        DialectArg::Postgres => Dialect::Postgres,
        DialectArg::Mysql => Dialect::Mysql,
    };
    let sql = match &args.diff {
        Some(paths) => {
            let [old, new] = paths.as_slice() else {
                return Err(Error::new(ErrorKind::Usage, "`--diff` takes two files: OLD NEW"));
            };
            let old = dbml::load(std::slice::from_ref(old))?;
            let new = dbml::load(std::slice::from_ref(new))?;
            dbml::diff::emit(&old, &new, dialect)
        }
        None => dbml::ddl::emit(&dbml::load(&args.files)?, dialect),
    };
    if !args.apply {
        console.output(&sql);
        return Ok(0);
    }
    match dialect {
        Dialect::Postgres => {
            let mut session = session::load(&args.project, console)?;
            let postgres = super::connect(&mut session, console, 1).await?;
            let applied = postgres.execute_in_transaction(&sql).await;
            postgres.close().await;
            applied?;
            console.info(&format!(
                "Applied {} statement(s) to target `{}` (database `{}`).",
                statement_count(&sql),
                session.target.name,
                session.target.dbname
            ));
            Ok(0)
        }
        Dialect::Mysql => Err(
            Error::new(ErrorKind::Usage, "`--apply` runs DDL on PostgreSQL targets only").hint(
                "pipe the MySQL DDL into the server: `tmk ddl FILES --dialect mysql | mysql -h HOST -u USER`",
            ),
        ),
    }
}

/// How many statements a DDL text holds (they are separated by blank lines).
fn statement_count(sql: &str) -> usize {
    sql.split("\n\n")
        .filter(|statement| !statement.trim().is_empty())
        .count()
}
