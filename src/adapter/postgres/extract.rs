//! Extract/load into PostgreSQL: copy a `loader: tmk` source table's new and changed rows into
//! its table in the target. The source (MySQL through `adapter::mysql`, or a PostgreSQL
//! database, the target's own included) is read on a task of its own into a bounded channel of
//! COPY text chunks; here they are streamed with COPY, in one transaction that also moves the
//! table's watermark in `tmk_meta.load_watermarks` — so a failed load leaves the table and the
//! watermark as they were. A new table is filled by COPY directly (its key added after); a
//! table without watermark is truncated and filled again; otherwise the rows at or past the
//! watermark go to a temporary table and are upserted on the key. It must not decide which
//! sources to extract, nor print.

use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use tokio::sync::mpsc;

use super::catalog;
use super::materialize::{BuildOutcome, run};
use super::quote_literal;
use super::watermark::{WatermarkColumn, advance};
use super::{Postgres, statement_error};
use crate::adapter::mysql::MySqlSource;
use crate::adapter::source::{self, CHUNK_BYTES, Chunk, SourceColumn, SourceTable, ValueKind};
use crate::compile::extract::{Connection as SourceConnection, ExtractSpec};
use crate::compile::node::{Relation, quote_identifier};
use crate::error::{Error, ErrorKind, Result};

/// The temporary table an incremental load goes through.
const STAGING: &str = "tmk_extract_rows";

/// How a load replaced or added rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// The table was created and filled.
    Created,
    /// The table was emptied and filled again (no watermark).
    Reloaded,
    /// Rows at or past the watermark were upserted on the key.
    Incremental,
}

/// What a load did.
#[derive(Debug, Clone)]
pub struct ExtractOutcome {
    /// Rows copied from the source.
    pub rows: u64,
    /// How they were loaded.
    pub mode: LoadMode,
    /// The statements run on the target (for target/run).
    pub statements: Vec<String>,
}

/// An open source of rows.
enum Reader {
    MySql(MySqlSource),
    Postgres(PgConnection),
}

