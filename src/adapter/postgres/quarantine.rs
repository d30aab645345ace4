//! Quarantine on PostgreSQL: inside the model's build, before anything is swapped in or merged,
//! copy the rows that fail each row-level check from the working table (the new version or the
//! incremental batch) to `<schema>_quarantine.<model>` — with the check's name, the run id and
//! the time — then delete them from the working table, so the model keeps only clean rows and
//! no bad row is lost. It runs in the caller's transaction and must not commit.

use sqlx::PgConnection;

use super::catalog::typed_columns;
use super::materialize::{BuildOutcome, run};
use crate::compile::node::{Relation, quote_identifier};
use crate::compile::quarantine::QuarantineCheck;
use crate::error::Result;

/// The columns tmk adds to a quarantine table.
const ADDED_COLUMNS: [(&str, &str); 3] = [
    ("tmk_failed_check", "text"),
    ("tmk_run_id", "text"),
    ("tmk_quarantined_at", "timestamptz"),
];

/// What a quarantined model's build applies.
#[derive(Debug, Clone)]
pub struct Quarantine {
    /// The row-level checks and their failing-row conditions.
    pub checks: Vec<QuarantineCheck>,
    /// The run id recorded with each quarantined row.
    pub run_id: String,
}

/// The quarantine table of `relation`: `<schema>_quarantine.<identifier>`.
pub fn quarantine_relation(relation: &Relation) -> Relation {
    Relation {
        database: relation.database.clone(),
        schema: format!("{}_quarantine", relation.schema),
        identifier: relation.identifier.clone(),
    }
}

/// Move the failing rows of `working` to the quarantine table of `relation`; returns how many
/// rows left the working table.
pub(super) async fn apply(
    connection: &mut PgConnection,
    relation: &Relation,
    working: &str,
    quarantine: &Quarantine,
    outcome: &mut BuildOutcome,
) -> Result<u64> {
    if quarantine.checks.is_empty() {
        return Ok(0);
    }
    let target = quarantine_relation(relation);
    let quarantined = target.render();
    let added = ADDED_COLUMNS
        .iter()
        .map(|(name, data_type)| format!("null::{data_type} as {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let setup = [
        format!("create schema if not exists {}", quote_identifier(&target.schema)),
        format!(
            "create table if not exists {quarantined} as select tmk_rows.*, {added} from {working} as tmk_rows limit 0"
        ),
    ];
    for statement in &setup {
        run(connection, statement, None, 0, outcome).await?;
    }
    let rows = typed_columns(&mut *connection, working).await?;
    let kept = typed_columns(&mut *connection, &quarantined).await?;
    for (name, data_type) in rows
        .iter()
        .filter(|(name, _)| !kept.iter().any(|(kept, _)| kept == name))
    {
        let add = format!(
            "alter table {quarantined} add column {} {data_type}",
            quote_identifier(name)
        );
        run(connection, &add, None, 0, outcome).await?;
    }
    let columns = rows
        .iter()
        .map(|(name, _)| quote_identifier(name))
        .collect::<Vec<_>>()
        .join(", ");
    let run_id = super::quote_literal(&quarantine.run_id);
    for check in &quarantine.checks {
        let copy = format!(
            "insert into {quarantined} ({columns}, tmk_failed_check, tmk_run_id, tmk_quarantined_at)\n\
             select {columns}, {}, {run_id}, now() from {working} where {}",
            super::quote_literal(&check.name),
            check.failing
        );
        run(connection, &copy, None, 0, outcome).await?;
    }
    let failing = quarantine
        .checks
        .iter()
        .map(|check| format!("({})", check.failing))
        .collect::<Vec<_>>()
        .join("\n    or ");
    let delete = format!("delete from {working} where {failing}");
    run(connection, &delete, None, 0, outcome).await
}
