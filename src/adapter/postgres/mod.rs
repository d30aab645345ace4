//! PostgreSQL through sqlx: connecting from a profile target, running statements on pooled
//! connections, cancelling the statements running on them, and turning database errors into
//! tmk errors with PostgreSQL's message, detail, hint and the position mapped into the compiled
//! SQL, marked transient when running the same work again may succeed and as connection errors
//! when the session is gone. It must not decide what to build or in which order, nor whether to
//! retry, and must not print: callers pass the SQL and relations and report the outcome.

mod audit;
mod catalog;
mod contract;
mod dependents;
mod extract;
mod freshness;
mod incoming_keys;
mod jinja_database;
mod materialize;
mod materialized_view;
mod meta;
mod partitions;
mod quarantine;
mod relation_settings;
mod run_lock;
mod schema_change;
mod snapshot;
mod test_batch;
mod test_guarantee;
mod watermark;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::error::{Error, ErrorKind, Result, SourceLocation};
use crate::project::profile::PostgresTarget;

pub use audit::{Audit, NodeRun, RunRecord, RunStatus, TestHistoryEntry};
pub use catalog::{CatalogRelation, ExistingRelations, RelationColumns};
pub use contract::{DbmlCheck, EnforcedContract};
pub use extract::{ExtractOutcome, LoadMode};
pub use freshness::FreshnessReading;
pub use jinja_database::JinjaPostgres;
pub use materialize::{
    BuildOutcome, BuildRequest, Incremental, IncrementalStrategy, RelationKind, StoredFailures, TestOutcome,
};
pub use quarantine::{Quarantine, quarantine_relation};
pub use run_lock::RunLock;
pub use schema_change::OnSchemaChange;
pub use watermark::{WatermarkColumn, WatermarkedModel};

/// A connected PostgreSQL target.
#[derive(Clone)]
pub struct Postgres {
    pool: PgPool,
    target: PostgresTarget,
    /// The server process ids of the pool's connections, to cancel what they run.
    backends: Arc<Mutex<Vec<i32>>>,
}

/// The compiled SQL a statement came from, to locate database errors in it.
#[derive(Debug, Clone)]
pub struct SqlOrigin {
    /// The compiled file as shown to users (`target/compiled/...`).
    pub path: String,
    /// The compiled SQL.
    pub compiled: Arc<str>,
}