impl Postgres {
    /// Copy the rows of the source table `spec` describes into `relation`, moving its
    /// watermark (kept for the source's `unique_id`) in the same transaction.
    pub async fn extract(
        &self,
        relation: &Relation,
        unique_id: &str,
        spec: &ExtractSpec,
    ) -> Result<ExtractOutcome> {
        let shown = spec.connection.describe();
        let mut reader = match &spec.connection {
            SourceConnection::MySql(url) => Reader::MySql(
                MySqlSource::connect(url, &shown)
                    .await
                    .map_err(|error| error.at(spec.connection_at.clone()))?,
            ),
            SourceConnection::Target => Reader::Postgres(self.dedicated_connection().await?),
            SourceConnection::Postgres(url) => {
                Reader::Postgres(PgConnection::connect(url).await.map_err(|error| {
                    Error::new(
                        ErrorKind::Connection,
                        format!("cannot connect to PostgreSQL at {shown}"),
                    )
                    .detail(error.to_string())
                    .hint("check that the server runs and the source's `connection` URL")
                    .at(spec.connection_at.clone())
                })?)
            }
        };
        let (schema, table) = (&spec.remote_schema, &spec.remote_table);
        let described = match &mut reader {
            Reader::MySql(source) => source.describe(schema, table).await?,
            Reader::Postgres(connection) => describe_postgres(connection, schema, table).await?,
        };
        let Some(described) = described else {
            return Err(Error::new(
                ErrorKind::Database,
                format!("source table `{schema}.{table}` does not exist at {shown}"),
            )
            .hint("check the source's `remote_schema` (default: the source's name) and the table's name or `identifier`")
            .at(spec.declared_at.clone()));
        };
        let key = check_columns(spec, &described)?;
        let columns: Vec<SourceColumn> = described
            .columns
            .into_iter()
            .filter(|column| spec.copies(&column.name))
            .collect();
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|error| statement_error(&error, "connect", None, 0))?;
        if spec.watermark.is_some() {
            super::meta::ensure_tables(&mut connection).await?;
        }
        let mut transaction = connection
            .begin()
            .await
            .map_err(|error| statement_error(&error, "begin", None, 0))?;
        let exists_sql = format!(
            "select to_regclass({}) is not null",
            quote_literal(&relation.render())
        );
        let (exists,): (bool,) = sqlx::query_as(AssertSqlSafe(exists_sql.clone()))
            .fetch_one(&mut *transaction)
            .await
            .map_err(|error| statement_error(&error, &exists_sql, None, 0))?;
        let mark = match (&spec.watermark, exists) {
            (Some(column), true) => stored_mark(&mut transaction, relation, column).await?,
            _ => None,
        };
        let mode = match (&spec.watermark, exists) {
            (_, false) => LoadMode::Created,
            (None, true) => LoadMode::Reloaded,
            (Some(_), true) => LoadMode::Incremental,
        };
        let mut outcome = BuildOutcome::default();
        if exists && !spec.exclude_columns.is_empty() {
            // A table loaded before the columns were excluded loses them now; once they are
            // gone, no `alter table` (and its exclusive lock) is needed.
            let present = catalog::typed_columns(&mut *transaction, &relation.render()).await?;
            let drops: Vec<String> = present
                .iter()
                .filter(|(column, _)| spec.exclude_columns.contains(column))
                .map(|(column, _)| format!("drop column {}", quote_identifier(column)))
                .collect();
            if !drops.is_empty() {
                let alter = format!("alter table {} {}", relation.render(), drops.join(", "));
                run(&mut transaction, &alter, None, 0, &mut outcome).await?;
            }
        }
        let since = spec.watermark.as_deref().zip(mark.as_ref());
        let (sender, chunks) = source::channel();
        let reading = match reader {
            Reader::MySql(source) => source.read(
                schema,
                table,
                &columns,
                since.map(|(column, (value, _))| (column, value.as_str())),
                sender,
            ),
            Reader::Postgres(connection) => {
                let since = since.map(|(column, (value, data_type))| {
                    format!(
                        " where {} >= cast({} as {data_type})",
                        quote_identifier(column),
                        quote_literal(value)
                    )
                });
                read_postgres(connection, schema, table, &columns, since, sender)
            }
        };
        let loaded = load(
            &mut transaction,
            relation,
            &columns,
            &key,
            mode,
            chunks,
            &mut outcome,
        )
        .await;
        // The reader ends once the channel is gone (on failure) or the rows are all read.
        let rows = match loaded {
            Ok(rows) => rows,
            Err(error) => {
                reading.abort();
                return Err(error);
            }
        };
        if let Some(column) = &spec.watermark {
            let watermark = WatermarkColumn {
                relation,
                model: unique_id,
                column,
            };
            let rows_relation = match mode {
                LoadMode::Incremental => STAGING.to_string(),
                _ => relation.render(),
            };
            advance(
                &mut transaction,
                &watermark,
                &rows_relation,
                mode == LoadMode::Incremental,
                &mut outcome,
            )
            .await?;
        }
        transaction
            .commit()
            .await
            .map_err(|error| statement_error(&error, "commit", None, 0))?;
        Ok(ExtractOutcome {
            rows,
            mode,
            statements: outcome.statements,
        })
    }
}

