//! MySQL and MariaDB as a source for extract (sqlx `mysql`): connecting, describing a table
//! from `information_schema` (its columns mapped to PostgreSQL types, its primary key), and
//! streaming its rows as COPY text. Rows are read with the text protocol (a query without
//! parameters), so every value arrives as the server prints it and DECIMALs keep their digits.
//! It must not write anywhere: `postgres` loads what it reads.

use futures_util::TryStreamExt;
use sqlx::mysql::{MySqlConnectOptions, MySqlRow, MySqlValueRef};
use sqlx::{AssertSqlSafe, Connection, Decode, MySql, MySqlConnection, Row, ValueRef};
use tokio::sync::mpsc;

use super::source::{CHUNK_BYTES, Chunk, SourceColumn, SourceTable, ValueKind, push_value};
use crate::error::{Error, ErrorKind, Result};

/// An open connection to a MySQL or MariaDB server.
pub struct MySqlSource {
    connection: MySqlConnection,
}

/// How long connecting may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl MySqlSource {
    /// Connect to `url` (`shown` is the URL without its password, for errors).
    pub async fn connect(url: &str, shown: &str) -> Result<MySqlSource> {
        let failed = |cause: String| {
            Error::new(
                ErrorKind::Connection,
                format!("cannot connect to MySQL at {shown}"),
            )
            .detail(cause)
            .hint("check that the server runs and the source's `connection` (host, port, user, password)")
        };
        let options: MySqlConnectOptions = url
            .parse()
            .map_err(|error: sqlx::Error| failed(error.to_string()))?;
        let mut connection = tokio::time::timeout(CONNECT_TIMEOUT, MySqlConnection::connect_with(&options))
            .await
            .map_err(|_| failed(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|error| failed(cause_of(&error)))?;
        // TIMESTAMP values as UTC; a loader that is behind must not make the server give up.
        let session = "set time_zone = '+00:00', net_write_timeout = 3600";
        sqlx::raw_sql(session)
            .execute(&mut connection)
            .await
            .map_err(|error| source_error(&error, session))?;
        Ok(MySqlSource { connection })
    }

    /// The connection, to write through it (`tmk generate`).
    pub fn into_connection(self) -> MySqlConnection {
        self.connection
    }

    /// The columns and primary key of `schema`.`table`; None when there is no such table.
    pub async fn describe(&mut self, schema: &str, table: &str) -> Result<Option<SourceTable>> {
        let sql = "select column_name, data_type, column_type from information_schema.columns \
                   where table_schema = ? and table_name = ? order by ordinal_position";
        let rows = sqlx::query(sql)
            .bind(schema)
            .bind(table)
            .fetch_all(&mut self.connection)
            .await
            .map_err(|error| source_error(&error, sql))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut columns = Vec::new();
        for row in &rows {
            let (name, data_type, column_type) = (text(row, 0), text(row, 1), text(row, 2));
            let Some((pg_type, kind)) = pg_type(&data_type.to_lowercase(), &column_type.to_lowercase())
            else {
                return Err(Error::new(
                    ErrorKind::Database,
                    format!("column `{name}` of `{schema}`.`{table}` has type `{column_type}`, which tmk cannot load"),
                )
                .hint("leave the table out of the source, or give it a view over the table that casts the column"));
            };
            columns.push(SourceColumn { name, pg_type, kind });
        }
        let sql = "select column_name from information_schema.key_column_usage \
                   where table_schema = ? and table_name = ? and constraint_name = 'PRIMARY' order by ordinal_position";
        let keys = sqlx::query(sql)
            .bind(schema)
            .bind(table)
            .fetch_all(&mut self.connection)
            .await
            .map_err(|error| source_error(&error, sql))?;
        Ok(Some(SourceTable {
            columns,
            primary_key: keys.iter().map(|row| text(row, 0)).collect(),
        }))
    }

    /// Stream the rows of `schema`.`table` with `watermark >= mark` when given, as COPY text
    /// chunks into `chunks`, on a task of its own; it stops when the receiver is gone.
    pub fn read(
        mut self,
        schema: &str,
        table: &str,
        columns: &[SourceColumn],
        since: Option<(&str, &str)>,
        chunks: mpsc::Sender<Chunk>,
    ) -> tokio::task::JoinHandle<()> {
        let list: Vec<String> = columns.iter().map(|column| quote(&column.name)).collect();
        let mut sql = format!(
            "select {} from {}.{}",
            list.join(", "),
            quote(schema),
            quote(table)
        );
        if let Some((column, mark)) = since {
            sql.push_str(&format!(" where {} >= {}", quote(column), literal(mark)));
        }
        let kinds: Vec<ValueKind> = columns.iter().map(|column| column.kind).collect();
        tokio::spawn(async move {
            let result = stream(&mut self.connection, &sql, &kinds, &chunks).await;
            if let Err(error) = result {
                let _ = chunks.send(Err(error)).await;
            }
            let _ = self.connection.close().await;
        })
    }
}

