//! Range-partitioned tables (`partition_by`): the model's rows are staged in a temporary table,
//! the new table is declared `partition by range` with one partition per day, month or year
//! the rows cover (plus a default partition for NULL keys), and the rows go in. Partitions are
//! named `<table>_p<label>` (`fact_sales_p202401`); on a rebuilt table they carry temporary
//! names until the swap renames them, so the old table keeps its own until it is dropped. An
//! incremental run adds the partitions its new rows need. Partition fields are dates,
//! timestamps, or integer date keys written `YYYYMMDD`. It must not decide what to build.

use sqlx::{PgConnection, Row};

use super::materialize::{BuildOutcome, run};
use super::{SqlOrigin, short_hash, statement_error};
use crate::compile::node::{Relation, quote_identifier};
use crate::compile::relation_settings::PartitionSpec;
use crate::error::{Error, ErrorKind, Result};

/// The temporary table a partitioned build stages its rows in.
const STAGED_ROWS: &str = "tmk_partition_rows";

/// The prefix of a partition's name until the swap renames it.
const NEW_PREFIX: &str = "tmk_newpart_";

/// Build `new_table` (the rebuilt `relation` under its temporary name) as a partitioned table
/// holding the rows of `sql`; the number of rows.
pub async fn create_partitioned(
    connection: &mut PgConnection,
    relation: &Relation,
    new_table: &Relation,
    sql: &str,
    origin: &SqlOrigin,
    spec: &PartitionSpec,
    outcome: &mut BuildOutcome,
) -> Result<u64> {
    let prefix = format!("create temporary table {STAGED_ROWS} on commit drop as (\n");
    let stage = format!("{prefix}{sql}\n)");
    let rows = run(connection, &stage, Some(origin), prefix.chars().count(), outcome).await?;
    let declare = format!(
        "create table {} (like {STAGED_ROWS}) partition by range ({})",
        new_table.render(),
        quote_identifier(&spec.field)
    );
    run(connection, &declare, None, 0, outcome).await?;
    let key = partition_key(connection, STAGED_ROWS, spec).await?;
    let name = |label: &str| format!("{NEW_PREFIX}{}_{label}", short_hash(&relation.render(), 10));
    add_partitions(connection, new_table, STAGED_ROWS, spec, key, &name, outcome).await?;
    let insert = format!("insert into {} select * from {STAGED_ROWS}", new_table.render());
    run(connection, &insert, None, 0, outcome).await?;
    run(connection, &format!("drop table {STAGED_ROWS}"), None, 0, outcome).await?;
    Ok(rows)
}

/// Give `relation`'s partitions their final names once it has been swapped in.
pub async fn rename_new_partitions(
    connection: &mut PgConnection,
    relation: &Relation,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    let prefix = format!("{NEW_PREFIX}{}_", short_hash(&relation.render(), 10));
    let query = "select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = to_regclass($1) and c.relname like $2 || '%'";
    let names: Vec<String> = sqlx::query_scalar(query)
        .bind(relation.render())
        .bind(&prefix)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, query, None, 0))?;
    for name in names {
        let label = &name[prefix.len()..];
        let rename = format!(
            "alter table {}.{} rename to {}",
            quote_identifier(&relation.schema),
            quote_identifier(&name),
            quote_identifier(&partition_name(relation, label))
        );
        run(connection, &rename, None, 0, outcome).await?;
    }
    Ok(())
}

/// Add to the partitioned `relation` the partitions the rows in `staging` need.
pub async fn add_missing_partitions(
    connection: &mut PgConnection,
    relation: &Relation,
    staging: &str,
    spec: &PartitionSpec,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    let partitioned = "select exists (select from pg_partitioned_table where partrelid = to_regclass($1))";
    let is_partitioned: bool = sqlx::query_scalar(partitioned)
        .bind(relation.render())
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, partitioned, None, 0))?;
    if !is_partitioned {
        return Err(Error::new(
            ErrorKind::Database,
            format!(
                "`{}` has `partition_by` but the existing table is not partitioned",
                relation.render()
            ),
        )
        .hint("rebuild it once with --full-refresh"));
    }
    let key = partition_key(connection, staging, spec).await?;
    let name = |label: &str| partition_name(relation, label);
    add_partitions(connection, relation, staging, spec, key, &name, outcome).await
}

/// How the partition field's values map to dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartitionKey {
    /// A date or timestamp column.
    Date,
    /// An integer `YYYYMMDD` key.
    DateKey,
}

