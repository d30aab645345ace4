//! Foreign keys of other tables that reference a table being replaced (a fact's keys to a
//! dimension rebuilt by the swap). The old table cannot be dropped while they point at it, so
//! the swap captures them, drops them, and adds them back against the new table `NOT VALID`:
//! rows written from then on are checked at once, and the referencing table's next build
//! recreates its keys validated. PostgreSQL 15 cannot add a `NOT VALID` key to a partitioned
//! table, so a partitioned table's key comes back validated (one scan of it). Keys that
//! partitions inherit go and come back with their parent's. It must not open, commit or roll back transactions: it works
//! inside the swap's.

use sqlx::PgConnection;

use super::materialize::{BuildOutcome, run};
use super::statement_error;
use crate::compile::node::{Relation, quote_identifier};
use crate::error::Result;

/// A foreign key of another table that references the relation being replaced.
#[derive(Debug, Clone)]
pub struct IncomingKey {
    /// The referencing table, as `regclass` renders it.
    table: String,
    /// The constraint's name.
    name: String,
    /// Its definition (`FOREIGN KEY (…) REFERENCES …`), naming the relation, not its OID.
    definition: String,
    /// The referencing table is partitioned.
    partitioned: bool,
}

const CAPTURE: &str = "select c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid), \
     t.relkind = 'p' \
     from pg_constraint c join pg_class t on t.oid = c.conrelid \
     where c.contype = 'f' and c.confrelid = $1::regclass and c.conrelid <> c.confrelid \
       and c.conparentid = 0 \
     order by 1, 2";

/// The foreign keys of other tables that reference `relation` (which must exist).
pub async fn capture(connection: &mut PgConnection, relation: &Relation) -> Result<Vec<IncomingKey>> {
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(CAPTURE)
        .bind(relation.render())
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, CAPTURE, None, 0))?;
    Ok(rows
        .into_iter()
        .map(|(table, name, definition, partitioned)| IncomingKey {
            table,
            name,
            definition,
            partitioned,
        })
        .collect())
}

/// Drop the captured keys (so the old table can go).
pub async fn drop(
    connection: &mut PgConnection,
    keys: &[IncomingKey],
    outcome: &mut BuildOutcome,
) -> Result<()> {
    for key in keys {
        let statement = format!(
            "alter table {} drop constraint {}",
            key.table,
            quote_identifier(&key.name)
        );
        run(connection, &statement, None, 0, outcome).await?;
    }
    Ok(())
}

/// Add the captured keys back, now referencing the new table, without checking existing rows.
pub async fn restore(
    connection: &mut PgConnection,
    keys: &[IncomingKey],
    outcome: &mut BuildOutcome,
) -> Result<()> {
    for key in keys {
        let statement = format!(
            "alter table {} add constraint {} {}{}",
            key.table,
            quote_identifier(&key.name),
            key.definition,
            if key.partitioned { "" } else { " not valid" }
        );
        run(connection, &statement, None, 0, outcome).await?;
    }
    Ok(())
}