/// Read the rows and send them in chunks; Ok when done or when the loader stopped listening.
async fn stream(
    connection: &mut MySqlConnection,
    sql: &str,
    kinds: &[ValueKind],
    chunks: &mpsc::Sender<Chunk>,
) -> Result<()> {
    let mut rows = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).fetch(connection);
    let mut buffer = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8);
    while let Some(row) = rows.try_next().await.map_err(|error| source_error(&error, sql))? {
        for (index, kind) in kinds.iter().enumerate() {
            if index > 0 {
                buffer.push(b'\t');
            }
            let value = row
                .try_get_raw(index)
                .map_err(|error| source_error(&error, sql))?;
            push_value(&mut buffer, *kind, bytes(value));
        }
        buffer.push(b'\n');
        if buffer.len() >= CHUNK_BYTES {
            let full = std::mem::replace(&mut buffer, Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8));
            if chunks.send(Ok(full)).await.is_err() {
                return Ok(());
            }
        }
    }
    if !buffer.is_empty() {
        let _ = chunks.send(Ok(buffer)).await;
    }
    Ok(())
}

/// A value's bytes as the text protocol sent them; None for NULL.
fn bytes(value: MySqlValueRef<'_>) -> Option<&[u8]> {
    if value.is_null() {
        return None;
    }
    <&[u8] as Decode<MySql>>::decode(value).ok()
}

/// A value as text, whatever the server's collation makes its type; None for NULL.
pub fn text_value(row: &MySqlRow, index: usize) -> Option<String> {
    row.try_get_raw(index)
        .ok()
        .and_then(bytes)
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

/// A catalog value as text ("" for NULL).
fn text(row: &MySqlRow, index: usize) -> String {
    text_value(row, index).unwrap_or_default()
}

/// The PostgreSQL type a MySQL column loads as (`data_type` and `column_type` lowercase);
/// None for types tmk does not load (bit, geometry, ...).
pub fn pg_type(data_type: &str, column_type: &str) -> Option<(String, ValueKind)> {
    let unsigned = column_type.contains("unsigned");
    let arguments = column_type
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside.to_string());
    let text = |name: &str| Some((name.to_string(), ValueKind::Text));
    match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") && !unsigned => text("boolean"),
        "tinyint" => text("smallint"),
        "smallint" if unsigned => text("integer"),
        "smallint" => text("smallint"),
        "mediumint" => text("integer"),
        "int" | "integer" if unsigned => text("bigint"),
        "int" | "integer" => text("integer"),
        "bigint" if unsigned => text("numeric(20)"),
        "bigint" => text("bigint"),
        "decimal" | "numeric" => match arguments {
            Some(arguments) => Some((format!("numeric({arguments})"), ValueKind::Text)),
            None => text("numeric"),
        },
        "float" => text("real"),
        "double" | "real" => text("double precision"),
        "char" | "varchar" => match arguments {
            Some(length) => Some((format!("varchar({length})"), ValueKind::Text)),
            None => text("text"),
        },
        "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => text("text"),
        "json" => text("jsonb"),
        "date" => Some(("date".to_string(), ValueKind::Temporal)),
        "datetime" | "timestamp" => Some(("timestamp".to_string(), ValueKind::Temporal)),
        "time" => text("interval"),
        "year" => text("smallint"),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            Some(("bytea".to_string(), ValueKind::Binary))
        }
        _ => None,
    }
}

/// A MySQL identifier in backticks.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A MySQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The server's error cause: its message for database errors, else sqlx's text.
fn cause_of(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(database) => database.message().to_string(),
        other => other.to_string(),
    }
}

/// A tmk error for a failed MySQL statement: a lost connection is a transient connection error.
pub fn source_error(error: &sqlx::Error, sql: &str) -> Error {
    let lost = matches!(error, sqlx::Error::Io(_) | sqlx::Error::Protocol(_));
    let mut tmk_error = if lost {
        Error::new(ErrorKind::Connection, "lost the connection to the MySQL source").detail(cause_of(error))
    } else {
        Error::new(ErrorKind::Database, format!("MySQL: {}", cause_of(error)))
    }
    .detail(format!("while running: {sql}"));
    tmk_error.transient = lost;
    tmk_error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_types_map_to_postgres_types() {
        let cases = [
            ("tinyint", "tinyint(1)", Some("boolean")),
            ("int", "int(10) unsigned", Some("bigint")),
            ("decimal", "decimal(12,2)", Some("numeric(12,2)")),
            ("varchar", "varchar(100)", Some("varchar(100)")),
            ("enum", "enum('new','paid')", Some("text")),
            ("datetime", "datetime(6)", Some("timestamp")),
            ("bigint", "bigint(20) unsigned", Some("numeric(20)")),
            ("geometry", "geometry", None),
        ];
        for (data_type, column_type, expected) in cases {
            assert_eq!(
                pg_type(data_type, column_type).map(|(name, _)| name).as_deref(),
                expected,
                "{column_type}"
            );
        }
        assert_eq!(literal("it's \\ ok"), "'it''s \\\\ ok'");
        assert_eq!(quote("a`b"), "`a``b`");
    }
}