impl Postgres {
    /// Connect with a pool of `connections` connections.
    pub async fn connect(target: &PostgresTarget, connections: usize) -> Result<Postgres> {
        let options = connect_options(target)?;
        // One direct connection first: the pool retries until its timeout and hides the cause
        // (connection refused, unknown host, bad password) behind "pool timed out".
        let timeout = Duration::from_secs(target.connect_timeout.unwrap_or(10).max(1));
        let probe = tokio::time::timeout(
            timeout,
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&options),
        )
        .await
        .map_err(|_| connection_error(target, &sqlx::Error::PoolTimedOut))?
        .map_err(|error| connection_error(target, &error))?;
        let _ = sqlx::Connection::close(probe).await;
        let backends = Arc::new(Mutex::new(Vec::new()));
        let recorded = backends.clone();
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1) as u32)
            .acquire_timeout(Duration::from_secs(target.connect_timeout.unwrap_or(10).max(1)))
            .after_connect(move |connection, _| {
                let recorded = recorded.clone();
                Box::pin(async move {
                    // If tmk dies (kill -9, a lost network), the server notices within a second
                    // and ends the statement, instead of finishing a long build for nobody while
                    // it holds locks (PostgreSQL 14+).
                    let (pid,): (i32,) = sqlx::query_as(
                        "select pg_backend_pid(), case when current_setting('server_version_num')::int >= 140000 \
                         then set_config('client_connection_check_interval', '1000', false) end",
                    )
                    .fetch_one(&mut *connection)
                    .await?;
                    recorded.lock().unwrap_or_else(PoisonError::into_inner).push(pid);
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|error| connection_error(target, &error))?;
        Ok(Postgres {
            pool,
            target: target.clone(),
            backends,
        })
    }

    /// A connection of its own, outside the pool (run lock, audit trail, cancelling).
    async fn dedicated_connection(&self) -> Result<PgConnection> {
        PgConnection::connect_with(&connect_options(&self.target)?)
            .await
            .map_err(|error| connection_error(&self.target, &error))
    }

    /// Cancel the statements running on the pool's connections (`pg_cancel_backend`, from a
    /// connection of its own): they fail with `canceling statement due to user request` and
    /// their transactions roll back. Returns how many statements were running.
    pub async fn cancel_queries(&self) -> Result<usize> {
        let pids = self
            .backends
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if pids.is_empty() {
            return Ok(0);
        }
        let mut connection = self.dedicated_connection().await?;
        // The filter runs before the select list: only active statements of this pool.
        let sql = "select pg_cancel_backend(pid) from pg_stat_activity \
                   where pid = any($1) and state = 'active' and pid <> pg_backend_pid()";
        let cancelled = sqlx::query(sql)
            .bind(&pids)
            .fetch_all(&mut connection)
            .await
            .map_err(|error| statement_error(&error, sql, None, 0));
        let _ = connection.close().await;
        Ok(cancelled?.len())
    }

    /// The target this connects to.
    pub fn target(&self) -> &PostgresTarget {
        &self.target
    }

    /// The server's version string.
    pub async fn server_version(&self) -> Result<String> {
        let row: (String,) = sqlx::query_as("select version()")
            .fetch_one(&self.pool)
            .await
            .map_err(|error| statement_error(&error, "select version()", None, 0))?;
        Ok(row.0)
    }

    /// Create a schema when it does not exist.
    pub async fn ensure_schema(&self, schema: &str) -> Result<()> {
        let sql = format!(
            "create schema if not exists {}",
            crate::compile::node::quote_identifier(schema)
        );
        self.execute(&sql).await.map(|_| ())
    }

    /// Run one or more statements (simple protocol); returns rows affected.
    pub async fn execute(&self, sql: &str) -> Result<u64> {
        let result = self
            .pool
            .execute(sqlx::raw_sql(AssertSqlSafe(sql.to_string())))
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))?;
        Ok(result.rows_affected())
    }

    /// Run statements in one transaction: all of them take effect, or none.
    pub async fn execute_in_transaction(&self, sql: &str) -> Result<()> {
        let mut transaction = self
            .pool
            .begin()
            .await
            .map_err(|error| statement_error(&error, "begin", None, 0))?;
        (&mut *transaction)
            .execute(sqlx::raw_sql(AssertSqlSafe(sql.to_string())))
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))?;
        transaction
            .commit()
            .await
            .map_err(|error| statement_error(&error, "commit", None, 0))
    }

    /// Close the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The connection options of a profile target.
pub fn connect_options(target: &PostgresTarget) -> Result<PgConnectOptions> {
    let mut options = PgConnectOptions::new()
        .username(&target.user)
        .database(&target.dbname)
        .port(target.port)
        .application_name(
            &target
                .application_name
                .clone()
                .unwrap_or_else(|| format!("tmk (pid {})", std::process::id())),
        );
    options = if target.host.starts_with('/') {
        options.socket(&target.host)
    } else {
        options.host(&target.host)
    };
    if let Some(password) = &target.password {
        options = options.password(password);
    }
    if let Some(mode) = &target.sslmode {
        let mode: PgSslMode = mode.parse().map_err(|_| {
            Error::new(ErrorKind::Connection, format!("unknown sslmode `{mode}`"))
                .hint("use disable, allow, prefer, require, verify-ca or verify-full")
        })?;
        options = options.ssl_mode(mode);
    }
    let mut settings: Vec<(&str, String)> = Vec::new();
    if let Some(search_path) = &target.search_path {
        settings.push(("search_path", search_path.clone()));
    }
    if let Some(role) = &target.role {
        settings.push(("role", role.clone()));
    }
    if !settings.is_empty() {
        options = options.options(settings);
    }
    Ok(options)
}

pub(crate) fn connection_error(target: &PostgresTarget, error: &sqlx::Error) -> Error {
    let cause = match error {
        sqlx::Error::Database(database) => database.message().to_string(),
        other => other.to_string(),
    };
    Error::new(
        ErrorKind::Connection,
        format!(
            "cannot connect to PostgreSQL at {}:{} as `{}` (database `{}`, target `{}`)",
            target.host, target.port, target.user, target.dbname, target.name
        ),
    )
    .detail(cause)
    .hint("check that the server runs and the profile's host, port, user and dbname; `tmk debug` tests the connection")
}