/// The key rows are upserted on (the YAML's, else the source's); a watermark needs one, and
/// the watermark, key and excluded columns must exist; the key and watermark are copied.
fn check_columns(spec: &ExtractSpec, table: &SourceTable) -> Result<Vec<String>> {
    let names: Vec<&str> = table.columns.iter().map(|column| column.name.as_str()).collect();
    let missing = |column: &str, what: &str, location: &crate::error::SourceLocation| {
        Error::new(
            ErrorKind::Project,
            format!(
                "{what} `{column}` is not a column of `{}.{}` (it has: {})",
                spec.remote_schema,
                spec.remote_table,
                names.join(", ")
            ),
        )
        .maybe_hint(crate::error::did_you_mean(column, names.iter().copied()))
        .at(location.clone())
    };
    if let Some(column) = &spec.watermark
        && !names.contains(&column.as_str())
    {
        return Err(missing(
            column,
            "`watermark`",
            spec.watermark_at.as_ref().unwrap_or(&spec.declared_at),
        ));
    }
    let key = spec
        .primary_key
        .clone()
        .unwrap_or_else(|| table.primary_key.clone());
    if let Some(column) = key.iter().find(|column| !names.contains(&column.as_str())) {
        return Err(missing(column, "`primary_key`", &spec.declared_at));
    }
    if let Some(column) = spec
        .exclude_columns
        .iter()
        .find(|column| !names.contains(&column.as_str()))
    {
        let location = spec.exclude_at.as_ref().unwrap_or(&spec.declared_at);
        return Err(missing(column, "`exclude_columns`:", location));
    }
    if let Some(column) = key
        .iter()
        .chain(&spec.watermark)
        .find(|column| !spec.copies(column))
    {
        return Err(Error::new(
            ErrorKind::Project,
            format!(
                "`{column}` of `{}.{}` is in `exclude_columns`, but extract needs it as the table's key or watermark",
                spec.remote_schema, spec.remote_table
            ),
        )
        .at(spec.exclude_at.clone().unwrap_or_else(|| spec.declared_at.clone())));
    }
    if key.is_empty() && spec.watermark.is_some() {
        return Err(Error::new(
            ErrorKind::Project,
            format!(
                "`{}.{}` has a watermark but no primary key to upsert changed rows on",
                spec.remote_schema, spec.remote_table
            ),
        )
        .hint("add `primary_key: <column>` to the table, or drop `watermark` to reload it whole")
        .at(spec.declared_at.clone()));
    }
    Ok(key)
}

/// The stored watermark of `relation` for `column`: its value and type.
async fn stored_mark(
    connection: &mut PgConnection,
    relation: &Relation,
    column: &str,
) -> Result<Option<(String, String)>> {
    let sql =
        "select value, data_type from tmk_meta.load_watermarks where relation = $1 and column_name = $2";
    let row = sqlx::query(sql)
        .bind(relation.render())
        .bind(column)
        .fetch_optional(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, sql, None, 0))?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}

/// Create or empty the table as `mode` says, COPY the chunks in, and upsert them for an
/// incremental load; returns the rows copied.
async fn load(
    connection: &mut PgConnection,
    relation: &Relation,
    columns: &[SourceColumn],
    key: &[String],
    mode: LoadMode,
    chunks: mpsc::Receiver<Chunk>,
    outcome: &mut BuildOutcome,
) -> Result<u64> {
    let definitions: Vec<String> = columns
        .iter()
        .map(|column| format!("{} {}", quote_identifier(&column.name), column.pg_type))
        .collect();
    let list: Vec<String> = columns
        .iter()
        .map(|column| quote_identifier(&column.name))
        .collect();
    let list = list.join(", ");
    let key_list: Vec<String> = key.iter().map(|column| quote_identifier(column)).collect();
    let target = relation.render();
    let into = match mode {
        LoadMode::Created => {
            let create = format!("create table {target} ({})", definitions.join(", "));
            run(connection, &create, None, 0, outcome).await?;
            target.clone()
        }
        LoadMode::Reloaded => {
            run(connection, &format!("truncate table {target}"), None, 0, outcome).await?;
            target.clone()
        }
        LoadMode::Incremental => {
            let create = format!("create temporary table {STAGING} (like {target}) on commit drop");
            run(connection, &create, None, 0, outcome).await?;
            STAGING.to_string()
        }
    };
    let copy = format!("copy {into} ({list}) from stdin");
    outcome.statements.push(copy.clone());
    let rows = copy_chunks(connection, &copy, chunks).await?;
    match mode {
        // The key is built once over all rows, faster than row by row during COPY.
        LoadMode::Created if !key.is_empty() => {
            let add_key = format!("alter table {target} add primary key ({})", key_list.join(", "));
            run(connection, &add_key, None, 0, outcome).await?;
        }
        LoadMode::Incremental => {
            let updates: Vec<String> = columns
                .iter()
                .filter(|column| !key.contains(&column.name))
                .map(|column| {
                    let name = quote_identifier(&column.name);
                    format!("{name} = excluded.{name}")
                })
                .collect();
            let action = if updates.is_empty() {
                "do nothing".to_string()
            } else {
                format!("do update set {}", updates.join(", "))
            };
            let upsert = format!(
                "insert into {target} ({list}) select {list} from {STAGING} on conflict ({}) {action}",
                key_list.join(", ")
            );
            run(connection, &upsert, None, 0, outcome).await?;
        }
        _ => {}
    }
    Ok(rows)
}