async fn partition_key(
    connection: &mut PgConnection,
    table: &str,
    spec: &PartitionSpec,
) -> Result<PartitionKey> {
    let query = "select format_type(atttypid, atttypmod) from pg_attribute
         where attrelid = to_regclass($1) and attname = $2 and attnum > 0 and not attisdropped";
    let data_type: Option<String> = sqlx::query_scalar(query)
        .bind(table)
        .bind(&spec.field)
        .fetch_optional(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, query, None, 0))?;
    match data_type.as_deref() {
        Some("date") => Ok(PartitionKey::Date),
        Some(kind) if kind.starts_with("timestamp") => Ok(PartitionKey::Date),
        Some("integer" | "bigint") => Ok(PartitionKey::DateKey),
        Some(other) => Err(Error::new(
            ErrorKind::Database,
            format!(
                "`partition_by` field `{}` is a {other}; it must be a date, a timestamp or an integer YYYYMMDD key",
                spec.field
            ),
        )),
        None => Err(Error::new(
            ErrorKind::Database,
            format!(
                "`partition_by` field `{}` is not a column the model returns",
                spec.field
            ),
        )),
    }
}

/// Create, for each period the rows of `rows_table` cover, a partition of `table` named by
/// `name(label)` unless one exists, and a default partition for NULL keys.
async fn add_partitions(
    connection: &mut PgConnection,
    table: &Relation,
    rows_table: &str,
    spec: &PartitionSpec,
    key: PartitionKey,
    name: &(dyn Fn(&str) -> String + Sync),
    outcome: &mut BuildOutcome,
) -> Result<()> {
    let field = quote_identifier(&spec.field);
    let (as_date, bound) = match key {
        PartitionKey::Date => (field.clone(), "quote_literal(%s::text)"),
        PartitionKey::DateKey => (
            format!("to_date({field}::text, 'YYYYMMDD')"),
            "to_char(%s, 'YYYYMMDD')",
        ),
    };
    if key == PartitionKey::DateKey {
        check_date_keys(connection, rows_table, spec).await?;
    }
    let period = spec.granularity.as_str();
    let query = format!(
        "select to_char(start, '{label}') as label, {lower} as lower, {upper} as upper
         from (select distinct date_trunc('{period}', {as_date})::date as start
               from {rows_table} where {field} is not null) as periods
         order by start",
        label = spec.granularity.label_format(),
        lower = bound.replace("%s", "start"),
        upper = bound.replace("%s", &format!("(start + interval '1 {period}')::date")),
    );
    let periods = sqlx::query(sqlx::AssertSqlSafe(query.clone()))
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, &query, None, 0))?;
    for period in periods {
        let (label, lower, upper): (String, String, String) =
            (period.get("label"), period.get("lower"), period.get("upper"));
        let create = format!(
            "create table if not exists {}.{} partition of {} for values from ({lower}) to ({upper})",
            quote_identifier(&table.schema),
            quote_identifier(&name(&format!("p{label}"))),
            table.render()
        );
        run(connection, &create, None, 0, outcome).await?;
    }
    let default = format!(
        "create table if not exists {}.{} partition of {} default",
        quote_identifier(&table.schema),
        quote_identifier(&name("default")),
        table.render()
    );
    run(connection, &default, None, 0, outcome).await.map(|_| ())
}

/// Fail on an integer partition key that is no `YYYYMMDD` date, naming the value.
async fn check_date_keys(
    connection: &mut PgConnection,
    rows_table: &str,
    spec: &PartitionSpec,
) -> Result<()> {
    let field = quote_identifier(&spec.field);
    let query = format!(
        "select {field}::text from {rows_table}
         where not ({field} between 10000101 and 99991231
                    and {field} % 100 between 1 and 31 and {field} / 100 % 100 between 1 and 12)
         limit 1"
    );
    let bad: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(query.clone()))
        .fetch_optional(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, &query, None, 0))?;
    match bad {
        None => Ok(()),
        Some(value) => Err(Error::new(
            ErrorKind::Database,
            format!(
                "`partition_by` field `{}` holds {value}, which is no date key written YYYYMMDD",
                spec.field
            ),
        )
        .hint("partition on a date or timestamp column, or on an integer key like 20240131")),
    }
}

/// `<table>_<label>`, shortened to fit PostgreSQL's 63 bytes.
fn partition_name(relation: &Relation, label: &str) -> String {
    let mut base = relation.identifier.clone();
    while base.len() + label.len() + 1 > 63 {
        base.pop();
    }
    format!("{base}_{label}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_keep_the_label_whole() {
        let relation = Relation {
            database: "db".into(),
            schema: "dwh".into(),
            identifier: "fact_sales".into(),
        };
        assert_eq!(partition_name(&relation, "p202401"), "fact_sales_p202401");
        let long = relation.with_identifier("f".repeat(70));
        assert!(partition_name(&long, "p202401").ends_with("_p202401"));
        assert_eq!(partition_name(&long, "p202401").len(), 63);
    }
}
