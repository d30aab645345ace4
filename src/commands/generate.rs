//! `tmk generate`: write TechMarket's deterministic OLTP test data into MySQL/MariaDB or
//! PostgreSQL (`--into URL`, or `target`: the profile's target, the embedded PostgreSQL
//! without a profile) — its tables dropped and created again from the OLTP DBML — or with
//! `--changes` apply one batch of changes to what is there; prints
//! one line per table with the rows written. It must not make rows (`generate` does) nor write
//! SQL (`adapter::oltp` does).

use std::time::Instant;

use super::session;
use crate::adapter::oltp::OltpDatabase;
use crate::cli::GenerateArgs;
use crate::compile::extract::{CONNECTION_HINT, Connection};
use crate::console::Console;
use crate::dbml::ddl::Dialect;
use crate::error::{Error, ErrorKind, Result};
use crate::generate::{self, Change};

/// Run `tmk generate`; returns the exit code.
pub async fn run(args: &GenerateArgs, console: &Console) -> Result<i32> {
    let started = Instant::now();
    let connection = Connection::parse(args.into.trim()).ok_or_else(|| {
        Error::new(
            ErrorKind::Usage,
            format!("`--into {}` is not a database URL", args.into),
        )
        .hint(CONNECTION_HINT)
    })?;
    let shown = connection.describe();
    let mut database = match &connection {
        Connection::MySql(url) => OltpDatabase::mysql(url, &shown).await?,
        Connection::Postgres(url) => {
            let options = url.parse().map_err(|error: sqlx::Error| {
                Error::new(
                    ErrorKind::Usage,
                    format!("`--into {shown}` is not a PostgreSQL URL"),
                )
                .detail(error.to_string())
            })?;
            OltpDatabase::postgres(&options, &shown).await?
        }
        Connection::Target => {
            let mut session = session::load(&args.project, console)?;
            super::connect(&mut session, console, 1).await?.close().await;
            let options = crate::adapter::postgres::connect_options(&session.target)?;
            OltpDatabase::postgres(&options, &format!("target `{}`", session.target.name)).await?
        }
    };
    let prefix = args.prefix.as_str();
    let written = if args.changes {
        database.begin().await?;
        let state = database.state(prefix).await?;
        let (tables, changes) = generate::changes(args.seed, state);
        let mut lines = Vec::new();
        for table in tables {
            let name = format!("{}.{}", table.service, table.table);
            let rows = database.write(prefix, table).await?;
            lines.push(format!("{name}: {rows} new rows"));
        }
        for change in &changes {
            let rows = database.apply(prefix, change).await?;
            lines.push(match change {
                Change::AdvanceStatus { .. } => format!("orders.orders: {rows} orders moved on in status"),
                Change::RaisePrices { percent, .. } => {
                    format!("catalog.products: {rows} prices up {percent}%")
                }
            });
        }
        lines
    } else {
        let dialect = match &database {
            OltpDatabase::MySql(_) => Dialect::Mysql,
            OltpDatabase::Postgres(_) => Dialect::Postgres,
        };
        database
            .create_tables(prefix, &generate::oltp_ddl(prefix, dialect)?)
            .await?;
        let mut lines = Vec::new();
        for table in generate::tables(args.scale, args.seed) {
            let name = format!("{}.{}", table.service, table.table);
            let rows = database.write(prefix, table).await?;
            lines.push(format!("{name}: {rows} rows"));
        }
        lines
    };
    database.commit().await?;
    database.close().await;
    for line in &written {
        console.info(line);
    }
    console.info(&format!(
        "Generated TechMarket data (scale {}, seed {}{}) into {shown} in {:.2}s.",
        args.scale,
        args.seed,
        if args.changes {
            ", one batch of changes"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    ));
    Ok(0)
}