/// Stream the chunks into `copy`; a reader's error aborts it.
async fn copy_chunks(
    connection: &mut PgConnection,
    copy: &str,
    mut chunks: mpsc::Receiver<Chunk>,
) -> Result<u64> {
    let mut writer = connection
        .copy_in_raw(copy)
        .await
        .map_err(|error| statement_error(&error, copy, None, 0))?;
    while let Some(chunk) = chunks.recv().await {
        let sent = match chunk {
            Ok(data) => writer
                .send(data)
                .await
                .map_err(|error| statement_error(&error, copy, None, 0)),
            Err(error) => Err(error),
        };
        if let Err(error) = sent {
            let _ = writer.abort("tmk: reading the source failed").await;
            return Err(error);
        }
    }
    writer
        .finish()
        .await
        .map_err(|error| statement_error(&error, copy, None, 0))
}

/// The columns (enums and domains as their text or base type) and primary key of a
/// PostgreSQL table; None when there is no such table.
async fn describe_postgres(
    connection: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<Option<SourceTable>> {
    let qualified = format!("{}.{}", quote_identifier(schema), quote_identifier(table));
    let sql = "select a.attname::text, \
               case when t.typtype = 'e' then 'text' \
                    when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) \
                    else format_type(a.atttypid, a.atttypmod) end, \
               coalesce(a.attnum = any(i.indkey), false) \
               from pg_attribute a join pg_type t on t.oid = a.atttypid \
               left join pg_index i on i.indrelid = a.attrelid and i.indisprimary \
               where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum";
    let rows = sqlx::query(sql)
        .bind(&qualified)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, sql, None, 0))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let columns: Vec<SourceColumn> = rows
        .iter()
        .map(|row| SourceColumn {
            name: row.get(0),
            pg_type: row.get(1),
            kind: ValueKind::Text,
        })
        .collect();
    let primary_key = rows
        .iter()
        .filter(|row| row.get::<bool, _>(2))
        .map(|row| row.get(0))
        .collect();
    Ok(Some(SourceTable { columns, primary_key }))
}

/// Stream a PostgreSQL table's rows (`filter` appended to the query) as COPY text chunks.
fn read_postgres(
    mut connection: PgConnection,
    schema: &str,
    table: &str,
    columns: &[SourceColumn],
    filter: Option<String>,
    chunks: mpsc::Sender<Chunk>,
) -> tokio::task::JoinHandle<()> {
    let list: Vec<String> = columns
        .iter()
        .map(|column| quote_identifier(&column.name))
        .collect();
    let copy = format!(
        "copy (select {} from {}.{}{}) to stdout",
        list.join(", "),
        quote_identifier(schema),
        quote_identifier(table),
        filter.unwrap_or_default()
    );
    tokio::spawn(async move {
        let result = async {
            let mut stream = connection
                .copy_out_raw(&copy)
                .await
                .map_err(|error| statement_error(&error, &copy, None, 0))?;
            let mut buffer = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8);
            while let Some(data) = stream
                .try_next()
                .await
                .map_err(|error| statement_error(&error, &copy, None, 0))?
            {
                buffer.extend_from_slice(&data);
                if buffer.len() >= CHUNK_BYTES {
                    let full =
                        std::mem::replace(&mut buffer, Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8));
                    if chunks.send(Ok(full)).await.is_err() {
                        return Ok(());
                    }
                }
            }
            if !buffer.is_empty() {
                let _ = chunks.send(Ok(buffer)).await;
            }
            Ok::<(), Error>(())
        }
        .await;
        if let Err(error) = result {
            let _ = chunks.send(Err(error)).await;
        }
        let _ = connection.close().await;
    })
}