/// A database error for `sql`; when the statement embeds compiled SQL (`origin`, starting at
/// character `offset` of `sql`), the error position is mapped into the compiled file.
pub(crate) fn statement_error(
    error: &sqlx::Error,
    sql: &str,
    origin: Option<&SqlOrigin>,
    offset: usize,
) -> Error {
    let transient = is_transient(error);
    let kind = if is_connection_lost(error) {
        ErrorKind::Connection
    } else {
        ErrorKind::Database
    };
    let sqlx::Error::Database(database) = error else {
        let mut tmk_error = match kind {
            ErrorKind::Connection => Error::new(kind, "lost the connection to PostgreSQL")
                .detail(error.to_string())
                .hint("the server stopped or the network failed; the relation being built is in its old or its new state: run the build again once the server answers"),
            _ => Error::new(kind, error.to_string()),
        };
        tmk_error.transient = transient;
        return tmk_error;
    };
    let mut tmk_error = Error::new(kind, database.message().to_string());
    tmk_error.transient = transient;
    if let Some(postgres) = database.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(detail) = postgres.detail() {
            tmk_error = tmk_error.detail(format!("DETAIL: {detail}"));
        }
        if let Some(hint) = postgres.hint() {
            tmk_error = tmk_error.hint(hint.to_string());
        }
        if let Some(sqlx::postgres::PgErrorPosition::Original(position)) = postgres.position() {
            tmk_error = locate_position(tmk_error, sql, origin, offset, position);
        }
    }
    tmk_error
}

/// Whether `error` means the session is gone: I/O or protocol failures, a pool that cannot
/// connect, or the server ending the session (SQLSTATE class 08 `connection_exception`, 57P01
/// `admin_shutdown`, 57P02 `crash_shutdown`, 57P03 `cannot_connect_now`).
fn is_connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => database
            .code()
            .is_some_and(|code| code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// Whether running the same work again may succeed: the connection was reset or closed (an
/// I/O error, SQLSTATE class 08 `connection_exception`), or the transaction lost a race
/// (40001 `serialization_failure`, 40P01 `deadlock_detected`). Everything else, a cancelled
/// statement (57014) included, fails for good.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| is_transient_sqlstate(&code)),
        _ => false,
    }
}

/// The SQLSTATEs of [`is_transient`].
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08") || code == "40001" || code == "40P01"
}

fn locate_position(
    error: Error,
    sql: &str,
    origin: Option<&SqlOrigin>,
    offset: usize,
    position: usize,
) -> Error {
    let character = position.saturating_sub(1);
    match origin {
        Some(origin) if character >= offset && character - offset <= origin.compiled.chars().count() => {
            let (line, column) = line_column(&origin.compiled, character - offset);
            error.at(SourceLocation::new(&origin.path, line, column).with_text(origin.compiled.clone()))
        }
        _ => {
            let (line, column) = line_column(sql, character);
            error.at(SourceLocation::new("<statement>", line, column).with_text(Arc::from(sql)))
        }
    }
}

fn line_column(text: &str, character: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for current in text.chars().take(character) {
        if current == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// The first `length` hex digits of `text`'s md5: a short, stable tag for names that must fit
/// PostgreSQL's 63-byte identifiers or carry a temporary marker.
pub(super) fn short_hash(text: &str, length: usize) -> String {
    use md5::Digest;
    let mut hash = format!("{:x}", md5::Md5::digest(text.as_bytes()));
    hash.truncate(length);
    hash
}

/// Quote a string literal for PostgreSQL.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_serialization_failures_and_deadlocks_are_transient() {
        for code in ["08000", "08003", "08006", "08001", "40001", "40P01"] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["57014", "40002", "42P01", "23505", "22012", "57P01", "XX000"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
        let error = statement_error(&sqlx::Error::Io(reset), "select 1", None, 0);
        assert!(error.transient);
        assert_eq!(error.kind, ErrorKind::Connection);
        assert_eq!(error.message, "lost the connection to PostgreSQL");
        assert_eq!(
            error.details,
            ["error communicating with database: connection reset by peer"]
        );
        assert!(!statement_error(&sqlx::Error::PoolTimedOut, "select 1", None, 0).transient);
        assert!(!statement_error(&sqlx::Error::RowNotFound, "select 1", None, 0).transient);
    }

    #[test]
    fn a_session_ended_by_the_server_is_a_lost_connection_and_other_errors_are_not() {
        let lost = [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Protocol("unexpected message".to_string()),
        ];
        for error in &lost {
            assert!(is_connection_lost(error), "{error}");
            assert_eq!(
                statement_error(error, "select 1", None, 0).kind,
                ErrorKind::Connection
            );
        }
        assert!(!is_connection_lost(&sqlx::Error::RowNotFound));
        assert_eq!(
            statement_error(&sqlx::Error::RowNotFound, "select 1", None, 0).kind,
            ErrorKind::Database
        );
    }
}
